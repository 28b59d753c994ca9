//! Hand-derived gradients against finite differences, in `f64`.
//!
//! For every model family (linear, logistic and softmax regression; MLPs with 1–3 hidden
//! layers of random widths, each activation, each head) and random shapes, parameters,
//! inputs and non-negative per-sample weights `w_i`, the weighted gradient written by
//! [`Model::backward`] must match a central finite difference of the weighted loss
//! `L(θ) = Σ_i w_i ℓ_i(θ)` computed with [`Model::forward`].
//!
//! # Criterion
//!
//! Each coordinate `j` of the gradient `g` is compared with the fourth-order central
//! difference
//!
//! ```text
//! fd_j = (−L(θ + 2h e_j) + 8 L(θ + h e_j) − 8 L(θ − h e_j) + L(θ − 2h e_j)) / (12 h)
//! ```
//!
//! whose truncation error is `O(h⁴)` (negligible at the `h` used here), and must satisfy
//!
//! ```text
//! |g_j − fd_j| ≤ 1e-6 · max(|g_j|, |fd_j|)  +  100 · ε · S / h
//! ```
//!
//! with `ε = f64::EPSILON` and `S = Σ_i w_i (1 + |ℓ_i| + Σ_k |f_ik|)` (`f_i` the raw
//! outputs). The second term is an absolute floor: the rounding noise of `L` is about
//! `ε · S`, which the stencil amplifies by `18 / (12 h)`, so the floor sits ~20× above the
//! finite difference's own noise. It only matters for coordinates whose gradient is tiny
//! compared with the loss; every other coordinate is held to a relative error of 1e-6.
//!
//! # ReLU kinks
//!
//! ReLU networks are not differentiable where a hidden pre-activation is exactly 0, and a
//! finite difference whose stencil moves some pre-activation across 0 measures a blend of
//! two slopes: a false failure, not a bug. Pre-activations are recomputed independently
//! from [`Network::layer`] at every stencil point; when the on/off pattern of any hidden
//! unit on any row differs from the pattern at `θ`, that coordinate is skipped (the
//! segment `[θ − 2h e_j, θ + 2h e_j]` then crosses a kink). With a fixed pattern the
//! network output is affine in each single parameter, so the check on the remaining
//! coordinates is exact up to rounding. A small `h` (1e-5) keeps skips rare; a case in
//! which more than half of the coordinates would be skipped is rejected outright.

use feasible::Network;
use feasible::data::TargetsRef;
use feasible::model::{Activation, Head, Mlp, Model};
use feasible::parallel::{CHUNK_ROWS, Par};
use proptest::prelude::*;

/// One random test problem.
#[derive(Clone, Debug)]
struct Case {
    n_inputs: usize,
    hidden: Vec<usize>,
    act: Activation,
    head: Head,
    params: Vec<f64>,
    /// `rows × n_inputs`, row-major.
    x: Vec<f64>,
    y_real: Vec<f64>,
    y_class: Vec<usize>,
    /// Non-negative per-sample weights.
    w: Vec<f64>,
}

fn n_params(d: usize, hidden: &[usize], n_out: usize) -> usize {
    let mut dims = vec![d];
    dims.extend_from_slice(hidden);
    dims.push(n_out);
    dims.windows(2).map(|p| p[0] * p[1] + p[1]).sum()
}

fn n_classes(head: Head) -> usize {
    match head {
        Head::Regression => 0,
        Head::Binary => 2,
        Head::Multiclass(k) => k,
    }
}

impl Case {
    fn rows(&self) -> usize {
        self.w.len()
    }

    fn targets(&self) -> TargetsRef<'_, f64> {
        match self.head {
            Head::Regression => TargetsRef::Real(&self.y_real),
            _ => TargetsRef::Classes(&self.y_class),
        }
    }

    /// The network through the public constructors: the named linear models when there
    /// is no hidden layer, the [`Mlp`] builder otherwise; then the case's parameters.
    fn net(&self) -> Network<f64> {
        let mut net = if self.hidden.is_empty() {
            match self.head {
                Head::Regression => Network::linear_regression(self.n_inputs),
                Head::Binary => Network::logistic_regression(self.n_inputs),
                Head::Multiclass(k) => Network::softmax_regression(self.n_inputs, k),
            }
        } else {
            Mlp::new(self.n_inputs, self.head)
                .hidden(&self.hidden)
                .activation(self.act)
                .seed(1)
                .build::<f64>()
                .unwrap()
        };
        assert_eq!(net.n_params(), self.params.len());
        net.params_mut().copy_from_slice(&self.params);
        net
    }
}

