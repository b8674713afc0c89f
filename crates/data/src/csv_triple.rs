//! Marquee's plain CSV triple, which `marquee export` and the world generator write:
//! `ratings.csv` (`user_id,movie_id,rating,timestamp`), `users.csv`
//! (`user_id,age,gender,occupation`) and `movies.csv` (`movie_id,title,genres,year`).
//!
//! Reading is lenient about layout: columns are found by name (`user_id`, `userId` and
//! `User ID` are the same column), extra columns are ignored, and a file without a header is
//! read in the documented column order. Timestamps are whole Unix seconds, so sub-second
//! parts of a [`Timestamp`](crate::Timestamp) are dropped on writing. Only the four movie
//! fields above are kept; the other metadata of a [`Movie`] does not survive the triple.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::Path;

use crate::error::DataError;
use crate::fields::{age_field, rating_from_fields, text_field, user_id, Skip};
use crate::files::{header_fields, open_required, DatasetFiles};
use crate::records::{users_from_ratings, Dataset, Gender, Movie, Rating, User};
use crate::report::ParseReport;
use crate::table::{read_table, Column, RATING_COLUMNS};

/// The users file's columns, with the names each may go by (normalised: lowercase, no `_`).
const USER_COLUMNS: [Column; 4] = [
    Column::required(&["userid", "user", "id"]),
    Column::optional(&["age"]),
    Column::optional(&["gender", "sex"]),
    Column::optional(&["occupation", "job"]),
];

/// The movies file's columns, with the names each may go by.
const MOVIE_COLUMNS: [Column; 4] = [
    Column::required(&["movieid", "itemid", "id"]),
    Column::optional(&["title"]),
    Column::optional(&["genres", "genre"]),
    Column::optional(&["year"]),
];

/// True when `dir` holds a `ratings.csv` whose header is the triple's
/// (`user_id,movie_id,...`, not ml-latest's `userId,movieId,...`).
pub fn detect(dir: &Path) -> bool {
    header_fields(dir, "ratings.csv").is_some_and(|header| {
        let has = |name: &str| header.iter().any(|field| field == name);
        has("user_id") && has("movie_id") && has("rating") && has("timestamp")
    })
}

/// Loads a triple from `dir`. `ratings.csv` is required; `users.csv` and `movies.csv` are
/// optional. Without `users.csv` the users are derived, bare, from the ratings' distinct ids.
pub fn load(dir: &Path) -> Result<(Dataset, ParseReport), DataError> {
    read(dir)
}

/// Reads a triple from a set of files (`ratings.csv` required, `users.csv` and `movies.csv`
/// optional), as [`load`] does from a folder.
pub fn read<F: DatasetFiles + ?Sized>(files: &F) -> Result<(Dataset, ParseReport), DataError> {
    let path = files.path("ratings.csv");
    let file = open_required(files, "ratings.csv")?;
    let (ratings, mut report) = read_ratings_from(file, Some(&path))?;

    let path = files.path("users.csv");
    let users = match files.open("users.csv")? {
        Some(file) => {
            let (users, users_report) = read_users_from(file, Some(&path))?;
            report.merge(users_report);
            users
        }
        None => users_from_ratings(&ratings),
    };

    let path = files.path("movies.csv");
    let mut movies = Vec::new();
    if let Some(file) = files.open("movies.csv")? {
        let movies_report = read_table(file, Some(&path), MOVIE_COLUMNS, |[id, title, genres, year]| {
            movies.push(movie_from_fields(id, title, genres, year)?);
            Ok(())
        })?;
        report.merge(movies_report);
    }
    Ok((Dataset { users, movies, ratings }, report))
}

/// Writes the whole triple into `dir`, creating the folder if needed.
pub fn write(dir: &Path, dataset: &Dataset) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    write_file(&dir.join("users.csv"), |out| write_users(out, &dataset.users))?;
    write_file(&dir.join("movies.csv"), |out| write_movies(out, &dataset.movies))?;
    write_file(&dir.join("ratings.csv"), |out| {
        let mut ratings = RatingsWriter::new(out)?;
        for rating in &dataset.ratings {
            ratings.write(rating)?;
        }
        ratings.finish().map(drop)
    })
}

