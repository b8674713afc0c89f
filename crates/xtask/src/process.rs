//! Running the tools, with `node_modules/.bin` and cargo's bin folder first on PATH so that
//! the pinned local tools win (Debian's binaryen 108 breaks Leptos builds).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// PATH with the project's and cargo's tool folders in front.
pub fn tool_path(root: &Path) -> std::ffi::OsString {
    let mut folders = vec![root.join("node_modules/.bin"), cargo_bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        folders.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(folders).unwrap_or_default()
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home.join("bin")
}

/// A command that runs in `root` with the tool PATH.
pub fn command(root: &Path, program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.current_dir(root).env("PATH", tool_path(root));
    command
}

/// Runs a command to completion, streaming its output; fails on a non-zero exit.
pub fn run(step: &str, command: &mut Command) -> Result<()> {
    println!("==> {step}");
    let started = Instant::now();
    let status = command.status().with_context(|| format!("{step}: could not start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    println!("    {step}: ok in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs a command and returns its trimmed stdout, or None if it is missing or fails.
pub fn output(root: &Path, program: &str, args: &[&str]) -> Option<String> {
    let output = command(root, program).args(args).stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
