//! Transactions as the graph checker sees them: each client operation of a history, parsed
//! strictly into micro-ops (`append` / `r` for list-append, `w` / `r` for rw-register) with keys
//! and values interned to small integers.
//!
//! A malformed micro-op is a [`HistoryError`] naming the file and line. Reads are known only for
//! `ok` transactions; an `info` or `fail` transaction's reads are unknown (its invocation carries
//! `null` reads), and only its writes matter.

use crate::history::{History, HistoryError, Operation, Outcome, RawValues};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// The transactional workload: which micro-ops a transaction may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// `["append", k, v]` and `["r", k, [v...]]`: values appended to a key are unique.
    ListAppend,
    /// `["w", k, v]` and `["r", k, v]`: values written to a key are unique.
    RwRegister,
}

impl Workload {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        }
    }
}

/// A key or value: an integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// An integer.
    Int(i64),
    /// A string (Jepsen keywords arrive as strings).
    Str(Box<str>),
    /// A number that is not a 64-bit integer (a big integer or a decimal), as written: two
    /// such numbers are the same value only if their text is the same.
    Num(Box<str>),
}

impl Scalar {
    /// The scalar as JSON, for reports.
    pub fn to_json(&self) -> Value {
        match self {
            Scalar::Int(i) => Value::from(*i),
            Scalar::Str(s) => Value::from(s.as_ref()),
            Scalar::Num(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::from(text.as_ref())),
        }
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Str(s) | Scalar::Num(s) => f.write_str(s),
        }
    }
}

/// Interns scalars to dense `u32` ids (keys and values share one table).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ints: FxHashMap<i64, u32>,
    strs: FxHashMap<Box<str>, u32>,
    nums: FxHashMap<Box<str>, u32>,
    scalars: Vec<Scalar>,
}

impl Interner {
    pub(crate) fn intern_int(&mut self, i: i64) -> u32 {
        let next = self.scalars.len() as u32;
        let id = *self.ints.entry(i).or_insert(next);
        if id == next {
            self.scalars.push(Scalar::Int(i));
        }
        id
    }

    pub(crate) fn intern(&mut self, s: Scalar) -> u32 {
        match s {
            Scalar::Int(i) => self.intern_int(i),
            Scalar::Str(text) => {
                if let Some(&id) = self.strs.get(&text) {
                    return id;
                }
                let id = self.scalars.len() as u32;
                self.scalars.push(Scalar::Str(text.clone()));
                self.strs.insert(text, id);
                id
            }
            Scalar::Num(text) => {
                if let Some(&id) = self.nums.get(&text) {
                    return id;
                }
                let id = self.scalars.len() as u32;
                self.scalars.push(Scalar::Num(text.clone()));
                self.nums.insert(text, id);
                id
            }
        }
    }

    /// Interns a string without allocating when it is already known.
    pub(crate) fn intern_str(&mut self, s: &str) -> u32 {
        match self.strs.get(s) {
            Some(&id) => id,
            None => self.intern(Scalar::Str(s.into())),
        }
    }

    /// Every scalar, by id.
    #[cfg(test)]
    pub(crate) fn all(&self) -> &[Scalar] {
        &self.scalars
    }

    pub(crate) fn get(&self, id: u32) -> &Scalar {
        &self.scalars[id as usize]
    }
}

/// A slice of [`TxnSet::read_values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

/// One micro-op, with interned key and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MicroOp {
    /// `["append", key, value]`.
    Append { key: u32, value: u32 },
    /// `["r", key, list]` of list-append; `None` when the read's result is unknown.
    ReadList { key: u32, values: Option<Span> },
    /// `["w", key, value]`.
    Write { key: u32, value: u32 },
    /// `["r", key, value]` of rw-register: `Some(None)` read the initial (nil) state, `None`
    /// when the result is unknown.
    ReadRegister { key: u32, value: Option<Option<u32>> },
}

impl MicroOp {
    pub(crate) fn key(self) -> u32 {
        match self {
            MicroOp::Append { key, .. }
            | MicroOp::ReadList { key, .. }
            | MicroOp::Write { key, .. }
            | MicroOp::ReadRegister { key, .. } => key,
        }
    }
}

/// One transaction: a client operation with f = "txn".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Txn {
    /// Index into [`History::ops`].
    pub op: u32,
    /// The client process.
    pub process: u64,
    /// How it ended; `ok` and `info` may have committed, `fail` did not.
    pub outcome: Outcome,
    /// Its micro-ops in [`TxnSet::mops`].
    pub mops_start: u32,
    pub mops_len: u32,
}

