//! Fault injection for `marquee bench soak --faults`. It exists only when the Worker's
//! `FAULT_INJECTION` variable is `"1"`, which nothing shipped sets (the soak starts its own
//! edge with `--var FAULT_INJECTION:1`); otherwise `/v1/admin/faults` is an unknown route.
//!
//! `PUT /v1/admin/faults` (admin token) sets this isolate's faults. Each simulates a real
//! failure: `r2_fail`/`d1_fail` a share of R2 or D1 calls erroring (an outage or a flaky
//! network), `r2_delay_ms`/`d1_delay_ms` slow storage (an overloaded region), and
//! `corrupt_blobs` blobs under keys containing the string read back with flipped bytes (bit
//! rot, a truncated upload). `POST /v1/admin/faults/restart` drops the isolate's app, so the
//! next request starts cold with empty caches and nothing buffered, as after an eviction.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::app::storage::StorageError;

/// The faults in force in this isolate.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// The share of R2 reads that fail, in `[0, 1]`.
    pub r2_fail: f64,
    /// Added to every R2 read, in milliseconds.
    pub r2_delay_ms: u32,
    /// The share of D1 queries and batches that fail, in `[0, 1]`.
    pub d1_fail: f64,
    /// Added to every D1 query and batch, in milliseconds.
    pub d1_delay_ms: u32,
    /// Blobs whose key contains this are read back corrupted.
    pub corrupt_blobs: Option<String>,
}

/// The longest delay accepted: past the 600 ms contract, but not a hung isolate.
const MAX_DELAY_MS: u32 = 5_000;

impl Faults {
    /// Checks a configuration before it takes effect.
    pub fn validate(&self) -> Result<(), String> {
        for (name, share) in [("r2_fail", self.r2_fail), ("d1_fail", self.d1_fail)] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name} must be a share in [0, 1], got {share}"));
            }
        }
        for (name, delay) in [("r2_delay_ms", self.r2_delay_ms), ("d1_delay_ms", self.d1_delay_ms)] {
            if delay > MAX_DELAY_MS {
                return Err(format!("{name} must be at most {MAX_DELAY_MS}, got {delay}"));
            }
        }
        if self.corrupt_blobs.as_deref() == Some("") {
            return Err("corrupt_blobs must name part of a key, not be empty".into());
        }
        Ok(())
    }

    /// Whether any fault is set.
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }
}

thread_local! {
    static FAULTS: RefCell<Faults> = RefCell::new(Faults::default());
}

/// The faults in force, if any.
pub fn current() -> Option<Faults> {
    FAULTS.with(|faults| Some(faults.borrow().clone()).filter(Faults::any))
}

/// Replaces the faults in force.
pub fn set(faults: Faults) {
    FAULTS.with(|slot| *slot.borrow_mut() = faults);
}

/// Which store a call goes to.
#[derive(Clone, Copy)]
pub enum Store {
    R2,
    D1,
}

/// Delays and maybe fails one storage call, as the faults say.
pub async fn before_call(faults: &Faults, store: Store) -> Result<(), StorageError> {
    let (share, delay_ms, name) = match store {
        Store::R2 => (faults.r2_fail, faults.r2_delay_ms, "R2"),
        Store::D1 => (faults.d1_fail, faults.d1_delay_ms, "D1"),
    };
    if delay_ms > 0 {
        super::sleep_ms(delay_ms as i32).await;
    }
    if share > 0.0 && js_sys::Math::random() < share {
        return Err(StorageError(format!("injected fault: {name} unavailable")));
    }
    Ok(())
}

/// A blob as read back under the faults: corrupted when its key matches.
pub fn after_read(faults: &Faults, key: &str, mut bytes: Vec<u8>) -> Vec<u8> {
    if faults.corrupt_blobs.as_deref().is_some_and(|part| key.contains(part)) {
        // Every 97th byte flipped: the header may survive, the body's checks do not.
        for byte in bytes.iter_mut().step_by(97) {
            *byte = !*byte;
        }
    }
    bytes
}
