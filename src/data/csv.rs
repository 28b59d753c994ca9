//! A small, dependency-free CSV reader for training and prediction data.
//!
//! # Syntax
//!
//! * Fields are separated by a one-character delimiter: `,` by default, or `;`, a tab,
//!   or any other character except `"`, CR and LF ([`CsvOptions::delimiter`]).
//! * A field may be quoted with `"`; inside quotes the delimiter and line breaks are
//!   ordinary characters and `""` stands for one `"`. Whitespace around a field (and
//!   around a quoted field's quotes) is ignored.
//! * Lines end in LF, CRLF or a lone CR. Blank lines (anywhere, including at the end)
//!   are skipped. A leading UTF-8 byte-order mark is ignored.
//! * Every row must have as many fields as the first one.
//!
//! # Values
//!
//! Feature cells must be finite decimal numbers (`1`, `-2.5`, `3e-4`, …). Empty cells,
//! text, `nan`, `inf` and numbers that overflow the chosen precision are errors: there is
//! no silent imputation. Every error is an [`Error::Parse`] naming the source, the
//! 1-based line (where the row starts) and the 1-based column (field number).
//!
//! # Header, target and task
//!
//! See [`Header`], [`TargetColumn`] and [`CsvTask`] for the exact rules, and
//! [`read_csv`] for the class-label mapping.
//!
//! ```
//! use feasible::data::csv::{read_csv, CsvOptions};
//! use feasible::data::Task;
//! let text = "length,width,species\n1.0,2.0,cat\n3.0,1.5,dog\n0.5,0.5,cat\n";
//! let csv = read_csv::<f64>(text, "pets.csv", &CsvOptions::new()).unwrap();
//! assert_eq!(csv.feature_names, ["length", "width"]);
//! assert_eq!(csv.target_name, "species");
//! assert_eq!(csv.labels.as_deref(), Some(&["cat".to_string(), "dog".to_string()][..]));
//! assert_eq!(csv.dataset.task(), Task::Classification { n_classes: 2 });
//!
//! let err = read_csv::<f64>("a,b\n1,2\nx,3\n", "bad.csv", &CsvOptions::new()).unwrap_err();
//! assert_eq!(err.to_string(), "bad.csv:3:1: non-numeric feature value `x`");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use ndarray::Array2;

use super::{Dataset, Targets};
use crate::{Error, Float, Result};

/// Whether the first row is a header of column names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// Detect it: the first row is a header if any of its cells in a *feature* column is
    /// non-empty and not a number (`nan`/`inf` count as numbers here, so a data row
    /// holding them is reported as such rather than taken for a header). When the target
    /// is given by name, a header is required and assumed. Headers whose names all look
    /// like numbers are not detected: use [`Header::Yes`].
    #[default]
    Auto,
    /// The first row is a header.
    Yes,
    /// There is no header; columns are named `column_1`, `column_2`, … (1-based).
    No,
}

/// Which column holds the target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TargetColumn {
    /// The last column.
    #[default]
    Last,
    /// The column at this **0-based** index (error messages count columns from 1).
    Index(usize),
    /// The column with this header name (needs a header).
    Name(String),
}

/// The task to read the target for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvTask {
    /// Infer it. The target is read for **classification** if
    /// (a) any target cell is not a number, or
    /// (b) every target cell is an integer (e.g. `3`, `-1`, `2.0`; magnitude below 2⁵³) and
    ///     there are between 2 and [`CsvOptions::max_auto_classes`] (default 20) distinct
    ///     values.
    ///
    /// Otherwise it is read for **regression**. A known label mapping
    /// ([`CsvOptions::labels`]) always means classification.
    #[default]
    Auto,
    /// A real-valued target; every target cell must be a finite number.
    Regression,
    /// Class labels, numeric or text.
    Classification,
}

