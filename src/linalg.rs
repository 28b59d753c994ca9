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
    /// If `data` holds fewer than `rows × cols` values (also when that product overflows)
    /// or a row is longer than `isize::MAX` elements: a programming error inside the
    /// crate, never a consequence of user data (callers validate shapes first).
    pub fn new(data: &'a [F], rows: usize, cols: usize) -> Self {
        assert!(
            rows.checked_mul(cols).is_some_and(|len| len <= data.len())
                && isize::try_from(cols).is_ok(),
            "MatRef: slice too short for {rows} × {cols}"
        );
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
    assert!(
        m.checked_mul(n).is_some_and(|len| len <= c.len()),
        "gemm: output too short for {m} × {n}"
    );
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

/// The SIMD targets the element-wise kernels are compiled for, picked at run time (best
/// first); every other CPU runs the baseline build of the same code.
///
/// Rust never contracts `a * b + c` into a fused multiply-add nor reorders float sums, so
/// each target runs exactly the same floating-point operations in the same order: results
/// are bit-identical whichever version the CPU selects (checked against the plain
/// `*_scalar` versions by the property tests below).
macro_rules! simd_kernel {
    ($item:item) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+fma+avx",
            "x86_64+avx2+fma+avx",
        ))]
        $item
    };
}
pub(crate) use simd_kernel;

/// Independent accumulators of [`dot`]: one AVX-512 register of `f32`, two of AVX2.
const LANES: usize = 16;

/// Dot product with 16 independent accumulators, combined by a fixed pairwise tree; the
/// remainder past the last full block of 16 is summed in order and added last.
#[inline(always)]
pub fn dot_scalar<F: Float>(a: &[F], b: &[F]) -> F {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [F::zero(); LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    let mut tail = F::zero();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += *x * *y;
    }
    let mut w = LANES / 2;
    while w > 0 {
        for j in 0..w {
            acc[j] += acc[j + w];
        }
        w /= 2;
    }
    acc[0] + tail
}

simd_kernel! {
    /// Dot product (the order of [`dot_scalar`], SIMD where the CPU has it).
    pub fn dot<F: Float>(a: &[F], b: &[F]) -> F {
        dot_scalar(a, b)
    }
}

/// `z[r] = x_r · w + bias` for every row `x_r` of the row-major `x` (`z.len()` rows of
/// `w.len()` columns): the forward pass of a layer with one output.
#[inline(always)]
pub fn dot_rows_scalar<F: Float>(x: &[F], w: &[F], bias: F, z: &mut [F]) {
    let d = w.len();
    for (zr, xr) in z.iter_mut().zip(x.chunks_exact(d)) {
        *zr = dot_scalar(xr, w) + bias;
    }
}

simd_kernel! {
    /// [`dot_rows_scalar`], SIMD where the CPU has it.
    pub fn dot_rows<F: Float>(x: &[F], w: &[F], bias: F, z: &mut [F]) {
        dot_rows_scalar(x, w, bias, z)
    }
}

/// `y ← y + α x`.
#[inline(always)]
pub fn axpy_scalar<F: Float>(alpha: F, x: &[F], y: &mut [F]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * *xi;
    }
}

simd_kernel! {
    /// `y ← y + α x` (SIMD where the CPU has it).
    pub fn axpy<F: Float>(alpha: F, x: &[F], y: &mut [F]) {
        axpy_scalar(alpha, x, y)
    }
}

/// `g ← g + Σ_r c_r x_r` over the rows `x_r` of the row-major `x` (`c.len()` rows of
/// `g.len()` columns), added one row after the other: the weighted backward pass of a layer
/// with one output. `c = None` means every `c_r = 1` (a column sum, for bias gradients).
#[inline(always)]
pub fn axpy_rows_scalar<F: Float>(c: Option<&[F]>, x: &[F], rows: usize, g: &mut [F]) {
    let d = g.len();
    for r in 0..rows {
        let xr = &x[r * d..(r + 1) * d];
        match c {
            Some(c) => axpy_scalar(c[r], xr, g),
            None => {
                for (gi, xi) in g.iter_mut().zip(xr) {
                    *gi += *xi;
                }
            }
        }
    }
}

