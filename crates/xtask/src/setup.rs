//! Installs what `demo` and `test` need, checking versions first so a warm machine skips it all.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::process::{command, output, run};

/// trunk 0.22 needs a newer rustc than this machine's; 0.21.14 is the last that builds here.
const TRUNK_VERSION: &str = "0.21.14";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Ensures every tool is present at the right version.
pub fn ensure_all(root: &Path) -> Result<()> {
    ensure_wasm_target(root)?;
    ensure_wasm_bindgen(root)?;
    ensure_trunk(root)?;
    ensure_wasm_pack(root)?;
    ensure_chromium(root)?;
    ensure_prometheus(root)?;
    ensure_cargo_fuzz(root)?;
    ensure_npm_packages(root)?;
    Ok(())
}

fn ensure_wasm_target(root: &Path) -> Result<()> {
    let installed = output(root, "rustup", &["target", "list", "--installed"])
        .context("rustup is needed to add the wasm32 target; install Rust with rustup")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    run("rustup target add wasm32-unknown-unknown", command(root, "rustup").args(["target", "add", WASM_TARGET]))
}

/// The wasm-bindgen version Cargo.lock resolved: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|next| next.trim().strip_prefix("version = ")) {
                return Ok(version.trim_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

fn ensure_wasm_bindgen(root: &Path) -> Result<()> {
    let version = locked_wasm_bindgen_version(root)?;
    let wanted = format!("wasm-bindgen {version}");
    if output(root, "wasm-bindgen", &["--version"]).as_deref() == Some(wanted.as_str())
        && output(root, "wasm-bindgen-test-runner", &["--version"]).is_some()
    {
        return Ok(());
    }
    // No --locked: the CLI's own lockfile pins a webpki-roots the registry no longer has.
    run(
        &format!("cargo install wasm-bindgen-cli {version}"),
        command(root, "cargo").args(["install", "wasm-bindgen-cli", "--version", &version, "--force"]),
    )
}

fn ensure_trunk(root: &Path) -> Result<()> {
    if output(root, "trunk", &["--version"]).as_deref() == Some(format!("trunk {TRUNK_VERSION}").as_str()) {
        return Ok(());
    }
    run(
        &format!("cargo install trunk {TRUNK_VERSION}"),
        command(root, "cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked", "--force"]),
    )
}

/// wasm-pack runs the browser tests (`wasm-pack test --headless --chrome`). It is built from
/// crates.io and always run with `--mode no-install`, so it uses the wasm-bindgen-cli above
/// and the system's chromedriver and never downloads either.
const WASM_PACK_VERSION: &str = "0.15.1";

fn ensure_wasm_pack(root: &Path) -> Result<()> {
    if output(root, "wasm-pack", &["--version"]).as_deref() == Some(format!("wasm-pack {WASM_PACK_VERSION}").as_str()) {
        return Ok(());
    }
    run(
        &format!("cargo install wasm-pack {WASM_PACK_VERSION}"),
        command(root, "cargo").args(["install", "wasm-pack", "--version", WASM_PACK_VERSION, "--locked", "--force"]),
    )
}

/// cargo-fuzz drives libFuzzer for the fuzz targets of `fuzz/`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

fn ensure_cargo_fuzz(root: &Path) -> Result<()> {
    if output(root, "cargo", &["fuzz", "--version"]).is_some_and(|version| version.ends_with(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    run(
        &format!("cargo install cargo-fuzz {CARGO_FUZZ_VERSION}"),
        command(root, "cargo").args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked", "--force"]),
    )
}

fn ensure_chromium(root: &Path) -> Result<()> {
    ensure_debian_packages(
        root,
        &["chromium", "chromedriver"],
        &["chromium", "chromium-driver"],
        "Chromium and ChromeDriver are needed for the browser tests",
    )
}

/// Prometheus runs the integration test against the edge, and promtool (in the same
/// Debian package) checks and unit-tests the rules in `monitoring/`. Without recommends:
/// they add the node exporter, which nothing here uses.
pub fn ensure_prometheus(root: &Path) -> Result<()> {
    ensure_debian_packages(
        root,
        &["promtool", "prometheus"],
        &["--no-install-recommends", "prometheus"],
        "Prometheus and promtool are needed for the monitoring tests",
    )
}

/// Installs Debian `packages` (apt-get arguments) unless every one of `programs` answers
/// `--version`; as root only, otherwise it says what to run (`why` first).
fn ensure_debian_packages(root: &Path, programs: &[&str], packages: &[&str], why: &str) -> Result<()> {
    if programs.iter().all(|program| output(root, program, &["--version"]).is_some()) {
        return Ok(());
    }
    let listed = packages.join(" ");
    if output(root, "id", &["-u"]).as_deref() != Some("0") {
        bail!(
            "{why}. Install them as root:\n    sudo apt-get update && sudo apt-get install -y {listed}\n\
             then run this command again."
        );
    }
    run("apt-get update", command(root, "apt-get").args(["update", "-q"]))?;
    run(
        &format!("apt-get install {listed}"),
        command(root, "apt-get").args(["install", "-y", "-q"]).args(packages).env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn ensure_npm_packages(root: &Path) -> Result<()> {
    if output(root, "npm", &["--version"]).is_none() {
        bail!("Node.js and npm are needed for workerd (wrangler, miniflare); install Node.js 20 or newer");
    }
    // npm ci writes node_modules/.package-lock.json; if it is newer than the committed
    // lockfile, what is installed is what the lockfile asks for.
    let installed = root.join("node_modules/.package-lock.json");
    let lock = root.join("package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|meta| meta.modified()).ok();
    if let (Some(installed), Some(lock)) = (modified(&installed), modified(&lock)) {
        if installed >= lock {
            return Ok(());
        }
    }
    run("npm ci", command(root, "npm").args(["ci", "--no-audit", "--no-fund"]))
}

/// Creates `.venv` with the benchmark peers pinned in `bench/requirements.txt` (XGBoost,
/// LightGBM, Surprise), unless it already has exactly those versions.
pub fn ensure_peers(root: &Path) -> Result<()> {
    let python = root.join(".venv/bin/python");
    let requirements =
        std::fs::read_to_string(root.join("bench/requirements.txt")).context("reading bench/requirements.txt")?;
    let wanted: Vec<&str> =
        requirements.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
    if python.exists() {
        let frozen = output(root, &python.to_string_lossy(), &["-m", "pip", "freeze"]).unwrap_or_default();
        let installed: Vec<String> = frozen.lines().map(|line| line.trim().to_ascii_lowercase()).collect();
        if wanted.iter().all(|pin| installed.iter().any(|line| line == &pin.to_ascii_lowercase())) {
            return Ok(());
        }
    } else {
        if output(root, "python3", &["--version"]).is_none() {
            bail!("python3 is needed for the benchmark peers; install Python 3.10 or newer");
        }
        run("python3 -m venv .venv", command(root, "python3").args(["-m", "venv", ".venv"]))?;
    }
    run(
        "pip install the benchmark peers",
        command(root, &python).args(["-m", "pip", "install", "--quiet", "-r", "bench/requirements.txt"]),
    )
}
