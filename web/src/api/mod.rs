//! The edge's admin API, through `gloo-net`. Every call takes the bearer token explicitly
//! (never in a URL), and every failure is an [`ApiError`] the pages can show; a 401 is its
//! own variant so the token prompt can come back.

pub mod types;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use types::*;

/// Why an API call failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The edge refused the token.
    #[error("the edge refused the admin token (401): type it again")]
    Unauthorized,
    /// The edge answered an error status; `message` is its own explanation.
    #[error("the edge answered {status}: {message}")]
    Status { status: u16, message: String },
    /// The request never got an answer.
    #[error("could not reach the edge: {0}")]
    Network(String),
    /// The answer was not what this page expects.
    #[error("the edge's answer could not be read: {0}")]
    Decode(String),
}

/// Encodes one user-supplied path segment (`/` and `?` included), so typed input can never
/// change which route a request goes to.
pub fn segment(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

fn authorized(builder: RequestBuilder, token: &str) -> RequestBuilder {
    builder.header("Authorization", &format!("Bearer {token}"))
}

/// Turns an error status into an [`ApiError`], reading the edge's `{"error","message"}`.
async fn check(response: Response) -> Result<Response, ApiError> {
    match response.status() {
        200..=299 => Ok(response),
        401 => Err(ApiError::Unauthorized),
        status => {
            let text = response.text().await.unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|body| body.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or(text);
            Err(ApiError::Status { status, message })
        }
    }
}

fn network(error: gloo_net::Error) -> ApiError {
    ApiError::Network(error.to_string())
}

/// `GET path` as JSON.
pub async fn get_json<T: DeserializeOwned>(path: &str, token: &str) -> Result<T, ApiError> {
    let response = authorized(Request::get(path), token).send().await.map_err(network)?;
    let response = check(response).await?;
    let text = response.text().await.map_err(network)?;
    serde_json::from_str(&text).map_err(|error| ApiError::Decode(error.to_string()))
}

/// `GET path` as bytes (a model blob).
pub async fn get_bytes(path: &str, token: &str) -> Result<Vec<u8>, ApiError> {
    let response = authorized(Request::get(path), token).send().await.map_err(network)?;
    check(response).await?.binary().await.map_err(network)
}

/// `PUT path` with a binary body; answers the edge's JSON.
pub async fn put_bytes(path: &str, token: &str, bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let body = js_sys::Uint8Array::from(bytes);
    let request = authorized(Request::put(path), token)
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .map_err(network)?;
    let response = check(request.send().await.map_err(network)?).await?;
    response.json().await.map_err(|error| ApiError::Decode(error.to_string()))
}

/// `PUT` or `POST` path with a JSON body (`None` sends no body); answers the edge's JSON.
pub async fn send_json<B: Serialize>(
    method: SendMethod,
    path: &str,
    token: &str,
    body: Option<&B>,
) -> Result<serde_json::Value, ApiError> {
    let builder = authorized(
        match method {
            SendMethod::Put => Request::put(path),
            SendMethod::Post => Request::post(path),
        },
        token,
    );
    let request = match body {
        Some(body) => builder.json(body).map_err(network)?,
        None => builder.build().map_err(network)?,
    };
    let response = check(request.send().await.map_err(network)?).await?;
    response.json().await.map_err(|error| ApiError::Decode(error.to_string()))
}

/// The methods [`send_json`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMethod {
    Put,
    Post,
}
