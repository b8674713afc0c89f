//! The movie service's Kafka stream: one event per line.
//!
//! ```text
//! 2024-01-05T19:27:01.176557,4821,recommendation request 17645-team25.isri.cmu.edu:8082, status 200, result: a+2011, b+1999, 131 ms
//! 2024-01-05T19:27:03.000001,4821,GET /data/m/the+silent+harbor+2011/0.mpg
//! 2024-01-05T21:02:11.520000,4821,GET /rate/the+silent+harbor+2011=4
//! 2024-01-05T21:03:00,90210,GET /create_account
//! ```
//!
//! [`parse_line`] turns one line into a borrowed [`StreamEvent`] or says why it cannot;
//! [`read_stream`] reads a whole stream, reusing one buffer, and counts what it skipped.

use std::fmt;
use std::io::BufRead;

use crate::error::DataError;
use crate::events::{parse_user_id, RatingScale, StreamEvent, Timestamp, UserId, UserIdError};
use crate::report::ParseReport;

/// Why one line was skipped. `kind` is a stable snake_case name used for counting (e.g.
/// "bad_timestamp", "bad_user_id", "unknown_request", "bad_movie_id", "bad_minute",
/// "rating_out_of_scale", "bad_rating", "bad_status", "bad_latency", "truncated",
/// "not_utf8", "empty_line").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The stable name of the kind of error, used as the counting key in reports.
    pub kind: &'static str,
    /// What exactly was wrong, in words.
    pub reason: String,
}

impl LineError {
    fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        LineError { kind, reason: reason.into() }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.reason)
    }
}

impl std::error::Error for LineError {}

/// The longest movie id accepted; real slugs are far shorter, and a cap keeps garbage out.
pub const MAX_MOVIE_ID_LEN: usize = 256;

const WATCH_PREFIX: &str = "GET /data/m/";
const RATE_PREFIX: &str = "GET /rate/";
const CREATE_ACCOUNT: &str = "GET /create_account";
const RECOMMENDATION_PREFIX: &str = "recommendation request ";

/// Parses one stream line (a trailing `\r` or `\n` is ignored) into a borrowed event.
///
/// Movie ids must be 1 to [`MAX_MOVIE_ID_LEN`] bytes with no whitespace, control characters
/// or any of ``/ , < > " ' ; ` \`` (which keeps injected SQL and HTML out); rated ids must
/// not contain `=` either. Ratings must lie in `1..=scale.max()`. Never panics.
pub fn parse_line(line: &str, scale: RatingScale) -> Result<StreamEvent<'_>, LineError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(LineError::new("empty_line", "the line is empty"));
    }
    let Some((time_text, rest)) = line.split_once(',') else {
        return Err(LineError::new("truncated", "the line has no comma after the timestamp"));
    };
    let Some(time) = Timestamp::parse(time_text) else {
        return Err(LineError::new("bad_timestamp", format!("{:?} is not a timestamp", excerpt(time_text))));
    };
    let Some((user_text, request)) = rest.split_once(',') else {
        return Err(LineError::new("truncated", "the line ends after the user id"));
    };
    let user = match parse_user_id(user_text) {
        Ok(user) => user,
        Err(UserIdError::Malformed(_)) => {
            return Err(LineError::new("bad_user_id", format!("{:?} is not a numeric user id", excerpt(user_text))));
        }
        Err(out_of_range) => return Err(LineError::new("bad_user_id", out_of_range.to_string())),
    };
    if let Some(path) = request.strip_prefix(WATCH_PREFIX) {
        parse_watch(time, user, path)
    } else if let Some(path) = request.strip_prefix(RATE_PREFIX) {
        parse_rate(time, user, path, scale)
    } else if request == CREATE_ACCOUNT {
        Ok(StreamEvent::CreateAccount { time, user })
    } else if let Some(rest) = request.strip_prefix(RECOMMENDATION_PREFIX) {
        parse_recommendation(time, user, rest)
    } else if [WATCH_PREFIX, RATE_PREFIX, CREATE_ACCOUNT, RECOMMENDATION_PREFIX]
        .iter()
        .any(|known| known.starts_with(request))
    {
        // A proper prefix of a known request (including nothing at all) is a cut-off line.
        Err(LineError::new("truncated", format!("the request {:?} is cut off", excerpt(request))))
    } else {
        Err(LineError::new("unknown_request", format!("unknown request {:?}", excerpt(request))))
    }
}