/// Rows per block of [`axpy_rows`]: `g` is loaded and stored once per block.
const ROW_BLOCK: usize = 4;

/// The body of [`axpy_rows`]: rows `row(0..rows)`, in blocks of
/// [`ROW_BLOCK`] with `g` kept in registers, then the remainder one row at a time.
#[inline(always)]
fn axpy_rows_core<'a, F: Float + 'a>(
    c: Option<&[F]>,
    row: impl Fn(usize) -> &'a [F],
    rows: usize,
    g: &mut [F],
) {
    let d = g.len();
    assert!(c.is_none_or(|c| c.len() >= rows));
    let full = rows / ROW_BLOCK * ROW_BLOCK;
    for r in (0..full).step_by(ROW_BLOCK) {
        let (x0, x1, x2, x3) = (
            &row(r)[..d],
            &row(r + 1)[..d],
            &row(r + 2)[..d],
            &row(r + 3)[..d],
        );
        match c {
            Some(c) => {
                let (c0, c1, c2, c3) = (c[r], c[r + 1], c[r + 2], c[r + 3]);
                for ((((gi, &a0), &a1), &a2), &a3) in g.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
                    *gi = (((*gi + c0 * a0) + c1 * a1) + c2 * a2) + c3 * a3;
                }
            }
            None => {
                for ((((gi, &a0), &a1), &a2), &a3) in g.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
                    *gi = (((*gi + a0) + a1) + a2) + a3;
                }
            }
        }
    }
    for r in full..rows {
        let xr = &row(r)[..d];
        match c {
            Some(c) => axpy_scalar(c[r], xr, g),
            None => {
                for (gi, xi) in g.iter_mut().zip(xr) {
                    *gi += *xi;
                }
            }
        }
    }
}

simd_kernel! {
    /// [`axpy_rows_scalar`] with the same additions in the same order, `g` kept in
    /// registers across blocks of four rows; SIMD where the CPU has it.
    pub fn axpy_rows<F: Float>(c: Option<&[F]>, x: &[F], rows: usize, g: &mut [F]) {
        let d = g.len();
        assert!(x.len() >= rows * d);
        axpy_rows_core(c, |r| &x[r * d..(r + 1) * d], rows, g)
    }
}

/// Layers whose input or output width is at most this skip GEMM: with an inner or outer
/// dimension this small, matrixmultiply spends its time packing (5–8 GFLOP/s on
/// `128 × 70 × 2` against 73 on `128 × 70 × 70`), while row loops over the wide dimension
/// vectorise (a two-moons first layer, a two-logit output layer).
pub const THIN: usize = 4;

/// `out[r, :] = init + Σ_p a[r, p] · w[p, :]` over the rows of `a` (`k` columns, `k ≤`
/// [`THIN`] in practice) with `w` row-major `k × n`, `n = w.len() / k`, and `init` the
/// bias row (`None`: zeros): a product with a tiny inner dimension, as `k` row updates
/// per output row, added in the order `((init + a₀w₀) + a₁w₁) + …` (plain version of
/// [`thin_inner`]). `out` is only written.
///
/// # Panics
/// If `k` is 0, `a.len()` or `w.len()` is not a multiple of `k`, `init` is shorter than
/// `n`, or `out` has fewer rows than `a`.
#[inline(always)]
pub fn thin_inner_scalar<F: Float>(a: &[F], k: usize, w: &[F], init: Option<&[F]>, out: &mut [F]) {
    let n = thin_inner_check(a, k, w, init, out);
    if n == 0 {
        return;
    }
    for (ar, or) in a.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
        match init {
            Some(b) => or.copy_from_slice(&b[..n]),
            None => or.iter_mut().for_each(|o| *o = F::zero()),
        }
        for (p, &ap) in ar.iter().enumerate() {
            for (o, &wv) in or.iter_mut().zip(&w[p * n..(p + 1) * n]) {
                *o += ap * wv;
            }
        }
    }
}

