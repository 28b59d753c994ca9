//! Training progress on standard error, as a solver [`Observer`]: a progress bar on a
//! terminal, periodic plain lines otherwise, nothing when quiet.

use std::io::IsTerminal;

use feasible::solver::{Control, EpochRecord, Observer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

enum Mode {
    Quiet,
    Bar(ProgressBar),
    Lines { every: usize },
}

/// The progress observer.
pub struct Progress {
    mode: Mode,
    epochs: usize,
}

fn describe(r: &EpochRecord) -> String {
    let mut s = format!(
        "mean loss {:.4}, max loss {:.4}",
        r.train.mean_loss, r.train.max_loss
    );
    if let Some(f) = r.train.feasible_fraction {
        s.push_str(&format!(", feasible {:.1}%", 100.0 * f));
    }
    s
}

impl Progress {
    /// Chooses the mode from `quiet` and whether standard error is a terminal.
    pub fn new(epochs: usize, quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(epochs as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30.cyan/blue} epoch {pos}/{len} {msg} [{elapsed_precise}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            Mode::Bar(bar)
        } else {
            Mode::Lines {
                every: epochs.div_ceil(10).max(1),
            }
        };
        Self { mode, epochs }
    }

    /// Removes the bar (before the report is printed).
    pub fn finish(&self) {
        if let Mode::Bar(b) = &self.mode {
            b.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn on_epoch(&mut self, r: &EpochRecord) -> Control {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(b) => {
                b.set_position(r.epoch as u64);
                b.set_message(describe(r));
            }
            Mode::Lines { every } => {
                if r.epoch > 0 && (r.epoch.is_multiple_of(*every) || r.epoch == self.epochs) {
                    eprintln!("epoch {}/{}: {}", r.epoch, self.epochs, describe(r));
                }
            }
        }
        Control::Continue
    }
}
