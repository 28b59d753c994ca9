//! Forward losses and weighted gradients are bit-identical for `Par::Seq` and `Par::Rayon`
//! on pools of 1, 2 and 3 threads, for every model family (fixed chunk boundaries,
//! fixed-order reduction).

use feasible::data::TargetsRef;
use feasible::data::synthetic::{DenseTask, dense};
use feasible::model::{Activation, Head, Init, Mlp, Model, Network};
use feasible::parallel::Par;

fn run<M: Model<f32>>(m: &M, x: &[f32], y: TargetsRef<'_, f32>, par: Par) -> (Vec<f32>, Vec<f32>) {
    let mut ws = m.workspace();
    let mut losses = vec![0.0; y.len()];
    let mut grad = vec![0.0; m.n_params()];
    m.forward(x, y, &mut ws, &mut losses, par).unwrap();
    let w: Vec<f32> = losses.iter().map(|l| l * 0.5 + 0.1).collect();
    m.backward(x, &mut ws, &w, &mut grad, par).unwrap();
    (losses, grad)
}

fn check<M: Model<f32>>(m: &M, x: &[f32], y: TargetsRef<'_, f32>) {
    let want = run(m, x, y, Par::Seq);
    assert!(want.1.iter().all(|g| g.is_finite()));
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| run(m, x, y, Par::Rayon));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.0), bits(&want.0), "losses, {threads} threads");
        assert_eq!(bits(&got.1), bits(&want.1), "gradient, {threads} threads");
    }
}

fn perturbed<M: Model<f32>>(mut m: M) -> M {
    for (i, p) in m.params_mut().iter_mut().enumerate() {
        *p += 0.05 * ((i as f32) * 0.618).sin();
    }
    m
}

#[test]
fn bit_identical_across_thread_counts() {
    // 1500 rows: several chunks and a partial last one; enough work to fan out.
    let n = 1500;
    let bin = dense::<f32>(n, 100, DenseTask::Binary, 7).unwrap();
    let feasible::data::Targets::Classes { labels, .. } = bin.targets() else {
        unreachable!()
    };
    let yr: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    check(
        &perturbed(Network::<f32>::logistic_regression(100)),
        bin.x_slice(),
        TargetsRef::Classes(labels),
    );
    check(
        &perturbed(Network::<f32>::linear_regression(100)),
        bin.x_slice(),
        TargetsRef::Real(&yr),
    );
    let mc = dense::<f32>(n, 64, DenseTask::Multiclass(10), 8).unwrap();
    let feasible::data::Targets::Classes { labels, .. } = mc.targets() else {
        unreachable!()
    };
    check(
        &perturbed(Network::<f32>::softmax_regression(64, 10)),
        mc.x_slice(),
        TargetsRef::Classes(labels),
    );
    for act in [Activation::Relu, Activation::Tanh] {
        let mlp = Mlp::new(64, Head::Multiclass(10))
            .hidden(&[32, 16])
            .activation(act)
            .init(Init::TorchDefault)
            .build::<f32>()
            .unwrap();
        check(&mlp, mc.x_slice(), TargetsRef::Classes(labels));
    }
    let bin_mlp = Mlp::new(100, Head::Binary)
        .hidden(&[24])
        .init(Init::TorchDefault)
        .build::<f32>()
        .unwrap();
    check(
        &bin_mlp,
        bin.x_slice(),
        TargetsRef::Classes(labels_bin(&bin)),
    );
}

fn labels_bin(d: &feasible::Dataset<f32>) -> &[usize] {
    let feasible::data::Targets::Classes { labels, .. } = d.targets() else {
        unreachable!()
    };
    labels
}
