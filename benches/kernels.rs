//! Kernel-level benchmarks of the model forward / weighted backward passes (f32).
//!
//! These are *kernel* figures: no optimiser and no dual step. The full FL / ERM epoch
//! benches come with the solver. See `docs/benchmarks.md` for commands and results.
//!
//! Groups:
//! - `floor`: a plain sum over the logreg X matrix (the memory floor of one epoch);
//! - `logreg_epoch`: one pass over all batches of 1024 (gather → forward → backward);
//! - `mlp_epoch`: MLP 64→256→256→10 on batches of 256 over 100,000 rows, and the raw
//!   matrixmultiply GEMMs of exactly the same shapes (throughput in FLOP/s, shown by
//!   criterion as "elem/s");
//! - `one_batch`: forward + backward of one batch per model family;
//! - `two_moons`: MLP 2→70→70→2, full batch of 512.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use feasible::data::synthetic::{DenseTask, dense, two_moons};
use feasible::data::{Dataset, MiniBatches, TargetsRef};
use feasible::linalg::{MatRef, gemm};
use feasible::model::{Activation, Head, Init, Mlp, Model, Network};
use feasible::parallel::{CHUNK_ROWS, Par, chunk_ranges};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

const LOGREG_N: usize = 200_000;
const LOGREG_D: usize = 100;
const LOGREG_B: usize = 1024;
const MLP_N: usize = 100_000;
const MLP_D: usize = 64;
const MLP_H: usize = 256;
const MLP_K: usize = 10;
const MLP_B: usize = 256;

const PARS: [(&str, Par); 2] = [("seq", Par::Seq), ("rayon", Par::Rayon)];

/// Small non-zero parameters, so the losses are not all equal.
fn perturb<M: Model<f32>>(m: &mut M) {
    for (i, p) in m.params_mut().iter_mut().enumerate() {
        *p += 0.05 * ((i as f32) * 0.618).sin();
    }
}

/// Reused buffers of a training loop: the gathered batch, losses, gradient.
struct Loop<M: Model<f32>> {
    model: M,
    ws: M::Workspace,
    xb: Vec<f32>,
    yr: Vec<f32>,
    yc: Vec<usize>,
    losses: Vec<f32>,
    grad: Vec<f32>,
    idx: Vec<usize>,
    batches: MiniBatches,
}

impl<M: Model<f32>> Loop<M> {
    fn new(model: M, n: usize, batch: usize) -> Self {
        let ws = model.workspace();
        let grad = vec![0.0; model.n_params()];
        let mut batches = MiniBatches::new(n, batch).unwrap();
        batches.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(0));
        Self {
            model,
            ws,
            xb: Vec::new(),
            yr: Vec::new(),
            yc: Vec::new(),
            losses: Vec::new(),
            grad,
            idx: Vec::new(),
            batches,
        }
    }

    /// Gather, forward, weighted backward (weights = losses) of one batch.
    fn step(&mut self, data: &Dataset<f32>, idx: &[usize], par: Par) {
        data.gather_into(idx, &mut self.xb, &mut self.yr, &mut self.yc);
        self.losses.resize(idx.len(), 0.0);
        let y = if self.yc.len() == idx.len() {
            TargetsRef::Classes(&self.yc)
        } else {
            TargetsRef::Real(&self.yr)
        };
        self.model
            .forward(&self.xb, y, &mut self.ws, &mut self.losses, par)
            .unwrap();
        self.model
            .backward(&self.xb, &mut self.ws, &self.losses, &mut self.grad, par)
            .unwrap();
    }

    fn epoch(&mut self, data: &Dataset<f32>, par: Par) -> f32 {
        for k in 0..self.batches.num_batches() {
            let mut idx = std::mem::take(&mut self.idx);
            idx.clear();
            idx.extend_from_slice(self.batches.batch(k));
            self.step(data, &idx, par);
            self.idx = idx;
        }
        self.grad[0]
    }

    /// Forward + backward on an already gathered batch.
    fn fwd_bwd(&mut self, x: &[f32], y: TargetsRef<'_, f32>, par: Par) -> f32 {
        self.losses.resize(y.len(), 0.0);
        self.model
            .forward(x, y, &mut self.ws, &mut self.losses, par)
            .unwrap();
        self.model
            .backward(x, &mut self.ws, &self.losses, &mut self.grad, par)
            .unwrap();
        self.grad[0]
    }
}

