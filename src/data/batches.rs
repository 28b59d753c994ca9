use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How each epoch orders the samples into mini-batches.
///
/// - [`Samples`](Shuffle::Samples) (the default): a fresh uniformly random permutation of
///   the samples every epoch, as PyTorch's `DataLoader(shuffle=True)`. Each step then
///   reads its rows from random places in memory.
/// - [`Blocks`](Shuffle::Blocks): *quasi-random* order. The samples are cut into
///   contiguous blocks of `size` and only the blocks are permuted every epoch (a shorter
///   last block, if `size` does not divide `n`, ends every epoch); when `size` divides
///   the batch size, a batch of `b` samples is `b / size` random blocks. Every sample is
///   still seen exactly once per epoch, but rows are read in runs: when 128
///   ([`CHUNK_ROWS`](crate::parallel::CHUNK_ROWS)) divides both `size` and the batch
///   size, every chunk of every batch lies inside one block, and a [`Network`] reads its
///   rows in place instead of gathering them — at streaming speed instead of one cache
///   miss per row (see `docs/benchmarks.md`) — and the block's multipliers are adjacent
///   too. The price is less randomness: samples of one block always share a batch, and
///   with `size` ≥ the batch size a batch is always the same samples (only the order
///   of batches changes). Shuffle the data set once before training
///   ([`Dataset::shuffled`](crate::Dataset::shuffled)) so that no block is sorted by
///   class or time. Training checks that there are at least two whole blocks to
///   permute. (FFCV's `QUASI_RANDOM` order trades randomness for locality in a similar
///   way.)
///
/// Full-batch training ignores the setting (one batch of every sample, in order).
///
/// [`Network`]: crate::Network
///
/// ```
/// use feasible::data::{MiniBatches, Shuffle};
/// use rand::SeedableRng;
/// let mut b = MiniBatches::new(10, 4).unwrap();
/// let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
/// b.reorder(Shuffle::Blocks { size: 3 }, &mut rng);
/// // Runs 3k, 3k + 1, 3k + 2 stay together, in some order; the short block 9 ends it.
/// for run in b.order()[..9].chunks(3) {
///     assert!(run[0] % 3 == 0 && run[1] == run[0] + 1 && run[2] == run[0] + 2);
/// }
/// assert_eq!(b.order()[9], 9);
/// assert!(Shuffle::Blocks { size: 0 }.validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shuffle {
    /// A fresh random permutation of the samples every epoch.
    #[default]
    Samples,
    /// Contiguous blocks of `size ≥ 1` samples in a fresh random order every epoch.
    Blocks {
        /// Samples per block (a divisor of the batch size keeps blocks whole in a batch).
        size: usize,
    },
}

impl Shuffle {
    /// Fails for `Blocks { size: 0 }`.
    pub fn validate(self) -> Result<()> {
        match self {
            Shuffle::Blocks { size: 0 } => {
                Err(Error::param("shuffle", 0, "block size must be ≥ 1"))
            }
            _ => Ok(()),
        }
    }
}

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
#[derive(Clone, Debug)]
pub struct MiniBatches {
    order: Vec<usize>,
    batch_size: usize,
    /// The block permutation of [`Shuffle::Blocks`] (reused; empty until first used).
    blocks: Vec<usize>,
}

/// Equal when they batch the same order in the same sizes (scratch space is ignored).
impl PartialEq for MiniBatches {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order && self.batch_size == other.batch_size
    }
}

impl Eq for MiniBatches {}

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
            blocks: Vec::new(),
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

    /// A new order for the next epoch as `how` says: [`shuffle`](Self::shuffle) for
    /// [`Shuffle::Samples`], [`shuffle_blocks`](Self::shuffle_blocks) for
    /// [`Shuffle::Blocks`].
    pub fn reorder<R: Rng + ?Sized>(&mut self, how: Shuffle, rng: &mut R) {
        match how {
            Shuffle::Samples => self.shuffle(rng),
            Shuffle::Blocks { size } => self.shuffle_blocks(size, rng),
        }
    }

    /// Sets the order to the whole blocks `[k·size, (k+1)·size)` of `0..n` in a random
    /// order (Fisher–Yates from `rng` over the block ids), followed by the short block
    /// `[⌊n/size⌋·size, n)` if `size` does not divide `n`. Keeping the short block last
    /// keeps every whole block at an offset that is a multiple of `size`, so with `size` a
    /// multiple of [`CHUNK_ROWS`](crate::parallel::CHUNK_ROWS) that divides the batch
    /// size, every chunk of every batch is one run of rows read in place. The order does
    /// not depend on the previous one. `size == 0` is taken as 1.
    pub fn shuffle_blocks<R: Rng + ?Sized>(&mut self, size: usize, rng: &mut R) {
        let n = self.order.len();
        let size = size.max(1);
        let whole = n / size;
        self.blocks.clear();
        self.blocks.extend(0..whole);
        self.blocks.shuffle(rng);
        let (runs, short) = self.order.split_at_mut(whole * size);
        for (run, &b) in runs.chunks_exact_mut(size).zip(&self.blocks) {
            for (k, slot) in run.iter_mut().enumerate() {
                *slot = b * size + k;
            }
        }
        for (k, slot) in short.iter_mut().enumerate() {
            *slot = whole * size + k;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    proptest! {
        /// A block order is a permutation of `0..n` made of the whole blocks, each one
        /// run starting at a multiple of `size` at an offset that is a multiple of `size`,
        /// then the short block; it depends on the RNG only, not on the previous order.
        #[test]
        fn block_orders_are_permutations_of_aligned_runs(
            n in 1usize..400,
            size in 1usize..70,
            seed in any::<u64>(),
        ) {
            let mut b = MiniBatches::new(n, n).unwrap();
            b.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed ^ 1));
            b.shuffle_blocks(size, &mut Xoshiro256PlusPlus::seed_from_u64(seed));
            let order = b.order().to_vec();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            let whole = n / size;
            for run in order[..whole * size].chunks(size) {
                prop_assert_eq!(run[0] % size, 0);
                for (k, &i) in run.iter().enumerate() {
                    prop_assert_eq!(i, run[0] + k);
                }
            }
            prop_assert_eq!(&order[whole * size..], &(whole * size..n).collect::<Vec<_>>()[..]);
            let mut again = MiniBatches::new(n, n).unwrap();
            again.reorder(Shuffle::Blocks { size }, &mut Xoshiro256PlusPlus::seed_from_u64(seed));
            prop_assert_eq!(again.order(), &order[..]);
        }
    }

    #[test]
    fn block_orders_vary_and_reach_every_arrangement() {
        // 4 blocks of 2: all 24 block orders turn up over enough epochs from one RNG.
        let mut b = MiniBatches::new(8, 4).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            b.reorder(Shuffle::Blocks { size: 2 }, &mut rng);
            seen.insert(b.order().to_vec());
        }
        assert_eq!(seen.len(), 24);
        // size ≥ n: one block, the natural order.
        b.shuffle_blocks(8, &mut rng);
        assert_eq!(b.order(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(Shuffle::Blocks { size: 1 }.validate().is_ok());
        assert!(Shuffle::Samples.validate().is_ok());
    }
}
