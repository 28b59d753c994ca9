//! [`BatchView`]: the rows of one mini-batch as the fused training pass reads them, without
//! copying the batch out of the data set first.

use super::TargetsRef;
use super::dataset::{prefetch_row, rows_ahead};
use crate::{Error, Float, Result};

/// The rows and targets of a batch: either the first `len` rows of a row-major matrix, or
/// rows of a larger matrix picked by index (a shuffled mini-batch). A model's
/// [`train_chunk`](crate::model::Model::train_chunk) takes a view of at most one chunk and
/// copies what it needs into its own chunk workspace, so every thread gathers its own
/// rows and no batch-sized copy is ever made.
///
/// ```
/// use feasible::data::{BatchView, TargetsRef};
/// let x = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0]; // 3 rows × 2 features
/// let labels = [0, 1, 0];
/// let idx = [2, 0];
/// let b = BatchView::indexed(&x, TargetsRef::Classes(&labels), 2, &idx).unwrap();
/// assert_eq!(b.len(), 2);
/// assert_eq!(b.row(0), &[20.0, 21.0]);
/// assert_eq!(b.slice(1..2).row(0), &[0.0, 1.0]);
/// assert!(BatchView::indexed(&x, TargetsRef::Classes(&labels), 2, &[3]).is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BatchView<'a, F> {
    x: &'a [F],
    y: TargetsRef<'a, F>,
    d: usize,
    /// The whole batch's indices (a slice keeps them, so prefetches can look past its end).
    idx: Option<&'a [usize]>,
    /// This view's rows are `start..start + len` of the batch.
    start: usize,
    len: usize,
}

impl<'a, F: Float> BatchView<'a, F> {
    /// All rows of `x` (`y.len()` rows of `d` features) in order.
    pub fn contiguous(x: &'a [F], y: TargetsRef<'a, F>, d: usize) -> Result<Self> {
        check(x, y, d)?;
        Ok(Self {
            x,
            y,
            d,
            idx: None,
            start: 0,
            len: y.len(),
        })
    }

    /// Rows `idx[0], idx[1], …` of `x` (`y.len()` rows of `d` features); `y` holds the
    /// targets of *all* rows of `x`.
    pub fn indexed(x: &'a [F], y: TargetsRef<'a, F>, d: usize, idx: &'a [usize]) -> Result<Self> {
        check(x, y, d)?;
        // The largest index (a reduction that vectorises: this runs once per step).
        let top = idx.iter().fold(0, |a, &i| a.max(i));
        if !idx.is_empty() && top >= y.len() {
            return Err(Error::shape("row index", format!("< {}", y.len()), top));
        }
        Ok(Self {
            x,
            y,
            d,
            idx: Some(idx),
            start: 0,
            len: idx.len(),
        })
    }

    /// Number of rows in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features per row.
    pub fn n_features(&self) -> usize {
        self.d
    }

