use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::dual::DualOptimizer;
use super::eval;
use super::method::Method;
use super::observe::{Control, EpochRecord, NoObserver, Observer, StepInfo, Termination};
use super::optim::{Optimizer, OptimizerState, Schedule};
use super::step::{
    ROW_OVERHEAD, Runner, SHARED_STEP_MIN_PARAMS, Samples, Slot, WeightKind, batch_stats,
    chunk_pass, primal_pass, undo_chunk_pass,
};

use crate::data::{BatchView, Dataset, MiniBatches, Shuffle};
use crate::metrics::{FeasibilityReport, LossSummary, MultiplierStats, pairwise_sum};
use crate::model::Model;
use crate::parallel::{Par, Team, num_chunks};
use crate::{Error, Float, Result};

/// When the primal step sees the multipliers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DualOrder {
    /// Dual step first, then the primal step with the *updated* `λ` (the reference
    /// implementation's order, and the default).
    #[default]
    Alternating,
    /// Primal step with the `λ` from before the dual step (simultaneous GDA).
    Simultaneous,
}

/// Unchecked training settings, set with builder methods, then [`check`](Self::check)ed
/// into a [`Trainer`].
///
/// ```
/// use feasible::solver::{Method, Optimizer, TrainerParams};
/// let trainer = TrainerParams::new(Method::Fl { epsilon: 0.1 })
///     .optimizer(Optimizer::adamw(5e-4))
///     .dual_lr(1e-2)
///     .epochs(10)
///     .check()
///     .unwrap();
/// assert_eq!(trainer.params().epochs, 10);
/// assert!(TrainerParams::new(Method::Erm).epochs(0).check().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerParams {
    /// The objective.
    pub method: Method,
    /// The primal optimiser.
    pub optimizer: Optimizer,
    /// Its learning-rate schedule (per epoch).
    pub schedule: Schedule,
    /// The multipliers' update (FL/RFL).
    pub dual: DualOptimizer,
    /// Alternating (default) or simultaneous dual/primal steps.
    pub order: DualOrder,
    /// Initial value of every multiplier (default 0).
    pub init_multiplier: f64,
    /// Initial `τ` for CVaR (default 0).
    pub init_tau: f64,
    /// Number of epochs (≥ 1).
    pub epochs: usize,
    /// Mini-batch size; `None` is full batch.
    pub batch_size: Option<usize>,
    /// How each epoch orders the samples into mini-batches (default: a fresh random
    /// permutation; [`Shuffle::Blocks`] reads rows in runs, faster on large data).
    #[serde(default)]
    pub shuffle: Shuffle,
    /// Seed of the batch order.
    pub seed: u64,
    /// Evaluate the full training (and validation) set every this many epochs; 0 = only
    /// after the last epoch. Default 1.
    pub eval_every: usize,
    /// Stop as soon as an evaluation finds every training sample feasible.
    pub stop_when_feasible: bool,
    /// The `ε` used in reports for methods that have none (ERM, CVaR).
    pub report_epsilon: Option<f64>,
    /// Compute `‖Σ λ_i ∇ℓ_i‖` after training (one extra pass; FL/RFL only). Default true.
    pub stationarity: bool,
    /// Evaluate the full training set after the last epoch (default true). When false,
    /// the final training summary uses each sample's loss as seen at its last step (no
    /// extra pass over the data: what large-data users and benchmarks want).
    pub final_eval: bool,
    /// Threading of the kernels.
    pub par: Par,
}

