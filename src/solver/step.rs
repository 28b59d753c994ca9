//! One training step, in the pieces [`Trainer`](super::Trainer) runs in order
//! (`docs/algorithm.md`, "One step, as the code runs it"):
//!
//! 1. [`chunk_pass`]: every 128-row chunk of the batch — its rows, losses, the dual step
//!    for its samples (multipliers written in place, old values kept in the chunk's
//!    [`Slot`]) and its weighted gradient — concurrently when a [`Runner`] allows;
//! 2. [`batch_stats`]: the batch's mean and max loss and whether all are finite (each
//!    chunk's figures are computed in the chunk pass, by the worker that ran it);
//! 3. [`primal_pass`]: per range of parameters, the chunk gradients summed in chunk order,
//!    `θ` backed up, and the optimiser's update with the new moments written out of place;
//! 4. [`undo_chunk_pass`] when a step fails: the multipliers and tracked losses it
//!    touched go back.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use rayon::prelude::*;

use super::dual::DualRule;
use super::method::Method;
use super::optim::{Optimizer, OptimizerState, all_finite};
use super::trainer::{DualOrder, TrainerParams};
use crate::data::BatchView;
use crate::data::prefetch_row;
use crate::linalg::add_assign;
use crate::model::Model;
use crate::parallel::{CHUNK_ROWS, Disjoint, Team, chunk_range};
use crate::{Float, Result};

/// Parameters from which a team shares the primal step: below, handing the update over
/// (≈ 1 µs) costs more than halving it saves. Two moons' 5.3k parameters gain ≈ 10 % per
/// step from sharing (`docs/benchmarks.md`, third session).
pub(super) const SHARED_STEP_MIN_PARAMS: usize = 1 << 11;

/// Work per row that a chunk of the fused pass does besides the model's multiply-adds
/// (reading a random row from memory, the loss, the dual step), in the units of
/// [`Par::fan_out`](crate::parallel::Par::fan_out).
pub(super) const ROW_OVERHEAD: usize = 64;

/// One chunk's share of a step: the model's chunk workspace, the chunk's losses and
/// weights, and the multipliers and νPI states of its samples from before the dual step
/// (to put back if the step fails).
pub(super) struct Slot<F, C> {
    pub(super) cw: C,
    pub(super) losses: Vec<F>,
    weights: Vec<F>,
    lam_old: Vec<F>,
    /// The new multipliers of scattered samples, computed side by side before they are
    /// written back.
    lam_new: Vec<F>,
    xi_old: Vec<F>,
    /// The tracked losses (`seen`) of the chunk's samples before this step.
    seen_old: Vec<F>,
    /// Rows whose dual step ran this step (the ones to undo if the step fails).
    weighed: usize,
    /// Rows whose tracked loss this step overwrote.
    seen_written: usize,
    /// The chunk's losses at a glance (reset when the chunk starts, set once its pass
    /// succeeded; a step reads them only when every chunk succeeded).
    stats: ChunkStats,
    status: Result<()>,
}

impl<F: Float, C> Slot<F, C> {
    /// A slot around a model's chunk workspace.
    pub(super) fn new(cw: C) -> Self {
        Self {
            cw,
            losses: vec![F::zero(); CHUNK_ROWS],
            weights: vec![F::zero(); CHUNK_ROWS],
            lam_old: vec![F::zero(); CHUNK_ROWS],
            lam_new: vec![F::zero(); CHUNK_ROWS],
            xi_old: vec![F::zero(); CHUNK_ROWS],
            seen_old: vec![F::zero(); CHUNK_ROWS],
            weighed: 0,
            seen_written: 0,
            stats: ChunkStats::default(),
            status: Ok(()),
        }
    }

    /// The chunk pass's error for this chunk, if any (leaving `Ok` for the next step).
    pub(super) fn take_status(&mut self) -> Result<()> {
        std::mem::replace(&mut self.status, Ok(()))
    }
}

/// How a method weighs a sample from its own loss (constants converted once per step).
#[derive(Clone, Copy, Debug)]
pub(super) enum WeightKind<F> {
    /// ERM: `1/m`.
    Const(F),
    /// CSERM: `2[ℓ − ε]₊/m`.
    Hinge { two_m: F, eps: F },
    /// CVaR: `1{ℓ > τ}/((1 − β) m)`.
    Cvar { tau: F, c: F },
    /// FL/RFL: the dual step, then `λ_i` (alternating) or the `λ_i` from before it.
    Dual {
        rule: DualRule<F>,
        simultaneous: bool,
    },
}

