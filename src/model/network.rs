//! The dense network behind every model: `d → h₁ → … → h_m → out`, with the linear,
//! logistic and softmax regressions as the case of no hidden layer.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::init::{init_layer, rng};
use super::{Activation, Head, Init, Model, Weigh};
use crate::data::{BatchView, TargetsRef};
use crate::linalg::{MatRef, THIN, add_assign, axpy_rows, gemm, thin_inner, thin_outer};
use crate::loss::{softmax_cross_entropy, squared_error};
use crate::parallel::{CHUNK_ROWS, Par, num_chunks};
use crate::{Error, Float, Result};

/// One layer's place in the flat parameter vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layer {
    fan_in: usize,
    fan_out: usize,
    /// Offset of `W` (`fan_in × fan_out`, row-major).
    w: usize,
    /// Offset of `b` (`fan_out`).
    b: usize,
}

/// A fully connected network with a [`Head`]; see the [module docs](crate::model).
///
/// Layer `l` computes `z_l = a_{l−1} W_l + b_l` and, for hidden layers, `a_l = σ(z_l)`;
/// the last `z` is the output (value or logits). Gradients: `docs/gradients.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<F> {
    n_inputs: usize,
    hidden: Vec<usize>,
    activation: Activation,
    head: Head,
    layers: Vec<Layer>,
    params: Vec<F>,
}

fn plan_layers(n_inputs: usize, hidden: &[usize], n_out: usize) -> (Vec<Layer>, usize) {
    let mut dims = Vec::with_capacity(hidden.len() + 2);
    dims.push(n_inputs);
    dims.extend_from_slice(hidden);
    dims.push(n_out);
    let mut off = 0;
    let layers = dims
        .windows(2)
        .map(|w| {
            let l = Layer {
                fan_in: w[0],
                fan_out: w[1],
                w: off,
                b: off + w[0] * w[1],
            };
            off = l.b + w[1];
            l
        })
        .collect();
    (layers, off)
}

impl<F: Float> Network<F> {
    /// Linear regression `f(x) = x·w + b` with squared error, parameters at zero.
    pub fn linear_regression(n_inputs: usize) -> Self {
        Self::zeros(n_inputs, Head::Regression)
    }

    /// Logistic regression: logit `x·w + b`, binary cross-entropy, parameters at zero.
    pub fn logistic_regression(n_inputs: usize) -> Self {
        Self::zeros(n_inputs, Head::Binary)
    }

    /// Softmax (multinomial) regression: logits `x W + b` over `n_classes`, parameters at zero.
    pub fn softmax_regression(n_inputs: usize, n_classes: usize) -> Self {
        Self::zeros(n_inputs, Head::Multiclass(n_classes))
    }

    fn zeros(n_inputs: usize, head: Head) -> Self {
        let (layers, n) = plan_layers(n_inputs, &[], head.n_outputs());
        Self {
            n_inputs,
            hidden: Vec::new(),
            activation: Activation::Relu,
            head,
            layers,
            params: vec![F::zero(); n],
        }
    }

    /// Rebuilds a network from its description and flat parameters (e.g. a saved model),
    /// validating every part.
    pub fn from_parts(
        n_inputs: usize,
        hidden: Vec<usize>,
        activation: Activation,
        head: Head,
        params: Vec<F>,
    ) -> Result<Self> {
        validate_shape(n_inputs, &hidden, head)?;
        let (layers, n) = plan_layers(n_inputs, &hidden, head.n_outputs());
        if params.len() != n {
            return Err(Error::shape("network parameters", n, params.len()));
        }
        if let Some(i) = params.iter().position(|p| !p.is_finite()) {
            return Err(Error::NonFinite {
                what: "network parameters".into(),
                row: i,
                col: 0,
            });
        }
        Ok(Self {
            n_inputs,
            hidden,
            activation,
            head,
            layers,
            params,
        })
    }

    /// Hidden-layer widths (empty for linear models).
    pub fn hidden(&self) -> &[usize] {
        &self.hidden
    }

    /// The hidden-layer activation (irrelevant without hidden layers).
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The parameters of layer `l` (0-based) as `(W, b)`, `W` row-major `fan_in × fan_out`.
    pub fn layer(&self, l: usize) -> Option<(ArrayView2<'_, F>, &[F])> {
        let ly = self.layers.get(l)?;
        let w = ArrayView2::from_shape((ly.fan_in, ly.fan_out), &self.params[ly.w..ly.b]).ok()?;
        Some((w, &self.params[ly.b..ly.b + ly.fan_out]))
    }

