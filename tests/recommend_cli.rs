//! The model commands end to end: `marquee train` writes blobs the model crate serves,
//! `marquee compare` and `evaluate` read a MovieLens folder, and bad input is refused.

use std::fmt::Write as _;
use std::path::Path;

use marquee_e2e::{json, marquee, marquee_unchecked};
use marquee_model::recommend::{shard_of, ProfileShard, Recommender};

/// A small ml-100k folder: 120 users, 90 movies, two taste groups, genres and demographics.
fn movielens_folder(dir: &Path) {
    let (mut data, mut users, mut items) = (String::new(), String::new(), String::new());
    let mut state = 12345u64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for user in 1..=120usize {
        let group = user % 2;
        for _ in 0..25 {
            let item = 1 + next() % 90;
            let liked = (item % 2 == group) as usize;
            let stars = (2 + 2 * liked + next() % 2).min(5);
            writeln!(data, "{user}\t{item}\t{stars}\t{}", 880_000_000 + next() % 5_000_000).unwrap();
        }
        let gender = if group == 0 { "F" } else { "M" };
        writeln!(users, "{user}|{}|{gender}|student|00000", 18 + user % 40).unwrap();
    }
    for item in 1..=90usize {
        let flags: Vec<&str> = (0..19).map(|g| if g == 1 + item % 2 || g == 8 { "1" } else { "0" }).collect();
        writeln!(items, "{item}|Movie {item} (1995)|01-Jan-1995||http://x|{}", flags.join("|")).unwrap();
    }
    std::fs::write(dir.join("u.data"), data).unwrap();
    std::fs::write(dir.join("u.user"), users).unwrap();
    std::fs::write(dir.join("u.item"), items).unwrap();
}

#[test]
fn compare_prints_every_model_on_a_movielens_folder() {
    let dir = tempfile::tempdir().unwrap();
    movielens_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let reports = json(&marquee(&["compare", "--data", data, "--json"]));
    let names: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["model"].as_str().unwrap()).collect();
    for expected in [
        "popularity",
        "svd (100 factors)",
        "bpr (32 factors)",
        "ease",
        "item-knn",
        "gbdt (ratings)",
        "hybrid (no rerank)",
        "hybrid",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    for report in reports.as_array().unwrap() {
        for field in ["train_seconds", "micros_per_user", "disk_bytes", "memory_bytes"] {
            assert!(report[field].as_f64().is_some(), "{field} of {}", report["model"]);
        }
        assert!(report["ranking"]["users"].as_u64().unwrap() > 0);
        assert!(report["groups"].as_array().unwrap().iter().any(|g| g["group"] == "gender=F"));
    }
    let svd = reports.as_array().unwrap().iter().find(|r| r["model"] == "svd (100 factors)").unwrap();
    assert!(svd["rmse"].as_f64().unwrap() > 0.0 && svd["rated"].as_u64().unwrap() > 0);

    let table = String::from_utf8(marquee(&["compare", "--data", data]).stdout).unwrap();
    assert!(table.lines().next().unwrap().contains("NDCG@20"), "{table}");
    assert_eq!(table.lines().count(), 9, "a header and eight models:\n{table}");
}

#[test]
fn evaluate_scores_a_given_test_file() {
    let dir = tempfile::tempdir().unwrap();
    movielens_folder(dir.path());
    let test = dir.path().join("held_out.csv");
    std::fs::write(&test, "user_id,movie_id,rating,timestamp\n1,2,4,890000000\n2,3,1,890000000\n999,1,5,890000000\n")
        .unwrap();
    let report = json(&marquee(&[
        "evaluate",
        "--data",
        dir.path().to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(report["model"], "hybrid");
    assert_eq!(report["rated"], 3, "every held-out rating is scored, the unknown user's too");
    assert!(report["rmse"].as_f64().unwrap() > 0.0);

    let text = String::from_utf8(marquee(&["evaluate", "--data", dir.path().to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("no history") && text.contains("age=") && text.contains("µs per user"), "{text}");
}

#[test]
fn train_writes_blobs_that_the_model_crate_serves() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let models = dir.path().join("models");
    marquee(&["world", "--out", world.to_str().unwrap(), "--users", "400", "--movies", "250", "--days", "6"]);
    let manifest = json(&marquee(&[
        "train",
        "--data",
        world.to_str().unwrap(),
        "--out",
        models.to_str().unwrap(),
        "--shards",
        "4",
        "--json",
    ]));
    assert_eq!(manifest["shard_count"], 4);
    assert_eq!(manifest["popular"].as_array().unwrap().len(), 20);
    let blob = std::fs::read(models.join("recommender.blob")).unwrap();
    let recommender = Recommender::from_blob(&blob).unwrap();
    assert_eq!(recommender.shard_count(), 4);

    let mut published = 0;
    for shard_index in 0..4u32 {
        let bytes = std::fs::read(models.join(format!("profiles/{shard_index:05}.blob"))).unwrap();
        let shard = ProfileShard::from_blob(&bytes).unwrap();
        for index in 0..shard.len() {
            let user_id = shard.profile_at(index).unwrap().user_id;
            assert_eq!(shard_of(user_id, 4), shard_index, "user {user_id} is in the shard its id hashes to");
            let profile = recommender.lookup_profile(&shard, user_id).unwrap().unwrap();
            let list = recommender.recommend(&profile, 20, user_id);
            assert_eq!(list.len(), 20);
            assert!(list.iter().all(|r| !profile.seen.contains(&r.item)), "seen movies are not recommended");
            published += 1;
        }
    }
    assert_eq!(published, manifest["users"].as_u64().unwrap(), "every user has a profile");

    // Training again on the same data gives the same version: it is a content hash. With
    // --evaluate the blobs are the same, and the manifest also holds held-out figures.
    assert!(manifest.get("evaluation").is_none(), "no evaluation unless asked");
    let again = json(&marquee(&[
        "train",
        "--data",
        world.to_str().unwrap(),
        "--out",
        models.to_str().unwrap(),
        "--shards",
        "4",
        "--evaluate",
        "--json",
    ]));
    assert_eq!(again["version"], manifest["version"]);
    let evaluation = &again["evaluation"];
    assert_eq!(evaluation["k"], 20);
    assert!(evaluation["users"].as_u64().unwrap() > 0, "{evaluation}");
    for metric in ["ndcg", "hit_rate", "mrr", "coverage"] {
        let value = evaluation[metric].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&value) && value > 0.0, "{metric} = {value}");
    }
    assert!(evaluation["rmse"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let missing = marquee_unchecked(&["compare", "--data", "/definitely/not/here"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/definitely/not/here"));

    let dir = tempfile::tempdir().unwrap();
    movielens_folder(dir.path());
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "user_id,movie_id,rating,timestamp\n").unwrap();
    let output =
        marquee_unchecked(&["evaluate", "--data", dir.path().to_str().unwrap(), "--test", empty.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds no ratings"));

    let models = dir.path().join("models");
    let zero = marquee_unchecked(&[
        "train",
        "--data",
        dir.path().to_str().unwrap(),
        "--out",
        models.to_str().unwrap(),
        "--shards",
        "0",
    ]);
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--shards"));
    assert!(!models.exists(), "a refused run writes nothing");
}
