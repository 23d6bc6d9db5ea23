//! The parts of the end-of-run summary beyond the checkers' table: availability per fault kind
//! and operation type (with failures by error code), the longest stretches without a success,
//! the availability expectations, and the guarantee line.

use super::guarantees::{GUARANTEES, GuaranteeResult, Status};
use crate::workload::availability::AvailabilityOutcome;
use faultline_checkers::availability::{Availability, OpAvailability};
use std::fmt::Write as _;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// `97.5%`, or `-` when nothing was counted.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// `timeout 12, not_leader 3`, most frequent first.
pub fn errors_text(op: &OpAvailability) -> String {
    let mut errors: Vec<(&String, &u64)> = op.outcomes.errors.iter().collect();
    errors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    errors
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stretches of a run: outside faults, then each fault kind, each with its operation types.
pub fn stretches(a: &Availability) -> Vec<(String, &[OpAvailability])> {
    let mut out: Vec<(String, &[OpAvailability])> = vec![("no fault".to_string(), &a.fault_free[..])];
    for k in &a.by_kind {
        let label = match (k.windows, k.seconds) {
            (n, Some(s)) => format!("{} (×{n}, {s:.1} s)", k.kind),
            (n, None) => format!("{} (×{n})", k.kind),
        };
        out.push((label, &k.ops[..]));
    }
    out
}

/// The availability table and the longest stretches without a success; empty when the run
/// recorded no operation.
pub fn availability_text(a: &Availability) -> String {
    #[derive(Tabled)]
    struct Row {
        during: String,
        op: String,
        ok: u64,
        #[tabled(rename = "ok after heal")]
        late: u64,
        fail: u64,
        info: u64,
        #[tabled(rename = "ok rate")]
        ok_rate: String,
        #[tabled(rename = "vs no fault")]
        versus: String,
        #[tabled(rename = "longest without ok")]
        longest: String,
        #[tabled(rename = "fail / info by error")]
        errors: String,
    }
    let mut rows = Vec::new();
    for (during, ops) in stretches(a) {
        for o in ops {
            rows.push(Row {
                during: during.clone(),
                op: o.op.clone(),
                ok: o.outcomes.ok,
                late: o.outcomes.late,
                fail: o.outcomes.fail,
                info: o.outcomes.info,
                ok_rate: percent(o.ok_rate),
                versus: o
                    .ok_rate_vs_fault_free
                    .map_or(String::new(), |v| format!("×{v:.2}")),
                longest: o
                    .longest_without_ok_s
                    .map_or(String::new(), |s| format!("{s:.2} s")),
                errors: errors_text(o),
            });
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!("Availability:\n{}\n", Table::new(rows).with(Style::sharp()));
    for s in &a.stalls {
        let during = s.during();
        let _ = writeln!(
            out,
            "Longest without a successful {}: {:.2} s ({:.2}–{:.2} s, {during})",
            s.op, s.seconds, s.from_s, s.to_s
        );
    }
    out
}

/// One line per availability expectation.
pub fn expectations_text(outcomes: &[AvailabilityOutcome]) -> String {
    let mut out = String::new();
    for e in outcomes {
        let measured = e
            .measured
            .map_or(String::new(), |m| format!("measured {:.3}: ", m));
        let because = if e.because.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.because)
        };
        let _ = writeln!(
            out,
            "Availability expected: {}{because}: {measured}{} — {}",
            e.expectation,
            e.detail,
            if e.met { "met" } else { "NOT MET" }
        );
    }
    out
}

/// The guarantees in one line: `linearizable BROKEN · read-your-writes kept · ...`.
pub fn guarantees_text(guarantees: &[GuaranteeResult]) -> String {
    if guarantees.is_empty() {
        return String::new();
    }
    let cells: Vec<String> = GUARANTEES
        .iter()
        .filter_map(|(id, title)| {
            let g = guarantees.iter().find(|g| g.guarantee == *id)?;
            Some(match g.status {
                Status::Broken => format!("{title} BROKEN"),
                Status::NotMeasured => format!("{title} —"),
                s => format!("{title} {}", s.word()),
            })
        })
        .collect();
    format!("Guarantees: {}\n", cells.join(" · "))
}
