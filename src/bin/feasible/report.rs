//! The run report: JSON objects built from the library's summaries, and their table form.

use feasible::metrics::{LossSummary, MultiplierStats};
use serde_json::{Map, Value, json};

use crate::common::{CliError, fmt_num};

/// A loss summary as a JSON object; `accuracy` only for classifiers, `multipliers` only
/// when given.
pub fn summary(s: &LossSummary, multipliers: Option<&MultiplierStats>) -> Result<Value, CliError> {
    let mut v = serde_json::to_value(s)
        .map_err(|e| CliError::fail(format!("cannot serialise the report: {e}")))?;
    if let Value::Object(m) = &mut v {
        if m.get("accuracy").is_some_and(Value::is_null) {
            m.remove("accuracy");
        }
        if let Some(ms) = multipliers {
            m.insert(
                "multipliers".into(),
                json!({
                    "max": ms.max, "mean": ms.mean, "median": ms.median,
                    "zero_fraction": ms.zero_fraction,
                }),
            );
        }
    }
    Ok(v)
}

/// Pretty JSON with a trailing newline.
pub fn to_json(v: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| CliError::fail(format!("cannot serialise the report: {e}")))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(i) if n.is_u64() => i.to_string(),
            _ => n.as_f64().map_or_else(|| n.to_string(), fmt_num),
        },
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

/// A table: one column per section (`train`, `validation`, …), then the feasibility
/// report's lines. `title` lines come first.
pub fn table(title: &[String], sections: &[(&str, &Value)], feasibility: Option<&Value>) -> String {
    let rows: [(&str, &[&str]); 16] = [
        ("samples", &["n"]),
        ("mean loss", &["mean_loss"]),
        ("max loss", &["max_loss"]),
        ("p50", &["quantiles", "p50"]),
        ("p90", &["quantiles", "p90"]),
        ("p95", &["quantiles", "p95"]),
        ("p99", &["quantiles", "p99"]),
        ("cvar 90%", &["cvar_90"]),
        ("cvar 95%", &["cvar_95"]),
        ("cvar 99%", &["cvar_99"]),
        ("feasible fraction", &["feasible_fraction"]),
        ("mean violation", &["mean_positive_violation"]),
        ("accuracy", &["accuracy"]),
        ("λ max", &["multipliers", "max"]),
        ("λ mean", &["multipliers", "mean"]),
        ("λ median", &["multipliers", "median"]),
    ];
    let mut out = String::new();
    for t in title {
        out.push_str(t);
        out.push('\n');
    }
    let mut lines: Vec<Vec<String>> = vec![];
    let mut head = vec![String::new()];
    head.extend(sections.iter().map(|(n, _)| n.to_string()));
    lines.push(head);
    let mut all_rows: Vec<(&str, Vec<&str>)> = rows.iter().map(|(l, p)| (*l, p.to_vec())).collect();
    all_rows.push(("λ zero fraction", vec!["multipliers", "zero_fraction"]));
    for (label, path) in &all_rows {
        if sections
            .iter()
            .all(|(_, v)| get(v, path).is_none_or(Value::is_null))
        {
            continue;
        }
        let mut line = vec![label.to_string()];
        line.extend(sections.iter().map(|(_, v)| cell(get(v, path))));
        lines.push(line);
    }
    let ncol = lines[0].len();
    let widths: Vec<usize> = (0..ncol)
        .map(|j| {
            lines
                .iter()
                .map(|l| l[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let mut s = String::new();
        for (j, c) in l.iter().enumerate() {
            let pad = widths[j] - c.chars().count();
            if j == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    }
    if let Some(Value::Object(f)) = feasibility {
        let parts: Vec<String> = f
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k} {}", cell(Some(v))))
            .collect();
        out.push_str(&format!("feasibility: {}\n", parts.join(", ")));
    }
    out
}

/// An object from key/value pairs, skipping `None`s.
pub fn object(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}
