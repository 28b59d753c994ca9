//! # feasible — Feasible Learning on the CPU
//!
//! Empirical risk minimisation (ERM) minimises the *average* training loss. Feasible
//! Learning (FL; Ramirez et al., AISTATS 2025) instead asks that **every** training sample
//! be learned well: find parameters `θ` with `ℓ_i(θ) ≤ ε` for all `i`. It is solved by
//! primal-dual gradient descent-ascent on the Lagrangian `Σ_i λ_i (ℓ_i(θ) − ε)`, with one
//! multiplier `λ_i ≥ 0` per sample that acts as a learned per-sample weight.
//!
//! The crate is laid out as the pipeline it implements:
//!
//! | module | holds |
//! |---|---|
//! | [`data`] | [`Dataset`], scaling, splits, mini-batches, embedded and synthetic data |
//! | [`model`] | linear / logistic / softmax regression and MLPs, with hand-derived gradients |
//! | [`loss`] | per-sample losses and their derivatives |
//! | [`solver`] | the primal-dual trainer (FL, RFL) and the ERM, CSERM, CVaR baselines |
//! | [`metrics`] | tail metrics (max, quantiles, CVaR, feasible fraction) and KKT reports |
//! | [`report`] | SVG plots (loss ECDFs, multiplier histograms, training curves, fits) |
//! | [`experiments`] | the reproduction experiments behind the examples |
//! | [`io`] | saved models (JSON, atomic writes) and the loaded, ready-to-predict model |
//! | [`linalg`], [`parallel`] | GEMM and vector kernels; deterministic chunked parallelism |
//!
//! All numeric code is generic over [`Float`] (`f32` or `f64`).

#![warn(missing_docs)]

pub mod data;
mod error;
pub mod experiments;
mod float;
pub mod io;
pub mod linalg;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod parallel;
pub mod report;
pub mod solver;

pub use data::Dataset;
pub use error::{Error, Result};
pub use float::Float;
pub use model::{Model, Network};

/// The README's code examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
