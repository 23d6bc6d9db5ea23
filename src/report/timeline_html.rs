//! Self-contained HTML pages with timelines: one lane per process, operations as bars from
//! invocation to completion. No external assets: the CSS is inline and the timeline is inline
//! SVG, with native tooltips (`<title>`), so the file can be attached to a CI run and opened
//! anywhere.
//!
//! The types are generic (lanes, bars, marks) so the same renderer serves `faultline check
//! --html` (the failing key of a history) and full run reports (client and nemesis lanes).

use std::fmt::Write as _;

/// A whole page: a title and sections, in order.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The page title.
    pub title: String,
    /// Lines shown under the title.
    pub intro: Vec<String>,
    /// The sections.
    pub sections: Vec<Section>,
}

/// One section: a heading, prose, numbered steps and an optional timeline.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// The heading.
    pub heading: String,
    /// Paragraphs before the steps.
    pub paragraphs: Vec<String>,
    /// A numbered explanation.
    pub steps: Vec<String>,
    /// The timeline, if any.
    pub timeline: Option<Timeline>,
}

/// What the horizontal axis measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Nanoseconds since the run began.
    Nanoseconds,
    /// Positions of events in the history (when it has no times).
    Events,
}

/// A timeline: lanes and the bars drawn in them.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Lane labels, top to bottom ("process 3", "nemesis").
    pub lanes: Vec<String>,
    /// The bars.
    pub bars: Vec<Bar>,
    /// What `Bar::start` and `Bar::end` measure.
    pub axis: Axis,
    /// A note under the timeline (e.g. "showing 400 of 1,000 operations").
    pub note: Option<String>,
}

/// How an operation ended, which sets the bar's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// Completed and took effect.
    Ok,
    /// Completed and did not take effect.
    Fail,
    /// Outcome unknown; the bar runs to the right edge when it has no end.
    Info,
    /// A fault or other event (nemesis).
    Fault,
}

/// How a bar is singled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Emphasis {
    /// Drawn normally.
    #[default]
    Normal,
    /// The operation the explanation is about (e.g. the one that cannot be linearized).
    Culprit,
    /// Related to the culprit (e.g. concurrent with it).
    Related,
}

/// One bar: an operation from invocation to completion.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Index into `Timeline::lanes`.
    pub lane: usize,
    /// Invocation, on the axis.
    pub start: u64,
    /// Completion, on the axis; `None` if it never completed (drawn to the right edge).
    pub end: Option<u64>,
    /// Short text drawn in the bar ("w 3", "r 4", "cas 1→2").
    pub label: String,
    /// Longer text shown on hover.
    pub tooltip: String,
    /// Colour.
    pub kind: BarKind,
    /// Outline.
    pub emphasis: Emphasis,
    /// Position in a highlighted order (e.g. the longest linearization found), 1-based.
    pub order: Option<usize>,
}

