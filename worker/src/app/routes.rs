//! The edge's one route table: every (method, path) it answers and the handler that does.
//! 404 (no such path) and 405 (with `Allow`) follow from the table, `HEAD` is answered as
//! `GET` is, and each route says whether its errors are one-line text or JSON.

use matchit::Router;

/// An HTTP method the edge answers (anything else is a 405 on a known path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// What a request is for: one per (method, path) in [`ROUTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Recommend,
    RecommendJson,
    PostEvents,
    Health,
    Metrics,
    ListModels,
    GetRecommender,
    PutRecommender,
    GetProfileShard,
    PutProfileShard,
    PutManifest,
    Activate,
    Rollback,
    GetExperiment,
    PutExperiment,
    ReadLog,
    Summary,
    Readout,
    AdminRecommend,
    InspectUser,
    InspectMovie,
    GetReport,
    PutReport,
}

/// The largest request body each handler reads; `entry.mjs` refuses anything larger (413)
/// before reading it, and handlers without a body are given none.
impl Handler {
    pub fn max_body_bytes(self) -> usize {
        match self {
            Handler::PostEvents => super::events::MAX_BODY_BYTES,
            Handler::PutRecommender | Handler::PutProfileShard => super::admin::MAX_BLOB_BYTES,
            Handler::PutManifest => super::admin::MAX_MANIFEST_BYTES,
            Handler::PutExperiment => super::admin::MAX_EXPERIMENT_BYTES,
            Handler::PutReport => super::monitor_reports::MAX_REPORT_BYTES,
            Handler::Recommend
            | Handler::RecommendJson
            | Handler::Health
            | Handler::Metrics
            | Handler::ListModels
            | Handler::GetRecommender
            | Handler::GetProfileShard
            | Handler::Activate
            | Handler::Rollback
            | Handler::GetExperiment
            | Handler::ReadLog
            | Handler::Summary
            | Handler::Readout
            | Handler::AdminRecommend
            | Handler::InspectUser
            | Handler::InspectMovie
            | Handler::GetReport => 0,
        }
    }
}

/// How a route answers errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormat {
    /// One line of text: the original `/recommend/<user>` contract.
    Text,
    /// `{"error": <kind>, "message": <what to fix>}`.
    Json,
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    /// The admin bearer token, checked before anything else (so an unauthenticated caller
    /// learns nothing, not even which methods a path takes).
    Admin,
}

/// One path and what it answers.
pub struct Route {
    pub path: &'static str,
    /// The `route` label of the request metrics.
    pub label: &'static str,
    pub access: Access,
    pub errors: ErrorFormat,
    pub methods: &'static [(Method, Handler)],
}

const fn public(path: &'static str, label: &'static str, methods: &'static [(Method, Handler)]) -> Route {
    Route { path, label, access: Access::Public, errors: ErrorFormat::Json, methods }
}

const fn admin(path: &'static str, methods: &'static [(Method, Handler)]) -> Route {
    Route { path, label: "admin", access: Access::Admin, errors: ErrorFormat::Json, methods }
}

/// The metrics label of `/recommend/<user>`.
const RECOMMEND: &str = "recommend";
/// The metrics label of `/v1/recommend/<user>`.
const V1_RECOMMEND: &str = "v1_recommend";

/// The labels of the routes that serve recommendations, which the admin summary reports on.
pub const RECOMMENDATION_LABELS: [&str; 2] = [RECOMMEND, V1_RECOMMEND];

/// Every route of the edge.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/recommend/{user}",
        label: RECOMMEND,
        access: Access::Public,
        errors: ErrorFormat::Text,
        methods: &[(Method::Get, Handler::Recommend)],
    },
    public("/v1/recommend/{user}", V1_RECOMMEND, &[(Method::Get, Handler::RecommendJson)]),
    public("/v1/events", "v1_events", &[(Method::Post, Handler::PostEvents)]),
    public("/healthz", "healthz", &[(Method::Get, Handler::Health)]),
    public("/metrics", "metrics", &[(Method::Get, Handler::Metrics)]),
    admin("/v1/admin/models", &[(Method::Get, Handler::ListModels)]),
    admin(
        "/v1/admin/models/{version}/recommender",
        &[(Method::Get, Handler::GetRecommender), (Method::Put, Handler::PutRecommender)],
    ),
    admin(
        "/v1/admin/models/{version}/profiles/{shard}",
        &[(Method::Get, Handler::GetProfileShard), (Method::Put, Handler::PutProfileShard)],
    ),
    admin("/v1/admin/models/{version}/manifest", &[(Method::Put, Handler::PutManifest)]),
    admin("/v1/admin/models/{version}/activate", &[(Method::Post, Handler::Activate)]),
    admin("/v1/admin/rollback", &[(Method::Post, Handler::Rollback)]),
    admin("/v1/admin/experiment", &[(Method::Get, Handler::GetExperiment), (Method::Put, Handler::PutExperiment)]),
    admin("/v1/admin/log", &[(Method::Get, Handler::ReadLog)]),
    admin("/v1/admin/summary", &[(Method::Get, Handler::Summary)]),
    admin("/v1/admin/readout", &[(Method::Get, Handler::Readout)]),
    admin("/v1/admin/recommend/{user}", &[(Method::Get, Handler::AdminRecommend)]),
    admin("/v1/admin/users/{user}", &[(Method::Get, Handler::InspectUser)]),
    admin("/v1/admin/movies/{movie}", &[(Method::Get, Handler::InspectMovie)]),
    admin("/v1/admin/monitor/{kind}", &[(Method::Get, Handler::GetReport), (Method::Put, Handler::PutReport)]),
];

