//! The generic linearizability search: Wing & Gong's algorithm with Lowe's memo, over any
//! [`Spec`].
//!
//! Calls and returns of one key's operations sit in a doubly linked list in history order. The
//! calls before the first return are the candidates: operations that may take effect now. The
//! search tries each in turn (the model must accept it, and the configuration reached must be
//! new); if one fits it lifts the operation out of the list and goes deeper. When no candidate
//! fits, the operation of that first return cannot be placed in time from here: the search
//! undoes the last operation placed and tries the next candidate at that level. Success is
//! every required operation placed; failure is the root level exhausted. Candidates are tried
//! in the order the model hints ([`Spec::priority`]: a FIFO queue tries first the enqueue
//! whose value was dequeued first), then required first, then by call; the order changes the
//! time taken, never the verdict.
//!
//! Operations without a return (`info`, never completed) are *optional*: they may be placed at
//! any point after their call, or never, so they have no return entry and the search may end
//! with them unplaced. Optional operations that do the same thing (same compiled op: input,
//! unknown output) are twins: any linearization using a later twin where an earlier one is
//! still unplaced can swap the two, so only the earliest unplaced twin is ever tried. That keeps
//! a history with thousands of `info` dequeues or acquires from branching on each.
//!
//! The memo holds each configuration seen: the set of placed operations and the state. The set
//! is kept as a 128-bit Zobrist hash (the XOR of a fixed pseudo-random key per operation,
//! updated in O(1) per step) and the state as a 64-bit SipHash, so an entry is 24 bytes
//! whatever the history's length. Two different configurations share an entry with
//! probability about 2^-128 per pair; such a collision could only prune a branch (a false
//! *invalid*, never a false valid: every valid verdict comes with a witness order that
//! [`verify`] replays through the model and against real time before it is believed).

use super::spec::Spec;
use crate::linear::GaveUp;
use rustc_hash::{FxHashMap, FxHashSet};
use std::hash::{Hash, Hasher};
use std::time::Instant;

/// One operation of a key, compiled for the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchOp<O> {
    /// The compiled operation.
    pub op: O,
    /// Its id in [`crate::history::History::ops`].
    pub id: usize,
    /// Position of its invocation in the history's events.
    pub call: usize,
    /// Position of its completion when it must take effect before it; `None` when it may take
    /// effect at any point after its call, or never.
    pub ret: Option<usize>,
}

/// When to give up without a verdict.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Give up when the memo and the stack of placed operations would take more bytes than
    /// this (0: no limit).
    pub max_memo_bytes: usize,
    /// Ignore the model's chain ([`Spec::chain`]): slower, but every dead end is one the
    /// model itself refuses, which is what an explanation needs.
    pub no_chain: bool,
}

/// What the search found. Indices are positions in the slice of operations searched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome<S> {
    /// A witness: the operations placed, in order.
    Linearizable { order: Vec<usize> },
    /// No linearization exists. `longest` is the longest order placed at any point, `culprit`
    /// the operation whose return was met right after it, and `state` the state it left.
    NotLinearizable {
        longest: Vec<usize>,
        culprit: usize,
        state: S,
    },
    /// Stopped without a verdict.
    GaveUp(GaveUp),
}

/// Counts of one search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SearchStats {
    /// Configurations recorded in the memo.
    pub configurations: u64,
    /// Steps taken (calls tried and returns met).
    pub steps: u64,
}

/// Memo bytes per configuration, hash-table overhead included: an entry is 32 bytes (a u128
/// and a u64, aligned) plus a control byte, in a table at most 7/8 full whose capacity doubles,
/// so between 38 and 76 bytes; the upper figure, so that the budget bounds the peak.
const MEMO_ENTRY_BYTES: usize = 76;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// The Zobrist key of operation `i`: two SplitMix64 outputs.
fn zobrist(i: usize) -> u128 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let i = i as u64;
    ((mix(2 * i) as u128) << 64) | mix(2 * i + 1) as u128
}

fn state_hash<S: Hash>(s: &S) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// One list entry: a call or a return of an operation.
#[derive(Clone, Copy)]
struct Entry {
    op: u32,
    call: bool,
}

/// One level of the depth-first search: the operations that may take effect next, in the
/// order they are tried, and the operation placed to reach this level (with the state before
/// it, to restore).
struct Level<S> {
    candidates: Vec<u32>,
    next: usize,
    /// The operation whose return comes first in the list: the one that cannot wait.
    blocker: u32,
    placed: Option<(u32, S)>,
}

