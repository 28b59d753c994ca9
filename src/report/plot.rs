//! The four plot functions of [`crate::report`] and their shared chart scaffolding.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::{Error, Result};

/// Width of every plot, in SVG pixels.
pub const WIDTH: u32 = 800;
/// Height of every plot, in SVG pixels.
pub const HEIGHT: u32 = 500;
/// The smallest value ever drawn on a logarithmic axis.
///
/// On a log axis, values that are zero or negative (and so cannot be placed) are drawn at a
/// floor one decade below the smallest positive value of the plot, and never below
/// `LOG_FLOOR`; the axis label then says how many values were moved and where to.
pub const LOG_FLOOR: f64 = 1e-12;

const FONT: &str = "sans-serif";
/// Tableau-10: distinct, colour-blind-friendlier than pure RGB primaries.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// An ECDF with more samples than this is drawn through this many evenly spaced order
/// statistics; at 800 pixels wide the difference is invisible and the file stays small.
const MAX_ECDF_STEPS: usize = 2000;
/// Series at most this long get a marker on every point.
const MAX_MARKED_POINTS: usize = 40;

type Chart<'a, 'b, X, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>;
type Root<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type DrawResult<T = ()> = std::result::Result<T, String>;

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------
// validation

/// The largest magnitude a plotted value may have: padding an axis around larger values
/// (a tenth of a constant series, a quarter of a range, ×10 on a log axis) would
/// overflow to infinity, and plotters never finishes laying out ticks on an infinite
/// axis.
const PLOT_MAX: f64 = f64::MAX / 16.0;

fn check_values(what: &str, values: &[f64]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::Empty(format!("{what} has no values")));
    }
    if let Some(row) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: what.to_string(),
            row,
            col: 0,
        });
    }
    if let Some((row, v)) = values.iter().enumerate().find(|(_, v)| v.abs() > PLOT_MAX) {
        return Err(Error::InvalidParameter {
            name: "values",
            value: format!("{v:e} ({what}, row {row})"),
            reason: format!("plotted values must lie within ±{PLOT_MAX:.1e}"),
        });
    }
    Ok(())
}

fn check_series(what: &str, series: &[(&str, &[f64])]) -> Result<()> {
    if series.is_empty() {
        return Err(Error::Empty(format!("{what}: no series given")));
    }
    for (label, values) in series {
        check_values(&format!("{what} series `{label}`"), values)?;
    }
    Ok(())
}

fn check_xy(what: &str, xs: &[f64], ys: &[f64]) -> Result<()> {
    if xs.len() != ys.len() {
        return Err(Error::shape(
            format!("{what}: x and y lengths"),
            xs.len(),
            ys.len(),
        ));
    }
    check_values(&format!("{what} x"), xs)?;
    check_values(&format!("{what} y"), ys)
}

// ---------------------------------------------------------------------------------------
// shared scaffolding

/// Draws into an in-memory SVG and writes it to `path` only if drawing succeeded.
fn render(path: &Path, draw: impl FnOnce(&Root<'_>) -> DrawResult) -> Result<()> {
    let io = |message: String| Error::Io {
        path: path.display().to_string(),
        message,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| io(de(e)))?;
        draw(&root).map_err(io)?;
        root.present().map_err(|e| io(de(e)))?;
    }
    std::fs::write(path, svg).map_err(|e| io(de(e)))
}

/// Tick labels: plain decimals for ordinary magnitudes, `1e-5` style otherwise.
fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        format!("{v:.1e}").replace(".0e", "e")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Title, axes, grid and tick labels.
fn chart<'a, 'b, X, Y>(
    root: &'a Root<'b>,
    title: &str,
    x: X,
    y: Y,
    x_desc: &str,
    y_desc: &str,
) -> DrawResult<Chart<'a, 'b, X, Y>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    // Float noise such as -1.1e-16 for the tick at 0 on a linear axis becomes "0".
    let zero_snap = |r: std::ops::Range<f64>| {
        if r.start <= 0.0 && r.end >= 0.0 {
            (r.end - r.start) * 1e-9
        } else {
            0.0
        }
    };
    let (x_snap, y_snap) = (zero_snap(x.range()), zero_snap(y.range()));
    let x_fmt = move |v: &f64| fmt_tick(if v.abs() < x_snap { 0.0 } else { *v });
    let y_fmt = move |v: &f64| fmt_tick(if v.abs() < y_snap { 0.0 } else { *v });
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(x, y)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .draw()
        .map_err(de)?;
    Ok(chart)
}