/// Escapes text for HTML and SVG.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d1d1f; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.intro { color: #444; } ol.steps li { margin: 4px 0; } .note { color: #666; font-size: 12px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 18px; height: 10px; margin-right: 4px; vertical-align: middle; border: 1px solid #555; }
svg { background: #fafafa; border: 1px solid #ddd; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; }
.lane-label { fill: #333; } .lane-line { stroke: #e4e4e4; } .tick { stroke: #ccc; } .tick-label { fill: #777; font-size: 10px; }
.bar { stroke: #555; stroke-width: 0.6; } .bar.ok { fill: #9fd7a5; } .bar.fail { fill: #f4b4b4; }
.bar.info { fill: #f7dc8c; } .bar.fault { fill: #b9c4f2; }
.bar.dim { opacity: 0.45; } .bar.culprit { stroke: #d0021b; stroke-width: 3; opacity: 1; }
.bar.related { stroke: #222; stroke-width: 1.4; stroke-dasharray: 4 2; opacity: 1; }
.culprit-label { fill: #d0021b; font-weight: 600; pointer-events: none; }
.bar-label { fill: #111; pointer-events: none; } .order { fill: #0b57d0; font-size: 9px; font-weight: 600; pointer-events: none; }
"#;

/// Renders a complete HTML document.
pub fn render_page(page: &Page) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&page.title),
        escape(&page.title)
    );
    for line in &page.intro {
        let _ = writeln!(out, "<p class=\"intro\">{}</p>", escape(line));
    }
    for section in &page.sections {
        out.push_str(&render_section(section));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Renders one section (heading, prose, steps, timeline) as an HTML fragment.
pub fn render_section(section: &Section) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(&section.heading));
    for p in &section.paragraphs {
        let _ = writeln!(out, "<p>{}</p>", escape(p));
    }
    if !section.steps.is_empty() {
        out.push_str("<ol class=\"steps\">\n");
        for s in &section.steps {
            let _ = writeln!(out, "<li>{}</li>", escape(s));
        }
        out.push_str("</ol>\n");
    }
    if let Some(t) = &section.timeline {
        out.push_str(&render_timeline(t));
    }
    out.push_str("</section>\n");
    out
}

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 26.0;
const LANE: f64 = 24.0;
const BAR: f64 = 14.0;

/// Renders a timeline as a legend plus an inline SVG.
pub fn render_timeline(t: &Timeline) -> String {
    let mut out = String::new();
    out.push_str(
        "<p class=\"legend\"><span><i style=\"background:#9fd7a5\"></i>ok</span>\
         <span><i style=\"background:#f4b4b4\"></i>fail</span>\
         <span><i style=\"background:#f7dc8c\"></i>info (outcome unknown)</span>\
         <span><i style=\"background:#fff;border:3px solid #d0021b\"></i>culprit</span>\
         <span><i style=\"background:#fff;border:1.5px dashed #222\"></i>concurrent with it</span>\
         <span><b style=\"color:#0b57d0\">#n</b> position in the longest linearization</span>\
         <span>faded: not in it</span></p>\n",
    );
    let lo = t.bars.iter().map(|b| b.start).min().unwrap_or(0);
    let hi = t
        .bars
        .iter()
        .map(|b| b.end.unwrap_or(b.start).max(b.start))
        .max()
        .unwrap_or(1)
        .max(lo + 1);
    let plot = WIDTH - LEFT - RIGHT;
    // Open-ended bars run a little past the last event.
    let span = (hi - lo) as f64 * 1.03;
    let x = |v: u64| LEFT + (v.saturating_sub(lo)) as f64 / span * plot;
    let height = TOP + LANE * t.lanes.len() as f64 + 8.0;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\">"
    );
    for i in 0..=5 {
        let v = lo + ((hi - lo) as f64 * i as f64 / 5.0) as u64;
        let xv = x(v);
        let label = match t.axis {
            Axis::Nanoseconds => format_ns(v),
            Axis::Events => format!("event {v}"),
        };
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{xv:.1}\" y1=\"{}\" x2=\"{xv:.1}\" y2=\"{height}\"/><text class=\"tick-label\" x=\"{xv:.1}\" y=\"12\" text-anchor=\"middle\">{}</text>",
            TOP - 8.0,
            escape(&label)
        );
    }
    for (i, lane) in t.lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64 + LANE / 2.0;
        let _ = writeln!(
            out,
            "<line class=\"lane-line\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/><text class=\"lane-label\" x=\"6\" y=\"{:.1}\">{}</text>",
            WIDTH - RIGHT,
            y + 4.0,
            escape(lane)
        );
    }
    let highlighted_order = t.bars.iter().any(|b| b.order.is_some());
    for b in &t.bars {
        let x0 = x(b.start);
        let x1 = match b.end {
            Some(e) => x(e.max(b.start)),
            None => WIDTH - RIGHT,
        }
        .max(x0 + 3.0);
        let y = TOP + LANE * b.lane as f64 + (LANE - BAR) / 2.0;
        let mut class = String::from(match b.kind {
            BarKind::Ok => "bar ok",
            BarKind::Fail => "bar fail",
            BarKind::Info => "bar info",
            BarKind::Fault => "bar fault",
        });
        match b.emphasis {
            Emphasis::Culprit => class.push_str(" culprit"),
            Emphasis::Related => class.push_str(" related"),
            Emphasis::Normal if highlighted_order && b.order.is_none() => class.push_str(" dim"),
            Emphasis::Normal => {}
        }
        let _ = writeln!(
            out,
            "<g><title>{}</title><rect class=\"{class}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" rx=\"2\"/>",
            escape(&b.tooltip),
            x1 - x0
        );
        // Labels only where they fit (about 6 px per character).
        if x1 - x0 > 6.5 * b.label.chars().count() as f64 + 4.0 {
            let _ = write!(
                out,
                "<text class=\"bar-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x0 + 3.0,
                y + BAR - 3.5,
                escape(&b.label)
            );
        }
        if b.emphasis == Emphasis::Culprit {
            // To the right of the bar, or to its left when it ends near the edge.
            let (lx, anchor) = if x1 + 50.0 < WIDTH {
                (x1 + 3.0, "start")
            } else {
                (x0 - 3.0, "end")
            };
            let _ = write!(
                out,
                "<text class=\"culprit-label\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">culprit</text>",
                y + BAR - 3.5
            );
        }
        if let Some(n) = b.order {
            let _ = write!(
                out,
                "<text class=\"order\" x=\"{:.1}\" y=\"{:.1}\">#{n}</text>",
                x0,
                y - 1.0
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    if let Some(note) = &t.note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out
}

fn format_ns(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.3} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(lane: usize, start: u64, end: Option<u64>, emphasis: Emphasis, order: Option<usize>) -> Bar {
        Bar {
            lane,
            start,
            end,
            label: "w <3>".into(),
            tooltip: "process \"0\" & co".into(),
            kind: if end.is_some() { BarKind::Ok } else { BarKind::Info },
            emphasis,
            order,
        }
    }

    #[test]
    fn renders_a_self_contained_escaped_page() {
        let page = Page {
            title: "Key <k1> fails".into(),
            intro: vec!["one file".into()],
            sections: vec![Section {
                heading: "k1".into(),
                paragraphs: vec!["a < b".into()],
                steps: vec!["first".into(), "second".into()],
                timeline: Some(Timeline {
                    lanes: vec!["process 0".into(), "process 1".into()],
                    bars: vec![
                        bar(0, 0, Some(5_000_000_000), Emphasis::Normal, Some(1)),
                        bar(1, 1_000, None, Emphasis::Culprit, None),
                        bar(1, 0, Some(10), Emphasis::Related, None),
                    ],
                    axis: Axis::Nanoseconds,
                    note: Some("showing 3 of 3".into()),
                }),
            }],
        };
        let html = render_page(&page);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Key &lt;k1&gt; fails</title>"));
        assert!(html.contains("<li>second</li>"));
        assert!(html.contains("class=\"bar ok\""));
        assert!(html.contains("class=\"bar info culprit\""));
        assert!(html.contains("class=\"bar ok related\""));
        assert!(html.contains(">#1</text>"));
        assert!(html.contains("w &lt;3&gt;"));
        assert!(html.contains("process &quot;0&quot; &amp; co"));
        assert!(!html.contains("src=\"http"), "no external assets");
        assert!(!html.contains("href=\"http"), "no external assets");
        assert_eq!(html.matches("<rect").count(), 3);
    }

    #[test]
    fn empty_timeline_does_not_divide_by_zero() {
        let t = Timeline {
            lanes: vec![],
            bars: vec![],
            axis: Axis::Events,
            note: None,
        };
        let svg = render_timeline(&t);
        assert!(svg.contains("<svg") && !svg.contains("NaN"));
    }
}