impl TrainerParams {
    /// Defaults: SGD lr 0.1, constant schedule, dual ascent lr 1e-2, alternating order,
    /// 100 epochs, full batch, seed 0, evaluation every epoch.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            optimizer: Optimizer::sgd(0.1),
            schedule: Schedule::Constant,
            dual: DualOptimizer::ascent(1e-2),
            order: DualOrder::Alternating,
            init_multiplier: 0.0,
            init_tau: 0.0,
            epochs: 100,
            batch_size: None,
            shuffle: Shuffle::Samples,
            seed: 0,
            eval_every: 1,
            stop_when_feasible: false,
            report_epsilon: None,
            stationarity: true,
            final_eval: true,
            par: Par::Rayon,
        }
    }

    /// Sets the primal optimiser.
    pub fn optimizer(mut self, o: Optimizer) -> Self {
        self.optimizer = o;
        self
    }
    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, s: Schedule) -> Self {
        self.schedule = s;
        self
    }
    /// Sets the dual optimiser.
    pub fn dual(mut self, d: DualOptimizer) -> Self {
        self.dual = d;
        self
    }
    /// Projected gradient ascent on the multipliers with this rate.
    pub fn dual_lr(mut self, lr: f64) -> Self {
        self.dual = DualOptimizer::ascent(lr);
        self
    }
    /// Sets the dual/primal order.
    pub fn order(mut self, o: DualOrder) -> Self {
        self.order = o;
        self
    }
    /// Sets the initial multiplier value.
    pub fn init_multiplier(mut self, v: f64) -> Self {
        self.init_multiplier = v;
        self
    }
    /// Sets CVaR's initial `τ`.
    pub fn init_tau(mut self, v: f64) -> Self {
        self.init_tau = v;
        self
    }
    /// Sets the number of epochs.
    pub fn epochs(mut self, e: usize) -> Self {
        self.epochs = e;
        self
    }
    /// Mini-batches of this size (reshuffled every epoch).
    pub fn batch_size(mut self, b: usize) -> Self {
        self.batch_size = Some(b);
        self
    }
    /// Sets how each epoch orders the samples (see [`Shuffle`]).
    pub fn shuffle(mut self, s: Shuffle) -> Self {
        self.shuffle = s;
        self
    }
    /// Full-batch training.
    pub fn full_batch(mut self) -> Self {
        self.batch_size = None;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Sets the evaluation period in epochs (0: only at the end).
    pub fn eval_every(mut self, k: usize) -> Self {
        self.eval_every = k;
        self
    }
    /// Stops early once every training sample is feasible.
    pub fn stop_when_feasible(mut self, yes: bool) -> Self {
        self.stop_when_feasible = yes;
        self
    }
    /// The `ε` for reports of methods without one.
    pub fn report_epsilon(mut self, e: f64) -> Self {
        self.report_epsilon = Some(e);
        self
    }
    /// Whether to compute the stationarity norm after training.
    pub fn stationarity(mut self, yes: bool) -> Self {
        self.stationarity = yes;
        self
    }
    /// Whether to evaluate the full training set after the last epoch.
    pub fn final_eval(mut self, yes: bool) -> Self {
        self.final_eval = yes;
        self
    }
    /// Sets the kernel threading.
    pub fn par(mut self, p: Par) -> Self {
        self.par = p;
        self
    }

    /// Validates every setting that does not depend on the data.
    pub fn check(self) -> Result<Trainer> {
        self.method.validate()?;
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.dual.validate()?;
        self.shuffle.validate()?;
        if self.epochs == 0 {
            return Err(Error::param("epochs", 0, "must be ≥ 1"));
        }
        if self.batch_size == Some(0) {
            return Err(Error::param("batch_size", 0, "must be ≥ 1"));
        }
        if self.par == Par::Threads(0) {
            return Err(Error::param("threads", 0, "must be ≥ 1"));
        }
        if !(self.init_multiplier >= 0.0 && self.init_multiplier.is_finite()) {
            return Err(Error::param(
                "init_multiplier",
                self.init_multiplier,
                "must be finite and ≥ 0",
            ));
        }
        if !self.init_tau.is_finite() {
            return Err(Error::param("init_tau", self.init_tau, "must be finite"));
        }
        if let Some(e) = self.report_epsilon
            && !(e >= 0.0 && e.is_finite())
        {
            return Err(Error::param("epsilon", e, "must be finite and ≥ 0"));
        }
        if self.stop_when_feasible && self.epsilon().is_none() {
            return Err(Error::param(
                "stop_when_feasible",
                true,
                "needs an ε: use FL, RFL or CSERM, or set report_epsilon",
            ));
        }
        Ok(Trainer { p: self })
    }

    /// The `ε` of the method, or the report's.
    pub fn epsilon(&self) -> Option<f64> {
        self.method.epsilon().or(self.report_epsilon)
    }
}

/// Validated settings, ready to [`fit`](Trainer::fit).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trainer {
    p: TrainerParams,
}

/// Everything needed to continue a run exactly: parameters, multipliers, optimiser
/// moments, the RNG position and batch order, the epoch, and the history so far.
///
/// Its `Debug` output abbreviates the per-sample and per-parameter vectors (a divergence
/// error that is unwrapped prints a few lines, not millions of numbers).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Checkpoint<F: Float> {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimisation steps taken.
    pub step: u64,
    /// The model's flat parameters.
    pub params: Vec<F>,
    /// CVaR's `τ`.
    pub tau: F,
    /// One multiplier per training sample (empty for ERM, CSERM, CVaR).
    pub lambda: Vec<F>,
    /// νPI state per sample (empty unless νPI is used).
    pub xi: Vec<F>,
    /// Primal optimiser state.
    pub opt: OptimizerState<F>,
    /// `τ`'s optimiser state.
    pub tau_opt: OptimizerState<F>,
    /// The batch-order RNG.
    pub rng: Xoshiro256PlusPlus,
    /// The current batch order.
    pub order: Vec<usize>,
    /// Epoch records so far.
    pub history: Vec<EpochRecord>,
}

