//! Each example's core at reduced size, so that a broken example fails CI.

use feasible::experiments::*;

fn check_runs(runs: &[MethodRun], n_methods: usize) {
    assert_eq!(runs.len(), n_methods);
    for r in runs {
        assert!(
            r.train.mean_loss.is_finite() && r.test.mean_loss.is_finite(),
            "{}",
            r.label
        );
        assert!(r.train.max_loss >= r.train.mean_loss);
        assert!(!r.history.is_empty());
        if let Some(l) = &r.multipliers {
            assert!(l.iter().all(|&v| v >= 0.0));
        }
    }
    let table = render_table(&rows_of(runs));
    for r in runs {
        assert!(table.contains(&r.label));
    }
}

#[test]
fn quickstart_reduced() {
    let runs = quickstart(&QuickstartConfig {
        epochs: 50,
        ..Default::default()
    })
    .unwrap();
    check_runs(&runs, 2);
    assert!(
        runs[1]
            .multipliers
            .as_ref()
            .unwrap()
            .iter()
            .any(|&l| l > 0.0)
    );
}

#[test]
fn two_moons_reduced() {
    let cfg = TwoMoonsConfig {
        n_train: 128,
        n_val: 32,
        hidden: vec![16, 16],
        epochs: 20,
        seeds: vec![0, 1],
        ..Default::default()
    };
    let seeds = two_moons(&cfg).unwrap();
    assert_eq!(seeds.len(), 2);
    for s in &seeds {
        check_runs(s, 3);
    }
    let groups: Vec<_> = (0..3)
        .map(|m| {
            (
                seeds[0][m].label.clone(),
                "train".to_string(),
                seeds.iter().map(|s| s[m].train.clone()).collect(),
            )
        })
        .collect();
    assert!(render_seed_table(&groups).contains("±"));
}

#[test]
fn digits_reduced() {
    let runs = digits(&DigitsConfig {
        epochs: 5,
        limit: Some(400),
        hidden: vec![16],
        ..Default::default()
    })
    .unwrap();
    check_runs(&runs, 5);
}

#[test]
fn diabetes_reduced() {
    let runs = diabetes(&DiabetesConfig {
        epochs: 100,
        ..Default::default()
    })
    .unwrap();
    check_runs(&runs, 5);
}

#[test]
fn polynomial_reduced() {
    let r = polynomial(&PolynomialConfig {
        epochs: 500,
        grid: 50,
        ..Default::default()
    })
    .unwrap();
    check_runs(&r.runs, 2);
    assert_eq!(r.grid.len(), 50);
    assert!(
        r.curves
            .iter()
            .all(|(_, y)| y.len() == 50 && y.iter().all(|v| v.is_finite()))
    );
}
