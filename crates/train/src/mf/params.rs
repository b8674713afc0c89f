//! The factorisations' parameters, checked once into [`ValidBiasedSvdParams`] and
//! [`ValidBprParams`] so that neither fit meets an out-of-range value.

use serde::{Deserialize, Serialize};

use crate::validate::{at_least_one, count_in, non_negative, positive, Checked, Validate};
use crate::TrainError;

/// How to fit the explicit factorisation (biased SVD on ratings).
///
/// The defaults are Surprise's `SVD` defaults (factors 100, epochs 20, init_mean 0,
/// init_std 0.1, lr_all 0.005, reg_all 0.02, biased), plus four blocks so that two cores
/// stay busy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BiasedSvdParams {
    /// The number of latent factors per user and per item; it must be at least 1.
    pub factors: usize,
    /// The number of passes of SGD over all ratings; it must be at least 1.
    pub epochs: usize,
    /// The standard deviation of the zero-mean normal distribution the factors start from; it
    /// must be finite and at least 0.
    pub init_std: f32,
    /// The SGD step size for every bias and factor; it must be finite and above 0.
    pub learning_rate: f32,
    /// The L2 regularisation weight for every bias and factor; it must be finite and at least 0.
    pub regularization: f32,
    /// The seed of the generator that draws the initial factors and shuffles the ratings.
    pub seed: u64,
    /// How many blocks users and items are split into for the stratified schedule, 1 to 64:
    /// up to this many cores train at once. The result depends on it (and not on the
    /// number of threads); 1 visits all ratings in one shuffled order, as Surprise does.
    pub blocks: usize,
}

impl Default for BiasedSvdParams {
    fn default() -> Self {
        BiasedSvdParams {
            factors: 100,
            epochs: 20,
            init_std: 0.1,
            learning_rate: 0.005,
            regularization: 0.02,
            seed: 0,
            blocks: 4,
        }
    }
}

/// Parameters that passed [`Validate::validate`]; the only kind
/// [`super::fit_biased_svd()`] accepts.
pub type ValidBiasedSvdParams = Checked<BiasedSvdParams>;

impl Validate for BiasedSvdParams {
    type Valid = ValidBiasedSvdParams;

    /// Checks every parameter's range (see each field's documentation).
    fn validate(self) -> Result<ValidBiasedSvdParams, TrainError> {
        at_least_one("factors", self.factors)?;
        count_in("blocks", self.blocks, 1..=64)?;
        at_least_one("epochs", self.epochs)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("regularization", self.regularization)?;
        non_negative("init_std", self.init_std)?;
        Ok(Checked::after_checks(self))
    }
}

/// How to fit the implicit factorisation (BPR on which movies each user interacted with).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BprParams {
    /// The number of latent factors per user and per item; it must be 1 to 1024.
    pub factors: usize,
    /// The passes over all positive pairs (each pass draws fresh negatives); it must be 1 to
    /// 10,000.
    pub epochs: usize,
    /// The SGD step size; it must be finite and above 0.
    pub learning_rate: f32,
    /// The L2 weight on the factors; it must be finite and at least 0.
    pub regularization: f32,
    /// The L2 weight on the item biases; it must be finite and at least 0.
    pub bias_regularization: f32,
    /// The standard deviation of the zero-mean normal distribution the factors start from; it
    /// must be finite and at least 0.
    pub init_std: f32,
    /// The seed of the generator that draws the initial factors, the visiting order and the
    /// negative items.
    pub seed: u64,
}

impl Default for BprParams {
    fn default() -> Self {
        BprParams {
            factors: 32,
            epochs: 30,
            learning_rate: 0.05,
            regularization: 0.01,
            bias_regularization: 0.001,
            init_std: 0.1,
            seed: 0,
        }
    }
}

/// Parameters that passed [`Validate::validate`]; the only kind [`super::fit_bpr()`] accepts.
pub type ValidBprParams = Checked<BprParams>;

impl Validate for BprParams {
    type Valid = ValidBprParams;

    /// Checks every parameter's range (see each field's documentation).
    fn validate(self) -> Result<ValidBprParams, TrainError> {
        count_in("factors", self.factors, 1..=1024)?;
        count_in("epochs", self.epochs, 1..=10_000)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("regularization", self.regularization)?;
        non_negative("bias_regularization", self.bias_regularization)?;
        non_negative("init_std", self.init_std)?;
        Ok(Checked::after_checks(self))
    }
}