/// The checks of [`thin_inner`]; returns `n`.
#[inline(always)]
fn thin_inner_check<F>(a: &[F], k: usize, w: &[F], init: Option<&[F]>, out: &[F]) -> usize {
    assert!(
        k > 0 && w.len().is_multiple_of(k),
        "thin_inner: w is not k × n"
    );
    assert!(a.len().is_multiple_of(k), "thin_inner: a is not rows × k");
    let n = w.len() / k;
    assert!(
        init.is_none_or(|b| b.len() >= n),
        "thin_inner: init too short"
    );
    assert!(
        n == 0 || out.len() / n >= a.len() / k,
        "thin_inner: out too short"
    );
    n
}

simd_kernel! {
    /// [`thin_inner_scalar`], bit for bit, SIMD where the CPU has it: each block of 16
    /// outputs of a row stays in a register through its `k` updates (one store per block,
    /// no read of `out`), with `k` a constant for `k ≤ 4`.
    pub fn thin_inner<F: Float>(a: &[F], k: usize, w: &[F], init: Option<&[F]>, out: &mut [F]) {
        let n = thin_inner_check(a, k, w, init, out);
        if n == 0 {
            return;
        }
        match k {
            1 => thin_inner_k::<F, 1>(a, w, n, init, out),
            2 => thin_inner_k::<F, 2>(a, w, n, init, out),
            3 => thin_inner_k::<F, 3>(a, w, n, init, out),
            4 => thin_inner_k::<F, 4>(a, w, n, init, out),
            _ => thin_inner_scalar(a, k, w, init, out),
        }
    }
}

/// The body of [`thin_inner`] for an inner dimension of `K`, checked by the caller. The
/// last, partial block of a row runs in full lanes against zero-padded copies of the
/// rows' tails (the padding lanes are not stored).
#[inline(always)]
fn thin_inner_k<F: Float, const K: usize>(
    a: &[F],
    w: &[F],
    n: usize,
    init: Option<&[F]>,
    out: &mut [F],
) {
    let full = n / LANES * LANES;
    let rem = n - full;
    let wr: [&[F]; K] = std::array::from_fn(|p| &w[p * n..(p + 1) * n]);
    let mut w_tail = [[F::zero(); LANES]; K];
    for (t, r) in w_tail.iter_mut().zip(&wr) {
        t[..rem].copy_from_slice(&r[full..]);
    }
    let mut init_tail = [F::zero(); LANES];
    if let Some(b) = init {
        init_tail[..rem].copy_from_slice(&b[full..n]);
    }
    for (ar, or) in a.chunks_exact(K).zip(out.chunks_exact_mut(n)) {
        let ar: &[F; K] = ar.try_into().expect("K inputs");
        for j in (0..full).step_by(LANES) {
            let mut acc = [F::zero(); LANES];
            if let Some(b) = init {
                acc.copy_from_slice(&b[j..j + LANES]);
            }
            for (&ap, r) in ar.iter().zip(&wr) {
                let wv: &[F; LANES] = r[j..j + LANES].try_into().expect("16-lane block");
                for l in 0..LANES {
                    acc[l] += ap * wv[l];
                }
            }
            or[j..j + LANES].copy_from_slice(&acc);
        }
        if rem > 0 {
            let mut acc = init_tail;
            for (&ap, wv) in ar.iter().zip(&w_tail) {
                for l in 0..LANES {
                    acc[l] += ap * wv[l];
                }
            }
            or[full..].copy_from_slice(&acc[..rem]);
        }
    }
}

