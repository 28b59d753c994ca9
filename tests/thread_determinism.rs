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

/// A whole training run (chunk pass, dual step, the primal step shared by parameter
/// range) gives the same bits on one thread, on teams of 2 and 3, and on the rayon
/// pool's team.
#[test]
fn training_is_bit_identical_across_team_sizes() {
    use feasible::solver::{DualOptimizer, Method, Optimizer, TrainerParams};
    fn fit_bits<M: Model<f32>>(
        model: &M,
        data: &feasible::Dataset<f32>,
        params: TrainerParams,
        par: Par,
    ) -> (Vec<u32>, Vec<u32>) {
        let t = params.par(par).check().unwrap();
        let fit = t.fit(model.clone(), data, None).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        (bits(fit.model.params()), bits(&fit.multipliers.unwrap()))
    }
    let bin = dense::<f32>(2100, 100, DenseTask::Binary, 11).unwrap();
    let mc = dense::<f32>(700, 64, DenseTask::Multiclass(10), 12).unwrap();
    // 26k parameters: the team shares the AdamW update.
    let mlp = Mlp::new(64, Head::Multiclass(10))
        .hidden(&[128, 128])
        .init(Init::TorchDefault)
        .build::<f32>()
        .unwrap();
    type Run<'a> = Box<dyn Fn(Par) -> (Vec<u32>, Vec<u32>) + 'a>;
    let runs: Vec<(&str, Run<'_>)> = vec![
        (
            "logistic FL, νPI, batches of 1000 and a partial one",
            Box::new(|par| {
                fit_bits(
                    &Network::<f32>::logistic_regression(100),
                    &bin,
                    TrainerParams::new(Method::Fl { epsilon: 0.3 })
                        .optimizer(Optimizer::sgd(0.1))
                        .dual(DualOptimizer::nupi(1e-2, 0.5, 1.0, 0.1))
                        .batch_size(1000)
                        .epochs(3),
                    par,
                )
            }),
        ),
        (
            "MLP RFL, AdamW, batches of 300",
            Box::new(|par| {
                fit_bits(
                    &mlp,
                    &mc,
                    TrainerParams::new(Method::Rfl {
                        epsilon: 0.5,
                        alpha: 2.0,
                    })
                    .optimizer(Optimizer::adamw(1e-3))
                    .batch_size(300)
                    .epochs(2),
                    par,
                )
            }),
        ),
    ];
    for (name, run) in &runs {
        let want = run(Par::Seq);
        for par in [Par::Threads(2), Par::Threads(3), Par::Rayon] {
            assert!(run(par) == want, "{name}: {par:?} differs from Par::Seq");
        }
    }
}
