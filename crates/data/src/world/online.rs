//! The online loop's users: the world's users, driven by their hidden tastes, visiting a
//! recommender after the world's window and reacting to the lists it serves.
//!
//! A visit asks for a list of [`LIST_LENGTH`] movies and reads it top-down under a
//! position-based click model ([`ClickModel`]): rank `r` is examined with probability
//! `1 / r^eta`, and an examined movie is clicked with probability
//! `sigmoid(scale * (utility - threshold))`, where utility is the world's own
//! [`super::tastes::utility`]. The first click ends the reading: the movie is watched for
//! as many minutes as the world's stream would watch it, and sometimes rated. A visit may
//! end with no click. Each clicked visit becomes event lines for the edge: JSON events that
//! all carry the recommendation id, or the movie service's stream lines with no id.
//!
//! Time: the plan orders visits over the configured days after the world's window, but a
//! list served by an edge is dated by the edge's clock, so the events of a served list are
//! dated from [`Served::served_ms`] (the click seconds after it, the minutes after the
//! click). Otherwise attribution by time would compare the world's calendar with the edge's.
//!
//! Everything is drawn from ChaCha streams of the seed: the plan of visits from one, each
//! visit's reactions from its own, so the same seed and the same lists give the same events.

use std::fmt::Write as _;

use rand::seq::index::sample;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, WeightedAliasIndex};
use serde::Serialize;

use super::simulate::{rate_chance, rating, watch_minutes};
use super::{World, MAX_DAYS};
use crate::error::DataError;
use crate::events::{Timestamp, UserId};

/// How many movies a visit asks for, and how many the oracle ranks.
pub const LIST_LENGTH: usize = 20;
/// The most visits one run may make.
pub const MAX_REQUESTS: u32 = 1_000_000;

const SECOND: i64 = 1_000_000_000;
const MICROSECOND: i64 = 1000;
const DAY: i64 = 86_400 * SECOND;

// ChaCha streams of the simulation seed: one for the plan, then one per visit.
const STREAM_PLAN: u64 = 1;
const STREAM_VISITS: u64 = 1 << 32;

/// The position-based click model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClickModel {
    /// How fast attention falls with rank: rank `r` is examined with probability `1 / r^eta`
    /// (default 1.0: the second item is seen half as often as the first, the tenth a tenth).
    pub eta: f64,
    /// How sharply utility decides a click once an item is examined (default 2.0).
    pub scale: f64,
    /// The utility at which an examined item is clicked half the time (default 1.0, about
    /// one standard deviation above a random movie's: users click what they clearly like).
    pub threshold: f64,
}

impl Default for ClickModel {
    fn default() -> Self {
        ClickModel { eta: 1.0, scale: 2.0, threshold: 1.0 }
    }
}

impl ClickModel {
    /// The probability that rank `rank` (1-based) is examined: `1 / rank^eta`.
    pub fn examine(&self, rank: usize) -> f64 {
        (1.0 / (rank.max(1) as f64).powf(self.eta)).clamp(0.0, 1.0)
    }

    /// The probability that an examined movie of this true utility is clicked:
    /// `sigmoid(scale * (utility - threshold))`.
    pub fn click(&self, utility: f32) -> f64 {
        1.0 / (1.0 + (-self.scale * (f64::from(utility) - self.threshold)).exp())
    }

    /// Checks the parameters, saying what is wrong: eta and scale must be finite and at least
    /// 0, and the threshold finite.
    pub fn validate(&self) -> Result<(), String> {
        if !self.eta.is_finite() || self.eta < 0.0 {
            return Err(format!("eta must be a finite number of at least 0, not {}", self.eta));
        }
        if !self.scale.is_finite() || self.scale < 0.0 {
            return Err(format!("the click scale must be a finite number of at least 0, not {}", self.scale));
        }
        if !self.threshold.is_finite() {
            return Err(format!("the click threshold must be finite, not {}", self.threshold));
        }
        Ok(())
    }
}

