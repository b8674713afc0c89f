//! The edge: a short session of structured requests (method, path, query, headers, body;
//! real model blobs and event lines among the bodies) through the Worker's `App` on a fresh
//! in-memory SQLite storage (one isolate serves every session; see `Edge`). Every answer has a valid status, JSON answers parse, JSON errors
//! name their kind, `/recommend/<user>` is one line of text and a list for any valid user
//! id, and every deferred write is valid SQL for the schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_fuzz::edge::{Edge, Session};

fuzz_target!(|session: Session| {
    Edge::run_session(&session);
});
