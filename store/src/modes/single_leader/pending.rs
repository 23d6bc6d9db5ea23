//! The leader's speculative view: the committed data plus the effects of every entry appended
//! after the commit index, in log order.
//!
//! The leader decides compare-and-set, type checks and the reads inside write transactions
//! against this view, because a new entry takes effect after every entry before it in the log,
//! committed or not. Nothing read here is ever returned to a client before it is committed: a
//! write's results are delivered once its own entry (and so every entry before it) is
//! committed, and a refusal decided against uncommitted entries waits for them to commit (see
//! `SingleLeader::write`). Clients' reads use the committed data only.
//!
//! [`Pending`] holds, per key touched by an uncommitted entry, what those entries did to it (the
//! register they left, or the elements they appended) and the last index that touched it; a key
//! is dropped once that index is committed (the committed data then holds the same cell).

use super::state::{Cell, Data, Effect, Entry, LogVersion};
use crate::modes::txn::{Kind, LocalStore};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

/// What the uncommitted entries did to one key.
#[derive(Debug, Clone, PartialEq)]
enum PendingCell {
    /// The register as the last uncommitted write to it left it.
    Register(Value, LogVersion),
    /// Elements appended after the committed list (or to a key the committed data lacks), so an
    /// append costs the element, not a copy of the list.
    Appended(VecDeque<Value>, LogVersion),
}

/// The effects of the uncommitted entries, per key: what they did to it, and the last index that
/// touched it.
#[derive(Debug, Default)]
pub struct Pending {
    cells: HashMap<String, (PendingCell, u64)>,
}

impl Pending {
    /// The view of a node that has `entries` (in order) after its committed data.
    pub fn rebuild<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Pending {
        let mut pending = Pending::default();
        for entry in entries {
            let version = LogVersion {
                term: entry.term,
                index: entry.index,
            };
            for effect in &entry.effects {
                pending.record(effect, version);
            }
        }
        pending
    }

    pub fn clear(&mut self) {
        self.cells.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Number of keys with uncommitted changes.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Adds one effect of the entry at `version`.
    fn record(&mut self, effect: &Effect, version: LogVersion) {
        match effect {
            Effect::Write(key, value) => {
                self.cells.insert(
                    key.clone(),
                    (PendingCell::Register(value.clone(), version), version.index),
                );
            }
            Effect::Append(key, value) => {
                let slot = self
                    .cells
                    .entry(key.clone())
                    .or_insert_with(|| (PendingCell::Appended(VecDeque::new(), version), version.index));
                match &mut slot.0 {
                    PendingCell::Appended(items, ver) => {
                        items.push_back(value.clone());
                        *ver = version;
                    }
                    // The leader checks types, so an append never follows a register write.
                    cell => *cell = PendingCell::Appended(VecDeque::from([value.clone()]), version),
                }
                slot.1 = version.index;
            }
        }
    }

    /// Forgets what `entry` changed where no later uncommitted entry changed it too (call for
    /// each entry as it is applied to the committed data, with the new commit index).
    pub fn forget_committed(&mut self, entry: &Entry, commit: u64) {
        if self.is_empty() {
            return;
        }
        for effect in &entry.effects {
            let Some((cell, last)) = self.cells.get_mut(effect.key()) else {
                continue;
            };
            if *last <= commit {
                self.cells.remove(effect.key());
            } else if let (Effect::Append(..), PendingCell::Appended(items, _)) = (effect, cell) {
                // The committed data now holds this element; the later ones stay pending. The
                // elements are kept in log order, so it is the first one.
                items.pop_front();
            }
        }
    }

    fn get(&self, key: &str) -> Option<&PendingCell> {
        self.cells.get(key).map(|(cell, _)| cell)
    }
}

/// Runs a write on the leader against the speculative view: reads see the committed data under
/// the pending effects; each write is added to the pending effects at once (so later micro-ops
/// see it) and recorded as an effect of the entry being built.
pub struct Speculative<'a> {
    pub data: &'a Data,
    pub pending: &'a mut Pending,
    pub version: LogVersion,
    pub effects: Vec<Effect>,
}

impl Speculative<'_> {
    fn add(&mut self, effect: Effect) -> Value {
        self.pending.record(&effect, self.version);
        self.effects.push(effect);
        self.version.to_json()
    }
}

impl LocalStore for Speculative<'_> {
    fn kind(&self, key: &str) -> Option<Kind> {
        match self.pending.get(key) {
            Some(PendingCell::Register(..)) => Some(Kind::Register),
            Some(PendingCell::Appended(..)) => Some(Kind::List),
            None => self.data.kind(key),
        }
    }
    fn read(&self, key: &str) -> (Value, Value) {
        match self.pending.get(key) {
            Some(PendingCell::Register(v, ver)) => (v.clone(), ver.to_json()),
            Some(PendingCell::Appended(appended, ver)) => {
                let mut items = match self.data.map.get(key) {
                    Some(Cell::List(items, _)) => items.clone(),
                    _ => Vec::new(),
                };
                items.extend(appended.iter().cloned());
                (Value::Array(items), ver.to_json())
            }
            None => self.data.read(key),
        }
    }
    fn write(&mut self, key: &str, value: Value) -> Value {
        self.add(Effect::Write(key.to_string(), value))
    }
    fn append(&mut self, key: &str, value: Value) -> Value {
        self.add(Effect::Append(key.to_string(), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(index: u64, effects: Vec<Effect>) -> Entry {
        Entry {
            term: 1,
            index,
            ts: 0,
            effects,
        }
    }

    fn spec<'a>(data: &'a Data, pending: &'a mut Pending, index: u64) -> Speculative<'a> {
        Speculative {
            data,
            pending,
            version: LogVersion { term: 1, index },
            effects: Vec::new(),
        }
    }

    #[test]
    fn the_view_stacks_uncommitted_effects_over_the_committed_data() {
        let mut data = Data::default();
        data.apply(&entry(1, vec![Effect::Append("l".into(), json!(1))]));
        data.apply(&entry(2, vec![Effect::Write("x".into(), json!("a"))]));
        let e3 = entry(3, vec![Effect::Append("l".into(), json!(2))]);
        let e4 = entry(4, vec![Effect::Write("x".into(), json!("b"))]);
        let mut pending = Pending::rebuild([&e3, &e4]);
        let mut s = spec(&data, &mut pending, 5);
        assert_eq!(s.read("l").0, json!([1, 2]));
        assert_eq!(s.read("x"), (json!("b"), json!({"term": 1, "index": 4})));
        s.append("l", json!(3));
        s.write("y", json!(7));
        assert_eq!(s.read("l").0, json!([1, 2, 3]));
        assert_eq!(s.kind("y"), Some(Kind::Register));
        let e5 = entry(5, std::mem::take(&mut s.effects));
        // The committed data is untouched.
        assert_eq!(data.read("l").0, json!([1]));
        assert_eq!(data.read("y").0, Value::Null);
        // Committing 3 and 4: l is still pending (5 appended to it), x is not.
        for e in [&e3, &e4] {
            data.apply(e);
            pending.forget_committed(e, 4);
        }
        assert_eq!(pending.len(), 2, "l and y stay pending");
        let s = spec(&data, &mut pending, 6);
        assert_eq!(s.read("l").0, json!([1, 2, 3]));
        assert_eq!(s.read("x").0, json!("b"));
        data.apply(&e5);
        pending.forget_committed(&e5, 5);
        assert!(pending.is_empty());
        assert_eq!(data.read("l").0, json!([1, 2, 3]));
    }
}
