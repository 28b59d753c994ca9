//! Writes one of each `feasible::report` plot from synthetic numbers, to look at them.
//!
//! `cargo run --example report_demo -- OUT_DIR` (default: the current directory).

use std::path::PathBuf;

use feasible::report;

fn main() -> feasible::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let n = 500;
    // Deterministic "random" uniforms.
    let u = |i: usize, k: usize| ((i * 7919 + k * 104_729) % 1000) as f64 / 1000.0 + 5e-4;
    // ERM: most losses tiny, a heavy tail; FL: all near ε; RFL: in between.
    let erm: Vec<f64> = (0..n).map(|i| 1e-4 * (12.0 * u(i, 1)).exp()).collect();
    let fl: Vec<f64> = (0..n).map(|i| 0.1 * u(i, 2).powf(0.3)).collect();
    let rfl: Vec<f64> = (0..n)
        .map(|i| {
            if i % 25 == 0 {
                0.0
            } else {
                0.12 * u(i, 3).powf(0.5)
            }
        })
        .collect();
    let series: [(&str, &[f64]); 3] = [("ERM", &erm), ("FL", &fl), ("RFL", &rfl)];
    report::loss_ecdf(
        out.join("ecdf.svg"),
        "Per-sample training loss",
        &series,
        true,
        Some(0.1),
    )?;
    report::loss_ecdf(
        out.join("ecdf_lin.svg"),
        "Per-sample training loss",
        &series,
        false,
        Some(0.1),
    )?;

    let lambdas: Vec<f64> = (0..n)
        .map(|i| {
            if u(i, 4) < 0.6 {
                0.0
            } else {
                3.0 * u(i, 5).powi(2)
            }
        })
        .collect();
    report::histogram(
        out.join("hist.svg"),
        "FL multipliers",
        "λ",
        &lambdas,
        30,
        false,
    )?;
    report::histogram(
        out.join("hist_log.svg"),
        "FL multipliers",
        "λ",
        &lambdas,
        30,
        true,
    )?;

    let epochs = 60;
    let mean_erm: Vec<f64> = (0..epochs).map(|e| 2.0 * (-0.1 * e as f64).exp()).collect();
    let mean_fl: Vec<f64> = (0..epochs)
        .map(|e| 0.05 + 2.0 * (-0.2 * e as f64).exp())
        .collect();
    report::curves(
        out.join("curves.svg"),
        "Mean training loss",
        "epoch",
        "mean loss",
        &[("ERM", &mean_erm), ("FL", &mean_fl)],
        true,
    )?;
    let feas_erm: Vec<f64> = (0..epochs).map(|e| (e as f64 / 80.0).min(0.7)).collect();
    let feas_fl: Vec<f64> = (0..epochs).map(|e| (e as f64 / 30.0).min(1.0)).collect();
    report::curves(
        out.join("feasible.svg"),
        "Fraction of samples with ℓ_i ≤ ε",
        "epoch",
        "feasible fraction",
        &[("ERM", &feas_erm), ("FL", &feas_fl)],
        false,
    )?;

    let xs: Vec<f64> = (0..15).map(|i| -1.0 + 2.0 * i as f64 / 14.0).collect();
    let ys: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| x * x * x - x + 0.2 * (u(i, 6) - 0.5))
        .collect();
    let grid: Vec<f64> = (0..300).map(|i| -1.1 + 2.2 * i as f64 / 299.0).collect();
    let smooth: Vec<f64> = grid.iter().map(|x| x * x * x - x).collect();
    let wild: Vec<f64> = grid
        .iter()
        .map(|x| x * x * x - x + 40.0 * x.powi(14) * (9.0 * x).sin())
        .collect();
    report::fits_1d(
        out.join("fits.svg"),
        "Polynomial regression, degree 14",
        (&xs, &ys),
        &[("FL", &grid, &smooth), ("ERM", &grid, &wild)],
    )?;
    println!("wrote plots to {}", out.display());
    Ok(())
}
