//! Brute-force oracle for causal consistency on small random rw-register histories, from the
//! definition (Cerone et al.): a history is causal iff some choice of which info transactions
//! committed and some total arbitration order AR of the committed ones satisfy: visibility VIS
//! (the transitive closure of process order and reads-from) is contained in AR, and every ok
//! read of key k by R returns R's own last earlier write to k if any, else the last write to k
//! of the AR-latest transaction visible to R that wrote k, else nil.
//!
//! rw-register inference knows only part of each key's version order (what reads imply), so
//! the checker may accept a history the oracle rejects; it must never reject one the oracle
//! accepts. Both verdicts must occur, and the checker must catch a good share.

mod support;

use faultline_checkers::graph::ConsistencyModel::Causal;
use faultline_checkers::graph::Workload;
use faultline_checkers::report::Verdict;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::HashMap;
use support::{Hist, analyze_with, permutations};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    Ok,
    Fail,
    Info,
}

/// A micro-op: (is_write, key, value; `None` reads nil).
type Mop = (bool, u64, Option<u64>);

#[derive(Clone, Debug)]
struct T {
    process: u64,
    mops: Vec<Mop>,
    end: End,
}

fn value(t: &T) -> Value {
    Value::Array(
        t.mops
            .iter()
            .map(|(write, k, v)| {
                if *write {
                    json!(["w", k, v])
                } else {
                    json!(["r", k, v])
                }
            })
            .collect(),
    )
}

fn last_write(t: &T, k: u64) -> Option<u64> {
    t.mops.iter().rev().find(|m| m.0 && m.1 == k).and_then(|m| m.2)
}

fn causal(txns: &[T]) -> bool {
    let info: Vec<usize> = (0..txns.len()).filter(|&i| txns[i].end == End::Info).collect();
    (0..(1u32 << info.len())).any(|choice| {
        let committed: Vec<bool> = (0..txns.len())
            .map(|i| match txns[i].end {
                End::Ok => true,
                End::Fail => false,
                End::Info => choice & (1 << info.iter().position(|&j| j == i).unwrap()) != 0,
            })
            .collect();
        explained(txns, &committed)
    })
}

fn explained(txns: &[T], committed: &[bool]) -> bool {
    let n = txns.len();
    let writer: HashMap<(u64, u64), usize> = (0..n)
        .flat_map(|i| {
            txns[i]
                .mops
                .iter()
                .filter(|m| m.0)
                .map(move |m| ((m.1, m.2.unwrap()), i))
        })
        .collect();
    let mut vis = vec![vec![false; n]; n];
    let mut last_of: HashMap<u64, usize> = HashMap::new();
    for i in (0..n).filter(|&i| committed[i]) {
        if let Some(&p) = last_of.get(&txns[i].process) {
            vis[p][i] = true;
        }
        last_of.insert(txns[i].process, i);
    }
    for r in (0..n).filter(|&i| txns[i].end == End::Ok) {
        for (write, k, v) in &txns[r].mops {
            if let (false, Some(v)) = (write, v) {
                match writer.get(&(*k, *v)) {
                    Some(&w) if w == r => {}
                    Some(&w) if committed[w] => vis[w][r] = true,
                    _ => return false,
                }
            }
        }
    }
    for m in 0..n {
        for a in 0..n {
            for b in 0..n {
                if vis[a][m] && vis[m][b] {
                    vis[a][b] = true;
                }
            }
        }
    }
    if (0..n).any(|i| vis[i][i]) {
        return false;
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| committed[i]).collect();
    permutations(&mut order, 0, &mut |ar| reads_hold(txns, ar, &vis))
}

fn reads_hold(txns: &[T], ar: &[usize], vis: &[Vec<bool>]) -> bool {
    let rank: HashMap<usize, usize> = ar.iter().enumerate().map(|(i, &t)| (t, i)).collect();
    if ar
        .iter()
        .any(|a| ar.iter().any(|b| vis[*a][*b] && rank[a] > rank[b]))
    {
        return false;
    }
    for &r in ar.iter().filter(|&&r| txns[r].end == End::Ok) {
        let mut own: HashMap<u64, u64> = HashMap::new();
        for (write, k, v) in &txns[r].mops {
            if *write {
                own.insert(*k, v.unwrap());
                continue;
            }
            let expected = own.get(k).copied().or_else(|| {
                ar.iter()
                    .rev()
                    .filter(|&&w| w != r && vis[w][r])
                    .find_map(|&w| last_write(&txns[w], *k))
            });
            if expected != *v {
                return false;
            }
        }
    }
    true
}

