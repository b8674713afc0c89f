//! `cargo xtask demo`: the main job on the built-in default data.

use std::path::Path;

use anyhow::{Context, Result};

use crate::process::{self, command};
use crate::test::build_worker;

/// Builds the world and the store, prints their summary, builds the edge and the admin UI,
/// then serves both with `wrangler dev` (workerd) on 127.0.0.1 until interrupted.
pub fn run(root: &Path, port: u16) -> Result<()> {
    process::run(
        "build the marquee CLI",
        command(root, "cargo").args(["build", "--release", "--package", "marquee-cli"]),
    )?;
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| root.join("target"));
    let marquee = target_dir.join("release/marquee");
    let data = root.join("demo-data");
    let world = data.join("world");
    let db = data.join("marquee.db");

    process::run("generate the built-in world", command(root, &marquee).arg("world").arg("--out").arg(&world))?;
    process::run(
        "ingest the world into the event store",
        command(root, &marquee).arg("ingest").arg(&world).arg("--db").arg(&db),
    )?;
    process::run("summarise the store", command(root, &marquee).arg("stats").arg("--db").arg(&db))?;

    let stats = command(root, &marquee).arg("stats").arg("--db").arg(&db).arg("--json").output()?;
    let stats: serde_json::Value =
        serde_json::from_slice(&stats.stdout).context("reading `marquee stats --json` output")?;
    let popular: Vec<&str> = stats["most_watched"]
        .as_array()
        .map(|movies| movies.iter().filter_map(|movie| movie["movie_id"].as_str()).take(20).collect())
        .unwrap_or_default();

    build_worker(root)?;
    process::run("build the admin UI (trunk)", command(root, "trunk").args(["build", "--release", "--offline"]))?;

    println!();
    println!("Marquee edge and admin UI: http://127.0.0.1:{port}/");
    println!("  try: curl http://127.0.0.1:{port}/recommend/1");
    println!("  stop with Ctrl-C");
    process::run(
        "wrangler dev (workerd)",
        command(root, "wrangler")
            .args(["dev", "--local", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .arg("--var")
            .arg(format!("POPULAR_MOVIES:{}", popular.join(",")))
            .envs(offline_wrangler_env()),
    )
}

/// Keeps wrangler from phoning home: this machine has no network beyond the registries.
pub fn offline_wrangler_env() -> [(&'static str, &'static str); 5] {
    [
        ("CI", "true"),
        ("WRANGLER_SEND_METRICS", "false"),
        ("WRANGLER_SEND_ERROR_REPORTS", "false"),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false"),
        ("WRANGLER_HIDE_BANNER", "true"),
    ]
}
