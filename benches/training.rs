//! Whole-epoch training benchmarks (f32, seeded synthetic data), the workloads of
//! `../shared/bench/torch_reference.py`, plus the dual step and the metrics pass.
//!
//! `cargo bench --bench training` (set `RAYON_NUM_THREADS=1` or `2` for thread scaling).
//! Every run is `eval_every(0)`, `final_eval(false)`, `stationarity(false)`: training
//! only, no evaluation pass, as the PyTorch loop it is compared with. Epoch benches time
//! `Session::run_epoch` on sessions restarted every 100 epochs; the two-moons bench times
//! a whole `fit`.

use std::hint::black_box;

use std::time::{Duration, Instant};

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use feasible::data::Shuffle;
use feasible::data::synthetic::{self, DenseTask};
use feasible::metrics::LossSummary;
use feasible::model::{Activation, Head, Init, Mlp, Model, Network};
use feasible::solver::{
    DualOptimizer, Method, NoObserver, Optimizer, Session, TrainerParams, dual_step,
};
use rand::{RngExt, SeedableRng};

fn quiet(p: TrainerParams) -> TrainerParams {
    p.eval_every(0).final_eval(false).stationarity(false)
}

/// Epochs of a long session: each criterion iteration is one more epoch of the same run
/// (setup and the final report are not timed).
const ENDLESS: usize = 1 << 40;

/// Sessions are restarted (untimed) after this many epochs: FL on data that no model fits
/// to ε grows its multipliers without bound, and at a few ms per epoch criterion runs
/// enough epochs (about a thousand for logreg with SGD lr 0.1) for the run to diverge.
const RESTART_EVERY: usize = 100;

/// Times `Session::run_epoch` on sessions made by `open`, each used for
/// [`RESTART_EVERY`] epochs; only the epochs are timed.
fn bench_epochs<'a, M: Model<f32>>(
    b: &mut Bencher<'_>,
    mut open: impl FnMut() -> Session<'a, f32, M>,
) {
    let (mut s, mut used) = (open(), 0);
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            if used == RESTART_EVERY {
                (s, used) = (open(), 0);
            }
            let t0 = Instant::now();
            black_box(s.run_epoch(&mut NoObserver).unwrap());
            total += t0.elapsed();
            used += 1;
        }
        total
    });
}

/// A plain sum in 16 independent lanes (the remainder past the last full block is left
/// out): the memory floor's loop.
fn sum16(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    for ch in x.chunks_exact(16) {
        for j in 0..16 {
            acc[j] += ch[j];
        }
    }
    acc.iter().sum()
}

/// Asks for every cache line of `row` (a hint; x86-64 only).
fn prefetch_row(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..row.len()).step_by(16) {
        // SAFETY: a prefetch never faults; the address lies inside `row`.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(off).cast::<i8>());
        }
    }
    // The last line, which a row not starting on a line boundary can reach (as the
    // library's gathers ask for it).
    #[cfg(target_arch = "x86_64")]
    if let Some(last) = row.last() {
        // SAFETY: as above.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(last).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

fn logreg(c: &mut Criterion) {
    let data = synthetic::dense::<f32>(200_000, 100, DenseTask::Binary, 1234).unwrap();
    let mut g = c.benchmark_group("logreg_epoch");
    g.sample_size(20);
    g.throughput(Throughput::Bytes((data.x_slice().len() * 4) as u64));
    g.bench_function("floor_sum_x", |b| {
        b.iter(|| black_box(sum16(data.x_slice())))
    });
    // The same sum over the rows in a shuffled order (an epoch reads them that way), on
    // one thread and split over two: the floor of any shuffled epoch.
    let d = data.n_features();
    let mut perm: Vec<usize> = (0..data.n_samples()).collect();
    {
        use rand::seq::SliceRandom;
        perm.shuffle(&mut rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9));
    }
    let sum_rows = |rows: &[usize]| {
        let x = data.x_slice();
        let mut acc = [0.0f32; 16];
        for (k, &i) in rows.iter().enumerate() {
            // The training pass prefetches rows ahead (16 rows of 400 bytes); so does its floor.
            if let Some(&j) = rows.get(k + 16) {
                prefetch_row(&x[j * d..(j + 1) * d]);
            }
            let mut it = x[i * d..(i + 1) * d].chunks_exact(16);
            for ch in &mut it {
                for j in 0..16 {
                    acc[j] += ch[j];
                }
            }
            for (a, v) in acc.iter_mut().zip(it.remainder()) {
                *a += v;
            }
        }
        acc.iter().sum::<f32>()
    };
    g.bench_function("floor_sum_x_shuffled_rows", |b| {
        b.iter(|| black_box(sum_rows(&perm)))
    });
    g.bench_function("floor_sum_x_2_threads", |b| {
        b.iter(|| {
            let x = data.x_slice();
            let (x0, x1) = x.split_at(x.len() / 2 / 16 * 16);
            black_box(std::thread::scope(|s| {
                let h = s.spawn(|| sum16(x1));
                sum16(x0) + h.join().unwrap_or(0.0)
            }))
        })
    });
    g.bench_function("floor_sum_x_shuffled_rows_2_threads", |b| {
        b.iter(|| {
            let (p0, p1) = perm.split_at(perm.len() / 2);
            black_box(std::thread::scope(|s| {
                let h = s.spawn(|| sum_rows(p1));
                sum_rows(p0) + h.join().unwrap_or(0.0)
            }))
        })
    });
    // A fresh permutation of the rows every epoch (as PyTorch's loader), and the
    // quasi-random block order (blocks of 128 rows, each chunk read in place).
    let blocks = Shuffle::Blocks { size: 128 };
    for (name, method, shuffle) in [
        ("erm", Method::Erm, Shuffle::Samples),
        ("fl", Method::Fl { epsilon: 0.3 }, Shuffle::Samples),
        ("erm_blocks", Method::Erm, blocks),
        ("fl_blocks", Method::Fl { epsilon: 0.3 }, blocks),
    ] {
        let t = quiet(TrainerParams::new(method))
            .optimizer(Optimizer::sgd(0.1))
            .dual_lr(1e-2)
            .batch_size(1024)
            .shuffle(shuffle)
            .epochs(ENDLESS)
            .check()
            .unwrap();
        let net = Network::<f32>::logistic_regression(100);
        g.bench_function(name, |b| {
            bench_epochs(b, || t.session(net.clone(), &data, None).unwrap())
        });
    }
    g.finish();
}

