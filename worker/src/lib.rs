//! Marquee's Cloudflare Worker.
//!
//! The request logic ([`app`]) is plain Rust that `cargo test` covers natively; [`wasm`] is
//! the thin adapter that workerd calls through `entry.mjs`.

pub mod app;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use app::{App, AppConfig, Response};