/// What one run simulates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OnlineConfig {
    /// How many of the world's users take part (all of them if the world has fewer).
    pub users: u32,
    /// How many visits (list requests) to make.
    pub requests: u32,
    /// Over how many days after the world's window the visits' times spread.
    pub days: u32,
    /// The seed of every draw.
    pub seed: u64,
    /// How users read a list.
    pub click: ClickModel,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig { users: 200, requests: 1000, days: 1, seed: 1, click: ClickModel::default() }
    }
}

impl OnlineConfig {
    /// Checks the config, saying what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.users == 0 {
            return Err("the simulation needs at least one user".into());
        }
        if !(1..=MAX_REQUESTS).contains(&self.requests) {
            return Err(format!("requests must be 1 to {MAX_REQUESTS}, not {}", self.requests));
        }
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(format!("days must be 1 to {MAX_DAYS}, not {}", self.days));
        }
        self.click.validate()
    }
}

/// One planned visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// Its place in time order, from 0.
    pub index: u32,
    /// The user's index in the world's `users`.
    pub user_index: usize,
    /// The user's id, as the edge knows it.
    pub user_id: UserId,
    /// When the visit happens (after the world's window).
    pub time: Timestamp,
    /// Whether its events go back as JSON carrying the recommendation id (otherwise as
    /// stream lines with no id): half of users' last visits of the run, and every earlier one.
    pub with_id: bool,
}

/// A list as the edge served it: its recommendation id and when the edge served it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served<'a> {
    /// The id the edge gave the list (its impression's id).
    pub recommendation_id: &'a str,
    /// When the edge served it, in milliseconds since the Unix epoch, by the edge's clock.
    pub served_ms: i64,
}

/// The click of a visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Click {
    /// The clicked movie's rank in the list, from 1.
    pub rank: usize,
    /// The clicked movie.
    pub movie_id: String,
    /// Minutes watched.
    pub minutes: u32,
    /// The stars given, 1 to 5, if the user rated it.
    pub rating: Option<u8>,
}

/// What a visit did.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The click, if any.
    pub click: Option<Click>,
    /// The event lines to send to the edge (none without a click).
    pub lines: Vec<String>,
    /// Listed movies the world does not have (they can be examined but never clicked).
    pub unknown_movies: usize,
}

/// The simulator's own count of what happened: the ground truth for attribution.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OnlineSummary {
    /// Visits made.
    pub visits: u64,
    /// Lists received (visits whose request succeeded).
    pub lists: u64,
    /// Lists with a click.
    pub clicked_lists: u64,
    /// Clicked lists divided by lists (0 with no lists).
    pub click_rate: f64,
    /// The mean over lists of 1 / the clicked rank, 0 for a list with no click.
    pub mrr: f64,
    /// Minutes watched after clicks.
    pub watch_minutes: u64,
    /// Ratings given.
    pub ratings: u64,
    /// Listed movies the world does not know.
    pub unknown_movies: u64,
    /// Clicked visits whose events carry the recommendation id (JSON lines).
    pub reported_with_id: u64,
    /// Clicked visits whose events are stream lines with no id.
    pub reported_without_id: u64,
    /// Event lines produced.
    pub event_lines: u64,
    /// The sum behind `mrr`.
    #[serde(skip)]
    reciprocal_ranks: f64,
}

impl OnlineSummary {
    /// Counts one visit's outcome; `listed` says whether it got a list at all.
    pub fn record(&mut self, listed: bool, outcome: &Outcome) {
        self.visits += 1;
        if !listed {
            return;
        }
        self.lists += 1;
        self.unknown_movies += outcome.unknown_movies as u64;
        self.event_lines += outcome.lines.len() as u64;
        if let Some(click) = &outcome.click {
            self.clicked_lists += 1;
            self.reciprocal_ranks += 1.0 / click.rank.max(1) as f64;
            self.watch_minutes += u64::from(click.minutes);
            self.ratings += u64::from(click.rating.is_some());
            if outcome.lines.first().is_some_and(|line| line.starts_with('{')) {
                self.reported_with_id += 1;
            } else if !outcome.lines.is_empty() {
                self.reported_without_id += 1;
            }
        }
        self.click_rate = self.clicked_lists as f64 / self.lists as f64;
        self.mrr = self.reciprocal_ranks / self.lists as f64;
    }
}

