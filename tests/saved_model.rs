//! Saved models: bit-identical round trips, validation of corrupt files, atomic saves.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use feasible::data::{Standardizer, TargetScaler, Targets, embedded};
use feasible::io::{FORMAT_VERSION, LoadedModel, Precision, Prediction, SavedModel};
use feasible::model::{Activation, Head, Init, Mlp, Model, Network, Predictions};
use feasible::{Error, Float};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn tmp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "feasible-saved-model-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// An iris MLP in precision `F` with a fitted standardizer and labels.
fn iris_model<F: Float>() -> (Network<F>, Standardizer, Array2<F>, SavedModel<F>) {
    let data = embedded::iris::<F>();
    let scaler = Standardizer::fit(&data).unwrap();
    let net = Mlp::new(4, Head::Multiclass(3))
        .hidden(&[7, 5])
        .activation(Activation::Tanh)
        .init(Init::TorchDefault)
        .seed(11)
        .build::<F>()
        .unwrap();
    let saved = SavedModel::from_network(&net)
        .unwrap()
        .with_standardizer(scaler.clone())
        .with_labels(
            ["setosa", "versicolor", "virginica"]
                .map(String::from)
                .to_vec(),
        )
        .with_feature_names(["sl", "sw", "pl", "pw"].map(String::from).to_vec())
        .with_training(json!({"epsilon": 0.05, "dual_lr": 0.1, "epochs": 3}));
    (net, scaler, data.x().to_owned(), saved)
}

