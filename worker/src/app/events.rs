//! `POST /v1/events`: watch, rate and click events as JSON lines, or the movie service's own
//! stream lines. Every line is checked; bad lines are reported by line number while the
//! good ones are stored. Each event has an id ([`marquee_data::event_id`]: the client's own,
//! in a namespace of its user's, or derived from the canonical event including its time),
//! and the log ignores an id it already has, so a retried request stores nothing twice. The
//! answer says for every line whether it was stored, already stored, or rejected and why.
//!
//! An event that names a list (a click always does; a watch or rating may, with
//! `recommendation_id`) is stored only if that list was served to the same user and listed
//! the event's movie. Otherwise it is rejected with the reason, so that nobody can credit a
//! variant with clicks on lists it never served.

use std::collections::HashMap;

use marquee_data::event_id::{client_event_id, derived_event_id, MAX_CLIENT_ID_BYTES};
use marquee_data::events::{RatingScale, EVENT_TIME_END_MS};
use marquee_data::stream::parse_line;
use marquee_data::{check_user_id, EdgeKind, EdgeRow, StreamEvent, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::AppError;
use super::queries;
use super::storage::Storage;
use super::{Call, Response};

/// The largest body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// The most lines one request may carry.
pub const MAX_LINES: usize = 5_000;

/// A JSON event line: its `type` picks the variant, and each variant's required fields are
/// its own. Every variant also carries the same four fields ([`Common`]); they are spelt
/// out in each because serde cannot refuse unknown fields through `flatten`.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum JsonEvent {
    /// A minute of a movie watched, maybe from a served list.
    Watch {
        id: Option<String>,
        user_id: UserId,
        movie_id: String,
        time_ms: Option<i64>,
        minute: u32,
        recommendation_id: Option<String>,
    },
    /// A rating, 1 to 5 stars, maybe of a movie from a served list.
    Rate {
        id: Option<String>,
        user_id: UserId,
        movie_id: String,
        time_ms: Option<i64>,
        rating: u8,
        recommendation_id: Option<String>,
    },
    /// A click on a served list.
    Click { id: Option<String>, user_id: UserId, movie_id: String, time_ms: Option<i64>, recommendation_id: String },
}

/// What every JSON event carries.
struct Common {
    /// The client's id for the event, so that a retry stores nothing twice; derived from
    /// the line when absent.
    id: Option<String>,
    user_id: UserId,
    movie_id: String,
    /// Milliseconds since 1970; the arrival time when absent.
    time_ms: Option<i64>,
}

/// What a JSON event records, by its `type`, and the list it names if any.
enum Action {
    Watch { minute: u32, recommendation_id: Option<String> },
    Rate { rating: u8, recommendation_id: Option<String> },
    Click { recommendation_id: String },
}

impl JsonEvent {
    fn into_parts(self) -> (Common, Action) {
        match self {
            JsonEvent::Watch { id, user_id, movie_id, time_ms, minute, recommendation_id } => {
                (Common { id, user_id, movie_id, time_ms }, Action::Watch { minute, recommendation_id })
            }
            JsonEvent::Rate { id, user_id, movie_id, time_ms, rating, recommendation_id } => {
                (Common { id, user_id, movie_id, time_ms }, Action::Rate { rating, recommendation_id })
            }
            JsonEvent::Click { id, user_id, movie_id, time_ms, recommendation_id } => {
                (Common { id, user_id, movie_id, time_ms }, Action::Click { recommendation_id })
            }
        }
    }
}

