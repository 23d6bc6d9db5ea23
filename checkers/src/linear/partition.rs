//! Splits a history into one sub-history per key and compiles each operation for the search.
//!
//! Linearizability is compositional (Herlihy & Wing): a history of independent registers is
//! linearizable iff each register's sub-history is. This module routes every client operation
//! to its key (the native `key` field, or a Jepsen `jepsen.independent` `[key value]` tuple when
//! asked), checks that its `f` and value fit the model, applies Jepsen's outcome semantics, and
//! interns values to small integers per key so the search state is one `u32`.

use super::model::{Action, FailedCas, Model};
use crate::history::{History, HistoryError, Operation, Outcome, quote};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// What the partitioner needs to know.
#[derive(Debug, Clone)]
pub(crate) struct PartitionOptions {
    pub model: Model,
    pub failed_cas: FailedCas,
    pub independent: bool,
    pub initial: Value,
}

/// One operation, compiled for the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinOp {
    /// Position in [`History::ops`].
    pub op: usize,
    /// Position of the invocation in [`History::events`].
    pub call: usize,
    /// Position of the completion when the operation must take effect before it; `None` when
    /// it may take effect at any point after its invocation, or never (`info`, unmatched).
    pub ret: Option<usize>,
    /// What it does to the register.
    pub action: Action,
}

impl LinOp {
    /// A test operation numbered by its invocation.
    #[cfg(test)]
    pub fn at(call: usize, ret: Option<usize>, action: Action) -> LinOp {
        LinOp {
            op: call,
            call,
            ret,
            action,
        }
    }

    /// True if the operation must be linearized (it has a completion it must precede).
    pub fn required(&self) -> bool {
        self.ret.is_some()
    }
}

/// The operations on one key, ready for the search.
#[derive(Debug, Clone)]
pub(crate) struct KeyHistory {
    /// The key; `None` when the history names no key (a single register).
    pub key: Option<Value>,
    /// Operations in invocation order.
    pub ops: Vec<LinOp>,
    /// Interned values: the id is the position. Id 0 is the initial value.
    pub values: Vec<Value>,
    /// Client operations on this key that the search ignores (failed, or reads of unknown
    /// outcome): they constrain nothing.
    pub dropped: usize,
    interner: FxHashMap<Value, u32>,
}

/// The interned id of the initial value in every [`KeyHistory`].
pub(crate) const INITIAL: u32 = 0;

impl KeyHistory {
    fn new(key: Option<Value>, initial: &Value) -> Self {
        let mut k = KeyHistory {
            key,
            ops: Vec::new(),
            values: Vec::new(),
            dropped: 0,
            interner: FxHashMap::default(),
        };
        k.intern(initial);
        k
    }

    fn intern(&mut self, v: &Value) -> u32 {
        if let Some(&id) = self.interner.get(v) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(v.clone());
        self.interner.insert(v.clone(), id);
        id
    }
}

/// Splits `history` by key and compiles its operations; keys come in order of first appearance.
pub(crate) fn partition(history: &History, opts: &PartitionOptions) -> Result<Vec<KeyHistory>, HistoryError> {
    let mut partitioner = Partitioner::new(opts.clone());
    for op in &history.ops {
        partitioner.add(history, op)?;
    }
    Ok(partitioner.keys)
}

/// Routes operations to their keys one at a time, so a history can be partitioned as it grows
/// (see `incremental`): the keys and their interned values only ever grow.
#[derive(Debug)]
pub(crate) struct Partitioner {
    opts: PartitionOptions,
    /// The keys so far, in order of first appearance.
    pub keys: Vec<KeyHistory>,
    key_index: FxHashMap<Value, usize>,
    unnamed_key: Option<usize>,
}

impl Partitioner {
    pub(crate) fn new(opts: PartitionOptions) -> Self {
        Partitioner {
            opts,
            keys: Vec::new(),
            key_index: FxHashMap::default(),
            unnamed_key: None,
        }
    }