fn legend<'a, 'b: 'a, X, Y>(
    chart: &mut Chart<'a, 'b, X, Y>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 14))
        .draw()
        .map_err(de)
}

fn line_legend(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
}

fn box_legend(c: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x + 4, y - 6), (x + 16, y + 6)], c.filled())
}

/// The legend corner that covers the fewest of `points`, given as fractions of the axes
/// (`0..1` left to right and bottom to top).
fn emptiest_corner(points: impl Iterator<Item = (f64, f64)>) -> SeriesLabelPosition {
    // Corner regions roughly the size of a legend box: 40% wide, 35% high.
    let mut counts = [0usize; 4]; // UL, UR, LL, LR
    for (fx, fy) in points {
        let left = fx < 0.4;
        let right = fx > 0.6;
        let up = fy > 0.65;
        let down = fy < 0.35;
        if up && left {
            counts[0] += 1;
        }
        if up && right {
            counts[1] += 1;
        }
        if down && left {
            counts[2] += 1;
        }
        if down && right {
            counts[3] += 1;
        }
    }
    // Ties prefer upper right, then upper left, lower right, lower left.
    let order = [1usize, 0, 3, 2];
    let best = order.into_iter().min_by_key(|&i| counts[i]).unwrap_or(1);
    match best {
        0 => SeriesLabelPosition::UpperLeft,
        2 => SeriesLabelPosition::LowerLeft,
        3 => SeriesLabelPosition::LowerRight,
        _ => SeriesLabelPosition::UpperRight,
    }
}

/// Minimum and maximum of finite values (callers have validated them).
fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// A padded linear range around `[lo, hi]` that is never empty.
fn linear_range(lo: f64, hi: f64, pad_frac: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * pad_frac;
        (lo - pad, hi + pad)
    } else {
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - half, hi + half)
    }
}

/// A padded log range around positive `[lo, hi]` that is never empty.
fn log_range(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo / 1.5, hi * 1.5)
    } else {
        (lo / 10.0, hi * 10.0)
    }
}

/// The floor for non-positive values on a log axis: a decade below the smallest positive
/// value, never below [`LOG_FLOOR`].
fn log_floor(values: impl Iterator<Item = f64>) -> f64 {
    let min_pos = values.filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    if min_pos.is_finite() {
        (min_pos / 10.0).max(LOG_FLOOR)
    } else {
        LOG_FLOOR
    }
}

fn clamp_note(axis: &str, clamped: usize, floor: f64) -> String {
    if clamped == 0 {
        format!("{axis} (log scale)")
    } else {
        format!(
            "{axis} (log scale; {clamped} value{} ≤ 0 drawn at {})",
            if clamped == 1 { "" } else { "s" },
            fmt_tick(floor)
        )
    }
}

// ---------------------------------------------------------------------------------------
// loss ECDF

