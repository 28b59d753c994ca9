//! Regression tests for defects found in review: resume pairing, checkpoint validation,
//! RFL complementary slackness, oversized networks, and unchecked public helpers.

use feasible::Error;
use feasible::data::{Dataset, Targets};
use feasible::metrics::{FeasibilityReport, quantile_sorted};
use feasible::model::{Head, Mlp, Network};
use feasible::solver::{
    Checkpoint, DualOptimizer, Method, NoObserver, Optimizer, TrainError, TrainerParams, dual_step,
    eval,
};
use ndarray::Array2;

fn regression(n: usize) -> Dataset<f64> {
    let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f64 / n as f64);
    let y = (0..n)
        .map(|i| {
            if i == 1 {
                10.0
            } else {
                0.5 * i as f64 / n as f64
            }
        })
        .collect();
    Dataset::new(x, Targets::Real(y)).unwrap()
}

/// The checkpoint at the end of a linear regression trained with `t` on `data`.
fn checkpoint_after(t: &TrainerParams, data: &Dataset<f64>) -> Checkpoint<f64> {
    t.clone()
        .check()
        .unwrap()
        .fit(Network::linear_regression(1), data, None)
        .unwrap()
        .checkpoint
}

#[test]
fn full_batch_resume_from_shuffled_order_pairs_losses_with_their_samples() {
    let data = regression(4);
    let fl = Method::Fl { epsilon: 0.01 };
    let t = TrainerParams::new(fl)
        .optimizer(Optimizer::sgd(1e-3))
        .dual_lr(0.1)
        .epochs(5);
    let fit = t
        .clone()
        .check()
        .unwrap()
        .fit(Network::linear_regression(1), &data, None)
        .unwrap();
    // The same state with a non-identity (but 0-first, n−1-last) batch order.
    let mut ck = fit.checkpoint.clone();
    ck.order = vec![0, 2, 1, 3];
    let a = t.clone().epochs(10).check().unwrap();
    let shuffled = a
        .resume(
            Network::linear_regression(1),
            ck,
            &data,
            None,
            &mut NoObserver,
        )
        .unwrap();
    let plain = a
        .resume(
            Network::linear_regression(1),
            fit.checkpoint,
            &data,
            None,
            &mut NoObserver,
        )
        .unwrap();
    // Full-batch steps do not depend on the order of the rows within the batch (up to
    // rounding of the reduction): the outlier (sample 1) carries the largest multiplier.
    let (ls, lp) = (shuffled.multipliers.unwrap(), plain.multipliers.unwrap());
    for (s, p) in ls.iter().zip(&lp) {
        assert!((s - p).abs() <= 1e-9 * p.abs().max(1.0), "{ls:?} vs {lp:?}");
    }
    let argmax = ls
        .iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > ls[b] { i } else { b });
    assert_eq!(argmax, 1);
}

#[test]
fn checkpoint_with_foreign_optimiser_state_or_multipliers_is_rejected() {
    let data = regression(8);
    let sgd = TrainerParams::new(Method::Fl { epsilon: 0.1 })
        .optimizer(Optimizer::sgd(0.01))
        .epochs(1);
    let ck = checkpoint_after(&sgd, &data);
    let adam = sgd
        .clone()
        .optimizer(Optimizer::adam(0.01))
        .epochs(3)
        .check()
        .unwrap();
    let err = adam.resume(
        Network::linear_regression(1),
        ck.clone(),
        &data,
        None,
        &mut NoObserver,
    );
    assert!(matches!(err, Err(TrainError::Invalid(Error::Format(_)))));
    let erm = TrainerParams::new(Method::Erm)
        .optimizer(Optimizer::sgd(0.01))
        .epochs(3)
        .check()
        .unwrap();
    let err = erm.resume(
        Network::linear_regression(1),
        ck,
        &data,
        None,
        &mut NoObserver,
    );
    assert!(matches!(err, Err(TrainError::Invalid(Error::Format(_)))));
}