    /// Compiles `op` (a client operation of `history`) onto its key, or counts it as dropped;
    /// returns the key's position in [`Partitioner::keys`].
    pub(crate) fn add(&mut self, history: &History, op: &Operation) -> Result<usize, HistoryError> {
        let opts = &self.opts;
        let shaped = shape(history, op, opts)?;
        let known = match shaped.key {
            Some(k) => self.key_index.get(k).copied(),
            None => self.unnamed_key,
        };
        let slot = match known {
            Some(i) => i,
            None => {
                match shaped.key {
                    Some(k) => self.key_index.insert(k.clone(), self.keys.len()),
                    None => self.unnamed_key.replace(self.keys.len()),
                };
                self.keys
                    .push(KeyHistory::new(shaped.key.cloned(), &opts.initial));
                self.keys.len() - 1
            }
        };
        let kh = &mut self.keys[slot];
        let ret = op.complete;
        let compiled = match (shaped.f, op.outcome) {
            (Function::Read, Outcome::Ok) => Some((Action::Read(kh.intern(shaped.result)), ret)),
            (Function::Read, _) => None,
            (Function::Write, Outcome::Ok) => Some((Action::Write(kh.intern(shaped.argument)), ret)),
            (Function::Write, Outcome::Info) => Some((Action::Write(kh.intern(shaped.argument)), None)),
            (Function::Write, Outcome::Fail) => None,
            (Function::Cas, outcome) => {
                let (expected, new) = cas_pair(shaped.argument);
                match (outcome, opts.failed_cas) {
                    (Outcome::Ok, _) => Some((Action::Cas(kh.intern(expected), kh.intern(new)), ret)),
                    (Outcome::Info, _) => Some((Action::Cas(kh.intern(expected), kh.intern(new)), None)),
                    (Outcome::Fail, FailedCas::AsRead) => Some((Action::ReadOther(kh.intern(expected)), ret)),
                    (Outcome::Fail, FailedCas::Drop) => None,
                }
            }
        };
        match compiled {
            Some((action, ret)) => kh.ops.push(LinOp {
                op: op.id,
                call: op.invoke,
                ret,
                action,
            }),
            None => kh.dropped += 1,
        }
        Ok(slot)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Read,
    Write,
    Cas,
}

/// An operation's key, function and values, after checking their shapes.
struct Shaped<'h> {
    key: Option<&'h Value>,
    f: Function,
    /// The invocation's argument (what was written; `[expected new]` for cas).
    argument: &'h Value,
    /// The completion's value (what a read saw); the argument when there is no `ok` completion.
    result: &'h Value,
}

fn shape<'h>(
    history: &'h History,
    op: &'h Operation,
    opts: &PartitionOptions,
) -> Result<Shaped<'h>, HistoryError> {
    let invocation = history.invocation(op);
    let completion = history.completion(op);
    let inv_line = invocation.line as usize;
    let err_inv = |m: String| HistoryError::at(&history.source, inv_line, m);
    let f = match (op.f.as_str(), opts.model) {
        ("read", _) => Function::Read,
        ("write", _) => Function::Write,
        ("cas", Model::CasRegister) => Function::Cas,
        (other, model) => {
            let hint = if other == "cas" {
                "; use --model cas-register"
            } else {
                ""
            };
            return Err(err_inv(format!(
                "f=\"{other}\" is not an operation of the {model} model (expected {}){hint}",
                model.functions().join(", ")
            )));
        }
    };
    let (key, argument, result) = if opts.independent {
        let (k, argument) = split_tuple(&invocation.value).ok_or_else(|| {
            err_inv(format!(
                "with --independent, a value must be a [key value] tuple, found {}",
                quote(&invocation.value)
            ))
        })?;
        let result = match completion {
            Some(c) if op.outcome == Outcome::Ok => {
                let line = c.line as usize;
                let (ck, v) = split_tuple(&c.value).ok_or_else(|| {
                    HistoryError::at(
                        &history.source,
                        line,
                        format!(
                            "with --independent, a value must be a [key value] tuple, found {}",
                            quote(&c.value)
                        ),
                    )
                })?;
                if ck != k {
                    return Err(HistoryError::at(
                        &history.source,
                        line,
                        format!(
                            "the completion is for key {} but its invocation on line {inv_line} was for key {}",
                            quote(ck),
                            quote(k)
                        ),
                    ));
                }
                v
            }
            _ => argument,
        };
        (normalize_key(Some(k)), argument, result)
    } else {
        let result = match completion {
            Some(c) if op.outcome == Outcome::Ok => &c.value,
            _ => &invocation.value,
        };
        (normalize_key(op.key.as_ref()), &invocation.value, result)
    };
    if f == Function::Cas && cas_parts(argument).is_none() {
        return Err(err_inv(format!(
            "a cas value must be a two-element array [expected new], found {}",
            quote(argument)
        )));
    }
    if matches!(f, Function::Write | Function::Cas)
        && op.outcome == Outcome::Ok
        && !result.is_null()
        && result != argument
    {
        let line = completion.map_or(inv_line, |c| c.line as usize);
        return Err(HistoryError::at(
            &history.source,
            line,
            format!(
                "the ok completion of this {} reports value {}, but its invocation on line {inv_line} had {}",
                op.f,
                quote(result),
                quote(argument)
            ),
        ));
    }
    Ok(Shaped {
        key,
        f,
        argument,
        result,
    })
}

fn normalize_key(key: Option<&Value>) -> Option<&Value> {
    key.filter(|k| !k.is_null())
}