    /// Number of layers with parameters (hidden layers + output layer).
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.fan_out.max(l.fan_in))
            .max()
            .unwrap_or(1)
    }
}

/// Largest parameter count a network may have (2³² ≈ 4.3 billion: 17 GB in `f32`).
pub const MAX_PARAMS: usize = 1 << 32;

fn validate_shape(n_inputs: usize, hidden: &[usize], head: Head) -> Result<()> {
    if n_inputs == 0 {
        return Err(Error::param(
            "n_inputs",
            n_inputs,
            "a model needs at least one input",
        ));
    }
    if let Some(&h) = hidden.iter().find(|&&h| h == 0) {
        return Err(Error::param(
            "hidden",
            h,
            "hidden layers need at least one unit",
        ));
    }
    if let Head::Multiclass(k) = head
        && k < 2
    {
        return Err(Error::param(
            "n_classes",
            k,
            "a multiclass head needs at least 2 classes",
        ));
    }
    // Parameter count in checked arithmetic: absurd shapes are an error, not an overflow
    // or an allocation failure.
    let mut dims = vec![n_inputs];
    dims.extend_from_slice(hidden);
    dims.push(head.n_outputs());
    let total = dims.windows(2).try_fold(0usize, |acc, w| {
        w[0].checked_mul(w[1])
            .and_then(|p| p.checked_add(w[1]))
            .and_then(|p| acc.checked_add(p))
    });
    match total {
        Some(t) if t <= MAX_PARAMS => {}
        _ => {
            return Err(Error::param(
                "hidden",
                format!("{hidden:?}"),
                format!("the network would have more than {MAX_PARAMS} parameters"),
            ));
        }
    }
    Ok(())
}

/// Builder for an MLP (any depth and width) — or, with no hidden layer, a linear model.
///
/// ```
/// use feasible::model::{Activation, Head, Init, Mlp, Model};
/// let net = Mlp::new(2, Head::Multiclass(2))
///     .hidden(&[70, 70])
///     .activation(Activation::Relu)
///     .init(Init::TorchDefault)
///     .seed(0)
///     .build::<f32>()
///     .unwrap();
/// assert_eq!(net.n_params(), 2 * 70 + 70 + 70 * 70 + 70 + 70 * 2 + 2);
/// assert!(Mlp::new(2, Head::Multiclass(1)).build::<f32>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    n_inputs: usize,
    hidden: Vec<usize>,
    activation: Activation,
    head: Head,
    init: Init,
    seed: u64,
}

impl Mlp {
    /// An MLP with `n_inputs` inputs and the given head; no hidden layer yet, ReLU,
    /// [`Init::Auto`], seed 0.
    pub fn new(n_inputs: usize, head: Head) -> Self {
        Self {
            n_inputs,
            hidden: Vec::new(),
            activation: Activation::Relu,
            head,
            init: Init::Auto,
            seed: 0,
        }
    }

    /// Hidden-layer widths, input side first.
    pub fn hidden(mut self, widths: &[usize]) -> Self {
        self.hidden = widths.to_vec();
        self
    }

    /// The hidden activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }

    /// The initialisation scheme.
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The initialisation seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validates the shape and draws the initial parameters.
    pub fn build<F: Float>(&self) -> Result<Network<F>> {
        validate_shape(self.n_inputs, &self.hidden, self.head)?;
        let (layers, n) = plan_layers(self.n_inputs, &self.hidden, self.head.n_outputs());
        let mut params = vec![F::zero(); n];
        let mut r = rng(self.seed);
        let init = if self.hidden.is_empty() && self.init == Init::Auto {
            Init::Zeros
        } else {
            self.init
        };
        let last = layers.len() - 1;
        for (l, ly) in layers.iter().enumerate() {
            let act = (l < last).then_some(self.activation);
            let (w, b) = params[ly.w..ly.b + ly.fan_out].split_at_mut(ly.fan_in * ly.fan_out);
            init_layer(init, act, ly.fan_in, ly.fan_out, w, b, &mut r);
        }
        Ok(Network {
            n_inputs: self.n_inputs,
            hidden: self.hidden.clone(),
            activation: self.activation,
            head: self.head,
            layers,
            params,
        })
    }
}