/// Plots the empirical CDF of per-sample losses, one step curve per method.
///
/// `series` pairs a legend label (e.g. `"ERM"`, `"FL"`, `"RFL"`) with that method's
/// per-sample training losses. The y-axis is the fraction of samples whose loss is at most
/// the x value, so a method that satisfies every constraint `ℓ_i ≤ ε` reaches 1 at the
/// dashed vertical line drawn at `epsilon` (when given).
///
/// With `log_x`, the loss axis is logarithmic. Losses that are zero or negative cannot be
/// placed on it: they are drawn at a floor one decade below the smallest positive loss of
/// the plot (never below [`LOG_FLOOR`]), and the axis label says how many were moved and
/// to what value. A non-positive `epsilon` is moved to the same floor.
///
/// Very large series (more than 2000 samples) are drawn through 2000 evenly spaced order
/// statistics, which is indistinguishable at plot resolution.
///
/// # Errors
/// [`Error::Empty`] when there is no series or a series has no losses,
/// [`Error::NonFinite`] for a NaN or infinite loss (`row` is its index),
/// [`Error::InvalidParameter`] for a non-finite `epsilon`, and [`Error::Io`] when the file
/// cannot be drawn or written.
///
/// A value beyond ±1.1·10³⁰⁷ is an [`Error::InvalidParameter`]: an axis padded around it
/// would overflow.
pub fn loss_ecdf(
    path: impl AsRef<Path>,
    title: &str,
    series: &[(&str, &[f64])],
    log_x: bool,
    epsilon: Option<f64>,
) -> Result<()> {
    check_series("loss_ecdf", series)?;
    if let Some(eps) = epsilon
        && !(eps.is_finite() && eps.abs() <= PLOT_MAX)
    {
        return Err(Error::param(
            "epsilon",
            eps,
            format!("must be finite and within ±{PLOT_MAX:.1e}"),
        ));
    }
    let all = || series.iter().flat_map(|(_, v)| v.iter().copied());

    // Sorted (and, on a log axis, floored) losses per series.
    let floor = log_floor(all().chain(epsilon));
    let mut clamped = 0usize;
    let sorted: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, v)| {
            let mut s: Vec<f64> = v
                .iter()
                .map(|&x| {
                    if log_x && x < floor {
                        clamped += 1;
                        floor
                    } else {
                        x
                    }
                })
                .collect();
            s.sort_by(f64::total_cmp);
            s
        })
        .collect();
    let eps = epsilon.map(|e| if log_x { e.max(floor) } else { e });
    let (lo, hi) = min_max(sorted.iter().flatten().copied().chain(eps));

    let y_desc = "fraction of samples with loss ≤ x";
    render(path.as_ref(), |root| {
        if log_x {
            let (a, b) = log_range(lo, hi);
            let x_desc = clamp_note("per-sample loss", clamped, floor);
            let x = LogCoord::from((a..b).log_scale());
            let mut c = chart(root, title, x, (0.0..1.02).into(), &x_desc, y_desc)?;
            draw_ecdf(&mut c, series, &sorted, (a, b), eps)
        } else {
            let (a, b) = linear_range(lo, hi, 0.02);
            let x = RangedCoordf64::from(a..b);
            let mut c = chart(
                root,
                title,
                x,
                (0.0..1.02).into(),
                "per-sample loss",
                y_desc,
            )?;
            draw_ecdf(&mut c, series, &sorted, (a, b), eps)
        }
    })
}

fn draw_ecdf<'a, 'b: 'a, X>(
    chart: &mut Chart<'a, 'b, X, RangedCoordf64>,
    series: &[(&str, &[f64])],
    sorted: &[Vec<f64>],
    (x_lo, x_hi): (f64, f64),
    eps: Option<f64>,
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
{
    for (i, ((label, _), s)) in series.iter().zip(sorted).enumerate() {
        let c = colour(i);
        let n = s.len();
        let steps = n.min(MAX_ECDF_STEPS);
        let mut pts = Vec::with_capacity(2 * steps + 2);
        pts.push((x_lo, 0.0));
        let mut prev = 0.0;
        for j in 0..steps {
            let k = if n <= MAX_ECDF_STEPS {
                j
            } else {
                j * (n - 1) / (steps - 1)
            };
            let y = (k + 1) as f64 / n as f64;
            pts.push((s[k], prev));
            pts.push((s[k], y));
            prev = y;
        }
        pts.push((x_hi, 1.0));
        chart
            .draw_series(std::iter::once(PathElement::new(pts, c.stroke_width(2))))
            .map_err(de)?
            .label(*label)
            .legend(line_legend(c));
    }
    if let Some(e) = eps {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(e, 0.0), (e, 1.02)],
                6,
                4,
                BLACK.stroke_width(1),
            ))
            .map_err(de)?
            .label(format!("ε = {}", fmt_tick(e)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], BLACK.stroke_width(1)));
    }
    legend(chart, SeriesLabelPosition::LowerRight)
}

