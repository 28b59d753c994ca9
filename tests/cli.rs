//! End-to-end tests of the `feasible` binary: train → model file → eval → predict, and
//! every bad-input path (exit 2, one-line message, existing outputs untouched).
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_feasible"))
}

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("a JSON report")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// y = 3a − 2b + 10 + small noise, with a header.
fn regression_csv(dir: &Path) -> PathBuf {
    let mut t = String::from("a,b,price\n");
    for i in 0..40 {
        let a = (i % 7) as f64 * 0.5;
        let b = ((i * 13) % 11) as f64 * 0.2 - 1.0;
        let noise = ((i * 31) % 5) as f64 * 0.01;
        t.push_str(&format!("{a},{b},{}\n", 3.0 * a - 2.0 * b + 10.0 + noise));
    }
    let p = dir.join("reg.csv");
    std::fs::write(&p, t).unwrap();
    p
}

/// Three string classes separated along x1.
fn classification_csv(dir: &Path, name: &str, n: usize) -> PathBuf {
    let mut t = String::from("x1,x2,species\n");
    for i in 0..n {
        let c = i % 3;
        let x1 = c as f64 * 2.0 + ((i * 7) % 5) as f64 * 0.1;
        let x2 = ((i * 11) % 9) as f64 * 0.1;
        let label = ["cat", "dog", "eel"][c];
        t.push_str(&format!("{x1},{x2},{label}\n"));
    }
    let p = dir.join(name);
    std::fs::write(&p, t).unwrap();
    p
}

fn assert_summary(v: &Value, classifier: bool, multipliers: bool) {
    for k in [
        "mean_loss",
        "max_loss",
        "cvar_90",
        "cvar_95",
        "cvar_99",
        "feasible_fraction",
        "mean_positive_violation",
    ] {
        assert!(v[k].is_number(), "missing {k} in {v}");
    }
    for q in ["p50", "p90", "p95", "p99"] {
        assert!(v["quantiles"][q].is_number(), "missing quantile {q}");
    }
    assert_eq!(v.get("accuracy").is_some(), classifier, "accuracy in {v}");
    assert_eq!(v.get("multipliers").is_some(), multipliers);
    if multipliers {
        for k in ["max", "mean", "median", "zero_fraction"] {
            assert!(v["multipliers"][k].is_number(), "missing multipliers.{k}");
        }
    }
}

