//! `POST /v1/events`: watch, rate and click events as JSON lines, or the movie service's own
//! stream lines. Every line is checked; bad lines are reported by line number while the
//! good ones are stored. Each event has an id (given, or derived from its content), and the
//! log ignores an id it already has, so a retried request stores nothing twice.

use marquee_data::events::RatingScale;
use marquee_data::stream::parse_line;
use marquee_data::StreamEvent;
use marquee_model::hash::fnv64;
use serde::Deserialize;
use serde_json::json;

use super::error::AppError;
use super::storage::{SqlValue, Statement, Storage};
use super::{Request, Response};

/// The largest body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// The most lines one request may carry.
pub const MAX_LINES: usize = 5_000;

/// A JSON event line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEvent {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    user_id: u64,
    movie_id: String,
    /// Milliseconds since 1970; the arrival time when absent.
    time_ms: Option<i64>,
    /// `rate`: 1 to 5 stars.
    rating: Option<u8>,
    /// `watch`: the minute watched.
    minute: Option<u32>,
    /// `click`: the recommendation clicked from.
    recommendation_id: Option<String>,
}

struct Event {
    id: String,
    kind: &'static str,
    time_ms: i64,
    user_id: u64,
    movie_id: String,
    value: Option<String>,
    reference: Option<String>,
}

pub async fn ingest<S: Storage>(request: &Request, storage: &S, now_ms: f64) -> Result<Response, AppError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(AppError::TooLarge { limit: MAX_BODY_BYTES });
    }
    let text = std::str::from_utf8(&request.body)
        .map_err(|error| AppError::BadRequest(format!("the body is not UTF-8 (byte {})", error.valid_up_to())))?;
    let mut events = Vec::new();
    let mut rejected = Vec::new();
    let mut lines = 0;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        lines += 1;
        if lines > MAX_LINES {
            return Err(AppError::TooLarge { limit: MAX_BODY_BYTES });
        }
        match parse(line, now_ms) {
            Ok(event) => events.push(event),
            Err(reason) => rejected.push(json!({ "line": index + 1, "error": reason })),
        }
    }
    if lines == 0 {
        return Err(AppError::BadRequest("no events: send one JSON object or stream line per line".into()));
    }
    let statements: Vec<Statement> = events
        .iter()
        .map(|event| {
            Statement::new(
                "INSERT OR IGNORE INTO log (id, kind, time_ms, user_id, movie_id, value, ref) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                vec![
                    SqlValue::from(event.id.clone()),
                    SqlValue::from(event.kind),
                    SqlValue::Integer(event.time_ms),
                    SqlValue::Integer(event.user_id as i64),
                    SqlValue::from(event.movie_id.clone()),
                    SqlValue::from(event.value.clone()),
                    SqlValue::from(event.reference.clone()),
                ],
            )
        })
        .collect();
    if !statements.is_empty() {
        storage.execute(&statements).await?;
    }
    let status = if events.is_empty() { 400 } else { 200 };
    Ok(Response::json(status, &json!({ "accepted": events.len(), "rejected": rejected })))
}

fn parse(line: &str, now_ms: f64) -> Result<Event, String> {
    if line.starts_with('{') {
        let event: JsonEvent = serde_json::from_str(line).map_err(|error| format!("invalid JSON event: {error}"))?;
        return from_json(event, line, now_ms);
    }
    let event = parse_line(line, RatingScale::FIVE).map_err(|error| format!("invalid stream line: {error}"))?;
    let id = format!("s{:016x}", fnv64(line.as_bytes()));
    let (kind, time, user, movie, value) = match event {
        StreamEvent::Watch { time, user, movie, minute } => ("watch", time, user, movie, minute.to_string()),
        StreamEvent::Rate { time, user, movie, rating } => ("rate", time, user, movie, rating.to_string()),
        StreamEvent::Recommendation { .. } | StreamEvent::CreateAccount { .. } => {
            return Err(
                "only watch and rate stream lines are events; recommendation requests are logged by the edge".into()
            );
        }
    };
    Ok(Event {
        id,
        kind,
        time_ms: time.0 / 1_000_000,
        user_id: user,
        movie_id: movie.to_owned(),
        value: Some(value),
        reference: None,
    })
}

fn from_json(event: JsonEvent, line: &str, now_ms: f64) -> Result<Event, String> {
    if event.movie_id.is_empty() || event.movie_id.len() > 200 || event.movie_id.contains([',', '\n']) {
        return Err("movie_id must be 1 to 200 characters without commas".into());
    }
    if event.id.as_ref().is_some_and(|id| id.is_empty() || id.len() > 100) {
        return Err("id must be 1 to 100 characters".into());
    }
    let (kind, value, reference) = match event.kind.as_str() {
        "watch" => ("watch", Some(event.minute.ok_or("a watch event needs minute")?.to_string()), None),
        "rate" => match event.rating {
            Some(stars @ 1..=5) => ("rate", Some(stars.to_string()), None),
            _ => return Err("a rate event needs rating 1 to 5".into()),
        },
        "click" => match event.recommendation_id {
            Some(id) if !id.is_empty() && id.len() <= 100 => ("click", None, Some(id)),
            _ => return Err("a click event needs recommendation_id".into()),
        },
        other => return Err(format!("unknown event type {other:?}: expected watch, rate or click")),
    };
    let time_ms = event.time_ms.unwrap_or(now_ms as i64);
    if !(0..=4_102_444_800_000).contains(&time_ms) {
        return Err("time_ms must be milliseconds since 1970, before 2100".into());
    }
    Ok(Event {
        id: event.id.unwrap_or_else(|| format!("j{:016x}", fnv64(line.as_bytes()))),
        kind,
        time_ms,
        user_id: event.user_id,
        movie_id: event.movie_id,
        value,
        reference,
    })
}
