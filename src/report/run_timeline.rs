//! The timeline of a whole history: one lane per process, fault windows shaded, and honest
//! limits for large histories. Up to [`DRAW_ALL_UP_TO`] operations every one is a bar; beyond
//! that, the operations near the anomalies' operations and near each fault's start and end are
//! bars, and the rest are aggregated into blocks (per lane and time slice), and the page says
//! so. With more than [`MAX_LANES`] processes, processes whose lifetimes never overlap share a
//! lane (a client continues under a fresh process id after an `info`), and the page says so.

use super::faults::FaultSpan;
use super::history_view::{HistoryView, bar_kind};
use super::timeline_html::{Bar, BarKind, Block, Emphasis, Shade, Timeline};
use faultline_checkers::history::Outcome;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Histories with at most this many operations are drawn in full.
pub const DRAW_ALL_UP_TO: usize = 4_000;
/// About how many operations are drawn one by one in a larger history.
const DETAIL_BUDGET: usize = 4_000;
/// More processes than this share lanes.
pub const MAX_LANES: usize = 48;
/// Time slices per lane for aggregated blocks (fewer with many lanes, see [`columns`]).
const COLUMNS: usize = 600;
/// About how many aggregated blocks a page holds at most.
const MAX_BLOCKS: usize = 12_000;

/// Time slices per lane: [`COLUMNS`], or fewer so that all lanes hold about [`MAX_BLOCKS`].
fn columns(lanes: usize) -> usize {
    (MAX_BLOCKS / lanes.max(1)).clamp(100, COLUMNS)
}

/// Which lane each process is drawn in.
pub struct Lanes {
    /// Lane labels, top to bottom.
    pub labels: Vec<String>,
    /// Process id to lane.
    pub lane_of: HashMap<u64, usize>,
    /// Distinct processes.
    pub processes: usize,
}

impl Lanes {
    /// One lane per process, or shared lanes when there are more than [`MAX_LANES`].
    pub fn assign(view: &HistoryView) -> Lanes {
        let processes = view.processes();
        if processes.len() <= MAX_LANES {
            return Lanes {
                labels: processes.iter().map(|p| format!("process {p}")).collect(),
                lane_of: processes.iter().enumerate().map(|(i, &p)| (p, i)).collect(),
                processes: processes.len(),
            };
        }
        // Each process's lifetime: its first invocation to its last completion.
        let mut life: HashMap<u64, (u64, u64)> = HashMap::new();
        for s in &view.spans {
            let p = view.history.ops[s.op].process;
            let end = s.end.unwrap_or(view.end).max(s.start);
            let e = life.entry(p).or_insert((s.start, end));
            e.0 = e.0.min(s.start);
            e.1 = e.1.max(end);
        }
        let mut order: Vec<(u64, u64, u64)> = life.iter().map(|(&p, &(a, b))| (a, b, p)).collect();
        order.sort_unstable();
        // Greedy interval colouring: reuse the lane that became free the earliest.
        let mut free: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
        let mut members: Vec<Vec<u64>> = Vec::new();
        let mut lane_of = HashMap::new();
        for (start, end, p) in order {
            let lane = match free.peek() {
                Some(&Reverse((free_at, lane))) if free_at < start => {
                    free.pop();
                    lane
                }
                _ => {
                    members.push(Vec::new());
                    members.len() - 1
                }
            };
            members[lane].push(p);
            lane_of.insert(p, lane);
            free.push(Reverse((end, lane)));
        }
        let labels = members
            .iter()
            .map(|m| match m.len() {
                1 => format!("process {}", m[0]),
                2 => format!("processes {}, {}", m[0], m[1]),
                n => format!("processes {}, {} +{}", m[0], m[1], n - 2),
            })
            .collect();
        Lanes {
            labels,
            lane_of,
            processes: processes.len(),
        }
    }
}

