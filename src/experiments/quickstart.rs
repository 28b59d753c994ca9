use super::MethodRun;
use crate::data::{Dataset, Standardizer, embedded};
use crate::model::{Model, Network};
use crate::solver::{Method, Optimizer, TrainError, TrainerParams};
use crate::{Error, Float, Result};

/// Settings of the quickstart: FL against ERM, logistic regression on breast cancer.
#[derive(Clone, Debug, PartialEq)]
pub struct QuickstartConfig {
    /// The per-sample target ε for FL (and for the feasibility columns); default
    /// `ln(1/0.6)`: every sample's true-class probability at least 0.6.
    pub epsilon: f64,
    /// Full-batch epochs.
    pub epochs: usize,
    /// Adam learning rate (both methods).
    pub lr: f64,
    /// FL's dual learning rate.
    pub dual_lr: f64,
    /// Split seed.
    pub seed: u64,
}

impl Default for QuickstartConfig {
    fn default() -> Self {
        Self {
            epsilon: (1.0f64 / 0.6).ln(),
            epochs: 1000,
            lr: 0.01,
            dual_lr: 0.5,
            seed: 0,
        }
    }
}

/// Fits `params` from `model` on `train`, evaluating on `test`, into a [`MethodRun`].
pub(crate) fn run_method<F: Float, M: Model<F>>(
    label: impl Into<String>,
    params: TrainerParams,
    model: M,
    train: &Dataset<F>,
    test: &Dataset<F>,
) -> Result<(MethodRun, M)> {
    let fit = params
        .check()?
        .fit(model, train, Some(test))
        .map_err(|e| match e {
            TrainError::Invalid(e) => e,
            d @ TrainError::Diverged { .. } => Error::Diverged(d.to_string()),
        })?;
    let to64 = |v: &[F]| v.iter().map(|x| x.to_f64_lossless()).collect::<Vec<f64>>();
    let mut ws = fit.model.workspace();
    let test_losses = to64(&crate::solver::eval::losses(
        &fit.model,
        test,
        &mut ws,
        crate::parallel::Par::Rayon,
    )?);
    Ok((
        MethodRun {
            label: label.into(),
            train: fit.train.clone(),
            test: fit.validation.clone().expect("a test set was given"),
            train_losses: to64(&fit.train_losses),
            test_losses,
            multipliers: fit.multipliers.as_deref().map(to64),
            history: fit.history.clone(),
        },
        fit.model,
    ))
}

/// Standardised, seeded 80/20 split of an embedded data set.
pub(crate) fn split_standardized<F: Float>(
    data: &Dataset<F>,
    seed: u64,
) -> Result<(Dataset<F>, Dataset<F>)> {
    let (train, test) = data.train_test_split(0.2, seed)?;
    let s = Standardizer::fit(&train)?;
    Ok((s.transform(&train)?, s.transform(&test)?))
}

/// FL against ERM on the embedded breast-cancer data (standardised, seeded 80/20 split),
/// logistic regression trained full-batch with Adam. Returns `[ERM, FL]`.
///
/// ```
/// use feasible::experiments::{quickstart, QuickstartConfig};
/// let runs = quickstart(&QuickstartConfig { epochs: 20, ..Default::default() }).unwrap();
/// assert_eq!(runs.len(), 2);
/// assert!(runs[1].multipliers.is_some());
/// ```
pub fn quickstart(cfg: &QuickstartConfig) -> Result<Vec<MethodRun>> {
    let data = embedded::breast_cancer::<f64>();
    let (train, test) = split_standardized(&data, cfg.seed)?;
    let d = train.n_features();
    let base = |m: Method| {
        TrainerParams::new(m)
            .optimizer(Optimizer::adam(cfg.lr))
            .epochs(cfg.epochs)
            .eval_every(10)
            .report_epsilon(cfg.epsilon)
            .seed(cfg.seed)
    };
    let (erm, _) = run_method(
        "ERM",
        base(Method::Erm),
        Network::logistic_regression(d),
        &train,
        &test,
    )?;
    let (fl, _) = run_method(
        format!("FL ε={:.3}", cfg.epsilon),
        base(Method::Fl {
            epsilon: cfg.epsilon,
        })
        .dual_lr(cfg.dual_lr),
        Network::logistic_regression(d),
        &train,
        &test,
    )?;
    Ok(vec![erm, fl])
}