#[test]
fn rfl_complementary_slackness_is_zero_at_its_fixed_point() {
    let (alpha, eps) = (2.0, 0.5);
    let losses = [0.1, 0.7, 1.5];
    let lambda: Vec<f64> = losses
        .iter()
        .map(|l: &f64| alpha * (l - eps).max(0.0))
        .collect();
    let r = FeasibilityReport::new(&losses, Some(&lambda), eps, Some(alpha), None).unwrap();
    assert!(
        r.complementary_slackness < 1e-12,
        "{}",
        r.complementary_slackness
    );
    assert!(r.rfl_fixed_point_residual.unwrap() < 1e-12);
    let fl = FeasibilityReport::new(&losses, Some(&lambda), eps, None, None).unwrap();
    assert!(fl.complementary_slackness > 1.0);
}

#[test]
fn oversized_networks_are_errors() {
    let huge = Mlp::new(2, Head::Binary)
        .hidden(&[usize::MAX / 2])
        .build::<f32>();
    assert!(matches!(
        huge,
        Err(Error::InvalidParameter { name: "hidden", .. })
    ));
    let big = Mlp::new(2, Head::Binary)
        .hidden(&[100_000, 100_000])
        .build::<f32>();
    assert!(matches!(
        big,
        Err(Error::InvalidParameter { name: "hidden", .. })
    ));
    let parts = Network::<f32>::from_parts(
        usize::MAX,
        vec![3],
        feasible::model::Activation::Relu,
        Head::Binary,
        vec![],
    );
    assert!(parts.is_err());
}

#[test]
fn public_helpers_reject_bad_lengths() {
    assert!(quantile_sorted(&[], 0.5).is_nan());
    let mut lambda = vec![0.0f64; 3];
    let mut xi = Vec::new();
    let a = DualOptimizer::ascent(0.1);
    assert!(matches!(
        dual_step(&a, &[0, 5], &[1.0, 1.0], 0.0, None, &mut lambda, &mut xi),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        dual_step(&a, &[0, 1], &[1.0], 0.0, None, &mut lambda, &mut xi),
        Err(Error::Shape { .. })
    ));
    assert_eq!(lambda, vec![0.0; 3]);
    let data = regression(5);
    let net = Network::linear_regression(1);
    let mut ws = feasible::Model::workspace(&net);
    let g = eval::weighted_gradient(
        &net,
        &data,
        &[1.0; 3],
        &mut ws,
        feasible::parallel::Par::Seq,
    );
    assert!(matches!(g, Err(Error::Shape { .. })));
}

#[test]
fn early_stop_without_an_epsilon_is_rejected() {
    let r = TrainerParams::new(Method::Erm)
        .stop_when_feasible(true)
        .check();
    assert!(matches!(
        r,
        Err(Error::InvalidParameter {
            name: "stop_when_feasible",
            ..
        })
    ));
    assert!(
        TrainerParams::new(Method::Erm)
            .stop_when_feasible(true)
            .report_epsilon(0.1)
            .check()
            .is_ok()
    );
}

/// An unwrapped divergence prints a few lines: the checkpoint's vectors are abbreviated.
#[test]
fn checkpoint_debug_output_is_short() {
    use feasible::data::synthetic::{self, DenseTask};
    use feasible::model::Network;
    use feasible::solver::{Method, Optimizer, TrainerParams};
    let data = synthetic::dense::<f32>(5000, 20, DenseTask::Binary, 1).unwrap();
    let t = TrainerParams::new(Method::Fl { epsilon: 0.1 })
        .optimizer(Optimizer::sgd(0.1))
        .epochs(1)
        .check()
        .unwrap();
    let s = t
        .session(Network::<f32>::logistic_regression(20), &data, None)
        .unwrap();
    let text = format!("{:?}", s.checkpoint());
    assert!(text.len() < 1000, "{} characters", text.len());
    assert!(text.contains("(5000 values)"), "{text}");
}

