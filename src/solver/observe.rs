use serde::{Deserialize, Serialize};

use crate::metrics::{LossSummary, MultiplierStats};

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Termination {
    /// All requested epochs ran.
    EpochsDone,
    /// Every training sample met `ℓ_i ≤ ε` at an evaluation (early stop was on).
    AllFeasible {
        /// Epochs completed.
        epoch: usize,
    },
    /// An observer asked to stop.
    StoppedByObserver {
        /// Epochs completed.
        epoch: usize,
    },
    /// The caller finished a [`Session`](super::Session) before its last epoch.
    FinishedEarly {
        /// Epochs completed.
        epoch: usize,
    },
}

/// What an observer tells the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after this point (reported as [`Termination::StoppedByObserver`]).
    Stop,
}

/// Metrics of one evaluation (after an epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps taken.
    pub step: u64,
    /// The primal learning rate of the epoch.
    pub lr: f64,
    /// Training-set summary.
    pub train: LossSummary,
    /// Validation-set summary.
    pub validation: Option<LossSummary>,
    /// Multiplier statistics (FL, RFL).
    pub multipliers: Option<MultiplierStats>,
    /// `Σ λ_i (ℓ_i − ε)` (FL) or `Σ λ_i (ℓ_i − ε) − ‖λ‖²/(2α)` (RFL).
    pub lagrangian: Option<f64>,
    /// CVaR's `τ`.
    pub tau: Option<f64>,
}

/// What an observer sees every k steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// 0-based epoch.
    pub epoch: usize,
    /// Steps taken (this one included).
    pub step: u64,
    /// Mean loss of the batch (before the step).
    pub batch_mean_loss: f64,
    /// Max loss of the batch (before the step).
    pub batch_max_loss: f64,
}

/// Called by the training loop, to log, plot or stop.
///
/// ```
/// use feasible::solver::{Control, EpochRecord, Observer};
/// struct StopAt(usize);
/// impl Observer for StopAt {
///     fn on_epoch(&mut self, r: &EpochRecord) -> Control {
///         if r.epoch >= self.0 { Control::Stop } else { Control::Continue }
///     }
/// }
/// ```
pub trait Observer {
    /// After each evaluation.
    fn on_epoch(&mut self, _record: &EpochRecord) -> Control {
        Control::Continue
    }
    /// Every [`step_every`](Observer::step_every) steps.
    fn on_step(&mut self, _info: &StepInfo) -> Control {
        Control::Continue
    }
    /// How often `on_step` is called (`None`: never).
    fn step_every(&self) -> Option<usize> {
        None
    }
}

/// An observer that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// Wraps a closure as an epoch observer.
///
/// ```
/// use feasible::solver::{Control, EpochFn};
/// let mut seen = 0;
/// let _obs = EpochFn(|_r: &feasible::solver::EpochRecord| { seen += 1; Control::Continue });
/// ```
pub struct EpochFn<G>(pub G);

impl<G: FnMut(&EpochRecord) -> Control> Observer for EpochFn<G> {
    fn on_epoch(&mut self, record: &EpochRecord) -> Control {
        (self.0)(record)
    }
}
