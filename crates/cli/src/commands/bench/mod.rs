//! `marquee bench ...`: runnable benchmarks that print figures next to their targets.

mod edge;
mod gbdt;
mod ingest;
mod ingest_kafka;
mod interleaving;
mod movielens_shaped;
mod peer_capi;
mod recommend;
mod soak;
mod wrangler;

use std::path::{Path, PathBuf};

use anyhow::Result;

/// The benchmarks.
#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Stream parse and store ingest throughput, on one core, on a world of the movie service's
    /// size; with `--kafka`, also through a Kafka consumer against librdkafka's mock cluster.
    Ingest(ingest::BenchIngestArgs),
    /// The tree engine against XGBoost and LightGBM: accuracy, training and inference time, size.
    Gbdt(gbdt::BenchGbdtArgs),
    /// Recommendation quality and speed: rating accuracy against Surprise, the world's time
    /// split, and the latency of one list from a 27,000-movie catalog.
    Recommend(recommend::BenchRecommendArgs),
    /// The Worker's budgets: bundle size, CPU per request of the Worker's wasm timed in Node
    /// (profile shard cold and warm), end-to-end latency and wrk throughput against workerd.
    Edge(edge::BenchEdgeArgs),
    /// Users an A/B split and a team-draft interleaving each need to tell two models apart,
    /// on the world's simulated users.
    Interleaving(interleaving::BenchInterleavingArgs),
    /// Availability, latency and lost events under steady traffic at a local edge while
    /// storage faults, corrupt and half-published versions and isolate restarts are injected.
    Soak(soak::BenchSoakArgs),
}

/// The repository root: the binary runs from anywhere, but the peers' scripts and the wasm
/// build live in the repo.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).map(Path::to_path_buf).unwrap_or(manifest)
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest(args) => ingest::run(args),
        BenchCommand::Gbdt(args) => gbdt::run(args),
        BenchCommand::Recommend(args) => recommend::run(args),
        BenchCommand::Edge(args) => edge::run(args),
        BenchCommand::Interleaving(args) => interleaving::run(args),
        BenchCommand::Soak(args) => soak::run(args),
    }
}
