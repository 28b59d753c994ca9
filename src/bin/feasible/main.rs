//! `feasible`: train, evaluate and apply Feasible Learning models on CSV files from the
//! command line. See `docs/cli.md`.

mod common;
mod eval;
mod progress;
mod report;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use common::CliError;

/// Feasible Learning on the CPU: train so that every sample's loss is at most ε.
#[derive(Parser, Debug)]
#[command(name = "feasible", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model on a CSV file (or an embedded data set) and print a report.
    Train(Box<TrainArgs>),
    /// Report per-sample losses of a saved model on labelled data.
    Eval(EvalArgs),
    /// Write predictions of a saved model as CSV.
    Predict(PredictArgs),
    /// List the embedded data sets (usable as `builtin:NAME`).
    Datasets,
}

/// Whether a CSV has a header row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HeaderArg {
    /// The first row is a header if a feature cell in it is not a number.
    Auto,
    /// The first row is a header.
    Yes,
    /// There is no header row.
    No,
}

impl HeaderArg {
    /// The CSV reader's setting.
    pub fn to_csv(self) -> feasible::data::csv::Header {
        use feasible::data::csv::Header;
        match self {
            HeaderArg::Auto => Header::Auto,
            HeaderArg::Yes => Header::Yes,
            HeaderArg::No => Header::No,
        }
    }
}

/// Regression or classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Real-valued target, squared error.
    Regression,
    /// Class labels (numbers or text), cross-entropy.
    Classification,
}

/// The training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Empirical risk minimisation (mean loss).
    Erm,
    /// Clamped squared ERM: mean of [loss − ε]₊².
    Cserm,
    /// Conditional value at risk at level β.
    Cvar,
    /// Feasible Learning: every loss ≤ ε, one multiplier per sample.
    Fl,
    /// Resilient Feasible Learning: FL with slack of cost α.
    Rfl,
}

/// The primal optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Stochastic gradient descent (optionally with momentum).
    Sgd,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

/// The learning-rate schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// Constant rate.
    Constant,
    /// Cosine decay to 0 over the run.
    Cosine,
    /// Multiply by 0.1 every third of the run.
    Step,
}

/// The hidden-layer activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// max(0, z).
    Relu,
    /// tanh(z).
    Tanh,
    /// 1 / (1 + e^−z).
    Sigmoid,
    /// GELU (tanh approximation).
    Gelu,
}

/// Report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human-readable table.
    Table,
    /// One JSON object.
    Json,
}

/// Which network to train.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelArg {
    /// Linear regression (regression only).
    Linear,
    /// Logistic regression (2 classes).
    Logistic,
    /// Softmax regression (2 or more classes).
    Softmax,
    /// A multilayer perceptron with these hidden widths; the head follows the task.
    Mlp(Vec<usize>),
}

