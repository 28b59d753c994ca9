use serde::{Deserialize, Serialize};

use super::method::Method;
use crate::{Error, Float, Result};

/// How the per-sample multipliers `λ_i` are updated from the constraint error
/// `e_i = ℓ_i − ε` (FL) or `e_i = ℓ_i − ε − λ_i/α` (RFL).
///
/// * `Ascent`: projected gradient ascent `λ_i ← max(0, λ_i + η e_i)`.
/// * `NuPi`: the νPI controller (Sohrabi et al., 2024), per sample,
///   `ξ_i ← ν ξ_i + (1 − ν) e_i`, then
///   `λ_i ← max(0, λ_i + η (κ_i e_i + κ_p (ξ_i − ξ_i^prev)))`, with `ξ` starting at 0.
///   `κ_p = 0, κ_i = 1` (any `ν`) is plain ascent; `κ_p > 0` damps oscillations.
///
/// ```
/// use feasible::solver::DualOptimizer;
/// assert!(DualOptimizer::ascent(1e-2).validate().is_ok());
/// assert!(DualOptimizer::ascent(0.0).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DualOptimizer {
    /// Projected gradient ascent with step `lr`.
    Ascent {
        /// Dual learning rate `η_λ > 0`.
        lr: f64,
    },
    /// νPI controller.
    NuPi {
        /// Dual learning rate `η_λ > 0`.
        lr: f64,
        /// Proportional gain `κ_p ≥ 0`.
        kappa_p: f64,
        /// Integral gain `κ_i ≥ 0`.
        kappa_i: f64,
        /// EMA coefficient `ν ∈ [0, 1)`.
        nu: f64,
    },
}

impl DualOptimizer {
    /// Projected gradient ascent.
    pub fn ascent(lr: f64) -> Self {
        DualOptimizer::Ascent { lr }
    }

    /// The νPI controller.
    pub fn nupi(lr: f64, kappa_p: f64, kappa_i: f64, nu: f64) -> Self {
        DualOptimizer::NuPi {
            lr,
            kappa_p,
            kappa_i,
            nu,
        }
    }

    /// The dual learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            DualOptimizer::Ascent { lr } | DualOptimizer::NuPi { lr, .. } => lr,
        }
    }

    /// Checks the rate and gains.
    pub fn validate(&self) -> Result<()> {
        let lr = self.lr();
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(Error::param("dual_lr", lr, "must be finite and > 0"));
        }
        if let DualOptimizer::NuPi {
            kappa_p,
            kappa_i,
            nu,
            ..
        } = *self
        {
            if !(kappa_p >= 0.0 && kappa_p.is_finite()) {
                return Err(Error::param("kappa_p", kappa_p, "must be finite and ≥ 0"));
            }
            if !(kappa_i >= 0.0 && kappa_i.is_finite()) {
                return Err(Error::param("kappa_i", kappa_i, "must be finite and ≥ 0"));
            }
            if !(0.0..1.0).contains(&nu) {
                return Err(Error::param("nu", nu, "must lie in [0, 1)"));
            }
        }
        Ok(())
    }
}

