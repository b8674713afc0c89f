//! `marquee ingest kafka://...` against librdkafka's mock cluster, a real Kafka protocol
//! implementation that each test starts in its own process on loopback (no external
//! service). Every test produces a stream written by `marquee world`, malformed lines
//! included, and compares the store the consumer builds, table by table, with the store that
//! ingesting the same lines from a file builds.
//!
//! The crash test kills the `marquee ingest` child with SIGKILL while it holds a batch it has
//! read but not stored (its batch bound is far away, and `/metrics` shows what it has read
//! and stored), so nothing can be flushed on the way out.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use marquee_e2e::{json, marquee, marquee_binary};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

const TOPIC: &str = "movielog";

/// How long a test waits for the consumer to reach a state before failing.
const PATIENCE: Duration = Duration::from_secs(90);

/// A small world's stream lines (with its malformed ones) and the store ingesting its
/// stream file builds.
struct World {
    lines: Vec<Vec<u8>>,
    file_store: PathBuf,
    /// The file ingest's skipped lines by kind.
    skipped: BTreeMap<String, u64>,
}

fn world(dir: &Path) -> World {
    let out = dir.join("world");
    let out_text = out.to_str().unwrap();
    marquee(&[
        "world",
        "--out",
        out_text,
        "--users",
        "150",
        "--movies",
        "80",
        "--days",
        "3",
        "--malformed-rate",
        "0.01",
    ]);
    let stream = out.join("stream.log");
    let file_store = dir.join("file.db");
    let summary = json(&marquee(&["ingest", stream.to_str().unwrap(), "--db", file_store.to_str().unwrap(), "--json"]));
    let skipped = summary[0]["report"]["skipped"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(kind, count)| (kind.clone(), count.as_u64().unwrap()))
        .collect();
    let text = std::fs::read(&stream).unwrap();
    let lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
    assert!(lines.len() > 3_000, "a world of {} lines is too small to batch", lines.len());
    World { lines, file_store, skipped }
}

/// The store's rows, table by table, in key order: two stores are the same when these are.
fn dump(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut rows = Vec::new();
    for table in ["users", "movies", "watch_sessions", "rating_history", "ratings", "recommendations", "edge_log"] {
        let mut statement = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3")).unwrap();
        let columns = statement.column_count();
        let mut query = statement.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let values: Vec<String> = (0..columns).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect();
            rows.push(format!("{table}: {}", values.join(" | ")));
        }
    }
    rows
}

fn assert_same_store(kafka: &Path, file: &Path) {
    let (kafka_rows, file_rows) = (dump(kafka), dump(file));
    assert!(!file_rows.is_empty());
    assert_eq!(kafka_rows.len(), file_rows.len(), "row counts differ");
    assert!(kafka_rows == file_rows, "the stores differ; first difference: {:?}", {
        kafka_rows.iter().zip(&file_rows).find(|(a, b)| a != b)
    });
}

/// A mock cluster (one broker) with the topic.
struct Cluster {
    mock: MockCluster<'static, DefaultProducerContext>,
}

impl Cluster {
    fn new(partitions: i32) -> Self {
        let mock = MockCluster::new(1).unwrap();
        mock.create_topic(TOPIC, partitions, 1).unwrap();
        Cluster { mock }
    }

    fn url(&self) -> String {
        format!("kafka://{}/{TOPIC}", self.mock.bootstrap_servers())
    }

