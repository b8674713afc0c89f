//! Reading the tables of a dataset folder: CSV whose columns are found by name. A leaf: the
//! triple and MovieLens use it, and it uses neither.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::fields::{wrong_count, Skip};
use crate::report::ParseReport;

/// The columns of a ratings table, the triple's and ml-latest's `ratings.csv` alike, with the
/// names each may go by (normalised: lowercase, no `_`).
pub(crate) const RATING_COLUMNS: [Column; 4] = [
    Column::required(&["userid", "user"]),
    Column::required(&["movieid", "itemid", "movie", "item"]),
    Column::required(&["rating"]),
    Column::required(&["timestamp", "time"]),
];

/// One column a table reader looks for: the normalised names it may go by, and whether a
/// header without it is an error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    names: &'static [&'static str],
    required: bool,
}

impl Column {
    /// A column a header must have, going by any of `names`.
    pub(crate) const fn required(names: &'static [&'static str]) -> Self {
        Column { names, required: true }
    }

    /// A column that reads as empty when the header lacks it, going by any of `names`.
    pub(crate) const fn optional(names: &'static [&'static str]) -> Self {
        Column { names, required: false }
    }

    fn matches(&self, name: &str) -> bool {
        self.names.contains(&name)
    }
}

/// Reads a CSV table, handing `row` the text of the wanted columns of every data row (an
/// absent optional column reads as empty) and recording in the report what it parsed and
/// what it skipped. The first row is the header when any of its cells names a wanted column;
/// otherwise the table is taken to have exactly the wanted columns, in order, and no header.
pub(crate) fn read_table<R: Read, const N: usize>(
    reader: R,
    path: Option<&Path>,
    columns: [Column; N],
    mut row: impl FnMut([&str; N]) -> Result<(), Skip>,
) -> Result<ParseReport, DataError> {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut report = ParseReport::default();
    if !csv.read_byte_record(&mut record).map_err(|e| read_error(path, e))? {
        return Ok(report);
    }
    let names: Vec<String> = record.iter().map(|cell| normalize_header(&String::from_utf8_lossy(cell))).collect();
    let is_header = names.iter().any(|name| columns.iter().any(|column| column.matches(name)));
    let (positions, width) = if is_header {
        let mut positions = [None; N];
        for (slot, column) in positions.iter_mut().zip(&columns) {
            *slot = names.iter().position(|name| column.matches(name));
            if slot.is_none() && column.required {
                let wanted = column.names.first().copied().unwrap_or_default();
                let reason = format!("the header ({}) has no {wanted} column", names.join(","));
                return Err(invalid(path, reason));
            }
        }
        (positions, names.len())
    } else {
        (std::array::from_fn(Some), N)
    };

    let mut handle = |record: &csv::ByteRecord, report: &mut ParseReport| {
        let line = record.position().map_or(0, csv::Position::line);
        let result = if record.len() == width {
            cells(record, &positions).and_then(&mut row)
        } else {
            Err(wrong_count(width, record.len()))
        };
        match result {
            Ok(()) => report.record_parsed(),
            Err(skip) => report.record_skipped(line, skip.kind, skip.reason, &record_text(record)),
        }
    };
    if !is_header {
        handle(&record, &mut report);
    }
    while csv.read_byte_record(&mut record).map_err(|e| read_error(path, e))? {
        handle(&record, &mut report);
    }
    Ok(report)
}

/// The wanted cells of a row as text.
fn cells<'r, const N: usize>(
    record: &'r csv::ByteRecord,
    positions: &[Option<usize>; N],
) -> Result<[&'r str; N], Skip> {
    let mut out = [""; N];
    for (slot, position) in out.iter_mut().zip(positions) {
        if let Some(cell) = position.and_then(|position| record.get(position)) {
            *slot = std::str::from_utf8(cell).map_err(|_| Skip::new("not_utf8", "a cell is not UTF-8 text"))?;
        }
    }
    Ok(out)
}

/// A row as it might have been written, for the report's excerpt.
fn record_text(record: &csv::ByteRecord) -> String {
    let cells: Vec<_> = record.iter().map(String::from_utf8_lossy).collect();
    cells.join(",")
}

/// A table that cannot be read as one, such as a header lacking a required column.
fn invalid(path: Option<&Path>, reason: String) -> DataError {
    // A reader handed in without a path (`--test FILE` reads it) is named generically.
    let path = path.map_or_else(|| PathBuf::from("<input>"), Path::to_path_buf);
    DataError::Invalid { path, reason }
}

/// A CSV reading error: I/O failures stay I/O errors, the rest make the table invalid.
fn read_error(path: Option<&Path>, error: csv::Error) -> DataError {
    let reason = error.to_string();
    match (error.into_kind(), path) {
        (csv::ErrorKind::Io(source), Some(path)) => DataError::io(path, source),
        (csv::ErrorKind::Io(source), None) => DataError::Stream(source),
        (_, path) => invalid(path, reason),
    }
}

/// A header name compared loosely: `userId`, `user_id` and `User ID` are all `userid`.
pub(crate) fn normalize_header(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .trim_matches('"')
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}
