//! The fast path of transaction parsing: micro-ops read straight from a value's JSON text (a
//! history loaded with [`History::load_lean`](crate::history::History::load_lean)) into
//! interned ids, without building a [`serde_json::Value`] per element.
//!
//! It takes only what it can read exactly as the general path does (`TxnSet::parse_op_values`)
//! and interns in the same order; anything else (an error, an escaped micro-op name, a value
//! that is not a number or string, an `--initial` value) is declined, and the caller parses
//! the operation the general way, which gives the same ids and the same messages.

use super::txn::{MicroOp, Scalar, Span, TxnSet, Workload, same_shape};
use super::txn_scan::{Atom, MopText, MopValue, ScannedMops, list_items, scan_micro_ops};
use crate::history::Operation;
use serde_json::value::RawValue;

/// A micro-op as text: `[f, key, value]`.
type RawMop<'a> = (&'a str, &'a RawValue, &'a RawValue);

impl TxnSet {
    /// Parses an operation from its invocation's value text and, for an ok one, its
    /// completion's. False (and nothing added) when the fast path declines it.
    pub(crate) fn parse_op_text(&mut self, op: &Operation, invocation: &str, done: Option<&str>) -> bool {
        let (mops, values) = (self.mops.len(), self.read_values.len());
        if self.micro_ops_from_text(invocation, done).is_some() {
            self.txns.push(super::txn::Txn {
                op: op.id as u32,
                process: op.process,
                outcome: op.outcome,
                mops_start: mops as u32,
                mops_len: (self.mops.len() - mops) as u32,
            });
            return true;
        }
        self.mops.truncate(mops);
        self.read_values.truncate(values);
        false
    }

    fn micro_ops_from_text(&mut self, invocation: &str, done: Option<&str>) -> Option<()> {
        let invoked = MicroOpsText::read(invocation)?;
        let invoked = invoked.as_slice();
        match done {
            Some(done) => {
                let completed = MicroOpsText::read(done)?;
                let completed = completed.as_slice();
                if completed.len() != invoked.len() {
                    return None;
                }
                // As the general path: the completion's micro-op first, then the invocation's.
                for (inv, ok) in invoked.iter().zip(completed) {
                    let read = self.micro_op_from_text(ok, true)?;
                    let asked = self.micro_op_from_text(inv, false)?;
                    if !same_shape(read, asked) {
                        return None;
                    }
                    self.mops.push(read);
                }
            }
            None => {
                for inv in invoked {
                    let m = self.micro_op_from_text(inv, false)?;
                    self.mops.push(m);
                }
            }
        }
        Some(())
    }

    /// One micro-op; `known_reads` for an ok completion. Read values are pushed as read.
    fn micro_op_from_text(&mut self, mop: &MopText, known_reads: bool) -> Option<MicroOp> {
        let write = match self.workload {
            Workload::ListAppend => "append",
            Workload::RwRegister => "w",
        };
        let key = self.scalar_from_atom(mop.key)?;
        let scalar_value = |set: &mut TxnSet| match mop.value {
            MopValue::Atom(atom) => set.scalar_from_atom(atom),
            MopValue::Null | MopValue::List(_) => None,
        };
        if mop.name == write {
            let value = scalar_value(self)?;
            return Some(match self.workload {
                Workload::ListAppend => MicroOp::Append { key, value },
                Workload::RwRegister => MicroOp::Write { key, value },
            });
        }
        if mop.name != "r" {
            return None;
        }
        match self.workload {
            Workload::ListAppend => {
                let values = match (mop.value, known_reads) {
                    (MopValue::Null | MopValue::List(_), false) => None,
                    (MopValue::Null, true) => Some(Span { start: 0, len: 0 }),
                    (MopValue::List(text), true) => Some(self.read_list(text)?),
                    (MopValue::Atom(_), _) => return None,
                };
                Some(MicroOp::ReadList { key, values })
            }
            Workload::RwRegister => {
                let value = match mop.value {
                    MopValue::Null => None,
                    _ => Some(scalar_value(self)?),
                };
                Some(MicroOp::ReadRegister {
                    key,
                    value: known_reads.then_some(value),
                })
            }
        }
    }

