//! Every bad input becomes a typed [`Error`] (never a panic), and each test matches the
//! variant it expects.

use feasible::data::synthetic::{self, DenseTask};
use feasible::data::{Dataset, MiniBatches, Targets, TargetsRef};
use feasible::model::{Activation, Head, Mlp, Model};
use feasible::parallel::Par;
use feasible::{Error, Network};
use ndarray::{Array2, array};

fn small_classification() -> Dataset<f64> {
    Dataset::classification(array![[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], vec![0, 1, 1], 2).unwrap()
}

// ---------------------------------------------------------------------------------------
// Dataset construction
// ---------------------------------------------------------------------------------------

#[test]
fn dataset_wrong_shapes() {
    let e = Dataset::regression(array![[1.0, 2.0], [3.0, 4.0]], vec![1.0]).unwrap_err();
    assert!(
        matches!(&e, Error::Shape { expected, got, .. } if expected == "2" && got == "1"),
        "{e:?}"
    );
    let e = Dataset::classification(array![[1.0], [2.0]], vec![0, 1, 0], 2).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
}

#[test]
fn dataset_non_finite_features_and_targets() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = Dataset::regression(array![[1.0, 2.0], [3.0, bad]], vec![0.0, 1.0]).unwrap_err();
        assert_eq!(
            e,
            Error::NonFinite {
                what: "features".into(),
                row: 1,
                col: 1
            }
        );
        let e = Dataset::classification(array![[bad], [0.0]], vec![0, 1], 2).unwrap_err();
        assert!(
            matches!(e, Error::NonFinite { row: 0, col: 0, .. }),
            "{e:?}"
        );
        let e = Dataset::regression(array![[1.0], [2.0], [3.0]], vec![0.0, 1.0, bad]).unwrap_err();
        assert_eq!(
            e,
            Error::NonFinite {
                what: "targets".into(),
                row: 2,
                col: 0
            }
        );
    }
    // f32 as well.
    let e = Dataset::<f32>::regression(array![[f32::NAN]], vec![1.0]).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
}

