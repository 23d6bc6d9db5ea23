//! The list-append part of [`super::TxnWatch`]: each key's observed order (the longest read so
//! far, grown as longer reads arrive), the writer of every appended value, and the edges they
//! imply (ww along the order, wr from a read's last element, rw from a read to the next
//! committed append after it and to the appends not yet observed), with the evidence that
//! needs no cycle (a read contradicting its own transaction, repeating an element or
//! disagreeing with the key's order; a read of an aborted append, also one fed after it; an
//! intermediate read; two transactions reading one version and appending to it; a value
//! appended twice).

use super::{Growing, committed};
use crate::graph::list_append::{NONE, kv};
use crate::graph::txn::{MicroOp, TxnSet};
use crate::history::Outcome;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Most appends not yet observed in a key that a read at its tip gets rw edges to (and most
/// readers at the tip a new unobserved append gets edges from); past it, a key adds none.
const MAX_UNOBSERVED_LINKS: usize = 256;

/// What is known of one key so far.
#[derive(Debug, Default)]
struct KeyState {
    /// The longest ok read so far: the observed version order.
    longest: Vec<u32>,
    /// The writer (fed transaction) of each element of `longest`, `NONE` while unknown.
    writer_at: Vec<u32>,
    /// Reads disagree or repeat an element: no more order edges.
    inconsistent: bool,
    /// Possibly committed writers whose append to the key is not (yet) in `longest`.
    unobserved: Vec<u32>,
    /// Readers by the length of their external view of the key.
    readers: BTreeMap<u32, Vec<u32>>,
}

/// What the list-append inference knows so far.
#[derive(Debug, Default)]
pub(super) struct ListInference {
    /// Appended value (key, value) -> its writer and the micro-op's position in it.
    writers: FxHashMap<u64, (u32, u32)>,
    /// Observed value -> its position in its key's order.
    pos: FxHashMap<u64, u32>,
    keys: FxHashMap<u32, KeyState>,
    /// Values read before any fed transaction appended them.
    awaiting: FxHashSet<u64>,
    /// Readers whose view of a key ends in a value whose writer is not fed yet.
    readers_ending: FxHashMap<u64, Vec<u32>>,
    /// (key, view length) -> transactions that read that version first and appended after.
    read_then_appended: FxHashMap<(u32, u32), u32>,
}

impl ListInference {
    /// Feeds transaction `t` (parsed into `set`, its real-time edges added).
    pub(super) fn feed(&mut self, set: &TxnSet, g: &mut Growing, t: u32) {
        let mops: Vec<MicroOp> = set.mops(t as usize).to_vec();
        for (i, mop) in mops.iter().enumerate() {
            if let MicroOp::Append { key, value } = *mop {
                self.append(set, g, t, i as u32, key, value);
            }
        }
        if set.txns[t as usize].outcome == Outcome::Ok {
            for i in 0..mops.len() {
                self.read(set, g, t, &mops, i);
            }
        }
    }

    /// Transaction `t`'s append of `value` to `key` (its micro-op `mop`).
    fn append(&mut self, set: &TxnSet, g: &mut Growing, t: u32, mop: u32, key: u32, value: u32) {
        let id = kv(key, value);
        if self.writers.insert(id, (t, mop)).is_some() {
            g.suspect = true; // appended twice: the check reports the history as bad input
            return;
        }
        let possibly = committed(set, t);
        if self.awaiting.remove(&id) && !possibly {
            g.suspect = true; // an aborted append was read
        }
        for reader in self.readers_ending.remove(&id).unwrap_or_default() {
            self.wr_edge(set, g, t, mop, key, reader);
        }
        if !possibly {
            return;
        }
        let Some(&p) = self.pos.get(&id) else {
            // Not observed yet: after every observed element.
            let state = self.keys.entry(key).or_default();
            if state.inconsistent {
                return;
            }
            state.unobserved.push(t);
            let last = state.writer_at.iter().rev().copied().find(|&w| w != NONE);
            let tip = state.longest.len() as u32;
            let at_tip: Vec<u32> = state.readers.get(&tip).cloned().unwrap_or_default();
            let linked =
                state.unobserved.len() <= MAX_UNOBSERVED_LINKS && at_tip.len() <= MAX_UNOBSERVED_LINKS;
            if let Some(last) = last {
                g.edge(last, t);
            }
            if linked {
                for r in at_tip {
                    g.edge(r, t);
                }
            }
            return;
        };
        self.place_writer(g, key, p, t);
    }

    /// Writer `t` (possibly committed) of position `p` of `key`'s order is known: ww edges
    /// to and from the nearest known writers around it, rw edges from the readers whose next
    /// committed append it is.
    fn place_writer(&mut self, g: &mut Growing, key: u32, p: u32, t: u32) {
        let state = self.keys.get_mut(&key).expect("an observed value's key is known");
        if state.inconsistent {
            return;
        }
        state.writer_at[p as usize] = t;
        let before = (0..p as usize).rev().find(|&q| state.writer_at[q] != NONE);
        let after = (p as usize + 1..state.writer_at.len())
            .find(|&q| state.writer_at[q] != NONE)
            .map(|q| state.writer_at[q]);
        let from = before.map_or(0, |q| q as u32 + 1);
        let readers: Vec<u32> = state
            .readers
            .range(from..=p)
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        let prev = before.map(|q| state.writer_at[q]);
        if let Some(prev) = prev {
            g.edge(prev, t);
        }
        if let Some(next) = after {
            g.edge(t, next);
        }
        for r in readers {
            g.edge(r, t);
        }
    }

    /// Reader `r`'s view of a key ends in the append `mop` of `writer`.
    fn wr_edge(&mut self, set: &TxnSet, g: &mut Growing, writer: u32, mop: u32, key: u32, r: u32) {
        if !committed(set, writer) {
            g.suspect = true; // an aborted read
            return;
        }
        g.edge(writer, r);
        let later = set.mops(writer as usize)[mop as usize + 1..]
            .iter()
            .any(|m| matches!(*m, MicroOp::Append { key: k, .. } if k == key));
        if later {
            g.suspect = true; // an intermediate read
        }
    }

    /// Micro-op `i` of `mops`, when it is a read of ok transaction `t`.
    fn read(&mut self, set: &TxnSet, g: &mut Growing, t: u32, mops: &[MicroOp], i: usize) {
        let MicroOp::ReadList {
            key,
            values: Some(span),
        } = mops[i]
        else {
            return;
        };
        let values = set.values(span);
        let own: Vec<u32> = mops[..i]
            .iter()
            .filter_map(|m| match *m {
                MicroOp::Append { key: k, value } if k == key => Some(value),
                _ => None,
            })
            .collect();
        let view_len = values.len().saturating_sub(own.len());
        let view = &values[..view_len];
        let foreign_own = view
            .iter()
            .any(|&v| self.writers.get(&kv(key, v)).is_some_and(|w| w.0 == t));
        if !values.ends_with(&own) || foreign_own {
            g.suspect = true; // internal
            return;
        }
        let first_on_key = mops.iter().position(|m| m.key() == key) == Some(i);
        let appends_later = mops[i..]
            .iter()
            .any(|m| matches!(*m, MicroOp::Append { key: k, .. } if k == key));
        if first_on_key && appends_later {
            let n = self.read_then_appended.entry((key, view_len as u32)).or_insert(0);
            *n += 1;
            if *n > 1 {
                // A lost update: a cycle too, unless a key's unobserved appends pass the cap.
                g.suspect = true;
            }
        }
        let mut seen = FxHashSet::default();
        if !values.iter().all(|v| seen.insert(*v)) {
            g.suspect = true; // duplicate elements
            self.keys.entry(key).or_default().inconsistent = true;
        }
        self.grow_order(set, g, key, values);
        for &v in view {
            let id = kv(key, v);
            match self.writers.get(&id) {
                Some(&(w, _)) if !committed(set, w) => g.suspect = true,
                Some(_) => {}
                None => {
                    self.awaiting.insert(id);
                }
            }
        }
        if let Some(&last) = view.last() {
            let id = kv(key, last);
            match self.writers.get(&id).copied() {
                Some((w, mop)) => self.wr_edge(set, g, w, mop, key, t),
                None => self.readers_ending.entry(id).or_default().push(t),
            }
        }
        let state = self.keys.entry(key).or_default();
        if state.inconsistent {
            return;
        }
        state.readers.entry(view_len as u32).or_default().push(t);
        let next = (view_len..state.writer_at.len())
            .map(|q| state.writer_at[q])
            .find(|&w| w != NONE);
        let mut targets: Vec<u32> = next.into_iter().collect();
        if view_len == state.longest.len() && state.unobserved.len() <= MAX_UNOBSERVED_LINKS {
            targets.extend(state.unobserved.iter().copied());
        }
        for u in targets {
            g.edge(t, u);
        }
    }

    /// A read of `key` as `values`: checked against the order so far, which grows when the
    /// read is longer.
    fn grow_order(&mut self, set: &TxnSet, g: &mut Growing, key: u32, values: &[u32]) {
        let state = self.keys.entry(key).or_default();
        if state.inconsistent {
            return;
        }
        let n = state.longest.len();
        let compatible = if values.len() <= n {
            state.longest.starts_with(values)
        } else {
            values.starts_with(&state.longest)
        };
        if !compatible {
            state.inconsistent = true;
            g.suspect = true; // incompatible orders
            return;
        }
        if values.len() <= n {
            return;
        }
        state.longest.extend_from_slice(&values[n..]);
        state.writer_at.resize(values.len(), NONE);
        let mut placed = Vec::new();
        for (p, &v) in values.iter().enumerate().skip(n) {
            let id = kv(key, v);
            self.pos.insert(id, p as u32);
            match self.writers.get(&id) {
                Some(&(w, _)) if set.txns[w as usize].possibly_committed() => placed.push((p as u32, w)),
                Some(_) => g.suspect = true, // an aborted append in the order
                None => {
                    self.awaiting.insert(id);
                }
            }
        }
        let state = self.keys.get_mut(&key).expect("entered above");
        let newly: FxHashSet<u32> = placed.iter().map(|&(_, w)| w).collect();
        state.unobserved.retain(|u| !newly.contains(u));
        for (p, w) in placed {
            self.place_writer(g, key, p, w);
        }
    }
}