/// Options of [`read_csv`] and [`read_features`], set with builder methods.
///
/// ```
/// use feasible::data::csv::{CsvOptions, CsvTask, Header};
/// let opts = CsvOptions::new()
///     .delimiter(';')
///     .header(Header::Yes)
///     .target_name("price")
///     .task(CsvTask::Regression);
/// assert_eq!(opts.get_delimiter(), ';');
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    delimiter: char,
    header: Header,
    target: TargetColumn,
    task: CsvTask,
    labels: Option<Vec<String>>,
    max_auto_classes: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvOptions {
    /// Comma-separated, header detected, target in the last column, task inferred.
    pub fn new() -> Self {
        Self {
            delimiter: ',',
            header: Header::Auto,
            target: TargetColumn::Last,
            task: CsvTask::Auto,
            labels: None,
            max_auto_classes: 20,
        }
    }

    /// The field delimiter (`,` by default; `;` and `'\t'` are common). `"`, CR and LF
    /// are rejected when reading.
    pub fn delimiter(mut self, d: char) -> Self {
        self.delimiter = d;
        self
    }

    /// Header handling (default [`Header::Auto`]).
    pub fn header(mut self, h: Header) -> Self {
        self.header = h;
        self
    }

    /// The target column (default [`TargetColumn::Last`]).
    pub fn target(mut self, t: TargetColumn) -> Self {
        self.target = t;
        self
    }

    /// The target column by header name.
    pub fn target_name(self, name: impl Into<String>) -> Self {
        self.target(TargetColumn::Name(name.into()))
    }

    /// The target column by 0-based index.
    pub fn target_index(self, index: usize) -> Self {
        self.target(TargetColumn::Index(index))
    }

    /// The task (default [`CsvTask::Auto`]).
    pub fn task(mut self, t: CsvTask) -> Self {
        self.task = t;
        self
    }

    /// A known class-label mapping: class id `i` is `labels[i]`. Used to read data for a
    /// saved model, so ids agree with training; a target not in the mapping is an error.
    /// Implies classification.
    pub fn labels(mut self, labels: Vec<String>) -> Self {
        self.labels = Some(labels);
        self
    }

    /// The most distinct integer values [`CsvTask::Auto`] reads as classes (default 20).
    pub fn max_auto_classes(mut self, k: usize) -> Self {
        self.max_auto_classes = k;
        self
    }

    /// The delimiter in use.
    pub fn get_delimiter(&self) -> char {
        self.delimiter
    }

    /// The header setting in use.
    pub fn get_header(&self) -> Header {
        self.header
    }

    /// The target column in use.
    pub fn get_target(&self) -> &TargetColumn {
        &self.target
    }

    /// The task setting in use.
    pub fn get_task(&self) -> CsvTask {
        self.task
    }

    /// The known label mapping, if any.
    pub fn get_labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }

    fn check(&self) -> Result<()> {
        if matches!(self.delimiter, '"' | '\r' | '\n') {
            return Err(Error::param(
                "delimiter",
                self.delimiter.escape_default(),
                "a delimiter cannot be a quote or a line break",
            ));
        }
        if let Some(l) = &self.labels {
            if l.len() < 2 {
                return Err(Error::param(
                    "labels",
                    l.len(),
                    "a label mapping needs at least 2 classes",
                ));
            }
            let mut seen = BTreeSet::new();
            if let Some(d) = l.iter().find(|s| !seen.insert(s.as_str())) {
                return Err(Error::param("labels", d, "duplicate class label"));
            }
            if self.task == CsvTask::Regression {
                return Err(Error::param(
                    "labels",
                    l.len(),
                    "a label mapping needs a classification task",
                ));
            }
        }
        Ok(())
    }
}

/// A labelled data set read from CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvData<F> {
    /// Features and targets (class ids index [`labels`](Self::labels)).
    pub dataset: Dataset<F>,
    /// Feature column names, in dataset column order (generated if there is no header).
    pub feature_names: Vec<String>,
    /// The target column's name.
    pub target_name: String,
    /// For classification, the name of each class id; `None` for regression.
    pub labels: Option<Vec<String>>,
    /// The 1-based line on which each sample's row starts.
    pub lines: Vec<usize>,
}

/// Features read from CSV for prediction (see [`read_features`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CsvFeatures<F> {
    /// The feature matrix, `n × d`, columns in schema order.
    pub x: Array2<F>,
    /// The feature names, in column order.
    pub feature_names: Vec<String>,
    /// The 1-based line on which each row starts.
    pub lines: Vec<usize>,
}

