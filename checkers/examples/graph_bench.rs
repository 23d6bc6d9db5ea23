//! Benchmark for the dependency-graph checker: generate list-append histories from a simulated
//! strict-serializable store (1 to 5 micro-ops per transaction, concurrency 20), then time
//! loading and checking them. Run under `/usr/bin/time -v` for peak memory:
//!
//! ```sh
//! cargo build --release -p faultline-checkers --example graph_bench
//! target/release/examples/graph_bench generate 100000 /tmp/la-100k.jsonl
//! /usr/bin/time -v target/release/examples/graph_bench check /tmp/la-100k.jsonl
//! ```

#[path = "../tests/support/sim.rs"]
mod sim;

use faultline_checkers::graph::{TxnCheckOptions, Workload, analyze};
use faultline_checkers::history::{History, write_jsonl};
use serde_json::Map;
use sim::{Ops, SimConfig, Store, generate};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") if args.len() >= 4 => {
            let txns: usize = args[2].parse().expect("a transaction count");
            let seed: u64 = args.get(4).map_or(1, |s| s.parse().expect("a seed"));
            let store = match args.get(5).map(String::as_str) {
                None | Some("strict") => Store::StrictSerializable,
                Some("stale") => Store::StaleReads { max_lag: 20 },
                Some("si") => Store::SnapshotIsolation,
                Some("rc") => Store::ReadCommitted,
                Some(other) => panic!("unknown store {other}: strict, stale, si or rc"),
            };
            let mut cfg = SimConfig::new(store, Ops::ListAppend, txns, seed);
            cfg.concurrency = 20;
            cfg.active_keys = 10;
            cfg.max_writes_per_key = 32;
            cfg.fail_rate = 0.01;
            cfg.info_rate = 0.01;
            let started = Instant::now();
            let events = generate(cfg);
            let file = std::fs::File::create(&args[3]).expect("create the output file");
            write_jsonl(std::io::BufWriter::new(file), &events).expect("write the history");
            eprintln!(
                "generated {txns} transactions ({} events) in {:.2?}",
                events.len(),
                started.elapsed()
            );
        }
        Some("check") if args.len() >= 3 => {
            let started = Instant::now();
            let history = History::load(std::path::Path::new(&args[2]), None).expect("a readable history");
            let loaded = started.elapsed();
            let checking = Instant::now();
            let mut options = TxnCheckOptions::new(Workload::ListAppend);
            if let Some(models) = args.get(3) {
                options.models = models
                    .split(',')
                    .map(|m| m.parse().expect("a consistency model"))
                    .collect();
            }
            let analysis = analyze(&history, &options).expect("well-formed txns");
            let checked = checking.elapsed();
            let n = history.ops.len();
            let mut kinds = Map::new();
            for (k, count) in &analysis.findings.counts {
                kinds.insert(k.name().to_string(), (*count).into());
            }
            println!(
                "{n} transactions: load {:.2?}, check {:.2?} ({:.0} txn/s), total {:.2?}; verdict {}; anomalies {}; inconclusive {:?}; stats {}",
                loaded,
                checked,
                n as f64 / checked.as_secs_f64(),
                started.elapsed(),
                analysis.verdict(),
                serde_json::Value::Object(kinds),
                analysis.inconclusive.iter().map(|k| k.name()).collect::<Vec<_>>(),
                serde_json::Value::Object(analysis.stats.clone())
            );
        }
        Some("load") if args.len() >= 3 => {
            let started = Instant::now();
            let history = History::load(std::path::Path::new(&args[2]), None).expect("a readable history");
            println!(
                "{} operations loaded in {:.2?}",
                history.ops.len(),
                started.elapsed()
            );
        }
        _ => {
            eprintln!(
                "usage: graph_bench generate N FILE [SEED [strict|stale|si|rc]] | graph_bench check FILE [MODEL,...] | graph_bench load FILE"
            );
            std::process::exit(2);
        }
    }
}
