//! Target-independent request handling: routing, validation and the answers.

use std::fmt::Write as _;

use matchit::Router;

/// How many movies `/recommend/<userid>` answers with at most.
pub const MAX_RECOMMENDATIONS: usize = 20;

/// What the Worker is configured with at start-up.
#[derive(Clone, Debug, Default)]
pub struct AppConfig {
    /// The popularity list served when no model can answer, most popular first.
    pub popular_movies: Vec<String>,
}

impl AppConfig {
    /// Reads the comma-separated `POPULAR_MOVIES` variable; blanks and spaces are dropped.
    pub fn from_popular_list(list: &str) -> Self {
        let popular_movies = list.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect();
        AppConfig { popular_movies }
    }
}

/// An HTTP answer, independent of the runtime that sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Self {
        Response { status, content_type: "text/plain; charset=utf-8", headers: Vec::new(), body: body.into() }
    }

    fn json(status: u16, body: &serde_json::Value) -> Self {
        Response { status, content_type: "application/json", headers: Vec::new(), body: body.to_string() }
    }

    /// The value of a header this response carries, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

#[derive(Clone, Copy, Debug)]
enum Route {
    Recommend,
    Health,
}

/// The Worker's request handler.
pub struct App {
    config: AppConfig,
    router: Router<Route>,
}

impl App {
    /// Builds the handler and its routes.
    pub fn new(config: AppConfig) -> Self {
        let mut router = Router::new();
        // Inserting fixed, distinct literal routes cannot conflict.
        for (path, route) in [("/recommend/{user}", Route::Recommend), ("/healthz", Route::Health)] {
            if let Err(error) = router.insert(path, route) {
                unreachable!("route table is static and conflict-free: {error}");
            }
        }
        App { config, router }
    }

    /// Answers one request. Never fails: every problem becomes a status code.
    pub fn handle(&self, method: &str, path: &str) -> Response {
        let Ok(matched) = self.router.at(path) else {
            return Response::text(404, "no such route");
        };
        if method != "GET" && method != "HEAD" {
            let mut response = Response::text(405, "only GET is allowed here");
            response.headers.push(("allow", "GET, HEAD".to_owned()));
            return response;
        }
        match matched.value {
            Route::Recommend => self.recommend(matched.params.get("user").unwrap_or_default()),
            Route::Health => Response::json(
                200,
                &serde_json::json!({
                    "status": "ok",
                    "model_loaded": false,
                    "fallback_movies": self.config.popular_movies.len(),
                }),
            ),
        }
    }

    fn recommend(&self, user: &str) -> Response {
        if let Err(reason) = parse_user_id(user) {
            return Response::text(400, reason);
        }
        let mut body = String::new();
        for (index, movie) in self.config.popular_movies.iter().take(MAX_RECOMMENDATIONS).enumerate() {
            if index > 0 {
                body.push(',');
            }
            let _ = write!(body, "{movie}");
        }
        let mut response = Response::text(200, body);
        response.headers.push(("x-marquee-fallback", "popularity".to_owned()));
        response
    }
}

/// User ids are the movie service's non-negative integers.
pub fn parse_user_id(text: &str) -> Result<u64, String> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        let shown: String = text.chars().take(40).collect();
        return Err(format!("malformed user id {shown:?}: expected a non-negative integer"));
    }
    text.parse().map_err(|_| format!("user id {text} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App::new(AppConfig::from_popular_list("a+1999, b+2000,,c+2001"))
    }

    #[test]
    fn recommend_answers_the_fallback_list_without_spaces() {
        let response = app().handle("GET", "/recommend/42");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "a+1999,b+2000,c+2001");
        assert!(response.content_type.starts_with("text/plain"));
        assert_eq!(response.header("X-Marquee-Fallback"), Some("popularity"));
    }

    #[test]
    fn recommend_caps_the_list_at_twenty() {
        let list: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        let app = App::new(AppConfig::from_popular_list(&list.join(",")));
        assert_eq!(app.handle("GET", "/recommend/1").body.split(',').count(), MAX_RECOMMENDATIONS);
    }

    #[test]
    fn malformed_user_ids_get_400_with_a_one_line_reason() {
        for bad in ["abc", "-1", "1.5", "99999999999999999999999", "%20"] {
            let response = app().handle("GET", &format!("/recommend/{bad}"));
            assert_eq!(response.status, 400, "{bad}");
            assert!(!response.body.contains('\n'));
        }
    }

    #[test]
    fn unknown_routes_and_methods_are_refused() {
        assert_eq!(app().handle("GET", "/nope").status, 404);
        assert_eq!(app().handle("POST", "/recommend/1").status, 405);
        assert_eq!(app().handle("GET", "/healthz").status, 200);
    }
}
