//! Choosing the best `k` of many scored candidates, the last step of every recommender.

use std::cmp::Ordering;

use crate::ModelError;

/// Writes into `out` the indices of the `k` highest `scores`, best first.
///
/// Ties keep the lower index first so that results are deterministic on every target.
/// NaN scores rank below everything else. `out` is cleared and reused, so serving a
/// stream of users allocates nothing once it has grown.
pub fn top_k(scores: &[f32], k: usize, out: &mut Vec<usize>) {
    out.clear();
    out.extend(0..scores.len());
    // Every index in `out` is below `scores.len()`; the NaN is never read.
    let score = |index: usize| scores.get(index).copied().unwrap_or(f32::NAN);
    let better = |a: &usize, b: &usize| compare(score(*a), score(*b)).then(a.cmp(b));
    if k < out.len() {
        // Partition first (O(n)) and sort only the winners (O(k log k)).
        out.select_nth_unstable_by(k, better);
        out.truncate(k);
    }
    out.sort_unstable_by(better);
}

/// Higher first, NaN last.
fn compare(a: f32, b: f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// [`top_k`] over ids and scores given side by side; their lengths must agree.
pub fn top_k_ids<'a, T>(
    ids: &'a [T],
    scores: &[f32],
    k: usize,
    scratch: &mut Vec<usize>,
) -> Result<Vec<&'a T>, ModelError> {
    if ids.len() != scores.len() {
        return Err(ModelError::LengthMismatch { what: "scores", expected: ids.len(), got: scores.len() });
    }
    top_k(scores, k, scratch);
    Ok(scratch.iter().filter_map(|&index| ids.get(index)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_best_in_order_with_stable_ties_and_nan_last() {
        let mut out = Vec::new();
        top_k(&[0.5, f32::NAN, 2.0, 0.5, 1.0], 3, &mut out);
        assert_eq!(out, vec![2, 4, 0]);
        top_k(&[f32::NAN, 1.0], 5, &mut out);
        assert_eq!(out, vec![1, 0]);
        top_k(&[], 3, &mut out);
        assert!(out.is_empty());
        top_k(&[1.0, 2.0], 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn ids_and_scores_must_line_up() {
        let mut scratch = Vec::new();
        assert_eq!(top_k_ids(&["a", "b"], &[0.1, 0.9], 1, &mut scratch).unwrap(), vec![&"b"]);
        assert!(top_k_ids(&["a"], &[0.1, 0.9], 1, &mut scratch).is_err());
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn ranks_the_same_in_the_browser() {
        let mut out = Vec::new();
        super::top_k(&[0.25, 3.0, -1.0, 3.0], 3, &mut out);
        assert_eq!(out, vec![1, 3, 0]);
    }
}
