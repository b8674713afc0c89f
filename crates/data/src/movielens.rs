//! The three MovieLens layouts (100K, 1M and ml-latest / ml-latest-small), recognised from
//! the files in a folder and read into a [`Dataset`].
//!
//! Choices worth knowing:
//! - Movie ids are MovieLens's numeric ids kept as strings (`"1"`, `"242"`), normalised so that
//!   `"007"` and `"7"` are the same movie.
//! - Genre names are mapped to TMDB's where they differ: `Sci-Fi` becomes `Science Fiction`,
//!   `Children's` / `Children` become `Family`, `Musical` becomes `Music`. `Film-Noir` and
//!   `IMAX` have no TMDB counterpart and are kept as they are; `unknown` and
//!   `(no genres listed)` mean no genre.
//! - The year is stripped from titles (`Toy Story (1995)` becomes `Toy Story` and 1995);
//!   MovieLens's trailing articles (`American President, The`) are left alone.
//! - Text files are decoded as UTF-8 when they are valid UTF-8 and as Latin-1 otherwise, so the
//!   Latin-1 files of 100K and 1M and the UTF-8 files of ml-latest (or re-encoded copies) all read.
//! - Only the ratings file is required. Without a users file the users are derived, bare, from
//!   the ratings' distinct user ids (ml-latest has none); without a movies file there are no movies.
//!   ml-latest's optional `links.csv` fills in the IMDb and TMDB ids.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind};
use std::path::Path;

use crate::error::DataError;
use crate::fields::{
    age_field, decode_text, rating_from_fields, split_fields, split_title_year, text_field, user_id, wrong_count,
    year_of_date, Skip,
};
use crate::files::{header_fields, open_required, DatasetFiles};
use crate::records::{users_from_ratings, Dataset, Gender, Movie, User};
use crate::report::ParseReport;
use crate::table::{read_table, Column, RATING_COLUMNS};

/// Which of the MovieLens layouts a folder holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MovieLensFlavor {
    /// ml-100k: `u.data`, `u.user`, `u.item`.
    Ml100k,
    /// ml-1m: `ratings.dat`, `users.dat`, `movies.dat`, `::`-separated.
    Ml1m,
    /// ml-latest and ml-latest-small: `ratings.csv` (`userId,movieId,...`), `movies.csv`, `links.csv`.
    Latest,
}

/// Recognises the MovieLens layout of a folder from the files it holds, or returns `None` when
/// it holds none of them.
pub fn detect(dir: &Path) -> Option<MovieLensFlavor> {
    detect_files(dir)
}

/// Recognises the MovieLens layout of a set of files, as [`detect`] does for a folder.
pub fn detect_files<F: DatasetFiles + ?Sized>(files: &F) -> Option<MovieLensFlavor> {
    if files.has("u.data") {
        Some(MovieLensFlavor::Ml100k)
    } else if files.has("ratings.dat") {
        Some(MovieLensFlavor::Ml1m)
    } else {
        let header = header_fields(files, "ratings.csv")?;
        let first: Vec<&str> = header.iter().take(2).map(String::as_str).collect();
        (first == ["userid", "movieid"]).then_some(MovieLensFlavor::Latest)
    }
}

/// Loads a MovieLens folder of any of the three layouts. Bad lines are skipped and counted in
/// the report (merged over all the files read); a missing folder, a folder that is not
/// MovieLens, or an unreadable file is an error.
pub fn load(dir: &Path) -> Result<(Dataset, ParseReport), DataError> {
    if !dir.is_dir() {
        return Err(DataError::io(dir, std::io::Error::new(ErrorKind::NotFound, "no such folder")));
    }
    read(dir)
}

/// Reads a MovieLens dataset of any of the three layouts from a set of files, as [`load`]
/// does from a folder; files that hold none of the layouts are an error.
pub fn read<F: DatasetFiles + ?Sized>(files: &F) -> Result<(Dataset, ParseReport), DataError> {
    let flavor = detect_files(files).ok_or_else(|| DataError::UnknownFormat {
        path: files.path(""),
        reason: "no u.data (ml-100k), ratings.dat (ml-1m) or ratings.csv with a userId,movieId header (ml-latest)"
            .to_owned(),
    })?;
    read_flavor(files, flavor)
}

