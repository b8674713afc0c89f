//! The movie service's metadata API: `GET /user/<id>` and `GET /movie/<id>` answer JSON, which
//! users bring as arrays, single objects or JSON lines (the responses concatenated).
//!
//! The API is loose about types: numbers often arrive as strings (`"budget": "0"`,
//! `"vote_average": "7.0"`), and missing values as `null`, `""` or the string `"null"`. Parsing is
//! lenient accordingly: an optional field that is absent or unreadable is `None`, while a
//! record without a readable id is skipped. An answer of `{"message": "user not found"}` is
//! skipped as an `api_error`.

use std::io::BufRead;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::DataError;
use crate::events::check_user_id;
use crate::fields::{year_of_date, Skip};
use crate::records::{Gender, Movie, User};
use crate::report::ParseReport;

mod loose;

/// Which kind of record a metadata JSON object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetadataKind {
    /// `GET /user/<id>` answers: `user_id`, `age`, `gender`, `occupation`.
    Users,
    /// `GET /movie/<id>` answers: TMDB-shaped movies with a slug `id`.
    Movies,
}

/// Fields only a movie has, in TMDB's shape.
const MOVIE_KEYS: [&str; 6] = ["tmdb_id", "imdb_id", "title", "original_title", "release_date", "genres"];

/// Which kind of record a JSON object is: users have `user_id` (and `age`, `gender`,
/// `occupation`); movies have `id`, `tmdb_id`, `title` and the like. `None` for anything else,
/// including the API's error answers.
pub fn sniff_kind(value: &Value) -> Option<MetadataKind> {
    let object = value.as_object()?;
    if object.contains_key("user_id") {
        Some(MetadataKind::Users)
    } else if MOVIE_KEYS.iter().any(|key| object.contains_key(*key)) || object.get("id").is_some_and(Value::is_string) {
        Some(MetadataKind::Movies)
    } else if ["age", "gender", "occupation"].iter().any(|key| object.contains_key(*key)) {
        Some(MetadataKind::Users)
    } else {
        None
    }
}

/// Reads one user object. Fails, with the reason in words, when it is not an object, is an
/// error answer of the API, or has no readable `user_id`.
pub fn parse_user(value: &Value) -> Result<User, String> {
    user_record(value).map_err(|skip| skip.reason)
}

/// Reads one movie object. Fails, with the reason in words, when it is not an object, is an
/// error answer of the API, or has no readable `id` or title.
pub fn parse_movie(value: &Value) -> Result<Movie, String> {
    movie_record(value).map_err(|skip| skip.reason)
}

/// Reads users from a JSON array of objects, a single object, or JSON lines (one object, or
/// one array, per line). Bad records are skipped and reported: in JSON lines by line number,
/// in an array by the element's 1-based index. Only a failure to read at all is an error.
pub fn read_users<R: BufRead>(reader: R) -> Result<(Vec<User>, ParseReport), DataError> {
    read_records(reader, user_record)
}

/// Reads movies from a JSON array of objects, a single object, or JSON lines, like
/// [`read_users`].
pub fn read_movies<R: BufRead>(reader: R) -> Result<(Vec<Movie>, ParseReport), DataError> {
    read_records(reader, movie_record)
}

/// A user in the API's shape: `{"user_id": 123, "age": 34, "occupation": "scientist", "gender": "M"}`,
/// unknown values as `null`.
pub fn user_to_json(user: &User) -> Value {
    json!({
        "user_id": user.user_id,
        "age": user.age,
        "occupation": user.occupation,
        "gender": user.gender.map(Gender::code),
    })
}

