//! Evaluation metrics: RMSE, log loss, AUC and NDCG@k, as XGBoost computes them.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::table::{group_ranges, Table};
use crate::TrainError;

/// Probabilities are clipped this far from 0 and 1 before taking logs, as XGBoost does.
const LOGLOSS_EPSILON: f64 = 1e-16;

/// A way to score predictions against labels. Written and parsed as `rmse`, `logloss`,
/// `auc` and `ndcg@K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Metric {
    /// Root mean squared error of the predictions.
    Rmse,
    /// Mean negative log-likelihood of probabilities against labels in [0, 1].
    LogLoss,
    /// Area under the ROC curve; labels above 0.5 are positives; tied predictions count half.
    Auc,
    /// NDCG at this cut-off, averaged over query groups with gain 2^rel − 1 and log2
    /// discounts. A group whose ideal DCG is 0 (no relevant rows) scores 1, as in XGBoost.
    Ndcg(u32),
}

impl Metric {
    /// True when larger values are better (AUC, NDCG).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Auc | Metric::Ndcg(_))
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Rmse => f.write_str("rmse"),
            Metric::LogLoss => f.write_str("logloss"),
            Metric::Auc => f.write_str("auc"),
            Metric::Ndcg(k) => write!(f, "ndcg@{k}"),
        }
    }
}

impl FromStr for Metric {
    type Err = TrainError;

    fn from_str(text: &str) -> Result<Self, TrainError> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "rmse" => Ok(Metric::Rmse),
            "logloss" => Ok(Metric::LogLoss),
            "auc" => Ok(Metric::Auc),
            _ => match lower.strip_prefix("ndcg@").map(str::parse::<u32>) {
                Some(Ok(k)) if k > 0 => Ok(Metric::Ndcg(k)),
                _ => Err(TrainError::UnknownMetric(text.to_string())),
            },
        }
    }
}

impl TryFrom<String> for Metric {
    type Error = TrainError;

    fn try_from(text: String) -> Result<Self, TrainError> {
        text.parse()
    }
}

impl From<Metric> for String {
    fn from(metric: Metric) -> String {
        metric.to_string()
    }
}

/// Scores `predictions` (as `Predictor::predict` returns them: probabilities for logistic,
/// margins otherwise) against the table's labels (and groups, for NDCG).
pub fn evaluate(metric: Metric, predictions: &[f32], table: &Table) -> Result<f32, TrainError> {
    table.check()?;
    let groups = table.groups.as_deref().map(group_ranges);
    compute(metric, predictions, &table.labels, groups.as_deref())
}

/// [`evaluate`] on parts, for the training loop.
pub(crate) fn compute(
    metric: Metric,
    predictions: &[f32],
    labels: &[f32],
    groups: Option<&[Range<usize>]>,
) -> Result<f32, TrainError> {
    if predictions.len() != labels.len() {
        return Err(TrainError::LengthMismatch { what: "predictions", expected: labels.len(), got: predictions.len() });
    }
    let undefined = |reason| Err(TrainError::UndefinedMetric { metric: metric.to_string(), reason });
    if labels.is_empty() {
        return undefined("there are no rows");
    }
    let n = labels.len() as f64;
    let pairs = predictions.iter().map(|&p| f64::from(p)).zip(labels.iter().map(|&y| f64::from(y)));
    let value = match metric {
        Metric::Rmse => (pairs.map(|(p, y)| (p - y) * (p - y)).sum::<f64>() / n).sqrt(),
        Metric::LogLoss => {
            let loss = |(p, y): (f64, f64)| {
                let p = p.clamp(LOGLOSS_EPSILON, 1.0 - LOGLOSS_EPSILON);
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            };
            pairs.map(loss).sum::<f64>() / n
        }
        Metric::Auc => match auc(predictions, labels) {
            Some(auc) => auc,
            None => return undefined("AUC needs both positive and negative labels"),
        },
        Metric::Ndcg(k) => match groups {
            Some(groups) => {
                groups.iter().map(|g| ndcg(&predictions[g.clone()], &labels[g.clone()], k)).sum::<f64>()
                    / groups.len() as f64
            }
            None => return Err(TrainError::MissingGroups("NDCG")),
        },
    };
    Ok(value as f32)
}

