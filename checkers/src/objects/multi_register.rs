//! Knossos's `multi-register`: registers identified by keys, read and written by transactions
//! `:f :txn`, `:value [[:read k v] [:write k v] ...]`, applied in order and atomically. Every
//! register starts as nil. An `ok` transaction's reads must see what the registers hold (a read
//! of nil: the register was never written, or last written nil); an `info` transaction's reads
//! are unknown and constrain nothing, its writes may all take effect at one point or none do.
//!
//! Knossos treats every nil read as "not known" and accepts it; here an `ok` read of nil means
//! the register held nil, as in faultline's `register` model, so a read that missed a write is
//! caught. The micro-ops are `read`/`write` (Jepsen keywords); rw-register's `r`/`w` are
//! refused with a pointer to `--model rw-register`.

use super::prepare::{KeyOps, ShapeError, Shaped, unknown_f};
use super::spec::{Spec, Values};
use crate::history::quote;
use serde_json::{Map, Value};

/// One micro-op, keys and values interned; `None` is nil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Micro {
    /// Read `key` and saw `value`.
    Read { key: u32, value: Option<u32> },
    /// Wrote `value` to `key`.
    Write { key: u32, value: Option<u32> },
}

/// A transaction.
pub(crate) type Txn = Box<[Micro]>;

/// The multi-register model of one (independent) key: its interned register names and values.
#[derive(Debug, Clone, Default)]
pub(crate) struct MultiRegister {
    keys: Values,
    values: Values,
}

/// Registers holding a non-nil value, sorted by register.
pub(crate) type Registers = Vec<(u32, u32)>;

/// Compiles one `txn`: a list of `[f k v]` with `f` `read` or `write`.
pub(crate) fn compile(m: &mut MultiRegister, s: &Shaped<'_>) -> Result<Txn, ShapeError> {
    if s.op.f != "txn" {
        return Err(unknown_f(&s.op.f, "multi-register", "txn", ""));
    }
    let invoked = parse(m, s.argument, false).map_err(ShapeError::Invocation)?;
    let Some(result) = s.result else {
        // info: the writes may take effect; what the reads saw is unknown.
        return Ok(invoked
            .into_iter()
            .filter(|mop| matches!(mop, Micro::Write { .. }))
            .collect());
    };
    let done = parse(m, result, true).map_err(ShapeError::Completion)?;
    let same_shape = invoked.len() == done.len()
        && invoked.iter().zip(&done).all(|(a, b)| match (a, b) {
            (Micro::Read { key: x, .. }, Micro::Read { key: y, .. }) => x == y,
            (Micro::Write { key: x, value: v }, Micro::Write { key: y, value: w }) => x == y && v == w,
            _ => false,
        });
    if !same_shape {
        return Err(ShapeError::Completion(format!(
            "the completed transaction {} does not match its invocation {} (same micro-ops, keys and written values expected)",
            quote(result),
            quote(s.argument)
        )));
    }
    Ok(done.into_boxed_slice())
}

fn parse(m: &mut MultiRegister, txn: &Value, completed: bool) -> Result<Vec<Micro>, String> {
    let Some(mops) = txn.as_array() else {
        return Err(format!(
            "a multi-register transaction must be a list of [f k v] micro-ops (f read or write), found {}",
            quote(txn)
        ));
    };
    mops.iter()
        .map(|mop| {
            let Some([f, k, v]) = mop.as_array().map(Vec::as_slice) else {
                return Err(format!(
                    "a micro-op must be a three-element list [f k v], found {}",
                    quote(mop)
                ));
            };
            let key = m.keys.intern(k);
            let value = (!v.is_null()).then(|| m.values.intern(v));
            match f.as_str() {
                Some("read") => Ok(Micro::Read { key, value }),
                Some("write") => Ok(Micro::Write { key, value }),
                Some(other @ ("r" | "w" | "append")) => Err(format!(
                    "micro-op \"{other}\" is not a multi-register micro-op (expected read or write); {} histories are checked with --model {}",
                    if other == "append" { "list-append" } else { "rw-register" },
                    if other == "append" { "list-append" } else { "rw-register" },
                )),
                _ => Err(format!(
                    "a micro-op's f must be read or write, found {}{}",
                    quote(f),
                    if completed { " in the completion" } else { "" }
                )),
            }
        })
        .collect()
}