/// Stores the request's good lines and reports its bad ones by line number.
pub async fn ingest<S: Storage>(call: &Call<'_, S>) -> Result<Response, AppError> {
    let body = &call.request.body;
    // A form upload's envelope (boundaries, part headers) would be read as event lines and
    // its events half-accepted: the route takes plain lines only.
    let media_type = call.request.header("content-type").unwrap_or("").trim_start().to_ascii_lowercase();
    if media_type.starts_with("multipart/") || media_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType(
            "send events as the body itself, one JSON object or stream line per line (text/plain or \
             application/x-ndjson), not as a form upload"
                .into(),
        ));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::TooLarge { limit: MAX_BODY_BYTES });
    }
    let text = std::str::from_utf8(body)
        .map_err(|error| AppError::BadRequest(format!("the body is not UTF-8 (byte {})", error.valid_up_to())))?;
    let now_ms = call.now();
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    let mut lines = 0;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        lines += 1;
        if lines > MAX_LINES {
            return Err(AppError::TooManyLines { limit: MAX_LINES });
        }
        match parse(line, now_ms) {
            Ok(event) => events.push((index + 1, event)),
            Err(reason) => outcomes.push(LineOutcome::rejected(index + 1, reason)),
        }
    }
    if lines == 0 {
        return Err(AppError::BadRequest("no events: send one JSON object or stream line per line".into()));
    }
    let lists = served_lists(call.storage, &events).await?;
    let mut listed = Vec::with_capacity(events.len());
    let mut rejected_unlisted = 0;
    for (line, event) in events {
        match check_listed(&lists, &event) {
            Ok(()) => listed.push((line, event)),
            Err(reason) => {
                rejected_unlisted += 1;
                outcomes.push(LineOutcome::rejected(line, reason));
            }
        }
    }
    if !listed.is_empty() {
        let statements: Vec<_> = listed.iter().map(|(_, event)| queries::insert_log_row(event)).collect();
        let changed = call.storage.execute(&statements).await?;
        // An id the log already had (from an earlier request, or an earlier line of this
        // one) changes no row: that line is a duplicate, acknowledged but not stored again.
        for ((line, event), rows) in listed.into_iter().zip(changed) {
            outcomes.push(LineOutcome::written(line, event.id, rows > 0));
        }
    }
    outcomes.sort_by_key(|outcome| outcome.line);
    let count = |status| outcomes.iter().filter(|outcome| outcome.status == status).count();
    let (stored, duplicates) = (count(LineStatus::Stored), count(LineStatus::Duplicate));
    let rejected: Vec<_> = outcomes
        .iter()
        .filter_map(|outcome| Some(json!({ "line": outcome.line, "error": outcome.error.as_deref()? })))
        .collect();
    // A request is acknowledged when any of its events is in the log, stored now or before:
    // a retry of a stored request must succeed, not fail for having nothing new.
    let mut answer = json!({
        "stored": stored,
        "duplicates": duplicates,
        "rejected": rejected,
        "rejected_unlisted": rejected_unlisted,
        "lines": outcomes,
    });
    if stored + duplicates > 0 {
        return Ok(Response::json(200, &answer));
    }
    // Nothing acknowledged is an error, in the shape every error has, with the per-line
    // report beside it.
    answer["error"] = json!("bad_request");
    answer["message"] = json!(format!("no event was stored: all {} lines were rejected (see `lines`)", outcomes.len()));
    Ok(Response::json(400, &answer))
}

/// What became of one line of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum LineStatus {
    /// The event is now in the log.
    Stored,
    /// The log already had an event with its id; nothing was written.
    Duplicate,
    /// The line is not an event the edge may store; `error` says why.
    Rejected,
}

/// One line's outcome, as the answer reports it.
#[derive(Debug, Serialize)]
struct LineOutcome {
    /// The line's number in the body, from 1 (blank lines count, so numbers match an editor's).
    line: usize,
    status: LineStatus,
    /// The event's log id, for stored and duplicate lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// Why a rejected line was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl LineOutcome {
    fn rejected(line: usize, error: String) -> Self {
        LineOutcome { line, status: LineStatus::Rejected, id: None, error: Some(error) }
    }

    fn written(line: usize, id: String, changed_a_row: bool) -> Self {
        let status = if changed_a_row { LineStatus::Stored } else { LineStatus::Duplicate };
        LineOutcome { line, status, id: Some(id), error: None }
    }
}

