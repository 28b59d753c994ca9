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

/// `e^x` for `x ≤ 0` in `f32`, branch-free so that loops over it vectorise (Cody–Waite
/// range reduction and the Cephes `expf` polynomial, about 1 ulp); `x` below −87 gives
/// `e^{−87}` (≈ 1.6·10⁻³⁸) instead of a subnormal or zero.
#[inline(always)]
fn exp_neg_f32(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let y = p * r2 + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `ln(1 + e)` for `e ∈ [0, 1]` in `f32`, branch-free (the rounding of `u = 1 + e` is
/// corrected by `(e − (u − 1))/u`; `ln u` by the Cephes `logf` polynomial, about 1 ulp).
#[inline(always)]
fn ln_1p_unit_f32(e: f32) -> f32 {
    let u = 1.0 + e;
    let c = (e - (u - 1.0)) / u;
    let big = u > std::f32::consts::SQRT_2;
    let k = if big { 1.0 } else { 0.0 };
    let f = if big { u * 0.5 - 1.0 } else { u - 1.0 };
    let f2 = f * f;
    let p = (((((((7.037_683_6e-2 * f - 0.115_146_1) * f + 0.116_769_98) * f - 0.124_201_41)
        * f
        + 0.142_493_23)
        * f
        - 0.166_680_57)
        * f
        + 0.200_007_15)
        * f
        - 0.249_999_94)
        * f
        + 0.333_333_3;
    let y = p * f * f2 - 0.5 * f2 + k * -2.121_944_4e-4;
    f + y + k * 0.693_359_4 + c
}

/// [`binary_cross_entropy`] over a run of `f32` logits with branch-free `exp` and `ln_1p`
/// (accurate to a few ulp for `|z| ≤ 87`; beyond, `e^{−|z|}` is held at `1.6·10⁻³⁸`, an
/// absolute error that small; checked against the `f64` formula by the tests). Plain
/// version of [`binary_cross_entropy_f32x`].
///
/// # Panics
/// If `y`, `loss` or `dz` is shorter than `z`.
#[inline(always)]
pub fn binary_cross_entropy_f32_scalar(z: &[f32], y: &[usize], loss: &mut [f32], dz: &mut [f32]) {
    assert!(y.len() >= z.len() && loss.len() >= z.len() && dz.len() >= z.len());
    for (((l, d), &zi), &yi) in loss.iter_mut().zip(dz.iter_mut()).zip(z).zip(y) {
        let yf = if yi == 1 { 1.0 } else { 0.0 };
        let e = exp_neg_f32(-zi.abs());
        *l = zi.max(0.0) - yf * zi + ln_1p_unit_f32(e);
        let inv = 1.0 / (1.0 + e);
        let s = if zi >= 0.0 { inv } else { e * inv };
        *d = s - yf;
    }
}

crate::linalg::simd_kernel! {
    /// [`binary_cross_entropy_f32_scalar`], vectorised where the CPU has SIMD (the same
    /// operations lane by lane, so the same bits).
    pub fn binary_cross_entropy_f32x(z: &[f32], y: &[usize], loss: &mut [f32], dz: &mut [f32]) {
        binary_cross_entropy_f32_scalar(z, y, loss, dz)
    }
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
    fn vectorised_f32_bce_matches_f64() {
        let mut zs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.01).collect();
        zs.extend([
            -1e4, -200.0, -87.5, -50.0, -1e-6, 0.0, 1e-6, 50.0, 87.5, 200.0, 1e4,
        ]);
        for y in 0..2 {
            let ys = vec![y; zs.len()];
            let (mut l, mut d) = (vec![0.0; zs.len()], vec![0.0; zs.len()]);
            binary_cross_entropy_f32x(&zs, &ys, &mut l, &mut d);
            let (mut l2, mut d2) = (vec![0.0; zs.len()], vec![0.0; zs.len()]);
            binary_cross_entropy_f32_scalar(&zs, &ys, &mut l2, &mut d2);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&l), bits(&l2), "dispatched = plain, bit for bit");
            assert_eq!(bits(&d), bits(&d2));
            for (k, &z) in zs.iter().enumerate() {
                let (lw, dw) = binary_cross_entropy(z as f64, y);
                let tol = 4.0 * f32::EPSILON as f64 * lw.abs() + 1e-37;
                assert!(
                    (l[k] as f64 - lw).abs() <= tol,
                    "loss z={z} y={y}: {} vs {lw}",
                    l[k]
                );
                assert!(
                    (d[k] as f64 - dw).abs() <= 1e-7 + 2e-7 * dw.abs(),
                    "dz z={z} y={y}"
                );
            }
        }
    }

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
