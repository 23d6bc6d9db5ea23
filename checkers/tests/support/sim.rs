//! Simulated transactional stores with real concurrency interleavings, for testing the graph
//! checker against histories whose guarantees are known, and for benchmarks.
//!
//! Clients (processes) run transactions of 1 to 5 micro-ops on a few active keys. A seeded
//! scheduler interleaves every process's steps (invoke, execute phases, complete). Stores:
//! strict serializable (a transaction executes atomically at one instant between its invocation
//! and completion); stale reads (read-only transactions read a consistent but lagging snapshot,
//! like a lagging replica: serializable, not strict, breaks read-your-writes and monotonic
//! reads); snapshot isolation (snapshot at start, first committer wins); read committed (each
//! read sees the latest committed state, writes buffered until commit under write locks). Some transactions fail
//! before executing, and some end `info` (having executed or not), after which the process is
//! replaced by a fresh one.
#![allow(dead_code)]

use faultline_checkers::history::{Event, EventKind, Process};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// The store's isolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    StrictSerializable,
    StaleReads { max_lag: u64 },
    SnapshotIsolation,
    ReadCommitted,
}

/// Which micro-ops transactions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ops {
    ListAppend,
    RwRegister,
}

/// A simulation.
#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    pub store: Store,
    pub ops: Ops,
    pub txns: usize,
    pub concurrency: usize,
    pub active_keys: u64,
    pub max_writes_per_key: u64,
    pub fail_rate: f64,
    pub info_rate: f64,
    pub seed: u64,
}

