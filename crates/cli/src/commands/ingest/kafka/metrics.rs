//! `--metrics ADDR`: the consumer's lag and throughput as Prometheus text on
//! `http://ADDR/metrics`, from a tiny std listener on its own thread (one request at a time,
//! which is plenty for a scrape every few seconds).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use super::rebalance::lock;

/// A scrape that does not send its request within this long is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest request head read; a scrape's is a few hundred bytes.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// One partition's offsets as exported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartitionFigures {
    /// The offset the group has committed (where a restart resumes).
    pub committed_next: Option<i64>,
    /// The offset after the partition's newest message.
    pub high_watermark: Option<i64>,
}

impl PartitionFigures {
    /// Messages in the partition not yet stored and committed, once both ends are known.
    pub fn lag(&self) -> Option<i64> {
        Some((self.high_watermark? - self.committed_next?).max(0))
    }
}

/// What `/metrics` serves; the consumer loop replaces it about once a second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestFigures {
    /// The topic consumed.
    pub topic: String,
    /// The consumer group.
    pub group: String,
    /// Messages read from Kafka during this run.
    pub messages_read: u64,
    /// Messages whose store transaction has committed during this run.
    pub messages_stored: u64,
    /// Lines skipped as malformed, by kind.
    pub lines_skipped: BTreeMap<&'static str, u64>,
    /// Offset commits that failed (and were retried).
    pub commit_failures: u64,
    /// When offsets were last committed, in seconds since the Unix epoch.
    pub last_commit_unix_seconds: Option<f64>,
    /// Assigned partitions' offsets.
    pub partitions: BTreeMap<i32, PartitionFigures>,
}

impl IngestFigures {
    /// The figures in Prometheus's text exposition format.
    pub fn render(&self) -> String {
        let labels = format!("topic=\"{}\",group=\"{}\"", escape(&self.topic), escape(&self.group));
        let mut out = Exposition { out: String::new(), labels: &labels };
        out.family(
            "marquee_ingest_messages_read_total",
            "counter",
            "Kafka messages the consumer has read (re-deliveries after a rebalance included).",
        );
        out.sample("marquee_ingest_messages_read_total", "", self.messages_read as f64);
        out.family(
            "marquee_ingest_messages_stored_total",
            "counter",
            "Kafka messages whose store transaction has committed; its rate is the ingest throughput.",
        );
        out.sample("marquee_ingest_messages_stored_total", "", self.messages_stored as f64);
        out.family(
            "marquee_ingest_lines_skipped_total",
            "counter",
            "Malformed stream lines skipped, by kind of error.",
        );
        for (kind, count) in &self.lines_skipped {
            out.sample("marquee_ingest_lines_skipped_total", &format!(",kind=\"{kind}\""), *count as f64);
        }
        out.family(
            "marquee_ingest_commit_failures_total",
            "counter",
            "Offset commits to Kafka that failed; each is retried, and the messages are already stored.",
        );
        out.sample("marquee_ingest_commit_failures_total", "", self.commit_failures as f64);
        if let Some(seconds) = self.last_commit_unix_seconds {
            out.family(
                "marquee_ingest_last_commit_timestamp_seconds",
                "gauge",
                "When offsets were last committed to Kafka, in seconds since the Unix epoch.",
            );
            out.sample("marquee_ingest_last_commit_timestamp_seconds", "", seconds);
        }
        out.family(
            "marquee_ingest_consumer_lag_messages",
            "gauge",
            "Messages in an assigned partition after the group's committed offset: produced, not yet stored.",
        );
        for (partition, figures) in &self.partitions {
            if let Some(lag) = figures.lag() {
                out.sample("marquee_ingest_consumer_lag_messages", &format!(",partition=\"{partition}\""), lag as f64);
            }
        }
        out.family(
            "marquee_ingest_committed_offset",
            "gauge",
            "The offset the group has committed for an assigned partition (where a restart resumes).",
        );
        for (partition, figures) in &self.partitions {
            if let Some(offset) = figures.committed_next {
                out.sample("marquee_ingest_committed_offset", &format!(",partition=\"{partition}\""), offset as f64);
            }
        }
        out.out
    }
}

/// Writes metric families sharing the topic and group labels.
struct Exposition<'a> {
    out: String,
    labels: &'a str,
}

impl Exposition<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, extra_labels: &str, value: f64) {
        let _ = writeln!(self.out, "{name}{{{}{extra_labels}}} {value}", self.labels);
    }
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `figures` on `http://ADDR/metrics` until the process ends; returns the bound
/// address (port 0 picks a free one).
pub fn serve(address: &str, figures: Arc<Mutex<IngestFigures>>) -> Result<SocketAddr> {
    let listener = TcpListener::bind(address).with_context(|| format!("--metrics {address}: cannot listen there"))?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            // A client that misbehaves costs only its own connection.
            let _ = answer(stream, &figures);
        }
    })?;
    Ok(bound)
}

fn answer(mut stream: TcpStream, figures: &Mutex<IngestFigures>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?).take(MAX_REQUEST_BYTES as u64);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the rest of the head, so the client is not reset while still sending it.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 0 && header.trim_end() != "" {
        header.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", lock(figures).render()),
        ("GET", _) => {
            ("404 Not Found", "text/plain; charset=utf-8", "The consumer's metrics are on /metrics.\n".into())
        }
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "Only GET is served.\n".into()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> IngestFigures {
        let mut figures = IngestFigures {
            topic: "movielog".into(),
            group: "g\"1".into(),
            messages_read: 12,
            messages_stored: 10,
            commit_failures: 1,
            last_commit_unix_seconds: Some(1_700_000_000.5),
            ..IngestFigures::default()
        };
        figures.lines_skipped.insert("bad_timestamp", 2);
        figures.partitions.insert(0, PartitionFigures { committed_next: Some(7), high_watermark: Some(9) });
        figures.partitions.insert(1, PartitionFigures { committed_next: None, high_watermark: Some(3) });
        figures
    }

    #[test]
    fn renders_lag_only_where_both_offsets_are_known() {
        let text = figures().render();
        let labels = r#"topic="movielog",group="g\"1""#;
        for line in [
            format!("marquee_ingest_messages_read_total{{{labels}}} 12"),
            format!("marquee_ingest_messages_stored_total{{{labels}}} 10"),
            format!("marquee_ingest_lines_skipped_total{{{labels},kind=\"bad_timestamp\"}} 2"),
            format!("marquee_ingest_commit_failures_total{{{labels}}} 1"),
            format!("marquee_ingest_last_commit_timestamp_seconds{{{labels}}} 1700000000.5"),
            format!("marquee_ingest_consumer_lag_messages{{{labels},partition=\"0\"}} 2"),
            format!("marquee_ingest_committed_offset{{{labels},partition=\"0\"}} 7"),
            "# TYPE marquee_ingest_consumer_lag_messages gauge".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("partition=\"1\""), "no lag without a committed offset:\n{text}");
    }

    #[test]
    fn serves_metrics_and_refuses_other_paths() {
        let shared = Arc::new(Mutex::new(figures()));
        let address = serve("127.0.0.1:0", shared.clone()).unwrap();
        let get = |request: &str| {
            let mut stream = TcpStream::connect(address).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            response
        };
        let response = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("marquee_ingest_messages_stored_total"));
        lock(&shared).messages_stored = 11;
        assert!(get("GET /metrics HTTP/1.1\r\n\r\n").contains(r#"group="g\"1"} 11"#), "a scrape sees the latest");
        assert!(get("GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get("POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    }
}
