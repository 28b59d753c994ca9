use rand::Rng;
use rand::seq::SliceRandom;

use crate::{Error, Result};

/// Mini-batches of sample *indices*: the solver needs them to address each sample's
/// multiplier.
///
/// Each epoch is one pass over a permutation of `0..n` in chunks of `batch_size`; the last
/// batch keeps the remainder (it may be smaller). With `batch_size == n` and no shuffle,
/// this is full-batch training. The index buffer is allocated once and reused.
///
/// ```
/// use feasible::data::MiniBatches;
/// use rand::SeedableRng;
/// let mut b = MiniBatches::new(10, 4).unwrap();
/// assert_eq!(b.num_batches(), 3);
/// b.shuffle(&mut rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0));
/// let mut seen: Vec<usize> = b.iter().flatten().copied().collect();
/// seen.sort();
/// assert_eq!(seen, (0..10).collect::<Vec<_>>());
/// assert!(MiniBatches::new(10, 0).is_err());
/// assert!(MiniBatches::new(10, 11).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiniBatches {
    order: Vec<usize>,
    batch_size: usize,
}

impl MiniBatches {
    /// Batches of `batch_size` over `n` samples, initially in order `0..n`.
    /// Fails if `n == 0`, `batch_size == 0` or `batch_size > n`.
    pub fn new(n: usize, batch_size: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::Empty("no samples to batch".into()));
        }
        if batch_size == 0 || batch_size > n {
            return Err(Error::param(
                "batch_size",
                batch_size,
                format!("must lie in 1..={n}"),
            ));
        }
        Ok(Self {
            order: (0..n).collect(),
            batch_size,
        })
    }

    /// Full batch: one batch holding every sample in order.
    pub fn full(n: usize) -> Result<Self> {
        Self::new(n, n)
    }

    /// Reshuffles the order in place (Fisher–Yates from `rng`).
    pub fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.order.shuffle(rng);
    }

    /// The batches of the current order.
    pub fn iter(&self) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }

    /// The `k`-th batch of the current order.
    pub fn batch(&self, k: usize) -> &[usize] {
        let start = (k * self.batch_size).min(self.order.len());
        let end = (start + self.batch_size).min(self.order.len());
        &self.order[start..end]
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Whether this is full-batch (one batch of every sample).
    pub fn is_full_batch(&self) -> bool {
        self.batch_size == self.order.len()
    }

    /// The current permutation.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Restores a permutation (checkpoint resume). Fails unless `order` is a permutation
    /// of `0..n`.
    pub fn set_order(&mut self, order: Vec<usize>) -> Result<()> {
        let n = self.order.len();
        let mut seen = vec![false; n];
        if order.len() != n {
            return Err(Error::shape("batch order", n, order.len()));
        }
        for &i in &order {
            if i >= n || seen[i] {
                return Err(Error::Format("batch order is not a permutation".into()));
            }
            seen[i] = true;
        }
        self.order = order;
        Ok(())
    }
}
