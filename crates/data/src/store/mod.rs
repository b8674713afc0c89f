//! The event store: an embedded SQLite database that every source is ingested into and
//! that training reads from. Ingesting the same data twice changes nothing.

mod edge_log;
mod ingest_records;
mod ingest_source;
mod ingest_stream;
mod minute_bitmap;
mod queries;
mod stats;
#[cfg(test)]
mod tests;

use std::path::Path;

use rusqlite::Connection;

pub use edge_log::VariantFigures;
pub use ingest_records::RecordIngest;
pub use ingest_source::SourceIngest;
pub use ingest_stream::{StreamBatch, StreamIngest};
pub use minute_bitmap::MAX_MINUTE;
pub use queries::WatchSession;
pub use stats::{MovieCount, StoreStats};

use crate::DataError;

/// The schema version this build writes; older stores are migrated on open.
const SCHEMA_VERSION: &str = "1";

/// An open event store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, DataError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| DataError::io(parent, error))?;
        }
        Self::init(Connection::open(path)?)
    }

    /// A store that lives in memory only, for tests and one-off evaluations.
    pub fn open_in_memory() -> Result<Store, DataError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, DataError> {
        // WAL lets readers (stats, training) run while an ingest writes; NORMAL sync is
        // crash-safe in WAL mode and much faster than FULL.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(include_str!("schema.sql"))?;
        // Stores made before interleaving have no `teams` column in the pulled edge log.
        let has_teams: bool =
            conn.prepare("SELECT 1 FROM pragma_table_info('edge_log') WHERE name = 'teams'")?.exists([])?;
        if !has_teams {
            conn.execute_batch("ALTER TABLE edge_log ADD COLUMN teams TEXT")?;
        }
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('schema_version', ?1) ON CONFLICT (key) DO NOTHING",
            [SCHEMA_VERSION],
        )?;
        Ok(Store { conn })
    }
}