/// A movie in the API's TMDB shape, with the API's habits: `budget`, `revenue`, `popularity`,
/// `vote_average` and `vote_count` as strings, `adult` as `"False"`, and the fields Marquee does
/// not keep (overview, posters, companies...) empty. Unknown values are `null`. The year is not
/// a field of its own: it is read back from `release_date` or the slug's trailing year.
pub fn movie_to_json(movie: &Movie) -> Value {
    let genres: Vec<Value> = movie.genres.iter().map(|name| json!({ "id": genre_id(name), "name": name })).collect();
    json!({
        "id": movie.movie_id,
        "tmdb_id": movie.tmdb_id,
        "imdb_id": movie.imdb_id,
        "title": movie.title,
        "original_title": movie.title,
        "adult": "False",
        "belongs_to_collection": {},
        "budget": movie.budget.map(|budget| budget.to_string()),
        "genres": genres,
        "homepage": null,
        "original_language": movie.original_language,
        "overview": "",
        "popularity": movie.popularity.map(decimal_text),
        "poster_path": null,
        "production_companies": [],
        "production_countries": [],
        "release_date": movie.release_date,
        "revenue": movie.revenue.map(|revenue| revenue.to_string()),
        "runtime": movie.runtime,
        "spoken_languages": [],
        "status": "Released",
        "vote_average": movie.vote_average.map(decimal_text),
        "vote_count": movie.vote_count.map(|count| count.to_string()),
    })
}

/// TMDB's genre id for a genre name (case-insensitive), or `None` for a name TMDB lacks.
pub fn genre_id(name: &str) -> Option<u32> {
    const GENRES: [(&str, u32); 19] = [
        ("Action", 28),
        ("Adventure", 12),
        ("Animation", 16),
        ("Comedy", 35),
        ("Crime", 80),
        ("Documentary", 99),
        ("Drama", 18),
        ("Family", 10751),
        ("Fantasy", 14),
        ("History", 36),
        ("Horror", 27),
        ("Music", 10402),
        ("Mystery", 9648),
        ("Romance", 10749),
        ("Science Fiction", 878),
        ("TV Movie", 10770),
        ("Thriller", 53),
        ("War", 10752),
        ("Western", 37),
    ];
    let name = name.trim();
    GENRES.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|&(_, id)| id)
}

/// Writes a float as the API does: `7.0` rather than `7`, otherwise the shortest exact text.
fn decimal_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.1}")
    } else {
        value.to_string()
    }
}

/// A `GET /user/<id>` answer as the API writes it. Every field may be absent; the optional
/// ones are `None` when unreadable, and the id is kept as written so a bad one can be named.
#[derive(Default, Deserialize)]
#[serde(default)]
struct UserJson {
    #[serde(deserialize_with = "loose::present")]
    user_id: Option<Value>,
    #[serde(deserialize_with = "loose::whole_number")]
    age: Option<u8>,
    #[serde(deserialize_with = "loose::gender")]
    gender: Option<Gender>,
    #[serde(deserialize_with = "loose::text")]
    occupation: Option<String>,
}

/// A `GET /movie/<id>` answer in TMDB's shape, numbers often as strings. Every field may be
/// absent; the optional ones are `None` when unreadable, and the id is kept as written.
#[derive(Default, Deserialize)]
#[serde(default)]
struct MovieJson {
    #[serde(deserialize_with = "loose::present")]
    id: Option<Value>,
    #[serde(deserialize_with = "loose::text")]
    title: Option<String>,
    #[serde(deserialize_with = "loose::text")]
    original_title: Option<String>,
    #[serde(deserialize_with = "loose::genre_names")]
    genres: Vec<String>,
    #[serde(deserialize_with = "loose::text")]
    release_date: Option<String>,
    #[serde(deserialize_with = "loose::whole_number")]
    year: Option<u16>,
    #[serde(deserialize_with = "loose::whole_number")]
    tmdb_id: Option<u64>,
    #[serde(deserialize_with = "loose::text")]
    imdb_id: Option<String>,
    #[serde(deserialize_with = "loose::finite_number")]
    popularity: Option<f64>,
    #[serde(deserialize_with = "loose::finite_number")]
    vote_average: Option<f64>,
    #[serde(deserialize_with = "loose::whole_number")]
    vote_count: Option<u64>,
    #[serde(deserialize_with = "loose::whole_number")]
    runtime: Option<u32>,
    #[serde(deserialize_with = "loose::text")]
    original_language: Option<String>,
    #[serde(deserialize_with = "loose::whole_number")]
    budget: Option<u64>,
    #[serde(deserialize_with = "loose::whole_number")]
    revenue: Option<u64>,
}

/// An error answer of the API: `{"message": "user not found"}` or `{"error": "..."}`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ApiErrorJson {
    #[serde(deserialize_with = "loose::text")]
    message: Option<String>,
    #[serde(deserialize_with = "loose::text")]
    error: Option<String>,
}