/// Scratch memory of one row chunk.
#[derive(Clone, Debug, Default)]
struct ChunkWs<F> {
    /// Pre-activations per layer, `CHUNK_ROWS × fan_out` each (the last is the output).
    z: Vec<Vec<F>>,
    /// Hidden activations per hidden layer.
    a: Vec<Vec<F>>,
    /// `∂ℓ/∂output` per row, `CHUNK_ROWS × n_out`.
    dout: Vec<F>,
    /// Back-propagated deltas (two buffers, swapped layer to layer).
    delta: Vec<F>,
    delta_next: Vec<F>,
    /// This chunk's partial gradient.
    grad: Vec<F>,
    /// Scratch of the thin-layer products: one column of a chunk matrix, and the
    /// transposed weights of a thin layer.
    col: Vec<F>,
    wt: Vec<F>,
    /// The rows that weigh something, copied together for the backward pass (sized on
    /// first use; see [`backward_chunk`]).
    live: LiveRows<F>,
}

/// A chunk's rows with a non-zero weight: inputs, hidden pre-activations and activations,
/// output derivatives and weights, in row order.
#[derive(Clone, Debug, Default)]
struct LiveRows<F> {
    x: Vec<F>,
    z: Vec<Vec<F>>,
    a: Vec<Vec<F>>,
    dout: Vec<F>,
    w: Vec<F>,
}

impl<F: Float> LiveRows<F> {
    /// Sizes the buffers for a chunk of `net` (a no-op once sized).
    fn ensure(&mut self, net: &Network<F>) {
        let hidden = net.layers.len() - 1;
        self.x.resize(CHUNK_ROWS * net.n_inputs, F::zero());
        self.dout
            .resize(CHUNK_ROWS * net.head.n_outputs(), F::zero());
        self.w.resize(CHUNK_ROWS, F::zero());
        self.z.resize_with(hidden, Vec::new);
        self.a.resize_with(hidden, Vec::new);
        for (l, ly) in net.layers[..hidden].iter().enumerate() {
            self.z[l].resize(CHUNK_ROWS * ly.fan_out, F::zero());
            self.a[l].resize(CHUNK_ROWS * ly.fan_out, F::zero());
        }
    }
}

impl<F: Float> ChunkWs<F> {
    fn new(net: &Network<F>) -> Self {
        let nl = net.layers.len();
        let mw = net.max_width();
        Self {
            z: net
                .layers
                .iter()
                .map(|l| vec![F::zero(); CHUNK_ROWS * l.fan_out])
                .collect(),
            a: net.layers[..nl - 1]
                .iter()
                .map(|l| vec![F::zero(); CHUNK_ROWS * l.fan_out])
                .collect(),
            dout: vec![F::zero(); CHUNK_ROWS * net.head.n_outputs()],
            delta: vec![F::zero(); CHUNK_ROWS * mw],
            delta_next: vec![F::zero(); CHUNK_ROWS * mw],
            grad: vec![F::zero(); net.params.len()],
            col: vec![F::zero(); CHUNK_ROWS],
            wt: vec![F::zero(); THIN * mw],
            live: LiveRows::default(),
        }
    }

    /// [`ChunkWs::new`] with the buffers for skipped rows sized too, so that no training
    /// epoch allocates when multipliers start to be zero.
    fn for_training(net: &Network<F>) -> Self {
        let mut ws = Self::new(net);
        ws.live.ensure(net);
        ws
    }

    /// Whether the buffers were sized for `net`'s layers.
    fn fits(&self, net: &Network<F>) -> bool {
        self.z.len() == net.layers.len()
            && self.grad.len() == net.params.len()
            && self
                .z
                .iter()
                .zip(&net.layers)
                .all(|(z, l)| z.len() == CHUNK_ROWS * l.fan_out)
            && self.delta.len() == CHUNK_ROWS * net.max_width()
    }
}

/// The [`Network`]'s chunk workspace for [`Model::train_chunk`]: the chunk's gathered rows
/// and targets, its activations and its partial gradient (sized on creation, reused).
#[derive(Clone, Debug, Default)]
pub struct NetworkChunk<F> {
    xb: Vec<F>,
    yr: Vec<F>,
    yc: Vec<usize>,
    ws: ChunkWs<F>,
}

/// The [`Network`] workspace: per-chunk buffers sized on first use, then reused.
#[derive(Clone, Debug, Default)]
pub struct NetworkWorkspace<F> {
    /// Signature of the network it was sized for: (layer fans, n_params).
    shape: Vec<(usize, usize)>,
    rows: usize,
    chunks: Vec<ChunkWs<F>>,
}

impl<F: Float> NetworkWorkspace<F> {
    /// Whether the workspace was sized for `net`'s layers (compared without collecting:
    /// no allocation per step).
    fn fits(&self, net: &Network<F>) -> bool {
        self.shape.len() == net.layers.len()
            && self
                .shape
                .iter()
                .zip(&net.layers)
                .all(|(&s, l)| s == (l.fan_in, l.fan_out))
    }

