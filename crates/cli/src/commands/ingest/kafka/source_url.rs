//! `kafka://BROKER[,BROKER...]/TOPIC`: which brokers to bootstrap from and which topic to
//! consume, checked before anything connects so that a typo gets a clear error.

use std::fmt;

use anyhow::{bail, Result};

/// The scheme that marks an ingest source as a Kafka topic rather than a path.
pub const SCHEME: &str = "kafka://";

/// The port a broker listens on when the URL names none (Kafka's registered port).
const DEFAULT_PORT: u16 = 9092;

/// Kafka refuses longer topic names.
const MAX_TOPIC_LEN: usize = 249;

/// A parsed `kafka://` source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaUrl {
    /// `host:port` of each bootstrap broker, in the order given.
    pub brokers: Vec<String>,
    /// The topic to consume.
    pub topic: String,
}

impl KafkaUrl {
    /// Whether an ingest argument names a Kafka topic (and so must parse as one).
    pub fn is_kafka(argument: &str) -> bool {
        argument.get(..SCHEME.len()).is_some_and(|scheme| scheme.eq_ignore_ascii_case(SCHEME))
    }

    /// Parses `kafka://BROKER[,BROKER...]/TOPIC`; a broker is `host`, `host:port` or
    /// `[ipv6]:port`, on port 9092 when none is given.
    pub fn parse(url: &str) -> Result<KafkaUrl> {
        if !Self::is_kafka(url) {
            bail!("{url:?} is not a Kafka source: it must start with {SCHEME}");
        }
        let rest = &url[SCHEME.len()..];
        if let Some(extra) = rest.find(['?', '#']) {
            bail!(
                "{url:?}: a Kafka source takes no {:?} part; the consumer group and start are --group and --from",
                &rest[extra..extra + 1]
            );
        }
        let Some((brokers, topic)) = rest.split_once('/') else {
            bail!("{url:?} names no topic: write {SCHEME}BROKER[,BROKER...]/TOPIC");
        };
        if brokers.is_empty() {
            bail!(
                "{url:?} names no broker: write {SCHEME}BROKER[,BROKER...]/TOPIC, e.g. {SCHEME}localhost:9092/movielog"
            );
        }
        let brokers = brokers.split(',').map(|broker| parse_broker(url, broker)).collect::<Result<Vec<_>>>()?;
        check_topic(url, topic)?;
        Ok(KafkaUrl { brokers, topic: topic.to_owned() })
    }

    /// The brokers as librdkafka's `bootstrap.servers` wants them.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers.join(",")
    }
}

impl fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.brokers.join(","), self.topic)
    }
}

/// `host`, `host:port` or `[v6]:port`, returned as `host:port`.
fn parse_broker(url: &str, broker: &str) -> Result<String> {
    if broker.is_empty() {
        bail!("{url:?} has an empty broker in its list (two commas, or one at an end)");
    }
    let (host, port) = if let Some(bracketed) = broker.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            bail!("{url:?}: broker {broker:?} opens an IPv6 '[' it never closes");
        };
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            bail!("{url:?}: {broker:?} is not an IPv6 address in brackets");
        }
        match after {
            "" => (broker[..address.len() + 2].to_owned(), None),
            _ => match after.strip_prefix(':') {
                Some(port) => (broker[..address.len() + 2].to_owned(), Some(port)),
                None => bail!("{url:?}: broker {broker:?} has {after:?} after its address; expected :PORT"),
            },
        }
    } else {
        match broker.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (broker.to_owned(), None),
        }
    };
    if host.is_empty() {
        bail!("{url:?}: broker {broker:?} has a port but no host");
    }
    if !host.starts_with('[') && !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        bail!("{url:?}: {host:?} is not a host name or address (letters, digits, '.', '-', '_')");
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => bail!("{url:?}: broker {broker:?} has port {text:?}; a port is a number from 1 to 65535"),
        },
    };
    Ok(format!("{host}:{port}"))
}

/// Kafka's own rule: 1 to 249 of `[a-zA-Z0-9._-]`, and not `.` or `..`.
fn check_topic(url: &str, topic: &str) -> Result<()> {
    if topic.is_empty() {
        bail!("{url:?} names no topic after the '/'");
    }
    if topic.len() > MAX_TOPIC_LEN {
        bail!("{url:?}: the topic is {} characters long; Kafka allows at most {MAX_TOPIC_LEN}", topic.len());
    }
    if let Some(bad) = topic.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        bail!("{url:?}: topic {topic:?} contains {bad:?}; Kafka topics use only letters, digits, '.', '_' and '-'");
    }
    if topic == "." || topic == ".." {
        bail!("{url:?}: {topic:?} is not a valid Kafka topic");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_brokers_with_and_without_ports() {
        let url = KafkaUrl::parse("kafka://b1:9093,b2,[::1]:19092,[fe80::1]/movielog3").unwrap();
        assert_eq!(url.brokers, ["b1:9093", "b2:9092", "[::1]:19092", "[fe80::1]:9092"]);
        assert_eq!(url.topic, "movielog3");
        assert_eq!(url.bootstrap_servers(), "b1:9093,b2:9092,[::1]:19092,[fe80::1]:9092");
        assert_eq!(url.to_string(), "kafka://b1:9093,b2:9092,[::1]:19092,[fe80::1]:9092/movielog3");
        assert_eq!(KafkaUrl::parse("KAFKA://localhost/t.a_b-c").unwrap().topic, "t.a_b-c");
    }

    #[test]
    fn recognises_kafka_arguments_only_by_their_scheme() {
        assert!(KafkaUrl::is_kafka("kafka://b/t"));
        assert!(KafkaUrl::is_kafka("Kafka://b/t"));
        assert!(!KafkaUrl::is_kafka("kafka.log"));
        assert!(!KafkaUrl::is_kafka("-"));
        assert!(!KafkaUrl::is_kafka("ka"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases = [
            ("http://b/t", "must start with kafka://"),
            ("kafka://b", "names no topic"),
            ("kafka:///t", "names no broker"),
            ("kafka://b/", "names no topic after"),
            ("kafka://b,,c/t", "empty broker"),
            ("kafka://b:0/t", "a port is a number from 1 to 65535"),
            ("kafka://b:99999/t", "a port is a number from 1 to 65535"),
            ("kafka://b:x/t", "a port is a number"),
            ("kafka://:9092/t", "no host"),
            ("kafka://b@c/t", "not a host name"),
            ("kafka://[::1/t", "never closes"),
            ("kafka://[zz]:1/t", "not an IPv6 address"),
            ("kafka://[::1]x/t", "expected :PORT"),
            ("kafka://b/t/u", "contains '/'"),
            ("kafka://b/t?group=g", "takes no \"?\" part"),
            ("kafka://b/..", "not a valid Kafka topic"),
            ("kafka://b/movie log", "contains ' '"),
        ];
        for (url, expected) in cases {
            let error = KafkaUrl::parse(url).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
        }
        let long = format!("kafka://b/{}", "t".repeat(250));
        assert!(KafkaUrl::parse(&long).unwrap_err().to_string().contains("at most 249"));
    }
}