impl Txn {
    /// True for ok and info transactions: they may have taken effect.
    pub(crate) fn possibly_committed(&self) -> bool {
        self.outcome != Outcome::Fail
    }
}

/// All transactions of a history, parsed.
#[derive(Debug)]
pub(crate) struct TxnSet {
    pub workload: Workload,
    pub txns: Vec<Txn>,
    pub mops: Vec<MicroOp>,
    pub read_values: Vec<u32>,
    pub scalars: Interner,
    /// rw-register: the value every key holds before any write (`None`: nil).
    pub initial: Option<Value>,
    /// The transactions' values as text, when the history was loaded lean (for explanations).
    pub raw: RawValues,
}

impl TxnSet {
    pub(crate) fn mops(&self, t: usize) -> &[MicroOp] {
        let txn = &self.txns[t];
        &self.mops[txn.mops_start as usize..(txn.mops_start + txn.mops_len) as usize]
    }

    pub(crate) fn values(&self, span: Span) -> &[u32] {
        &self.read_values[span.start as usize..(span.start + span.len) as usize]
    }

    pub(crate) fn scalar(&self, id: u32) -> &Scalar {
        self.scalars.get(id)
    }

    /// How the initial state of a key is shown: `nil`, or the `initial` value.
    pub(crate) fn initial_label(&self) -> String {
        self.initial.as_ref().map_or_else(|| "nil".to_string(), compact)
    }

    /// No transactions yet, of `workload`, with `initial` as for [`TxnSet::parse`].
    pub(crate) fn empty(workload: Workload, initial: Option<&Value>) -> TxnSet {
        TxnSet {
            workload,
            txns: Vec::new(),
            mops: Vec::new(),
            read_values: Vec::new(),
            scalars: Interner::default(),
            initial: initial.filter(|v| !v.is_null()).cloned(),
            raw: RawValues::default(),
        }
    }

    /// Parses every client operation of the history as a transaction of `workload`; for
    /// rw-register, a read of `initial` (when given) reads the initial state.
    #[cfg(test)]
    pub(crate) fn parse(
        history: &History,
        workload: Workload,
        initial: Option<&Value>,
    ) -> Result<TxnSet, HistoryError> {
        TxnSet::parse_lean(history, RawValues::default(), workload, initial)
    }

