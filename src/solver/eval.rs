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
    let n = data.n_samples();
    let d = data.n_features();
    let x = data.x_slice();
    let mut out = vec![F::zero(); n];
    for start in (0..n).step_by(EVAL_BLOCK) {
        let end = (start + EVAL_BLOCK).min(n);
        let y = slice_targets(data.targets(), start, end);
        model.forward(&x[start * d..end * d], y, ws, &mut out[start..end], par)?;
    }
    Ok(out)
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
    let d = data.n_features();
    let x = data.x_slice();
    let mut total = vec![F::zero(); model.n_params()];
    let mut part = vec![F::zero(); model.n_params()];
    let mut l = vec![F::zero(); EVAL_BLOCK.min(n)];
    for start in (0..n).step_by(EVAL_BLOCK) {
        let end = (start + EVAL_BLOCK).min(n);
        let xb = &x[start * d..end * d];
        model.forward(
            xb,
            slice_targets(data.targets(), start, end),
            ws,
            &mut l[..end - start],
            par,
        )?;
        model.backward(xb, ws, &weights[start..end], &mut part, par)?;
        add_assign(&mut total, &part);
    }
    Ok(total)
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
