//! The consumer loop: connect (retrying while the brokers are unreachable), subscribe as a
//! group member, read messages into a batch that is stored and committed when it is full or
//! old enough, and stop when caught up, after `--max-messages`, or on a signal, storing and
//! committing what was read.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use marquee_data::store::Store;
use marquee_data::{ParseReport, RatingScale};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::Offset;

use super::batch_commit::BatchWriter;
use super::metrics::{IngestFigures, PartitionFigures};
use super::progress_line::ProgressLine;
use super::rebalance::{lock, IngestContext, TopicCheckContext};
use super::stop_signal::{self, StopSignal};
use super::{KafkaIngest, KafkaOptions, KafkaUrl, Stopped};

/// The longest one poll waits for a message; also how often a stop request is noticed.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// How often the figures behind `/metrics` are refreshed.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// How often the progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Without `--follow`, how long to keep trying brokers that do not answer at the start
/// (librdkafka keeps reconnecting meanwhile); with it, the consumer waits for them forever.
const CONNECT_PATIENCE: Duration = Duration::from_secs(60);

/// Without `--follow`, how long to wait for the group to assign a partition.
const ASSIGNMENT_PATIENCE: Duration = Duration::from_secs(60);

/// How long the last offset commit is retried before exiting with it undone.
const FINAL_COMMIT_PATIENCE: Duration = Duration::from_secs(15);

/// How many messages are read between checks of the batch's age.
const MESSAGES_PER_CLOCK_CHECK: u32 = 1024;

/// Consumes `url` into the store at `db` until caught up, `--max-messages`, or a signal.
pub fn consume(url: &KafkaUrl, options: &KafkaOptions, db: &Path, scale: RatingScale) -> Result<KafkaIngest> {
    let stop = stop_signal::install().context("installing the Ctrl-C handler")?;
    // The metrics address and the topic are checked before the store is opened, so a
    // mistake in either leaves no trace.
    let figures = Arc::new(Mutex::new(IngestFigures {
        topic: url.topic.clone(),
        group: options.group.clone(),
        ..IngestFigures::default()
    }));
    if let Some(address) = &options.metrics {
        let bound = super::metrics::serve(address, figures.clone())?;
        eprintln!("kafka: metrics on http://{bound}/metrics");
    }
    wait_for_topic(url, options, stop)?;
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let writer = BatchWriter::new(store, &url.topic, scale);
    let consumer: BaseConsumer<IngestContext> = client_config(url, options)
        .create_with_context(IngestContext::new(&url.topic, options.from, writer))
        .context("creating the Kafka consumer")?;
    consumer.subscribe(&[&url.topic]).with_context(|| format!("subscribing to {}", url.topic))?;

    let (stopped, first_message) = run_loop(&consumer, options, stop, &figures)?;

    // Store and commit what is left; retry the commit a while if the brokers are away.
    let context = consumer.context();
    lock(&context.writer).flush(&consumer)?;
    let deadline = Instant::now() + FINAL_COMMIT_PATIENCE;
    let mut committed = lock(&context.writer).commit_stored(&consumer);
    while !committed && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        committed = lock(&context.writer).commit_stored(&consumer);
    }
    let seconds = first_message.map_or(0.0, |first| first.elapsed().as_secs_f64());
    let summary = summarise(url, options, (stopped, seconds), !committed, &lock(&context.writer));
    // Leave the group now rather than after the session times out, so the partitions move
    // to the other members at once (dropping the consumer closes it: that revokes the
    // partitions, whose batch is empty by now).
    drop(consumer);
    Ok(summary)
}

fn client_config(url: &KafkaUrl, options: &KafkaOptions) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", url.bootstrap_servers())
        .set("group.id", &options.group)
        .set("client.id", "marquee-ingest")
        // Offsets are committed by hand, after the store has committed the batch.
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // A group with no committed offset (or one past retention) starts at the oldest
        // message: a trainer would rather read too much than skip.
        .set("auto.offset.reset", "earliest")
        // Tells the loop when a partition is read to its end (it stops there without --follow).
        .set("enable.partition.eof", "true")
        // A killed consumer's partitions move to the others within 10 s (Kafka's default is
        // 45 s); heartbeats come from librdkafka's own thread, so a long store transaction
        // does not count against it.
        .set("session.timeout.ms", "10000")
        // Statistics carry each partition's high watermark, for the lag.
        .set("statistics.interval.ms", "1000")
        // When the prefetch queue is full, ask again after 10 ms rather than librdkafka's
        // default second: this loop drains the queue far faster than that (2.5 times the
        // throughput in `marquee bench ingest --kafka`).
        .set("fetch.queue.backoff.ms", "10");
    config
}

