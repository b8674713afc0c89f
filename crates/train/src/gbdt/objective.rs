//! Losses: the starting margin, label checks, and each row's gradient and hessian of the
//! loss with respect to its margin (second-order boosting, as in XGBoost).

use std::ops::Range;

use marquee_model::gbdt::Objective;
use rayon::prelude::*;

use crate::TrainError;

/// Hessians are floored here for logistic, as XGBoost does, so that confident rows still
/// weigh something.
const MIN_HESSIAN: f64 = 1e-16;

/// A row's gradient and hessian. `f32` halves the memory traffic of histogram building;
/// the sums are taken in `f64`.
pub(crate) type GradHess = [f32; 2];

pub(crate) fn sigmoid(margin: f64) -> f64 {
    1.0 / (1.0 + (-margin).exp())
}

/// Refuses labels the objective cannot learn from.
pub(crate) fn check_labels(objective: Objective, labels: &[f32]) -> Result<(), TrainError> {
    let (bad, reason): (fn(f32) -> bool, &'static str) = match objective {
        Objective::SquaredError => return Ok(()),
        Objective::Logistic => (|y| !(0.0..=1.0).contains(&y), "logistic labels must be in [0, 1]"),
        Objective::RankPairwise | Objective::RankNdcg => (|y| y < 0.0, "relevance labels must be >= 0"),
    };
    match labels.iter().position(|&y| bad(y)) {
        Some(row) => Err(TrainError::InvalidLabel { row, value: labels[row], reason }),
        None => Ok(()),
    }
}

/// The starting margin: the user's base score (a probability for logistic) or XGBoost 2.x's
/// estimate.
pub(crate) fn base_margin(objective: Objective, labels: &[f32], base_score: Option<f32>) -> f32 {
    let mean = || labels.iter().map(|&y| f64::from(y)).sum::<f64>() / labels.len().max(1) as f64;
    match objective {
        Objective::SquaredError => base_score.unwrap_or_else(|| mean() as f32),
        Objective::Logistic => {
            // Clamped so that a single-class table still starts at a finite margin.
            let p = base_score.map_or_else(mean, f64::from).clamp(1e-6, 1.0 - 1e-6);
            (p / (1.0 - p)).ln() as f32
        }
        Objective::RankPairwise | Objective::RankNdcg => base_score.unwrap_or(0.0),
    }
}

/// Turns a margin into a prediction, as `Predictor::predict` does.
pub(crate) fn transform(objective: Objective, margin: f32) -> f32 {
    match objective {
        Objective::Logistic => sigmoid(f64::from(margin)) as f32,
        _ => margin,
    }
}

/// Fills `out` with every row's gradient and hessian at the current margins.
pub(crate) fn compute_gradients(
    objective: Objective,
    margins: &[f32],
    labels: &[f32],
    groups: &[Range<usize>],
    out: &mut [GradHess],
) {
    const CHUNK: usize = 8192;
    match objective {
        Objective::SquaredError => {
            out.par_chunks_mut(CHUNK).zip(margins.par_chunks(CHUNK)).zip(labels.par_chunks(CHUNK)).for_each(
                |((out, margins), labels)| {
                    for ((gh, &m), &y) in out.iter_mut().zip(margins).zip(labels) {
                        *gh = [m - y, 1.0];
                    }
                },
            );
        }
        Objective::Logistic => {
            out.par_chunks_mut(CHUNK).zip(margins.par_chunks(CHUNK)).zip(labels.par_chunks(CHUNK)).for_each(
                |((out, margins), labels)| {
                    for ((gh, &m), &y) in out.iter_mut().zip(margins).zip(labels) {
                        let p = sigmoid(f64::from(m));
                        *gh = [(p - f64::from(y)) as f32, (p * (1.0 - p)).max(MIN_HESSIAN) as f32];
                    }
                },
            );
        }
        Objective::RankPairwise | Objective::RankNdcg => {
            // Groups are disjoint slices of `out`, so they run in parallel without sharing.
            let mut slices = Vec::with_capacity(groups.len());
            let mut rest = out;
            for group in groups {
                let (head, tail) = rest.split_at_mut(group.len());
                slices.push((group.clone(), head));
                rest = tail;
            }
            let ndcg = objective == Objective::RankNdcg;
            slices.into_par_iter().for_each(|(group, out)| {
                lambda_gradients(&margins[group.clone()], &labels[group], ndcg, out);
            });
        }
    }
}

