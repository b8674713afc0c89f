//! The simulation: day by day, each user's sessions (recommendation requests, minutes
//! watched, ratings, new accounts) are drawn, then merged into one time-ordered stream.
//!
//! Sessions, not lines, are buffered: a heap ordered by each session's next event time
//! interleaves them, so memory grows with one day's sessions, never with the stream.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, WeightedAliasIndex};
use serde::Serialize;

use super::malformed;
use super::tastes::{utility, UserTaste, GENRES};
use super::World;
use crate::events::Timestamp;
use crate::records::Rating;

const SECOND: i64 = 1_000_000_000;
const MICROSECOND: i64 = 1000;
const DAY: i64 = 86_400 * SECOND;

/// How many movies a successful recommendation request returns.
const RECOMMENDATIONS: usize = 20;
/// Candidates a user considers per session, besides any recommendations: by popularity...
const POPULAR_CANDIDATES: usize = 24;
/// ...and from a genre the user likes.
const GENRE_CANDIDATES: usize = 10;
/// The Gumbel noise scale of the choice among candidates (lower: utility matters more).
const CHOICE_TEMPERATURE: f32 = 0.45;
/// The chance that a watch session starts with a recommendation request.
const REQUEST_BEFORE_WATCH: f64 = 0.7;
/// Recommendation requests not followed by a watch, per watch session.
const BROWSE_PER_WATCH: f32 = 0.4;
/// The chance a user would watch a movie again.
const REWATCH: f64 = 0.02;

/// Relative session starts per hour of day (UTC): a quiet night and an evening peak.
const HOURLY: [f64; 24] = [
    3.0, 2.0, 1.2, 0.8, 0.6, 0.6, 0.8, 1.2, 1.8, 2.2, 2.6, 3.0, 3.4, 3.4, 3.4, 3.6, 4.0, 4.8, 6.0, 7.2, 7.8, 7.4, 6.0,
    4.4,
];

/// Counts of what a simulation produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorldStats {
    /// Users in the world.
    pub users: u64,
    /// Movies in the catalog.
    pub movies: u64,
    /// Stream lines written, malformed ones included.
    pub lines: u64,
    /// `GET /data/m/<movie>/<minute>.mpg` lines.
    pub watch_lines: u64,
    /// Valid `GET /rate/<movie>=<rating>` lines.
    pub rate_lines: u64,
    /// `recommendation request` lines.
    pub recommendation_lines: u64,
    /// `GET /create_account` lines.
    pub account_lines: u64,
    /// Lines made malformed on purpose.
    pub malformed_lines: u64,
    /// Valid ratings (one per valid rate line).
    pub ratings: u64,
    /// Sessions in which a movie was watched (one or more minutes).
    pub watch_sessions: u64,
}

/// What a session does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Account,
    Request,
    Watch(u16),
    Rate,
    Done,
}

/// A recommendation request: its result ids live in the day's pool.
#[derive(Clone, Copy, Debug)]
struct Request {
    offset: u32,
    len: u8,
    status: u16,
    latency_ms: u32,
    tight: bool,
    server: u8,
}