/// Batch sizes: mostly small, a third of them at the first or second chunk boundary
/// (`CHUNK_ROWS ± a few` and `2 CHUNK_ROWS ± a few`: one to three chunks).
fn rows_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 1usize..=12,
        1 => (CHUNK_ROWS - 2)..=(CHUNK_ROWS + 3),
        1 => (2 * CHUNK_ROWS - 2)..=(2 * CHUNK_ROWS + 3),
    ]
}

fn weight_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 5 => 0.0..2.0f64]
}

/// A random case with `depth` hidden layers, activation `act`, and a head from `heads`.
/// Large batches get smaller networks so that the finite differences stay fast in debug
/// builds.
fn case_strategy(
    depth: std::ops::RangeInclusive<usize>,
    act: Activation,
    heads: BoxedStrategy<Head>,
) -> impl Strategy<Value = Case> {
    (rows_strategy(), heads, depth)
        .prop_flat_map(|(rows, head, depth)| {
            let big = rows > 16;
            let (max_d, max_w): (usize, usize) = if big { (3, 4) } else { (5, 7) };
            (
                Just(rows),
                Just(head),
                1..=max_d,
                prop::collection::vec(1..=max_w, depth),
            )
        })
        .prop_flat_map(move |(rows, head, d, hidden)| {
            let np = n_params(d, &hidden, head.n_outputs());
            let k = n_classes(head).max(1);
            (
                Just((d, hidden, head)),
                prop::collection::vec(-1.0..1.0f64, np),
                prop::collection::vec(-2.0..2.0f64, rows * d),
                prop::collection::vec(-2.0..2.0f64, rows),
                prop::collection::vec(0..k, rows),
                prop::collection::vec(weight_strategy(), rows),
            )
        })
        .prop_map(
            move |((n_inputs, hidden, head), params, x, y_real, y_class, w)| Case {
                n_inputs,
                hidden,
                act,
                head,
                params,
                x,
                y_real,
                y_class,
                w,
            },
        )
}

fn any_head(max_k: usize) -> BoxedStrategy<Head> {
    prop_oneof![
        Just(Head::Regression),
        Just(Head::Binary),
        (2..=max_k).prop_map(Head::Multiclass),
    ]
    .boxed()
}

/// Pre-activations `z_l` of every layer, computed independently of the crate's kernels
/// with plain loops over [`Network::layer`] (`z_l = a_{l−1} W_l + b_l`).
fn reference_preacts(net: &Network<f64>, x: &[f64], rows: usize) -> Vec<Vec<f64>> {
    let nl = net.n_layers();
    let mut input = x.to_vec();
    let mut fi = net.n_inputs();
    let mut zs = Vec::with_capacity(nl);
    for l in 0..nl {
        let (w, b) = net.layer(l).unwrap();
        assert_eq!(w.dim(), (fi, b.len()));
        let fo = b.len();
        let mut z = vec![0.0; rows * fo];
        for r in 0..rows {
            for o in 0..fo {
                let mut s = b[o];
                for j in 0..fi {
                    s += input[r * fi + j] * w[[j, o]];
                }
                z[r * fo + o] = s;
            }
        }
        if l + 1 < nl {
            input = z.iter().map(|&v| net.activation().apply(v)).collect();
            fi = fo;
        }
        zs.push(z);
    }
    zs
}

/// The losses from the reference outputs, written from the textbook definitions.
fn reference_losses(head: Head, out: &[f64], case: &Case) -> Vec<f64> {
    let rows = case.rows();
    match head {
        Head::Regression => (0..rows)
            .map(|r| (out[r] - case.y_real[r]).powi(2))
            .collect(),
        Head::Binary => (0..rows)
            .map(|r| {
                let z = out[r];
                let y = case.y_class[r] as f64;
                // −y ln σ(z) − (1−y) ln(1−σ(z)) = ln(1 + e^z) − y z.
                z.exp().ln_1p() - y * z
            })
            .collect(),
        Head::Multiclass(k) => (0..rows)
            .map(|r| {
                let z = &out[r * k..(r + 1) * k];
                z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[case.y_class[r]]
            })
            .collect(),
    }
}