// ---------------------------------------------------------------------------------------
// histogram

/// Plots a histogram of `values` in `bins` equal-width bins, with exact zeros shown apart.
///
/// Made for the multipliers `λ_i` of Feasible Learning, most of which are often exactly 0
/// (their constraint is satisfied and inactive): the bin containing 0 is split in two, its
/// left half (orange) counting the values that are exactly 0 and its right half (blue) the
/// other values of that bin. The title gets the share of exact zeros appended, and the
/// legend gives both counts. With `log_count`, the count axis is logarithmic (empty bins
/// are simply not drawn).
///
/// # Errors
/// [`Error::Empty`] for no values, [`Error::NonFinite`] for a NaN or infinite value,
/// [`Error::InvalidParameter`] when `bins` is 0, and [`Error::Io`] when the file cannot be
/// drawn or written.
///
/// A value beyond ±1.1·10³⁰⁷ is an [`Error::InvalidParameter`]: an axis padded around it
/// would overflow.
pub fn histogram(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    values: &[f64],
    bins: usize,
    log_count: bool,
) -> Result<()> {
    check_values("histogram values", values)?;
    if bins == 0 {
        return Err(Error::param("bins", bins, "must be at least 1"));
    }
    let n = values.len();
    let (mut lo, mut hi) = min_max(values.iter().copied());
    if hi <= lo {
        (lo, hi) = linear_range(lo, hi, 0.0);
    }
    let width = (hi - lo) / bins as f64;
    let bin_of = |v: f64| (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);

    let mut counts = vec![0usize; bins];
    let mut zeros = 0usize;
    for &v in values {
        if v == 0.0 {
            zeros += 1;
        } else {
            counts[bin_of(v)] += 1;
        }
    }
    let zero_bin = (zeros > 0).then(|| bin_of(0.0));
    let max_count = counts.iter().copied().max().unwrap_or(0).max(zeros).max(1) as f64;

    let full_title = if zeros > 0 {
        format!(
            "{title} ({:.1}% of {n} exactly 0)",
            100.0 * zeros as f64 / n as f64
        )
    } else {
        title.to_string()
    };
    let bars = Bars {
        lo,
        width,
        counts: &counts,
        zeros,
        zero_bin,
        n,
    };
    render(path.as_ref(), |root| {
        let x = RangedCoordf64::from(lo..hi);
        if log_count {
            let y = LogCoord::from((0.5..max_count * 2.0).log_scale());
            let mut c = chart(root, &full_title, x, y, x_label, "count (log scale)")?;
            bars.draw(&mut c, 0.5)
        } else {
            let y = RangedCoordf64::from(0.0..max_count * 1.1);
            let mut c = chart(root, &full_title, x, y, x_label, "count")?;
            bars.draw(&mut c, 0.0)
        }
    })
}

struct Bars<'c> {
    lo: f64,
    width: f64,
    counts: &'c [usize],
    zeros: usize,
    zero_bin: Option<usize>,
    n: usize,
}

