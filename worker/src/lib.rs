//! Marquee's Cloudflare Worker.
//!
//! The request logic ([`app`]) is plain Rust that `cargo test` covers natively against
//! [`MemoryStorage`]; `wasm` is the thin adapter that workerd calls through `entry.mjs`,
//! with R2 and D1 behind the same [`app::storage::Storage`] trait.

pub mod app;
#[cfg(not(target_arch = "wasm32"))]
mod memory_storage;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use app::{App, AppConfig, Outcome, Request, Response};
#[cfg(not(target_arch = "wasm32"))]
pub use memory_storage::{block_on, MemoryStorage, MIGRATIONS};
