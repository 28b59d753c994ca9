//! After the first step has sized the workspace, forward + backward allocate nothing of
//! their own. The one allocation left is inside matrixmultiply, which takes a packing
//! buffer from the allocator on every GEMM call: models without a GEMM (one-output linear
//! and logistic regression) allocate nothing at all, the others exactly once per GEMM.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use feasible::data::TargetsRef;
use feasible::data::synthetic::{DenseTask, dense};
use feasible::model::{Head, Init, Mlp, Model, Network};
use feasible::parallel::Par;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn steps<M: Model<f32>>(m: &M, x: &[f32], y: TargetsRef<'_, f32>, rows: usize) -> usize {
    let mut ws = m.workspace();
    let mut losses = vec![0.0; rows];
    let mut grad = vec![0.0; m.n_params()];
    let d = m.n_inputs();
    let mut step = |k: usize| {
        let r0 = k * rows;
        let (xb, yb) = (&x[r0 * d..(r0 + rows) * d], y.slice(r0, rows));
        m.forward(xb, yb, &mut ws, &mut losses, Par::Seq).unwrap();
        m.backward(xb, &mut ws, &losses, &mut grad, Par::Seq)
            .unwrap();
    };
    step(0);
    let before = ALLOCS.load(Ordering::Relaxed);
    for k in 1..4 {
        step(k);
    }
    ALLOCS.load(Ordering::Relaxed) - before
}

trait Slice<'a> {
    fn slice(self, r0: usize, n: usize) -> Self;
}
impl<'a> Slice<'a> for TargetsRef<'a, f32> {
    fn slice(self, r0: usize, n: usize) -> Self {
        match self {
            TargetsRef::Real(v) => TargetsRef::Real(&v[r0..r0 + n]),
            TargetsRef::Classes(v) => TargetsRef::Classes(&v[r0..r0 + n]),
        }
    }
}

/// The allocation count is process-wide, so this file holds a single test: no other test
/// (nor the harness reporting one) can allocate while a count is running.
#[test]
fn no_allocation_after_warm_up() {
    forward_backward_do_not_allocate_after_warm_up();
    training_epochs_do_not_allocate_after_warm_up();
    skipping_zero_weight_rows_does_not_allocate();
}

/// A chunk workspace comes sized for the backward pass over a subset of rows: the first
/// time a chunk's weights are mostly zero (multipliers reaching 0, many epochs in)
/// allocates nothing. Thin layers only, so no GEMM packing buffer is involved.
fn skipping_zero_weight_rows_does_not_allocate() {
    use feasible::data::BatchView;
    let data = dense::<f32>(128, 3, DenseTask::Binary, 5).unwrap();
    let net = Mlp::new(3, Head::Binary)
        .hidden(&[4, 4])
        .init(Init::TorchDefault)
        .build::<f32>()
        .unwrap();
    let view = BatchView::contiguous(data.x_slice(), data.targets().as_ref(), 3).unwrap();
    let mut cw = net.chunk_workspace();
    let (mut losses, mut weights) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    let mut pass = |zero_every: usize| {
        net.train_chunk(
            view,
            &mut cw,
            &mut losses,
            &mut weights,
            &mut |off, _, w| {
                for (k, wk) in w.iter_mut().enumerate() {
                    *wk = if (off + k) % zero_every == 0 {
                        0.0
                    } else {
                        1.0
                    };
                }
            },
        )
        .unwrap();
    };
    pass(usize::MAX); // warm-up: every row weighs something
    let before = ALLOCS.load(Ordering::Relaxed);
    pass(2); // half the rows weigh nothing: the skipped-rows path
    pass(1); // no row weighs anything
    assert_eq!(ALLOCS.load(Ordering::Relaxed) - before, 0);
}