/// `<movie>/<minute>.mpg`
fn parse_watch<'a>(time: Timestamp, user: UserId, path: &'a str) -> Result<StreamEvent<'a>, LineError> {
    let Some((movie, file)) = path.split_once('/') else {
        return Err(LineError::new("truncated", "the watch path has no minute"));
    };
    check_movie_id(movie, false)?;
    let Some(minute_text) = file.strip_suffix(".mpg") else {
        if is_cut_off(file, ".mpg") {
            return Err(LineError::new("truncated", format!("the watch file {:?} is cut off", excerpt(file))));
        }
        return Err(LineError::new("bad_minute", format!("{:?} is not <minute>.mpg", excerpt(file))));
    };
    match parse_u32(minute_text) {
        Some(minute) => Ok(StreamEvent::Watch { time, user, movie, minute }),
        None => Err(LineError::new("bad_minute", format!("{:?} is not a minute", excerpt(minute_text)))),
    }
}

/// `<movie>=<rating>`
fn parse_rate(time: Timestamp, user: UserId, path: &str, scale: RatingScale) -> Result<StreamEvent<'_>, LineError> {
    let Some((movie, rating_text)) = path.split_once('=') else {
        return Err(LineError::new("truncated", "the rating has no '='"));
    };
    check_movie_id(movie, true)?;
    if rating_text.is_empty() {
        return Err(LineError::new("truncated", "the rating is missing"));
    }
    let max = scale.max();
    match parse_i64(rating_text) {
        Some(rating) if (1..=i64::from(max)).contains(&rating) => {
            // In range of a u8 scale, so the conversion cannot fail.
            let rating = u8::try_from(rating).unwrap_or(max);
            Ok(StreamEvent::Rate { time, user, movie, rating })
        }
        Some(rating) => Err(LineError::new("rating_out_of_scale", format!("rating {rating} is outside 1..={max}"))),
        None => Err(LineError::new("bad_rating", format!("{:?} is not a whole-number rating", excerpt(rating_text)))),
    }
}

/// `<server>, status <code>, result: <result>, <n> ms`
fn parse_recommendation(time: Timestamp, user: UserId, rest: &str) -> Result<StreamEvent<'_>, LineError> {
    let Some((server, rest)) = rest.split_once(", status ") else {
        return Err(LineError::new("truncated", "the recommendation has no status"));
    };
    if server.is_empty() || server.contains(char::is_whitespace) {
        return Err(LineError::new("unknown_request", format!("{:?} is not a server name", excerpt(server))));
    }
    let Some((status_text, rest)) = rest.split_once(", result:") else {
        if rest.bytes().all(|b| b.is_ascii_digit()) || is_cut_off(rest, ", result:") {
            return Err(LineError::new("truncated", "the recommendation has no result"));
        }
        return Err(LineError::new("bad_status", format!("{:?} is not a status", excerpt(rest))));
    };
    let Some(status) = parse_u32(status_text).and_then(|s| u16::try_from(s).ok()) else {
        return Err(LineError::new("bad_status", format!("{:?} is not an HTTP status", excerpt(status_text))));
    };
    let Some(comma) = memchr::memrchr(b',', rest.as_bytes()) else {
        return Err(LineError::new("truncated", "the recommendation has no response time"));
    };
    let (result, latency_text) = (rest.get(..comma).unwrap_or(""), rest.get(comma + 1..).unwrap_or(""));
    let latency_text = latency_text.trim_start_matches(' ');
    let latency = latency_text.strip_suffix("ms").map(|n| n.trim_end_matches(' ')).and_then(parse_u32);
    match latency {
        Some(latency_ms) => Ok(StreamEvent::Recommendation {
            time,
            user,
            server,
            status,
            result: result.trim_start_matches(' '),
            latency_ms,
        }),
        None => {
            // `13`, `13 ` or `13 m` is what a cut leaves of `13 ms`; anything else is garbage.
            let tail = latency_text.trim_start_matches(|c: char| c.is_ascii_digit());
            let has_digits = tail.len() < latency_text.len();
            let tail = tail.trim_start_matches(' ');
            if latency_text.is_empty() || (has_digits && tail.len() < 2 && "ms".starts_with(tail)) {
                Err(LineError::new("truncated", format!("the response time {:?} is cut off", excerpt(latency_text))))
            } else {
                Err(LineError::new("bad_latency", format!("{:?} is not a response time", excerpt(latency_text))))
            }
        }
    }
}

