//! Project automation. The README's two commands:
//!
//! - `cargo xtask demo`: the main job; builds the built-in world and its event store, then
//!   serves the edge and the admin UI locally.
//! - `cargo xtask test`: every test; native, wasm in headless Chromium, the Worker in workerd,
//!   and the admin UI end to end.
//!
//! Both first install whatever is missing (see [`setup`]), checking versions so that a warm
//! machine skips the installs.

mod demo;
mod fuzz;
mod monitoring;
mod process;
mod setup;
mod test;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo [--port N]   build the built-in world and store, then serve the edge and admin UI on 127.0.0.1
  test              run every test: lint, the Prometheus rules and dashboard, native, wasm in headless Chromium, the Worker in workerd, the UI end to end
  monitoring        check the Prometheus configuration and rules (promtool, unit tests) and the Grafana dashboard
  setup             install what the other commands need, and nothing that is already there
  fuzz [--seconds N] [--runs N] [TARGET...]
                    run the fuzz targets (all by default) one after another, each for N seconds
                    and/or N executions (default 600 s each), then print each one's executions
                    and exec/s; targets: ensemble_blob svd_blob recommender_blob
                    profile_shard_blob stream_line metadata_json movielens_files
                    csv_triple_files edge_request
  default-model     retrain the model embedded in the Worker (worker/default-model/) from the built-in world
  bench-ui          print the admin UI's budgets: bundle size, first load, in-browser recommendation, slider redraw
  bench-rows        time the Worker's D1 row conversion in Node (serde-wasm-bindgen against a JSON round trip)
  peers             create .venv with the benchmark peers (XGBoost, LightGBM, Surprise) pinned in bench/requirements.txt
";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let root = workspace_root()?;
    match command.as_str() {
        "demo" => {
            let port = match rest.as_slice() {
                [] => 8787,
                [flag, port] if flag == "--port" => port.parse().context("--port takes a number")?,
                _ => bail!("unexpected arguments {rest:?}\n\n{USAGE}"),
            };
            setup::ensure_all(&root)?;
            demo::run(&root, port)
        }
        "test" => {
            setup::ensure_all(&root)?;
            test::run(&root)
        }
        "monitoring" => {
            setup::ensure_prometheus(&root)?;
            monitoring::check(&root)
        }
        "setup" => setup::ensure_all(&root),
        "peers" => setup::ensure_peers(&root),
        "bench-rows" => {
            setup::ensure_all(&root)?;
            test::bench_row_conversion(&root)
        }
        "bench-ui" => {
            setup::ensure_all(&root)?;
            test::bench_admin_ui(&root)
        }
        "default-model" => demo::default_model(&root),
        "fuzz" => {
            let (budget, targets) = fuzz::parse_args(&rest).with_context(|| format!("\n\n{USAGE}"))?;
            setup::ensure_all(&root)?;
            fuzz::run(&root, budget, &targets)
        }
        "" | "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// The workspace root: xtask lives in `crates/xtask`.
fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.ancestors().nth(2).map(PathBuf::from).context("xtask is not inside the workspace")
}
