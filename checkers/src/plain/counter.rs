//! Jepsen's counter checker: clients `:add n` (any integer) to a counter starting at 0 and
//! `:read` its value. Each `ok` read must lie within the bounds the adds allow: at least the
//! sum of the adds acknowledged before the read began plus every negative add that may have
//! taken effect by its end, at most that sum plus every positive one. An add that may have
//! taken effect is one that did not fail and was invoked before the read completed. Reads are
//! judged one by one, as Jepsen does (not against each other). Exact integers, up to 128 bits.
//!
//! Jepsen stops at the bounds, which is exact when every add is 1 (any value between them is
//! reachable). With other amounts a value within the bounds may still be impossible (adds of 3
//! and -2 reach 0, 1, 3, -2, never 2), so such a read is decided exactly: is it the sum of
//! the acknowledged adds plus some subset of the uncertain ones? When that subset sum has too
//! many possible values to enumerate, the read is unknown, never valid.

use super::set::{capitalise, keep_explained};
use super::{by_key, describe, int_json, integer, of_key};
use crate::history::{History, HistoryError, Operation, Outcome};
use crate::report::{Anomaly, Report, Verdict};
use serde_json::{Value, json};

/// A read outside the bounds the adds allow.
pub const OUT_OF_BOUNDS: &str = "counter-out-of-bounds";
/// A read within the bounds that no subset of the uncertain adds reaches.
pub const UNREACHABLE: &str = "counter-unreachable";

/// Past this many distinct partial sums a read within the bounds is unknown.
const MAX_SUMS: usize = 1 << 18;

/// A read's bounds, and what made them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The smallest value the read may return.
    pub lower: i128,
    /// The largest.
    pub upper: i128,
}

/// Running sums over the history: of acknowledged adds completed so far (positive and
/// negative parts), and of adds that did not fail invoked so far.
#[derive(Default, Clone, Copy)]
struct Sums {
    done_pos: i128,
    done_neg: i128,
    invoked_pos: i128,
    invoked_neg: i128,
}

