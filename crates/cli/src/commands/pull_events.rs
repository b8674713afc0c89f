//! `marquee pull-events --from URL --db FILE [--token T]`: copies the edge's log
//! (impressions and events) into the event store, resuming from the last cursor, and
//! prints the click rate per A/B variant.

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::store::Store;
use marquee_data::EdgeRow;

use super::publish::{agent, send};

#[derive(clap::Args)]
pub struct PullEventsArgs {
    /// The edge's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long)]
    from: String,
    /// The event store to pull into (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// The admin token (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
    /// Rows per page.
    #[arg(long, default_value_t = 1000)]
    page: u32,
    /// Pull nothing now: move the store's cursor to where the edge's log ends, so that the
    /// store takes only what the edge logs from now on (a fresh store that should not learn
    /// from older traffic, such as another run of `marquee loop`).
    #[arg(long)]
    from_end: bool,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PullEventsArgs) -> Result<()> {
    anyhow::ensure!((1..=10_000).contains(&args.page), "--page must be 1 to 10000");
    let base = args.from.trim_end_matches('/').to_owned();
    let mut store = Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    if args.from_end {
        let url = format!("{base}/v1/admin/log?tail=1");
        let response = send(agent().get(&url).set("authorization", &format!("Bearer {}", args.token)), None)?;
        let end: i64 = response
            .header("x-marquee-next-cursor")
            .and_then(|cursor| cursor.parse().ok())
            .context("the edge did not say where its log ends (x-marquee-next-cursor)")?;
        store.set_edge_cursor(&base, end)?;
        if args.json {
            return super::print_json(&serde_json::json!({ "pulled": 0, "new": 0, "unreadable": 0, "cursor": end }));
        }
        println!("the store now follows {base} from its log's end, cursor {end}");
        return Ok(());
    }
    let cursor = store.edge_cursor(&base)?;
    let (mut pulled, mut new_rows) = (0u64, 0u64);
    let (unreadable, cursor) = page_log(&base, &args.token, args.page, cursor, |rows, next| {
        pulled += rows.len() as u64;
        // The rows, their training events and the cursor in one transaction: a failure
        // anywhere re-pulls the page, never skips it.
        new_rows += store.ingest_edge_page(&rows, Some((&base, next)))?;
        Ok(())
    })?;
    let variants = store.variant_figures()?;
    if args.json {
        return super::print_json(&serde_json::json!({
            "pulled": pulled, "new": new_rows, "unreadable": unreadable, "cursor": cursor, "variants": variants
        }));
    }
    println!("pulled {pulled} rows ({new_rows} new, {unreadable} unreadable) from {base}; cursor now {cursor}");
    for variant in variants {
        println!(
            "  variant {}: {} impressions, {} clicks, click rate {:.4}",
            variant.variant, variant.impressions, variant.clicks, variant.click_rate
        );
    }
    Ok(())
}

/// Pages the edge's log (`GET /v1/admin/log?since=&limit=`, with the admin `token`) from
/// `cursor` on, handing each page's readable rows and the cursor after it to `on_page`,
/// until a page comes back empty. Returns how many rows could not be read (each is
/// reported on stderr and passed over) and the final cursor.
pub fn page_log(
    base: &str,
    token: &str,
    page: u32,
    mut cursor: i64,
    mut on_page: impl FnMut(Vec<EdgeRow>, i64) -> Result<()>,
) -> Result<(u64, i64)> {
    let agent = agent();
    let mut unreadable = 0u64;
    loop {
        let response = send(
            agent
                .get(&format!("{base}/v1/admin/log?since={cursor}&limit={page}"))
                .set("authorization", &format!("Bearer {token}")),
            None,
        )?;
        let next: i64 = response
            .header("x-marquee-next-cursor")
            .and_then(|value| value.parse().ok())
            .context("the edge's answer has no x-marquee-next-cursor header")?;
        let text = response.into_string().context("reading the log page")?;
        let mut rows: Vec<EdgeRow> = Vec::new();
        let mut lines = 0u64;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            lines += 1;
            match serde_json::from_str(line) {
                Ok(row) => rows.push(row),
                // One row this build cannot read (an older edge's, say) must not stop every
                // later pull at this page: it is reported and passed over.
                Err(error) => {
                    unreadable += 1;
                    eprintln!("warning: skipped a log row the store cannot hold ({error}): {}", excerpt(line));
                }
            }
        }
        if lines == 0 {
            return Ok((unreadable, cursor));
        }
        on_page(rows, next)?;
        cursor = next;
    }
}

/// The start of a line, for a warning.
fn excerpt(line: &str) -> String {
    line.chars().take(200).collect()
}