    /// Rows `range` of the batch, as a batch of their own.
    ///
    /// # Panics
    /// If `range` reaches past [`len`](Self::len).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "BatchView::slice out of range"
        );
        Self {
            start: self.start + range.start,
            len: range.len(),
            ..*self
        }
    }

    /// The index into the underlying rows of batch row `k` (`k` may lie past the view's
    /// end, inside the batch it was sliced from).
    #[inline(always)]
    fn source(&self, k: usize) -> Option<usize> {
        let j = self.start + k;
        match self.idx {
            Some(idx) => idx.get(j).copied(),
            None => (j < self.y.len()).then_some(j),
        }
    }

    /// Row `k` of the batch.
    ///
    /// # Panics
    /// If `k ≥ len`.
    #[inline(always)]
    pub fn row(&self, k: usize) -> &'a [F] {
        assert!(k < self.len, "BatchView::row out of range");
        let i = self.source(k).expect("checked above");
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Asks the CPU to fetch row `k` into cache (a hint: nothing happens past the end of
    /// the batch, and contiguous rows are left to the hardware prefetcher). `k` may lie
    /// past this view's end, in the rest of the batch it was sliced from.
    #[inline(always)]
    pub fn prefetch(&self, k: usize) {
        if self.idx.is_some()
            && let Some(i) = self.source(k)
        {
            prefetch_row(&self.x[i * self.d..(i + 1) * self.d]);
        }
    }

    /// Target of row `k` when the targets are class ids (`None` for real targets).
    ///
    /// # Panics
    /// If `k ≥ len`.
    #[inline(always)]
    pub fn class(&self, k: usize) -> Option<usize> {
        assert!(k < self.len, "BatchView::class out of range");
        match self.y {
            TargetsRef::Classes(v) => self.source(k).map(|i| v[i]),
            TargetsRef::Real(_) => None,
        }
    }

    /// Target of row `k` when the targets are real values (`None` for class ids).
    ///
    /// # Panics
    /// If `k ≥ len`.
    #[inline(always)]
    pub fn value(&self, k: usize) -> Option<F> {
        assert!(k < self.len, "BatchView::value out of range");
        match self.y {
            TargetsRef::Real(v) => self.source(k).map(|i| v[i]),
            TargetsRef::Classes(_) => None,
        }
    }

    /// The batch's rows and targets when they lie contiguous in the data already: a view
    /// without index, or one whose indices are a single run `i, i + 1, …` (a chunk of a
    /// [`Shuffle::Blocks`](super::Shuffle::Blocks) order). The rows are then read in place,
    /// not gathered.
    ///
    /// ```
    /// use feasible::data::{BatchView, TargetsRef};
    /// let x = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0]; // 3 rows × 2 features
    /// let y = [0.5, 1.5, 2.5];
    /// let run = [1, 2];
    /// let b = BatchView::indexed(&x, TargetsRef::Real(&y), 2, &run).unwrap();
    /// let (rows, targets) = b.as_contiguous().unwrap();
    /// assert_eq!(rows, &[10.0, 11.0, 20.0, 21.0]);
    /// assert!(matches!(targets, TargetsRef::Real(&[1.5, 2.5])));
    /// let shuffled = [2, 1];
    /// assert!(BatchView::indexed(&x, TargetsRef::Real(&y), 2, &shuffled).unwrap().as_contiguous().is_none());
    /// ```
    pub fn as_contiguous(&self) -> Option<(&'a [F], TargetsRef<'a, F>)> {
        let first = self.run_start()?;
        // In bounds: plain views were checked at construction, and so was every index
        // of a run.
        let r = first..first + self.len;
        let x = &self.x[r.start * self.d..r.end * self.d];
        Some((x, self.y.slice(r)))
    }

    /// The data row of the view's first row when its rows are one run of the data set
    /// (`first, first + 1, …`): always for a view without index, otherwise when its
    /// indices are consecutive (an empty view is the empty run at 0).
    pub fn run_start(&self) -> Option<usize> {
        match self.idx {
            None => Some(self.start),
            Some(idx) => {
                let run = &idx[self.start..self.start + self.len];
                let first = run.first().copied().unwrap_or(0);
                run.iter()
                    .enumerate()
                    .all(|(k, &i)| i == first + k)
                    .then_some(first)
            }
        }
    }

    /// The same rows without the index, given their [`run_start`](Self::run_start): a
    /// caller that has checked the run once hands the model a view that needs no
    /// second check.
    pub(crate) fn in_place(&self, first: usize) -> Self {
        debug_assert_eq!(self.run_start(), Some(first));
        Self {
            idx: None,
            start: first,
            ..*self
        }
    }

    /// Copies the batch's rows into `x_out` (`len × d`) and its targets into `y_real` or
    /// `y_class`, prefetching rows a few ahead (random rows of a large matrix are
    /// memory-latency bound). Returns the targets as a [`TargetsRef`] into the buffers;
    /// only the buffer of the targets' kind is written (the other may be empty).
    ///
    /// # Panics
    /// If `x_out` holds fewer than `len × d` values or the buffer of the targets' kind
    /// fewer than `len`.
    pub fn gather<'b>(
        &self,
        x_out: &'b mut [F],
        y_real: &'b mut [F],
        y_class: &'b mut [usize],
    ) -> (&'b [F], TargetsRef<'b, F>) {
        let (d, m) = (self.d, self.len);
        let xo = &mut x_out[..m * d];
        match (self.idx, self.y) {
            (None, y) => {
                let r = self.start..self.start + m;
                xo.copy_from_slice(&self.x[r.start * d..r.end * d]);
                match y {
                    TargetsRef::Real(v) => y_real[..m].copy_from_slice(&v[r]),
                    TargetsRef::Classes(v) => y_class[..m].copy_from_slice(&v[r]),
                }
            }
            (Some(idx), TargetsRef::Real(v)) => {
                gather_rows(self.x, d, &idx[self.start..], m, v, xo, &mut y_real[..m])
            }
            (Some(idx), TargetsRef::Classes(v)) => {
                gather_rows(self.x, d, &idx[self.start..], m, v, xo, &mut y_class[..m])
            }
        }
        let y = match self.y {
            TargetsRef::Real(_) => TargetsRef::Real(&y_real[..m]),
            TargetsRef::Classes(_) => TargetsRef::Classes(&y_class[..m]),
        };
        (&x_out[..m * d], y)
    }
}

