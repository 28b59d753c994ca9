use std::fmt::Write;

use crate::metrics::LossSummary;

/// Mean and (sample) standard deviation of a metric over seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanStd {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds (0 for one seed).
    pub std: f64,
}

impl MeanStd {
    /// Mean and standard deviation of `v` (non-empty).
    pub fn of(v: &[f64]) -> Self {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self {
            mean,
            std: var.sqrt(),
        }
    }
}

/// Metric columns of [`render_seed_table`]: (header, extractor).
type Column = (&'static str, fn(&LossSummary) -> Option<f64>);

const COLUMNS: [Column; 8] = [
    ("mean loss", |s| Some(s.mean_loss)),
    ("accuracy %", |s| s.accuracy.map(|a| 100.0 * a)),
    ("max loss", |s| Some(s.max_loss)),
    ("p99 loss", |s| Some(s.quantiles.p99)),
    ("CVaR 90%", |s| Some(s.cvar_90)),
    ("CVaR 95%", |s| Some(s.cvar_95)),
    ("CVaR 99%", |s| Some(s.cvar_99)),
    ("feasible %", |s| s.feasible_fraction.map(|f| 100.0 * f)),
];

/// Renders `mean ± std` over seeds for each (method, split) group of summaries.
///
/// ```
/// use feasible::experiments::render_seed_table;
/// use feasible::metrics::LossSummary;
/// let a = LossSummary::from_losses(&[0.1, 0.3], Some(0.2)).unwrap();
/// let b = LossSummary::from_losses(&[0.2, 0.4], Some(0.2)).unwrap();
/// let t = render_seed_table(&[("ERM".into(), "train".into(), vec![a, b])]);
/// assert!(t.contains("0.2500 ± 0.0707"));
/// ```
pub fn render_seed_table(groups: &[(String, String, Vec<LossSummary>)]) -> String {
    let mut out = String::from("| method | split |");
    for (h, _) in COLUMNS {
        let _ = write!(out, " {h} |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(COLUMNS.len()));
    out.push('\n');
    for (method, split, runs) in groups {
        let _ = write!(out, "| {method} | {split} |");
        for (_, f) in COLUMNS {
            let v: Vec<f64> = runs.iter().filter_map(f).collect();
            if v.is_empty() {
                out.push_str(" — |");
            } else {
                let m = MeanStd::of(&v);
                let _ = write!(out, " {:.4} ± {:.4} |", m.mean, m.std);
            }
        }
        out.push('\n');
    }
    out
}
