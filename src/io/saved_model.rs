//! The saved-model JSON format and the loaded, ready-to-predict model.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::{Standardizer, TargetScaler};
use crate::model::{Activation, Head, Model, Network, Predictions};
use crate::{Error, Float, Result};

/// The saved-model format version this crate writes and reads.
///
/// Any change to the format bumps it; a reader rejects versions it does not know, naming
/// both (see `docs/model_format.md`).
pub const FORMAT_VERSION: u32 = 1;

/// The floating-point precision of a model's parameters and computations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl Precision {
    /// `"f32"` or `"f64"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }

    /// The precision of `F`.
    pub fn of<F: Float>() -> Self {
        if F::NAME == "f32" {
            Precision::F32
        } else {
            Precision::F64
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(Precision::F32),
            "f64" => Some(Precision::F64),
            _ => None,
        }
    }
}

/// The model family, derived from the shape (stored for readers of the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// No hidden layer, regression head.
    LinearRegression,
    /// No hidden layer, binary head.
    LogisticRegression,
    /// No hidden layer, multiclass head.
    SoftmaxRegression,
    /// At least one hidden layer.
    Mlp,
}

impl ModelKind {
    /// The kind of a network with these hidden widths and head.
    pub fn of(hidden: &[usize], head: Head) -> Self {
        match (hidden.is_empty(), head) {
            (false, _) => ModelKind::Mlp,
            (true, Head::Regression) => ModelKind::LinearRegression,
            (true, Head::Binary) => ModelKind::LogisticRegression,
            (true, Head::Multiclass(_)) => ModelKind::SoftmaxRegression,
        }
    }
}

/// A network's description, without its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The family (must agree with `hidden` and `head`).
    pub kind: ModelKind,
    /// Number of input features.
    pub n_inputs: usize,
    /// Hidden-layer widths, input side first (empty for linear models).
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Output head.
    pub head: Head,
}

impl ModelSpec {
    /// Number of parameters this shape needs, or `None` if it overflows.
    pub fn n_params(&self) -> Option<usize> {
        let mut dims = Vec::with_capacity(self.hidden.len() + 2);
        dims.push(self.n_inputs);
        dims.extend_from_slice(&self.hidden);
        dims.push(self.head.n_outputs());
        dims.windows(2).try_fold(0usize, |acc, w| {
            w[0].checked_mul(w[1])?.checked_add(w[1])?.checked_add(acc)
        })
    }
}

/// A trained model with everything needed to predict on raw data, as stored on disk.
///
/// Build one from a [`Network`] with [`SavedModel::from_network`] and the `with_*`
/// methods, then [`save`](SavedModel::save) it; [`LoadedModel::load`] reads it back for
/// prediction, [`SavedModel::load`] for inspection or further training.
///
/// ```
/// use feasible::data::{embedded, Standardizer};
/// use feasible::io::{LoadedModel, SavedModel};
/// use feasible::model::{Model, Network};
///
/// let data = embedded::iris::<f64>();
/// let scaler = Standardizer::fit(&data).unwrap();
/// let net = Network::<f64>::softmax_regression(4, 3);
/// let saved = SavedModel::from_network(&net)
///     .unwrap()
///     .with_standardizer(scaler)
///     .with_labels(vec!["setosa".into(), "versicolor".into(), "virginica".into()])
///     .with_training(serde_json::json!({ "epsilon": 0.1 }));
///
/// let path = std::env::temp_dir().join(format!("feasible-doc-{}.json", std::process::id()));
/// saved.save(&path).unwrap();
/// let model = LoadedModel::load(&path).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(model.n_inputs(), 4);
/// let proba = model.predict_proba(data.x()).unwrap();
/// assert_eq!(proba.dim(), (150, 3));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "F: Float")]
pub struct SavedModel<F> {
    format_version: u32,
    precision: Precision,
    model: ModelSpec,
    parameters: Vec<F>,
    #[serde(default)]
    standardizer: Option<Standardizer>,
    #[serde(default)]
    target_scaler: Option<TargetScaler>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    feature_names: Option<Vec<String>>,
    #[serde(default)]
    training: Value,
}

