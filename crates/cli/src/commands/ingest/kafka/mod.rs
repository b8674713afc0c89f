//! `marquee ingest kafka://BROKER[,BROKER...]/TOPIC`: the movie service's topic consumed as a
//! member of a consumer group, through the same parser and store as every other source.
//!
//! - `source_url.rs`: parsing `kafka://` URLs, with clear errors for bad ones;
//! - `consumer.rs`: the consumer loop: connect, subscribe, batch by size and time, stop;
//! - `batch_commit.rs`: a batch is stored in one transaction, and only then are its offsets
//!   committed to Kafka;
//! - `rebalance.rs`: librdkafka's callbacks: partitions assigned and revoked (revoking
//!   stores and commits first), `--from`, broker errors, statistics;
//! - `metrics.rs`: `--metrics ADDR`, lag and throughput as Prometheus text;
//! - `progress_line.rs`: the line on stderr every few seconds;
//! - `stop_signal.rs`: Ctrl-C and SIGTERM stop cleanly.

mod batch_commit;
mod consumer;
mod metrics;
mod progress_line;
mod rebalance;
mod source_url;
mod stop_signal;

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use marquee_data::store::{StreamIngest, MAX_MINUTE};
use marquee_data::RatingScale;
use serde::Serialize;

pub use batch_commit::PartitionProgress;
pub use rebalance::StartFrom;
pub use source_url::KafkaUrl;

/// The options of a `kafka://` source, as given on the command line (unset ones take
/// [`KafkaOptions::default`]).
#[derive(clap::Args, Debug, Default)]
#[command(next_help_heading = "Kafka sources (kafka://BROKER[,BROKER...]/TOPIC)")]
pub struct KafkaArgs {
    /// The consumer group to join: its committed offsets are where a restart resumes, and
    /// its members share the topic's partitions [default: marquee].
    #[arg(long)]
    group: Option<String>,
    /// Where each partition starts the first time this run is given it: the group's
    /// committed offset (the oldest retained message if none), the oldest retained message,
    /// or only new messages [default: committed].
    #[arg(long, value_enum)]
    from: Option<StartFrom>,
    /// Keep consuming as messages arrive, until Ctrl-C or SIGTERM (which store and commit
    /// what was read, then stop). Without it, the ingest stops once every assigned
    /// partition is read to its end.
    #[arg(long)]
    follow: bool,
    /// Stop after reading this many messages (stored and committed before exiting).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_messages: Option<u64>,
    /// The most lines a batch holds before it is stored and its offsets committed
    /// [default: 250000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch_messages: Option<u64>,
    /// The longest a batch waits, in milliseconds, from its first message until it is
    /// stored and committed [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch_ms: Option<u64>,
    /// Serve the consumer's lag and throughput as Prometheus text on http://ADDR/metrics
    /// (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
}

impl KafkaArgs {
    /// The first Kafka option given, if any (they mean nothing without a `kafka://` source).
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.group.is_some(), "--group"),
            (self.from.is_some(), "--from"),
            (self.follow, "--follow"),
            (self.max_messages.is_some(), "--max-messages"),
            (self.batch_messages.is_some(), "--batch-messages"),
            (self.batch_ms.is_some(), "--batch-ms"),
            (self.metrics.is_some(), "--metrics"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }

    /// The options, with defaults for those not given; contradictions are refused.
    pub fn options(&self) -> Result<KafkaOptions> {
        if self.follow && self.max_messages.is_some() {
            bail!("--follow and --max-messages contradict each other: give one");
        }
        let defaults = KafkaOptions::default();
        Ok(KafkaOptions {
            group: self.group.clone().unwrap_or(defaults.group),
            from: self.from.unwrap_or(defaults.from),
            follow: self.follow,
            max_messages: self.max_messages,
            batch_lines: self.batch_messages.map_or(defaults.batch_lines, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            batch_wait: self.batch_ms.map_or(defaults.batch_wait, Duration::from_millis),
            metrics: self.metrics.clone(),
        })
    }
}

