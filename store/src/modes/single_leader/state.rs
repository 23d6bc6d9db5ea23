//! Single-leader local state: the replicated log (entries after a snapshot base), the committed
//! data (the effects of the entries up to the commit index), and the term/vote bookkeeping, plus
//! the WAL records that persist them and their replay on start-up.
//!
//! Entries carry *effects* (set a register, append to a list), never the client's request: the
//! leader evaluates compare-and-set and transactions when it appends (against its speculative
//! view, see [`super::pending`]), so followers apply exactly what the leader decided. A node
//! applies an entry to its data only once the entry is committed (see [`super::commit`]); the
//! entries after the commit index sit in the log, unread.

use crate::modes::txn::{Kind, LocalStore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The position of a write in the log: its term and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogVersion {
    pub term: u64,
    pub index: u64,
}

impl LogVersion {
    pub fn to_json(self) -> Value {
        json!({"term": self.term, "index": self.index})
    }
}

/// One change an entry makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    #[serde(rename = "w")]
    Write(String, #[serde(with = "crate::raw_json")] Value),
    #[serde(rename = "a")]
    Append(String, #[serde(with = "crate::raw_json")] Value),
}

/// One log entry: every effect of one client write, applied atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub term: u64,
    pub index: u64,
    /// The leader's clock when it appended the entry (nanoseconds; informational).
    pub ts: u64,
    pub effects: Vec<Effect>,
}

/// What a key holds on this node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cell {
    Register(#[serde(with = "crate::raw_json")] Value, LogVersion),
    List(
        #[serde(deserialize_with = "crate::raw_json::list")] Vec<Value>,
        LogVersion,
    ),
}

/// The data produced by the applied log.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub map: HashMap<String, Cell>,
}

impl Effect {
    /// The key the effect changes.
    pub fn key(&self) -> &str {
        match self {
            Effect::Write(k, _) | Effect::Append(k, _) => k,
        }
    }
}

impl Data {
    /// Applies one entry's effects.
    pub fn apply(&mut self, entry: &Entry) {
        let version = LogVersion {
            term: entry.term,
            index: entry.index,
        };
        for effect in &entry.effects {
            match effect {
                Effect::Write(k, v) => {
                    self.map.insert(k.clone(), Cell::Register(v.clone(), version));
                }
                Effect::Append(k, v) => match self.map.get_mut(k) {
                    Some(Cell::List(items, ver)) => {
                        items.push(v.clone());
                        *ver = version;
                    }
                    // A log never holds an append to a register key (the leader checks types).
                    _ => {
                        self.map.insert(k.clone(), Cell::List(vec![v.clone()], version));
                    }
                },
            }
        }
    }

    pub fn kind(&self, key: &str) -> Option<Kind> {
        match self.map.get(key) {
            None => None,
            Some(Cell::Register(..)) => Some(Kind::Register),
            Some(Cell::List(..)) => Some(Kind::List),
        }
    }

    pub fn read(&self, key: &str) -> (Value, Value) {
        match self.map.get(key) {
            None => (Value::Null, Value::Null),
            Some(Cell::Register(v, ver)) => (v.clone(), ver.to_json()),
            Some(Cell::List(items, ver)) => (Value::Array(items.clone()), ver.to_json()),
        }
    }
}

/// Reads the data without changing it (for reads and read-only transactions).
pub struct ReadOnly<'a>(pub &'a Data);

impl LocalStore for ReadOnly<'_> {
    fn kind(&self, key: &str) -> Option<Kind> {
        self.0.kind(key)
    }
    fn read(&self, key: &str) -> (Value, Value) {
        self.0.read(key)
    }
    fn write(&mut self, _: &str, _: Value) -> Value {
        unreachable!("read-only transactions hold no writes")
    }
    fn append(&mut self, _: &str, _: Value) -> Value {
        unreachable!("read-only transactions hold no writes")
    }
}

/// The log: everything after a snapshot base, in memory.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// The last entry covered by the snapshot the log starts from (0, 0 for none).
    pub base: LogVersion,
    /// Entries after the base: `entries[i].index == base.index + 1 + i`.
    pub entries: Vec<Arc<Entry>>,
}

impl Log {
    /// The last entry's position (the base when empty).
    pub fn last(&self) -> LogVersion {
        self.entries
            .last()
            .map(|e| LogVersion {
                term: e.term,
                index: e.index,
            })
            .unwrap_or(self.base)
    }

