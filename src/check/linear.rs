//! `faultline check` for the linearizability models (`register`, `cas-register`): runs the
//! checker and draws each failing key as a timeline section for the HTML page.

use super::Checked;
use super::registry::ModelOptions;
use crate::report::timeline_html::{Axis, Bar, BarKind, Emphasis, Section, Timeline};
use faultline_checkers::history::{History, HistoryError, Operation, Outcome};
use faultline_checkers::linear::{
    self, KeyFailure, LinearOptions, Model, format_time, key_label, value_label,
};
use faultline_checkers::report::Anomaly;
use std::collections::HashMap;

/// At most this many failing keys of one history are drawn.
const MAX_KEYS_DRAWN: usize = 5;
/// At most this many operations are drawn per key (a window around the culprit).
const MAX_BARS: usize = 400;

/// Checks `history` for linearizability against `model`.
pub(super) fn check(
    history: &History,
    model: Model,
    options: &ModelOptions<'_>,
) -> Result<Checked, HistoryError> {
    let opts = LinearOptions {
        model,
        ..options.linear.clone()
    };
    let result = linear::check_with_progress(history, &opts, options.progress)?;
    let sections = result
        .failures
        .iter()
        .zip(&result.report.anomalies)
        .take(MAX_KEYS_DRAWN)
        .map(|(failure, anomaly)| section(history, failure, anomaly))
        .collect();
    Ok(Checked {
        report: result.report,
        sections,
    })
}

pub(super) fn section(history: &History, failure: &KeyFailure, anomaly: &Anomaly) -> Section {
    let key = key_label(&failure.key);
    Section {
        heading: format!("{}: {key} is not linearizable", history.source),
        paragraphs: vec![format!(
            "{} operations on {key}; the longest linearizable prefix found orders {} of them. The red bar is the operation that cannot be linearized next; dashed bars overlap it in time.",
            failure.ops.len(),
            failure.longest.len()
        )],
        steps: anomaly.steps.clone(),
        timeline: Some(timeline(history, failure)),
    }
}

/// The window of operations drawn: all of them, or `MAX_BARS` around the culprit.
fn window(failure: &KeyFailure) -> &[usize] {
    let ops = &failure.ops;
    if ops.len() <= MAX_BARS {
        return ops;
    }
    let at = ops.iter().position(|&o| o == failure.culprit).unwrap_or(0);
    let start = at.saturating_sub(MAX_BARS * 3 / 4).min(ops.len() - MAX_BARS);
    &ops[start..start + MAX_BARS]
}

fn timeline(history: &History, failure: &KeyFailure) -> Timeline {
    let shown = window(failure);
    let ops: Vec<&Operation> = shown.iter().map(|&i| &history.ops[i]).collect();
    let events_of = |o: &Operation| [Some(o.invoke), o.complete];
    let timed = ops
        .iter()
        .flat_map(|o| events_of(o))
        .flatten()
        .all(|e| history.events[e].time.is_some());
    let axis = if timed { Axis::Nanoseconds } else { Axis::Events };
    let at = |pos: usize| match axis {
        Axis::Nanoseconds => history.events[pos].time.unwrap_or(0),
        Axis::Events => pos as u64,
    };
    let mut processes: Vec<u64> = ops.iter().map(|o| o.process).collect();
    processes.sort_unstable();
    processes.dedup();
    let lane_of: HashMap<u64, usize> = processes.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let order: HashMap<usize, usize> = failure
        .longest
        .iter()
        .enumerate()
        .map(|(i, &o)| (o, i + 1))
        .collect();
    let bars = ops
        .iter()
        .map(|o| {
            let emphasis = if o.id == failure.culprit {
                Emphasis::Culprit
            } else if failure.concurrent.contains(&o.id) {
                Emphasis::Related
            } else {
                Emphasis::Normal
            };
            let position = order.get(&o.id).copied();
            Bar {
                lane: lane_of[&o.process],
                start: at(o.invoke),
                end: match o.outcome {
                    Outcome::Info => None,
                    _ => o.complete.map(at),
                },
                label: label(history, o),
                tooltip: tooltip(history, o, position),
                kind: match o.outcome {
                    Outcome::Ok => BarKind::Ok,
                    Outcome::Fail => BarKind::Fail,
                    Outcome::Info => BarKind::Info,
                },
                emphasis,
                order: position,
                id: None,
            }
        })
        .collect();
    let note = (shown.len() < failure.ops.len()).then(|| {
        format!(
            "Showing {} of the {} operations on this key, around the culprit.",
            shown.len(),
            failure.ops.len()
        )
    });
    let mut timeline = Timeline::new(processes.iter().map(|p| format!("process {p}")).collect(), axis);
    timeline.bars = bars;
    timeline.note = note;
    timeline
}

/// The argument of an operation (what it wrote or compared), from its invocation.
fn argument<'h>(history: &'h History, o: &Operation) -> &'h serde_json::Value {
    &history.events[o.invoke].value
}

fn label(history: &History, o: &Operation) -> String {
    let arg = argument(history, o);
    match o.f.as_str() {
        "read" if o.outcome == Outcome::Ok => format!("r {}", value_label(history.value(o))),
        "read" => "r ?".to_string(),
        "write" => format!("w {}", value_label(arg)),
        "cas" => match arg.as_array().map(Vec::as_slice) {
            Some([e, n]) => format!("cas {}→{}", value_label(e), value_label(n)),
            _ => format!("cas {arg}"),
        },
        f => format!("{f} {}", value_label(arg)),
    }
}

fn tooltip(history: &History, o: &Operation, position: Option<usize>) -> String {
    let describe = |pos: usize| {
        let e = &history.events[pos];
        match e.time {
            Some(t) => format!("{} (line {})", format_time(t), e.line),
            None => format!("line {}", e.line),
        }
    };
    let mut t = format!(
        "process {}: {} — {}\ninvoked {}",
        o.process,
        label(history, o),
        match o.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info (outcome unknown)",
        },
        describe(o.invoke)
    );
    match o.complete {
        Some(c) => t.push_str(&format!("\ncompleted {}", describe(c))),
        None => t.push_str("\nnever completed"),
    }
    if let Some(n) = position {
        t.push_str(&format!("\n#{n} in the longest linearization found"));
    }
    t
}