/// Rejects a checkpoint holding values no run can produce (a corrupt or hand-edited
/// file): non-finite parameters, multipliers, νPI states, `τ` or moments, negative
/// multipliers or second moments, and a step count that cannot take another step.
fn check_checkpoint_values<F: Float>(c: &Checkpoint<F>) -> Result<()> {
    let finite = |v: &[F]| v.iter().all(|x| x.is_finite());
    let bad = |what: &str| Err(Error::Format(format!("checkpoint {what}")));
    if !finite(&c.params) {
        return bad("parameters are not all finite");
    }
    if !c.lambda.iter().all(|&l| l.is_finite() && l >= F::zero()) {
        return bad("multipliers are not all finite and ≥ 0");
    }
    if !finite(&c.xi) || !c.tau.is_finite() {
        return bad("νPI states or τ are not all finite");
    }
    for o in [&c.opt, &c.tau_opt] {
        if !finite(&o.m) || !finite(&o.v) || o.v.iter().any(|&v| v < F::zero()) {
            return bad("optimiser state is not finite (or has a negative second moment)");
        }
        if o.t == u64::MAX {
            return bad("optimiser step count is out of range");
        }
    }
    Ok(())
}

/// The first few values of a long vector and its length, for `Debug` output.
struct Abbrev<'a, T>(&'a [T]);

impl<T: std::fmt::Debug> std::fmt::Debug for Abbrev<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 4;
        let mut l = f.debug_list();
        l.entries(self.0.iter().take(SHOWN));
        if self.0.len() > SHOWN {
            l.entry(&format_args!("… ({} values)", self.0.len()));
        }
        l.finish()
    }
}

impl<F: Float> std::fmt::Debug for Checkpoint<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("epoch", &self.epoch)
            .field("step", &self.step)
            .field("params", &Abbrev(&self.params))
            .field("tau", &self.tau)
            .field("lambda", &Abbrev(&self.lambda))
            .field("xi", &Abbrev(&self.xi))
            .field("opt.t", &self.opt.t)
            .field("opt.m", &Abbrev(&self.opt.m))
            .field("opt.v", &Abbrev(&self.opt.v))
            .field("order", &Abbrev(&self.order))
            .field(
                "history",
                &format_args!("{} epoch records", self.history.len()),
            )
            .finish_non_exhaustive()
    }
}

/// Training failed after it started: a non-finite loss, multiplier, gradient or parameter.
#[derive(Debug, thiserror::Error)]
pub enum TrainError<F: Float> {
    /// Invalid settings or data (nothing was trained).
    #[error(transparent)]
    Invalid(#[from] Error),
    /// Divergence; `last_finite` is the state before the failing step (parameters,
    /// multipliers, νPI and optimiser states as they were when that step began).
    #[error("training diverged at epoch {epoch}, step {step}: {what}")]
    Diverged {
        /// 0-based epoch of the failing step; for a failure in an evaluation pass (a
        /// non-finite loss on the training or the validation data), the number of epochs
        /// completed before it.
        epoch: usize,
        /// Step count at the failure.
        step: u64,
        /// What became non-finite.
        what: String,
        /// The last finite state (restore it to inspect or resume with smaller steps).
        /// It is a mid-epoch state: `order` is the previous epoch's batch order while
        /// `rng` has already drawn the failing epoch's, so resuming from it runs that
        /// epoch from its start with a fresh shuffle, not the interrupted one.
        last_finite: Box<Checkpoint<F>>,
    },
}

impl<F: Float> TrainError<F> {
    /// A divergence at `epoch`, handing back `ck` with the model's (finite) `params`.
    fn diverged(epoch: usize, ck: &Checkpoint<F>, params: &[F], what: &str) -> Self {
        let mut last = ck.clone();
        last.params.copy_from_slice(params);
        TrainError::Diverged {
            epoch,
            step: ck.step,
            what: what.to_string(),
            last_finite: Box::new(last),
        }
    }
}

/// The result of training.
#[derive(Clone, Debug)]
pub struct Fit<F: Float, M> {
    /// The trained model.
    pub model: M,
    /// The final multipliers `λ` (FL, RFL).
    pub multipliers: Option<Vec<F>>,
    /// RFL's slack `u = λ/α`.
    pub slack: Option<Vec<F>>,
    /// CVaR's final `τ`.
    pub tau: Option<F>,
    /// Final per-sample training losses.
    pub train_losses: Vec<F>,
    /// Final training summary.
    pub train: LossSummary,
    /// Final validation summary.
    pub validation: Option<LossSummary>,
    /// Final multiplier statistics (FL, RFL).
    pub multiplier_stats: Option<MultiplierStats>,
    /// Per-evaluation records.
    pub history: Vec<EpochRecord>,
    /// Why training ended.
    pub termination: Termination,
    /// Epochs completed.
    pub epochs_run: usize,
    /// KKT residuals (when the method or `report_epsilon` gives an ε).
    pub feasibility: Option<FeasibilityReport>,
    /// The final state, to resume from.
    pub checkpoint: Checkpoint<F>,
}

/// Reused buffers of one run: nothing is allocated per step.
struct Buffers<F: Float, W, C> {
    /// One slot per chunk of the largest batch; in a step, each chunk's worker takes its
    /// slot.
    slots: Vec<Slot<F, C>>,
    eval_ws: W,
    grad: Vec<F>,
    prev: Vec<F>,
    /// Each sample's loss at its last step (for `final_eval = false`).
    seen: Vec<F>,
    /// Spare optimiser states: the primal step writes new moments here and they are
    /// swapped in only when the whole step is finite.
    opt_prev: OptimizerState<F>,
    tau_opt_prev: OptimizerState<F>,
}

fn to_f64<F: Float>(v: &[F]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64_lossless()).collect()
}

