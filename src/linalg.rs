//! Small dense kernels on row-major slices: the GEMM wrapper every batch product goes
//! through, and the vector loops GEMM does not cover.
//!
//! Matrices in the hot paths live in flat, reused buffers (see the model workspaces), so
//! this module speaks of slices with a shape rather than ndarray arrays. [`MatRef::t`]
//! is free: it swaps the strides, and matrixmultiply packs either layout at full speed,
//! so `Aᵀ B` never goes through a scalar loop.
//!
//! ```
//! use feasible::linalg::{gemm, MatRef};
//! let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 × 3
//! let b = [1.0, 0.0, 0.0, 1.0];           // 2 × 2
//! let mut c = [0.0; 6];                   // 3 × 2 = aᵀ b
//! gemm(1.0, MatRef::new(&a, 2, 3).t(), MatRef::new(&b, 2, 2), 0.0, &mut c);
//! assert_eq!(c, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
//! ```

use crate::Float;

/// A borrowed matrix: a slice with a shape and element strides.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, F> {
    data: &'a [F],
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

impl<'a, F: Float> MatRef<'a, F> {
    /// A row-major `rows × cols` view of `data`.
    ///
    /// # Panics
    /// If `data.len() < rows * cols` (a programming error inside the crate, never a
    /// consequence of user data: callers validate shapes first).
    pub fn new(data: &'a [F], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "MatRef: slice too short");
        Self {
            data,
            rows,
            cols,
            rs: cols as isize,
            cs: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// `C ← α A B + β C` with `C` row-major `A.rows() × B.cols()`.
///
/// When `β = 0`, `C` is overwritten without being read.
///
/// # Panics
/// On inner-dimension or output-length mismatch (internal invariants).
pub fn gemm<F: Float>(alpha: F, a: MatRef<'_, F>, b: MatRef<'_, F>, beta: F, c: &mut [F]) {
    assert_eq!(a.cols, b.rows, "gemm: inner dimensions differ");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(c.len() >= m * n, "gemm: output too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for v in &mut c[..m * n] {
            *v = if beta == F::zero() {
                F::zero()
            } else {
                *v * beta
            };
        }
        return;
    }
    // SAFETY: shapes and lengths checked above; `c` is a distinct &mut borrow.
    unsafe {
        F::gemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.rs,
            a.cs,
            b.data.as_ptr(),
            b.rs,
            b.cs,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Dot product with four independent accumulators (vectorises, fixed summation order).
#[inline]
pub fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [F::zero(); 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut tail = F::zero();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += *x * *y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y ← y + α x`.
#[inline]
pub fn axpy<F: Float>(alpha: F, x: &[F], y: &mut [F]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * *xi;
    }
}

/// `y ← y + x`, element-wise.
#[inline]
pub fn add_assign<F: Float>(y: &mut [F], x: &[F]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += *xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], m: usize, k: usize, b: &[f64], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn gemm_matches_naive_with_transposes() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let want = naive(&a, m, k, &b, n);
        let mut c = vec![f64::NAN; m * n];
        gemm(
            1.0,
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            0.0,
            &mut c,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-12);
        }
        // (Aᵀ)ᵀ B through a transposed copy of A.
        let mut at = vec![0.0; k * m];
        for i in 0..m {
            for p in 0..k {
                at[p * m + i] = a[i * k + p];
            }
        }
        let mut c2 = vec![0.0; m * n];
        gemm(
            1.0,
            MatRef::new(&at, k, m).t(),
            MatRef::new(&b, k, n),
            0.0,
            &mut c2,
        );
        assert_eq!(c, c2);
    }

    #[test]
    fn dot_and_axpy() {
        let a: Vec<f64> = (0..19).map(|i| i as f64).collect();
        let b = vec![2.0; 19];
        assert_eq!(dot(&a, &b), 2.0 * (0..19).sum::<i32>() as f64);
        let mut y = vec![1.0; 19];
        axpy(0.5, &b, &mut y);
        assert!(y.iter().all(|&v| v == 2.0));
    }
}
