//! Last-write-wins state, shared by the multi-leader and leaderless designs.
//!
//! Every write carries a [`Stamp`]: the writing node's (skewable) clock in nanoseconds, its id,
//! and its own counter. A key's [`LwwCell`] keeps the register value with the highest stamp and
//! the list elements ordered by stamp (like Cassandra's list cells), so merging is commutative,
//! associative and idempotent: replicas that saw the same writes converge whatever the order.
//! A clock that runs behind really makes a node's later writes lose to earlier ones.

use super::txn::{Kind, LocalStore};
use crate::clock::Clock;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The version of a last-write-wins write. Ordered by (ts, node, seq).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// The writing node's clock, nanoseconds since the Unix epoch (offset included).
    pub ts: u64,
    /// The writing node's id.
    pub node: String,
    /// The writing node's write counter (unique per node; breaks ties).
    pub seq: u64,
}

impl Stamp {
    pub fn to_json(&self) -> Value {
        json!({"ts": self.ts, "node": self.node, "seq": self.seq})
    }
}

/// One key's state: a register part and a list part; what a read sees is whichever part was
/// written last (the register if its stamp beats every list element).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LwwCell {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::raw_json::tagged_option"
    )]
    pub reg: Option<(Stamp, Value)>,
    /// List elements, sorted by stamp, no duplicate stamps.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::raw_json::tagged"
    )]
    pub items: Vec<(Stamp, Value)>,
}

impl LwwCell {
    /// A cell holding one register write.
    pub fn register(stamp: Stamp, value: Value) -> LwwCell {
        LwwCell {
            reg: Some((stamp, value)),
            items: Vec::new(),
        }
    }

    /// A cell holding one list element.
    pub fn element(stamp: Stamp, value: Value) -> LwwCell {
        LwwCell {
            reg: None,
            items: vec![(stamp, value)],
        }
    }

    /// Merges `other` into this cell; returns whether anything changed.
    pub fn merge(&mut self, other: &LwwCell) -> bool {
        let mut changed = false;
        if let Some((s, v)) = &other.reg
            && self.reg.as_ref().is_none_or(|(mine, _)| s > mine)
        {
            self.reg = Some((s.clone(), v.clone()));
            changed = true;
        }
        for (s, v) in &other.items {
            // Elements mostly arrive in stamp order: check the end first.
            if self.items.last().is_none_or(|(last, _)| s > last) {
                self.items.push((s.clone(), v.clone()));
                changed = true;
            } else if let Err(at) = self.items.binary_search_by(|(x, _)| x.cmp(s)) {
                self.items.insert(at, (s.clone(), v.clone()));
                changed = true;
            }
        }
        changed
    }

    /// What the key holds, as a read sees it.
    pub fn kind(&self) -> Option<Kind> {
        match (&self.reg, self.items.last()) {
            (None, None) => None,
            (Some(_), None) => Some(Kind::Register),
            (None, Some(_)) => Some(Kind::List),
            (Some((r, _)), Some((l, _))) => Some(if r > l { Kind::Register } else { Kind::List }),
        }
    }

    /// The value a read sees (null when empty) and its version (null when empty).
    pub fn visible(&self) -> (Value, Value) {
        match self.kind() {
            None => (Value::Null, Value::Null),
            Some(Kind::Register) => {
                let (s, v) = self
                    .reg
                    .as_ref()
                    .map(|(s, v)| (s.to_json(), v.clone()))
                    .unwrap_or_default();
                (v, s)
            }
            Some(Kind::List) => {
                let values = self.items.iter().map(|(_, v)| v.clone()).collect();
                let version = self.items.last().map(|(s, _)| s.to_json()).unwrap_or_default();
                (Value::Array(values), version)
            }
        }
    }
}

/// A node's last-write-wins data.
#[derive(Debug, Default)]
pub struct LwwData {
    pub map: HashMap<String, LwwCell>,
}

impl LwwData {
    /// Merges a cell into a key; returns whether anything changed.
    pub fn merge(&mut self, key: &str, cell: &LwwCell) -> bool {
        match self.map.get_mut(key) {
            Some(mine) => mine.merge(cell),
            None => {
                self.map.insert(key.to_string(), cell.clone());
                true
            }
        }
    }

    /// The key's cell (empty when absent).
    pub fn cell(&self, key: &str) -> LwwCell {
        self.map.get(key).cloned().unwrap_or_default()
    }
}

/// Makes this node's stamps: its clock, its id, its counter.
#[derive(Debug)]
pub struct StampSource {
    node: String,
    last_ts: u64,
    /// The last counter value used.
    pub seq: u64,
}

impl StampSource {
    pub fn new(node: &str) -> StampSource {
        StampSource {
            node: node.to_string(),
            last_ts: 0,
            seq: 0,
        }
    }