/// Writes `users.csv`: a header, then one user a row, unknown demographics as empty cells.
pub fn write_users<W: Write>(writer: W, users: &[User]) -> Result<(), DataError> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(["user_id", "age", "gender", "occupation"]).map_err(write_error)?;
    for user in users {
        let age = user.age.map(|age| age.to_string()).unwrap_or_default();
        let gender = user.gender.map_or("", Gender::code);
        let occupation = user.occupation.as_deref().unwrap_or("");
        csv.write_record([user.user_id.to_string().as_str(), &age, gender, occupation]).map_err(write_error)?;
    }
    finish_csv(csv).map(drop)
}

/// Writes `movies.csv`: a header, then one movie a row, genres joined by `|`, the year empty
/// when unknown. Titles with commas, quotes or line breaks are quoted.
pub fn write_movies<W: Write>(writer: W, movies: &[Movie]) -> Result<(), DataError> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(["movie_id", "title", "genres", "year"]).map_err(write_error)?;
    for movie in movies {
        let year = movie.year.map(|year| year.to_string()).unwrap_or_default();
        csv.write_record([movie.movie_id.as_str(), &movie.title, &movie.genres.join("|"), &year])
            .map_err(write_error)?;
    }
    finish_csv(csv).map(drop)
}

/// Streams ratings out one at a time, for worlds too big to hold.
pub struct RatingsWriter<W: Write> {
    csv: csv::Writer<W>,
    /// Reused for formatting each number, so a long stream does not allocate per rating.
    field: String,
}

impl<W: Write> RatingsWriter<W> {
    /// Starts a ratings file, writing its header.
    pub fn new(writer: W) -> Result<Self, DataError> {
        let mut csv = csv::Writer::from_writer(writer);
        csv.write_record(["user_id", "movie_id", "rating", "timestamp"]).map_err(write_error)?;
        Ok(RatingsWriter { csv, field: String::new() })
    }

    /// Writes one rating: the rating without trailing zeros (`4`, `3.5`), the time in whole
    /// Unix seconds.
    pub fn write(&mut self, rating: &Rating) -> Result<(), DataError> {
        self.number(rating.user_id)?;
        self.csv.write_field(&rating.movie_id).map_err(write_error)?;
        // f32's Display is the shortest text that reads back exactly, and has no trailing zeros.
        self.number(rating.rating)?;
        self.number(rating.time.unix_seconds())?;
        self.csv.write_record(None::<&[u8]>).map_err(write_error)
    }

    /// Flushes the ratings and hands back the writer.
    pub fn finish(self) -> Result<W, DataError> {
        finish_csv(self.csv)
    }

    fn number(&mut self, value: impl std::fmt::Display) -> Result<(), DataError> {
        use std::fmt::Write as _;
        self.field.clear();
        write!(self.field, "{value}").map_err(|e| DataError::Stream(std::io::Error::other(e)))?;
        self.csv.write_field(&self.field).map_err(write_error)
    }
}

/// Reads one ratings file of the triple's shape. Columns are found by name; a file without a
/// header is read as `user_id,movie_id,rating,timestamp`. A header lacking one of those columns
/// is an error; bad rows are skipped and reported with their line numbers.
pub fn read_ratings<R: Read>(reader: R) -> Result<(Vec<Rating>, ParseReport), DataError> {
    read_ratings_from(reader, None)
}

fn read_ratings_from<R: Read>(reader: R, path: Option<&Path>) -> Result<(Vec<Rating>, ParseReport), DataError> {
    let mut ratings = Vec::new();
    let report = read_table(reader, path, RATING_COLUMNS, |[user, movie, rating, time]| {
        ratings.push(rating_from_fields(user, movie, rating, time)?);
        Ok(())
    })?;
    Ok((ratings, report))
}

