//! Recognising what a path holds, so that `marquee ingest PATH...` needs no format flags.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::metadata::MetadataKind;
use crate::movielens::MovieLensFlavor;
use crate::DataError;

/// One thing to ingest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Stream lines on standard input (`-`), e.g. from `kcat -C ...`.
    Stdin,
    /// A file of the movie service's stream lines.
    StreamFile(PathBuf),
    /// The metadata API's user objects (JSON array, object or JSON lines).
    UsersJson(PathBuf),
    /// The metadata API's movie objects.
    MoviesJson(PathBuf),
    /// A MovieLens folder.
    MovieLens(PathBuf, MovieLensFlavor),
    /// A folder with Marquee's CSV triple.
    CsvTriple(PathBuf),
    /// A lone ratings file in the triple's shape.
    RatingsCsv(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => write!(f, "stream lines from stdin"),
            Source::StreamFile(path) => write!(f, "stream lines from {}", path.display()),
            Source::UsersJson(path) => write!(f, "user metadata from {}", path.display()),
            Source::MoviesJson(path) => write!(f, "movie metadata from {}", path.display()),
            Source::MovieLens(path, flavor) => write!(f, "MovieLens ({flavor:?}) from {}", path.display()),
            Source::CsvTriple(path) => write!(f, "CSV triple from {}", path.display()),
            Source::RatingsCsv(path) => write!(f, "ratings CSV from {}", path.display()),
        }
    }
}

/// The file names a world folder (`marquee world --out DIR`) holds.
pub const WORLD_STREAM: &str = "stream.log";
pub const WORLD_USERS: &str = "users.jsonl";
pub const WORLD_MOVIES: &str = "movies.jsonl";

/// Works out what `path` holds: `-` is stdin; a folder is MovieLens, a world folder or a CSV
/// triple; a file is metadata JSON, a ratings CSV, or else stream lines.
pub fn detect(path: &Path) -> Result<Vec<Source>, DataError> {
    if path.as_os_str() == "-" {
        return Ok(vec![Source::Stdin]);
    }
    let meta = std::fs::metadata(path).map_err(|error| DataError::io(path, error))?;
    if meta.is_dir() {
        return detect_folder(path);
    }
    detect_file(path).map(|source| vec![source])
}

fn detect_folder(dir: &Path) -> Result<Vec<Source>, DataError> {
    if let Some(flavor) = crate::movielens::detect(dir) {
        return Ok(vec![Source::MovieLens(dir.to_path_buf(), flavor)]);
    }
    // A world folder also holds the CSV triple, but its ratings repeat the stream's at a
    // coarser time resolution, so the stream and the JSON are the whole truth.
    let stream = dir.join(WORLD_STREAM);
    if stream.is_file() {
        let mut sources = vec![Source::StreamFile(stream)];
        for (name, source) in
            [(WORLD_USERS, Source::UsersJson as fn(PathBuf) -> Source), (WORLD_MOVIES, Source::MoviesJson)]
        {
            let file = dir.join(name);
            if file.is_file() {
                sources.push(source(file));
            }
        }
        return Ok(sources);
    }
    if crate::csv_triple::detect(dir) {
        return Ok(vec![Source::CsvTriple(dir.to_path_buf())]);
    }
    Err(DataError::UnknownFormat {
        path: dir.to_path_buf(),
        reason: "a folder must hold MovieLens files (u.data; ratings.dat; ratings.csv with userId), \
                 a world (stream.log) or the CSV triple (ratings.csv with user_id,movie_id,rating,timestamp)"
            .into(),
    })
}

fn detect_file(path: &Path) -> Result<Source, DataError> {
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .and_then(|file| file.take(64 * 1024).read_to_end(&mut head))
        .map_err(|error| DataError::io(path, error))?;
    let text = String::from_utf8_lossy(&head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return match first_json_object_kind(path)? {
            Some(MetadataKind::Users) => Ok(Source::UsersJson(path.to_path_buf())),
            Some(MetadataKind::Movies) => Ok(Source::MoviesJson(path.to_path_buf())),
            None => Err(DataError::UnknownFormat {
                path: path.to_path_buf(),
                reason: "JSON that is neither user objects (user_id, age, ...) nor movie objects (id, title, ...)"
                    .into(),
            }),
        };
    }
    let header = trimmed.lines().next().unwrap_or_default().trim().to_ascii_lowercase();
    if header == "user_id,movie_id,rating,timestamp" {
        return Ok(Source::RatingsCsv(path.to_path_buf()));
    }
    Ok(Source::StreamFile(path.to_path_buf()))
}

/// Reads JSON values until the first object (looking inside a top-level array) and says
/// which kind of record it is.
fn first_json_object_kind(path: &Path) -> Result<Option<MetadataKind>, DataError> {
    let file = std::fs::File::open(path).map_err(|error| DataError::io(path, error))?;
    let values = serde_json::Deserializer::from_reader(std::io::BufReader::new(file)).into_iter::<serde_json::Value>();
    for value in values {
        let Ok(value) = value else { return Ok(None) };
        let object = match &value {
            serde_json::Value::Array(items) => items.iter().find(|item| item.is_object()),
            serde_json::Value::Object(_) => Some(&value),
            _ => None,
        };
        if let Some(kind) = object.and_then(crate::metadata::sniff_kind) {
            return Ok(Some(kind));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_kind_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let stream = write("kafka.log", "2024-01-01T10:00:00,7,GET /create_account\n");
        let users = write("u.json", "{\"user_id\": 1, \"age\": 30, \"occupation\": \"writer\", \"gender\": \"F\"}\n");
        let movies = write("m.json", "[{\"id\": \"a+2000\", \"tmdb_id\": 5, \"title\": \"A\"}]");
        let ratings = write("held_out.csv", "user_id,movie_id,rating,timestamp\n1,a+2000,4,100\n");
        let odd = write("odd.json", "{\"hello\": 1}");
        assert_eq!(detect(&stream).unwrap(), vec![Source::StreamFile(stream)]);
        assert_eq!(detect(&users).unwrap(), vec![Source::UsersJson(users)]);
        assert_eq!(detect(&movies).unwrap(), vec![Source::MoviesJson(movies)]);
        assert_eq!(detect(&ratings).unwrap(), vec![Source::RatingsCsv(ratings)]);
        assert!(matches!(detect(&odd), Err(DataError::UnknownFormat { .. })));
        assert_eq!(detect(Path::new("-")).unwrap(), vec![Source::Stdin]);
        assert!(matches!(detect(&dir.path().join("missing")), Err(DataError::Io { .. })));
        assert!(matches!(detect(dir.path()), Err(DataError::UnknownFormat { .. })));
    }

    #[test]
    fn a_world_folder_is_its_stream_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        for name in [WORLD_STREAM, WORLD_USERS, WORLD_MOVIES] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::write(dir.path().join("ratings.csv"), "user_id,movie_id,rating,timestamp\n").unwrap();
        let sources = detect(dir.path()).unwrap();
        assert_eq!(sources.len(), 3);
        assert!(matches!(sources[0], Source::StreamFile(_)));
    }
}