    /// Interns a read list's items and pushes them to `read_values`: scanned in place, or read
    /// by serde_json when the scanner does not take the text (the same ids either way, as
    /// interning again what was interned gives the same ids).
    fn read_list(&mut self, text: &str) -> Option<Span> {
        let start = self.read_values.len();
        let mut scanned = true;
        for item in list_items(text) {
            let Some(atom) = item else {
                scanned = false;
                break;
            };
            let id = self.scalar_from_atom(atom)?;
            self.read_values.push(id);
        }
        if !scanned {
            self.read_values.truncate(start);
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            for item in &items {
                let id = self.scalar_from_text(item.get())?;
                self.read_values.push(id);
            }
        }
        Some(Span {
            start: start as u32,
            len: (self.read_values.len() - start) as u32,
        })
    }

    fn scalar_from_atom(&mut self, atom: Atom) -> Option<u32> {
        match atom {
            Atom::Int(i) => Some(self.scalars.intern_int(i)),
            Atom::Text(text) => self.scalar_from_text(text),
        }
    }

    /// A key or value written as a JSON string or number (its text), interned exactly as the
    /// general path does: an integer that fits 64 bits by value, any other number by its text
    /// as serde_json keeps it, a string by its content.
    fn scalar_from_text(&mut self, text: &str) -> Option<u32> {
        match text.as_bytes().first()? {
            b'"' => {
                let s: &str = serde_json::from_str(text).ok()?;
                Some(self.scalars.intern_str(s))
            }
            b'-' | b'0'..=b'9' => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                if !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(i) = text.parse::<i64>()
                {
                    return Some(self.scalars.intern_int(i));
                }
                let n: serde_json::Number = serde_json::from_str(text).ok()?;
                Some(match n.as_i64() {
                    Some(i) => self.scalars.intern_int(i),
                    None => self.scalars.intern(Scalar::Num(n.to_string().into())),
                })
            }
            _ => None,
        }
    }
}