fn read_users_from<R: Read>(reader: R, path: Option<&Path>) -> Result<(Vec<User>, ParseReport), DataError> {
    let mut users = Vec::new();
    let report = read_table(reader, path, USER_COLUMNS, |[id, age, gender, occupation]| {
        users.push(User {
            user_id: user_id(id)?,
            age: age_field(age)?,
            gender: Gender::parse(gender),
            occupation: text_field(occupation),
        });
        Ok(())
    })?;
    Ok((users, report))
}

/// A movie row; the title is kept verbatim so that it round-trips.
fn movie_from_fields(id: &str, title: &str, genres: &str, year: &str) -> Result<Movie, Skip> {
    let movie_id = id.trim();
    if movie_id.is_empty() {
        return Err(Skip::new("missing_movie_id", "the movie id is empty"));
    }
    let year = match year.trim() {
        "" => None,
        text => Some(text.parse().map_err(|_| Skip::new("bad_year", format!("year {text:?} is not a year")))?),
    };
    let genres = genres.split('|').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect();
    Ok(Movie { movie_id: movie_id.to_owned(), title: title.to_owned(), genres, year, ..Movie::default() })
}

fn write_error(error: csv::Error) -> DataError {
    match error.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Stream(source),
        other => DataError::Stream(std::io::Error::new(ErrorKind::InvalidData, format!("{other:?}"))),
    }
}

fn finish_csv<W: Write>(csv: csv::Writer<W>) -> Result<W, DataError> {
    csv.into_inner().map_err(|e| DataError::Stream(e.into_error()))
}

