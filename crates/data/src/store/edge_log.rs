//! The edge's click log in the store: impressions and events pulled from the Worker, and
//! the online figures read back from them (click-through per A/B variant).

use rusqlite::params;
use serde::Serialize;

use super::ingest_stream::{Batch, StreamIngest};
use super::Store;
use crate::edge_log::{EdgeKind, EdgeRow};
use crate::events::{RatingScale, StreamEvent, Timestamp};
use crate::DataError;

/// Writes where `pull-events` got to for `source` (on the store or inside a transaction).
fn set_cursor(conn: &rusqlite::Connection, source: &str, cursor: i64) -> Result<(), DataError> {
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![format!("edge_cursor {source}"), cursor.to_string()],
    )?;
    Ok(())
}

/// Online figures for one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantFigures {
    pub variant: String,
    pub impressions: u64,
    pub clicks: u64,
    /// Clicks per impression.
    pub click_rate: f64,
}

impl Store {
    /// Stores pulled rows. Watch and rate events also become stream events (sessions and
    /// ratings) for training. Returns how many rows were new.
    pub fn ingest_edge_rows(&mut self, rows: &[EdgeRow]) -> Result<u64, DataError> {
        self.ingest_edge_page(rows, None)
    }

    /// Stores one pulled page: the rows, the training events derived from the new ones, and
    /// (given `(source, cursor)`) where the next pull resumes, all in one transaction, so a
    /// failure leaves the store as it was and the next pull fetches the page again. The
    /// events are built from the rows directly, not re-parsed from text, so every row the
    /// edge accepted trains. Returns how many rows were new.
    pub fn ingest_edge_page(&mut self, rows: &[EdgeRow], cursor: Option<(&str, i64)>) -> Result<u64, DataError> {
        let mut new_rows = 0;
        let mut batch = Batch::default();
        let mut summary = StreamIngest::default();
        let transaction = self.conn.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO edge_log (id, seq, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us, teams) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for row in rows {
                let added = insert.execute(params![
                    row.id,
                    row.seq,
                    row.kind.as_str(),
                    row.time_ms,
                    row.user_id as i64,
                    row.movie_id,
                    row.value,
                    row.variant,
                    row.version,
                    row.reference,
                    row.latency_us,
                    row.teams
                ])?;
                new_rows += added as u64;
                if added == 0 {
                    continue;
                }
                let (time, user) = (Timestamp(row.time_ms.saturating_mul(1_000_000)), row.user_id);
                let event = match (row.kind, row.movie_id.as_deref(), row.value.as_deref()) {
                    (EdgeKind::Watch, Some(movie), Some(minute)) => {
                        minute.parse().ok().map(|minute| StreamEvent::Watch { time, user, movie, minute })
                    }
                    (EdgeKind::Rate, Some(movie), Some(stars)) => {
                        stars.parse().ok().map(|rating| StreamEvent::Rate { time, user, movie, rating })
                    }
                    _ => None,
                };
                if let Some(event) = event {
                    batch.add(event, RatingScale::FIVE, &mut summary);
                }
            }
        }
        batch.write(&transaction, &mut summary)?;
        if let Some((source, cursor)) = cursor {
            set_cursor(&transaction, source, cursor)?;
        }
        transaction.commit()?;
        Ok(new_rows)
    }

    /// The cursor `pull-events` resumes from for `source` (0 when it never pulled).
    pub fn edge_cursor(&self, source: &str) -> Result<i64, DataError> {
        let key = format!("edge_cursor {source}");
        let value: Option<String> = self
            .conn
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |row| row.get(0))
            .map(Some)
            .or_else(|error| if error == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(error) })?;
        Ok(value.and_then(|text| text.parse().ok()).unwrap_or(0))
    }

    /// Remembers where `pull-events` got to for `source`.
    pub fn set_edge_cursor(&mut self, source: &str, cursor: i64) -> Result<(), DataError> {
        set_cursor(&self.conn, source, cursor)
    }

    /// Every pulled log row, in log order (by `seq`, then `id`), for `marquee report online`.
    pub fn edge_rows(&self) -> Result<Vec<EdgeRow>, DataError> {
        let mut statement = self.conn.prepare(
            "SELECT seq, id, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us, teams \
             FROM edge_log ORDER BY seq, id",
        )?;
        let rows = statement.query_map([], edge_row)?;
        // The store writes only known kinds; a row of another kind is passed over.
        Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
    }

    /// The pulled impressions (lists served) from `from_ms` (inclusive) to `to_ms`
    /// (exclusive), by the edge's clock, in log order.
    pub fn impressions_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<EdgeRow>, DataError> {
        let mut statement = self.conn.prepare(
            "SELECT seq, id, kind, time_ms, user_id, movie_id, value, variant, version, ref, latency_us, teams \
             FROM edge_log WHERE kind = 'impression' AND time_ms >= ?1 AND time_ms < ?2 ORDER BY seq, id",
        )?;
        let rows = statement.query_map(params![from_ms, to_ms], edge_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
    }

    /// Impressions, clicks and click rate per variant, from the pulled log.
    pub fn variant_figures(&self) -> Result<Vec<VariantFigures>, DataError> {
        let mut statement = self.conn.prepare(
            "SELECT coalesce(i.variant, '?'), count(DISTINCT i.id), count(c.id) FROM edge_log i \
             LEFT JOIN edge_log c ON c.ref = i.id AND c.kind = 'click' \
             WHERE i.kind = 'impression' GROUP BY 1 ORDER BY 1",
        )?;
        let rows = statement.query_map([], |row| {
            let (variant, impressions, clicks): (String, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            Ok(VariantFigures {
                variant,
                impressions: impressions as u64,
                clicks: clicks as u64,
                click_rate: if impressions > 0 { clicks as f64 / impressions as f64 } else { 0.0 },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One `edge_log` row in the column order of the queries above; `None` for a kind this build
/// does not know.
fn edge_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<EdgeRow>> {
    let kind: String = row.get(2)?;
    let user_id: i64 = row.get(4)?;
    let Some(kind) = EdgeKind::ALL.into_iter().find(|known| known.as_str() == kind) else {
        return Ok(None);
    };
    Ok(Some(EdgeRow {
        seq: row.get(0)?,
        id: row.get(1)?,
        kind,
        time_ms: row.get(3)?,
        user_id: user_id as u64,
        movie_id: row.get(5)?,
        value: row.get(6)?,
        variant: row.get(7)?,
        version: row.get(8)?,
        reference: row.get(9)?,
        latency_us: row.get(10)?,
        teams: row.get(11)?,
    }))
}