/// A failed step of a method without multipliers (ERM, CSERM, CVaR) is a `Diverged`
/// error, not a panic (found by review: the undo indexed the empty multiplier vector).
#[test]
fn failed_steps_without_multipliers_return_diverged() {
    use feasible::data::synthetic::{self, DenseTask};
    use feasible::model::Network;
    use feasible::solver::{Method, Optimizer, TrainError, TrainerParams};
    let data = synthetic::dense::<f32>(64, 2, DenseTask::Regression, 0).unwrap();
    for method in [
        Method::Erm,
        Method::Cserm { epsilon: 0.1 },
        Method::Cvar { beta: 0.5 },
    ] {
        let t = TrainerParams::new(method)
            .optimizer(Optimizer::sgd(1e38))
            .batch_size(8)
            .epochs(50)
            .eval_every(0)
            .check()
            .unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            t.fit(Network::<f32>::linear_regression(2), &data, None)
        }));
        assert!(
            matches!(r, Ok(Err(TrainError::Diverged { .. }))),
            "{method:?}"
        );
    }
}

/// A user-defined model that breaks `train_chunk`'s contract (weighs only half its rows, or
/// hands back a short gradient) fails the step with a typed error, and the failed step
/// leaves the multipliers as they were.
#[test]
fn models_breaking_the_train_chunk_contract_are_errors() {
    use feasible::data::synthetic::{self, DenseTask};
    use feasible::data::{BatchView, TargetsRef};
    use feasible::model::{Head, Model, Network, NetworkChunk, Weigh};
    use feasible::parallel::Par;
    use feasible::solver::{Method, Optimizer, TrainError, TrainerParams};
    use feasible::{Error, Result};
    use ndarray::{Array2, ArrayView2};

    #[derive(Clone)]
    struct Broken {
        net: Network<f64>,
        half_weighed: bool,
        short_gradient: bool,
    }
    impl Model<f64> for Broken {
        type Workspace = <Network<f64> as Model<f64>>::Workspace;
        type Chunk = (NetworkChunk<f64>, Vec<f64>);
        fn n_inputs(&self) -> usize {
            self.net.n_inputs()
        }
        fn head(&self) -> Head {
            self.net.head()
        }
        fn params(&self) -> &[f64] {
            self.net.params()
        }
        fn params_mut(&mut self) -> &mut [f64] {
            self.net.params_mut()
        }
        fn workspace(&self) -> Self::Workspace {
            self.net.workspace()
        }
        fn forward(
            &self,
            x: &[f64],
            y: TargetsRef<'_, f64>,
            ws: &mut Self::Workspace,
            l: &mut [f64],
            p: Par,
        ) -> Result<()> {
            self.net.forward(x, y, ws, l, p)
        }
        fn backward(
            &self,
            x: &[f64],
            ws: &mut Self::Workspace,
            w: &[f64],
            g: &mut [f64],
            p: Par,
        ) -> Result<()> {
            self.net.backward(x, ws, w, g, p)
        }
        fn outputs(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
            self.net.outputs(x)
        }
        fn chunk_workspace(&self) -> Self::Chunk {
            let marker = if self.short_gradient { 0 } else { 1 };
            (self.net.chunk_workspace(), vec![0.0; marker])
        }
        fn train_chunk(
            &self,
            batch: BatchView<'_, f64>,
            cw: &mut Self::Chunk,
            losses: &mut [f64],
            weights: &mut [f64],
            weigh: &mut Weigh<'_, f64>,
        ) -> Result<()> {
            let half = self.half_weighed;
            self.net
                .train_chunk(batch, &mut cw.0, losses, weights, &mut |off, l, w| {
                    let n = if half { l.len() / 2 } else { l.len() };
                    weigh(off, &l[..n], &mut w[..n]);
                })
        }
        fn chunk_gradient(cw: &Self::Chunk) -> &[f64] {
            // The short-gradient variant is told apart by its chunk's marker length.
            if cw.1.is_empty() {
                &cw.1
            } else {
                Network::chunk_gradient(&cw.0)
            }
        }
    }

    let data = synthetic::dense::<f64>(300, 4, DenseTask::Binary, 2).unwrap();
    let t = TrainerParams::new(Method::Fl { epsilon: 0.1 })
        .optimizer(Optimizer::sgd(0.1))
        .batch_size(100)
        .epochs(2)
        .check()
        .unwrap();
    let broken = Broken {
        net: Network::logistic_regression(4),
        half_weighed: true,
        short_gradient: false,
    };
    let short = Broken {
        net: Network::logistic_regression(4),
        half_weighed: false,
        short_gradient: true,
    };
    for model in [broken.clone(), short] {
        match t.fit(model, &data, None) {
            Err(TrainError::Invalid(Error::Shape { .. })) => {}
            other => panic!("expected a shape error, got {:?}", other.err()),
        }
    }
    // A step that fails on the contract leaves every multiplier at its start value.
    let mut s = t.session(broken, &data, None).unwrap();
    assert!(s.run_epoch(&mut feasible::solver::NoObserver).is_err());
    assert!(s.multipliers().iter().all(|&l| l == 0.0));
}