/// Reads the files as the given MovieLens layout, whatever detection would say.
pub fn read_flavor<F: DatasetFiles + ?Sized>(
    files: &F,
    flavor: MovieLensFlavor,
) -> Result<(Dataset, ParseReport), DataError> {
    match flavor {
        MovieLensFlavor::Ml100k => load_100k(files),
        MovieLensFlavor::Ml1m => load_1m(files),
        MovieLensFlavor::Latest => load_latest(files),
    }
}

/// The genres of ml-100k's `u.item` flags, in column order.
const ML100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// ml-1m's occupation codes 0 to 20, as its README names them.
const ML1M_OCCUPATIONS: [&str; 21] = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
];

fn load_100k<F: DatasetFiles + ?Sized>(files: &F) -> Result<(Dataset, ParseReport), DataError> {
    let mut report = ParseReport::default();
    let mut ratings = Vec::new();
    for_each_line(files, "u.data", true, |line_no, line| {
        let result = decode_ascii(line).and_then(|text| {
            let [user, movie, rating, time] = split_fields(text.split_ascii_whitespace())?;
            rating_from_fields(user, &movie_id(movie)?, rating, time)
        });
        note(&mut report, &mut ratings, line_no, result, line);
    })?;

    let mut users = Vec::new();
    let users_found = for_each_line(files, "u.user", false, |line_no, line| {
        let text = decode_text(line);
        let result = split_fields(text.split('|')).and_then(|[id, age, gender, occupation, _zip]| {
            Ok(User {
                user_id: user_id(id)?,
                age: age_field(age)?,
                gender: Gender::parse(gender),
                occupation: text_field(occupation),
            })
        });
        note(&mut report, &mut users, line_no, result, line);
    })?;

    let mut movies = Vec::new();
    for_each_line(files, "u.item", false, |line_no, line| {
        let result = item_100k(&decode_text(line));
        note(&mut report, &mut movies, line_no, result, line);
    })?;

    if !users_found {
        users = users_from_ratings(&ratings);
    }
    Ok((Dataset { users, movies, ratings }, report))
}

/// One line of ml-100k's `u.item`: `id|title|release date|video release date|IMDb URL|19 flags`.
fn item_100k(text: &str) -> Result<Movie, Skip> {
    let fields: Vec<&str> = text.split('|').collect();
    let [id, title, release, _video, _url, flags @ ..] = fields.as_slice() else {
        return Err(wrong_count(5 + ML100K_GENRES.len(), fields.len()));
    };
    if flags.len() != ML100K_GENRES.len() {
        return Err(wrong_count(5 + ML100K_GENRES.len(), fields.len()));
    }
    let mut genres = Vec::new();
    for (flag, name) in flags.iter().zip(ML100K_GENRES) {
        match flag.trim() {
            "0" => {}
            "1" => push_genre(&mut genres, name),
            other => return Err(Skip::new("bad_genre_flags", format!("genre flag {other:?} is not 0 or 1"))),
        }
    }
    let (title, title_year) = split_title_year(title);
    let release_date = release_date_100k(release);
    let year = title_year.or_else(|| release_date.as_deref().and_then(year_of_date));
    Ok(Movie { movie_id: movie_id(id)?, title, genres, year, release_date, ..Movie::default() })
}

