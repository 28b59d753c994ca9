//! `feasible train`.

use feasible::data::csv::{CsvOptions, CsvTask};
use feasible::data::{Dataset, Shuffle, Standardizer, TargetScaler, Task};
use feasible::io::SavedModel;
use feasible::model::{Activation, Head, Mlp, Network};
use feasible::report as plot;
use feasible::solver::{Method, Optimizer, Schedule, TrainError, TrainerParams};
use serde_json::{Value, json};

use crate::common::{CliError, Labelled, load_labelled, permutation, target_column, write_atomic};
use crate::progress::Progress;
use crate::report;
use crate::{
    ActivationArg, FormatArg, MethodArg, ModelArg, OptimizerArg, ScheduleArg, TaskArg, TrainArgs,
};

/// Default per-sample target ε.
pub const DEFAULT_EPSILON: f64 = 0.1;
/// Default RFL slack cost α.
pub const DEFAULT_ALPHA: f64 = 1.0;
/// Default mini-batch size (capped at the number of training samples).
pub const DEFAULT_BATCH: usize = 32;
/// Default CVaR level β.
pub const DEFAULT_BETA: f64 = 0.9;

fn task_name(t: Task) -> &'static str {
    match t {
        Task::Regression => "regression",
        Task::Classification { .. } => "classification",
    }
}

fn activation(a: ActivationArg) -> Activation {
    match a {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::Tanh => Activation::Tanh,
        ActivationArg::Sigmoid => Activation::Sigmoid,
        ActivationArg::Gelu => Activation::Gelu,
    }
}

/// Checks flags that only make sense together, before reading any data.
fn check_flags(a: &TrainArgs) -> Result<(), CliError> {
    if a.alpha.is_some() && a.method != MethodArg::Rfl {
        return Err(CliError::usage("--alpha applies only to --method rfl"));
    }
    if a.beta.is_some() && a.method != MethodArg::Cvar {
        return Err(CliError::usage("--beta applies only to --method cvar"));
    }
    if (a.momentum.is_some() || a.nesterov) && a.optimizer != OptimizerArg::Sgd {
        return Err(CliError::usage(
            "--momentum and --nesterov apply only to --optimizer sgd",
        ));
    }
    if let Some(f) = a.validation_split
        && !(f > 0.0 && f < 1.0)
    {
        return Err(CliError::usage(format!(
            "invalid value '{f}' for '--validation-split': must lie strictly between 0 and 1"
        )));
    }
    if a.epsilon.is_some_and(|e| !(e >= 0.0 && e.is_finite())) {
        return Err(CliError::usage(format!(
            "invalid value '{}' for '--epsilon': must be finite and ≥ 0",
            a.epsilon.unwrap_or_default()
        )));
    }
    Ok(())
}

/// The trainer settings from the flags (validated by the library).
fn trainer_params(a: &TrainArgs, epsilon: f64) -> Result<TrainerParams, CliError> {
    let method = match a.method {
        MethodArg::Erm => Method::Erm,
        MethodArg::Cserm => Method::Cserm { epsilon },
        MethodArg::Cvar => Method::Cvar {
            beta: a.beta.unwrap_or(DEFAULT_BETA),
        },
        MethodArg::Fl => Method::Fl { epsilon },
        MethodArg::Rfl => Method::Rfl {
            epsilon,
            alpha: a.alpha.unwrap_or(DEFAULT_ALPHA),
        },
    };
    let mut opt = match a.optimizer {
        OptimizerArg::Sgd => {
            Optimizer::sgd(a.lr).with_momentum(a.momentum.unwrap_or(0.0), a.nesterov)
        }
        OptimizerArg::Adam => Optimizer::adam(a.lr),
        OptimizerArg::Adamw => Optimizer::adamw(a.lr),
    };
    if let Some(wd) = a.weight_decay {
        opt = opt.with_weight_decay(wd);
    }
    let schedule = match a.schedule {
        ScheduleArg::Constant => Schedule::Constant,
        ScheduleArg::Cosine => Schedule::Cosine { min_lr: 0.0 },
        ScheduleArg::Step => Schedule::Step {
            every: a.epochs.div_ceil(3).max(1),
            gamma: 0.1,
        },
    };
    let mut p = TrainerParams::new(method)
        .optimizer(opt)
        .schedule(schedule)
        .dual_lr(a.dual_lr)
        .epochs(a.epochs)
        .seed(a.seed);
    if let Some(n) = a.threads {
        p = p.par(feasible::parallel::Par::Threads(n as usize));
    }
    p = if a.full_batch {
        p.full_batch()
    } else {
        p.batch_size(a.batch_size.unwrap_or(DEFAULT_BATCH))
    };
    if let Some(size) = a.shuffle_blocks {
        p = p.shuffle(Shuffle::Blocks {
            size: size as usize,
        });
    }
    if method.epsilon().is_none() {
        p = p.report_epsilon(epsilon);
    }
    // Reject bad values (exit 2) before any data is read.
    p.clone().check()?;
    Ok(p)
}