fn logreg_data() -> Dataset<f32> {
    dense::<f32>(LOGREG_N, LOGREG_D, DenseTask::Binary, 1234).unwrap()
}

fn mlp_data(n: usize) -> Dataset<f32> {
    dense::<f32>(n, MLP_D, DenseTask::Multiclass(MLP_K), 1234).unwrap()
}

fn mlp_model() -> Network<f32> {
    Mlp::new(MLP_D, Head::Multiclass(MLP_K))
        .hidden(&[MLP_H, MLP_H])
        .activation(Activation::Relu)
        .init(Init::TorchDefault)
        .seed(0)
        .build::<f32>()
        .unwrap()
}

/// (a) The memory floor: one plain pass over the logreg X matrix.
fn floor(c: &mut Criterion, data: &Dataset<f32>) {
    let x = data.x_slice();
    let mut g = c.benchmark_group("floor");
    g.throughput(Throughput::Bytes(std::mem::size_of_val(x) as u64));
    g.bench_function("sum_logreg_x", |b| {
        b.iter(|| {
            // Sixteen independent lanes: vectorises without reassociation.
            let mut acc = [0.0f32; 16];
            let mut it = black_box(x).chunks_exact(16);
            for ch in &mut it {
                for j in 0..16 {
                    acc[j] += ch[j];
                }
            }
            acc.iter().sum::<f32>() + it.remainder().iter().sum::<f32>()
        })
    });
    g.finish();
}

/// (b) One epoch of logistic regression batches: gather + forward + weighted backward.
fn logreg_epoch(c: &mut Criterion, data: &Dataset<f32>) {
    let mut g = c.benchmark_group("logreg_epoch");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(
        std::mem::size_of_val(data.x_slice()) as u64
    ));
    for (name, par) in PARS {
        let mut m = Network::<f32>::logistic_regression(LOGREG_D);
        perturb(&mut m);
        let mut lp = Loop::new(m, LOGREG_N, LOGREG_B);
        g.bench_function(BenchmarkId::new("gather_fwd_bwd", name), |b| {
            b.iter(|| lp.epoch(data, par))
        });
    }
    g.finish();
}

/// A GEMM shape: `(m, k, n, transpose-A, transpose-B)`.
type Shape = (usize, usize, usize, bool, bool);

/// The GEMM shapes the MLP runs per chunk of `rows` rows: forward `a W`, backward `aᵀ δ`
/// and (above the first layer) `δ Wᵀ`.
fn mlp_gemm_shapes(rows: usize) -> Vec<Shape> {
    let dims = [MLP_D, MLP_H, MLP_H, MLP_K];
    let mut s = Vec::new();
    for w in dims.windows(2) {
        s.push((rows, w[0], w[1], false, false));
    }
    for (l, w) in dims.windows(2).enumerate().rev() {
        s.push((w[0], rows, w[1], true, false));
        if l > 0 {
            s.push((rows, w[1], w[0], false, true));
        }
    }
    s
}

/// Multiply-adds ×2 of one forward + backward over `rows` rows.
fn mlp_flops(rows: usize) -> u64 {
    mlp_gemm_shapes(rows)
        .iter()
        .map(|&(m, k, n, _, _)| 2 * (m * k * n) as u64)
        .sum()
}

/// The GEMMs of two moons' MLP 2→70→70→2 per chunk of `rows` rows: only the 70 × 70
/// layer's (forward, `aᵀ δ`, `δ Wᵀ`); the thin first and last layers run as row kernels,
/// not GEMMs.
fn moons_gemm_shapes(rows: usize) -> Vec<Shape> {
    vec![
        (rows, 70, 70, false, false),
        (70, rows, 70, true, false),
        (rows, 70, 70, false, true),
    ]
}

