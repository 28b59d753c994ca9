//! Evaluation passes over whole data sets: per-sample losses, accuracy, and the weighted
//! gradient `Σ w_i ∇ℓ_i` (used for the stationarity check), in bounded blocks of rows.

use crate::data::{Dataset, Targets, TargetsRef};
use crate::linalg::add_assign;
use crate::model::{Model, Predictions};
use crate::parallel::Par;
use crate::{Float, Result};

/// Rows per block when evaluating a whole data set (bounds workspace memory).
pub const EVAL_BLOCK: usize = 8192;

/// Per-sample losses of `model` on all of `data`, in blocks of [`EVAL_BLOCK`] rows through a
/// reused workspace.
pub fn losses<F: Float, M: Model<F>>(
    model: &M,
    data: &Dataset<F>,
    ws: &mut M::Workspace,
    par: Par,
) -> Result<Vec<F>> {
    let mut out = vec![F::zero(); data.n_samples()];
    for (rows, x, y) in blocks(data) {
        model.forward(x, y, ws, &mut out[rows], par)?;
    }
    Ok(out)
}

/// Per-sample losses and the classification accuracy (`None` for regression) of `model`
/// on all of `data`, from one forward pass per block when the model keeps its outputs
/// ([`Model::count_correct`]), else with a prediction pass.
pub fn losses_and_accuracy<F: Float, M: Model<F>>(
    model: &M,
    data: &Dataset<F>,
    ws: &mut M::Workspace,
    par: Par,
) -> Result<(Vec<F>, Option<f64>)> {
    let mut out = vec![F::zero(); data.n_samples()];
    let mut hits = Some(0usize);
    for (rows, x, y) in blocks(data) {
        model.forward(x, y, ws, &mut out[rows], par)?;
        hits = match (hits, y) {
            (Some(h), TargetsRef::Classes(labels)) => {
                model.count_correct(ws, labels).map(|c| h + c)
            }
            _ => None,
        };
    }
    let acc = match (data.targets(), hits) {
        (Targets::Real(_), _) => None,
        (Targets::Classes { labels, .. }, Some(h)) if model.head().is_classifier() => {
            Some(h as f64 / labels.len() as f64)
        }
        _ => accuracy(model, data)?,
    };
    Ok((out, acc))
}

/// Classification accuracy of `model` on `data` (`None` for regression).
pub fn accuracy<F: Float, M: Model<F>>(model: &M, data: &Dataset<F>) -> Result<Option<f64>> {
    let Targets::Classes { labels, .. } = data.targets() else {
        return Ok(None);
    };
    match model.predict(data.x())? {
        Predictions::Classes(p) => {
            let ok = p.iter().zip(labels).filter(|(a, b)| a == b).count();
            Ok(Some(ok as f64 / labels.len() as f64))
        }
        Predictions::Values(_) => Ok(None),
    }
}

/// `Σ_i w_i ∇_θ ℓ_i` over all of `data` (blocks summed in order), e.g. the Lagrangian's
/// gradient `Σ λ_i ∇ℓ_i` for the stationarity check.
pub fn weighted_gradient<F: Float, M: Model<F>>(
    model: &M,
    data: &Dataset<F>,
    weights: &[F],
    ws: &mut M::Workspace,
    par: Par,
) -> Result<Vec<F>> {
    let n = data.n_samples();
    if weights.len() != n {
        return Err(crate::Error::shape(
            "weights (one per sample)",
            n,
            weights.len(),
        ));
    }
    let mut total = vec![F::zero(); model.n_params()];
    let mut part = vec![F::zero(); model.n_params()];
    let mut l = vec![F::zero(); EVAL_BLOCK.min(n)];
    for (rows, x, y) in blocks(data) {
        model.forward(x, y, ws, &mut l[..rows.len()], par)?;
        model.backward(x, ws, &weights[rows], &mut part, par)?;
        add_assign(&mut total, &part);
    }
    Ok(total)
}

/// The fixed [`EVAL_BLOCK`]-row blocks of `data`: row range, features, targets.
fn blocks<F: Float>(
    data: &Dataset<F>,
) -> impl Iterator<Item = (std::ops::Range<usize>, &[F], TargetsRef<'_, F>)> {
    let (n, d, x) = (data.n_samples(), data.n_features(), data.x_slice());
    (0..n).step_by(EVAL_BLOCK).map(move |start| {
        let end = (start + EVAL_BLOCK).min(n);
        (
            start..end,
            &x[start * d..end * d],
            slice_targets(data.targets(), start, end),
        )
    })
}

pub(crate) fn slice_targets<F: Float>(
    t: &Targets<F>,
    start: usize,
    end: usize,
) -> TargetsRef<'_, F> {
    match t {
        Targets::Real(y) => TargetsRef::Real(&y[start..end]),
        Targets::Classes { labels, .. } => TargetsRef::Classes(&labels[start..end]),
    }
}
