//! `marquee bench ingest`: how fast the stream parses and how fast the store takes it.

use std::time::Instant;

use anyhow::Result;
use marquee_data::store::Store;
use marquee_data::world::{World, WorldConfig};
use marquee_data::RatingScale;
use serde::Serialize;

use crate::commands::ingest::kafka::KafkaOptions;

/// The goals, printed next to the figures.
const PARSE_GOAL_LINES_PER_SECOND: f64 = 2_000_000.0;
const INGEST_GOAL_EVENTS_PER_SECOND: f64 = 500_000.0;

#[derive(clap::Args)]
pub struct BenchIngestArgs {
    /// Users in the benchmark world (the movie service has about a million).
    #[arg(long, default_value_t = 1_000_000)]
    users: u32,
    /// Movies in the benchmark world (the movie service has about 27,000).
    #[arg(long, default_value_t = 27_000)]
    movies: u32,
    /// How many stream lines to measure on (the world's first day, cut at this count).
    #[arg(long, default_value_t = 5_000_000)]
    lines: usize,
    /// Also measure the Kafka path: the same lines produced into librdkafka's mock cluster
    /// (in this process, on loopback) and consumed by `marquee ingest kafka://...` into a
    /// fresh store.
    #[arg(long)]
    kafka: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    users: u32,
    movies: u32,
    lines: u64,
    bytes: usize,
    parse_seconds: f64,
    parse_lines_per_second: f64,
    parse_goal_lines_per_second: f64,
    ingest_seconds: f64,
    ingest_events: u64,
    ingest_events_per_second: f64,
    ingest_goal_events_per_second: f64,
    skipped_lines: u64,
    kafka: Option<super::ingest_kafka::KafkaFigures>,
}

pub fn run(args: BenchIngestArgs) -> Result<()> {
    let config = WorldConfig { users: args.users, movies: args.movies, days: 1, ..WorldConfig::default() };
    config.validate().map_err(anyhow::Error::msg)?;
    tracing::info!(users = args.users, movies = args.movies, "generating the benchmark world's first day");
    let world = World::generate(config)?;
    let mut stream = String::new();
    let mut lines = 0usize;
    world.simulate(
        |line| {
            if lines < args.lines {
                stream.push_str(line);
                stream.push('\n');
                lines += 1;
            }
        },
        |_| {},
        |_| {},
    );
    tracing::info!(lines, bytes = stream.len(), "measuring");

    // Parse alone: the parser's own throughput, one core, no storage.
    let started = Instant::now();
    let mut parsed = 0u64;
    let report = marquee_data::stream::read_stream(stream.as_bytes(), RatingScale::FIVE, |_, _| parsed += 1)?;
    let parse_seconds = started.elapsed().as_secs_f64();

    // Parse and store into a fresh on-disk store, as `marquee ingest` does.
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("bench.db"))?;
    let started = Instant::now();
    let ingest = store.ingest_stream(stream.as_bytes(), RatingScale::FIVE, |_| {})?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    drop(store);

    let kafka = if args.kafka {
        tracing::info!("measuring the Kafka path through the mock cluster");
        Some(super::ingest_kafka::measure(&stream, &dir.path().join("kafka.db"))?)
    } else {
        None
    };

    let figures = Figures {
        users: args.users,
        movies: args.movies,
        lines: report.lines,
        bytes: stream.len(),
        parse_seconds,
        parse_lines_per_second: report.lines as f64 / parse_seconds,
        parse_goal_lines_per_second: PARSE_GOAL_LINES_PER_SECOND,
        ingest_seconds,
        ingest_events: ingest.events(),
        ingest_events_per_second: ingest.events() as f64 / ingest_seconds,
        ingest_goal_events_per_second: INGEST_GOAL_EVENTS_PER_SECOND,
        skipped_lines: report.skipped_total(),
        kafka,
    };
    if args.json {
        return super::super::print_json(&figures);
    }
    println!(
        "world: {} users x {} movies; {} lines ({:.1} MB), {} malformed",
        figures.users,
        figures.movies,
        figures.lines,
        figures.bytes as f64 / 1e6,
        figures.skipped_lines
    );
    println!(
        "parse:  {:>12.0} lines/s  (1 thread, timer around the parse alone; goal {:.0}; ratio {:.2})",
        figures.parse_lines_per_second,
        PARSE_GOAL_LINES_PER_SECOND,
        figures.parse_lines_per_second / PARSE_GOAL_LINES_PER_SECOND
    );
    println!(
        "ingest: {:>12.0} events/s (1 thread, timer around parse and store into SQLite on disk; goal {:.0}; ratio {:.2})",
        figures.ingest_events_per_second,
        INGEST_GOAL_EVENTS_PER_SECOND,
        figures.ingest_events_per_second / INGEST_GOAL_EVENTS_PER_SECOND
    );
    println!("        (parse and ingest: one thread; the timer covers parsing and storing an in-memory stream)");
    if let Some(kafka) = &figures.kafka {
        println!(
            "kafka:  {:>12.0} events/s ({:.0} messages/s; {:.2} of the file path's events/s, goal at least 0.5)",
            kafka.events_per_second,
            kafka.messages_per_second,
            kafka.events_per_second / figures.ingest_events_per_second
        );
        println!(
            "        (one consumer thread parses and stores, beside librdkafka's own threads and the mock broker's, \
             all in this process; the timer runs from the first message read to the last offset commit: \
             fetching {} messages from {} partitions over loopback, parsing, storing in transactions of up to \
             {} lines or {} ms, committing offsets after each; with connecting and joining the group, {:.1}s, \
             in which the process used {:.1}s of CPU: {:.2} cores on average)",
            kafka.messages,
            kafka.partitions,
            KafkaOptions::default().batch_lines,
            KafkaOptions::default().batch_wait.as_millis(),
            kafka.wall_seconds,
            kafka.cpu_seconds,
            kafka.cpu_seconds / kafka.wall_seconds
        );
    }
    Ok(())
}
