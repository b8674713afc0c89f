//! `cargo xtask test`: every test the project has, in the order that fails fastest.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use crate::process::{self, command};
use crate::setup::locked_wasm_bindgen_version;

/// How long CI fuzzes each target (nine targets: about two and a half minutes in all);
/// longer runs are `cargo xtask fuzz`.
const FUZZ_SECONDS_PER_TARGET: u64 = 15;

/// Crates (by folder) whose tests also run as wasm in headless Chromium.
const BROWSER_TESTED: &[&str] = &["web", "crates/model"];

/// Runs lint, the monitoring checks, native tests, browser tests and the workerd tests
/// (among them the Prometheus integration test).
pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    run_step(root, "cargo fmt --check", "cargo", &["fmt", "--all", "--", "--check"])?;
    // Seconds, and independent of every build: the Prometheus rules and the dashboard.
    crate::monitoring::check(root)?;
    run_step(root, "cargo clippy", "cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    run_step(root, "native tests", "cargo", &["test", "--workspace"])?;

    for crate_dir in BROWSER_TESTED {
        // `--mode no-install`: wasm-pack must use the pinned wasm-bindgen-cli and the system
        // chromedriver that setup installed, never download its own.
        process::run(
            &format!("wasm-pack test --headless --chrome {crate_dir} (headless Chromium)"),
            command(root, "wasm-pack")
                .args(["test", "--headless", "--chrome", "--mode", "no-install", crate_dir])
                .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
        )?;
    }

    build_worker(root)?;
    // The workerd tests train a small model and publish it with the CLI.
    run_step(root, "build the marquee CLI for the workerd tests", "cargo", &["build", "--package", "marquee-cli"])?;
    process::run(
        "Worker tests in workerd",
        command(root, "node")
            .args(["--test", "--test-reporter=spec", "worker/tests/"])
            .env("MARQUEE_BIN", target_dir(root).join("debug/marquee")),
    )?;
    build_admin_ui(root)?;
    process::run(
        "the admin UI end to end (playwright-core, headless Chromium, the edge in workerd)",
        command(root, "node")
            .args(["--test", "--test-reporter=spec", "web/e2e/"])
            .env("MARQUEE_BIN", target_dir(root).join("debug/marquee"))
            .env("MARQUEE_SCREENSHOTS", target_dir(root).join("ui-screenshots")),
    )?;
    let budget = crate::fuzz::Budget { seconds: Some(FUZZ_SECONDS_PER_TARGET), runs: None };
    crate::fuzz::run(root, budget, crate::fuzz::TARGETS)?;
    println!("all tests passed in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Where cargo puts build output (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir(root: &Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| root.join("target"))
}

fn run_step(root: &Path, step: &str, program: &str, args: &[&str]) -> Result<()> {
    process::run(step, command(root, program).args(args))
}

/// Builds the Worker's wasm with the size-tuned profile and generates its JS glue in
/// `worker/pkg`, which `entry.mjs` imports.
pub fn build_worker(root: &Path) -> Result<()> {
    build_worker_into(root, &[], &root.join("worker/pkg"))
}

/// Builds the Worker's wasm with extra cargo `features` and its JS glue into `out_dir`.
fn build_worker_into(root: &Path, features: &[&str], out_dir: &Path) -> Result<()> {
    let mut cargo_args =
        vec!["build", "--package", "marquee-worker", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"];
    let feature_list = features.join(",");
    if !features.is_empty() {
        cargo_args.extend(["--features", &feature_list]);
    }
    run_step(root, "build the Worker (wasm32, wasm-release)", "cargo", &cargo_args)?;
    let wasm = target_dir(root).join("wasm32-unknown-unknown/wasm-release/marquee_worker.wasm");
    let version = locked_wasm_bindgen_version(root)?;
    process::run(
        &format!("wasm-bindgen {version} for the Worker"),
        command(root, "wasm-bindgen")
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--experimental-reset-state-function",
                "--remove-name-section",
            ])
            .arg("--remove-producers-section")
            .arg("--out-dir")
            .arg(out_dir)
            .arg(&wasm),
    )
}

/// Builds the admin UI into `dist/` (release, offline), which the edge serves as assets.
pub fn build_admin_ui(root: &Path) -> Result<()> {
    run_step(root, "build the admin UI (trunk)", "trunk", &["build", "--release", "--offline"])
}

/// `cargo xtask bench-ui`: the admin UI's budgets, printed by `bench/admin_ui_budgets.mjs`
/// against the local edge with a 27,000-movie model trained by a release `marquee`.
pub fn bench_admin_ui(root: &Path) -> Result<()> {
    run_step(root, "build the marquee CLI (release)", "cargo", &["build", "--release", "--package", "marquee-cli"])?;
    build_worker(root)?;
    build_admin_ui(root)?;
    process::run(
        "measure the admin UI's budgets",
        command(root, "node")
            .arg("bench/admin_ui_budgets.mjs")
            .env("MARQUEE_BIN", target_dir(root).join("release/marquee")),
    )
}

/// `cargo xtask bench-rows`: the Worker's D1 row conversion timed in Node, before (JSON
/// round trip) and now (serde-wasm-bindgen). Builds a Worker with the benchmark export into
/// `target/row-bench-pkg`, then the shipped Worker again, so `worker/pkg` stays the real one.
pub fn bench_row_conversion(root: &Path) -> Result<()> {
    let pkg = target_dir(root).join("row-bench-pkg");
    build_worker_into(root, &["row-conversion-bench"], &pkg)?;
    let timed = process::run(
        "time the row conversion in Node",
        command(root, "node").arg("bench/worker_row_conversion.mjs").arg(&pkg),
    );
    build_worker(root)?;
    timed
}
