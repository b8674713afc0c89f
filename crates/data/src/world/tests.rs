use super::*;
use crate::events::{RatingScale, StreamEvent};
use crate::records::Gender;
use crate::stream::parse_line;

fn tiny(seed: u64) -> WorldConfig {
    WorldConfig { seed, users: 300, movies: 200, days: 3, malformed_rate: 0.01, ..WorldConfig::default() }
}

fn stream_of(world: &World) -> (Vec<String>, Vec<crate::records::Rating>, WorldStats) {
    let (mut lines, mut ratings) = (Vec::new(), Vec::new());
    let stats = world.simulate(|l| lines.push(l.to_string()), |r| ratings.push(r.clone()), |_| {});
    (lines, ratings, stats)
}

#[test]
fn same_seed_gives_identical_output() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    World::generate(tiny(7)).unwrap().write_to(dir_a.path(), |_| {}).unwrap();
    World::generate(tiny(7)).unwrap().write_to(dir_b.path(), |_| {}).unwrap();
    for name in ["stream.log", "users.jsonl", "movies.jsonl", "ratings.csv", "users.csv", "movies.csv", "truth.json"] {
        let a = std::fs::read(dir_a.path().join(name)).unwrap();
        assert!(!a.is_empty(), "{name} is empty");
        assert_eq!(a, std::fs::read(dir_b.path().join(name)).unwrap(), "{name} differs");
    }
    let other = stream_of(&World::generate(tiny(8)).unwrap()).0;
    assert_ne!(stream_of(&World::generate(tiny(7)).unwrap()).0, other);
}

#[test]
fn every_generated_line_parses_in_time_order() {
    for scale in [RatingScale::FIVE, RatingScale::TEN] {
        let config = WorldConfig { malformed_rate: 0.0, rating_scale: scale, ..tiny(3) };
        let world = World::generate(config).unwrap();
        let (lines, ratings, stats) = stream_of(&world);
        assert_eq!(stats.lines, lines.len() as u64);
        assert!(stats.watch_lines > 0 && stats.rate_lines > 0 && stats.recommendation_lines > 0);
        assert!(stats.account_lines > 0, "some users join during the window");
        assert_eq!(stats.ratings, ratings.len() as u64);
        let mut previous = None;
        let (mut rates, mut errors) = (0, 0);
        for line in &lines {
            let event = parse_line(line, scale).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert!(previous <= Some(event.time()), "out of order at {line}");
            previous = Some(event.time());
            match event {
                StreamEvent::Rate { rating, .. } => {
                    assert!((1..=scale.max()).contains(&rating));
                    rates += 1;
                }
                StreamEvent::Recommendation { status: 200, .. } => assert_eq!(event.result_ids().count(), 20),
                StreamEvent::Recommendation { .. } => errors += 1,
                _ => {}
            }
            assert!(world.user_index(event.user()).is_some());
        }
        assert_eq!(rates, ratings.len());
        assert!(errors > 0, "some requests fail");
        assert!(ratings.iter().all(|r| (0.5..=5.0).contains(&r.rating) && world.movie_index(&r.movie_id).is_some()));
    }
}

