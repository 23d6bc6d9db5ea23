//! Plots for the report, as SVG drawn by plotters: latency over time for each operation type
//! (a point per operation, coloured by outcome, and p50 / p95 / p99 lines over time slices),
//! and throughput over time by outcome; fault windows shaded in both.
//!
//! Text: plotters' `ab_glyph` feature measures labels with a font registered at run time (the
//! DejaVu Sans file in `assets/fonts`, compiled in); the SVG names the `sans-serif` family and
//! the browser draws it. Without a registered font plotters drops every label silently, so
//! [`register_font`] fails loudly instead, and tests look for the labels in the SVG.

use super::faults::FaultSpan;
use super::history_view::HistoryView;
use super::run_timeline::thousands;
use super::timeline_html::Axis;
use faultline_checkers::history::Outcome;
use plotters::prelude::*;
use std::sync::OnceLock;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family name the charts ask for and the SVG names.
const FAMILY: &str = "sans-serif";
/// At most this many points are drawn per latency chart.
pub const MAX_POINTS: usize = 3_000;
const SIZE: (u32, u32) = (1100, 330);

const OK: RGBColor = RGBColor(46, 158, 68);
const FAIL: RGBColor = RGBColor(212, 60, 60);
const INFO: RGBColor = RGBColor(214, 160, 0);
const P50: RGBColor = RGBColor(11, 87, 208);
const P95: RGBColor = RGBColor(230, 120, 20);
const P99: RGBColor = RGBColor(120, 40, 160);
const SHADE: RGBAColor = RGBAColor(138, 99, 210, 0.15);

/// Registers the embedded font with plotters (once per process).
pub fn register_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    anyhow::ensure!(ok, "the embedded plot font could not be loaded");
    Ok(())
}

/// One chart: its SVG and a note on what it leaves out.
pub struct Plot {
    /// A heading for the page.
    pub title: String,
    /// The `<svg>` element.
    pub svg: String,
    /// What was sampled or left out, if anything.
    pub note: Option<String>,
}

/// A completed operation as a sample: seconds since the start, latency in ms, outcome.
#[derive(Clone, Copy)]
struct Sample {
    at_s: f64,
    done_s: f64,
    latency_ms: f64,
    outcome: Outcome,
}

/// The plots of a history: one latency chart per operation type (in order of first use), then
/// throughput. Histories without times get none.
pub fn plots(view: &HistoryView, faults: &[FaultSpan]) -> anyhow::Result<Vec<Plot>> {
    if view.axis != Axis::Nanoseconds || view.spans.is_empty() {
        return Ok(Vec::new());
    }
    register_font()?;
    let mut by_f: Vec<(String, Vec<Sample>)> = Vec::new();
    for s in &view.spans {
        let op = &view.history.ops[s.op];
        let Some(end) = s.end else { continue };
        let sample = Sample {
            at_s: s.start as f64 / 1e9,
            done_s: end as f64 / 1e9,
            latency_ms: end.saturating_sub(s.start) as f64 / 1e6,
            outcome: op.outcome,
        };
        match by_f.iter_mut().find(|(f, _)| *f == op.f) {
            Some((_, v)) => v.push(sample),
            None => by_f.push((op.f.clone(), vec![sample])),
        }
    }
    let end_s = view.end as f64 / 1e9;
    let windows: Vec<(f64, f64)> = faults
        .iter()
        .map(|f| (f.start as f64 / 1e9, f.end.unwrap_or(view.end) as f64 / 1e9))
        .collect();
    let slice = slice_width(end_s);
    let mut out = Vec::new();
    for (f, samples) in &by_f {
        out.push(latency_plot(f, samples, end_s, slice, &windows)?);
    }
    let all: Vec<Sample> = by_f.into_iter().flat_map(|(_, s)| s).collect();
    out.push(throughput_plot(&all, end_s, slice, &windows)?);
    Ok(out)
}

/// A round slice width giving about 80 slices over the run.
fn slice_width(end_s: f64) -> f64 {
    const NICE: [f64; 16] = [
        0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0,
    ];
    let want = end_s / 80.0;
    NICE.iter().copied().find(|&w| w >= want).unwrap_or(600.0)
}

/// The `q` quantile (nearest rank) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// p50, p95 and p99 of latency per time slice (by invocation), at slice midpoints.
fn quantile_lines(samples: &[Sample], slice: f64) -> [Vec<(f64, f64)>; 3] {
    let mut slices: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for s in samples {
        slices
            .entry((s.at_s / slice) as u64)
            .or_default()
            .push(s.latency_ms);
    }
    let mut lines: [Vec<(f64, f64)>; 3] = Default::default();
    for (i, mut v) in slices {
        v.sort_by(f64::total_cmp);
        let x = (i as f64 + 0.5) * slice;
        for (line, q) in lines.iter_mut().zip([0.5, 0.95, 0.99]) {
            line.push((x, quantile(&v, q)));
        }
    }
    lines
}