/// Marks which operations are drawn one by one: all of them in a small history; otherwise
/// windows of neighbours (in invocation order) around `focus` operations and fault boundaries.
/// Every focus operation is drawn.
fn detailed(view: &HistoryView, focus: &[usize], faults: &[FaultSpan]) -> Vec<bool> {
    let n = view.spans.len();
    if n <= DRAW_ALL_UP_TO {
        return vec![true; n];
    }
    let mut marked = vec![false; n];
    let mut mark = |at: usize, half: usize| {
        let lo = at.saturating_sub(half);
        let hi = (at + half).min(n - 1);
        marked[lo..=hi].iter_mut().for_each(|m| *m = true);
    };
    let boundaries: Vec<usize> = faults
        .iter()
        .flat_map(|f| [Some(f.start), f.end])
        .flatten()
        .map(|t| view.spans.partition_point(|s| s.start < t).min(n - 1))
        .collect();
    // Three quarters of the budget around the anomalies, the rest around fault boundaries.
    let (focus_budget, fault_budget) = if focus.is_empty() {
        (0, DETAIL_BUDGET)
    } else if boundaries.is_empty() {
        (DETAIL_BUDGET, 0)
    } else {
        (DETAIL_BUDGET * 3 / 4, DETAIL_BUDGET / 4)
    };
    let half = |budget: usize, points: usize| (budget / (2 * points.max(1))).max(5);
    for &op in focus {
        if op < n {
            mark(op, half(focus_budget, focus.len()));
        }
    }
    for &b in &boundaries {
        mark(b, half(fault_budget, boundaries.len()));
    }
    marked
}

/// Counts of the operations in one aggregated block.
#[derive(Default, Clone, Copy)]
struct Tally {
    ok: usize,
    fail: usize,
    info: usize,
    start: u64,
    end: u64,
}

/// The timeline of the whole history. `emphasis` marks operations the anomalies involve;
/// `focus` lists the operations that must be drawn as bars (and near which to draw all).
pub fn run_timeline(
    view: &HistoryView,
    faults: &[FaultSpan],
    emphasis: &HashMap<usize, Emphasis>,
    focus: &[usize],
) -> Timeline {
    let lanes = Lanes::assign(view);
    let mut timeline = Timeline::new(lanes.labels.clone(), view.axis);
    let drawn = detailed(view, focus, faults);
    let lo = view.spans.iter().map(|s| s.start).min().unwrap_or(0);
    let columns = columns(lanes.labels.len());
    let width = (view.end.saturating_sub(lo) / columns as u64).max(1);
    let mut tallies: HashMap<(usize, u64), Tally> = HashMap::new();
    for (s, &draw) in view.spans.iter().zip(&drawn) {
        let op = &view.history.ops[s.op];
        let lane = lanes.lane_of[&op.process];
        if draw {
            timeline.bars.push(Bar {
                lane,
                start: s.start,
                end: s.end,
                label: view.label(op),
                tooltip: view.tooltip(op),
                kind: bar_kind(op.outcome),
                emphasis: emphasis.get(&s.op).copied().unwrap_or_default(),
                order: None,
                id: Some(format!("op-{}", s.op)),
            });
            continue;
        }
        let column = (s.start - lo) / width;
        let t = tallies.entry((lane, column)).or_insert(Tally {
            start: s.start,
            end: s.start,
            ..Tally::default()
        });
        match op.outcome {
            Outcome::Ok => t.ok += 1,
            Outcome::Fail => t.fail += 1,
            Outcome::Info => t.info += 1,
        }
        t.start = t.start.min(s.start);
        // A block reaches at most to the end of its time slice.
        let slice_end = lo + (column + 1) * width;
        t.end = t.end.max(s.end.unwrap_or(s.start).min(slice_end));
    }
    let mut blocks: Vec<((usize, u64), Tally)> = tallies.into_iter().collect();
    blocks.sort_unstable_by_key(|(k, _)| *k);
    for ((lane, _), t) in &blocks {
        let kind = if t.info > 0 {
            BarKind::Info
        } else if t.fail > 0 {
            BarKind::Fail
        } else {
            BarKind::Ok
        };
        timeline.blocks.push(Block {
            lane: *lane,
            start: t.start,
            end: t.end.max(t.start),
            kind,
            tooltip: format!(
                "{} operations ({} ok, {} fail, {} info) of {}, invoked {}–{}",
                t.ok + t.fail + t.info,
                t.ok,
                t.fail,
                t.info,
                lanes.labels[*lane],
                view.format_at(t.start),
                view.format_at(t.end),
            ),
        });
    }
    timeline.shades = faults
        .iter()
        .map(|f| Shade {
            start: f.start,
            end: f.end,
            label: f.label.clone(),
            tooltip: f.tooltip(view),
            stall: false,
        })
        .collect();
    timeline.note = note(view, &lanes, timeline.bars.len(), blocks.len(), columns);
    timeline
}

