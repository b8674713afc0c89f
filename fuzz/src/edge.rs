//! The edge target's inputs and driver: a short session of structured requests (method,
//! path, query, headers and body, with real model blobs and event lines among the bodies)
//! sent through the Worker's [`App`] on the in-memory SQLite storage its native tests use,
//! and the invariants every answer must keep.

use arbitrary::Arbitrary;
use libfuzzer_sys::arbitrary;
use marquee_worker::app::routes::ROUTES;
use marquee_worker::app::storage::Storage;
use marquee_worker::{App, AppConfig, Request, Response};

#[path = "../../worker/tests/support/memory_storage.rs"]
#[allow(dead_code)]
mod memory_storage;

pub use memory_storage::{block_on, MemoryStorage};

/// The admin token the fuzzed edge is configured with.
pub const TOKEN: &str = "fuzz-token";

/// The most requests one input sends: enough to publish, activate and then be served.
const MAX_REQUESTS: usize = 8;

/// A session: requests sent in order to one isolate on one storage.
#[derive(Arbitrary, Debug)]
pub struct Session {
    pub requests: Vec<FuzzRequest>,
}

/// One request, built from parts the edge cares about.
#[derive(Arbitrary, Debug)]
pub struct FuzzRequest {
    method: FuzzMethod,
    path: FuzzPath,
    query: Vec<(QueryKey, Text)>,
    auth: Auth,
    headers: Vec<(String, String)>,
    body: Body,
    /// How far the clock moves before the request, in milliseconds (settings are cached
    /// for 3 s, failed loads for 30 s).
    wait_ms: u16,
}

#[derive(Arbitrary, Debug)]
enum FuzzMethod {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum FuzzPath {
    /// One of the edge's routes, its `{parameters}` filled in order.
    Route {
        index: u8,
        params: Vec<Text>,
    },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum QueryKey {
    N,
    Explain,
    Version,
    Seed,
    Users,
    Repeat,
    Limit,
    Since,
    Other(String),
}

/// Text that is often one of the values the edge knows.
#[derive(Arbitrary, Debug)]
enum Text {
    /// A movie id of the trained model.
    Movie(u8),
    /// A user the trained model's shards hold.
    KnownUser(u8),
    Number(i64),
    Version(u8),
    Word(KnownWord),
    /// The id of the last list the edge served in this session.
    LastRecommendation,
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum KnownWord {
    True,
    False,
    One,
    Zero,
    Default,
    Empty,
    Watch,
    Rate,
    Click,
    Interleave,
}

#[derive(Arbitrary, Debug)]
enum Auth {
    None,
    Token,
    /// The right token with the scheme in another case (RFC 9110: case-insensitive).
    LowercaseScheme,
    Wrong(String),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Empty,
    Raw(Vec<u8>),
    /// The trained recommender blob, bytes flipped at the given offsets.
    Recommender {
        flips: Vec<(u16, u8)>,
    },
    /// One of the trained profile shards, bytes flipped at the given offsets.
    Shard {
        which: bool,
        flips: Vec<(u16, u8)>,
    },
    /// JSON lines of objects with fields the event, experiment and manifest bodies use.
    JsonLines(Vec<Vec<(FieldName, FieldValue)>>),
    /// Stream lines as the movie service writes them.
    StreamLines(Vec<StreamLine>),
}

#[derive(Arbitrary, Debug)]
enum FieldName {
    Type,
    Id,
    UserId,
    MovieId,
    Minute,
    Rating,
    Time,
    TimeMs,
    RecommendationId,
    Position,
    Variants,
    Mode,
    Shards,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum FieldValue {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(Text),
    List(Vec<Text>),
}

#[derive(Arbitrary, Debug)]
struct StreamLine {
    day: u16,
    user: Text,
    kind: StreamKind,
    movie: Text,
    number: u32,
}

#[derive(Arbitrary, Debug)]
enum StreamKind {
    Watch,
    Rate,
    CreateAccount,
    Raw(String),
}

/// One isolate and its storage, with a clock that only moves forward.
///
/// The isolate and the database outlive a session: building an `App` decodes the embedded
/// default model (about 0.9 MB) and a new database runs the migrations, either of which
/// costs more than a session. A Worker isolate serves many clients in turn too; each
/// session starts on emptied storage (every table and blob, which is exactly what a fresh
/// storage holds: checked once per process) a minute after the last one, when every cached
/// setting and failed load has expired. A crash that replays alone
/// without crashing depended on an earlier session: run the corpus in order to find it.
pub struct Edge {
    app: App,
    storage: MemoryStorage,
    now_ms: std::cell::Cell<f64>,
    last_recommendation: Option<String>,
}

/// The time between sessions: longer than every cache of the edge (settings 3 s, a failed
/// load 30 s).
const SESSION_GAP_MS: f64 = 60_000.0;

impl Default for Edge {
    fn default() -> Self {
        Edge::new()
    }
}

impl Edge {
    /// A fresh isolate with the admin token set, on empty storage with the migrations applied.
    pub fn new() -> Self {
        let config = AppConfig { admin_token: Some(TOKEN.into()), ..Default::default() };
        let storage = MemoryStorage::new();
        let filled: Vec<_> = storage.table_rows().into_iter().filter(|(_, rows)| *rows > 0).collect();
        assert!(filled.is_empty(), "a fresh storage has rows, which a reset would lose: {filled:?}");
        Edge {
            app: App::new(config, 7),
            storage,
            now_ms: std::cell::Cell::new(1_700_000_000_000.0),
            last_recommendation: None,
        }
    }