/// Whether `text`, after its leading digits, is a proper prefix of `whole`: what a cut leaves.
fn is_cut_off(text: &str, whole: &str) -> bool {
    let tail = text.trim_start_matches(|c: char| c.is_ascii_digit());
    tail.len() < whole.len() && whole.starts_with(tail)
}

/// Why a movie id is refused, if it is: the one grammar for movie ids, shared by the stream
/// parser and the edge's JSON events, so that whatever the edge stores can train. (`=` is
/// refused in every id: a rating line could not hold it.)
pub fn movie_id_error(movie: &str) -> Option<String> {
    check_movie_id(movie, true).err().map(|error| error.to_string())
}

fn check_movie_id(movie: &str, in_rating: bool) -> Result<(), LineError> {
    if movie.is_empty() {
        return Err(LineError::new("bad_movie_id", "the movie id is empty"));
    }
    if movie.len() > MAX_MOVIE_ID_LEN {
        return Err(LineError::new("bad_movie_id", format!("the movie id is longer than {MAX_MOVIE_ID_LEN} bytes")));
    }
    let bad = movie.chars().find(|&c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '/' | ',' | '<' | '>' | '"' | '\'' | ';' | '`' | '\\')
            || (in_rating && c == '=')
    });
    match bad {
        Some(c) => Err(LineError::new("bad_movie_id", format!("movie id {:?} contains {c:?}", excerpt(movie)))),
        None => Ok(()),
    }
}

fn parse_u32(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.bytes().try_fold(0u32, |acc, b| acc.checked_mul(10)?.checked_add(u32::from(b - b'0')))
}

/// A signed whole number, so that `-1` is reported as out of scale rather than as garbage.
fn parse_i64(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.bytes().try_fold(0i64, |acc, b| acc.checked_mul(10)?.checked_add(i64::from(b - b'0')))?;
    Some(if negative { -value } else { value })
}

