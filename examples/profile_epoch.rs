//! Training epochs of a benchmark workload, for profilers (`perf record`, callgrind):
//! times `Session::run_epoch` only (no set-up, no evaluation).
//!
//! `cargo run --release --example profile_epoch -- logreg|mlp|moons [fl|erm] [EPOCHS]`
//! (`moons`: one "epoch" is the whole 250-step full-batch run's worth of steps.)
//! `SHUFFLE_BLOCK=N` trains with `Shuffle::Blocks { size: N }`.

use std::time::Instant;

use feasible::Dataset;
use feasible::data::Shuffle;
use feasible::data::synthetic::{self, DenseTask};
use feasible::model::{Head, Init, Mlp, Model, Network};
use feasible::solver::{Method, NoObserver, Optimizer, TrainerParams};

fn time<M: Model<f32>>(
    t: &TrainerParams,
    model: M,
    data: &Dataset<f32>,
    epochs: usize,
) -> Result<(), String> {
    let mut t = t.clone();
    if let Ok(b) = std::env::var("SHUFFLE_BLOCK") {
        let size = b.parse().map_err(|e| format!("SHUFFLE_BLOCK: {e}"))?;
        t = t.shuffle(Shuffle::Blocks { size });
    }
    let trainer = t.check().map_err(|e| e.to_string())?;
    let mut s = trainer
        .session(model, data, None)
        .map_err(|e| e.to_string())?;
    if std::env::var("FTZ").is_ok() {
        #[allow(deprecated)]
        // SAFETY: sets the flush-to-zero and denormals-are-zero bits of MXCSR.
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr(_mm_getcsr() | 0x8040);
        }
    }
    let t0 = Instant::now();
    for _ in 0..epochs {
        s.run_epoch(&mut NoObserver).map_err(|e| e.to_string())?;
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    println!(
        "{epochs} epochs: {ms:.1} ms ({:.2} ms per epoch)",
        ms / epochs as f64
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let work = args.get(1).map_or("mlp", String::as_str);
    let fl = args.get(2).map_or("fl", String::as_str) == "fl";
    let epochs: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let quiet = |m: Method| {
        TrainerParams::new(m)
            .eval_every(0)
            .final_eval(false)
            .stationarity(false)
            .epochs(1 << 40)
    };
    match work {
        "logreg" => {
            let data = synthetic::dense::<f32>(200_000, 100, DenseTask::Binary, 1234)?;
            let m = if fl {
                Method::Fl { epsilon: 0.3 }
            } else {
                Method::Erm
            };
            let t = quiet(m).optimizer(Optimizer::sgd(0.1)).batch_size(1024);
            time(&t, Network::<f32>::logistic_regression(100), &data, epochs)?;
        }
        "mlp" => {
            let data = synthetic::dense::<f32>(100_000, 64, DenseTask::Multiclass(10), 1234)?;
            let net = Mlp::new(64, Head::Multiclass(10))
                .hidden(&[256, 256])
                .init(Init::TorchDefault)
                .build::<f32>()?;
            let m = if fl {
                Method::Fl { epsilon: 0.5 }
            } else {
                Method::Erm
            };
            let t = quiet(m).optimizer(Optimizer::adamw(1e-3)).batch_size(256);
            time(&t, net, &data, epochs)?;
        }
        _ => {
            let data = synthetic::two_moons::<f32>(512, 0.1, 0)?;
            let net = Mlp::new(2, Head::Multiclass(2))
                .hidden(&[70, 70])
                .init(Init::TorchDefault)
                .build::<f32>()?;
            let m = if fl {
                Method::Fl { epsilon: 0.51 }
            } else {
                Method::Erm
            };
            let t = quiet(m).optimizer(Optimizer::adamw(5e-4));
            time(&t, net, &data, 250 * epochs)?;
        }
    }
    Ok(())
}
