//! A/B tests: which model version each variant serves, the traffic split and the salt.
//! Users are assigned by a hash of (salt, user id), so a user stays in one variant until
//! the salt changes, and a change of experiment needs no redeploy.
//!
//! Wasm-safe: the edge assigns and validates with it, and the admin UI validates an edited
//! experiment with the same function before sending it.

use marquee_model::hash::Fnv64;
use serde::{Deserialize, Serialize};

/// One arm of the experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub name: String,
    /// The model version it serves; `None` serves the active version.
    pub version: Option<String>,
    /// Its share of traffic, relative to the other variants' weights.
    pub weight: u32,
}

/// What [`Experiment::assign`] answers for an experiment with no variants (which
/// [`Experiment::validate`] refuses): the default's one variant.
static CONTROL: Variant = Variant { name: String::new(), version: None, weight: 1 };

/// Why an experiment was refused: one sentence, for the person who wrote it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid experiment: {0}")]
pub struct ExperimentError(pub String);

/// How an experiment uses its variants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentMode {
    /// An A/B split: each user is assigned to one variant by weight and sees its lists.
    #[default]
    Split,
    /// Team-draft interleaving of exactly two variants: every user sees one list merged from
    /// both, each movie credited to the variant that contributed it ([`crate::interleave`]).
    Interleave,
}

impl ExperimentMode {
    fn is_split(&self) -> bool {
        *self == ExperimentMode::Split
    }
}

/// The experiment as stored in settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub salt: String,
    pub variants: Vec<Variant>,
    /// Split (the default, left out of the JSON) or interleave.
    #[serde(default, skip_serializing_if = "ExperimentMode::is_split")]
    pub mode: ExperimentMode,
}

impl Default for Experiment {
    /// One variant, `control`, serving the active version.
    fn default() -> Self {
        Experiment {
            salt: "marquee".into(),
            variants: vec![Variant { name: "control".into(), version: None, weight: 1 }],
            mode: ExperimentMode::Split,
        }
    }
}

impl Experiment {
    /// The experiment as stored in settings; the default when none is stored or the stored
    /// one is unreadable or invalid (it was validated when written, so only a newer Worker's
    /// could be).
    pub fn from_stored(text: Option<&str>) -> Experiment {
        text.and_then(|text| serde_json::from_str(text).ok())
            .filter(|experiment: &Experiment| experiment.validate().is_ok())
            .unwrap_or_default()
    }

    /// Refuses an experiment that cannot assign users: no variants, zero total weight,
    /// duplicate or malformed names. The admin UI and the edge both call it.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let bad = |reason: &str| Err(ExperimentError(reason.to_owned()));
        if self.variants.is_empty() || self.variants.len() > 16 {
            return bad("it needs 1 to 16 variants");
        }
        if self.variants.iter().map(|variant| u64::from(variant.weight)).sum::<u64>() == 0 {
            return bad("the weights add up to 0");
        }
        for (index, variant) in self.variants.iter().enumerate() {
            let name_ok = !variant.name.is_empty()
                && variant.name.len() <= 40
                && variant.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !name_ok {
                return bad("variant names are 1 to 40 letters, digits, - or _");
            }
            if self.variants[..index].iter().any(|other| other.name == variant.name) {
                return bad("variant names must differ");
            }
        }
        if self.salt.len() > 100 {
            return bad("the salt is at most 100 bytes");
        }
        if self.mode == ExperimentMode::Interleave && self.variants.len() != 2 {
            return bad("an interleaving experiment needs exactly 2 variants");
        }
        Ok(())
    }

    /// The variant `user_id` is in.
    pub fn assign(&self, user_id: u64) -> &Variant {
        let total: u64 = self.variants.iter().map(|variant| u64::from(variant.weight)).sum();
        let mut point = hash(self.salt.as_bytes(), user_id) % total.max(1);
        for variant in &self.variants {
            if point < u64::from(variant.weight) {
                return variant;
            }
            point -= u64::from(variant.weight);
        }
        // Unreachable for a validated experiment; the first variant (or the default's) is a
        // safe answer.
        self.variants.first().unwrap_or(&CONTROL)
    }
}

/// FNV-1a over the salt, a separator and the user id, then a final mix so that
/// consecutive ids spread evenly.
fn hash(salt: &[u8], user_id: u64) -> u64 {
    let mut fnv = Fnv64::new();
    fnv.write(salt);
    fnv.write(&[0xff]);
    fnv.write_u64(user_id);
    let mut hash = fnv.finish();
    // MurmurHash3's 64-bit finaliser.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(weights: &[u32], salt: &str) -> Experiment {
        Experiment {
            salt: salt.into(),
            variants: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Variant { name: format!("v{i}"), version: None, weight })
                .collect(),
            mode: ExperimentMode::Split,
        }
    }

    #[test]
    fn assignment_is_deterministic_and_follows_the_weights() {
        let experiment = split(&[1, 3], "s");
        let treated = (0..20_000u64).filter(|&user| experiment.assign(user).name == "v1").count();
        assert!((14_500..15_500).contains(&treated), "{treated} of 20,000 in the 75% arm");
        assert_eq!(experiment.assign(42), experiment.assign(42));
        let other = split(&[1, 3], "t");
        assert!(
            (0..1000u64).any(|user| experiment.assign(user).name != other.assign(user).name),
            "the salt reshuffles"
        );
    }

    /// Assignment must never change silently: a user would switch variants mid-experiment.
    /// These values were computed by the first implementation.
    #[test]
    fn assignment_hash_values_are_pinned() {
        assert_eq!(hash(b"marquee", 0), 0xb9bb_5b3f_dbcc_0ce3);
        assert_eq!(hash(b"marquee", 42), 0x3bd3_c76f_f28d_cd7d);
        assert_eq!(hash(b"spring", 1_234_567), 0x3c30_faed_83bc_4639);
        let halves = split(&[1, 1], "marquee");
        let arms: Vec<&str> = (0..16u64).map(|user| halves.assign(user).name.as_str()).collect();
        let expected = [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1].map(|arm| if arm == 0 { "v0" } else { "v1" });
        assert_eq!(arms, expected);
    }

    #[test]
    fn bad_experiments_are_refused() {
        assert!(split(&[0, 0], "s").validate().is_err());
        assert!(split(&[], "s").validate().is_err());
        let mut duplicate = split(&[1, 1], "s");
        duplicate.variants[1].name = "v0".into();
        assert!(duplicate.validate().is_err());
        assert!(Experiment::default().validate().is_ok());
        let mut interleaved = split(&[1, 1, 1], "s");
        interleaved.mode = ExperimentMode::Interleave;
        assert!(interleaved.validate().is_err(), "interleaving takes exactly two variants");
        interleaved.variants.pop();
        assert!(interleaved.validate().is_ok());
        // Split is the default and is left out of the JSON, so older readers see no change.
        let text = serde_json::to_string(&split(&[1], "s")).unwrap();
        assert!(!text.contains("mode"), "{text}");
        let read: Experiment = serde_json::from_str(&serde_json::to_string(&interleaved).unwrap()).unwrap();
        assert_eq!(read.mode, ExperimentMode::Interleave);
    }
}
