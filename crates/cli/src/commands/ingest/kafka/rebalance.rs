//! The consumer's context: librdkafka calls it from inside `poll` when the group gives this
//! consumer partitions or takes them away, when a broker fails, and with statistics.
//!
//! Before partitions are taken away, the batch is stored and its offsets committed, so the
//! next owner starts exactly after what this consumer stored. On the first assignment of a
//! partition in a run, `--from earliest|latest` moves its start; afterwards (a rebalance
//! mid-run) the committed offset is where it resumes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use super::batch_commit::BatchWriter;

/// Where a partition starts the first time this run is given it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StartFrom {
    /// Where the group's committed offset says (the oldest retained message if it has none).
    #[default]
    Committed,
    /// The oldest message the topic retains, whatever the group committed.
    Earliest,
    /// Only messages produced from now on.
    Latest,
}

/// How long the same kind of broker error stays quiet after it was printed: librdkafka
/// retries every second or so, and one line per retry would bury everything else.
const ERROR_QUIET_PERIOD: Duration = Duration::from_secs(30);

/// How long a newly assigned partition's committed offset is asked for.
const COMMITTED_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which partitions this consumer holds.
#[derive(Debug, Default)]
pub struct Assignment {
    /// Partitions currently assigned to this consumer.
    pub partitions: BTreeSet<i32>,
    /// Bumped on every assignment and revocation, so the loop can tell an end-of-partition
    /// event of the current assignment from an older one.
    pub generation: u64,
    /// Partitions assigned at least once during this run.
    started: BTreeSet<i32>,
}

/// Broker errors, printed once per kind per quiet period, and when messages flow again.
#[derive(Default)]
struct BrokerTrouble {
    /// When each kind of error was last printed (a handful of kinds at most).
    last_printed: Vec<(RDKafkaErrorCode, Instant)>,
    since: Option<Instant>,
}

/// Everything the consumer loop and librdkafka's callbacks share.
pub struct IngestContext {
    topic: String,
    start: StartFrom,
    /// The batch, the store and the offsets (locked per message; never across a poll).
    pub writer: Mutex<BatchWriter>,
    /// Which partitions this consumer holds.
    pub assignment: Mutex<Assignment>,
    /// Each partition's high watermark (the offset after its newest message), from statistics.
    pub high_watermarks: Mutex<BTreeMap<i32, i64>>,
    trouble: Mutex<BrokerTrouble>,
    /// Whether errors came since the last message (checked per message without a lock).
    troubled: AtomicBool,
}

