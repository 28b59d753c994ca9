//! Linear regression on the embedded diabetes data: FL at a few ε against ERM.
//!
//! `cargo run --release --example diabetes [-- OUT_DIR]` (plots default to `out/diabetes`)

use feasible::experiments::{DiabetesConfig, diabetes, render_table, rows_of};
use feasible::report;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "out/diabetes".into());
    std::fs::create_dir_all(&out)?;
    let cfg = DiabetesConfig::default();
    let runs = diabetes(&cfg)?;
    let e0 = cfg.epsilons.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "Diabetes (442 × 10; features and target standardised on the seeded 80% training split); linear regression;"
    );
    println!(
        "Adam lr {}, {} full-batch epochs; FL at ε ∈ {:?} (dual lr {}); RFL at ε = {e0}, α = {}.",
        cfg.lr, cfg.epochs, cfg.epsilons, cfg.dual_lr, cfg.alpha
    );
    println!(
        "Loss: squared error on the standardised target; 'feasible' column at ε = {e0} for every row.\n"
    );
    print!("{}", render_table(&rows_of(&runs)));
    println!("\nFeasible fraction (ℓ_i ≤ ε) at each FL run's own ε, ERM beside it:\n");
    println!("| ε | ERM train | FL train | ERM test | FL test |\n|---|---|---|---|---|");
    let frac =
        |v: &[f64], e: f64| 100.0 * v.iter().filter(|&&l| l <= e).count() as f64 / v.len() as f64;
    for (k, &e) in cfg.epsilons.iter().enumerate() {
        let (erm, fl) = (&runs[0], &runs[k + 1]);
        println!(
            "| {e} | {:.2}% | {:.2}% | {:.2}% | {:.2}% |",
            frac(&erm.train_losses, e),
            frac(&fl.train_losses, e),
            frac(&erm.test_losses, e),
            frac(&fl.test_losses, e)
        );
    }
    let series: Vec<(&str, &[f64])> = runs
        .iter()
        .map(|r| (r.label.as_str(), r.train_losses.as_slice()))
        .collect();
    report::loss_ecdf(
        format!("{out}/loss_ecdf.svg"),
        "Diabetes: per-sample training losses",
        &series,
        true,
        Some(e0),
    )?;
    println!("\nPlots written to {out}/");
    Ok(())
}
