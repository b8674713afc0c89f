//! `cargo xtask fuzz`: the cargo-fuzz targets of `fuzz/`, one per decoder and per input the
//! project reads, each seeded from `fuzz/seeds/<target>/` and growing its own corpus in
//! `fuzz/corpus/<target>/` (not committed). `cargo xtask test` runs each briefly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::process::command;

/// Every fuzz target, in the order they run.
pub const TARGETS: &[&str] = &[
    "ensemble_blob",
    "svd_blob",
    "recommender_blob",
    "profile_shard_blob",
    "stream_line",
    "metadata_json",
    "movielens_files",
    "csv_triple_files",
    "edge_request",
];

/// How long each target runs: a time, a number of executions, or whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Seconds per target (libFuzzer's `-max_total_time`).
    pub seconds: Option<u64>,
    /// Executions per target (libFuzzer's `-runs`).
    pub runs: Option<u64>,
}

impl Default for Budget {
    /// Ten minutes per target.
    fn default() -> Self {
        Budget { seconds: Some(600), runs: None }
    }
}

/// The longest one input may take before libFuzzer reports it as a hang, in seconds.
const INPUT_TIMEOUT_SECONDS: u32 = 10;

/// What one target's run did.
struct Ran {
    target: &'static str,
    executions: u64,
    seconds: f64,
}

/// Parses `cargo xtask fuzz` arguments: `[--seconds N] [--runs N] [TARGET...]`.
pub fn parse_args(args: &[String]) -> Result<(Budget, Vec<&'static str>)> {
    let mut budget = Budget { seconds: None, runs: None };
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |flag: &str| -> Result<u64> {
            let value = args.next().with_context(|| format!("{flag} takes a number"))?;
            value.parse().with_context(|| format!("{flag} takes a number, not {value:?}"))
        };
        match arg.as_str() {
            "--seconds" => budget.seconds = Some(number("--seconds")?),
            "--runs" => budget.runs = Some(number("--runs")?),
            name => match TARGETS.iter().find(|target| **target == name) {
                Some(target) => targets.push(*target),
                None => bail!("unknown fuzz target {name:?}; the targets are {}", TARGETS.join(", ")),
            },
        }
    }
    if budget.seconds.is_none() && budget.runs.is_none() {
        budget = Budget::default();
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    Ok((budget, targets))
}

/// Builds every target once, runs `targets` one after another within `budget` each, and
/// prints each one's executions and executions per second. Fails on the first crash, with
/// libFuzzer's report and the crashing input left in `fuzz/artifacts/<target>/`.
pub fn run(root: &Path, budget: Budget, targets: &[&'static str]) -> Result<()> {
    crate::process::run(
        "build the fuzz targets (cargo fuzz build)",
        command(root, "cargo").args(["fuzz", "build", "--fuzz-dir", "fuzz"]).env("RUSTC_BOOTSTRAP", "1"),
    )?;
    let mut ran = Vec::new();
    for &target in targets {
        ran.push(run_target(root, target, budget)?);
    }
    println!("{:<20} {:>14} {:>10} {:>10}", "target", "executions", "seconds", "exec/s");
    for Ran { target, executions, seconds } in &ran {
        let rate = *executions as f64 / seconds.max(1e-9);
        println!("{target:<20} {executions:>14} {seconds:>10.1} {rate:>10.0}");
    }
    println!("(one process per target on one thread; the time includes loading the corpus)");
    Ok(())
}

fn run_target(root: &Path, target: &'static str, budget: Budget) -> Result<Ran> {
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let seeds = root.join("fuzz/seeds").join(target);
    let mut libfuzzer_args = vec![format!("-timeout={INPUT_TIMEOUT_SECONDS}")];
    if let Some(seconds) = budget.seconds {
        libfuzzer_args.push(format!("-max_total_time={seconds}"));
    }
    if let Some(runs) = budget.runs {
        libfuzzer_args.push(format!("-runs={runs}"));
    }
    let mut fuzz = command(root, "cargo");
    fuzz.args(["fuzz", "run", "--fuzz-dir", "fuzz", target]).arg(&corpus);
    if seeds.is_dir() {
        fuzz.arg(&seeds);
    }
    fuzz.arg("--").args(&libfuzzer_args).env("RUSTC_BOOTSTRAP", "1").stderr(Stdio::piped());

    println!("==> fuzz {target} ({})", describe(budget));
    let started = Instant::now();
    let mut child = fuzz.spawn().context("could not start cargo fuzz")?;
    let mut executions = None;
    if let Some(stderr) = child.stderr.take() {
        // libFuzzer reports on stderr; pass it through, keeping its closing count.
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            eprintln!("{line}");
            if let Some(done) = done_runs(&line) {
                executions = Some(done);
            }
        }
    }
    let status = child.wait()?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("fuzz target {target} failed ({status}); the input is in fuzz/artifacts/{target}/");
    }
    let executions = executions.with_context(|| format!("{target}: libFuzzer did not report its executions"))?;
    println!("    fuzz {target}: {executions} executions in {seconds:.1}s");
    Ok(Ran { target, executions, seconds })
}

/// The executions of libFuzzer's closing line, `Done 123 runs in 4 second(s)`.
fn done_runs(line: &str) -> Option<u64> {
    line.strip_prefix("Done ")?.split_once(" runs in ")?.0.parse().ok()
}

fn describe(budget: Budget) -> String {
    match (budget.seconds, budget.runs) {
        (Some(seconds), Some(runs)) => format!("{runs} executions or {seconds} s, whichever comes first"),
        (Some(seconds), None) => format!("{seconds} s"),
        (None, Some(runs)) => format!("{runs} executions"),
        (None, None) => "until it fails".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn parses_budgets_and_targets() {
        assert_eq!(parse_args(&[]).unwrap(), (Budget::default(), TARGETS.to_vec()));
        let (budget, targets) = parse_args(&strings(&["--runs", "10000000", "svd_blob", "edge_request"])).unwrap();
        assert_eq!(budget, Budget { seconds: None, runs: Some(10_000_000) });
        assert_eq!(targets, ["svd_blob", "edge_request"]);
        let (budget, _) = parse_args(&strings(&["--seconds", "20", "--runs", "5"])).unwrap();
        assert_eq!(budget, Budget { seconds: Some(20), runs: Some(5) });
        assert!(parse_args(&strings(&["load_blob"])).is_err());
        assert!(parse_args(&strings(&["--runs"])).is_err());
        assert!(parse_args(&strings(&["--seconds", "soon"])).is_err());
    }

    #[test]
    fn reads_libfuzzers_closing_count() {
        assert_eq!(done_runs("Done 10000000 runs in 1234 second(s)"), Some(10_000_000));
        assert_eq!(done_runs("#1024 pulse  cov: 512 ft: 800 corp: 40/2Kb exec/s: 341 rss: 60Mb"), None);
    }

    #[test]
    fn every_target_is_built_by_the_fuzz_manifest() {
        let manifest = include_str!("../../../fuzz/Cargo.toml");
        for target in TARGETS {
            assert!(manifest.contains(&format!("name = \"{target}\"")), "{target} is not a [[bin]] of fuzz/Cargo.toml");
        }
    }
}