/// The features a model expects, for [`read_features`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeatureSchema {
    /// This many feature columns.
    Count(usize),
    /// These named feature columns, in this order.
    Names(Vec<String>),
}

// ---------------------------------------------------------------------------------------
// Tokenizer

/// One CSV row: the line it starts on and its (trimmed) fields.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

fn perr(source: &str, line: usize, column: usize, reason: impl Into<String>) -> Error {
    Error::Parse {
        source_name: source.to_string(),
        line,
        column,
        reason: reason.into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a field's first non-blank character.
    Start,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside quotes (opened on the given line).
    Quoted(usize),
    /// After a closing quote.
    AfterQuote,
}

fn tokenize(text: &str, delim: char, source: &str) -> Result<Vec<Record>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut chars = text.chars().peekable();
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut rec_line = 1usize;
    let mut state = State::Start;

    let finish_field = |field: &mut String, quoted: &mut bool, fields: &mut Vec<String>| {
        let f = std::mem::take(field);
        fields.push(if *quoted { f } else { f.trim().to_string() });
        *quoted = false;
    };

    loop {
        let c = chars.next();
        let newline = match c {
            Some('\n') => true,
            Some('\r') => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                true
            }
            _ => false,
        };
        match state {
            State::Quoted(open) => match c {
                None => {
                    return Err(perr(
                        source,
                        open,
                        fields.len() + 1,
                        "unterminated quoted field",
                    ));
                }
                Some('"') => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        state = State::AfterQuote;
                    }
                }
                Some(_) if newline => {
                    field.push('\n');
                    line += 1;
                }
                Some(ch) => field.push(ch),
            },
            State::Start | State::Unquoted | State::AfterQuote => {
                if c.is_none() || newline {
                    let blank = fields.is_empty() && !quoted && field.trim().is_empty();
                    if !blank {
                        finish_field(&mut field, &mut quoted, &mut fields);
                        records.push(Record {
                            line: rec_line,
                            fields: std::mem::take(&mut fields),
                        });
                    }
                    field.clear();
                    state = State::Start;
                    if c.is_none() {
                        break;
                    }
                    line += 1;
                    rec_line = line;
                    continue;
                }
                let ch = c.unwrap_or(delim); // c is Some here
                if ch == delim {
                    finish_field(&mut field, &mut quoted, &mut fields);
                    state = State::Start;
                } else if state == State::AfterQuote {
                    if !ch.is_whitespace() {
                        return Err(perr(
                            source,
                            line,
                            fields.len() + 1,
                            format!("unexpected `{}` after a closing quote", ch.escape_default()),
                        ));
                    }
                } else if ch == '"' && field.trim().is_empty() {
                    field.clear();
                    quoted = true;
                    state = State::Quoted(line);
                } else {
                    field.push(ch);
                    state = State::Unquoted;
                }
            }
        }
    }
    Ok(records)
}

// ---------------------------------------------------------------------------------------
// Cells

enum Cell {
    Finite(f64),
    NonFinite,
    Text,
}

fn classify(s: &str) -> Cell {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Cell::Finite(v),
        Ok(_) => Cell::NonFinite,
        Err(_) => Cell::Text,
    }
}

fn is_numberish(s: &str) -> bool {
    !matches!(classify(s), Cell::Text)
}

/// Parses one numeric cell in precision `F`, with a located error.
fn parse_num<F: Float>(s: &str, what: &str, source: &str, line: usize, col: usize) -> Result<F> {
    let t = s.trim();
    if t.is_empty() {
        return Err(perr(
            source,
            line,
            col,
            format!("empty {what} cell (missing values are not supported)"),
        ));
    }
    match <F as num_traits::Num>::from_str_radix(t, 10) {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => {
            let reason = if t.parse::<f64>().is_ok_and(|v| v.is_finite()) {
                format!("{what} value `{t}` is out of range for {}", F::NAME)
            } else {
                format!("non-finite {what} value `{t}` (NaN and infinity are not allowed)")
            };
            Err(perr(source, line, col, reason))
        }
        Err(_) => Err(perr(
            source,
            line,
            col,
            format!("non-numeric {what} value `{t}`"),
        )),
    }
}