fn format_err(context: &str, e: Error) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!("{context}: {m}")),
        other => Error::Format(format!("{context}: {other}")),
    }
}

fn io_err(path: &Path, e: io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn check_unique(what: &str, names: &[String]) -> Result<()> {
    let mut seen = HashSet::new();
    match names.iter().find(|s| !seen.insert(s.as_str())) {
        Some(d) => Err(Error::Format(format!("duplicate {what} `{d}`"))),
        None => Ok(()),
    }
}

impl<F: Float> SavedModel<F> {
    /// Captures a network's shape and parameters (no scalers, labels or settings yet).
    /// Fails with [`Error::NonFinite`] if a parameter is NaN or infinite (JSON cannot
    /// hold them).
    pub fn from_network(net: &Network<F>) -> Result<Self> {
        if let Some(i) = net.params().iter().position(|p| !p.is_finite()) {
            return Err(Error::NonFinite {
                what: "network parameters (cannot be saved)".into(),
                row: i,
                col: 0,
            });
        }
        Ok(Self {
            format_version: FORMAT_VERSION,
            precision: Precision::of::<F>(),
            model: ModelSpec {
                kind: ModelKind::of(net.hidden(), net.head()),
                n_inputs: net.n_inputs(),
                hidden: net.hidden().to_vec(),
                activation: net.activation(),
                head: net.head(),
            },
            parameters: net.params().to_vec(),
            standardizer: None,
            target_scaler: None,
            labels: None,
            feature_names: None,
            training: Value::Null,
        })
    }

    /// Adds the feature standardisation fitted on the training data (applied to raw rows
    /// before the network).
    pub fn with_standardizer(mut self, s: Standardizer) -> Self {
        self.standardizer = Some(s);
        self
    }

    /// Adds the regression target scaling (its inverse is applied to predictions).
    pub fn with_target_scaler(mut self, t: TargetScaler) -> Self {
        self.target_scaler = Some(t);
        self
    }

    /// Adds the class-label names: class id `i` is `labels[i]`.
    pub fn with_labels(mut self, labels: Vec<String>) -> Self {
        self.labels = Some(labels);
        self
    }

    /// Adds the feature (column) names, in input order.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Self {
        self.feature_names = Some(names);
        self
    }

    /// Adds the training settings, kept as opaque JSON.
    pub fn with_training(mut self, settings: Value) -> Self {
        self.training = settings;
        self
    }

    /// The format version (always [`FORMAT_VERSION`] for a valid model).
    pub fn format_version(&self) -> u32 {
        self.format_version
    }

    /// The parameters' precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The network's description.
    pub fn spec(&self) -> &ModelSpec {
        &self.model
    }

    /// The flat parameter vector (layout: [`crate::model`]).
    pub fn parameters(&self) -> &[F] {
        &self.parameters
    }

    /// The feature standardisation, if any.
    pub fn standardizer(&self) -> Option<&Standardizer> {
        self.standardizer.as_ref()
    }

    /// The regression target scaling, if any.
    pub fn target_scaler(&self) -> Option<&TargetScaler> {
        self.target_scaler.as_ref()
    }

    /// The class-label names, if any.
    pub fn labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }

    /// The feature names, if any.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The training settings (JSON `null` if none were given).
    pub fn training(&self) -> &Value {
        &self.training
    }

    /// Checks every part for consistency; all failures are [`Error::Format`].
    pub fn validate(&self) -> Result<()> {
        if self.format_version != FORMAT_VERSION {
            return Err(version_err(&self.format_version.to_string()));
        }
        if self.precision != Precision::of::<F>() {
            return Err(Error::Format(format!(
                "precision is `{}` but the parameters are read as {}",
                self.precision.name(),
                F::NAME
            )));
        }
        let m = &self.model;
        let kind = ModelKind::of(&m.hidden, m.head);
        if m.kind != kind {
            return Err(Error::Format(format!(
                "model kind {:?} does not match its shape (hidden {:?}, head {:?}: {:?})",
                m.kind, m.hidden, m.head, kind
            )));
        }
        if m.n_inputs == 0 || m.hidden.contains(&0) || m.head == Head::Multiclass(0) {
            return Err(Error::Format(format!(
                "invalid model shape: {} inputs, hidden {:?} (widths must be positive)",
                m.n_inputs, m.hidden
            )));
        }
        let need = m.n_params().ok_or_else(|| {
            Error::Format(format!(
                "model shape {} → {:?} → {:?} is too large",
                m.n_inputs, m.hidden, m.head
            ))
        })?;
        if need != self.parameters.len() {
            return Err(Error::Format(format!(
                "the model shape needs {need} parameters, the file holds {}",
                self.parameters.len()
            )));
        }
        if let Some(i) = self.parameters.iter().position(|p| !p.is_finite()) {
            return Err(Error::Format(format!(
                "parameters[{i}] is not finite in {}",
                F::NAME
            )));
        }
        self.network()?;
        if let Some(s) = &self.standardizer {
            s.validate().map_err(|e| format_err("standardizer", e))?;
            if s.n_features() != m.n_inputs {
                return Err(Error::Format(format!(
                    "the standardizer has {} features, the model {} inputs",
                    s.n_features(),
                    m.n_inputs
                )));
            }
        }
        if let Some(t) = &self.target_scaler {
            if m.head != Head::Regression {
                return Err(Error::Format(
                    "a target scaler needs a regression head".into(),
                ));
            }
            if !(t.mean.is_finite() && t.scale.is_finite() && t.scale > 0.0) {
                return Err(Error::Format(
                    "the target scaler holds non-finite or non-positive values".into(),
                ));
            }
        }
        if let Some(l) = &self.labels {
            let k = match m.head {
                Head::Regression => {
                    return Err(Error::Format(
                        "class labels given for a regression head".into(),
                    ));
                }
                Head::Binary => 2,
                Head::Multiclass(k) => k,
            };
            if l.len() != k {
                return Err(Error::Format(format!(
                    "{} class labels for a head of {k} classes",
                    l.len()
                )));
            }
            check_unique("class label", l)?;
        }
        if let Some(n) = &self.feature_names {
            if n.len() != m.n_inputs {
                return Err(Error::Format(format!(
                    "{} feature names for {} inputs",
                    n.len(),
                    m.n_inputs
                )));
            }
            check_unique("feature name", n)?;
        }
        Ok(())
    }

    /// Rebuilds the [`Network`] (e.g. to continue training); [`Error::Format`] if invalid.
    pub fn network(&self) -> Result<Network<F>> {
        let m = &self.model;
        if m.n_params() != Some(self.parameters.len()) {
            return Err(Error::Format(format!(
                "parameter count {} does not fit the model shape",
                self.parameters.len()
            )));
        }
        Network::from_parts(
            m.n_inputs,
            m.hidden.clone(),
            m.activation,
            m.head,
            self.parameters.clone(),
        )
        .map_err(|e| format_err("model", e))
    }

    /// The model as pretty-printed JSON (validated first).
    pub fn to_json_string(&self) -> Result<String> {
        self.validate()?;
        serde_json::to_string_pretty(self).map_err(|e| Error::Format(e.to_string()))
    }

    /// Writes the model to `path` atomically: the JSON goes to a temporary file in the
    /// same directory, which is flushed to disk and then renamed over `path`. On any
    /// failure an existing file at `path` is left untouched and the temporary file is
    /// removed. The model is validated first.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let json = self.to_json_string()?;
        write_atomic(path.as_ref(), |f| {
            f.write_all(json.as_bytes())?;
            f.write_all(b"\n")
        })
    }

    /// Parses and validates a model whose precision is `F`. Every failure is
    /// [`Error::Format`] (a model of the other precision included; [`LoadedModel`]
    /// accepts both).
    pub fn from_json_str(json: &str) -> Result<Self> {
        let (value, precision) = parse_checked(json)?;
        if precision != Precision::of::<F>() {
            return Err(Error::Format(format!(
                "the model holds {} parameters, not {}",
                precision.name(),
                F::NAME
            )));
        }
        from_value(value)
    }

    /// Reads and validates a model file of precision `F` ([`Error::Io`] if it cannot be
    /// read).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json_str(&read_text(path.as_ref())?)
    }
}