fn note(view: &HistoryView, lanes: &Lanes, bars: usize, blocks: usize, columns: usize) -> Option<String> {
    let total = view.spans.len();
    let mut parts = Vec::new();
    if bars == 0 && total > 0 {
        parts.push(format!(
            "This history has {} operations, more than the {} drawn one by one, and no anomaly or fault to centre on: all of them are aggregated into {} blocks (per lane, 1/{columns} of the time axis each, coloured by the worst outcome in it; hover for counts).",
            thousands(total),
            thousands(DRAW_ALL_UP_TO),
            thousands(blocks)
        ));
    } else if bars < total {
        parts.push(format!(
            "This history has {} operations: the {} drawn one by one are those near the anomalies' operations and near each fault's start and end; the other {} are aggregated into {} blocks (per lane, 1/{columns} of the time axis each, coloured by the worst outcome in it; hover for counts).",
            thousands(total),
            thousands(bars),
            thousands(total - bars),
            thousands(blocks)
        ));
    } else {
        parts.push(format!("All {} operations are drawn.", thousands(total)));
    }
    if lanes.labels.len() < lanes.processes {
        parts.push(format!(
            "The {} processes share {} lanes: processes whose lifetimes do not overlap are drawn in the same lane (after an info outcome a client continues under a new process id).",
            thousands(lanes.processes),
            lanes.labels.len()
        ));
    }
    Some(parts.join(" "))
}

/// A count with thousands separators: 100000 -> "100,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::{Format, History};
    use std::fmt::Write as _;

    /// `n` write operations by `procs` processes taking turns; every 50th is info and its
    /// process continues under a fresh id.
    fn history(n: usize, procs: u64) -> History {
        let mut text = String::new();
        let mut ids: Vec<u64> = (0..procs).collect();
        for i in 0..n {
            let slot = i % procs as usize;
            let p = ids[slot];
            let t = i as u64 * 1000;
            let outcome = if i % 50 == 49 { "info" } else { "ok" };
            let _ = writeln!(
                text,
                "{{\"index\":{},\"time\":{t},\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{i}}}\n{{\"index\":{},\"time\":{},\"process\":{p},\"type\":\"{outcome}\",\"f\":\"write\",\"value\":{i}}}",
                2 * i,
                2 * i + 1,
                t + 900
            );
            if outcome == "info" {
                ids[slot] += procs;
            }
        }
        History::parse("gen", &text, Format::Jsonl).unwrap()
    }

    #[test]
    fn small_histories_are_drawn_in_full() {
        let h = history(200, 4);
        let view = HistoryView::new(&h);
        let t = run_timeline(&view, &[], &HashMap::new(), &[]);
        assert_eq!(t.bars.len(), 200);
        assert!(t.blocks.is_empty());
        assert_eq!(t.note.as_deref(), Some("All 200 operations are drawn."));
    }

    #[test]
    fn large_histories_draw_the_focus_and_aggregate_the_rest_honestly() {
        let h = history(20_000, 5);
        let view = HistoryView::new(&h);
        let focus = [12_345usize];
        let emphasis = HashMap::from([(12_345usize, Emphasis::Culprit)]);
        let t = run_timeline(&view, &[], &emphasis, &focus);
        assert!(
            t.bars.len() <= DETAIL_BUDGET + 1 && t.bars.len() > 100,
            "{}",
            t.bars.len()
        );
        let culprit = t
            .bars
            .iter()
            .find(|b| b.id.as_deref() == Some("op-12345"))
            .unwrap();
        assert_eq!(culprit.emphasis, Emphasis::Culprit);
        let aggregated: usize = t
            .blocks
            .iter()
            .map(|b| b.tooltip.split(' ').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(
            aggregated + t.bars.len(),
            20_000,
            "every operation is drawn or counted"
        );
        let note = t.note.unwrap();
        assert!(
            note.contains("20,000 operations") && note.contains("aggregated"),
            "{note}"
        );
        // 404 processes over the run (a fresh id after each info), sharing lanes.
        assert!(t.lanes.len() <= 10, "{}", t.lanes.len());
        assert!(note.contains("404 processes share 5 lanes"), "{note}");
    }

    #[test]
    fn with_nothing_to_centre_on_everything_is_aggregated_and_the_note_says_so() {
        let h = history(5_000, 5);
        let view = HistoryView::new(&h);
        let t = run_timeline(&view, &[], &HashMap::new(), &[]);
        assert!(t.bars.is_empty());
        let note = t.note.unwrap();
        assert!(
            note.contains("no anomaly or fault to centre on: all of them are aggregated"),
            "{note}"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
