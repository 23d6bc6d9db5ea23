//! The parts of a run's page that come from what the run measured besides the checkers'
//! verdicts: the guarantee table, the availability table (per fault kind and operation type,
//! with failures by error code), the availability expectations, and the longest stretches
//! without a successful read or write, marked on the timeline.

use super::run_data::RunSummary;
use super::timeline_html::{Axis, Shade, escape};
use crate::run::guarantees::{GUARANTEES, Status};
use crate::run::summary_tables::{errors_text, percent, stretches};
use std::fmt::Write as _;

/// Styles of these sections.
pub const STYLE: &str = r#"
table.guarantees td.kept { color: #1e7b34; font-weight: 600; } table.guarantees td.broken { color: #b3141f; font-weight: 600; }
table.guarantees td.unknown { color: #9a6b00; font-weight: 600; } table.guarantees td.not-measured { color: #777; }
table.availability { font-size: 13px; } table.availability th, table.guarantees th { border-bottom: 1px solid #ccc; }
table.availability td, table.guarantees td { border-bottom: 1px solid #eee; } td.num { text-align: right; }
ul.expectations li.met::marker { content: "✓ "; color: #1e7b34; } ul.expectations li.missed::marker { content: "✗ "; color: #b3141f; }
"#;

/// The availability expectations as a list for the banner (empty when the workload has none).
pub fn expectations(run: &RunSummary) -> String {
    if run.availability_expectations.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"expectations\" id=\"availability-expectations\">\n");
    for e in &run.availability_expectations {
        let because = if e.because.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.because)
        };
        let _ = writeln!(
            out,
            "<li class=\"{}\">availability expected: {}{}: {} — <b>{}</b></li>",
            if e.met { "met" } else { "missed" },
            escape(&e.expectation),
            escape(&because),
            escape(&e.detail),
            if e.met { "met" } else { "NOT MET" }
        );
    }
    out.push_str("</ul>\n");
    out
}

/// The guarantee table: what this run showed about each guarantee, and why.
pub fn guarantees(run: &RunSummary) -> String {
    if run.guarantees.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2 id=\"guarantees\">Guarantees</h2>\n<p class=\"note\">What this run showed, from the checkers' results and the measured availability (never from the workload's expectation). A run can only show a guarantee broken; \"kept\" means no check found it broken.</p>\n<table class=\"guarantees\"><thead><tr><th>guarantee</th><th>this run</th><th>evidence</th><th>decided by</th></tr></thead><tbody>\n",
    );
    for (id, title) in GUARANTEES {
        let Some(g) = run.guarantees.iter().find(|g| g.guarantee == id) else {
            continue;
        };
        let class = match g.status {
            Status::Kept => "kept",
            Status::Broken => "broken",
            Status::Unknown => "unknown",
            Status::NotMeasured => "not-measured",
        };
        let _ = writeln!(
            out,
            "<tr id=\"guarantee-{id}\"><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(title),
            g.status.word(),
            escape(&g.evidence),
            escape(&g.source)
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// The availability table, per fault kind and operation type, and the longest stretches.
pub fn availability(run: &RunSummary) -> String {
    let Some(a) = &run.availability else {
        return String::new();
    };
    let mut out = String::from(
        "<h2 id=\"availability\">Availability</h2>\n<p class=\"note\">Operations invoked during the load phase, by the fault in force when they were invoked; one that succeeded only after its fault was healed counts as \"ok after heal\", not as available. \"vs no fault\" divides the ok rate by the ok rate outside faults; \"longest without ok\" is the longest stretch of any window of that kind with no successful operation of the type.</p>\n<table class=\"availability\"><thead><tr><th>during</th><th>op</th><th>ok</th><th>ok after heal</th><th>fail</th><th>info</th><th>ok rate</th><th>vs no fault</th><th>longest without ok</th><th>fail / info by error</th></tr></thead><tbody>\n",
    );
    for (during, ops) in stretches(a) {
        for o in ops {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&during),
                escape(&o.op),
                o.outcomes.ok,
                o.outcomes.late,
                o.outcomes.fail,
                o.outcomes.info,
                percent(o.ok_rate),
                o.ok_rate_vs_fault_free
                    .map_or(String::new(), |v| format!("×{v:.2}")),
                o.longest_without_ok_s
                    .map_or(String::new(), |s| format!("{s:.2} s")),
                escape(&errors_text(o))
            );
        }
    }
    out.push_str("</tbody></table>\n");
    if !a.stalls.is_empty() {
        out.push_str("<ul>\n");
        for s in &a.stalls {
            let during = s.during();
            let _ = writeln!(
                out,
                "<li>Longest without a successful {}: <b>{:.2} s</b> ({:.2}–{:.2} s, {})</li>",
                escape(&s.op),
                s.seconds,
                s.from_s,
                s.to_s,
                escape(&during)
            );
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The longest stretches without a successful read and write, as marks on a timeline whose
/// axis is in nanoseconds.
pub fn stall_marks(run: &RunSummary, axis: Axis) -> Vec<Shade> {
    let Some(a) = &run.availability else {
        return Vec::new();
    };
    if axis != Axis::Nanoseconds {
        return Vec::new();
    }
    a.stalls
        .iter()
        .filter(|s| matches!(s.op.as_str(), "read" | "write") && s.seconds > 0.0)
        .map(|s| Shade {
            start: (s.from_s * 1e9) as u64,
            end: Some((s.to_s * 1e9) as u64),
            label: format!("no ok {}", s.op),
            tooltip: format!(
                "longest stretch without a successful {}: {:.2} s ({:.2}–{:.2} s)",
                s.op, s.seconds, s.from_s, s.to_s
            ),
            stall: true,
        })
        .collect()
}