    /// Notes a stamp read back from the log, so counters are never reused after a restart.
    pub fn observe(&mut self, stamp: &Stamp) {
        if stamp.node == self.node {
            self.seq = self.seq.max(stamp.seq);
        }
    }

    /// A new stamp from the clock as it reads now. Two stamps taken in the same nanosecond get
    /// distinct times; a clock moved backwards is used as it is.
    pub fn next(&mut self, clock: &Clock) -> Stamp {
        let mut ts = clock.now_ns();
        if ts == self.last_ts {
            ts += 1;
        }
        self.last_ts = ts;
        self.seq += 1;
        Stamp {
            ts,
            node: self.node.clone(),
            seq: self.seq,
        }
    }
}

/// Runs a transaction on local LWW data, stamping each write and recording it as a cell merge.
pub struct StampingStore<'a> {
    pub data: &'a mut LwwData,
    pub stamps: &'a mut StampSource,
    pub clock: &'a Clock,
    /// The writes made, as (key, cell) merges to log and ship.
    pub effects: Vec<(String, LwwCell)>,
}

impl LocalStore for StampingStore<'_> {
    fn kind(&self, key: &str) -> Option<Kind> {
        self.data.map.get(key).and_then(LwwCell::kind)
    }

    fn read(&self, key: &str) -> (Value, Value) {
        self.data.map.get(key).map(LwwCell::visible).unwrap_or_default()
    }

    fn write(&mut self, key: &str, value: Value) -> Value {
        let stamp = self.stamps.next(self.clock);
        let version = stamp.to_json();
        let cell = LwwCell::register(stamp, value);
        self.data.merge(key, &cell);
        self.effects.push((key.to_string(), cell));
        version
    }

    fn append(&mut self, key: &str, value: Value) -> Value {
        let stamp = self.stamps.next(self.clock);
        let version = stamp.to_json();
        let cell = LwwCell::element(stamp, value);
        self.data.merge(key, &cell);
        self.effects.push((key.to_string(), cell));
        version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stamp(ts: u64, node: &str, seq: u64) -> Stamp {
        Stamp {
            ts,
            node: node.into(),
            seq,
        }
    }

    #[test]
    fn register_keeps_the_highest_stamp_and_lists_order_by_stamp() {
        let mut c = LwwCell::register(stamp(5, "n1", 1), json!(1));
        assert!(!c.merge(&LwwCell::register(stamp(4, "n2", 1), json!(2))));
        assert!(c.merge(&LwwCell::register(stamp(5, "n2", 1), json!(3))));
        assert_eq!(c.visible().0, json!(3));
        let mut l = LwwCell::element(stamp(10, "n1", 2), json!("b"));
        l.merge(&LwwCell::element(stamp(3, "n2", 7), json!("a")));
        l.merge(&LwwCell::element(stamp(10, "n1", 2), json!("b")));
        assert_eq!(l.visible().0, json!(["a", "b"]));
        assert_eq!(l.kind(), Some(Kind::List));
    }

    #[test]
    fn a_backwards_clock_makes_a_later_write_lose() {
        let clock = Clock::new();
        let mut stamps = StampSource::new("n1");
        let first = stamps.next(&clock);
        clock.bump(-1_000_000_000);
        let second = stamps.next(&clock);
        assert!(second < first);
        assert!(second.seq > first.seq);
    }

    fn arb_cell() -> impl Strategy<Value = LwwCell> {
        let st = (0u64..6, prop::sample::select(vec!["n1", "n2"]), 0u64..4);
        (
            prop::option::of((st.clone(), 0i64..5)),
            prop::collection::vec((st, 0i64..5), 0..4),
        )
            .prop_map(|(reg, items)| {
                let mk = |((ts, n, seq), v): ((u64, &str, u64), i64)| (stamp(ts, n, seq), json!(v));
                let mut cell = LwwCell {
                    reg: reg.map(mk),
                    items: Vec::new(),
                };
                for it in items {
                    let (s, v) = mk(it);
                    cell.merge(&LwwCell::element(s, v));
                }
                cell
            })
    }

    proptest! {
        #[test]
        fn merge_is_commutative_and_idempotent(a in arb_cell(), b in arb_cell()) {
            // Same stamp must mean same write; normalise values so generated cells respect that.
            let norm = |c: &LwwCell| {
                let mut c = c.clone();
                if let Some((s, v)) = &mut c.reg { *v = json!(s.ts * 100 + s.seq); }
                for (s, v) in &mut c.items { *v = json!(s.ts * 100 + s.seq); }
                c
            };
            let (a, b) = (norm(&a), norm(&b));
            let mut ab = a.clone();
            ab.merge(&b);
            let mut ba = b.clone();
            ba.merge(&a);
            prop_assert_eq!(&ab, &ba);
            let mut again = ab.clone();
            prop_assert!(!again.merge(&b));
            prop_assert_eq!(&again, &ab);
        }
    }
}