/// One user's session, advanced event by event as the stream is merged.
#[derive(Clone, Debug)]
struct Session {
    time: i64,
    seq: u64,
    user: u32,
    movie: u32,
    step: Step,
    minutes: u16,
    rating: u8,
    request: Option<Request>,
    watch_start: i64,
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Session {}
impl PartialOrd for Session {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Session {
    // Reversed, so that the max-heap pops the earliest event (ties by creation order).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl Session {
    /// Moves to the next event; returns false when the session is over.
    fn advance(&mut self, rng: &mut ChaCha8Rng) -> bool {
        let next = match self.step {
            Step::Account | Step::Done => Step::Done,
            Step::Request if self.minutes > 0 => Step::Watch(0),
            Step::Request => Step::Done,
            Step::Watch(minute) if minute + 1 < self.minutes => Step::Watch(minute + 1),
            Step::Watch(_) if self.rating > 0 => Step::Rate,
            Step::Watch(_) | Step::Rate => Step::Done,
        };
        self.step = next;
        match next {
            Step::Watch(minute) => {
                // One line per minute, about 60 s apart, with sub-second jitter.
                self.time =
                    self.watch_start + i64::from(minute) * 60 * SECOND + rng.gen_range(0..500_000) * MICROSECOND;
            }
            Step::Rate => self.time += rng.gen_range(5..600) * SECOND + rng.gen_range(0..1_000_000) * MICROSECOND,
            _ => {}
        }
        next != Step::Done
    }
}

/// The state of one simulation run.
struct Simulation<'w> {
    world: &'w World,
    /// Every user's tastes today (they change once, with a taste shift).
    tastes: &'w [UserTaste],
    /// Movies each user has watched, for "mostly no rewatching".
    watched: Vec<Vec<u32>>,
    /// The result ids of the current day's recommendation requests.
    pool: Vec<u32>,
    servers: Vec<String>,
    hours: Option<WeightedAliasIndex<f64>>,
    seq: u64,
    heap: BinaryHeap<Session>,
    candidates: Vec<u32>,
}

impl World {
    /// Simulates the days in time order, calling `on_line` with each stream line's text (the
    /// exact format, no newline, including the malformed lines injected at the configured
    /// rate), `on_rating` for each valid rating (on the five-star [`Rating`] scale, as also
    /// written to ratings.csv) and `on_day(day)` after each day (0-based) for progress.
    pub fn simulate(
        &self,
        mut on_line: impl FnMut(&str),
        mut on_rating: impl FnMut(&Rating),
        mut on_day: impl FnMut(u32),
    ) -> WorldStats {
        let config = &self.config;
        let mut emit_rng = super::rng(config.seed, super::STREAM_EMIT);
        let team = emit_rng.gen_range(1..=40);
        let mut sim = Simulation {
            world: self,
            tastes: &self.user_tastes,
            watched: vec![Vec::new(); self.users.len()],
            pool: Vec::new(),
            servers: (0..3).map(|i| format!("17645-team{team:02}.isri.cmu.edu:{}", 8082 + i)).collect(),
            hours: WeightedAliasIndex::new(HOURLY.to_vec()).ok(),
            seq: 0,
            heap: BinaryHeap::new(),
            candidates: Vec::with_capacity(64),
        };
        let mut stats =
            WorldStats { users: self.users.len() as u64, movies: self.movies.len() as u64, ..WorldStats::default() };
        let mut line = String::with_capacity(512);
        // Share r of all lines malformed: one injected before a good line with odds r / (1 - r).
        let inject = (config.malformed_rate / (1.0 - config.malformed_rate)).clamp(0.0, 1.0);
        for day in 0..config.days {
            let mut rng = super::rng(config.seed, super::STREAM_DAYS + u64::from(day));
            let day_start = config.start.0 + i64::from(day) * DAY;
            let day_end = day_start + DAY;
            sim.pool.clear();
            sim.tastes = self.tastes_on(day);
            sim.plan_day(&mut rng, day_start, day_end, &mut stats);
            let last = day + 1 == config.days;
            // Sessions that run past midnight stay queued and continue the next day.
            while sim.heap.peek().is_some_and(|next| last || next.time < day_end) {
                let Some(mut session) = sim.heap.pop() else { break };
                if emit_rng.gen_bool(inject) {
                    malformed::line(&mut emit_rng, self, session.time, session.user, &mut line);
                    stats.lines += 1;
                    stats.malformed_lines += 1;
                    on_line(&line);
                }
                sim.format(&session, &mut line, &mut stats, &mut on_rating);
                stats.lines += 1;
                on_line(&line);
                if session.advance(&mut emit_rng) {
                    sim.heap.push(session);
                }
            }
            on_day(day);
        }
        stats
    }
}

impl Simulation<'_> {
    /// Draws the day's sessions for every user and queues them.
    fn plan_day(&mut self, rng: &mut ChaCha8Rng, day_start: i64, day_end: i64, stats: &mut WorldStats) {
        let tastes = self.tastes;
        for (index, taste) in tastes.iter().enumerate() {
            let joined = taste.joined.0;
            if joined >= day_end {
                continue;
            }
            let mut from = day_start;
            if joined >= day_start {
                self.queue(Session::new(joined, index as u32, Step::Account));
                from = joined + rng.gen_range(5..120) * SECOND;
                if from >= day_end {
                    continue;
                }
            }
            let share = (day_end - from) as f32 / DAY as f32;
            let watches = poisson(rng, taste.activity * share);
            let browses = poisson(rng, taste.activity * share * BROWSE_PER_WATCH);
            for _ in 0..watches {
                let time = self.start_time(rng, from, day_end);
                self.plan_watch(rng, index, time, stats);
            }
            for _ in 0..browses {
                let time = self.start_time(rng, from, day_end);
                let mut session = Session::new(time, index as u32, Step::Request);
                session.request = Some(self.request(rng));
                self.queue(session);
            }
        }
    }

    fn queue(&mut self, mut session: Session) {
        session.seq = self.seq;
        self.seq += 1;
        self.heap.push(session);
    }

