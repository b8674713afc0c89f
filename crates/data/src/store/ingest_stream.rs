//! Loading the movie service's stream into the store, in large transactions.

use std::collections::HashMap;
use std::io::BufRead;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use super::minute_bitmap::MinuteBitmap;
use super::Store;
use crate::events::{RatingScale, StreamEvent, UserId};
use crate::{DataError, ParseReport};

/// Events held in memory before they are written in one transaction: large enough that
/// commits are rare, small enough to stay a few tens of MB.
const BATCH_EVENTS: usize = 250_000;

/// What one stream ingest read and stored.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StreamIngest {
    /// Lines read, parsed and skipped (with examples of each kind of error).
    pub report: ParseReport,
    pub watch_lines: u64,
    pub rate_lines: u64,
    pub recommendation_lines: u64,
    pub account_lines: u64,
    /// Watch lines for minutes past the store's limit, refused.
    pub minutes_beyond_limit: u64,
    /// Watch sessions created or extended.
    pub sessions_changed: u64,
    /// Ratings not seen before (the same rating ingested again is not counted).
    pub new_ratings: u64,
    /// Recommendation requests not seen before.
    pub new_recommendations: u64,
}

impl StreamIngest {
    /// Good lines of any kind.
    pub fn events(&self) -> u64 {
        self.watch_lines + self.rate_lines + self.recommendation_lines + self.account_lines
    }

    /// Adds another ingest's counts (e.g. of a later batch) to this one.
    pub fn merge(&mut self, other: StreamIngest) {
        self.report.merge(other.report);
        self.watch_lines += other.watch_lines;
        self.rate_lines += other.rate_lines;
        self.recommendation_lines += other.recommendation_lines;
        self.account_lines += other.account_lines;
        self.minutes_beyond_limit += other.minutes_beyond_limit;
        self.sessions_changed += other.sessions_changed;
        self.new_ratings += other.new_ratings;
        self.new_recommendations += other.new_recommendations;
    }
}

/// Stream lines that arrive one at a time (a consumer's messages), held in memory until
/// [`Store::write_stream_batch`] stores them in one transaction. The caller decides when a
/// batch is full and keeps the parse reports, so that it can say where each bad line was.
pub struct StreamBatch {
    scale: RatingScale,
    batch: Batch,
    /// What the held lines are, by kind; what storing them changed is added on write.
    counts: StreamIngest,
    lines: usize,
}

impl StreamBatch {
    /// An empty batch for a stream whose ratings are on `scale`.
    pub fn new(scale: RatingScale) -> Self {
        StreamBatch { scale, batch: Batch::default(), counts: StreamIngest::default(), lines: 0 }
    }

    /// Parses one line and holds it if it is good; either way `report` counts it, a bad line
    /// under `position` (a line number or a message offset).
    pub fn add_line(&mut self, bytes: &[u8], position: u64, report: &mut ParseReport) {
        self.lines += 1;
        if let Some(event) = crate::stream::parse_counted(bytes, position, self.scale, report) {
            self.batch.add(event, self.scale, &mut self.counts);
        }
    }

    /// Lines added since the last write, good and bad.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Whether no line was added since the last write.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }
}

struct SessionUpdate {
    minutes: MinuteBitmap,
    first_time: i64,
    last_time: i64,
}

/// One transaction's worth of parsed events; movie ids are interned so that a minute line
/// for a session already in the batch allocates nothing.
#[derive(Default)]
pub(super) struct Batch {
    movie_index: HashMap<String, u32>,
    movie_ids: Vec<String>,
    sessions: HashMap<(UserId, u32), SessionUpdate>,
    ratings: Vec<(UserId, u32, f32, i64)>,
    recommendations: Vec<(UserId, i64, String, u16, String, u32)>,
    accounts: Vec<(UserId, i64)>,
    events: usize,
}

impl Batch {
    fn intern(&mut self, movie: &str) -> u32 {
        if let Some(&index) = self.movie_index.get(movie) {
            return index;
        }
        let index = self.movie_ids.len() as u32;
        self.movie_ids.push(movie.to_owned());
        self.movie_index.insert(movie.to_owned(), index);
        index
    }

    pub(super) fn add(&mut self, event: StreamEvent<'_>, scale: RatingScale, summary: &mut StreamIngest) {
        self.events += 1;
        match event {
            StreamEvent::Watch { time, user, movie, minute } => {
                summary.watch_lines += 1;
                let movie = self.intern(movie);
                let session = self.sessions.entry((user, movie)).or_insert_with(|| SessionUpdate {
                    minutes: MinuteBitmap::default(),
                    first_time: time.0,
                    last_time: time.0,
                });
                if session.minutes.insert(minute) {
                    session.first_time = session.first_time.min(time.0);
                    session.last_time = session.last_time.max(time.0);
                } else {
                    summary.minutes_beyond_limit += 1;
                }
            }
            StreamEvent::Rate { time, user, movie, rating } => {
                summary.rate_lines += 1;
                let movie = self.intern(movie);
                self.ratings.push((user, movie, scale.to_five_stars(rating), time.0));
            }
            StreamEvent::Recommendation { time, user, server, status, result, latency_ms } => {
                summary.recommendation_lines += 1;
                self.recommendations.push((user, time.0, server.to_owned(), status, result.to_owned(), latency_ms));
            }
            StreamEvent::CreateAccount { time, user } => {
                summary.account_lines += 1;
                self.accounts.push((user, time.0));
            }
        }
    }