    /// Like [`TxnSet::parse`], reading each value from `raw` when it was left as text there
    /// (see [`History::load_lean`]). Large histories are parsed in parts on all cores; the
    /// result (ids included) and the error reported are those of parsing in order.
    pub(crate) fn parse_lean(
        history: &History,
        raw: RawValues,
        workload: Workload,
        initial: Option<&Value>,
    ) -> Result<TxnSet, HistoryError> {
        let empty = || TxnSet::empty(workload, initial);
        let ops = &history.ops;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts = if ops.len() >= PARALLEL_FROM_OPS {
            threads
        } else {
            1
        };
        let per_part = ops.len().div_ceil(parts.max(1)).max(1);
        let parse_part = |chunk: &[Operation]| -> Result<TxnSet, HistoryError> {
            let mut part = empty();
            part.txns.reserve(chunk.len());
            part.mops.reserve(chunk.len() * 3);
            for op in chunk {
                part.parse_op(history, &raw, op)?;
            }
            Ok(part)
        };
        let mut parsed: Vec<Result<TxnSet, HistoryError>> = if parts <= 1 {
            vec![parse_part(ops)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = ops
                    .chunks(per_part)
                    .map(|chunk| s.spawn(move || parse_part(chunk)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                    .collect()
            })
        };
        if parsed.is_empty() {
            parsed.push(Ok(empty()));
        }
        let mut parts = parsed.into_iter();
        let mut set = parts.next().expect("one part at least")?;
        for part in parts {
            set.append(part?);
        }
        set.raw = raw;
        // What the checks need is in the set now; only explanations read a value back.
        set.raw.release_text();
        Ok(set)
    }

    /// Appends the transactions of `later` (parsed from later operations) as if they had been
    /// parsed after this set's: its scalars are interned here, in their order of appearance,
    /// so every id is the one parsing in order gives.
    fn append(&mut self, later: TxnSet) {
        let ids: Vec<u32> = later
            .scalars
            .scalars
            .into_iter()
            .map(|s| self.scalars.intern(s))
            .collect();
        let id = |x: u32| ids[x as usize];
        let mops_offset = self.mops.len() as u32;
        let values_offset = self.read_values.len() as u32;
        self.read_values.extend(later.read_values.iter().map(|&v| id(v)));
        self.mops.extend(later.mops.iter().map(|&m| match m {
            MicroOp::Append { key, value } => MicroOp::Append {
                key: id(key),
                value: id(value),
            },
            MicroOp::Write { key, value } => MicroOp::Write {
                key: id(key),
                value: id(value),
            },
            MicroOp::ReadList { key, values } => MicroOp::ReadList {
                key: id(key),
                values: values.map(|s| Span {
                    start: s.start + values_offset,
                    len: s.len,
                }),
            },
            MicroOp::ReadRegister { key, value } => MicroOp::ReadRegister {
                key: id(key),
                value: value.map(|v| v.map(id)),
            },
        }));
        self.txns.extend(later.txns.iter().map(|t| Txn {
            mops_start: t.mops_start + mops_offset,
            ..*t
        }));
    }

    /// Parses one operation: from its values' text when the history was loaded lean (the
    /// fast path; anything it does not take, including every error, goes the general way),
    /// else from its values.
    pub(crate) fn parse_op(
        &mut self,
        history: &History,
        raw: &RawValues,
        op: &Operation,
    ) -> Result<(), HistoryError> {
        let Some(inv_text) = raw.get(op.invoke) else {
            let done = (op.outcome == Outcome::Ok).then(|| history.value(op));
            return self.parse_op_values(history, op, &history.events[op.invoke].value, done);
        };
        let done_pos = op.complete.unwrap_or(op.invoke);
        let done_text = if op.outcome == Outcome::Ok {
            match raw.get(done_pos) {
                Some(t) => Some(t),
                None => {
                    // The completion's value was parsed (it cannot be, as it is a txn too).
                    let inv: Value = serde_json::from_str(inv_text).unwrap_or(Value::Null);
                    return self.parse_op_values(history, op, &inv, Some(&history.events[done_pos].value));
                }
            }
        } else {
            None
        };
        if self.initial.is_none() && self.parse_op_text(op, inv_text, done_text) {
            return Ok(());
        }
        let inv: Value = serde_json::from_str(inv_text).unwrap_or(Value::Null);
        let done: Option<Value> = done_text.map(|t| serde_json::from_str(t).unwrap_or(Value::Null));
        self.parse_op_values(history, op, &inv, done.as_ref())
    }

    /// Parses one operation from its invocation's value and, for an ok one, its completion's.
    fn parse_op_values(
        &mut self,
        history: &History,
        op: &Operation,
        invocation: &Value,
        done: Option<&Value>,
    ) -> Result<(), HistoryError> {
        let inv_line = history.events[op.invoke].line as usize;
        let err = |line: usize, m: String| HistoryError::at(&history.source, line, m);
        if op.f != "txn" {
            return Err(err(
                inv_line,
                format!(
                    "the {} checker expects transactions (f = \"txn\"), found f = {:?}",
                    self.workload.name(),
                    op.f
                ),
            ));
        }
        let mops_start = self.mops.len() as u32;
        // The invocation always gives the shape; an ok completion gives the reads.
        let inv_list = self.micro_op_list(invocation).map_err(|m| err(inv_line, m))?;
        if let Some(done) = done {
            let line = op.complete.map_or(inv_line, |c| history.events[c].line as usize);
            let done = self.micro_op_list(done).map_err(|m| err(line, m))?;
            if done.len() != inv_list.len() {
                return Err(err(
                    line,
                    format!(
                        "the completion has {} micro-ops but its invocation on line {inv_line} has {}",
                        done.len(),
                        inv_list.len()
                    ),
                ));
            }
            for (i, (inv_mop, ok_mop)) in inv_list.iter().zip(done).enumerate() {
                self.parse_micro_op(ok_mop, true)
                    .map_err(|m| err(line, format!("micro-op {}: {m}", i + 1)))?;
                self.parse_micro_op(inv_mop, false)
                    .map_err(|m| err(inv_line, format!("micro-op {}: {m}", i + 1)))?;
                let done_mop = self.mops[self.mops.len() - 2];
                let inv_parsed = self.mops.pop().expect("pushed just above");
                if !same_shape(done_mop, inv_parsed) {
                    return Err(err(
                        line,
                        format!(
                            "micro-op {} of the completion ({}) does not match its invocation on line {inv_line} ({})",
                            i + 1,
                            compact(ok_mop),
                            compact(inv_mop)
                        ),
                    ));
                }
            }
        } else {
            for (i, mop) in inv_list.iter().enumerate() {
                self.parse_micro_op(mop, false)
                    .map_err(|m| err(inv_line, format!("micro-op {}: {m}", i + 1)))?;
            }
        }
        self.txns.push(Txn {
            op: op.id as u32,
            process: op.process,
            outcome: op.outcome,
            mops_start,
            mops_len: self.mops.len() as u32 - mops_start,
        });
        Ok(())
    }

    fn micro_op_list<'v>(&self, value: &'v Value) -> Result<&'v Vec<Value>, String> {
        if let Some([key, Value::Array(mops)]) = value.as_array().map(Vec::as_slice)
            && !key.is_array()
            && !mops.is_empty()
            && mops.iter().all(Value::is_array)
        {
            return Err(format!(
                "{} is a jepsen.independent tuple [key transaction], but the history's first op is a plain transaction: give every op a key, or none",
                compact(value)
            ));
        }
        value.as_array().ok_or_else(|| {
            format!(
                "a {} transaction's value must be a list of micro-ops, found {}",
                self.workload.name(),
                compact(value)
            )
        })
    }

    /// Parses one micro-op and pushes it; `known_reads` is true for an ok completion.
    fn parse_micro_op(&mut self, mop: &Value, known_reads: bool) -> Result<(), String> {
        let (f, expected) = match self.workload {
            Workload::ListAppend => (
                "append",
                "[\"append\", key, value] or [\"r\", key, [values] or null]",
            ),
            Workload::RwRegister => ("w", "[\"w\", key, value] or [\"r\", key, value or null]"),
        };
        let bad = || format!("expected {expected}, found {}", compact(mop));
        let parts = mop.as_array().filter(|p| p.len() == 3).ok_or_else(bad)?;
        let name = parts[0].as_str().ok_or_else(bad)?;
        let key = self.scalar_of(&parts[1]).ok_or_else(bad)?;
        let parsed = if name == f {
            let value = self.scalar_of(&parts[2]).ok_or_else(bad)?;
            if self.initial.as_ref() == Some(&parts[2]) {
                return Err(format!(
                    "writes {}, the --initial value every key starts with: a read of it could not tell the write from the initial state; choose another --initial",
                    compact(&parts[2])
                ));
            }
            match self.workload {
                Workload::ListAppend => MicroOp::Append { key, value },
                Workload::RwRegister => MicroOp::Write { key, value },
            }
        } else if name == "r" {
            match self.workload {
                Workload::ListAppend => {
                    let values = match (&parts[2], known_reads) {
                        (_, false) => None,
                        (Value::Null, true) => Some(Span { start: 0, len: 0 }),
                        (Value::Array(items), true) => {
                            let start = self.read_values.len() as u32;
                            for item in items {
                                let id = self.scalar_of(item).ok_or_else(bad)?;
                                self.read_values.push(id);
                            }
                            Some(Span {
                                start,
                                len: items.len() as u32,
                            })
                        }
                        _ => return Err(bad()),
                    };
                    if !known_reads && !matches!(parts[2], Value::Null | Value::Array(_)) {
                        return Err(bad());
                    }
                    MicroOp::ReadList { key, values }
                }
                Workload::RwRegister => {
                    let value = match &parts[2] {
                        Value::Null if known_reads && self.initial.is_some() => {
                            return Err(format!(
                                "reads nil, but with --initial every key starts as {} and nil is never written",
                                self.initial_label()
                            ));
                        }
                        Value::Null => None,
                        v if known_reads && self.initial.as_ref() == Some(v) => None,
                        v => Some(self.scalar_of(v).ok_or_else(bad)?),
                    };
                    MicroOp::ReadRegister {
                        key,
                        value: known_reads.then_some(value),
                    }
                }
            }
        } else {
            return Err(bad());
        };
        self.mops.push(parsed);
        Ok(())
    }

    fn scalar_of(&mut self, v: &Value) -> Option<u32> {
        match v {
            Value::Number(n) => Some(match n.as_i64() {
                Some(i) => self.scalars.intern_int(i),
                None => self.scalars.intern(Scalar::Num(n.to_string().into())),
            }),
            Value::String(s) => Some(self.scalars.intern(Scalar::Str(s.as_str().into()))),
            _ => None,
        }
    }
}

