//! A fixed amount of forward + weighted-backward work, for instruction counts under
//! `valgrind --tool=callgrind` (deterministic, unlike wall-clock time on a shared machine).
//!
//! ```text
//! cargo build --release --example kernel_profile
//! valgrind --tool=callgrind target/release/examples/kernel_profile logreg 50 seq
//! ```
//! Workloads: `logreg` (d = 100, batches of 1024), `mlp` (64→256→256→10, batches of 256),
//! `moons` (2→70→70→2, batch 512), `softmax` (64→10, batches of 256); then the number of
//! steps and `seq` or `rayon`. Prints a checksum of the last gradient.

use feasible::data::synthetic::{DenseTask, dense, two_moons};
use feasible::data::{Dataset, TargetsRef};
use feasible::model::{Activation, Head, Init, Mlp, Model, Network};
use feasible::parallel::Par;

fn run<M: Model<f32>>(mut model: M, data: &Dataset<f32>, batch: usize, steps: usize, par: Par) {
    for (i, p) in model.params_mut().iter_mut().enumerate() {
        *p += 0.05 * ((i as f32) * 0.618).sin();
    }
    let n = data.n_samples();
    let mut ws = model.workspace();
    let (mut xb, mut yr, mut yc) = (Vec::new(), Vec::new(), Vec::new());
    let mut losses = vec![0.0f32; batch];
    let mut grad = vec![0.0f32; model.n_params()];
    let mut idx = vec![0usize; batch];
    for s in 0..steps {
        for (j, v) in idx.iter_mut().enumerate() {
            *v = ((s * batch + j) * 7919) % n;
        }
        data.gather_into(&idx, &mut xb, &mut yr, &mut yc);
        let y = if yc.len() == batch {
            TargetsRef::Classes(&yc)
        } else {
            TargetsRef::Real(&yr)
        };
        model.forward(&xb, y, &mut ws, &mut losses, par).unwrap();
        model
            .backward(&xb, &mut ws, &losses, &mut grad, par)
            .unwrap();
    }
    let sum: f64 = grad.iter().map(|&g| g as f64).sum();
    println!("checksum {sum:.9e} first {:?}", &grad[..3]);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("logreg", |s| s.as_str());
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let par = match args.get(3).map(|s| s.as_str()) {
        Some("rayon") => Par::Rayon,
        _ => Par::Seq,
    };
    match what {
        "logreg" => {
            let data = dense::<f32>(20_000, 100, DenseTask::Binary, 1234).unwrap();
            run(Network::logistic_regression(100), &data, 1024, steps, par);
        }
        "linear" => {
            let data = dense::<f32>(20_000, 100, DenseTask::Regression, 1234).unwrap();
            run(Network::linear_regression(100), &data, 1024, steps, par);
        }
        "softmax" => {
            let data = dense::<f32>(20_000, 64, DenseTask::Multiclass(10), 1234).unwrap();
            run(Network::softmax_regression(64, 10), &data, 256, steps, par);
        }
        "mlp" => {
            let data = dense::<f32>(20_000, 64, DenseTask::Multiclass(10), 1234).unwrap();
            let net = Mlp::new(64, Head::Multiclass(10))
                .hidden(&[256, 256])
                .activation(Activation::Relu)
                .init(Init::TorchDefault)
                .build::<f32>()
                .unwrap();
            run(net, &data, 256, steps, par);
        }
        "moons" => {
            let data = two_moons::<f32>(512, 0.1, 0).unwrap();
            let net = Mlp::new(2, Head::Multiclass(2))
                .hidden(&[70, 70])
                .activation(Activation::Relu)
                .init(Init::TorchDefault)
                .build::<f32>()
                .unwrap();
            run(net, &data, 512, steps, par);
        }
        other => panic!("unknown workload {other}"),
    }
}
