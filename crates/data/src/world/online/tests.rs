use rand::seq::SliceRandom;

use super::*;
use crate::events::{RatingScale, StreamEvent};
use crate::stream::parse_line;
use crate::world::WorldConfig;

fn small_world() -> World {
    World::generate(WorldConfig { seed: 3, users: 300, movies: 200, days: 2, ..WorldConfig::default() }).unwrap()
}

fn config(requests: u32, seed: u64) -> OnlineConfig {
    OnlineConfig { users: 100, requests, seed, ..OnlineConfig::default() }
}

/// A policy that serves 20 movies drawn at random (seeded by the visit).
fn random_list(world: &World, visit: &Visit) -> Vec<String> {
    let mut rng = crate::world::rng(99, u64::from(visit.index));
    world.movies.choose_multiple(&mut rng, LIST_LENGTH).map(|m| m.movie_id.clone()).collect()
}

fn run(world: &World, config: OnlineConfig, oracle: bool) -> (OnlineSummary, Vec<String>) {
    let mut sim = OnlineSimulator::new(world, config).unwrap();
    let (mut summary, mut lines) = (OnlineSummary::default(), Vec::new());
    for visit in sim.visits().to_vec() {
        let list = if oracle { sim.oracle_list(&visit, LIST_LENGTH) } else { random_list(world, &visit) };
        let id = format!("rec{}", visit.index);
        let served = Served { recommendation_id: &id, served_ms: 1_800_000_000_000 + i64::from(visit.index) * 1000 };
        let outcome = sim.respond(&visit, &list, Some(served));
        summary.record(true, &outcome);
        lines.extend(outcome.lines);
    }
    (summary, lines)
}

