//! Explicit parallelism, with results that do not depend on the number of threads.
//!
//! Batch work is split into row chunks of the fixed size [`CHUNK_ROWS`]. Chunk boundaries
//! depend only on the batch size, never on the thread count, and per-chunk partial
//! results (gradients, sums) are combined in chunk order. [`Par::Seq`] and [`Par::Rayon`]
//! therefore run the very same floating-point operations and give bit-identical results;
//! `Rayon` merely runs chunks concurrently when the batch is large enough to pay for it.
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

/// Minimum work (rows × parameters) in a batch before [`Par::Rayon`] fans out: below it,
/// waking threads costs more than it saves.
pub const PAR_MIN_WORK: usize = 1 << 17;

/// How a kernel may use threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Par {
    /// One thread, chunks in order.
    Seq,
    /// Chunks on the current rayon pool when the work exceeds [`PAR_MIN_WORK`].
    #[default]
    Rayon,
}

impl Par {
    /// Whether a batch of `rows` rows and `work_per_row` operations should fan out.
    pub fn fan_out(self, rows: usize, work_per_row: usize) -> bool {
        self == Par::Rayon && rows > CHUNK_ROWS && rows.saturating_mul(work_per_row) >= PAR_MIN_WORK
    }
}

/// Number of chunks covering `rows` rows.
pub fn num_chunks(rows: usize) -> usize {
    rows.div_ceil(CHUNK_ROWS)
}

/// The row ranges of the chunks covering `rows` rows.
pub fn chunk_ranges(rows: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..num_chunks(rows)).map(move |c| c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(rows))
}