impl<F: Float> WeightKind<F> {
    pub(super) fn new(p: &TrainerParams, m: usize, tau: F) -> Self {
        match p.method {
            Method::Erm => WeightKind::Const(F::lit(1.0 / m as f64)),
            Method::Cserm { epsilon } => WeightKind::Hinge {
                two_m: F::lit(2.0 / m as f64),
                eps: F::lit(epsilon),
            },
            Method::Cvar { beta } => WeightKind::Cvar {
                tau,
                c: F::lit(1.0 / ((1.0 - beta) * m as f64)),
            },
            Method::Fl { epsilon } => WeightKind::Dual {
                rule: DualRule::new(&p.dual, epsilon, None),
                simultaneous: p.order == DualOrder::Simultaneous,
            },
            Method::Rfl { epsilon, alpha } => WeightKind::Dual {
                rule: DualRule::new(&p.dual, epsilon, Some(alpha)),
                simultaneous: p.order == DualOrder::Simultaneous,
            },
        }
    }

    /// Whether the method has multipliers (and so a dual step).
    pub(super) fn is_dual(&self) -> bool {
        matches!(self, WeightKind::Dual { .. })
    }

    /// The weight of a sample with loss `l`; for FL/RFL this is where the sample's dual
    /// step happens, on its multiplier `lam` and νPI state `xi`.
    #[inline(always)]
    fn weight(&self, l: F, lam: &mut F, xi: &mut F) -> F {
        match *self {
            WeightKind::Const(w) => w,
            WeightKind::Hinge { two_m, eps } => two_m * (l - eps).max(F::zero()),
            WeightKind::Cvar { tau, c } => {
                if l > tau {
                    c
                } else {
                    F::zero()
                }
            }
            WeightKind::Dual { rule, simultaneous } => {
                let old = *lam;
                rule.update_one(l, lam, xi);
                if simultaneous { old } else { *lam }
            }
        }
    }
}

/// Where a pass of a step runs. Which thread computes a chunk or a parameter range never
/// changes what is computed, so every runner gives the same bits.
#[derive(Clone, Copy)]
pub(super) enum Runner<'t> {
    /// On the calling thread, in order.
    Seq,
    /// On the current rayon pool (a session opened inside one).
    Rayon,
    /// On the session's team, items claimed by whichever worker is free
    /// ([`Team::for_each`]).
    Team(&'t Team),
}

/// Parameters per range of a shared primal pass, about (ranges are cut at multiples of
/// 16, so the last may be shorter): small enough to balance, large enough that claiming
/// one (an atomic add) does not show.
const PRIMAL_ITEM_MIN: usize = 1024;

impl Runner<'_> {
    /// Calls `f(c)` for every chunk `c < n`.
    fn chunks(self, n: usize, f: impl Fn(usize) + Sync) {
        match self {
            Runner::Seq => (0..n).for_each(f),
            Runner::Rayon => (0..n).into_par_iter().for_each(&f),
            Runner::Team(team) => team.for_each(n, &f),
        }
    }

    /// Calls `f(range)` on disjoint ranges covering `0..n`: on a team, up to four times as
    /// many as it has workers (each claimed by whichever is free), with lengths a multiple
    /// of 16 elements so that ranges rarely share a cache line.
    fn ranges(self, n: usize, f: impl Fn(Range<usize>) + Sync) {
        match self {
            Runner::Team(team) if n > 0 => {
                let parts = (n / PRIMAL_ITEM_MIN).clamp(1, 4 * team.size());
                let len = n.div_ceil(parts).next_multiple_of(16);
                team.for_each(n.div_ceil(len), &|b| f(b * len..((b + 1) * len).min(n)))
            }
            Runner::Team(_) | Runner::Seq | Runner::Rayon => f(0..n),
        }
    }
}

/// What the chunk pass reads and writes besides the slots.
pub(super) struct Samples<'a, F> {
    /// Every sample's multiplier (empty without a dual step).
    pub lambda: &'a mut [F],
    /// Every sample's νPI state (empty unless νPI is in use).
    pub xi: &'a mut [F],
    /// Every sample's loss at its last step (empty unless tracked).
    pub seen: &'a mut [F],
}