crate::linalg::simd_kernel! {
    /// Copies rows `idx[..m]` of the row-major `x` (`d` columns) into `x_out` and their
    /// targets into `y_out`, prefetching the row and target [`rows_ahead`] ahead (from
    /// `idx[m..]` too: the next chunk's first rows). Random rows of a large matrix are
    /// memory-latency bound; the copy itself runs in 16-lane blocks the compiler keeps in
    /// vector registers.
    fn gather_rows<F: Float, T: Copy>(
        x: &[F],
        d: usize,
        idx: &[usize],
        m: usize,
        y: &[T],
        x_out: &mut [F],
        y_out: &mut [T],
    ) {
        let ahead = rows_ahead(d * std::mem::size_of::<F>());
        for (k, (dst, yo)) in x_out.chunks_exact_mut(d).zip(y_out.iter_mut()).take(m).enumerate() {
            if let Some(&j) = idx.get(k + ahead) {
                prefetch_row(&x[j * d..(j + 1) * d]);
                prefetch_row(std::slice::from_ref(&y[j]));
            }
            let i = idx[k];
            let src = &x[i * d..(i + 1) * d];
            let mut dc = dst.chunks_exact_mut(16);
            let mut sc = src.chunks_exact(16);
            for (o, s) in (&mut dc).zip(&mut sc) {
                let v: [F; 16] = s.try_into().expect("16-lane block");
                o.copy_from_slice(&v);
            }
            for (o, s) in dc.into_remainder().iter_mut().zip(sc.remainder()) {
                *o = *s;
            }
            *yo = y[i];
        }
    }
}

fn check<F>(x: &[F], y: TargetsRef<'_, F>, d: usize) -> Result<()> {
    if d == 0 {
        return Err(Error::param(
            "n_features",
            d,
            "rows need at least one feature",
        ));
    }
    if Some(x.len()) != y.len().checked_mul(d) {
        return Err(Error::shape(
            "batch features (rows × features)",
            y.len().saturating_mul(d),
            x.len(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_follow_the_index_through_slices() {
        let x: Vec<f64> = (0..12).map(f64::from).collect(); // 6 rows × 2
        let labels = [0, 1, 2, 0, 1, 2];
        let idx = [5, 0, 3, 1];
        let b = BatchView::indexed(&x, TargetsRef::Classes(&labels), 2, &idx).unwrap();
        let s = b.slice(1..3);
        assert_eq!(
            (s.len(), s.row(0), s.row(1)),
            (2, &[0.0, 1.0][..], &[6.0, 7.0][..])
        );
        assert_eq!(
            (s.class(0), s.class(1), s.value(0)),
            (Some(0), Some(0), None)
        );
        // Prefetching past the slice reaches into the batch; past the batch it does nothing.
        s.prefetch(2);
        s.prefetch(100);
        let (mut xo, mut yr, mut yc) = (vec![0.0; 4], vec![0.0; 2], vec![0; 2]);
        let (xg, yg) = s.gather(&mut xo, &mut yr, &mut yc);
        assert_eq!(xg, &[0.0, 1.0, 6.0, 7.0]);
        assert!(matches!(yg, TargetsRef::Classes(&[0, 0])));
        // A contiguous view slices rows and targets alike.
        let y: Vec<f64> = (0..6).map(|i| f64::from(i) * 0.5).collect();
        let c = BatchView::contiguous(&x, TargetsRef::Real(&y), 2)
            .unwrap()
            .slice(4..6);
        let (cx, cy) = c.as_contiguous().unwrap();
        assert_eq!(cx, &[8.0, 9.0, 10.0, 11.0]);
        assert!(matches!(cy, TargetsRef::Real(v) if v == [2.0, 2.5]));
        assert_eq!(c.value(1), Some(2.5));
        assert!(BatchView::contiguous(&x, TargetsRef::Real(&y[..5]), 2).is_err());
        assert!(BatchView::contiguous(&x, TargetsRef::Real(&y), 0).is_err());
    }
}
