//! Models with hand-derived gradients.
//!
//! Every model implements [`Model`]: a forward pass over a batch that returns each
//! sample's loss `ℓ_i` (keeping in a workspace what the backward pass needs), and a
//! backward pass that returns the **weighted gradient** `Σ_i w_i ∇_θ ℓ_i` for any
//! per-sample weights `w_i`. ERM calls it with `w_i = 1/n`, Feasible Learning with the
//! multipliers `λ_i`, CVaR and CSERM with their own weights: one backward pass serves all.
//!
//! The solver itself drives a model chunk by chunk through [`Model::train_chunk`]: one
//! fused pass over at most 128 rows (gathered by the model from a [`BatchView`]) that
//! computes the losses, lets the solver weigh each row from its loss (the dual step), and
//! writes the chunk's weighted gradient — so a thread touches its rows once per step.
//!
//! The one concrete model, [`Network`], covers the four families:
//!
//! | constructor | layers | head / loss |
//! |---|---|---|
//! | [`Network::linear_regression`] | `d → 1` | squared error |
//! | [`Network::logistic_regression`] | `d → 1` | binary cross-entropy |
//! | [`Network::softmax_regression`] | `d → k` | softmax cross-entropy |
//! | [`Mlp`] builder | `d → h₁ → … → out` | any head |
//!
//! Parameters are one flat, contiguous vector (per layer: `W` row-major `fan_in ×
//! fan_out`, then `b`), which optimisers update in place.
//!
//! ```
//! use feasible::model::{Model, Network};
//! use feasible::data::TargetsRef;
//! use feasible::parallel::Par;
//! let mut m = Network::<f64>::logistic_regression(2);
//! m.params_mut().copy_from_slice(&[1.0, -1.0, 0.5]);
//! let x = [1.0, 2.0, 0.0, 0.0];           // two samples, row-major
//! let mut ws = m.workspace();
//! let mut losses = [0.0; 2];
//! m.forward(&x, TargetsRef::Classes(&[1, 0]), &mut ws, &mut losses, Par::Seq).unwrap();
//! let mut grad = vec![0.0; m.n_params()];
//! m.backward(&x, &mut ws, &[1.0, 0.0], &mut grad, Par::Seq).unwrap(); // gradient of ℓ₀ alone
//! assert!(losses.iter().all(|l| *l > 0.0));
//! ```

mod activation;
mod init;
mod network;

pub use activation::Activation;
pub use init::Init;
pub use network::{Mlp, Network, NetworkChunk, NetworkWorkspace};

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::data::{BatchView, TargetsRef, Task};
use crate::loss::LossKind;
use crate::parallel::Par;
use crate::{Float, Result};

/// The output layer's meaning, which fixes the loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Head {
    /// One real output, squared error.
    Regression,
    /// One logit, binary cross-entropy; labels `0` and `1`.
    Binary,
    /// `k ≥ 2` logits, softmax cross-entropy; labels `0..k`.
    Multiclass(usize),
}

impl Head {
    /// Number of outputs.
    pub fn n_outputs(self) -> usize {
        match self {
            Head::Regression | Head::Binary => 1,
            Head::Multiclass(k) => k,
        }
    }

    /// The loss this head trains with.
    pub fn loss(self) -> LossKind {
        match self {
            Head::Regression => LossKind::SquaredError,
            Head::Binary => LossKind::BinaryCrossEntropy,
            Head::Multiclass(_) => LossKind::SoftmaxCrossEntropy,
        }
    }

    /// The natural head for a task: regression, binary for 2 classes, multiclass above.
    pub fn for_task(task: Task) -> Self {
        match task {
            Task::Regression => Head::Regression,
            Task::Classification { n_classes: 2 } => Head::Binary,
            Task::Classification { n_classes } => Head::Multiclass(n_classes),
        }
    }

    /// Whether the head accepts data of `task`.
    pub fn accepts(self, task: Task) -> bool {
        match (self, task) {
            (Head::Regression, Task::Regression) => true,
            (Head::Binary, Task::Classification { n_classes }) => n_classes == 2,
            (Head::Multiclass(k), Task::Classification { n_classes }) => k == n_classes,
            _ => false,
        }
    }

    /// Whether the head is a classifier.
    pub fn is_classifier(self) -> bool {
        !matches!(self, Head::Regression)
    }
}