/// Searches `ops` (in invocation order) for a linearization under `spec`.
pub(crate) fn search<S: Spec>(
    spec: &S,
    ops: &[SearchOp<S::Op>],
    limits: Limits,
) -> (Outcome<S::State>, SearchStats) {
    // The list: entry 0 is the head; then calls and returns in history order.
    let mut timed: Vec<(usize, Entry)> = Vec::with_capacity(ops.len() * 2);
    for (i, o) in ops.iter().enumerate() {
        timed.push((
            o.call,
            Entry {
                op: i as u32,
                call: true,
            },
        ));
        if let Some(r) = o.ret {
            timed.push((
                r,
                Entry {
                    op: i as u32,
                    call: false,
                },
            ));
        }
    }
    timed.sort_by_key(|(pos, e)| (*pos, !e.call));
    let mut entries = vec![Entry { op: NIL, call: false }];
    entries.extend(timed.iter().map(|(_, e)| *e));
    let n = entries.len() as u32;
    let mut next: Vec<u32> = (1..=n).map(|i| if i == n { NIL } else { i }).collect();
    let mut prev: Vec<u32> = (0..n).map(|i| i.wrapping_sub(1)).collect();
    prev[0] = NIL;
    let mut call_entry = vec![NIL; ops.len()];
    let mut ret_entry = vec![NIL; ops.len()];
    for (i, e) in entries.iter().enumerate().skip(1) {
        if e.call {
            call_entry[e.op as usize] = i as u32;
        } else {
            ret_entry[e.op as usize] = i as u32;
        }
    }
    // Twin classes of optional operations, each in call order.
    let mut class_of = vec![NIL; ops.len()];
    let mut members: Vec<Vec<u32>> = Vec::new();
    {
        let mut ids: FxHashMap<&S::Op, u32> = FxHashMap::default();
        for (i, o) in ops.iter().enumerate().filter(|(_, o)| o.ret.is_none()) {
            let c = *ids.entry(&o.op).or_insert_with(|| {
                members.push(Vec::new());
                members.len() as u32 - 1
            });
            members[c as usize].push(i as u32);
            class_of[i] = c;
        }
    }
    let mut used = vec![0usize; members.len()];
    // The model's chain: members not yet placed, by position.
    let chain = if limits.no_chain {
        vec![None; ops.len()]
    } else {
        spec.chain(ops)
    };
    let mut unplaced_chain: std::collections::BTreeSet<u32> =
        chain.iter().flatten().map(|&(pos, _)| pos).collect();
    // The order candidates are tried in: the model's hint, then required before optional,
    // then call order. Any order is exhaustive; a good one finds a witness without detours.
    let rank = |state: &S::State, i: u32| {
        (
            spec.priority(state, &ops[i as usize].op),
            ops[i as usize].ret.is_none(),
            i,
        )
    };

    let unlink = |next: &mut Vec<u32>, prev: &mut Vec<u32>, e: u32| {
        let (p, nx) = (prev[e as usize], next[e as usize]);
        next[p as usize] = nx;
        if nx != NIL {
            prev[nx as usize] = p;
        }
    };
    let relink = |next: &mut Vec<u32>, prev: &mut Vec<u32>, e: u32| {
        let (p, nx) = (prev[e as usize], next[e as usize]);
        next[p as usize] = e;
        if nx != NIL {
            prev[nx as usize] = e;
        }
    };
    // The calls before the first return in the list (those that may take effect now; only
    // the earliest unplaced optional twin of each class), and that return's operation.
    let level = |next: &Vec<u32>,
                 used: &Vec<usize>,
                 unplaced_chain: &std::collections::BTreeSet<u32>,
                 state: &S::State,
                 placed: Option<(u32, S::State)>|
     -> Level<S::State> {
        let first_unplaced = unplaced_chain.first().copied().unwrap_or(u32::MAX);
        let mut candidates = Vec::new();
        let mut cur = next[HEAD as usize];
        let mut blocker = NIL;
        while cur != NIL {
            let e = entries[cur as usize];
            if !e.call {
                blocker = e.op;
                break;
            }
            let class = class_of[e.op as usize];
            let twin_ok = class == NIL || members[class as usize][used[class as usize]] == e.op;
            let chain_ok = chain[e.op as usize].is_none_or(|(_, needs)| first_unplaced >= needs);
            if twin_ok && chain_ok {
                candidates.push(e.op);
            }
            cur = next[cur as usize];
        }
        candidates.sort_by_cached_key(|&i| rank(state, i));
        Level {
            candidates,
            next: 0,
            blocker,
            placed,
        }
    };

    let mut remaining = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut state = spec.init();
    let mut placed: u128 = 0;
    let mut memo: FxHashSet<(u128, u64)> = FxHashSet::default();
    memo.insert((placed, state_hash(&state)));
    let mut levels: Vec<Level<S::State>> = vec![level(&next, &used, &unplaced_chain, &state, None)];
    // What the levels hold besides the memo (their candidates and the state before each placed
    // operation), counted against the memory budget with the memo.
    let level_bytes = |l: &Level<S::State>| {
        std::mem::size_of::<Level<S::State>>()
            + l.candidates.capacity() * std::mem::size_of::<u32>()
            + l.placed
                .as_ref()
                .map_or(0, |(_, before)| spec.state_bytes(before))
    };
    let mut stack_bytes = level_bytes(&levels[0]);
    // The order placed so far, and the longest one seen, kept in step: `agree` leading
    // entries of `order` equal `best`'s.
    let mut order: Vec<usize> = Vec::new();
    let mut best: Vec<usize> = Vec::new();
    let mut best_found: Option<(usize, S::State)> = None;
    let mut agree = 0usize;
    let mut stats = SearchStats::default();
    loop {
        if remaining == 0 {
            stats.configurations = memo.len() as u64;
            return (Outcome::Linearizable { order }, stats);
        }
        stats.steps += 1;
        if stats.steps & 0x3FF == 0 {
            if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                stats.configurations = memo.len() as u64;
                return (Outcome::GaveUp(GaveUp::Deadline), stats);
            }
            if limits.max_memo_bytes > 0
                && memo
                    .len()
                    .saturating_mul(MEMO_ENTRY_BYTES)
                    .saturating_add(stack_bytes)
                    > limits.max_memo_bytes
            {
                stats.configurations = memo.len() as u64;
                return (Outcome::GaveUp(GaveUp::Memory), stats);
            }
        }
        let top = levels.last_mut().expect("the root level stays");
        if let Some(&i) = top.candidates.get(top.next) {
            top.next += 1;
            let iu = i as usize;
            if let Some(after) = spec.step(&state, &ops[iu].op) {
                let key = (placed ^ zobrist(iu), state_hash(&after));
                if memo.insert(key) {
                    placed = key.0;
                    let before = std::mem::replace(&mut state, after);
                    order.push(iu);
                    if agree + 1 == order.len() && best.get(agree) == Some(&iu) {
                        agree += 1;
                    }
                    unlink(&mut next, &mut prev, call_entry[iu]);
                    if ops[iu].ret.is_some() {
                        unlink(&mut next, &mut prev, ret_entry[iu]);
                        remaining -= 1;
                    } else {
                        used[class_of[iu] as usize] += 1;
                    }
                    if let Some((pos, _)) = chain[iu] {
                        unplaced_chain.remove(&pos);
                    }
                    let pushed = level(&next, &used, &unplaced_chain, &state, Some((i, before)));
                    stack_bytes += level_bytes(&pushed);
                    levels.push(pushed);
                }
            }
            continue;
        }
        // Every candidate tried: a dead end. The blocker's return cannot be passed from here.
        if top.blocker != NIL && (best_found.is_none() || order.len() > best.len()) {
            best.truncate(agree);
            best.extend_from_slice(&order[agree..]);
            agree = order.len();
            best_found = Some((top.blocker as usize, state.clone()));
        }
        if let Some(top) = levels.last() {
            stack_bytes = stack_bytes.saturating_sub(level_bytes(top));
        }
        let Some(Level {
            placed: Some((i, before)),
            ..
        }) = levels.pop()
        else {
            stats.configurations = memo.len() as u64;
            let (culprit, state) = best_found.unwrap_or((0, spec.init()));
            return (
                Outcome::NotLinearizable {
                    longest: best,
                    culprit,
                    state,
                },
                stats,
            );
        };
        order.pop();
        agree = agree.min(order.len());
        let iu = i as usize;
        state = before;
        placed ^= zobrist(iu);
        if ops[iu].ret.is_some() {
            relink(&mut next, &mut prev, ret_entry[iu]);
            remaining += 1;
        } else {
            used[class_of[iu] as usize] -= 1;
        }
        relink(&mut next, &mut prev, call_entry[iu]);
        if let Some((pos, _)) = chain[iu] {
            unplaced_chain.insert(pos);
        }
    }
}