    /// The term of the entry at `index`, if the log has it (or it is the base).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.base.index {
            return Some(self.base.term);
        }
        if index < self.base.index {
            return None;
        }
        self.entries
            .get((index - self.base.index - 1) as usize)
            .map(|e| e.term)
    }

    /// The entry at `index`, if the log holds it (not the base).
    pub fn entry(&self, index: u64) -> Option<&Arc<Entry>> {
        if index <= self.base.index {
            return None;
        }
        self.entries.get((index - self.base.index - 1) as usize)
    }

    /// The position of `index` (with its term), if the log has it (or it is the base).
    pub fn position(&self, index: u64) -> Option<LogVersion> {
        self.term_at(index).map(|term| LogVersion { term, index })
    }

    /// Drops every entry after `index` (which must not be before the base).
    pub fn truncate_after(&mut self, index: u64) {
        let keep = index.saturating_sub(self.base.index) as usize;
        self.entries.truncate(keep);
    }

    /// Does the log hold this exact position?
    pub fn has(&self, at: LogVersion) -> bool {
        self.term_at(at.index) == Some(at.term)
    }

    /// Forgets the entries up to `index` (they stay in the WAL and in the data); the log then
    /// starts after them. Peers that need them get a snapshot instead.
    pub fn compact(&mut self, index: u64) {
        let Some(term) = self.term_at(index) else { return };
        if index <= self.base.index {
            return;
        }
        let drop = (index - self.base.index) as usize;
        self.entries.drain(..drop);
        self.base = LogVersion { term, index };
    }

    /// Up to `max` entries starting at `from` (which must be after the base).
    pub fn slice(&self, from: u64, max: usize) -> Vec<Arc<Entry>> {
        if from <= self.base.index {
            return Vec::new();
        }
        let start = (from - self.base.index - 1) as usize;
        self.entries.iter().skip(start).take(max).cloned().collect()
    }
}

