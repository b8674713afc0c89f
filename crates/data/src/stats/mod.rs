//! Statistics for online A/B experiments, shared by the edge's admin readout and the trainer's
//! online report so both say the same thing about the same counts.
//!
//! Plain arithmetic on counts and sums: no I/O, no threads, builds for wasm32.

mod intervals;

pub use intervals::{mean_interval, wilson_interval, Z_95};