    fn ensure(&mut self, net: &Network<F>, rows: usize) {
        if !self.fits(net) {
            self.shape = net.layers.iter().map(|l| (l.fan_in, l.fan_out)).collect();
            self.chunks.clear();
        }
        let need = num_chunks(rows);
        while self.chunks.len() < need {
            self.chunks.push(ChunkWs::new(net));
        }
        self.rows = rows;
    }
}

/// Forward through all layers for one chunk of `rows` rows of `x`.
fn forward_chunk<F: Float>(net: &Network<F>, x: &[F], rows: usize, cw: &mut ChunkWs<F>) {
    let last = net.layers.len() - 1;
    for (l, ly) in net.layers.iter().enumerate() {
        let (fi, fo) = (ly.fan_in, ly.fan_out);
        let w = &net.params[ly.w..ly.b];
        let b = &net.params[ly.b..ly.b + fo];
        let input: &[F] = if l == 0 { x } else { &cw.a[l - 1][..rows * fi] };
        let z = &mut cw.z[l][..rows * fo];
        if fo <= THIN {
            // A thin output (one value, two logits): dot products with W's columns.
            transpose_into(w, fi, fo, &mut cw.wt);
            thin_outer(&input[..rows * fi], &cw.wt[..fi * fo], fo, Some(b), z);
        } else if fi <= THIN {
            // A thin input (2-D points): row updates from the bias instead of a packed
            // GEMM.
            thin_inner(&input[..rows * fi], fi, w, Some(b), z);
        } else {
            for zr in z.chunks_exact_mut(fo) {
                zr.copy_from_slice(b);
            }
            gemm(
                F::one(),
                MatRef::new(input, rows, fi),
                MatRef::new(w, fi, fo),
                F::one(),
                z,
            );
        }
        if l < last {
            net.activation
                .apply_slice(&cw.z[l][..rows * fo], &mut cw.a[l][..rows * fo]);
        }
    }
}

/// Rows per step of [`linear_chunk`]: small enough that they are still in L1 for the
/// backward half (16 rows of 100 `f32` features are 6.4 KB), a multiple of
/// [`axpy_rows`]' block of four so that the gradient's additions keep their order.
const LINEAR_ROWS: usize = 16;

/// The fused pass of a network with one layer and one output (linear and logistic
/// regression) over a chunk, [`LINEAR_ROWS`] rows at a time: forward, loss, the rows'
/// weights (`weigh`, in row order), then their weighted gradient `Σ_r w_r ∂ℓ_r/∂z_r
/// (x_r, 1)`, while the rows are still in L1. The same operations in the same order per
/// row as [`forward_chunk`], [`loss_chunk`] and [`backward_rows`] on the whole chunk: the
/// rows' additions into the gradient stay in row order.
#[allow(clippy::too_many_arguments)]
fn linear_chunk<F: Float>(
    net: &Network<F>,
    x: &[F],
    y: TargetsRef<'_, F>,
    rows: usize,
    losses: &mut [F],
    weights: &mut [F],
    weigh: &mut Weigh<'_, F>,
    cw: &mut ChunkWs<F>,
) {
    let ly = &net.layers[0];
    let d = ly.fan_in;
    let w = &net.params[ly.w..ly.b];
    let b = &net.params[ly.b..ly.b + 1];
    let ChunkWs {
        z,
        dout,
        delta,
        grad,
        ..
    } = cw;
    let (z, dout, delta) = (&mut z[0][..rows], &mut dout[..rows], &mut delta[..rows]);
    let (gw, gb) = grad[ly.w..ly.b + 1].split_at_mut(d);
    gw.iter_mut().for_each(|g| *g = F::zero());
    let mut sb = F::zero();
    for s in (0..rows).step_by(LINEAR_ROWS) {
        let r = s..(s + LINEAR_ROWS).min(rows);
        let xs = &x[r.start * d..r.end * d];
        thin_outer(xs, w, 1, Some(b), &mut z[r.clone()]);
        loss_chunk(
            net.head,
            &z[r.clone()],
            y.slice(r.clone()),
            &mut losses[r.clone()],
            &mut dout[r.clone()],
        );
        weigh(s, &losses[r.clone()], &mut weights[r.clone()]);
        for ((dl, &wr), &g) in delta[r.clone()]
            .iter_mut()
            .zip(&weights[r.clone()])
            .zip(&dout[r.clone()])
        {
            *dl = wr * g;
        }
        axpy_rows(Some(&delta[r.clone()]), xs, r.len(), gw);
        for &dr in &delta[r] {
            sb += dr;
        }
    }
    gb[0] = sb;
}

