//! Components every page shares: SVG charts, figures, errors, confirmations.

pub mod chart;
pub mod feedback;

pub use chart::{BarChart, ChartSeries, LineChart};
pub use feedback::{ConfirmButton, ErrorNote, Figure};
