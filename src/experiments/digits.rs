use super::MethodRun;
use super::quickstart::{run_method, split_standardized};
use crate::Result;
use crate::data::embedded;
use crate::model::{Activation, Head, Mlp};
use crate::solver::{Method, Optimizer, TrainerParams};

/// Settings of the digits comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct DigitsConfig {
    /// Hidden widths of the MLP.
    pub hidden: Vec<usize>,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Dual learning rate (FL, RFL).
    pub dual_lr: f64,
    /// ε for FL, RFL and CSERM (and the feasibility columns).
    pub epsilon: f64,
    /// RFL's α.
    pub alpha: f64,
    /// CVaR's β.
    pub beta: f64,
    /// Seed of the split, initialisation and batches.
    pub seed: u64,
    /// Use only the first `n` samples (reduced-size runs); `None`: all 1797.
    pub limit: Option<usize>,
}

impl Default for DigitsConfig {
    fn default() -> Self {
        Self {
            hidden: vec![64],
            epochs: 60,
            batch_size: 64,
            lr: 1e-3,
            dual_lr: 0.5,
            epsilon: (1.0f64 / 0.6).ln(),
            alpha: 1.0,
            beta: 0.9,
            seed: 0,
            limit: None,
        }
    }
}

/// ERM, CSERM, CVaR, FL and RFL side by side: an MLP on the embedded digits
/// (standardised pixels, seeded 80/20 split), Adam with mini-batches.
///
/// ```
/// use feasible::experiments::{digits, DigitsConfig};
/// let cfg = DigitsConfig { epochs: 1, limit: Some(300), hidden: vec![8], ..Default::default() };
/// assert_eq!(digits(&cfg).unwrap().len(), 5);
/// ```
pub fn digits(cfg: &DigitsConfig) -> Result<Vec<MethodRun>> {
    let mut data = embedded::digits::<f32>();
    if let Some(n) = cfg.limit {
        let idx: Vec<usize> = (0..n.min(data.n_samples())).collect();
        data = data.shuffled(cfg.seed).select(&idx)?;
    }
    let (train, test) = split_standardized(&data, cfg.seed)?;
    let model = Mlp::new(train.n_features(), Head::Multiclass(10))
        .hidden(&cfg.hidden)
        .activation(Activation::Relu)
        .seed(cfg.seed)
        .build::<f32>()?;
    let base = |m: Method| {
        TrainerParams::new(m)
            .optimizer(Optimizer::adam(cfg.lr))
            .dual_lr(cfg.dual_lr)
            .epochs(cfg.epochs)
            .batch_size(cfg.batch_size.min(train.n_samples()))
            .eval_every(5)
            .report_epsilon(cfg.epsilon)
            .seed(cfg.seed)
    };
    let e = cfg.epsilon;
    let methods = [
        ("ERM".to_string(), Method::Erm),
        ("CSERM".to_string(), Method::Cserm { epsilon: e }),
        (
            format!("CVaR β={}", cfg.beta),
            Method::Cvar { beta: cfg.beta },
        ),
        ("FL".to_string(), Method::Fl { epsilon: e }),
        (
            format!("RFL α={}", cfg.alpha),
            Method::Rfl {
                epsilon: e,
                alpha: cfg.alpha,
            },
        ),
    ];
    methods
        .into_iter()
        .map(|(label, m)| Ok(run_method(label, base(m), model.clone(), &train, &test)?.0))
        .collect()
}