#[test]
fn dataset_label_out_of_range() {
    let e = Dataset::classification(array![[0.0], [1.0], [2.0]], vec![0, 1, 3], 3).unwrap_err();
    assert_eq!(
        e,
        Error::LabelOutOfRange {
            label: 3,
            row: 2,
            n_classes: 3
        }
    );
    let e = Dataset::new(
        array![[0.0], [1.0]],
        Targets::Classes {
            labels: vec![2, 0],
            n_classes: 2,
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LabelOutOfRange {
                label: 2,
                row: 0,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn dataset_empty() {
    let e = Dataset::<f64>::regression(Array2::zeros((0, 3)), vec![]).unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
    let e = Dataset::<f64>::classification(Array2::zeros((2, 0)), vec![0, 1], 2).unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
    let e = small_classification().select(&[]).unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
    let e = small_classification().select(&[0, 3]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
}

#[test]
fn dataset_fewer_than_two_classes() {
    for k in [0, 1] {
        let e = Dataset::classification(array![[0.0], [1.0]], vec![0, 0], k).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "n_classes",
                    ..
                }
            ),
            "{k}: {e:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Model forward / backward
// ---------------------------------------------------------------------------------------

fn mlp(head: Head) -> Network<f64> {
    Mlp::new(2, head)
        .hidden(&[3])
        .activation(Activation::Tanh)
        .build()
        .unwrap()
}

#[test]
fn forward_wrong_x_length() {
    let net = mlp(Head::Binary);
    let mut ws = net.workspace();
    let mut losses = [0.0; 2];
    for x in [&[0.0; 3][..], &[0.0; 5][..], &[][..]] {
        let e = net
            .forward(
                x,
                TargetsRef::Classes(&[0, 1]),
                &mut ws,
                &mut losses,
                Par::Seq,
            )
            .unwrap_err();
        assert!(
            matches!(&e, Error::Shape { expected, .. } if expected == "4"),
            "{e:?}"
        );
    }
}

#[test]
fn forward_wrong_losses_length() {
    let net = Network::<f64>::linear_regression(2);
    let mut ws = net.workspace();
    for n in [0, 1, 3] {
        let mut losses = vec![0.0; n];
        let e = net
            .forward(
                &[0.0; 4],
                TargetsRef::Real(&[0.0, 1.0]),
                &mut ws,
                &mut losses,
                Par::Seq,
            )
            .unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{n}: {e:?}");
    }
}

#[test]
fn forward_empty_batch() {
    let net = Network::<f64>::linear_regression(2);
    let mut ws = net.workspace();
    let e = net
        .forward(&[], TargetsRef::Real(&[]), &mut ws, &mut [], Par::Seq)
        .unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
}

#[test]
fn forward_targets_of_the_wrong_kind() {
    let mut losses = [0.0; 2];
    for head in [Head::Binary, Head::Multiclass(3)] {
        let net = mlp(head);
        let mut ws = net.workspace();
        let e = net
            .forward(
                &[0.0; 4],
                TargetsRef::Real(&[0.0, 1.0]),
                &mut ws,
                &mut losses,
                Par::Seq,
            )
            .unwrap_err();
        assert!(matches!(e, Error::TaskMismatch(_)), "{head:?}: {e:?}");
    }
    let net = Network::<f64>::linear_regression(2);
    let mut ws = net.workspace();
    let e = net
        .forward(
            &[0.0; 4],
            TargetsRef::Classes(&[0, 1]),
            &mut ws,
            &mut losses,
            Par::Seq,
        )
        .unwrap_err();
    assert!(matches!(e, Error::TaskMismatch(_)), "{e:?}");
}

#[test]
fn forward_label_out_of_range_for_the_head() {
    let mut losses = [0.0; 2];
    for (net, bad, k) in [
        (mlp(Head::Binary), 2, 2),
        (mlp(Head::Multiclass(3)), 3, 3),
        (Network::logistic_regression(2), 5, 2),
        (Network::softmax_regression(2, 4), 4, 4),
    ] {
        let mut ws = net.workspace();
        let e = net
            .forward(
                &[0.0; 4],
                TargetsRef::Classes(&[0, bad]),
                &mut ws,
                &mut losses,
                Par::Seq,
            )
            .unwrap_err();
        assert_eq!(
            e,
            Error::LabelOutOfRange {
                label: bad,
                row: 1,
                n_classes: k
            }
        );
    }
}

/// Forward then backward on a 2-sample batch, returning the workspace.
fn forwarded(net: &Network<f64>) -> <Network<f64> as Model<f64>>::Workspace {
    let mut ws = net.workspace();
    let mut losses = [0.0; 2];
    net.forward(
        &[0.5, -1.0, 2.0, 0.0],
        TargetsRef::Classes(&[0, 1]),
        &mut ws,
        &mut losses,
        Par::Seq,
    )
    .unwrap();
    ws
}

#[test]
fn backward_before_forward() {
    let net = mlp(Head::Binary);
    let mut ws = net.workspace();
    let mut g = vec![0.0; net.n_params()];
    let e = net
        .backward(&[0.0; 4], &mut ws, &[1.0, 1.0], &mut g, Par::Seq)
        .unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
}

#[test]
fn backward_wrong_weights_length() {
    let net = mlp(Head::Binary);
    let mut ws = forwarded(&net);
    let mut g = vec![0.0; net.n_params()];
    for w in [&[][..], &[1.0][..], &[1.0, 1.0, 1.0][..]] {
        let e = net
            .backward(&[0.5, -1.0, 2.0, 0.0], &mut ws, w, &mut g, Par::Seq)
            .unwrap_err();
        assert!(
            matches!(&e, Error::Shape { expected, .. } if expected == "2"),
            "{e:?}"
        );
    }
}

#[test]
fn backward_wrong_grad_length() {
    let net = mlp(Head::Binary);
    let mut ws = forwarded(&net);
    let np = net.n_params();
    for n in [0, np - 1, np + 1] {
        let mut g = vec![0.0; n];
        let e = net
            .backward(
                &[0.5, -1.0, 2.0, 0.0],
                &mut ws,
                &[1.0, 1.0],
                &mut g,
                Par::Seq,
            )
            .unwrap_err();
        assert!(
            matches!(&e, Error::Shape { expected, got, .. } if *expected == np.to_string() && *got == n.to_string()),
            "{e:?}"
        );
    }
}

/// A workspace filled by another network's forward pass used to make backward panic
/// (its per-chunk buffers have the other network's sizes).
#[test]
fn backward_with_a_workspace_of_another_network() {
    let a = Network::<f64>::logistic_regression(2);
    let b = mlp(Head::Binary);
    let mut ws = forwarded(&a);
    let mut g = vec![0.0; b.n_params()];
    let e = b
        .backward(
            &[0.5, -1.0, 2.0, 0.0],
            &mut ws,
            &[1.0, 1.0],
            &mut g,
            Par::Seq,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    // The rightful owner can still use it.
    let mut g = vec![0.0; a.n_params()];
    a.backward(
        &[0.5, -1.0, 2.0, 0.0],
        &mut ws,
        &[1.0, 1.0],
        &mut g,
        Par::Seq,
    )
    .unwrap();
}

#[test]
fn backward_wrong_x_length() {
    let net = mlp(Head::Binary);
    let mut ws = forwarded(&net);
    let mut g = vec![0.0; net.n_params()];
    let e = net
        .backward(&[0.5, -1.0, 2.0], &mut ws, &[1.0, 1.0], &mut g, Par::Seq)
        .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// Model construction
// ---------------------------------------------------------------------------------------

#[test]
fn mlp_invalid_shapes() {
    let e = Mlp::new(3, Head::Binary)
        .hidden(&[4, 0, 2])
        .build::<f64>()
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { name: "hidden", .. }),
        "{e:?}"
    );
    let e = Mlp::new(0, Head::Regression)
        .hidden(&[4])
        .build::<f32>()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "n_inputs",
                ..
            }
        ),
        "{e:?}"
    );
    for k in [0, 1] {
        let e = Mlp::new(3, Head::Multiclass(k)).build::<f64>().unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "n_classes",
                    ..
                }
            ),
            "{k}: {e:?}"
        );
    }
}