/// Checks a witness independently of the search: every required operation appears once, no
/// operation twice, each is accepted by the model in turn, and no operation comes after one
/// that was invoked after it returned. An error says what is wrong.
pub(crate) fn verify<S: Spec>(spec: &S, ops: &[SearchOp<S::Op>], order: &[usize]) -> Result<(), String> {
    let mut seen = vec![false; ops.len()];
    let mut state = spec.init();
    for &i in order {
        if std::mem::replace(&mut seen[i], true) {
            return Err(format!("operation {i} placed twice"));
        }
        state = spec
            .step(&state, &ops[i].op)
            .ok_or_else(|| format!("operation {i} cannot take effect where it was placed"))?;
    }
    if let Some(i) = (0..ops.len()).find(|&i| ops[i].ret.is_some() && !seen[i]) {
        return Err(format!("required operation {i} not placed"));
    }
    // Real time: an op placed after another must not have returned before that one's call.
    let mut min_ret_after = usize::MAX;
    for &i in order.iter().rev() {
        if min_ret_after < ops[i].call {
            return Err(format!(
                "operation {i} placed after an operation that returned before its call"
            ));
        }
        if let Some(r) = ops[i].ret {
            min_ret_after = min_ret_after.min(r);
        }
    }
    Ok(())
}
