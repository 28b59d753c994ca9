//! Metrics over per-sample losses: the average *and* the tail.
//!
//! Feasible Learning is judged by what happens to the worst samples, so every summary
//! carries, beside the mean: the maximum, quantiles, the conditional value at risk
//! (CVaR, the mean of the worst `(1 − β)` fraction), the fraction of samples meeting the
//! target `ℓ_i ≤ ε`, and the mean positive violation `mean [ℓ_i − ε]_+`. Everything works
//! on plain `f64` slices, so it applies to any losses, from this crate or elsewhere.
//!
//! ```
//! use feasible::metrics::{cvar, LossSummary};
//! let losses = [0.1, 0.2, 0.3, 0.4, 10.0];
//! let s = LossSummary::from_losses(&losses, Some(0.35)).unwrap();
//! assert_eq!(s.max_loss, 10.0);
//! assert_eq!(s.feasible_fraction, Some(0.6));
//! assert_eq!(cvar(&losses, 0.8).unwrap(), 10.0); // worst 20% = the single worst sample
//! ```

mod feasibility;

pub use feasibility::FeasibilityReport;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Quantile levels reported by [`LossSummary`].
pub const QUANTILE_LEVELS: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

/// Quantiles of the losses at [`QUANTILE_LEVELS`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Summary of per-sample losses: average, tail and feasibility.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossSummary {
    /// Number of samples.
    pub n: usize,
    /// Mean loss.
    pub mean_loss: f64,
    /// Largest loss.
    pub max_loss: f64,
    /// Quantiles (linear interpolation between order statistics, as NumPy's default).
    pub quantiles: Quantiles,
    /// Mean of the worst 10%.
    pub cvar_90: f64,
    /// Mean of the worst 5%.
    pub cvar_95: f64,
    /// Mean of the worst 1%.
    pub cvar_99: f64,
    /// Fraction with `ℓ_i ≤ ε` (when an ε is given).
    pub feasible_fraction: Option<f64>,
    /// `mean_i [ℓ_i − ε]_+` (when an ε is given).
    pub mean_positive_violation: Option<f64>,
    /// Classification accuracy (when known).
    pub accuracy: Option<f64>,
}

impl LossSummary {
    /// Summarises losses; `epsilon` enables the feasibility figures. Fails on empty or
    /// non-finite input.
    pub fn from_losses(losses: &[f64], epsilon: Option<f64>) -> Result<Self> {
        check(losses)?;
        let n = losses.len();
        let mut sorted = losses.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let mean_loss = pairwise_sum(losses) / n as f64;
        let q = |p| quantile_sorted(&sorted, p);
        let (feasible_fraction, mean_positive_violation) = match epsilon {
            Some(e) => {
                let feas = losses.iter().filter(|&&l| l <= e).count() as f64 / n as f64;
                let viol: Vec<f64> = losses.iter().map(|&l| (l - e).max(0.0)).collect();
                (Some(feas), Some(pairwise_sum(&viol) / n as f64))
            }
            None => (None, None),
        };
        Ok(Self {
            n,
            mean_loss,
            max_loss: sorted[n - 1],
            quantiles: Quantiles {
                p50: q(0.5),
                p90: q(0.9),
                p95: q(0.95),
                p99: q(0.99),
            },
            cvar_90: cvar_sorted(&sorted, 0.9),
            cvar_95: cvar_sorted(&sorted, 0.95),
            cvar_99: cvar_sorted(&sorted, 0.99),
            feasible_fraction,
            mean_positive_violation,
            accuracy: None,
        })
    }

    /// The same summary with an accuracy attached.
    pub fn with_accuracy(mut self, accuracy: Option<f64>) -> Self {
        self.accuracy = accuracy;
        self
    }
}

/// Statistics of the multipliers `λ` (FL and RFL).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiplierStats {
    /// Largest multiplier.
    pub max: f64,
    /// Mean multiplier.
    pub mean: f64,
    /// Median multiplier.
    pub median: f64,
    /// Fraction of multipliers exactly zero (inactive constraints).
    pub zero_fraction: f64,
}

