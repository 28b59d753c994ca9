//! Seeded synthetic data: two moons, a 1-D polynomial toy, and large dense sets for
//! benchmarks. Every generator draws in `f64` from a seeded xoshiro stream and rounds
//! once, so `f32` and `f64` versions of a set agree to `f32` precision.
//!
//! ```
//! use feasible::data::synthetic;
//! let moons = synthetic::two_moons::<f64>(100, 0.1, 0).unwrap();
//! assert_eq!((moons.n_samples(), moons.n_features()), (100, 2));
//! let again = synthetic::two_moons::<f64>(100, 0.1, 0).unwrap();
//! assert_eq!(moons, again);
//! ```

use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Dataset, Targets};
use crate::{Error, Float, Result};

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn check_noise(noise: f64) -> Result<()> {
    if !(noise >= 0.0 && noise.is_finite()) {
        return Err(Error::param("noise", noise, "must be finite and ≥ 0"));
    }
    Ok(())
}

/// Two interleaving half circles (as scikit-learn's `make_moons`): `⌈n/2⌉` points on the
/// outer moon (class 0), the rest on the inner one (class 1), Gaussian noise of standard
/// deviation `noise` on both coordinates, then a seeded shuffle.
pub fn two_moons<F: Float>(n: usize, noise: f64, seed: u64) -> Result<Dataset<F>> {
    check_noise(noise)?;
    if n < 2 {
        return Err(Error::Empty("two moons need at least 2 points".into()));
    }
    let mut r = rng(seed);
    let n_out = n.div_ceil(2);
    let n_in = n - n_out;
    let mut x = Array2::zeros((n, 2));
    let mut labels = vec![0usize; n];
    let pi = std::f64::consts::PI;
    for i in 0..n {
        let (a, b, l) = if i < n_out {
            let t = if n_out > 1 {
                pi * i as f64 / (n_out - 1) as f64
            } else {
                0.0
            };
            (t.cos(), t.sin(), 0)
        } else {
            let j = i - n_out;
            let t = if n_in > 1 {
                pi * j as f64 / (n_in - 1) as f64
            } else {
                0.0
            };
            (1.0 - t.cos(), 1.0 - t.sin() - 0.5, 1)
        };
        let e0: f64 = StandardNormal.sample(&mut r);
        let e1: f64 = StandardNormal.sample(&mut r);
        x[[i, 0]] = F::lit(a + noise * e0);
        x[[i, 1]] = F::lit(b + noise * e1);
        labels[i] = l;
    }
    Dataset::new(
        x,
        Targets::Classes {
            labels,
            n_classes: 2,
        },
    )
    .map(|d| d.shuffled(seed ^ 0x9E37_79B9))
}

/// A 1-D regression toy: `x` uniform in `[-1, 1]`, `y = sin(πx) + 0.3·x + noise·N(0,1)`.
/// One feature (raw `x`); expand with [`polynomial_features`].
pub fn polynomial_toy<F: Float>(n: usize, noise: f64, seed: u64) -> Result<Dataset<F>> {
    check_noise(noise)?;
    if n == 0 {
        return Err(Error::Empty("polynomial toy needs at least 1 point".into()));
    }
    let mut r = rng(seed);
    let mut x = Array2::zeros((n, 1));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let xi: f64 = r.random_range(-1.0..=1.0);
        let e: f64 = StandardNormal.sample(&mut r);
        x[[i, 0]] = F::lit(xi);
        y.push(F::lit(polynomial_truth(xi) + noise * e));
    }
    Dataset::regression(x, y)
}

/// The noise-free function behind [`polynomial_toy`].
pub fn polynomial_truth(x: f64) -> f64 {
    (std::f64::consts::PI * x).sin() + 0.3 * x
}

/// Maps a one-column feature matrix to `[x, x², …, x^degree]` (no constant column: the
/// models carry a bias).
pub fn polynomial_features<F: Float>(
    x: ndarray::ArrayView2<'_, F>,
    degree: usize,
) -> Result<Array2<F>> {
    if x.ncols() != 1 {
        return Err(Error::shape(
            "polynomial features input columns",
            1,
            x.ncols(),
        ));
    }
    if degree == 0 {
        return Err(Error::param("degree", degree, "must be ≥ 1"));
    }
    Ok(Array2::from_shape_fn((x.nrows(), degree), |(i, k)| {
        x[[i, 0]].powi(k as i32 + 1)
    }))
}

/// What a [`dense`] data set's targets are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseTask {
    /// `y = x·w* + 0.1·N(0,1)`, `w* ~ N(0, 1/d)`.
    Regression,
    /// `y ~ Bernoulli(σ(x·w*))`, `w* ~ N(0, 9/d)` (as the PyTorch reference benchmark).
    Binary,
    /// `y = argmax(x W* + 0.5·√d·N(0, I))` over `k` classes, `W* ~ N(0, 1)`.
    Multiclass(usize),
}