    /// Runs `session` on this thread's isolate, on fresh storage.
    pub fn run_session(session: &Session) {
        thread_local! {
            static EDGE: std::cell::RefCell<Edge> = std::cell::RefCell::new(Edge::new());
        }
        EDGE.with(|edge| {
            let mut edge = edge.borrow_mut();
            edge.storage.reset();
            edge.last_recommendation = None;
            edge.now_ms.set(edge.now_ms.get() + SESSION_GAP_MS);
            edge.run(session);
        });
    }

    /// Sends every request of the session, checking each answer.
    pub fn run(&mut self, session: &Session) {
        for fuzzed in session.requests.iter().take(MAX_REQUESTS) {
            self.now_ms.set(self.now_ms.get() + f64::from(fuzzed.wait_ms));
            let request = self.build(fuzzed);
            let response = self.send(&request);
            check_response(&request, &response);
            if let Some(id) = response.header("x-marquee-recommendation-id") {
                self.last_recommendation = Some(id.to_owned());
            }
        }
    }

    /// Answers as the Worker's entry does: a body over the route's limit is refused before
    /// the app sees it; deferred writes run after the answer, and must be valid for the
    /// schema (a write that always fails would be retried, and kept, forever).
    fn send(&self, request: &Request) -> Response {
        let limit = self.app.body_limit(request);
        if request.body.len() > limit {
            return App::too_large(limit);
        }
        let clock = || {
            self.now_ms.set(self.now_ms.get() + 0.25);
            self.now_ms.get()
        };
        let outcome = block_on(self.app.handle(request, &self.storage, &clock));
        if let Err(error) = block_on(self.storage.execute(&outcome.deferred)) {
            panic!("the deferred writes of {} {} fail: {error:?}", request.method, request.path);
        }
        outcome.response
    }

