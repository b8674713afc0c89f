//! `wrangler dev` for the benchmarks that need the whole local edge (`marquee bench soak`):
//! started on a loopback port with fresh local state, stopped with everything it started.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::commands::publish::agent;

/// Starts `wrangler dev` on `port` with fresh local state under `scratch` and `vars`
/// (`NAME:value`, the admin token among them), once it answers `/healthz`.
pub(super) fn start_wrangler(root: &Path, scratch: &Path, port: u16, vars: &[String]) -> Result<Wrangler> {
    let wrangler = root.join("node_modules/.bin/wrangler");
    anyhow::ensure!(wrangler.exists(), "no {}: run `npm ci` (or cargo xtask setup)", wrangler.display());
    // wrangler refuses to start without the assets folder the admin UI is built into.
    std::fs::create_dir_all(root.join("dist"))?;
    let persist = scratch.join("state");
    let offline = [
        ("CI", "true"),
        ("WRANGLER_SEND_METRICS", "false"),
        ("WRANGLER_SEND_ERROR_REPORTS", "false"),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false"),
        ("WRANGLER_HIDE_BANNER", "true"),
    ];
    let status = Command::new(&wrangler)
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(&persist)
        .current_dir(root)
        .envs(offline)
        .stdout(Stdio::null())
        .status()
        .context("running wrangler d1 migrations apply")?;
    anyhow::ensure!(status.success(), "applying the D1 migrations failed");
    if agent().get(&format!("http://127.0.0.1:{port}/healthz")).call().is_ok() {
        anyhow::bail!("something already answers on port {port}: stop it or pass --port");
    }
    let log = std::fs::File::create(scratch.join("wrangler.log"))?;
    let child = Command::new(&wrangler)
        .args(["dev", "--local", "--ip", "127.0.0.1", "--port", &port.to_string(), "--persist-to"])
        .arg(&persist)
        .args(vars.iter().flat_map(|var| ["--var", var.as_str()]))
        .current_dir(root)
        .envs(offline)
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting wrangler dev")?;
    let guard = Wrangler(child);
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if agent.get(&format!("http://127.0.0.1:{port}/healthz")).call().is_ok() {
            return Ok(guard);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    anyhow::bail!("wrangler dev did not answer on port {port} within 90 s")
}

/// `wrangler dev` in its own process group, stopped with everything it started (workerd)
/// when dropped: killing node alone would leave workerd holding the port.
pub(super) struct Wrangler(Child);

impl Drop for Wrangler {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}