/// How a `kafka://` source is consumed.
#[derive(Clone, Debug)]
pub struct KafkaOptions {
    /// The consumer group.
    pub group: String,
    /// Where partitions start the first time this run is given them.
    pub from: StartFrom,
    /// Keep consuming until stopped, rather than until caught up.
    pub follow: bool,
    /// Stop after this many messages.
    pub max_messages: Option<u64>,
    /// Lines per batch (one store transaction and one offset commit).
    pub batch_lines: usize,
    /// The longest a batch waits from its first message.
    pub batch_wait: Duration,
    /// Where to serve `/metrics`, if anywhere.
    pub metrics: Option<String>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            group: "marquee".into(),
            from: StartFrom::Committed,
            follow: false,
            max_messages: None,
            // As many events as a file ingest's transaction: commits stay rare at full speed.
            batch_lines: 250_000,
            // A second: a following consumer's data is in the store a second after it is
            // produced, at one transaction and one commit per second when traffic is light.
            batch_wait: Duration::from_secs(1),
            metrics: None,
        }
    }
}

/// Why consuming stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// Every assigned partition was read to its end (without `--follow`).
    CaughtUp,
    /// `--max-messages` were read.
    MaxMessages,
    /// Ctrl-C or SIGTERM.
    Signal,
}

/// What consuming a topic read and stored.
#[derive(Debug, Serialize)]
pub struct KafkaIngest {
    /// The source, in words.
    pub source: String,
    /// The consumer group.
    pub group: String,
    /// Why it stopped.
    pub stopped: Stopped,
    /// Seconds from the first message read to the last offset commit (0 if none was read).
    pub seconds: f64,
    /// Messages read (re-deliveries after a rebalance included).
    pub messages: u64,
    /// Lines by kind and what storing them changed; `report` sums the partitions' reports.
    pub stream: StreamIngest,
    /// Each partition's offsets and skipped lines (examples by offset).
    pub partitions: Vec<PartitionProgress>,
    /// Whether offsets of stored messages could not be committed before exiting (the next
    /// run re-reads those messages, which changes nothing).
    pub uncommitted: bool,
}

/// Consumes `url` into the store at `db`.
pub fn ingest(url: &KafkaUrl, options: &KafkaOptions, db: &Path, scale: RatingScale) -> Result<KafkaIngest> {
    consumer::consume(url, options, db, scale)
}

/// Prints what a Kafka ingest did, with skipped lines by partition and offset.
pub fn print_summary(result: &KafkaIngest) {
    let stream = &result.stream;
    println!("{} (group {})", result.source, result.group);
    let stopped = match result.stopped {
        Stopped::CaughtUp => "read every assigned partition to its end",
        Stopped::MaxMessages => "read --max-messages",
        Stopped::Signal => "stopped by a signal",
    };
    println!(
        "  {} messages in {:.1}s, {} lines read, {} parsed, {} skipped; {stopped}",
        result.messages,
        result.seconds,
        stream.report.lines,
        stream.report.parsed,
        stream.report.skipped_total()
    );
    for partition in &result.partitions {
        let committed = partition.committed_next.map_or("none".to_owned(), |offset| offset.to_string());
        println!("  partition {}: {} messages, committed offset {committed}", partition.partition, partition.messages);
        for (kind, count) in &partition.report.skipped {
            println!("    {kind}: {count}");
            for example in partition.report.examples.get(kind).into_iter().flatten() {
                println!("      offset {}: {} ({:?})", example.line, example.reason, example.excerpt);
            }
        }
    }
    println!(
        "  stored: {} sessions changed, {} new ratings, {} new recommendation requests, {} accounts",
        stream.sessions_changed, stream.new_ratings, stream.new_recommendations, stream.account_lines
    );
    if stream.minutes_beyond_limit > 0 {
        println!("  refused: {} watch lines past minute {}", stream.minutes_beyond_limit, MAX_MINUTE);
    }
    if result.uncommitted {
        println!(
            "  offsets: some stored messages' offsets could not be committed; the next run re-reads them harmlessly"
        );
    }
}