#[test]
fn regression_train_eval_predict() {
    let dir = tempfile::tempdir().unwrap();
    let data = regression_csv(dir.path());
    let model = dir.path().join("model.json");
    let losses = dir.path().join("losses.csv");
    let plots = dir.path().join("plots");
    let r = json(&[
        "train",
        "--data",
        s(&data),
        "--target",
        "price",
        "--method",
        "fl",
        "--epsilon",
        "0.05",
        "--epochs",
        "40",
        "--full-batch",
        "--validation-split",
        "0.25",
        "--output",
        s(&model),
        "--losses-out",
        s(&losses),
        "--plots",
        s(&plots),
        "--format",
        "json",
        "--quiet",
    ]);
    assert_summary(&r["train"], false, true);
    assert_summary(&r["validation"], false, false);
    assert_eq!(r["epochs_run"], 40);
    assert_eq!(r["termination"]["reason"], "epochs_done");
    assert_eq!(r["feasibility"]["epsilon"], 0.05);
    assert_eq!(r["settings"]["method"], "fl");
    assert_eq!(r["settings"]["task"], "regression");
    assert_eq!(r["settings"]["n_train"], 30);
    assert!(plots.join("loss_ecdf.svg").exists());
    assert!(plots.join("multipliers.svg").exists());

    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(saved["training"]["method"], "fl");
    assert!(saved["target_scaler"].is_object());
    let l = std::fs::read_to_string(&losses).unwrap();
    assert!(l.starts_with("index,loss,multiplier\n"));
    assert_eq!(l.lines().count(), 31);

    let e = json(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--format",
        "json",
    ]);
    assert_summary(&e["evaluation"], false, false);
    assert_eq!(e["evaluation"]["n"], 40);
    assert_eq!(e["epsilon"], 0.05);

    let p = ok(&["predict", "--model", s(&model), "--data", s(&data)]);
    let rows: Vec<&str> = p.lines().collect();
    assert_eq!(rows[0], "prediction");
    assert_eq!(rows.len(), 41);
    // Predictions come back in the target's original units (≈ 10 + …), not standardised.
    let first: f64 = rows[1].parse().unwrap();
    assert!((first - 12.0).abs() < 3.0, "prediction {first}");

    // The table format works too, and progress lines go to stderr when not quiet.
    let out = run(&["eval", "--model", s(&model), "--data", s(&data)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mean loss"));
    let out = run(&[
        "train",
        "--data",
        s(&data),
        "--epochs",
        "3",
        "--method",
        "erm",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("epoch 3/3"));
}

#[test]
fn classification_with_string_labels() {
    let dir = tempfile::tempdir().unwrap();
    let train = classification_csv(dir.path(), "train.csv", 45);
    let val = classification_csv(dir.path(), "val.csv", 12);
    let model = dir.path().join("clf.json");
    let r = json(&[
        "train",
        "--data",
        s(&train),
        "--validation",
        s(&val),
        "--model",
        "mlp:8",
        "--activation",
        "tanh",
        "--method",
        "rfl",
        "--alpha",
        "2",
        "--optimizer",
        "adamw",
        "--schedule",
        "cosine",
        "--epochs",
        "15",
        "--batch-size",
        "16",
        "--seed",
        "3",
        "--output",
        s(&model),
        "--format",
        "json",
        "--quiet",
    ]);
    assert_summary(&r["train"], true, true);
    assert_summary(&r["validation"], true, false);
    assert_eq!(r["settings"]["model"], "mlp:8");
    assert!(r["feasibility"]["rfl_fixed_point_residual"].is_number());

    let e = json(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&val),
        "--format",
        "json",
        "--epsilon",
        "0.5",
    ]);
    assert_summary(&e["evaluation"], true, false);
    assert_eq!(e["feasibility"]["epsilon"], 0.5);

    let pred = dir.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&val),
        "--proba",
        "--output",
        s(&pred),
    ]);
    let p = std::fs::read_to_string(&pred).unwrap();
    let rows: Vec<&str> = p.lines().collect();
    assert_eq!(rows[0], "prediction,p_cat,p_dog,p_eel");
    assert_eq!(rows.len(), 13);
    for r in &rows[1..] {
        let f: Vec<&str> = r.split(',').collect();
        assert!(["cat", "dog", "eel"].contains(&f[0]));
        let total: f64 = f[1..].iter().map(|x| x.parse::<f64>().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }
}

#[test]
fn builtin_iris_and_datasets() {
    let list = ok(&["datasets"]);
    assert!(list.contains("builtin:iris"));
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("iris.json");
    let r = json(&[
        "train",
        "--data",
        "builtin:iris",
        "--method",
        "erm",
        "--epochs",
        "10",
        "--output",
        s(&model),
        "--format",
        "json",
        "--quiet",
    ]);
    assert_summary(&r["train"], true, false);
    assert!(r["train"]["accuracy"].as_f64().unwrap() > 0.6);
    let e = json(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        "builtin:iris",
        "--format",
        "json",
    ]);
    assert_eq!(e["evaluation"]["n"], 150);
    let p = ok(&["predict", "--model", s(&model), "--data", "builtin:iris"]);
    assert_eq!(p.lines().count(), 151);
    assert!(p.contains("setosa"));
}

/// Runs a failing command and checks: exit 2, exactly one line on stderr containing
/// `needle`, and `guard` unchanged.
fn fails<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], needle: &str, guard: &Path) {
    let before = std::fs::read(guard).unwrap();
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read(guard).unwrap(),
        before,
        "{args:?} touched the output"
    );
}