fn version_err(found: &str) -> Error {
    Error::Format(format!(
        "format version {found} is not supported; this reader supports version {FORMAT_VERSION}"
    ))
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| io_err(path, e))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::Format(format!("{} is not valid UTF-8 text", path.display())))
}

fn from_value<F: Float>(value: Value) -> Result<SavedModel<F>> {
    let m: SavedModel<F> =
        serde_json::from_value(value).map_err(|e| Error::Format(e.to_string()))?;
    m.validate()?;
    Ok(m)
}

/// Parses JSON and checks what must be right before typed decoding: an object, a known
/// `format_version`, a known `precision`, and parameters that are all numbers.
fn parse_checked(json: &str) -> Result<(Value, Precision)> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| Error::Format(format!("not valid JSON: {e}")))?;
    let Value::Object(obj) = &value else {
        return Err(Error::Format("the top level is not a JSON object".into()));
    };
    match obj.get("format_version") {
        None => {
            return Err(Error::Format(format!(
                "missing `format_version`; this reader supports version {FORMAT_VERSION}"
            )));
        }
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        Some(v) => return Err(version_err(&v.to_string())),
    }
    let precision = match obj.get("precision") {
        Some(Value::String(s)) => Precision::parse(s),
        _ => None,
    }
    .ok_or_else(|| {
        Error::Format(format!(
            "`precision` must be \"f32\" or \"f64\", found {}",
            obj.get("precision")
                .map_or("nothing".to_string(), Value::to_string)
        ))
    })?;
    match obj.get("parameters") {
        Some(Value::Array(ps)) => {
            if let Some((i, p)) = ps.iter().enumerate().find(|(_, p)| !p.is_number()) {
                let what = match p {
                    Value::Null => "null (NaN or infinity cannot be stored in JSON)".to_string(),
                    other => format!("{other}"),
                };
                return Err(Error::Format(format!(
                    "parameters[{i}] is {what}, not a number"
                )));
            }
        }
        _ => {
            return Err(Error::Format(
                "`parameters` must be an array of numbers".into(),
            ));
        }
    }
    Ok((value, precision))
}

