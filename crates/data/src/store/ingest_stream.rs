//! Loading the movie service's stream into the store, in large transactions.

use std::collections::HashMap;
use std::io::BufRead;

use rusqlite::{params, OptionalExtension, Transaction};
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

    fn write_batch(&mut self, batch: &mut Batch, summary: &mut StreamIngest) -> Result<(), DataError> {
        let tx = self.conn.transaction()?;
        batch.write(&tx, summary)?;
        tx.commit()?;
        Ok(())
    }
}
