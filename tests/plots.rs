//! The SVG plots of `feasible::report`: files are written, carry their text, and bad input
//! is rejected with a typed error.

use std::path::{Path, PathBuf};

use feasible::{Error, report};

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Reads a plot back and checks it is an SVG document containing every `needle` as text.
fn assert_svg(path: &Path, needles: &[&str]) -> String {
    let svg = std::fs::read_to_string(path).expect("plot written");
    assert!(
        svg.trim_start().starts_with("<svg"),
        "not an SVG: {}",
        &svg[..80.min(svg.len())]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "SVG not closed");
    for needle in needles {
        assert!(
            svg.contains(needle),
            "`{needle}` missing from {}",
            path.display()
        );
    }
    svg
}

fn losses(n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|i| scale * ((i * 7919 % n) as f64 / n as f64).powi(3))
        .collect()
}

#[test]
fn loss_ecdf_linear_and_log() {
    let d = dir();
    let erm = losses(300, 2.0);
    let fl = losses(300, 0.1);
    let rfl = losses(300, 0.3);
    let series: [(&str, &[f64]); 3] = [("ERM", &erm), ("FL", &fl), ("RFL", &rfl)];
    for log_x in [false, true] {
        let p = d.path().join(format!("ecdf_{log_x}.svg"));
        report::loss_ecdf(&p, "Per-sample training loss", &series, log_x, Some(0.1)).unwrap();
        let svg = assert_svg(
            &p,
            &["Per-sample training loss", "ERM", "FL", "RFL", "ε = 0.1"],
        );
        // Each series contains a zero loss: only the log axis has to move them.
        assert_eq!(svg.contains("drawn at"), log_x);
    }
}

#[test]
fn loss_ecdf_large_series_and_no_epsilon() {
    let d = dir();
    let big = losses(50_000, 1.0);
    let p = d.path().join("big.svg");
    report::loss_ecdf(&p, "big", &[("ERM", &big)], false, None).unwrap();
    let svg = assert_svg(&p, &["big", "ERM"]);
    assert!(!svg.contains('ε'));
    assert!(
        svg.len() < 500_000,
        "ECDF not decimated: {} bytes",
        svg.len()
    );
}

#[test]
fn loss_ecdf_rejects_bad_input() {
    let d = dir();
    let p = d.path().join("bad.svg");
    let ok = [0.1, 0.2];
    let nan = [0.1, f64::NAN];
    assert!(matches!(
        report::loss_ecdf(&p, "t", &[], false, None),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        report::loss_ecdf(&p, "t", &[("a", &[])], false, None),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        report::loss_ecdf(&p, "t", &[("a", &ok), ("b", &nan)], true, None),
        Err(Error::NonFinite { row: 1, .. })
    ));
    assert!(matches!(
        report::loss_ecdf(&p, "t", &[("a", &ok)], false, Some(f64::INFINITY)),
        Err(Error::InvalidParameter {
            name: "epsilon",
            ..
        })
    ));
    assert!(!p.exists(), "nothing is written for rejected input");
}

#[test]
fn histogram_shows_exact_zeros() {
    let d = dir();
    let mut lambdas = vec![0.0; 700];
    lambdas.extend(losses(300, 5.0).iter().map(|l| l + 1e-3));
    for log_count in [false, true] {
        let p = d.path().join(format!("hist_{log_count}.svg"));
        report::histogram(&p, "Multipliers", "λ", &lambdas, 30, log_count).unwrap();
        assert_svg(
            &p,
            &[
                "Multipliers (70.0% of 1000 exactly 0)",
                "exactly 0 (700, 70.0%)",
                "nonzero (300)",
                "λ",
            ],
        );
    }
    // No zeros: no zero bar, plain title.
    let p = d.path().join("hist_nozero.svg");
    report::histogram(&p, "Positive", "v", &[1.0, 2.0, 2.5, 3.0], 3, false).unwrap();
    let svg = assert_svg(&p, &["Positive", "nonzero (4)"]);
    assert!(!svg.contains("exactly 0"));
}

#[test]
fn histogram_degenerate_and_bad_input() {
    let d = dir();
    let p = d.path().join("h.svg");
    // All equal (all zero, or all one value) still draws.
    report::histogram(&p, "zeros", "λ", &[0.0; 10], 10, true).unwrap();
    assert_svg(&p, &["100.0% of 10 exactly 0"]);
    report::histogram(&p, "same", "v", &[3.0; 5], 4, false).unwrap();
    assert_svg(&p, &["same"]);
    assert!(matches!(
        report::histogram(&p, "t", "x", &[], 10, false),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        report::histogram(&p, "t", "x", &[1.0], 0, false),
        Err(Error::InvalidParameter { name: "bins", .. })
    ));
    assert!(matches!(
        report::histogram(&p, "t", "x", &[1.0, f64::NEG_INFINITY], 3, false),
        Err(Error::NonFinite { row: 1, .. })
    ));
}