/// Writes the transpose of the row-major `rows × cols` matrix `m` into `out`.
fn transpose_into<F: Float>(m: &[F], rows: usize, cols: usize, out: &mut [F]) {
    for (i, mr) in m.chunks_exact(cols).take(rows).enumerate() {
        for (j, &v) in mr.iter().enumerate() {
            out[j * rows + i] = v;
        }
    }
}

/// Per-row loss and `∂ℓ/∂output` from the last layer's output.
fn loss_chunk<F: Float>(
    head: Head,
    out: &[F],
    y: TargetsRef<'_, F>,
    losses: &mut [F],
    dout: &mut [F],
) {
    match (head, y) {
        (Head::Regression, TargetsRef::Real(y)) => {
            for ((l, d), (&f, &t)) in losses
                .iter_mut()
                .zip(dout.iter_mut())
                .zip(out.iter().zip(y))
            {
                (*l, *d) = squared_error(f, t);
            }
        }
        (Head::Binary, TargetsRef::Classes(y)) => {
            F::binary_cross_entropy_run(out, y, losses, dout);
        }
        (Head::Multiclass(k), TargetsRef::Classes(y)) => {
            for (r, (l, &t)) in losses.iter_mut().zip(y).enumerate() {
                *l = softmax_cross_entropy(
                    &out[r * k..(r + 1) * k],
                    t,
                    &mut dout[r * k..(r + 1) * k],
                );
            }
        }
        _ => unreachable!("targets checked against the head in forward"),
    }
}

/// Backward for one chunk: writes this chunk's `Σ_r w_r ∇ℓ_r` into `cw.grad`.
///
/// A row of weight zero adds nothing, so when at least a quarter of the chunk's rows
/// weigh nothing (Feasible Learning's satisfied samples, `λ_i = 0`; CVaR's samples below
/// `τ`), the pass runs on the other rows only, copied together: the same gradient for
/// less work. Which rows are skipped depends on the weights alone, never on threads.
/// A network without hidden layers and with one output (linear and logistic regression)
/// never skips: its pass is one multiply-add per input per row, no more than copying the
/// row would cost, and a zero-weight row adds exactly zero. (With `K` outputs the pass
/// costs `K` multiply-adds per input, so softmax regression does skip.)
fn backward_chunk<F: Float>(
    net: &Network<F>,
    x: &[F],
    rows: usize,
    weights: &[F],
    cw: &mut ChunkWs<F>,
) {
    let live = weights[..rows].iter().filter(|&&w| w != F::zero()).count();
    if live == 0 {
        cw.grad.iter_mut().for_each(|g| *g = F::zero());
        return;
    }
    let hidden = net.layers.len() - 1;
    let single_linear = hidden == 0 && net.head.n_outputs() == 1;
    if single_linear || 4 * live > 3 * rows {
        return backward_rows(net, x, rows, weights, cw);
    }
    let (d, n_out) = (net.n_inputs, net.head.n_outputs());
    let lr = &mut cw.live;
    lr.ensure(net);
    for (k, r) in (0..rows).filter(|&r| weights[r] != F::zero()).enumerate() {
        lr.x[k * d..(k + 1) * d].copy_from_slice(&x[r * d..(r + 1) * d]);
        for l in 0..hidden {
            let h = net.layers[l].fan_out;
            lr.z[l][k * h..(k + 1) * h].copy_from_slice(&cw.z[l][r * h..(r + 1) * h]);
            lr.a[l][k * h..(k + 1) * h].copy_from_slice(&cw.a[l][r * h..(r + 1) * h]);
        }
        lr.dout[k * n_out..(k + 1) * n_out].copy_from_slice(&cw.dout[r * n_out..(r + 1) * n_out]);
        lr.w[k] = weights[r];
    }
    // Run the pass on the copies (swapped in, then back, so the forward pass's buffers
    // stay as they were for another backward pass).
    let swap = |cw: &mut ChunkWs<F>| {
        for l in 0..hidden {
            std::mem::swap(&mut cw.z[l], &mut cw.live.z[l]);
            std::mem::swap(&mut cw.a[l], &mut cw.live.a[l]);
        }
        std::mem::swap(&mut cw.dout, &mut cw.live.dout);
    };
    swap(cw);
    let (lx, lw) = (
        std::mem::take(&mut cw.live.x),
        std::mem::take(&mut cw.live.w),
    );
    backward_rows(net, &lx[..live * d], live, &lw[..live], cw);
    (cw.live.x, cw.live.w) = (lx, lw);
    swap(cw);
}

