use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::Activation;
use crate::Float;

/// How a network's parameters are initialised (always from a seed).
///
/// ```
/// use feasible::model::{Activation, Head, Init, Mlp, Model};
/// let a = Mlp::new(2, Head::Multiclass(2)).hidden(&[8]).init(Init::TorchDefault).seed(3).build::<f64>().unwrap();
/// let b = Mlp::new(2, Head::Multiclass(2)).hidden(&[8]).init(Init::TorchDefault).seed(3).build::<f64>().unwrap();
/// assert_eq!(a.params(), b.params());
/// // PyTorch's default: every weight and bias within ±1/√fan_in.
/// assert!(a.params()[..16].iter().all(|w| w.abs() <= 1.0 / 2f64.sqrt()));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// He-normal (`N(0, 2/fan_in)`) for ReLU and GELU layers, Xavier-normal for tanh and
    /// sigmoid layers and for the output layer; zero biases. Linear models start at zero.
    #[default]
    Auto,
    /// He-normal weights `N(0, 2/fan_in)` everywhere, zero biases.
    He,
    /// Xavier/Glorot-normal weights `N(0, 2/(fan_in + fan_out))`, zero biases.
    Xavier,
    /// PyTorch's default for `nn.Linear`: weights and biases uniform in `±1/√fan_in`.
    TorchDefault,
    /// All zeros (the usual start of a convex linear model).
    Zeros,
}

/// Fills `w` (`fan_in × fan_out`) and `b` (`fan_out`) of one layer.
pub(crate) fn init_layer<F: Float>(
    init: Init,
    activation: Option<Activation>,
    fan_in: usize,
    fan_out: usize,
    w: &mut [F],
    b: &mut [F],
    rng: &mut Xoshiro256PlusPlus,
) {
    let normal = |sd: f64, w: &mut [F], rng: &mut Xoshiro256PlusPlus| {
        for v in w.iter_mut() {
            let e: f64 = StandardNormal.sample(rng);
            *v = F::lit(sd * e);
        }
    };
    let he = (2.0 / fan_in as f64).sqrt();
    let xavier = (2.0 / (fan_in + fan_out) as f64).sqrt();
    b.iter_mut().for_each(|v| *v = F::zero());
    match init {
        Init::Zeros => w.iter_mut().for_each(|v| *v = F::zero()),
        Init::He => normal(he, w, rng),
        Init::Xavier => normal(xavier, w, rng),
        Init::Auto => match activation {
            Some(Activation::Relu | Activation::Gelu) => normal(he, w, rng),
            _ => normal(xavier, w, rng),
        },
        Init::TorchDefault => {
            let bound = 1.0 / (fan_in as f64).sqrt();
            for v in w.iter_mut().chain(b.iter_mut()) {
                *v = F::lit(rng.random_range(-bound..bound));
            }
        }
    }
}

pub(crate) fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}