/// Runs a raw GEMM sequence (one network's forward + backward over `rows` rows, in chunks
/// of [`CHUNK_ROWS`] rows as the network does) with matrixmultiply alone.
struct RawGemm {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    shapes: fn(usize) -> Vec<Shape>,
}

impl RawGemm {
    fn new(shapes: fn(usize) -> Vec<Shape>) -> Self {
        let big = CHUNK_ROWS.max(MLP_H) * MLP_H;
        Self {
            a: (0..big).map(|i| (i as f32 * 0.1).sin()).collect(),
            b: (0..big).map(|i| (i as f32 * 0.3).cos()).collect(),
            c: vec![0.0; big],
            shapes,
        }
    }

    fn run(&mut self, rows: usize) -> f32 {
        for r in chunk_ranges(rows) {
            for (m, k, n, ta, tb) in (self.shapes)(r.len()) {
                let a = if ta {
                    MatRef::new(&self.a, k, m).t()
                } else {
                    MatRef::new(&self.a, m, k)
                };
                let b = if tb {
                    MatRef::new(&self.b, n, k).t()
                } else {
                    MatRef::new(&self.b, k, n)
                };
                gemm(1.0, a, b, 0.0, &mut self.c);
            }
        }
        self.c[0]
    }
}

/// (c) MLP epoch (gather + forward + weighted backward) and raw GEMM on the same shapes.
fn mlp_epoch(c: &mut Criterion) {
    let data = mlp_data(MLP_N);
    let mut g = c.benchmark_group("mlp_epoch");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(
        mlp_flops(MLP_B) * (MLP_N / MLP_B) as u64 + mlp_flops(MLP_N % MLP_B),
    ));
    for (name, par) in PARS {
        let mut m = mlp_model();
        perturb(&mut m);
        let mut lp = Loop::new(m, MLP_N, MLP_B);
        g.bench_function(BenchmarkId::new("gather_fwd_bwd", name), |b| {
            b.iter(|| lp.epoch(&data, par))
        });
    }
    let mut raw = RawGemm::new(mlp_gemm_shapes);
    g.bench_function("raw_gemm_seq", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for _ in 0..MLP_N / MLP_B {
                s += raw.run(MLP_B);
            }
            s + raw.run(MLP_N % MLP_B)
        })
    });
    g.finish();

    // The same per batch, for a quick look without the epoch's cost.
    let mut g = c.benchmark_group("mlp_batch256");
    g.throughput(Throughput::Elements(mlp_flops(MLP_B)));
    let mut lp = Loop::new(mlp_model(), MLP_N, MLP_B);
    let idx: Vec<usize> = lp.batches.batch(0).to_vec();
    let (mut xb, mut yr, mut yc) = (Vec::new(), Vec::new(), Vec::new());
    data.gather_into(&idx, &mut xb, &mut yr, &mut yc);
    for (name, par) in PARS {
        g.bench_function(BenchmarkId::new("fwd_bwd", name), |b| {
            b.iter(|| lp.fwd_bwd(&xb, TargetsRef::Classes(&yc), par))
        });
    }
    g.bench_function("raw_gemm_seq", |b| b.iter(|| raw.run(MLP_B)));
    g.finish();
}

