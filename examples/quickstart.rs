//! FL against ERM on the embedded breast-cancer data, logistic regression.
//!
//! `cargo run --release --example quickstart [-- EPSILON]`

use feasible::experiments::{QuickstartConfig, quickstart, render_table, rows_of};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = QuickstartConfig::default();
    if let Some(e) = std::env::args().nth(1) {
        cfg.epsilon = e.parse()?;
    }
    let runs = quickstart(&cfg)?;
    println!(
        "Breast cancer (569 × 30, standardised, seeded 80/20 split), logistic regression, Adam lr {}, {} full-batch epochs.",
        cfg.lr, cfg.epochs
    );
    println!(
        "FL: every training sample's loss ≤ ε = {} (dual lr {}).\n",
        cfg.epsilon, cfg.dual_lr
    );
    print!("{}", render_table(&rows_of(&runs)));
    if let Some(l) = &runs[1].multipliers {
        let active = l.iter().filter(|&&v| v > 0.0).count();
        let max = l.iter().copied().fold(0.0, f64::max);
        println!(
            "\nFL multipliers: {active} of {} active (λ > 0), max λ = {max:.3}",
            l.len()
        );
    }
    Ok(())
}