/// Asks the brokers about the topic, through a client that joins no group, until they
/// answer: it must exist. Without `--follow` this gives up after [`CONNECT_PATIENCE`].
fn wait_for_topic(url: &KafkaUrl, options: &KafkaOptions, stop: StopSignal) -> Result<()> {
    let consumer: BaseConsumer<TopicCheckContext> =
        client_config(url, options).create_with_context(TopicCheckContext).context("creating a Kafka client")?;
    let started = Instant::now();
    let mut said_waiting = false;
    loop {
        match consumer.fetch_metadata(Some(&url.topic), Duration::from_secs(5)) {
            Ok(metadata) => {
                let topic = metadata.topics().iter().find(|topic| topic.name() == url.topic);
                match topic.map(|topic| (topic.error(), topic.partitions().len())) {
                    Some((None, partitions)) if partitions > 0 => {
                        if said_waiting {
                            eprintln!("kafka: connected to {}", url.bootstrap_servers());
                        }
                        eprintln!("kafka: topic {} has {partitions} partition(s)", url.topic);
                        return Ok(());
                    }
                    Some((Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART), _))
                    | Some((None, _))
                    | None => {
                        bail!(
                            "topic {:?} does not exist on {}: check the name, or create it",
                            url.topic,
                            url.bootstrap_servers()
                        )
                    }
                    Some((Some(error), _)) => bail!("topic {:?}: the brokers answered {error:?}", url.topic),
                }
            }
            Err(error) => {
                if !options.follow && started.elapsed() > CONNECT_PATIENCE {
                    bail!(
                        "cannot reach the Kafka brokers {} after {}s ({error}); is the address right and the broker up?",
                        url.bootstrap_servers(),
                        CONNECT_PATIENCE.as_secs()
                    );
                }
                if !said_waiting {
                    eprintln!("kafka: cannot reach {} yet ({error}); retrying", url.bootstrap_servers());
                    said_waiting = true;
                }
                if stop.requested() {
                    bail!("stopped before the brokers answered");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Reads until a stop condition; returns which, and when the first message arrived.
fn run_loop(
    consumer: &BaseConsumer<IngestContext>,
    options: &KafkaOptions,
    stop: StopSignal,
    figures: &Mutex<IngestFigures>,
) -> Result<(Stopped, Option<Instant>)> {
    let context = consumer.context();
    let subscribed = Instant::now();
    // Partitions read to their end, with the assignment generation they were read in.
    let mut at_end: BTreeMap<i32, u64> = BTreeMap::new();
    let mut messages = 0u64;
    let mut since_clock_check = 0u32;
    let mut last_refresh = Instant::now();
    let mut progress = ProgressLine::new(PROGRESS_EVERY);
    let mut first_message = None;
    loop {
        if stop.requested() {
            return Ok((Stopped::Signal, first_message));
        }
        if options.max_messages.is_some_and(|max| messages >= max) {
            return Ok((Stopped::MaxMessages, first_message));
        }
        let mut check_clock = false;
        let mut check_caught_up = false;
        match consumer.poll(POLL_TIMEOUT) {
            Some(Ok(message)) => {
                messages += 1;
                first_message.get_or_insert_with(Instant::now);
                let partition = message.partition();
                if !at_end.is_empty() {
                    at_end.remove(&partition);
                }
                context.note_messages_flow();
                let mut writer = lock(&context.writer);
                writer.add(partition, message.offset(), message.payload());
                if writer.batch_lines() >= options.batch_lines {
                    writer.flush(consumer)?;
                }
                since_clock_check += 1;
                if since_clock_check >= MESSAGES_PER_CLOCK_CHECK {
                    since_clock_check = 0;
                    check_clock = true;
                }
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition, lock(&context.assignment).generation);
                check_clock = true;
                check_caught_up = true;
            }
            Some(Err(KafkaError::MessageConsumptionFatal(code))) => {
                // librdkafka cannot go on (e.g. this member was fenced): stop; the store and
                // the committed offsets agree, so a restart resumes cleanly.
                bail!("the Kafka consumer hit a fatal error: {code}");
            }
            Some(Err(error)) => {
                context.report_trouble(&error, &error.to_string());
                check_clock = true;
            }
            None => {
                check_clock = true;
                check_caught_up = true;
            }
        }
        if let Some(failure) = lock(&context.writer).failure.take() {
            return Err(failure.context("while the group rebalanced"));
        }
        if !check_clock {
            continue;
        }
        {
            let mut writer = lock(&context.writer);
            if writer.batch_started().is_some_and(|started| started.elapsed() >= options.batch_wait) {
                writer.flush(consumer)?;
            }
        }
        if last_refresh.elapsed() >= REFRESH_EVERY {
            last_refresh = Instant::now();
            let snapshot = current_figures(consumer, figures);
            progress.tick(&snapshot);
            *lock(figures) = snapshot;
        }
        if check_caught_up && !options.follow {
            let assignment = lock(&context.assignment);
            let high_watermarks = lock(&context.high_watermarks);
            let writer = lock(&context.writer);
            // At its end: the end-of-partition event of this assignment came, or (should
            // that event be lost in a rebalance) the statistics' high watermark is reached.
            let at_its_end = |partition: &i32| {
                at_end.get(partition) == Some(&assignment.generation)
                    || high_watermarks
                        .get(partition)
                        .is_some_and(|&end| writer.next_offset(*partition).is_some_and(|next| next >= end))
            };
            let caught_up = !assignment.partitions.is_empty() && assignment.partitions.iter().all(at_its_end);
            if caught_up {
                return Ok((Stopped::CaughtUp, first_message));
            }
            if assignment.generation == 0 && subscribed.elapsed() > ASSIGNMENT_PATIENCE {
                bail!(
                    "the group assigned this consumer no partition within {}s: its other members hold them all",
                    ASSIGNMENT_PATIENCE.as_secs()
                );
            }
        }
    }
}

/// The figures for `/metrics` and the progress line, from the writer, the statistics'
/// high watermarks and, for partitions with nothing committed in this run yet, the
/// consumer's position.
fn current_figures(consumer: &BaseConsumer<IngestContext>, previous: &Mutex<IngestFigures>) -> IngestFigures {
    let context = consumer.context();
    let mut figures = lock(previous).clone();
    let assigned = lock(&context.assignment).partitions.clone();
    let high_watermarks = lock(&context.high_watermarks).clone();
    let positions: BTreeMap<i32, i64> = consumer
        .position()
        .map(|list| {
            list.elements()
                .iter()
                .filter_map(|element| match element.offset() {
                    Offset::Offset(offset) => Some((element.partition(), offset)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let writer = lock(&context.writer);
    figures.messages_read = writer.messages_read();
    figures.messages_stored = writer.messages_stored;
    figures.commit_failures = writer.commit_failures;
    figures.last_commit_unix_seconds = writer.last_commit_unix_seconds;
    let mut skipped = ParseReport::default();
    for progress in writer.partitions() {
        skipped.merge(ParseReport { skipped: progress.report.skipped.clone(), ..ParseReport::default() });
    }
    figures.lines_skipped = skipped.skipped;
    let committed: BTreeMap<i32, i64> =
        writer.partitions().filter_map(|progress| Some((progress.partition, progress.committed_next?))).collect();
    figures.partitions = assigned
        .iter()
        .map(|&partition| {
            let committed_next = committed.get(&partition).or_else(|| positions.get(&partition)).copied();
            (partition, PartitionFigures { committed_next, high_watermark: high_watermarks.get(&partition).copied() })
        })
        .collect();
    figures
}

fn summarise(
    url: &KafkaUrl,
    options: &KafkaOptions,
    (stopped, seconds): (Stopped, f64),
    uncommitted: bool,
    writer: &BatchWriter,
) -> KafkaIngest {
    let mut stream = writer.stored().clone();
    for progress in writer.partitions() {
        stream.report.merge(progress.report.clone());
    }
    KafkaIngest {
        source: format!("Kafka topic {} on {}", url.topic, url.bootstrap_servers()),
        group: options.group.clone(),
        stopped,
        seconds,
        messages: writer.messages_read(),
        stream,
        partitions: writer.partitions().cloned().collect(),
        uncommitted,
    }
}
