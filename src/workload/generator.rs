//! The operation generator: a pure function of the workload's generator section and the seed.
//!
//! One generator serves all clients in turn, so the sequence of generated operations depends on
//! the seed alone (which client performs which operation depends on timing, as in Jepsen).

use super::{GeneratorConfig, RegisterMix};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// One operation to perform: the `f`, `key` and `value` of its invocation event, and what the
/// key holds.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOp {
    /// `read`, `write`, `cas`, `txn` or `add`.
    pub f: &'static str,
    /// The key, for single-key operations.
    pub key: Option<u64>,
    /// The argument: null for reads, the value to write, `[expected, new]` for cas, the
    /// micro-ops of a transaction, the element or amount of an add.
    pub value: Value,
    /// What the key holds, which says what a read of an absent key returns and what `add` is.
    pub object: KeyObject,
}

/// What a key holds, as the workload sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyObject {
    /// A register (or, in transactions, a list): an absent key reads as null.
    #[default]
    Register,
    /// A set of elements, kept as the store's list: `add` appends; an absent key is `[]`.
    Set,
    /// A counter, kept as the store's register: `add n` is a read and a compare-and-set (see
    /// `run::counter_add`); an absent key is 0.
    Counter,
}

impl KeyObject {
    /// What a read of a key that was never written returns.
    pub fn empty(self) -> Value {
        match self {
            KeyObject::Register => Value::Null,
            KeyObject::Set => json!([]),
            KeyObject::Counter => json!(0),
        }
    }
}

/// Keys read by one final read-only transaction.
const FINAL_READ_KEYS_PER_TXN: usize = 8;

/// Generates operations for a workload.
pub struct OpGenerator {
    rng: Xoshiro256PlusPlus,
    kind: GeneratorState,
}

enum GeneratorState {
    Register {
        keys: u32,
        values: u32,
        mix: RegisterMix,
    },
    ListAppend {
        max_txn_len: u32,
        read_fraction: f64,
        max_writes_per_key: u32,
        /// The keys currently in use; a key that reached its write budget is replaced.
        active: Vec<u64>,
        /// Appends made so far to each active key (parallel to `active`).
        appended: Vec<u32>,
        next_key: u64,
    },
    RwRegister {
        keys: u32,
        read_fraction: f64,
        /// The next value to write to each key (values are unique per key).
        next_value: Vec<u64>,
    },
    Set {
        keys: u32,
        read_fraction: f64,
        /// The next element to add (elements are unique over every key).
        next_element: u64,
    },
    Counter {
        keys: u32,
        read_fraction: f64,
        max_add: u32,
        negative_adds: bool,
    },
}

impl OpGenerator {
    /// A generator for the given section and seed.
    pub fn new(config: &GeneratorConfig, seed: u64) -> OpGenerator {
        let kind = match config {
            GeneratorConfig::Register { keys, values, mix } => GeneratorState::Register {
                keys: *keys,
                values: *values,
                mix: mix.clone(),
            },
            GeneratorConfig::ListAppend {
                keys,
                max_txn_len,
                read_fraction,
                max_writes_per_key,
            } => GeneratorState::ListAppend {
                max_txn_len: *max_txn_len,
                read_fraction: *read_fraction,
                max_writes_per_key: *max_writes_per_key,
                active: (0..u64::from(*keys)).collect(),
                appended: vec![0; *keys as usize],
                next_key: u64::from(*keys),
            },
            GeneratorConfig::RwRegister { keys, read_fraction } => GeneratorState::RwRegister {
                keys: *keys,
                read_fraction: *read_fraction,
                next_value: vec![1; *keys as usize],
            },
            GeneratorConfig::Set { keys, read_fraction } => GeneratorState::Set {
                keys: *keys,
                read_fraction: *read_fraction,
                next_element: 0,
            },
            GeneratorConfig::Counter {
                keys,
                read_fraction,
                max_add,
                negative_adds,
            } => GeneratorState::Counter {
                keys: *keys,
                read_fraction: *read_fraction,
                max_add: *max_add,
                negative_adds: *negative_adds,
            },
        };
        OpGenerator {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            kind,
        }
    }