impl Bars<'_> {
    fn draw<'a, 'b: 'a, Y>(
        &self,
        chart: &mut Chart<'a, 'b, RangedCoordf64, Y>,
        base: f64,
    ) -> DrawResult
    where
        Y: Ranged<ValueType = f64>,
    {
        let (blue, orange) = (colour(0), colour(1));
        let rect = |x0: f64, x1: f64, count: usize, c: RGBColor| {
            [
                Rectangle::new([(x0, base), (x1, count as f64)], c.mix(0.85).filled()),
                Rectangle::new([(x0, base), (x1, count as f64)], WHITE.stroke_width(1)),
            ]
        };
        let nonzero: Vec<_> = self
            .counts
            .iter()
            .enumerate()
            .filter(|&(_, &count)| count > 0)
            .flat_map(|(b, &count)| {
                let mut x0 = self.lo + b as f64 * self.width;
                if Some(b) == self.zero_bin {
                    x0 += self.width / 2.0;
                }
                rect(x0, self.lo + (b + 1) as f64 * self.width, count, blue)
            })
            .collect();
        chart
            .draw_series(nonzero)
            .map_err(de)?
            .label(format!("nonzero ({})", self.n - self.zeros))
            .legend(box_legend(blue));
        if let Some(b) = self.zero_bin {
            let x0 = self.lo + b as f64 * self.width;
            let pct = 100.0 * self.zeros as f64 / self.n as f64;
            chart
                .draw_series(rect(x0, x0 + self.width / 2.0, self.zeros, orange))
                .map_err(de)?
                .label(format!("exactly 0 ({}, {pct:.1}%)", self.zeros))
                .legend(box_legend(orange));
        }
        legend(chart, SeriesLabelPosition::UpperRight)
    }
}

// ---------------------------------------------------------------------------------------
// training curves

/// Plots one line per method against the epoch: e.g. mean loss, max loss or the fraction
/// of feasible samples over training.
///
/// Point `j` of a series is drawn at `x = j` (so a history that starts with the
/// evaluation before training has that at 0). Series may have different lengths; series
/// of at most 40 points get a marker on every point. With `log_y`, values that are zero
/// or negative are drawn at a floor one decade below the smallest positive value (never
/// below [`LOG_FLOOR`]) and the y-axis label says so. The legend goes in the corner
/// that the lines cross least.
///
/// # Errors
/// [`Error::Empty`] when there is no series or a series is empty, [`Error::NonFinite`]
/// for a NaN or infinite value (e.g. a diverged run; `row` is the epoch index), and
/// [`Error::Io`] when the file cannot be drawn or written.
///
/// A value beyond ±1.1·10³⁰⁷ is an [`Error::InvalidParameter`]: an axis padded around it
/// would overflow.
pub fn curves(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, &[f64])],
    log_y: bool,
) -> Result<()> {
    check_series("curves", series)?;
    let all = || series.iter().flat_map(|(_, v)| v.iter().copied());
    let floor = log_floor(all());
    let clamped = if log_y {
        all().filter(|&v| v < floor).count()
    } else {
        0
    };
    let shown = |v: f64| if log_y { v.max(floor) } else { v };
    let data: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, v)| {
            v.iter()
                .enumerate()
                .map(|(j, &y)| (j as f64, shown(y)))
                .collect()
        })
        .collect();
    let longest = series.iter().map(|(_, v)| v.len()).max().unwrap_or(1);
    let x_hi = (longest.saturating_sub(1)).max(1) as f64;
    let (lo, hi) = min_max(all().map(shown));

    render(path.as_ref(), |root| {
        let x = RangedCoordf64::from(0.0..x_hi);
        if log_y {
            let (a, b) = log_range(lo, hi);
            let y_desc = clamp_note(y_label, clamped, floor);
            let (la, lb) = (a.log10(), b.log10());
            let corner = emptiest_corner(
                data.iter()
                    .flatten()
                    .map(|&(x, y)| (x / x_hi, (y.log10() - la) / (lb - la))),
            );
            let y = LogCoord::from((a..b).log_scale());
            let mut c = chart(root, title, x, y, x_label, &y_desc)?;
            draw_curves(&mut c, series, &data, corner)
        } else {
            let (a, b) = linear_range(lo, hi, 0.05);
            let corner = emptiest_corner(
                data.iter()
                    .flatten()
                    .map(|&(x, y)| (x / x_hi, (y - a) / (b - a))),
            );
            let y = RangedCoordf64::from(a..b);
            let mut c = chart(root, title, x, y, x_label, y_label)?;
            draw_curves(&mut c, series, &data, corner)
        }
    })
}