/// LambdaMART over one query group: every pair with different labels pushes the better
/// row up and the worse down by the RankNet gradient, weighted by 1 (pairwise) or by the
/// |ΔNDCG| of swapping the two (NDCG, gain 2^rel − 1, log2 discounts, over the ideal DCG).
/// Cost is quadratic in the group size.
fn lambda_gradients(scores: &[f32], labels: &[f32], ndcg: bool, out: &mut [GradHess]) {
    let n = scores.len();
    let mut sums = vec![[0.0f64; 2]; n];
    let mut position = vec![0usize; n];
    let mut gain = vec![0.0f64; n];
    let mut ideal = 1.0;
    if ndcg {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        for (rank, &row) in order.iter().enumerate() {
            position[row] = rank;
        }
        for (g, &y) in gain.iter_mut().zip(labels) {
            *g = f64::from(y).exp2() - 1.0;
        }
        let mut ideal_gains = gain.clone();
        ideal_gains.sort_by(|a, b| b.total_cmp(a));
        ideal = ideal_gains.iter().enumerate().map(|(rank, g)| g * discount(rank)).sum();
    }
    if ideal > 0.0 {
        for i in 0..n {
            for j in i + 1..n {
                if labels[i] == labels[j] {
                    continue;
                }
                let (hi, lo) = if labels[i] > labels[j] { (i, j) } else { (j, i) };
                let weight = if ndcg {
                    (gain[hi] - gain[lo]).abs() * (discount(position[hi]) - discount(position[lo])).abs() / ideal
                } else {
                    1.0
                };
                // rho = P(the pair is mis-ordered) under the RankNet model.
                let rho = sigmoid(f64::from(scores[lo]) - f64::from(scores[hi]));
                let lambda = rho * weight;
                let hess = (rho * (1.0 - rho) * weight).max(0.0);
                sums[hi][0] -= lambda;
                sums[lo][0] += lambda;
                sums[hi][1] += hess;
                sums[lo][1] += hess;
            }
        }
    }
    for (gh, sum) in out.iter_mut().zip(&sums) {
        *gh = [sum[0] as f32, sum[1] as f32];
    }
}

fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 2) as f64).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squared_error_and_logistic_gradients() {
        let mut out = vec![[0.0; 2]; 2];
        compute_gradients(Objective::SquaredError, &[1.0, 2.0], &[3.0, 2.0], &[], &mut out);
        assert_eq!(out, vec![[-2.0, 1.0], [0.0, 1.0]]);
        compute_gradients(Objective::Logistic, &[0.0, 100.0], &[1.0, 1.0], &[], &mut out);
        assert_eq!(out[0], [-0.5, 0.25]);
        assert!(out[1][0].abs() < 1e-6 && out[1][1] > 0.0);
    }

    #[test]
    fn base_margins_follow_xgboost() {
        assert_eq!(base_margin(Objective::SquaredError, &[1.0, 2.0, 6.0], None), 3.0);
        assert!(base_margin(Objective::Logistic, &[1.0, 0.0], None).abs() < 1e-6);
        assert!((base_margin(Objective::Logistic, &[0.0], Some(0.75)) - 3f32.ln()).abs() < 1e-6);
        assert_eq!(base_margin(Objective::RankNdcg, &[3.0], None), 0.0);
        assert!(base_margin(Objective::Logistic, &[1.0, 1.0], None).is_finite());
    }

    #[test]
    fn lambdas_push_relevant_rows_up_and_skip_flat_groups() {
        for objective in [Objective::RankPairwise, Objective::RankNdcg] {
            let mut out = vec![[0.0; 2]; 5];
            let groups = [0..3, 3..5];
            compute_gradients(objective, &[0.0; 5], &[2.0, 0.0, 1.0, 1.0, 1.0], &groups, &mut out);
            assert!(out[0][0] < 0.0 && out[1][0] > 0.0, "{objective:?}: {out:?}");
            assert!(out[..3].iter().all(|gh| gh[1] > 0.0));
            let sum: f32 = out[..3].iter().map(|gh| gh[0]).sum();
            assert!(sum.abs() < 1e-6);
            assert_eq!(&out[3..], &[[0.0, 0.0]; 2]);
        }
    }

    #[test]
    fn label_checks() {
        assert!(check_labels(Objective::Logistic, &[0.0, 1.0, 0.5]).is_ok());
        assert!(matches!(check_labels(Objective::Logistic, &[2.0]), Err(TrainError::InvalidLabel { row: 0, .. })));
        assert!(check_labels(Objective::RankNdcg, &[-1.0]).is_err());
        assert!(check_labels(Objective::SquaredError, &[-1e9]).is_ok());
    }
}
