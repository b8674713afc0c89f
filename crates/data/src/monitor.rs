//! The summaries the trainer's health reports (`marquee drift`, `marquee fairness`) hand
//! to the edge, which keeps the latest of each and exports it on `/metrics` for alerting.
//!
//! These are the contract between the CLI (which computes the reports from the store) and
//! the edge (which only stores and renders them), so both sides use these types.

use serde::{Deserialize, Serialize};

/// The most columns or groups a summary may carry: enough for every feature and every
/// gender × age group, few enough that a scrape stays a few kilobytes.
pub const MAX_SUMMARY_ENTRIES: usize = 200;

/// The outcome of one drift report: which columns drifted between a reference window and
/// a current one, and whether the dataset as a whole did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftSummary {
    /// When the report was computed, in milliseconds since the Unix epoch.
    pub generated_ms: i64,
    /// The share of columns that drifted, in `[0, 1]`.
    pub share_drifted: f64,
    /// Whether the dataset drifted (by default: at least half its columns did).
    pub dataset_drifted: bool,
    pub columns: Vec<DriftColumn>,
}

/// One column's drift test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftColumn {
    /// The column's name, for example `age` or `recommended_popularity`.
    pub name: String,
    /// `input` (ranker features and the request population) or `output` (what was served).
    pub scope: String,
    /// The test used: `ks`, `chisquare`, `z`, `wasserstein`, `jensenshannon` or `psi`.
    pub test: String,
    /// The test's statistic: a p-value for `ks`, `chisquare` and `z`, a distance otherwise.
    pub score: f64,
    /// The score at which the column counts as drifted.
    pub threshold: f64,
    pub drifted: bool,
}

/// The outcome of one fairness report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairnessSummary {
    /// When the report was computed, in milliseconds since the Unix epoch.
    pub generated_ms: i64,
    /// Per metric, the worst group's value over the best group's.
    pub ratios: Vec<FairnessRatio>,
    /// The Gini coefficient of exposure over the catalog's items, in `[0, 1]`.
    pub exposure_gini: f64,
    /// The share of recommended slots that went to long-tail items.
    pub long_tail_share: f64,
}

/// One metric's worst-to-best group ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairnessRatio {
    /// `ndcg`, `hit_rate` (offline) or `click_rate`, `mrr` (online).
    pub metric: String,
    pub worst_group: String,
    pub best_group: String,
    /// The worst group's value over the best's, in `[0, 1]`.
    pub ratio: f64,
    /// Whether the ratio is below the four-fifths rule's 0.8.
    pub flagged: bool,
}

/// Why a summary was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("{field} must be a finite number in [0, 1], got {value}")]
    OutOfRange { field: String, value: String },
    #[error("a summary carries at most {MAX_SUMMARY_ENTRIES} entries, got {0}")]
    TooManyEntries(usize),
    #[error("{0} must be 1 to 64 letters, digits, '_', '-', '.', ' ' or '×'")]
    BadLabel(String),
}

fn unit(field: impl Into<String>, value: f64) -> Result<(), SummaryError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(SummaryError::OutOfRange { field: field.into(), value: value.to_string() })
    }
}

fn finite(field: impl Into<String>, value: f64) -> Result<(), SummaryError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(SummaryError::OutOfRange { field: field.into(), value: value.to_string() })
    }
}

/// Labels end up in Prometheus's text format, so they are kept to characters that need no
/// escaping there.
fn label(value: &str) -> Result<(), SummaryError> {
    let fits = (1..=64).contains(&value.chars().count())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '×' | '+'));
    if fits {
        Ok(())
    } else {
        Err(SummaryError::BadLabel(value.chars().take(80).collect()))
    }
}

impl DriftSummary {
    /// Checks what the edge is about to store and render.
    pub fn validate(&self) -> Result<(), SummaryError> {
        unit("share_drifted", self.share_drifted)?;
        if self.columns.len() > MAX_SUMMARY_ENTRIES {
            return Err(SummaryError::TooManyEntries(self.columns.len()));
        }
        for column in &self.columns {
            label(&column.name)?;
            label(&column.scope)?;
            label(&column.test)?;
            finite(format!("{}'s score", column.name), column.score)?;
            finite(format!("{}'s threshold", column.name), column.threshold)?;
        }
        Ok(())
    }
}

impl FairnessSummary {
    /// Checks what the edge is about to store and render.
    pub fn validate(&self) -> Result<(), SummaryError> {
        unit("exposure_gini", self.exposure_gini)?;
        unit("long_tail_share", self.long_tail_share)?;
        if self.ratios.len() > MAX_SUMMARY_ENTRIES {
            return Err(SummaryError::TooManyEntries(self.ratios.len()));
        }
        for ratio in &self.ratios {
            label(&ratio.metric)?;
            label(&ratio.worst_group)?;
            label(&ratio.best_group)?;
            unit(format!("{}'s ratio", ratio.metric), ratio.ratio)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift() -> DriftSummary {
        DriftSummary {
            generated_ms: 1,
            share_drifted: 0.5,
            dataset_drifted: true,
            columns: vec![DriftColumn {
                name: "age".into(),
                scope: "input".into(),
                test: "ks".into(),
                score: 0.01,
                threshold: 0.05,
                drifted: true,
            }],
        }
    }

    #[test]
    fn summaries_refuse_what_would_not_render() {
        assert_eq!(drift().validate(), Ok(()));
        let mut nan = drift();
        nan.share_drifted = f64::NAN;
        assert!(matches!(nan.validate(), Err(SummaryError::OutOfRange { .. })));
        let mut quote = drift();
        quote.columns[0].name = "age\"} 1\nevil".into();
        assert!(matches!(quote.validate(), Err(SummaryError::BadLabel(_))));
        let mut many = drift();
        many.columns = vec![many.columns[0].clone(); MAX_SUMMARY_ENTRIES + 1];
        assert_eq!(many.validate(), Err(SummaryError::TooManyEntries(MAX_SUMMARY_ENTRIES + 1)));
        let fairness = FairnessSummary {
            generated_ms: 1,
            ratios: vec![FairnessRatio {
                metric: "ndcg".into(),
                worst_group: "F 50+".into(),
                best_group: "M 25-34".into(),
                ratio: 1.2,
                flagged: false,
            }],
            exposure_gini: 0.7,
            long_tail_share: 0.1,
        };
        assert!(matches!(fairness.validate(), Err(SummaryError::OutOfRange { .. })));
    }
}
