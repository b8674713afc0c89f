//! One module per page, in the order of the navigation.

pub mod experiment;
pub mod lookup;
pub mod models;
pub mod overview;
pub mod playground;

pub use experiment::ExperimentPage;
pub use lookup::LookupPage;
pub use models::ModelsPage;
pub use overview::OverviewPage;
pub use playground::PlaygroundPage;