/// Locks a mutex even if a panic elsewhere poisoned it: the data is counters and offsets,
/// still meaningful.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IngestContext {
    /// A context for consuming `topic` into `writer`, starting as `start` says.
    pub fn new(topic: &str, start: StartFrom, writer: BatchWriter) -> Self {
        IngestContext {
            topic: topic.to_owned(),
            start,
            writer: Mutex::new(writer),
            assignment: Mutex::new(Assignment::default()),
            high_watermarks: Mutex::new(BTreeMap::new()),
            trouble: Mutex::new(BrokerTrouble::default()),
            troubled: AtomicBool::new(false),
        }
    }

    /// Prints a broker or consumer error (librdkafka retries on its own), unless the same
    /// kind was printed within the quiet period.
    pub fn report_trouble(&self, error: &KafkaError, reason: &str) {
        let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
        let mut trouble = lock(&self.trouble);
        let now = Instant::now();
        trouble.since.get_or_insert(now);
        self.troubled.store(true, Ordering::Relaxed);
        let last = trouble.last_printed.iter_mut().find(|(kind, _)| *kind == code);
        let quiet = last.as_ref().is_some_and(|(_, last)| now.duration_since(*last) < ERROR_QUIET_PERIOD);
        if !quiet {
            match last {
                Some((_, last)) => *last = now,
                None => trouble.last_printed.push((code, now)),
            }
            eprintln!("kafka: {reason} (retrying; the same error stays quiet for {}s)", ERROR_QUIET_PERIOD.as_secs());
        }
    }

    /// Called when a message arrives: says so once if broker errors came before it.
    pub fn note_messages_flow(&self) {
        if !self.troubled.swap(false, Ordering::Relaxed) {
            return;
        }
        let mut trouble = lock(&self.trouble);
        if let Some(since) = trouble.since.take() {
            trouble.last_printed.clear();
            eprintln!("kafka: receiving messages again ({:.0}s after the first error)", since.elapsed().as_secs_f64());
        }
    }

    fn partitions_of(&self, list: &TopicPartitionList) -> Vec<i32> {
        list.elements_for_topic(&self.topic).iter().map(|element| element.partition()).collect()
    }

    fn assign(&self, consumer: &BaseConsumer<Self>, list: &mut TopicPartitionList) {
        let partitions = self.partitions_of(list);
        {
            let mut assignment = lock(&self.assignment);
            for &partition in &partitions {
                let first_time = assignment.started.insert(partition);
                let start = match self.start {
                    StartFrom::Committed => None,
                    StartFrom::Earliest => Some(Offset::Beginning),
                    StartFrom::Latest => Some(Offset::End),
                };
                if let (true, Some(offset)) = (first_time, start) {
                    if let Err(error) = list.set_partition_offset(&self.topic, partition, offset) {
                        eprintln!(
                            "kafka: cannot set partition {partition}'s start ({error}); it resumes where committed"
                        );
                    }
                }
                assignment.partitions.insert(partition);
            }
            assignment.generation += 1;
        }
        let assigned = match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_assign(list),
            _ => consumer.assign(list),
        };
        match assigned {
            Ok(()) => {
                eprintln!("kafka: assigned {} partition(s) {partitions:?}", self.topic);
                self.learn_committed(consumer, list);
            }
            Err(error) => {
                lock(&self.writer).failure.get_or_insert(anyhow::anyhow!("taking partitions {partitions:?}: {error}"));
            }
        }
    }

    /// Asks the group coordinator where the partitions' committed offsets are, so the lag
    /// is known before this run commits anything (left unknown if the coordinator is away).
    fn learn_committed(&self, consumer: &BaseConsumer<Self>, list: &TopicPartitionList) {
        let Ok(committed) = consumer.committed_offsets(list.clone(), COMMITTED_QUERY_TIMEOUT) else { return };
        let mut writer = lock(&self.writer);
        for element in committed.elements_for_topic(&self.topic) {
            if let Offset::Offset(offset) = element.offset() {
                writer.note_committed(element.partition(), offset);
            }
        }
    }

    fn revoke(&self, consumer: &BaseConsumer<Self>, list: &TopicPartitionList) {
        let partitions = self.partitions_of(list);
        {
            let mut writer = lock(&self.writer);
            if consumer.assignment_lost() {
                eprintln!(
                    "kafka: the group took partitions {partitions:?} away (this consumer was too slow or cut off)"
                );
            }
            if let Err(error) = writer.flush(consumer) {
                writer.failure.get_or_insert(error);
            }
            writer.release(&partitions);
        }
        {
            let mut assignment = lock(&self.assignment);
            for partition in &partitions {
                assignment.partitions.remove(partition);
            }
            assignment.generation += 1;
        }
        let unassigned = match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_unassign(list),
            _ => consumer.unassign(),
        };
        if let Err(error) = unassigned {
            eprintln!("kafka: giving up partitions {partitions:?} failed: {error}");
        }
        eprintln!(
            "kafka: partitions {partitions:?} of {} handed back (what was read is stored and committed)",
            self.topic
        );
    }
}

impl ClientContext for IngestContext {
    fn error(&self, error: KafkaError, reason: &str) {
        // An end-of-partition notice can arrive here during a rebalance; it is no trouble
        // (the loop also tells the end from the high watermark).
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            self.report_trouble(&error, reason);
        }
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        print_severe_log(level, facility, message);
    }

    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else { return };
        let mut high_watermarks = lock(&self.high_watermarks);
        // Partition -1 is librdkafka's internal "unassigned" queue; negative offsets are unknown.
        for (&partition, figures) in &topic.partitions {
            if partition >= 0 && figures.hi_offset >= 0 {
                high_watermarks.insert(partition, figures.hi_offset);
            }
        }
    }
}

impl ConsumerContext for IngestContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, list: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.assign(consumer, list),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.revoke(consumer, list),
            other => {
                let code: RDKafkaErrorCode = other.into();
                eprintln!("kafka: rebalancing failed ({code}); giving up the partitions and rejoining");
                self.revoke(consumer, list);
            }
        }
    }
}

/// librdkafka's log lines: the errors among them also reach [`ClientContext::error`], which
/// prints them once per quiet period, so only the severe ones are printed here.
fn print_severe_log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    if matches!(level, RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical) {
        eprintln!("kafka: {facility}: {message}");
    }
}

/// The context of the client that only checks the topic before anything is stored: quiet,
/// since the check prints its own message while the brokers do not answer.
pub struct TopicCheckContext;

impl ClientContext for TopicCheckContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        print_severe_log(level, facility, message);
    }

    fn error(&self, _error: KafkaError, _reason: &str) {}
}

impl ConsumerContext for TopicCheckContext {}