impl Trainer {
    /// The validated settings.
    pub fn params(&self) -> &TrainerParams {
        &self.p
    }

    /// Trains `model` on `train` from scratch, evaluating on `validation` when given.
    pub fn fit<F: Float, M: Model<F>>(
        &self,
        model: M,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
    ) -> Result<Fit<F, M>, TrainError<F>> {
        self.run(model, None, train, validation, &mut NoObserver)
    }

    /// As [`fit`](Self::fit), calling `observer` every epoch evaluation (and every k steps
    /// if it asks).
    pub fn fit_observed<F: Float, M: Model<F>>(
        &self,
        model: M,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
    ) -> Result<Fit<F, M>, TrainError<F>> {
        self.run(model, None, train, validation, observer)
    }

    /// Continues a run from a checkpoint up to this trainer's `epochs`. With the same
    /// settings and data, the end is bit-identical to an uninterrupted run.
    pub fn resume<F: Float, M: Model<F>>(
        &self,
        model: M,
        checkpoint: Checkpoint<F>,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
    ) -> Result<Fit<F, M>, TrainError<F>> {
        self.run(model, Some(checkpoint), train, validation, observer)
    }

    fn check_data<F: Float, M: Model<F>>(
        &self,
        model: &M,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
    ) -> Result<()> {
        for (name, d) in std::iter::once(("training", train)).chain(val.map(|v| ("validation", v)))
        {
            if d.n_features() != model.n_inputs() {
                return Err(Error::shape(
                    format!("{name} features"),
                    model.n_inputs(),
                    d.n_features(),
                ));
            }
            if !model.head().accepts(d.task()) {
                return Err(Error::TaskMismatch(format!(
                    "{name} data is {:?} but the model's head is {:?}",
                    d.task(),
                    model.head()
                )));
            }
        }
        if let Some(b) = self.p.batch_size
            && b > train.n_samples()
        {
            return Err(Error::param(
                "batch_size",
                b,
                format!("must not exceed the {} training samples", train.n_samples()),
            ));
        }
        let n = train.n_samples();
        if let (Shuffle::Blocks { size }, Some(b)) = (self.p.shuffle, self.p.batch_size)
            && b < n
            && n / size < 2
        {
            return Err(Error::param(
                "shuffle",
                size,
                format!(
                    "block size leaves fewer than two whole blocks of the {n} training \
                     samples: the batch order would never change"
                ),
            ));
        }
        if let Some(i) = model.params().iter().position(|p| !p.is_finite()) {
            return Err(Error::NonFinite {
                what: "initial model parameters".into(),
                row: i,
                col: 0,
            });
        }
        Ok(())
    }

    fn run<F: Float, M: Model<F>>(
        &self,
        model: M,
        start: Option<Checkpoint<F>>,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
    ) -> Result<Fit<F, M>, TrainError<F>> {
        let mut session = self.open(model, start, train, validation)?;
        while session.run_epoch(observer)?.is_none() {}
        session.finish()
    }