    pub(super) fn write(&mut self, tx: &Transaction<'_>, summary: &mut StreamIngest) -> Result<(), DataError> {
        let mut read_session = tx.prepare_cached(
            "SELECT minute_bitmap, first_time, last_time FROM watch_sessions WHERE user_id = ?1 AND movie_id = ?2",
        )?;
        let mut write_session = tx.prepare_cached(
            "INSERT OR REPLACE INTO watch_sessions (user_id, movie_id, minutes_watched, first_time, last_time, minute_bitmap)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (&(user, movie), update) in &mut self.sessions {
            let movie_id = &self.movie_ids[movie as usize];
            let stored = read_session
                .query_row(params![user as i64, movie_id], |row| {
                    Ok((
                        MinuteBitmap::from_bytes(&row.get::<_, Vec<u8>>(0)?),
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .optional()?;
            if let Some((minutes, first_time, last_time)) = stored {
                let before = (minutes.clone(), first_time, last_time);
                update.minutes.union_with(&minutes);
                update.first_time = update.first_time.min(first_time);
                update.last_time = update.last_time.max(last_time);
                if (update.minutes.clone(), update.first_time, update.last_time) == before {
                    continue; // Nothing new: re-ingesting is a no-op.
                }
            }
            write_session.execute(params![
                user as i64,
                movie_id,
                update.minutes.count(),
                update.first_time,
                update.last_time,
                update.minutes.as_bytes()
            ])?;
            summary.sessions_changed += 1;
        }

        let mut write_history = tx.prepare_cached(
            "INSERT OR IGNORE INTO rating_history (user_id, movie_id, time, rating) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut write_latest = tx.prepare_cached(
            "INSERT INTO ratings (user_id, movie_id, rating, time) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = excluded.rating, time = excluded.time
             WHERE excluded.time > ratings.time",
        )?;
        for &(user, movie, rating, time) in &self.ratings {
            let movie_id = &self.movie_ids[movie as usize];
            if write_history.execute(params![user as i64, movie_id, time, rating])? > 0 {
                summary.new_ratings += 1;
                write_latest.execute(params![user as i64, movie_id, rating, time])?;
            }
        }

        let mut write_recommendation = tx.prepare_cached(
            "INSERT OR IGNORE INTO recommendations (user_id, time, server, status, result, latency_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (user, time, server, status, result, latency_ms) in &self.recommendations {
            summary.new_recommendations +=
                write_recommendation.execute(params![*user as i64, time, server, status, result, latency_ms])? as u64;
        }

        let mut write_account = tx.prepare_cached(
            "INSERT INTO users (user_id, created_at) VALUES (?1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET created_at = excluded.created_at
             WHERE users.created_at IS NULL OR excluded.created_at < users.created_at",
        )?;
        for &(user, time) in &self.accounts {
            write_account.execute(params![user as i64, time])?;
        }
        *self = Batch::default();
        Ok(())
    }
}

impl Store {
    /// Reads stream lines from `reader` (a file or stdin) into the store. Bad lines are
    /// skipped and reported; `on_progress` is called with the line number after each batch.
    pub fn ingest_stream<R: BufRead>(
        &mut self,
        reader: R,
        scale: RatingScale,
        mut on_progress: impl FnMut(u64),
    ) -> Result<StreamIngest, DataError> {
        let mut summary = StreamIngest::default();
        let mut batch = Batch::default();
        let mut failure = None;
        let report = crate::stream::read_stream(reader, scale, |line, event| {
            if failure.is_some() {
                return;
            }
            batch.add(event, scale, &mut summary);
            if batch.events >= BATCH_EVENTS {
                if let Err(error) = self.write_batch(&mut batch, &mut summary) {
                    failure = Some(error);
                }
                on_progress(line);
            }
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        self.write_batch(&mut batch, &mut summary)?;
        on_progress(report.lines);
        summary.report = report;
        Ok(summary)
    }

    /// Stores the batch's lines in one transaction and empties it; when this returns `Ok`,
    /// the transaction has committed. The result counts the batch's lines by kind and what
    /// storing them changed (its `report` is empty: the caller keeps those). On error the
    /// batch keeps its lines, and writing it again stores them once.
    pub fn write_stream_batch(&mut self, batch: &mut StreamBatch) -> Result<StreamIngest, DataError> {
        let mut written = batch.counts.clone();
        self.write_batch(&mut batch.batch, &mut written)?;
        batch.counts = StreamIngest::default();
        batch.lines = 0;
        Ok(written)
    }

    fn write_batch(&mut self, batch: &mut Batch, summary: &mut StreamIngest) -> Result<(), DataError> {
        // Take the write lock up front: a transaction that reads first and writes later
        // fails at once ("database is locked") if another process wrote in between, where
        // this one waits its turn (two consumers of one topic share a store).
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        batch.write(&tx, summary)?;
        tx.commit()?;
        Ok(())
    }
}