    fn build(&self, fuzzed: &FuzzRequest) -> Request {
        let method = match &fuzzed.method {
            FuzzMethod::Get => "GET",
            FuzzMethod::Head => "HEAD",
            FuzzMethod::Post => "POST",
            FuzzMethod::Put => "PUT",
            FuzzMethod::Delete => "DELETE",
            FuzzMethod::Other(method) => method,
        };
        let path = match &fuzzed.path {
            FuzzPath::Route { index, params } => {
                let template = ROUTES[usize::from(*index) % ROUTES.len()].path;
                fill_template(template, params.iter().map(|param| self.text(param)))
            }
            FuzzPath::Raw(path) => path.clone(),
        };
        let query: Vec<String> = fuzzed
            .query
            .iter()
            .map(|(key, value)| {
                let key = match key {
                    QueryKey::N => "n",
                    QueryKey::Explain => "explain",
                    QueryKey::Version => "version",
                    QueryKey::Seed => "seed",
                    QueryKey::Users => "users",
                    QueryKey::Repeat => "repeat",
                    QueryKey::Limit => "limit",
                    QueryKey::Since => "since",
                    QueryKey::Other(key) => key,
                };
                format!("{key}={}", self.text(value))
            })
            .collect();
        // GET and HEAD requests carry no body (the Fetch API refuses one).
        let body = if matches!(method, "GET" | "HEAD") { Vec::new() } else { self.body(&fuzzed.body) };
        // As a URL would be split: the path ends at its first `?`.
        let separator = if path.contains('?') { "&" } else { "?" };
        let mut request = Request::new(method, &format!("{path}{separator}{}", query.join("&")), body);
        match &fuzzed.auth {
            Auth::None => {}
            Auth::Token => request.headers.push(("authorization".into(), format!("Bearer {TOKEN}"))),
            Auth::LowercaseScheme => request.headers.push(("authorization".into(), format!("bearer {TOKEN}"))),
            Auth::Wrong(token) => request.headers.push(("authorization".into(), format!("Bearer {token}"))),
            Auth::Raw(value) => request.headers.push(("authorization".into(), value.clone())),
        }
        for (name, value) in &fuzzed.headers {
            request.headers.push((name.to_ascii_lowercase(), value.clone()));
        }
        request
    }

    fn text(&self, text: &Text) -> String {
        let recommender = crate::trained_recommender();
        match text {
            Text::Movie(index) => {
                let movies = recommender.catalog().movies.len().max(1);
                recommender.movie_id((usize::from(*index) % movies) as u32).unwrap_or_default().to_owned()
            }
            Text::KnownUser(index) => {
                let shard = &crate::trained_shards()[usize::from(*index) % 2];
                let position = usize::from(*index / 2) % shard.len().max(1);
                shard.profile_at(position).map(|profile| profile.user_id.to_string()).unwrap_or_default()
            }
            Text::Number(number) => number.to_string(),
            Text::Version(index) => format!("v{}", index % 3),
            Text::Word(word) => match word {
                KnownWord::True => "true",
                KnownWord::False => "false",
                KnownWord::One => "1",
                KnownWord::Zero => "0",
                KnownWord::Default => "default",
                KnownWord::Empty => "",
                KnownWord::Watch => "watch",
                KnownWord::Rate => "rate",
                KnownWord::Click => "click",
                KnownWord::Interleave => "interleave",
            }
            .to_owned(),
            Text::LastRecommendation => self.last_recommendation.clone().unwrap_or_default(),
            Text::Raw(text) => text.clone(),
        }
    }

    fn body(&self, body: &Body) -> Vec<u8> {
        match body {
            Body::Empty => Vec::new(),
            Body::Raw(bytes) => bytes.clone(),
            Body::Recommender { flips } => flipped(crate::TRAINED_RECOMMENDER, flips),
            Body::Shard { which, flips } => flipped(crate::TRAINED_SHARDS[usize::from(*which)], flips),
            Body::JsonLines(lines) => {
                let lines: Vec<String> = lines
                    .iter()
                    .map(|fields| {
                        let object: serde_json::Map<String, serde_json::Value> =
                            fields.iter().map(|(name, value)| (field_name(name), self.value(value))).collect();
                        serde_json::Value::Object(object).to_string()
                    })
                    .collect();
                lines.join("\n").into_bytes()
            }
            Body::StreamLines(lines) => {
                let lines: Vec<String> = lines.iter().map(|line| self.stream_line(line)).collect();
                lines.join("\n").into_bytes()
            }
        }
    }

    fn value(&self, value: &FieldValue) -> serde_json::Value {
        match value {
            FieldValue::Null => serde_json::Value::Null,
            FieldValue::Bool(value) => (*value).into(),
            FieldValue::Integer(value) => (*value).into(),
            FieldValue::Float(value) => {
                serde_json::Number::from_f64(*value).map_or(serde_json::Value::Null, Into::into)
            }
            FieldValue::Text(text) => self.text(text).into(),
            FieldValue::List(items) => items.iter().map(|item| serde_json::Value::from(self.text(item))).collect(),
        }
    }