    /// The next operation.
    pub fn next_op(&mut self) -> GenOp {
        let rng = &mut self.rng;
        match &mut self.kind {
            GeneratorState::Register { keys, values, mix } => {
                let key = Some(rng.random_range(0..u64::from(*keys)));
                let total = mix.read + mix.write + mix.cas;
                let pick = rng.random::<f64>() * total;
                let v = |rng: &mut Xoshiro256PlusPlus| rng.random_range(0..*values);
                if pick < mix.read {
                    read_of(key, KeyObject::Register)
                } else if pick < mix.read + mix.write {
                    GenOp {
                        f: "write",
                        key,
                        value: json!(v(rng)),
                        object: KeyObject::Register,
                    }
                } else {
                    let expected = v(rng);
                    let new = v(rng);
                    GenOp {
                        f: "cas",
                        key,
                        value: json!([expected, new]),
                        object: KeyObject::Register,
                    }
                }
            }
            GeneratorState::ListAppend {
                max_txn_len,
                read_fraction,
                max_writes_per_key,
                active,
                appended,
                next_key,
            } => {
                let len = rng.random_range(1..=*max_txn_len);
                let mut micro = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    let slot = rng.random_range(0..active.len());
                    let key = active[slot];
                    if rng.random::<f64>() < *read_fraction {
                        micro.push(json!(["r", key, null]));
                    } else {
                        appended[slot] += 1;
                        micro.push(json!(["append", key, appended[slot]]));
                        if appended[slot] >= *max_writes_per_key {
                            active[slot] = *next_key;
                            appended[slot] = 0;
                            *next_key += 1;
                        }
                    }
                }
                GenOp {
                    f: "txn",
                    key: None,
                    value: Value::Array(micro),
                    object: KeyObject::Register,
                }
            }
            GeneratorState::RwRegister {
                keys,
                read_fraction,
                next_value,
            } => {
                let key = rng.random_range(0..*keys);
                let read = json!(["r", key, null]);
                let value = if rng.random::<f64>() < *read_fraction {
                    json!([read])
                } else {
                    let v = next_value[key as usize];
                    next_value[key as usize] += 1;
                    json!([read, ["w", key, v]])
                };
                GenOp {
                    f: "txn",
                    key: None,
                    value,
                    object: KeyObject::Register,
                }
            }
            GeneratorState::Set {
                keys,
                read_fraction,
                next_element,
            } => {
                let key = Some(rng.random_range(0..u64::from(*keys)));
                if rng.random::<f64>() < *read_fraction {
                    return read_of(key, KeyObject::Set);
                }
                let element = *next_element;
                *next_element += 1;
                GenOp {
                    f: "add",
                    key,
                    value: json!(element),
                    object: KeyObject::Set,
                }
            }
            GeneratorState::Counter {
                keys,
                read_fraction,
                max_add,
                negative_adds,
            } => {
                let key = Some(rng.random_range(0..u64::from(*keys)));
                if rng.random::<f64>() < *read_fraction {
                    return read_of(key, KeyObject::Counter);
                }
                let max = i64::from(*max_add);
                let amount = if *negative_adds {
                    let n = rng.random_range(1..=max);
                    if rng.random::<bool>() { n } else { -n }
                } else {
                    rng.random_range(1..=max)
                };
                GenOp {
                    f: "add",
                    key,
                    value: json!(amount),
                    object: KeyObject::Counter,
                }
            }
        }
    }

    /// Reads of every key ever used (list-append: retired keys too, several keys per read-only
    /// transaction), for the end of a run after the cluster has healed.
    pub fn final_reads(&self) -> Vec<GenOp> {
        match &self.kind {
            GeneratorState::Register { keys, .. } => (0..u64::from(*keys))
                .map(|k| read_of(Some(k), KeyObject::Register))
                .collect(),
            GeneratorState::Set { keys, .. } => (0..u64::from(*keys))
                .map(|k| read_of(Some(k), KeyObject::Set))
                .collect(),
            GeneratorState::Counter { keys, .. } => (0..u64::from(*keys))
                .map(|k| read_of(Some(k), KeyObject::Counter))
                .collect(),
            GeneratorState::RwRegister { keys, .. } => {
                let keys: Vec<u64> = (0..u64::from(*keys)).collect();
                read_only_txns(&keys)
            }
            GeneratorState::ListAppend { next_key, .. } => {
                let keys: Vec<u64> = (0..*next_key).collect();
                read_only_txns(&keys)
            }
        }
    }
}

/// A single-key read.
fn read_of(key: Option<u64>, object: KeyObject) -> GenOp {
    GenOp {
        f: "read",
        key,
        value: Value::Null,
        object,
    }
}