// Fifth review (read-only audit of the public API against bad input).

/// Shapes whose element count overflows `usize` are caught by the checks, not wrapped
/// past them into an out-of-bounds GEMM.
#[test]
#[should_panic(expected = "MatRef")]
fn matrix_shapes_that_overflow_are_rejected() {
    use feasible::linalg::MatRef;
    let _ = MatRef::new(&[0.0f64][..], 2, 1 << (usize::BITS - 1));
}

#[test]
#[should_panic(expected = "gemm")]
fn gemm_outputs_that_overflow_are_rejected() {
    use feasible::linalg::{MatRef, gemm};
    let half = 1usize << (usize::BITS / 2);
    // A is `half × 0` (a view of nothing), B `0 × half`: C would need `half²` values.
    let a = MatRef::new(&[0.0f64; 0][..], 0, half).t();
    let b = MatRef::new(&[0.0f64; 0][..], 0, half);
    gemm(1.0, a, b, 0.0, &mut [0.0; 4]);
}

/// A data set read back with serde is validated like one built by `Dataset::new`.
#[test]
fn deserialized_datasets_are_validated() {
    let good = regression(3);
    let text = serde_json::to_string(&good).unwrap();
    let back: Dataset<f64> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, good);
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Two rows of features, three targets.
    v["x"]["dim"] = serde_json::json!([1, 3]);
    let short = serde_json::to_string(&v).unwrap();
    let err = serde_json::from_str::<Dataset<f64>>(&short).unwrap_err();
    assert!(err.to_string().contains("targets"), "{err}");
    let labels = r#"{"x":{"v":1,"dim":[2,1],"data":[0.0,1.0]},"targets":{"Classes":{"labels":[0,5],"n_classes":2}}}"#;
    let err = serde_json::from_str::<Dataset<f64>>(labels).unwrap_err();
    assert!(err.to_string().contains("label 5"), "{err}");
}

/// `dual_step` validates its settings and never indexes a νPI state plain ascent does
/// not use.
#[test]
fn dual_step_validates_settings_and_ignores_foreign_state() {
    let ascent = DualOptimizer::ascent(0.5);
    let mut lambda = vec![0.0f64; 3];
    // A leftover, shorter state vector: plain ascent leaves it alone.
    let mut xi = vec![7.0];
    dual_step(&ascent, &[2], &[1.0], 0.1, None, &mut lambda, &mut xi).unwrap();
    assert_eq!(lambda, [0.0, 0.0, 0.45]);
    assert_eq!(xi, [7.0]);
    let before = lambda.clone();
    let mut none = Vec::new();
    let cases: [(DualOptimizer, f64, Option<f64>, f64, &str); 6] = [
        (DualOptimizer::ascent(0.0), 0.1, None, 1.0, "dual_lr"),
        (
            DualOptimizer::nupi(0.1, -1.0, 0.0, 0.0),
            0.1,
            None,
            1.0,
            "kappa_p",
        ),
        (ascent, -0.1, None, 1.0, "epsilon"),
        (ascent, f64::NAN, None, 1.0, "epsilon"),
        (ascent, 0.1, Some(0.0), 1.0, "alpha"),
        (ascent, 0.1, None, f64::NAN, "losses"),
    ];
    for (dual, eps, alpha, loss, what) in cases {
        let r = dual_step(&dual, &[0], &[loss], eps, alpha, &mut lambda, &mut none);
        let e = r.expect_err(what);
        assert!(e.to_string().contains(what), "{what}: {e}");
        assert_eq!(lambda, before, "{what}: multipliers changed");
    }
}

