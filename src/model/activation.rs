use serde::{Deserialize, Serialize};

use crate::Float;

/// Hidden-layer activation functions, applied element-wise.
///
/// GELU is the tanh approximation `½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))`
/// (PyTorch's `GELU(approximate="tanh")`).
///
/// ```
/// use feasible::model::Activation;
/// assert_eq!(Activation::Relu.apply(-2.0_f64), 0.0);
/// assert_eq!(Activation::Tanh.derivative(0.0_f64, 0.0), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(z, 0)`.
    Relu,
    /// `tanh(z)`.
    Tanh,
    /// `1 / (1 + e^{−z})`.
    Sigmoid,
    /// Gaussian error linear unit (tanh approximation).
    Gelu,
}

crate::linalg::simd_kernel! {
    /// `a[i] = max(z[i], 0)`: branch-free, SIMD where the CPU has it.
    fn relu<F: Float>(z: &[F], a: &mut [F]) {
        for (ai, &zi) in a.iter_mut().zip(z) {
            *ai = zi.max(F::zero());
        }
    }
}

crate::linalg::simd_kernel! {
    /// `delta[i] = 0` where `z[i] ≤ 0` (a select, not a branch), SIMD where the CPU has it.
    fn relu_backprop<F: Float>(z: &[F], delta: &mut [F]) {
        for (d, &zi) in delta.iter_mut().zip(z) {
            *d = if zi > F::zero() { *d } else { F::zero() };
        }
    }
}

const GELU_C: f64 = 0.797_884_560_802_865_4; // √(2/π)
const GELU_A: f64 = 0.044_715;

impl Activation {
    /// `σ(z)`.
    #[inline(always)]
    pub fn apply<F: Float>(self, z: F) -> F {
        match self {
            Activation::Relu => z.max(F::zero()),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => crate::loss::sigmoid(z),
            Activation::Gelu => {
                let u = F::lit(GELU_C) * (z + F::lit(GELU_A) * z * z * z);
                F::lit(0.5) * z * (F::one() + u.tanh())
            }
        }
    }

    /// `σ'(z)`, given both the input `z` and the output `a = σ(z)` (each activation uses
    /// whichever is cheaper).
    #[inline(always)]
    pub fn derivative<F: Float>(self, z: F, a: F) -> F {
        match self {
            Activation::Relu => {
                if z > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Activation::Tanh => F::one() - a * a,
            Activation::Sigmoid => a * (F::one() - a),
            Activation::Gelu => {
                let c = F::lit(GELU_C);
                let k = F::lit(GELU_A);
                let t = (c * (z + k * z * z * z)).tanh();
                let half = F::lit(0.5);
                half * (F::one() + t)
                    + half * z * (F::one() - t * t) * c * (F::one() + F::lit(3.0) * k * z * z)
            }
        }
    }

    /// Applies the activation to a slice: `a[i] = σ(z[i])`.
    #[inline]
    pub fn apply_slice<F: Float>(self, z: &[F], a: &mut [F]) {
        match self {
            // Branch-free form so the loop vectorises.
            Activation::Relu => relu(z, a),
            _ => {
                for (ai, &zi) in a.iter_mut().zip(z) {
                    *ai = self.apply(zi);
                }
            }
        }
    }

    /// Multiplies `delta` by `σ'` element-wise: `delta[i] *= σ'(z[i])`.
    #[inline]
    pub fn backprop_slice<F: Float>(self, z: &[F], a: &[F], delta: &mut [F]) {
        match self {
            Activation::Relu => relu_backprop(z, delta),
            _ => {
                for ((d, &zi), &ai) in delta.iter_mut().zip(z).zip(a) {
                    *d *= self.derivative(zi, ai);
                }
            }
        }
    }

    /// Parses `relu`, `tanh`, `sigmoid` or `gelu`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Some(Activation::Relu),
            "tanh" => Some(Activation::Tanh),
            "sigmoid" => Some(Activation::Sigmoid),
            "gelu" => Some(Activation::Gelu),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The dispatched ReLU kernels match the scalar definitions bit for bit.
        #[test]
        fn relu_kernels_match_scalar(
            z in prop::collection::vec(-5f32..5.0, 0..300),
            seed in 0u32..1000,
        ) {
            let mut a = vec![f32::NAN; z.len()];
            Activation::Relu.apply_slice(&z, &mut a);
            for (&ai, &zi) in a.iter().zip(&z) {
                prop_assert_eq!(ai.to_bits(), Activation::Relu.apply(zi).to_bits());
            }
            let d0: Vec<f32> = (0..z.len()).map(|i| ((i as u32 * 31 + seed) % 17) as f32 - 8.0).collect();
            let mut d = d0.clone();
            Activation::Relu.backprop_slice(&z, &a, &mut d);
            for ((&di, &d0i), &zi) in d.iter().zip(&d0).zip(&z) {
                // A select: +0 (never −0) where the unit is off.
                let want = if Activation::Relu.derivative(zi, 0.0) == 1.0 { d0i } else { 0.0 };
                prop_assert_eq!(di.to_bits(), want.to_bits());
            }
        }
    }
}
