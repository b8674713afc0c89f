//! Marquee's Cloudflare Worker.
//!
//! The request logic ([`app`]) is plain Rust that `cargo test` covers natively against an
//! in-memory SQLite with the D1 migrations (`tests/support/`); `wasm` is the thin adapter
//! that workerd calls through `entry.mjs`, with R2 and D1 behind the same
//! [`app::storage::Storage`] trait.

pub mod app;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use app::{App, AppConfig, Outcome, Request, Response};
