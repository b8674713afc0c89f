//! [`Storage`] in memory, for native tests: blobs in a map and SQL in an in-memory SQLite
//! with the Worker's own migrations applied (D1 is SQLite, so the statements are the same).
//! Rows travel as JSON objects here, as they do out of D1.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use marquee_worker::app::storage::{SqlValue, Statement, Storage, StorageError};
use rusqlite::types::ValueRef;
use serde::de::DeserializeOwned;

/// The migrations, in order, as `wrangler d1 migrations apply` runs them.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_admin_ui.sql"),
    include_str!("../../migrations/0003_interleaving.sql"),
    include_str!("../../migrations/0004_operations.sql"),
];

pub struct MemoryStorage {
    blobs: RefCell<BTreeMap<String, Vec<u8>>>,
    db: rusqlite::Connection,
    /// While set, every call fails, as an outage would.
    pub failing: Cell<bool>,
    /// The SQL of every query run, in order (what a scrape reads, for example).
    pub queried: RefCell<Vec<&'static str>>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        let db = rusqlite::Connection::open_in_memory().expect("an in-memory SQLite opens");
        for migration in MIGRATIONS {
            db.execute_batch(migration).expect("the migrations apply");
        }
        MemoryStorage {
            blobs: RefCell::new(BTreeMap::new()),
            db,
            failing: Cell::new(false),
            queried: RefCell::new(Vec::new()),
        }
    }

    /// The database itself, for fixtures too large to build through the app.
    #[allow(dead_code)]
    pub fn raw(&self) -> &rusqlite::Connection {
        &self.db
    }

    /// Empties every table and drops every blob, keeping the schema: what a fresh storage
    /// holds, without running the migrations again (the fuzz target resets between
    /// sessions this way; see `table_rows` for the check that nothing else differs).
    #[allow(dead_code)]
    pub fn reset(&self) {
        self.blobs.borrow_mut().clear();
        self.failing.set(false);
        self.queried.borrow_mut().clear();
        for table in self.tables() {
            self.db.execute(&format!("DELETE FROM \"{table}\""), []).expect("a table empties");
        }
    }

    /// Every table's name and row count (SQLite's own tables included).
    #[allow(dead_code)]
    pub fn table_rows(&self) -> Vec<(String, i64)> {
        self.tables()
            .into_iter()
            .map(|table| {
                let rows = self
                    .db
                    .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |row| row.get(0))
                    .expect("a table counts");
                (table, rows)
            })
            .collect()
    }

    fn tables(&self) -> Vec<String> {
        let mut statement =
            self.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").expect("the schema reads");
        let names = statement.query_map([], |row| row.get(0)).expect("the schema reads");
        names.collect::<Result<_, _>>().expect("the schema reads")
    }

    /// The keys of every stored blob.
    pub fn blob_keys(&self) -> Vec<String> {
        self.blobs.borrow().keys().cloned().collect()
    }

    fn check(&self) -> Result<(), StorageError> {
        if self.failing.get() {
            Err(StorageError("simulated outage".into()))
        } else {
            Ok(())
        }
    }

    fn params(statement: &Statement) -> Vec<rusqlite::types::Value> {
        statement
            .params
            .iter()
            .map(|value| match value {
                SqlValue::Null => rusqlite::types::Value::Null,
                SqlValue::Integer(v) => rusqlite::types::Value::Integer(*v),
                SqlValue::Real(v) => rusqlite::types::Value::Real(*v),
                SqlValue::Text(v) => rusqlite::types::Value::Text(v.clone()),
            })
            .collect()
    }
}

impl Default for MemoryStorage {
    fn default() -> Self {
        MemoryStorage::new()
    }
}

impl Storage for MemoryStorage {
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.check()?;
        Ok(self.blobs.borrow().get(key).cloned())
    }

    async fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.check()?;
        self.blobs.borrow_mut().insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }

    async fn query<T: DeserializeOwned>(&self, statement: &Statement) -> Result<Vec<T>, StorageError> {
        self.check()?;
        self.queried.borrow_mut().push(statement.sql);
        let error = |e: rusqlite::Error| StorageError(e.to_string());
        let mut prepared = self.db.prepare(statement.sql).map_err(error)?;
        let names: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = prepared.query(rusqlite::params_from_iter(Self::params(statement))).map_err(error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(error)? {
            let mut object = serde_json::Map::new();
            for (index, name) in names.iter().enumerate() {
                let value = match row.get_ref(index).map_err(error)? {
                    ValueRef::Null => serde_json::Value::Null,
                    ValueRef::Integer(v) => v.into(),
                    ValueRef::Real(v) => v.into(),
                    ValueRef::Text(v) => String::from_utf8_lossy(v).into_owned().into(),
                    ValueRef::Blob(_) => serde_json::Value::Null,
                };
                object.insert(name.clone(), value);
            }
            let row = serde_json::from_value(object.into())
                .map_err(|error| StorageError(format!("a row does not fit its type: {error}")))?;
            out.push(row);
        }
        Ok(out)
    }

    async fn execute(&self, statements: &[Statement]) -> Result<Vec<u64>, StorageError> {
        self.check()?;
        let error = |e: rusqlite::Error| StorageError(e.to_string());
        let transaction = self.db.unchecked_transaction().map_err(error)?;
        let mut changed = Vec::with_capacity(statements.len());
        for statement in statements {
            let rows = transaction
                .execute(statement.sql, rusqlite::params_from_iter(Self::params(statement)))
                .map_err(error)?;
            changed.push(rows as u64);
        }
        transaction.commit().map_err(error)?;
        Ok(changed)
    }
}

/// Drives a future that never waits on anything outside this thread (the in-memory
/// storage's futures complete at once) to completion, for native tests.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}
