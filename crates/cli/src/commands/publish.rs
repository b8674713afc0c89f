//! `marquee publish MODELS_DIR --to URL [--activate] [--token T]`: uploads what
//! `marquee train` wrote to an edge (a local `wrangler dev` or a deployed Worker) through
//! its admin API: the recommender, the profile shards, then the manifest. The edge validates
//! every blob, and the manifest against them, before storing it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use marquee_model::manifest::{Manifest, MANIFEST_FILE};

#[derive(clap::Args)]
pub struct PublishArgs {
    /// A folder written by `marquee train`.
    models: PathBuf,
    /// The edge's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long)]
    to: String,
    /// Make this version the active one once everything is uploaded.
    #[arg(long)]
    activate: bool,
    /// The admin token (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

pub fn run(args: PublishArgs) -> Result<()> {
    let manifest_path = args.models.join(MANIFEST_FILE);
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not a marquee train manifest", manifest_path.display()))?;
    let base = args.to.trim_end_matches('/');
    let agent = agent();
    let put = |path: String, file: &str| -> Result<()> {
        let bytes = std::fs::read(args.models.join(file)).with_context(|| format!("reading {file}"))?;
        send(agent.put(&format!("{base}{path}")).set("authorization", &format!("Bearer {}", args.token)), Some(&bytes))
            .map(|_| ())
            .with_context(|| format!("uploading {file}"))
    };
    let version = &manifest.version;
    put(format!("/v1/admin/models/{version}/recommender"), &manifest.recommender.path)?;
    let bar = crate::progress::bar(manifest.profile_shards.len() as u64, "profile shards", false);
    for (shard, file) in manifest.profile_shards.iter().enumerate() {
        put(format!("/v1/admin/models/{version}/profiles/{shard}"), &file.path)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Last of the uploads: the edge checks it against the recommender it already has, and the
    // admin UI reads the training run's figures from it.
    put(format!("/v1/admin/models/{version}/manifest"), MANIFEST_FILE)?;
    if args.activate {
        send(
            agent
                .post(&format!("{base}/v1/admin/models/{version}/activate"))
                .set("authorization", &format!("Bearer {}", args.token)),
            None,
        )
        .context("activating")?;
    }
    println!(
        "published {version} to {base}: the recommender, {} profile shards and the manifest{}",
        manifest.profile_shards.len(),
        if args.activate { ", now active" } else { "" }
    );
    Ok(())
}

/// An HTTP agent with timeouts, so a dead edge is an error rather than a hang.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(10)).timeout(Duration::from_secs(300)).build()
}

/// PUTs a health report's summary (`kind`: `drift` or `fairness`) to the edge's
/// `/v1/admin/monitor/<kind>`, where `/metrics` and the admin UI read it.
pub fn put_report(url: &str, token: &str, kind: &str, summary: &impl serde::Serialize) -> Result<()> {
    let url = format!("{}/v1/admin/monitor/{kind}", url.trim_end_matches('/'));
    let body = serde_json::to_vec(summary)?;
    send(
        agent().put(&url).set("authorization", &format!("Bearer {token}")).set("content-type", "application/json"),
        Some(&body),
    )
    .with_context(|| format!("publishing the {kind} summary to {url}"))?;
    Ok(())
}

/// Set to `1` to send the admin token over plain `http://` to a host that is not this
/// machine (by default refused: anyone on the path could read the token).
pub const ALLOW_PLAINTEXT_TOKEN: &str = "MARQUEE_ALLOW_PLAINTEXT_TOKEN";

/// Whether a bearer token may be sent to `url`: over https, or over http to loopback only.
pub fn token_may_travel(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return true };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
}

/// Sends a request and turns an error status into an error carrying the edge's message.
/// A request carrying the admin token to a non-loopback `http://` URL is refused unless
/// [`ALLOW_PLAINTEXT_TOKEN`] is `1`.
pub fn send(request: ureq::Request, body: Option<&[u8]>) -> Result<ureq::Response> {
    if request.header("authorization").is_some()
        && !token_may_travel(request.url())
        && std::env::var(ALLOW_PLAINTEXT_TOKEN).as_deref() != Ok("1")
    {
        anyhow::bail!(
            "refusing to send the admin token in the clear to {}: use https://, or set {ALLOW_PLAINTEXT_TOKEN}=1 \
             if this network is trusted",
            request.url()
        );
    }
    let result = match body {
        Some(bytes) => request.send_bytes(bytes),
        None => request.call(),
    };
    match result {
        Ok(response) => Ok(response),
        Err(ureq::Error::Status(status, response)) => {
            let text = response.into_string().unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|json| json.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or(text);
            anyhow::bail!("the edge answered {status}: {message}")
        }
        Err(error) => Err(anyhow::anyhow!("cannot reach the edge: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::token_may_travel;

    #[test]
    fn the_token_travels_over_https_or_to_this_machine_only() {
        for url in [
            "https://marquee.example.com/v1/admin/models",
            "http://127.0.0.1:8787/v1/admin/log",
            "http://localhost:8787",
            "http://[::1]:8787/x",
            "http://127.9.9.9/",
        ] {
            assert!(token_may_travel(url), "{url}");
        }
        for url in ["http://marquee.example.com/v1/admin/models", "http://10.0.0.5:8787", "http://[2001:db8::1]:80/"] {
            assert!(!token_may_travel(url), "{url}");
        }
    }
}