/// The network for the task and `--model`.
fn build_model(a: &TrainArgs, d: usize, task: Task) -> Result<(Network<f64>, String), CliError> {
    let head = Head::for_task(task);
    let choice = a.model.clone().unwrap_or(match head {
        Head::Regression => ModelArg::Linear,
        Head::Binary => ModelArg::Logistic,
        Head::Multiclass(_) => ModelArg::Softmax,
    });
    let net = match (&choice, task) {
        (ModelArg::Linear, Task::Regression) => Network::linear_regression(d),
        (ModelArg::Logistic, Task::Classification { n_classes: 2 }) => {
            Network::logistic_regression(d)
        }
        (ModelArg::Softmax, Task::Classification { n_classes }) => {
            Network::softmax_regression(d, n_classes)
        }
        (ModelArg::Mlp(w), _) => Mlp::new(d, head)
            .hidden(w)
            .activation(activation(a.activation))
            .seed(a.seed)
            .build::<f64>()?,
        (m, t) => {
            let what = match t {
                Task::Regression => "a regression target".to_string(),
                Task::Classification { n_classes } => format!("{n_classes} classes"),
            };
            return Err(CliError::usage(format!(
                "--model {} does not fit {what}; use {}",
                m.name(),
                match t {
                    Task::Regression => "linear or mlp:…",
                    Task::Classification { n_classes: 2 } => "logistic, softmax or mlp:…",
                    Task::Classification { .. } => "softmax or mlp:…",
                }
            )));
        }
    };
    Ok((net, choice.name()))
}

/// Reads the training data and the validation data (file or split). Returns
/// (train, validation, original row index of each training sample).
/// Training data, validation data, and the input row of each training sample.
type Loaded = (Labelled, Option<Dataset<f64>>, Vec<usize>);

fn load_data(a: &TrainArgs) -> Result<Loaded, CliError> {
    let mut opts = CsvOptions::new()
        .header(a.header.to_csv())
        .target(target_column(a.target.as_deref())?);
    if let Some(t) = a.task {
        opts = opts.task(match t {
            TaskArg::Regression => CsvTask::Regression,
            TaskArg::Classification => CsvTask::Classification,
        });
    }
    let mut train = load_labelled(&a.data, &opts)?;
    if let Some(t) = a.task {
        let got = train.data.task();
        if (t == TaskArg::Regression) != matches!(got, Task::Regression) {
            return Err(CliError::usage(format!(
                "{}: --task {} does not match the data set's task ({})",
                a.data,
                if t == TaskArg::Regression {
                    "regression"
                } else {
                    "classification"
                },
                task_name(got)
            )));
        }
    }
    let n = train.data.n_samples();
    let mut rows: Vec<usize> = (0..n).collect();
    let validation = if let Some(path) = &a.validation {
        let vopts = match (&train.labels, train.data.task()) {
            (_, Task::Regression) => opts.clone().task(CsvTask::Regression),
            (Some(l), _) => opts.clone().labels(l.clone()),
            (None, Task::Classification { n_classes }) => opts
                .clone()
                .labels((0..n_classes).map(|i| i.to_string()).collect()),
        };
        let v = load_labelled(path, &vopts)?;
        if v.data.n_features() != train.data.n_features() {
            return Err(CliError::usage(format!(
                "{path}: {} feature columns, but the training data has {}",
                v.data.n_features(),
                train.data.n_features()
            )));
        }
        if let (Some(tn), Some(vn)) = (&train.feature_names, &v.feature_names)
            && tn != vn
        {
            return Err(CliError::usage(format!(
                "{path}: feature columns [{}] differ from the training data's [{}]",
                vn.join(", "),
                tn.join(", ")
            )));
        }
        Some(v.data)
    } else if let Some(f) = a.validation_split {
        if n < 2 {
            return Err(CliError::usage(format!(
                "{}: --validation-split needs at least 2 samples",
                a.data
            )));
        }
        let n_val = ((n as f64 * f).round() as usize).clamp(1, n - 1);
        let perm = permutation(n, a.seed);
        let (v, t) = perm.split_at(n_val);
        let mut t = t.to_vec();
        t.sort_unstable();
        let mut v = v.to_vec();
        v.sort_unstable();
        let val = train.data.select(&v)?;
        train.data = train.data.select(&t)?;
        rows = t;
        Some(val)
    } else {
        None
    };
    if a.shuffle_blocks.is_some() {
        // Blocks of the file's order could be sorted by class or time: shuffle the rows
        // once (a stream apart from the validation split's), keeping their data-row
        // indices.
        let perm = permutation(rows.len(), a.seed ^ 0xB10C_5EED_0000_0001);
        train.data = train.data.select(&perm)?;
        rows = perm.iter().map(|&k| rows[k]).collect();
    }
    Ok((train, validation, rows))
}

