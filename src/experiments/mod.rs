//! The experiments behind the examples and `docs/reproduction.md`, as library functions
//! with a size knob: the examples run them at full size, the tests at reduced size, so a
//! broken example fails CI.
//!
//! Each experiment trains several methods on the same split and returns, per method, the
//! train and test summaries, the final per-sample losses and multipliers and the history,
//! ready to print ([`render_table`]) or plot.

mod aggregate;
mod diabetes;
mod digits;
mod polynomial;
mod quickstart;
mod table;
mod two_moons;

pub use aggregate::{MeanStd, render_seed_table};
pub use diabetes::{DiabetesConfig, diabetes};
pub use digits::{DigitsConfig, digits};
pub use polynomial::{PolynomialConfig, PolynomialResult, polynomial};
pub use quickstart::{QuickstartConfig, quickstart};
pub use table::{Row, render_table};
pub use two_moons::{SeedRuns, TwoMoonsConfig, two_moons};

use crate::metrics::LossSummary;
use crate::solver::EpochRecord;

/// One method's outcome in an experiment.
#[derive(Clone, Debug)]
pub struct MethodRun {
    /// Label, e.g. `FL ε=0.10`.
    pub label: String,
    /// Final training summary.
    pub train: LossSummary,
    /// Final held-out summary.
    pub test: LossSummary,
    /// Final per-sample training losses.
    pub train_losses: Vec<f64>,
    /// Final per-sample held-out losses.
    pub test_losses: Vec<f64>,
    /// Final multipliers (FL, RFL).
    pub multipliers: Option<Vec<f64>>,
    /// Evaluation history.
    pub history: Vec<EpochRecord>,
}

impl MethodRun {
    /// The two table rows (train, test) of this run.
    pub fn rows(&self) -> [Row; 2] {
        [
            Row {
                method: self.label.clone(),
                split: "train".into(),
                summary: self.train.clone(),
            },
            Row {
                method: self.label.clone(),
                split: "test".into(),
                summary: self.test.clone(),
            },
        ]
    }
}

/// The rows of several runs, in order.
pub fn rows_of(runs: &[MethodRun]) -> Vec<Row> {
    runs.iter().flat_map(|r| r.rows()).collect()
}