#[test]
fn default_population_is_skewed_like_a_real_service() {
    let world = World::generate(WorldConfig::default()).unwrap();
    let n = world.users.len() as f64;
    let share = |f: &dyn Fn(&crate::records::User) -> bool| world.users.iter().filter(|u| f(u)).count() as f64 / n;
    let male = share(&|u| u.gender == Some(Gender::Male));
    let female = share(&|u| u.gender == Some(Gender::Female));
    assert!((0.67..0.73).contains(&male), "{male}");
    assert!((0.25..0.31).contains(&female), "{female}");
    let core = share(&|u| u.age.is_some_and(|a| (18..=45).contains(&a)));
    let young = share(&|u| u.age.is_some_and(|a| a < 16));
    let old = share(&|u| u.age.is_some_and(|a| a > 65));
    assert!(core > 0.75 && young < 0.03 && old < 0.03, "{core} {young} {old}");
    let mut ids: Vec<_> = world.users.iter().map(|u| u.user_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), world.users.len(), "ids are distinct (and sorted)");
    let mut movie_ids: Vec<_> = world.movies.iter().map(|m| m.movie_id.as_str()).collect();
    movie_ids.sort_unstable();
    movie_ids.dedup();
    assert_eq!(movie_ids.len(), world.movies.len(), "movie ids are unique");
    let drama = world.movies.iter().filter(|m| m.genres.iter().any(|g| g == "Drama")).count();
    let western = world.movies.iter().filter(|m| m.genres.iter().any(|g| g == "Western")).count();
    assert!(drama > 5 * western);
    for movie in &world.movies {
        let year = movie.year.unwrap().to_string();
        assert!(movie.movie_id.ends_with(&format!("+{year}")), "{}", movie.movie_id);
        assert!((1..=3).contains(&movie.genres.len()));
        let imdb = movie.imdb_id.as_deref().unwrap();
        assert!(imdb.len() == 9 && imdb.starts_with("tt"), "{imdb}");
        assert!((60..=240).contains(&movie.runtime.unwrap()));
    }
}

#[test]
fn malformed_share_is_about_the_configured_rate() {
    let config = WorldConfig { users: 400, movies: 300, days: 4, malformed_rate: 0.05, ..WorldConfig::default() };
    let world = World::generate(config).unwrap();
    let (lines, _, stats) = stream_of(&world);
    let text = lines.join("\n");
    let report = crate::stream::read_stream(text.as_bytes(), RatingScale::FIVE, |_, _| {}).unwrap();
    assert_eq!(report.skipped_total(), stats.malformed_lines);
    let share = stats.malformed_lines as f64 / stats.lines as f64;
    assert!((0.04..0.06).contains(&share), "{share}");
    assert!(report.skipped.len() >= 6, "several kinds: {:?}", report.skipped);
}

#[test]
fn config_validation_explains_what_is_wrong() {
    assert_eq!(WorldConfig::default().validate(), Ok(()));
    let cases = [
        (WorldConfig { users: 0, ..WorldConfig::default() }, "user"),
        (WorldConfig { movies: 0, ..WorldConfig::default() }, "movie"),
        (WorldConfig { days: 0, ..WorldConfig::default() }, "day"),
        (WorldConfig { malformed_rate: 0.6, ..WorldConfig::default() }, "malformed"),
        (WorldConfig { malformed_rate: f64::NAN, ..WorldConfig::default() }, "malformed"),
        (WorldConfig { start: crate::events::Timestamp(i64::MIN), ..WorldConfig::default() }, "start"),
    ];
    for (config, word) in cases {
        let message = config.validate().unwrap_err();
        assert!(message.contains(word), "{message}");
        assert!(World::generate(config).is_err());
    }
}

