//! ERM, CSERM, CVaR (β = 0.9), FL and RFL side by side: an MLP on the embedded digits.
//!
//! `cargo run --release --example digits [-- OUT_DIR]` (plots default to `out/digits`)

use feasible::experiments::{DigitsConfig, digits, render_table, rows_of};
use feasible::report;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "out/digits".into());
    std::fs::create_dir_all(&out)?;
    let cfg = DigitsConfig::default();
    let runs = digits(&cfg)?;
    println!(
        "Digits (1797 × 64, standardised, seeded 80/20 split); MLP 64→{:?}→10 ReLU; Adam lr {}; batch {}; {} epochs;",
        cfg.hidden, cfg.lr, cfg.batch_size, cfg.epochs
    );
    println!(
        "ε = ln(1/0.6) = {:.4} for FL, RFL (α = {}) and CSERM; dual lr {}.\n",
        cfg.epsilon, cfg.alpha, cfg.dual_lr
    );
    print!("{}", render_table(&rows_of(&runs)));
    let series: Vec<(&str, &[f64])> = runs
        .iter()
        .map(|r| (r.label.as_str(), r.train_losses.as_slice()))
        .collect();
    report::loss_ecdf(
        format!("{out}/loss_ecdf.svg"),
        "Digits: per-sample training losses",
        &series,
        true,
        Some(cfg.epsilon),
    )?;
    if let Some(l) = &runs[3].multipliers {
        report::histogram(
            format!("{out}/multipliers_fl.svg"),
            "Digits: FL multipliers",
            "λ",
            l,
            40,
            true,
        )?;
    }
    println!("\nPlots written to {out}/");
    Ok(())
}