fn mlp(c: &mut Criterion) {
    let data = synthetic::dense::<f32>(100_000, 64, DenseTask::Multiclass(10), 1234).unwrap();
    let model = Mlp::new(64, Head::Multiclass(10))
        .hidden(&[256, 256])
        .activation(Activation::Relu)
        .init(Init::TorchDefault)
        .seed(0)
        .build::<f32>()
        .unwrap();
    // Multiply-adds per sample: forward (64·256 + 256·256 + 256·10) and backward twice that
    // minus the first layer's input gradient.
    let fwd: u64 = 64 * 256 + 256 * 256 + 256 * 10;
    let bwd = 2 * fwd - 64 * 256;
    let mut g = c.benchmark_group("mlp_epoch");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * (fwd + bwd) * 100_000)); // flops
    for (name, method, shuffle) in [
        ("erm", Method::Erm, Shuffle::Samples),
        ("fl", Method::Fl { epsilon: 0.5 }, Shuffle::Samples),
        (
            "fl_blocks",
            Method::Fl { epsilon: 0.5 },
            Shuffle::Blocks { size: 128 },
        ),
    ] {
        let t = quiet(TrainerParams::new(method))
            .optimizer(Optimizer::adamw(1e-3))
            .dual_lr(1e-2)
            .batch_size(256)
            .shuffle(shuffle)
            .epochs(ENDLESS)
            .check()
            .unwrap();
        g.bench_function(name, |b| {
            bench_epochs(b, || t.session(model.clone(), &data, None).unwrap())
        });
    }
    g.finish();
}

fn two_moons(c: &mut Criterion) {
    let all = synthetic::two_moons::<f32>(640, 0.1, 0).unwrap();
    let idx: Vec<usize> = (0..512).collect();
    let train = all.select(&idx).unwrap();
    let model = Mlp::new(2, Head::Multiclass(2))
        .hidden(&[70, 70])
        .init(Init::TorchDefault)
        .seed(0)
        .build::<f32>()
        .unwrap();
    let mut g = c.benchmark_group("two_moons_run");
    g.sample_size(20);
    for (name, method) in [
        ("erm", Method::Erm),
        (
            "fl",
            Method::Fl {
                epsilon: (1.0f64 / 0.6).ln(),
            },
        ),
    ] {
        let t = quiet(TrainerParams::new(method))
            .optimizer(Optimizer::adamw(5e-4))
            .dual_lr(1e-2)
            .full_batch()
            .epochs(250)
            .check()
            .unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(t.fit(model.clone(), &train, None).unwrap().epochs_run))
        });
    }
    g.finish();
}

fn dual_and_metrics(c: &mut Criterion) {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
    let n = 200_000;
    let idx: Vec<usize> = (0..1024).map(|_| rng.random_range(0..n)).collect();
    let losses: Vec<f32> = (0..1024).map(|_| rng.random::<f32>()).collect();
    let mut lambda = vec![0.1f32; n];
    let mut xi = Vec::new();
    c.bench_function("dual_step_1024", |b| {
        b.iter(|| {
            dual_step(
                &DualOptimizer::ascent(1e-2),
                &idx,
                &losses,
                0.3,
                None,
                &mut lambda,
                &mut xi,
            )
            .unwrap();
            black_box(lambda[idx[0]])
        })
    });
    let big: Vec<f64> = (0..1_000_000).map(|_| -rng.random::<f64>().ln()).collect();
    let mut g = c.benchmark_group("metrics");
    g.sample_size(20);
    g.bench_function("summary_1e6", |b| {
        b.iter(|| black_box(LossSummary::from_losses(&big, Some(1.0)).unwrap().cvar_99))
    });
    g.finish();
}

criterion_group!(benches, logreg, mlp, two_moons, dual_and_metrics);
criterion_main!(benches);
