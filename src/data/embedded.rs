//! Real data sets compiled into the crate (from scikit-learn's bundled data; provenance
//! and licences in `data/PROVENANCE.md`). Nothing is downloaded at run time.
//!
//! | function | n × d | task |
//! |---|---|---|
//! | [`breast_cancer`] | 569 × 30 | binary (0 = malignant, 1 = benign) |
//! | [`digits`] | 1797 × 64 | 10 classes |
//! | [`diabetes`] | 442 × 10 | regression (raw, unscaled) |
//! | [`iris`] | 150 × 4 | 3 classes |
//!
//! ```
//! let iris = feasible::data::embedded::iris::<f32>();
//! assert_eq!((iris.n_samples(), iris.n_features()), (150, 4));
//! ```

use std::io::Read;

use ndarray::Array2;

use super::{Dataset, Targets};
use crate::{Error, Float, Result};

const BREAST_CANCER: &[u8] = include_bytes!("../../data/breast_cancer.csv");
const DIGITS_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");
const DIABETES_X_GZ: &[u8] = include_bytes!("../../data/diabetes_data_raw.csv.gz");
const DIABETES_Y_GZ: &[u8] = include_bytes!("../../data/diabetes_target.csv.gz");
const IRIS: &[u8] = include_bytes!("../../data/iris.csv");

/// Names accepted by [`by_name`], with a one-line description each.
pub const CATALOG: [(&str, &str); 4] = [
    (
        "breast_cancer",
        "569 × 30, binary classification (malignant / benign)",
    ),
    (
        "digits",
        "1797 × 64, 10-class classification (8×8 handwritten digits)",
    ),
    (
        "diabetes",
        "442 × 10, regression (disease progression after one year)",
    ),
    (
        "iris",
        "150 × 4, 3-class classification (setosa / versicolor / virginica)",
    ),
];

/// Class names of an embedded classification set (`None` for regression or unknown names).
pub fn class_names(name: &str) -> Option<Vec<String>> {
    let v: Vec<&str> = match name {
        "breast_cancer" => vec!["malignant", "benign"],
        "iris" => vec!["setosa", "versicolor", "virginica"],
        "digits" => vec!["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        _ => return None,
    };
    Some(v.into_iter().map(String::from).collect())
}

/// An embedded data set by name (see [`CATALOG`]).
pub fn by_name<F: Float>(name: &str) -> Result<Dataset<F>> {
    match name {
        "breast_cancer" => Ok(breast_cancer()),
        "digits" => Ok(digits()),
        "diabetes" => Ok(diabetes()),
        "iris" => Ok(iris()),
        other => Err(Error::param(
            "dataset",
            other,
            format!(
                "unknown embedded data set; known: {}",
                CATALOG.map(|c| c.0).join(", ")
            ),
        )),
    }
}

/// Breast Cancer Wisconsin (Diagnostic): 569 × 30, labels 0 = malignant, 1 = benign.
pub fn breast_cancer<F: Float>() -> Dataset<F> {
    labelled_with_header(BREAST_CANCER, "breast_cancer").expect("embedded breast_cancer parses")
}

/// Iris: 150 × 4, 3 classes.
pub fn iris<F: Float>() -> Dataset<F> {
    labelled_with_header(IRIS, "iris").expect("embedded iris parses")
}

/// Optical digits (8×8 test set): 1797 × 64 pixel counts in 0..=16, 10 classes.
pub fn digits<F: Float>() -> Dataset<F> {
    let text = gunzip(DIGITS_GZ).expect("embedded digits decompresses");
    let rows = parse_rows(&text, ',', "digits").expect("embedded digits parses");
    let n = rows.len();
    let d = rows[0].len() - 1;
    let x = Array2::from_shape_fn((n, d), |(i, j)| F::lit(rows[i][j]));
    let labels = rows.iter().map(|r| r[d] as usize).collect();
    Dataset::new(
        x,
        Targets::Classes {
            labels,
            n_classes: 10,
        },
    )
    .expect("embedded digits is valid")
}

/// Diabetes: 442 × 10 raw features (age, sex, bmi, bp, s1–s6), real target.
pub fn diabetes<F: Float>() -> Dataset<F> {
    let xt = gunzip(DIABETES_X_GZ).expect("embedded diabetes decompresses");
    let yt = gunzip(DIABETES_Y_GZ).expect("embedded diabetes target decompresses");
    let rows = parse_rows(&xt, ' ', "diabetes").expect("embedded diabetes parses");
    let ys = parse_rows(&yt, ' ', "diabetes target").expect("embedded diabetes target parses");
    let n = rows.len();
    let x = Array2::from_shape_fn((n, rows[0].len()), |(i, j)| F::lit(rows[i][j]));
    let y = ys.iter().map(|r| F::lit(r[0])).collect();
    Dataset::regression(x, y).expect("embedded diabetes is valid")
}

fn gunzip(bytes: &[u8]) -> Result<String> {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .map_err(|e| Error::Format(format!("gzip: {e}")))?;
    Ok(s)
}

fn parse_rows(text: &str, sep: char, name: &str) -> Result<Vec<Vec<f64>>> {
    let mut rows = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Result<Vec<f64>> = line
            .split(sep)
            .filter(|f| !f.is_empty())
            .enumerate()
            .map(|(col, f)| {
                f.trim().parse::<f64>().map_err(|e| Error::Parse {
                    source_name: name.into(),
                    line: ln + 1,
                    column: col + 1,
                    reason: e.to_string(),
                })
            })
            .collect();
        rows.push(fields?);
    }
    Ok(rows)
}

