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
    let marquee = crate::test::target_dir(root).join("release/marquee");
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
    crate::test::build_admin_ui(root)?;
    process::run(
        "apply the D1 migrations (local)",
        command(root, "wrangler").args(["d1", "migrations", "apply", "DB", "--local"]).envs(offline_wrangler_env()),
    )?;
    let token = admin_token(root)?;

    println!();
    println!("Marquee edge and admin UI: http://127.0.0.1:{port}/ (serving the embedded default model)");
    println!("  try: curl http://127.0.0.1:{port}/recommend/1");
    println!("  admin UI: open the address above and sign in with the admin token (in .dev.vars): {token}");
    println!("  serve the world's model with its profiles, from another shell:");
    println!("    {} train --data {} --out demo-data/models --evaluate", marquee.display(), db.display());
    println!("  then publish demo-data/models from the UI's Models page (checked in the browser first), or:");
    println!(
        "    MARQUEE_ADMIN_TOKEN={token} {} publish demo-data/models --to http://127.0.0.1:{port} --activate",
        marquee.display()
    );
    println!("  simulate users of the world clicking (loopback only; the admin UI's overview shows them):");
    println!("    {} simulate --edge http://127.0.0.1:{port} --world {}", marquee.display(), world.display());
    println!("  read the A/B test out, then run the whole loop (retrain, challenge, simulate, decide) for 10 rounds:");
    println!("    MARQUEE_ADMIN_TOKEN={token} {} experiment report --from http://127.0.0.1:{port}", marquee.display());
    println!(
        "    MARQUEE_ADMIN_TOKEN={token} {} loop --edge http://127.0.0.1:{port} --world {} --rounds 10 --explore 0,2 \\
         --out demo-data/loop",
        marquee.display(),
        world.display()
    );
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

/// The local admin token: kept in `.dev.vars` (git-ignored), where `wrangler dev` reads
/// secrets from, and made once from 16 bytes of the system's random source (readable by
/// its owner only).
fn admin_token(root: &Path) -> Result<String> {
    let path = root.join(".dev.vars");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(token) = text.lines().find_map(|line| line.strip_prefix("ADMIN_TOKEN=")) {
            return Ok(token.trim().to_owned());
        }
    }
    use std::io::{Read as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut random = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut random))
        .context("reading /dev/urandom for the admin token")?;
    let token: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .context("writing .dev.vars")?;
    file.write_all(format!("ADMIN_TOKEN={token}\n").as_bytes()).context("writing .dev.vars")?;
    Ok(token)
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

/// Retrains the model embedded in the Worker: the built-in world's hybrid with 16 factors
/// and 20 neighbours per movie (small enough for the bundle budget), written to `worker/default-model/recommender.blob`.
/// Deterministic: the same code gives the same bytes.
pub fn default_model(root: &Path) -> Result<()> {
    process::run(
        "build the marquee CLI",
        command(root, "cargo").args(["build", "--release", "--package", "marquee-cli"]),
    )?;
    let marquee = crate::test::target_dir(root).join("release/marquee");
    let scratch = crate::test::target_dir(root).join("default-model");
    let world = scratch.join("world");
    let models = scratch.join("models");
    process::run("generate the built-in world", command(root, &marquee).arg("world").arg("--out").arg(&world))?;
    process::run(
        "train the default model",
        command(root, &marquee).arg("train").arg("--data").arg(&world).arg("--out").arg(&models).args([
            "--factors",
            "16",
            "--neighbours",
            "20",
        ]),
    )?;
    let target = root.join("worker/default-model/recommender.blob");
    std::fs::copy(models.join("recommender.blob"), &target).context("copying the default model")?;
    println!("wrote {}", target.display());
    Ok(())
}
