//! Test support for the Worker's native tests.

pub mod memory_storage;

pub use memory_storage::{block_on, MemoryStorage};