/// (d) Forward + backward of one batch per model family.
fn one_batch(c: &mut Criterion, logreg: &Dataset<f32>) {
    let mut g = c.benchmark_group("one_batch");
    let idx: Vec<usize> = (0..LOGREG_B).map(|i| (i * 7919) % LOGREG_N).collect();
    let (mut xb, mut yr, mut yc) = (Vec::new(), Vec::new(), Vec::new());
    logreg.gather_into(&idx, &mut xb, &mut yr, &mut yc);
    let yreal: Vec<f32> = yc.iter().map(|&l| l as f32).collect();

    let mut lin = Network::<f32>::linear_regression(LOGREG_D);
    perturb(&mut lin);
    let mut lin = Loop::new(lin, LOGREG_N, LOGREG_B);
    let mut log = Network::<f32>::logistic_regression(LOGREG_D);
    perturb(&mut log);
    let mut log = Loop::new(log, LOGREG_N, LOGREG_B);
    for (name, par) in PARS {
        g.bench_function(BenchmarkId::new("linear_d100_b1024", name), |b| {
            b.iter(|| lin.fwd_bwd(&xb, TargetsRef::Real(&yreal), par))
        });
        g.bench_function(BenchmarkId::new("logistic_d100_b1024", name), |b| {
            b.iter(|| log.fwd_bwd(&xb, TargetsRef::Classes(&yc), par))
        });
    }

    let mdata = mlp_data(4 * MLP_B);
    let idx: Vec<usize> = (0..MLP_B).collect();
    let (mut xm, mut ymr, mut ym) = (Vec::new(), Vec::new(), Vec::new());
    mdata.gather_into(&idx, &mut xm, &mut ymr, &mut ym);
    let mut soft = Network::<f32>::softmax_regression(MLP_D, MLP_K);
    perturb(&mut soft);
    let mut soft = Loop::new(soft, MLP_N, MLP_B);
    let mut mlp = Loop::new(mlp_model(), MLP_N, MLP_B);
    for (name, par) in PARS {
        g.bench_function(BenchmarkId::new("softmax_d64_k10_b256", name), |b| {
            b.iter(|| soft.fwd_bwd(&xm, TargetsRef::Classes(&ym), par))
        });
        g.bench_function(BenchmarkId::new("mlp_64_256_256_10_b256", name), |b| {
            b.iter(|| mlp.fwd_bwd(&xm, TargetsRef::Classes(&ym), par))
        });
    }
    g.finish();
}

/// (e) The paper's two-moons MLP 2→70→70→2, forward + backward on the full batch of 512.
fn moons(c: &mut Criterion) {
    let data = two_moons::<f32>(512, 0.1, 0).unwrap();
    let net = Mlp::new(2, Head::Multiclass(2))
        .hidden(&[70, 70])
        .activation(Activation::Relu)
        .init(Init::TorchDefault)
        .seed(0)
        .build::<f32>()
        .unwrap();
    let mut lp = Loop::new(net, 512, 512);
    let feasible::data::Targets::Classes { labels, .. } = data.targets() else {
        unreachable!()
    };
    let x = data.x_slice().to_vec();
    let flops = 2 * 512 * (2 * 70 + 70 * 70 + 70 * 2) as u64 * 2 + 2 * 512 * (70 * 70 + 70 * 2);
    let mut g = c.benchmark_group("two_moons");
    g.throughput(Throughput::Elements(flops));
    for (name, par) in PARS {
        g.bench_function(BenchmarkId::new("mlp_2_70_70_2_b512", name), |b| {
            b.iter(|| lp.fwd_bwd(&x, TargetsRef::Classes(labels), par))
        });
    }
    // The floor of a step: matrixmultiply alone on the 70 × 70 layer's GEMMs (most of
    // the step's multiply-adds), one thread.
    let mut raw = RawGemm::new(moons_gemm_shapes);
    let gemm_flops: usize = chunk_ranges(512)
        .flat_map(|r| moons_gemm_shapes(r.len()))
        .map(|(m, k, n, _, _)| 2 * m * k * n)
        .sum();
    g.throughput(Throughput::Elements(gemm_flops as u64));
    g.bench_function("raw_gemm_seq", |b| b.iter(|| raw.run(512)));
    g.finish();
}

fn all(c: &mut Criterion) {
    let logreg = logreg_data();
    floor(c, &logreg);
    logreg_epoch(c, &logreg);
    one_batch(c, &logreg);
    drop(logreg);
    moons(c);
    mlp_epoch(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
