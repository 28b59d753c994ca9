use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{Dataset, Targets};
use crate::{Error, Float, Result};

/// Per-feature standardisation `(x − mean) / std`, fitted on one set and applied to others.
///
/// Features with zero spread keep a scale of 1 (they are only centred). Statistics are
/// computed in `f64` whatever the data's precision.
///
/// ```
/// use feasible::data::{Dataset, Standardizer};
/// use ndarray::array;
/// let train = Dataset::regression(array![[1.0, 5.0], [3.0, 5.0]], vec![0.0, 1.0]).unwrap();
/// let s = Standardizer::fit(&train).unwrap();
/// let z = s.transform(&train).unwrap();
/// assert_eq!(z.x().row(0).to_vec(), vec![-1.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
// Unknown fields are errors: a model file from a newer writer must not load with a
// preprocessing step silently dropped (docs/model_format.md).
#[serde(deny_unknown_fields)]
pub struct Standardizer {
    /// Per-feature means.
    pub mean: Vec<f64>,
    /// Per-feature standard deviations (population), 1 where a feature is constant.
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits means and standard deviations on `data`'s features.
    pub fn fit<F: Float>(data: &Dataset<F>) -> Result<Self> {
        let (n, d) = (data.n_samples(), data.n_features());
        let mut mean = vec![0.0; d];
        for row in data.x().outer_iter() {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v.to_f64_lossless();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for row in data.x().outer_iter() {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                let c = v.to_f64_lossless() - m;
                *s += c * c;
            }
        }
        let scale = var
            .into_iter()
            .map(|s| {
                let sd = (s / n as f64).sqrt();
                if sd > 1e-12 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Self { mean, scale })
    }

    /// Number of features this scaler expects.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Checks that the statistics are usable (same length, finite, positive scales).
    pub fn validate(&self) -> Result<()> {
        if self.mean.len() != self.scale.len() {
            return Err(Error::shape(
                "standardizer scale",
                self.mean.len(),
                self.scale.len(),
            ));
        }
        if self.mean.iter().chain(&self.scale).any(|v| !v.is_finite())
            || self.scale.iter().any(|&s| s <= 0.0)
        {
            return Err(Error::Format(
                "standardizer holds non-finite or non-positive values".into(),
            ));
        }
        Ok(())
    }

    /// Scales a feature matrix.
    pub fn transform_x<F: Float>(&self, x: ndarray::ArrayView2<'_, F>) -> Result<Array2<F>> {
        if x.ncols() != self.n_features() {
            return Err(Error::shape(
                "features to standardise",
                self.n_features(),
                x.ncols(),
            ));
        }
        let mut out = x.to_owned();
        for mut row in out.outer_iter_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = F::lit((v.to_f64_lossless() - m) / s);
            }
        }
        Ok(out)
    }

    /// Scales a data set's features (targets unchanged).
    pub fn transform<F: Float>(&self, data: &Dataset<F>) -> Result<Dataset<F>> {
        data.with_x(self.transform_x(data.x())?)
    }
}

/// Standardisation of a regression target: `(y − mean) / std`, with its inverse.
///
/// ```
/// use feasible::data::{Dataset, TargetScaler};
/// use ndarray::array;
/// let d = Dataset::regression(array![[0.0], [1.0]], vec![10.0, 20.0]).unwrap();
/// let s = TargetScaler::fit(&d).unwrap();
/// assert_eq!((s.mean, s.scale), (15.0, 5.0));
/// assert_eq!(s.inverse(-1.0), 10.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
// Unknown fields are errors: a model file from a newer writer must not load with a
// preprocessing step silently dropped (docs/model_format.md).
#[serde(deny_unknown_fields)]
pub struct TargetScaler {
    /// Mean of the target.
    pub mean: f64,
    /// Standard deviation of the target (1 if constant).
    pub scale: f64,
}

impl TargetScaler {
    /// Fits on a regression data set; fails on a classification one.
    pub fn fit<F: Float>(data: &Dataset<F>) -> Result<Self> {
        let Targets::Real(y) = data.targets() else {
            return Err(Error::TaskMismatch(
                "target scaling needs a regression data set".into(),
            ));
        };
        let n = y.len() as f64;
        let mean = y.iter().map(|v| v.to_f64_lossless()).sum::<f64>() / n;
        let var = y
            .iter()
            .map(|v| (v.to_f64_lossless() - mean).powi(2))
            .sum::<f64>()
            / n;
        let sd = var.sqrt();
        Ok(Self {
            mean,
            scale: if sd > 1e-12 { sd } else { 1.0 },
        })
    }

    /// Scales the targets of a regression data set.
    pub fn transform<F: Float>(&self, data: &Dataset<F>) -> Result<Dataset<F>> {
        let Targets::Real(y) = data.targets() else {
            return Err(Error::TaskMismatch(
                "target scaling needs a regression data set".into(),
            ));
        };
        let y = y
            .iter()
            .map(|v| F::lit((v.to_f64_lossless() - self.mean) / self.scale))
            .collect();
        data.with_targets(Targets::Real(y))
    }

    /// Maps a scaled prediction back to the original units.
    pub fn inverse(&self, z: f64) -> f64 {
        z * self.scale + self.mean
    }
}