/// At most [`MAX_POINTS`] samples: every fail and info one first (they are rare and telling),
/// then every k-th ok one.
fn sample_points(samples: &[Sample]) -> (Vec<Sample>, Option<String>) {
    if samples.len() <= MAX_POINTS {
        return (samples.to_vec(), None);
    }
    let mut points: Vec<Sample> = samples
        .iter()
        .filter(|s| s.outcome != Outcome::Ok)
        .copied()
        .collect();
    points.truncate(MAX_POINTS / 2);
    let not_ok = points.len();
    let oks = samples.iter().filter(|s| s.outcome == Outcome::Ok).count();
    let stride = oks.div_ceil(MAX_POINTS - points.len()).max(1);
    points.extend(
        samples
            .iter()
            .filter(|s| s.outcome == Outcome::Ok)
            .step_by(stride)
            .copied(),
    );
    let note = format!(
        "Points: {} of {} operations drawn (the first {} fail/info ones, then every {}th ok one); the quantile lines use all {}.",
        thousands(points.len()),
        thousands(samples.len()),
        thousands(not_ok),
        stride,
        thousands(samples.len())
    );
    (points, Some(note))
}

/// An axis tick as a person writes it: about four significant digits, no trailing zeros, so
/// floating-point noise (`0.30000000000000004`) never shows.
fn tick_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {e:?}")
}

fn latency_plot(
    f: &str,
    samples: &[Sample],
    end_s: f64,
    slice: f64,
    windows: &[(f64, f64)],
) -> anyhow::Result<Plot> {
    let title = format!("latency of {f} operations");
    let (points, note) = sample_points(samples);
    let lines = quantile_lines(samples, slice);
    let min = samples.iter().map(|s| s.latency_ms).fold(f64::INFINITY, f64::min);
    let max = samples.iter().map(|s| s.latency_ms).fold(0.0, f64::max);
    let y0 = (min / 1.5).max(1e-3);
    let y1 = (max * 1.5).max(y0 * 10.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, (FAMILY, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..end_s.max(1e-3), (y0..y1).log_scale())
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc("time since the run began (s)")
            .y_desc("latency (ms, log scale)")
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style(RGBColor(238, 238, 238))
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw()
            .map_err(drawing_error)?;
        shade_faults(&mut chart, windows, y0, y1)?;
        for (name, outcome, colour) in [
            ("ok", Outcome::Ok, OK),
            ("fail", Outcome::Fail, FAIL),
            ("info", Outcome::Info, INFO),
        ] {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|s| s.outcome == outcome)
                .map(|s| (s.at_s, s.latency_ms.max(y0)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 2, colour.mix(0.55).filled())))
                .map_err(drawing_error)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, colour.filled()));
        }
        for (line, (name, colour)) in lines.iter().zip([("p50", P50), ("p95", P95), ("p99", P99)]) {
            chart
                .draw_series(LineSeries::new(
                    line.iter().map(|&(x, y)| (x, y.max(y0))),
                    colour.stroke_width(2),
                ))
                .map_err(drawing_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        legend(&mut chart)?;
        root.present().map_err(drawing_error)?;
    }
    Ok(Plot { title, svg, note })
}

fn throughput_plot(
    samples: &[Sample],
    end_s: f64,
    slice: f64,
    windows: &[(f64, f64)],
) -> anyhow::Result<Plot> {
    let title = "throughput by outcome".to_string();
    let slices = (end_s / slice).ceil().max(1.0) as usize;
    let mut counts = vec![[0usize; 3]; slices + 1];
    for s in samples {
        let i = ((s.done_s / slice) as usize).min(slices);
        counts[i][match s.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        }] += 1;
    }
    let rate = |c: usize| c as f64 / slice;
    let y1 = counts.iter().flatten().map(|&c| rate(c)).fold(1.0, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, (FAMILY, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..end_s.max(1e-3), 0.0..y1)
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc("time since the run began (s)")
            .y_desc("operations completed per second")
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style(RGBColor(238, 238, 238))
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw()
            .map_err(drawing_error)?;
        shade_faults(&mut chart, windows, 0.0, y1)?;
        for (k, (name, colour)) in [("ok", OK), ("fail", FAIL), ("info", INFO)]
            .into_iter()
            .enumerate()
        {
            if counts.iter().all(|c| c[k] == 0) {
                continue;
            }
            let line = counts
                .iter()
                .enumerate()
                .map(|(i, c)| ((i as f64 + 0.5) * slice, rate(c[k])));
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                .map_err(drawing_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        legend(&mut chart)?;
        root.present().map_err(drawing_error)?;
    }
    let note = Some(format!(
        "Completions per {} s slice, divided by the slice width.",
        slice
    ));
    Ok(Plot { title, svg, note })
}

type Chart<'a, 'b, Y> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

fn shade_faults<Y>(
    chart: &mut Chart<'_, '_, Y>,
    windows: &[(f64, f64)],
    y0: f64,
    y1: f64,
) -> anyhow::Result<()>
where
    Y: Ranged<ValueType = f64>,
{
    if windows.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(
            windows
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, y0), (b.max(a), y1)], SHADE.filled())),
        )
        .map_err(drawing_error)?
        .label("fault window")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], SHADE.filled()));
    Ok(())
}

