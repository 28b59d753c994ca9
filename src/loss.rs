//! Per-sample losses and their derivative with respect to the model output.
//!
//! Each function returns the loss of one sample and writes `∂ℓ/∂output`, in one pass and
//! in a numerically stable form (derivations in `docs/gradients.md`):
//!
//! | loss | output | `ℓ` | `∂ℓ/∂output` |
//! |---|---|---|---|
//! | squared error | `f ∈ ℝ` | `(f − y)²` | `2 (f − y)` |
//! | binary cross-entropy | logit `z` | `softplus(z) − y z` | `σ(z) − y` |
//! | softmax cross-entropy | logits `z ∈ ℝᵏ` | `logsumexp(z) − z_y` | `softmax(z) − e_y` |
//!
//! ```
//! use feasible::loss::binary_cross_entropy;
//! let (l, d) = binary_cross_entropy(1e4_f64, 0);
//! assert_eq!(l, 1e4);   // no overflow
//! assert_eq!(d, 1.0);
//! ```

use serde::{Deserialize, Serialize};

use crate::Float;

/// Which loss a model's head uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossKind {
    /// `(f − y)²`.
    SquaredError,
    /// Binary cross-entropy from a logit.
    BinaryCrossEntropy,
    /// Softmax cross-entropy from logits.
    SoftmaxCrossEntropy,
}

/// Squared error `(f − y)²` and its derivative `2 (f − y)`.
#[inline(always)]
pub fn squared_error<F: Float>(f: F, y: F) -> (F, F) {
    let r = f - y;
    (r * r, r + r)
}

/// The logistic function `σ(z) = 1 / (1 + e^{−z})`, without overflow for any `z`.
#[inline(always)]
pub fn sigmoid<F: Float>(z: F) -> F {
    let e = (-z.abs()).exp();
    let one = F::one();
    if z >= F::zero() {
        one / (one + e)
    } else {
        e / (one + e)
    }
}

/// Binary cross-entropy of logit `z` for label `y ∈ {0, 1}`:
/// `ℓ = max(z, 0) − y z + ln(1 + e^{−|z|})`, derivative `σ(z) − y`.
#[inline(always)]
pub fn binary_cross_entropy<F: Float>(z: F, y: usize) -> (F, F) {
    let yf = if y == 1 { F::one() } else { F::zero() };
    let e = (-z.abs()).exp();
    let loss = z.max(F::zero()) - yf * z + e.ln_1p();
    let one = F::one();
    let s = if z >= F::zero() {
        one / (one + e)
    } else {
        e / (one + e)
    };
    (loss, s - yf)
}

/// Softmax cross-entropy of logits `z` for class `y`: `ℓ = logsumexp(z) − z_y`; writes
/// `softmax(z) − e_y` into `dz`. `y < z.len()` and `dz.len() == z.len()` are required.
#[inline]
pub fn softmax_cross_entropy<F: Float>(z: &[F], y: usize, dz: &mut [F]) -> F {
    let m = z.iter().copied().fold(F::neg_infinity(), F::max);
    let mut s = F::zero();
    for (d, &v) in dz.iter_mut().zip(z) {
        let e = (v - m).exp();
        *d = e;
        s += e;
    }
    let inv = F::one() / s;
    for d in dz.iter_mut() {
        *d *= inv;
    }
    dz[y] -= F::one();
    m + s.ln() - z[y]
}

/// Writes `softmax(z)` into `p` (stable).
#[inline]
pub fn softmax<F: Float>(z: &[F], p: &mut [F]) {
    let m = z.iter().copied().fold(F::neg_infinity(), F::max);
    let mut s = F::zero();
    for (d, &v) in p.iter_mut().zip(z) {
        let e = (v - m).exp();
        *d = e;
        s += e;
    }
    for d in p.iter_mut() {
        *d /= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_at_extremes() {
        for &z in &[-1e4_f64, -50.0, 0.0, 50.0, 1e4] {
            for y in 0..2 {
                let (l, d) = binary_cross_entropy(z, y);
                assert!(l.is_finite() && l >= 0.0 && d.is_finite());
                let (lf, df) = binary_cross_entropy(z as f32, y);
                assert!(lf.is_finite() && df.is_finite());
            }
        }
        assert_eq!(binary_cross_entropy(-1e4_f64, 1).0, 1e4);
        assert!((binary_cross_entropy(0.0_f64, 1).0 - 2f64.ln()).abs() < 1e-15);
        let z = [1e4_f64, -1e4, 0.0];
        let mut dz = [0.0; 3];
        let l = softmax_cross_entropy(&z, 1, &mut dz);
        assert_eq!(l, 2e4);
        assert!((dz.iter().sum::<f64>()).abs() < 1e-12);
        assert_eq!(squared_error(3.0_f64, 1.0), (4.0, 4.0));
        assert_eq!(sigmoid(-1e4_f64), 0.0);
    }
}