/// Runs `feasible train`.
pub fn run(a: &TrainArgs) -> Result<(), CliError> {
    check_flags(a)?;
    let epsilon = a.epsilon.unwrap_or(DEFAULT_EPSILON);
    let params = trainer_params(a, epsilon)?;
    let (train, validation, rows) = load_data(a)?;
    let task = train.data.task();
    let d = train.data.n_features();

    // Standardisation, fitted on the training data only.
    let (standardizer, target_scaler) = if a.no_standardize {
        (None, None)
    } else {
        let s = Standardizer::fit(&train.data)?;
        let t = match task {
            Task::Regression => Some(TargetScaler::fit(&train.data)?),
            Task::Classification { .. } => None,
        };
        (Some(s), t)
    };
    let prep = |data: &Dataset<f64>| -> Result<Dataset<f64>, CliError> {
        let mut data = match &standardizer {
            Some(s) => s.transform(data)?,
            None => data.clone(),
        };
        if let Some(t) = &target_scaler {
            data = t.transform(&data)?;
        }
        Ok(data)
    };
    let train_data = prep(&train.data)?;
    let val_data = validation.as_ref().map(&prep).transpose()?;

    let (net, model_name) = build_model(a, d, task)?;
    let mut params = params;
    if a.batch_size.is_none() && !a.full_batch {
        params.batch_size = Some(DEFAULT_BATCH.min(train_data.n_samples()));
    }
    let trainer = params.check()?;
    let settings = json!({
        "data": a.data,
        "validation": a.validation,
        "validation_split": a.validation_split,
        "target": train.target_name,
        "target_column": a.target,
        "task": task_name(task),
        "n_classes": match task { Task::Classification { n_classes } => Some(n_classes), _ => None },
        "n_features": d,
        "n_train": train_data.n_samples(),
        "n_validation": val_data.as_ref().map(Dataset::n_samples),
        "model": model_name,
        "activation": match a.model { Some(ModelArg::Mlp(_)) => Some(format!("{:?}", a.activation).to_lowercase()), _ => None },
        "method": a.method_name(),
        "epsilon": epsilon,
        "standardize": !a.no_standardize,
        "trainer": serde_json::to_value(trainer.params()).unwrap_or(Value::Null),
    });

    let mut progress = Progress::new(a.epochs, a.quiet);
    let result = trainer.fit_observed(net, &train_data, val_data.as_ref(), &mut progress);
    progress.finish();
    let fit = match result {
        Ok(f) => f,
        Err(TrainError::Invalid(e)) => return Err(e.into()),
        Err(e @ TrainError::Diverged { .. }) => {
            return Err(CliError::fail(format!(
                "{e}; try a smaller --lr or --dual-lr"
            )));
        }
    };

    // Build every output before writing any.
    let model_json = match &a.output {
        Some(_) => {
            let mut saved = SavedModel::from_network(&fit.model)?.with_training(settings.clone());
            if let Some(s) = &standardizer {
                saved = saved.with_standardizer(s.clone());
            }
            if let Some(t) = target_scaler {
                saved = saved.with_target_scaler(t);
            }
            if let Some(l) = &train.labels {
                saved = saved.with_labels(l.clone());
            }
            if let Some(f) = &train.feature_names {
                saved = saved.with_feature_names(f.clone());
            }
            Some(saved.to_json_string()? + "\n")
        }
        None => None,
    };
    let losses: Vec<f64> = fit.train_losses.clone();
    let losses_csv = a.losses_out.as_ref().map(|_| {
        let mut s = String::from("index,loss,multiplier\n");
        // In data-row order (`--shuffle-blocks` trains on the rows shuffled once).
        let mut by_row: Vec<usize> = (0..rows.len()).collect();
        by_row.sort_unstable_by_key(|&k| rows[k]);
        for k in by_row {
            let (row, l) = (rows[k], losses[k]);
            let m = fit
                .multipliers
                .as_ref()
                .and_then(|m| m.get(k))
                .map_or(String::new(), |v| v.to_string());
            s.push_str(&format!("{row},{l},{m}\n"));
        }
        s
    });

    let train_v = report::summary(&fit.train, fit.multiplier_stats.as_ref())?;
    let val_v = fit
        .validation
        .as_ref()
        .map(|v| report::summary(v, None))
        .transpose()?;
    let out = report::object(vec![
        ("train", Some(train_v.clone())),
        ("validation", val_v.clone()),
        ("settings", Some(settings)),
        ("epochs_run", Some(json!(fit.epochs_run))),
        ("termination", serde_json::to_value(fit.termination).ok()),
        (
            "feasibility",
            Some(serde_json::to_value(&fit.feasibility).unwrap_or(Value::Null)),
        ),
    ]);

    if let (Some(path), Some(json)) = (&a.output, &model_json) {
        write_atomic(path, json.as_bytes())?;
    }
    if let (Some(path), Some(csv)) = (&a.losses_out, &losses_csv) {
        write_atomic(path, csv.as_bytes())?;
    }
    if let Some(dir) = &a.plots {
        write_plots(dir, a, &fit, &losses, epsilon)?;
    }

    let text = match a.format {
        FormatArg::Json => report::to_json(&out)?,
        FormatArg::Table => {
            let mut title = vec![format!(
                "{} on {} ({} samples, {} features, {}), model {}, ε = {}",
                a.method_name(),
                a.data,
                train_data.n_samples(),
                d,
                task_name(task),
                model_name,
                epsilon
            )];
            title.push(format!(
                "{} epochs run ({})",
                fit.epochs_run,
                out.get("termination")
                    .and_then(|t| t.get("reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("-")
            ));
            let mut sections = vec![("train", &train_v)];
            if let Some(v) = &val_v {
                sections.push(("validation", v));
            }
            report::table(&title, &sections, out.get("feasibility"))
        }
    };
    crate::common::print_stdout(&text)
}

fn write_plots<M>(
    dir: &std::path::Path,
    a: &TrainArgs,
    fit: &feasible::solver::Fit<f64, M>,
    losses: &[f64],
    epsilon: f64,
) -> Result<(), CliError> {
    let fail = |e: feasible::Error| CliError::fail(format!("cannot write plots: {e}"));
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::fail(format!(
            "cannot create plot directory {}: {e}",
            dir.display()
        ))
    })?;
    let name = a.method_name().to_uppercase();
    let eps = Some(epsilon).filter(|&e| e > 0.0);
    plot::loss_ecdf(
        dir.join("loss_ecdf.svg"),
        "Training losses",
        &[(name.as_str(), losses)],
        losses.iter().any(|&l| l > 0.0),
        eps,
    )
    .map_err(fail)?;
    let hist: Vec<_> = fit.history.iter().collect();
    if !hist.is_empty() {
        let mean: Vec<f64> = hist.iter().map(|r| r.train.mean_loss).collect();
        let max: Vec<f64> = hist.iter().map(|r| r.train.max_loss).collect();
        plot::curves(
            dir.join("loss_curves.svg"),
            "Training loss",
            "epoch",
            "loss",
            &[("mean", &mean), ("max", &max)],
            true,
        )
        .map_err(fail)?;
        let feas: Vec<f64> = hist
            .iter()
            .filter_map(|r| r.train.feasible_fraction)
            .collect();
        if !feas.is_empty() {
            plot::curves(
                dir.join("feasible_fraction.svg"),
                "Feasible fraction (training)",
                "epoch",
                "fraction with loss ≤ ε",
                &[(name.as_str(), &feas)],
                false,
            )
            .map_err(fail)?;
        }
    }
    if let Some(m) = &fit.multipliers {
        plot::histogram(
            dir.join("multipliers.svg"),
            "Multipliers λ",
            "λ",
            m,
            30,
            false,
        )
        .map_err(fail)?;
    }
    Ok(())
}

impl TrainArgs {
    /// `erm`, `cserm`, `cvar`, `fl` or `rfl`.
    pub fn method_name(&self) -> &'static str {
        match self.method {
            MethodArg::Erm => "erm",
            MethodArg::Cserm => "cserm",
            MethodArg::Cvar => "cvar",
            MethodArg::Fl => "fl",
            MethodArg::Rfl => "rfl",
        }
    }
}
