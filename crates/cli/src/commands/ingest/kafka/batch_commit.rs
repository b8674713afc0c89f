//! The one ordering that makes a crash harmless: a batch of messages is stored in one store
//! transaction, and only once that has committed are the batch's offsets committed to Kafka.
//!
//! A crash before the store commits loses nothing (Kafka still holds the old offsets, so the
//! messages are read again); a crash between the two re-reads messages already stored, and
//! ingest is idempotent, so storing them again changes nothing.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use marquee_data::store::{Store, StreamBatch, StreamIngest};
use marquee_data::{ParseReport, RatingScale};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

/// Where one partition stands, by the offset of the next message in each state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PartitionProgress {
    /// The partition's number.
    pub partition: i32,
    /// Messages read from it during this run (re-deliveries after a rebalance included).
    pub messages: u64,
    /// The first offset read during this run.
    pub first_offset: Option<i64>,
    /// The offset after the last message read.
    pub read_next: Option<i64>,
    /// The offset after the last message whose store transaction has committed.
    pub stored_next: Option<i64>,
    /// The offset committed to Kafka for the group: where the next run starts.
    pub committed_next: Option<i64>,
    /// Lines skipped, by kind; the examples' `line` is the message's offset.
    pub report: ParseReport,
}

/// The batch being filled, the store it goes into, and each partition's offsets.
pub struct BatchWriter {
    store: Store,
    batch: StreamBatch,
    topic: String,
    partitions: BTreeMap<i32, PartitionProgress>,
    /// What the stored batches held and changed.
    stored: StreamIngest,
    /// When the first message of the current batch arrived.
    batch_started: Option<Instant>,
    /// Messages in the current batch.
    batch_messages: u64,
    /// Messages whose store transaction has committed, during this run.
    pub messages_stored: u64,
    /// Offset commits that failed (each is retried with the next flush).
    pub commit_failures: u64,
    /// When offsets were last committed, in seconds since the Unix epoch.
    pub last_commit_unix_seconds: Option<f64>,
    /// A failure inside a rebalance callback, which cannot return one: the loop ends on it.
    pub failure: Option<anyhow::Error>,
}

impl BatchWriter {
    /// A writer into `store` for the messages of `topic`.
    pub fn new(store: Store, topic: &str, scale: RatingScale) -> Self {
        BatchWriter {
            store,
            batch: StreamBatch::new(scale),
            topic: topic.to_owned(),
            partitions: BTreeMap::new(),
            stored: StreamIngest::default(),
            batch_started: None,
            batch_messages: 0,
            messages_stored: 0,
            commit_failures: 0,
            last_commit_unix_seconds: None,
            failure: None,
        }
    }

    /// Adds one message to the batch. A message holds one stream line (a trailing newline
    /// is allowed); one holding several newline-separated lines is split; an empty or null
    /// message counts as an empty line.
    pub fn add(&mut self, partition: i32, offset: i64, payload: Option<&[u8]>) {
        let progress = self
            .partitions
            .entry(partition)
            .or_insert_with(|| PartitionProgress { partition, ..PartitionProgress::default() });
        progress.messages += 1;
        progress.first_offset.get_or_insert(offset);
        progress.read_next = Some(offset + 1);
        let payload = payload.unwrap_or_default();
        let payload = payload.strip_suffix(b"\n").unwrap_or(payload);
        let position = u64::try_from(offset).unwrap_or_default();
        for line in payload.split(|&byte| byte == b'\n') {
            self.batch.add_line(line, position, &mut progress.report);
        }
        self.batch_started.get_or_insert_with(Instant::now);
        self.batch_messages += 1;
    }

    /// Lines held in the batch.
    pub fn batch_lines(&self) -> usize {
        self.batch.lines()
    }

    /// When the current batch's first message arrived, if it holds any.
    pub fn batch_started(&self) -> Option<Instant> {
        self.batch_started
    }

    /// Stores the batch (one transaction), then commits every stored offset not yet
    /// committed. A failed commit is reported and retried on the next flush: the messages
    /// are safe in the store, and reading them again would change nothing.
    pub fn flush<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<()> {
        self.store_batch()?;
        self.commit_stored(consumer);
        Ok(())
    }

    /// Writes the batch in one store transaction and marks its offsets stored.
    fn store_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let written = self.store.write_stream_batch(&mut self.batch).context("storing a batch of Kafka messages")?;
        self.stored.merge(written);
        for progress in self.partitions.values_mut() {
            progress.stored_next = progress.read_next;
        }
        self.batch_started = None;
        self.messages_stored += std::mem::take(&mut self.batch_messages);
        Ok(())
    }

    /// Commits, for each partition, the offset after its last stored message, if that is
    /// not what Kafka already holds. Returns whether everything stored is now committed.
    pub fn commit_stored<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> bool {
        let mut offsets = TopicPartitionList::new();
        for progress in self.partitions.values() {
            if let Some(next) = progress.stored_next.filter(|&next| progress.committed_next != Some(next)) {
                // Adding to a fresh list fails only for an invalid offset, which `next` is not.
                let _ = offsets.add_partition_offset(&self.topic, progress.partition, Offset::Offset(next));
            }
        }
        if offsets.count() == 0 {
            return true;
        }
        match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => {
                for progress in self.partitions.values_mut() {
                    if progress.stored_next.is_some() {
                        progress.committed_next = progress.stored_next;
                    }
                }
                self.last_commit_unix_seconds =
                    SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|since| since.as_secs_f64());
                true
            }
            Err(error) => {
                self.commit_failures += 1;
                eprintln!(
                    "kafka: committing offsets failed ({error}); the messages are stored, and the commit is \
                     retried with the next batch"
                );
                false
            }
        }
    }

    /// Records the offset Kafka holds for a newly assigned partition.
    pub fn note_committed(&mut self, partition: i32, offset: i64) {
        let progress = self
            .partitions
            .entry(partition)
            .or_insert_with(|| PartitionProgress { partition, ..PartitionProgress::default() });
        progress.committed_next = Some(offset);
    }

    /// Stops tracking partitions another consumer now owns, after their last flush: a
    /// commit for them from here could move the new owner's offset back.
    pub fn release(&mut self, partitions: &[i32]) {
        for partition in partitions {
            if let Some(progress) = self.partitions.get_mut(partition) {
                // Keep the counts and the report for the summary; forget the offsets, so
                // that no later commit names this partition unless it is assigned again.
                progress.stored_next = None;
                progress.read_next = None;
                progress.committed_next = None;
            }
        }
    }

    /// The offset of the next message this consumer would read from `partition`, if known.
    pub fn next_offset(&self, partition: i32) -> Option<i64> {
        let progress = self.partitions.get(&partition)?;
        progress.read_next.or(progress.committed_next)
    }

    /// Each partition's offsets and report, in partition order.
    pub fn partitions(&self) -> impl Iterator<Item = &PartitionProgress> {
        self.partitions.values()
    }

    /// What the stored batches held and changed (reports are per partition).
    pub fn stored(&self) -> &StreamIngest {
        &self.stored
    }

    /// Messages read during this run, over all partitions.
    pub fn messages_read(&self) -> u64 {
        self.partitions.values().map(|progress| progress.messages).sum()
    }
}