fn user_record(value: &Value) -> Result<User, Skip> {
    let user: UserJson = record_of_kind(value, MetadataKind::Users)?;
    let user_id = match user.user_id {
        None => return Err(Skip::new("missing_user_id", "the object has no user_id")),
        Some(id) => loose::whole_number_of(&id)
            .ok_or_else(|| Skip::new("bad_user_id", format!("user_id {id} is not a non-negative integer")))
            .and_then(|number| check_user_id(number).map_err(|error| Skip::new("bad_user_id", error.to_string())))?,
    };
    Ok(User { user_id, age: user.age, gender: user.gender, occupation: user.occupation })
}

fn movie_record(value: &Value) -> Result<Movie, Skip> {
    let movie: MovieJson = record_of_kind(value, MetadataKind::Movies)?;
    let movie_id = match movie.id {
        None => return Err(Skip::new("missing_movie_id", "the object has no id")),
        Some(Value::String(id)) => id.trim().to_owned(),
        Some(Value::Number(id)) => id.to_string(),
        Some(id) => return Err(Skip::new("bad_movie_id", format!("id {id} is not a slug"))),
    };
    let title =
        movie.title.or(movie.original_title).ok_or_else(|| Skip::new("missing_title", "the movie has no title"))?;
    let year = movie.release_date.as_deref().and_then(year_of_date).or(movie.year).or_else(|| slug_year(&movie_id));
    Ok(Movie {
        genres: movie.genres,
        year,
        tmdb_id: movie.tmdb_id,
        imdb_id: movie.imdb_id,
        popularity: movie.popularity,
        vote_average: movie.vote_average,
        vote_count: movie.vote_count,
        runtime: movie.runtime,
        release_date: movie.release_date,
        original_language: movie.original_language,
        budget: movie.budget,
        revenue: movie.revenue,
        movie_id,
        title,
    })
}

/// Reads a record of the `wanted` kind, or says why the value cannot be one.
fn record_of_kind<'a, T: Deserialize<'a>>(value: &'a Value, wanted: MetadataKind) -> Result<T, Skip> {
    let object = value.as_object().ok_or_else(|| Skip::new("not_an_object", "the record is not a JSON object"))?;
    match sniff_kind(value) {
        Some(kind) if kind != wanted => {
            Err(Skip::new("wrong_kind", format!("expected {wanted:?}, found what looks like {kind:?}")))
        }
        None if object.contains_key("message") || object.contains_key("error") => {
            let answer = ApiErrorJson::deserialize(value).unwrap_or_default();
            let message = answer.message.or(answer.error).unwrap_or_default();
            Err(Skip::new("api_error", format!("the API answered an error: {message}")))
        }
        // The loose fields never fail and an object always reads as a struct, so an error here
        // cannot happen; it is still a skip rather than a panic.
        _ => T::deserialize(value).map_err(|error| Skip::new("not_an_object", error.to_string())),
    }
}

/// The year a service slug ends with: `the+shawshank+redemption+1994` is 1994. A slug that is
/// only a number (`1917`) has no year: the number is the title.
fn slug_year(slug: &str) -> Option<u16> {
    let (_, last) = slug.trim().rsplit_once(['+', '-', '_', ' '])?;
    if last.len() != 4 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    last.parse().ok().filter(|year| (1870..=2100).contains(year))
}

/// Collects records of one kind, recording each parsed or skipped.
struct Collector<T> {
    records: Vec<T>,
    report: ParseReport,
    parse: fn(&Value) -> Result<T, Skip>,
}

impl<T> Collector<T> {
    /// Takes one top-level value: an object is a record, an array holds records. `line` numbers
    /// the value (its line in JSON lines); `excerpt` is its text when that is at hand.
    fn top_level(&mut self, line: u64, value: &Value, excerpt: Option<&str>, number_elements: bool) {
        match value {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    // Elements of a whole-file array are numbered by index, those of an
                    // array on one line of JSON lines by that line.
                    let number = if number_elements { index as u64 + 1 } else { line };
                    self.record(number, item, None);
                }
            }
            _ => self.record(line, value, excerpt),
        }
    }

    fn record(&mut self, line: u64, value: &Value, excerpt: Option<&str>) {
        match (self.parse)(value) {
            Ok(record) => {
                self.records.push(record);
                self.report.record_parsed();
            }
            Err(skip) => {
                let text = excerpt.map_or_else(|| value.to_string(), str::to_owned);
                self.report.record_skipped(line, skip.kind, skip.reason, &text);
            }
        }
    }
}

