//! What the Worker stores, behind one small trait: blobs (R2 in workerd) and SQL (D1).
//! workerd's bindings implement it in the wasm adapter; native tests use SQLite (`tests/support/`).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A SQL parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Integer(value)
    }
}

impl From<f64> for SqlValue {
    fn from(value: f64) -> Self {
        SqlValue::Real(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// One SQL statement and its parameters (`?1`, `?2`, ... in the text). Every statement the
/// edge runs is built in [`super::queries`].
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sql: &'static str,
    pub params: Vec<SqlValue>,
}

impl Statement {
    pub fn new(sql: &'static str, params: Vec<SqlValue>) -> Self {
        Statement { sql, params }
    }
}

/// Storage failed; the message is for logs, never for clients.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StorageError(pub String);

/// Blobs and SQL, as the Worker's bindings provide them.
#[allow(async_fn_in_trait)] // Used with generics only; wasm futures are not Send anyway.
pub trait Storage {
    /// The blob under `key`, if there is one.
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Stores a blob under `key`, replacing any.
    async fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError>;
    /// Runs a query and returns its rows, each deserialised by column name into a `T`
    /// (the row types live beside their statements in [`super::queries`]).
    async fn query<T: DeserializeOwned>(&self, statement: &Statement) -> Result<Vec<T>, StorageError>;
    /// Runs statements as one batch (a transaction in D1) and returns how many rows each
    /// statement changed, in order (an `INSERT OR IGNORE` of a row already there changed 0;
    /// rows changed by triggers are not counted, as in SQLite's `changes()`).
    async fn execute(&self, statements: &[Statement]) -> Result<Vec<u64>, StorageError>;
}