impl MultiplierStats {
    /// Statistics of `lambda`; fails on empty or non-finite input.
    pub fn from_multipliers(lambda: &[f64]) -> Result<Self> {
        check(lambda)?;
        let mut s = lambda.to_vec();
        s.sort_unstable_by(f64::total_cmp);
        let n = s.len();
        Ok(Self {
            max: s[n - 1],
            mean: pairwise_sum(lambda) / n as f64,
            median: quantile_sorted(&s, 0.5),
            zero_fraction: lambda.iter().filter(|&&l| l == 0.0).count() as f64 / n as f64,
        })
    }
}

fn check(v: &[f64]) -> Result<()> {
    if v.is_empty() {
        return Err(Error::Empty("no values to summarise".into()));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "values to summarise".into(),
            row: i,
            col: 0,
        });
    }
    Ok(())
}

/// Sum in a fixed pairwise order (accurate and independent of any threading).
pub fn pairwise_sum(v: &[f64]) -> f64 {
    if v.len() <= 64 {
        return v.iter().sum();
    }
    let (a, b) = v.split_at(v.len() / 2);
    pairwise_sum(a) + pairwise_sum(b)
}

/// The `p`-quantile of ascending `sorted` values, linear between order statistics
/// (NaN for no values).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return sorted[0];
    }
    let h = p.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The `p`-quantile of unsorted values; fails on empty/non-finite input or `p ∉ [0, 1]`.
pub fn quantile(values: &[f64], p: f64) -> Result<f64> {
    check(values)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::param("p", p, "a quantile level lies in [0, 1]"));
    }
    let mut s = values.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    Ok(quantile_sorted(&s, p))
}

fn cvar_sorted(sorted: &[f64], beta: f64) -> f64 {
    // Worst (1 − β) fraction, counting the boundary sample fractionally: exactly the
    // Rockafellar–Uryasev objective min_τ τ + Σ [ℓ_i − τ]_+ / ((1 − β) n).
    let n = sorted.len();
    let k = (1.0 - beta) * n as f64;
    if k <= 1.0 {
        return sorted[n - 1];
    }
    let whole = k.floor() as usize;
    let frac = k - whole as f64;
    let top = pairwise_sum(&sorted[n - whole..]);
    let extra = if frac > 0.0 && whole < n {
        frac * sorted[n - whole - 1]
    } else {
        0.0
    };
    (top + extra) / k
}

/// CVaR_β: the mean of the worst `(1 − β)` fraction of `losses` (with the boundary sample
/// counted fractionally), equal to `min_τ τ + Σ [ℓ_i − τ]_+ / ((1 − β) n)`. For
/// `(1 − β) n ≤ 1` it is the maximum. Fails unless `0 < β < 1`.
pub fn cvar(losses: &[f64], beta: f64) -> Result<f64> {
    check(losses)?;
    if !(beta > 0.0 && beta < 1.0) {
        return Err(Error::param("beta", beta, "must lie in (0, 1)"));
    }
    let mut s = losses.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    Ok(cvar_sorted(&s, beta))
}

/// The Rockafellar–Uryasev CVaR objective at a given `τ`: `τ + Σ [ℓ_i − τ]_+ / ((1 − β) n)`.
pub fn cvar_objective(losses: &[f64], beta: f64, tau: f64) -> f64 {
    let n = losses.len() as f64;
    tau + losses.iter().map(|&l| (l - tau).max(0.0)).sum::<f64>() / ((1.0 - beta) * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        let v = [3.0, 1.0, 2.0, 4.0];
        assert_eq!(quantile(&v, 0.5).unwrap(), 2.5);
        assert!((quantile(&v, 0.9).unwrap() - 3.7).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_err());
        assert!(quantile(&[f64::NAN], 0.5).is_err());
    }

    #[test]
    fn cvar_is_tail_mean() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!((cvar(&v, 0.9).unwrap() - 95.5).abs() < 1e-12);
        assert!((cvar(&v, 0.95).unwrap() - 98.0).abs() < 1e-12);
        assert_eq!(cvar(&v, 0.999).unwrap(), 100.0);
        assert!(cvar(&v, 1.0).is_err());
    }

    #[test]
    fn multiplier_stats() {
        let s = MultiplierStats::from_multipliers(&[0.0, 0.0, 1.0, 3.0]).unwrap();
        assert_eq!(
            (s.max, s.mean, s.median, s.zero_fraction),
            (3.0, 1.0, 0.5, 0.5)
        );
    }
}