fn legend<'a, 'b: 'a, Y>(chart: &mut Chart<'a, 'b, Y>) -> anyhow::Result<()>
where
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(drawing_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::{Format, History};
    use std::fmt::Write as _;

    fn history(n: usize) -> History {
        let mut text = String::new();
        for i in 0..n {
            let (f, outcome) = match i % 10 {
                0 => ("write", "fail"),
                1 => ("read", "info"),
                2..=5 => ("write", "ok"),
                _ => ("read", "ok"),
            };
            let t = i as u64 * 2_000_000;
            let _ = writeln!(
                text,
                "{{\"index\":{},\"time\":{t},\"process\":{i},\"type\":\"invoke\",\"f\":\"{f}\",\"value\":null}}\n{{\"index\":{},\"time\":{},\"process\":{i},\"type\":\"{outcome}\",\"f\":\"{f}\",\"value\":null}}",
                2 * i,
                2 * i + 1,
                t + 300_000 + (i as u64 % 7) * 100_000
            );
        }
        History::parse("gen", &text, Format::Jsonl).unwrap()
    }

    /// plotters writes each text on its own line inside `<text>`.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    #[test]
    fn plots_carry_their_titles_axis_labels_and_legends_as_text() {
        let h = history(500);
        let view = HistoryView::new(&h);
        let faults = vec![FaultSpan {
            f: "kill".into(),
            label: "kill n1".into(),
            start: 100_000_000,
            end: Some(300_000_000),
            detail: serde_json::Value::Null,
        }];
        let plots = plots(&view, &faults).unwrap();
        let titles: Vec<&str> = plots.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "latency of write operations",
                "latency of read operations",
                "throughput by outcome"
            ]
        );
        for p in &plots {
            assert!(p.svg.starts_with("<svg"), "{}", &p.svg[..80]);
            assert!(has_text(&p.svg, &p.title), "title text in {}", p.title);
            assert!(has_text(&p.svg, "time since the run began (s)"), "x axis label");
            assert!(has_text(&p.svg, "fault window"), "legend");
            assert!(p.svg.contains("<rect"), "shaded window");
        }
        assert!(has_text(&plots[0].svg, "latency (ms, log scale)"));
        for q in ["p50", "p95", "p99", "ok", "fail"] {
            assert!(has_text(&plots[0].svg, q), "{q}");
        }
        assert!(has_text(&plots[2].svg, "operations completed per second"));
        assert!(has_text(&plots[2].svg, "info"));
        assert!(plots[0].svg.contains("<circle"));
    }

    #[test]
    fn large_histories_sample_points_and_say_so() {
        let h = history(20_000);
        let view = HistoryView::new(&h);
        let plots = plots(&view, &[]).unwrap();
        let note = plots[0].note.as_deref().unwrap();
        assert!(
            note.contains("of 10,000 operations drawn") && note.contains("quantile lines use all"),
            "{note}"
        );
        assert!(plots[0].svg.matches("<circle").count() <= MAX_POINTS + 10);
    }

    #[test]
    fn ticks_print_without_floating_point_noise() {
        assert_eq!(tick_label(0.1 + 0.2), "0.3");
        assert_eq!(tick_label(0.001), "0.001");
        assert_eq!(tick_label(12.5), "12.5");
        assert_eq!(tick_label(1000.0), "1000");
        assert_eq!(tick_label(3.0), "3");
        let h = history(500);
        let plots = plots(&HistoryView::new(&h), &[]).unwrap();
        for p in &plots {
            assert!(
                !p.svg.contains("0000000"),
                "a tick with float noise in {}",
                p.title
            );
        }
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&[3.0], 0.95), 3.0);
    }
}
