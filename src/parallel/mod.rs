//! Explicit parallelism, with results that do not depend on the number of threads.
//!
//! Batch work is split into row chunks of the fixed size [`CHUNK_ROWS`]. Chunk boundaries
//! depend only on the batch size, never on the thread count, and per-chunk partial
//! results (gradients, sums) are combined in chunk order. [`Par::Seq`], [`Par::Rayon`] and
//! [`Par::Threads`] therefore run the very same floating-point operations and give
//! bit-identical results; the parallel ones merely run chunks concurrently when the batch
//! is large enough to pay for it.
//!
//! Training steps are short (tens of microseconds for a linear model), so the trainer
//! runs them on a [`Team`]: helper threads kept alive for the whole session that claim
//! each step's chunks (and ranges of the parameters in the optimiser's update) one at a
//! time, instead of waking a pool every step. A chunk's result lands in that chunk's own
//! slot whichever thread computed it, so claiming by timing changes no bit.
//!
//! ```
//! use feasible::parallel::{chunk_ranges, CHUNK_ROWS};
//! let r: Vec<_> = chunk_ranges(2 * CHUNK_ROWS + 3).collect();
//! assert_eq!(r.len(), 3);
//! assert_eq!(r[2], 2 * CHUNK_ROWS..2 * CHUNK_ROWS + 3);
//! ```

use serde::{Deserialize, Serialize};

/// Rows per work chunk: the unit of parallel work and of deterministic reduction.
pub const CHUNK_ROWS: usize = 128;

/// Minimum work (rows × parameters) in a batch before a parallel [`Par`] fans out: below
/// it, handing work to other threads costs more than it saves.
pub const PAR_MIN_WORK: usize = 1 << 17;

/// How a kernel may use threads.
///
/// ```
/// use feasible::parallel::Par;
/// assert!(!Par::Seq.fan_out(100_000, 1_000));
/// assert!(Par::Threads(2).fan_out(100_000, 1_000));
/// assert!(!Par::Threads(2).fan_out(100, 10)); // too little work to share
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Par {
    /// One thread, chunks in order.
    Seq,
    /// As many threads as the current rayon pool has (`RAYON_NUM_THREADS`, or the pool a
    /// call is `install`ed in): training outside any pool runs on a [`Team`] of that size;
    /// inside a pool, and for evaluation passes, chunks go to the pool.
    ///
    /// A service that trains several models at once should give each session a share of
    /// the cores (`Threads(k)`, or `Seq`) or run the sessions inside one rayon pool: every
    /// session outside a pool keeps its own team of pool-size threads.
    #[default]
    Rayon,
    /// Up to this many threads for training steps: a [`Team`] of the calling thread and
    /// `n − 1` helpers, kept for the session, used by steps large enough to share
    /// ([`fan_out`](Par::fan_out); fewer if the system refuses a thread). Evaluation
    /// passes use the rayon pool, except with `Threads(1)`, where everything runs on
    /// the calling thread.
    Threads(usize),
}

impl Par {
    /// Threads this setting would use.
    pub fn threads(self) -> usize {
        match self {
            Par::Seq => 1,
            Par::Rayon => rayon::current_num_threads(),
            Par::Threads(n) => n.max(1),
        }
    }

    /// Whether a batch of `rows` rows and `work_per_row` operations should fan out (never
    /// with one thread: handing work to its one thread only adds a round trip).
    pub fn fan_out(self, rows: usize, work_per_row: usize) -> bool {
        self.threads() > 1 && rows > CHUNK_ROWS && rows.saturating_mul(work_per_row) >= PAR_MIN_WORK
    }

    /// The size of the [`Team`] a training session runs its steps on: 1 (no team) for
    /// [`Par::Seq`] and for [`Par::Rayon`] called from inside a rayon pool.
    pub fn team_size(self) -> usize {
        match self {
            Par::Rayon if rayon::current_thread_index().is_some() => 1,
            p => p.threads(),
        }
    }
}

/// Number of chunks covering `rows` rows.
pub fn num_chunks(rows: usize) -> usize {
    rows.div_ceil(CHUNK_ROWS)
}

/// The rows of chunk `c` of a batch of `rows` rows.
///
/// ```
/// use feasible::parallel::{chunk_range, CHUNK_ROWS};
/// assert_eq!(chunk_range(1, CHUNK_ROWS + 5), CHUNK_ROWS..CHUNK_ROWS + 5);
/// ```
pub fn chunk_range(c: usize, rows: usize) -> std::ops::Range<usize> {
    c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(rows)
}

/// The row ranges of the chunks covering `rows` rows.
pub fn chunk_ranges(rows: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..num_chunks(rows)).map(move |c| chunk_range(c, rows))
}

mod team;
pub use team::Team;

/// A mutable slice shared by a [`Team`]'s workers, each of which writes only its own,
/// non-overlapping ranges (the chunks or parameter ranges it claimed).
pub(crate) struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a `Disjoint` hands out `&mut` sub-slices to other threads, which is sound for
// `T: Send` as long as the ranges do not overlap (the contract of `range`).
unsafe impl<T: Send> Send for Disjoint<'_, T> {}
// SAFETY: as above; shared access only ever produces disjoint `&mut` ranges.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    /// Shares `s` for the duration of its borrow.
    pub(crate) fn new(s: &'a mut [T]) -> Self {
        Self {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _borrow: std::marker::PhantomData,
        }
    }

    /// The elements `r`.
    ///
    /// # Safety
    /// No two references obtained from this `Disjoint` that are alive at the same time may
    /// overlap.
    ///
    /// # Panics
    /// If `r` is not within the slice.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range(&self, r: std::ops::Range<usize>) -> &'a mut [T] {
        assert!(
            r.start <= r.end && r.end <= self.len,
            "Disjoint: range out of bounds"
        );
        // SAFETY: in bounds (checked), and exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.len()) }
    }
}

impl<'a, T> Disjoint<'a, T> {
    /// Element `i`.
    ///
    /// # Safety
    /// As for [`range`](Self::range): no other live reference from this `Disjoint` may
    /// cover `i`.
    ///
    /// # Panics
    /// If `i` is out of bounds.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub(crate) unsafe fn get(&self, i: usize) -> &'a mut T {
        assert!(i < self.len, "Disjoint: index out of bounds");
        // SAFETY: in bounds (checked), and exclusive by the caller's contract.
        unsafe { &mut *self.ptr.add(i) }
    }
}