fn load_1m<F: DatasetFiles + ?Sized>(files: &F) -> Result<(Dataset, ParseReport), DataError> {
    let mut report = ParseReport::default();
    let mut ratings = Vec::new();
    for_each_line(files, "ratings.dat", true, |line_no, line| {
        let result = decode_ascii(line).and_then(|text| {
            let [user, movie, rating, time] = split_fields(text.split("::"))?;
            rating_from_fields(user, &movie_id(movie)?, rating, time)
        });
        note(&mut report, &mut ratings, line_no, result, line);
    })?;

    let mut users = Vec::new();
    let users_found = for_each_line(files, "users.dat", false, |line_no, line| {
        let text = decode_text(line);
        let result = split_fields(text.split("::")).and_then(|[id, gender, age, occupation, _zip]| {
            Ok(User {
                user_id: user_id(id)?,
                age: age_field(age)?,
                gender: Gender::parse(gender),
                occupation: occupation_1m(occupation)?,
            })
        });
        note(&mut report, &mut users, line_no, result, line);
    })?;

    let mut movies = Vec::new();
    for_each_line(files, "movies.dat", false, |line_no, line| {
        let text = decode_text(line);
        // Split the id off the left and the genres off the right, so a title holding `::`
        // (none does in the real data) would still read.
        let result = text
            .split_once("::")
            .and_then(|(id, rest)| rest.rsplit_once("::").map(|(title, genres)| (id, title, genres)))
            .ok_or_else(|| wrong_count(3, text.split("::").count()))
            .and_then(|(id, title, genres)| movie_latest(id, title, genres));
        note(&mut report, &mut movies, line_no, result, line);
    })?;

    if !users_found {
        users = users_from_ratings(&ratings);
    }
    Ok((Dataset { users, movies, ratings }, report))
}

/// ml-1m's occupation code as its documented name.
fn occupation_1m(code: &str) -> Result<Option<String>, Skip> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    code.parse::<usize>()
        .ok()
        .and_then(|index| ML1M_OCCUPATIONS.get(index))
        .map(|name| Some((*name).to_owned()))
        .ok_or_else(|| Skip::new("bad_occupation", format!("occupation {code:?} is not a code from 0 to 20")))
}

fn load_latest<F: DatasetFiles + ?Sized>(files: &F) -> Result<(Dataset, ParseReport), DataError> {
    let mut ratings = Vec::new();
    let path = files.path("ratings.csv");
    let file = open_required(files, "ratings.csv")?;
    let mut report = read_table(file, Some(&path), RATING_COLUMNS, |[user, movie, rating, time]| {
        ratings.push(rating_from_fields(user, &movie_id(movie)?, rating, time)?);
        Ok(())
    })?;

    let mut movies = Vec::new();
    let path = files.path("movies.csv");
    if let Some(file) = files.open("movies.csv")? {
        let columns = [
            Column::required(&["movieid", "itemid", "id"]),
            Column::required(&["title"]),
            Column::optional(&["genres"]),
        ];
        let movies_report = read_table(file, Some(&path), columns, |[id, title, genres]| {
            movies.push(movie_latest(id, title, genres)?);
            Ok(())
        })?;
        report.merge(movies_report);
    }

    let path = files.path("links.csv");
    if let Some(file) = files.open("links.csv")? {
        let index: HashMap<String, usize> =
            movies.iter().enumerate().map(|(position, movie)| (movie.movie_id.clone(), position)).collect();
        let columns = [Column::required(&["movieid"]), Column::optional(&["imdbid"]), Column::optional(&["tmdbid"])];
        let links_report = read_table(file, Some(&path), columns, |[id, imdb, tmdb]| {
            let id = movie_id(id)?;
            // A link to a movie not in movies.csv is harmless: there is nothing to fill in.
            if let Some(movie) = index.get(&id).and_then(|&position| movies.get_mut(position)) {
                let imdb = imdb.trim();
                if !imdb.is_empty() && imdb.bytes().all(|b| b.is_ascii_digit()) {
                    movie.imdb_id = Some(format!("tt{imdb}"));
                }
                movie.tmdb_id = tmdb.trim().parse().ok();
            }
            Ok(())
        })?;
        report.merge(links_report);
    }

    let users = users_from_ratings(&ratings);
    Ok((Dataset { users, movies, ratings }, report))
}

