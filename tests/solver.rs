//! Acceptance tests of the primal-dual solver (`feasible::solver`) and the tail metrics
//! (`feasible::metrics`). Property tests use few cases and small inputs; convergence tests
//! are plain `#[test]`s with fixed seeds and hand-made, well-conditioned data.

use feasible::data::synthetic::{self, DenseTask};
use feasible::metrics::{cvar, cvar_objective};
use feasible::model::{Head, Mlp, Model, Network};
use feasible::solver::{
    Checkpoint, Control, DualOptimizer, DualOrder, Fit, Method, NoObserver, Observer, Optimizer,
    StepInfo, TrainError, TrainerParams, dual_step,
};
use feasible::{Dataset, Error};
use ndarray::Array2;
use proptest::prelude::*;

/// The divergence a run must end in: what became non-finite, the failing step and the
/// last finite state (a panic naming `ctx` if the run ended otherwise).
fn divergence<F: feasible::Float, M>(
    res: Result<Fit<F, M>, TrainError<F>>,
    ctx: &str,
) -> (String, u64, Checkpoint<F>) {
    match res {
        Err(TrainError::Diverged {
            what,
            step,
            last_finite,
            ..
        }) => (what, step, *last_finite),
        Err(e) => panic!("{ctx}: expected divergence, got {e}"),
        Ok(_) => panic!("{ctx}: the run did not diverge"),
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// SplitMix64: a tiny deterministic generator for hand-made data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform on `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// `y = x·w* + b* + u`, `x ~ U(−√3, √3)^d` (unit variance), `u ~ U(−noise, noise)`.
fn linear_data(n: usize, d: usize, noise: f64, seed: u64) -> Dataset<f64> {
    let mut r = Rng(seed);
    let w: Vec<f64> = (0..d).map(|j| 0.5 + 0.25 * j as f64).collect();
    let s3 = 3f64.sqrt();
    let x: Vec<f64> = (0..n * d).map(|_| r.uniform(-s3, s3)).collect();
    let y = x
        .chunks_exact(d)
        .map(|row| row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + 0.3)
        .map(|z| z + r.uniform(-noise, noise))
        .collect();
    Dataset::regression(Array2::from_shape_vec((n, d), x).unwrap(), y).unwrap()
}

/// Linearly separable binary data with margin: label `1{x·w* > 0}`, `|x·w*| ≥ 0.3`.
fn separable_data(n: usize, seed: u64) -> Dataset<f64> {
    let mut r = Rng(seed);
    let w = [1.0, -0.7];
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    while labels.len() < n {
        let p = [r.uniform(-1.5, 1.5), r.uniform(-1.5, 1.5)];
        let z = p[0] * w[0] + p[1] * w[1];
        if z.abs() >= 0.3 {
            x.extend_from_slice(&p);
            labels.push(usize::from(z > 0.0));
        }
    }
    Dataset::classification(Array2::from_shape_vec((n, 2), x).unwrap(), labels, 2).unwrap()
}

/// The least-squares (minimal) mean squared error of a linear model with bias, from the
/// normal equations.
#[allow(clippy::needless_range_loop)] // small dense Gauss–Jordan elimination
fn ols_mse(data: &Dataset<f64>) -> f64 {
    let (n, d) = (data.n_samples(), data.n_features());
    let feasible::data::Targets::Real(y) = data.targets() else {
        panic!("regression data expected")
    };
    let x = data.x();
    let row = |i: usize| (0..=d).map(move |j| if j < d { x[[i, j]] } else { 1.0 });
    let k = d + 1;
    let mut a = vec![vec![0.0; k + 1]; k];
    for i in 0..n {
        let r: Vec<f64> = row(i).collect();
        for p in 0..k {
            for q in 0..k {
                a[p][q] += r[p] * r[q];
            }
            a[p][k] += r[p] * y[i];
        }
    }
    for c in 0..k {
        let piv = (c..k)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, piv);
        for r2 in 0..k {
            if r2 != c {
                let f = a[r2][c] / a[c][c];
                for q in c..=k {
                    a[r2][q] -= f * a[c][q];
                }
            }
        }
    }
    let w: Vec<f64> = (0..k).map(|c| a[c][k] / a[c][c]).collect();
    (0..n)
        .map(|i| {
            let f: f64 = row(i).zip(&w).map(|(a, b)| a * b).sum();
            (f - y[i]).powi(2)
        })
        .sum::<f64>()
        / n as f64
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn json<T: serde::Serialize>(t: &T) -> String {
    serde_json::to_string(t).unwrap()
}

fn invalid_name(e: &Error) -> &'static str {
    match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

// ---------------------------------------------------------------------------------------
// 1. The dual step: projection, locality, the exact unprojected step
// ---------------------------------------------------------------------------------------

fn dual_strategy() -> impl Strategy<Value = DualOptimizer> {
    prop_oneof![
        (1e-4..10.0f64).prop_map(DualOptimizer::ascent),
        (1e-4..10.0f64, 0.0..5.0f64, 0.0..5.0f64, 0.0..0.999f64)
            .prop_map(|(lr, kp, ki, nu)| DualOptimizer::nupi(lr, kp, ki, nu)),
    ]
}

/// Random multipliers, losses for a random subset of samples (the batch), and settings.
#[allow(clippy::type_complexity)]
fn dual_case() -> impl Strategy<
    Value = (
        Vec<f64>,
        Vec<usize>,
        Vec<f64>,
        f64,
        Option<f64>,
        DualOptimizer,
        bool,
    ),
> {
    (1usize..24)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(prop_oneof![Just(0.0), 0.0..10.0f64], n),
                prop::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n).prop_shuffle(),
            )
        })
        .prop_flat_map(|(lambda, idx)| {
            let m = idx.len();
            (
                Just(lambda),
                Just(idx),
                prop::collection::vec(0.0..10.0f64, m),
                0.0..5.0f64,
                prop::option::of(0.01..10.0f64),
                dual_strategy(),
                any::<bool>(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// λ ≥ 0 after every step, for ascent and νPI, FL and RFL; samples outside the batch
    /// keep bit-identical multipliers (and νPI state).
    #[test]
    fn dual_step_projects_and_is_local(
        (lambda0, idx, losses, eps, alpha, dual, warm_xi) in dual_case()
    ) {
        let n = lambda0.len();
        let mut lambda = lambda0.clone();
        // νPI state either starts empty (sized on first use) or carries earlier values.
        let mut xi: Vec<f64> = if warm_xi { (0..n).map(|i| i as f64 * 0.37 - 2.0).collect() } else { Vec::new() };
        let xi0 = xi.clone();
        // Several consecutive steps on the same batch, to exercise νPI's memory too.
        for _ in 0..3 {
            dual_step(&dual, &idx, &losses, eps, alpha, &mut lambda, &mut xi).unwrap();
            prop_assert!(lambda.iter().all(|&l| l >= 0.0 && l.is_finite()), "{lambda:?}");
        }
        for i in (0..n).filter(|i| !idx.contains(i)) {
            prop_assert_eq!(lambda[i].to_bits(), lambda0[i].to_bits());
            if warm_xi {
                prop_assert_eq!(xi[i].to_bits(), xi0[i].to_bits());
            } else if !xi.is_empty() {
                prop_assert_eq!(xi[i], 0.0);
            }
        }
    }

    /// Without projection, the FL ascent step adds exactly `η_λ (ℓ_i − ε)`.
    #[test]
    fn unprojected_fl_step_is_eta_times_violation(
        (lambda0, idx, losses, eps, _alpha, _dual, _w) in dual_case(),
        eta in 1e-4..10.0f64,
    ) {
        // λ ≥ 100 + 10·5 > η |ℓ − ε| for every draw: no projection can happen.
        let lambda0: Vec<f64> = lambda0.iter().map(|l| l + 100.0).collect();
        let mut lambda = lambda0.clone();
        dual_step(&DualOptimizer::ascent(eta), &idx, &losses, eps, None, &mut lambda, &mut Vec::new()).unwrap();
        for (k, &i) in idx.iter().enumerate() {
            let step = eta * (losses[k] - eps);
            prop_assert_eq!(lambda[i].to_bits(), (lambda0[i] + step).to_bits());
            prop_assert!((lambda[i] - lambda0[i] - step).abs() <= 1e-12 * lambda0[i]);
        }
        // νPI with κ_p = 0, κ_i = 1 is plain ascent, bit for bit.
        let mut lam_pi = lambda0.clone();
        dual_step(&DualOptimizer::nupi(eta, 0.0, 1.0, 0.5), &idx, &losses, eps, None, &mut lam_pi, &mut Vec::new()).unwrap();
        prop_assert_eq!(bits(&lam_pi), bits(&lambda));
    }
}

/// The RFL step lands on the fixed point `α [ℓ − ε]_+` in one step when `η_λ = α`, and
/// leaves it unchanged once there (any `η_λ`).
#[test]
fn rfl_dual_step_fixed_point() {
    let losses = [0.0f64, 0.5, 1.0, 3.0];
    let (eps, alpha) = (0.7f64, 2.0f64);
    let target: Vec<f64> = losses.iter().map(|l| alpha * (l - eps).max(0.0)).collect();
    let mut lambda = vec![5.0, 0.0, 1.0, 0.2];
    let idx = [0, 1, 2, 3];
    dual_step(
        &DualOptimizer::ascent(alpha),
        &idx,
        &losses,
        eps,
        Some(alpha),
        &mut lambda,
        &mut Vec::new(),
    )
    .unwrap();
    for (a, b) in lambda.iter().zip(&target) {
        assert!((a - b).abs() < 1e-12, "{lambda:?} vs {target:?}");
    }
    for eta in [0.01, 0.3, 1.9] {
        let mut l2 = lambda.clone();
        dual_step(
            &DualOptimizer::ascent(eta),
            &idx,
            &losses,
            eps,
            Some(alpha),
            &mut l2,
            &mut Vec::new(),
        )
        .unwrap();
        for (a, b) in l2.iter().zip(&target) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

/// Trainer level: after mini-batch fits (FL, RFL; ascent and νPI) every λ is ≥ 0, and
/// some are exactly 0 (projection happened) while others are positive.
#[test]
fn trainer_multipliers_stay_nonnegative() {
    let data = linear_data(60, 2, 0.3, 11);
    for (method, dual) in [
        (Method::Fl { epsilon: 0.02 }, DualOptimizer::ascent(0.5)),
        (
            Method::Fl { epsilon: 0.02 },
            DualOptimizer::nupi(0.5, 2.0, 1.0, 0.5),
        ),
        (
            Method::Rfl {
                epsilon: 0.02,
                alpha: 1.0,
            },
            DualOptimizer::ascent(0.5),
        ),
    ] {
        for order in [DualOrder::Alternating, DualOrder::Simultaneous] {
            let fit = TrainerParams::new(method)
                .order(order)
                .optimizer(Optimizer::sgd(0.01))
                .dual(dual)
                .batch_size(8)
                .epochs(30)
                .seed(5)
                .check()
                .unwrap()
                .fit(Network::linear_regression(2), &data, None)
                .unwrap();
            let lam = fit.multipliers.as_ref().unwrap();
            assert_eq!(lam.len(), 60);
            assert!(lam.iter().all(|&l| l >= 0.0), "{method:?}: {lam:?}");
            assert!(lam.iter().any(|&l| l > 0.0), "{method:?}");
            for rec in &fit.history {
                let s = rec.multipliers.unwrap();
                assert!(s.max >= 0.0 && s.mean >= 0.0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. FL on feasible convex problems: feasible everywhere, complementary slackness ≤ 1e-6
// ---------------------------------------------------------------------------------------

fn assert_fl_kkt<M>(fit: &Fit<f64, M>, what: &str) {
    let rep = fit.feasibility.as_ref().unwrap();
    assert_eq!(fit.train.feasible_fraction, Some(1.0), "{what}: {rep:?}");
    assert_eq!(rep.n_violating, 0, "{what}");
    assert!(rep.max_violation <= 0.0, "{what}: {rep:?}");
    assert!(
        rep.complementary_slackness <= 1e-6,
        "{what}: complementary slackness {:e}",
        rep.complementary_slackness
    );
    let lam = fit.multipliers.as_ref().unwrap();
    assert!(lam.iter().all(|&l| l >= 0.0));
    eprintln!(
        "{what}: max violation {:e}, complementary slackness {:e}, stationarity {:?}, \
         zero multipliers {}",
        rep.max_violation,
        rep.complementary_slackness,
        rep.stationarity,
        fit.multiplier_stats.unwrap().zero_fraction
    );
}

#[test]
fn fl_linear_regression_bounded_noise_is_feasible() {
    // Noise |u| ≤ 0.1, so ε = 0.02 > max u² = 0.01: θ* itself is strictly feasible.
    let data = linear_data(40, 2, 0.1, 1);
    let fit = TrainerParams::new(Method::Fl { epsilon: 0.02 })
        .optimizer(Optimizer::sgd(0.005))
        .dual_lr(0.5)
        .full_batch()
        .epochs(3000)
        .eval_every(0)
        .check()
        .unwrap()
        .fit(Network::linear_regression(2), &data, None)
        .unwrap();
    assert_fl_kkt(&fit, "linear regression");
    let rep = fit.feasibility.unwrap();
    assert!(rep.stationarity.unwrap() <= 1e-6, "{rep:?}");
}

#[test]
fn fl_separable_logistic_regression_is_feasible() {
    let data = separable_data(40, 2);
    let fit = TrainerParams::new(Method::Fl { epsilon: 0.1 })
        .optimizer(Optimizer::sgd(0.05))
        .dual_lr(0.5)
        .full_batch()
        .epochs(3000)
        .eval_every(0)
        .check()
        .unwrap()
        .fit(Network::logistic_regression(2), &data, None)
        .unwrap();
    assert_fl_kkt(&fit, "logistic regression");
    assert_eq!(fit.train.accuracy, Some(1.0));
}

// ---------------------------------------------------------------------------------------
// 3. RFL reaches λ = α [ℓ − ε]_+ and the CSERM minimiser
// ---------------------------------------------------------------------------------------

#[test]
fn rfl_matches_cserm() {
    // Noise larger than √ε, so almost every sample is active and the CSERM objective is
    // strictly convex around its minimiser.
    let (n, d, eps) = (40usize, 2usize, 0.01);
    let data = linear_data(n, d, 1.0, 3);
    let cserm = TrainerParams::new(Method::Cserm { epsilon: eps })
        .optimizer(Optimizer::sgd(0.05))
        .full_batch()
        .epochs(1500)
        .eval_every(0)
        .check()
        .unwrap()
        .fit(Network::linear_regression(d), &data, None)
        .unwrap();
    for alpha in [0.5, 1.0, 4.0] {
        // At λ = α [ℓ − ε]_+ the RFL primal gradient Σ λ_i ∇ℓ_i is (n α / 2) times the
        // CSERM gradient, so lr_RFL ≈ 2 lr_CSERM / (n α) is the comparable step; a different
        // factor (1.5) and η_λ = α/2 (λ lags its fixed point) make the two trajectories
        // differ, so agreement comes from both reaching the same stationary point.
        let lr = 1.5 * 0.05 / (n as f64 * alpha);
        let rfl = TrainerParams::new(Method::Rfl {
            epsilon: eps,
            alpha,
        })
        .optimizer(Optimizer::sgd(lr))
        .dual_lr(0.5 * alpha)
        .full_batch()
        .epochs(1500)
        .eval_every(0)
        .check()
        .unwrap()
        .fit(Network::linear_regression(d), &data, None)
        .unwrap();
        let rep = rfl.feasibility.as_ref().unwrap();
        let res = rep.rfl_fixed_point_residual.unwrap();
        assert!(res <= 1e-6, "α = {alpha}: fixed-point residual {res:e}");
        let slack = rfl.slack.as_ref().unwrap();
        for (u, l) in slack.iter().zip(rfl.multipliers.as_ref().unwrap()) {
            assert!((u - l / alpha).abs() <= 1e-15 * (1.0 + l.abs()));
        }
        let diff = rfl
            .model
            .params()
            .iter()
            .zip(cserm.model.params())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("α = {alpha}: fixed-point residual {res:e}, |θ_RFL − θ_CSERM|∞ = {diff:e}");
        assert!(diff <= 1e-5, "α = {alpha}: |θ_RFL − θ_CSERM| = {diff:e}");
    }
}

// ---------------------------------------------------------------------------------------
// 4. Infeasible problem: FL multipliers grow, RFL's stay bounded
// ---------------------------------------------------------------------------------------

/// Records the largest batch loss any dual step has seen.
#[derive(Default)]
struct MaxLoss(f64);

impl Observer for MaxLoss {
    fn on_step(&mut self, info: &StepInfo) -> Control {
        self.0 = self.0.max(info.batch_max_loss);
        Control::Continue
    }
    fn step_every(&self) -> Option<usize> {
        Some(1)
    }
}

#[test]
fn infeasible_fl_grows_rfl_bounded() {
    // ε = 0 with noise: no linear model interpolates 40 noisy points, so ℓ_i > 0 always.
    let data = linear_data(40, 2, 0.5, 4);
    let base = |m: Method, lr: f64| {
        TrainerParams::new(m)
            .optimizer(Optimizer::sgd(lr))
            .dual_lr(0.1)
            .full_batch()
            .epochs(400)
            .eval_every(25)
    };
    let fl = base(Method::Fl { epsilon: 0.0 }, 0.001)
        .check()
        .unwrap()
        .fit(Network::linear_regression(2), &data, None)
        .unwrap();
    let stats: Vec<_> = fl.history.iter().map(|r| r.multipliers.unwrap()).collect();
    assert_eq!(stats.len(), 16);
    for w in stats.windows(2) {
        assert!(w[1].max > w[0].max, "max λ must grow: {stats:?}");
        assert!(w[1].mean > w[0].mean, "Σ λ must grow: {stats:?}");
    }
    // Σ λ grows at least linearly: with ε = 0 and full batch, every step adds
    // η_λ ℓ_i(θ_t) > 0 to each λ_i, so mean λ gains η_λ · mean ℓ(θ_t) ≥ η_λ · MSE_OLS per
    // step (least squares minimises the mean loss): unbounded growth, never a plateau.
    let mse = ols_mse(&data);
    assert!(mse > 1e-3, "the problem must be infeasible at ε = 0");
    for w in stats.windows(2) {
        let gained = w[1].mean - w[0].mean;
        assert!(
            gained >= 25.0 * 0.1 * mse * (1.0 - 1e-9),
            "{gained} < 25 η MSE_OLS"
        );
    }
    assert_eq!(fl.feasibility.unwrap().n_violating, 40);

    for alpha in [0.5, 2.0] {
        let mut seen = MaxLoss::default();
        let rfl = base(
            Method::Rfl {
                epsilon: 0.0,
                alpha,
            },
            0.01,
        )
        .check()
        .unwrap()
        .fit_observed(Network::linear_regression(2), &data, None, &mut seen)
        .unwrap();
        // With λ_0 = 0 and 0 < η_λ ≤ α, λ_{t+1} = max(0, (1 − η/α) λ_t + (η/α) α (ℓ − ε))
        // is a convex combination of λ_t and α (ℓ − ε): λ ≤ α · (largest loss seen).
        let bound = alpha * seen.0;
        assert!(bound.is_finite() && bound > 0.0);
        for rec in &rfl.history {
            assert!(rec.multipliers.unwrap().max <= bound);
        }
        let lam = rfl.multipliers.as_ref().unwrap();
        assert!(lam.iter().all(|&l| l <= bound), "α = {alpha}");
        // And it settles: the last two records' multipliers agree closely.
        let h = &rfl.history;
        let (a, b) = (
            h[h.len() - 2].multipliers.unwrap(),
            h[h.len() - 1].multipliers.unwrap(),
        );
        assert!((a.max - b.max).abs() <= 1e-3 * b.max, "{a:?} {b:?}");
    }
}

// ---------------------------------------------------------------------------------------
// 5. CVaR: the Rockafellar–Uryasev minimum is the tail mean
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// `cvar` equals `min_τ cvar_objective` (attained at an order statistic) and lower-bounds
    /// the objective at any τ.
    #[test]
    fn cvar_is_min_of_ru_objective(
        losses in prop::collection::vec(0.0..100.0f64, 1..40),
        beta in 0.01..0.99f64,
        tau in -10.0..110.0f64,
    ) {
        let c = cvar(&losses, beta).unwrap();
        let min = losses
            .iter()
            .map(|&t| cvar_objective(&losses, beta, t))
            .fold(f64::INFINITY, f64::min);
        let tol = 1e-9 * (1.0 + min.abs());
        prop_assert!((c - min).abs() <= tol, "cvar {c} vs min_τ {min}");
        prop_assert!(cvar_objective(&losses, beta, tau) >= c - tol);
    }

    /// When `(1 − β) n = k` is an integer, CVaR is the plain mean of the top `k` losses.
    #[test]
    fn cvar_integer_tail_is_top_k_mean(
        losses in prop::collection::vec(0.0..100.0f64, 2..40),
        kf in 0.0..1.0f64,
    ) {
        let n = losses.len();
        let k = 1 + ((n - 1) as f64 * kf) as usize; // 1..n-1 so that β ∈ (0, 1)
        let k = k.min(n - 1);
        let beta = 1.0 - k as f64 / n as f64;
        let mut s = losses.clone();
        s.sort_by(|a, b| b.total_cmp(a));
        let top = s[..k].iter().sum::<f64>() / k as f64;
        let c = cvar(&losses, beta).unwrap();
        prop_assert!((c - top).abs() <= 1e-9 * (1.0 + top), "k = {k}, n = {n}: {c} vs {top}");
    }
}

#[test]
fn cvar_fit_learns_quantile_and_beats_erm_tail() {
    // A minority group with another slope: ERM fits the majority, CVaR the tail.
    let (n, beta) = (100usize, 0.8);
    let mut r = Rng(9);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let xi = r.uniform(-1.5, 1.5);
        let slope = if i % 5 == 0 { -1.0 } else { 1.0 };
        x.push(xi);
        y.push(slope * xi + r.uniform(-0.2, 0.2));
    }
    let data = Dataset::regression(Array2::from_shape_vec((n, 1), x).unwrap(), y).unwrap();
    let run = |m: Method| {
        TrainerParams::new(m)
            .optimizer(Optimizer::sgd(0.02))
            .full_batch()
            .epochs(3000)
            .eval_every(0)
            .check()
            .unwrap()
            .fit(Network::linear_regression(1), &data, None)
            .unwrap()
    };
    let cv = run(Method::Cvar { beta });
    let erm = run(Method::Erm);
    let tau = cv.tau.unwrap();
    let q = feasible::metrics::quantile(&cv.train_losses, beta).unwrap();
    let spread = (feasible::metrics::quantile(&cv.train_losses, beta + 0.03).unwrap()
        - feasible::metrics::quantile(&cv.train_losses, beta - 0.03).unwrap())
    .abs();
    assert!(
        (tau - q).abs() <= spread.max(0.02),
        "τ = {tau}, β-quantile = {q}, spread {spread}"
    );
    eprintln!(
        "CVaR fit: τ = {tau}, β-quantile {q}, tolerance {}",
        spread.max(0.02)
    );
    let above = cv.train_losses.iter().filter(|&&l| l > tau).count() as f64 / n as f64;
    assert!(
        (above - (1.0 - beta)).abs() <= 0.03,
        "fraction above τ: {above}"
    );
    let cvar_cv = cvar(&cv.train_losses, beta).unwrap();
    let cvar_erm = cvar(&erm.train_losses, beta).unwrap();
    let objective = cvar_objective(&cv.train_losses, beta, tau);
    assert!(objective >= cvar_cv - 1e-12);
    eprintln!("CVaR_β: CVaR fit {cvar_cv} (objective at τ {objective}), ERM {cvar_erm}");
    assert!(cvar_cv < cvar_erm, "CVaR fit {cvar_cv} vs ERM {cvar_erm}");
    assert!(
        objective <= cvar_erm,
        "objective {objective} vs ERM {cvar_erm}"
    );
    assert!(erm.train.mean_loss <= cv.train.mean_loss);
}

// ---------------------------------------------------------------------------------------
// 6. Determinism across thread counts; bit-identical save/restore
// ---------------------------------------------------------------------------------------

fn assert_same_fit<M: Model<f64>>(a: &Fit<f64, M>, b: &Fit<f64, M>, what: &str) {
    assert_eq!(
        bits(a.model.params()),
        bits(b.model.params()),
        "{what}: params"
    );
    assert_eq!(
        a.multipliers.as_deref().map(bits),
        b.multipliers.as_deref().map(bits),
        "{what}: multipliers"
    );
    assert_eq!(json(&a.history), json(&b.history), "{what}: history");
    assert_eq!(
        bits(&a.train_losses),
        bits(&b.train_losses),
        "{what}: losses"
    );
    assert_eq!(a.checkpoint, b.checkpoint, "{what}: checkpoint");
}

/// 3000 binary samples of 16 features and an MLP 16→32→1 (577 parameters).
fn binary_mlp_problem() -> (Dataset<f64>, Network<f64>) {
    let data = synthetic::dense::<f64>(3000, 16, DenseTask::Binary, 1).unwrap();
    let net = Mlp::new(16, Head::Binary)
        .hidden(&[32])
        .seed(3)
        .build::<f64>()
        .unwrap();
    (data, net)
}

#[test]
fn same_seed_same_bits_in_1_and_4_threads() {
    let (data, net) = binary_mlp_problem();
    // 512 rows × 577 parameters is above PAR_MIN_WORK: the kernels fan out.
    assert!(512 * net.n_params() >= feasible::parallel::PAR_MIN_WORK);
    let trainer = TrainerParams::new(Method::Fl { epsilon: 0.3 })
        .optimizer(Optimizer::adamw(1e-3))
        .dual(DualOptimizer::nupi(0.05, 1.0, 1.0, 0.5))
        .batch_size(512)
        .epochs(3)
        .seed(17)
        .check()
        .unwrap();
    let one = in_pool(1, || trainer.fit(net.clone(), &data, None).unwrap());
    let four = in_pool(4, || trainer.fit(net.clone(), &data, None).unwrap());
    assert_same_fit(&one, &four, "1 vs 4 threads");
    // Par::Seq runs the same chunked reductions on one thread.
    let seq = TrainerParams {
        par: feasible::parallel::Par::Seq,
        ..trainer.params().clone()
    }
    .check()
    .unwrap();
    let seq = in_pool(4, || seq.fit(net.clone(), &data, None).unwrap());
    assert_same_fit(&one, &seq, "Rayon vs Seq");
    assert_eq!(one.history.len(), 3);
}

#[test]
fn checkpoint_json_round_trip_resumes_bit_identically() {
    let data = synthetic::dense::<f64>(600, 8, DenseTask::Binary, 2).unwrap();
    let net = Mlp::new(8, Head::Binary)
        .hidden(&[16])
        .seed(4)
        .build::<f64>()
        .unwrap();
    let cases = [
        (
            "sgd momentum",
            TrainerParams::new(Method::Fl { epsilon: 0.2 })
                .optimizer(Optimizer::sgd(0.01).with_momentum(0.9, false))
                .dual_lr(0.1),
        ),
        (
            "adamw",
            TrainerParams::new(Method::Fl { epsilon: 0.2 })
                .optimizer(Optimizer::adamw(2e-3))
                .dual_lr(0.1),
        ),
        (
            "nupi",
            TrainerParams::new(Method::Fl { epsilon: 0.2 })
                .optimizer(Optimizer::sgd(0.01).with_momentum(0.5, true))
                .dual(DualOptimizer::nupi(0.1, 2.0, 1.0, 0.7)),
        ),
    ];
    let (e1, e2) = (3, 7);
    for (what, params) in cases {
        let params = params.batch_size(64).seed(23);
        let full = params.clone().epochs(e2).check().unwrap();
        let part = params.epochs(e1).check().unwrap();
        let uninterrupted = full.fit(net.clone(), &data, None).unwrap();
        let first = part.fit(net.clone(), &data, None).unwrap();
        assert_eq!(first.checkpoint.epoch, e1);
        let text = json(&first.checkpoint);
        let restored: Checkpoint<f64> = serde_json::from_str(&text).unwrap();
        assert_eq!(restored, first.checkpoint, "{what}: JSON round trip");
        // Resume a fresh (differently initialised) network: the checkpoint carries θ.
        let other = Mlp::new(8, Head::Binary)
            .hidden(&[16])
            .seed(99)
            .build::<f64>()
            .unwrap();
        let resumed = full
            .resume(other, restored, &data, None, &mut NoObserver)
            .unwrap();
        assert_same_fit(&uninterrupted, &resumed, what);
        assert_eq!(resumed.history.len(), e2);
    }
}

// ---------------------------------------------------------------------------------------
// 7. Invalid settings are typed errors, before any training
// ---------------------------------------------------------------------------------------

#[test]
fn invalid_settings_are_rejected_with_names() {
    let fl = |e: f64| TrainerParams::new(Method::Fl { epsilon: e });
    let cases: Vec<(TrainerParams, &str)> = vec![
        (fl(-0.1), "epsilon"),
        (fl(f64::NAN), "epsilon"),
        (fl(f64::INFINITY), "epsilon"),
        (
            TrainerParams::new(Method::Cserm { epsilon: -1.0 }),
            "epsilon",
        ),
        (
            TrainerParams::new(Method::Rfl {
                epsilon: -1e-9,
                alpha: 1.0,
            }),
            "epsilon",
        ),
        (
            TrainerParams::new(Method::Rfl {
                epsilon: 0.1,
                alpha: 0.0,
            }),
            "alpha",
        ),
        (
            TrainerParams::new(Method::Rfl {
                epsilon: 0.1,
                alpha: -2.0,
            }),
            "alpha",
        ),
        (
            TrainerParams::new(Method::Rfl {
                epsilon: 0.1,
                alpha: f64::NAN,
            }),
            "alpha",
        ),
        (TrainerParams::new(Method::Cvar { beta: 0.0 }), "beta"),
        (TrainerParams::new(Method::Cvar { beta: 1.0 }), "beta"),
        (TrainerParams::new(Method::Cvar { beta: -0.5 }), "beta"),
        (TrainerParams::new(Method::Cvar { beta: f64::NAN }), "beta"),
        (fl(0.1).optimizer(Optimizer::sgd(0.0)), "lr"),
        (fl(0.1).optimizer(Optimizer::sgd(-1e-3)), "lr"),
        (fl(0.1).optimizer(Optimizer::adamw(0.0)), "lr"),
        (fl(0.1).optimizer(Optimizer::adam(f64::NAN)), "lr"),
        (fl(0.1).dual_lr(0.0), "dual_lr"),
        (fl(0.1).dual_lr(-0.5), "dual_lr"),
        (
            fl(0.1).dual(DualOptimizer::nupi(0.0, 1.0, 1.0, 0.5)),
            "dual_lr",
        ),
        (fl(0.1).epochs(0), "epochs"),
        (fl(0.1).batch_size(0), "batch_size"),
        (
            fl(0.1).shuffle(feasible::data::Shuffle::Blocks { size: 0 }),
            "shuffle",
        ),
    ];
    for (p, name) in cases {
        let desc = format!("{:?}", p.method);
        match p.check() {
            Err(e) => assert_eq!(invalid_name(&e), name, "{desc}"),
            Ok(_) => panic!("{desc} with bad `{name}` was accepted"),
        }
    }

    // Data-dependent checks happen at fit time, before any step.
    let data = linear_data(10, 2, 0.1, 0);
    let trainer = |b: usize| {
        TrainerParams::new(Method::Fl { epsilon: 0.1 })
            .batch_size(b)
            .check()
            .unwrap()
    };
    assert!(
        trainer(10)
            .fit(Network::linear_regression(2), &data, None)
            .is_ok()
    );
    match trainer(11).fit(Network::linear_regression(2), &data, None) {
        Err(TrainError::Invalid(e)) => assert_eq!(invalid_name(&e), "batch_size"),
        other => panic!("batch size above n: {:?}", other.err()),
    }
    // Blocks of 6 of 10 samples: one whole block and a short one, nothing to permute.
    let blocks = |size: usize| {
        TrainerParams::new(Method::Fl { epsilon: 0.1 })
            .batch_size(5)
            .shuffle(feasible::data::Shuffle::Blocks { size })
            .check()
            .unwrap()
    };
    match blocks(6).fit(Network::linear_regression(2), &data, None) {
        Err(TrainError::Invalid(e)) => assert_eq!(invalid_name(&e), "shuffle"),
        other => panic!("a single block: {:?}", other.err()),
    }
    assert!(
        blocks(5)
            .fit(Network::linear_regression(2), &data, None)
            .is_ok()
    );
    let t = trainer(5);
    match t.fit(Network::logistic_regression(2), &data, None) {
        Err(TrainError::Invalid(Error::TaskMismatch(_))) => {}
        other => panic!("head mismatch: {:?}", other.err()),
    }
    match t.fit(Network::linear_regression(3), &data, None) {
        Err(TrainError::Invalid(Error::Shape { .. })) => {}
        other => panic!("feature mismatch: {:?}", other.err()),
    }
    let val = linear_data(5, 3, 0.1, 0);
    match t.fit(Network::linear_regression(2), &data, Some(&val)) {
        Err(TrainError::Invalid(Error::Shape { .. })) => {}
        other => panic!("validation feature mismatch: {:?}", other.err()),
    }
    let cls = separable_data(10, 0);
    match t.fit(Network::linear_regression(2), &cls, None) {
        Err(TrainError::Invalid(Error::TaskMismatch(_))) => {}
        other => panic!("classes for a regression head: {:?}", other.err()),
    }
}

// ---------------------------------------------------------------------------------------
// 8. Divergence keeps the last finite state
// ---------------------------------------------------------------------------------------

#[test]
fn huge_learning_rate_diverges_with_finite_last_state() {
    let data = linear_data(40, 2, 0.5, 8);
    let fl = Method::Fl { epsilon: 0.01 };
    let rfl = Method::Rfl {
        epsilon: 0.01,
        alpha: 1.0,
    };
    // (name, method, dual lr, batch size, momentum)
    for (what, method, dual_lr, batch, momentum) in [
        ("fl full batch", fl, 1.0, 40, 0.0),
        ("fl mini-batch", fl, 10.0, 8, 0.0),
        ("fl momentum", fl, 1.0, 8, 0.9),
        ("rfl momentum", rfl, 1.0, 8, 0.9),
        ("erm", Method::Erm, 1.0, 40, 0.0),
        ("cvar momentum", Method::Cvar { beta: 0.5 }, 1.0, 40, 0.9),
    ] {
        let opt = |lr: f64| {
            if momentum > 0.0 {
                Optimizer::sgd(lr).with_momentum(momentum, false)
            } else {
                Optimizer::sgd(lr)
            }
        };
        let params = |lr: f64, dual: f64, epochs: usize| {
            TrainerParams::new(method)
                .optimizer(opt(lr))
                .dual_lr(dual)
                .batch_size(batch)
                .epochs(epochs)
                .check()
                .unwrap()
        };
        let res = params(1e4, dual_lr, 1000).fit(Network::linear_regression(2), &data, None);
        let (reason, _, ck) = divergence(res, what);
        eprintln!("{what}: {reason} (epoch {}, step {})", ck.epoch, ck.step);
        assert!(ck.epoch < 1000);
        assert!(ck.params.iter().all(|v| v.is_finite()), "{what}: {reason}");
        assert!(
            ck.lambda.iter().all(|v| v.is_finite() && *v >= 0.0),
            "{what}: {reason}: {:?}",
            ck.lambda
        );
        assert!(ck.tau.is_finite(), "{what}");
        // The optimiser and controller states are finite too (no NaN moments).
        for v in [&ck.opt.m, &ck.opt.v, &ck.xi, &ck.tau_opt.m, &ck.tau_opt.v] {
            assert!(
                v.iter().all(|x| x.is_finite()),
                "{what}: {reason}: optimiser state {v:?}"
            );
        }
    }
}

/// A dual step that overflows λ (f32, huge dual rate) fails at the gradient; the
/// checkpoint handed back is the state from before that step, with finite multipliers.
#[test]
fn overflowing_multipliers_leave_finite_last_state() {
    let data = linear_data(40, 2, 0.5, 8);
    let (x, y) = (
        data.x().mapv(|v| v as f32),
        match data.targets() {
            feasible::data::Targets::Real(y) => y.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            _ => unreachable!(),
        },
    );
    let data32 = Dataset::regression(x, y).unwrap();
    // (dual, primal lr, momentum): the first two overflow λ, the last θ (after a finite
    // gradient, in the primal step itself).
    for (dual, lr, momentum) in [
        (DualOptimizer::ascent(1e38), 1e-3, 0.0),
        (DualOptimizer::nupi(1e38, 1.0, 1.0, 0.5), 1e-3, 0.9),
        (DualOptimizer::nupi(1.0, 1.0, 1.0, 0.5), 1e38, 0.9),
    ] {
        let opt = if momentum > 0.0 {
            Optimizer::sgd(lr).with_momentum(momentum, false)
        } else {
            Optimizer::sgd(lr)
        };
        let res = TrainerParams::new(Method::Fl { epsilon: 0.01 })
            .optimizer(opt)
            .dual(dual)
            .batch_size(8)
            .epochs(10)
            .check()
            .unwrap()
            .fit(Network::<f32>::linear_regression(2), &data32, None);
        let (what, step, last_finite) = divergence(res, &format!("{dual:?}"));
        eprintln!("{dual:?}: {what} at step {step}");
        assert_eq!(last_finite.step, step);
        // The optimiser state is the one from before the step, too.
        assert_eq!(last_finite.opt.t, step);
        assert!(last_finite.params.iter().all(|v| v.is_finite()), "{what}");
        assert!(
            last_finite
                .lambda
                .iter()
                .all(|v| v.is_finite() && *v >= 0.0),
            "{dual:?}: {what}: {:?}",
            last_finite.lambda
        );
        assert!(last_finite.xi.iter().all(|v| v.is_finite()), "{what}");
        assert!(last_finite.opt.m.iter().all(|v| v.is_finite()), "{what}");
    }
}

/// A step that fails puts everything back: the checkpoint handed back by a divergence is
/// bit-identical to the state of the same run stopped just before that step, for the
/// multipliers written in place by every worker of a team as well (νPI state included).
#[test]
fn a_failed_step_leaves_exactly_the_state_before_it() {
    use feasible::parallel::Par;
    struct StopAt(u64);
    impl Observer for StopAt {
        fn on_step(&mut self, info: &StepInfo) -> Control {
            if info.step >= self.0 {
                Control::Stop
            } else {
                Control::Continue
            }
        }
        fn step_every(&self) -> Option<usize> {
            Some(1)
        }
    }
    let data = synthetic::dense::<f32>(4000, 100, DenseTask::Binary, 5).unwrap();
    let orders = [DualOrder::Alternating, DualOrder::Simultaneous];
    let runs = [Par::Seq, Par::Threads(2)]
        .into_iter()
        .flat_map(|p| orders.map(|o| (p, o)));
    for (par, order) in runs {
        for dual in [
            DualOptimizer::ascent(1e30),
            DualOptimizer::nupi(1e30, 1.0, 1.0, 0.5),
        ] {
            // Momentum, so that the optimiser state has moments to compare.
            let t = TrainerParams::new(Method::Fl { epsilon: 0.05 })
                .optimizer(Optimizer::sgd(1e-3).with_momentum(0.9, false))
                .order(order)
                .dual(dual)
                .batch_size(2000)
                .epochs(20)
                .par(par)
                .check()
                .unwrap();
            let net = Network::<f32>::logistic_regression(100);
            let (what, step, last_finite) = divergence(
                t.fit(net.clone(), &data, None),
                &format!("{par:?} {dual:?}"),
            );
            eprintln!("{par:?} {dual:?}: diverged at step {step}: {what}");
            let mut s = t.session(net, &data, None).unwrap();
            if step > 0 {
                s.run_epoch(&mut StopAt(step)).unwrap();
                while s.checkpoint().step < step {
                    s.run_epoch(&mut StopAt(step)).unwrap();
                }
            }
            let want = s.checkpoint();
            assert_eq!(want.step, step);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&last_finite.params),
                bits(&want.params),
                "{par:?} {dual:?}"
            );
            assert_eq!(
                bits(&last_finite.lambda),
                bits(&want.lambda),
                "{par:?} {dual:?}"
            );
            assert_eq!(bits(&last_finite.xi), bits(&want.xi), "{par:?} {dual:?}");
            assert!(!want.opt.m.is_empty());
            assert_eq!(
                bits(&last_finite.opt.m),
                bits(&want.opt.m),
                "{par:?} {dual:?}"
            );
            assert_eq!(last_finite.opt.t, want.opt.t, "{par:?} {dual:?}");
            assert!(last_finite.lambda.iter().all(|l| l.is_finite()));
        }
    }
}

/// `n` samples of a regression whose targets (10–14) sit far from a fresh model's output:
/// losses ≥ 100, so a dual rate of 1e38 overflows an `f32` multiplier in one step.
fn far_targets(n: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
    let y: Vec<f32> = (0..n).map(|i| 10.0 + (i % 5) as f32).collect();
    Dataset::regression(x, y).unwrap()
}

/// In simultaneous order the primal step uses the multipliers from before the dual step,
/// so a multiplier that overflows passes the loss and gradient checks: it is caught on
/// its own, and the run stops with the state before the step (not an `Invalid` error at
/// the epoch's end, nor infinite multipliers in the session).
#[test]
fn an_overflowing_multiplier_is_divergence_in_both_orders() {
    let data = far_targets(64);
    for order in [DualOrder::Alternating, DualOrder::Simultaneous] {
        for batch in [64, 16] {
            let t = TrainerParams::new(Method::Fl { epsilon: 0.0 })
                .optimizer(Optimizer::sgd(1e-3))
                .dual_lr(1e38)
                .order(order)
                .batch_size(batch)
                .epochs(3)
                .check()
                .unwrap();
            let (what, _, last_finite) = divergence(
                t.fit(Network::<f32>::linear_regression(2), &data, None),
                &format!("{order:?} {batch}"),
            );
            assert!(
                what.contains("multiplier") || what.contains("gradient"),
                "{order:?} {batch}: {what}"
            );
            if order == DualOrder::Simultaneous {
                assert_eq!(what, "non-finite multiplier", "{batch}");
            }
            assert!(
                last_finite
                    .lambda
                    .iter()
                    .all(|l| l.is_finite() && *l >= 0.0)
            );
            assert!(last_finite.params.iter().all(|p| p.is_finite()));
        }
    }
}

/// The same in block order, where chunks are runs of samples read in place and their
/// dual step runs on slices (ascent and νPI, two threads).
#[test]
fn an_overflowing_multiplier_is_divergence_in_block_order() {
    use feasible::data::Shuffle;
    use feasible::parallel::Par;
    let data = far_targets(512);
    for dual in [
        DualOptimizer::ascent(1e38),
        DualOptimizer::nupi(1e38, 1.0, 1.0, 0.5),
    ] {
        let t = TrainerParams::new(Method::Fl { epsilon: 0.0 })
            .optimizer(Optimizer::sgd(1e-3))
            .dual(dual)
            .order(DualOrder::Simultaneous)
            .shuffle(Shuffle::Blocks { size: 128 })
            .batch_size(256)
            .par(Par::Threads(2))
            .epochs(2)
            .check()
            .unwrap();
        let (what, _, last_finite) = divergence(
            t.fit(Network::<f32>::linear_regression(2), &data, None),
            &format!("{dual:?}"),
        );
        assert_eq!(what, "non-finite multiplier", "{dual:?}");
        assert!(last_finite.lambda.iter().all(|l| l.is_finite()));
        assert!(last_finite.xi.iter().all(|v| v.is_finite()));
    }
}

/// The evaluation pass reads accuracy off the forward pass's outputs: the same figure as
/// predicting, for binary and multiclass heads, across evaluation blocks.
#[test]
fn one_pass_accuracy_equals_prediction_accuracy() {
    use feasible::model::Init;
    use feasible::parallel::Par;
    use feasible::solver::eval;
    let bin = synthetic::dense::<f32>(9000, 12, DenseTask::Binary, 21).unwrap();
    let mc = synthetic::dense::<f32>(9000, 12, DenseTask::Multiclass(4), 22).unwrap();
    for (data, head) in [(&bin, Head::Binary), (&mc, Head::Multiclass(4))] {
        let net = Mlp::new(12, head)
            .hidden(&[8])
            .init(Init::TorchDefault)
            .seed(3)
            .build::<f32>()
            .unwrap();
        let mut ws = net.workspace();
        let (losses, acc) = eval::losses_and_accuracy(&net, data, &mut ws, Par::Seq).unwrap();
        let want = eval::accuracy(&net, data).unwrap().unwrap();
        assert_eq!(acc, Some(want), "{head:?}");
        assert!(want > 0.0 && want < 1.0);
        assert_eq!(losses, eval::losses(&net, data, &mut ws, Par::Seq).unwrap());
    }
}

// ---------------------------------------------------------------------------------------
// 10. Block (quasi-random) batch order
// ---------------------------------------------------------------------------------------

/// A chunk whose rows are one run of the data set is read in place; the same rows reached
/// through a scattered index are gathered first. Both give the same bits.
#[test]
fn rows_read_in_place_equal_rows_gathered() {
    use feasible::data::{BatchView, TargetsRef};
    use feasible::model::Init;
    let data = synthetic::dense::<f32>(300, 12, DenseTask::Multiclass(3), 5).unwrap();
    let feasible::data::Targets::Classes { labels, .. } = data.targets() else {
        unreachable!()
    };
    let (x, d) = (data.x_slice(), 12);
    // Rows 40..168 again at the odd positions of a larger matrix, junk in between.
    let run: Vec<usize> = (40..168).collect();
    let mut x2 = vec![1e3f32; 2 * run.len() * d];
    let mut y2 = vec![0usize; 2 * run.len()];
    for (k, &i) in run.iter().enumerate() {
        x2[(2 * k + 1) * d..(2 * k + 2) * d].copy_from_slice(&x[i * d..(i + 1) * d]);
        y2[2 * k + 1] = labels[i];
    }
    let odd: Vec<usize> = (0..run.len()).map(|k| 2 * k + 1).collect();
    let in_place = BatchView::indexed(x, TargetsRef::Classes(labels), d, &run).unwrap();
    let scattered = BatchView::indexed(&x2, TargetsRef::Classes(&y2), d, &odd).unwrap();
    assert!(in_place.as_contiguous().is_some() && scattered.as_contiguous().is_none());
    let net = Mlp::new(12, Head::Multiclass(3))
        .hidden(&[16])
        .init(Init::TorchDefault)
        .seed(1)
        .build::<f32>()
        .unwrap();
    let pass = |view: BatchView<'_, f32>| {
        let mut cw = net.chunk_workspace();
        let (mut losses, mut weights) = (vec![0.0; 128], vec![0.0; 128]);
        net.train_chunk(view, &mut cw, &mut losses, &mut weights, &mut |_, l, w| {
            for (w, l) in w.iter_mut().zip(l) {
                *w = 0.5 + l;
            }
        })
        .unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        (bits(&losses), bits(Network::chunk_gradient(&cw)))
    };
    assert_eq!(pass(in_place), pass(scattered));
}

/// Block order keeps the solver's guarantees: the same bits on 1 and 4 threads and
/// sequentially, and a resumed run equals the uninterrupted one.
#[test]
fn block_order_is_deterministic_and_resumes_bit_identically() {
    use feasible::data::Shuffle;
    // 3000 = 23 blocks of 128 and a short block of 56; batches of 512 = 4 blocks.
    let (data, net) = binary_mlp_problem();
    let params = TrainerParams::new(Method::Fl { epsilon: 0.3 })
        .optimizer(Optimizer::adamw(1e-3))
        .batch_size(512)
        .shuffle(Shuffle::Blocks { size: 128 })
        .seed(17);
    let trainer = params.clone().epochs(4).check().unwrap();
    let one = in_pool(1, || trainer.fit(net.clone(), &data, None).unwrap());
    let four = in_pool(4, || trainer.fit(net.clone(), &data, None).unwrap());
    assert_same_fit(&one, &four, "blocks: 1 vs 4 threads");
    let seq = params
        .clone()
        .epochs(4)
        .par(feasible::parallel::Par::Seq)
        .check()
        .unwrap();
    assert_same_fit(
        &one,
        &seq.fit(net.clone(), &data, None).unwrap(),
        "blocks: Seq",
    );
    // The last epoch's order is whole blocks, then the short one.
    let order = &one.checkpoint.order;
    for run in order[..23 * 128].chunks(128) {
        assert!(run[0] % 128 == 0 && run.windows(2).all(|w| w[1] == w[0] + 1));
    }
    assert_eq!(order[23 * 128], 23 * 128);
    // A different seed gives a different block order.
    let other = params.clone().seed(18).epochs(1).check().unwrap();
    let other = other.fit(net.clone(), &data, None).unwrap();
    let first = params.clone().epochs(1).check().unwrap();
    let first = first.fit(net.clone(), &data, None).unwrap();
    assert_ne!(other.checkpoint.order, first.checkpoint.order);
    // Stop after 2 epochs, save, resume to 4.
    let text = json(&first_n(&params, 2, &net, &data).checkpoint);
    let restored: Checkpoint<f64> = serde_json::from_str(&text).unwrap();
    let resumed = trainer
        .resume(net.clone(), restored, &data, None, &mut NoObserver)
        .unwrap();
    assert_same_fit(&one, &resumed, "blocks: resumed");
}

fn first_n(
    p: &TrainerParams,
    epochs: usize,
    net: &Network<f64>,
    data: &Dataset<f64>,
) -> Fit<f64, Network<f64>> {
    p.clone()
        .epochs(epochs)
        .check()
        .unwrap()
        .fit(net.clone(), data, None)
        .unwrap()
}

/// On a data set shuffled once, block order learns as well as a fresh permutation every
/// epoch (breast cancer, logistic regression, FL): both reach the same accuracy and
/// close mean losses, by different paths.
#[test]
fn block_order_learns_as_well_as_sample_order() {
    use feasible::data::{Shuffle, Standardizer, embedded};
    let data = embedded::breast_cancer::<f64>().shuffled(3);
    let data = Standardizer::fit(&data).unwrap().transform(&data).unwrap();
    let params = TrainerParams::new(Method::Fl { epsilon: 0.1 })
        .optimizer(Optimizer::adam(1e-2))
        .dual_lr(0.1)
        .batch_size(32)
        .epochs(60)
        .eval_every(0)
        .stationarity(false);
    let net = Network::<f64>::logistic_regression(30);
    let fit = |s: Shuffle| {
        params
            .clone()
            .shuffle(s)
            .check()
            .unwrap()
            .fit(net.clone(), &data, None)
            .unwrap()
    };
    let (samples, blocks) = (fit(Shuffle::Samples), fit(Shuffle::Blocks { size: 8 }));
    let summary = |f: &Fit<f64, Network<f64>>| f.history.last().unwrap().train.clone();
    let (a, b) = (summary(&samples), summary(&blocks));
    assert_ne!(bits(samples.model.params()), bits(blocks.model.params()));
    let (acc_a, acc_b) = (a.accuracy.unwrap(), b.accuracy.unwrap());
    assert!(acc_a > 0.97 && acc_b > 0.97, "accuracy {acc_a} vs {acc_b}");
    assert!((acc_a - acc_b).abs() <= 0.01, "accuracy {acc_a} vs {acc_b}");
    let (la, lb) = (a.mean_loss, b.mean_loss);
    assert!(
        (la - lb).abs() <= 0.25 * la.max(lb),
        "mean loss {la} vs {lb}"
    );
}

/// One epoch of mini-batches (10 samples in batches of 4, 4 and a short 2) replayed by
/// hand from the epoch's batch order: every method's per-sample weights, with the short
/// batch's own `m`, and both dual orders (the primal step uses `λ` after the dual step in
/// alternating order, before it in simultaneous order).
#[test]
fn one_epoch_matches_a_hand_replay_for_every_weighting() {
    let n = 10;
    let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 5 + j * 3) % 7) as f64 / 7.0 - 0.4);
    let y: Vec<f64> = (0..n).map(|i| (i % 4) as f64 * 0.5).collect();
    let data = Dataset::regression(x.clone(), y.clone()).unwrap();
    let (eps, lr, dual_lr, init) = (0.2, 0.05, 0.5, 0.3);
    let cases = [
        (Method::Erm, DualOrder::Alternating),
        (Method::Cserm { epsilon: eps }, DualOrder::Alternating),
        (Method::Fl { epsilon: eps }, DualOrder::Alternating),
        (Method::Fl { epsilon: eps }, DualOrder::Simultaneous),
        (
            Method::Rfl {
                epsilon: eps,
                alpha: 2.0,
            },
            DualOrder::Simultaneous,
        ),
        (Method::Cvar { beta: 0.5 }, DualOrder::Alternating),
    ];
    let tau0 = 0.4;
    for (method, order) in cases {
        let t = TrainerParams::new(method)
            .optimizer(Optimizer::sgd(lr))
            .dual_lr(dual_lr)
            .init_multiplier(init)
            .init_tau(tau0)
            .order(order)
            .batch_size(4)
            .epochs(1)
            .seed(7)
            .check()
            .unwrap();
        let mut net = Network::<f64>::linear_regression(2);
        net.params_mut().copy_from_slice(&[0.3, -0.2, 0.1]);
        let fit = t.fit(net, &data, None).unwrap();
        let ord = &fit.checkpoint.order;
        // The replay: θ = (w0, w1, b), squared error (f − y)² with derivative 2(f − y).
        let mut th = [0.3, -0.2, 0.1];
        let mut lam = vec![init; n];
        let mut tau = tau0;
        for batch in ord.chunks(4) {
            let m = batch.len() as f64;
            let mut g = [0.0; 3];
            let mut above = 0.0;
            for &i in batch {
                let f = th[0] * x[[i, 0]] + th[1] * x[[i, 1]] + th[2];
                let (l, dl) = ((f - y[i]) * (f - y[i]), 2.0 * (f - y[i]));
                let w = match method {
                    Method::Erm => 1.0 / m,
                    Method::Cserm { epsilon } => 2.0 * (l - epsilon).max(0.0) / m,
                    Method::Fl { epsilon } | Method::Rfl { epsilon, .. } => {
                        let decay = match method {
                            Method::Rfl { alpha, .. } => lam[i] / alpha,
                            _ => 0.0,
                        };
                        let old = lam[i];
                        lam[i] = (old + dual_lr * (l - epsilon - decay)).max(0.0);
                        if order == DualOrder::Simultaneous {
                            old
                        } else {
                            lam[i]
                        }
                    }
                    // CVaR: 1{ℓ > τ}/((1 − β) m), and τ's gradient 1 − #{ℓ > τ}/((1 − β) m).
                    Method::Cvar { beta } => {
                        above += f64::from(u8::from(l > tau));
                        if l > tau {
                            1.0 / ((1.0 - beta) * m)
                        } else {
                            0.0
                        }
                    }
                };
                for (gk, xk) in g.iter_mut().zip([x[[i, 0]], x[[i, 1]], 1.0]) {
                    *gk += w * dl * xk;
                }
            }
            for (p, gk) in th.iter_mut().zip(g) {
                *p -= lr * gk;
            }
            if let Method::Cvar { beta } = method {
                tau -= lr * (1.0 - above / ((1.0 - beta) * m));
            }
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        if let Method::Cvar { .. } = method {
            let got = fit.tau.expect("CVaR keeps τ");
            assert!(close(got, tau), "τ {got} vs {tau}");
        }
        let got = fit.model.params();
        assert!(
            got.iter().zip(&th).all(|(&a, &b)| close(a, b)),
            "{method:?} {order:?}: {got:?} vs {th:?}"
        );
        if let Some(l) = &fit.multipliers {
            assert!(
                l.iter().zip(&lam).all(|(&a, &b)| close(a, b)),
                "{method:?} {order:?}: λ {l:?} vs {lam:?}"
            );
        }
    }
}

/// The loop's controls as the trainer applies them: early stop once every sample is
/// feasible, an observer called every `k` global steps, and the schedule's rate in each
/// epoch's record (the SGD step of every epoch uses that rate: checked by replaying the
/// first step of epoch 1 from epoch 0's end).
#[test]
fn early_stop_observer_cadence_and_schedule_as_applied() {
    use feasible::solver::{Schedule, Termination};
    let data = synthetic::dense::<f64>(200, 3, DenseTask::Regression, 4).unwrap();
    // ε above every loss after a few epochs: FL stops as soon as an evaluation sees it.
    let t = TrainerParams::new(Method::Fl { epsilon: 2.0 })
        .optimizer(Optimizer::sgd(0.05))
        .batch_size(50)
        .epochs(200)
        .stop_when_feasible(true)
        .check()
        .unwrap();
    let fit = t
        .fit(Network::<f64>::linear_regression(3), &data, None)
        .unwrap();
    let Termination::AllFeasible { epoch } = fit.termination else {
        panic!("expected an early stop, got {:?}", fit.termination);
    };
    assert!(epoch < 200 && epoch == fit.epochs_run, "{epoch}");
    assert!(fit.train_losses.iter().all(|&l| l <= 2.0));
    // The epoch before the stop still had an infeasible sample (or the stop is at the
    // first evaluation).
    if epoch > 1 {
        let before = &fit.history[fit.history.len() - 2];
        assert!(before.train.feasible_fraction.unwrap() < 1.0);
    }

    // An observer asking for every third step sees steps 3, 6, 9, … across epochs
    // (4 steps per epoch here), then stops the run mid-epoch.
    struct Every3(Vec<u64>);
    impl Observer for Every3 {
        fn on_step(&mut self, info: &StepInfo) -> Control {
            self.0.push(info.step);
            if info.step >= 9 {
                Control::Stop
            } else {
                Control::Continue
            }
        }
        fn step_every(&self) -> Option<usize> {
            Some(3)
        }
    }
    let mut obs = Every3(Vec::new());
    let t = TrainerParams::new(Method::Erm)
        .optimizer(Optimizer::sgd(0.05))
        .batch_size(50)
        .epochs(10)
        .check()
        .unwrap();
    let fit = t
        .fit_observed(Network::<f64>::linear_regression(3), &data, None, &mut obs)
        .unwrap();
    assert_eq!(obs.0, [3, 6, 9]);
    assert!(matches!(
        fit.termination,
        Termination::StoppedByObserver { .. }
    ));
    assert_eq!(fit.checkpoint.step, 9);
    // A session finished by its caller before the last epoch says so.
    let mut s = t
        .session(Network::<f64>::linear_regression(3), &data, None)
        .unwrap();
    assert!(s.run_epoch(&mut NoObserver).unwrap().is_none());
    let fit = s.finish().unwrap();
    assert_eq!(fit.termination, Termination::FinishedEarly { epoch: 1 });
    assert_eq!((fit.epochs_run, fit.checkpoint.step), (1, 4));

    // The schedule's rate per epoch, as recorded and as used.
    for schedule in [
        Schedule::Cosine { min_lr: 0.001 },
        Schedule::Step {
            every: 2,
            gamma: 0.5,
        },
    ] {
        let base = 0.05;
        let p = TrainerParams::new(Method::Erm)
            .optimizer(Optimizer::sgd(base))
            .schedule(schedule)
            .full_batch()
            .epochs(4);
        let fit = p
            .clone()
            .check()
            .unwrap()
            .fit(Network::<f64>::linear_regression(3), &data, None)
            .unwrap();
        let lrs: Vec<f64> = fit
            .history
            .iter()
            .filter(|r| r.step > 0)
            .map(|r| r.lr)
            .collect();
        let want: Vec<f64> = (0..4).map(|e| schedule.lr(base, e, 4)).collect();
        assert_eq!(lrs, want, "{schedule:?}");
        // Full batch, one step per epoch: two epochs at the scheduled rates equal one
        // epoch at the base rate followed by one at epoch 1's rate.
        let two = p.clone().epochs(2).check().unwrap();
        let a = two
            .fit(Network::<f64>::linear_regression(3), &data, None)
            .unwrap();
        let one = TrainerParams::new(Method::Erm)
            .optimizer(Optimizer::sgd(base))
            .full_batch()
            .epochs(1)
            .check()
            .unwrap()
            .fit(Network::<f64>::linear_regression(3), &data, None)
            .unwrap();
        let second = TrainerParams::new(Method::Erm)
            .optimizer(Optimizer::sgd(schedule.lr(base, 1, 2)))
            .full_batch()
            .epochs(1)
            .check()
            .unwrap()
            .fit(one.model, &data, None)
            .unwrap();
        assert_eq!(a.model.params(), second.model.params(), "{schedule:?}");
    }
}