/// A large dense data set for benchmarks: `x ~ N(0, I_d)`, `n × d`, seeded.
pub fn dense<F: Float>(n: usize, d: usize, task: DenseTask, seed: u64) -> Result<Dataset<F>> {
    if n == 0 || d == 0 {
        return Err(Error::Empty("dense data needs n ≥ 1 and d ≥ 1".into()));
    }
    let Some(len) = n.checked_mul(d).filter(|&l| l <= isize::MAX as usize / 8) else {
        return Err(Error::param(
            "n",
            n,
            format!("{n} × {d} features do not fit in memory"),
        ));
    };
    let mut r = rng(seed);
    let mut xs = vec![0.0f64; len];
    for v in xs.iter_mut() {
        *v = StandardNormal.sample(&mut r);
    }
    let x = Array2::from_shape_vec((n, d), xs.iter().map(|&v| F::lit(v)).collect())
        .map_err(|_| Error::shape("features", len, xs.len()))?;
    let targets = match task {
        DenseTask::Regression | DenseTask::Binary => {
            let sd = if task == DenseTask::Binary { 3.0 } else { 1.0 } / (d as f64).sqrt();
            let w: Vec<f64> = (0..d)
                .map(|_| {
                    sd * {
                        let e: f64 = StandardNormal.sample(&mut r);
                        e
                    }
                })
                .collect();
            let z: Vec<f64> = xs
                .chunks_exact(d)
                .map(|row| row.iter().zip(&w).map(|(a, b)| a * b).sum())
                .collect();
            if task == DenseTask::Regression {
                Targets::Real(
                    z.iter()
                        .map(|&zi| {
                            F::lit(
                                zi + 0.1 * {
                                    let e: f64 = StandardNormal.sample(&mut r);
                                    e
                                },
                            )
                        })
                        .collect(),
                )
            } else {
                let labels = z
                    .iter()
                    .map(|&zi| usize::from(r.random::<f64>() < 1.0 / (1.0 + (-zi).exp())))
                    .collect();
                Targets::Classes {
                    labels,
                    n_classes: 2,
                }
            }
        }
        DenseTask::Multiclass(k) => {
            if k < 2 {
                return Err(Error::param(
                    "n_classes",
                    k,
                    "at least 2 classes are needed",
                ));
            }
            let w: Vec<f64> = (0..d * k).map(|_| StandardNormal.sample(&mut r)).collect();
            let s = 0.5 * (d as f64).sqrt();
            let mut scores = vec![0.0; k];
            let labels = xs
                .chunks_exact(d)
                .map(|row| {
                    scores.iter_mut().for_each(|v| *v = 0.0);
                    for (j, xj) in row.iter().enumerate() {
                        for (c, sc) in scores.iter_mut().enumerate() {
                            *sc += xj * w[j * k + c];
                        }
                    }
                    for sc in scores.iter_mut() {
                        *sc += s * {
                            let e: f64 = StandardNormal.sample(&mut r);
                            e
                        };
                    }
                    scores
                        .iter()
                        .enumerate()
                        .fold(
                            (0, f64::NEG_INFINITY),
                            |b, (c, &v)| if v > b.1 { (c, v) } else { b },
                        )
                        .0
                })
                .collect();
            Targets::Classes {
                labels,
                n_classes: k,
            }
        }
    };
    Dataset::new(x, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_seeded_and_shaped() {
        let a = dense::<f32>(50, 7, DenseTask::Multiclass(4), 3).unwrap();
        assert_eq!(a, dense::<f32>(50, 7, DenseTask::Multiclass(4), 3).unwrap());
        assert_ne!(a, dense::<f32>(50, 7, DenseTask::Multiclass(4), 4).unwrap());
        let b = dense::<f64>(20, 3, DenseTask::Binary, 1).unwrap();
        assert_eq!(b.task(), crate::data::Task::Classification { n_classes: 2 });
        let p = polynomial_toy::<f64>(15, 0.1, 0).unwrap();
        let f = polynomial_features(p.x(), 5).unwrap();
        assert_eq!(f.dim(), (15, 5));
        assert!((f[[3, 2]] - p.x()[[3, 0]].powi(3)).abs() < 1e-15);
        assert!(two_moons::<f64>(10, -1.0, 0).is_err());
        assert!(dense::<f64>(0, 3, DenseTask::Binary, 0).is_err());
        let m = two_moons::<f64>(11, 0.0, 0).unwrap();
        let crate::data::Targets::Classes { labels, .. } = m.targets() else {
            panic!()
        };
        assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 6);
    }
}
