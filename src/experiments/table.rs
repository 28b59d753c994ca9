use std::fmt::Write;

use crate::metrics::LossSummary;

/// One row of a comparison table: a method on one split.
#[derive(Clone, Debug)]
pub struct Row {
    /// Method label (e.g. `FL ε=0.1`).
    pub method: String,
    /// Split label (`train`, `test`, `validation`).
    pub split: String,
    /// The summary.
    pub summary: LossSummary,
}

/// Renders rows as an aligned plain-text (and Markdown-compatible) table with the
/// average, the tail and the feasible fraction.
///
/// ```
/// use feasible::experiments::{render_table, Row};
/// use feasible::metrics::LossSummary;
/// let s = LossSummary::from_losses(&[0.1, 0.5], Some(0.3)).unwrap();
/// let t = render_table(&[Row { method: "ERM".into(), split: "train".into(), summary: s }]);
/// assert!(t.contains("| ERM"));
/// assert!(t.contains("0.5000"));
/// ```
pub fn render_table(rows: &[Row]) -> String {
    let header = [
        "method",
        "split",
        "mean loss",
        "accuracy",
        "max loss",
        "CVaR 90%",
        "CVaR 95%",
        "CVaR 99%",
        "feasible",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let s = &r.summary;
            vec![
                r.method.clone(),
                r.split.clone(),
                format!("{:.4}", s.mean_loss),
                s.accuracy
                    .map_or("—".into(), |a| format!("{:.2}%", 100.0 * a)),
                format!("{:.4}", s.max_loss),
                format!("{:.4}", s.cvar_90),
                format!("{:.4}", s.cvar_95),
                format!("{:.4}", s.cvar_99),
                s.feasible_fraction
                    .map_or("—".into(), |f| format!("{:.2}%", 100.0 * f)),
            ]
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |vals: &[String]| {
        let mut s = String::from("|");
        for (v, w) in vals.iter().zip(&width) {
            let pad = w - v.chars().count();
            let _ = write!(s, " {}{} |", v, " ".repeat(pad));
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(String::from));
    out.push('|');
    for w in &width {
        let _ = write!(out, "{}|", "-".repeat(w + 2));
    }
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}
