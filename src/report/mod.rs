//! Pictures of a Feasible Learning run, written as self-contained SVG files.
//!
//! Feasible Learning is judged by the *distribution* of per-sample losses rather than by
//! their mean, so the plots here are the ones the paper's experiments need:
//!
//! | function | draws |
//! |---|---|
//! | [`loss_ecdf`] | empirical CDF of per-sample training losses for several methods (ERM, FL, RFL, …), optionally on a log loss axis, with a vertical line at `ε` |
//! | [`histogram`] | a histogram, e.g. of the multipliers `λ_i`, with exact zeros shown as their own bar |
//! | [`curves`] | one line per method over epochs (mean loss, max loss, feasible fraction, …) |
//! | [`fits_1d`] | a scatter of 1-D regression data with fitted curves, the y-axis clipped to the data |
//!
//! Every function takes plain data (`&[f64]` slices and labels) and a destination path and
//! returns [`crate::Result`]: empty or non-finite input is rejected with
//! [`Error::Empty`](crate::Error::Empty), [`Error::NonFinite`](crate::Error::NonFinite),
//! [`Error::Shape`](crate::Error::Shape) or
//! [`Error::InvalidParameter`](crate::Error::InvalidParameter), and a failure to draw or to
//! write the file becomes [`Error::Io`](crate::Error::Io) naming the path.
//!
//! # Output and fonts
//!
//! Plots are [`WIDTH`] × [`HEIGHT`] pixel SVG documents drawn with the `plotters` crate
//! using only its SVG backend (no bitmap backend, no `ttf`/`font-kit`, no system library).
//! Text is written as SVG `<text>` elements with `font-family="sans-serif"`, so whatever
//! displays the SVG (a browser, `rsvg-convert`, Inkscape) picks the font; no font file is
//! read or embedded when plotting. Text extents for layout (legend boxes, label areas) are
//! plotters' built-in estimate, which errs on the wide side, so labels never overlap.
//!
//! # Example
//!
//! ```no_run
//! use feasible::report;
//! let erm = [0.01, 0.02, 0.5, 2.0];
//! let fl = [0.05, 0.06, 0.08, 0.09];
//! report::loss_ecdf(
//!     "losses.svg",
//!     "Training losses",
//!     &[("ERM", &erm), ("FL", &fl)],
//!     true,
//!     Some(0.1),
//! )?;
//! # Ok::<(), feasible::Error>(())
//! ```

mod plot;

pub use plot::{HEIGHT, LOG_FLOOR, WIDTH, curves, fits_1d, histogram, loss_ecdf};