/// The Mann-Whitney statistic with mid-ranks for ties.
fn auc(predictions: &[f32], labels: &[f32]) -> Option<f64> {
    let mut order: Vec<usize> = (0..predictions.len()).collect();
    order.sort_unstable_by(|&a, &b| predictions[a].total_cmp(&predictions[b]));
    let positives = labels.iter().filter(|&&y| y > 0.5).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && predictions[order[end]] == predictions[order[start]] {
            end += 1;
        }
        // Ranks are 1-based; a tie shares the mean of its ranks.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&row| labels[row] > 0.5).count() as f64;
        positive_rank_sum += mid_rank * tied_positives;
        start = end;
    }
    Some((positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// NDCG@k of one group. Tied scores keep row order, so the metric is deterministic.
fn ndcg(scores: &[f32], labels: &[f32], k: u32) -> f64 {
    let gain = |y: f32| f64::from(y).exp2() - 1.0;
    let dcg = |gains: &mut dyn Iterator<Item = f64>| {
        gains.take(k as usize).enumerate().map(|(rank, g)| g / ((rank + 2) as f64).log2()).sum::<f64>()
    };
    let mut ideal: Vec<f64> = labels.iter().map(|&y| gain(y)).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let ideal_dcg = dcg(&mut ideal.into_iter());
    if ideal_dcg <= 0.0 {
        return 1.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    dcg(&mut order.into_iter().map(|row| gain(labels[row]))) / ideal_dcg
}

#[cfg(test)]
mod tests {
    use marquee_model::gbdt::FeatureSchema;

    use super::*;

    fn table(labels: Vec<f32>, groups: Option<Vec<u32>>) -> Table {
        Table::new(FeatureSchema::default(), Vec::new(), labels, groups).unwrap()
    }

    #[test]
    fn metrics_parse_and_print() {
        for text in ["rmse", "logloss", "auc", "ndcg@10"] {
            assert_eq!(text.parse::<Metric>().unwrap().to_string(), text);
        }
        assert_eq!("NDCG@5".parse::<Metric>().unwrap(), Metric::Ndcg(5));
        for bad in ["ndcg@0", "ndcg@", "mse", ""] {
            assert!(matches!(bad.parse::<Metric>(), Err(TrainError::UnknownMetric(_))));
        }
        assert!(Metric::Auc.higher_is_better() && !Metric::Rmse.higher_is_better());
        assert_eq!(serde_json::to_string(&Metric::Ndcg(3)).unwrap(), "\"ndcg@3\"");
    }

    #[test]
    fn rmse_logloss_and_auc_with_ties() {
        let t = table(vec![1.0, 0.0, 1.0, 0.0], None);
        assert_eq!(evaluate(Metric::Rmse, &[1.0, 0.0, 0.0, 1.0], &t).unwrap(), 0.5f32.sqrt());
        let logloss = evaluate(Metric::LogLoss, &[0.5; 4], &t).unwrap();
        assert!((logloss - 2f32.ln()).abs() < 1e-6);
        assert_eq!(evaluate(Metric::Auc, &[0.9, 0.1, 0.8, 0.2], &t).unwrap(), 1.0);
        assert_eq!(evaluate(Metric::Auc, &[0.5; 4], &t).unwrap(), 0.5);
        // One positive tied with one negative: 3 of 4 pairs right, the tie counts half.
        assert_eq!(evaluate(Metric::Auc, &[0.9, 0.5, 0.5, 0.1], &t).unwrap(), 0.875);
        assert!(matches!(
            evaluate(Metric::Auc, &[0.1], &table(vec![1.0], None)),
            Err(TrainError::UndefinedMetric { .. })
        ));
        assert!(matches!(evaluate(Metric::Rmse, &[0.1], &t), Err(TrainError::LengthMismatch { .. })));
    }

    #[test]
    fn ndcg_over_groups() {
        let t = table(vec![3.0, 0.0, 1.0, 0.0, 0.0], Some(vec![3, 2]));
        // Perfect first group; the second has no relevant rows and counts as 1.
        assert_eq!(evaluate(Metric::Ndcg(10), &[3.0, 1.0, 2.0, 0.0, 1.0], &t).unwrap(), 1.0);
        let reversed = evaluate(Metric::Ndcg(10), &[1.0, 3.0, 2.0, 0.0, 0.0], &t).unwrap();
        let dcg = 1.0 / 3f64.log2() + 7.0 / 4f64.log2();
        let ideal = 7.0 + 1.0 / 3f64.log2();
        assert!((f64::from(reversed) - (dcg / ideal + 1.0) / 2.0).abs() < 1e-6);
        assert!(matches!(
            evaluate(Metric::Ndcg(3), &[0.0; 5], &table(vec![0.0; 5], None)),
            Err(TrainError::MissingGroups(_))
        ));
    }
}
