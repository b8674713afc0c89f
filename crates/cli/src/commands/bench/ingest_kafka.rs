//! `marquee bench ingest --kafka`: the same stream, produced into librdkafka's mock cluster
//! (in this process, on loopback) and consumed by `marquee ingest kafka://...`'s own code
//! into a fresh store.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use marquee_data::RatingScale;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde::Serialize;

use crate::commands::ingest::kafka::{self, KafkaOptions, KafkaUrl, StartFrom};

const TOPIC: &str = "movielog";

/// The mock broker keeps at most 5 MB per partition (older messages are dropped, as by a
/// retention limit), so the stream is spread over enough partitions to stay under that.
const BYTES_PER_PARTITION: usize = 3 * 1024 * 1024;

/// How long producing may take to drain into the mock broker.
const PRODUCE_FLUSH_TIMEOUT: Duration = Duration::from_secs(300);

/// What the Kafka path measured.
#[derive(Serialize)]
pub struct KafkaFigures {
    /// Messages produced and consumed (one stream line each).
    pub messages: u64,
    /// Partitions of the topic (one consumer reads them all).
    pub partitions: i32,
    /// Good lines stored.
    pub events: u64,
    /// From the first message read to the last offset commit.
    pub consume_seconds: f64,
    /// Events per second over `consume_seconds`.
    pub events_per_second: f64,
    /// Messages per second over `consume_seconds`.
    pub messages_per_second: f64,
    /// From creating the consumer to its exit: adds connecting and joining the group.
    pub wall_seconds: f64,
    /// CPU time of the whole process over `wall_seconds` (every thread: the consumer loop,
    /// librdkafka's and the mock broker's), so `cpu_seconds / wall_seconds` is the cores
    /// busy on average.
    pub cpu_seconds: f64,
}

/// Produces `stream`'s lines into a topic of a fresh mock cluster (consecutive lines in
/// one partition, as many partitions as the mock's size limit needs), then consumes them
/// with one consumer into a fresh store at `db` and times it.
pub fn measure(stream: &str, db: &std::path::Path) -> Result<KafkaFigures> {
    let partitions = i32::try_from(stream.len().div_ceil(BYTES_PER_PARTITION).max(1))?;
    let cluster = MockCluster::new(1).context("starting librdkafka's mock cluster")?;
    cluster.create_topic(TOPIC, partitions, 1).context("creating the benchmark topic")?;
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, stream, partitions)?;

    let url = KafkaUrl::parse(&format!("kafka://{bootstrap}/{TOPIC}"))?;
    let options = KafkaOptions { group: "bench".into(), from: StartFrom::Earliest, ..KafkaOptions::default() };
    let (started, cpu_before) = (Instant::now(), process_cpu_seconds()?);
    let result = kafka::ingest(&url, &options, db, RatingScale::FIVE)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds()? - cpu_before;
    let lines = stream.lines().count() as u64;
    if result.messages != lines {
        bail!("the consumer read {} messages of the {lines} produced", result.messages);
    }
    let events = result.stream.events();
    Ok(KafkaFigures {
        messages: result.messages,
        partitions,
        events,
        consume_seconds: result.seconds,
        events_per_second: events as f64 / result.seconds,
        messages_per_second: result.messages as f64 / result.seconds,
        wall_seconds,
        cpu_seconds,
    })
}

/// User and system CPU time of this process so far, over all its threads.
fn process_cpu_seconds() -> Result<f64> {
    // SAFETY: an all-zero `rusage` is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Err(std::io::Error::last_os_error()).context("reading the process's CPU time");
    }
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    Ok(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// One message per line, in order, each partition taking the next stretch of lines of at
/// most [`BYTES_PER_PARTITION`]; waits whenever the producer's queue is full.
fn produce(bootstrap: &str, stream: &str, partitions: i32) -> Result<()> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("creating the benchmark's producer")?;
    let mut bytes = 0usize;
    for line in stream.lines() {
        let partition = i32::try_from(bytes / BYTES_PER_PARTITION)?.min(partitions - 1);
        bytes += line.len() + 1;
        let mut record = BaseRecord::<(), str>::to(TOPIC).payload(line).partition(partition);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => bail!("producing the benchmark stream: {error}"),
            }
        }
    }
    producer.flush(PRODUCE_FLUSH_TIMEOUT).context("flushing the benchmark stream into the mock broker")?;
    Ok(())
}
