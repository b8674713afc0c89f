//! Requests and responses, independent of the runtime that carries them.

/// An HTTP request as the adapter hands it over.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(path_and_query: &str) -> Self {
        Request::new("GET", path_and_query, Vec::new())
    }

    pub fn new(method: &str, path_and_query: &str, body: Vec<u8>) -> Self {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        Request { method: method.to_owned(), path: path.to_owned(), query: query.to_owned(), headers: Vec::new(), body }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The first value of a query parameter (no percent-decoding: Marquee's parameters are
    /// numbers and words).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').filter_map(|pair| pair.split_once('=')).find(|(key, _)| *key == name).map(|(_, v)| v)
    }
}

/// An HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Response { status, content_type: "application/json", headers: Vec::new(), body: body.to_string().into_bytes() }
    }

    pub fn ndjson(status: u16, body: String) -> Self {
        Response { status, content_type: "application/x-ndjson", headers: Vec::new(), body: body.into_bytes() }
    }

    /// Raw bytes (a model blob), as `application/octet-stream`.
    pub fn bytes(status: u16, body: Vec<u8>) -> Self {
        Response { status, content_type: "application/octet-stream", headers: Vec::new(), body }
    }

    /// The value of a header this response carries, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A path segment with its `%XX` escapes decoded; `None` when an escape is malformed or the
/// result is not UTF-8. (`+` stays `+`: it means a space only in form bodies.)
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            // from_str_radix alone would take a sign: "%+1".
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_decode_and_bad_ones_are_refused() {
        assert_eq!(percent_decode("heat+1995").as_deref(), Some("heat+1995"));
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("caf%C3%A9").as_deref(), Some("café"));
        for bad in ["%", "%2", "%zz", "%C3", "%+1"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }
}