/// The sklearn "header" format: `n,d,class names…`, then `d` floats and a label per row.
fn labelled_with_header<F: Float>(bytes: &[u8], name: &str) -> Result<Dataset<F>> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Format(e.to_string()))?;
    let (header, body) = text
        .split_once('\n')
        .ok_or_else(|| Error::Empty(name.into()))?;
    let h: Vec<&str> = header.trim().split(',').collect();
    let n: usize = h[0]
        .parse()
        .map_err(|_| Error::Format(format!("{name}: bad header")))?;
    let d: usize = h[1]
        .parse()
        .map_err(|_| Error::Format(format!("{name}: bad header")))?;
    let n_classes = h.len() - 2;
    let rows = parse_rows(body, ',', name)?;
    if rows.len() != n || rows.iter().any(|r| r.len() != d + 1) {
        return Err(Error::shape(
            name,
            format!("{n} rows of {}", d + 1),
            rows.len(),
        ));
    }
    let x = Array2::from_shape_fn((n, d), |(i, j)| F::lit(rows[i][j]));
    let labels = rows.iter().map(|r| r[d] as usize).collect();
    Dataset::new(x, Targets::Classes { labels, n_classes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Task;

    #[test]
    fn shapes_and_known_values() {
        let bc = breast_cancer::<f64>();
        assert_eq!((bc.n_samples(), bc.n_features()), (569, 30));
        assert_eq!(bc.task(), Task::Classification { n_classes: 2 });
        assert_eq!(bc.x()[[0, 0]], 17.99);
        assert_eq!(bc.x()[[0, 1]], 10.38);
        let Targets::Classes { labels, .. } = bc.targets() else {
            panic!()
        };
        assert_eq!(labels[0], 0); // first sample is malignant
        assert_eq!(labels.iter().filter(|&&l| l == 1).count(), 357); // 357 benign

        let iris = iris::<f64>();
        assert_eq!((iris.n_samples(), iris.n_features()), (150, 4));
        assert_eq!(iris.x().row(0).to_vec(), vec![5.1, 3.5, 1.4, 0.2]);
        assert_eq!(iris.task(), Task::Classification { n_classes: 3 });

        let dg = digits::<f32>();
        assert_eq!((dg.n_samples(), dg.n_features()), (1797, 64));
        assert_eq!(dg.x()[[0, 2]], 5.0);
        assert!(dg.x().iter().all(|&v| (0.0..=16.0).contains(&v)));
        let Targets::Classes { labels, .. } = dg.targets() else {
            panic!()
        };
        assert_eq!(labels[0], 0);

        let db = diabetes::<f64>();
        assert_eq!((db.n_samples(), db.n_features()), (442, 10));
        assert_eq!(db.x()[[0, 0]], 59.0);
        assert_eq!(db.x()[[0, 9]], 87.0);
        let Targets::Real(y) = db.targets() else {
            panic!()
        };
        assert_eq!((y[0], y[1]), (151.0, 75.0));
        assert!(by_name::<f64>("nope").is_err());
        for (name, _) in CATALOG {
            assert!(by_name::<f32>(name).is_ok());
        }
    }
}
