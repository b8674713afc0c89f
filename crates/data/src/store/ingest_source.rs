//! Ingesting any detected [`Source`] into the store.

use std::io::BufReader;

use serde::Serialize;

use super::{RecordIngest, Store, StreamIngest};
use crate::events::RatingScale;
use crate::records::Dataset;
use crate::source::Source;
use crate::{DataError, ParseReport};

/// What ingesting one source did.
#[derive(Clone, Debug, Serialize)]
pub struct SourceIngest {
    /// The source, in words.
    pub source: String,
    /// Parse counts and the skipped lines' examples.
    pub report: ParseReport,
    /// For stream sources: what was stored.
    pub stream: Option<StreamIngest>,
    /// For tabular sources: what was stored.
    pub records: Option<RecordIngest>,
}

impl Store {
    /// Reads `source` and stores what it holds. `on_progress` gets stream line numbers.
    pub fn ingest_source(
        &mut self,
        source: &Source,
        scale: RatingScale,
        on_progress: impl FnMut(u64),
    ) -> Result<SourceIngest, DataError> {
        let open = |path: &std::path::Path| {
            std::fs::File::open(path).map(BufReader::new).map_err(|error| DataError::io(path, error))
        };
        let (report, stream, records) = match source {
            Source::Stdin => {
                let stdin = std::io::stdin();
                let summary = self.ingest_stream(stdin.lock(), scale, on_progress)?;
                (summary.report.clone(), Some(summary), None)
            }
            Source::StreamFile(path) => {
                let summary = self.ingest_stream(open(path)?, scale, on_progress)?;
                (summary.report.clone(), Some(summary), None)
            }
            Source::UsersJson(path) => {
                let (users, report) = crate::metadata::read_users(open(path)?)?;
                (report, None, Some(self.ingest_dataset(&Dataset { users, ..Dataset::default() })?))
            }
            Source::MoviesJson(path) => {
                let (movies, report) = crate::metadata::read_movies(open(path)?)?;
                (report, None, Some(self.ingest_dataset(&Dataset { movies, ..Dataset::default() })?))
            }
            Source::MovieLens(path, _) => {
                let (dataset, report) = crate::movielens::load(path)?;
                (report, None, Some(self.ingest_dataset(&dataset)?))
            }
            Source::CsvTriple(path) => {
                let (dataset, report) = crate::csv_triple::load(path)?;
                (report, None, Some(self.ingest_dataset(&dataset)?))
            }
            Source::RatingsCsv(path) => {
                let (ratings, report) = crate::csv_triple::read_ratings(open(path)?)?;
                (report, None, Some(self.ingest_dataset(&Dataset { ratings, ..Dataset::default() })?))
            }
        };
        Ok(SourceIngest { source: source.to_string(), report, stream, records })
    }
}