/// Writes a file atomically with `write` (see [`SavedModel::save`]).
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(file_name) = path.file_name() else {
        return Err(Error::Io {
            path: path.display().to_string(),
            message: "not a file path".into(),
        });
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err(&tmp, e))?;
    let written = write(&mut f).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    // Make the rename itself durable (best effort: not every platform can sync a directory).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Loaded model

/// Predictions of a [`LoadedModel`] in the original units and labels.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// Regression: values in the target's original units.
    Values(Vec<f64>),
    /// Classification: class ids and their label names.
    Classes {
        /// Class ids (indices into [`LoadedModel::class_labels`]).
        ids: Vec<usize>,
        /// The label name of each prediction.
        labels: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Net {
    F32(Network<f32>),
    F64(Network<f64>),
}

/// A validated model ready to predict on raw feature rows; `Send + Sync`, so one
/// instance can serve many threads.
///
/// It stores the precision it was trained in and computes in it, so predictions are
/// bit-identical to those of the network that was saved (given the same feature values
/// in that precision). See the [module example](crate::io).
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedModel {
    net: Net,
    standardizer: Option<Standardizer>,
    target_scaler: Option<TargetScaler>,
    labels: Option<Vec<String>>,
    feature_names: Option<Vec<String>>,
    training: Value,
}

impl LoadedModel {
    /// Reads and validates a model file of either precision. Errors: [`Error::Io`] if the
    /// file cannot be read, [`Error::Format`] for anything wrong in it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json_str(&read_text(path.as_ref())?)
    }

    /// Parses and validates a model of either precision ([`Error::Format`] on failure).
    pub fn from_json_str(json: &str) -> Result<Self> {
        let (value, precision) = parse_checked(json)?;
        match precision {
            Precision::F32 => Self::from_saved(from_value::<f32>(value)?),
            Precision::F64 => Self::from_saved(from_value::<f64>(value)?),
        }
    }

    /// A loaded model from an in-memory [`SavedModel`] (validated).
    pub fn from_saved<F: Float>(saved: SavedModel<F>) -> Result<Self> {
        saved.validate()?;
        let m = &saved.model;
        // Exact: an `F` value is an f32 when F is f32, and f64 holds every f32 and f64.
        let net = match Precision::of::<F>() {
            Precision::F32 => Net::F32(
                Network::from_parts(
                    m.n_inputs,
                    m.hidden.clone(),
                    m.activation,
                    m.head,
                    saved
                        .parameters
                        .iter()
                        .map(|p| p.to_f64_lossless() as f32)
                        .collect(),
                )
                .map_err(|e| format_err("model", e))?,
            ),
            Precision::F64 => Net::F64(
                Network::from_parts(
                    m.n_inputs,
                    m.hidden.clone(),
                    m.activation,
                    m.head,
                    saved
                        .parameters
                        .iter()
                        .map(|p| p.to_f64_lossless())
                        .collect(),
                )
                .map_err(|e| format_err("model", e))?,
            ),
        };
        Ok(Self {
            net,
            standardizer: saved.standardizer,
            target_scaler: saved.target_scaler,
            labels: saved.labels,
            feature_names: saved.feature_names,
            training: saved.training,
        })
    }

    /// The precision the model computes in.
    pub fn precision(&self) -> Precision {
        match self.net {
            Net::F32(_) => Precision::F32,
            Net::F64(_) => Precision::F64,
        }
    }

    /// Number of input features.
    pub fn n_inputs(&self) -> usize {
        match &self.net {
            Net::F32(n) => n.n_inputs(),
            Net::F64(n) => n.n_inputs(),
        }
    }

    /// The output head.
    pub fn head(&self) -> Head {
        match &self.net {
            Net::F32(n) => n.head(),
            Net::F64(n) => n.head(),
        }
    }

    /// The hidden-layer widths.
    pub fn hidden(&self) -> &[usize] {
        match &self.net {
            Net::F32(n) => n.hidden(),
            Net::F64(n) => n.hidden(),
        }
    }

    /// For a classifier, the name of each class id: the saved labels, or `"0"`, `"1"`, …
    /// if none were saved. `None` for regression.
    pub fn class_labels(&self) -> Option<Vec<String>> {
        match self.head() {
            Head::Regression => None,
            h => Some(
                self.labels
                    .clone()
                    .unwrap_or_else(|| (0..h.n_outputs().max(2)).map(|i| i.to_string()).collect()),
            ),
        }
    }

    /// The saved class-label names, if any.
    pub fn labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }

    /// The saved feature names, if any.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The feature standardisation applied before the network, if any.
    pub fn standardizer(&self) -> Option<&Standardizer> {
        self.standardizer.as_ref()
    }

    /// The target scaling inverted after the network, if any.
    pub fn target_scaler(&self) -> Option<&TargetScaler> {
        self.target_scaler.as_ref()
    }

    /// The saved training settings (JSON `null` if none).
    pub fn training(&self) -> &Value {
        &self.training
    }

    /// Raw rows → the network's input in precision `F`: each value rounded to `F`, then
    /// standardised (exactly as [`Standardizer::transform_x`] does on a data set in `F`).
    fn prepare<F: Float>(&self, x: ArrayView2<'_, f64>) -> Result<Array2<F>> {
        if x.ncols() != self.n_inputs() {
            return Err(Error::shape("feature columns", self.n_inputs(), x.ncols()));
        }
        if x.nrows() == 0 {
            return Err(Error::Empty("no rows to predict".into()));
        }
        let xf = x.mapv(F::lit);
        crate::data::check_finite_pub("features", xf.view())?;
        match &self.standardizer {
            Some(s) => s.transform_x(xf.view()),
            None => Ok(xf),
        }
    }

    /// The network's raw outputs (`n × n_outputs`: scaled values or logits), widened to
    /// `f64` exactly.
    pub fn outputs(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        match &self.net {
            Net::F32(n) => Ok(n
                .outputs(self.prepare::<f32>(x)?.view())?
                .mapv(|v| v.to_f64_lossless())),
            Net::F64(n) => n.outputs(self.prepare::<f64>(x)?.view()),
        }
    }

    /// Predicts raw (unscaled) feature rows (`n × n_inputs`): values in the original
    /// units for regression, class ids and labels for classification. Errors on a
    /// column-count mismatch, no rows, or non-finite features.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction> {
        let p = match &self.net {
            Net::F32(n) => widen(n.predict(self.prepare::<f32>(x)?.view())?),
            Net::F64(n) => n.predict(self.prepare::<f64>(x)?.view())?,
        };
        Ok(match p {
            Predictions::Values(v) => Prediction::Values(match &self.target_scaler {
                Some(t) => v.into_iter().map(|z| t.inverse(z)).collect(),
                None => v,
            }),
            Predictions::Classes(ids) => {
                let names = self.class_labels().unwrap_or_default();
                let labels = ids
                    .iter()
                    .map(|&i| names.get(i).cloned().unwrap_or_else(|| i.to_string()))
                    .collect();
                Prediction::Classes { ids, labels }
            }
        })
    }

    /// Class probabilities for raw feature rows, `n × n_classes` (columns in class-id
    /// order; 2 columns for a binary head). [`Error::TaskMismatch`] for regression.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        match &self.net {
            Net::F32(n) => Ok(n
                .predict_proba(self.prepare::<f32>(x)?.view())?
                .mapv(|v| v.to_f64_lossless())),
            Net::F64(n) => n.predict_proba(self.prepare::<f64>(x)?.view()),
        }
    }
}

