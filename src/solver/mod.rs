//! The primal-dual solver: Feasible Learning, Resilient FL, and the ERM, CSERM and CVaR
//! baselines, in one training loop.
//!
//! One step on a mini-batch `B` (indices known):
//! 1. forward pass: losses `ℓ_i`, `i ∈ B`;
//! 2. FL/RFL only — dual step on the batch's multipliers (others untouched):
//!    `λ_i ← max(0, λ_i + η_λ (ℓ_i − ε))`, or with RFL's decay
//!    `λ_i ← max(0, λ_i + η_λ (ℓ_i − ε − λ_i/α))`;
//! 3. primal step on `Σ_{i∈B} w_i ∇ℓ_i`, reusing the forward pass, with `w_i = λ_i` (the
//!    updated ones; [`DualOrder::Simultaneous`] uses the old ones) or the baseline's
//!    weights (see [`Method`]).
//!
//! Settings are validated before any work ([`TrainerParams::check`]); the loop has
//! explicit state ([`Checkpoint`]), observers, and a typed [`Termination`]. A non-finite
//! loss, gradient or parameter ends training with [`TrainError::Diverged`], which keeps
//! the last finite state. See `docs/algorithm.md`.
//!
//! ```
//! use feasible::data::synthetic;
//! use feasible::model::Network;
//! use feasible::solver::{Method, Optimizer, TrainerParams};
//! let data = synthetic::dense::<f64>(200, 3, synthetic::DenseTask::Regression, 0).unwrap();
//! let fit = TrainerParams::new(Method::Fl { epsilon: 0.05 })
//!     .optimizer(Optimizer::sgd(0.01)) // the primal step is a sum over the batch
//!     .dual_lr(0.5)
//!     .epochs(200)
//!     .check().unwrap()
//!     .fit(Network::linear_regression(3), &data, None).unwrap();
//! assert!(fit.train.max_loss < 0.1);
//! ```

mod dual;
pub mod eval;
mod method;
mod observe;
mod optim;
mod step;
mod trainer;

pub use dual::{DualOptimizer, dual_step};
pub use method::Method;
pub use observe::{Control, EpochFn, EpochRecord, NoObserver, Observer, StepInfo, Termination};
pub use optim::{Optimizer, OptimizerState, Schedule};
pub use trainer::{Checkpoint, DualOrder, Fit, Session, TrainError, Trainer, TrainerParams};