/// ReLU on/off pattern of every hidden pre-activation (the derivative the code uses is
/// `1` iff `z > 0`).
fn relu_pattern(zs: &[Vec<f64>]) -> Vec<bool> {
    zs[..zs.len() - 1]
        .iter()
        .flatten()
        .map(|&z| z > 0.0)
        .collect()
}

fn weighted_loss(net: &Network<f64>, case: &Case, losses: &mut [f64]) -> f64 {
    let mut ws = net.workspace();
    net.forward(&case.x, case.targets(), &mut ws, losses, Par::Seq)
        .unwrap();
    losses.iter().zip(&case.w).map(|(l, w)| l * w).sum()
}

/// Runs the finite-difference check of one case; returns `Err` with a description on
/// failure (so that proptest shrinks it).
fn check_gradient(case: &Case) -> Result<(), TestCaseError> {
    let net = case.net();
    let rows = case.rows();
    let np = net.n_params();

    // Analytic gradient; the buffer starts as NaN to check that backward overwrites it.
    let mut ws = net.workspace();
    let mut losses = vec![0.0; rows];
    net.forward(&case.x, case.targets(), &mut ws, &mut losses, Par::Seq)
        .unwrap();
    let mut g = vec![f64::NAN; np];
    net.backward(&case.x, &mut ws, &case.w, &mut g, Par::Seq)
        .unwrap();

    // The forward pass computes what the docs say it does.
    let zs = reference_preacts(&net, &case.x, rows);
    let out = zs.last().unwrap();
    let n_out = case.head.n_outputs();
    let ref_losses = reference_losses(case.head, out, case);
    for (r, (&l, &lr)) in losses.iter().zip(&ref_losses).enumerate() {
        let mag: f64 = 1.0
            + out[r * n_out..(r + 1) * n_out]
                .iter()
                .map(|v| v.abs())
                .sum::<f64>();
        prop_assert!(
            (l - lr).abs() <= 1e-10 * mag * mag,
            "row {r}: loss {l} but reference {lr}"
        );
    }

    let scale: f64 = (0..rows)
        .map(|r| {
            let o: f64 = out[r * n_out..(r + 1) * n_out]
                .iter()
                .map(|v| v.abs())
                .sum();
            case.w[r] * (1.0 + losses[r].abs() + o)
        })
        .sum();
    let relu = case.act == Activation::Relu && !case.hidden.is_empty();
    let h = if relu { 1e-5 } else { 1e-4 };
    let floor = 100.0 * f64::EPSILON * scale / h;
    let base_pattern = relu.then(|| relu_pattern(&zs));

    let mut pert = net.clone();
    let mut lbuf = vec![0.0; rows];
    let mut checked = 0;
    for (j, (&gj, &theta)) in g.iter().zip(net.params()).enumerate() {
        let mut at = |t: f64, lbuf: &mut [f64]| -> (f64, bool) {
            pert.params_mut()[j] = theta + t;
            let same = match &base_pattern {
                Some(p) => relu_pattern(&reference_preacts(&pert, &case.x, rows)) == *p,
                None => true,
            };
            (weighted_loss(&pert, case, lbuf), same)
        };
        let (lp2, s1) = at(2.0 * h, &mut lbuf);
        let (lp1, s2) = at(h, &mut lbuf);
        let (lm1, s3) = at(-h, &mut lbuf);
        let (lm2, s4) = at(-2.0 * h, &mut lbuf);
        pert.params_mut()[j] = theta;
        if !(s1 && s2 && s3 && s4) {
            continue; // the stencil crosses a ReLU kink: see the module docs
        }
        checked += 1;
        let fd = (-lp2 + 8.0 * lp1 - 8.0 * lm1 + lm2) / (12.0 * h);
        let err = (gj - fd).abs();
        let tol = 1e-6 * gj.abs().max(fd.abs()) + floor;
        prop_assert!(
            err <= tol,
            "param {j} of {np}: backward {gj} vs finite difference {fd} (error {err:e} > tolerance {tol:e}; floor {floor:e})"
        );
    }
    // Too many kinks crossed: reject the case rather than pass it on a few coordinates.
    prop_assume!(2 * checked >= np);
    Ok(())
}