/// True if an ok completion's micro-op matches its invocation's (same f and key; same value
/// for writes).
pub(crate) fn same_shape(done: MicroOp, invoked: MicroOp) -> bool {
    match (done, invoked) {
        (MicroOp::Append { key: a, value: x }, MicroOp::Append { key: b, value: y })
        | (MicroOp::Write { key: a, value: x }, MicroOp::Write { key: b, value: y }) => a == b && x == y,
        (MicroOp::ReadList { key: a, .. }, MicroOp::ReadList { key: b, .. })
        | (MicroOp::ReadRegister { key: a, .. }, MicroOp::ReadRegister { key: b, .. }) => a == b,
        _ => false,
    }
}

/// Histories with at least this many operations are parsed in parts, one per core.
const PARALLEL_FROM_OPS: usize = 20_000;

/// Compact JSON of a value for messages, shortened when long.
pub(crate) fn compact(v: &Value) -> String {
    crate::history::quote_json(v, 117)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;

    fn parse(text: &str, w: Workload) -> Result<TxnSet, HistoryError> {
        let h = History::parse("h.jsonl", text, Format::Jsonl)?;
        TxnSet::parse(&h, w, None)
    }

    #[test]
    fn parses_list_append_and_keeps_reads_of_ok_only() {
        let set = parse(
            r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append",5,1],["r",5,null]]}
{"index":1,"process":0,"type":"ok","f":"txn","value":[["append",5,1],["r",5,[1]]]}
{"index":2,"process":1,"type":"invoke","f":"txn","value":[["r","k",null]]}
{"index":3,"process":1,"type":"info","f":"txn","value":[["r","k",null]]}"#,
            Workload::ListAppend,
        )
        .unwrap();
        assert_eq!(set.txns.len(), 2);
        let m = set.mops(0);
        assert!(matches!(
            m[1],
            MicroOp::ReadList {
                values: Some(Span { len: 1, .. }),
                ..
            }
        ));
        assert!(matches!(set.mops(1)[0], MicroOp::ReadList { values: None, .. }));
    }

    #[test]
    fn malformed_micro_ops_name_the_line() {
        let cases = [
            (
                r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append",5]]}"#,
                1,
                "expected",
            ),
            (
                r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["frob",5,1]]}"#,
                1,
                "expected",
            ),
            (
                r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":5}"#,
                1,
                "list of micro-ops",
            ),
            (
                r#"{"index":0,"process":0,"type":"invoke","f":"read","value":null}"#,
                1,
                "f = \"txn\"",
            ),
            (
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",5,null]]}\n\
                 {\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",5,3]]}",
                2,
                "expected",
            ),
            (
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",5,null]]}\n\
                 {\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",6,[]]]}",
                2,
                "does not match",
            ),
            (
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",5,1]]}\n\
                 {\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[]}",
                2,
                "has 0 micro-ops",
            ),
            (
                r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append",true,1]]}"#,
                1,
                "expected",
            ),
        ];
        for (text, line, needle) in cases {
            let e = parse(text, Workload::ListAppend).unwrap_err();
            assert_eq!(e.line(), Some(line), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
            assert!(e.to_string().starts_with("h.jsonl:"), "{e}");
        }
        let e = parse(
            r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append",5,1]]}"#,
            Workload::RwRegister,
        )
        .unwrap_err();
        assert!(e.to_string().contains("[\"w\", key, value]"), "{e}");
    }

    #[test]
    fn numbers_beyond_64_bits_and_decimals_are_distinct_exact_values() {
        let set = parse(
            r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append",18446744073709551617,18446744073709551616],["append",1,1.5],["append",1,1.50],["append",2,"1.5"]]}"#,
            Workload::ListAppend,
        )
        .unwrap();
        let values: Vec<u32> = set
            .mops
            .iter()
            .map(|m| match *m {
                MicroOp::Append { value, .. } => value,
                _ => unreachable!(),
            })
            .collect();
        let distinct: std::collections::BTreeSet<u32> = values.iter().copied().collect();
        assert_eq!(distinct.len(), 4, "{set:?}");
        assert_eq!(
            set.scalars.scalars[values[0] as usize].to_string(),
            "18446744073709551616"
        );
        assert_eq!(
            set.scalars.scalars[values[0] as usize].to_json().to_string(),
            "18446744073709551616"
        );
    }

    #[test]
    fn parses_registers_with_nil_reads() {
        let set = parse(
            "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",1,null],[\"w\",1,2]]}\n\
             {\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",1,null],[\"w\",1,2]]}",
            Workload::RwRegister,
        )
        .unwrap();
        assert!(matches!(
            set.mops(0)[0],
            MicroOp::ReadRegister {
                value: Some(None),
                ..
            }
        ));
        assert!(matches!(set.mops(0)[1], MicroOp::Write { .. }));
    }
}