/// Creates `path` and fills it with `body`, naming the file in any I/O error.
fn write_file(path: &Path, body: impl FnOnce(&mut BufWriter<File>) -> Result<(), DataError>) -> Result<(), DataError> {
    let file = File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut out = BufWriter::new(file);
    body(&mut out).map_err(|e| match e {
        DataError::Stream(source) => DataError::io(path, source),
        other => other,
    })?;
    out.flush().map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Timestamp;

    fn rating(user_id: u64, movie_id: &str, rating: f32, seconds: i64) -> Rating {
        Rating { user_id, movie_id: movie_id.into(), rating, time: Timestamp::from_unix_seconds(seconds) }
    }

    fn sample() -> Dataset {
        Dataset {
            users: vec![
                User { user_id: 1, age: Some(34), gender: Some(Gender::Male), occupation: Some("scientist".into()) },
                User { user_id: 2, age: None, gender: Some(Gender::Other), occupation: None },
                User { user_id: 3, ..User::default() },
                User {
                    user_id: 4,
                    age: Some(25),
                    gender: Some(Gender::Female),
                    occupation: Some("sales, marketing".into()),
                },
            ],
            movies: vec![
                Movie {
                    movie_id: "the+shawshank+redemption+1994".into(),
                    title: "The Shawshank Redemption".into(),
                    genres: vec!["Drama".into(), "Crime".into()],
                    year: Some(1994),
                    ..Movie::default()
                },
                Movie {
                    movie_id: "american+president+the+1995".into(),
                    title: "American President, The \"Director's Cut\"".into(),
                    genres: vec!["Science Fiction".into()],
                    year: None,
                    ..Movie::default()
                },
                Movie { movie_id: "untitled".into(), title: String::new(), genres: vec![], ..Movie::default() },
            ],
            ratings: vec![
                rating(1, "the+shawshank+redemption+1994", 4.0, 1_567_711_621),
                rating(2, "american+president+the+1995", 3.5, 0),
                rating(4, "the+shawshank+redemption+1994", 0.5, 1_700_000_000),
            ],
        }
    }

    #[test]
    fn write_then_load_round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("export");
        let dataset = sample();
        write(&target, &dataset).unwrap();
        assert!(detect(&target));
        let (loaded, report) = load(&target).unwrap();
        assert_eq!(loaded, dataset);
        assert_eq!(report.skipped_total(), 0);
        assert_eq!(report.parsed, 4 + 3 + 3);

        let ratings = std::fs::read_to_string(target.join("ratings.csv")).unwrap();
        assert_eq!(
            ratings,
            "user_id,movie_id,rating,timestamp\n1,the+shawshank+redemption+1994,4,1567711621\n\
             2,american+president+the+1995,3.5,0\n4,the+shawshank+redemption+1994,0.5,1700000000\n"
        );
        let users = std::fs::read_to_string(target.join("users.csv")).unwrap();
        assert!(users.contains("\n2,,O,\n3,,,\n"), "{users}");
        let movies = std::fs::read_to_string(target.join("movies.csv")).unwrap();
        assert!(movies.contains("\"American President, The \"\"Director's Cut\"\"\",Science Fiction,\n"), "{movies}");
    }

    #[test]
    fn files_in_memory_read_as_the_same_folder_does() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &sample()).unwrap();
        let bytes: Vec<(&str, Vec<u8>)> = ["ratings.csv", "users.csv", "movies.csv"]
            .into_iter()
            .map(|name| (name, std::fs::read(dir.path().join(name)).unwrap()))
            .collect();
        let files: Vec<(&str, &[u8])> = bytes.iter().map(|(name, bytes)| (*name, bytes.as_slice())).collect();
        let in_memory = crate::files::MemoryFiles { files: &files };
        assert_eq!(read(&in_memory).unwrap(), load(dir.path()).unwrap());
        assert_eq!(read(&in_memory).unwrap().0, sample());
        let none = crate::files::MemoryFiles::default();
        assert!(matches!(read(&none), Err(DataError::Io { .. })));
    }

    #[test]
    fn malformed_rows_are_skipped_with_their_line_numbers() {
        let text = "user_id,movie_id,rating,timestamp\n\
                    1,heat+1995,4,1567711621\n\
                    2,heat+1995,4\n\
                    bob,heat+1995,4,1567711621\n\
                    3,heat+1995,7,1567711621\n\
                    4,heat+1995,4,-5\n\
                    5,,4,1567711621\n\
                    ,heat+1995,4,1567711621\n\
                    6,heat+1995,4.5,1567711621,extra\n\
                    7,\"up, 2009\",2.5,1567711622\n";
        let (ratings, report) = read_ratings(text.as_bytes()).unwrap();
        assert_eq!(ratings, [rating(1, "heat+1995", 4.0, 1_567_711_621), rating(7, "up, 2009", 2.5, 1_567_711_622)]);
        let line_of = |kind: &str| report.examples[kind][0].line;
        assert_eq!(line_of("wrong_field_count"), 3);
        assert_eq!(report.examples["wrong_field_count"][1].line, 9);
        assert_eq!(line_of("bad_user_id"), 4);
        assert_eq!(line_of("bad_rating"), 5);
        assert_eq!(line_of("bad_timestamp"), 6);
        assert_eq!(line_of("missing_movie_id"), 7);
        assert_eq!(line_of("missing_user_id"), 8);
        assert_eq!(report.lines, 9);
        assert_eq!(report.examples["bad_rating"][0].excerpt, "3,heat+1995,7,1567711621");
    }

    #[test]
    fn malformed_users_and_movies_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ratings.csv"), "user_id,movie_id,rating,timestamp\n9,m,5,1\n").unwrap();
        std::fs::write(
            dir.path().join("users.csv"),
            "user_id,age,gender,occupation\n1,old,M,\n2,30,F\nx,1,M,\n3,30,F,\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("movies.csv"),
            b"movie_id,title,genres,year\nm,M,Drama,19x5\n,No id,,\nn,\xff,,\nk,K,,1999\n",
        )
        .unwrap();
        let (data, report) = load(dir.path()).unwrap();
        assert_eq!(data.users, [User { user_id: 3, age: Some(30), gender: Some(Gender::Female), occupation: None }]);
        assert_eq!(data.movies.len(), 1);
        assert_eq!(data.movies[0].year, Some(1999));
        assert_eq!(report.examples["bad_age"][0].line, 2);
        assert_eq!(report.examples["wrong_field_count"][0].line, 3);
        assert_eq!(report.examples["bad_user_id"][0].line, 4);
        assert_eq!(report.examples["bad_year"][0].line, 2);
        assert_eq!(report.examples["missing_movie_id"][0].line, 3);
        assert_eq!(report.examples["not_utf8"][0].line, 4);
    }

    #[test]
    fn columns_are_found_by_name_and_a_header_is_optional() {
        let reordered = "timestamp,rating,movieId,userId,source\n1567711621,3,heat+1995,8,web\n";
        let (ratings, _) = read_ratings(reordered.as_bytes()).unwrap();
        assert_eq!(ratings, [rating(8, "heat+1995", 3.0, 1_567_711_621)]);

        let headerless = "8,heat+1995,3,1567711621\n9,up+2009,4.5,1567711622\n";
        let (ratings, report) = read_ratings(headerless.as_bytes()).unwrap();
        assert_eq!(ratings.len(), 2);
        assert_eq!(report.parsed, 2);

        let lacking = "user_id,movie_id,timestamp\n8,heat+1995,1567711621\n";
        assert!(matches!(read_ratings(lacking.as_bytes()), Err(DataError::Invalid { .. })));
        let (ratings, report) = read_ratings(&b""[..]).unwrap();
        assert!(ratings.is_empty() && report.lines == 0);
    }

    #[test]
    fn without_users_csv_users_come_from_the_ratings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ratings.csv"),
            "user_id,movie_id,rating,timestamp\n9,m,5,1\n2,m,5,1\n9,n,1,1\n",
        )
        .unwrap();
        let (data, _) = load(dir.path()).unwrap();
        assert_eq!(data.users, [User { user_id: 2, ..User::default() }, User { user_id: 9, ..User::default() }]);
        assert!(data.movies.is_empty());
    }

    #[test]
    fn detects_only_the_triple() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!detect(dir.path()));
        assert!(matches!(load(dir.path()), Err(DataError::Io { .. })));
        std::fs::write(dir.path().join("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n").unwrap();
        assert!(!detect(dir.path()));
        std::fs::write(dir.path().join("ratings.csv"), "\u{feff}user_id,movie_id,rating,timestamp\r\n").unwrap();
        assert!(detect(dir.path()));
    }

    #[test]
    fn the_ratings_writer_streams_and_hands_back_its_writer() {
        let mut writer = RatingsWriter::new(Vec::new()).unwrap();
        writer.write(&rating(3, "heat+1995", 5.0, 42)).unwrap();
        writer.write(&rating(4, "a,b", 2.5, 43)).unwrap();
        let bytes = writer.finish().unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "user_id,movie_id,rating,timestamp\n3,heat+1995,5,42\n4,\"a,b\",2.5,43\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = read_ratings(&bytes[..]);
            let _ = read_users_from(&bytes[..], None);
        }

        #[test]
        fn any_written_ratings_read_back(
            rows in proptest::collection::vec((0u64..1_000_000, "[a-z0-9+,\" ]{1,12}", 1u8..=10, 0i64..4_000_000_000), 0..20)
        ) {
            let ratings: Vec<Rating> = rows
                .iter()
                .filter(|(_, movie, _, _)| !movie.trim().is_empty())
                .map(|(user, movie, half_stars, seconds)| rating(*user, movie.trim(), f32::from(*half_stars) / 2.0, *seconds))
                .collect();
            let mut writer = RatingsWriter::new(Vec::new()).unwrap();
            for rating in &ratings {
                writer.write(rating).unwrap();
            }
            let bytes = writer.finish().unwrap();
            let (read, report) = read_ratings(&bytes[..]).unwrap();
            proptest::prop_assert_eq!(read, ratings);
            proptest::prop_assert_eq!(report.skipped_total(), 0);
        }
    }
}