#[test]
fn click_model_probabilities_follow_the_documented_formulas() {
    let model = ClickModel::default();
    assert_eq!((model.eta, model.scale, model.threshold), (1.0, 2.0, 1.0));
    assert_eq!(model.examine(1), 1.0);
    assert!((model.examine(2) - 0.5).abs() < 1e-12);
    assert!((model.examine(10) - 0.1).abs() < 1e-12);
    let steep = ClickModel { eta: 2.0, ..model };
    assert!((steep.examine(4) - 1.0 / 16.0).abs() < 1e-12);
    assert!((model.click(1.0) - 0.5).abs() < 1e-12);
    assert!((model.click(2.0) - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-6);
    assert!(model.click(-1.0) < model.click(0.0) && model.click(0.0) < model.click(3.0));
    assert!(ClickModel { eta: -1.0, ..model }.validate().is_err());
    assert!(ClickModel { scale: f64::NAN, ..model }.validate().is_err());
    assert!(OnlineConfig { requests: 0, ..OnlineConfig::default() }.validate().is_err());
    assert!(OnlineConfig { users: 0, ..OnlineConfig::default() }.validate().is_err());
}

#[test]
fn the_same_seed_gives_the_same_visits_and_events() {
    let world = small_world();
    let (a, lines_a) = run(&world, config(300, 5), false);
    let (b, lines_b) = run(&world, config(300, 5), false);
    assert_eq!((a, &lines_a), (b, &lines_b));
    assert!(!lines_a.is_empty());
    let (_, other) = run(&world, config(300, 6), false);
    assert_ne!(lines_a, other);
}

#[test]
fn visits_fall_after_the_window_among_the_chosen_users() {
    let world = small_world();
    let sim =
        OnlineSimulator::new(&world, OnlineConfig { users: 10, requests: 500, days: 2, ..OnlineConfig::default() })
            .unwrap();
    let end = world.config.start.0 + 2 * DAY;
    let visits = sim.visits();
    assert_eq!(visits.len(), 500);
    assert!(visits.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(visits.iter().all(|v| v.time.0 >= end && v.time.0 < end + 2 * DAY));
    let users: std::collections::BTreeSet<_> = visits.iter().map(|v| v.user_id).collect();
    assert!(users.len() <= 10 && users.len() > 3, "{users:?}");
    // Only a user's last visit may report without the id, and about half of them do.
    for (index, visit) in visits.iter().enumerate() {
        let comes_back = visits[index + 1..].iter().any(|later| later.user_id == visit.user_id);
        assert!(visit.with_id || !comes_back, "visit {index} reports by time but its user comes back");
    }
    let last = visits.iter().filter(|v| !v.with_id).count();
    assert!(
        (1..users.len()).contains(&last) || users.len() <= 2,
        "{last} of {} last visits without the id",
        users.len()
    );
}

#[test]
fn the_oracle_beats_a_random_list() {
    let world = small_world();
    let (random, _) = run(&world, config(400, 1), false);
    let (oracle, _) = run(&world, config(400, 1), true);
    assert_eq!((random.lists, oracle.lists), (400, 400));
    assert!(oracle.click_rate > random.click_rate + 0.2, "oracle {oracle:?} random {random:?}");
    assert!(oracle.mrr > random.mrr);
}

#[test]
fn events_are_lines_the_edge_reads_in_both_forms() {
    let world = small_world();
    let (summary, lines) = run(&world, config(300, 2), true);
    assert!(summary.reported_with_id > 0 && summary.reported_without_id > 0, "{summary:?}");
    assert_eq!(summary.event_lines, lines.len() as u64);
    let (mut clicks, mut watches, mut rates) = (0u64, 0u64, 0u64);
    for line in &lines {
        if line.starts_with('{') {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            match event["type"].as_str().unwrap() {
                "click" => clicks += 1,
                "watch" => watches += 1,
                "rate" => {
                    assert!((1..=5).contains(&event["rating"].as_u64().unwrap()));
                    rates += 1;
                }
                other => panic!("unexpected event type {other}"),
            }
            // Every JSON event names its list, and is dated after it was served.
            let reference = event["recommendation_id"].as_str().unwrap();
            assert!(reference.starts_with("rec"));
            assert!(event["id"].as_str().unwrap().starts_with(&format!("{reference}-")));
            let index: i64 = reference["rec".len()..].parse().unwrap();
            let served_ms = 1_800_000_000_000 + index * 1000;
            let time = event["time_ms"].as_i64().unwrap();
            assert!(time > served_ms && time < served_ms + 24 * 3_600_000, "{line}");
        } else {
            match parse_line(line, RatingScale::FIVE).unwrap() {
                StreamEvent::Watch { .. } => watches += 1,
                StreamEvent::Rate { .. } => rates += 1,
                other => panic!("unexpected stream event {other:?}"),
            }
        }
    }
    assert_eq!(clicks, summary.reported_with_id);
    assert_eq!(watches, summary.watch_minutes);
    assert_eq!(rates, summary.ratings);
}

#[test]
fn nobody_clicks_a_movie_twice_and_unknown_movies_are_never_clicked() {
    let world = small_world();
    let mut sim =
        OnlineSimulator::new(&world, OnlineConfig { users: 1, requests: 60, ..OnlineConfig::default() }).unwrap();
    let mut clicked = Vec::new();
    for visit in sim.visits().to_vec() {
        let mut list = vec!["not-a-movie".to_owned()];
        list.extend(sim.oracle_list(&visit, LIST_LENGTH));
        let outcome = sim.respond(&visit, &list, None);
        assert_eq!(outcome.unknown_movies, 1);
        if let Some(click) = outcome.click {
            assert!(click.rank > 1);
            assert!(!clicked.contains(&click.movie_id), "{} clicked twice", click.movie_id);
            clicked.push(click.movie_id);
        }
    }
    assert!(clicked.len() > 20);
}

#[test]
fn a_written_world_loads_back_with_its_tastes() {
    let world = small_world();
    let dir = tempfile::tempdir().unwrap();
    world.write_to(dir.path(), |_| {}).unwrap();
    let loaded = World::load_truth(dir.path()).unwrap();
    assert_eq!(loaded.users, world.users);
    for (user, movie) in [(0, 0), (17, 150), (299, 199)] {
        assert!((loaded.utility(user, movie) - world.utility(user, movie)).abs() < 1e-5);
    }
    // A folder whose ground truth disagrees with its config is refused, naming the file.
    let users = std::fs::read_to_string(dir.path().join("truth_users.jsonl")).unwrap();
    let fewer: Vec<&str> = users.lines().skip(1).collect();
    std::fs::write(dir.path().join("truth_users.jsonl"), fewer.join("\n")).unwrap();
    let error = World::load_truth(dir.path()).unwrap_err().to_string();
    assert!(error.contains("truth_users.jsonl") && error.contains("299 users"), "{error}");
    std::fs::remove_file(dir.path().join("truth.json")).unwrap();
    assert!(World::load_truth(dir.path()).unwrap_err().to_string().contains("truth.json"));
}