/// The route table, compiled for matching.
pub struct RouteTable {
    router: Router<&'static Route>,
}

/// What matching a request against the table found.
pub enum Matched<'r> {
    /// No route has this path.
    NotFound,
    /// The path is known; `handler` is `None` when the method is not one it takes.
    Found { route: &'static Route, handler: Option<Handler>, params: Params<'r> },
}

/// The path parameters a route matched.
pub struct Params<'r>(Vec<(&'r str, &'r str)>);

impl<'r> Params<'r> {
    /// A parameter's value ("" when absent).
    pub fn get(&self, name: &str) -> &'r str {
        self.0.iter().find(|(key, _)| *key == name).map_or("", |(_, value)| value)
    }
}

impl RouteTable {
    pub fn new() -> Self {
        let mut router = Router::new();
        for route in ROUTES {
            if let Err(error) = router.insert(route.path, route) {
                unreachable!("the route table is static and conflict-free: {error}");
            }
        }
        RouteTable { router }
    }

    /// Finds the route for a path and the handler for a method (`HEAD` finds `GET`'s).
    pub fn find<'r>(&'r self, method: &str, path: &'r str) -> Matched<'r> {
        let Ok(matched) = self.router.at(path) else { return Matched::NotFound };
        let route: &'static Route = matched.value;
        let method = if method == "HEAD" { "GET" } else { method };
        let handler = route.methods.iter().find(|(allowed, _)| allowed.as_str() == method).map(|&(_, handler)| handler);
        Matched::Found { route, handler, params: Params(matched.params.iter().collect()) }
    }
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable::new()
    }
}

impl Route {
    /// The methods this route takes, for an `Allow` header (`HEAD` wherever `GET` is).
    pub fn allow(&self) -> String {
        let mut allowed: Vec<&str> = self.methods.iter().map(|(method, _)| method.as_str()).collect();
        if self.methods.iter().any(|(method, _)| *method == Method::Get) {
            allowed.push("HEAD");
        }
        allowed.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_paths_resolve_from_the_one_table() {
        let table = RouteTable::new();
        let handler = |method: &str, path: &str| match table.find(method, path) {
            Matched::Found { handler, .. } => handler,
            Matched::NotFound => None,
        };
        assert_eq!(handler("GET", "/recommend/1"), Some(Handler::Recommend));
        assert_eq!(handler("HEAD", "/recommend/1"), Some(Handler::Recommend));
        assert_eq!(handler("POST", "/recommend/1"), None);
        assert_eq!(handler("PUT", "/v1/admin/experiment"), Some(Handler::PutExperiment));
        assert!(matches!(table.find("GET", "/nope"), Matched::NotFound));
        let Matched::Found { route, params, .. } = table.find("PUT", "/v1/admin/models/v1/profiles/3") else {
            panic!("a known path")
        };
        assert_eq!((params.get("version"), params.get("shard"), params.get("other")), ("v1", "3", ""));
        assert_eq!(route.allow(), "GET, PUT, HEAD");
        assert_eq!(handler("GET", "/v1/admin/models/v1/recommender"), Some(Handler::GetRecommender));
        assert_eq!(handler("PUT", "/v1/admin/models/v1/manifest"), Some(Handler::PutManifest));
        assert_eq!(handler("GET", "/v1/admin/movies/heat+1995"), Some(Handler::InspectMovie));
        let Matched::Found { route, .. } = table.find("DELETE", "/v1/admin/experiment") else { panic!("known") };
        assert_eq!(route.allow(), "GET, PUT, HEAD");
    }
}
