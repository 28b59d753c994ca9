//! Errors, exit codes, atomic output files and data loading shared by the subcommands.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use feasible::Error;
use feasible::data::csv::{CsvOptions, TargetColumn, read_csv_file};
use feasible::data::{Dataset, embedded};

/// A failure with its exit code: 2 for bad usage or input, 1 for anything else.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// One-line reason.
    pub msg: String,
}

impl CliError {
    /// Bad usage or bad input (exit 2).
    pub fn usage(msg: impl Into<String>) -> Self {
        Self {
            code: 2,
            msg: msg.into(),
        }
    }

    /// Any other failure (exit 1).
    pub fn fail(msg: impl Into<String>) -> Self {
        Self {
            code: 1,
            msg: msg.into(),
        }
    }
}

/// Library errors on inputs are bad input (exit 2).
impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::usage(e.to_string())
    }
}

/// The text on one line (newlines and tabs become spaces).
pub fn one_line(s: &str) -> String {
    s.split(['\n', '\r', '\t'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
pub fn print_stdout(s: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::fail(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, synced,
/// then renamed over `path`. On failure an existing `path` is untouched (exit 1).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::fail(format!("cannot write output file {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

/// A CSV field, quoted when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `builtin:NAME` → the name.
pub fn builtin_name(src: &str) -> Option<&str> {
    src.strip_prefix("builtin:")
}

/// `--target`: digits are a 1-based column number, anything else a header name; none is
/// the last column.
pub fn target_column(target: Option<&str>) -> Result<TargetColumn, CliError> {
    match target {
        None => Ok(TargetColumn::Last),
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            match t.parse::<usize>() {
                Ok(i) if i >= 1 => Ok(TargetColumn::Index(i - 1)),
                _ => Err(CliError::usage(format!(
                    "invalid value '{t}' for '--target': column numbers start at 1"
                ))),
            }
        }
        Some(t) => Ok(TargetColumn::Name(t.to_string())),
    }
}

/// A labelled data set with its column and class names.
pub struct Labelled {
    pub data: Dataset<f64>,
    /// Feature names (`None` for embedded sets, which have no header).
    pub feature_names: Option<Vec<String>>,
    pub target_name: String,
    /// Class names (classification).
    pub labels: Option<Vec<String>>,
}

/// Reads `builtin:NAME` or a CSV file with `opts`.
pub fn load_labelled(src: &str, opts: &CsvOptions) -> Result<Labelled, CliError> {
    if let Some(name) = builtin_name(src) {
        let data = embedded::by_name::<f64>(name)?;
        return Ok(Labelled {
            data,
            feature_names: None,
            target_name: "target".into(),
            labels: embedded::class_names(name),
        });
    }
    let csv = read_csv_file::<f64>(src, opts)?;
    Ok(Labelled {
        data: csv.dataset,
        feature_names: Some(csv.feature_names),
        target_name: csv.target_name,
        labels: csv.labels,
    })
}

/// A reproducible permutation of `0..n` (SplitMix64-driven Fisher–Yates).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed ^ 0x5EED_F1A5_1B1E_0001;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

/// A number with at most 6 decimals (scientific notation when very large or small).
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || (1e-4..1e6).contains(&v.abs()) {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".into()
        } else {
            s.to_string()
        }
    } else {
        format!("{v:.4e}")
    }
}