impl SimConfig {
    pub fn new(store: Store, ops: Ops, txns: usize, seed: u64) -> Self {
        SimConfig {
            store,
            ops,
            txns,
            concurrency: 5,
            active_keys: 4,
            max_writes_per_key: 16,
            fail_rate: 0.05,
            info_rate: 0.03,
            seed,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mop {
    Read(u64),
    Write(u64, u64),
}

#[derive(Clone, Copy, PartialEq)]
enum Plan {
    Normal,
    FailFirst,
    InfoWithoutEffect,
    InfoAfterEffect,
}

struct Running {
    process: u64,
    mops: Vec<Mop>,
    plan: Plan,
    /// Results of reads, by micro-op position.
    reads: Vec<Option<Value>>,
    /// Snapshot (SI) or the next micro-op to run (RC).
    snapshot: u64,
    next_mop: usize,
    executed: bool,
    aborted: bool,
}

/// The committed state: per key, (commit sequence, value) in commit order.
struct State {
    keys: Vec<Vec<(u64, u64)>>,
    head: u64,
    /// Read committed: key -> process holding its write lock until commit.
    locks: std::collections::HashMap<u64, u64>,
}

impl State {
    fn key(&mut self, k: u64) -> &mut Vec<(u64, u64)> {
        let k = k as usize;
        if self.keys.len() <= k {
            self.keys.resize_with(k + 1, Vec::new);
        }
        &mut self.keys[k]
    }

    /// The value of a key as of commit sequence `at` (list or register), plus own writes.
    fn read(&mut self, ops: Ops, k: u64, at: u64, own: &[u64]) -> Value {
        let committed = self.key(k).iter().take_while(|(s, _)| *s <= at).map(|(_, v)| *v);
        match ops {
            Ops::ListAppend => {
                let mut l: Vec<u64> = committed.collect();
                l.extend_from_slice(own);
                json!(l)
            }
            Ops::RwRegister => match own.last() {
                Some(v) => json!(v),
                None => committed.last().map_or(Value::Null, |v| json!(v)),
            },
        }
    }

    fn last_commit(&mut self, k: u64) -> u64 {
        self.key(k).last().map_or(0, |(s, _)| *s)
    }

    fn commit(&mut self, writes: &[(u64, u64)]) {
        self.head += 1;
        let seq = self.head;
        for &(k, v) in writes {
            self.key(k).push((seq, v));
        }
    }
}

fn own_writes(mops: &[Mop], upto: usize, k: u64) -> Vec<u64> {
    mops[..upto]
        .iter()
        .filter_map(|m| match *m {
            Mop::Write(key, v) if key == k => Some(v),
            _ => None,
        })
        .collect()
}

fn writes_of(mops: &[Mop]) -> Vec<(u64, u64)> {
    mops.iter()
        .filter_map(|m| match *m {
            Mop::Write(k, v) => Some((k, v)),
            _ => None,
        })
        .collect()
}

fn value_of(ops: Ops, mops: &[Mop], reads: &[Option<Value>]) -> Value {
    let w = match ops {
        Ops::ListAppend => "append",
        Ops::RwRegister => "w",
    };
    Value::Array(
        mops.iter()
            .enumerate()
            .map(|(i, m)| match *m {
                Mop::Read(k) => json!(["r", k, reads.get(i).cloned().flatten().unwrap_or(Value::Null)]),
                Mop::Write(k, v) => json!([w, k, v]),
            })
            .collect(),
    )
}

/// Runs the simulation; returns the history's events.
pub fn generate(cfg: SimConfig) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut events: Vec<Event> = Vec::with_capacity(cfg.txns * 2);
    let mut state = State {
        keys: Vec::new(),
        head: 0,
        locks: Default::default(),
    };
    let mut active: Vec<u64> = (0..cfg.active_keys).collect();
    let mut next_key = cfg.active_keys;
    let mut writes_on_key: Vec<u64> = vec![0; cfg.active_keys as usize];
    let mut slots: Vec<Option<Running>> = (0..cfg.concurrency).map(|_| None).collect();
    let mut process_of_slot: Vec<u64> = (0..cfg.concurrency as u64).collect();
    let mut next_process = cfg.concurrency as u64;
    let mut invoked = 0usize;
    let push = |events: &mut Vec<Event>, p: u64, kind: EventKind, value: Value| {
        let index = events.len() as u64;
        let mut e = Event::new(index, Process::Client(p), kind, "txn", value);
        e.time = Some(index * 1000);
        events.push(e);
    };
    loop {
        let busy = slots.iter().any(Option::is_some);
        if invoked >= cfg.txns && !busy {
            break;
        }
        let s = rng.random_range(0..cfg.concurrency);
        let Some(run) = slots[s].as_mut() else {
            if invoked >= cfg.txns {
                continue;
            }
            // Invoke a new transaction.
            invoked += 1;
            let n = rng.random_range(1..=5usize);
            let mut mops = Vec::with_capacity(n);
            for _ in 0..n {
                let slot = rng.random_range(0..active.len());
                let k = active[slot];
                if rng.random_bool(0.5) {
                    mops.push(Mop::Read(k));
                } else {
                    writes_on_key[slot] += 1;
                    // Values are unique per key: the count of writes to it so far.
                    let v = writes_on_key[slot];
                    mops.push(Mop::Write(k, v));
                    if writes_on_key[slot] >= cfg.max_writes_per_key {
                        active[slot] = next_key;
                        next_key += 1;
                        writes_on_key[slot] = 0;
                    }
                }
            }
            let r: f64 = rng.random();
            let plan = if r < cfg.fail_rate {
                Plan::FailFirst
            } else if r < cfg.fail_rate + cfg.info_rate / 2.0 {
                Plan::InfoWithoutEffect
            } else if r < cfg.fail_rate + cfg.info_rate {
                Plan::InfoAfterEffect
            } else {
                Plan::Normal
            };
            let process = process_of_slot[s];
            push(
                &mut events,
                process,
                EventKind::Invoke,
                value_of(cfg.ops, &mops, &[]),
            );
            let reads = vec![None; mops.len()];
            slots[s] = Some(Running {
                process,
                mops,
                plan,
                reads,
                snapshot: state.head,
                next_mop: 0,
                executed: false,
                aborted: false,
            });
            continue;
        };
        if !run.executed && !run.aborted && run.plan != Plan::FailFirst && run.plan != Plan::InfoWithoutEffect
        {
            execute_step(cfg, &mut rng, &mut state, run);
            continue;
        }
        // Complete.
        let run = slots[s].take().expect("matched above");
        let p = run.process;
        match run.plan {
            Plan::FailFirst => push(&mut events, p, EventKind::Fail, value_of(cfg.ops, &run.mops, &[])),
            _ if run.aborted => push(&mut events, p, EventKind::Fail, value_of(cfg.ops, &run.mops, &[])),
            Plan::InfoWithoutEffect | Plan::InfoAfterEffect => {
                push(&mut events, p, EventKind::Info, value_of(cfg.ops, &run.mops, &[]));
                process_of_slot[s] = next_process;
                next_process += 1;
            }
            Plan::Normal => push(
                &mut events,
                p,
                EventKind::Ok,
                value_of(cfg.ops, &run.mops, &run.reads),
            ),
        }
    }
    events
}

/// One execution step of a running transaction.
fn execute_step(cfg: SimConfig, rng: &mut StdRng, state: &mut State, run: &mut Running) {
    match cfg.store {
        Store::StrictSerializable | Store::StaleReads { .. } => {
            let read_only = run.mops.iter().all(|m| matches!(m, Mop::Read(_)));
            let at = match cfg.store {
                Store::StaleReads { max_lag } if read_only => {
                    state.head.saturating_sub(rng.random_range(0..=max_lag))
                }
                _ => state.head,
            };
            for i in 0..run.mops.len() {
                if let Mop::Read(k) = run.mops[i] {
                    let own = own_writes(&run.mops, i, k);
                    run.reads[i] = Some(state.read(cfg.ops, k, at, &own));
                }
            }
            let writes = writes_of(&run.mops);
            if !writes.is_empty() {
                state.commit(&writes);
            }
            run.executed = true;
        }
        Store::SnapshotIsolation => {
            if run.next_mop == 0 {
                // First step: take the snapshot.
                run.snapshot = state.head;
                run.next_mop = 1;
                return;
            }
            let writes = writes_of(&run.mops);
            if writes.iter().any(|&(k, _)| state.last_commit(k) > run.snapshot) {
                run.aborted = true;
                return;
            }
            for i in 0..run.mops.len() {
                if let Mop::Read(k) = run.mops[i] {
                    let own = own_writes(&run.mops, i, k);
                    run.reads[i] = Some(state.read(cfg.ops, k, run.snapshot, &own));
                }
            }
            if !writes.is_empty() {
                state.commit(&writes);
            }
            run.executed = true;
        }
        Store::ReadCommitted => {
            if run.next_mop < run.mops.len() {
                let i = run.next_mop;
                match run.mops[i] {
                    Mop::Read(k) => {
                        let own = own_writes(&run.mops, i, k);
                        let head = state.head;
                        run.reads[i] = Some(state.read(cfg.ops, k, head, &own));
                    }
                    Mop::Write(k, _) => {
                        // A write lock held to commit; a conflict aborts (no waiting).
                        let holder = *state.locks.entry(k).or_insert(run.process);
                        if holder != run.process {
                            state.locks.retain(|_, p| *p != run.process);
                            run.aborted = true;
                            return;
                        }
                    }
                }
                run.next_mop += 1;
                return;
            }
            let writes = writes_of(&run.mops);
            if !writes.is_empty() {
                state.commit(&writes);
            }
            state.locks.retain(|_, p| *p != run.process);
            run.executed = true;
        }
    }
}
