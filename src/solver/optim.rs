use serde::{Deserialize, Serialize};

use crate::linalg::simd_kernel;
use crate::{Error, Float, Result};

/// The primal optimiser, with PyTorch's update rules (so runs can be set beside PyTorch's).
///
/// ```
/// use feasible::solver::Optimizer;
/// let adamw = Optimizer::adamw(5e-4); // weight decay 0.01, β = (0.9, 0.999), 1e-8
/// assert!(adamw.validate().is_ok());
/// assert!(Optimizer::sgd(0.0).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Optimizer {
    /// SGD with optional (Nesterov) momentum and coupled (L2) weight decay.
    Sgd {
        /// Learning rate `> 0`.
        lr: f64,
        /// Momentum `μ ∈ [0, 1)`.
        momentum: f64,
        /// Nesterov momentum (needs `μ > 0`).
        nesterov: bool,
        /// L2 weight decay `≥ 0`, added to the gradient.
        weight_decay: f64,
    },
    /// Adam (weight decay, if any, is added to the gradient as L2).
    Adam {
        /// Learning rate `> 0`.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Denominator guard.
        eps: f64,
        /// L2 weight decay `≥ 0`.
        weight_decay: f64,
    },
    /// AdamW: Adam with decoupled weight decay `θ ← θ (1 − lr·wd)`.
    AdamW {
        /// Learning rate `> 0`.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Denominator guard.
        eps: f64,
        /// Decoupled weight decay `≥ 0`.
        weight_decay: f64,
    },
}

impl Optimizer {
    /// Plain SGD.
    pub fn sgd(lr: f64) -> Self {
        Optimizer::Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Adam with PyTorch's defaults (β = (0.9, 0.999), eps = 1e-8, no weight decay).
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// AdamW with PyTorch's defaults (β = (0.9, 0.999), eps = 1e-8, weight decay 0.01).
    pub fn adamw(lr: f64) -> Self {
        Optimizer::AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }

    /// The same optimiser with another weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        match &mut self {
            Optimizer::Sgd { weight_decay, .. }
            | Optimizer::Adam { weight_decay, .. }
            | Optimizer::AdamW { weight_decay, .. } => *weight_decay = wd,
        }
        self
    }

    /// SGD with momentum (and Nesterov if asked); other optimisers are returned unchanged.
    pub fn with_momentum(mut self, mu: f64, use_nesterov: bool) -> Self {
        if let Optimizer::Sgd {
            momentum, nesterov, ..
        } = &mut self
        {
            *momentum = mu;
            *nesterov = use_nesterov;
        }
        self
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. } => lr,
        }
    }

    /// Checks every rate and coefficient.
    pub fn validate(&self) -> Result<()> {
        let lr = self.lr();
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(Error::param(
                "lr",
                lr,
                "the learning rate must be finite and > 0",
            ));
        }
        match *self {
            Optimizer::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(Error::param("momentum", momentum, "must lie in [0, 1)"));
                }
                if nesterov && momentum == 0.0 {
                    return Err(Error::param(
                        "nesterov",
                        nesterov,
                        "Nesterov momentum needs momentum > 0",
                    ));
                }
                check_wd(weight_decay)
            }
            Optimizer::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            }
            | Optimizer::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                if !(0.0..1.0).contains(&beta1) {
                    return Err(Error::param("beta1", beta1, "must lie in [0, 1)"));
                }
                if !(0.0..1.0).contains(&beta2) {
                    return Err(Error::param("beta2", beta2, "must lie in [0, 1)"));
                }
                if !(eps > 0.0 && eps.is_finite()) {
                    return Err(Error::param("eps", eps, "must be finite and > 0"));
                }
                check_wd(weight_decay)
            }
        }
    }
}

fn check_wd(wd: f64) -> Result<()> {
    if wd >= 0.0 && wd.is_finite() {
        Ok(())
    } else {
        Err(Error::param("weight_decay", wd, "must be finite and ≥ 0"))
    }
}

/// Learning-rate schedule, advanced once per epoch (as a PyTorch scheduler stepped per epoch).
///
/// ```
/// use feasible::solver::Schedule;
/// let s = Schedule::Cosine { min_lr: 0.0 };
/// assert_eq!(s.lr(1.0, 0, 10), 1.0);
/// assert!((s.lr(1.0, 5, 10) - 0.5).abs() < 1e-12);
/// let st = Schedule::Step { every: 2, gamma: 0.1 };
/// assert!((st.lr(1.0, 4, 10) - 0.01).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Cosine annealing from the base rate to `min_lr` over all epochs.
    Cosine {
        /// Final learning rate.
        min_lr: f64,
    },
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays (≥ 1).
        every: usize,
        /// Decay factor in (0, 1].
        gamma: f64,
    },
}

