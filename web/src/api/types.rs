//! The admin API's JSON, as the edge answers it (`worker/src/app/`). Every field the pages
//! show is typed here; fields the edge may omit are `Option` or defaulted.

use marquee_data::EdgeRow;
use marquee_model::manifest::Manifest;
use serde::{Deserialize, Serialize};

/// `GET /healthz` (also inside the summary).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Health {
    pub status: String,
    pub model_loaded: bool,
    pub model_version: String,
    pub active_version: Option<String>,
    pub default_model_loaded: bool,
    pub storage_reachable: bool,
}

/// One step of the overview's time series (the recommendation routes only).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct SeriesPoint {
    pub start_ms: f64,
    pub requests: u64,
    pub errors: u64,
    pub fallbacks: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The window's totals.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub fallbacks: u64,
    pub fallback_rate: Option<f64>,
    pub requests_per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Impressions and clicked lists of one step, for one variant.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VariantPoint {
    pub start_ms: f64,
    pub impressions: u64,
    pub clicked_lists: u64,
}

/// One variant's traffic over the window.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VariantSeries {
    pub variant: Option<String>,
    pub impressions: u64,
    pub clicked_lists: u64,
    pub click_rate: Option<f64>,
    pub points: Vec<VariantPoint>,
}

/// `GET /v1/admin/summary?window_s=&step_s=`: what the overview draws.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Summary {
    pub now_ms: f64,
    pub window_s: u64,
    pub step_s: u64,
    pub active_version: Option<String>,
    /// When the active version was activated (ms since the epoch).
    #[serde(default)]
    pub active_since_ms: Option<f64>,
    pub health: Health,
    pub series: Vec<SeriesPoint>,
    pub totals: Totals,
    pub variants: Vec<VariantSeries>,
    /// Fallback answers by reason, since counting began.
    #[serde(default)]
    pub fallback_reasons: std::collections::BTreeMap<String, u64>,
    /// Model versions that failed to load, since counting began.
    #[serde(default)]
    pub model_load_failures: u64,
    /// The latest drift and fairness reports the trainer published.
    #[serde(default)]
    pub reports: HealthReports,
}

/// The latest published health reports (`marquee drift|fairness --publish`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct HealthReports {
    #[serde(default)]
    pub drift: Option<marquee_data::monitor::DriftSummary>,
    #[serde(default)]
    pub fairness: Option<marquee_data::monitor::FairnessSummary>,
}

/// One uploaded version, as `GET /v1/admin/models` lists it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VersionRow {
    pub version: String,
    pub uploaded_ms: f64,
    pub recommender_size: u64,
    pub shard_count: u64,
    pub movies: u64,
    #[serde(default)]
    pub schema_hash: Option<String>,
    #[serde(default)]
    pub catalog_fingerprint: Option<String>,
    #[serde(default)]
    pub format_version: Option<u16>,
    #[serde(default)]
    pub profiles_uploaded: u64,
    #[serde(default)]
    pub profile_bytes: u64,
    #[serde(default)]
    pub manifest: Option<Manifest>,
}

/// The model embedded in the Worker, served when nothing else is.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DefaultModel {
    pub version: String,
    pub movies: u64,
    pub recommender_size: u64,
    pub schema_hash: Option<String>,
    pub catalog_fingerprint: Option<String>,
}

/// `GET /v1/admin/models`: the registry.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Registry {
    pub active: Option<String>,
    pub previous: Option<String>,
    pub versions: Vec<VersionRow>,
    #[serde(default)]
    pub default_model: Option<DefaultModel>,
}

/// One variant's readout with 95% intervals.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ReadoutVariant {
    pub variant: Option<String>,
    pub version: Option<String>,
    pub weight: Option<u32>,
    pub impressions: u64,
    pub clicked_lists: u64,
    pub click_rate: Option<f64>,
    pub click_rate_ci: Option<(f64, f64)>,
    pub mrr: Option<f64>,
    pub mrr_ci: Option<(f64, f64)>,
}

