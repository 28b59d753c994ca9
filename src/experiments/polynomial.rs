use super::MethodRun;
use super::quickstart::run_method;
use crate::data::synthetic::{polynomial_features, polynomial_toy, polynomial_truth};
use crate::data::{Dataset, Standardizer};
use crate::model::{Model, Network, Predictions};
use crate::solver::{Method, Optimizer, TrainerParams};
use crate::{Error, Result};

/// Settings of the polynomial-regression toy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialConfig {
    /// Training points (few).
    pub n_train: usize,
    /// Held-out points drawn from the same distribution.
    pub n_test: usize,
    /// Noise standard deviation.
    pub noise: f64,
    /// Degree of the feature map `[x, x², …, x^degree]`.
    pub degree: usize,
    /// FL's ε (squared error).
    pub epsilon: f64,
    /// Full-batch epochs.
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Dual learning rate.
    pub dual_lr: f64,
    /// Data seed.
    pub seed: u64,
    /// Points of the plotting grid over `[-1, 1]`.
    pub grid: usize,
}

impl Default for PolynomialConfig {
    fn default() -> Self {
        Self {
            n_train: 20,
            n_test: 500,
            noise: 0.1,
            degree: 15,
            epsilon: 0.02,
            epochs: 20_000,
            lr: 0.01,
            dual_lr: 1.0,
            seed: 0,
            grid: 400,
        }
    }
}

/// The polynomial toy's runs and fitted curves.
#[derive(Clone, Debug)]
pub struct PolynomialResult {
    /// `[ERM, FL]`.
    pub runs: Vec<MethodRun>,
    /// Training points `(x, y)`.
    pub points: (Vec<f64>, Vec<f64>),
    /// The plotting grid.
    pub grid: Vec<f64>,
    /// Predictions on the grid: truth, ERM, FL.
    pub curves: Vec<(String, Vec<f64>)>,
}

/// ERM against FL with a small ε on a high-degree polynomial regression with few noisy
/// points (features standardised on the training points).
///
/// ```
/// use feasible::experiments::{polynomial, PolynomialConfig};
/// let r = polynomial(&PolynomialConfig { epochs: 50, grid: 20, ..Default::default() }).unwrap();
/// assert_eq!(r.curves.len(), 3);
/// ```
pub fn polynomial(cfg: &PolynomialConfig) -> Result<PolynomialResult> {
    if cfg.grid < 2 {
        return Err(Error::param("grid", cfg.grid, "needs at least 2 points"));
    }
    let expand = |d: &Dataset<f64>| -> Result<Dataset<f64>> {
        Dataset::new(polynomial_features(d.x(), cfg.degree)?, d.targets().clone())
    };
    let raw = polynomial_toy::<f64>(cfg.n_train, cfg.noise, cfg.seed)?;
    let raw_test = polynomial_toy::<f64>(cfg.n_test, cfg.noise, cfg.seed + 1_000)?;
    let (train, test) = (expand(&raw)?, expand(&raw_test)?);
    let s = Standardizer::fit(&train)?;
    let (train, test) = (s.transform(&train)?, s.transform(&test)?);
    let base = |m: Method| {
        TrainerParams::new(m)
            .optimizer(Optimizer::adam(cfg.lr))
            .dual_lr(cfg.dual_lr)
            .epochs(cfg.epochs)
            .eval_every((cfg.epochs / 200).max(1))
            .report_epsilon(cfg.epsilon)
            .seed(cfg.seed)
    };
    let d = train.n_features();
    let (erm, erm_model) = run_method(
        "ERM",
        base(Method::Erm),
        Network::linear_regression(d),
        &train,
        &test,
    )?;
    let (fl, fl_model) = run_method(
        format!("FL ε={}", cfg.epsilon),
        base(Method::Fl {
            epsilon: cfg.epsilon,
        }),
        Network::linear_regression(d),
        &train,
        &test,
    )?;
    let grid: Vec<f64> = (0..cfg.grid)
        .map(|i| -1.0 + 2.0 * i as f64 / (cfg.grid - 1) as f64)
        .collect();
    let gx = ndarray::Array2::from_shape_vec((cfg.grid, 1), grid.clone())
        .map_err(|_| Error::shape("grid", cfg.grid, grid.len()))?;
    let gf = s.transform_x(polynomial_features(gx.view(), cfg.degree)?.view())?;
    let predict = |m: &Network<f64>| -> Result<Vec<f64>> {
        match m.predict(gf.view())? {
            Predictions::Values(v) => Ok(v),
            Predictions::Classes(_) => Err(Error::TaskMismatch("regression expected".into())),
        }
    };
    let curves = vec![
        (
            "truth".to_string(),
            grid.iter().map(|&x| polynomial_truth(x)).collect(),
        ),
        ("ERM".to_string(), predict(&erm_model)?),
        (fl.label.clone(), predict(&fl_model)?),
    ];
    let ys = match raw.targets() {
        crate::data::Targets::Real(y) => y.clone(),
        crate::data::Targets::Classes { .. } => unreachable!("polynomial toy is regression"),
    };
    Ok(PolynomialResult {
        runs: vec![erm, fl],
        points: (raw.x().column(0).to_vec(), ys),
        grid,
        curves,
    })
}