/// The callback of [`Model::train_chunk`]: `weigh(offset, losses, weights)` writes the
/// weights of the chunk's rows `offset..offset + losses.len()` from their losses.
pub type Weigh<'a, F> = dyn FnMut(usize, &[F], &mut [F]) + 'a;

/// The class a classifier's outputs predict: logit `> 0` for one output (binary),
/// otherwise the first largest logit.
#[inline]
pub(crate) fn class_of<F: Float>(out: &[F]) -> usize {
    match out {
        [z] => usize::from(*z > F::zero()),
        _ => {
            out.iter()
                .enumerate()
                .fold(
                    (0, F::neg_infinity()),
                    |b, (c, &v)| if v > b.1 { (c, v) } else { b },
                )
                .0
        }
    }
}

/// What [`Model::predict`] returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Predictions<F> {
    /// Real values (regression).
    Values(Vec<F>),
    /// Class ids (classification).
    Classes(Vec<usize>),
}

/// A differentiable model with per-sample losses and a weighted backward pass.
///
/// The contract: after [`forward`](Model::forward) on a batch, [`backward`](Model::backward)
/// with weights `w` writes `Σ_i w_i ∇_θ ℓ_i` for that batch into `grad`, without running
/// the forward pass again. Both are deterministic for any [`Par`] and any thread count.
/// The solver trains through [`train_chunk`](Model::train_chunk), whose own contract is
/// stated there.
pub trait Model<F: Float>: Clone + Send + Sync {
    /// Pre-planned scratch memory: activations, output derivatives, per-chunk gradients.
    /// It grows to the largest batch seen and is then reused without allocation.
    type Workspace: Send;

    /// Number of input features `d`.
    fn n_inputs(&self) -> usize;

    /// The output head (and so the loss).
    fn head(&self) -> Head;

    /// The flat parameter vector `θ`.
    fn params(&self) -> &[F];

    /// The flat parameter vector, mutable (optimisers update it in place).
    fn params_mut(&mut self) -> &mut [F];

    /// Number of parameters.
    fn n_params(&self) -> usize {
        self.params().len()
    }

    /// A fresh workspace for this model.
    fn workspace(&self) -> Self::Workspace;

    /// Computes each sample's loss on the batch `x` (`rows × d`, row-major) with targets
    /// `y`, writing `losses[i] = ℓ(f_θ(x_i), y_i)`, and keeps what
    /// [`backward`](Model::backward) needs in `ws`.
    ///
    /// Errors on shape mismatch or targets of the wrong kind; the model's parameters are
    /// not checked for finiteness here (the solver does that once per step).
    fn forward(
        &self,
        x: &[F],
        y: TargetsRef<'_, F>,
        ws: &mut Self::Workspace,
        losses: &mut [F],
        par: Par,
    ) -> Result<()>;

    /// Writes `Σ_i weights[i] ∇_θ ℓ_i` over the last forward batch into `grad`
    /// (overwriting it). `x` must be the batch given to that forward pass (it is not
    /// copied into the workspace); `weights.len()` must equal the batch size.
    fn backward(
        &self,
        x: &[F],
        ws: &mut Self::Workspace,
        weights: &[F],
        grad: &mut [F],
        par: Par,
    ) -> Result<()>;

    /// Scratch memory of one row chunk of the fused training pass
    /// ([`train_chunk`](Model::train_chunk)): the chunk's gathered rows, activations and
    /// partial gradient. The solver keeps one per chunk of its largest batch.
    type Chunk: Send + Sync;

    /// A fresh chunk workspace, sized for [`CHUNK_ROWS`](crate::parallel::CHUNK_ROWS) rows.
    fn chunk_workspace(&self) -> Self::Chunk;