    fn stream_line(&self, line: &StreamLine) -> String {
        // Days from 2023-11-14 (the edge's clock) on, so most lines are plausible times.
        let day = 1 + line.day % 28;
        let time = format!("2023-11-{day:02}T12:00:00");
        let (user, movie) = (self.text(&line.user), self.text(&line.movie));
        match &line.kind {
            StreamKind::Watch => format!("{time},{user},GET /data/m/{movie}/{}.mpg", line.number),
            StreamKind::Rate => format!("{time},{user},GET /rate/{movie}={}", line.number % 7),
            StreamKind::CreateAccount => format!("{time},{user},GET /create_account"),
            StreamKind::Raw(request) => format!("{time},{user},{request}"),
        }
    }
}

fn field_name(name: &FieldName) -> String {
    match name {
        FieldName::Type => "type",
        FieldName::Id => "id",
        FieldName::UserId => "user_id",
        FieldName::MovieId => "movie_id",
        FieldName::Minute => "minute",
        FieldName::Rating => "rating",
        FieldName::Time => "time",
        FieldName::TimeMs => "time_ms",
        FieldName::RecommendationId => "recommendation_id",
        FieldName::Position => "position",
        FieldName::Variants => "variants",
        FieldName::Mode => "mode",
        FieldName::Shards => "shards",
        FieldName::Other(name) => name,
    }
    .to_owned()
}

/// `template` with each `{parameter}` replaced by the next value (empty when they run out).
fn fill_template(template: &str, mut values: impl Iterator<Item = String>) -> String {
    let mut path = String::new();
    for (index, part) in template.split('{').enumerate() {
        match part.split_once('}') {
            Some((_, rest)) if index > 0 => {
                path.push_str(&values.next().unwrap_or_default());
                path.push_str(rest);
            }
            _ => path.push_str(part),
        }
    }
    path
}

fn flipped(bytes: &[u8], flips: &[(u16, u8)]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for &(offset, xor) in flips {
        let length = bytes.len();
        if let Some(byte) = bytes.get_mut(usize::from(offset) % length.max(1)) {
            *byte ^= xor;
        }
    }
    bytes
}

/// What every answer of the edge must be.
pub fn check_response(request: &Request, response: &Response) {
    let what = format!("{} {}?{}", request.method, request.path, request.query);
    assert!((200..=599).contains(&response.status), "{what}: status {}", response.status);
    if request.method == "HEAD" {
        assert!(response.body.is_empty(), "{what}: a HEAD answer has a body");
        return;
    }
    match response.content_type {
        "application/json" => {
            let parsed = serde_json::from_slice::<serde_json::Value>(&response.body);
            assert!(parsed.is_ok(), "{what}: the JSON answer does not parse: {}", response.body_text());
        }
        "application/x-ndjson" => {
            for line in response.body_text().lines() {
                let parsed = serde_json::from_str::<serde_json::Value>(line);
                assert!(parsed.is_ok(), "{what}: an NDJSON line does not parse: {line}");
            }
        }
        _ => {}
    }
    if response.status >= 400 && response.content_type == "application/json" {
        // Every error names its kind and says what to fix (`POST /v1/events` refusing every
        // line adds its per-line report beside them).
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        let error = body["error"].is_string() && body["message"].is_string();
        assert!(error, "{what}: an error without its kind and message: {body}");
    }
    // `/recommend/<user>`: the original contract, one line of text; a list for any user id.
    if request.method == "GET" {
        if let Some(user) =
            request.path.strip_prefix("/recommend/").filter(|user| !user.is_empty() && !user.contains('/'))
        {
            assert!(response.content_type.starts_with("text/plain"), "{what}: answered {}", response.content_type);
            let body = response.body_text();
            assert!(!body.contains('\n'), "{what}: more than one line: {body:?}");
            if marquee_data::parse_user_id(user).is_ok() {
                assert_eq!(response.status, 200, "{what}: {body}");
                let ids: Vec<&str> = body.split(',').collect();
                assert!(!body.is_empty() && ids.len() <= marquee_worker::app::MAX_RECOMMENDATIONS, "{what}: {body:?}");
                assert!(ids.iter().all(|id| !id.is_empty() && !id.contains(char::is_whitespace)), "{what}: {body:?}");
            } else {
                assert_eq!(response.status, 400, "{what}: {body}");
            }
        }
    }
}
