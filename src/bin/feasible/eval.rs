//! `feasible eval` and `feasible predict`.

use std::path::Path;

use feasible::data::csv::{CsvOptions, CsvTask, FeatureSchema, read_csv_file, read_features_file};
use feasible::data::{Dataset, Targets, embedded};
use feasible::io::{LoadedModel, Precision, Prediction, SavedModel};
use feasible::metrics::{FeasibilityReport, LossSummary};
use feasible::model::Head;
use feasible::parallel::Par;
use feasible::solver::eval;
use feasible::{Float, Model};
use ndarray::{Array2, Axis};
use serde_json::{Value, json};

use crate::common::{CliError, builtin_name, csv_field, print_stdout, target_column, write_atomic};
use crate::report;
use crate::{EvalArgs, FormatArg, PredictArgs};

/// Reads a model file as text (exit 2 if it cannot be read).
fn read_model_text(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read model file {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| {
        CliError::usage(format!(
            "{}: invalid model file: not UTF-8 text",
            path.display()
        ))
    })
}

fn model_err(path: &Path) -> impl Fn(feasible::Error) -> CliError + '_ {
    move |e| CliError::usage(format!("{}: {e}", path.display()))
}

/// The target column the model was trained with (as given to `--target`).
fn saved_target(training: &Value) -> Result<CsvOptions, CliError> {
    let t = training.get("target_column").and_then(Value::as_str);
    Ok(CsvOptions::new().target(target_column(t)?))
}

/// Class names of a classifier head.
fn class_names(head: Head, labels: Option<&[String]>) -> Option<Vec<String>> {
    match head {
        Head::Regression => None,
        h => Some(
            labels
                .map(<[String]>::to_vec)
                .unwrap_or_else(|| (0..h.n_outputs().max(2)).map(|i| i.to_string()).collect()),
        ),
    }
}

/// Runs `feasible eval`.
pub fn run_eval(a: &EvalArgs) -> Result<(), CliError> {
    if let Some(e) = a.epsilon
        && !(e >= 0.0 && e.is_finite())
    {
        return Err(CliError::usage(format!(
            "invalid value '{e}' for '--epsilon': must be finite and ≥ 0"
        )));
    }
    let text = read_model_text(&a.model)?;
    let loaded = LoadedModel::from_json_str(&text).map_err(model_err(&a.model))?;
    match loaded.precision() {
        Precision::F32 => eval_as(
            a,
            SavedModel::<f32>::from_json_str(&text).map_err(model_err(&a.model))?,
        ),
        Precision::F64 => eval_as(
            a,
            SavedModel::<f64>::from_json_str(&text).map_err(model_err(&a.model))?,
        ),
    }
}

/// The labelled evaluation data, with class ids in the model's order.
fn eval_data<F: Float>(
    a: &EvalArgs,
    saved: &SavedModel<F>,
    head: Head,
) -> Result<Dataset<F>, CliError> {
    let names = class_names(head, saved.labels());
    let d = saved.spec().n_inputs;
    if let Some(name) = builtin_name(&a.data) {
        let ds = embedded::by_name::<F>(name)?;
        return match (ds.targets(), &names) {
            (Targets::Classes { labels, .. }, Some(model_names)) => {
                let own = embedded::class_names(name).unwrap_or_default();
                let mut ids = Vec::with_capacity(labels.len());
                for (row, &l) in labels.iter().enumerate() {
                    let text = own.get(l).cloned().unwrap_or_else(|| l.to_string());
                    match model_names.iter().position(|m| *m == text) {
                        Some(i) => ids.push(i),
                        None => {
                            return Err(CliError::usage(format!(
                                "{}: sample {row}: class `{text}` is not one of the model's classes ({})",
                                a.data,
                                model_names.join(", ")
                            )));
                        }
                    }
                }
                Ok(Dataset::classification(
                    ds.x().to_owned(),
                    ids,
                    model_names.len(),
                )?)
            }
            _ => Ok(ds),
        };
    }
    let mut opts = saved_target(saved.training())?.header(a.header.to_csv());
    opts = match names {
        None => opts.task(CsvTask::Regression),
        Some(l) => opts.labels(l),
    };
    let csv = read_csv_file::<F>(&a.data, &opts)?;
    let have = csv.feature_names;
    let ds = csv.dataset;
    if let Some(want) = saved.feature_names()
        && want != have.as_slice()
    {
        // Reorder columns by name when the file has them all.
        let perm: Option<Vec<usize>> = want
            .iter()
            .map(|w| have.iter().position(|h| h == w))
            .collect();
        let generated = have
            .iter()
            .enumerate()
            .all(|(j, h)| *h == format!("column_{}", j + 1) || h.starts_with("column_"));
        match perm {
            Some(p) if have.len() == want.len() => {
                let x = ds.x().select(Axis(1), &p);
                return Ok(Dataset::new(x, ds.targets().clone())?);
            }
            _ if generated && have.len() == want.len() => {}
            _ => {
                let missing = want
                    .iter()
                    .find(|w| !have.contains(w))
                    .cloned()
                    .unwrap_or_default();
                return Err(CliError::usage(format!(
                    "{}:1:1: feature columns [{}] do not match the model's [{}]{}",
                    a.data,
                    have.join(", "),
                    want.join(", "),
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!(" (missing `{missing}`)")
                    }
                )));
            }
        }
    }
    if ds.n_features() != d {
        return Err(CliError::usage(format!(
            "{}: {} feature columns, but the model expects {d}",
            a.data,
            ds.n_features()
        )));
    }
    Ok(ds)
}