/// The chunk pass of a step on the batch `idx` (rows read through `view`): for every
/// chunk, on `run`, [`Model::train_chunk`] with the dual step of its samples inside the
/// weighing callback. Errors are left in the slots ([`Slot::take_status`]).
pub(super) fn chunk_pass<F: Float, M: Model<F>>(
    model: &M,
    view: BatchView<'_, F>,
    idx: &[usize],
    kind: WeightKind<F>,
    samples: Samples<'_, F>,
    slots: &mut [Slot<F, M::Chunk>],
    run: Runner<'_>,
) {
    let m = idx.len();
    let dual = kind.is_dual();
    // Sessions hold multipliers exactly when the method has a dual step (checked when a
    // checkpoint is resumed), which `undo_chunk_pass` relies on.
    debug_assert_eq!(dual, !samples.lambda.is_empty());
    let has_xi = !samples.xi.is_empty();
    let track = !samples.seen.is_empty();
    let lambda = Disjoint::new(samples.lambda);
    let xi = Disjoint::new(samples.xi);
    let seen = Disjoint::new(samples.seen);
    let nch = slots.len();
    let slots = Disjoint::new(slots);
    run.chunks(nch, |c| {
        // SAFETY: each chunk index is visited by exactly one worker per step, and a
        // batch's indices are distinct (a slice of a permutation: `MiniBatches` checks
        // every order it is given), so the multipliers, νPI states and losses of
        // different chunks never alias.
        let Slot {
            cw,
            losses,
            weights,
            lam_old,
            lam_new,
            xi_old,
            seen_old,
            weighed,
            seen_written,
            stats,
            status,
        } = &mut unsafe { slots.range(c..c + 1) }[0];
        *weighed = 0;
        *seen_written = 0;
        *stats = ChunkStats::default();
        let r = chunk_range(c, m);
        let rows = r.len();
        let ids = &idx[r.clone()];
        // A chunk of a block order is one run of samples: its multipliers are adjacent
        // and take the vectorised dual step.
        let chunk = view.slice(r);
        let run = chunk.run_start();
        if dual && run.is_none() {
            // The batch's multipliers are scattered over all `n`: ask for them now, so
            // they have arrived by the time the losses are known.
            for &i in ids {
                prefetch_row(std::slice::from_ref(unsafe { lambda.get(i) }));
            }
        }
        // Whether the dual step left every multiplier (and νPI state) it wrote finite,
        // checked while they are in registers or L1.
        let mut dual_ok = true;
        *status = model.train_chunk(
            run.map_or(chunk, |first| chunk.in_place(first)),
            cw,
            &mut losses[..rows],
            &mut weights[..rows],
            &mut |off, l, w| {
                let rows = off..off + l.len();
                let (ids, lam_old, xi_old) = (
                    &ids[rows.clone()],
                    &mut lam_old[rows.clone()],
                    &mut xi_old[rows],
                );
                let mut no = (F::zero(), F::zero());
                // One loop per case, so that the per-sample work has no branch on it.
                match (dual, has_xi) {
                    (true, _)
                        if let (Some(first), WeightKind::Dual { rule, simultaneous }) =
                            (run, kind) =>
                    {
                        let r = first + off..first + off + l.len();
                        // SAFETY: as below; a run's indices are the chunk's own.
                        let lam = unsafe { lambda.range(r.clone()) };
                        lam_old.copy_from_slice(lam);
                        let x: &mut [F] = if has_xi {
                            let x = unsafe { xi.range(r) };
                            xi_old.copy_from_slice(x);
                            x
                        } else {
                            &mut []
                        };
                        rule.update_run(l, lam, x, simultaneous, w);
                        dual_ok &= all_finite(lam) && all_finite(x);
                    }
                    (true, false) if let WeightKind::Dual { rule, simultaneous } = kind => {
                        // Plain ascent or RFL on scattered multipliers (νPI always has
                        // its states, sized before the pass: `has_xi`): read them side by
                        // side, take the vectorised step of a run, write them back.
                        let new = &mut lam_new[..l.len()];
                        for (old, &i) in lam_old.iter_mut().zip(ids) {
                            *old = *unsafe { lambda.get(i) };
                        }
                        new.copy_from_slice(lam_old);
                        rule.update_run(l, new, &mut [], simultaneous, w);
                        // The finiteness check rides on the write-back (a call per
                        // block of 16 showed in profiles).
                        let mut finite = true;
                        for (&i, &v) in ids.iter().zip(new.iter()) {
                            *unsafe { lambda.get(i) } = v;
                            finite &= v.is_finite();
                        }
                        dual_ok &= finite;
                    }
                    // (`(true, false)` cannot reach here: a dual step has a dual weight.)
                    (false, _) | (true, false) => {
                        debug_assert!(!dual, "a dual step without a dual weight");
                        for (wk, &lk) in w.iter_mut().zip(l) {
                            *wk = kind.weight(lk, &mut no.0, &mut no.1);
                        }
                    }
                    (true, true) => {
                        for ((((wk, &lk), &i), old), xold) in
                            w.iter_mut().zip(l).zip(ids).zip(lam_old).zip(xi_old)
                        {
                            let (lam, x) = unsafe { (lambda.get(i), xi.get(i)) };
                            (*old, *xold) = (*lam, *x);
                            *wk = kind.weight(lk, lam, x);
                            dual_ok &= lam.is_finite() && x.is_finite();
                        }
                    }
                }
                *weighed = off + l.len();
            },
        );
        // The contract of `train_chunk`: every row weighed once, in order. A model that
        // skipped rows would leave stale weights and missing dual steps behind.
        if status.is_ok() && *weighed != rows {
            *status = Err(crate::Error::shape(
                "rows weighed by Model::train_chunk",
                rows,
                *weighed,
            ));
        }
        if status.is_ok() {
            *stats = ChunkStats::of(&losses[..rows], kind, dual_ok);
        }
        if track && status.is_ok() {
            for ((&i, &l), old) in ids.iter().zip(&losses[..rows]).zip(seen_old.iter_mut()) {
                let s = unsafe { seen.get(i) };
                *old = *s;
                *s = l;
            }
            *seen_written = rows;
        }
    });
}