    /// Produces each line as one message, keyed by its user id (the second field) as the
    /// movie service keys them, so one user's events stay in order in one partition.
    ///
    /// Each call has its own producer: after `broker_down` and `broker_up`, the mock broker
    /// (which runs in this process) was seen to leave an old producer's reconnection
    /// unserved, while new connections, the consumer's included, are served.
    fn produce(&self, lines: &[Vec<u8>]) {
        let producer: BaseProducer =
            ClientConfig::new().set("bootstrap.servers", self.mock.bootstrap_servers()).create().unwrap();
        for line in lines {
            let key = line.split(|&b| b == b',').nth(1).unwrap_or_default();
            let mut record = BaseRecord::to(TOPIC).payload(line.as_slice()).key(key);
            while let Err((error, returned)) = producer.send(record) {
                assert!(error.to_string().contains("Queue full"), "producing: {error}");
                record = returned;
                producer.poll(Duration::from_millis(10));
            }
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }

    /// A client that only asks questions (it never joins the group).
    fn observer(&self, group: &str) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.mock.bootstrap_servers())
            .set("group.id", group)
            .create()
            .unwrap()
    }

    /// The group's committed offset of each partition (-1 where none).
    fn committed(&self, group: &str, partitions: i32) -> Vec<i64> {
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(TOPIC, partition);
        }
        let committed = self.observer(group).committed_offsets(list, Duration::from_secs(10)).unwrap();
        (0..partitions)
            .map(|partition| match committed.find_partition(TOPIC, partition).unwrap().offset() {
                Offset::Offset(offset) => offset,
                _ => -1,
            })
            .collect()
    }

    /// Each partition's high watermark: the offset after its last message.
    fn high_watermarks(&self, partitions: i32) -> Vec<i64> {
        let observer = self.observer("observer");
        (0..partitions).map(|p| observer.fetch_watermarks(TOPIC, p, Duration::from_secs(10)).unwrap().1).collect()
    }
}

/// `marquee ingest URL --db DB ARGS... --json` in the background, stderr to a file.
struct IngestProcess {
    child: Child,
    stderr: PathBuf,
    metrics_port: u16,
}

impl IngestProcess {
    fn start(url: &str, db: &Path, stderr: PathBuf, args: &[&str]) -> Self {
        // A free port for --metrics: bound, read, released (the consumer binds it next).
        let metrics_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let metrics = format!("127.0.0.1:{metrics_port}");
        let child = Command::new(marquee_binary())
            .args(["ingest", url, "--db", db.to_str().unwrap(), "--json", "--metrics", &metrics])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        IngestProcess { child, stderr, metrics_port }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// A metric's value summed over its series, if the endpoint is up and has any.
    fn series(&self, name: &str) -> Option<f64> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let values: Vec<f64> = text
            .lines()
            .filter(|line| line.starts_with(name) && line[name.len()..].starts_with('{'))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// A metric's value summed over its series (0 if there are none yet).
    fn metric(&self, name: &str) -> f64 {
        self.series(name).unwrap_or(0.0)
    }

    /// Waits until `condition` holds, failing with the consumer's stderr after [`PATIENCE`].
    fn wait_until(&mut self, what: &str, mut condition: impl FnMut(&Self) -> bool) {
        let started = Instant::now();
        while !condition(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the consumer exited ({status}) before {what}:\n{}", self.stderr());
            }
            assert!(started.elapsed() < PATIENCE, "timed out waiting until {what}:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ctrl-C, then its JSON summary once it has stored, committed and exited.
    fn interrupt(mut self) -> serde_json::Value {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < PATIENCE, "the consumer ignored Ctrl-C:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = self.child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "the consumer failed on Ctrl-C:\n{}",
            std::fs::read_to_string(&self.stderr).unwrap()
        );
        let summary = json(&output);
        assert_eq!(summary[0]["stopped"], "signal", "{summary}");
        summary
    }
}

/// Runs `marquee ingest URL --db DB ARGS... --json` to the end; returns its one summary.
fn ingest(url: &str, db: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["ingest", url, "--db", db.to_str().unwrap(), "--json"];
    all.extend(args);
    let summary = json(&marquee(&all));
    summary[0].clone()
}

#[test]
fn a_topic_stores_exactly_what_its_file_does_and_a_rerun_resumes_at_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let cluster = Cluster::new(1);
    cluster.produce(&world.lines);
    let db = dir.path().join("kafka.db");
    let total = world.lines.len() as i64;

    // Small batches, so the store is written in many transactions.
    let summary = ingest(&cluster.url(), &db, &["--group", "g", "--batch-messages", "1000"]);
    assert_eq!(summary["stopped"], "caught_up");
    assert_eq!(summary["messages"].as_i64(), Some(total));
    assert_same_store(&db, &world.file_store);
    assert_eq!(cluster.committed("g", 1), [total]);

    // Malformed lines are counted by kind as the file ingest counts them, each example at
    // its offset (one partition in file order: offset = line number - 1).
    let partition = &summary["partitions"][0];
    let skipped = partition["report"]["skipped"].as_object().unwrap();
    assert!(skipped.len() >= 3, "the world's malformed lines are counted by kind: {skipped:?}");
    let counted: BTreeMap<String, u64> =
        skipped.iter().map(|(kind, count)| (kind.clone(), count.as_u64().unwrap())).collect();
    assert_eq!(counted, world.skipped, "the file ingest's counts by kind");
    for (kind, examples) in partition["report"]["examples"].as_object().unwrap() {
        for example in examples.as_array().unwrap() {
            let offset = example["line"].as_u64().unwrap() as usize;
            let excerpt = example["excerpt"].as_str().unwrap();
            let line = String::from_utf8_lossy(&world.lines[offset]);
            assert!(line.starts_with(excerpt), "{kind} at offset {offset}: {excerpt:?} vs {line:?}");
        }
    }

    // The group resumes at its committed offset: nothing more to read, nothing changes.
    let again = ingest(&cluster.url(), &db, &["--group", "g"]);
    assert_eq!(again["messages"].as_i64(), Some(0), "{again}");
    assert_same_store(&db, &world.file_store);
}

#[test]
fn a_consumer_killed_in_the_middle_of_a_batch_resumes_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let cluster = Cluster::new(1);
    let batch = 500usize;
    // The first part ends mid-batch: its last 250 messages fill half a batch.
    let first_part = (world.lines.len() / 2 / batch) * batch + batch / 2;
    cluster.produce(&world.lines[..first_part]);
    let db = dir.path().join("kafka.db");