impl Schedule {
    /// The learning rate in `epoch` (0-based) of `epochs`.
    pub fn lr(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
        }
    }

    /// Checks the schedule's own parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Cosine { min_lr } if min_lr >= 0.0 && min_lr.is_finite() => Ok(()),
            Schedule::Cosine { min_lr } => {
                Err(Error::param("min_lr", min_lr, "must be finite and ≥ 0"))
            }
            Schedule::Step { every, .. } if every == 0 => {
                Err(Error::param("every", every, "must be ≥ 1"))
            }
            Schedule::Step { gamma, .. } if !(gamma > 0.0 && gamma <= 1.0) => {
                Err(Error::param("gamma", gamma, "must lie in (0, 1]"))
            }
            Schedule::Step { .. } => Ok(()),
        }
    }
}

/// Lengths of the first and second moments `opt` keeps for `n` parameters.
fn moment_lens(n: usize, opt: &Optimizer) -> (usize, usize) {
    match opt {
        Optimizer::Sgd { momentum, .. } if *momentum > 0.0 => (n, 0),
        Optimizer::Sgd { .. } => (0, 0),
        _ => (n, n),
    }
}

/// The optimiser's state: moments and step count, saved in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct OptimizerState<F: Float> {
    /// Steps taken.
    pub t: u64,
    /// Momentum buffer (SGD with momentum) or first moment (Adam, AdamW); empty otherwise.
    pub m: Vec<F>,
    /// Second moment (Adam); empty otherwise.
    pub v: Vec<F>,
}

impl<F: Float> OptimizerState<F> {
    /// A fresh state for `n` parameters.
    pub fn new(n: usize, opt: &Optimizer) -> Self {
        let (m, v) = moment_lens(n, opt);
        Self {
            t: 0,
            m: vec![F::zero(); m],
            v: vec![F::zero(); v],
        }
    }

    /// One step `θ ← update(θ, g)` at learning rate `lr`, in place (PyTorch's formulas).
    /// Returns whether every new parameter and moment is finite; fails (changing
    /// nothing) when the state was not made for `opt` and `θ`'s length
    /// ([`new`](Self::new)) or `grad` and `θ` differ in length.
    ///
    /// ```
    /// use feasible::solver::{Optimizer, OptimizerState};
    /// let sgd = Optimizer::sgd(0.5);
    /// let mut state = OptimizerState::<f64>::new(2, &sgd);
    /// let mut theta = [1.0, 2.0];
    /// assert!(state.step(&sgd, 0.5, &mut theta, &[2.0, -2.0]).unwrap());
    /// assert_eq!(theta, [0.0, 3.0]);
    /// // A state without Adam's moments cannot take an Adam step.
    /// assert!(state.step(&Optimizer::adam(0.1), 0.1, &mut theta, &[1.0, 1.0]).is_err());
    /// ```
    pub fn step(&mut self, opt: &Optimizer, lr: f64, theta: &mut [F], grad: &[F]) -> Result<bool> {
        let mut next = Self {
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        };
        let finite = self.step_into(opt, lr, theta, grad, &mut next)?;
        *self = next;
        Ok(finite)
    }

    /// One step that updates `θ` in place but writes the new moments into `next` (reused
    /// storage, resized on first use), leaving `self` untouched so a failed step can be
    /// undone without copying. Returns whether every new parameter and moment is finite
    /// (checked in the same pass); on success the caller swaps `self` and `next`. Fails
    /// (changing nothing) as [`step`](Self::step) does.
    pub fn step_into(
        &self,
        opt: &Optimizer,
        lr: f64,
        theta: &mut [F],
        grad: &[F],
        next: &mut Self,
    ) -> Result<bool> {
        let n = theta.len();
        if grad.len() != n {
            return Err(Error::shape(
                "gradient (one value per parameter)",
                n,
                grad.len(),
            ));
        }
        let (m, v) = moment_lens(n, opt);
        if (self.m.len(), self.v.len()) != (m, v) {
            return Err(Error::shape(
                "optimiser state (moments for this optimiser and parameter count)",
                format!("{m} and {v} values"),
                format!("{} and {}", self.m.len(), self.v.len()),
            ));
        }
        self.prepare_next(next);
        let (m, v) = (&mut next.m[..], &mut next.v[..]);
        Ok(self.step_range(opt, lr, 0..n, theta, grad, m, v))
    }

    /// Sizes `next` for [`step_range`](Self::step_range) calls and sets its step count.
    pub(crate) fn prepare_next(&self, next: &mut Self) {
        next.t = self.t + 1;
        next.m.resize(self.m.len(), F::zero());
        next.v.resize(self.v.len(), F::zero());
    }

