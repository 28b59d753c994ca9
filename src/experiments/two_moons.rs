use super::MethodRun;
use super::quickstart::run_method;
use crate::data::synthetic;
use crate::model::{Activation, Head, Init, Mlp};
use crate::solver::{Method, Optimizer, TrainerParams};
use crate::{Error, Result};

/// The reference paper's two-moons setting (defaults) and its size knobs.
#[derive(Clone, Debug, PartialEq)]
pub struct TwoMoonsConfig {
    /// Training points (512).
    pub n_train: usize,
    /// Validation points (128).
    pub n_val: usize,
    /// Noise of the moons (0.1).
    pub noise: f64,
    /// Hidden widths (70, 70).
    pub hidden: Vec<usize>,
    /// AdamW learning rate (5e-4; weight decay 0.01, β = (0.9, 0.999), 1e-8).
    pub lr: f64,
    /// Full-batch epochs (250).
    pub epochs: usize,
    /// ε = ln(1/0.6): every sample's true-class probability ≥ 0.6.
    pub epsilon: f64,
    /// Dual learning rate (1e-2).
    pub dual_lr: f64,
    /// RFL's α (1).
    pub alpha: f64,
    /// Seeds (0–4): data, initialisation.
    pub seeds: Vec<u64>,
}

impl Default for TwoMoonsConfig {
    fn default() -> Self {
        Self {
            n_train: 512,
            n_val: 128,
            noise: 0.1,
            hidden: vec![70, 70],
            lr: 5e-4,
            epochs: 250,
            epsilon: (1.0f64 / 0.6).ln(),
            dual_lr: 1e-2,
            alpha: 1.0,
            seeds: (0..5).collect(),
        }
    }
}

/// The runs of one seed: `[ERM, FL, RFL]`.
pub type SeedRuns = Vec<MethodRun>;

/// Two moons: MLP 2→70→70→2 (ReLU, PyTorch's default initialisation), AdamW, full batch;
/// ERM, FL and RFL per seed. Returns one `[ERM, FL, RFL]` triple per seed.
///
/// ```
/// use feasible::experiments::{two_moons, TwoMoonsConfig};
/// let cfg = TwoMoonsConfig { n_train: 64, n_val: 16, hidden: vec![8], epochs: 5, seeds: vec![0], ..Default::default() };
/// let runs = two_moons(&cfg).unwrap();
/// assert_eq!(runs[0].len(), 3);
/// ```
pub fn two_moons(cfg: &TwoMoonsConfig) -> Result<Vec<SeedRuns>> {
    if cfg.seeds.is_empty() {
        return Err(Error::Empty("no seeds".into()));
    }
    cfg.seeds
        .iter()
        .map(|&seed| {
            let all = synthetic::two_moons::<f32>(cfg.n_train + cfg.n_val, cfg.noise, seed)?;
            let idx: Vec<usize> = (0..cfg.n_train + cfg.n_val).collect();
            let (train, val) = (
                all.select(&idx[..cfg.n_train])?,
                all.select(&idx[cfg.n_train..])?,
            );
            let model = Mlp::new(2, Head::Multiclass(2))
                .hidden(&cfg.hidden)
                .activation(Activation::Relu)
                .init(Init::TorchDefault)
                .seed(seed)
                .build::<f32>()?;
            let base = |m: Method| {
                TrainerParams::new(m)
                    .optimizer(Optimizer::adamw(cfg.lr))
                    .dual_lr(cfg.dual_lr)
                    .epochs(cfg.epochs)
                    .full_batch()
                    .report_epsilon(cfg.epsilon)
                    .seed(seed)
            };
            let eps = cfg.epsilon;
            Ok(vec![
                run_method("ERM", base(Method::Erm), model.clone(), &train, &val)?.0,
                run_method(
                    "FL",
                    base(Method::Fl { epsilon: eps }),
                    model.clone(),
                    &train,
                    &val,
                )?
                .0,
                run_method(
                    format!("RFL α={}", cfg.alpha),
                    base(Method::Rfl {
                        epsilon: eps,
                        alpha: cfg.alpha,
                    }),
                    model,
                    &train,
                    &val,
                )?
                .0,
            ])
        })
        .collect()
}