/// [`backward_chunk`] over all `rows` rows of `x` and the workspace.
fn backward_rows<F: Float>(
    net: &Network<F>,
    x: &[F],
    rows: usize,
    weights: &[F],
    cw: &mut ChunkWs<F>,
) {
    let n_out = net.head.n_outputs();
    let ChunkWs {
        z,
        a,
        dout,
        delta,
        delta_next,
        grad,
        col,
        wt,
        ..
    } = cw;
    for r in 0..rows {
        let wr = weights[r];
        for j in 0..n_out {
            delta[r * n_out + j] = wr * dout[r * n_out + j];
        }
    }
    for (l, ly) in net.layers.iter().enumerate().rev() {
        let (fi, fo) = (ly.fan_in, ly.fan_out);
        let input: &[F] = if l == 0 { x } else { &a[l - 1][..rows * fi] };
        let (gw, gb) = grad[ly.w..ly.b + fo].split_at_mut(fi * fo);
        let d = &delta[..rows * fo];
        if fo == 1 {
            // A GEMV shape: weighted row sums, rows read once while in cache.
            gw.iter_mut().for_each(|g| *g = F::zero());
            axpy_rows(Some(d), input, rows, gw);
            let mut sb = F::zero();
            for &dr in d {
                sb += dr;
            }
            gb[0] = sb;
        } else {
            if fo <= THIN {
                // gWᵀ row j = Σ_r d[r, j] x_r: weighted row sums, one per output.
                let gt = &mut wt[..fo * fi];
                gt.iter_mut().for_each(|g| *g = F::zero());
                for (j, gj) in gt.chunks_exact_mut(fi).enumerate() {
                    for (c, dr) in col.iter_mut().zip(d.chunks_exact(fo)) {
                        *c = dr[j];
                    }
                    axpy_rows(Some(&col[..rows]), input, rows, gj);
                }
                for (i, gr) in gw.chunks_exact_mut(fo).enumerate() {
                    for (j, g) in gr.iter_mut().enumerate() {
                        *g = gt[j * fi + i];
                    }
                }
            } else if fi <= THIN {
                // gW row p = Σ_r x[r, p] d_r: weighted row sums of the deltas.
                gw.iter_mut().for_each(|g| *g = F::zero());
                for (p, gp) in gw.chunks_exact_mut(fo).enumerate() {
                    for (c, xr) in col.iter_mut().zip(input.chunks_exact(fi)) {
                        *c = xr[p];
                    }
                    axpy_rows(Some(&col[..rows]), d, rows, gp);
                }
            } else {
                gemm(
                    F::one(),
                    MatRef::new(input, rows, fi).t(),
                    MatRef::new(d, rows, fo),
                    F::zero(),
                    gw,
                );
            }
            gb.copy_from_slice(&d[..fo]);
            axpy_rows(None, &d[fo..], rows - 1, gb);
        }
        if l > 0 {
            let w = &net.params[ly.w..ly.b];
            let nd = &mut delta_next[..rows * fi];
            if fo <= THIN {
                // δW ᵀ with a thin δ: row updates with W's columns.
                transpose_into(w, fi, fo, wt);
                thin_inner(d, fo, &wt[..fo * fi], None, nd);
            } else if fi <= THIN {
                // A thin result: dot products with W's rows.
                thin_outer(d, w, fi, None, nd);
            } else {
                gemm(
                    F::one(),
                    MatRef::new(d, rows, fo),
                    MatRef::new(w, fi, fo).t(),
                    F::zero(),
                    nd,
                );
            }
            net.activation
                .backprop_slice(&z[l - 1][..rows * fi], &a[l - 1][..rows * fi], nd);
            std::mem::swap(delta, delta_next);
        }
    }
}

impl<F: Float> Network<F> {
    fn check_x(&self, x: &[F], rows: usize) -> Result<()> {
        if x.len() != rows * self.n_inputs {
            return Err(Error::shape(
                "batch features (rows × n_inputs)",
                rows * self.n_inputs,
                x.len(),
            ));
        }
        Ok(())
    }

