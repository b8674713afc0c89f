//! The admin API's bearer token, compared in constant time.

use super::error::AppError;
use super::response::Request;

/// Checks `Authorization: Bearer <token>` against the configured secret. The scheme's name
/// is case-insensitive (RFC 9110, section 11.1), the token is not. With no secret configured
/// the admin API is closed to everyone.
pub fn require_admin(request: &Request, secret: Option<&str>) -> Result<(), AppError> {
    let Some(secret) = secret.filter(|secret| !secret.is_empty()) else { return Err(AppError::Unauthorized) };
    let given = request.header("authorization").and_then(bearer_token).unwrap_or("");
    if constant_time_eq(given.as_bytes(), secret.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}

/// The token of a `Bearer` credential: the scheme in any case, one or more spaces, the token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start_matches(' '))
}

/// Equality whose time depends only on the lengths, not on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for index in 0..a.len().max(b.len()) {
        difference |= a.get(index).copied().unwrap_or(0) ^ b.get(index).copied().unwrap_or(0xff);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_passes() {
        let with = |value: &str| Request::get("/v1/admin/models").with_header("authorization", value);
        for right in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret", "Bearer  s3cret"] {
            assert!(require_admin(&with(right), Some("s3cret")).is_ok(), "{right:?}");
        }
        for wrong in
            ["Bearer s3cre", "Bearer s3cret ", "Bearer S3CRET", "Basic s3cret", "s3cret", "Bearer ", "Bearers3cret"]
        {
            assert!(require_admin(&with(wrong), Some("s3cret")).is_err(), "{wrong:?}");
        }
        assert!(require_admin(&with("Bearer "), Some("")).is_err(), "an empty secret closes the API");
        assert!(require_admin(&Request::get("/"), None).is_err());
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b""));
    }
}