fn roundtrip_classifier<F: Float>() {
    let (net, scaler, x, saved) = iris_model::<F>();
    let dir = tmp_dir();
    let path = dir.join("iris.json");
    saved.save(&path).unwrap();

    // The typed reload is the same model, parameter for parameter.
    let typed = SavedModel::<F>::load(&path).unwrap();
    assert_eq!(typed, saved);
    let pb = |p: &[F]| {
        p.iter()
            .map(|v| v.to_f64_lossless().to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(pb(typed.parameters()), pb(net.params()));
    assert_eq!(typed.network().unwrap(), net);

    // The loaded model predicts bit-identically to the original pipeline.
    let model = LoadedModel::load(&path).unwrap();
    assert_eq!(model.precision(), Precision::of::<F>());
    assert_eq!(model.n_inputs(), 4);
    assert_eq!(model.hidden(), &[7, 5]);
    assert_eq!(model.training()["epochs"], json!(3));
    assert_eq!(model.feature_names().unwrap()[2], "pl");
    let xz = scaler.transform_x(x.view()).unwrap();
    let want_out = net
        .outputs(xz.view())
        .unwrap()
        .mapv(|v| v.to_f64_lossless());
    let x64 = x.mapv(|v| v.to_f64_lossless());
    assert_eq!(bits(&model.outputs(x64.view()).unwrap()), bits(&want_out));
    let want_p = net
        .predict_proba(xz.view())
        .unwrap()
        .mapv(|v| v.to_f64_lossless());
    assert_eq!(
        bits(&model.predict_proba(x64.view()).unwrap()),
        bits(&want_p)
    );
    let Predictions::Classes(want_ids) = net.predict(xz.view()).unwrap() else {
        panic!()
    };
    let Prediction::Classes { ids, labels } = model.predict(x64.view()).unwrap() else {
        panic!()
    };
    assert_eq!(ids, want_ids);
    let names = model.class_labels().unwrap();
    assert!(ids.iter().zip(&labels).all(|(&i, l)| &names[i] == l));
    // And identically to a model built in memory without the file.
    let mem = LoadedModel::from_saved(saved).unwrap();
    assert_eq!(mem, model);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn classifier_roundtrip_is_bit_identical_f32() {
    roundtrip_classifier::<f32>();
}

#[test]
fn classifier_roundtrip_is_bit_identical_f64() {
    roundtrip_classifier::<f64>();
}

fn roundtrip_regression<F: Float>() {
    let data = embedded::diabetes::<F>();
    let scaler = Standardizer::fit(&data).unwrap();
    let ts = TargetScaler::fit(&data).unwrap();
    let net = Mlp::new(10, Head::Regression)
        .hidden(&[6])
        .activation(Activation::Gelu)
        .seed(3)
        .build::<F>()
        .unwrap();
    let saved = SavedModel::from_network(&net)
        .unwrap()
        .with_standardizer(scaler.clone())
        .with_target_scaler(ts);
    let model = LoadedModel::from_json_str(&saved.to_json_string().unwrap()).unwrap();
    let xz = scaler.transform_x(data.x()).unwrap();
    let Predictions::Values(z) = net.predict(xz.view()).unwrap() else {
        panic!()
    };
    let want: Vec<u64> = z
        .iter()
        .map(|v| ts.inverse(v.to_f64_lossless()).to_bits())
        .collect();
    let x64 = data.x().mapv(|v| v.to_f64_lossless());
    let Prediction::Values(got) = model.predict(x64.view()).unwrap() else {
        panic!()
    };
    assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
    assert!(matches!(
        model.predict_proba(x64.view()),
        Err(Error::TaskMismatch(_))
    ));
    assert!(model.class_labels().is_none());
    let Targets::Real(y) = data.targets() else {
        panic!()
    };
    assert_eq!(got.len(), y.len());
}

#[test]
fn regression_roundtrip_inverts_target_scaling_f32() {
    roundtrip_regression::<f32>();
}

#[test]
fn regression_roundtrip_inverts_target_scaling_f64() {
    roundtrip_regression::<f64>();
}

#[test]
fn arbitrary_floats_roundtrip_exactly() {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let f32s: Vec<f32> = (0..20_000)
        .map(|_| f32::from_bits(rng.random::<u32>()))
        .filter(|v| v.is_finite())
        .chain([f32::MIN_POSITIVE, f32::MAX, f32::MIN, 1e-45, 0.1, -0.0])
        .collect();
    let net = Network::<f32>::from_parts(
        f32s.len() - 1,
        vec![],
        Activation::Relu,
        Head::Regression,
        f32s.clone(),
    )
    .unwrap();
    let json = SavedModel::from_network(&net)
        .unwrap()
        .to_json_string()
        .unwrap();
    let back = SavedModel::<f32>::from_json_str(&json).unwrap();
    assert!(
        back.parameters()
            .iter()
            .zip(&f32s)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );

    let f64s: Vec<f64> = (0..20_000)
        .map(|_| f64::from_bits(rng.random::<u64>()))
        .filter(|v| v.is_finite())
        .chain([f64::MIN_POSITIVE, f64::MAX, f64::MIN, 5e-324, 0.1, -0.0])
        .collect();
    let net = Network::<f64>::from_parts(
        f64s.len() - 1,
        vec![],
        Activation::Relu,
        Head::Regression,
        f64s.clone(),
    )
    .unwrap();
    let json = SavedModel::from_network(&net)
        .unwrap()
        .to_json_string()
        .unwrap();
    let back = SavedModel::<f64>::from_json_str(&json).unwrap();
    assert!(
        back.parameters()
            .iter()
            .zip(&f64s)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

/// The JSON of a small valid model, as a mutable value.
fn valid_json() -> Value {
    let (_, _, _, saved) = iris_model::<f32>();
    serde_json::from_str(&saved.to_json_string().unwrap()).unwrap()
}

#[track_caller]
fn assert_format_err(v: &Value, needle: &str) {
    let text = serde_json::to_string(v).unwrap();
    match LoadedModel::from_json_str(&text) {
        Err(Error::Format(m)) => assert!(m.contains(needle), "`{m}` lacks `{needle}`"),
        other => panic!("expected a format error containing `{needle}`, got {other:?}"),
    }
}

#[test]
fn corrupt_and_inconsistent_files_are_format_errors() {
    let good = serde_json::to_string(&valid_json()).unwrap();
    assert!(LoadedModel::from_json_str(&good).is_ok());
    // Corrupt / truncated.
    for bad in [
        "",
        "{",
        "not json",
        "[1,2]",
        "null",
        &good[..good.len() / 2],
    ] {
        assert!(
            matches!(LoadedModel::from_json_str(bad), Err(Error::Format(_))),
            "{bad:?}"
        );
    }
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = valid_json();
        f(&mut v);
        v
    };
    // Versions: the message names both.
    let v = edit(&|v| v["format_version"] = json!(2));
    assert_format_err(&v, "format version 2 is not supported");
    assert_format_err(&v, &format!("supports version {FORMAT_VERSION}"));
    assert_format_err(
        &edit(&|v| v["format_version"] = json!("1")),
        "version \"1\"",
    );
    assert_format_err(
        &edit(&|v| {
            v.as_object_mut().unwrap().remove("format_version");
        }),
        "missing `format_version`",
    );
    // Precision.
    assert_format_err(&edit(&|v| v["precision"] = json!("f16")), "precision");
    // Shape and parameters.
    assert_format_err(&edit(&|v| v["model"]["n_inputs"] = json!(5)), "parameters");
    assert_format_err(&edit(&|v| v["model"]["hidden"] = json!([7, 0])), "hidden");
    assert_format_err(&edit(&|v| v["model"]["hidden"] = json!([])), "kind");
    assert_format_err(
        &edit(&|v| v["model"]["head"] = json!({"Multiclass": 1})),
        "model",
    );
    assert_format_err(
        &edit(&|v| v["model"]["n_inputs"] = json!(u64::MAX / 4)),
        "too large",
    );
    assert_format_err(
        &edit(&|v| {
            v["parameters"].as_array_mut().unwrap().pop();
        }),
        "parameters",
    );
    assert_format_err(
        &edit(&|v| v["parameters"][3] = Value::Null),
        "parameters[3] is null",
    );
    assert_format_err(
        &edit(&|v| v["parameters"][0] = json!("NaN")),
        "parameters[0]",
    );
    assert_format_err(
        &edit(&|v| v["parameters"][1] = json!(1e300)),
        "parameters[1]",
    );
    assert_format_err(&edit(&|v| v["parameters"] = json!({})), "parameters");
    // Extras.
    // A field this reader does not know (here a hypothetical clipping bound) would be
    // silently ignored, and predictions silently differ from the writer's.
    assert_format_err(
        &edit(&|v| v["standardizer"]["clip"] = json!([5.0])),
        "unknown field `clip`",
    );
    assert_format_err(
        &edit(&|v| v["standardizer"]["mean"] = json!([0.0, 1.0])),
        "standardizer",
    );
    assert_format_err(
        &edit(&|v| v["standardizer"]["scale"][0] = Value::Null),
        "null",
    );
    assert_format_err(
        &edit(&|v| v["standardizer"]["scale"][0] = json!(0.0)),
        "standardizer",
    );
    assert_format_err(
        &edit(&|v| v["labels"] = json!(["a", "b"])),
        "2 class labels",
    );
    assert_format_err(
        &edit(&|v| v["labels"] = json!(["a", "b", "a"])),
        "duplicate",
    );
    assert_format_err(
        &edit(&|v| v["target_scaler"] = json!({"mean": 0.0, "scale": 1.0})),
        "regression head",
    );
    assert_format_err(
        &edit(&|v| v["feature_names"] = json!(["a"])),
        "feature names",
    );
    assert_format_err(&edit(&|v| v["surprise"] = json!(1)), "surprise");
    // Optional parts may be absent or null.
    let v = edit(&|v| {
        let o = v.as_object_mut().unwrap();
        o.remove("labels");
        o.remove("training");
        o["standardizer"] = Value::Null;
    });
    let m = LoadedModel::from_json_str(&v.to_string()).unwrap();
    assert!(m.standardizer().is_none());
    assert_eq!(m.class_labels().unwrap(), ["0", "1", "2"].map(String::from));
    // A typed load of the other precision is refused.
    assert!(matches!(
        SavedModel::<f64>::from_json_str(&good),
        Err(Error::Format(_))
    ));
}

#[test]
fn files_load_errors() {
    let dir = tmp_dir();
    let missing = LoadedModel::load(dir.join("none.json")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
    let p = dir.join("bin.json");
    std::fs::write(&p, b"\xff\xfe\x00").unwrap();
    assert!(matches!(LoadedModel::load(&p), Err(Error::Format(_))));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_saves_leave_existing_files_untouched() {
    let dir = tmp_dir();
    let path = dir.join("model.json");
    let (_, _, _, saved) = iris_model::<f64>();
    saved.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    // An invalid model is refused before anything is written.
    let bad = saved.clone().with_labels(vec!["only".into()]);
    assert!(matches!(bad.save(&path), Err(Error::Format(_))));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A directory that does not exist.
    let err = saved.save(dir.join("no/such/dir/m.json")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    // Saving again over the file replaces it atomically, leaving no temporary files.
    saved
        .clone()
        .with_training(json!("v2"))
        .save(&path)
        .unwrap();
    assert_eq!(LoadedModel::load(&path).unwrap().training(), &json!("v2"));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.json")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_finite_networks_cannot_be_saved() {
    let mut net = Network::<f32>::linear_regression(2);
    net.params_mut()[1] = f32::NAN;
    assert!(matches!(
        SavedModel::from_network(&net),
        Err(Error::NonFinite { row: 1, .. })
    ));
}

#[test]
fn predict_rejects_bad_rows() {
    let (_, _, _, saved) = iris_model::<f32>();
    let m = LoadedModel::from_saved(saved).unwrap();
    assert!(matches!(
        m.predict(Array2::<f64>::zeros((2, 3)).view()),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        m.predict(Array2::<f64>::zeros((0, 4)).view()),
        Err(Error::Empty(_))
    ));
    let mut x = Array2::<f64>::zeros((2, 4));
    x[[1, 2]] = f64::NAN;
    assert!(matches!(
        m.predict(x.view()),
        Err(Error::NonFinite { row: 1, col: 2, .. })
    ));
    x[[1, 2]] = 1e300; // finite in f64, infinite in the model's f32
    assert!(matches!(
        m.predict_proba(x.view()),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn loaded_model_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LoadedModel>();
    let (_, _, x, saved) = iris_model::<f32>();
    let m = LoadedModel::from_saved(saved).unwrap();
    let x = x.mapv(f64::from);
    let want = m.outputs(x.view()).unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(bits(&m.outputs(x.view()).unwrap()), bits(&want)));
        }
    });
}
