//! Marquee's data layer.
//!
//! Every source a user brings (the movie service's Kafka stream, its metadata API's JSON,
//! MovieLens folders, a plain CSV triple) is parsed into the typed records of [`events`] and
//! [`records`]. Parsers never panic: bad input is skipped, counted and reported.
//! The event [`store`] persists them in SQLite; the [`world`] generator makes a synthetic
//! service to learn from when no data is at hand.

pub mod csv_triple;
pub mod drift;
pub mod edge_log;
pub mod error;
pub mod event_id;
pub mod events;
pub mod experiment;
pub mod fairness;
mod fields;
pub mod files;
pub mod interleave;
pub mod metadata;
pub mod monitor;
pub mod movielens;
pub mod online;
pub mod records;
pub mod report;
pub mod source;
pub mod stats;
pub mod stream;
mod table;

#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "world")]
pub mod world;

pub use edge_log::{EdgeKind, EdgeRow};
pub use error::DataError;
pub use events::{check_user_id, parse_user_id, RatingScale, StreamEvent, Timestamp, UserId, UserIdError, MAX_USER_ID};
pub use records::{Dataset, Gender, Movie, Rating, User};
pub use report::{ParseReport, SkippedLine};
