use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The training objective. `ℓ_i` is sample `i`'s loss, `n` the number of samples (of the
/// mini-batch, in a stochastic step).
///
/// | method | objective | per-sample weight `w_i` in `Σ w_i ∇ℓ_i` |
/// |---|---|---|
/// | `Erm` | `mean ℓ_i` | `1/n` |
/// | `Cserm` | `mean [ℓ_i − ε]_+²` | `2 [ℓ_i − ε]_+ / n` |
/// | `Cvar` | `τ + Σ [ℓ_i − τ]_+ / ((1 − β) n)` | `1{ℓ_i > τ} / ((1 − β) n)` |
/// | `Fl` | `Σ λ_i (ℓ_i − ε)`, `λ_i ≥ 0` | `λ_i` |
/// | `Rfl` | `Σ λ_i (ℓ_i − ε − u_i) + (α/2)‖u‖²` | `λ_i` |
///
/// ```
/// use feasible::solver::Method;
/// assert!(Method::Fl { epsilon: 0.1 }.validate().is_ok());
/// assert!(Method::Fl { epsilon: -0.1 }.validate().is_err());
/// assert!(Method::Cvar { beta: 1.0 }.validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Method {
    /// Empirical risk minimisation: the mean loss.
    Erm,
    /// Clamped squared ERM: the mean of `[ℓ_i − ε]_+²`.
    Cserm {
        /// The per-sample target `ε ≥ 0`.
        epsilon: f64,
    },
    /// Conditional value at risk: the mean of the worst `(1 − β)` fraction of losses, in
    /// the Rockafellar–Uryasev form with `τ` learned alongside `θ`.
    Cvar {
        /// Confidence level `β ∈ (0, 1)`.
        beta: f64,
    },
    /// Feasible Learning: `ℓ_i ≤ ε` for every sample, one multiplier per sample.
    Fl {
        /// The per-sample target `ε ≥ 0`.
        epsilon: f64,
    },
    /// Resilient Feasible Learning: slack `u = λ/α` of minimal norm relaxes each constraint.
    Rfl {
        /// The per-sample target `ε ≥ 0`.
        epsilon: f64,
        /// Cost of slack `α > 0`. It scales the multipliers (`λ = α u`, at the fixed point
        /// `λ_i = α [ℓ_i − ε]_+`) and so the dynamics, but not the solution: for every α
        /// the stationary θ are those of CSERM (see `docs/algorithm.md`).
        alpha: f64,
    },
}

impl Method {
    /// Checks `ε ≥ 0` (finite), `α > 0`, `β ∈ (0, 1)`.
    pub fn validate(&self) -> Result<()> {
        let eps_ok = |e: f64| {
            if e >= 0.0 && e.is_finite() {
                Ok(())
            } else {
                Err(Error::param("epsilon", e, "must be finite and ≥ 0"))
            }
        };
        match *self {
            Method::Erm => Ok(()),
            Method::Cserm { epsilon } | Method::Fl { epsilon } => eps_ok(epsilon),
            Method::Cvar { beta } => {
                if beta > 0.0 && beta < 1.0 {
                    Ok(())
                } else {
                    Err(Error::param("beta", beta, "must lie in (0, 1)"))
                }
            }
            Method::Rfl { epsilon, alpha } => {
                eps_ok(epsilon)?;
                if alpha > 0.0 && alpha.is_finite() {
                    Ok(())
                } else {
                    Err(Error::param("alpha", alpha, "must be finite and > 0"))
                }
            }
        }
    }

    /// The target `ε`, for methods that have one.
    pub fn epsilon(&self) -> Option<f64> {
        match *self {
            Method::Cserm { epsilon } | Method::Fl { epsilon } | Method::Rfl { epsilon, .. } => {
                Some(epsilon)
            }
            _ => None,
        }
    }

    /// Whether the method keeps per-sample multipliers (FL, RFL).
    pub fn is_primal_dual(&self) -> bool {
        matches!(self, Method::Fl { .. } | Method::Rfl { .. })
    }

    /// Short lowercase name (`erm`, `cserm`, `cvar`, `fl`, `rfl`).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Erm => "erm",
            Method::Cserm { .. } => "cserm",
            Method::Cvar { .. } => "cvar",
            Method::Fl { .. } => "fl",
            Method::Rfl { .. } => "rfl",
        }
    }
}
