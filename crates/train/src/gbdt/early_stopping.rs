//! Early stopping: watches the validation metric and stops once it has not improved for a
//! number of rounds.

/// Tracks the best round so far.
#[derive(Clone, Debug)]
pub(crate) struct EarlyStopping {
    patience: Option<u32>,
    higher_is_better: bool,
    best: Option<(usize, f32)>,
}

impl EarlyStopping {
    pub(crate) fn new(patience: Option<u32>, higher_is_better: bool) -> Self {
        EarlyStopping { patience, higher_is_better, best: None }
    }

    /// Records `round`'s metric and returns true when training should stop. Only strict
    /// improvements count (as in XGBoost), and NaN never improves.
    pub(crate) fn update(&mut self, round: usize, value: f32) -> bool {
        let improves = match self.best {
            None => !value.is_nan(),
            Some((_, best)) => {
                if self.higher_is_better {
                    value > best
                } else {
                    value < best
                }
            }
        };
        if improves {
            self.best = Some((round, value));
        }
        let waited = self.best.map_or(round + 1, |(best_round, _)| round - best_round);
        self.patience.is_some_and(|patience| waited >= patience as usize)
    }

    /// The round with the best metric so far.
    pub(crate) fn best_round(&self) -> Option<usize> {
        self.best.map(|(round, _)| round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_rounds_without_improvement() {
        let mut stopping = EarlyStopping::new(Some(2), false);
        assert!(!stopping.update(0, 1.0));
        assert!(!stopping.update(1, 0.5));
        assert!(!stopping.update(2, 0.5), "equal is not better");
        assert!(stopping.update(3, 0.7));
        assert_eq!(stopping.best_round(), Some(1));
        let mut higher = EarlyStopping::new(None, true);
        for (round, value) in [0.1, f32::NAN, 0.3, 0.2].into_iter().enumerate() {
            assert!(!higher.update(round, value));
        }
        assert_eq!(higher.best_round(), Some(2));
    }
}
