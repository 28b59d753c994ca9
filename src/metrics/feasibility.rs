use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How far a solution is from satisfying the Karush–Kuhn–Tucker conditions of
/// `min 0 s.t. ℓ_i(θ) ≤ ε` (FL), or of its resilient relaxation (RFL).
///
/// | field | condition it measures |
/// |---|---|
/// | `max_violation`, `n_violating` | primal feasibility `ℓ_i ≤ ε` |
/// | `complementary_slackness` | `λ_i (ℓ_i − ε) = 0` (FL); `λ_i (ℓ_i − ε − λ_i/α) = 0` (RFL) |
/// | `stationarity` | `Σ_i λ_i ∇ℓ_i = 0` (FL), the Lagrangian's gradient |
/// | `rfl_fixed_point_residual` | `λ_i = α [ℓ_i − ε]_+` (RFL) |
///
/// ```
/// use feasible::metrics::FeasibilityReport;
/// let r = FeasibilityReport::new(&[0.1, 0.5], Some(&[0.0, 2.0]), 0.3, None, None).unwrap();
/// assert_eq!(r.n_violating, 1);
/// assert!((r.max_violation - 0.2).abs() < 1e-12);
/// assert!((r.complementary_slackness - 0.4).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeasibilityReport {
    /// The target `ε`.
    pub epsilon: f64,
    /// `max_i (ℓ_i − ε)` (negative when every sample is feasible).
    pub max_violation: f64,
    /// `#{i : ℓ_i > ε}`.
    pub n_violating: usize,
    /// `max_i |λ_i (ℓ_i − ε − u_i)|`, with slack `u_i = λ_i/α` for RFL and 0 for FL (0
    /// without multipliers).
    pub complementary_slackness: f64,
    /// `‖Σ_i λ_i ∇_θ ℓ_i‖₂` over the training set, when computed.
    pub stationarity: Option<f64>,
    /// `max_i |λ_i − α [ℓ_i − ε]_+|` for RFL.
    pub rfl_fixed_point_residual: Option<f64>,
}

impl FeasibilityReport {
    /// Builds the report from final losses and (optionally) multipliers, `ε`, RFL's `α`
    /// and a precomputed stationarity norm. Fails on no losses, a length mismatch, a
    /// non-finite loss, `ε` not finite and ≥ 0, `α` not finite and > 0, or a multiplier
    /// not finite and ≥ 0.
    pub fn new(
        losses: &[f64],
        lambda: Option<&[f64]>,
        epsilon: f64,
        alpha: Option<f64>,
        stationarity: Option<f64>,
    ) -> Result<Self> {
        if losses.is_empty() {
            return Err(Error::Empty("no losses for a feasibility report".into()));
        }
        if let Some(l) = lambda
            && l.len() != losses.len()
        {
            return Err(Error::shape("multipliers", losses.len(), l.len()));
        }
        if let Some(row) = losses.iter().position(|l| !l.is_finite()) {
            return Err(Error::NonFinite {
                what: "losses".into(),
                row,
                col: 0,
            });
        }
        if !(epsilon >= 0.0 && epsilon.is_finite()) {
            return Err(Error::param("epsilon", epsilon, "must be finite and ≥ 0"));
        }
        if let Some(a) = alpha
            && !(a > 0.0 && a.is_finite())
        {
            return Err(Error::param("alpha", a, "must be finite and > 0"));
        }
        if let Some((i, &m)) = lambda
            .into_iter()
            .flatten()
            .enumerate()
            .find(|&(_, &m)| !(m >= 0.0 && m.is_finite()))
        {
            return Err(Error::param(
                "multipliers",
                format!("λ[{i}] = {m}"),
                "must be finite and ≥ 0",
            ));
        }
        let max_violation = losses
            .iter()
            .map(|&l| l - epsilon)
            .fold(f64::NEG_INFINITY, f64::max);
        let n_violating = losses.iter().filter(|&&l| l > epsilon).count();
        let (cs, fp) = match lambda {
            Some(lam) => {
                // FL: λ_i (ℓ_i − ε) = 0. RFL: λ_i (ℓ_i − ε − u_i) = 0 with slack u_i = λ_i/α.
                let cs = lam
                    .iter()
                    .zip(losses)
                    .map(|(&m, &l)| {
                        let slack = alpha.map_or(0.0, |a| m / a);
                        (m * (l - epsilon - slack)).abs()
                    })
                    .fold(0.0, f64::max);
                let fp = alpha.map(|a| {
                    lam.iter()
                        .zip(losses)
                        .map(|(&m, &l)| (m - a * (l - epsilon).max(0.0)).abs())
                        .fold(0.0, f64::max)
                });
                (cs, fp)
            }
            None => (0.0, None),
        };
        Ok(Self {
            epsilon,
            max_violation,
            n_violating,
            complementary_slackness: cs,
            stationarity,
            rfl_fixed_point_residual: fp,
        })
    }
}