    fn check_targets(&self, y: TargetsRef<'_, F>) -> Result<()> {
        match (self.head, y) {
            (Head::Regression, TargetsRef::Real(_)) => Ok(()),
            (Head::Binary | Head::Multiclass(_), TargetsRef::Classes(labels)) => {
                // Binary: one logit, two classes; Multiclass(k): exactly k logits.
                let k = match self.head {
                    Head::Binary => 2,
                    h => h.n_outputs(),
                };
                match labels.iter().position(|&l| l >= k) {
                    Some(row) => Err(Error::LabelOutOfRange {
                        label: labels[row],
                        row,
                        n_classes: k,
                    }),
                    None => Ok(()),
                }
            }
            (h, _) => Err(Error::TaskMismatch(format!(
                "targets do not fit a {h:?} head"
            ))),
        }
    }
}

impl<F: Float> Model<F> for Network<F> {
    type Workspace = NetworkWorkspace<F>;

    fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    fn head(&self) -> Head {
        self.head
    }

    fn params(&self) -> &[F] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [F] {
        &mut self.params
    }

    fn workspace(&self) -> Self::Workspace {
        NetworkWorkspace::default()
    }

    fn forward(
        &self,
        x: &[F],
        y: TargetsRef<'_, F>,
        ws: &mut Self::Workspace,
        losses: &mut [F],
        par: Par,
    ) -> Result<()> {
        let rows = y.len();
        if rows == 0 {
            return Err(Error::Empty("forward on an empty batch".into()));
        }
        if losses.len() != rows {
            return Err(Error::shape("losses buffer", rows, losses.len()));
        }
        self.check_x(x, rows)?;
        self.check_targets(y)?;
        ws.ensure(self, rows);
        let d = self.n_inputs;
        let n_out = self.head.n_outputs();
        let head = self.head;
        let work = |(c, (cw, lc)): (usize, (&mut ChunkWs<F>, &mut [F]))| {
            let r0 = c * CHUNK_ROWS;
            let nr = lc.len();
            forward_chunk(self, &x[r0 * d..(r0 + nr) * d], nr, cw);
            let yc = y.slice(r0..r0 + nr);
            let out = &cw.z[self.layers.len() - 1][..nr * n_out];
            loss_chunk(head, out, yc, lc, &mut cw.dout[..nr * n_out]);
        };
        let nch = num_chunks(rows);
        if par.fan_out(rows, self.params.len()) {
            ws.chunks[..nch]
                .par_iter_mut()
                .zip(losses.par_chunks_mut(CHUNK_ROWS))
                .enumerate()
                .for_each(work);
        } else {
            ws.chunks[..nch]
                .iter_mut()
                .zip(losses.chunks_mut(CHUNK_ROWS))
                .enumerate()
                .for_each(work);
        }
        Ok(())
    }

    fn backward(
        &self,
        x: &[F],
        ws: &mut Self::Workspace,
        weights: &[F],
        grad: &mut [F],
        par: Par,
    ) -> Result<()> {
        let rows = ws.rows;
        if rows == 0 || ws.chunks.is_empty() {
            return Err(Error::Empty("backward before any forward pass".into()));
        }
        if !ws.fits(self) {
            return Err(Error::shape(
                "workspace (last forward pass was of another network)",
                format!(
                    "layers {:?}",
                    self.layers
                        .iter()
                        .map(|l| (l.fan_in, l.fan_out))
                        .collect::<Vec<_>>()
                ),
                format!("layers {:?}", ws.shape),
            ));
        }
        if weights.len() != rows {
            return Err(Error::shape(
                "weights (one per batch sample)",
                rows,
                weights.len(),
            ));
        }
        if grad.len() != self.params.len() {
            return Err(Error::shape(
                "gradient buffer",
                self.params.len(),
                grad.len(),
            ));
        }
        self.check_x(x, rows)?;
        let d = self.n_inputs;
        let work = |(c, (cw, wc)): (usize, (&mut ChunkWs<F>, &[F]))| {
            let r0 = c * CHUNK_ROWS;
            let nr = wc.len();
            backward_chunk(self, &x[r0 * d..(r0 + nr) * d], nr, wc, cw);
        };
        let nch = num_chunks(rows);
        if par.fan_out(rows, self.params.len()) {
            ws.chunks[..nch]
                .par_iter_mut()
                .zip(weights.par_chunks(CHUNK_ROWS))
                .enumerate()
                .for_each(work);
        } else {
            ws.chunks[..nch]
                .iter_mut()
                .zip(weights.chunks(CHUNK_ROWS))
                .enumerate()
                .for_each(work);
        }
        // Fixed-order reduction of the per-chunk partial gradients.
        grad.copy_from_slice(&ws.chunks[0].grad);
        for cw in &ws.chunks[1..nch] {
            add_assign(grad, &cw.grad);
        }
        Ok(())
    }

