//! The manifest of a models folder: what `marquee train` wrote and `marquee publish` (and
//! the admin UI) read. One type for every writer and reader, so the JSON cannot drift.
//!
//! It is plain data with serde derives: no I/O, and nothing here can panic.

use serde::{Deserialize, Serialize};

/// The manifest's file name in a models folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The file name of the training run's parameters in a models folder.
pub const PARAMS_FILE: &str = "params.json";

/// What a models folder holds. The trainer writes it last, so a folder with a manifest is
/// complete.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// A content hash of every blob: the same data and seed give the same version.
    pub version: String,
    /// The feature schema version the recommender's ranker was trained on.
    pub feature_schema_version: u16,
    /// The number of users in the training data.
    pub users: usize,
    /// The number of movies in the training data.
    pub movies: usize,
    /// The number of interactions the model was trained on.
    pub interactions: usize,
    /// The seconds the fit took.
    pub train_seconds: f64,
    /// The recommender blob.
    pub recommender: ManifestFile,
    /// The number of profile shards the users are split into.
    pub shard_count: u32,
    /// The profile shard blobs, in shard order.
    pub profile_shards: Vec<ManifestFile>,
    /// The ids of the most popular movies, for a fallback list that needs no model.
    pub popular: Vec<String>,
    /// The training run's parameters as JSON, when the trainer saved them (folders written
    /// before it did have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<ManifestFile>,
    /// How the same parameters did on held-out data (`marquee train --evaluate`); absent
    /// when the run was not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
}

/// A held-out evaluation of a training run: the same parameters fitted on the older part of
/// the data and scored on the newer part, as `marquee evaluate` does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// How the data was split, in words.
    pub split: String,
    /// The list length of the @k metrics.
    pub k: usize,
    /// The users whose lists were ranked.
    pub users: usize,
    /// The share of users with at least one relevant movie in their list.
    pub hit_rate: f64,
    /// Normalised discounted cumulative gain at k.
    pub ndcg: f64,
    /// Mean reciprocal rank of the first relevant movie.
    pub mrr: f64,
    /// The share of the catalog that appeared in some list.
    pub coverage: f64,
    /// The held-out ratings scored for rating accuracy.
    pub rated: usize,
    /// Root mean squared rating error (none when nothing was rated).
    pub rmse: Option<f64>,
    /// Mean absolute rating error.
    pub mae: Option<f64>,
    /// The seconds the evaluation's own fit and scoring took.
    pub seconds: f64,
}

/// One file of a models folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The path relative to the models folder, with `/` separators.
    pub path: String,
    /// The file's size in bytes.
    pub bytes: usize,
}
