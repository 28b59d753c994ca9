//! The crate's one floating-point trait.
//!
//! Every model, loss and kernel in `feasible` is generic over [`Float`], which is
//! implemented for `f32` (speed, services) and `f64` (verification, finite-difference
//! checks). The trait bundles the arithmetic of [`num_traits::Float`], what ndarray needs
//! for its views, serde for saved models, and two hooks that matter for speed:
//! [`Float::gemm`], which routes a general matrix product to the right
//! [`matrixmultiply`] kernel (`sgemm` or `dgemm`), and
//! [`Float::binary_cross_entropy_run`], a vectorised loss for `f32`.
//!
//! ```
//! use feasible::Float;
//! fn half<F: Float>(x: F) -> F { x * F::lit(0.5) }
//! assert_eq!(half(3.0_f32), 1.5);
//! assert_eq!(half(3.0_f64), 1.5);
//! ```

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A real number type the library computes in: `f32` or `f64`.
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + rand::distr::uniform::SampleUniform
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Serialize
    + DeserializeOwned
    + 'static
{
    /// `"f32"` or `"f64"`, as written into saved models.
    const NAME: &'static str;

    /// Converts an `f64` literal (rounding to nearest for `f32`).
    fn lit(x: f64) -> Self;

    /// Converts to `f64` exactly (for reports and metrics).
    fn to_f64_lossless(self) -> f64;

    /// Binary cross-entropy of a run of logits `z` with labels `y`, and its derivative:
    /// [`crate::loss::binary_cross_entropy`] row by row. `f64` uses the standard
    /// library's `exp` and `ln_1p`; `f32` a vectorised version accurate to a few ulp for
    /// `|z| ≤ 87` and to `1.6·10⁻³⁸` absolute beyond
    /// ([`crate::loss::binary_cross_entropy_f32x`]), several times faster.
    fn binary_cross_entropy_run(z: &[Self], y: &[usize], loss: &mut [Self], dz: &mut [Self]) {
        for (((l, d), &zi), &yi) in loss.iter_mut().zip(dz.iter_mut()).zip(z).zip(y) {
            (*l, *d) = crate::loss::binary_cross_entropy(zi, yi);
        }
    }

    /// `C ← α A B + β C` through matrixmultiply, with arbitrary (row, column) strides.
    ///
    /// `A` is `m × k`, `B` is `k × n`, `C` is `m × n`; strides are in elements. When `β`
    /// is zero, `C` is not read (it may hold anything, even NaN).
    ///
    /// # Safety
    /// The pointers with their strides must address valid, non-overlapping memory for the
    /// given shapes (`C` writable). Prefer the checked [`crate::linalg::gemm`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    #[inline]
    fn binary_cross_entropy_run(z: &[f32], y: &[usize], loss: &mut [f32], dz: &mut [f32]) {
        crate::loss::binary_cross_entropy_f32x(z, y, loss, dz)
    }
    #[inline(always)]
    fn lit(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64_lossless(self) -> f64 {
        self as f64
    }
    #[inline]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn lit(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64_lossless(self) -> f64 {
        self
    }
    #[inline]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}
