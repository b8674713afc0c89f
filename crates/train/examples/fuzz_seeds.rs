//! Writes the fuzz targets' seed inputs (`fuzz/seeds/<target>/`): real blobs of every kind
//! and real data files, all made by Marquee from a tiny built-in world, small enough to
//! commit and to mutate quickly.
//!
//! ```text
//! cargo run -p marquee-train --example fuzz_seeds -- fuzz/seeds
//! ```
//!
//! The world and every fit are seeded, so running it again writes the same files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use marquee_data::csv_triple::{write_movies, write_users, RatingsWriter};
use marquee_data::metadata::{movie_to_json, user_to_json};
use marquee_data::store::Store;
use marquee_data::world::{World, WorldConfig};
use marquee_data::{Dataset, Rating, RatingScale};
use marquee_train::gbdt::TrainParams;
use marquee_train::mf::{BiasedSvdParams, BprParams};
use marquee_train::recommend::{fit_hybrid, profile_shards, CatalogParams, HybridParams, Interactions};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let out = std::env::args().nth(1).map(PathBuf::from).ok_or("usage: fuzz_seeds <seeds folder>")?;
    let world =
        World::generate(WorldConfig { users: 40, movies: 30, days: 3, malformed_rate: 0.05, ..Default::default() })?;
    let mut stream = String::new();
    let mut ratings = Vec::new();
    world.simulate(|line| writeln!(stream, "{line}").unwrap_or(()), |rating| ratings.push(rating.clone()), |_| {});

    write_model_seeds(&out, &world, &stream)?;
    write_data_seeds(&out, &world, &stream, &ratings)?;
    Ok(())
}

/// The four blob kinds, from a hybrid fitted small: few factors, few shallow trees.
fn write_model_seeds(out: &Path, world: &World, stream: &str) -> Result<(), Error> {
    let mut store = Store::open_in_memory()?;
    store.ingest_stream(stream.as_bytes(), RatingScale::FIVE, |_| {})?;
    store.ingest_dataset(&Dataset { users: world.users.clone(), movies: world.movies.clone(), ratings: vec![] })?;
    let data = Interactions::from_store(&store)?;
    let defaults = HybridParams::default();
    let small_trees = |defaults: TrainParams, rounds| TrainParams { rounds, max_depth: 3, threads: 1, ..defaults };
    let params = HybridParams {
        svd: BiasedSvdParams { factors: 4, ..BiasedSvdParams::default() },
        bpr: BprParams { factors: 4, ..BprParams::default() },
        catalog: CatalogParams { popular: 20, per_segment: 5, new_releases: 5, ..CatalogParams::default() },
        ranker: small_trees(defaults.ranker.clone(), 6),
        rating_head: defaults.rating_head.clone().map(|head| small_trees(head, 4)),
        shard_count: 2,
        ..defaults
    };
    let fitted = fit_hybrid(&data, &data.events, &params)?;
    let ensemble = fitted.recommender.ranker().ensemble();
    write(out, "ensemble_blob", "ranker_v2.blob", &ensemble.to_blob()?)?;
    write(out, "ensemble_blob", "ranker_v1.blob", &ensemble.to_blob_version(1)?)?;
    if let Some(head) = fitted.recommender.rating_head() {
        write(out, "ensemble_blob", "rating_head_v2.blob", &head.ensemble().to_blob()?)?;
    }
    write(out, "svd_blob", "svd.blob", &fitted.svd.to_blob()?)?;
    write(out, "recommender_blob", "recommender.blob", &fitted.recommender.to_blob()?)?;
    for (shard, bytes) in profile_shards(&fitted.recommender, &fitted.profiles)?.iter().enumerate() {
        write(out, "profile_shard_blob", &format!("{shard:05}.blob"), bytes)?;
    }
    Ok(())
}

/// Stream lines, metadata JSON in the shapes users bring, and the CSV triple.
fn write_data_seeds(out: &Path, world: &World, stream: &str, ratings: &[Rating]) -> Result<(), Error> {
    let lines: Vec<&str> = stream.lines().collect();
    for (index, chunk) in lines.chunks(12).take(6).enumerate() {
        write(out, "stream_line", &format!("stream_{index}.txt"), chunk.join("\n").as_bytes())?;
    }

    let users: Vec<String> = world.users.iter().take(6).map(|user| user_to_json(user).to_string()).collect();
    write(out, "metadata_json", "users.jsonl", users.join("\n").as_bytes())?;
    let movies: Vec<_> = world.movies.iter().take(3).map(movie_to_json).collect();
    write(out, "metadata_json", "movies_pretty.json", serde_json::to_string_pretty(&movies)?.as_bytes())?;
    let movie = world.movies.first().map(movie_to_json).unwrap_or_default();
    write(out, "metadata_json", "movie.json", movie.to_string().as_bytes())?;

    let mut writer = RatingsWriter::new(Vec::new())?;
    for rating in ratings.iter().take(15) {
        writer.write(rating)?;
    }
    let mut triple = b"#file ratings.csv\n".to_vec();
    triple.extend(writer.finish()?);
    triple.extend(b"#file users.csv\n");
    write_users(&mut triple, world.users.get(..5).unwrap_or_default())?;
    triple.extend(b"#file movies.csv\n");
    write_movies(&mut triple, world.movies.get(..4).unwrap_or_default())?;
    write(out, "csv_triple_files", "triple.txt", &triple)?;
    Ok(())
}

fn write(out: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    println!("{:>6} bytes  {target}/{name}", bytes.len());
    Ok(())
}