/// Leaves out the `info` transactions whose writes no `ok` read can observe: for every
/// `[write k v]` it holds, no `ok` transaction returning after its invocation reads `[read k v]`.
/// The register search's "an optional write must be read right away" rule, in this model's terms.
///
/// Exact. Leaving an `info` transaction out can never make an invalid history valid (it may
/// never have taken effect). Conversely, take a linearization placing such a transaction T
/// (its reads were dropped at compile time: it only writes). For each register k T writes
/// (last with v), the operations after T up to the next write of k see k = v; a read of k
/// among them would read `[read k v]`, and it is linearized after T's invocation, so it returns
/// after it: there is none. Removing T therefore changes what no operation reads (registers T
/// does not write are untouched, and from the next write of k on the states agree), and real
/// time only loses a constraint. The condition names `ok` operations only, which are never
/// removed, so removing the dropped transactions one after another keeps it true for each.
pub(crate) fn drop_unobserved(key: &mut KeyOps<MultiRegister, Txn>) -> usize {
    // Per (register, value) read by an ok transaction: the latest return of such a read.
    let mut read_until: rustc_hash::FxHashMap<(u32, Option<u32>), usize> = Default::default();
    for o in &key.ops {
        let Some(ret) = o.ret else { continue };
        for mop in o.op.iter() {
            if let Micro::Read { key, value } = *mop {
                let at = read_until.entry((key, value)).or_insert(ret);
                *at = (*at).max(ret);
            }
        }
    }
    let observed = |call: usize, txn: &Txn| {
        txn.iter().any(|mop| match *mop {
            Micro::Write { key, value } => read_until.get(&(key, value)).is_some_and(|&r| r > call),
            Micro::Read { .. } => false,
        })
    };
    let before = key.ops.len();
    key.ops.retain(|o| o.ret.is_some() || observed(o.call, &o.op));
    before - key.ops.len()
}

fn get(regs: &Registers, key: u32) -> Option<u32> {
    regs.binary_search_by_key(&key, |(k, _)| *k)
        .ok()
        .map(|i| regs[i].1)
}

fn set(regs: &mut Registers, key: u32, value: Option<u32>) {
    match (regs.binary_search_by_key(&key, |(k, _)| *k), value) {
        (Ok(i), Some(v)) => regs[i].1 = v,
        (Ok(i), None) => {
            regs.remove(i);
        }
        (Err(i), Some(v)) => regs.insert(i, (key, v)),
        (Err(_), None) => {}
    }
}

impl MultiRegister {
    fn value_label(&self, v: Option<u32>) -> String {
        v.map_or_else(|| "nil".to_string(), |v| self.values.label(v))
    }

    fn key_label(&self, k: u32) -> String {
        match self.keys.get(k) {
            Value::String(s) => s.clone(),
            other => crate::linear::value_label(other),
        }
    }

    fn micro_label(&self, mop: &Micro) -> String {
        match *mop {
            Micro::Read { key, value } => {
                format!("[read {} {}]", self.key_label(key), self.value_label(value))
            }
            Micro::Write { key, value } => {
                format!("[write {} {}]", self.key_label(key), self.value_label(value))
            }
        }
    }
}

impl Spec for MultiRegister {
    type State = Registers;

    fn state_bytes(&self, state: &Self::State) -> usize {
        std::mem::size_of::<Self::State>() + state.capacity() * std::mem::size_of::<(u32, u32)>()
    }
    type Op = Txn;

    fn init(&self) -> Registers {
        Vec::new()
    }

    fn step(&self, regs: &Registers, txn: &Txn) -> Option<Registers> {
        let mut next: Option<Registers> = None;
        for mop in txn.iter() {
            let now = next.as_ref().unwrap_or(regs);
            match *mop {
                Micro::Read { key, value } if get(now, key) != value => return None,
                Micro::Read { .. } => {}
                Micro::Write { key, value } => set(next.get_or_insert_with(|| regs.clone()), key, value),
            }
        }
        Some(next.unwrap_or_else(|| regs.clone()))
    }

    fn describe_op(&self, txn: &Txn) -> String {
        let mops: Vec<String> = txn.iter().map(|m| self.micro_label(m)).collect();
        format!("run the transaction [{}]", mops.join(" "))
    }

    fn describe_state(&self, regs: &Registers) -> String {
        if regs.is_empty() {
            return "every register is nil".into();
        }
        let held: Vec<String> = regs
            .iter()
            .map(|(k, v)| format!("{} = {}", self.key_label(*k), self.values.label(*v)))
            .collect();
        format!("the registers hold {} (every other is nil)", held.join(", "))
    }

    fn state_json(&self, regs: &Registers) -> Value {
        let mut map = Map::new();
        for (k, v) in regs {
            let name = match self.keys.get(*k) {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            map.insert(name, self.values.get(*v).clone());
        }
        Value::Object(map)
    }

    fn why_not(&self, regs: &Registers, txn: &Txn) -> String {
        let mut now = regs.clone();
        for mop in txn.iter() {
            match *mop {
                Micro::Read { key, value } if get(&now, key) != value => {
                    return format!(
                        "its {} needs {} to hold {}, but it holds {} at that point",
                        self.micro_label(mop),
                        self.key_label(key),
                        self.value_label(value),
                        self.value_label(get(&now, key))
                    );
                }
                Micro::Read { .. } => {}
                Micro::Write { key, value } => set(&mut now, key, value),
            }
        }
        "the model accepts it here".into()
    }
}
