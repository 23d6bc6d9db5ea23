//! Times the dependency-graph inference fed as transactions complete (`TxnWatch`) against
//! checking every prefix in full, as `faultline run --stop-on-violation` looks at a growing
//! list-append or rw-register history.
//!
//! ```sh
//! cargo run --release -p faultline-checkers --example graph_watch_bench -- H.jsonl [looks] [list-append|rw-register]
//! ```
//!
//! The file is fed to a `JsonlStream` in `looks` pieces (default 600); after each, the history
//! so far is lent to one `TxnWatch`. Every sixtieth prefix is also checked in full with
//! the default models, for comparison.

use faultline_checkers::graph::{RegisterOrderAssumptions, TxnCheckOptions, TxnWatch, Workload, analyze};
use faultline_checkers::history::JsonlStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: graph_watch_bench H.jsonl [looks] [list-append|rw-register]");
        std::process::exit(254);
    };
    let looks: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(600);
    let workload = match args.get(3).map(String::as_str) {
        Some("rw-register") => Workload::RwRegister,
        _ => Workload::ListAppend,
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(254)
    });
    let mut stream = JsonlStream::new(path.clone());
    let mut watch = TxnWatch::new(workload, RegisterOrderAssumptions::default(), None)
        .expect("default options are followed");
    let (mut fed_at, mut parsing, mut inferring, mut slowest) =
        (0, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut full, mut full_last, mut full_looks, mut flagged) = (Duration::ZERO, Duration::ZERO, 0, 0);
    for look in 1..=looks {
        let cut = bytes.len() * look / looks;
        let started = Instant::now();
        stream.feed(&bytes[fed_at..cut]);
        fed_at = cut;
        parsing += started.elapsed();
        stream
            .with_history(|prefix| {
                let started = Instant::now();
                if watch.advance(prefix).expect("a history of the workload") {
                    flagged += 1;
                }
                let took = started.elapsed();
                inferring += took;
                slowest = slowest.max(took);
                if look % 60 == 0 {
                    let started = Instant::now();
                    analyze(prefix, &TxnCheckOptions::new(workload)).expect("a history of the workload");
                    full_last = started.elapsed();
                    full += full_last;
                    full_looks += 1;
                }
            })
            .expect("a history the stream parses");
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{path}: {looks} looks; inference as transactions complete: {:.0} ms in all, slowest look {:.1} ms, {} transactions, {} edges, {flagged} looks would check the whole prefix",
        ms(inferring),
        ms(slowest),
        watch.txns_fed(),
        watch.edges(),
    );
    println!(
        "whole-prefix check of every sixtieth prefix: {:.0} ms over {full_looks} (the last {:.0} ms; all {looks} looks would take about {:.0} ms); parsing and pairing piece by piece: {:.0} ms",
        ms(full),
        ms(full_last),
        ms(full) * (looks as f64 / full_looks.max(1) as f64),
        ms(parsing)
    );
}
