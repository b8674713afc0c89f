//! Helpers for the end-to-end tests: find (or build) the `marquee` binary and run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The `marquee` binary of the profile these tests were built with, brought up to date once
/// per test run: `cargo test` builds a package's binaries only for that package's own
/// integration tests, so a binary left in the target folder may be stale.
pub fn marquee_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // The test executable lives in target/<profile>/deps/.
            let exe = std::env::current_exe().expect("the test executable's path");
            let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf();
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--quiet", "--package", "marquee-cli"])
                .current_dir(workspace_root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the marquee binary failed");
            profile_dir.join("marquee")
        })
        .clone()
}

/// Runs `marquee ARGS...` and returns its output, failing the test (with stderr) if it fails.
pub fn marquee(args: &[&str]) -> Output {
    let output = marquee_unchecked(args);
    assert!(
        output.status.success(),
        "marquee {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `marquee ARGS...` whatever its exit status.
pub fn marquee_unchecked(args: &[&str]) -> Output {
    Command::new(marquee_binary()).args(args).output().expect("the marquee binary runs")
}

/// Parses a command's stdout as JSON.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", String::from_utf8_lossy(&output.stdout)))
}