/// `out[r, j] = a[r, :] · wt[j, :] (+ bias[j])` over the rows of `a` (`k` columns), with
/// `wt` row-major `n × k` (the transposed weights): a product with a tiny output width
/// `n`, as dot products in [`dot_scalar`]'s order (plain version of [`thin_outer`]).
///
/// # Panics
/// If `wt.len()` is not a multiple of `n`, `bias` is shorter than `n`, or `out` has fewer
/// rows than `a`.
#[inline(always)]
pub fn thin_outer_scalar<F: Float>(a: &[F], wt: &[F], n: usize, bias: Option<&[F]>, out: &mut [F]) {
    if n == 0 {
        return;
    }
    assert!(wt.len().is_multiple_of(n) && bias.is_none_or(|b| b.len() >= n));
    let k = wt.len() / n;
    assert!(
        k == 0 || out.len() / n >= a.len() / k,
        "thin_outer: out too short"
    );
    for (ar, or) in a.chunks_exact(k.max(1)).zip(out.chunks_exact_mut(n)) {
        for (j, o) in or.iter_mut().enumerate() {
            let d = dot_scalar(ar, &wt[j * k..(j + 1) * k]);
            *o = match bias {
                Some(b) => d + b[j],
                None => d,
            };
        }
    }
}

simd_kernel! {
    /// [`thin_outer_scalar`], SIMD where the CPU has it.
    pub fn thin_outer<F: Float>(a: &[F], wt: &[F], n: usize, bias: Option<&[F]>, out: &mut [F]) {
        thin_outer_scalar(a, wt, n, bias, out)
    }
}

/// `y ← y + x`, element-wise.
#[inline(always)]
pub fn add_assign_scalar<F: Float>(y: &mut [F], x: &[F]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += *xi;
    }
}