impl ModelArg {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "linear" => Ok(ModelArg::Linear),
            "logistic" => Ok(ModelArg::Logistic),
            "softmax" => Ok(ModelArg::Softmax),
            _ => {
                let Some(widths) = s.strip_prefix("mlp:") else {
                    return Err("expected linear, logistic, softmax or mlp:W1,W2,…".into());
                };
                let w: Result<Vec<usize>, _> = widths
                    .split(',')
                    .map(|t| t.trim().parse::<usize>())
                    .collect();
                match w {
                    Ok(w) if !w.is_empty() && w.iter().all(|&x| x > 0) => Ok(ModelArg::Mlp(w)),
                    _ => Err("mlp widths must be positive integers, e.g. mlp:64,64".into()),
                }
            }
        }
    }

    /// The spelling used on the command line.
    pub fn name(&self) -> String {
        match self {
            ModelArg::Linear => "linear".into(),
            ModelArg::Logistic => "logistic".into(),
            ModelArg::Softmax => "softmax".into(),
            ModelArg::Mlp(w) => format!(
                "mlp:{}",
                w.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// `feasible train` flags.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data: a CSV file or `builtin:NAME` (see `feasible datasets`).
    #[arg(long, value_name = "FILE|builtin:NAME")]
    pub data: String,
    /// Whether the CSV's first row is a header (default: detected).
    #[arg(long, value_enum, default_value = "auto")]
    pub header: HeaderArg,
    /// Validation data (same columns as the training data).
    #[arg(long, value_name = "FILE", conflicts_with = "validation_split")]
    pub validation: Option<String>,
    /// Hold out this fraction of the training data for validation (0 < F < 1).
    #[arg(long, value_name = "F")]
    pub validation_split: Option<f64>,
    /// Target column: a header name, or a 1-based column number (default: last column).
    #[arg(long, value_name = "NAME|INDEX")]
    pub target: Option<String>,
    /// Task (default: inferred from the target column).
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// Model: linear, logistic, softmax or mlp:W1,W2,… (default: by task).
    #[arg(long, value_name = "MODEL", value_parser = ModelArg::parse)]
    pub model: Option<ModelArg>,
    /// Hidden activation of an MLP.
    #[arg(long, value_enum, default_value = "relu")]
    pub activation: ActivationArg,
    /// Training objective.
    #[arg(long, value_enum, default_value = "fl")]
    pub method: MethodArg,
    /// Per-sample loss target ε (default 0.1); the report's ε for erm and cvar.
    #[arg(long, value_name = "EPS", allow_negative_numbers = true)]
    pub epsilon: Option<f64>,
    /// RFL's cost of slack α > 0 (default 1.0).
    #[arg(long, value_name = "ALPHA", allow_negative_numbers = true)]
    pub alpha: Option<f64>,
    /// CVaR's level β in (0, 1) (default 0.9).
    #[arg(long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta: Option<f64>,
    /// Primal optimiser.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerArg,
    /// Primal learning rate.
    #[arg(
        long,
        value_name = "LR",
        default_value_t = 0.01,
        allow_negative_numbers = true
    )]
    pub lr: f64,
    /// SGD momentum in [0, 1).
    #[arg(long, value_name = "MU", allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Use Nesterov momentum (SGD with --momentum > 0).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay ≥ 0 (default 0; 0.01 for adamw).
    #[arg(long, value_name = "WD", allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value = "constant")]
    pub schedule: ScheduleArg,
    /// Dual (multiplier) learning rate, FL and RFL.
    #[arg(
        long,
        value_name = "LR",
        default_value_t = 0.1,
        allow_negative_numbers = true
    )]
    pub dual_lr: f64,
    /// Number of epochs.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub epochs: usize,
    /// Mini-batch size [default: 32, or the number of training samples if fewer].
    #[arg(long, value_name = "N", conflicts_with = "full_batch")]
    pub batch_size: Option<usize>,
    /// Full-batch training (one step per epoch).
    #[arg(long)]
    pub full_batch: bool,
    /// Quasi-random batch order: shuffle the training rows once, then every epoch permute
    /// blocks of N consecutive rows (rows read in runs: faster on large data when 128
    /// divides both N and the batch size; needs at least 2N training rows) [default: a
    /// fresh permutation of the rows every epoch].
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "full_batch",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub shuffle_blocks: Option<u32>,
    /// Seed of initialisation, batch order and validation split.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Threads for training steps [default: all cores, or RAYON_NUM_THREADS]; results do
    /// not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Do not standardise features (and the regression target).
    #[arg(long)]
    pub no_standardize: bool,
    /// Write the trained model (JSON) here.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write per-sample training losses (index, loss, multiplier) as CSV here.
    #[arg(long, value_name = "FILE")]
    pub losses_out: Option<PathBuf>,
    /// Write SVG plots (loss ECDF, training curves, multiplier histogram) into this directory.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// `feasible eval` flags.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A model file written by `feasible train --output`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Whether the CSV's first row is a header (default: detected).
    #[arg(long, value_enum, default_value = "auto")]
    pub header: HeaderArg,
    /// Labelled data: a CSV file with the target column, or `builtin:NAME`.
    #[arg(long, value_name = "FILE|builtin:NAME")]
    pub data: String,
    /// Write per-sample losses (index, loss) as CSV here.
    #[arg(long, value_name = "FILE")]
    pub losses_out: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// ε for the feasibility figures (default: the ε the model was trained with).
    #[arg(long, value_name = "EPS", allow_negative_numbers = true)]
    pub epsilon: Option<f64>,
}

/// `feasible predict` flags.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model file written by `feasible train --output`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Whether the CSV's first row is a header (default: detected).
    #[arg(long, value_enum, default_value = "auto")]
    pub header: HeaderArg,
    /// Feature rows: a CSV file (a target column may be present and is ignored), or `builtin:NAME`.
    #[arg(long, value_name = "FILE|builtin:NAME")]
    pub data: String,
    /// Write the predictions here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Add one probability column per class (classifiers).
    #[arg(long)]
    pub proba: bool,
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Train(a) => train::run(&a),
        Command::Eval(a) => eval::run_eval(&a),
        Command::Predict(a) => eval::run_predict(&a),
        Command::Datasets => {
            let mut s = String::new();
            for (name, desc) in feasible::data::embedded::CATALOG {
                s.push_str(&format!("builtin:{name:<15} {desc}\n"));
            }
            common::print_stdout(&s)
        }
    }
}

fn main() -> ExitCode {
    // Last resort: a bug must not print a backtrace. One line, exit 1.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!("error: internal error: {}", common::one_line(&msg));
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: bad usage");
            eprintln!("{} (see --help)", first.trim());
            return ExitCode::from(2);
        }
    };
    match std::panic::catch_unwind(move || run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", common::one_line(&e.msg));
            ExitCode::from(e.code)
        }
        Err(_) => ExitCode::from(1),
    }
}
