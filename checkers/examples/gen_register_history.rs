//! Generates a large, linearizable multi-key cas-register history in the native JSON Lines
//! format, for benchmarks: `cargo run --release -p faultline-checkers --example
//! gen_register_history -- [OPS] [KEYS] [PROCESSES] [INFO_RATE] [SEED] > history.jsonl`
//! (defaults: 1,000,000 operations, 1,000 keys, 50 processes, 0.01, seed 1).
//!
//! It simulates real registers: every operation takes effect at one instant between its
//! invocation and completion, in the order of those instants, so the history is linearizable by
//! construction. Operations whose outcome is reported as `info` (timeouts) took effect or not at
//! random, and the process is then replaced by a fresh one, as Jepsen does.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufWriter, Write};

#[derive(Clone, Copy)]
enum F {
    Read,
    Write(u32),
    Cas(u32, u32),
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The operation takes effect (kept before completions at the same instant).
    Effect,
    Complete,
    Invoke,
}

struct InFlight {
    process: u64,
    key: u32,
    f: F,
    /// What a read saw, or whether a cas succeeded, once it has taken effect.
    read: Option<u32>,
    cas_ok: bool,
    info: bool,
    applies: bool,
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse::<f64>().ok()).unwrap_or(default);
    let total_ops = arg(0, 1_000_000.0) as u64;
    let keys = arg(1, 1000.0) as u32;
    let processes = arg(2, 50.0) as usize;
    let info_rate = arg(3, 0.01);
    let mut rng = SmallRng::seed_from_u64(arg(4, 1.0) as u64);

    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    // Register values; 0 means never written (null), v > 0 is the integer v.
    let mut state = vec![0u32; keys as usize];
    let mut slots: Vec<Option<InFlight>> = (0..processes).map(|_| None).collect();
    let mut process_of: Vec<u64> = (0..processes as u64).collect();
    let mut next_process = processes as u64;
    let mut queue: BinaryHeap<Reverse<(u64, Step, usize)>> = BinaryHeap::new();
    for slot in 0..processes {
        queue.push(Reverse((rng.random_range(0..1_000_000), Step::Invoke, slot)));
    }
    let (mut invoked, mut index) = (0u64, 0u64);
    let value = |v: u32| if v == 0 { "null".to_string() } else { v.to_string() };
    while let Some(Reverse((now, step, slot))) = queue.pop() {
        match step {
            Step::Invoke => {
                if invoked == total_ops {
                    continue;
                }
                invoked += 1;
                let key = rng.random_range(0..keys);
                let f = match rng.random_range(0..4) {
                    0 | 1 => F::Read,
                    2 => F::Write(rng.random_range(1..=5)),
                    _ => F::Cas(rng.random_range(1..=5), rng.random_range(1..=5)),
                };
                let info = rng.random_bool(info_rate);
                let process = process_of[slot];
                let (name, arg) = match f {
                    F::Read => ("read", "null".to_string()),
                    F::Write(v) => ("write", v.to_string()),
                    F::Cas(e, n) => ("cas", format!("[{e},{n}]")),
                };
                writeln!(
                    out,
                    r#"{{"index":{index},"time":{now},"process":{process},"type":"invoke","f":"{name}","value":{arg},"key":"k{key}"}}"#
                )?;
                index += 1;
                let latency = rng.random_range(50_000..2_000_000u64);
                let effect_at = now + rng.random_range(1..latency);
                slots[slot] = Some(InFlight {
                    process,
                    key,
                    f,
                    read: None,
                    cas_ok: false,
                    info,
                    applies: !info || rng.random_bool(0.5),
                });
                queue.push(Reverse((effect_at, Step::Effect, slot)));
                queue.push(Reverse((now + latency, Step::Complete, slot)));
            }
            Step::Effect => {
                let Some(op) = slots[slot].as_mut() else { continue };
                if !op.applies {
                    continue;
                }
                let cell = &mut state[op.key as usize];
                match op.f {
                    F::Read => op.read = Some(*cell),
                    F::Write(v) => *cell = v,
                    F::Cas(e, n) => {
                        op.cas_ok = *cell == e;
                        if op.cas_ok {
                            *cell = n;
                        }
                    }
                }
            }
            Step::Complete => {
                let Some(op) = slots[slot].take() else { continue };
                let (name, arg) = match op.f {
                    F::Read => ("read", value(op.read.unwrap_or(0))),
                    F::Write(v) => ("write", v.to_string()),
                    F::Cas(e, n) => ("cas", format!("[{e},{n}]")),
                };
                let kind = match (op.info, op.f) {
                    (true, _) => "info",
                    (false, F::Cas(..)) if !op.cas_ok => "fail",
                    _ => "ok",
                };
                let arg = if op.info && matches!(op.f, F::Read) {
                    "null".to_string()
                } else {
                    arg
                };
                writeln!(
                    out,
                    r#"{{"index":{index},"time":{now},"process":{},"type":"{kind}","f":"{name}","value":{arg},"key":"k{}"}}"#,
                    op.process, op.key
                )?;
                index += 1;
                if op.info {
                    process_of[slot] = next_process;
                    next_process += 1;
                }
                let think = rng.random_range(0..200_000u64);
                queue.push(Reverse((now + think, Step::Invoke, slot)));
            }
        }
    }
    out.flush()
}
