//! Marquee's one stable hash: 64-bit FNV-1a, used for blob checksums, schema and catalog
//! fingerprints, A/B assignment, event ids and model versions.
//!
//! It is the same on every target and build, so a value computed by the trainer matches
//! the one the Worker and the browser compute. It is not a cryptographic hash: it guards
//! against accidental corruption and mix-ups (a truncated download, a model fed the wrong
//! schema), not against an attacker.

/// FNV-1a's offset basis (its initial state).
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a's 64-bit prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An incremental 64-bit FNV-1a hasher.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Fnv64 {
    /// A hasher in FNV-1a's initial state.
    pub const fn new() -> Self {
        Fnv64(OFFSET_BASIS)
    }

    /// Mixes in `bytes`, one at a time.
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// Mixes in a word as its eight little-endian bytes.
    pub fn write_u64(&mut self, word: u64) {
        self.write(&word.to_le_bytes());
    }

    /// The hash of everything written so far.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64::new()
    }
}

/// The FNV-1a hash of one byte string.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut hash = Fnv64::new();
    hash.write(bytes);
    hash.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_vectors() {
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn words_hash_as_their_little_endian_bytes() {
        let mut by_word = Fnv64::new();
        by_word.write_u64(0x0102_0304_0506_0708);
        assert_eq!(by_word.finish(), fnv64(&[8, 7, 6, 5, 4, 3, 2, 1]));
    }
}
