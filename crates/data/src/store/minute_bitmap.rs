//! Which minutes of a movie a user has watched, as a bitmap that merges idempotently.

/// Minutes past this are not real watching (no film runs 68 hours): they are refused.
pub const MAX_MINUTE: u32 = 4095;

/// A growable set of minute numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinuteBitmap {
    bytes: Vec<u8>,
}

impl MinuteBitmap {
    /// Reads a bitmap stored by [`MinuteBitmap::as_bytes`]; anything past the limit is dropped.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let limit = (MAX_MINUTE as usize) / 8 + 1;
        MinuteBitmap { bytes: bytes[..bytes.len().min(limit)].to_vec() }
    }

    /// Adds a minute; returns false (and changes nothing) past [`MAX_MINUTE`].
    pub fn insert(&mut self, minute: u32) -> bool {
        if minute > MAX_MINUTE {
            return false;
        }
        let byte = (minute / 8) as usize;
        if self.bytes.len() <= byte {
            self.bytes.resize(byte + 1, 0);
        }
        self.bytes[byte] |= 1 << (minute % 8);
        true
    }

    /// Adds every minute of `other`.
    pub fn union_with(&mut self, other: &MinuteBitmap) {
        if self.bytes.len() < other.bytes.len() {
            self.bytes.resize(other.bytes.len(), 0);
        }
        for (mine, theirs) in self.bytes.iter_mut().zip(&other.bytes) {
            *mine |= theirs;
        }
    }

    /// How many distinct minutes are set.
    pub fn count(&self) -> u32 {
        self.bytes.iter().map(|byte| byte.count_ones()).sum()
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_minutes_and_merges_idempotently() {
        let mut a = MinuteBitmap::default();
        assert!(a.insert(0));
        assert!(a.insert(0));
        assert!(a.insert(17));
        assert!(!a.insert(MAX_MINUTE + 1));
        assert_eq!(a.count(), 2);
        let mut b = MinuteBitmap::from_bytes(a.as_bytes());
        b.insert(100);
        a.union_with(&b);
        a.union_with(&b);
        assert_eq!(a.count(), 3);
    }
}