/// One dual step on the samples of a batch: for each `k`, sample `idx[k]` with loss
/// `losses[k]` updates `lambda[idx[k]]` (and its νPI state `xi[idx[k]]`). Multipliers of
/// samples outside the batch are not touched. `alpha = Some(α)` gives RFL's decayed step.
///
/// ```
/// use feasible::solver::{dual_step, DualOptimizer};
/// let mut lambda = vec![0.0_f64, 1.0, 5.0];
/// let mut xi = Vec::new();
/// dual_step(&DualOptimizer::ascent(0.5), &[2, 0], &[1.0, 3.0], 2.0, None, &mut lambda, &mut xi).unwrap();
/// assert_eq!(lambda, vec![0.5, 1.0, 4.5]); // λ₀ = max(0, 0 + 0.5·(3 − 2)), λ₂ = 5 + 0.5·(1 − 2)
/// // An index outside the multipliers is an error, not a panic:
/// assert!(dual_step(&DualOptimizer::ascent(0.5), &[3], &[1.0], 2.0, None, &mut lambda, &mut xi).is_err());
/// ```
///
/// Fails (changing nothing) if `idx` and `losses` differ in length, an index is out of
/// range, a loss is not finite, or the settings are invalid (the rate and gains as in
/// [`DualOptimizer::validate`], `ε` finite and ≥ 0, `α` finite and > 0). A νPI state
/// `xi` is resized to one value per multiplier; plain ascent leaves `xi` alone.
pub fn dual_step<F: Float>(
    dual: &DualOptimizer,
    idx: &[usize],
    losses: &[F],
    epsilon: f64,
    alpha: Option<f64>,
    lambda: &mut [F],
    xi: &mut Vec<F>,
) -> Result<()> {
    if idx.len() != losses.len() {
        return Err(Error::shape(
            "losses (one per index)",
            idx.len(),
            losses.len(),
        ));
    }
    if let Some(&i) = idx.iter().find(|&&i| i >= lambda.len()) {
        return Err(Error::shape(
            "sample index",
            format!("< {}", lambda.len()),
            i,
        ));
    }
    dual.validate()?;
    match alpha {
        Some(a) => Method::Rfl { epsilon, alpha: a }.validate()?,
        None => Method::Fl { epsilon }.validate()?,
    }
    if let Some(row) = losses.iter().position(|l| !l.is_finite()) {
        return Err(Error::NonFinite {
            what: "losses".into(),
            row,
            col: 0,
        });
    }
    let rule = DualRule::new(dual, epsilon, alpha);
    rule.prepare(lambda.len(), xi);
    // νPI keeps a state per sample (sized by `prepare`); plain ascent has none, whatever
    // `xi` holds (decided once, not per sample).
    if matches!(dual, DualOptimizer::Ascent { .. }) {
        let mut none = F::zero();
        for (&i, &l) in idx.iter().zip(losses) {
            rule.update_one(l, &mut lambda[i], &mut none);
        }
    } else {
        for (&i, &l) in idx.iter().zip(losses) {
            rule.update_one(l, &mut lambda[i], &mut xi[i]);
        }
    }
    Ok(())
}

/// One dual update rule with its constants converted once: [`dual_step`] one sample at a
/// time (the fused training path applies it row by row, the same operations in the same
/// order as `dual_step` on the whole batch).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DualRule<F> {
    eta: F,
    eps: F,
    inv_alpha: Option<F>,
    /// `(κ_p, κ_i, ν)` for νPI.
    nupi: Option<(F, F, F)>,
}

impl<F: Float> DualRule<F> {
    pub(crate) fn new(dual: &DualOptimizer, epsilon: f64, alpha: Option<f64>) -> Self {
        let nupi = match *dual {
            DualOptimizer::Ascent { .. } => None,
            DualOptimizer::NuPi {
                kappa_p,
                kappa_i,
                nu,
                ..
            } => Some((F::lit(kappa_p), F::lit(kappa_i), F::lit(nu))),
        };
        Self {
            eta: F::lit(dual.lr()),
            eps: F::lit(epsilon),
            inv_alpha: alpha.map(|a| F::lit(1.0 / a)),
            nupi,
        }
    }

    /// [`update_one`](Self::update_one) over consecutive samples (`lam[k]`, `xi[k]` are
    /// sample `k`'s multiplier and νPI state, `xi` may be empty without νPI), writing each
    /// sample's weight into `w`: its new multiplier, or with `simultaneous` the one from
    /// before the step. The same operations in the same order per sample as
    /// `update_one`, one loop per rule so that plain ascent and RFL vectorise (the
    /// multipliers of a block of the batch order are adjacent; scattered ones are
    /// copied side by side first).
    ///
    /// # Panics
    /// If `lam` or `w` is shorter than `l`, or `xi` is with νPI.
    #[inline(always)]
    pub(crate) fn update_run(
        &self,
        l: &[F],
        lam: &mut [F],
        xi: &mut [F],
        simultaneous: bool,
        w: &mut [F],
    ) {
        let m = l.len();
        let (lam, w) = (&mut lam[..m], &mut w[..m]);
        let zero = F::zero();
        let (eta, eps) = (self.eta, self.eps);
        match (self.inv_alpha, self.nupi) {
            (None, None) => {
                for ((wk, lk), &l) in w.iter_mut().zip(lam.iter_mut()).zip(l) {
                    let old = *lk;
                    *lk = (old + eta * (l - eps)).max(zero);
                    *wk = if simultaneous { old } else { *lk };
                }
            }
            (Some(ia), None) => {
                for ((wk, lk), &l) in w.iter_mut().zip(lam.iter_mut()).zip(l) {
                    let old = *lk;
                    *lk = (old + eta * (l - eps - old * ia)).max(zero);
                    *wk = if simultaneous { old } else { *lk };
                }
            }
            (_, Some(_)) => {
                let xi = &mut xi[..m];
                for (((wk, lk), x), &l) in w.iter_mut().zip(lam.iter_mut()).zip(xi).zip(l) {
                    let old = *lk;
                    self.update_one(l, lk, x);
                    *wk = if simultaneous { old } else { *lk };
                }
            }
        }
    }