    // A following consumer stores full batches of 500; the half batch left waits for more
    // lines or for its 10-minute bound, so it is read but not stored when the kill comes.
    let batch_text = batch.to_string();
    let mut consumer = IngestProcess::start(
        &cluster.url(),
        &db,
        dir.path().join("killed.stderr"),
        &["--group", "crash", "--follow", "--batch-messages", &batch_text, "--batch-ms", "600000"],
    );
    let stored_batches = (first_part / batch * batch) as f64;
    consumer.wait_until("it has read the first part and stored its full batches", |c| {
        c.metric("marquee_ingest_messages_read_total") == first_part as f64
            && c.metric("marquee_ingest_messages_stored_total") == stored_batches
    });
    consumer.child.kill().unwrap(); // SIGKILL: no flush, no commit, no goodbye to the group.
    consumer.child.wait().unwrap();

    // Committed offsets name exactly the stored batches, and the store holds exactly them.
    assert_eq!(cluster.committed("crash", 1), [stored_batches as i64]);
    let prefix = dir.path().join("prefix.log");
    std::fs::write(&prefix, world.lines[..stored_batches as usize].join(&b'\n')).unwrap();
    let prefix_store = dir.path().join("prefix.db");
    marquee(&["ingest", prefix.to_str().unwrap(), "--db", prefix_store.to_str().unwrap()]);
    assert_same_store(&db, &prefix_store);

    // Restarted (the dead member's session expires first), it reads from the committed
    // offset: the half batch the killed consumer held, then the rest of the stream.
    cluster.produce(&world.lines[first_part..]);
    let total = world.lines.len() as i64;
    let resumed = ingest(&cluster.url(), &db, &["--group", "crash"]);
    assert_eq!(resumed["messages"].as_i64(), Some(total - stored_batches as i64), "{resumed}");
    assert_eq!(resumed["partitions"][0]["first_offset"].as_i64(), Some(stored_batches as i64));
    assert_eq!(cluster.committed("crash", 1), [total]);
    assert_same_store(&db, &world.file_store);

    // A crash after the store committed but before Kafka did leaves messages stored and
    // uncommitted: a group that committed nothing re-reads everything, changing nothing.
    let replay = ingest(&cluster.url(), &db, &["--group", "never-committed"]);
    assert_eq!(replay["messages"].as_i64(), Some(total));
    let stream = &replay["stream"];
    for field in ["sessions_changed", "new_ratings", "new_recommendations"] {
        assert_eq!(stream[field].as_u64(), Some(0), "{field} after re-reading stored messages: {stream}");
    }
    assert_same_store(&db, &world.file_store);
}