    /// [`step_into`](Self::step_into) on the parameters `range` only: `theta` and `grad`
    /// are that range's slices, `next_m` and `next_v` the same range of the new moments
    /// (empty when the optimiser keeps none), after [`prepare_next`](Self::prepare_next).
    /// Every update is element-wise, so any split into ranges gives the same bits as one
    /// call over everything.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step_range(
        &self,
        opt: &Optimizer,
        lr: f64,
        range: std::ops::Range<usize>,
        theta: &mut [F],
        grad: &[F],
        next_m: &mut [F],
        next_v: &mut [F],
    ) -> bool {
        let t = self.t + 1;
        let old = |v: &Vec<F>| -> std::ops::Range<usize> {
            if v.is_empty() { 0..0 } else { range.clone() }
        };
        let (m_old, v_old) = (&self.m[old(&self.m)], &self.v[old(&self.v)]);
        let lr_f = F::lit(lr);
        match *opt {
            Optimizer::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let wd = F::lit(weight_decay);
                let mu = F::lit(momentum);
                if momentum == 0.0 {
                    sgd_update(theta, grad, lr_f, wd);
                } else {
                    momentum_update(theta, grad, m_old, next_m, lr_f, wd, mu, t == 1, nesterov);
                }
            }
            Optimizer::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            }
            | Optimizer::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let decoupled = matches!(opt, Optimizer::AdamW { .. });
                // β^t is 0 in f64 long before t reaches i32::MAX (β < 1): capping the
                // exponent keeps the step finite for any step count.
                let tp = t.min(i32::MAX as u64) as i32;
                let bc1 = 1.0 - beta1.powi(tp);
                let bc2 = 1.0 - beta2.powi(tp);
                let step_size = F::lit(lr / bc1);
                let inv_sqrt_bc2 = F::lit(1.0 / bc2.sqrt());
                let (b1, b2, e, wd) = (
                    F::lit(beta1),
                    F::lit(beta2),
                    F::lit(eps),
                    F::lit(weight_decay),
                );
                let decay = F::one() - lr_f * wd;
                adam_update(
                    theta,
                    grad,
                    (m_old, v_old),
                    (next_m, next_v),
                    [b1, b2, e, wd, decay, step_size, inv_sqrt_bc2],
                    decoupled,
                );
            }
        }
        // Checked after the update loop (a running float accumulator inside it would
        // serialise the loop and stop it from vectorising).
        all_finite(theta) && all_finite(next_m) && all_finite(next_v)
    }
}

simd_kernel! {
    /// Plain SGD: `θ ← θ − lr (g + wd θ)` (SIMD where the CPU has it; every target runs the
    /// same operations in the same order, so the same bits).
    fn sgd_update<F: Float>(theta: &mut [F], grad: &[F], lr: F, wd: F) {
        for (p, &g) in theta.iter_mut().zip(grad) {
            let g = g + wd * *p;
            *p -= lr * g;
        }
    }
}

simd_kernel! {
    /// SGD with (Nesterov) momentum, the new buffer written to `b_new`.
    #[allow(clippy::too_many_arguments)]
    fn momentum_update<F: Float>(
        theta: &mut [F],
        grad: &[F],
        b_old: &[F],
        b_new: &mut [F],
        lr: F,
        wd: F,
        mu: F,
        first: bool,
        nesterov: bool,
    ) {
        for (((p, &g), &b0), b) in theta.iter_mut().zip(grad).zip(b_old).zip(b_new.iter_mut()) {
            let g = g + wd * *p;
            *b = if first { g } else { mu * b0 + g };
            let d = if nesterov { g + mu * *b } else { *b };
            *p -= lr * d;
        }
    }
}

simd_kernel! {
    /// Adam / AdamW with `c = [β₁, β₂, ε, wd, 1 − lr·wd, lr/bc₁, 1/√bc₂]`, the new moments
    /// written out of place.
    fn adam_update<F: Float>(
        theta: &mut [F],
        grad: &[F],
        (m_old, v_old): (&[F], &[F]),
        (m_new, v_new): (&mut [F], &mut [F]),
        c: [F; 7],
        decoupled: bool,
    ) {
        let [b1, b2, e, wd, decay, step_size, inv_sqrt_bc2] = c;
        let one = F::one();
        for ((((p, &g), (&m0, &v0)), m), v) in theta
            .iter_mut()
            .zip(grad)
            .zip(m_old.iter().zip(v_old))
            .zip(m_new.iter_mut())
            .zip(v_new.iter_mut())
        {
            let g = if decoupled {
                *p *= decay;
                g
            } else {
                g + wd * *p
            };
            *m = b1 * m0 + (one - b1) * g;
            *v = b2 * v0 + (one - b2) * g * g;
            let denom = v.sqrt() * inv_sqrt_bc2 + e;
            *p -= step_size * *m / denom;
        }
    }
}

simd_kernel! {
    /// [`all_finite_scalar`], SIMD where the CPU has it.
    pub(crate) fn all_finite<F: Float>(v: &[F]) -> bool {
        all_finite_scalar(v)
    }
}

/// Branch-free, vectorisable finiteness check: `inf·0` and `NaN·0` are NaN, and eight
/// independent accumulators keep the loop free of a serial dependency.
#[inline(always)]
fn all_finite_scalar<F: Float>(v: &[F]) -> bool {
    let zero = F::zero();
    let mut acc = [zero; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            acc[j] += c[j] * zero;
        }
    }
    let tail = it.remainder().iter().fold(zero, |a, &x| a + x * zero);
    acc.iter().fold(tail, |a, &x| a + x) == zero
}
