//! The recommender blob (kind 3): catalog, ranker, rating head and knobs in one file whose
//! header carries the feature schema's hash.

use serde::{Deserialize, Serialize};

use super::features::feature_schema_hash;
use super::{Catalog, Recommender, RerankParams, RetrievalParams};
use crate::blob::{self, BlobKind, FORMAT_VERSION};
use crate::gbdt::{Ensemble, Predictor};
use crate::ModelError;

/// The body as written since format 2. The ranker and rating head are nested GBDT blobs, so
/// they are checked by the GBDT loader.
#[derive(Serialize, Deserialize)]
struct RecommenderBody {
    catalog: Catalog,
    ranker: Vec<u8>,
    rating_head: Option<Vec<u8>>,
    retrieval: RetrievalParams,
    rerank: RerankParams,
    shard_count: u32,
}

impl Recommender {
    /// The recommender as a blob.
    pub fn to_blob(&self) -> Result<Vec<u8>, ModelError> {
        let body = RecommenderBody {
            catalog: self.catalog().clone(),
            ranker: self.ranker().ensemble().to_blob()?,
            rating_head: self.rating_head().map(|head| head.ensemble().to_blob()).transpose()?,
            retrieval: *self.retrieval(),
            rerank: *self.rerank_params(),
            shard_count: self.shard_count(),
        };
        blob::encode(BlobKind::Recommender, feature_schema_hash(), &body)
    }

    /// Loads and checks a recommender blob: any malformed input is an error, never a panic,
    /// and a blob built for another feature schema is refused.
    pub fn from_blob(bytes: &[u8]) -> Result<Recommender, ModelError> {
        let (header, body) = blob::checked_body(bytes, BlobKind::Recommender)?;
        if header.version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion { found: header.version, newest: FORMAT_VERSION });
        }
        if header.schema_hash != feature_schema_hash() {
            return Err(ModelError::SchemaMismatch { header: header.schema_hash, body: feature_schema_hash() });
        }
        let body: RecommenderBody = blob::decode_exact(body)?;
        let ranker = Predictor::new(Ensemble::from_blob(&body.ranker)?)?;
        let rating_head = match &body.rating_head {
            Some(bytes) => Some(Predictor::new(Ensemble::from_blob(bytes)?)?),
            None => None,
        };
        Recommender::new(body.catalog, ranker, rating_head, body.retrieval, body.rerank, body.shard_count)
    }
}
