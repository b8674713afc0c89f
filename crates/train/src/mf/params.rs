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
    /// number of threads); 1 visits all ratings in one order, user by user as Surprise does
    /// (two users' ratings alternating, users and each user's ratings shuffled).
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

/// How to fit SVD++ (biased SVD plus implicit factors over the items each user rated).
///
/// The defaults were tuned on MovieLens 100K with an inner validation split of the
/// training data only (see the README's rating-accuracy section).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SvdPlusPlusParams {
    /// Latent factors per user and per item, 1 to 1024.
    pub factors: usize,
    /// Passes of SGD over all ratings, 1 to 10,000.
    pub epochs: usize,
    /// The standard deviation of the zero-mean normal start of every factor; finite, >= 0.
    pub init_std: f32,
    /// The SGD step size of the first epoch; finite and above 0.
    pub learning_rate: f32,
    /// The step size is multiplied by this after every epoch; in (0, 1].
    pub learning_rate_decay: f32,
    /// The L2 weight on the factors `p_u`, `q_i` and `y_j`; finite and >= 0.
    pub regularization: f32,
    /// The L2 weight on the biases; finite and >= 0.
    pub bias_regularization: f32,
    /// Seeds the initial factors and every epoch's visiting order.
    pub seed: u64,
}

impl Default for SvdPlusPlusParams {
    fn default() -> Self {
        SvdPlusPlusParams {
            factors: 100,
            epochs: 60,
            init_std: 0.05,
            learning_rate: 0.005,
            learning_rate_decay: 1.0,
            regularization: 0.1,
            bias_regularization: 0.05,
            seed: 0,
        }
    }
}

/// Parameters that passed [`Validate::validate`]; the only kind
/// [`super::fit_svd_plus_plus()`] accepts.
pub type ValidSvdPlusPlusParams = Checked<SvdPlusPlusParams>;

impl Validate for SvdPlusPlusParams {
    type Valid = ValidSvdPlusPlusParams;

    /// Checks every parameter's range (see each field's documentation).
    fn validate(self) -> Result<ValidSvdPlusPlusParams, TrainError> {
        count_in("factors", self.factors, 1..=1024)?;
        count_in("epochs", self.epochs, 1..=10_000)?;
        non_negative("init_std", self.init_std)?;
        positive("learning_rate", self.learning_rate)?;
        positive("learning_rate_decay", self.learning_rate_decay)?;
        if self.learning_rate_decay > 1.0 {
            return Err(crate::validate::invalid("learning_rate_decay", "must be at most 1"));
        }
        non_negative("regularization", self.regularization)?;
        non_negative("bias_regularization", self.bias_regularization)?;
        Ok(Checked::after_checks(self))
    }
}

/// How to fit the item-kNN-with-baselines model (Surprise's `KNNBaseline` with the
/// `pearson_baseline` similarity, item-based).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemKnnParams {
    /// How many of the user's rated neighbours a prediction uses, 1 to 10,000.
    pub k: usize,
    /// How many most-similar neighbours are stored per item, at least `k` and at most
    /// 100,000: a user's rated neighbours are looked for among these.
    pub stored_neighbours: usize,
    /// Shrinks the similarity of items with few common raters toward 0:
    /// `s · (n − 1) / (n − 1 + shrinkage)`; finite and >= 0.
    pub shrinkage: f32,
    /// Alternating least-squares passes that fit the baselines, 1 to 1,000.
    pub baseline_epochs: usize,
    /// The ridge weight of each item bias; finite and >= 0.
    pub item_regularization: f32,
    /// The ridge weight of each user bias; finite and >= 0.
    pub user_regularization: f32,
}

impl Default for ItemKnnParams {
    fn default() -> Self {
        ItemKnnParams {
            k: 40,
            stored_neighbours: 400,
            shrinkage: 100.0,
            baseline_epochs: 10,
            item_regularization: 5.0,
            user_regularization: 10.0,
        }
    }
}

/// Parameters that passed [`Validate::validate`]; the only kind [`super::fit_item_knn()`]
/// accepts.
pub type ValidItemKnnParams = Checked<ItemKnnParams>;

impl Validate for ItemKnnParams {
    type Valid = ValidItemKnnParams;

    /// Checks every parameter's range (see each field's documentation).
    fn validate(self) -> Result<ValidItemKnnParams, TrainError> {
        count_in("k", self.k, 1..=10_000)?;
        count_in("stored_neighbours", self.stored_neighbours, self.k..=100_000)?;
        non_negative("shrinkage", self.shrinkage)?;
        count_in("baseline_epochs", self.baseline_epochs, 1..=1_000)?;
        non_negative("item_regularization", self.item_regularization)?;
        non_negative("user_regularization", self.user_regularization)?;
        Ok(Checked::after_checks(self))
    }
}