#[test]
fn bad_input_exits_2_and_leaves_outputs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("existing.out");
    std::fs::write(&out, b"precious\n").unwrap();
    let o = s(&out);
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good = regression_csv(d);
    let clf = classification_csv(d, "clf.csv", 30);
    let model = d.join("model.json");
    ok(&[
        "train",
        "--data",
        s(&clf),
        "--epochs",
        "2",
        "--output",
        s(&model),
        "--quiet",
    ]);
    let model_text = std::fs::read_to_string(&model).unwrap();

    let train = |data: &Path| {
        vec![
            "train".to_string(),
            "--data".into(),
            s(data).into(),
            "--epochs".into(),
            "2".into(),
            "--output".into(),
            o.into(),
            "--losses-out".into(),
            o.into(),
            "--quiet".into(),
        ]
    };

    // Missing file.
    let missing = d.join("nope.csv");
    fails(&train(&missing), "nope.csv", &out);
    // Ragged row: line 3, column 3.
    let p = write("ragged.csv", "a,b,y\n1,2,3\n4,5\n");
    fails(&train(&p), "ragged.csv:3:3", &out);
    // Non-numeric feature cell: line 3, column 2.
    let p = write("text.csv", "a,b,y\n1,2,3\n4,x,5\n6,7,8\n");
    fails(&train(&p), "text.csv:3:2", &out);
    // NaN cell.
    let p = write("nan.csv", "a,b,y\n1,2,3\n4,NaN,5\n6,7,8\n");
    fails(&train(&p), "nan.csv:3:2", &out);
    // Unknown target column.
    let mut a = train(&good);
    a.extend(["--target".into(), "colour".into()]);
    fails(&a, "colour", &out);
    // Bad flag values: negative epsilon (ours) and a non-number (clap's).
    let mut a = train(&good);
    a.extend(["--epsilon".into(), "-0.5".into()]);
    fails(&a, "--epsilon", &out);
    let mut a = train(&good);
    a.extend(["--epochs".into(), "many".into()]);
    fails(&a, "--epochs", &out);
    let mut a = train(&good);
    a.extend(["--model".into(), "logistic".into()]);
    fails(&a, "--model logistic", &out);
    let mut a = train(&good);
    a.extend(["--shuffle-blocks".into(), "0".into()]);
    fails(&a, "--shuffle-blocks", &out);

    // Unknown class at eval: line 3, column 3.
    let p = write("unk.csv", "x1,x2,species\n0.1,0.2,cat\n0.3,0.4,fox\n");
    fails(
        &[
            "eval",
            "--model",
            s(&model),
            "--data",
            s(&p),
            "--losses-out",
            o,
        ],
        "unk.csv:3:3",
        &out,
    );

    // Broken model files.
    let predict = |m: &Path| {
        vec![
            "predict".to_string(),
            "--model".into(),
            s(m).into(),
            "--data".into(),
            s(&clf).into(),
            "--output".into(),
            o.into(),
        ]
    };
    let corrupt = write("corrupt.json", "this is not json at all");
    fails(&predict(&corrupt), "corrupt.json", &out);
    let truncated = write("truncated.json", &model_text[..model_text.len() / 2]);
    fails(&predict(&truncated), "truncated.json", &out);
    let v2 = write(
        "v2.json",
        &model_text.replacen("\"format_version\": 1", "\"format_version\": 2", 1),
    );
    fails(&predict(&v2), "version 2", &out);
    fails(&predict(&d.join("absent.json")), "absent.json", &out);
    // The same broken model at eval.
    fails(
        &[
            "eval",
            "--model",
            s(&truncated),
            "--data",
            s(&clf),
            "--losses-out",
            o,
        ],
        "truncated.json",
        &out,
    );
}

#[test]
fn divergence_exits_1_and_leaves_outputs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = regression_csv(dir.path());
    let out = dir.path().join("model.json");
    std::fs::write(&out, b"old").unwrap();
    let r = run(&[
        "train",
        "--data",
        s(&data),
        "--optimizer",
        "sgd",
        "--lr",
        "1e3",
        "--no-standardize",
        "--epochs",
        "5",
        "--output",
        s(&out),
        "--quiet",
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("diverged"));
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
}

#[test]
fn header_declared_or_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("noheader.csv");
    std::fs::write(&path, "1.0,2.0,a\n2.0,1.0,b\n3.0,0.5,a\n0.5,3.0,b\n").expect("write");
    let n_samples = |v: &Value| {
        v["train"]["n"]
            .as_u64()
            .or_else(|| v["data"]["n_samples"].as_u64())
    };
    let detected = json(&[
        "train",
        "--data",
        s(&path),
        "--epochs",
        "2",
        "--quiet",
        "--format",
        "json",
    ]);
    let declared_no = json(&[
        "train",
        "--data",
        s(&path),
        "--header",
        "no",
        "--epochs",
        "2",
        "--quiet",
        "--format",
        "json",
    ]);
    let declared_yes = json(&[
        "train",
        "--data",
        s(&path),
        "--header",
        "yes",
        "--epochs",
        "2",
        "--quiet",
        "--format",
        "json",
    ]);
    // Detection sees numbers in the first row: no header, 4 samples; declaring a header
    // turns the first row into column names, leaving 3 samples.
    assert_eq!(n_samples(&detected), Some(4));
    assert_eq!(n_samples(&declared_no), Some(4));
    assert_eq!(n_samples(&declared_yes), Some(3));
}