#[test]
fn from_parts_validates() {
    // 2 → 3 → 1: 2·3 + 3 + 3·1 + 1 = 13 parameters.
    let ok = Network::<f64>::from_parts(2, vec![3], Activation::Relu, Head::Binary, vec![0.1; 13]);
    assert!(ok.is_ok());
    for n in [0, 12, 14] {
        let e =
            Network::<f64>::from_parts(2, vec![3], Activation::Relu, Head::Binary, vec![0.1; n])
                .unwrap_err();
        assert!(
            matches!(&e, Error::Shape { expected, .. } if expected == "13"),
            "{n}: {e:?}"
        );
    }
    for bad in [f64::NAN, f64::INFINITY] {
        let mut p = vec![0.1; 13];
        p[7] = bad;
        let e =
            Network::<f64>::from_parts(2, vec![3], Activation::Relu, Head::Binary, p).unwrap_err();
        assert!(matches!(e, Error::NonFinite { row: 7, .. }), "{e:?}");
    }
    let e =
        Network::<f64>::from_parts(2, vec![0], Activation::Relu, Head::Binary, vec![]).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e:?}");
    let e = Network::<f64>::from_parts(
        2,
        vec![],
        Activation::Relu,
        Head::Multiclass(1),
        vec![0.0; 3],
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "n_classes",
                ..
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Prediction
// ---------------------------------------------------------------------------------------

#[test]
fn outputs_and_predict_validate_input() {
    let net = mlp(Head::Multiclass(3));
    for x in [Array2::<f64>::zeros((4, 3)), Array2::zeros((4, 1))] {
        let e = net.outputs(x.view()).unwrap_err();
        assert!(
            matches!(&e, Error::Shape { expected, .. } if expected == "2"),
            "{e:?}"
        );
        let e = net.predict(x.view()).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
        let e = net.predict_proba(x.view()).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    }
    for bad in [f64::NAN, f64::NEG_INFINITY] {
        let x = array![[0.0, 1.0], [2.0, bad]];
        let e = net.outputs(x.view()).unwrap_err();
        assert!(
            matches!(e, Error::NonFinite { row: 1, col: 1, .. }),
            "{e:?}"
        );
        let e = net.predict(x.view()).unwrap_err();
        assert!(
            matches!(e, Error::NonFinite { row: 1, col: 1, .. }),
            "{e:?}"
        );
    }
    let e = net
        .outputs(Array2::<f64>::zeros((0, 2)).view())
        .unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
    let e = Network::<f64>::linear_regression(2)
        .predict_proba(array![[0.0, 1.0]].view())
        .unwrap_err();
    assert!(matches!(e, Error::TaskMismatch(_)), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// Mini-batches, splits, synthetic data
// ---------------------------------------------------------------------------------------

#[test]
fn minibatches_invalid_sizes() {
    for b in [0, 11, 100] {
        let e = MiniBatches::new(10, b).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "batch_size",
                    ..
                }
            ),
            "{b}: {e:?}"
        );
    }
    assert!(matches!(MiniBatches::new(0, 1), Err(Error::Empty(_))));
    assert!(matches!(MiniBatches::full(0), Err(Error::Empty(_))));
    let mut mb = MiniBatches::new(4, 2).unwrap();
    assert!(matches!(
        mb.set_order(vec![0, 1, 2]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        mb.set_order(vec![0, 1, 1, 3]),
        Err(Error::Format(_))
    ));
    assert!(matches!(
        mb.set_order(vec![0, 1, 2, 4]),
        Err(Error::Format(_))
    ));
}

#[test]
fn train_test_split_fraction_outside_unit_interval() {
    let data = synthetic::two_moons::<f64>(20, 0.1, 0).unwrap();
    for f in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
        let e = data.train_test_split(f, 0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "test_fraction",
                    ..
                }
            ),
            "{f}: {e:?}"
        );
    }
    // Inside (0, 1) but leaving an empty part.
    let e = data.train_test_split(0.01, 0).unwrap_err();
    assert!(matches!(e, Error::Empty(_)), "{e:?}");
}