/// An integer-valued number's canonical key, if the cell is one.
fn integer_key(s: &str) -> Option<i64> {
    match classify(s) {
        Cell::Finite(v) if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => Some(v as i64),
        _ => None,
    }
}

fn read_to_string(path: &Path) -> Result<(String, String)> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: name.clone(),
        message: e.to_string(),
    })?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, name)),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            Err(perr(&name, line, 1, "the file is not valid UTF-8"))
        }
    }
}

fn check_widths(records: &[Record], width: usize, source: &str) -> Result<()> {
    for r in records {
        let w = r.fields.len();
        if w != width {
            let (col, what) = if w < width {
                (w + 1, "missing field")
            } else {
                (width + 1, "extra field")
            };
            return Err(perr(
                source,
                r.line,
                col,
                format!("{what}: expected {width} fields as in the first row, found {w}"),
            ));
        }
    }
    Ok(())
}

fn header_names(rec: &Record, source: &str) -> Result<Vec<String>> {
    let mut seen = HashMap::new();
    let mut names = Vec::with_capacity(rec.fields.len());
    for (j, f) in rec.fields.iter().enumerate() {
        let name = if f.is_empty() {
            format!("column_{}", j + 1)
        } else {
            f.clone()
        };
        if let Some(first) = seen.insert(name.clone(), j) {
            return Err(perr(
                source,
                rec.line,
                j + 1,
                format!("duplicate column name `{name}` (also column {})", first + 1),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

fn generated_names(width: usize) -> Vec<String> {
    (1..=width).map(|j| format!("column_{j}")).collect()
}

// ---------------------------------------------------------------------------------------
// Labelled data

/// Reads a labelled data set from CSV `text`; `source_name` (usually the file name)
/// labels errors.
///
/// **Class labels.** For classification, each distinct target value becomes a class id:
/// * if every target cell is an integer (`0`, `2`, `-1`, `3.0`), ids follow **numeric
///   order** and the label names are the integers in canonical form (`3.0` → `"3"`);
/// * otherwise ids follow the **sorted (byte-wise) order** of the distinct texts.
///
/// With a known mapping ([`CsvOptions::labels`]) a cell's id is the position of the
/// equal text in the mapping, or, failing that, of its canonical integer form; a target
/// not in the mapping is an [`Error::Parse`] at its line and column.
///
/// Errors ([`Error::Parse`] unless noted): empty input, a header without data rows,
/// fewer than 2 columns, a ragged row, an unknown target column, a non-numeric, empty,
/// NaN or infinite feature (or regression target), a single class, an unknown class;
/// [`Error::InvalidParameter`] for invalid options.
pub fn read_csv<F: Float>(text: &str, source_name: &str, opts: &CsvOptions) -> Result<CsvData<F>> {
    opts.check()?;
    let src = source_name;
    let records = tokenize(text, opts.delimiter, src)?;
    let Some(first) = records.first() else {
        return Err(perr(src, 1, 1, "empty input: no rows"));
    };
    let width = first.fields.len();
    if width < 2 {
        return Err(perr(
            src,
            first.line,
            1,
            format!(
                "only {width} column (with delimiter `{}`): need at least one feature and a target",
                opts.delimiter.escape_default()
            ),
        ));
    }
    check_widths(&records, width, src)?;

    let by_name = matches!(opts.target, TargetColumn::Name(_));
    let has_header = match opts.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto if by_name => true,
        Header::Auto => {
            let t = target_index(&opts.target, width, None, first, src)?;
            first
                .fields
                .iter()
                .enumerate()
                .any(|(j, f)| j != t && !f.is_empty() && !is_numberish(f))
        }
    };
    let names = if has_header {
        header_names(first, src)?
    } else {
        generated_names(width)
    };
    let t = target_index(
        &opts.target,
        width,
        has_header.then_some(names.as_slice()),
        first,
        src,
    )?;
    let data = if has_header {
        &records[1..]
    } else {
        &records[..]
    };
    if data.is_empty() {
        return Err(perr(
            src,
            first.line,
            1,
            "the file has a header but no data rows",
        ));
    }

    let n = data.len();
    let d = width - 1;
    let mut xs = Vec::with_capacity(n * d);
    for r in data {
        for (j, f) in r.fields.iter().enumerate() {
            if j != t {
                xs.push(parse_num::<F>(f, "feature", src, r.line, j + 1)?);
            }
        }
    }
    let x = Array2::from_shape_vec((n, d), xs)
        .map_err(|e| Error::shape("CSV features", format!("{n} × {d}"), e))?;

    let (targets, labels) = read_targets::<F>(data, t, opts, src)?;
    let feature_names = names
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != t)
        .map(|(_, s)| s.clone())
        .collect();
    Ok(CsvData {
        dataset: Dataset::new(x, targets)?,
        feature_names,
        target_name: names[t].clone(),
        labels,
        lines: data.iter().map(|r| r.line).collect(),
    })
}

fn target_index(
    target: &TargetColumn,
    width: usize,
    names: Option<&[String]>,
    first: &Record,
    src: &str,
) -> Result<usize> {
    match target {
        TargetColumn::Last => Ok(width - 1),
        TargetColumn::Index(i) if *i < width => Ok(*i),
        TargetColumn::Index(i) => Err(perr(
            src,
            first.line,
            1,
            format!(
                "target column index {i} (0-based; column {} counting from 1) is out of range for {width} columns",
                i + 1
            ),
        )),
        TargetColumn::Name(name) => match names {
            None => Err(perr(
                src,
                first.line,
                1,
                format!("target column `{name}` is given by name, but the file has no header"),
            )),
            Some(names) => names.iter().position(|s| s == name).ok_or_else(|| {
                perr(
                    src,
                    first.line,
                    1,
                    format!(
                        "unknown target column `{name}`; columns are: {}",
                        names.join(", ")
                    ),
                )
            }),
        },
    }
}

type TargetsAndLabels<F> = (Targets<F>, Option<Vec<String>>);

fn read_targets<F: Float>(
    data: &[Record],
    t: usize,
    opts: &CsvOptions,
    src: &str,
) -> Result<TargetsAndLabels<F>> {
    let col = t + 1;
    for r in data {
        if r.fields[t].is_empty() {
            return Err(perr(
                src,
                r.line,
                col,
                "empty target cell (missing values are not supported)",
            ));
        }
    }
    let cells = || data.iter().map(|r| r.fields[t].as_str());

    if let Some(mapping) = &opts.labels {
        let exact: HashMap<&str, usize> = mapping
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let mut ids = Vec::with_capacity(data.len());
        for r in data {
            let c = r.fields[t].as_str();
            let id = exact.get(c).copied().or_else(|| {
                integer_key(c).and_then(|k| exact.get(k.to_string().as_str()).copied())
            });
            match id {
                Some(id) => ids.push(id),
                None => {
                    return Err(perr(
                        src,
                        r.line,
                        col,
                        format!(
                            "unknown class `{c}`; the model knows: {}",
                            mapping.join(", ")
                        ),
                    ));
                }
            }
        }
        return Ok((
            Targets::Classes {
                labels: ids,
                n_classes: mapping.len(),
            },
            Some(mapping.clone()),
        ));
    }

    let any_text = cells().any(|c| !is_numberish(c));
    let int_keys: Option<Vec<i64>> = cells().map(integer_key).collect();
    let classify_task = match opts.task {
        CsvTask::Regression => false,
        CsvTask::Classification => true,
        CsvTask::Auto => {
            any_text
                || int_keys.as_ref().is_some_and(|k| {
                    let distinct = k.iter().collect::<BTreeSet<_>>().len();
                    (2..=opts.max_auto_classes).contains(&distinct)
                })
        }
    };

    if !classify_task {
        let y = data
            .iter()
            .map(|r| parse_num::<F>(&r.fields[t], "target", src, r.line, col))
            .collect::<Result<Vec<F>>>()?;
        return Ok((Targets::Real(y), None));
    }

    let (ids, names): (Vec<usize>, Vec<String>) = match int_keys {
        Some(keys) => {
            let order: BTreeMap<i64, usize> = keys
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .enumerate()
                .map(|(i, k)| (k, i))
                .collect();
            (
                keys.iter().map(|k| order[k]).collect(),
                order.keys().map(|k| k.to_string()).collect(),
            )
        }
        None => {
            let order: BTreeMap<&str, usize> = cells()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .enumerate()
                .map(|(i, k)| (k, i))
                .collect();
            (
                cells().map(|c| order[c]).collect(),
                order.keys().map(|k| k.to_string()).collect(),
            )
        }
    };
    if names.len() < 2 {
        let line = data.first().map_or(1, |r| r.line);
        return Err(perr(
            src,
            line,
            col,
            format!(
                "the target has a single class `{}`; classification needs at least 2",
                names.first().map_or("", String::as_str)
            ),
        ));
    }
    Ok((
        Targets::Classes {
            labels: ids,
            n_classes: names.len(),
        },
        Some(names),
    ))
}

/// [`read_csv`] on a file: I/O failures are [`Error::Io`], and the path (as displayed)
/// is the source name in parse errors.
pub fn read_csv_file<F: Float>(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<CsvData<F>> {
    let (text, name) = read_to_string(path.as_ref())?;
    read_csv(&text, &name, opts)
}

// ---------------------------------------------------------------------------------------
// Features only

/// Reads feature rows for prediction. The target column may be present or absent.
///
/// Column selection:
/// * with [`FeatureSchema::Names`] and a header, each named column is taken by name, in
///   schema order; other columns (such as a target) are ignored;
/// * otherwise, with `d` expected features, a row of `d` fields is all features, and a
///   row of `d + 1` fields holds the target in the column given by
///   [`CsvOptions::target`] (default: last), which is dropped.
///
/// [`Header::Auto`] takes the first row for a header if it contains every schema name,
/// or if one of its feature cells is non-empty text. Only the delimiter, header and
/// target options are used.
///
/// ```
/// use feasible::data::csv::{read_features, CsvOptions, FeatureSchema};
/// let schema = FeatureSchema::Names(vec!["b".into(), "a".into()]);
/// let f = read_features::<f32>("a,b,y\n1,2,cat\n", "new.csv", &CsvOptions::new(), &schema).unwrap();
/// assert_eq!(f.x.row(0).to_vec(), vec![2.0, 1.0]);
/// let f = read_features::<f32>("1,2\n3,4\n", "new.csv", &CsvOptions::new(), &schema).unwrap();
/// assert_eq!(f.x.nrows(), 2);
/// ```
pub fn read_features<F: Float>(
    text: &str,
    source_name: &str,
    opts: &CsvOptions,
    schema: &FeatureSchema,
) -> Result<CsvFeatures<F>> {
    opts.check()?;
    let src = source_name;
    let d = match schema {
        FeatureSchema::Count(d) => *d,
        FeatureSchema::Names(n) => n.len(),
    };
    if d == 0 {
        return Err(Error::param(
            "schema",
            0,
            "at least one feature is expected",
        ));
    }
    let records = tokenize(text, opts.delimiter, src)?;
    let Some(first) = records.first() else {
        return Err(perr(src, 1, 1, "empty input: no rows"));
    };
    let width = first.fields.len();
    check_widths(&records, width, src)?;
    let schema_names = match schema {
        FeatureSchema::Names(n) => Some(n),
        FeatureSchema::Count(_) => None,
    };

    // Columns dropped as the target when the row is one wider than the schema.
    let dropped_by_position = |names: Option<&[String]>| -> Result<Option<usize>> {
        if width == d + 1 {
            target_index(&opts.target, width, names, first, src).map(Some)
        } else {
            Ok(None)
        }
    };

    let has_header = match opts.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => {
            let all_names =
                schema_names.is_some_and(|n| n.iter().all(|s| first.fields.iter().any(|f| f == s)));
            all_names || {
                let drop = match &opts.target {
                    TargetColumn::Name(name) => first.fields.iter().position(|f| f == name),
                    _ => dropped_by_position(None).unwrap_or(None),
                };
                first
                    .fields
                    .iter()
                    .enumerate()
                    .any(|(j, f)| Some(j) != drop && !f.is_empty() && !is_numberish(f))
            }
        }
    };
    let header = if has_header {
        Some(header_names(first, src)?)
    } else {
        None
    };

    let (cols, names): (Vec<usize>, Vec<String>) = match (schema_names, &header) {
        (Some(want), Some(have)) => {
            let mut cols = Vec::with_capacity(d);
            for w in want {
                match have.iter().position(|h| h == w) {
                    Some(j) => cols.push(j),
                    None => {
                        return Err(perr(
                            src,
                            first.line,
                            1,
                            format!(
                                "missing feature column `{w}`; columns are: {}",
                                have.join(", ")
                            ),
                        ));
                    }
                }
            }
            (cols, want.clone())
        }
        _ => {
            if width != d && width != d + 1 {
                return Err(perr(
                    src,
                    first.line,
                    width.min(d) + 1,
                    format!(
                        "expected {d} feature columns (or {} with a target column), found {width}",
                        d + 1
                    ),
                ));
            }
            let drop = dropped_by_position(header.as_deref())?;
            let cols: Vec<usize> = (0..width).filter(|&j| Some(j) != drop).collect();
            let names = match (schema_names, &header) {
                (Some(want), _) => want.clone(),
                (None, Some(h)) => cols.iter().map(|&j| h[j].clone()).collect(),
                (None, None) => cols.iter().map(|&j| format!("column_{}", j + 1)).collect(),
            };
            (cols, names)
        }
    };

    let data = if has_header {
        &records[1..]
    } else {
        &records[..]
    };
    if data.is_empty() {
        return Err(perr(
            src,
            first.line,
            1,
            "the file has a header but no data rows",
        ));
    }
    let n = data.len();
    let mut xs = Vec::with_capacity(n * d);
    for r in data {
        for &j in &cols {
            xs.push(parse_num::<F>(&r.fields[j], "feature", src, r.line, j + 1)?);
        }
    }
    let x = Array2::from_shape_vec((n, d), xs)
        .map_err(|e| Error::shape("CSV features", format!("{n} × {d}"), e))?;
    Ok(CsvFeatures {
        x,
        feature_names: names,
        lines: data.iter().map(|r| r.line).collect(),
    })
}

/// [`read_features`] on a file: I/O failures are [`Error::Io`].
pub fn read_features_file<F: Float>(
    path: impl AsRef<Path>,
    opts: &CsvOptions,
    schema: &FeatureSchema,
) -> Result<CsvFeatures<F>> {
    let (text, name) = read_to_string(path.as_ref())?;
    read_features(&text, &name, opts, schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        tokenize(text, ',', "t")
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    #[test]
    fn tokenizer_handles_quotes_crlf_bom_and_blank_lines() {
        let t = "\u{feff}a, \"b,\"\"c\"\"\" \r\n\r\n1,\"x\ny\"\r\n\n  \n";
        assert_eq!(
            fields(t),
            vec![vec!["a", "b,\"c\""], vec!["1", "x\ny"]]
                .into_iter()
                .map(|r| r.into_iter().map(String::from).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        );
        let recs = tokenize("a\n\n\"q\nq\",b\nc,d", ',', "t").unwrap();
        assert_eq!(
            recs.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 3, 5]
        );
        // A lone CR ends a line too; empty quoted field is a field.
        assert_eq!(fields("1,2\r3,\"\""), vec![vec!["1", "2"], vec!["3", ""]]);
    }

    #[test]
    fn tokenizer_errors_are_located() {
        let e = tokenize("a,b\n1,\"open\n\n", ',', "f.csv").unwrap_err();
        assert_eq!(e, perr("f.csv", 2, 2, "unterminated quoted field"));
        let e = tokenize("a,b\n1,\"x\"y\n", ',', "f.csv").unwrap_err();
        assert!(matches!(
            e,
            Error::Parse {
                line: 2,
                column: 2,
                ..
            }
        ));
    }

    #[test]
    fn integer_keys() {
        assert_eq!(integer_key("3.0"), Some(3));
        assert_eq!(integer_key("-2"), Some(-2));
        assert_eq!(integer_key("2.5"), None);
        assert_eq!(integer_key("cat"), None);
        assert_eq!(integer_key("1e300"), None);
    }
}