    /// The fused training pass over one chunk (at most
    /// [`CHUNK_ROWS`](crate::parallel::CHUNK_ROWS) rows of `batch`):
    /// writes each row's loss into `losses`, calls `weigh(offset, losses, weights)` on
    /// consecutive runs of rows covering the chunk in order (`losses[offset..]`, the same
    /// range of `weights`) so the caller can choose each row's weight from its loss (the
    /// solver's dual step happens there), and writes `Σ_r weights[r] ∇_θ ℓ_r` over the
    /// chunk into the chunk's gradient, read back by [`chunk_gradient`](Model::chunk_gradient).
    /// A model may weigh a few rows at a time and use each row's weight while the row is
    /// still in cache.
    ///
    /// What an implementation must do (the solver checks the first two and fails the step
    /// with a shape error otherwise):
    /// - call `weigh` on consecutive runs of rows that cover the chunk exactly once, in
    ///   order, before using the weights (each call is a dual step for those rows);
    /// - leave a gradient of exactly [`n_params`](Model::n_params) values;
    /// - compute a result that depends only on its inputs, never on which thread runs it:
    ///   the solver runs chunks concurrently and sums their gradients in chunk order, so
    ///   this is what makes training bit-identical for any number of threads.
    ///
    /// [`Network`]'s implementation is moreover bit-identical to
    /// [`forward`](Model::forward) and [`backward`](Model::backward) on a batch holding the
    /// chunk's rows.
    ///
    /// ```
    /// use feasible::data::{BatchView, TargetsRef};
    /// use feasible::model::{Model, Network};
    /// let mut m = Network::<f64>::logistic_regression(1);
    /// m.params_mut().copy_from_slice(&[2.0, 0.0]);
    /// let x = [1.0, -1.0, 3.0];
    /// let y = [1, 1, 0];
    /// let batch = BatchView::indexed(&x, TargetsRef::Classes(&y), 1, &[0, 1]).unwrap();
    /// let mut cw = m.chunk_workspace();
    /// let (mut losses, mut weights) = ([0.0; 2], [0.0; 2]);
    /// m.train_chunk(batch, &mut cw, &mut losses, &mut weights, &mut |_, l, w| {
    ///     // Only the sample with the larger loss counts.
    ///     for (w, l) in w.iter_mut().zip(l) { *w = if *l > 1.0 { 1.0 } else { 0.0 }; }
    /// }).unwrap();
    /// assert!(losses[1] > 1.0 && losses[0] < 1.0);
    /// // ∂ℓ₁/∂w = (σ(−2) − 1)·(−1) > 0, and ℓ₀ has weight 0.
    /// assert!(Network::chunk_gradient(&cw)[0] > 0.0);
    /// ```
    fn train_chunk(
        &self,
        batch: BatchView<'_, F>,
        cw: &mut Self::Chunk,
        losses: &mut [F],
        weights: &mut [F],
        weigh: &mut Weigh<'_, F>,
    ) -> Result<()>;

    /// The gradient the last [`train_chunk`](Model::train_chunk) on `cw` wrote
    /// ([`n_params`](Model::n_params) values).
    fn chunk_gradient(cw: &Self::Chunk) -> &[F];

    /// How many rows of the last [`forward`](Model::forward) batch a classifier gets
    /// right (`labels` are that batch's labels), read from the outputs the forward pass
    /// kept — the same decision rule as [`predict`](Model::predict), without a second
    /// pass. `None` when the model does not keep its outputs (callers then predict).
    fn count_correct(&self, _ws: &Self::Workspace, _labels: &[usize]) -> Option<usize> {
        None
    }

    /// Raw outputs (values or logits), `n × n_outputs`.
    fn outputs(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>>;

    /// Predicted values (regression) or class ids (classification).
    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Predictions<F>> {
        let out = self.outputs(x)?;
        Ok(match self.head() {
            Head::Regression => Predictions::Values(out.column(0).to_vec()),
            Head::Binary | Head::Multiclass(_) => Predictions::Classes(
                out.outer_iter()
                    .map(|r| class_of(r.as_slice().expect("fresh array is contiguous")))
                    .collect(),
            ),
        })
    }

    /// Class probabilities, `n × n_classes` (2 columns for a binary head). Errors for a
    /// regression head.
    fn predict_proba(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        let out = self.outputs(x)?;
        match self.head() {
            Head::Regression => Err(crate::Error::TaskMismatch(
                "predict_proba needs a classifier".into(),
            )),
            Head::Binary => Ok(Array2::from_shape_fn((out.nrows(), 2), |(i, c)| {
                let p = crate::loss::sigmoid(out[[i, 0]]);
                if c == 1 { p } else { F::one() - p }
            })),
            Head::Multiclass(k) => {
                let mut p = Array2::zeros((out.nrows(), k));
                for (zr, mut pr) in out.outer_iter().zip(p.outer_iter_mut()) {
                    let z = zr.to_vec();
                    let pv = pr.as_slice_mut().expect("fresh array is contiguous");
                    crate::loss::softmax(&z, pv);
                }
                Ok(p)
            }
        }
    }
}