    /// A session start in `from..day_end`, following the hourly profile, in whole microseconds.
    fn start_time(&self, rng: &mut ChaCha8Rng, from: i64, day_end: i64) -> i64 {
        let hour = self.hours.as_ref().map_or(20, |h| h.sample(rng)) as i64;
        let time = day_end - DAY + hour * 3600 * SECOND + rng.gen_range(0..3_600_000_000) * MICROSECOND;
        if time >= from {
            time
        } else {
            from + rng.gen_range(0..((day_end - from) / MICROSECOND).max(1)) * MICROSECOND
        }
    }

    /// One watch session: maybe a request, a chosen movie, minutes watched, maybe a rating.
    fn plan_watch(&mut self, rng: &mut ChaCha8Rng, user: usize, time: i64, stats: &mut WorldStats) {
        let world = self.world;
        let tastes = self.tastes;
        let taste = &tastes[user];
        let mut session = Session::new(time, user as u32, Step::Request);
        self.candidates.clear();
        if rng.gen_bool(REQUEST_BEFORE_WATCH) {
            let request = self.request(rng);
            if request.status == 200 {
                let ids = self.pool.get(request.offset as usize..).unwrap_or(&[]);
                self.candidates.extend(ids.iter().take(usize::from(request.len)));
            }
            session.request = Some(request);
        }
        for _ in 0..POPULAR_CANDIDATES {
            self.candidates.push(world.popular_movie(rng));
        }
        // Browse a genre the user likes: Gumbel-max over affinities picks it softmax-style.
        let genre = (0..GENRES.len())
            .map(|g| (taste.genre_affinity[g] * 1.5 + gumbel(rng), g))
            .fold((f32::MIN, 0), |best, next| if next.0 > best.0 { next } else { best })
            .1;
        for _ in 0..GENRE_CANDIDATES {
            if let Some(movie) = world.genre_movie(rng, genre) {
                self.candidates.push(movie);
            }
        }
        let watched = &self.watched[user];
        let mut best: Option<(f32, u32, f32)> = None;
        for &movie in &self.candidates {
            if watched.contains(&movie) && !rng.gen_bool(REWATCH) {
                continue;
            }
            let u = utility(taste, &world.movie_tastes[movie as usize]);
            let score = u / CHOICE_TEMPERATURE + gumbel(rng);
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, movie, u));
            }
        }
        if let Some((_, movie, u)) = best {
            let runtime = world.movies[movie as usize].runtime.unwrap_or(100);
            let minutes = watch_minutes(rng, runtime, u);
            session.movie = movie;
            session.minutes = u16::try_from(minutes).unwrap_or(u16::MAX);
            if rng.gen_bool(rate_chance(taste, u)) {
                session.rating = rating(rng, u, world.config.rating_scale.max());
            }
            session.watch_start = time + if session.request.is_some() { rng.gen_range(2..60) * SECOND } else { 0 };
            self.watched[user].push(movie);
            stats.watch_sessions += 1;
        }
        if session.request.is_none() {
            if session.minutes == 0 {
                return;
            }
            session.step = Step::Watch(0);
            session.time = session.watch_start;
        }
        self.queue(session);
    }

    /// A recommendation request's outcome; successful results go into the day's pool.
    fn request(&mut self, rng: &mut ChaCha8Rng) -> Request {
        let world = self.world;
        let server = rng.gen_range(0..self.servers.len()) as u8;
        let tight = rng.gen_bool(0.25);
        let roll = rng.gen_range(0..1000);
        if roll < 30 {
            return Request { offset: 0, len: 0, status: 0, latency_ms: rng.gen_range(5000..5020), tight, server };
        }
        if roll < 40 {
            return Request { offset: 0, len: 0, status: 500, latency_ms: rng.gen_range(2..40), tight, server };
        }
        let offset = self.pool.len() as u32;
        let want = RECOMMENDATIONS.min(world.movies.len());
        let mut tries = 0;
        while self.pool.len() - (offset as usize) < want && tries < want * 8 {
            tries += 1;
            let movie = world.popular_movie(rng);
            let chosen = self.pool.get(offset as usize..).unwrap_or(&[]);
            if !chosen.contains(&movie) {
                self.pool.push(movie);
            }
        }
        let len = (self.pool.len() - offset as usize) as u8;
        let latency_ms = (80.0 * (0.6 * f64::from(super::tastes::normal(rng))).exp()).round().max(1.0) as u32;
        Request { offset, len, status: 200, latency_ms, tight, server }
    }

    /// Writes the session's current event into `line` and counts it.
    fn format(
        &self,
        session: &Session,
        line: &mut String,
        stats: &mut WorldStats,
        on_rating: &mut impl FnMut(&Rating),
    ) {
        let world = self.world;
        let time = Timestamp(session.time);
        let user_id = world.users[session.user as usize].user_id;
        let movie = world.movies.get(session.movie as usize).map_or("", |m| m.movie_id.as_str());
        line.clear();
        // Writing to a String cannot fail.
        let _ = match session.step {
            Step::Account => {
                stats.account_lines += 1;
                write!(line, "{time},{user_id},GET /create_account")
            }
            Step::Request => {
                stats.recommendation_lines += 1;
                let request = session.request.unwrap_or(Request {
                    offset: 0,
                    len: 0,
                    status: 500,
                    latency_ms: 1,
                    tight: false,
                    server: 0,
                });
                let server = &self.servers[usize::from(request.server)];
                let _ = write!(
                    line,
                    "{time},{user_id},recommendation request {server}, status {}, result: ",
                    request.status
                );
                match request.status {
                    200 => {
                        let start = request.offset as usize;
                        let ids = self.pool.get(start..start + usize::from(request.len)).unwrap_or(&[]);
                        for (i, &id) in ids.iter().enumerate() {
                            if i > 0 {
                                line.push_str(", ");
                            }
                            line.push_str(&world.movies[id as usize].movie_id);
                        }
                    }
                    0 => line.push_str("java.net.SocketTimeoutException: Read timed out"),
                    _ => line.push_str("java.lang.RuntimeException: model server returned 500 Internal Server Error"),
                }
                let space = if request.tight { "" } else { " " };
                write!(line, ", {}{space}ms", request.latency_ms)
            }
            Step::Watch(minute) => {
                stats.watch_lines += 1;
                write!(line, "{time},{user_id},GET /data/m/{movie}/{minute}.mpg")
            }
            Step::Rate => {
                stats.rate_lines += 1;
                stats.ratings += 1;
                let scale = world.config.rating_scale;
                on_rating(&Rating {
                    user_id,
                    movie_id: movie.to_string(),
                    rating: scale.to_five_stars(session.rating),
                    time,
                });
                write!(line, "{time},{user_id},GET /rate/{movie}={}", session.rating)
            }
            Step::Done => Ok(()),
        };
    }
}