fn draw_curves<'a, 'b: 'a, Y>(
    chart: &mut Chart<'a, 'b, RangedCoordf64, Y>,
    series: &[(&str, &[f64])],
    data: &[Vec<(f64, f64)>],
    corner: SeriesLabelPosition,
) -> DrawResult
where
    Y: Ranged<ValueType = f64>,
{
    for (i, ((label, _), pts)) in series.iter().zip(data).enumerate() {
        let c = colour(i);
        chart
            .draw_series(std::iter::once(PathElement::new(
                pts.clone(),
                c.stroke_width(2),
            )))
            .map_err(de)?
            .label(*label)
            .legend(line_legend(c));
        if pts.len() <= MAX_MARKED_POINTS {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(de)?;
        }
    }
    legend(chart, corner)
}

// ---------------------------------------------------------------------------------------
// 1-D fits

/// Plots 1-D regression data as a scatter with fitted curves over it.
///
/// `points` is `(x, y)` of the training data; each entry of `curves` is `(label, x, y)`
/// of one fitted model evaluated along a grid (`x` in increasing order, e.g. a fine
/// `linspace` over the data range). The y-axis always spans the data with 25% of its
/// range added above and below, so a fit that explodes between or beyond the data (as a
/// high-degree polynomial fit by ERM may) cannot squash the picture: the parts of curves
/// outside that range are cut off at its edges, and the title then ends with
/// "(y-axis clipped to data)". The x-axis spans both the data and the curves.
///
/// # Errors
/// [`Error::Shape`] when an `x` and its `y` differ in length, [`Error::Empty`] for no
/// data points or an empty curve, [`Error::NonFinite`] for a NaN or infinite coordinate,
/// and [`Error::Io`] when the file cannot be drawn or written.
///
/// A value beyond ±1.1·10³⁰⁷ is an [`Error::InvalidParameter`]: an axis padded around it
/// would overflow.
pub fn fits_1d(
    path: impl AsRef<Path>,
    title: &str,
    points: (&[f64], &[f64]),
    curves: &[(&str, &[f64], &[f64])],
) -> Result<()> {
    let (px, py) = points;
    check_xy("fits_1d data", px, py)?;
    for (label, cx, cy) in curves {
        check_xy(&format!("fits_1d curve `{label}`"), cx, cy)?;
    }
    let (ylo, yhi) = min_max(py.iter().copied());
    let (ylo, yhi) = linear_range(ylo, yhi, 0.25);
    let (xlo, xhi) = min_max(
        px.iter()
            .chain(curves.iter().flat_map(|(_, cx, _)| cx.iter()))
            .copied(),
    );
    let (xlo, xhi) = linear_range(xlo, xhi, 0.02);
    let clipped = curves
        .iter()
        .flat_map(|(_, _, cy)| cy.iter())
        .any(|&y| y < ylo || y > yhi);
    let full_title = if clipped {
        format!("{title} (y-axis clipped to data)")
    } else {
        title.to_string()
    };
    let runs: Vec<Vec<Vec<(f64, f64)>>> = curves
        .iter()
        .map(|(_, cx, cy)| clip_polyline(cx, cy, ylo, yhi))
        .collect();
    let corner = emptiest_corner(
        px.iter()
            .zip(py)
            .map(|(&x, &y)| (x, y))
            .chain(runs.iter().flatten().flatten().copied())
            .map(|(x, y)| ((x - xlo) / (xhi - xlo), (y - ylo) / (yhi - ylo))),
    );

    render(path.as_ref(), |root| {
        let x = RangedCoordf64::from(xlo..xhi);
        let y = RangedCoordf64::from(ylo..yhi);
        let mut c = chart(root, &full_title, x, y, "x", "y")?;
        let grey = RGBColor(50, 50, 50);
        c.draw_series(
            px.iter()
                .zip(py)
                .map(|(&x, &y)| Circle::new((x, y), 3, grey.mix(0.6).filled())),
        )
        .map_err(de)?
        .label("data")
        .legend(move |(x, y)| Circle::new((x + 10, y), 3, grey.mix(0.6).filled()));
        for (i, ((label, _, _), pieces)) in curves.iter().zip(&runs).enumerate() {
            let col = colour(i);
            c.draw_series(
                pieces
                    .iter()
                    .map(|p| PathElement::new(p.clone(), col.stroke_width(2))),
            )
            .map_err(de)?
            .label(*label)
            .legend(line_legend(col));
        }
        legend(&mut c, corner)
    })
}

