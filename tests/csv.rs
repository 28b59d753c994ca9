//! The CSV reader: parsing, detection rules, label mappings and located errors.

use feasible::Error;
use feasible::data::csv::{
    CsvOptions, CsvTask, FeatureSchema, Header, TargetColumn, read_csv, read_csv_file,
    read_features,
};
use feasible::data::{Targets, Task};

fn opts() -> CsvOptions {
    CsvOptions::new()
}

/// Asserts a parse error at `line`:`column` whose reason contains `needle`.
#[track_caller]
fn assert_parse_err<T: std::fmt::Debug>(
    r: feasible::Result<T>,
    source: &str,
    line: usize,
    column: usize,
    needle: &str,
) {
    match r {
        Err(Error::Parse {
            source_name,
            line: l,
            column: c,
            reason,
        }) => {
            assert_eq!(
                (source_name.as_str(), l, c),
                (source, line, column),
                "reason: {reason}"
            );
            assert!(reason.contains(needle), "`{reason}` lacks `{needle}`");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn class_ids(t: &Targets<f64>) -> Vec<usize> {
    match t {
        Targets::Classes { labels, .. } => labels.clone(),
        Targets::Real(_) => panic!("expected classes"),
    }
}

#[test]
fn string_labels_are_sorted_and_mapped() {
    let text = "a,b,animal\n1,2,dog\n3,4,cat\n5,6,emu\n7,8,cat\n";
    let d = read_csv::<f64>(text, "z.csv", &opts()).unwrap();
    assert_eq!(
        d.labels.as_deref().unwrap(),
        ["cat", "dog", "emu"].map(String::from)
    );
    assert_eq!(class_ids(d.dataset.targets()), vec![1, 0, 2, 0]);
    assert_eq!(d.dataset.task(), Task::Classification { n_classes: 3 });
    assert_eq!(d.feature_names, ["a", "b"]);
    assert_eq!(d.target_name, "animal");
    assert_eq!(d.lines, vec![2, 3, 4, 5]);
    assert_eq!(d.dataset.x().row(1).to_vec(), vec![3.0, 4.0]);
}

#[test]
fn integer_labels_use_numeric_order_and_canonical_names() {
    let text = "1,10\n2,9\n3,10.0\n4,-1\n";
    let d = read_csv::<f64>(text, "n.csv", &opts()).unwrap();
    assert_eq!(
        d.labels.as_deref().unwrap(),
        ["-1", "9", "10"].map(String::from)
    );
    assert_eq!(class_ids(d.dataset.targets()), vec![2, 1, 2, 0]);
    assert_eq!(d.feature_names, ["column_1"]);
    assert_eq!(d.target_name, "column_2");
}

#[test]
fn task_inference_rule() {
    // Floats → regression.
    let d = read_csv::<f64>("1,0.5\n2,1.5\n", "r", &opts()).unwrap();
    assert_eq!(d.dataset.task(), Task::Regression);
    assert!(d.labels.is_none());
    // More than max_auto_classes distinct integers → regression.
    let many: String = (0..30).map(|i| format!("{i},{i}\n")).collect();
    let d = read_csv::<f64>(&many, "r", &opts()).unwrap();
    assert_eq!(d.dataset.task(), Task::Regression);
    let d = read_csv::<f64>(&many, "r", &opts().max_auto_classes(30)).unwrap();
    assert_eq!(d.dataset.task(), Task::Classification { n_classes: 30 });
    // A constant integer target is not read as one class.
    let d = read_csv::<f64>("1,3\n2,3\n", "r", &opts()).unwrap();
    assert_eq!(d.dataset.task(), Task::Regression);
    // Forcing the task.
    let d = read_csv::<f64>("1,0\n2,1\n", "r", &opts().task(CsvTask::Regression)).unwrap();
    assert_eq!(d.dataset.targets(), &Targets::Real(vec![0.0, 1.0]));
    let d = read_csv::<f64>("1,0.5\n2,1.5\n", "r", &opts().task(CsvTask::Classification)).unwrap();
    assert_eq!(
        d.labels.as_deref().unwrap(),
        ["0.5", "1.5"].map(String::from)
    );
    // Text in a forced regression target is located.
    assert_parse_err(
        read_csv::<f64>("1,0.5\n2,x\n", "r", &opts().task(CsvTask::Regression)),
        "r",
        2,
        2,
        "non-numeric target value `x`",
    );
    // A single class is an error.
    assert_parse_err(
        read_csv::<f64>("x,y\n1,a\n2,a\n", "one", &opts()),
        "one",
        2,
        2,
        "single class",
    );
}

#[test]
fn header_detection() {
    // Text in a feature column → header.
    let d = read_csv::<f64>("h1,h2,y\n1,2,0\n3,4,1\n", "h", &opts()).unwrap();
    assert_eq!(d.dataset.n_samples(), 2);
    assert_eq!(d.feature_names, ["h1", "h2"]);
    // Text only in the target column → data (string labels), no header.
    let d = read_csv::<f64>("1,2,a\n3,4,b\n", "h", &opts()).unwrap();
    assert_eq!(d.dataset.n_samples(), 2);
    assert_eq!(d.feature_names, ["column_1", "column_2"]);
    // Numeric-looking header names need Header::Yes.
    let d = read_csv::<f64>("1,2\n3,4\n5,6\n", "h", &opts().header(Header::Yes)).unwrap();
    assert_eq!((d.dataset.n_samples(), d.target_name.as_str()), (2, "2"));
    // Header::No with a text row reports the text.
    assert_parse_err(
        read_csv::<f64>("a,b\n1,2\n", "h", &opts().header(Header::No)),
        "h",
        1,
        1,
        "non-numeric feature value `a`",
    );
    // A data row starting with nan is reported as NaN, not taken for a header.
    assert_parse_err(
        read_csv::<f64>("nan,1\n2,3\n", "h", &opts()),
        "h",
        1,
        1,
        "non-finite",
    );
    // Duplicate names are rejected; empty names are generated.
    assert_parse_err(
        read_csv::<f64>("a,a,y\n1,2,3\n", "h", &opts().header(Header::Yes)),
        "h",
        1,
        2,
        "duplicate column name `a`",
    );
    let d = read_csv::<f64>(",a,y\n1,2,3.5\n", "h", &opts()).unwrap();
    assert_eq!(d.feature_names, ["column_1", "a"]);
}

#[test]
fn target_by_name_and_index() {
    let text = "a,label,b\n1,x,2\n3,y,4\n";
    let by_name = read_csv::<f64>(text, "t", &opts().target_name("label")).unwrap();
    let by_index = read_csv::<f64>(text, "t", &opts().target_index(1)).unwrap();
    assert_eq!(by_name, by_index);
    assert_eq!(by_name.feature_names, ["a", "b"]);
    assert_eq!(by_name.dataset.x().row(1).to_vec(), vec![3.0, 4.0]);
    assert_eq!(
        by_name.labels.as_deref().unwrap(),
        ["x", "y"].map(String::from)
    );
    assert_parse_err(
        read_csv::<f64>(text, "t", &opts().target_name("nope")),
        "t",
        1,
        1,
        "unknown target column `nope`",
    );
    assert_parse_err(
        read_csv::<f64>(text, "t", &opts().target(TargetColumn::Index(3))),
        "t",
        1,
        1,
        // Both counts, for library users (0-based) and the CLI's `--target 4` (1-based).
        "index 3 (0-based; column 4 counting from 1) is out of range",
    );
    assert_parse_err(
        read_csv::<f64>("1,2\n", "t", &opts().header(Header::No).target_name("y")),
        "t",
        1,
        1,
        "no header",
    );
}

#[test]
fn known_label_mapping() {
    let mapping = vec!["no".to_string(), "yes".to_string(), "1".to_string()];
    let o = opts().labels(mapping.clone());
    let d = read_csv::<f64>("f,y\n1,yes\n2,no\n3,1.0\n", "eval.csv", &o).unwrap();
    assert_eq!(class_ids(d.dataset.targets()), vec![1, 0, 2]);
    assert_eq!(d.labels, Some(mapping));
    assert_eq!(d.dataset.task(), Task::Classification { n_classes: 3 });
    // A test set with a single class is fine with a known mapping.
    let d = read_csv::<f64>("f,y\n1,yes\n", "eval.csv", &o).unwrap();
    assert_eq!(class_ids(d.dataset.targets()), vec![1]);
    assert_parse_err(
        read_csv::<f64>("f,y\n1,yes\n2,maybe\n", "eval.csv", &o),
        "eval.csv",
        3,
        2,
        "unknown class `maybe`",
    );
    // Invalid mappings are parameter errors.
    let bad = opts().labels(vec!["a".into(), "a".into()]);
    assert!(matches!(
        read_csv::<f64>("1,a\n", "x", &bad),
        Err(Error::InvalidParameter { .. })
    ));
    let bad = opts().labels(vec!["a".into()]);
    assert!(matches!(
        read_csv::<f64>("1,a\n", "x", &bad),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn syntax_quotes_delimiters_crlf_bom() {
    let text = "\u{feff}\"len, cm\";\"say \"\"hi\"\"\";y\r\n1,5;2;a\r\n\"3\";4;\"b;c\"\r\n\r\n\r\n";
    let d = read_csv::<f64>(&text.replace("1,5", "1.5"), "q", &opts().delimiter(';')).unwrap();
    assert_eq!(d.feature_names, ["len, cm", "say \"hi\""]);
    assert_eq!(d.labels.as_deref().unwrap(), ["a", "b;c"].map(String::from));
    assert_eq!(d.dataset.x().row(1).to_vec(), vec![3.0, 4.0]);
    let d = read_csv::<f32>("x\ty\n 1.5 \t0\n2\t1\n", "tab", &opts().delimiter('\t')).unwrap();
    assert_eq!(d.dataset.x().column(0).to_vec(), vec![1.5f32, 2.0]);
    assert!(matches!(
        read_csv::<f64>("1,2\n", "x", &opts().delimiter('"')),
        Err(Error::InvalidParameter { .. })
    ));
    // Multi-line quoted field: the next row's line number accounts for it.
    assert_parse_err(
        read_csv::<f64>("\"a\nb\",y\n1,2\nx,3\n", "m", &opts()),
        "m",
        4,
        1,
        "non-numeric",
    );
}

#[test]
fn every_error_is_located() {
    let o = opts();
    assert_parse_err(read_csv::<f64>("", "e.csv", &o), "e.csv", 1, 1, "empty");
    assert_parse_err(
        read_csv::<f64>("\n \r\n", "e.csv", &o),
        "e.csv",
        1,
        1,
        "empty",
    );
    assert_parse_err(
        read_csv::<f64>("\u{feff}", "e.csv", &o),
        "e.csv",
        1,
        1,
        "empty",
    );
    assert_parse_err(
        read_csv::<f64>("a,b,y\n\n", "h.csv", &o),
        "h.csv",
        1,
        1,
        "no data rows",
    );
    assert_parse_err(
        read_csv::<f64>("a,b,y\n1,2,3\n4,5\n", "r.csv", &o),
        "r.csv",
        3,
        3,
        "missing field",
    );
    assert_parse_err(
        read_csv::<f64>("a,b,y\n1,2,3\n\n4,5,6,7\n", "r.csv", &o),
        "r.csv",
        4,
        4,
        "extra field",
    );
    assert_parse_err(
        read_csv::<f64>("a,b,y\n1,2,3\n4,five,6\n", "n.csv", &o),
        "n.csv",
        3,
        2,
        "non-numeric feature value `five`",
    );
    for bad in ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"] {
        assert_parse_err(
            read_csv::<f64>(&format!("a,b,y\n1,2,3\n4,{bad},6\n"), "f.csv", &o),
            "f.csv",
            3,
            2,
            "non-finite",
        );
    }
    assert_parse_err(
        read_csv::<f32>("a,y\n1e39,1\n2,3\n", "f.csv", &o),
        "f.csv",
        2,
        1,
        "out of range for f32",
    );
    assert_parse_err(
        read_csv::<f64>("a,b,y\n1,,3\n", "m.csv", &o),
        "m.csv",
        2,
        2,
        "empty feature cell",
    );
    assert_parse_err(
        read_csv::<f64>("a,y\n1,2.5\n2,\n", "m.csv", &o),
        "m.csv",
        3,
        2,
        "empty target cell",
    );
    assert_parse_err(
        read_csv::<f64>("a,y\n1,inf\n2,3.5\n", "t.csv", &o),
        "t.csv",
        2,
        2,
        "non-finite target",
    );
    assert_parse_err(
        read_csv::<f64>("justone\n1\n", "w.csv", &o),
        "w.csv",
        1,
        1,
        "at least one feature",
    );
    assert_parse_err(
        read_csv::<f64>("a,y\n1,\"open\n", "q.csv", &o),
        "q.csv",
        2,
        2,
        "unterminated",
    );
    assert_parse_err(
        read_csv::<f64>("a,y\n1,\"x\"z\n", "q.csv", &o),
        "q.csv",
        2,
        2,
        "after a closing quote",
    );
}

#[test]
fn file_reader_names_the_path_and_maps_io_errors() {
    let dir = std::env::temp_dir().join(format!("feasible-csv-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.csv");
    std::fs::write(&path, "a,y\n1,2.5\nx,3\n").unwrap();
    let err = read_csv_file::<f64>(&path, &opts()).unwrap_err();
    let shown = path.display().to_string();
    assert_parse_err::<()>(Err(err), &shown, 3, 1, "non-numeric");
    std::fs::write(&path, b"a,y\n1,2\n\xff,3\n").unwrap();
    assert_parse_err(read_csv_file::<f64>(&path, &opts()), &shown, 3, 1, "UTF-8");
    let missing = read_csv_file::<f64>(dir.join("missing.csv"), &opts()).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn features_reader() {
    let o = opts();
    // By count: with and without the target column.
    let f = read_features::<f64>("1,2\n3,4\n", "p", &o, &FeatureSchema::Count(2)).unwrap();
    assert_eq!(f.x.row(1).to_vec(), vec![3.0, 4.0]);
    assert_eq!(f.feature_names, ["column_1", "column_2"]);
    let f = read_features::<f64>("a,b,y\n1,2,cat\n", "p", &o, &FeatureSchema::Count(2)).unwrap();
    assert_eq!(f.x.row(0).to_vec(), vec![1.0, 2.0]);
    assert_eq!(f.feature_names, ["a", "b"]);
    assert_eq!(f.lines, vec![2]);
    let f = read_features::<f64>(
        "9,1,2\n",
        "p",
        &o.clone().target_index(0),
        &FeatureSchema::Count(2),
    )
    .unwrap();
    assert_eq!(f.x.row(0).to_vec(), vec![1.0, 2.0]);
    assert_parse_err(
        read_features::<f64>("1,2,3,4\n", "p", &o, &FeatureSchema::Count(2)),
        "p",
        1,
        3,
        "expected 2 feature columns",
    );
    // By name: reordered, extra columns ignored, missing column located.
    let names = FeatureSchema::Names(vec!["b".into(), "a".into()]);
    let f = read_features::<f64>("y,a,b\n0,1,2\n", "p", &o, &names).unwrap();
    assert_eq!(f.x.row(0).to_vec(), vec![2.0, 1.0]);
    assert_eq!(f.feature_names, ["b", "a"]);
    assert_parse_err(
        read_features::<f64>("a,c\n1,2\n", "p", &o, &names),
        "p",
        1,
        1,
        "missing feature column `b`",
    );
    // Without a header, names fall back to the count.
    let f = read_features::<f64>("1,2\n", "p", &o, &names).unwrap();
    assert_eq!(f.feature_names, ["b", "a"]);
    assert_eq!(f.x.row(0).to_vec(), vec![1.0, 2.0]);
    // Errors.
    assert_parse_err(
        read_features::<f64>("a,b\n1,2\n3,nan\n", "p", &o, &names),
        "p",
        3,
        2,
        "non-finite",
    );
    assert_parse_err(
        read_features::<f64>("", "p", &o, &names),
        "p",
        1,
        1,
        "empty",
    );
    assert_parse_err(
        read_features::<f64>("a,b\n", "p", &o, &names),
        "p",
        1,
        1,
        "no data rows",
    );
    assert!(matches!(
        read_features::<f64>("1\n", "p", &o, &FeatureSchema::Count(0)),
        Err(Error::InvalidParameter { .. })
    ));
}
