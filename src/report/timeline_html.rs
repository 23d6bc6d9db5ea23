//! Self-contained HTML pages with timelines: one lane per process, operations as bars from
//! invocation to completion, fault windows shaded across every lane. No external assets: the
//! CSS and the little zoom-and-pan script are inline and the timeline is inline SVG, with native
//! tooltips (`<title>`), so the file can be attached to a CI run and opened anywhere.
//!
//! The types are generic (lanes, bars, aggregated blocks, shaded windows) so the same renderer
//! serves `faultline check --html` (the failing key of a history) and run reports (every
//! process of a run, with faults).

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

/// A timeline: lanes, the bars drawn in them, aggregated blocks and shaded windows.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Lane labels, top to bottom ("process 3", "nemesis").
    pub lanes: Vec<String>,
    /// The operations drawn one by one.
    pub bars: Vec<Bar>,
    /// Operations drawn in aggregate (several operations of a lane in one block).
    pub blocks: Vec<Block>,
    /// Windows shaded across every lane (faults).
    pub shades: Vec<Shade>,
    /// What `start` and `end` measure.
    pub axis: Axis,
    /// A note under the timeline (e.g. "showing 400 of 1,000 operations").
    pub note: Option<String>,
}

impl Timeline {
    /// An empty timeline with these lanes.
    pub fn new(lanes: Vec<String>, axis: Axis) -> Timeline {
        Timeline {
            lanes,
            bars: Vec::new(),
            blocks: Vec::new(),
            shades: Vec::new(),
            axis,
            note: None,
        }
    }
}

/// How an operation ended, which sets the bar's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

impl BarKind {
    fn class(self) -> &'static str {
        match self {
            BarKind::Ok => "ok",
            BarKind::Fail => "fail",
            BarKind::Info => "info",
            BarKind::Fault => "fault",
        }
    }
}

/// How a bar is singled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Emphasis {
    /// Drawn normally.
    #[default]
    Normal,
    /// The operation the explanation is about (e.g. the one that cannot be linearized).
    Culprit,
    /// Related to the culprit (e.g. concurrent with it, or another transaction of the cycle).
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
    /// An element id, so links can point at the bar (`#op-12`); unique within the page.
    pub id: Option<String>,
}

/// Several operations of one lane drawn as one block (for histories too large to draw each).
#[derive(Debug, Clone)]
pub struct Block {
    /// Index into `Timeline::lanes`.
    pub lane: usize,
    /// Start of the block's time slice, on the axis.
    pub start: u64,
    /// End of the block's time slice, on the axis.
    pub end: u64,
    /// Colour: the worst outcome among the operations in it (info over fail over ok).
    pub kind: BarKind,
    /// What the block holds, shown on hover.
    pub tooltip: String,
}

