//! The worst-to-best group ratio and the four-fifths rule.

use serde::{Deserialize, Serialize};

/// The four-fifths rule (the US EEOC's rule of thumb for adverse impact): a group whose rate
/// is below 80% of the best group's is flagged.
pub const FOUR_FIFTHS: f64 = 0.8;

/// One group's value of a metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupValue {
    pub group: String,
    pub value: f64,
    /// Whether the group is large enough to count in the ratio.
    pub eligible: bool,
}

/// The lowest eligible group's value over the highest's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRatio {
    pub worst_group: String,
    pub worst: f64,
    pub best_group: String,
    pub best: f64,
    /// `worst / best`, in `[0, 1]`.
    pub ratio: f64,
    /// Whether the ratio is below [`FOUR_FIFTHS`].
    pub flagged: bool,
    /// How many groups were compared.
    pub groups: usize,
}

/// The worst-to-best ratio over the eligible groups with finite, non-negative values (the
/// first listed wins a tie). `None` with fewer than two such groups or when the best value
/// is 0 (every group at 0: no ratio to speak of).
pub fn worst_to_best(groups: &[GroupValue]) -> Option<GroupRatio> {
    let compared: Vec<&GroupValue> =
        groups.iter().filter(|g| g.eligible && g.value.is_finite() && g.value >= 0.0).collect();
    let mut worst = *compared.first()?;
    let mut best = worst;
    for &group in &compared {
        if group.value < worst.value {
            worst = group;
        }
        if group.value > best.value {
            best = group;
        }
    }
    if compared.len() < 2 || best.value <= 0.0 {
        return None;
    }
    let ratio = (worst.value / best.value).clamp(0.0, 1.0);
    Some(GroupRatio {
        worst_group: worst.group.clone(),
        worst: worst.value,
        best_group: best.group.clone(),
        best: best.value,
        ratio,
        flagged: ratio < FOUR_FIFTHS,
        groups: compared.len(),
    })
}
