//! The population stability index (Evidently's `psi`).

use serde::{Deserialize, Serialize};

use super::DriftOptions;

/// How large a PSI is, by the usual reading of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsiSeverity {
    /// Below the drift threshold (0.1).
    None,
    /// From the drift threshold to the significant one (0.1 to 0.2).
    Moderate,
    /// At or above the significant threshold (0.2).
    Significant,
}

impl PsiSeverity {
    /// The severity of `index` under `options`' thresholds.
    pub fn of(index: f64, options: &DriftOptions) -> PsiSeverity {
        if index >= options.psi_significant {
            PsiSeverity::Significant
        } else if index >= options.psi_threshold {
            PsiSeverity::Moderate
        } else {
            PsiSeverity::None
        }
    }
}

/// Σ (pᵢ − qᵢ)·ln(pᵢ/qᵢ) over the bins' shares `p` (reference) and `q` (current), which must
/// be positive (the column's binning fills empty bins first). `None` for mismatched lengths
/// or a share that is not a positive finite number.
pub fn psi(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.iter().chain(q).any(|share| !(share.is_finite() && *share > 0.0)) {
        return None;
    }
    Some(p.iter().zip(q).map(|(&a, &b)| (a - b) * (a / b).ln()).sum())
}