/// The visits of one run and the state they change (what each user has watched).
pub struct OnlineSimulator<'w> {
    world: &'w World,
    config: OnlineConfig,
    visits: Vec<Visit>,
    /// Movies watched during the run, per world user: nobody clicks a movie twice.
    watched: Vec<Vec<u32>>,
}

impl<'w> OnlineSimulator<'w> {
    /// Plans the run: draws the taking-part users, then each visit's user (in proportion to
    /// their activity, as in the world), time (uniform over the days after the world's
    /// window, in whole microseconds) and event form (JSON with the id or stream lines,
    /// half and half for a user's last visit, JSON before). Fails if the config does not
    /// validate.
    pub fn new(world: &'w World, config: OnlineConfig) -> Result<Self, DataError> {
        let invalid = |reason: String| DataError::Invalid { path: "simulation config".into(), reason };
        config.validate().map_err(invalid)?;
        let mut rng = super::rng(config.seed, STREAM_PLAN);
        let count = (config.users as usize).min(world.users.len());
        let mut users: Vec<usize> = sample(&mut rng, world.users.len(), count).into_vec();
        users.sort_unstable();
        let weights = users.iter().map(|&u| f64::from(world.user_tastes[u].activity).max(1e-3)).collect();
        let table = WeightedAliasIndex::new(weights).map_err(|e| invalid(format!("cannot weigh the users: {e}")))?;
        let end = world.config.start.0 + i64::from(world.config.days) * DAY;
        let span = i64::from(config.days) * DAY / MICROSECOND;
        let mut visits: Vec<Visit> = (0..config.requests)
            .map(|index| {
                let user_index = users.get(table.sample(&mut rng)).copied().unwrap_or(0);
                let time = Timestamp(end + rng.gen_range(0..span) * MICROSECOND);
                let with_id = rng.gen_bool(0.5);
                Visit { index, user_index, user_id: world.users[user_index].user_id, time, with_id }
            })
            .collect();
        visits.sort_by_key(|visit| (visit.time, visit.index));
        let mut comes_back = vec![false; world.users.len()];
        for (index, visit) in visits.iter_mut().enumerate().rev() {
            visit.index = index as u32;
            // Id-less events are attributed by time to the user's latest list, and a run
            // compresses its days into seconds of real time: a user's next list would be
            // served before this visit's minutes are over and take its credit. So only a
            // user's last visit of the run may report without the id.
            visit.with_id |= std::mem::replace(&mut comes_back[visit.user_index], true);
        }
        Ok(OnlineSimulator { world, config, visits, watched: vec![Vec::new(); world.users.len()] })
    }

    /// The planned visits, in time order.
    pub fn visits(&self) -> &[Visit] {
        &self.visits
    }

    /// The run's config.
    pub fn config(&self) -> &OnlineConfig {
        &self.config
    }

    /// The ceiling: the `n` movies of highest true utility for the visit's user, leaving out
    /// those already watched during the run.
    pub fn oracle_list(&self, visit: &Visit, n: usize) -> Vec<String> {
        let watched = &self.watched[visit.user_index];
        let mut scored: Vec<(f32, usize)> = (0..self.world.movies.len())
            .filter(|&m| !watched.contains(&(m as u32)))
            .map(|m| (self.world.utility(visit.user_index, m), m))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().take(n).map(|(_, m)| self.world.movies[m].movie_id.clone()).collect()
    }