/// The start of a field for error messages, cut at a character boundary.
fn excerpt(text: &str) -> &str {
    match text.char_indices().nth(60) {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

/// Reads a whole stream (a file or stdin), calling `on_event` for every good line with its
/// 1-based line number; bad lines go into the report (counts per kind plus the first
/// examples with line numbers, via [`ParseReport::record_skipped`]). Lines may end in `\n`
/// or `\r\n`. I/O failure is a [`DataError`].
pub fn read_stream<R: BufRead>(
    mut reader: R,
    scale: RatingScale,
    mut on_event: impl FnMut(u64, StreamEvent<'_>),
) -> Result<ParseReport, DataError> {
    let mut report = ParseReport::default();
    // One buffer for the whole stream: good lines cost no allocation.
    let mut buffer = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer)? == 0 {
            break;
        }
        number += 1;
        if let Some(event) = parse_counted(&buffer, number, scale, &mut report) {
            on_event(number, event);
        }
    }
    Ok(report)
}

/// Parses one line given as bytes (a trailing `\n` or `\r\n` is ignored) and counts it in
/// `report`: a good line as parsed, a bad one (including invalid UTF-8, kind "not_utf8") as
/// skipped at `position`, which is the line number for a file and the message offset for a
/// Kafka partition. Never panics.
pub fn parse_counted<'a>(
    bytes: &'a [u8],
    position: u64,
    scale: RatingScale,
    report: &mut ParseReport,
) -> Option<StreamEvent<'a>> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(line) => match parse_line(line, scale) {
            Ok(event) => {
                report.record_parsed();
                Some(event)
            }
            Err(error) => {
                report.record_skipped(position, error.kind, error.reason, line);
                None
            }
        },
        Err(error) => {
            let text = String::from_utf8_lossy(bytes);
            let reason = format!("invalid UTF-8 after byte {}", error.valid_up_to());
            report.record_skipped(position, "not_utf8", reason, &text);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::MAX_USER_ID;
    use proptest::prelude::*;

    const T: &str = "2024-01-05T19:27:01.176557";

    fn parse(line: &str) -> Result<StreamEvent<'_>, LineError> {
        parse_line(line, RatingScale::FIVE)
    }

    fn kind(line: &str) -> &'static str {
        match parse(line) {
            Ok(event) => panic!("{line:?} parsed as {event:?}"),
            Err(error) => error.kind,
        }
    }

    #[test]
    fn parses_every_line_kind() {
        let time = Timestamp::parse(T).unwrap();
        let line = format!("{T},4821,recommendation request 17645-team25.isri.cmu.edu:8082, status 200, result: a+2011, b+1999, 131 ms");
        assert_eq!(
            parse(&line).unwrap(),
            StreamEvent::Recommendation {
                time,
                user: 4821,
                server: "17645-team25.isri.cmu.edu:8082",
                status: 200,
                result: "a+2011, b+1999",
                latency_ms: 131
            }
        );
        let line = format!("{T},4821,GET /data/m/the+shawshank+redemption+1994/57.mpg");
        assert_eq!(
            parse(&line).unwrap(),
            StreamEvent::Watch { time, user: 4821, movie: "the+shawshank+redemption+1994", minute: 57 }
        );
        let line = format!("{T},4821,GET /rate/monsters_+inc.+2001=4");
        assert_eq!(
            parse(&line).unwrap(),
            StreamEvent::Rate { time, user: 4821, movie: "monsters_+inc.+2001", rating: 4 }
        );
        let line = format!("{T},90210,GET /create_account");
        assert_eq!(parse(&line).unwrap(), StreamEvent::CreateAccount { time, user: 90210 });
    }

    #[test]
    fn accepts_every_timestamp_precision() {
        for time in ["2019-09-05T19:27:01", "2023-03-20T08:12:38.176557", "2025-10-17T01:33:45.122692921"] {
            let line = format!("{time},1,GET /create_account");
            assert_eq!(parse(&line).unwrap().time(), Timestamp::parse(time).unwrap());
        }
    }

    #[test]
    fn accepts_both_latency_spellings_and_error_results() {
        let spaced = format!("{T},1,recommendation request s:8082, status 200, result: a+1, b+2, 131 ms");
        let tight = format!("{T},1,recommendation request s:8082, status 200, result: a+1, b+2, 45ms");
        for (line, expected) in [(spaced, 131), (tight, 45)] {
            match parse(&line).unwrap() {
                StreamEvent::Recommendation { latency_ms, .. } => assert_eq!(latency_ms, expected),
                other => panic!("{other:?}"),
            }
        }
        let error = format!("{T},7,recommendation request s:8082, status 0, result: java.net.SocketTimeoutException: Read timed out, 5003 ms");
        let event = parse(&error).unwrap();
        match event {
            StreamEvent::Recommendation { status, result, latency_ms, .. } => {
                assert_eq!((status, result, latency_ms), (0, "java.net.SocketTimeoutException: Read timed out", 5003));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(event.result_ids().count(), 0);
    }

    #[test]
    fn display_round_trips_through_the_parser() {
        let time = Timestamp::parse("2025-10-17T01:33:45.122692921").unwrap();
        let events = [
            StreamEvent::Recommendation {
                time,
                user: 3,
                server: "17645-team25.isri.cmu.edu:8082",
                status: 200,
                result: "x+1999, y+2000",
                latency_ms: 12,
            },
            StreamEvent::Recommendation {
                time,
                user: 3,
                server: "h:1",
                status: 500,
                result: "oops: bad",
                latency_ms: 9,
            },
            StreamEvent::Watch { time, user: 3, movie: "monsters_+inc.+2001", minute: 0 },
            StreamEvent::Rate { time, user: MAX_USER_ID, movie: "the+shawshank+redemption+1994", rating: 5 },
            StreamEvent::CreateAccount { time, user: 0 },
        ];
        for event in events {
            let line = event.to_string();
            assert_eq!(parse(&line).unwrap(), event, "{line}");
        }
    }

    #[test]
    fn ten_star_scale_accepts_ten() {
        let line = format!("{T},1,GET /rate/a+2001=10");
        assert!(matches!(parse_line(&line, RatingScale::TEN), Ok(StreamEvent::Rate { rating: 10, .. })));
        assert_eq!(parse_line(&line, RatingScale::FIVE).unwrap_err().kind, "rating_out_of_scale");
    }

    #[test]
    fn classifies_malformed_lines() {
        let cases = [
            ("", "empty_line"),
            ("   ", "empty_line"),
            ("2024-01-05T19:27:01", "truncated"),
            ("2024-01-05T19:27:01,12", "truncated"),
            ("2024-01-05T19:27:01,12,GET /rat", "truncated"),
            ("2024-01-05T19:27:01,12,", "truncated"),
            ("2024-01-05T19:27:01,12,GET /data/m/a+2001", "truncated"),
            ("2024-01-05T19:27:01,12,GET /data/m/a+2001/5.mp", "truncated"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001", "truncated"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001=", "truncated"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status 200, result: a, b, 13", "truncated"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status 200, result: a, b, 13 m", "truncated"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status 2", "truncated"),
            ("2024-13-05T19:27:01,12,GET /create_account", "bad_timestamp"),
            ("yesterday,12,GET /create_account", "bad_timestamp"),
            ("2024-01-05T19:27:01,abc,GET /create_account", "bad_user_id"),
            ("2024-01-05T19:27:01,-4,GET /create_account", "bad_user_id"),
            ("2024-01-05T19:27:01,99999999999999999999999,GET /create_account", "bad_user_id"),
            // 2^53: a JavaScript number would round it, and the edge's log could not hold it.
            ("2024-01-05T19:27:01,9007199254740992,GET /create_account", "bad_user_id"),
            ("2024-01-05T19:27:01,12,GET /favicon.ico", "unknown_request"),
            ("2024-01-05T19:27:01,12,POST /rate/a+2001=4", "unknown_request"),
            ("2024-01-05T19:27:01,12,GET /create_account?x=1", "unknown_request"),
            ("2024-01-05T19:27:01,12,GET /data/m//5.mpg", "bad_movie_id"),
            ("2024-01-05T19:27:01,12,GET /rate/1' OR '1'='1=5", "bad_movie_id"),
            ("2024-01-05T19:27:01,12,GET /rate/a=b=5", "bad_rating"),
            ("2024-01-05T19:27:01,12,GET /data/m/';DROP+TABLE+movies;--/5.mpg", "bad_movie_id"),
            ("2024-01-05T19:27:01,12,GET /data/m/<script>alert(1)<", "truncated"),
            ("2024-01-05T19:27:01,12,GET /rate/<b>x</b>=3", "bad_movie_id"),
            ("2024-01-05T19:27:01,12,GET /data/m/a+2001/-3.mpg", "bad_minute"),
            ("2024-01-05T19:27:01,12,GET /data/m/a+2001/x.mpg", "bad_minute"),
            ("2024-01-05T19:27:01,12,GET /data/m/a+2001/5.avi", "bad_minute"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001=0", "rating_out_of_scale"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001=6", "rating_out_of_scale"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001=-1", "rating_out_of_scale"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001=4.5", "bad_rating"),
            ("2024-01-05T19:27:01,12,GET /rate/a+2001=five", "bad_rating"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status OK, result: a, 5 ms", "bad_status"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status 99999, result: a, 5 ms", "bad_status"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status 200, result: a, b, fast", "bad_latency"),
            ("2024-01-05T19:27:01,12,recommendation request s:1, status 200, result: a, 5 s", "bad_latency"),
            ("\u{0}\u{1}garbage", "truncated"),
            ("%$#@!,,,", "bad_timestamp"),
        ];
        for (line, expected) in cases {
            assert_eq!(kind(line), expected, "{line:?}");
        }
    }

    #[test]
    fn read_stream_counts_bad_lines_with_line_numbers_and_handles_crlf() {
        let mut input = Vec::new();
        input.extend_from_slice(format!("{T},1,GET /create_account\r\n").as_bytes());
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(format!("{T},1,GET /data/m/a+2001/0.mpg\r\n").as_bytes());
        input.extend_from_slice(format!("{T},x,GET /create_account\n").as_bytes());
        input.extend_from_slice(format!("{T},2,GET /data/m/caf").as_bytes());
        input.extend_from_slice(b"\xff\xfe+2001/0.mpg\n");
        input.extend_from_slice(format!("{T},2,GET /rate/a+2001=9\n").as_bytes());
        input.extend_from_slice(format!("{T},2,GET /rate/a+2001=5").as_bytes()); // no final newline
        let mut seen = Vec::new();
        let report = read_stream(input.as_slice(), RatingScale::FIVE, |number, event| {
            seen.push((number, event.user(), event.to_string()));
        })
        .unwrap();
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 3, 7]);
        assert!(seen[1].2.ends_with("/0.mpg"), "no \\r left: {:?}", seen[1].2);
        assert_eq!((report.lines, report.parsed, report.skipped_total()), (7, 3, 4));
        for (kind, line) in [("empty_line", 2), ("bad_user_id", 4), ("not_utf8", 5), ("rating_out_of_scale", 6)] {
            assert_eq!(report.skipped[kind], 1, "{kind}");
            assert_eq!(report.examples[kind][0].line, line, "{kind}");
        }
    }

    /// Run with `cargo test --release -p marquee-data --no-default-features --features world
    /// --lib -- --ignored --nocapture stream_throughput` to print lines per second.
    #[test]
    #[ignore]
    fn stream_throughput() {
        let mut text = String::new();
        for i in 0..1_000_000u64 {
            let line = match i % 20 {
                0 => format!("{T},{i},recommendation request 17645-team25.isri.cmu.edu:8082, status 200, result: a+2011, b+1999, c+2005, d+2010, e+2001, f+1987, g+2020, h+2021, i+2019, j+2018, k+2017, l+2016, m+2015, n+2014, o+2013, p+2012, q+2011, r+2010, s+2009, t+2008, 131 ms\n"),
                1 => format!("{T},{i},GET /rate/the+silent+harbor+2011=4\n"),
                _ => format!("{T},{i},GET /data/m/the+silent+harbor+2011/{}.mpg\n", i % 120),
            };
            text.push_str(&line);
        }
        let start = std::time::Instant::now();
        let mut events = 0u64;
        let report = read_stream(text.as_bytes(), RatingScale::FIVE, |_, _| events += 1).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!(events, 1_000_000);
        assert_eq!(report.parsed, 1_000_000);
        println!(
            "{} lines ({} MB) in {seconds:.3} s: {:.2} M lines/s",
            report.lines,
            text.len() / 1_000_000,
            report.lines as f64 / seconds / 1e6
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(line in ".{0,200}") {
            let _ = parse_line(&line, RatingScale::FIVE);
            let _ = parse_line(&line, RatingScale::TEN);
        }

        #[test]
        fn never_panics_on_mutated_lines(
            cut in 0usize..200,
            noise in "[0-9a-z,=/ .:\\-]{0,8}",
            base in 0usize..4,
        ) {
            let lines = [
                format!("{T},12,recommendation request s:1, status 200, result: a+1, b+2, 13 ms"),
                format!("{T},12,GET /data/m/a+2001/5.mpg"),
                format!("{T},12,GET /rate/a+2001=4"),
                format!("{T},12,GET /create_account"),
            ];
            let line = &lines[base];
            let cut = (0..=cut.min(line.len())).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
            let mutated = format!("{}{}", &line[..cut], noise);
            let _ = parse_line(&mutated, RatingScale::FIVE);
        }

        #[test]
        fn read_stream_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let report = read_stream(bytes.as_slice(), RatingScale::FIVE, |_, _| {}).unwrap();
            prop_assert_eq!(report.lines, report.parsed + report.skipped_total());
        }
    }
}
