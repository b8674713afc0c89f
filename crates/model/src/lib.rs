//! Marquee's model crate: what runs wherever a recommendation is made (natively in the
//! trainer, in the Cloudflare Worker, and in the admin UI in the browser).
//!
//! Rules that keep it portable: no I/O, no threads, and no panic on any input. Anything
//! that can be malformed (a model blob, a request) comes back as a [`ModelError`].

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