/// `GET /v1/admin/readout`: the experiment's results so far.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Readout {
    pub variants: Vec<ReadoutVariant>,
    #[serde(default)]
    pub method: String,
    /// The experiment's per-user readout and decision (`marquee_data::online::experiment_readout`).
    #[serde(default)]
    pub experiment: Option<ExperimentReadout>,
}

/// The per-user readout of the running experiment: the parts the page shows.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ExperimentReadout {
    pub control: String,
    pub sample_ratio: Option<SampleRatio>,
    pub challengers: Vec<ChallengerReadout>,
}

/// The sample-ratio check: users per arm against the weights.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct SampleRatio {
    pub chi_square: f64,
    pub p_value: f64,
    pub mismatch: bool,
}

/// One challenger against the control.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ChallengerReadout {
    pub variant: String,
    pub click_rate: MetricComparison,
    pub mrr: MetricComparison,
    pub sequential_interval: Option<(f64, f64)>,
    pub decision: DecisionView,
}

/// A metric's difference by the delta method (the user as the unit).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MetricComparison {
    pub delta_method: Option<DeltaMethod>,
}

/// The delta method's figures.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DeltaMethod {
    pub difference: f64,
    pub difference_interval: (f64, f64),
    pub p_value: f64,
    pub relative: Option<RelativeDifference>,
}

/// The relative difference, challenger / control − 1.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct RelativeDifference {
    pub value: f64,
    pub interval: (f64, f64),
}

/// The decision: `promote`, `roll_back`, `keep_running` or `blocked`, with a reason for the
/// last two.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DecisionView {
    pub decision: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// One feature's share of an item's score (TreeSHAP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub feature: String,
    pub contribution: f32,
}

/// One item of the edge's JSON list.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EdgeItem {
    pub movie_id: String,
    pub score: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub explanation: Vec<Contribution>,
}

/// `GET /v1/admin/recommend/<user>?version=&seed=`: the edge's list for the parity check.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EdgeList {
    pub user_id: u64,
    pub items: Vec<EdgeItem>,
    pub model_version: String,
    pub variant: String,
    pub seed: String,
    #[serde(default)]
    pub profile_found: bool,
    #[serde(default)]
    pub fallback: Option<String>,
}

/// A user's demographics as the edge reads them from the profile.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DemographicsView {
    pub age: Option<u8>,
    pub gender: Option<String>,
    pub occupation: Option<String>,
}

/// A user's published profile, summarised.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ProfileView {
    pub demographics: DemographicsView,
    pub segment: String,
    pub interactions: u32,
    pub ratings: u32,
    pub mean_rating: Option<f32>,
    pub seen: Vec<String>,
    /// The user's latest movies, latest first: what the ranker's `recent_neighbour_score`
    /// reads (absent from an edge older than feature schema 3).
    #[serde(default)]
    pub latest: Vec<String>,
}

/// `GET /v1/admin/users/<user>`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct UserLookup {
    pub user_id: u64,
    pub variant: String,
    pub version: String,
    /// The user's profile shard (`None` for the embedded model, which has no profiles).
    pub shard: Option<u32>,
    pub profile: Option<ProfileView>,
    pub recent: Vec<EdgeRow>,
}

/// A catalog movie's metadata.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MovieMetadata {
    pub year: f32,
    pub popularity: f32,
    pub vote_average: f32,
    pub runtime: f32,
    pub language: Option<String>,
    pub genres: Vec<String>,
    pub days_since_release: f32,
    pub mean_rating: f32,
    pub log_watchers: f32,
}

/// `GET /v1/admin/movies/<movie>`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct MovieLookup {
    pub movie_id: String,
    pub version: String,
    pub in_catalog: bool,
    pub metadata: Option<MovieMetadata>,
    pub lists_containing: u64,
    pub impressions: u64,
    pub exposure_share: Option<f64>,
    pub clicked: u64,
}