fn read_records<T, R: BufRead>(
    mut reader: R,
    parse: fn(&Value) -> Result<T, Skip>,
) -> Result<(Vec<T>, ParseReport), DataError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut collector = Collector { records: Vec::new(), report: ParseReport::default(), parse };
    if is_json_lines(bytes) {
        read_json_lines(bytes, &mut collector);
    } else {
        read_json_document(bytes, &mut collector);
    }
    Ok((collector.records, collector.report))
}

/// JSON lines when the first non-blank line is a whole JSON value by itself; a pretty-printed
/// document's first line (`[` or `{`) is not.
fn is_json_lines(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .find(|line| !line.trim_ascii().is_empty())
        .is_some_and(|line| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok())
}

/// One value per line; a bad line is skipped and the next one read.
fn read_json_lines<T>(bytes: &[u8], collector: &mut Collector<T>) {
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = index as u64 + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            let excerpt = String::from_utf8_lossy(line);
            collector.report.record_skipped(line_no, "not_utf8", "the line is not UTF-8 text", &excerpt);
            continue;
        };
        match serde_json::from_str::<Value>(text) {
            Ok(value) => collector.top_level(line_no, &value, Some(text), false),
            Err(error) => collector.report.record_skipped(line_no, "bad_json", error, text),
        }
    }
}

