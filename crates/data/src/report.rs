//! What a parser skipped, counted by kind, with the first few examples of each kind kept
//! so that nothing is lost silently.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// How many examples of each kind of error a report keeps.
pub const EXAMPLES_PER_KIND: usize = 5;

/// One skipped line, as reported to the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    /// 1-based line number in its source; for a Kafka partition, the message's offset.
    pub line: u64,
    /// The start of the offending line (at most 120 characters).
    pub excerpt: String,
    /// Why it was skipped, in words.
    pub reason: String,
}

/// Counts of skipped lines per kind of error, plus the first examples of each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ParseReport {
    /// Lines read, good and bad.
    pub lines: u64,
    /// Lines that became records.
    pub parsed: u64,
    /// Skipped lines per kind of error.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first [`EXAMPLES_PER_KIND`] skipped lines of each kind.
    pub examples: BTreeMap<&'static str, Vec<SkippedLine>>,
}

impl ParseReport {
    /// Records a good line.
    pub fn record_parsed(&mut self) {
        self.lines += 1;
        self.parsed += 1;
    }

    /// Records a skipped line of the given kind.
    pub fn record_skipped(&mut self, line: u64, kind: &'static str, reason: impl fmt::Display, text: &str) {
        self.lines += 1;
        *self.skipped.entry(kind).or_default() += 1;
        let examples = self.examples.entry(kind).or_default();
        if examples.len() < EXAMPLES_PER_KIND {
            let excerpt: String = text.chars().take(120).collect();
            examples.push(SkippedLine { line, excerpt, reason: reason.to_string() });
        }
    }

    /// Total lines skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds another report's counts (e.g. of a second file) to this one.
    pub fn merge(&mut self, other: ParseReport) {
        self.lines += other.lines;
        self.parsed += other.parsed;
        for (kind, count) in other.skipped {
            *self.skipped.entry(kind).or_default() += count;
        }
        for (kind, lines) in other.examples {
            let examples = self.examples.entry(kind).or_default();
            let room = EXAMPLES_PER_KIND.saturating_sub(examples.len());
            examples.extend(lines.into_iter().take(room));
        }
    }
}

impl fmt::Display for ParseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} lines read, {} parsed, {} skipped", self.lines, self.parsed, self.skipped_total())?;
        for (kind, count) in &self.skipped {
            writeln!(f, "  {kind}: {count}")?;
            for example in self.examples.get(kind).into_iter().flatten() {
                writeln!(f, "    line {}: {} ({:?})", example.line, example.reason, example.excerpt)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_counts_and_only_the_first_examples() {
        let mut report = ParseReport::default();
        report.record_parsed();
        for line in 2..10 {
            report.record_skipped(line, "bad_rating", "rating 9 is above 5", "x");
        }
        assert_eq!(report.lines, 9);
        assert_eq!(report.skipped["bad_rating"], 8);
        assert_eq!(report.examples["bad_rating"].len(), EXAMPLES_PER_KIND);
        assert_eq!(report.examples["bad_rating"][0].line, 2);
        let mut other = ParseReport::default();
        other.record_skipped(1, "bad_rating", "again", "y");
        report.merge(other);
        assert_eq!(report.skipped["bad_rating"], 9);
        assert!(report.to_string().contains("line 2: rating 9 is above 5"));
    }
}
