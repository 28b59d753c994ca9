//! The reference paper's two-moons setting: ERM, FL and RFL (α = 1) over seeds 0–4,
//! mean ± std of every metric, and plots for seed 0.
//!
//! `cargo run --release --example two_moons [-- OUT_DIR]` (plots default to `out/two_moons`)

use std::time::Instant;

use feasible::experiments::{TwoMoonsConfig, render_seed_table, two_moons};
use feasible::report;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "out/two_moons".into());
    std::fs::create_dir_all(&out)?;
    let cfg = TwoMoonsConfig::default();
    let t0 = Instant::now();
    let seeds = two_moons(&cfg)?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "Two moons: {} train / {} validation points, noise {}; MLP 2→{:?}→2 ReLU (PyTorch init); AdamW lr {}; {} full-batch epochs;",
        cfg.n_train, cfg.n_val, cfg.noise, cfg.hidden, cfg.lr, cfg.epochs
    );
    println!(
        "ε = ln(1/0.6) = {:.4}; dual lr {}; seeds {:?}. Mean ± std over seeds ({} runs in {secs:.2} s).\n",
        cfg.epsilon,
        cfg.dual_lr,
        cfg.seeds,
        3 * cfg.seeds.len()
    );
    let mut groups = Vec::new();
    for m in 0..seeds[0].len() {
        for split in ["train", "validation"] {
            let runs = seeds
                .iter()
                .map(|s| {
                    if split == "train" {
                        s[m].train.clone()
                    } else {
                        s[m].test.clone()
                    }
                })
                .collect();
            groups.push((seeds[0][m].label.clone(), split.to_string(), runs));
        }
    }
    print!("{}", render_seed_table(&groups));

    let s0 = &seeds[0];
    let series: Vec<(&str, &[f64])> = s0
        .iter()
        .map(|r| (r.label.as_str(), r.train_losses.as_slice()))
        .collect();
    report::loss_ecdf(
        format!("{out}/loss_ecdf.svg"),
        "Two moons, seed 0: per-sample training losses",
        &series,
        true,
        Some(cfg.epsilon),
    )?;
    if let Some(l) = &s0[1].multipliers {
        report::histogram(
            format!("{out}/multipliers_fl.svg"),
            "FL multipliers (seed 0)",
            "λ",
            l,
            40,
            true,
        )?;
    }
    for (name, title, f, log) in [
        (
            "mean_loss",
            "mean training loss",
            (|r: &feasible::solver::EpochRecord| r.train.mean_loss) as fn(&_) -> f64,
            true,
        ),
        ("max_loss", "max training loss", |r| r.train.max_loss, true),
        (
            "feasible",
            "feasible fraction (ℓ ≤ ε)",
            |r| r.train.feasible_fraction.unwrap_or(0.0),
            false,
        ),
    ] {
        let ys: Vec<Vec<f64>> = s0
            .iter()
            .map(|r| r.history.iter().map(f).collect())
            .collect();
        let series: Vec<(&str, &[f64])> = s0
            .iter()
            .zip(&ys)
            .map(|(r, y)| (r.label.as_str(), y.as_slice()))
            .collect();
        report::curves(
            format!("{out}/curve_{name}.svg"),
            &format!("Two moons, seed 0: {title}"),
            "epoch",
            title,
            &series,
            log,
        )?;
    }
    println!("\nPlots written to {out}/");
    Ok(())
}