#[test]
fn synthetic_generators_reject_bad_noise_and_sizes() {
    for noise in [-0.1, f64::NAN, f64::INFINITY] {
        let e = synthetic::two_moons::<f64>(10, noise, 0).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: "noise", .. }),
            "{e:?}"
        );
        let e = synthetic::polynomial_toy::<f32>(10, noise, 0).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: "noise", .. }),
            "{e:?}"
        );
    }
    assert!(matches!(
        synthetic::two_moons::<f64>(1, 0.1, 0),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        synthetic::polynomial_toy::<f64>(0, 0.1, 0),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        synthetic::dense::<f64>(10, 0, DenseTask::Regression, 0),
        Err(Error::Empty(_))
    ));
    // n × d past the address space: a typed error before any allocation.
    assert!(matches!(
        synthetic::dense::<f64>(usize::MAX / 2, 3, DenseTask::Regression, 0),
        Err(Error::InvalidParameter { name: "n", .. })
    ));
    assert!(matches!(
        synthetic::dense::<f64>(10, 3, DenseTask::Multiclass(1), 0),
        Err(Error::InvalidParameter {
            name: "n_classes",
            ..
        })
    ));
    let x = array![[1.0, 2.0]];
    assert!(matches!(
        synthetic::polynomial_features(x.view(), 3),
        Err(Error::Shape { .. })
    ));
    let x = array![[1.0], [2.0]];
    assert!(matches!(
        synthetic::polynomial_features(x.view(), 0),
        Err(Error::InvalidParameter { name: "degree", .. })
    ));
}

/// `Network::softmax_regression(d, 1)` is constructible (the constructor is infallible);
/// a label of 1 for its single logit used to pass the range check (which allowed 2
/// classes for every classifier head) and then panic indexing the logits.
#[test]
fn forward_label_out_of_range_for_a_one_class_softmax() {
    let net = Network::<f64>::softmax_regression(2, 1);
    let mut ws = net.workspace();
    let mut losses = [0.0; 2];
    let e = net
        .forward(
            &[0.0; 4],
            TargetsRef::Classes(&[0, 1]),
            &mut ws,
            &mut losses,
            Par::Seq,
        )
        .unwrap_err();
    assert_eq!(
        e,
        Error::LabelOutOfRange {
            label: 1,
            row: 1,
            n_classes: 1
        }
    );
}