fn fd_config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        max_global_rejects: 4096,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(fd_config())]

    #[test]
    fn linear_regression_squared_error(c in case_strategy(0..=0, Activation::Relu, Just(Head::Regression).boxed())) {
        check_gradient(&c)?;
    }

    #[test]
    fn logistic_regression_bce(c in case_strategy(0..=0, Activation::Relu, Just(Head::Binary).boxed())) {
        check_gradient(&c)?;
    }

    #[test]
    fn softmax_regression_ce(c in case_strategy(0..=0, Activation::Relu, (2..=6usize).prop_map(Head::Multiclass).boxed())) {
        check_gradient(&c)?;
    }

    #[test]
    fn mlp_relu(c in case_strategy(1..=3, Activation::Relu, any_head(4))) {
        check_gradient(&c)?;
    }

    #[test]
    fn mlp_tanh(c in case_strategy(1..=3, Activation::Tanh, any_head(4))) {
        check_gradient(&c)?;
    }

    #[test]
    fn mlp_sigmoid(c in case_strategy(1..=3, Activation::Sigmoid, any_head(4))) {
        check_gradient(&c)?;
    }

    #[test]
    fn mlp_gelu(c in case_strategy(1..=3, Activation::Gelu, any_head(4))) {
        check_gradient(&c)?;
    }
}

/// Every head with every activation at least once, deterministically (the random tests
/// above draw the head and depth, so a particular pairing is only likely, not certain).
#[test]
fn every_activation_head_and_depth_pairing() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let acts = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
    ];
    let heads = [Head::Regression, Head::Binary, Head::Multiclass(3)];
    let mut runner = TestRunner::deterministic();
    let mut n = 0;
    for act in acts {
        for head in heads {
            for depth in 1..=3 {
                // Draw until a case is accepted (ReLU cases crossing many kinks are not).
                let mut done = false;
                for _ in 0..20 {
                    let c = case_strategy(depth..=depth, act, Just(head).boxed())
                        .new_tree(&mut runner)
                        .unwrap()
                        .current();
                    match check_gradient(&c) {
                        Ok(()) => {
                            done = true;
                            break;
                        }
                        Err(TestCaseError::Reject(_)) => continue,
                        Err(e) => panic!("{act:?} / {head:?} / depth {depth}: {e}\n{c:?}"),
                    }
                }
                assert!(done, "{act:?} / {head:?} / depth {depth}: no accepted case");
                n += 1;
            }
        }
    }
    assert_eq!(n, 36);
}

// ---------------------------------------------------------------------------------------
// Linearity of the backward pass in the weights.
// ---------------------------------------------------------------------------------------

fn linearity_case() -> impl Strategy<Value = (Case, Vec<f64>)> {
    prop_oneof![
        Just(Activation::Relu),
        Just(Activation::Tanh),
        Just(Activation::Sigmoid),
        Just(Activation::Gelu),
    ]
    .prop_flat_map(|act| case_strategy(0..=3, act, any_head(5)))
    .prop_flat_map(|c| {
        let rows = c.rows();
        (Just(c), prop::collection::vec(weight_strategy(), rows))
    })
}