fn widen(p: Predictions<f32>) -> Predictions<f64> {
    match p {
        Predictions::Values(v) => Predictions::Values(v.into_iter().map(f64::from).collect()),
        Predictions::Classes(c) => Predictions::Classes(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "feasible-unit-{tag}-{}-{}",
            std::process::id(),
            COUNTER_T.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }
    static COUNTER_T: AtomicU64 = AtomicU64::new(0);

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn failed_write_leaves_existing_file_untouched() {
        let dir = tmp_dir("atomic");
        let path = dir.join("model.json");
        fs::write(&path, "original").unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"{\"half\": ")?;
            Err(io::Error::other("simulated crash mid-write"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "original");
        assert!(leftovers(&dir).is_empty());
        // A successful write replaces it and leaves no temporary file.
        write_atomic(&path, |f| f.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert!(leftovers(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_rename_leaves_existing_target_untouched() {
        // Renaming a file over a non-empty directory fails on every platform.
        let dir = tmp_dir("rename");
        let target = dir.join("model.json");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "x").unwrap();
        let net = Network::<f64>::linear_regression(2);
        let err = SavedModel::from_network(&net)
            .unwrap()
            .save(&target)
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert_eq!(fs::read_to_string(target.join("keep")).unwrap(), "x");
        assert!(leftovers(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn n_params_matches_network_and_detects_overflow() {
        let net = crate::model::Mlp::new(3, Head::Multiclass(4))
            .hidden(&[5, 6])
            .build::<f64>()
            .unwrap();
        let saved = SavedModel::from_network(&net).unwrap();
        assert_eq!(saved.spec().n_params(), Some(net.n_params()));
        let huge = ModelSpec {
            kind: ModelKind::Mlp,
            n_inputs: usize::MAX / 2,
            hidden: vec![4],
            activation: Activation::Relu,
            head: Head::Regression,
        };
        assert_eq!(huge.n_params(), None);
    }
}
