//! The Worker's one error type: each variant maps to a status code and a body that says
//! what the client did wrong, never how the Worker is built. The route decides the body's
//! form: one line of text on `/recommend/<user>`, JSON everywhere else.

use serde_json::json;

use super::response::Response;
use super::routes::ErrorFormat;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("no such route")]
    NotFound,
    /// The route exists but what it names does not (a version, a blob).
    #[error("{0}")]
    Missing(String),
    /// The path is known but takes other methods (listed for the `Allow` header).
    #[error("method not allowed; use {0}")]
    MethodNotAllowed(String),
    #[error("the request body is over {limit} bytes")]
    TooLarge { limit: usize },
    /// More lines than one request may carry.
    #[error("the request has over {limit} lines; send at most {limit} per request")]
    TooManyLines { limit: usize },
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    /// A body in a form the route does not read (a multipart upload to the events route).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Storage or another dependency failed; the detail goes to the log only.
    #[error("temporarily unavailable")]
    Unavailable(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized => 401,
            AppError::NotFound | AppError::Missing(_) => 404,
            AppError::MethodNotAllowed(_) => 405,
            AppError::Conflict(_) => 409,
            AppError::TooLarge { .. } | AppError::TooManyLines { .. } => 413,
            AppError::UnsupportedMediaType(_) => 415,
            AppError::Unprocessable(_) => 422,
            AppError::Unavailable(_) => 503,
        }
    }

    /// What to write to the Worker's log: the hidden detail of an internal failure.
    pub fn internal_detail(&self) -> Option<&str> {
        match self {
            AppError::Unavailable(detail) => Some(detail),
            _ => None,
        }
    }

    /// The answer in the route's form: `{"error": <kind>, "message": <what to fix>}`, or the
    /// message alone as one line of text.
    pub fn to_response(&self, format: ErrorFormat) -> Response {
        let kind = match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::NotFound | AppError::Missing(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge { .. } | AppError::TooManyLines { .. } => "too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::Unavailable(_) => "unavailable",
        };
        let message = self.to_string().replace(['\r', '\n'], " ");
        let mut response = match format {
            ErrorFormat::Json => Response::json(self.status(), &json!({ "error": kind, "message": message })),
            ErrorFormat::Text => Response::text(self.status(), message),
        };
        match self {
            AppError::Unauthorized => response.headers.push(("www-authenticate", "Bearer".into())),
            AppError::MethodNotAllowed(allow) => response.headers.push(("allow", allow.clone())),
            _ => {}
        }
        response
    }
}

impl From<super::storage::StorageError> for AppError {
    fn from(error: super::storage::StorageError) -> Self {
        AppError::Unavailable(error.0)
    }
}