    /// Starts a training session: the loop's explicit state, advanced one epoch at a time
    /// with [`Session::run_epoch`] and closed with [`Session::finish`] (which `fit` does
    /// for you). Settings and data are validated here.
    ///
    /// ```
    /// use feasible::data::synthetic;
    /// use feasible::model::Network;
    /// use feasible::solver::{Method, NoObserver, TrainerParams};
    /// let data = synthetic::dense::<f64>(64, 2, synthetic::DenseTask::Binary, 0).unwrap();
    /// let trainer = TrainerParams::new(Method::Fl { epsilon: 0.3 }).epochs(3).check().unwrap();
    /// let mut s = trainer.session(Network::logistic_regression(2), &data, None).unwrap();
    /// while s.run_epoch(&mut NoObserver).unwrap().is_none() {}
    /// assert_eq!(s.epoch(), 3);
    /// let fit = s.finish().unwrap();
    /// assert_eq!(fit.epochs_run, 3);
    /// ```
    pub fn session<'a, F: Float, M: Model<F>>(
        &'a self,
        model: M,
        train: &'a Dataset<F>,
        validation: Option<&'a Dataset<F>>,
    ) -> Result<Session<'a, F, M>, TrainError<F>> {
        self.open(model, None, train, validation)
    }

    /// A session continuing from a checkpoint.
    pub fn session_from<'a, F: Float, M: Model<F>>(
        &'a self,
        model: M,
        checkpoint: Checkpoint<F>,
        train: &'a Dataset<F>,
        validation: Option<&'a Dataset<F>>,
    ) -> Result<Session<'a, F, M>, TrainError<F>> {
        self.open(model, Some(checkpoint), train, validation)
    }

    fn open<'a, F: Float, M: Model<F>>(
        &'a self,
        mut model: M,
        start: Option<Checkpoint<F>>,
        train: &'a Dataset<F>,
        validation: Option<&'a Dataset<F>>,
    ) -> Result<Session<'a, F, M>, TrainError<F>> {
        let p = &self.p;
        self.check_data(&model, train, validation)?;
        let n = train.n_samples();
        let n_params = model.n_params();
        let mut batches = MiniBatches::new(n, p.batch_size.unwrap_or(n))?;
        let pd = p.method.is_primal_dual();
        let ck = match start {
            Some(c) => {
                let fresh = OptimizerState::<F>::new(n_params, &p.optimizer);
                let fresh_tau = OptimizerState::<F>::new(1, &p.optimizer.with_weight_decay(0.0));
                let opt_ok = |o: &OptimizerState<F>, f: &OptimizerState<F>| {
                    o.m.len() == f.m.len() && o.v.len() == f.v.len()
                };
                if c.params.len() != n_params
                    || c.lambda.len() != if pd { n } else { 0 }
                    || !(c.xi.is_empty() || c.xi.len() == n)
                    || c.order.len() != n
                    || !opt_ok(&c.opt, &fresh)
                    || !opt_ok(&c.tau_opt, &fresh_tau)
                {
                    return Err(Error::Format(
                        "checkpoint does not match the model, data, method or optimiser".into(),
                    )
                    .into());
                }
                check_checkpoint_values(&c)?;
                batches.set_order(c.order.clone())?;
                model.params_mut().copy_from_slice(&c.params);
                c
            }
            None => Checkpoint {
                epoch: 0,
                step: 0,
                params: model.params().to_vec(),
                tau: F::lit(p.init_tau),
                lambda: if pd {
                    vec![F::lit(p.init_multiplier); n]
                } else {
                    Vec::new()
                },
                xi: Vec::new(),
                opt: OptimizerState::new(n_params, &p.optimizer),
                tau_opt: OptimizerState::new(1, &p.optimizer.with_weight_decay(0.0)),
                rng: Xoshiro256PlusPlus::seed_from_u64(p.seed),
                order: batches.order().to_vec(),
                history: Vec::new(),
            },
        };
        let bmax = batches.batch_size();
        let buf = Buffers {
            slots: (0..num_chunks(bmax))
                .map(|_| Slot::new(model.chunk_workspace()))
                .collect(),
            eval_ws: model.workspace(),
            grad: vec![F::zero(); n_params],
            prev: vec![F::zero(); n_params],
            seen: if p.final_eval {
                Vec::new()
            } else {
                vec![F::nan(); n]
            },
            opt_prev: ck.opt.clone(),
            tau_opt_prev: ck.tau_opt.clone(),
        };
        // Helper threads kept for the whole session when steps are big enough to share
        // and nobody else manages the threads (inside a rayon pool, steps use that pool).
        let size = p.par.team_size();
        let team =
            (size > 1 && p.par.fan_out(bmax, n_params + ROW_OVERHEAD)).then(|| Team::new(size));
        let done = (ck.epoch >= p.epochs).then_some(Termination::EpochsDone);
        Ok(Session {
            trainer: self,
            team,
            model,
            ck,
            buf,
            batches,
            train,
            validation,
            tau_opt_cfg: p.optimizer.with_weight_decay(0.0),
            done,
        })
    }

    /// One step on the batch `idx` (see [`super::step`]): the chunk pass (concurrently
    /// when the batch is large enough: rows, losses, the dual step written in place, the
    /// weighted gradients), the checks, then the primal step by parameter range. A step
    /// that fails puts back everything it changed and returns the state before it.
    #[allow(clippy::too_many_arguments)]
    fn step<F: Float, M: Model<F>>(
        &self,
        model: &mut M,
        ck: &mut Checkpoint<F>,
        buf: &mut Buffers<F, M::Workspace, M::Chunk>,
        team: Option<&Team>,
        train: &Dataset<F>,
        idx: &[usize],
        lr: f64,
        tau_opt_cfg: &Optimizer,
        epoch: usize,
    ) -> Result<StepInfo, TrainError<F>> {
        let p = &self.p;
        let m = idx.len();
        let kind = WeightKind::new(p, m, ck.tau);
        let d = train.n_features();
        // The data can be used in place only when the batch is all rows in natural order
        // (a full batch resumed from a shuffled checkpoint reads rows by index instead).
        let full = m == train.n_samples() && idx.iter().enumerate().all(|(k, &i)| k == i);
        let (x, y) = (train.x_slice(), train.targets().as_ref());
        let view = if full {
            BatchView::contiguous(x, y, d)?
        } else {
            BatchView::indexed(x, y, d, idx)?
        };
        let n_params = model.n_params();
        let (chunk_run, primal_run) = match team {
            _ if !p.par.fan_out(m, n_params + ROW_OVERHEAD) => (Runner::Seq, Runner::Seq),
            None => (Runner::Rayon, Runner::Seq),
            Some(t) if n_params >= SHARED_STEP_MIN_PARAMS => (Runner::Team(t), Runner::Team(t)),
            Some(t) => (Runner::Team(t), Runner::Seq),
        };
        // νPI's state is created on first use (and dropped again if this step fails).
        let had_xi = !ck.xi.is_empty();
        if let WeightKind::Dual { rule, .. } = kind {
            rule.prepare(ck.lambda.len(), &mut ck.xi);
        }
        let slots = &mut buf.slots[..num_chunks(m)];
        let samples = Samples {
            lambda: &mut ck.lambda,
            xi: &mut ck.xi,
            seen: &mut buf.seen,
        };
        chunk_pass(&*model, view, idx, kind, samples, slots, chunk_run);
        let undo = |ck: &mut Checkpoint<F>, seen: &mut [F], slots: &[Slot<F, M::Chunk>]| {
            let samples = Samples {
                lambda: &mut ck.lambda,
                xi: &mut ck.xi,
                seen,
            };
            undo_chunk_pass(idx, slots, samples);
            if !had_xi {
                ck.xi.clear();
            }
        };
        let diverged = |ck: &Checkpoint<F>, model: &M, what: &str| {
            TrainError::diverged(epoch, ck, model.params(), what)
        };
        // Errors, then the checks, in chunk order.
        for c in 0..slots.len() {
            if let Err(e) = slots[c].take_status() {
                undo(ck, &mut buf.seen, slots);
                return Err(e.into());
            }
        }
        if let Some(sl) = slots
            .iter()
            .find(|sl| M::chunk_gradient(&sl.cw).len() != n_params)
        {
            undo(ck, &mut buf.seen, slots);
            return Err(Error::shape(
                "Model::chunk_gradient (one value per parameter)",
                n_params,
                M::chunk_gradient(&sl.cw).len(),
            )
            .into());
        }
        let stats = batch_stats(slots, m);
        if !stats.finite {
            undo(ck, &mut buf.seen, slots);
            return Err(diverged(ck, model, "non-finite loss"));
        }
        if !stats.dual_finite {
            undo(ck, &mut buf.seen, slots);
            return Err(diverged(ck, model, "non-finite multiplier"));
        }
        ck.opt.prepare_next(&mut buf.opt_prev);
        let primal = primal_pass::<F, M>(
            slots,
            &ck.opt,
            &p.optimizer,
            lr,
            model.params_mut(),
            &mut buf.grad,
            &mut buf.prev,
            &mut buf.opt_prev,
            primal_run,
        );
        let tau_grad = match kind {
            WeightKind::Cvar { c, .. } => Some(F::one() - F::lit(stats.above as f64) * c),
            _ => None,
        };
        let mut ok = primal.step_finite;
        let mut new_tau = ck.tau;
        if let Some(g) = tau_grad {
            let mut t = [ck.tau];
            // `τ`'s state is made for one value and this optimiser when the session opens
            // (and checked on resume), so the step cannot fail on its shape; if it ever
            // did, the step is undone like a non-finite one.
            let stepped =
                ck.tau_opt
                    .step_into(tau_opt_cfg, lr, &mut t, &[g], &mut buf.tau_opt_prev);
            ok &= matches!(stepped, Ok(true));
            new_tau = t[0];
        }
        if !primal.grad_finite || !ok {
            model.params_mut().copy_from_slice(&buf.prev);
            undo(ck, &mut buf.seen, slots);
            let what = if primal.grad_finite {
                "non-finite parameters after the primal step"
            } else {
                "non-finite gradient"
            };
            return Err(diverged(ck, model, what));
        }
        std::mem::swap(&mut ck.opt, &mut buf.opt_prev);
        if tau_grad.is_some() {
            std::mem::swap(&mut ck.tau_opt, &mut buf.tau_opt_prev);
            ck.tau = new_tau;
        }
        ck.step += 1;
        Ok(StepInfo {
            epoch,
            step: ck.step,
            batch_mean_loss: stats.mean,
            batch_max_loss: stats.max,
        })
    }

    fn summarize<F: Float, M: Model<F>>(
        &self,
        model: &M,
        ck: &Checkpoint<F>,
        data: &Dataset<F>,
        ws: &mut M::Workspace,
    ) -> Result<(Vec<F>, LossSummary), TrainError<F>> {
        let (l, acc) = eval::losses_and_accuracy(model, data, ws, self.p.par)?;
        if l.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::diverged(
                ck.epoch,
                ck,
                model.params(),
                "non-finite loss at evaluation",
            ));
        }
        let s = LossSummary::from_losses(&to_f64(&l), self.p.epsilon())?.with_accuracy(acc);
        Ok((l, s))
    }

    fn lagrangian<F: Float>(&self, losses: &[F], lambda: &[F]) -> Option<f64> {
        let eps = self.p.method.epsilon()?;
        if lambda.is_empty() {
            return None;
        }
        let terms: Vec<f64> = losses
            .iter()
            .zip(lambda)
            .map(|(&l, &m)| {
                let (l, m) = (l.to_f64_lossless(), m.to_f64_lossless());
                match self.p.method {
                    Method::Rfl { alpha, .. } => m * (l - eps) - m * m / (2.0 * alpha),
                    _ => m * (l - eps),
                }
            })
            .collect();
        Some(pairwise_sum(&terms))
    }

    fn record<F: Float, M: Model<F>>(
        &self,
        model: &M,
        ck: &Checkpoint<F>,
        buf: &mut Buffers<F, M::Workspace, M::Chunk>,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        lr: f64,
    ) -> Result<EpochRecord, TrainError<F>> {
        let (tl, ts) = self.summarize(model, ck, train, &mut buf.eval_ws)?;
        let vs = match validation {
            Some(v) => Some(self.summarize(model, ck, v, &mut buf.eval_ws)?.1),
            None => None,
        };
        let multipliers = if ck.lambda.is_empty() {
            None
        } else {
            Some(MultiplierStats::from_multipliers(&to_f64(&ck.lambda))?)
        };
        Ok(EpochRecord {
            epoch: ck.epoch,
            step: ck.step,
            lr,
            lagrangian: self.lagrangian(&tl, &ck.lambda),
            train: ts,
            validation: vs,
            multipliers,
            tau: matches!(self.p.method, Method::Cvar { .. }).then(|| ck.tau.to_f64_lossless()),
        })
    }

    fn finish<F: Float, M: Model<F>>(
        &self,
        model: M,
        ck: Checkpoint<F>,
        mut buf: Buffers<F, M::Workspace, M::Chunk>,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        termination: Termination,
    ) -> Result<Fit<F, M>, TrainError<F>> {
        let p = &self.p;
        let (train_losses, ts) = if p.final_eval || buf.seen.iter().any(|l| l.is_nan()) {
            self.summarize(&model, &ck, train, &mut buf.eval_ws)?
        } else {
            let seen = std::mem::take(&mut buf.seen);
            let s = LossSummary::from_losses(&to_f64(&seen), p.epsilon())?;
            (seen, s)
        };
        let vs = match validation {
            Some(v) => Some(self.summarize(&model, &ck, v, &mut buf.eval_ws)?.1),
            None => None,
        };
        let pd = p.method.is_primal_dual();
        let lambda64 = pd.then(|| to_f64(&ck.lambda));
        let alpha = match p.method {
            Method::Rfl { alpha, .. } => Some(alpha),
            _ => None,
        };
        let stationarity = if pd && p.stationarity {
            let g = eval::weighted_gradient(&model, train, &ck.lambda, &mut buf.eval_ws, p.par)?;
            Some(
                pairwise_sum(
                    &g.iter()
                        .map(|v| v.to_f64_lossless().powi(2))
                        .collect::<Vec<_>>(),
                )
                .sqrt(),
            )
        } else {
            None
        };
        let feasibility = match p.epsilon() {
            Some(eps) => Some(FeasibilityReport::new(
                &to_f64(&train_losses),
                lambda64.as_deref(),
                eps,
                alpha,
                stationarity,
            )?),
            None => None,
        };
        let multiplier_stats = match &lambda64 {
            Some(l) => Some(MultiplierStats::from_multipliers(l)?),
            None => None,
        };
        let slack = alpha.map(|a| ck.lambda.iter().map(|&l| l / F::lit(a)).collect());
        Ok(Fit {
            multipliers: pd.then(|| ck.lambda.clone()),
            slack,
            tau: matches!(p.method, Method::Cvar { .. }).then_some(ck.tau),
            train_losses,
            train: ts,
            validation: vs,
            multiplier_stats,
            history: ck.history.clone(),
            termination,
            epochs_run: ck.epoch,
            feasibility,
            checkpoint: ck,
            model,
        })
    }
}