/// Cuts a polyline to the band `lo ≤ y ≤ hi`, returning the visible pieces.
fn clip_polyline(xs: &[f64], ys: &[f64], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    if xs.len() == 1 {
        if (lo..=hi).contains(&ys[0]) {
            runs.push(vec![(xs[0], ys[0])]);
        }
        return runs;
    }
    for k in 1..xs.len() {
        match clip_segment((xs[k - 1], ys[k - 1]), (xs[k], ys[k]), lo, hi) {
            Some((p, q)) => {
                if cur.last() != Some(&p) {
                    if !cur.is_empty() {
                        runs.push(std::mem::take(&mut cur));
                    }
                    cur.push(p);
                }
                cur.push(q);
            }
            None => {
                if !cur.is_empty() {
                    runs.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// The part of segment `a`–`b` inside `lo ≤ y ≤ hi`, if any.
fn clip_segment(
    (x0, y0): (f64, f64),
    (x1, y1): (f64, f64),
    lo: f64,
    hi: f64,
) -> Option<((f64, f64), (f64, f64))> {
    let dy = y1 - y0;
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    if dy == 0.0 {
        if y0 < lo || y0 > hi {
            return None;
        }
    } else {
        let (ta, tb) = ((lo - y0) / dy, (hi - y0) / dy);
        t0 = t0.max(ta.min(tb));
        t1 = t1.min(ta.max(tb));
        if t0 > t1 {
            return None;
        }
    }
    let at = |t: f64| {
        if t == 0.0 {
            (x0, y0)
        } else if t == 1.0 {
            (x1, y1)
        } else {
            (x0 + t * (x1 - x0), (y0 + t * dy).clamp(lo, hi))
        }
    };
    Some((at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_format() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(2.0), "2");
        assert_eq!(fmt_tick(1e-5), "1e-5");
        assert_eq!(fmt_tick(2.5e6), "2.5e6");
    }

    #[test]
    fn segment_clipping() {
        // Fully inside.
        assert_eq!(
            clip_segment((0.0, 0.0), (1.0, 1.0), -1.0, 2.0),
            Some(((0.0, 0.0), (1.0, 1.0)))
        );
        // Fully above.
        assert_eq!(clip_segment((0.0, 5.0), (1.0, 6.0), -1.0, 2.0), None);
        // Crossing the top at t = 0.5.
        assert_eq!(
            clip_segment((0.0, 0.0), (2.0, 4.0), -1.0, 2.0),
            Some(((0.0, 0.0), (1.0, 2.0)))
        );
        // A polyline that leaves and comes back splits in two pieces.
        let runs = clip_polyline(&[0.0, 1.0, 2.0, 3.0], &[0.0, 10.0, 10.0, 0.0], -1.0, 1.0);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], vec![(0.0, 0.0), (0.1, 1.0)]);
        assert_eq!(runs[1], vec![(2.9, 1.0), (3.0, 0.0)]);
    }

    #[test]
    fn log_floor_is_a_decade_below_smallest_positive() {
        assert_eq!(log_floor([0.0, 1e-3, 2.0].into_iter()), 1e-4);
        assert_eq!(log_floor([0.0, -1.0].into_iter()), LOG_FLOOR);
        assert_eq!(log_floor([1e-20].into_iter()), LOG_FLOOR);
    }
}