fn split_tuple(v: &Value) -> Option<(&Value, &Value)> {
    match v.as_array().map(Vec::as_slice) {
        Some([k, inner]) => Some((k, inner)),
        _ => None,
    }
}

fn cas_parts(v: &Value) -> Option<(&Value, &Value)> {
    split_tuple(v)
}

fn cas_pair(v: &Value) -> (&Value, &Value) {
    // Shapes were checked in `shape`; a malformed value never reaches here.
    cas_parts(v).unwrap_or((&Value::Null, &Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;
    use serde_json::json;

    fn opts(model: Model) -> PartitionOptions {
        PartitionOptions {
            model,
            failed_cas: FailedCas::Drop,
            independent: false,
            initial: Value::Null,
        }
    }

    fn jsonl(lines: &[Value]) -> History {
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        History::parse("t.jsonl", &text.join("\n"), Format::Jsonl).unwrap()
    }

    #[test]
    fn splits_by_key_and_applies_outcome_semantics() {
        let h = jsonl(&[
            json!({"process":0,"type":"invoke","f":"write","value":1,"key":"a"}),
            json!({"process":1,"type":"invoke","f":"read","value":null,"key":"b"}),
            json!({"process":0,"type":"ok","f":"write","value":1,"key":"a"}),
            json!({"process":1,"type":"ok","f":"read","value":1,"key":"b"}),
            json!({"process":0,"type":"invoke","f":"cas","value":[1,2],"key":"a"}),
            json!({"process":0,"type":"fail","f":"cas","value":[1,2],"key":"a"}),
            json!({"process":0,"type":"invoke","f":"cas","value":[1,3],"key":"a"}),
            json!({"process":0,"type":"info","f":"cas","value":[1,3],"key":"a"}),
            json!({"process":2,"type":"invoke","f":"read","value":null,"key":"a"}),
            json!({"process":2,"type":"info","f":"read","value":null,"key":"a"}),
        ]);
        let keys = partition(&h, &opts(Model::CasRegister)).unwrap();
        assert_eq!(keys.len(), 2);
        let a = &keys[0];
        assert_eq!(a.key, Some(json!("a")));
        assert_eq!(a.dropped, 2, "the failed cas and the info read");
        assert_eq!(a.ops.len(), 2);
        assert_eq!(a.ops[0].action, Action::Write(1));
        assert_eq!(a.ops[0].ret, Some(2));
        assert_eq!(a.ops[1].action, Action::Cas(1, 2));
        assert_eq!(a.ops[1].ret, None);
        assert_eq!(a.values, vec![Value::Null, json!(1), json!(3)]);
        assert_eq!(keys[1].ops[0].action, Action::Read(1));
        let mut o = opts(Model::CasRegister);
        o.failed_cas = FailedCas::AsRead;
        let keys = partition(&h, &o).unwrap();
        assert_eq!(keys[0].ops[1].action, Action::ReadOther(1));
        assert_eq!(keys[0].ops[1].ret, Some(5));
    }

    #[test]
    fn independent_tuples() {
        let h = History::parse(
            "t.edn",
            "{:type :invoke :f :write :value [7 3] :process 0}\n{:type :ok :f :write :value [7 3] :process 0}\n\
             {:type :invoke :f :read :value [7 nil] :process 0}\n{:type :ok :f :read :value [7 3] :process 0}",
            Format::Edn,
        )
        .unwrap();
        let mut o = opts(Model::Register);
        o.independent = true;
        let keys = partition(&h, &o).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key, Some(json!(7)));
        assert_eq!(keys[0].ops[1].action, Action::Read(1));
        let bad = History::parse(
            "t.edn",
            "{:type :invoke :f :write :value 3 :process 0}",
            Format::Edn,
        )
        .unwrap();
        let e = partition(&bad, &o).unwrap_err();
        assert!(e.to_string().starts_with("t.edn:1: with --independent"), "{e}");
    }

    #[test]
    fn shape_errors_name_the_line() {
        let cases = [
            (
                Model::CasRegister,
                vec![json!({"process":0,"type":"invoke","f":"cas","value":[1]})],
                1,
                "[expected new]",
            ),
            (
                Model::Register,
                vec![json!({"process":0,"type":"invoke","f":"cas","value":[1,2]})],
                1,
                "--model cas-register",
            ),
            (
                Model::CasRegister,
                vec![json!({"process":0,"type":"invoke","f":"txn","value":[]})],
                1,
                "not an operation of the cas-register model",
            ),
            (
                Model::Register,
                vec![
                    json!({"process":0,"type":"invoke","f":"write","value":1}),
                    json!({"process":0,"type":"ok","f":"write","value":2}),
                ],
                2,
                "reports value 2",
            ),
        ];
        for (model, lines, line, needle) in cases {
            let e = partition(&jsonl(&lines), &opts(model)).unwrap_err();
            assert_eq!(e.line(), Some(line), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