/// A whole document: one value or several concatenated. A syntax error cannot be recovered
/// from, so it is reported once and what came before it is kept.
fn read_json_document<T>(bytes: &[u8], collector: &mut Collector<T>) {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut line = 1u64;
    let mut counted_to = 0usize;
    loop {
        let start = stream.byte_offset();
        let Some(result) = stream.next() else { break };
        match result {
            Ok(value) => {
                // The value starts after the whitespace that precedes it.
                let rest = bytes.get(start..).unwrap_or_default();
                let start = start + rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
                line += newlines(bytes.get(counted_to..start).unwrap_or_default());
                counted_to = start;
                collector.top_level(line, &value, None, true);
            }
            Err(error) => {
                let error_line = error.line() as u64;
                let text = bytes
                    .split(|&b| b == b'\n')
                    .nth(error.line().saturating_sub(1))
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                collector.report.record_skipped(error_line, "bad_json", &error, &text);
                break;
            }
        }
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real answer of `GET /movie/the+shawshank+redemption+1994`, numbers as strings and all.
    const SHAWSHANK: &str = r#"{"id":"the+shawshank+redemption+1994","tmdb_id":278,"imdb_id":"tt0111161","title":"The Shawshank Redemption","original_title":"The Shawshank Redemption","adult":"False","belongs_to_collection":{},"budget":"25000000","genres":[{"id":18,"name":"Drama"},{"id":80,"name":"Crime"}],"homepage":"null","original_language":"en","overview":"Framed in the 1940s for the double murder of his wife and her lover, upstanding banker Andy Dufresne begins a new life at the Shawshank prison.","popularity":"51.645403","poster_path":"/9O7gLzmreU0nGkIB6K3BsJbzvNv.jpg","production_companies":[{"name":"Castle Rock Entertainment","id":97}],"production_countries":[{"iso_3166_1":"US","name":"United States of America"}],"release_date":"1994-09-23","revenue":"28341469","runtime":142,"spoken_languages":[{"iso_639_1":"en","name":"English"}],"status":"Released","vote_average":"8.5","vote_count":"8358"}"#;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn parses_a_real_movie_answer_with_numbers_as_strings() {
        let movie = parse_movie(&json(SHAWSHANK)).unwrap();
        assert_eq!(movie.movie_id, "the+shawshank+redemption+1994");
        assert_eq!(movie.title, "The Shawshank Redemption");
        assert_eq!(movie.genres, ["Drama", "Crime"]);
        assert_eq!(movie.year, Some(1994));
        assert_eq!(movie.tmdb_id, Some(278));
        assert_eq!(movie.imdb_id.as_deref(), Some("tt0111161"));
        assert_eq!(movie.budget, Some(25_000_000));
        assert_eq!(movie.revenue, Some(28_341_469));
        assert_eq!(movie.popularity, Some(51.645403));
        assert_eq!(movie.vote_average, Some(8.5));
        assert_eq!(movie.vote_count, Some(8358));
        assert_eq!(movie.runtime, Some(142));
        assert_eq!(movie.release_date.as_deref(), Some("1994-09-23"));
        assert_eq!(movie.original_language.as_deref(), Some("en"));
    }

    #[test]
    fn lenient_fields_become_none_but_a_bad_id_is_an_error() {
        let movie = parse_movie(&json(
            r#"{"id":"heat+1995","title":"Heat","budget":"abc","vote_average":"","runtime":null,
                "popularity":"null","vote_count":"12.0","release_date":"","tmdb_id":"949"}"#,
        ))
        .unwrap();
        assert_eq!((movie.budget, movie.vote_average, movie.runtime, movie.popularity), (None, None, None, None));
        assert_eq!(movie.vote_count, Some(12));
        assert_eq!(movie.tmdb_id, Some(949));
        assert_eq!(movie.year, Some(1995), "the year comes from the slug when there is no release date");
        assert_eq!(movie.release_date, None);

        let user = parse_user(&json(r#"{"user_id":"123","age":"34","occupation":"scientist","gender":"F"}"#)).unwrap();
        assert_eq!(
            user,
            User { user_id: 123, age: Some(34), gender: Some(Gender::Female), occupation: Some("scientist".into()) }
        );
        let user = parse_user(&json(r#"{"user_id":7,"age":"old","occupation":"","gender":null}"#)).unwrap();
        assert_eq!(user, User { user_id: 7, ..User::default() });
        assert!(parse_user(&json(r#"{"user_id":"abc","age":3}"#)).unwrap_err().contains("abc"));
        assert!(parse_user(&json(r#"{"user_id":-4}"#)).is_err());
        assert!(parse_movie(&json(r#"{"id":["x"],"title":"Odd"}"#)).is_err());
        assert!(parse_movie(&json(r#"{"title":"No id"}"#)).is_err());
    }

    #[test]
    fn a_slug_that_is_only_a_number_has_no_year() {
        assert_eq!(slug_year("1917"), None);
        assert_eq!(slug_year("1917+2019"), Some(2019));
        assert_eq!(slug_year("blade+runner+2049+2017"), Some(2017));
        assert_eq!(slug_year("the+matrix"), None);
    }

    #[test]
    fn sniffs_users_movies_and_neither() {
        assert_eq!(sniff_kind(&json(r#"{"user_id":1,"age":20}"#)), Some(MetadataKind::Users));
        assert_eq!(sniff_kind(&json(SHAWSHANK)), Some(MetadataKind::Movies));
        assert_eq!(sniff_kind(&json(r#"{"id":"heat+1995"}"#)), Some(MetadataKind::Movies));
        assert_eq!(sniff_kind(&json(r#"{"message":"user not found"}"#)), None);
        assert_eq!(sniff_kind(&json("[1,2]")), None);
    }

    #[test]
    fn reads_json_lines_skipping_and_reporting_bad_ones() {
        let input = [
            r#"{"user_id": 1, "age": 34, "occupation": "scientist", "gender": "M"}"#,
            r#"{"message": "user not found"}"#,
            "",
            r#"{"user_id": 3, "age": 2"#,
            SHAWSHANK,
            r#"{"user_id": "x12", "age": 20}"#,
            r#"[{"user_id": 7}, 5]"#,
            "<html>502 Bad Gateway</html>",
            r#"{"age": 20, "gender": "F"}"#,
        ]
        .join("\n");
        let (users, report) = read_users(input.as_bytes()).unwrap();
        assert_eq!(users.iter().map(|user| user.user_id).collect::<Vec<_>>(), [1, 7]);
        assert_eq!(report.parsed, 2);
        assert_eq!(report.lines, 9);
        let line_of = |kind: &str| report.examples[kind][0].line;
        assert_eq!(line_of("api_error"), 2);
        assert_eq!(report.skipped["bad_json"], 2);
        assert_eq!(line_of("bad_json"), 4);
        assert_eq!(report.examples["bad_json"][1].line, 8);
        assert_eq!(line_of("wrong_kind"), 5);
        assert_eq!(line_of("bad_user_id"), 6);
        assert_eq!(line_of("not_an_object"), 7);
        assert_eq!(line_of("missing_user_id"), 9);
    }

    #[test]
    fn reads_a_pretty_array_numbering_elements_by_index() {
        let input = format!(
            "[\n  {SHAWSHANK},\n  {{\"message\": \"movie not found\"}},\n  {{\"id\": \"up+2009\", \"title\": \"Up\", \
             \"genres\": [{{\"id\": 16, \"name\": \"Animation\"}}]}}\n]\n"
        );
        let (movies, report) = read_movies(input.as_bytes()).unwrap();
        assert_eq!(movies.len(), 2);
        assert_eq!(movies[1].year, Some(2009));
        assert_eq!(movies[1].genres, ["Animation"]);
        assert_eq!(report.examples["api_error"][0].line, 2);
        assert!(report.examples["api_error"][0].reason.contains("movie not found"));
    }

    #[test]
    fn reads_single_and_concatenated_pretty_objects() {
        let one = "{\n  \"user_id\": 9,\n  \"gender\": \"F\"\n}\n";
        let (users, report) = read_users(one.as_bytes()).unwrap();
        assert_eq!(users, [User { user_id: 9, gender: Some(Gender::Female), ..User::default() }]);
        assert_eq!(report.parsed, 1);

        let two = format!("{one}{one}\n{{\n  \"user_id\": 10,\n  \"age\": \n");
        let (users, report) = read_users(two.as_bytes()).unwrap();
        assert_eq!(users.len(), 2, "records before the syntax error are kept");
        assert_eq!(report.skipped["bad_json"], 1);
        assert!(report.examples["bad_json"][0].line >= 10);

        let (users, report) = read_users(&b""[..]).unwrap();
        assert!(users.is_empty());
        assert_eq!(report, ParseReport::default());
    }

    #[test]
    fn invalid_utf8_lines_are_skipped() {
        let input = b"{\"user_id\": 1}\n{\"user_id\": 2, \"occupation\": \"\xff\"}\n{\"user_id\": 3}\n";
        let (users, report) = read_users(&input[..]).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(report.examples["not_utf8"][0].line, 2);
    }

    #[test]
    fn json_written_reads_back_the_same() {
        let movie = parse_movie(&json(SHAWSHANK)).unwrap();
        let written = movie_to_json(&movie);
        assert_eq!(written["budget"], "25000000");
        assert_eq!(written["genres"][0], json(r#"{"id":18,"name":"Drama"}"#));
        assert_eq!(parse_movie(&written).unwrap(), movie);
        let whole = Movie { vote_average: Some(7.0), ..movie };
        assert_eq!(movie_to_json(&whole)["vote_average"], "7.0");
        assert_eq!(parse_movie(&movie_to_json(&whole)).unwrap(), whole);

        for user in [
            User { user_id: 5, age: Some(61), gender: Some(Gender::Other), occupation: Some("retired".into()) },
            User { user_id: 6, ..User::default() },
        ] {
            assert_eq!(parse_user(&user_to_json(&user)).unwrap(), user);
        }
        assert_eq!(
            user_to_json(&User { user_id: 1, age: Some(34), gender: Some(Gender::Male), occupation: None }),
            json(r#"{"user_id":1,"age":34,"occupation":null,"gender":"M"}"#)
        );
    }

    #[test]
    fn knows_tmdb_genre_ids() {
        assert_eq!(genre_id("Science Fiction"), Some(878));
        assert_eq!(genre_id("family"), Some(10751));
        assert_eq!(genre_id("TV Movie"), Some(10770));
        assert_eq!(genre_id("Film-Noir"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = read_users(&bytes[..]);
            let _ = read_movies(&bytes[..]);
        }

        #[test]
        fn never_panics_on_json_like_input(text in r#"[\[\]{}":,0-9a-z_ .\n+-]{0,200}"#) {
            let _ = read_users(text.as_bytes());
            let _ = read_movies(text.as_bytes());
        }
    }
}