simd_kernel! {
    /// `y ← y + x`, element-wise (SIMD where the CPU has it).
    pub fn add_assign<F: Float>(y: &mut [F], x: &[F]) {
        add_assign_scalar(y, x)
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

    use proptest::prelude::*;

    fn vecs(max: usize) -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        (0..max).prop_flat_map(|n| {
            (
                prop::collection::vec(-1e3f32..1e3, n),
                prop::collection::vec(-1e3f32..1e3, n),
            )
        })
    }

    proptest! {
        /// Every dispatched (SIMD) kernel is bit-identical to its plain scalar version.
        #[test]
        fn simd_kernels_match_scalar((a, b) in vecs(200), alpha in -10f32..10.0) {
            prop_assert_eq!(dot(&a, &b).to_bits(), dot_scalar(&a, &b).to_bits());
            let (mut y1, mut y2) = (b.clone(), b.clone());
            axpy(alpha, &a, &mut y1);
            axpy_scalar(alpha, &a, &mut y2);
            prop_assert_eq!(&y1, &y2);
            let (mut y1, mut y2) = (b.clone(), b.clone());
            add_assign(&mut y1, &a);
            add_assign_scalar(&mut y2, &a);
            prop_assert_eq!(&y1, &y2);
        }

        #[test]
        fn row_kernels_match_scalar(
            d in 1usize..40,
            rows in 0usize..11,
            seed in 0u64..1000,
            bias in -3f64..3.0,
        ) {
            let val = |i: usize| (((i as u64 * 2654435761 + seed) % 2001) as f64 / 1000.0) - 1.0;
            let x: Vec<f64> = (0..rows * d).map(val).collect();
            let w: Vec<f64> = (0..d).map(|i| val(i + 7)).collect();
            let c: Vec<f64> = (0..rows).map(|i| val(i + 13)).collect();
            let (mut z1, mut z2) = (vec![0.0; rows], vec![0.0; rows]);
            dot_rows(&x, &w, bias, &mut z1);
            dot_rows_scalar(&x, &w, bias, &mut z2);
            prop_assert_eq!(&z1, &z2);
            for cw in [Some(&c[..]), None] {
                let (mut g1, mut g2) = (w.clone(), w.clone());
                axpy_rows(cw, &x, rows, &mut g1);
                axpy_rows_scalar(cw, &x, rows, &mut g2);
                prop_assert_eq!(&g1, &g2);
            }
            // f32 through the same kernels.
            let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let cf: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            let (mut z1, mut z2) = (vec![0.0f32; rows], vec![0.0f32; rows]);
            dot_rows(&xf, &wf, bias as f32, &mut z1);
            dot_rows_scalar(&xf, &wf, bias as f32, &mut z2);
            prop_assert_eq!(&z1, &z2);
            let (mut g1, mut g2) = (wf.clone(), wf.clone());
            axpy_rows(Some(&cf), &xf, rows, &mut g1);
            axpy_rows_scalar(Some(&cf), &xf, rows, &mut g2);
            prop_assert_eq!(&g1, &g2);
        }
    }

    proptest! {
        /// The thin-layer products agree with GEMM on the same (small) shapes.
        #[test]
        fn thin_products_match_gemm(
            rows in 1usize..20,
            k in 1usize..=THIN + 1,
            n in 1usize..40,
            seed in 0u64..1000,
        ) {
            let val = |i: usize| (((i as u64 * 2654435761 + seed) % 2001) as f64 / 1000.0) - 1.0;
            let a: Vec<f64> = (0..rows * k).map(val).collect();
            let w: Vec<f64> = (0..k * n).map(|i| val(i + 5)).collect();
            let bias: Vec<f64> = (0..n).map(|i| val(i + 11)).collect();
            let mut want = vec![0.0; rows * n];
            gemm(1.0, MatRef::new(&a, rows, k), MatRef::new(&w, k, n), 0.0, &mut want);
            // `out` is only written: start from garbage.
            let mut got = vec![f64::NAN; rows * n];
            thin_inner(&a, k, &w, None, &mut got);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() < 1e-12);
            }
            let mut plain = vec![f64::NAN; rows * n];
            thin_inner_scalar(&a, k, &w, None, &mut plain);
            prop_assert_eq!(&got, &plain); // dispatched = plain, bit for bit
            // With a bias row to start from (again into garbage).
            got.fill(f64::NAN);
            plain.fill(f64::NAN);
            thin_inner(&a, k, &w, Some(&bias), &mut got);
            for (r, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert!((g - (w + bias[r % n])).abs() < 1e-12);
            }
            thin_inner_scalar(&a, k, &w, Some(&bias), &mut plain);
            prop_assert_eq!(&got, &plain);
            // The same product with the weights transposed (n × k) and a bias.
            let mut wt = vec![0.0; n * k];
            for p in 0..k {
                for j in 0..n {
                    wt[j * k + p] = w[p * n + j];
                }
            }
            let mut got = vec![0.0; rows * n];
            thin_outer(&a, &wt, n, Some(&bias), &mut got);
            for (r, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert!((g - (w + bias[r % n])).abs() < 1e-12);
            }
            let mut plain = vec![0.0; rows * n];
            thin_outer_scalar(&a, &wt, n, Some(&bias), &mut plain);
            prop_assert_eq!(&got, &plain);
            // And in f32, where the vector registers hold twice the lanes.
            let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            let (af, wf, wtf, bf) = (f(&a), f(&w), f(&wt), f(&bias));
            let (mut g1, mut g2) = (vec![0.0f32; rows * n], vec![0.0f32; rows * n]);
            for init in [None, Some(&bf[..])] {
                g1.fill(f32::NAN);
                g2.fill(f32::NAN);
                thin_inner(&af, k, &wf, init, &mut g1);
                thin_inner_scalar(&af, k, &wf, init, &mut g2);
                prop_assert_eq!(&g1, &g2);
            }
            thin_outer(&af, &wtf, n, None, &mut g1);
            thin_outer_scalar(&af, &wtf, n, None, &mut g2);
            prop_assert_eq!(&g1, &g2);
        }
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