fn eval_as<F: Float>(a: &EvalArgs, saved: SavedModel<F>) -> Result<(), CliError> {
    let net = saved.network().map_err(model_err(&a.model))?;
    let head = net.head();
    let mut ds = eval_data(a, &saved, head)?;
    if !head.accepts(ds.task()) {
        return Err(CliError::usage(format!(
            "{}: the data's target ({:?}) does not fit the model's output ({head:?})",
            a.data,
            ds.task()
        )));
    }
    if ds.n_features() != net.n_inputs() {
        return Err(CliError::usage(format!(
            "{}: {} feature columns, but the model expects {}",
            a.data,
            ds.n_features(),
            net.n_inputs()
        )));
    }
    if let Some(s) = saved.standardizer() {
        ds = s.transform(&ds)?;
    }
    if let Some(t) = saved.target_scaler() {
        ds = t.transform(&ds)?;
    }
    let mut ws = net.workspace();
    let losses: Vec<f64> = eval::losses(&net, &ds, &mut ws, Par::default())?
        .iter()
        .map(|l| l.to_f64_lossless())
        .collect();
    let accuracy = eval::accuracy(&net, &ds)?;
    let settings = saved.training().clone();
    let epsilon = a
        .epsilon
        .or_else(|| settings.get("epsilon").and_then(Value::as_f64));
    let summary = LossSummary::from_losses(&losses, epsilon)
        .map_err(|e| CliError::fail(e.to_string()))?
        .with_accuracy(accuracy);
    let feasibility = epsilon
        .map(|e| FeasibilityReport::new(&losses, None, e, None, None))
        .transpose()
        .map_err(|e| CliError::fail(e.to_string()))?;
    let ev = report::summary(&summary, None)?;
    let out = report::object(vec![
        ("evaluation", Some(ev.clone())),
        ("model", Some(json!(a.model.display().to_string()))),
        ("data", Some(json!(a.data))),
        ("epsilon", Some(json!(epsilon))),
        (
            "feasibility",
            Some(serde_json::to_value(&feasibility).unwrap_or(Value::Null)),
        ),
        ("settings", Some(settings)),
    ]);
    let losses_csv = a.losses_out.as_ref().map(|_| {
        let mut s = String::from("index,loss\n");
        for (i, l) in losses.iter().enumerate() {
            s.push_str(&format!("{i},{l}\n"));
        }
        s
    });
    if let (Some(p), Some(c)) = (&a.losses_out, &losses_csv) {
        write_atomic(p, c.as_bytes())?;
    }
    let text = match a.format {
        FormatArg::Json => report::to_json(&out)?,
        FormatArg::Table => {
            let title = vec![format!(
                "{} on {} ({} samples), ε = {}",
                a.model.display(),
                a.data,
                losses.len(),
                epsilon.map_or("-".into(), |e| e.to_string())
            )];
            report::table(&title, &[("evaluation", &ev)], out.get("feasibility"))
        }
    };
    print_stdout(&text)
}

/// Runs `feasible predict`.
pub fn run_predict(a: &PredictArgs) -> Result<(), CliError> {
    let text = read_model_text(&a.model)?;
    let model = LoadedModel::from_json_str(&text).map_err(model_err(&a.model))?;
    let head = model.head();
    if a.proba && head == Head::Regression {
        return Err(CliError::usage(
            "--proba needs a classifier; this model is a regression model",
        ));
    }
    let x: Array2<f64> = if let Some(name) = builtin_name(&a.data) {
        embedded::by_name::<f64>(name)?.x().to_owned()
    } else {
        let opts = saved_target(model.training())?.header(a.header.to_csv());
        let schema = match model.feature_names() {
            Some(n) => FeatureSchema::Names(n.to_vec()),
            None => FeatureSchema::Count(model.n_inputs()),
        };
        read_features_file::<f64>(&a.data, &opts, &schema)?.x
    };
    if x.ncols() != model.n_inputs() {
        return Err(CliError::usage(format!(
            "{}: {} feature columns, but the model expects {}",
            a.data,
            x.ncols(),
            model.n_inputs()
        )));
    }
    let pred = model.predict(x.view())?;
    let proba = if a.proba {
        Some(model.predict_proba(x.view())?)
    } else {
        None
    };
    let mut out = String::from("prediction");
    if proba.is_some() {
        for l in class_names(head, model.labels()).unwrap_or_default() {
            out.push(',');
            out.push_str(&csv_field(&format!("p_{l}")));
        }
    }
    out.push('\n');
    let n = x.nrows();
    for i in 0..n {
        match &pred {
            Prediction::Values(v) => out.push_str(&v[i].to_string()),
            Prediction::Classes { labels, .. } => out.push_str(&csv_field(&labels[i])),
        }
        if let Some(p) = &proba {
            for v in p.row(i) {
                out.push(',');
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    match &a.output {
        Some(p) => write_atomic(p, out.as_bytes()),
        None => print_stdout(&out),
    }
}
