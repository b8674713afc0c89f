//! The hybrid recommender as served: stage 1 retrieves candidates (implicit factors, item
//! neighbours of the user's history, the user's demographic segment, global popularity,
//! new releases), stage 2 ranks them with the GBDT engine on a shared feature schema, and a
//! reranker adds diversity and exploration.
//!
//! The model is split in two kinds of blob: one [`Recommender`] (the catalog and the
//! ranker, the same for every user) and many profile shards ([`profile`]), so that user state
//! never has to fit in the Worker's bundle.

pub mod catalog;
pub mod features;
pub mod neighbours;
pub mod profile;
mod recommender;
pub mod rerank;
pub mod retrieve;
pub mod segment;
mod serialize;

pub use catalog::{Catalog, CatalogMovie, ItemFactors, SegmentList};
pub use features::{fill_row, ranker_schema, UserContext, FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_VERSION};
pub use neighbours::ItemNeighbours;
pub use profile::{encode_shard, shard_of, ProfileShard, UserProfile, RECENT_HISTORY};
pub use recommender::{Recommendation, Recommender};
pub use rerank::{RerankParams, Scored};
pub use retrieve::{retrieve, Candidate, CandidateSource, RetrievalParams};
pub use segment::{Demographics, GenderCode, GENRE_COUNT, SEGMENT_COUNT};
