use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::{Error, Float, Result};

/// What a data set asks a model to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// One real-valued target per sample.
    Regression,
    /// One class id in `0..n_classes` per sample.
    Classification {
        /// Number of classes (at least 2).
        n_classes: usize,
    },
}

/// The targets of a [`Dataset`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Targets<F> {
    /// Real values (regression).
    Real(Vec<F>),
    /// Class ids (classification).
    Classes {
        /// One id per sample, each `< n_classes`.
        labels: Vec<usize>,
        /// Number of classes.
        n_classes: usize,
    },
}

/// A borrowed slice of targets, as models receive them for a batch.
#[derive(Clone, Copy, Debug)]
pub enum TargetsRef<'a, F> {
    /// Real values.
    Real(&'a [F]),
    /// Class ids.
    Classes(&'a [usize]),
}

impl<F> TargetsRef<'_, F> {
    /// Number of targets.
    pub fn len(&self) -> usize {
        match self {
            TargetsRef::Real(y) => y.len(),
            TargetsRef::Classes(y) => y.len(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets `range`.
    ///
    /// # Panics
    /// If `range` reaches past [`len`](Self::len).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        match *self {
            TargetsRef::Real(y) => TargetsRef::Real(&y[range]),
            TargetsRef::Classes(y) => TargetsRef::Classes(&y[range]),
        }
    }
}

impl<F: Float> Targets<F> {
    /// Number of targets.
    pub fn len(&self) -> usize {
        match self {
            Targets::Real(y) => y.len(),
            Targets::Classes { labels, .. } => labels.len(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task these targets describe.
    pub fn task(&self) -> Task {
        match self {
            Targets::Real(_) => Task::Regression,
            Targets::Classes { n_classes, .. } => Task::Classification {
                n_classes: *n_classes,
            },
        }
    }

    /// A borrowed view of all targets.
    pub fn as_ref(&self) -> TargetsRef<'_, F> {
        match self {
            Targets::Real(y) => TargetsRef::Real(y),
            Targets::Classes { labels, .. } => TargetsRef::Classes(labels),
        }
    }

    fn select(&self, idx: &[usize]) -> Self {
        match self {
            Targets::Real(y) => Targets::Real(idx.iter().map(|&i| y[i]).collect()),
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: idx.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
        }
    }
}

/// A validated data set: features `x` (`n × d`) and their targets. Every way to make one
/// validates it, reading it back with serde included, so the training paths never check
/// again.
///
/// ```
/// use feasible::data::Dataset;
/// use ndarray::array;
/// let ok = Dataset::classification(array![[0.0, 1.0], [1.0, 0.0]], vec![0, 1], 2);
/// assert!(ok.is_ok());
/// let bad = Dataset::classification(array![[0.0, 1.0], [1.0, 0.0]], vec![0, 2], 2);
/// assert!(bad.is_err()); // label 2 is out of range
/// let nan = Dataset::regression(array![[f64::NAN]], vec![1.0]);
/// assert!(nan.is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DatasetParts<F>", bound(deserialize = "F: Float"))]
pub struct Dataset<F> {
    x: Array2<F>,
    targets: Targets<F>,
}

/// A [`Dataset`] as read by serde, before [`Dataset::new`] validates it (so a data set
/// read from a file is checked like one built in code).
#[derive(Deserialize)]
struct DatasetParts<F> {
    x: Array2<F>,
    targets: Targets<F>,
}

impl<F: Float> TryFrom<DatasetParts<F>> for Dataset<F> {
    type Error = Error;

    fn try_from(p: DatasetParts<F>) -> Result<Self> {
        Self::new(p.x, p.targets)
    }
}

impl<F: Float> Dataset<F> {
    /// A regression data set. Fails on empty input, a length mismatch, or a non-finite
    /// feature or target.
    pub fn regression(x: Array2<F>, y: Vec<F>) -> Result<Self> {
        Self::new(x, Targets::Real(y))
    }

    /// A classification data set with labels in `0..n_classes` (`n_classes ≥ 2`).
    pub fn classification(x: Array2<F>, labels: Vec<usize>, n_classes: usize) -> Result<Self> {
        Self::new(x, Targets::Classes { labels, n_classes })
    }

    /// A data set from features and any [`Targets`], validated.
    pub fn new(x: Array2<F>, targets: Targets<F>) -> Result<Self> {
        let (n, d) = x.dim();
        if n == 0 {
            return Err(Error::Empty("the data set has no samples".into()));
        }
        if d == 0 {
            return Err(Error::Empty("the data set has no features".into()));
        }
        if targets.len() != n {
            return Err(Error::shape("targets", n, targets.len()));
        }
        check_finite("features", x.view())?;
        match &targets {
            Targets::Real(y) => {
                if let Some(row) = y.iter().position(|v| !v.is_finite()) {
                    return Err(Error::NonFinite {
                        what: "targets".into(),
                        row,
                        col: 0,
                    });
                }
            }
            Targets::Classes { labels, n_classes } => {
                if *n_classes < 2 {
                    return Err(Error::param(
                        "n_classes",
                        n_classes,
                        "at least 2 classes are needed",
                    ));
                }
                if let Some(row) = labels.iter().position(|&l| l >= *n_classes) {
                    return Err(Error::LabelOutOfRange {
                        label: labels[row],
                        row,
                        n_classes: *n_classes,
                    });
                }
            }
        }
        let x = if x.is_standard_layout() {
            x
        } else {
            x.as_standard_layout().into_owned()
        };
        Ok(Self { x, targets })
    }

    /// Number of samples `n`.
    pub fn n_samples(&self) -> usize {
        self.x.nrows()
    }

    /// Number of features `d`.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// The feature matrix (row-major, contiguous).
    pub fn x(&self) -> ArrayView2<'_, F> {
        self.x.view()
    }

    /// The features as one contiguous row-major slice.
    pub fn x_slice(&self) -> &[F] {
        self.x
            .as_slice()
            .expect("Dataset keeps x in standard layout")
    }

    /// The targets.
    pub fn targets(&self) -> &Targets<F> {
        &self.targets
    }

    /// Regression or classification (with its number of classes).
    pub fn task(&self) -> Task {
        self.targets.task()
    }

    /// The samples at `indices`, in that order (indices may repeat). Fails on an index
    /// out of range or an empty selection.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        if indices.is_empty() {
            return Err(Error::Empty("selection of no samples".into()));
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= self.n_samples()) {
            return Err(Error::shape(
                "sample index",
                format!("< {}", self.n_samples()),
                i,
            ));
        }
        Ok(Self {
            x: self.x.select(Axis(0), indices),
            targets: self.targets.select(indices),
        })
    }

    /// A seeded random permutation of the samples.
    pub fn shuffled(&self, seed: u64) -> Self {
        let mut idx: Vec<usize> = (0..self.n_samples()).collect();
        idx.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        self.select(&idx)
            .expect("a permutation is a valid selection")
    }

    /// A seeded split into `(train, test)` with `round(test_fraction · n)` test samples.
    /// Fails unless `0 < test_fraction < 1` and both parts are non-empty.
    pub fn train_test_split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::param(
                "test_fraction",
                test_fraction,
                "must lie in (0, 1)",
            ));
        }
        let n = self.n_samples();
        let n_test = (test_fraction * n as f64).round() as usize;
        if n_test == 0 || n_test == n {
            return Err(Error::Empty(format!(
                "a test fraction of {test_fraction} leaves an empty part of {n} samples"
            )));
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        let (test, train) = idx.split_at(n_test);
        Ok((self.select(train)?, self.select(test)?))
    }

    /// Copies the rows at `indices` into `x_out` (row-major, reused) and their targets into
    /// `y_real` or `y_class` (whichever matches the task); both buffers are resized.
    /// Indices must be in range (they come from [`crate::data::MiniBatches`]).
    pub fn gather_into(
        &self,
        indices: &[usize],
        x_out: &mut Vec<F>,
        y_real: &mut Vec<F>,
        y_class: &mut Vec<usize>,
    ) {
        let d = self.n_features();
        let x = self.x_slice();
        x_out.clear();
        x_out.reserve(indices.len() * d);
        // Random rows of a large matrix are memory-latency bound: ask for the row a few
        // iterations ahead (every cache line of it) while copying the current one.
        let ahead = rows_ahead(d * std::mem::size_of::<F>());
        for (k, &i) in indices.iter().enumerate() {
            if let Some(&j) = indices.get(k + ahead) {
                prefetch_row(&x[j * d..(j + 1) * d]);
            }
            x_out.extend_from_slice(&x[i * d..(i + 1) * d]);
        }
        match &self.targets {
            Targets::Real(y) => {
                y_real.clear();
                y_real.extend(indices.iter().map(|&i| y[i]));
            }
            Targets::Classes { labels, .. } => {
                y_class.clear();
                y_class.extend(indices.iter().map(|&i| labels[i]));
            }
        }
    }

    /// Replaces the features (same shape), e.g. after scaling.
    pub(crate) fn with_x(&self, x: Array2<F>) -> Result<Self> {
        Self::new(x, self.targets.clone())
    }

    /// Replaces the targets, e.g. after scaling a regression target.
    pub(crate) fn with_targets(&self, targets: Targets<F>) -> Result<Self> {
        Self::new(self.x.clone(), targets)
    }
}

