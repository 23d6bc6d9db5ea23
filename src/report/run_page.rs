//! The report page: one self-contained HTML file with the run's facts (workload, seed, the
//! command to reproduce, expected and actual verdict), each checker's verdict, each anomaly
//! explained with its operations linked to the timeline, the timeline of every process with
//! the fault windows, and the plots.

use super::anomalies::{anomaly_label, involved, render_anomaly};
use super::faults::fault_windows;
use super::history_view::HistoryView;
use super::plots::plots;
use super::run_data::RunSummary;
use super::run_results_html;
use super::run_timeline::{run_timeline, thousands};
use super::timeline_html::{Emphasis, document_end, document_start, escape, render_timeline};
use faultline_checkers::history::History;
use faultline_checkers::report::{Report, Verdict};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;

/// At most this many anomalies per checker are written out in full.
pub const MAX_ANOMALIES: usize = 10;

/// What one page shows.
pub struct ReportInput<'a> {
    /// The page title.
    pub title: String,
    /// The run's results, when the page is of a run directory.
    pub run: Option<&'a RunSummary>,
    /// The checkers' reports (the run's, or of a check made for this page).
    pub reports: &'a [Report],
    /// The history.
    pub history: &'a History,
    /// Links to raw files, relative to the page (label, href).
    pub files: Vec<(String, String)>,
}