/// A movie of ml-1m's `movies.dat` or ml-latest's `movies.csv`: id, `Title (Year)`, `A|B` genres.
fn movie_latest(id: &str, title: &str, genres: &str) -> Result<Movie, Skip> {
    let movie_id = movie_id(id)?;
    let (title, year) = split_title_year(title);
    let mut names = Vec::new();
    for name in genres.split('|') {
        push_genre(&mut names, name.trim());
    }
    Ok(Movie { movie_id, title, genres: names, year, ..Movie::default() })
}

/// Adds a MovieLens genre under its TMDB name, once.
fn push_genre(genres: &mut Vec<String>, name: &str) {
    let name = match name {
        "" | "unknown" | "(no genres listed)" => return,
        "Sci-Fi" => "Science Fiction",
        "Children's" | "Children" => "Family",
        "Musical" => "Music",
        other => other,
    };
    if !genres.iter().any(|known| known == name) {
        genres.push(name.to_owned());
    }
}

/// A MovieLens movie id: a non-negative integer, normalised to its decimal text.
fn movie_id(text: &str) -> Result<String, Skip> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Skip::new("missing_movie_id", "the movie id is empty"));
    }
    text.parse::<u64>()
        .map(|id| id.to_string())
        .map_err(|_| Skip::new("bad_movie_id", format!("movie id {text:?} is not a non-negative integer")))
}

/// ml-100k's `01-Jan-1995` as TMDB's `1995-01-01`; anything else is unknown.
fn release_date_100k(text: &str) -> Option<String> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let [day, month, year] = split_fields(text.trim().split('-')).ok()?;
    let day: u32 = day.parse().ok().filter(|day| (1..=31).contains(day))?;
    let month = MONTHS.iter().position(|name| name.eq_ignore_ascii_case(month))? + 1;
    let year: u16 = year.parse().ok().filter(|_| year.len() == 4)?;
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// Numeric lines must be ASCII; anything else cannot hold the numbers expected.
fn decode_ascii(bytes: &[u8]) -> Result<&str, Skip> {
    std::str::from_utf8(bytes).map_err(|_| Skip::new("not_utf8", "the line is not text"))
}

/// Records a parsed record or a skipped line.
fn note<T>(report: &mut ParseReport, records: &mut Vec<T>, line_no: u64, result: Result<T, Skip>, line: &[u8]) {
    match result {
        Ok(record) => {
            records.push(record);
            report.record_parsed();
        }
        Err(skip) => report.record_skipped(line_no, skip.kind, skip.reason, &decode_text(line)),
    }
}