/// Read-only transactions reading `keys`, a few keys each.
fn read_only_txns(keys: &[u64]) -> Vec<GenOp> {
    keys.chunks(FINAL_READ_KEYS_PER_TXN)
        .map(|chunk| GenOp {
            f: "txn",
            key: None,
            value: Value::Array(chunk.iter().map(|k| json!(["r", k, null])).collect()),
            object: KeyObject::Register,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_append() -> GeneratorConfig {
        GeneratorConfig::ListAppend {
            keys: 3,
            max_txn_len: 4,
            read_fraction: 0.5,
            max_writes_per_key: 4,
        }
    }

    #[test]
    fn same_seed_same_operations() {
        let config = GeneratorConfig::Register {
            keys: 3,
            values: 5,
            mix: RegisterMix::default(),
        };
        let a: Vec<_> = {
            let mut g = OpGenerator::new(&config, 7);
            (0..100).map(|_| g.next_op()).collect()
        };
        let mut g = OpGenerator::new(&config, 7);
        let b: Vec<_> = (0..100).map(|_| g.next_op()).collect();
        assert_eq!(a, b);
        let mut g = OpGenerator::new(&config, 8);
        let c: Vec<_> = (0..100).map(|_| g.next_op()).collect();
        assert_ne!(a, c);
        for f in ["read", "write", "cas"] {
            assert!(a.iter().any(|o| o.f == f), "{f} never generated");
        }
    }

    #[test]
    fn appends_are_unique_per_key_and_keys_rotate() {
        let mut g = OpGenerator::new(&list_append(), 1);
        let mut seen = std::collections::HashSet::new();
        let mut max_key = 0;
        for _ in 0..500 {
            let op = g.next_op();
            for m in op.value.as_array().unwrap() {
                if m[0] == "append" {
                    let key = m[1].as_u64().unwrap();
                    max_key = max_key.max(key);
                    assert!(seen.insert((key, m[2].as_u64().unwrap())), "duplicate append {m}");
                    assert!(m[2].as_u64().unwrap() <= 4);
                }
            }
        }
        assert!(max_key > 10, "keys rotate once their write budget is spent");
        let read: Vec<u64> = g
            .final_reads()
            .iter()
            .flat_map(|op| op.value.as_array().unwrap().clone())
            .map(|m| {
                assert_eq!(m[0], "r");
                m[1].as_u64().unwrap()
            })
            .collect();
        let expected: Vec<u64> = (0..=max_key).collect();
        assert!(
            read.starts_with(&expected),
            "every key ever written is read at the end, retired ones too: {read:?}"
        );
    }

    #[test]
    fn rw_register_writes_unique_values_after_reading_the_key() {
        let config = GeneratorConfig::RwRegister {
            keys: 2,
            read_fraction: 0.5,
        };
        let mut g = OpGenerator::new(&config, 3);
        let mut written = std::collections::HashSet::new();
        let mut reads_only = 0;
        for _ in 0..200 {
            let op = g.next_op();
            let micro = op.value.as_array().unwrap();
            assert_eq!(micro[0][0], "r");
            match micro.len() {
                1 => reads_only += 1,
                2 => {
                    assert_eq!((&micro[1][0], &micro[1][1]), (&json!("w"), &micro[0][1]));
                    assert!(
                        written.insert((micro[1][1].clone(), micro[1][2].clone())),
                        "unique"
                    );
                }
                n => panic!("{n} micro-ops"),
            }
        }
        assert!(reads_only > 50 && written.len() > 50);
        assert_eq!(g.final_reads().len(), 1, "both keys in one read");
    }

    #[test]
    fn set_adds_unique_elements_reads_sets_and_reads_every_key_at_the_end() {
        let config = GeneratorConfig::Set {
            keys: 3,
            read_fraction: 0.3,
        };
        let mut g = OpGenerator::new(&config, 5);
        let mut elements = std::collections::HashSet::new();
        let (mut reads, mut keys) = (0, std::collections::BTreeSet::new());
        for _ in 0..300 {
            let op = g.next_op();
            assert_eq!(op.object, KeyObject::Set);
            keys.insert(op.key.unwrap());
            match op.f {
                "add" => assert!(elements.insert(op.value.as_u64().unwrap()), "unique"),
                "read" => {
                    assert_eq!(op.value, Value::Null);
                    reads += 1
                }
                f => panic!("{f}"),
            }
        }
        assert!(
            reads > 50 && elements.len() > 150,
            "{reads} reads, {} adds",
            elements.len()
        );
        assert_eq!(keys, (0..3).collect());
        let finals: Vec<_> = g.final_reads().iter().map(|o| (o.f, o.key, o.object)).collect();
        assert_eq!(
            finals,
            (0..3)
                .map(|k| ("read", Some(k), KeyObject::Set))
                .collect::<Vec<_>>()
        );
        assert_eq!(KeyObject::Set.empty(), json!([]));
    }

    #[test]
    fn counter_adds_small_amounts_of_the_chosen_signs() {
        let amounts = |negative_adds| {
            let config = GeneratorConfig::Counter {
                keys: 2,
                read_fraction: 0.5,
                max_add: 3,
                negative_adds,
            };
            let mut g = OpGenerator::new(&config, 9);
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..400 {
                let op = g.next_op();
                assert_eq!(op.object, KeyObject::Counter);
                if op.f == "add" {
                    seen.insert(op.value.as_i64().unwrap());
                } else {
                    assert_eq!(op.f, "read");
                }
            }
            assert_eq!(g.final_reads().len(), 2);
            seen
        };
        assert_eq!(amounts(false), [1, 2, 3].into());
        assert_eq!(amounts(true), [-3, -2, -1, 1, 2, 3].into());
        assert_eq!(KeyObject::Counter.empty(), json!(0));
    }
}
