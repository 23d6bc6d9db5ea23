//! The operation generator: a pure function of the workload's generator section and the seed.
//!
//! One generator serves all clients in turn, so the sequence of generated operations depends on
//! the seed alone (which client performs which operation depends on timing, as in Jepsen).

use super::{GeneratorConfig, RegisterMix};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// One operation to perform: the `f`, `key` and `value` of its invocation event.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOp {
    /// `read`, `write`, `cas` or `txn`.
    pub f: &'static str,
    /// The key, for register operations.
    pub key: Option<u64>,
    /// The argument: null for reads, the value to write, `[expected, new]` for cas, or the
    /// micro-ops of a transaction.
    pub value: Value,
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
                    GenOp {
                        f: "read",
                        key,
                        value: Value::Null,
                    }
                } else if pick < mix.read + mix.write {
                    GenOp {
                        f: "write",
                        key,
                        value: json!(v(rng)),
                    }
                } else {
                    let expected = v(rng);
                    let new = v(rng);
                    GenOp {
                        f: "cas",
                        key,
                        value: json!([expected, new]),
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
                }
            }
        }
    }

    /// Reads of every key ever used (list-append: retired keys too, several keys per read-only
    /// transaction), for the end of a run after the cluster has healed.
    pub fn final_reads(&self) -> Vec<GenOp> {
        match &self.kind {
            GeneratorState::Register { keys, .. } => (0..u64::from(*keys))
                .map(|k| GenOp {
                    f: "read",
                    key: Some(k),
                    value: Value::Null,
                })
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

/// Read-only transactions reading `keys`, a few keys each.
fn read_only_txns(keys: &[u64]) -> Vec<GenOp> {
    keys.chunks(FINAL_READ_KEYS_PER_TXN)
        .map(|chunk| GenOp {
            f: "txn",
            key: None,
            value: Value::Array(chunk.iter().map(|k| json!(["r", k, null])).collect()),
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
}