/// Puts back what the chunk pass of the batch `idx` changed outside the slots: the
/// multipliers (and νPI states, when they existed before the step) of every sample whose
/// dual step ran, and the tracked losses it overwrote.
pub(super) fn undo_chunk_pass<F: Float, C>(
    idx: &[usize],
    slots: &[Slot<F, C>],
    samples: Samples<'_, F>,
) {
    for (c, sl) in slots.iter().enumerate() {
        let ids = &idx[chunk_range(c, idx.len())];
        if !samples.lambda.is_empty() {
            for (k, &i) in ids[..sl.weighed].iter().enumerate() {
                samples.lambda[i] = sl.lam_old[k];
                if let Some(x) = samples.xi.get_mut(i) {
                    *x = sl.xi_old[k];
                }
            }
        }
        if !samples.seen.is_empty() {
            for (k, &i) in ids[..sl.seen_written].iter().enumerate() {
                samples.seen[i] = sl.seen_old[k];
            }
        }
    }
}

/// A chunk's losses at a glance, computed by the worker that ran the chunk.
#[derive(Clone, Copy, Debug)]
struct ChunkStats {
    /// Sum of the losses (in `f64`, four running sums in row order, added pairwise).
    sum: f64,
    max: f64,
    finite: bool,
    /// Whether the dual step left the chunk's multipliers (and νPI states) finite. In
    /// simultaneous order the gradient uses the old multipliers, so an overflowing new
    /// one would pass every other check of the step.
    dual_finite: bool,
    /// CVaR: losses above `τ`.
    above: usize,
}

impl Default for ChunkStats {
    fn default() -> Self {
        Self {
            sum: 0.0,
            max: f64::NEG_INFINITY,
            finite: true,
            dual_finite: true,
            above: 0,
        }
    }
}

impl ChunkStats {
    /// The figures of a chunk's `losses`, with whether its dual step stayed finite.
    fn of<F: Float>(losses: &[F], kind: WeightKind<F>, dual_finite: bool) -> Self {
        let mut acc = [0.0f64; 4];
        let mut max = f64::NEG_INFINITY;
        let mut lanes = losses.chunks_exact(4);
        for q in &mut lanes {
            for (a, &l) in acc.iter_mut().zip(q) {
                let v = l.to_f64_lossless();
                *a += v;
                max = max.max(v);
            }
        }
        for (a, &l) in acc.iter_mut().zip(lanes.remainder()) {
            let v = l.to_f64_lossless();
            *a += v;
            max = max.max(v);
        }
        let above = match kind {
            WeightKind::Cvar { tau, .. } => losses.iter().filter(|&&l| l > tau).count(),
            _ => 0,
        };
        Self {
            sum: (acc[0] + acc[1]) + (acc[2] + acc[3]),
            max,
            finite: all_finite(losses),
            dual_finite,
            above,
        }
    }
}