enum Step<'h> {
    AddInvoked(usize, i128),
    AddAcknowledged(usize, i128),
    ReadStarts(&'h Operation),
    ReadEnds(&'h Operation),
}

/// Checks a counter history (see the module documentation).
pub fn check_counter(history: &History) -> Result<Report, HistoryError> {
    let mut anomalies = Vec::new();
    let (mut reads, mut adds, mut bad, mut undecided) = (0usize, 0usize, 0usize, 0usize);
    for (key, ops) in by_key(history) {
        let mut steps: Vec<(usize, Step)> = Vec::new();
        for op in ops {
            match (op.f.as_str(), op.outcome) {
                ("add", Outcome::Fail) => adds += 1,
                ("add", outcome) => {
                    adds += 1;
                    let n = integer(
                        history,
                        op.invoke,
                        &history.events[op.invoke].value,
                        "an add's value",
                    )?;
                    steps.push((op.invoke, Step::AddInvoked(op.id, n)));
                    if let (Outcome::Ok, Some(c)) = (outcome, op.complete) {
                        steps.push((c, Step::AddAcknowledged(op.id, n)));
                    }
                }
                ("read", Outcome::Ok) => {
                    reads += 1;
                    steps.push((op.invoke, Step::ReadStarts(op)));
                    steps.push((op.complete.unwrap_or(op.invoke), Step::ReadEnds(op)));
                }
                _ => {}
            }
        }
        steps.sort_by_key(|(pos, _)| *pos);
        let mut sums = Sums::default();
        let mut at_start: rustc_hash::FxHashMap<usize, Sums> = rustc_hash::FxHashMap::default();
        let all_units = steps
            .iter()
            .all(|(_, s)| !matches!(s, Step::AddInvoked(_, n) if n.abs() > 1));
        // Adds that did not fail, invoked and not acknowledged yet (info ones stay), and the
        // acknowledgements so far in history order: what the exact decision needs.
        let mut live: rustc_hash::FxHashMap<usize, i128> = rustc_hash::FxHashMap::default();
        let mut acks: Vec<(usize, i128)> = Vec::new();
        let overflow = |pos| history.error_at(pos, "the counter's sums overflow 128 bits");
        for (pos, step) in steps {
            match step {
                Step::AddInvoked(id, n) if !all_units && n >= 0 => {
                    live.insert(id, n);
                    sums.invoked_pos = sums.invoked_pos.checked_add(n).ok_or_else(|| overflow(pos))?
                }
                Step::AddInvoked(id, n) if !all_units => {
                    live.insert(id, n);
                    sums.invoked_neg = sums.invoked_neg.checked_add(n).ok_or_else(|| overflow(pos))?
                }
                Step::AddAcknowledged(id, n) if !all_units => {
                    live.remove(&id);
                    acks.push((pos, n));
                    if n >= 0 {
                        sums.done_pos = sums.done_pos.checked_add(n).ok_or_else(|| overflow(pos))?
                    } else {
                        sums.done_neg = sums.done_neg.checked_add(n).ok_or_else(|| overflow(pos))?
                    }
                }
                Step::AddInvoked(_, n) if n >= 0 => {
                    sums.invoked_pos = sums.invoked_pos.checked_add(n).ok_or_else(|| overflow(pos))?
                }
                Step::AddInvoked(_, n) => {
                    sums.invoked_neg = sums.invoked_neg.checked_add(n).ok_or_else(|| overflow(pos))?
                }
                Step::AddAcknowledged(_, n) if n >= 0 => {
                    sums.done_pos = sums.done_pos.checked_add(n).ok_or_else(|| overflow(pos))?
                }
                Step::AddAcknowledged(_, n) => {
                    sums.done_neg = sums.done_neg.checked_add(n).ok_or_else(|| overflow(pos))?
                }
                Step::ReadStarts(op) => {
                    at_start.insert(op.id, sums);
                }
                Step::ReadEnds(op) => {
                    let start = at_start.remove(&op.id).unwrap_or_default();
                    let bounds = Bounds {
                        lower: start
                            .done_pos
                            .checked_add(sums.invoked_neg)
                            .ok_or_else(|| overflow(pos))?,
                        upper: start
                            .done_neg
                            .checked_add(sums.invoked_pos)
                            .ok_or_else(|| overflow(pos))?,
                    };
                    let value = history.value(op);
                    let v = integer(history, pos, value, "a counter read's value")?;
                    let acked = start.done_pos + start.done_neg;
                    if v < bounds.lower || v > bounds.upper {
                        bad += 1;
                        anomalies.push(explain(history, &key, op, v, bounds, acked, OUT_OF_BOUNDS));
                    } else if !all_units {
                        // Uncertain: still live, or acknowledged after the read began.
                        let from = acks.partition_point(|(p, _)| *p < op.invoke);
                        let uncertain = live.values().chain(acks[from..].iter().map(|(_, n)| n));
                        match reachable(v - acked, uncertain) {
                            Some(true) => {}
                            Some(false) => {
                                bad += 1;
                                anomalies.push(explain(history, &key, op, v, bounds, acked, UNREACHABLE));
                            }
                            None => undecided += 1,
                        }
                    }
                }
            }
        }
    }
    let verdict = if bad > 0 {
        Verdict::Invalid
    } else if undecided > 0 {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let summary = if bad > 0 {
        format!("{bad} of {reads} reads impossible given the adds")
    } else if undecided > 0 {
        format!("{undecided} of {reads} reads not decided: too many ways the uncertain adds could have gone")
    } else {
        format!("every read within the bounds the adds allow ({reads} reads, {adds} adds)")
    };
    let mut report = Report::new("counter", "counter", verdict, summary);
    keep_explained(&mut anomalies);
    report.anomalies = anomalies;
    report.stats.insert("reads".into(), json!(reads));
    report.stats.insert("adds".into(), json!(adds));
    report.stats.insert("errors".into(), json!(bad));
    report.stats.insert("undecided".into(), json!(undecided));
    Ok(report)
}

/// Whether some subset of `uncertain` sums to `target`; `None` when too many partial sums.
/// The caller has checked that `target` lies within the bounds (the sum of the negative
/// values to the sum of the positive ones).
fn reachable<'a>(target: i128, uncertain: impl Iterator<Item = &'a i128>) -> Option<bool> {
    let values: Vec<i128> = uncertain.copied().filter(|&n| n != 0).collect();
    if gap_free(values.iter().filter(|&&n| n > 0).copied())
        && gap_free(values.iter().filter(|&&n| n < 0).map(|n| -n))
    {
        // Every value between the bounds is some subset's sum.
        return Some(true);
    }
    let mut sums: rustc_hash::FxHashSet<i128> = std::iter::once(0).collect();
    for &n in &values {
        if n == 0 {
            continue;
        }
        let more: Vec<i128> = sums.iter().filter_map(|s| s.checked_add(n)).collect();
        sums.extend(more);
        if sums.len() > MAX_SUMS {
            return None;
        }
    }
    Some(sums.contains(&target))
}

/// Whether the subset sums of these positive values are every integer from 0 to their total:
/// true when, in ascending order, each value is at most one more than the sum of those before.
fn gap_free(values: impl Iterator<Item = i128>) -> bool {
    let mut v: Vec<i128> = values.collect();
    v.sort_unstable();
    let mut reach: i128 = 0;
    for n in v {
        if n > reach.saturating_add(1) {
            return false;
        }
        reach = reach.saturating_add(n);
    }
    true
}

fn explain(
    history: &History,
    key: &Option<Value>,
    op: &Operation,
    v: i128,
    b: Bounds,
    acked: i128,
    kind: &str,
) -> Anomaly {
    let events = [Some(op.invoke), op.complete]
        .into_iter()
        .flatten()
        .map(|p| history.events[p].index)
        .collect();
    let side = if kind == UNREACHABLE {
        format!(
            "{v} is within those bounds, but no combination of the adds that may have taken effect, added to {acked}, gives {v}"
        )
    } else if v < b.lower {
        format!(
            "{v} is below {}: acknowledged adds went missing, or the counter went backwards",
            b.lower
        )
    } else {
        format!(
            "{v} is above {}: more was added than any add that may have taken effect",
            b.upper
        )
    };
    Anomaly {
        kind: kind.into(),
        key: key.clone(),
        steps: vec![
            format!(
                "{}, read the counter{} as {v}.",
                capitalise(&describe(history, op)),
                of_key(key)
            ),
            format!(
                "The adds acknowledged before it began sum to {acked}; counting every add that may have taken effect by its end, the value must lie in [{}, {}].",
                b.lower, b.upper
            ),
            format!("{side}."),
        ],
        events,
        details: json!({ "value": int_json(v), "lower": int_json(b.lower), "upper": int_json(b.upper) }),
    }
}