const PAGE_STYLE: &str = r#"
.banner { padding: 12px 16px; border-radius: 6px; margin-bottom: 12px; }
.banner.valid { background: #e3f4e6; border: 1px solid #7cc48a; } .banner.invalid { background: #fbe4e4; border: 1px solid #e08585; }
.banner.unknown, .banner.none { background: #fdf3d7; border: 1px solid #e0c070; }
.verdict-word { font-size: 22px; font-weight: 700; letter-spacing: .5px; }
.v-valid { color: #1e7b34; font-weight: 600; } .v-invalid { color: #b3141f; font-weight: 600; } .v-unknown { color: #9a6b00; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0; } th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
table.facts th { color: #555; font-weight: 500; white-space: nowrap; } table.ops, table.checkers { font-size: 13px; }
table.ops th, table.checkers th { border-bottom: 1px solid #ccc; } table.ops td, table.checkers td { border-bottom: 1px solid #eee; }
tr.culprit-row td { background: #fdecec; } code { background: #f2f2f2; padding: 1px 4px; border-radius: 3px; }
details.anomaly { border-left: 3px solid #e08585; padding-left: 12px; margin: 12px 0; }
details.anomaly summary { cursor: pointer; } details.anomaly summary h3 { display: inline; margin: 0; }
nav a { margin-right: 14px; } .plot svg { width: 100%; max-width: 1100px; height: auto; }
"#;

fn verdict_class(v: Option<Verdict>) -> &'static str {
    v.map_or("none", Verdict::name)
}

fn verdict_cell(v: Verdict) -> String {
    format!(
        "<span class=\"v-{0}\">{1}</span>",
        v.name(),
        v.name().to_uppercase()
    )
}

/// Renders the page.
pub fn render_report(input: &ReportInput) -> anyhow::Result<String> {
    let view = HistoryView::new(input.history);
    let faults = fault_windows(&view);
    let verdict = match input.run.and_then(|r| r.verdict) {
        Some(v) => Some(v),
        None if input.reports.is_empty() => None,
        None => Some(
            input
                .reports
                .iter()
                .fold(Verdict::Valid, |v, r| v.worst(r.verdict)),
        ),
    };
    let style = format!("{PAGE_STYLE}{}", run_results_html::STYLE);
    let mut out = document_start(&input.title, &style);
    out.push_str(&banner(&input.title, verdict, input.run));
    out.push_str(&facts(input, &view, faults.len()));
    let run_links = if input.run.is_some_and(|r| r.availability.is_some()) {
        "<a href=\"#guarantees\">Guarantees</a><a href=\"#availability\">Availability</a>"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<nav><a href=\"#checkers\">Checkers</a>{run_links}<a href=\"#anomalies\">Anomalies</a><a href=\"#timeline\">Timeline</a><a href=\"#plots\">Plots</a></nav>"
    );
    out.push_str(&checkers(input.reports));
    if let Some(run) = input.run {
        out.push_str(&run_results_html::guarantees(run));
        out.push_str(&run_results_html::availability(run));
    }

    // Anomalies first: they decide which operations the timeline must draw one by one.
    let mut emphasis: HashMap<usize, Emphasis> = HashMap::new();
    let mut focus = Vec::new();
    let mut anomaly_html = String::new();
    let mut any_shown = false;
    // The checks run for the guarantee table show their evidence too, after the verdict's.
    let guarantee_checks = input.run.map_or(&[][..], |r| &r.guarantee_checks[..]);
    let sources = input.reports.iter().map(|r| (r, "")).chain(
        guarantee_checks
            .iter()
            .map(|r| (r, " (guarantee check, not part of the verdict)")),
    );
    for (report, note) in sources {
        for (i, a) in report.anomalies.iter().take(MAX_ANOMALIES).enumerate() {
            for inv in involved(&view, a).0 {
                focus.push(inv.op);
                let e = emphasis.entry(inv.op).or_insert(inv.emphasis);
                if inv.emphasis == Emphasis::Culprit {
                    *e = Emphasis::Culprit;
                }
            }
            let key = a
                .key
                .as_ref()
                .map(|k| format!(" on key {}", super::history_view::value_text(k)))
                .unwrap_or_default();
            let heading = format!(
                "{} anomaly {}: {}{key}{note}",
                report.checker,
                i + 1,
                anomaly_label(a)
            );
            anomaly_html.push_str(&render_anomaly(&view, &faults, &heading, a, true, !any_shown));
            any_shown = true;
        }
        if report.anomalies.len() > MAX_ANOMALIES {
            let _ = writeln!(
                anomaly_html,
                "<p class=\"note\">{} more {} anomalies are not shown here (see results.json).</p>",
                report.anomalies.len() - MAX_ANOMALIES,
                escape(&report.checker)
            );
        }
    }
    out.push_str("<h2 id=\"anomalies\">Anomalies</h2>\n");
    if any_shown {
        out.push_str(
            "<p class=\"note\">The first anomaly is open; click another's heading to unfold it. Each anomaly's operations link to the run's timeline below: a click zooms the timeline to them and flashes them.</p>\n",
        );
        out.push_str(&anomaly_html);
    } else if input.reports.is_empty() {
        out.push_str("<p>No checker ran for this page.</p>\n");
    } else {
        out.push_str("<p>None: no checker found an anomaly.</p>\n");
    }
    focus.sort_unstable();
    focus.dedup();

    out.push_str("<h2 id=\"timeline\">Timeline</h2>\n");
    let mut timeline = run_timeline(&view, &faults, &emphasis, &focus);
    if let Some(run) = input.run {
        timeline
            .shades
            .extend(run_results_html::stall_marks(run, view.axis));
    }
    if view.spans.is_empty() {
        out.push_str("<p>The history has no client operations.</p>\n");
    } else {
        out.push_str(&render_timeline(&timeline));
    }

    out.push_str("<h2 id=\"plots\">Plots</h2>\n");
    let charts = plots(&view, &faults)?;
    if charts.is_empty() {
        out.push_str("<p>No plots: the history's events carry no times.</p>\n");
    }
    for p in charts {
        let _ = writeln!(
            out,
            "<div class=\"plot\" aria-label=\"{}\">\n{}</div>",
            escape(&p.title),
            p.svg
        );
        if let Some(note) = p.note {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&note));
        }
    }
    out.push_str(&document_end());
    Ok(out)
}

fn banner(title: &str, verdict: Option<Verdict>, run: Option<&RunSummary>) -> String {
    let mut out = format!(
        "<header class=\"banner {}\">\n<h1>{}</h1>\n",
        verdict_class(verdict),
        escape(title)
    );
    let word = verdict.map_or("NOT CHECKED".to_string(), |v| v.name().to_uppercase());
    let _ = write!(
        out,
        "<div><span class=\"verdict-word\" id=\"verdict\">{word}</span>"
    );
    if let Some(run) = run.filter(|r| !r.expected.is_empty()) {
        let met = match run.expectation_met {
            Some(true) => "as expected",
            Some(false) => "NOT as expected",
            None => "",
        };
        let _ = write!(out, " &nbsp;expected {}: {met}", escape(&run.expected));
        if !run.because.is_empty() {
            let _ = write!(out, " <span class=\"intro\">({})</span>", escape(&run.because));
        }
    }
    out.push_str("</div>\n");
    if let Some(run) = run {
        out.push_str(&run_results_html::expectations(run));
    }
    out.push_str("</header>\n");
    out
}

fn facts(input: &ReportInput, view: &HistoryView, fault_count: usize) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(run) = input.run {
        if !run.description.is_empty() {
            rows.push((
                "workload",
                escape(&format!("{} — {}", run.workload, run.description)),
            ));
        }
        if let Some(seed) = run.seed {
            rows.push(("seed", format!("<code>{seed}</code>")));
        }
        if !run.command.is_empty() {
            rows.push((
                "reproduce",
                format!("<code id=\"reproduce\">{}</code>", escape(&run.command)),
            ));
        }
        let interrupted = if run.interrupted {
            " (interrupted by Ctrl-C)"
        } else {
            ""
        };
        rows.push((
            "ran",
            escape(&format!(
                "{}, for {:.1} s{interrupted}",
                run.started_at, run.duration_s
            )),
        ));
        if run.nodes > 0 {
            rows.push((
                "cluster",
                escape(&format!(
                    "{}, {} nodes, {} clients",
                    run.mode, run.nodes, run.concurrency
                )),
            ));
        }
        let faults: Vec<String> = run.faults.iter().map(|f| f.describe()).collect();
        rows.push((
            "faults",
            if faults.is_empty() {
                "none".into()
            } else {
                escape(&faults.join("; "))
            },
        ));
    } else {
        rows.push(("history", escape(&input.history.source)));
        rows.push(("faults", format!("{fault_count} fault windows in the history")));
    }
    let counts = count_outcomes(view);
    rows.push((
        "operations",
        format!(
            "{} ({} ok, {} fail, {} info), {} events",
            thousands(view.spans.len()),
            thousands(counts[0]),
            thousands(counts[1]),
            thousands(counts[2]),
            thousands(input.history.events.len())
        ),
    ));
    if !input.files.is_empty() {
        let links: Vec<String> = input
            .files
            .iter()
            .map(|(label, href)| format!("<a href=\"{}\">{}</a>", escape(href), escape(label)))
            .collect();
        rows.push(("files", links.join(" · ")));
    }
    let mut out = String::from("<table class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    out.push_str("</table>\n");
    out
}

fn count_outcomes(view: &HistoryView) -> [usize; 3] {
    use faultline_checkers::history::Outcome;
    let mut c = [0; 3];
    for o in &view.history.ops {
        c[match o.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        }] += 1;
    }
    c
}

fn checkers(reports: &[Report]) -> String {
    let mut out = String::from("<h2 id=\"checkers\">Checkers</h2>\n");
    if reports.is_empty() {
        out.push_str("<p>No checker ran. <code>faultline report FILE --model MODEL</code> checks the history for the page.</p>\n");
        return out;
    }
    out.push_str("<table class=\"checkers\"><thead><tr><th>checker</th><th>model</th><th>verdict</th><th>summary</th><th>anomalies</th></tr></thead><tbody>\n");
    for r in reports {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.checker),
            escape(&r.model),
            verdict_cell(r.verdict),
            escape(&r.summary),
            r.anomalies.len()
        );
        if let Some(models) = r.details.get("models").and_then(Value::as_array) {
            let lines: Vec<String> = models
                .iter()
                .map(|m| {
                    let why: Vec<&str> = m["anomalies"]
                        .as_array()
                        .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
                    format!(
                        "{} <b>{}</b>{}",
                        escape(m["model"].as_str().unwrap_or("?")),
                        escape(&m["verdict"].as_str().unwrap_or("?").to_uppercase()),
                        if why.is_empty() {
                            String::new()
                        } else {
                            escape(&format!(" ({})", why.join(", ")))
                        }
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "<tr><td></td><td colspan=\"4\">consistency models: {}</td></tr>",
                lines.join(" · ")
            );
        }
    }
    out.push_str("</tbody></table>\n");
    out
}
