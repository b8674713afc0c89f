//! The line on stderr every few seconds while consuming: throughput into the store, totals
//! and each assigned partition's lag, e.g.
//!
//! ```text
//! kafka movielog: 41,210 messages/s into the store; 1,203,311 stored, 1,187 lines skipped; lag p0 12, p1 0
//! ```

use std::time::{Duration, Instant};

use super::metrics::IngestFigures;

/// Prints a progress line at most once per interval.
pub struct ProgressLine {
    every: Duration,
    last: Instant,
    stored_at_last: u64,
}

impl ProgressLine {
    /// A progress line every `every`, the first one interval from now.
    pub fn new(every: Duration) -> Self {
        ProgressLine { every, last: Instant::now(), stored_at_last: 0 }
    }

    /// Prints the line if an interval has passed since the last one.
    pub fn tick(&mut self, figures: &IngestFigures) {
        let elapsed = self.last.elapsed();
        if elapsed < self.every {
            return;
        }
        let stored = figures.messages_stored.saturating_sub(self.stored_at_last);
        eprintln!("{}", line(figures, stored as f64 / elapsed.as_secs_f64()));
        self.last = Instant::now();
        self.stored_at_last = figures.messages_stored;
    }
}

/// The progress line for `figures` at `rate` messages per second.
pub fn line(figures: &IngestFigures, rate: f64) -> String {
    let skipped: u64 = figures.lines_skipped.values().sum();
    let lags: Vec<String> = figures
        .partitions
        .iter()
        .map(|(partition, offsets)| match offsets.lag() {
            Some(lag) => format!("p{partition} {}", thousands(lag.unsigned_abs())),
            None => format!("p{partition} ?"),
        })
        .collect();
    let lag = if lags.is_empty() { "no partitions assigned".to_owned() } else { format!("lag {}", lags.join(", ")) };
    format!(
        "kafka {}: {} messages/s into the store; {} stored, {} lines skipped; {lag}",
        figures.topic,
        thousands(rate.round() as u64),
        thousands(figures.messages_stored),
        thousands(skipped)
    )
}

/// `1234567` as `1,234,567`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::metrics::PartitionFigures;
    use super::*;

    #[test]
    fn shows_rate_totals_and_each_partitions_lag() {
        let mut figures =
            IngestFigures { topic: "movielog".into(), messages_stored: 1_203_311, ..IngestFigures::default() };
        figures.lines_skipped.insert("truncated", 1_187);
        figures.partitions.insert(0, PartitionFigures { committed_next: Some(88), high_watermark: Some(100) });
        figures.partitions.insert(1, PartitionFigures { committed_next: None, high_watermark: Some(5) });
        assert_eq!(
            line(&figures, 41_209.6),
            "kafka movielog: 41,210 messages/s into the store; 1,203,311 stored, 1,187 lines skipped; lag p0 12, p1 ?"
        );
        figures.partitions.clear();
        assert!(line(&figures, 0.0).ends_with("no partitions assigned"));
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
    }
}