fn forward_backward_do_not_allocate_after_warm_up() {
    // 300 rows = 3 chunks of 128, 3 steps after the warm-up one.
    let (rows, chunks, timed) = (300, 3, 3);
    let bin = dense::<f32>(4 * rows, 20, DenseTask::Binary, 1).unwrap();
    let y = bin.targets().as_ref();
    let yr: Vec<f32> = (0..4 * rows).map(|i| i as f32 * 0.01).collect();
    let lin = Network::linear_regression(20);
    assert_eq!(steps(&lin, bin.x_slice(), TargetsRef::Real(&yr), rows), 0);
    assert_eq!(
        steps(&Network::logistic_regression(20), bin.x_slice(), y, rows),
        0
    );
    // 20 → 16 → 8 → 1: GEMMs forward in layers 0 and 1; backward gW of layers 0 and 1 and
    // the delta of layer 1 (the one-output layer uses row kernels).
    let mlp = Mlp::new(20, Head::Binary)
        .hidden(&[16, 8])
        .init(Init::TorchDefault)
        .build::<f32>()
        .unwrap();
    let gemms = (2 + 3) * chunks * timed;
    assert_eq!(steps(&mlp, bin.x_slice(), y, rows), gemms);
    let mc = dense::<f32>(4 * rows, 20, DenseTask::Multiclass(5), 1).unwrap();
    let sm = Network::<f32>::softmax_regression(20, 5);
    let gemms = 2 * chunks * timed;
    assert_eq!(steps(&sm, mc.x_slice(), mc.targets().as_ref(), rows), gemms);
}

/// Whole training epochs after the first allocate nothing: the chunk pass, the dual step,
/// the primal step and the batch shuffle reuse the session's buffers, on one thread and on
/// a team (whose helper threads are counted too).
fn training_epochs_do_not_allocate_after_warm_up() {
    use feasible::data::Shuffle;
    use feasible::solver::{Method, NoObserver, Optimizer, TrainerParams};
    let data = dense::<f32>(4000, 100, DenseTask::Binary, 3).unwrap();
    // Logistic regression and an MLP 100→4→1 (its layers are thin: no GEMM, whose packing
    // buffer would allocate). CVaR at β = 0.5: half of every batch weighs nothing, so the
    // MLP's backward pass takes its skipped-rows path from the first step. Block order
    // too, with batches of 1024 = 8 blocks of 128: every chunk read in place; its block
    // permutation is made in the first epoch, then reused.
    let logistic = Network::<f32>::logistic_regression(100);
    let thin_mlp = Mlp::new(100, Head::Binary)
        .hidden(&[4])
        .init(Init::TorchDefault)
        .build::<f32>()
        .unwrap();
    let fl = Method::Fl { epsilon: 0.3 };
    let cvar = Method::Cvar { beta: 0.5 };
    let (samples, blocks) = (Shuffle::Samples, Shuffle::Blocks { size: 128 });
    for (par, method, net, shuffle, batch) in [
        (Par::Seq, fl, &logistic, samples, 1000),
        (Par::Threads(2), fl, &logistic, samples, 1000),
        (Par::Seq, cvar, &thin_mlp, samples, 1000),
        (Par::Threads(2), cvar, &thin_mlp, samples, 1000),
        (Par::Threads(2), fl, &logistic, blocks, 1024),
        (Par::Seq, cvar, &thin_mlp, blocks, 1024),
    ] {
        let t = TrainerParams::new(method)
            .shuffle(shuffle)
            .optimizer(Optimizer::adamw(1e-2))
            .batch_size(batch)
            .epochs(10)
            .eval_every(0)
            .final_eval(false)
            .stationarity(false)
            .par(par)
            .check()
            .unwrap();
        let mut s = t.session(net.clone(), &data, None).unwrap();
        s.run_epoch(&mut NoObserver).unwrap();
        let before = ALLOCS.load(Ordering::Relaxed);
        for _ in 0..3 {
            s.run_epoch(&mut NoObserver).unwrap();
        }
        assert_eq!(
            ALLOCS.load(Ordering::Relaxed) - before,
            0,
            "{par:?} {method:?} {shuffle:?}"
        );
    }
}