fn grad_with(net: &Network<f64>, case: &Case, w: &[f64]) -> Vec<f64> {
    let mut ws = net.workspace();
    let mut losses = vec![0.0; case.rows()];
    net.forward(&case.x, case.targets(), &mut ws, &mut losses, Par::Seq)
        .unwrap();
    let mut g = vec![f64::NAN; net.n_params()];
    net.backward(&case.x, &mut ws, w, &mut g, Par::Seq).unwrap();
    g
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `grad(w1 + w2) = grad(w1) + grad(w2)` and `grad(w) = Σ_i w_i ∇ℓ_i` up to rounding
    /// (relative 1e-12 of `Σ_i w_i |∇ℓ_i|`, the sum of the magnitudes being added);
    /// `grad(2w) = 2 grad(w)` bit for bit (scaling by a power of two is exact in every
    /// operation of the backward pass); `grad(0) = 0` exactly.
    #[test]
    fn backward_is_linear_in_the_weights((c, w2) in linearity_case()) {
        let net = c.net();
        let rows = c.rows();
        let np = net.n_params();
        let w1 = &c.w;
        let w12: Vec<f64> = w1.iter().zip(&w2).map(|(a, b)| a + b).collect();

        // One forward pass serves many backward passes.
        let mut ws = net.workspace();
        let mut losses = vec![0.0; rows];
        net.forward(&c.x, c.targets(), &mut ws, &mut losses, Par::Seq).unwrap();
        let mut back = |w: &[f64]| {
            let mut g = vec![f64::NAN; np];
            net.backward(&c.x, &mut ws, w, &mut g, Par::Seq).unwrap();
            g
        };
        let g1 = back(w1);
        let g2 = back(&w2);
        let g12 = back(&w12);
        let zero = back(&vec![0.0; rows]);
        let w1x2: Vec<f64> = w1.iter().map(|v| 2.0 * v).collect();
        let g1x2 = back(&w1x2);

        // Per-sample gradients ∇ℓ_i from one-hot weights.
        let mut per_sample = Vec::with_capacity(rows);
        let mut onehot = vec![0.0; rows];
        for i in 0..rows {
            onehot[i] = 1.0;
            per_sample.push(back(&onehot));
            onehot[i] = 0.0;
        }

        for j in 0..np {
            let mag: f64 = (0..rows).map(|i| w12[i] * per_sample[i][j].abs()).sum();
            let tol = 1e-12 * mag;
            let lin = (g12[j] - (g1[j] + g2[j])).abs();
            prop_assert!(lin <= tol, "param {j}: grad(w1+w2) = {} but grad(w1) + grad(w2) = {} (|Δ| = {lin:e} > {tol:e})", g12[j], g1[j] + g2[j]);
            let sum: f64 = (0..rows).map(|i| w1[i] * per_sample[i][j]).sum();
            prop_assert!((g1[j] - sum).abs() <= tol, "param {j}: grad(w) = {} but Σ w_i ∇ℓ_i = {sum}", g1[j]);
            prop_assert_eq!(g1x2[j].to_bits(), (2.0 * g1[j]).to_bits(), "param {}: grad(2w) ≠ 2 grad(w)", j);
            prop_assert_eq!(zero[j], 0.0, "param {}: gradient with zero weights", j);
        }
        // The same gradient from a fresh workspace (no state leaks between calls).
        prop_assert_eq!(grad_with(&net, &c, w1), g1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The solver's fused pass over one chunk ([`Model::train_chunk`]; for one-layer,
    /// one-output networks a pass over 16 rows at a time) gives the bits of
    /// [`Model::forward`] then [`Model::backward`] with the same weights, and asks for
    /// every row's weight once, in row order, after its loss is known.
    #[test]
    fn fused_chunk_pass_equals_forward_then_backward(
        c in linearity_case()
            .prop_map(|(c, _)| c)
            .prop_filter("one chunk", |c| c.rows() <= CHUNK_ROWS),
    ) {
        use feasible::data::BatchView;
        let net = c.net();
        let rows = c.rows();
        let mut ws = net.workspace();
        let mut want_losses = vec![0.0; rows];
        net.forward(&c.x, c.targets(), &mut ws, &mut want_losses, Par::Seq).unwrap();
        let mut want_grad = vec![f64::NAN; net.n_params()];
        net.backward(&c.x, &mut ws, &c.w, &mut want_grad, Par::Seq).unwrap();

        let view = BatchView::contiguous(&c.x, c.targets(), c.n_inputs).unwrap();
        let mut cw = net.chunk_workspace();
        let (mut losses, mut weights) = (vec![f64::NAN; rows], vec![f64::NAN; rows]);
        let mut next = 0;
        let mut in_order = true;
        net.train_chunk(view, &mut cw, &mut losses, &mut weights, &mut |off, l, w| {
            in_order &= off == next && l.len() == w.len() && !l.is_empty();
            in_order &= l.iter().zip(&want_losses[off..]).all(|(a, b)| a.to_bits() == b.to_bits());
            w.copy_from_slice(&c.w[off..off + w.len()]);
            next = off + w.len();
        })
        .unwrap();
        prop_assert!(in_order && next == rows, "weighed {next} of {rows} rows, in order: {in_order}");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&losses), bits(&want_losses));
        prop_assert_eq!(bits(Network::chunk_gradient(&cw)), bits(&want_grad));
    }
}