impl Session {
    fn new(time: i64, user: u32, step: Step) -> Session {
        Session { time, seq: 0, user, movie: 0, step, minutes: 0, rating: 0, request: None, watch_start: time }
    }
}

/// How many minutes of a movie of `runtime` minutes a user with utility `utility` for it
/// watches: liked movies are mostly watched to the end, disliked ones abandoned early.
pub(super) fn watch_minutes(rng: &mut ChaCha8Rng, runtime: u32, utility: f32) -> u32 {
    let runtime = runtime.max(1);
    let full = 1.0 / (1.0 + (-(2.0 * utility - 1.0)).exp());
    if rng.gen_bool(f64::from(full)) {
        runtime.saturating_sub(rng.gen_range(0..6)).max(1)
    } else {
        ((runtime as f32 * rng.gen_range(0.02..0.6)) as u32).max(1)
    }
}

/// The chance that a user rates a movie they watched: their propensity, raised by strong
/// feelings either way.
pub(super) fn rate_chance(taste: &UserTaste, utility: f32) -> f64 {
    f64::from((taste.rating_propensity * (0.6 + 0.4 * utility.abs().min(1.0))).clamp(0.0, 1.0))
}

/// A rating from 1 to `max` that reflects utility plus noise.
pub(super) fn rating(rng: &mut ChaCha8Rng, utility: f32, max: u8) -> u8 {
    // Users pick movies they expect to like, so chosen utilities run high: centre them so
    // ratings average about 3.6 stars, as on real services.
    let five = 1.9 + 1.0 * utility + 0.7 * super::tastes::normal(rng);
    let scaled = 1.0 + (five.clamp(1.0, 5.0) - 1.0) / 4.0 * (f32::from(max) - 1.0);
    (scaled.round() as u8).clamp(1, max)
}

/// A standard Gumbel draw, for sampling a softmax by taking the best of noisy scores.
fn gumbel(rng: &mut ChaCha8Rng) -> f32 {
    let u: f32 = rng.gen_range(f32::EPSILON..1.0);
    -(-u.ln()).ln()
}

/// A Poisson draw by inversion: cheap for the small means of one user's day.
fn poisson(rng: &mut ChaCha8Rng, mean: f32) -> u32 {
    let limit = (-mean.clamp(0.0, 30.0)).exp();
    let mut product: f32 = rng.gen();
    let mut count = 0;
    while product > limit && count < 200 {
        count += 1;
        product *= rng.gen::<f32>();
    }
    count
}
