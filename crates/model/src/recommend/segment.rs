//! Demographic segments: the groups cold-start lists and fairness reports are built for.

use serde::{Deserialize, Serialize};

/// The number of genres Marquee tracks (TMDB's list; see `marquee_data::records::TMDB_GENRES`).
pub const GENRE_COUNT: usize = 19;

/// A user's gender as a category code: the metadata API's `M`, `F`, or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GenderCode {
    /// `M`: code 0.
    Male,
    /// `F`: code 1.
    Female,
    /// Anything else the metadata API says: code 2.
    Other,
}

impl GenderCode {
    /// The category code the ranker's `user_gender` feature carries.
    pub fn code(self) -> u8 {
        match self {
            GenderCode::Male => 0,
            GenderCode::Female => 1,
            GenderCode::Other => 2,
        }
    }

    /// The one-letter label reports use.
    pub fn label(self) -> &'static str {
        match self {
            GenderCode::Male => "M",
            GenderCode::Female => "F",
            GenderCode::Other => "O",
        }
    }
}

/// What the metadata API says about a user; every field may be unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Demographics {
    /// The age in years.
    pub age: Option<u8>,
    /// The gender the metadata API gives.
    pub gender: Option<GenderCode>,
    /// An index into the catalog's occupation list.
    pub occupation: Option<u16>,
}

/// Age buckets, close to MovieLens 1M's: under 18, 18–24, 25–34, 35–44, 45–54, 55 and over.
pub const AGE_BUCKETS: [&str; 6] = ["<18", "18-24", "25-34", "35-44", "45-54", "55+"];

/// The age bucket an age falls in, as an index into [`AGE_BUCKETS`].
pub fn age_bucket(age: u8) -> usize {
    match age {
        0..=17 => 0,
        18..=24 => 1,
        25..=34 => 2,
        35..=44 => 3,
        45..=54 => 4,
        _ => 5,
    }
}

/// Genders (three, plus unknown) × age buckets (six, plus unknown).
pub const SEGMENT_COUNT: usize = 4 * (AGE_BUCKETS.len() + 1);

impl Demographics {
    /// The segment index in `0..SEGMENT_COUNT`; unknown fields have their own slot, so a user
    /// with no demographics at all lands in the "unknown, unknown" segment.
    pub fn segment(&self) -> usize {
        let gender = self.gender.map_or(3, |gender| usize::from(gender.code()));
        let age = self.age.map_or(AGE_BUCKETS.len(), age_bucket);
        gender * (AGE_BUCKETS.len() + 1) + age
    }

    /// The gender label reports group by (`?` when unknown).
    pub fn gender_label(&self) -> &'static str {
        self.gender.map_or("?", GenderCode::label)
    }

    /// The age-bucket label reports group by (`?` when unknown).
    pub fn age_label(&self) -> &'static str {
        self.age.and_then(|age| AGE_BUCKETS.get(age_bucket(age)).copied()).unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_has_its_own_segment() {
        let mut seen = std::collections::HashSet::new();
        for gender in [None, Some(GenderCode::Male), Some(GenderCode::Female), Some(GenderCode::Other)] {
            for age in [None, Some(10), Some(20), Some(30), Some(40), Some(50), Some(60)] {
                let segment = Demographics { age, gender, occupation: None }.segment();
                assert!(segment < SEGMENT_COUNT);
                assert!(seen.insert(segment), "{gender:?} {age:?}");
            }
        }
        assert_eq!(seen.len(), SEGMENT_COUNT);
        assert_eq!(Demographics::default().age_label(), "?");
        assert_eq!(Demographics { age: Some(24), ..Demographics::default() }.age_label(), "18-24");
    }
}