/// Bytes of rows that a gather asks for ahead of the row it copies: enough to keep the
/// memory system busy with random rows (≈ 100 cache lines in flight), and few enough that
/// the prefetched lines are still in a 32–48 KiB L1 when their turn comes. Measured on the
/// logreg epoch (400-byte rows): 16 rows ahead ran 8–16 % faster than 8, 32 slower
/// (`docs/benchmarks.md`, sixth session).
const PREFETCH_BYTES: usize = 6400;

/// How many rows of `row_bytes` each a gather prefetches ahead ([`PREFETCH_BYTES`] of
/// them, at least 2 and at most 64 rows).
#[inline(always)]
pub(crate) fn rows_ahead(row_bytes: usize) -> usize {
    (PREFETCH_BYTES / row_bytes.max(1)).clamp(2, 64)
}

/// Hints the CPU to fetch `row` into cache, every cache line of it (no effect on
/// results; a no-op off x86-64).
#[inline(always)]
pub(crate) fn prefetch_row<F>(row: &[F]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(row);
        if bytes == 0 {
            return;
        }
        let p = row.as_ptr().cast::<i8>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: prefetch never faults, and `p + off` lies inside `row`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(off)) };
            off += 64;
        }
        // A row that does not start on a line boundary can reach one line further than
        // the steps of 64 bytes from its start; its last byte names that line. (Cheaper
        // in a measurement than computing the exact lines.)
        // SAFETY: as above; `bytes ≥ 1`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(bytes - 1)) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