/// A window shaded across every lane, such as a network partition.
#[derive(Debug, Clone)]
pub struct Shade {
    /// Start, on the axis.
    pub start: u64,
    /// End, on the axis; `None` if it never ended (shaded to the right edge).
    pub end: Option<u64>,
    /// Short text at the top of the window ("partition-leader n1").
    pub label: String,
    /// Longer text shown on hover.
    pub tooltip: String,
    /// A stretch without successful operations (a thin band under the lanes), not a fault.
    pub stall: bool,
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
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 20px 0 6px; }
.intro { color: #444; } ol.steps li { margin: 4px 0; } .note { color: #666; font-size: 12px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 18px; height: 10px; margin-right: 4px; vertical-align: middle; border: 1px solid #555; }
svg { background: #fafafa; border: 1px solid #ddd; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; }
svg.timeline { cursor: grab; user-select: none; } svg.timeline.dragging { cursor: grabbing; }
.zoombar { font-size: 12px; color: #555; margin: 4px 0; } .zoombar button { font-size: 12px; margin-right: 4px; }
.lane-label { fill: #333; } .lane-line { stroke: #e4e4e4; } .tick { stroke: #ccc; } .tick-label { fill: #777; font-size: 10px; }
.bar { stroke: #555; stroke-width: 0.6; } .ok { fill: #9fd7a5; } .fail { fill: #f4b4b4; }
.info { fill: #f7dc8c; } .fault { fill: #b9c4f2; } .block { stroke: none; opacity: 0.75; }
.shade rect { fill: #8a63d2; opacity: 0.13; } .shade text { fill: #5b3aa0; font-size: 10px; } .stall rect { fill: #d9480f; opacity: 0.7; }
.bar.dim { opacity: 0.45; } .bar.culprit { stroke: #d0021b; stroke-width: 3; opacity: 1; }
.bar.related { stroke: #222; stroke-width: 1.4; stroke-dasharray: 4 2; opacity: 1; }
.culprit-label { fill: #d0021b; font-weight: 600; pointer-events: none; }
.bar-label { fill: #111; pointer-events: none; } .order { fill: #0b57d0; font-size: 9px; font-weight: 600; pointer-events: none; }
g.flash rect { stroke: #0b57d0 !important; stroke-width: 4 !important; animation: flash 0.6s ease-in-out 4; }
@keyframes flash { 50% { stroke-opacity: 0.15; } }
"#;

/// The page's zoom, pan and link-to-operation behaviour.
const SCRIPT: &str = include_str!("timeline.js");

/// The start of an HTML document: head with the shared style, then `<body>`.
pub fn document_start(title: &str, extra_style: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}{extra_style}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// The end of an HTML document: the inline script, then the closing tags.
pub fn document_end() -> String {
    format!("<script>\n{SCRIPT}</script>\n</body>\n</html>\n")
}

/// Renders a complete HTML document.
pub fn render_page(page: &Page) -> String {
    let mut out = document_start(&page.title, "");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&page.title));
    for line in &page.intro {
        let _ = writeln!(out, "<p class=\"intro\">{}</p>", escape(line));
    }
    for section in &page.sections {
        out.push_str(&render_section(section));
    }
    out.push_str(&document_end());
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
const TOP: f64 = 36.0;
const LANE: f64 = 24.0;
const BAR: f64 = 14.0;

fn legend(t: &Timeline) -> String {
    let mut items = vec![
        "<span><i style=\"background:#9fd7a5\"></i>ok</span>".to_string(),
        "<span><i style=\"background:#f4b4b4\"></i>fail</span>".to_string(),
        "<span><i style=\"background:#f7dc8c\"></i>info (outcome unknown)</span>".to_string(),
    ];
    let has = |e: Emphasis| t.bars.iter().any(|b| b.emphasis == e);
    if has(Emphasis::Culprit) {
        items.push("<span><i style=\"background:#fff;border:3px solid #d0021b\"></i>culprit</span>".into());
    }
    if has(Emphasis::Related) {
        items.push(
            "<span><i style=\"background:#fff;border:1.5px dashed #222\"></i>involved / concurrent</span>"
                .into(),
        );
    }
    if t.bars.iter().any(|b| b.order.is_some()) {
        items.push("<span><b style=\"color:#0b57d0\">#n</b> position in the longest linearization</span><span>faded: not in it</span>".into());
    }
    if !t.blocks.is_empty() {
        items.push("<span><i style=\"background:linear-gradient(90deg,#9fd7a5 50%,#f4b4b4 50%);border:none\"></i>block: several operations, coloured by the worst outcome in it</span>".into());
    }
    if t.shades.iter().any(|s| !s.stall) {
        items.push(
            "<span><i style=\"background:rgba(138,99,210,.25);border:none\"></i>fault window</span>".into(),
        );
    }
    if t.shades.iter().any(|s| s.stall) {
        items.push(
            "<span><i style=\"background:#d9480f;border:none;height:4px\"></i>longest stretch without a successful read / write</span>".into(),
        );
    }
    format!("<p class=\"legend\">{}</p>\n", items.concat())
}

/// Renders a timeline as a legend, zoom controls, and an inline SVG.
pub fn render_timeline(t: &Timeline) -> String {
    let mut out = legend(t);
    out.push_str(
        "<div class=\"zoombar\"><button type=\"button\" data-zoom=\"in\">zoom in</button>\
         <button type=\"button\" data-zoom=\"out\">zoom out</button>\
         <button type=\"button\" data-zoom=\"reset\">reset</button> \
         drag to pan; Ctrl+wheel or double-click to zoom (Shift+double-click zooms out)</div>\n",
    );
    let ends = t.bars.iter().map(|b| b.end.unwrap_or(b.start).max(b.start));
    let lo = (t.bars.iter().map(|b| b.start))
        .chain(t.blocks.iter().map(|b| b.start))
        .chain(t.shades.iter().map(|s| s.start))
        .min()
        .unwrap_or(0);
    let hi = ends
        .chain(t.blocks.iter().map(|b| b.end))
        .chain(t.shades.iter().map(|s| s.end.unwrap_or(s.start)))
        .max()
        .unwrap_or(1)
        .max(lo + 1);
    let plot = WIDTH - LEFT - RIGHT;
    // Open-ended bars run a little past the last event.
    let span = (hi - lo) as f64 * 1.03;
    let x = |v: u64| LEFT + (v.saturating_sub(lo)) as f64 / span * plot;
    let height = TOP + LANE * t.lanes.len() as f64 + 8.0;
    let axis = match t.axis {
        Axis::Nanoseconds => "ns",
        Axis::Events => "events",
    };
    let _ = writeln!(
        out,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" data-left=\"{LEFT}\" data-plot=\"{plot}\" data-lo=\"{lo}\" data-span=\"{span}\" data-axis=\"{axis}\">"
    );
    out.push_str("<g class=\"ticks\">");
    for i in 0..=5 {
        let v = lo + ((hi - lo) as f64 * i as f64 / 5.0) as u64;
        let xv = x(v);
        let label = match t.axis {
            Axis::Nanoseconds => format_ns(v),
            Axis::Events => format!("event {v}"),
        };
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{xv:.1}\" y1=\"{}\" x2=\"{xv:.1}\" y2=\"{height}\"/><text class=\"tick-label\" x=\"{xv:.1}\" y=\"12\" text-anchor=\"middle\">{}</text>",
            TOP - 20.0,
            escape(&label)
        );
    }
    out.push_str("</g>\n");
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
    // A nested viewport clips what zooming pushes past the plot area.
    let _ = writeln!(
        out,
        "<svg class=\"plot-area\" x=\"{LEFT}\" y=\"0\" width=\"{plot}\" height=\"{height}\" viewBox=\"{LEFT} 0 {plot} {height}\">"
    );
    for s in t.shades.iter().filter(|s| s.stall) {
        let x0 = x(s.start);
        let x1 = s.end.map_or(WIDTH - RIGHT, x).max(x0 + 2.0);
        let _ = writeln!(
            out,
            "<g class=\"stall\"><title>{}</title><rect data-x0=\"{x0:.2}\" data-x1=\"{x1:.2}\" data-min=\"2\" x=\"{x0:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"5\"/></g>",
            escape(&s.tooltip),
            height - 7.0,
            x1 - x0,
        );
    }
    for s in t.shades.iter().filter(|s| !s.stall) {
        let x0 = x(s.start);
        let x1 = s.end.map_or(WIDTH - RIGHT, x).max(x0 + 2.0);
        let _ = writeln!(
            out,
            "<g class=\"shade\"><title>{}</title><rect data-x0=\"{x0:.2}\" data-x1=\"{x1:.2}\" data-min=\"2\" x=\"{x0:.2}\" y=\"{}\" width=\"{:.2}\" height=\"{}\"/>{}</g>",
            escape(&s.tooltip),
            TOP - 18.0,
            x1 - x0,
            height - TOP + 18.0,
            fitted_text(&s.label, "", x0, 3.0, TOP - 8.0, x1 - x0)
        );
    }
    for b in &t.blocks {
        let (x0, x1) = (x(b.start), x(b.end.max(b.start)).max(x(b.start) + 1.0));
        let y = TOP + LANE * b.lane as f64 + (LANE - BAR) / 2.0;
        let _ = writeln!(
            out,
            "<rect class=\"block {}\" data-x0=\"{x0:.2}\" data-x1=\"{x1:.2}\" data-min=\"1\" x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{BAR}\"><title>{}</title></rect>",
            b.kind.class(),
            x1 - x0,
            escape(&b.tooltip)
        );
    }
    let highlighted_order = t.bars.iter().any(|b| b.order.is_some());
    for b in &t.bars {
        out.push_str(&render_bar(b, &x, highlighted_order));
    }
    out.push_str("</svg>\n</svg>\n");
    if let Some(note) = &t.note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out
}

/// Text at `x + dx` that the script hides when its box (`box_width` at the current zoom) is too
/// narrow for it (about 6.5 px per character).
fn fitted_text(text: &str, class: &str, x: f64, dx: f64, y: f64, box_width: f64) -> String {
    let need = 6.5 * text.chars().count() as f64 + 4.0;
    let hidden = if box_width > need {
        ""
    } else {
        " style=\"display:none\""
    };
    format!(
        "<text class=\"{class}\" data-x=\"{x:.2}\" data-dx=\"{dx}\" data-fit=\"{need:.0}\" data-bw=\"{box_width:.2}\" x=\"{:.2}\" y=\"{y:.1}\"{hidden}>{}</text>",
        x + dx,
        escape(text)
    )
}

fn render_bar(b: &Bar, x: &dyn Fn(u64) -> f64, highlighted_order: bool) -> String {
    let mut out = String::new();
    let x0 = x(b.start);
    let x1 = match b.end {
        Some(e) => x(e.max(b.start)),
        None => WIDTH - RIGHT,
    }
    .max(x0 + 3.0);
    let y = TOP + LANE * b.lane as f64 + (LANE - BAR) / 2.0;
    let mut class = format!("bar {}", b.kind.class());
    match b.emphasis {
        Emphasis::Culprit => class.push_str(" culprit"),
        Emphasis::Related => class.push_str(" related"),
        Emphasis::Normal if highlighted_order && b.order.is_none() => class.push_str(" dim"),
        Emphasis::Normal => {}
    }
    let id =
        b.id.as_ref()
            .map(|id| format!(" id=\"{}\"", escape(id)))
            .unwrap_or_default();
    let _ = write!(
        out,
        "<g{id}><title>{}</title><rect class=\"{class}\" x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{BAR}\" rx=\"2\" data-x0=\"{x0:.2}\" data-x1=\"{x1:.2}\" data-min=\"3\"/>",
        escape(&b.tooltip),
        x1 - x0
    );
    out.push_str(&fitted_text(
        &b.label,
        "bar-label",
        x0,
        3.0,
        y + BAR - 3.5,
        x1 - x0,
    ));
    if b.emphasis == Emphasis::Culprit {
        // To the right of the bar, or to its left when it ends near the edge.
        let (lx, dx, anchor) = if x1 + 50.0 < WIDTH {
            (x1, 3.0, "start")
        } else {
            (x0, -3.0, "end")
        };
        let _ = write!(
            out,
            "<text class=\"culprit-label\" data-x=\"{lx:.2}\" data-dx=\"{dx}\" x=\"{:.2}\" y=\"{:.1}\" text-anchor=\"{anchor}\">culprit</text>",
            lx + dx,
            y + BAR - 3.5
        );
    }
    if let Some(n) = b.order {
        let _ = write!(
            out,
            "<text class=\"order\" data-x=\"{x0:.2}\" data-dx=\"0\" x=\"{x0:.2}\" y=\"{:.1}\">#{n}</text>",
            y - 1.0
        );
    }
    out.push_str("</g>\n");
    out
}

/// A time in nanoseconds as text with a fitting unit ("1.204 s", "3.20 ms", "15.0 µs").
pub fn format_ns(ns: u64) -> String {
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
            id: None,
        }
    }

    #[test]
    fn renders_a_self_contained_escaped_page() {
        let mut t = Timeline::new(vec!["process 0".into(), "process 1".into()], Axis::Nanoseconds);
        t.bars = vec![
            bar(0, 0, Some(5_000_000_000), Emphasis::Normal, Some(1)),
            bar(1, 1_000, None, Emphasis::Culprit, None),
            bar(1, 0, Some(10), Emphasis::Related, None),
        ];
        t.note = Some("showing 3 of 3".into());
        let page = Page {
            title: "Key <k1> fails".into(),
            intro: vec!["one file".into()],
            sections: vec![Section {
                heading: "k1".into(),
                paragraphs: vec!["a < b".into()],
                steps: vec!["first".into(), "second".into()],
                timeline: Some(t),
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
        assert!(html.contains("<script>") && html.contains("data-zoom=\"in\""));
        assert!(!html.contains("src=\"http"), "no external assets");
        assert!(!html.contains("href=\"http"), "no external assets");
        assert_eq!(html.matches("<rect").count(), 3);
    }

    #[test]
    fn shades_blocks_and_ids_are_drawn() {
        let mut t = Timeline::new(vec!["process 0".into()], Axis::Nanoseconds);
        let mut b = bar(0, 10, Some(20), Emphasis::Normal, None);
        b.id = Some("op-7".into());
        t.bars.push(b);
        t.blocks.push(Block {
            lane: 0,
            start: 30,
            end: 40,
            kind: BarKind::Fail,
            tooltip: "3 operations".into(),
        });
        t.shades.push(Shade {
            start: 5,
            end: None,
            label: "partition".into(),
            tooltip: "cut n1 | n2 n3".into(),
            stall: false,
        });
        let svg = render_timeline(&t);
        assert!(svg.contains("<g id=\"op-7\">"));
        assert!(svg.contains("class=\"block fail\""));
        assert!(svg.contains("<g class=\"shade\"><title>cut n1 | n2 n3</title>"));
        assert!(svg.contains("fault window") && svg.contains("worst outcome"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn empty_timeline_does_not_divide_by_zero() {
        let t = Timeline::new(vec![], Axis::Events);
        let svg = render_timeline(&t);
        assert!(svg.contains("<svg") && !svg.contains("NaN"));
    }
}