    /// The user reads `list` top-down under the click model; a click is watched and maybe
    /// rated, and becomes event lines dated from when the list was served (the visit's
    /// planned time when `served` is `None`): JSON events that each carry the
    /// recommendation id when the visit reports with the id and the list was served, stream
    /// lines otherwise.
    pub fn respond(&mut self, visit: &Visit, list: &[String], served: Option<Served<'_>>) -> Outcome {
        let world = self.world;
        let model = self.config.click;
        let mut rng = super::rng(self.config.seed, STREAM_VISITS + u64::from(visit.index));
        let mut outcome = Outcome::default();
        let mut chosen = None;
        for (position, movie_id) in list.iter().enumerate() {
            let rank = position + 1;
            // Both draws are made for every rank, so one item's fate does not shift the next's.
            let examined = rng.gen_bool(model.examine(rank));
            let attract: f64 = rng.gen();
            let Some(movie) = world.movie_index(movie_id) else {
                outcome.unknown_movies += 1;
                continue;
            };
            if chosen.is_some() || !examined || self.watched[visit.user_index].contains(&(movie as u32)) {
                continue;
            }
            let utility = world.utility(visit.user_index, movie);
            if attract < model.click(utility) {
                chosen = Some((rank, movie, utility));
            }
        }
        let Some((rank, movie, utility)) = chosen else { return outcome };
        self.watched[visit.user_index].push(movie as u32);
        let runtime = world.movies[movie].runtime.unwrap_or(100);
        let minutes = watch_minutes(&mut rng, runtime, utility);
        let taste = &world.user_tastes[visit.user_index];
        let stars = rng.gen_bool(rate_chance(taste, utility)).then(|| rating(&mut rng, utility, 5));
        let movie_id = world.movies[movie].movie_id.as_str();
        outcome.lines = self.lines(&mut rng, visit, movie_id, minutes, stars, served);
        outcome.click = Some(Click { rank, movie_id: movie_id.to_owned(), minutes, rating: stars });
        outcome
    }

    /// The event lines of a click: the click itself (JSON only), a line per minute watched,
    /// about a minute apart as in the stream, and the rating some minutes after the end.
    /// JSON event ids are built from the recommendation id, which the edge makes unique per
    /// list, so runs with the same seed against one edge never collide.
    fn lines(
        &self,
        rng: &mut ChaCha8Rng,
        visit: &Visit,
        movie: &str,
        minutes: u32,
        stars: Option<u8>,
        served: Option<Served<'_>>,
    ) -> Vec<String> {
        let user = visit.user_id;
        let start = served.map_or(visit.time.0, |served| served.served_ms.saturating_mul(1_000_000));
        let click_time = start + rng.gen_range(2..60) * SECOND;
        let ms = |time: i64| time / 1_000_000;
        let json = visit.with_id.then_some(served).flatten().map(|served| served.recommendation_id);
        let id = |kind: &str| format!("{}-{kind}", json.unwrap_or_default());
        let mut lines = Vec::with_capacity(minutes as usize + 2);
        if let Some(reference) = json {
            lines.push(
                serde_json::json!({
                    "type": "click", "id": id("c"), "user_id": user, "movie_id": movie,
                    "time_ms": ms(click_time), "recommendation_id": reference,
                })
                .to_string(),
            );
        }
        let mut time = click_time;
        for minute in 0..minutes {
            time = click_time + i64::from(minute) * 60 * SECOND + rng.gen_range(0..500_000) * MICROSECOND;
            lines.push(match json {
                Some(reference) => serde_json::json!({
                    "type": "watch", "id": id(&format!("w{minute}")), "user_id": user, "movie_id": movie,
                    "time_ms": ms(time), "minute": minute, "recommendation_id": reference,
                })
                .to_string(),
                None => stream_line(Timestamp(time), user, &format!("GET /data/m/{movie}/{minute}.mpg")),
            });
        }
        if let Some(stars) = stars {
            let time = time + rng.gen_range(5..600) * SECOND + rng.gen_range(0..1_000_000) * MICROSECOND;
            lines.push(match json {
                Some(reference) => serde_json::json!({
                    "type": "rate", "id": id("r"), "user_id": user, "movie_id": movie,
                    "time_ms": ms(time), "rating": stars, "recommendation_id": reference,
                })
                .to_string(),
                None => stream_line(Timestamp(time), user, &format!("GET /rate/{movie}={stars}")),
            });
        }
        lines
    }
}

/// A line in the movie service's stream format: `time,user,request`.
fn stream_line(time: Timestamp, user: UserId, request: &str) -> String {
    let mut line = String::with_capacity(64);
    // Writing to a String cannot fail.
    let _ = write!(line, "{time},{user},{request}");
    line
}

#[cfg(test)]
mod tests;