    /// Sizes νPI's state (zeros) if it is not yet; a no-op for plain ascent.
    pub(crate) fn prepare(&self, n: usize, xi: &mut Vec<F>) {
        if self.nupi.is_some() && xi.len() != n {
            xi.clear();
            xi.resize(n, F::zero());
        }
    }

    /// Updates one sample's multiplier `lam` (and νPI state `xi`, ignored by plain
    /// ascent) from its loss `l`.
    #[inline(always)]
    pub(crate) fn update_one(&self, l: F, lam: &mut F, xi: &mut F) {
        let zero = F::zero();
        let old = *lam;
        let e = match self.inv_alpha {
            Some(ia) => l - self.eps - old * ia,
            None => l - self.eps,
        };
        *lam = match self.nupi {
            None => (old + self.eta * e).max(zero),
            Some((kp, ki, nu_f)) => {
                let prev = *xi;
                let cur = nu_f * prev + (F::one() - nu_f) * e;
                *xi = cur;
                let v = old + self.eta * (ki * e + kp * (cur - prev));
                // Terms overflowing with opposite signs give NaN, which `max` would turn
                // into 0: keep it, so that the step's check sees the failure.
                if v.is_nan() { v } else { v.max(zero) }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The run form gives the bits of `update_one` sample by sample, for ascent, RFL
        /// and νPI (with and without α), alternating and simultaneous.
        #[test]
        fn run_update_equals_one_at_a_time(
            rows in proptest::collection::vec((0.0f32..3.0, 0.0f32..2.0, -1.0f32..1.0), 0..40),
            eps in 0.0f64..1.0,
            lr in 1e-3f64..1.0,
            alpha in proptest::option::of(0.1f64..10.0),
            nupi in any::<bool>(),
            simultaneous in any::<bool>(),
        ) {
            let dual = if nupi {
                DualOptimizer::nupi(lr, 0.5, 1.0, 0.3)
            } else {
                DualOptimizer::ascent(lr)
            };
            let rule = DualRule::<f32>::new(&dual, eps, alpha);
            let l: Vec<f32> = rows.iter().map(|r| r.0).collect();
            let lam0: Vec<f32> = rows.iter().map(|r| r.1).collect();
            let xi0: Vec<f32> = rows.iter().map(|r| r.2).collect();
            let (mut lam, mut xi, mut w) = (lam0.clone(), xi0.clone(), vec![f32::NAN; l.len()]);
            rule.update_run(&l, &mut lam, if nupi { &mut xi } else { &mut [] }, simultaneous, &mut w);
            for k in 0..l.len() {
                let (mut lk, mut xk) = (lam0[k], if nupi { xi0[k] } else { 0.0 });
                rule.update_one(l[k], &mut lk, &mut xk);
                let wk = if simultaneous { lam0[k] } else { lk };
                prop_assert_eq!(lam[k].to_bits(), lk.to_bits());
                prop_assert_eq!(w[k].to_bits(), wk.to_bits());
                if nupi {
                    prop_assert_eq!(xi[k].to_bits(), xk.to_bits());
                }
                prop_assert!(lam[k] >= 0.0);
            }
        }
    }
}
