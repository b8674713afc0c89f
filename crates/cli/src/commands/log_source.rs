//! Where a command reads the edge's log from: the store `marquee pull-events` fills, or the
//! edge itself over its admin API. `report online` and `experiment` share it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_data::store::Store;
use marquee_data::EdgeRow;

use super::pull_events::page_log;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["db", "from"])))]
pub struct LogSourceArgs {
    /// Read the log `marquee pull-events` copied into this event store.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Read the log straight from the edge at this base URL, e.g. http://127.0.0.1:8787.
    #[arg(long)]
    pub from: Option<String>,
    /// The admin token for --from (default: the MARQUEE_ADMIN_TOKEN environment variable).
    #[arg(long, env = "MARQUEE_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Rows per page for --from.
    #[arg(long, default_value_t = 1000)]
    pub page: u32,
    /// Only the log's rows after this sequence number (a cursor, as pull-events keeps): the
    /// report of one run of traffic. Events naming a list from before the cursor count as
    /// naming an unknown list.
    #[arg(long, default_value_t = 0)]
    pub since: i64,
}

impl LogSourceArgs {
    /// The log's rows after the cursor, oldest first.
    pub fn read_rows(&self) -> Result<Vec<EdgeRow>> {
        if let Some(db) = &self.db {
            let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
            let mut rows = store.edge_rows()?;
            rows.retain(|row| row.seq > self.since);
            return Ok(rows);
        }
        let from = self.from.as_deref().context("give --db or --from")?;
        let token = self.token.as_deref().context("--from needs --token or MARQUEE_ADMIN_TOKEN")?;
        anyhow::ensure!((1..=10_000).contains(&self.page), "--page must be 1 to 10000");
        let mut rows = Vec::new();
        page_log(from.trim_end_matches('/'), token, self.page, self.since, |page, _| {
            rows.extend(page);
            Ok(())
        })?;
        Ok(rows)
    }
}