/// A training run in progress: the loop's explicit state (model, multipliers, optimiser
/// moments, RNG, reused buffers). Made by [`Trainer::session`].
pub struct Session<'a, F: Float, M: Model<F>> {
    trainer: &'a Trainer,
    /// Helper threads for the steps' chunk passes (see [`Team`]).
    team: Option<Team>,
    model: M,
    ck: Checkpoint<F>,
    buf: Buffers<F, M::Workspace, M::Chunk>,
    batches: MiniBatches,
    train: &'a Dataset<F>,
    validation: Option<&'a Dataset<F>>,
    tau_opt_cfg: Optimizer,
    done: Option<Termination>,
}

impl<F: Float, M: Model<F>> Session<'_, F, M> {
    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.ck.epoch
    }

    /// The model as it is now.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The multipliers as they are now (empty for methods without them).
    pub fn multipliers(&self) -> &[F] {
        &self.ck.lambda
    }

    /// Why the session ended, once it has.
    pub fn termination(&self) -> Option<Termination> {
        self.done
    }

    /// A snapshot of the whole state, to save and resume from.
    pub fn checkpoint(&self) -> Checkpoint<F> {
        let mut c = self.ck.clone();
        c.params.copy_from_slice(self.model.params());
        c
    }

    /// Runs one epoch (and its evaluation when due), calling `observer`. Returns
    /// `Some(reason)` once training has ended (then further calls do nothing).
    pub fn run_epoch(
        &mut self,
        observer: &mut dyn Observer,
    ) -> Result<Option<Termination>, TrainError<F>> {
        if self.done.is_some() {
            return Ok(self.done);
        }
        let t = self.trainer;
        let p = &t.p;
        let ck = &mut self.ck;
        let epoch = ck.epoch;
        let lr = p.schedule.lr(p.optimizer.lr(), epoch, p.epochs);
        if !self.batches.is_full_batch() {
            self.batches.reorder(p.shuffle, &mut ck.rng);
        }
        let step_every = observer.step_every();
        let mut stop = false;
        for b in 0..self.batches.num_batches() {
            let idx = self.batches.batch(b);
            let info = t.step(
                &mut self.model,
                ck,
                &mut self.buf,
                self.team.as_ref(),
                self.train,
                idx,
                lr,
                &self.tau_opt_cfg,
                epoch,
            )?;
            if let Some(k) = step_every
                && k > 0
                && ck.step.is_multiple_of(k as u64)
                && observer.on_step(&info) == Control::Stop
            {
                stop = true;
                break;
            }
        }
        ck.epoch += 1;
        ck.order.copy_from_slice(self.batches.order());
        if stop {
            self.done = Some(Termination::StoppedByObserver { epoch: ck.epoch });
            return Ok(self.done);
        }
        let last = ck.epoch == p.epochs;
        let due = p.eval_every > 0 && ck.epoch.is_multiple_of(p.eval_every);
        if due || (last && p.final_eval) || p.stop_when_feasible {
            let rec = t.record(
                &self.model,
                ck,
                &mut self.buf,
                self.train,
                self.validation,
                lr,
            )?;
            let all_feasible = rec.train.feasible_fraction == Some(1.0);
            ck.history.push(rec);
            let rec = ck.history.last().expect("just pushed");
            if observer.on_epoch(rec) == Control::Stop {
                self.done = Some(Termination::StoppedByObserver { epoch: ck.epoch });
            } else if p.stop_when_feasible && all_feasible {
                self.done = Some(Termination::AllFeasible { epoch: ck.epoch });
            }
        }
        if self.done.is_none() && last {
            self.done = Some(Termination::EpochsDone);
        }
        Ok(self.done)
    }

    /// Ends the session (whether or not all epochs ran): final evaluation, feasibility
    /// report, and the [`Fit`].
    pub fn finish(self) -> Result<Fit<F, M>, TrainError<F>> {
        let Session {
            trainer,
            model,
            mut ck,
            buf,
            train,
            validation,
            done,
            ..
        } = self;
        ck.params.copy_from_slice(model.params());
        let termination = done.unwrap_or(Termination::FinishedEarly { epoch: ck.epoch });
        trainer.finish(model, ck, buf, train, validation, termination)
    }
}
