//! The line on stderr every few seconds while consuming: throughput into the store, totals
//! and each assigned partition's lag, e.g.
//!
//! ```text
//! kafka movielog: 41,210 messages/s into the store; 1,203,311 stored, 1,187 lines skipped; lag p0 12, p1 0
//! ```

use std::time::{Duration, Instant};

use super::metrics::IngestFigures;

/// Up to this many partitions, the line shows each one's lag.
const PARTITIONS_SHOWN: usize = 8;

/// Beyond that, it shows the total and this many partitions furthest behind.
const PARTITIONS_WORST_SHOWN: usize = 3;

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
    let lag = if figures.partitions.is_empty() {
        "no partitions assigned".to_owned()
    } else if figures.partitions.len() <= PARTITIONS_SHOWN {
        let lags: Vec<String> = figures
            .partitions
            .iter()
            .map(|(partition, offsets)| match offsets.lag() {
                Some(lag) => format!("p{partition} {}", thousands(lag.unsigned_abs())),
                None => format!("p{partition} ?"),
            })
            .collect();
        format!("lag {}", lags.join(", "))
    } else {
        // Many partitions: the total and the few furthest behind keep the line readable.
        let mut known: Vec<(i64, i32)> =
            figures.partitions.iter().filter_map(|(&partition, offsets)| Some((offsets.lag()?, partition))).collect();
        known.sort_unstable_by(|a, b| b.cmp(a));
        let total: i64 = known.iter().map(|(lag, _)| lag).sum();
        let worst: Vec<String> = known
            .iter()
            .take(PARTITIONS_WORST_SHOWN)
            .map(|(lag, partition)| format!("p{partition} {}", thousands(lag.unsigned_abs())))
            .collect();
        let unknown = figures.partitions.len() - known.len();
        let unknown = if unknown > 0 { format!(", {unknown} not yet known") } else { String::new() };
        format!(
            "lag {} over {} partitions (most: {}{unknown})",
            thousands(total.unsigned_abs()),
            figures.partitions.len(),
            worst.join(", ")
        )
    };
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
        for partition in 0..10 {
            let committed_next = (partition != 9).then_some(100);
            let offsets = PartitionFigures { committed_next, high_watermark: Some(100 + i64::from(partition) * 1_000) };
            figures.partitions.insert(partition, offsets);
        }
        assert!(
            line(&figures, 1.0)
                .ends_with("lag 36,000 over 10 partitions (most: p8 8,000, p7 7,000, p6 6,000, 1 not yet known)"),
            "{}",
            line(&figures, 1.0)
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
    }
}