pub(crate) fn check_finite<F: Float>(what: &str, x: ArrayView2<'_, F>) -> Result<()> {
    for (row, r) in x.outer_iter().enumerate() {
        if let Some(col) = r.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: what.into(),
                row,
                col,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The prefetch distance keeps its byte budget within its bounds, and prefetching
    /// rows of any length and alignment (empty, one value, not starting on a cache line)
    /// is safe.
    #[test]
    fn prefetch_distance_and_any_row() {
        assert_eq!(rows_ahead(400), 16);
        assert_eq!(rows_ahead(256), 25);
        assert_eq!(rows_ahead(0), 64);
        assert_eq!(rows_ahead(8), 64);
        assert_eq!(rows_ahead(1 << 20), 2);
        // Rows that end at the last value of `x`, at every alignment: the addresses
        // asked for must stay inside the slice (`pointer::add` past it would be UB).
        let x: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        for start in 0..20 {
            for len in [0, 1, 15, 16, 17, 100, 101] {
                prefetch_row(&x[start..start + len]);
            }
            prefetch_row(&x[start..]);
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        assert!(matches!(
            Dataset::<f64>::regression(Array2::zeros((0, 2)), vec![]),
            Err(Error::Empty(_))
        ));
        assert!(matches!(
            Dataset::<f64>::regression(Array2::zeros((2, 0)), vec![0.0, 1.0]),
            Err(Error::Empty(_))
        ));
        assert!(matches!(
            Dataset::regression(array![[1.0], [2.0]], vec![1.0]),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            Dataset::regression(array![[1.0], [f64::INFINITY]], vec![1.0, 2.0]),
            Err(Error::NonFinite { row: 1, col: 0, .. })
        ));
        assert!(matches!(
            Dataset::regression(array![[1.0], [2.0]], vec![1.0, f64::NAN]),
            Err(Error::NonFinite { row: 1, .. })
        ));
        assert!(matches!(
            Dataset::classification(array![[1.0], [2.0]], vec![0, 3], 3),
            Err(Error::LabelOutOfRange {
                label: 3,
                row: 1,
                n_classes: 3
            })
        ));
        assert!(matches!(
            Dataset::classification(array![[1.0], [2.0]], vec![0, 0], 1),
            Err(Error::InvalidParameter { .. })
        ));
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        let data = Dataset::regression(x, (0..10).map(|i| i as f64).collect()).unwrap();
        let (tr, te) = data.train_test_split(0.3, 1).unwrap();
        assert_eq!((tr.n_samples(), te.n_samples()), (7, 3));
        let mut all: Vec<f64> = tr.x().iter().chain(te.x().iter()).copied().collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..10).map(|i| i as f64).collect::<Vec<_>>());
        let (tr2, _) = data.train_test_split(0.3, 1).unwrap();
        assert_eq!(tr, tr2);
        assert!(data.train_test_split(1.0, 1).is_err());
        assert!(data.train_test_split(0.01, 1).is_err());
        assert!(data.select(&[10]).is_err());
    }
}