/// A WAL record of the single-leader design.
#[derive(Debug, Serialize, Deserialize)]
pub enum Record {
    /// The node moved to `term` (and voted for `voted_for` in it).
    Term { term: u64, voted_for: Option<String> },
    /// An entry appended to the log.
    Entry(Arc<Entry>),
    /// The entries after `after` were dropped (uncommitted entries that conflicted with the
    /// leader's log).
    Truncate { after: u64 },
    /// The entries up to `index` are committed (a hint for recovery: written lazily, so a
    /// restarted node may recover an older commit index and learn the rest from the leader).
    Commit { index: u64 },
    /// The log was replaced by a snapshot of the committed data at `base` (entries after it
    /// follow as `Entry` records).
    Snapshot {
        base: LogVersion,
        data: Vec<(String, Cell)>,
    },
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        // Serialising these types cannot fail (string keys, JSON values).
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The state rebuilt from the WAL.
#[derive(Debug, Default)]
pub struct Recovered {
    pub term: u64,
    pub voted_for: Option<String>,
    pub log: Log,
    /// The data of the entries up to `commit`.
    pub data: Data,
    /// The last commit index recorded (never beyond the log).
    pub commit: u64,
}

/// Replays WAL records: rebuilds the log, then applies the entries up to the recorded commit
/// index to the data.
pub fn replay(records: &[Vec<u8>]) -> anyhow::Result<Recovered> {
    let mut r = Recovered::default();
    for (i, bytes) in records.iter().enumerate() {
        let record: Record = serde_json::from_slice(bytes)
            .map_err(|e| anyhow::anyhow!("WAL record {i} is not a single-leader record: {e}"))?;
        match record {
            Record::Term { term, voted_for } => {
                r.term = term;
                r.voted_for = voted_for;
            }
            Record::Entry(entry) => {
                let expected = r.log.last().index + 1;
                if entry.index != expected {
                    anyhow::bail!(
                        "WAL record {i}: entry {} where {expected} was expected",
                        entry.index
                    );
                }
                r.term = r.term.max(entry.term);
                r.log.entries.push(entry);
            }
            Record::Truncate { after } => {
                if after < r.commit || after < r.log.base.index {
                    anyhow::bail!(
                        "WAL record {i}: truncation after index {after}, below the commit index {}",
                        r.commit
                    );
                }
                r.log.truncate_after(after);
            }
            Record::Commit { index } => r.commit = r.commit.max(index),
            Record::Snapshot { base, data } => {
                r.log = Log {
                    base,
                    entries: Vec::new(),
                };
                r.data = Data {
                    map: data.into_iter().collect(),
                };
                r.commit = base.index;
                r.term = r.term.max(base.term);
            }
        }
    }
    r.commit = r.commit.min(r.log.last().index);
    for index in r.log.base.index + 1..=r.commit {
        if let Some(entry) = r.log.entry(index) {
            r.data.apply(entry);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64, index: u64, effects: Vec<Effect>) -> Arc<Entry> {
        Arc::new(Entry {
            term,
            index,
            ts: 0,
            effects,
        })
    }

    #[test]
    fn compaction_moves_the_base() {
        let mut log = Log::default();
        for i in 1..=10 {
            log.entries.push(entry(1 + i / 5, i, vec![]));
        }
        log.compact(6);
        assert_eq!(log.base, LogVersion { term: 2, index: 6 });
        assert_eq!(log.entries.len(), 4);
        assert_eq!(log.entries[0].index, 7);
        assert!(log.has(LogVersion { term: 2, index: 6 }));
        assert_eq!(log.term_at(5), None);
        assert_eq!(log.slice(8, 10).len(), 3);
        log.compact(3);
        assert_eq!(log.base.index, 6);
    }

    #[test]
    fn replay_rebuilds_log_data_and_term() {
        let records = [
            Record::Term {
                term: 1,
                voted_for: Some("n1".into()),
            },
            Record::Entry(entry(1, 1, vec![Effect::Write("x".into(), json!(1))])),
            Record::Entry(entry(1, 2, vec![Effect::Append("l".into(), json!(7))])),
            Record::Snapshot {
                base: LogVersion { term: 2, index: 5 },
                data: vec![(
                    "x".into(),
                    Cell::Register(json!(9), LogVersion { term: 2, index: 4 }),
                )],
            },
            Record::Entry(entry(3, 6, vec![Effect::Append("l".into(), json!(8))])),
            Record::Entry(entry(3, 7, vec![Effect::Write("x".into(), json!(10))])),
            Record::Commit { index: 6 },
        ];
        let bytes: Vec<Vec<u8>> = records.iter().map(Record::encode).collect();
        let r = replay(&bytes).unwrap();
        assert_eq!(r.term, 3);
        assert_eq!(r.log.last(), LogVersion { term: 3, index: 7 });
        assert!(r.log.has(LogVersion { term: 2, index: 5 }));
        assert!(!r.log.has(LogVersion { term: 1, index: 2 }));
        assert_eq!(r.commit, 6);
        assert_eq!(
            r.data.read("x").0,
            json!(9),
            "entry 7 is not committed: not applied"
        );
        assert_eq!(r.data.read("l").0, json!([8]));
        let gap = vec![Record::Entry(entry(1, 2, vec![])).encode()];
        assert!(replay(&gap).is_err());
    }

    #[test]
    fn replay_applies_only_committed_entries_and_honours_truncation() {
        let w = |k: &str, v| vec![Effect::Write(k.into(), json!(v))];
        let records = [
            Record::Entry(entry(1, 1, w("x", 1))),
            Record::Entry(entry(1, 2, w("x", 2))),
            Record::Commit { index: 1 },
            Record::Entry(entry(1, 3, w("y", 3))),
            Record::Truncate { after: 1 },
            Record::Entry(entry(2, 2, w("y", 4))),
        ];
        let bytes: Vec<Vec<u8>> = records.iter().map(Record::encode).collect();
        let r = replay(&bytes).unwrap();
        assert_eq!(r.log.last(), LogVersion { term: 2, index: 2 });
        assert_eq!(
            (r.commit, r.data.read("x").0, r.data.read("y").0),
            (1, json!(1), Value::Null)
        );
        // Without a commit record nothing is applied; a commit beyond the log is clamped.
        let bytes = vec![records[0].encode(), Record::Commit { index: 9 }.encode()];
        let r = replay(&bytes).unwrap();
        assert_eq!((r.commit, r.data.read("x").0), (1, json!(1)));
        assert_eq!(replay(&bytes[..1]).unwrap().data.read("x").0, Value::Null);
        // A truncation below the commit index is a corrupt log.
        let bad = [
            Record::Entry(entry(1, 1, w("x", 1))),
            Record::Commit { index: 1 },
            Record::Truncate { after: 0 },
        ];
        assert!(replay(&bad.iter().map(Record::encode).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn truncation_and_positions() {
        let mut log = Log::default();
        for i in 1..=5 {
            log.entries.push(entry(1, i, vec![]));
        }
        log.compact(2);
        assert_eq!(log.position(2), Some(LogVersion { term: 1, index: 2 }));
        assert_eq!(log.position(1), None);
        assert!(log.entry(2).is_none(), "the base is not an entry");
        assert_eq!(log.entry(4).map(|e| e.index), Some(4));
        log.truncate_after(3);
        assert_eq!(log.last().index, 3);
        log.truncate_after(2);
        assert_eq!(log.last(), LogVersion { term: 1, index: 2 });
    }
}