/// Calls `each` with every non-blank line (1-based number, bytes without the line ending).
/// Returns `false` when an optional file is absent; a required one that is absent is an error.
fn for_each_line<F: DatasetFiles + ?Sized>(
    files: &F,
    name: &str,
    required: bool,
    mut each: impl FnMut(u64, &[u8]),
) -> Result<bool, DataError> {
    let file = if required {
        open_required(files, name)?
    } else {
        match files.open(name)? {
            Some(file) => file,
            None => return Ok(false),
        }
    };
    let path = files.path(name);
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buffer = Vec::new();
    let mut line_no = 0u64;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer).map_err(|e| DataError::io(&path, e))? == 0 {
            return Ok(true);
        }
        line_no += 1;
        let mut line = buffer.as_slice();
        if line_no == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            each(line_no, line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Timestamp;
    use crate::records::Rating;

    /// A folder holding the given files.
    fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        dir
    }

    const U_DATA: &[u8] = b"196\t242\t3\t881250949\n\
186\t302\t3\t891717742\n\
22\t377\t1\t878887116\n\
244\t51\t2\t880606923\n\
166\t346\t1\n\
abc\t346\t1\t886397596\n\
166\t346\t6\t886397596\n\
166\t346\t4\tyesterday\n\
\n\
298\t474\t4\t884182806\r\n";

    const U_USER: &[u8] = b"1|24|M|technician|85711\n2|53|F|other|94043\n3|x|M|writer|32067\n4|24|M\n";

    const U_ITEM: &[u8] = b"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n\
2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n\
267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n\
1312|Mis\xe9rables, Les (1995)|20-Oct-1995||http://us.imdb.com/M/title-exact?Mis%E9rables%20(1995)|0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0\n\
5|Copycat (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|1|0|1|0|0|0|0|0|0|0|1\n\
6|Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|2\n\
1682|Scream of Stone (Schrei aus Stein) (1991)|08-Mar-1996||http://x|0|0|0|0|0|0|0|0|1|0|1|0|0|0|0|1|0|0|0\n";

    #[test]
    fn files_in_memory_read_as_the_same_folder_does() {
        let files = [("u.data", U_DATA), ("u.user", U_USER), ("u.item", U_ITEM)];
        let dir = folder(&files);
        let in_memory = crate::files::MemoryFiles { files: &files };
        assert_eq!(detect_files(&in_memory), Some(MovieLensFlavor::Ml100k));
        assert_eq!(read(&in_memory).unwrap(), load(dir.path()).unwrap());
        let (_, report) = read_flavor(&in_memory, MovieLensFlavor::Ml100k).unwrap();
        assert_eq!(report.parsed, 5 + 2 + 5);
        let missing = read_flavor(&in_memory, MovieLensFlavor::Ml1m).unwrap_err();
        assert!(missing.to_string().contains("ratings.dat"), "{missing}");
    }

    #[test]
    fn loads_ml_100k_skipping_bad_lines() {
        let dir = folder(&[("u.data", U_DATA), ("u.user", U_USER), ("u.item", U_ITEM)]);
        assert_eq!(detect(dir.path()), Some(MovieLensFlavor::Ml100k));
        let (data, report) = load(dir.path()).unwrap();

        assert_eq!(data.ratings.len(), 5);
        assert_eq!(
            data.ratings[0],
            Rating {
                user_id: 196,
                movie_id: "242".into(),
                rating: 3.0,
                time: Timestamp::from_unix_seconds(881_250_949)
            }
        );
        assert_eq!(data.ratings[4].user_id, 298, "a CRLF line ending is fine");
        assert_eq!(report.examples["wrong_field_count"][0].line, 5);
        assert_eq!(report.examples["bad_user_id"][0].line, 6);
        assert_eq!(report.examples["bad_rating"][0].line, 7);
        assert_eq!(report.examples["bad_timestamp"][0].line, 8);

        assert_eq!(data.users.len(), 2);
        assert_eq!(
            data.users[1],
            User { user_id: 2, age: Some(53), gender: Some(Gender::Female), occupation: Some("other".into()) }
        );
        assert_eq!(report.examples["bad_age"][0].line, 3);
        assert_eq!(report.skipped["wrong_field_count"], 3, "one rating, one user, one movie");

        let titles: Vec<_> = data.movies.iter().map(|movie| movie.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Toy Story", "GoldenEye", "unknown", "Misérables, Les", "Scream of Stone (Schrei aus Stein)"]
        );
        let toy_story = &data.movies[0];
        assert_eq!(toy_story.movie_id, "1");
        assert_eq!(toy_story.year, Some(1995));
        assert_eq!(toy_story.release_date.as_deref(), Some("1995-01-01"));
        assert_eq!(toy_story.genres, ["Animation", "Family", "Comedy"]);
        assert_eq!(data.movies[1].genres, ["Action", "Adventure", "Thriller"]);
        assert!(data.movies[2].genres.is_empty() && data.movies[2].year.is_none());
        assert_eq!(data.movies[3].genres, ["Drama", "Music"]);
        assert_eq!(data.movies[3].release_date.as_deref(), Some("1995-10-20"));
        assert_eq!(data.movies[4].genres, ["Drama", "Film-Noir", "Science Fiction"]);
        assert_eq!(report.examples["bad_genre_flags"][0].line, 6);
        assert_eq!(report.parsed, 5 + 2 + 5);
    }

    #[test]
    fn without_a_users_file_users_come_from_the_ratings() {
        let dir = folder(&[("u.data", U_DATA)]);
        let (data, _) = load(dir.path()).unwrap();
        let ids: Vec<_> = data.users.iter().map(|user| user.user_id).collect();
        assert_eq!(ids, [22, 186, 196, 244, 298]);
        assert!(data.movies.is_empty());
    }

    #[test]
    fn loads_ml_1m_with_occupation_codes_and_latin1_titles() {
        let dir = folder(&[
            (
                "ratings.dat",
                b"1::1193::5::978300760\n1::661::3::978302109\n2::1357::0::978298709\n2::x::5::1\n3::1::4\n",
            ),
            ("users.dat", b"1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::99::55117\n4::M::45::7\n"),
            (
                "movies.dat",
                b"1::Toy Story (1995)::Animation|Children's|Comedy\n\
73::Mis\xe9rables, Les (1995)::Drama|Musical\n\
2858::American Beauty (1999)::Comedy|Drama\n\
x::Broken (1999)::Drama\n\
5::Father of the Bride Part II (1995)\n",
            ),
        ]);
        assert_eq!(detect(dir.path()), Some(MovieLensFlavor::Ml1m));
        let (data, report) = load(dir.path()).unwrap();
        assert_eq!(data.ratings.len(), 2);
        assert_eq!(data.ratings[0].movie_id, "1193");
        assert_eq!(data.ratings[0].time.unix_seconds(), 978_300_760);
        assert_eq!(report.examples["bad_rating"][0].line, 3);
        assert_eq!(report.examples["bad_movie_id"][0].line, 4);

        assert_eq!(
            data.users,
            [
                User {
                    user_id: 1,
                    age: Some(1),
                    gender: Some(Gender::Female),
                    occupation: Some("K-12 student".into())
                },
                User {
                    user_id: 2,
                    age: Some(56),
                    gender: Some(Gender::Male),
                    occupation: Some("self-employed".into())
                },
            ]
        );
        assert_eq!(report.examples["bad_occupation"][0].line, 3);

        assert_eq!(data.movies.len(), 3);
        assert_eq!(data.movies[1].title, "Misérables, Les");
        assert_eq!(data.movies[1].genres, ["Drama", "Music"]);
        assert_eq!(data.movies[2].year, Some(1999));
        assert_eq!(report.examples["bad_movie_id"][1].line, 4);
        assert_eq!(report.skipped["wrong_field_count"], 3);
    }

    #[test]
    fn loads_ml_latest_with_quoted_titles_half_stars_and_links() {
        let dir = folder(&[
            (
                "ratings.csv",
                b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,3.5,964981247\n7,182727,0.5,1520408880\n\
                  5,1,5.5,964982703\n5,1,0,964982703\n5,1,4.0\n-3,1,4.0,964982703\n",
            ),
            (
                "movies.csv",
                "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n\
                 11,\"American President, The (1995)\",Comedy|Drama|Romance\n\
                 182727,A Christmas Story Live! (2017),(no genres listed)\n\
                 40697,Babylon 5,Sci-Fi\n\
                 abc,\"Broken, \"\"Quoted\"\" (2001)\",Drama\n"
                    .as_bytes(),
            ),
            ("links.csv", b"movieId,imdbId,tmdbId\n1,0114709,862\n11,0112346,\n999,0000001,1\nx,1,2\n"),
        ]);
        assert_eq!(detect(dir.path()), Some(MovieLensFlavor::Latest));
        let (data, report) = load(dir.path()).unwrap();
        let stars: Vec<_> = data.ratings.iter().map(|rating| rating.rating).collect();
        assert_eq!(stars, [4.0, 3.5, 0.5]);
        assert_eq!(report.skipped["bad_rating"], 2);
        assert_eq!(report.examples["bad_rating"][0].line, 5);
        assert_eq!(report.examples["bad_rating"][1].line, 6);
        assert_eq!(report.examples["wrong_field_count"][0].line, 7);
        assert_eq!(report.examples["bad_user_id"][0].line, 8);
        assert_eq!(data.users, [User { user_id: 1, ..User::default() }, User { user_id: 7, ..User::default() }]);

        assert_eq!(data.movies.len(), 4);
        let president = &data.movies[1];
        assert_eq!(president.title, "American President, The");
        assert_eq!(president.year, Some(1995));
        assert_eq!(president.imdb_id.as_deref(), Some("tt0112346"));
        assert_eq!(president.tmdb_id, None);
        assert_eq!(data.movies[0].genres, ["Adventure", "Animation", "Family", "Comedy", "Fantasy"]);
        assert_eq!(data.movies[0].tmdb_id, Some(862));
        assert!(data.movies[2].genres.is_empty());
        assert_eq!((data.movies[3].title.as_str(), data.movies[3].year), ("Babylon 5", None));
        assert_eq!(data.movies[3].genres, ["Science Fiction"]);
        assert_eq!(report.examples["bad_movie_id"][0].line, 6);
        assert_eq!(report.examples["bad_movie_id"][1].line, 5, "links.csv's own line number");
    }

    #[test]
    fn detects_nothing_in_other_folders() {
        let triple = folder(&[("ratings.csv", b"user_id,movie_id,rating,timestamp\n1,heat+1995,4,1\n")]);
        assert_eq!(detect(triple.path()), None);
        assert!(matches!(load(triple.path()), Err(DataError::UnknownFormat { .. })));
        let empty = folder(&[]);
        assert_eq!(detect(empty.path()), None);
        assert!(matches!(load(&empty.path().join("missing")), Err(DataError::Io { .. })));
    }

    #[test]
    fn an_unreadable_ratings_file_is_an_error() {
        // A folder where a file should be cannot be read as one.
        let dir = folder(&[("u.item", b"")]);
        std::fs::create_dir(dir.path().join("u.data")).unwrap();
        assert_eq!(detect(dir.path()), None);
        let dir = folder(&[("ratings.dat", b"1::1::5::1\n")]);
        std::fs::create_dir(dir.path().join("users.dat")).unwrap();
        assert!(matches!(load(dir.path()), Err(DataError::Io { .. })));
    }

    #[test]
    fn splits_titles_and_dates() {
        assert_eq!(split_title_year("Toy Story (1995)"), ("Toy Story".into(), Some(1995)));
        assert_eq!(split_title_year(" Ready Player One (2018) "), ("Ready Player One".into(), Some(2018)));
        assert_eq!(split_title_year("Babylon 5"), ("Babylon 5".into(), None));
        assert_eq!(split_title_year("(1995)"), ("(1995)".into(), None));
        assert_eq!(split_title_year("Cosmos (1980–1981)"), ("Cosmos (1980–1981)".into(), None));
        assert_eq!(release_date_100k("01-Jan-1995").as_deref(), Some("1995-01-01"));
        assert_eq!(release_date_100k("31-Dec-1997").as_deref(), Some("1997-12-31"));
        assert_eq!(release_date_100k(""), None);
        assert_eq!(release_date_100k("32-Jan-1995"), None);
        assert_eq!(release_date_100k("01-Foo-1995"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_lines(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let dir = folder(&[("u.data", &bytes), ("u.user", &bytes), ("u.item", &bytes)]);
            proptest::prop_assert!(load(dir.path()).is_ok());
            let dir = folder(&[("ratings.dat", &bytes), ("users.dat", &bytes), ("movies.dat", &bytes)]);
            proptest::prop_assert!(load(dir.path()).is_ok());
        }
    }

    /// Run with `cargo test --release -- --ignored` to time a 100K-sized load.
    #[test]
    #[ignore]
    fn loads_100k_ratings_quickly() {
        let mut data = Vec::new();
        for i in 0..100_000u64 {
            data.extend_from_slice(
                format!("{}\t{}\t{}\t{}\n", i % 943 + 1, i % 1682 + 1, i % 5 + 1, 874_724_710 + i).as_bytes(),
            );
        }
        let dir = folder(&[("u.data", &data)]);
        let start = std::time::Instant::now();
        let (dataset, report) = load(dir.path()).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(dataset.ratings.len(), 100_000);
        assert_eq!(report.parsed, 100_000);
        eprintln!("loaded 100,000 ratings in {elapsed:?}");
    }
}