/// A batch's losses at a glance.
pub(super) struct BatchStats {
    pub mean: f64,
    pub max: f64,
    pub finite: bool,
    /// Whether every multiplier (and νPI state) the dual step wrote is finite.
    pub dual_finite: bool,
    /// CVaR: samples whose loss exceeds `τ`.
    pub above: usize,
}

/// The statistics of the `m` losses the chunk pass left in `slots`: its chunks' figures
/// (each computed by the worker that ran the chunk) combined in chunk order.
pub(super) fn batch_stats<F: Float, C>(slots: &[Slot<F, C>], m: usize) -> BatchStats {
    let mut st = ChunkStats::default();
    for sl in slots {
        st.sum += sl.stats.sum;
        st.max = st.max.max(sl.stats.max);
        st.finite &= sl.stats.finite;
        st.dual_finite &= sl.stats.dual_finite;
        st.above += sl.stats.above;
    }
    BatchStats {
        mean: st.sum / m as f64,
        max: st.max,
        finite: st.finite,
        dual_finite: st.dual_finite,
        above: st.above,
    }
}

/// Whether the primal step's gradient and update were finite.
pub(super) struct PrimalOutcome {
    pub grad_finite: bool,
    pub step_finite: bool,
}

/// The primal step, by parameter range on `run`: `grad` = the chunks' gradients summed in
/// chunk order, `prev` = `θ`, then the optimiser's update of `θ` with the new moments
/// written into `next` (prepared by [`OptimizerState::prepare_next`]). Element-wise in the
/// parameters, so how the ranges are cut does not change a bit.
#[allow(clippy::too_many_arguments)]
pub(super) fn primal_pass<F: Float, M: Model<F>>(
    slots: &[Slot<F, M::Chunk>],
    opt: &OptimizerState<F>,
    cfg: &Optimizer,
    lr: f64,
    theta: &mut [F],
    grad: &mut [F],
    prev: &mut [F],
    next: &mut OptimizerState<F>,
    run: Runner<'_>,
) -> PrimalOutcome {
    let grad_ok = AtomicBool::new(true);
    let step_ok = AtomicBool::new(true);
    let n = theta.len();
    let (has_m, has_v) = (!next.m.is_empty(), !next.v.is_empty());
    let theta = Disjoint::new(theta);
    let grad = Disjoint::new(grad);
    let prev = Disjoint::new(prev);
    let nm = Disjoint::new(&mut next.m);
    let nv = Disjoint::new(&mut next.v);
    run.ranges(n, |r| {
        // SAFETY: the ranges `run` hands out do not overlap.
        let (g, pv, th, m_new, v_new) = unsafe {
            (
                grad.range(r.clone()),
                prev.range(r.clone()),
                theta.range(r.clone()),
                nm.range(if has_m { r.clone() } else { 0..0 }),
                nv.range(if has_v { r.clone() } else { 0..0 }),
            )
        };
        g.copy_from_slice(&M::chunk_gradient(&slots[0].cw)[r.clone()]);
        for sl in &slots[1..] {
            add_assign(g, &M::chunk_gradient(&sl.cw)[r.clone()]);
        }
        if !all_finite(g) {
            grad_ok.store(false, Relaxed);
        }
        pv.copy_from_slice(th);
        if !opt.step_range(cfg, lr, r, th, g, m_new, v_new) {
            step_ok.store(false, Relaxed);
        }
    });
    PrimalOutcome {
        grad_finite: grad_ok.into_inner(),
        step_finite: step_ok.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A team's parameter ranges cover `0..n` exactly once, in pieces of about
    /// `PRIMAL_ITEM_MIN` or more (unless `n` is smaller) and at most four per worker.
    #[test]
    fn team_ranges_cover_every_parameter_once() {
        for size in 1..=4 {
            let team = Team::new(size);
            for n in [0, 1, 15, 16, 17, 1023, 1024, 2049, 5322, 85_002, 100_000] {
                let got = Mutex::new(Vec::new());
                Runner::Team(&team).ranges(n, |r| got.lock().unwrap().push(r));
                let mut got = got.into_inner().unwrap();
                got.sort_by_key(|r| r.start);
                let mut at = 0;
                for r in &got {
                    assert_eq!(r.start, at, "size {size}, n {n}: {got:?}");
                    assert!(
                        r.len() >= (PRIMAL_ITEM_MIN / 2).min(n),
                        "size {size}, n {n}: {got:?}"
                    );
                    at = r.end;
                }
                assert_eq!(at, n);
                assert!(got.len() <= 4 * team.size().max(1));
            }
        }
    }
}
