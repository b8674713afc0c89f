//! Marquee's model crate: what runs wherever a recommendation is made (natively in the
//! trainer, in the Cloudflare Worker, and in the admin UI in the browser).
//!
//! Rules that keep it portable: no I/O, no threads, and no panic on any input. Anything
//! that can be malformed (a model blob, a request) comes back as a [`ModelError`].
//!
//! The lints below hold the no-panic rule at compile time (fuzzing checks it at run time):
//! no `unwrap`, `expect`, `panic!`, `unreachable!` or unchecked indexing. Where an index is
//! proven in range by validation at load time and a checked access would slow a hot loop,
//! the smallest item that indexes allows it locally, with the proof beside the allow.
// Cargo's `[lints] workspace = true` cannot be extended per crate, hence crate attributes.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::indexing_slicing
)]
#![warn(missing_docs)]
// Unit tests may panic: a failed assertion is how they report.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::unreachable, clippy::indexing_slicing)
)]

pub mod blend;
pub mod blob;
pub mod error;
pub mod gbdt;
pub mod hash;
pub mod manifest;
pub mod mf;
pub mod random;
pub mod rank;
pub mod recommend;
pub mod sigmoid;

pub use blob::{decode_body, encode, read_header, BlobHeader, BlobKind};
pub use error::ModelError;
pub use gbdt::{validate, Ensemble, Predictor};
pub use rank::top_k;
pub use sigmoid::sigmoid;