#[test]
fn tastes_drive_what_users_watch() {
    let config = WorldConfig { users: 2000, movies: 800, days: 10, malformed_rate: 0.0, ..WorldConfig::default() };
    let world = World::generate(config).unwrap();
    // Per user: sessions, and sessions per genre (a session starts at minute 0).
    let mut sessions = vec![[0u32; 20]; world.users.len()];
    world.simulate(
        |line| {
            if let Ok(StreamEvent::Watch { user, movie, minute: 0, .. }) = parse_line(line, RatingScale::FIVE) {
                let (u, m) = (world.user_index(user).unwrap(), world.movie_index(movie).unwrap());
                sessions[u][19] += 1;
                for (g, count) in sessions[u].iter_mut().take(19).enumerate() {
                    *count += u32::from(world.movie_tastes[m].genre_mask & (1 << g) != 0);
                }
            }
        },
        |_| {},
        |_| {},
    );
    let mut wins = 0;
    for genre in 0..19 {
        let mut users: Vec<usize> = (0..world.users.len()).filter(|&u| sessions[u][19] > 0).collect();
        users.sort_by(|&a, &b| {
            world.user_tastes[a].genre_affinity[genre].total_cmp(&world.user_tastes[b].genre_affinity[genre])
        });
        let quarter = users.len() / 4;
        let share = |group: &[usize]| {
            let (of_genre, all) =
                group.iter().fold((0, 0), |acc, &u| (acc.0 + sessions[u][genre], acc.1 + sessions[u][19]));
            f64::from(of_genre) / f64::from(all.max(1))
        };
        let (low, high) = (share(&users[..quarter]), share(&users[users.len() - quarter..]));
        if high > 1.3 * low {
            wins += 1;
        }
    }
    assert!(wins >= 17, "only {wins} of 19 genres are watched more by those who like them");
    // And utility shows in ratings: the best-liked movies get rated higher.
    let mut pairs = Vec::new();
    world.simulate(|_| {}, |r| pairs.push(r.clone()), |_| {});
    let (mut high, mut low) = (Vec::new(), Vec::new());
    for r in &pairs {
        let u = world.utility(world.user_index(r.user_id).unwrap(), world.movie_index(&r.movie_id).unwrap());
        if u > 0.5 {
            high.push(r.rating);
        } else if u < -0.5 {
            low.push(r.rating);
        }
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    assert!(mean(&high) > mean(&low) + 0.8, "{} vs {}", mean(&high), mean(&low));
}

/// Run with `--release -- --ignored --nocapture default_world_size` to time the default world.
#[test]
#[ignore]
fn default_world_size() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let world = World::generate(WorldConfig::default()).unwrap();
    let generated = start.elapsed();
    let stats = world.write_to(dir.path(), |_| {}).unwrap();
    let bytes = std::fs::metadata(dir.path().join("stream.log")).unwrap().len();
    println!("generate {generated:?}, total {:?}, stream {} MB, {stats:#?}", start.elapsed(), bytes / 1_000_000);
}

/// Run with `--release -- --ignored --nocapture large_world_scales` (under `/usr/bin/time -v`
/// for peak memory): a million users and 27,000 movies, two days.
#[test]
#[ignore]
fn large_world_scales() {
    let start = std::time::Instant::now();
    let config = WorldConfig { users: 1_000_000, movies: 27_000, days: 2, ..WorldConfig::default() };
    let world = World::generate(config).unwrap();
    let generated = start.elapsed();
    let (mut lines, mut bytes) = (0u64, 0u64);
    let stats = world.simulate(
        |line| {
            lines += 1;
            bytes += line.len() as u64 + 1;
        },
        |_| {},
        |day| println!("day {day} at {:?}", start.elapsed()),
    );
    assert_eq!(lines, stats.lines);
    println!("generate {generated:?}, total {:?}, {} MB, {stats:#?}", start.elapsed(), bytes / 1_000_000);
}

fn drifting(kind: DriftKind, after_days: u32) -> WorldConfig {
    WorldConfig {
        users: 600,
        movies: 300,
        days: 8,
        malformed_rate: 0.0,
        drift: Some(WorldDrift { kind, after_days }),
        ..WorldConfig::default()
    }
}

#[test]
fn drift_must_start_inside_the_window() {
    for after_days in [0, 8, 9] {
        let message = drifting(DriftKind::TasteShift, after_days).validate().unwrap_err();
        assert!(message.contains("taste-shift drift"), "{message}");
    }
    assert_eq!(drifting(DriftKind::NewCohort, 7).validate(), Ok(()));
    // An undrifted config says nothing about drift, so truth.json stays as it was.
    let text = serde_json::to_string(&WorldConfig::default()).unwrap();
    assert!(!text.contains("drift"), "{text}");
    let config = drifting(DriftKind::NewCohort, 3);
    let back: WorldConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
}