/// A checkpoint with values no run can produce is a format error, not a divergence or
/// a panic later.
#[test]
fn checkpoints_with_impossible_values_are_rejected() {
    let data = regression(8);
    let t = TrainerParams::new(Method::Fl { epsilon: 0.1 })
        .optimizer(Optimizer::adam(0.01))
        .epochs(1);
    let ck = checkpoint_after(&t, &data);
    let more = t.epochs(2).check().unwrap();
    type Edit = fn(&mut Checkpoint<f64>);
    let edits: [(Edit, &str); 5] = [
        (|c| c.lambda[3] = -1.0, "multipliers"),
        (|c| c.lambda[0] = f64::INFINITY, "multipliers"),
        (|c| c.params[0] = f64::NAN, "parameters"),
        (|c| c.opt.v[0] = f64::NAN, "optimiser"),
        (|c| c.opt.t = u64::MAX, "step count"),
    ];
    for (edit, what) in edits {
        let mut c = ck.clone();
        edit(&mut c);
        match more.resume(
            Network::linear_regression(1),
            c,
            &data,
            None,
            &mut NoObserver,
        ) {
            Err(TrainError::Invalid(Error::Format(m))) => assert!(m.contains(what), "{m}"),
            other => panic!("{what}: expected a format error, got {:?}", other.err()),
        }
    }
    // The untouched checkpoint still resumes.
    more.resume(
        Network::linear_regression(1),
        ck,
        &data,
        None,
        &mut NoObserver,
    )
    .unwrap();
}

#[test]
fn feasibility_reports_reject_non_finite_losses_and_bad_settings() {
    let ok = FeasibilityReport::new(&[0.1, 0.3], Some(&[0.0, 0.2]), 0.2, Some(1.0), None);
    assert_eq!(ok.unwrap().n_violating, 1);
    let nan = FeasibilityReport::new(&[0.1, f64::NAN], None, 0.2, None, None);
    assert!(
        matches!(nan, Err(Error::NonFinite { row: 1, .. })),
        "{nan:?}"
    );
    let lam = FeasibilityReport::new(&[0.1, 0.3], Some(&[0.0, -0.2]), 0.2, None, None);
    assert!(
        matches!(lam, Err(Error::InvalidParameter { .. })),
        "{lam:?}"
    );
    for alpha in [0.0, -1.0, f64::NAN] {
        let r = FeasibilityReport::new(&[0.1], Some(&[0.0]), 0.2, Some(alpha), None);
        assert!(
            matches!(r, Err(Error::InvalidParameter { name: "alpha", .. })),
            "{r:?}"
        );
    }
    let eps = FeasibilityReport::new(&[0.1], None, f64::NAN, None, None);
    assert!(
        matches!(
            eps,
            Err(Error::InvalidParameter {
                name: "epsilon",
                ..
            })
        ),
        "{eps:?}"
    );
}

/// `OptimizerState::step` on a state or gradient of the wrong size is an error, not a
/// silent no-op or a panic.
#[test]
fn optimiser_steps_check_their_state() {
    use feasible::solver::OptimizerState;
    let adam = Optimizer::adam(0.1);
    let mut theta = vec![1.0f64, 2.0];
    // A plain-SGD state (no moments) cannot take an Adam step.
    let mut sgd_state = OptimizerState::<f64>::new(2, &Optimizer::sgd(0.1));
    let r = sgd_state.step(&adam, 0.1, &mut theta, &[1.0, 1.0]);
    assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
    assert_eq!(theta, [1.0, 2.0]);
    let mut short = OptimizerState::<f64>::new(1, &adam);
    assert!(short.step(&adam, 0.1, &mut theta, &[1.0, 1.0]).is_err());
    let mut st = OptimizerState::<f64>::new(2, &adam);
    assert!(st.step(&adam, 0.1, &mut theta, &[1.0]).is_err());
    assert_eq!(theta, [1.0, 2.0]);
    st.step(&adam, 0.1, &mut theta, &[1.0, -1.0]).unwrap();
    assert_eq!(st.t, 1);
    assert!(theta[0] < 1.0 && theta[1] > 2.0);
}
