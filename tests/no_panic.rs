//! Fuzz-style property tests: no input makes the CSV reader or the model loader panic.

use feasible::data::csv::{CsvOptions, CsvTask, FeatureSchema, Header, read_csv, read_features};
use feasible::io::{LoadedModel, SavedModel};
use feasible::model::{Head, Mlp};
use proptest::prelude::*;

fn all_options() -> Vec<CsvOptions> {
    vec![
        CsvOptions::new(),
        CsvOptions::new()
            .header(Header::No)
            .task(CsvTask::Regression),
        CsvOptions::new()
            .header(Header::Yes)
            .task(CsvTask::Classification)
            .delimiter(';'),
        CsvOptions::new()
            .target_name("y")
            .labels(vec!["0".into(), "a".into()]),
        CsvOptions::new().target_index(0).delimiter('\t'),
    ]
}

fn exercise_csv(text: &str) {
    for o in all_options() {
        let _ = read_csv::<f64>(text, "fuzz", &o);
        let _ = read_csv::<f32>(text, "fuzz", &o);
        let _ = read_features::<f32>(text, "fuzz", &o, &FeatureSchema::Count(2));
        let _ = read_features::<f64>(
            text,
            "fuzz",
            &o,
            &FeatureSchema::Names(vec!["a".into(), "y".into()]),
        );
    }
}

fn valid_model_json() -> String {
    let net = Mlp::new(2, Head::Multiclass(3))
        .hidden(&[3])
        .build::<f32>()
        .unwrap();
    SavedModel::from_network(&net)
        .unwrap()
        .with_labels(vec!["a".into(), "b".into(), "c".into()])
        .to_json_string()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csv_reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise_csv(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn csv_reader_never_panics_on_csvish_text(text in "[0-9ay,;\t\"\r\n .eE+\\-nif\u{feff}]{0,160}") {
        exercise_csv(&text);
    }

    #[test]
    fn model_loader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(LoadedModel::from_json_str(&text).is_err());
        let _ = SavedModel::<f32>::from_json_str(&text);
    }

    #[test]
    fn model_loader_never_panics_on_mutated_models(
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        with in "[-0-9a-z\\[\\]{}\",:.eE]{0,4}",
    ) {
        let good = valid_model_json();
        // Splice a short random string into a valid file, then maybe truncate it.
        let chars: Vec<char> = good.chars().collect();
        let i = at.index(chars.len() + 1);
        let mut s: String = chars[..i].iter().collect();
        s.push_str(&with);
        s.extend(&chars[i..]);
        let _ = LoadedModel::from_json_str(&s);
        let j = cut.index(s.len() + 1);
        if s.is_char_boundary(j) {
            let _ = LoadedModel::from_json_str(&s[..j]);
            let _ = SavedModel::<f64>::from_json_str(&s[..j]);
        }
    }
}