/// The lists named by `events`, by recommendation id (ids the log does not have are absent).
async fn served_lists<S: Storage>(
    storage: &S,
    events: &[(usize, EdgeRow)],
) -> Result<HashMap<String, queries::ServedListRow>, AppError> {
    let mut wanted: Vec<&str> = events.iter().filter_map(|(_, event)| event.reference.as_deref()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut lists = HashMap::new();
    for chunk in wanted.chunks(queries::MAX_IDS_PER_QUERY) {
        for row in queries::served_lists(storage, chunk).await? {
            lists.insert(row.id.clone(), row);
        }
    }
    Ok(lists)
}

/// Whether an event that names a list may be stored: the list was served, to this user,
/// and listed this movie. Events that name no list pass.
fn check_listed(lists: &HashMap<String, queries::ServedListRow>, event: &EdgeRow) -> Result<(), String> {
    let Some(reference) = event.reference.as_deref() else { return Ok(()) };
    let Some(list) = lists.get(reference) else {
        return Err(format!("recommendation_id {reference} names no list the edge has logged"));
    };
    if list.user_id != event.user_id {
        return Err(format!("recommendation {reference} was served to another user"));
    }
    let movie = event.movie_id.as_deref().unwrap_or("");
    if !list.value.as_deref().unwrap_or("").split(',').any(|listed| listed == movie) {
        return Err(format!("movie {movie} was not in recommendation {reference}"));
    }
    Ok(())
}

/// One line as a log row, or why it cannot be one.
fn parse(line: &str, now_ms: f64) -> Result<EdgeRow, String> {
    if line.starts_with('{') {
        let event: JsonEvent = serde_json::from_str(line).map_err(|error| format!("invalid JSON event: {error}"))?;
        return from_json(event, now_ms);
    }
    let event = parse_line(line, RatingScale::FIVE).map_err(|error| format!("invalid stream line: {error}"))?;
    let (kind, time, user, movie, value) = match event {
        StreamEvent::Watch { time, user, movie, minute } => (EdgeKind::Watch, time, user, movie, minute.to_string()),
        StreamEvent::Rate { time, user, movie, rating } => (EdgeKind::Rate, time, user, movie, rating.to_string()),
        StreamEvent::Recommendation { .. } | StreamEvent::CreateAccount { .. } => {
            return Err(
                "only watch and rate stream lines are events; recommendation requests are logged by the edge".into()
            );
        }
    };
    Ok(with_derived_id(event_row(kind, time.0 / 1_000_000, user, movie.to_owned(), Some(value), None)))
}

fn from_json(event: JsonEvent, now_ms: f64) -> Result<EdgeRow, String> {
    let (event, action) = event.into_parts();
    let (kind, value, reference) = match action {
        Action::Watch { minute, recommendation_id } => (EdgeKind::Watch, Some(minute.to_string()), recommendation_id),
        Action::Rate { rating: stars @ 1..=5, recommendation_id } => {
            (EdgeKind::Rate, Some(stars.to_string()), recommendation_id)
        }
        Action::Rate { .. } => return Err("a rate event needs rating 1 to 5".into()),
        Action::Click { recommendation_id } => (EdgeKind::Click, None, Some(recommendation_id)),
    };
    if reference.as_ref().is_some_and(|id| id.is_empty() || id.len() > 100) {
        return Err("recommendation_id must be 1 to 100 characters".into());
    }
    // The stream's grammar for movie ids: what the edge stores, the trainer can learn from.
    if let Some(reason) = marquee_data::stream::movie_id_error(&event.movie_id) {
        return Err(format!("movie_id: {reason}"));
    }
    let user_id = check_user_id(event.user_id).map_err(|error| error.to_string())?;
    let client_id = match &event.id {
        Some(id) => {
            Some(client_event_id(user_id, id).ok_or_else(|| format!("id must be 1 to {MAX_CLIENT_ID_BYTES} bytes"))?)
        }
        None => None,
    };
    let time_ms = event.time_ms.unwrap_or(now_ms as i64);
    if !(0..EVENT_TIME_END_MS).contains(&time_ms) {
        return Err("time_ms must be milliseconds since 1970, before 2100".into());
    }
    let row = event_row(kind, time_ms, user_id, event.movie_id, value, reference);
    Ok(match client_id {
        Some(id) => EdgeRow { id, ..row },
        None => with_derived_id(row),
    })
}

/// `row` with the id derived from the event it records.
fn with_derived_id(row: EdgeRow) -> EdgeRow {
    EdgeRow { id: derived_event_id(&row), ..row }
}

/// An event's log row, without its id yet (events carry no variant, version or latency:
/// impressions do).
fn event_row(
    kind: EdgeKind,
    time_ms: i64,
    user_id: UserId,
    movie_id: String,
    value: Option<String>,
    reference: Option<String>,
) -> EdgeRow {
    EdgeRow {
        seq: 0,
        id: String::new(),
        kind,
        time_ms,
        user_id,
        movie_id: Some(movie_id),
        value,
        variant: None,
        version: None,
        reference,
        latency_us: None,
        teams: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_json_kind_needs_its_own_fields_and_nothing_else() {
        let row = parse(r#"{"type":"watch","user_id":1,"movie_id":"m","minute":3,"time_ms":5}"#, 0.0).unwrap();
        assert_eq!((row.kind, row.value.as_deref(), row.time_ms), (EdgeKind::Watch, Some("3"), 5));
        let click = parse(r#"{"type":"click","user_id":1,"movie_id":"m","recommendation_id":"r1"}"#, 9.0).unwrap();
        assert_eq!((click.kind, click.reference.as_deref(), click.time_ms), (EdgeKind::Click, Some("r1"), 9));
        for bad in [
            r#"{"type":"watch","user_id":1,"movie_id":"m"}"#,
            r#"{"type":"rate","user_id":1,"movie_id":"m","minute":3}"#,
            r#"{"type":"rate","user_id":1,"movie_id":"m","rating":6}"#,
            r#"{"type":"click","user_id":1,"movie_id":"m"}"#,
            r#"{"type":"view","user_id":1,"movie_id":"m"}"#,
            r#"{"type":"watch","user_id":1,"movie_id":"m","minute":3,"colour":"red"}"#,
            r#"{"type":"watch","user_id":9007199254740992,"movie_id":"m","minute":3}"#,
            r#"{"type":"watch","user_id":-1,"movie_id":"m","minute":3}"#,
        ] {
            assert!(parse(bad, 0.0).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_event_is_identified_by_what_it_records_not_by_its_text() {
        let id = |line: &str| parse(line, 0.0).unwrap().id;
        let watch = id(r#"{"type":"watch","user_id":1,"movie_id":"m","minute":3,"time_ms":1704103200000}"#);
        assert!(watch.starts_with("e:1:"), "{watch}");
        // Other key order, other spacing: the same event.
        assert_eq!(
            id(r#"{ "minute":3, "time_ms":1704103200000, "movie_id":"m", "user_id":1, "type":"watch" }"#),
            watch
        );
        // The same event as a stream line.
        assert_eq!(id("2024-01-01T10:00:00,1,GET /data/m/m/3.mpg"), watch);
        // The same kind of watch at another time is another event.
        assert_ne!(id(r#"{"type":"watch","user_id":1,"movie_id":"m","minute":3,"time_ms":1704103200001}"#), watch);
        // A client's id is the client's, in its user's namespace, whatever the event.
        let named = id(r#"{"id":"r1","type":"watch","user_id":1,"movie_id":"m","minute":3,"time_ms":5}"#);
        assert_eq!(named, "c:1:r1");
        assert!(parse(r#"{"id":"","type":"watch","user_id":1,"movie_id":"m","minute":3}"#, 0.0).is_err());
    }
}