#[test]
fn two_partitions_shared_with_a_consumer_joining_mid_run_store_every_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let cluster = Cluster::new(2);
    let half = world.lines.len() / 2;
    cluster.produce(&world.lines[..half]);
    let db = dir.path().join("kafka.db");
    let follow = ["--group", "shared", "--follow", "--batch-messages", "200", "--batch-ms", "200"];

    let mut first = IngestProcess::start(&cluster.url(), &db, dir.path().join("first.stderr"), &follow);
    first.wait_until("the first consumer has stored messages", |c| {
        c.metric("marquee_ingest_messages_stored_total") > 0.0
    });
    // The second member joins: the group rebalances, the first one stores and commits what
    // it read before handing a partition over.
    let mut second = IngestProcess::start(&cluster.url(), &db, dir.path().join("second.stderr"), &follow);
    second.wait_until("the group gave the second consumer a partition", |c| {
        c.stderr().lines().any(|line| line.contains("kafka: assigned movielog partition(s) [") && !line.ends_with("[]"))
    });
    cluster.produce(&world.lines[half..]);

    let high_watermarks = cluster.high_watermarks(2);
    assert_eq!(high_watermarks.iter().sum::<i64>(), world.lines.len() as i64);
    assert!(high_watermarks.iter().all(|&end| end > 0), "both partitions hold messages: {high_watermarks:?}");
    first.wait_until("the group has committed every message", |_| cluster.committed("shared", 2) == high_watermarks);
    for consumer in [&mut first, &mut second] {
        consumer.wait_until("its /metrics shows no lag on its partition", |c| {
            c.series("marquee_ingest_consumer_lag_messages") == Some(0.0)
        });
    }

    let (first, second) = (first.interrupt(), second.interrupt());
    let read = first[0]["messages"].as_u64().unwrap() + second[0]["messages"].as_u64().unwrap();
    assert_eq!(read, world.lines.len() as u64, "every message read once across the group: {first} {second}");
    assert!(second[0]["messages"].as_u64().unwrap() > 0, "the second consumer did its share");
    assert_same_store(&db, &world.file_store);
}

#[test]
fn a_broker_that_goes_away_and_comes_back_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let cluster = Cluster::new(1);
    let half = world.lines.len() / 2;
    cluster.produce(&world.lines[..half]);
    let db = dir.path().join("kafka.db");
    let mut consumer = IngestProcess::start(
        &cluster.url(),
        &db,
        dir.path().join("consumer.stderr"),
        &["--group", "outage", "--follow", "--batch-ms", "200"],
    );
    consumer.wait_until("it has stored the first half", |c| {
        c.metric("marquee_ingest_messages_stored_total") == half as f64
    });

    cluster.mock.broker_down(1).unwrap();
    consumer.wait_until("it says the broker is unreachable", |c| c.stderr().contains("retrying"));
    cluster.mock.broker_up(1).unwrap();
    cluster.produce(&world.lines[half..]);
    let total = world.lines.len() as i64;
    consumer.wait_until("it has committed every message", |_| cluster.committed("outage", 1) == [total]);
    assert!(consumer.stderr().contains("receiving messages again"), "{}", consumer.stderr());
    let summary = consumer.interrupt();
    assert_eq!(summary[0]["messages"].as_i64(), Some(total));
    assert_same_store(&db, &world.file_store);
}

#[test]
fn bad_kafka_sources_and_options_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let db = db.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["ingest", "kafka://localhost:9092", "--db", db], "names no topic"),
        (&["ingest", "kafka://localhost/t", "--db", db, "--follow", "--max-messages", "5"], "contradict"),
        (&["ingest", "kafka://localhost/t", "--db", db, "--metrics", "not-an-address"], "--metrics not-an-address"),
        (&["ingest", "kafka://localhost:99999/t", "--db", db], "a port is a number from 1 to 65535"),
        (&["ingest", "-", "--db", db, "--follow"], "--follow applies to a kafka://BROKER/TOPIC source"),
        (&["ingest", "kafka://a/t", "kafka://b/t", "--db", db], "at most one kafka:// source"),
    ];
    for (args, expected) in cases {
        let output = marquee_e2e::marquee_unchecked(args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!Path::new(db).exists(), "a refused command must not create the store");

    let cluster = Cluster::new(1);
    let missing = format!("kafka://{}/no-such-topic", cluster.mock.bootstrap_servers());
    let output = marquee_e2e::marquee_unchecked(&["ingest", &missing, "--db", db]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("topic \"no-such-topic\" does not exist"), "{output:?}");
}
