//! Forward losses and the weighted gradient are bit-identical whatever the thread count
//! and whatever the [`Par`] mode: batches are cut into chunks of `CHUNK_ROWS` rows that
//! depend only on the batch size, and per-chunk gradients are summed in chunk order.
//!
//! Every batch here is large enough for [`Par::Rayon`] to actually fan out (asserted), and
//! its size is not a multiple of `CHUNK_ROWS`, so the last chunk is a partial one.

use feasible::data::Dataset;
use feasible::data::synthetic::{DenseTask, dense};
use feasible::model::{Activation, Head, Init, Mlp, Model};
use feasible::parallel::{CHUNK_ROWS, Par, num_chunks};
use feasible::{Float, Network};

const ROWS: usize = 1000;

/// Everything one forward + backward produces, as raw bits.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    losses: Vec<u64>,
    grad: Vec<u64>,
}

fn bits<F: Float>(v: &[F]) -> Vec<u64> {
    // f32 → f64 is exact, so equal bits here means equal bits in F.
    v.iter().map(|x| x.to_f64_lossless().to_bits()).collect()
}

/// Per-sample weights that differ from row to row (and include zeros).
fn weights<F: Float>(n: usize) -> Vec<F> {
    (0..n)
        .map(|i| {
            if i % 7 == 3 {
                F::zero()
            } else {
                F::lit(0.1 + ((i as f64) * 0.618).fract())
            }
        })
        .collect()
}

fn run<F: Float>(
    net: &Network<F>,
    data: &Dataset<F>,
    ws: &mut <Network<F> as Model<F>>::Workspace,
    par: Par,
) -> Run {
    let n = data.n_samples();
    let mut losses = vec![F::nan(); n];
    net.forward(
        data.x_slice(),
        data.targets().as_ref(),
        ws,
        &mut losses,
        par,
    )
    .unwrap();
    let mut grad = vec![F::nan(); net.n_params()];
    net.backward(data.x_slice(), ws, &weights::<F>(n), &mut grad, par)
        .unwrap();
    assert!(losses.iter().chain(&grad).all(|v| v.is_finite()));
    Run {
        losses: bits(&losses),
        grad: bits(&grad),
    }
}

/// Runs `net` on `data` with `Par::Seq` and `Par::Rayon` inside 1- and 4-thread pools,
/// each with a fresh and with a reused workspace, and requires identical bits throughout.
fn assert_deterministic<F: Float>(net: &Network<F>, data: &Dataset<F>) {
    let n = data.n_samples();
    assert!(num_chunks(n) > 1 && !n.is_multiple_of(CHUNK_ROWS));
    assert!(
        Par::Threads(4).fan_out(n, net.n_params()),
        "the batch must be large enough to be split across threads"
    );
    let reference = run(net, data, &mut net.workspace(), Par::Seq);
    // The gradient must not be trivially zero for the comparison to mean anything.
    assert!(reference.grad.iter().any(|&b| f64::from_bits(b) != 0.0));
    for threads in [1, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut reused = net.workspace();
            for par in [Par::Seq, Par::Rayon, Par::Rayon, Par::Seq] {
                let fresh = run(net, data, &mut net.workspace(), par);
                assert_eq!(
                    fresh, reference,
                    "{threads} threads, {par:?}, fresh workspace"
                );
                let again = run(net, data, &mut reused, par);
                assert_eq!(
                    again, reference,
                    "{threads} threads, {par:?}, reused workspace"
                );
            }
        });
    }
}

fn logistic<F: Float>() {
    let d = 200;
    let data = dense::<F>(ROWS, d, DenseTask::Binary, 11).unwrap();
    let mut net = Network::<F>::logistic_regression(d);
    for (i, p) in net.params_mut().iter_mut().enumerate() {
        *p = F::lit(0.05 * ((i as f64) * 1.3).sin());
    }
    assert_deterministic(&net, &data);
}

fn mlp<F: Float>(activation: Activation, head: Head, task: DenseTask) {
    let data = dense::<F>(ROWS, 12, task, 5).unwrap();
    let net = Mlp::new(12, head)
        .hidden(&[32, 16])
        .activation(activation)
        .init(Init::TorchDefault)
        .seed(9)
        .build::<F>()
        .unwrap();
    assert_deterministic(&net, &data);
}

#[test]
fn logistic_regression_f32() {
    logistic::<f32>();
}

#[test]
fn logistic_regression_f64() {
    logistic::<f64>();
}

#[test]
fn mlp_multiclass_relu_f32() {
    mlp::<f32>(
        Activation::Relu,
        Head::Multiclass(4),
        DenseTask::Multiclass(4),
    );
}

#[test]
fn mlp_multiclass_gelu_f64() {
    mlp::<f64>(
        Activation::Gelu,
        Head::Multiclass(4),
        DenseTask::Multiclass(4),
    );
}

#[test]
fn mlp_regression_tanh_f32() {
    mlp::<f32>(Activation::Tanh, Head::Regression, DenseTask::Regression);
}

#[test]
fn mlp_binary_sigmoid_f64() {
    mlp::<f64>(Activation::Sigmoid, Head::Binary, DenseTask::Binary);
}

/// A large batch after a small one (and back) in the same workspace gives the same bits
/// as fresh workspaces: no stale chunk state leaks into the reduction.
#[test]
fn workspace_reuse_across_batch_sizes() {
    let data = dense::<f64>(ROWS, 12, DenseTask::Multiclass(3), 2).unwrap();
    let small = data.select(&(0..37).collect::<Vec<_>>()).unwrap();
    let net = Mlp::new(12, Head::Multiclass(3))
        .hidden(&[24])
        .activation(Activation::Gelu)
        .seed(4)
        .build::<f64>()
        .unwrap();
    let big_ref = run(&net, &data, &mut net.workspace(), Par::Seq);
    let small_ref = run(&net, &small, &mut net.workspace(), Par::Seq);
    let mut ws = net.workspace();
    for _ in 0..2 {
        assert_eq!(run(&net, &data, &mut ws, Par::Rayon), big_ref);
        assert_eq!(run(&net, &small, &mut ws, Par::Rayon), small_ref);
    }
    // A workspace sized for another network is re-planned, not misused.
    let other = Network::<f64>::softmax_regression(12, 3);
    let mut losses = vec![0.0; ROWS];
    other
        .forward(
            data.x_slice(),
            data.targets().as_ref(),
            &mut ws,
            &mut losses,
            Par::Seq,
        )
        .unwrap();
    assert_eq!(run(&net, &data, &mut ws, Par::Seq), big_ref);
}