/// Micro-ops read by serde_json, for the texts [`scan_micro_ops`] does not take.
/// A transaction's micro-ops as text: the usual shape scanned in place (no allocation),
/// anything else read by serde_json.
#[expect(
    clippy::large_enum_variant,
    reason = "the scanned micro-ops stay on the stack: boxing them would bring back the allocation the scanner avoids"
)]
enum MicroOpsText<'a> {
    Scanned(ScannedMops<'a>),
    Parsed(Vec<MopText<'a>>),
}

impl<'a> MicroOpsText<'a> {
    fn read(text: &'a str) -> Option<Self> {
        match scan_micro_ops(text) {
            Some(mops) => Some(MicroOpsText::Scanned(mops)),
            None => parse_micro_ops(text).map(MicroOpsText::Parsed),
        }
    }

    fn as_slice(&self) -> &[MopText<'a>] {
        match self {
            MicroOpsText::Scanned(mops) => mops.as_slice(),
            MicroOpsText::Parsed(mops) => mops,
        }
    }
}

fn parse_micro_ops(text: &str) -> Option<Vec<MopText<'_>>> {
    let mops: Vec<RawMop> = serde_json::from_str(text).ok()?;
    Some(
        mops.into_iter()
            .map(|(name, key, value)| MopText {
                name,
                key: Atom::Text(key.get()),
                value: MopValue::from_text(value.get()),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Format, History, RawValues};

    /// Loads `text` in full and lean, and parses both ways.
    fn both(text: &str, w: Workload) -> (Result<TxnSet, String>, Result<TxnSet, String>) {
        let dir = std::env::temp_dir().join(format!(
            "faultline-txn-text-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.jsonl");
        std::fs::write(&path, text).unwrap();
        let full = History::load(&path, Some(Format::Jsonl)).unwrap();
        let (lean, raw) = History::load_lean(&path, Some(Format::Jsonl)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let general = TxnSet::parse_lean(&full, RawValues::default(), w, None).map_err(|e| e.to_string());
        let fast = TxnSet::parse_lean(&lean, raw, w, None).map_err(|e| e.to_string());
        (general, fast)
    }

    fn same(a: &TxnSet, b: &TxnSet) {
        assert_eq!(a.mops, b.mops);
        assert_eq!(a.read_values, b.read_values);
        assert_eq!(a.scalars.all(), b.scalars.all());
        let t = |s: &TxnSet| {
            s.txns
                .iter()
                .map(|t| (t.op, t.process, t.outcome, t.mops_start, t.mops_len))
                .collect::<Vec<_>>()
        };
        assert_eq!(t(a), t(b));
    }

    #[test]
    fn ordinary_micro_ops_take_the_fast_path() {
        let mut set = TxnSet::parse_lean(
            &History::default(),
            RawValues::default(),
            Workload::ListAppend,
            None,
        )
        .unwrap();
        let op = crate::history::Operation {
            id: 0,
            process: 0,
            f: "txn".into(),
            key: None,
            outcome: crate::history::Outcome::Ok,
            invoke: 0,
            complete: Some(1),
        };
        assert!(set.parse_op_text(
            &op,
            r#"[["r", 7, null], ["append", "k", 1]]"#,
            Some(r#"[["r",7,[1,-2,18446744073709551616,1.50,"x"]],["append","k",1]]"#)
        ));
        assert_eq!(set.mops.len(), 2);
        let read: Vec<String> = set
            .read_values
            .iter()
            .map(|&v| set.scalar(v).to_string())
            .collect();
        assert_eq!(read, ["1", "-2", "18446744073709551616", "1.50", "x"]);
        // Declined, and nothing left behind: escapes, other types, mismatches.
        for (inv, done) in [
            (r#"[["app\u0065nd", 1, 1]]"#, None),
            (r#"[["append", true, 1]]"#, None),
            (r#"[["append", 1, 1]]"#, Some(r#"[["append", 1, 2]]"#)),
            (r#"[["r", 1, null]]"#, Some(r#"[["r", 1, 3]]"#)),
            (r#"[1, [["r", 1, null]]]"#, None),
        ] {
            assert!(!set.parse_op_text(&op, inv, done), "{inv}");
            assert_eq!((set.mops.len(), set.read_values.len(), set.txns.len()), (2, 5, 1));
        }
    }

    #[test]
    fn lean_and_full_parsing_agree_exactly() {
        let mut text = String::new();
        // Enough operations for the parallel parts, with values repeated across the parts.
        for i in 0..30_000u64 {
            let k = i % 7;
            let big = format!("1{:020}", i % 5);
            text.push_str(&format!(
                "{{\"index\":{},\"process\":{i},\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",{k},{i}],[\"r\",\"s{k}\",null],[\"append\",\"b\",{big}.{i}]]}}\n",
                2 * i
            ));
            text.push_str(&format!(
                "{{\"index\":{},\"process\":{i},\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",{k},{i}],[\"r\",\"s{k}\",[{big},1.5e3,\"\\u0041\"]],[\"append\",\"b\",{big}.{i}]]}}\n",
                2 * i + 1
            ));
        }
        let (general, fast) = both(&text, Workload::ListAppend);
        same(&general.unwrap(), &fast.unwrap());
        // An error is the general path's, on the same line, wherever it is.
        let bad = format!(
            "{text}{{\"index\":60000,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",1]]}}\n"
        );
        let (general, fast) = both(&bad, Workload::ListAppend);
        assert_eq!(general.unwrap_err(), fast.as_ref().unwrap_err().clone());
        assert!(fast.unwrap_err().contains(":60001:"));
        let (general, fast) = both(&text.replace("append", "w"), Workload::RwRegister);
        assert_eq!(general.unwrap_err(), fast.unwrap_err());
    }

    #[test]
    fn registers_parse_alike() {
        let text = r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["r",1,null],["w",1,2],["r","x",null]]}
{"index":1,"process":0,"type":"ok","f":"txn","value":[["r",1,null],["w",1,2],["r","x",12345678901234567890123]]}
{"index":2,"process":1,"type":"invoke","f":"txn","value":[["r",1,null]]}
{"index":3,"process":1,"type":"info","f":"txn","value":[["r",1,null]]}
"#;
        let (general, fast) = both(text, Workload::RwRegister);
        same(&general.unwrap(), &fast.unwrap());
    }
}
