//! The trainer's one error type.

use marquee_model::ModelError;

/// Everything the trainer can refuse: bad parameters, malformed tables, impossible requests.
/// Training never panics on user input; it returns one of these instead.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A training parameter is out of range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam {
        /// The parameter's field name in `TrainParams`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Two parts of the input disagree in length.
    #[error("{what} has {got} entries, expected {expected}")]
    LengthMismatch {
        /// Which input is too short or too long.
        what: &'static str,
        /// The length it should have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// A label the objective cannot use (NaN, infinite, outside [0, 1] for logistic, negative for ranking).
    #[error("label {value} at row {row} is invalid: {reason}")]
    InvalidLabel {
        /// The row holding the label.
        row: usize,
        /// The label itself.
        value: f32,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Query groups that do not tile the rows.
    #[error("invalid query groups: {0}")]
    InvalidGroups(String),
    /// A ranking objective or metric was asked of a table without query groups.
    #[error("{0} needs query groups, but the table has none")]
    MissingGroups(&'static str),
    /// The training table has no rows.
    #[error("the training table has no rows")]
    EmptyTable,
    /// The validation table's columns differ from the training table's.
    #[error("the validation table's schema differs from the training table's")]
    SchemaMismatch,
    /// A categorical feature with more categories than a one-byte bin index can hold.
    #[error("feature {feature:?} declares {categories} categories; the trainer supports 1 to 255")]
    TooManyCategories {
        /// The feature's name.
        feature: String,
        /// The declared category count.
        categories: u32,
    },
    /// Early stopping watches the validation metric, so it needs a validation table.
    #[error("early stopping needs a validation table")]
    EarlyStoppingNeedsValidation,
    /// A metric name that does not parse.
    #[error("unknown metric {0:?}; expected rmse, logloss, auc or ndcg@K")]
    UnknownMetric(String),
    /// A metric that has no value on this data (e.g. AUC with a single class).
    #[error("metric {metric} is undefined here: {reason}")]
    UndefinedMetric {
        /// The metric's name.
        metric: String,
        /// Why it has no value.
        reason: &'static str,
    },
    /// The model crate refused the ensemble (a bug if it ever happens after training).
    #[error("model: {0}")]
    Model(#[from] ModelError),
    /// Input data that cannot be read as a table (e.g. a malformed CSV file).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A model file from another library that Marquee cannot convert.
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
    /// The local thread pool could not start.
    #[error("cannot start the thread pool: {0}")]
    ThreadPool(String),
}
