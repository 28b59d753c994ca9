use super::MethodRun;
use super::quickstart::run_method;
use crate::Result;
use crate::data::{Standardizer, TargetScaler, embedded};
use crate::model::Network;
use crate::solver::{Method, Optimizer, TrainerParams};

/// Settings of the diabetes comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct DiabetesConfig {
    /// The ε values FL is run at (squared error on the standardised target).
    pub epsilons: Vec<f64>,
    /// Full-batch epochs.
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Dual learning rate.
    pub dual_lr: f64,
    /// RFL's α, run at the smallest ε.
    pub alpha: f64,
    /// Split seed.
    pub seed: u64,
}

impl Default for DiabetesConfig {
    fn default() -> Self {
        Self {
            epsilons: vec![0.5, 1.0, 2.0],
            epochs: 2000,
            lr: 0.01,
            dual_lr: 0.05,
            alpha: 1.0,
            seed: 0,
        }
    }
}

/// Linear regression on the embedded diabetes data (features and target standardised
/// on the training split): ERM against FL at each ε, and RFL at the smallest ε. The
/// feasibility columns of every run use the smallest ε; each FL run's own ε is in its
/// label. Returns `[ERM, FL ε₁, FL ε₂, …, RFL]`.
///
/// ```
/// use feasible::experiments::{diabetes, DiabetesConfig};
/// let runs = diabetes(&DiabetesConfig { epochs: 10, ..Default::default() }).unwrap();
/// assert_eq!(runs.len(), 5);
/// ```
pub fn diabetes(cfg: &DiabetesConfig) -> Result<Vec<MethodRun>> {
    if cfg.epsilons.is_empty() {
        return Err(crate::Error::Empty("no ε values".into()));
    }
    let data = embedded::diabetes::<f64>();
    let (train, test) = data.train_test_split(0.2, cfg.seed)?;
    let xs = Standardizer::fit(&train)?;
    let ys = TargetScaler::fit(&train)?;
    let train = ys.transform(&xs.transform(&train)?)?;
    let test = ys.transform(&xs.transform(&test)?)?;
    let d = train.n_features();
    let e0 = cfg.epsilons.iter().copied().fold(f64::INFINITY, f64::min);
    let base = |m: Method| {
        TrainerParams::new(m)
            .optimizer(Optimizer::adam(cfg.lr))
            .dual_lr(cfg.dual_lr)
            .epochs(cfg.epochs)
            .eval_every(20)
            .report_epsilon(e0)
            .seed(cfg.seed)
    };
    let mut runs = vec![
        run_method(
            "ERM",
            base(Method::Erm),
            Network::linear_regression(d),
            &train,
            &test,
        )?
        .0,
    ];
    for &e in &cfg.epsilons {
        let (mut r, _) = run_method(
            format!("FL ε={e}"),
            base(Method::Fl { epsilon: e }),
            Network::linear_regression(d),
            &train,
            &test,
        )?;
        // Feasibility columns at the common ε for comparability.
        r.train = crate::metrics::LossSummary::from_losses(&r.train_losses, Some(e0))?;
        r.test = crate::metrics::LossSummary::from_losses(&r.test_losses, Some(e0))?;
        runs.push(r);
    }
    let rfl = Method::Rfl {
        epsilon: e0,
        alpha: cfg.alpha,
    };
    runs.push(
        run_method(
            format!("RFL ε={e0} α={}", cfg.alpha),
            base(rfl),
            Network::linear_regression(d),
            &train,
            &test,
        )?
        .0,
    );
    Ok(runs)
}
