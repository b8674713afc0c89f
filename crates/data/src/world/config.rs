//! The options of a generated world.

use serde::{Deserialize, Serialize};

use crate::events::{RatingScale, Timestamp};

/// The most users a world may have (user ids and per-user state must stay compact).
pub const MAX_USERS: u32 = 50_000_000;
/// The most movies a world may have.
pub const MAX_MOVIES: u32 = 2_000_000;
/// The most days a world may simulate (ten years).
pub const MAX_DAYS: u32 = 3650;

/// Everything that shapes a generated world; the same config always yields the same world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldConfig {
    /// The seed of every random choice: the same seed gives byte-identical output.
    pub seed: u64,
    /// How many users the service has by the end of the simulated window.
    pub users: u32,
    /// How many movies the catalog holds.
    pub movies: u32,
    /// How many days of activity to simulate.
    pub days: u32,
    /// When the simulated window starts (UTC); movies are all released before it.
    pub start: Timestamp,
    /// The share of stream lines that are malformed on purpose, from 0 to 0.5.
    pub malformed_rate: f64,
    /// The star scale the stream's `/rate/` lines use.
    pub rating_scale: RatingScale,
    /// A change the world goes through partway, so drift detection has something to find;
    /// `None` (the default) leaves the world exactly as it always was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<WorldDrift>,
}

/// What changes in a drifting world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// From the drift day on, everyone's genre preferences rotate (each genre takes over the
    /// affinity of another) and a block of genres (animation, family, fantasy, science
    /// fiction) gains popularity with everyone.
    TasteShift,
    /// From the drift day on, a cohort of new users unlike the others arrives: teenagers and
    /// young adults, mostly students, more of them women, two and a half times as active as
    /// the others.
    NewCohort,
}

impl DriftKind {
    /// The name the command line uses: `taste-shift` or `new-cohort`.
    pub const fn name(self) -> &'static str {
        match self {
            DriftKind::TasteShift => "taste-shift",
            DriftKind::NewCohort => "new-cohort",
        }
    }
}

/// A drift and the day it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldDrift {
    pub kind: DriftKind,
    /// The drift starts at the beginning of this day of the window (0-based), so days
    /// `0..after_days` are as before and days `after_days..` have drifted.
    pub after_days: u32,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            seed: 42,
            users: 6000,
            movies: 3000,
            days: 30,
            // 2024-01-01T00:00:00 UTC.
            start: Timestamp::from_unix_seconds(1_704_067_200),
            malformed_rate: 0.001,
            rating_scale: RatingScale::FIVE,
            drift: None,
        }
    }
}

impl WorldConfig {
    /// Checks that the config describes a world that can be generated, saying what is wrong
    /// if not: zero or too many users, movies or days, a malformed rate outside `0..=0.5`, or
    /// a start outside the years 1950 to 2200, or a drift that does not start strictly inside
    /// the window (after day 0, before the last day ends).
    pub fn validate(&self) -> Result<(), String> {
        if self.users == 0 {
            return Err("a world needs at least one user".into());
        }
        if self.users > MAX_USERS {
            return Err(format!("a world can have at most {MAX_USERS} users, not {}", self.users));
        }
        if self.movies == 0 {
            return Err("a world needs at least one movie".into());
        }
        if self.movies > MAX_MOVIES {
            return Err(format!("a world can have at most {MAX_MOVIES} movies, not {}", self.movies));
        }
        if self.days == 0 {
            return Err("a world needs at least one day of activity".into());
        }
        if self.days > MAX_DAYS {
            return Err(format!("a world can simulate at most {MAX_DAYS} days, not {}", self.days));
        }
        if !self.malformed_rate.is_finite() || !(0.0..=0.5).contains(&self.malformed_rate) {
            return Err(format!("the malformed rate must be between 0 and 0.5, not {}", self.malformed_rate));
        }
        // 1950-01-01 and 2200-01-01: movie years need room before the start.
        if !(-631_152_000..=7_258_118_400).contains(&self.start.unix_seconds()) {
            return Err(format!("the start {} must lie between the years 1950 and 2200", self.start));
        }
        if let Some(drift) = self.drift {
            if drift.after_days == 0 || drift.after_days >= self.days {
                return Err(format!(
                    "the {} drift must start after day 0 and before the window's {} days end, not after {} days",
                    drift.kind.name(),
                    self.days,
                    drift.after_days
                ));
            }
        }
        Ok(())
    }
}