#[test]
fn curves_linear_and_log() {
    let d = dir();
    let erm: Vec<f64> = (0..50).map(|e| 1.0 / (1.0 + e as f64)).collect();
    let fl: Vec<f64> = (0..30).map(|e| 0.5 * (-0.2 * e as f64).exp()).collect();
    let frac: Vec<f64> = (0..50).map(|e| (e as f64 / 49.0).min(1.0)).collect();
    let p = d.path().join("curves.svg");
    report::curves(
        &p,
        "Mean loss",
        "epoch",
        "mean loss",
        &[("ERM", &erm), ("FL", &fl)],
        true,
    )
    .unwrap();
    assert_svg(
        &p,
        &["Mean loss", "epoch", "mean loss (log scale)", "ERM", "FL"],
    );
    let p = d.path().join("frac.svg");
    report::curves(
        &p,
        "Feasible fraction",
        "epoch",
        "fraction",
        &[("FL", &frac)],
        false,
    )
    .unwrap();
    assert_svg(&p, &["Feasible fraction", "fraction", "FL"]);
    // A zero on a log axis is moved to the floor and the label says so.
    report::curves(&p, "f", "epoch", "fraction", &[("FL", &frac)], true).unwrap();
    assert_svg(&p, &["1 value ≤ 0 drawn at"]);
    // A single point is fine.
    report::curves(&p, "one", "epoch", "loss", &[("ERM", &[0.3])], false).unwrap();
    assert_svg(&p, &["one"]);
}

#[test]
fn curves_rejects_bad_input() {
    let d = dir();
    let p = d.path().join("c.svg");
    assert!(matches!(
        report::curves(&p, "t", "x", "y", &[], false),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        report::curves(&p, "t", "x", "y", &[("a", &[1.0, f64::NAN, 2.0])], false),
        Err(Error::NonFinite { row: 1, .. })
    ));
}

#[test]
fn fits_1d_clips_an_exploding_fit() {
    let d = dir();
    let xs: Vec<f64> = (0..20).map(|i| i as f64 / 19.0).collect();
    let ys: Vec<f64> = xs.iter().map(|x| (6.0 * x).sin()).collect();
    let grid: Vec<f64> = (0..200).map(|i| -0.05 + 1.1 * i as f64 / 199.0).collect();
    let good: Vec<f64> = grid.iter().map(|x| (6.0 * x).sin()).collect();
    let wild: Vec<f64> = grid
        .iter()
        .map(|x| (6.0 * x).sin() + 1e6 * (x - 0.5).powi(9))
        .collect();
    let p = d.path().join("fits.svg");
    report::fits_1d(&p, "Degree-9 fits", (&xs, &ys), &[("FL", &grid, &good)]).unwrap();
    let svg = assert_svg(&p, &["Degree-9 fits", "data", "FL"]);
    assert!(!svg.contains("clipped"));
    report::fits_1d(
        &p,
        "Degree-9 fits",
        (&xs, &ys),
        &[("FL", &grid, &good), ("ERM", &grid, &wild)],
    )
    .unwrap();
    assert_svg(&p, &["Degree-9 fits (y-axis clipped to data)", "ERM", "FL"]);
    // Scatter only.
    report::fits_1d(&p, "data only", (&xs, &ys), &[]).unwrap();
    assert_svg(&p, &["data only"]);
}

#[test]
fn fits_1d_rejects_bad_input() {
    let d = dir();
    let p = d.path().join("f.svg");
    let xs = [0.0, 1.0];
    assert!(matches!(
        report::fits_1d(&p, "t", (&xs, &[1.0]), &[]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        report::fits_1d(&p, "t", (&[], &[]), &[]),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        report::fits_1d(&p, "t", (&xs, &[1.0, 2.0]), &[("c", &xs, &[0.0, f64::NAN])]),
        Err(Error::NonFinite { row: 1, .. })
    ));
    assert!(matches!(
        report::fits_1d(&p, "t", (&xs, &[1.0, 2.0]), &[("c", &xs, &[0.0])]),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn unwritable_path_is_an_io_error() {
    let d = dir();
    let p: PathBuf = d.path().join("no/such/dir/plot.svg");
    match report::histogram(&p, "t", "x", &[1.0, 2.0], 2, false) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("plot.svg")),
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

/// Values so large that an axis padded around them overflows used to send plotters into
/// an endless tick layout; they are a typed error now, and values just below the bound
/// still plot.
#[test]
fn values_beyond_the_plottable_range_are_errors_not_hangs() {
    let d = dir();
    let p = d.path().join("huge.svg");
    for log in [false, true] {
        for v in [1e308, -1.7e308] {
            let e = report::loss_ecdf(&p, "t", &[("a", &[v][..])], log, None).unwrap_err();
            assert!(
                matches!(e, Error::InvalidParameter { name: "values", .. }),
                "{e:?}"
            );
            let e =
                report::curves(&p, "t", "epoch", "loss", &[("a", &[1.0, v][..])], log).unwrap_err();
            assert!(
                matches!(e, Error::InvalidParameter { name: "values", .. }),
                "{e:?}"
            );
        }
    }
    let e = report::histogram(&p, "t", "v", &[-1e308, 1e308], 30, false).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { name: "values", .. }),
        "{e:?}"
    );
    let e = report::loss_ecdf(&p, "t", &[("a", &[1.0][..])], false, Some(1e308)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "epsilon",
                ..
            }
        ),
        "{e:?}"
    );
    // Just inside the bound: every kind of axis still lays out.
    report::loss_ecdf(&p, "t", &[("a", &[1e307][..])], true, None).unwrap();
    report::loss_ecdf(&p, "t", &[("a", &[-1e307, 1e307][..])], false, Some(0.0)).unwrap();
    report::curves(
        &p,
        "t",
        "epoch",
        "loss",
        &[("a", &[1e307, 1e307][..])],
        false,
    )
    .unwrap();
    report::curves(&p, "t", "epoch", "loss", &[("a", &[1.0, 1e307][..])], true).unwrap();
    report::histogram(&p, "t", "v", &[-1e307, 1e307], 30, false).unwrap();
    assert_svg(&p, &["t"]);
}