/// `--threads` changes who computes, not what: the saved models are identical.
#[test]
fn thread_count_does_not_change_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = |n: &str| {
        let out = dir.path().join(format!("m{n}.json"));
        ok(&[
            "train",
            "--data",
            "builtin:digits",
            "--model",
            "mlp:64",
            "--batch-size",
            "256",
            "--epochs",
            "2",
            "--threads",
            n,
            "--output",
            s(&out),
            "--quiet",
        ]);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        v["parameters"].clone()
    };
    let one = model("1");
    assert!(one.as_array().is_some_and(|p| !p.is_empty()), "{one}");
    assert_eq!(one, model("3"));
    let out = run(&["train", "--data", "builtin:digits", "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--shuffle-blocks`: trained on the rows shuffled once, in block order; the per-sample
/// losses still come out in data-row order, each row once and each with its own loss (the
/// saved model's losses on the same rows, from `eval`, agree); and the run is
/// reproducible.
#[test]
fn shuffle_blocks_trains_and_reports_by_data_row() {
    let dir = tempfile::tempdir().unwrap();
    let run_with = |extra: &[&str], name: &str| {
        let losses = dir.path().join(format!("{name}.csv"));
        let model = dir.path().join(format!("{name}.json"));
        let mut args = vec![
            "train",
            "--data",
            "builtin:breast_cancer",
            "--validation-split",
            "0.2",
            "--batch-size",
            "32",
            "--epochs",
            "5",
            "--losses-out",
            s(&losses),
            "--output",
            s(&model),
            "--format",
            "json",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let v = json(&args);
        (v, std::fs::read_to_string(&losses).unwrap(), model)
    };
    let (blocks, csv, model) = run_with(&["--shuffle-blocks", "8"], "b");
    let (again, csv_again, _) = run_with(&["--shuffle-blocks", "8"], "b2");
    let (plain, csv_plain, _) = run_with(&[], "p");
    assert_eq!(csv, csv_again);
    assert_eq!(blocks["train"], again["train"]);
    assert_ne!(csv, csv_plain);
    // (data row, loss) pairs of a losses CSV.
    let pairs = |text: &str| -> Vec<(usize, f64)> {
        text.lines()
            .skip(1)
            .map(|l| {
                let mut f = l.split(',');
                let row = f.next().unwrap().parse().unwrap();
                (row, f.next().unwrap().parse().unwrap())
            })
            .collect()
    };
    // Same training rows (the validation split does not depend on the order), sorted.
    let trained = pairs(&csv);
    let rows: Vec<usize> = trained.iter().map(|p| p.0).collect();
    assert_eq!(
        rows,
        pairs(&csv_plain).iter().map(|p| p.0).collect::<Vec<_>>()
    );
    assert!(rows.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(rows.len(), 455);
    // Each row's training loss is the trained model's loss on that data row.
    let eval_csv = dir.path().join("eval.csv");
    ok(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        "builtin:breast_cancer",
        "--losses-out",
        s(&eval_csv),
    ]);
    let evaluated = pairs(&std::fs::read_to_string(&eval_csv).unwrap());
    assert_eq!(evaluated.len(), 569);
    let mut spread = 0.0f64;
    for &(row, loss) in &trained {
        let (r, l) = evaluated[row];
        assert_eq!(r, row);
        assert!(
            (l - loss).abs() <= 1e-9 * (1.0 + loss),
            "row {row}: {loss} vs {l}"
        );
        spread = spread.max((l - evaluated[rows[0]].1).abs());
    }
    assert!(
        spread > 1e-3,
        "losses differ between rows, so a mix-up would show"
    );
    assert_summary(&blocks["train"], true, true);
    assert_summary(&plain["train"], true, true);
    assert!(blocks["train"]["accuracy"].as_f64().unwrap() > 0.9);
    // Block order and full batch exclude each other (a usage error).
    let out = run(&[
        "train",
        "--data",
        "builtin:iris",
        "--full-batch",
        "--shuffle-blocks",
        "8",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