#[test]
fn a_new_cohort_of_young_students_arrives_after_the_drift_day() {
    let config = drifting(DriftKind::NewCohort, 4);
    let drift_start = config.start.0 + 4 * 86_400 * 1_000_000_000;
    let world = World::generate(config).unwrap();
    assert_eq!(world.users.len(), 600);
    let cohort = &world.users[360..];
    assert!(world.user_tastes[360..].iter().all(|t| t.joined.0 >= drift_start), "the cohort joins after day 4");
    let mean_age = |users: &[crate::records::User]| {
        users.iter().map(|u| f64::from(u.age.unwrap())).sum::<f64>() / users.len() as f64
    };
    assert!(mean_age(cohort) < 21.0 && mean_age(&world.users[..360]) > 28.0);
    let students = cohort.iter().filter(|u| u.occupation.as_deref() == Some("student")).count();
    assert!(students as f64 > 0.75 * cohort.len() as f64, "{students} students");
    let ids: Vec<_> = world.users.iter().map(|u| u.user_id).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids stay increasing");
    // Their accounts and sessions all come after the drift day.
    let (lines, _, _) = stream_of(&world);
    let cohort_ids: std::collections::HashSet<_> = cohort.iter().map(|u| u.user_id).collect();
    let mut cohort_lines = 0;
    for line in &lines {
        let event = parse_line(line, RatingScale::FIVE).unwrap();
        if cohort_ids.contains(&event.user()) {
            assert!(event.time().0 >= drift_start, "{line}");
            cohort_lines += 1;
        }
    }
    assert!(cohort_lines > 500, "the cohort is active: {cohort_lines} lines");
}

#[test]
fn a_taste_shift_changes_what_is_watched_from_the_drift_day_only() {
    let config = drifting(DriftKind::TasteShift, 4);
    let drift_start = config.start.0 + 4 * 86_400 * 1_000_000_000;
    let shifted = World::generate(config.clone()).unwrap();
    let plain = World::generate(WorldConfig { drift: None, ..config }).unwrap();
    let (shifted_lines, _, _) = stream_of(&shifted);
    let (plain_lines, _, _) = stream_of(&plain);
    let before = |lines: &[String]| -> Vec<String> {
        lines.iter().filter(|l| parse_line(l, RatingScale::FIVE).unwrap().time().0 < drift_start).cloned().collect()
    };
    assert_eq!(before(&shifted_lines), before(&plain_lines), "before the drift day the world is the undrifted one");
    // The boosted block (Animation, Family, Fantasy, Science Fiction) takes a larger share
    // of watch sessions afterwards.
    let block = (1 << 2) | (1 << 7) | (1 << 8) | (1 << 14);
    let block_share = |lines: &[String], after: bool| {
        let (mut in_block, mut all) = (0, 0);
        for line in lines {
            if let Ok(StreamEvent::Watch { movie, minute: 0, time, .. }) = parse_line(line, RatingScale::FIVE) {
                if (time.0 >= drift_start) == after {
                    all += 1;
                    in_block +=
                        usize::from(shifted.movie_tastes[shifted.movie_index(movie).unwrap()].genre_mask & block != 0);
                }
            }
        }
        in_block as f64 / all as f64
    };
    let (share_before, share_after) = (block_share(&shifted_lines, false), block_share(&shifted_lines, true));
    assert!(share_after > 1.4 * share_before, "{share_before} before, {share_after} after");
    let plain_after = block_share(&plain_lines, true);
    assert!(plain_after < 1.15 * block_share(&plain_lines, false), "the undrifted world does not move: {plain_after}");
    // Utility after the window is the shifted tastes'.
    let (user, movie) =
        (0, (0..shifted.movies.len()).find(|&m| shifted.movie_tastes[m].genre_mask & block != 0).unwrap());
    assert_ne!(shifted.utility(user, movie), plain.utility(user, movie));
}