    fn count_correct(&self, ws: &NetworkWorkspace<F>, labels: &[usize]) -> Option<usize> {
        let k = self.head.n_outputs();
        let last = self.layers.len() - 1;
        if !self.head.is_classifier() || labels.len() != ws.rows || ws.chunks.is_empty() {
            return None;
        }
        let mut hits = 0;
        for (c, ys) in labels.chunks(CHUNK_ROWS).enumerate() {
            let out = &ws.chunks.get(c)?.z.get(last)?[..ys.len() * k];
            hits += out
                .chunks_exact(k)
                .zip(ys)
                .filter(|(o, y)| super::class_of(o) == **y)
                .count();
        }
        Some(hits)
    }

    type Chunk = NetworkChunk<F>;

    fn chunk_workspace(&self) -> NetworkChunk<F> {
        // The row buffers are sized on the first chunk that has to be gathered (a chunk
        // whose rows are one run of the data set is read in place and never needs them;
        // sizing them here would double the memory of full-batch training, which has a
        // slot per chunk of the data set).
        NetworkChunk {
            xb: Vec::new(),
            yr: Vec::new(),
            yc: Vec::new(),
            ws: ChunkWs::for_training(self),
        }
    }

    fn train_chunk(
        &self,
        batch: BatchView<'_, F>,
        cw: &mut NetworkChunk<F>,
        losses: &mut [F],
        weights: &mut [F],
        weigh: &mut Weigh<'_, F>,
    ) -> Result<()> {
        let rows = batch.len();
        if rows == 0 || rows > CHUNK_ROWS {
            return Err(Error::shape(
                "chunk rows",
                format!("1..={CHUNK_ROWS}"),
                rows,
            ));
        }
        if losses.len() != rows {
            return Err(Error::shape("chunk losses", rows, losses.len()));
        }
        if weights.len() != rows {
            return Err(Error::shape("chunk weights", rows, weights.len()));
        }
        if batch.n_features() != self.n_inputs {
            return Err(Error::shape(
                "feature columns",
                self.n_inputs,
                batch.n_features(),
            ));
        }
        if !cw.ws.fits(self) {
            // A workspace of another network: resized once, then reused.
            cw.ws = ChunkWs::for_training(self);
        }
        let NetworkChunk { xb, yr, yc, ws } = cw;
        let (x, y) = match batch.as_contiguous() {
            Some(xy) => xy,
            None => {
                if xb.len() != CHUNK_ROWS * self.n_inputs {
                    xb.resize(CHUNK_ROWS * self.n_inputs, F::zero());
                    yr.resize(CHUNK_ROWS, F::zero());
                    yc.resize(CHUNK_ROWS, 0);
                }
                batch.gather(xb, yr, yc)
            }
        };
        self.check_targets(y)?;
        let n_out = self.head.n_outputs();
        if self.layers.len() == 1 && n_out == 1 {
            linear_chunk(self, x, y, rows, losses, weights, weigh, ws);
            return Ok(());
        }
        forward_chunk(self, x, rows, ws);
        let out = &ws.z[self.layers.len() - 1][..rows * n_out];
        loss_chunk(self.head, out, y, losses, &mut ws.dout[..rows * n_out]);
        weigh(0, losses, weights);
        backward_chunk(self, x, rows, weights, ws);
        Ok(())
    }

    fn chunk_gradient(cw: &NetworkChunk<F>) -> &[F] {
        &cw.ws.grad
    }

    fn outputs(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        if x.ncols() != self.n_inputs {
            return Err(Error::shape("feature columns", self.n_inputs, x.ncols()));
        }
        if x.nrows() == 0 {
            return Err(Error::Empty("no rows to predict".into()));
        }
        crate::data::check_finite_pub("features", x)?;
        let xs = x.as_standard_layout();
        let xs = xs.as_slice().expect("standard layout is contiguous");
        let rows = x.nrows();
        let n_out = self.head.n_outputs();
        let mut out = Array2::zeros((rows, n_out));
        let mut ws = NetworkWorkspace::default();
        ws.ensure(self, CHUNK_ROWS.min(rows));
        let last = self.layers.len() - 1;
        let d = self.n_inputs;
        let o = out.as_slice_mut().expect("fresh array is contiguous");
        for (c, oc) in o.chunks_mut(CHUNK_ROWS * n_out).enumerate() {
            let r0 = c * CHUNK_ROWS;
            let nr = oc.len() / n_out;
            forward_chunk(self, &xs[r0 * d..(r0 + nr) * d], nr, &mut ws.chunks[0]);
            oc.copy_from_slice(&ws.chunks[0].z[last][..nr * n_out]);
        }
        Ok(out)
    }
}