/// Mostly causal executions (each transaction sees a causally closed set of earlier ones,
/// arbitrated in generation order), sometimes with visibility left unclosed or a stale read.
fn generate(rng: &mut StdRng) -> Vec<T> {
    let n = rng.random_range(2..=5usize);
    let keys = rng.random_range(1..=2u64);
    let processes = rng.random_range(1..=3u64);
    let sloppy = rng.random_bool(0.6);
    let mut next_value = 1;
    let mut txns: Vec<T> = Vec::new();
    let mut vis: Vec<Vec<bool>> = Vec::new();
    let mut fresh_process = 100;
    for i in 0..n {
        let end = match rng.random_range(0..10) {
            0 => End::Fail,
            1 => End::Info,
            _ => End::Ok,
        };
        let mut process = rng.random_range(0..processes);
        if end == End::Info {
            process = fresh_process;
            fresh_process += 1;
        }
        let mut sees = vec![false; n];
        for j in 0..i {
            if txns[j].end == End::Fail {
                continue;
            }
            let closed = !sloppy || rng.random_bool(0.7);
            if (txns[j].process == process && closed) || rng.random_bool(0.4) {
                sees[j] = true;
                if closed {
                    for m in 0..i {
                        sees[m] |= vis[j][m];
                    }
                }
            }
        }
        let mut mops: Vec<Mop> = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            let k = rng.random_range(0..keys);
            if rng.random_bool(0.5) {
                mops.push((true, k, Some(next_value)));
                next_value += 1;
            } else {
                let own = mops.iter().rev().find(|m| m.0 && m.1 == k).and_then(|m| m.2);
                let mut seen = own.or_else(|| {
                    (0..i)
                        .rev()
                        .filter(|&j| sees[j])
                        .find_map(|j| last_write(&txns[j], k))
                });
                if sloppy && rng.random_bool(0.25) {
                    // A stale read: an older visible version, or nil.
                    let older: Vec<u64> = (0..i)
                        .filter(|&j| sees[j])
                        .filter_map(|j| last_write(&txns[j], k))
                        .collect();
                    seen = if older.is_empty() || rng.random_bool(0.3) {
                        None
                    } else {
                        Some(older[rng.random_range(0..older.len())])
                    };
                }
                mops.push((false, k, seen));
            }
        }
        txns.push(T { process, mops, end });
        vis.push(sees);
    }
    txns
}

fn record(rng: &mut StdRng, txns: &[T]) -> (Vec<T>, Hist) {
    let mut queues: Vec<Vec<usize>> = Vec::new();
    let mut procs: Vec<u64> = Vec::new();
    for (i, t) in txns.iter().enumerate() {
        match procs.iter().position(|&p| p == t.process) {
            Some(q) => queues[q].push(i),
            None => {
                procs.push(t.process);
                queues.push(vec![i]);
            }
        }
    }
    for q in &mut queues {
        q.reverse();
    }
    let mut h = Hist::new();
    let mut recorded = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        let live: Vec<usize> = (0..queues.len()).filter(|&q| !queues[q].is_empty()).collect();
        let q = live[rng.random_range(0..live.len())];
        let t = &txns[queues[q].pop().expect("live queue")];
        h.invoke(t.process, value(t));
        match t.end {
            End::Ok => h.ok(t.process),
            End::Fail => h.fail(t.process),
            End::Info => h.info(t.process),
        };
        recorded.push(t.clone());
    }
    (recorded, h)
}

#[test]
fn checker_never_rejects_a_causal_register_history() {
    let (mut accepted, mut rejected, mut caught) = (0, 0, 0);
    for seed in 0..10_000u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let txns = generate(&mut rng);
        let (recorded, h) = record(&mut rng, &txns);
        let oracle = causal(&recorded);
        let analysis = analyze_with(&h.history(), Workload::RwRegister, &[Causal]);
        let verdict = analysis.model(Causal).expect("causal was requested").verdict;
        if oracle {
            accepted += 1;
            assert_eq!(
                verdict,
                Verdict::Valid,
                "seed {seed}: causal history rejected\n{recorded:?}\n{}",
                analysis.into_report().render_text(3)
            );
        } else {
            rejected += 1;
            if verdict == Verdict::Invalid {
                caught += 1;
            }
        }
    }
    eprintln!("causal register oracle: {accepted} causal, {rejected} not; the checker caught {caught}");
    assert!(
        accepted > 2000 && rejected > 1000,
        "{accepted} causal, {rejected} not"
    );
    assert!(caught * 2 > rejected, "caught only {caught} of {rejected}");
}
