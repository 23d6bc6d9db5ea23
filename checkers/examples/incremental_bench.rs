//! Times the incremental linearizability check against checking every prefix from scratch, as
//! `faultline run --stop-on-violation` looks at a growing history.
//!
//! ```sh
//! cargo run --release -p faultline-checkers --example incremental_bench -- H.jsonl [looks] [model]
//! ```
//!
//! The file (JSON Lines) is fed to a `JsonlStream` in `looks` pieces (default 600: one look a
//! second for ten minutes), as the run's follower parses it; after each, the history so far is
//! lent to one `IncrementalCheck` (keys it gives up are checked alone from scratch, as the watch
//! does), and at the end the whole history is fed as finished. Every tenth prefix is also
//! checked in full (stopping at the first invalid key, as the watch does) and copied as a
//! snapshot (what each look cost before the stream lent its history), for comparison.

use faultline_checkers::history::JsonlStream;
use faultline_checkers::linear::{self, IncrementalCheck, LinearOptions, Model};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: incremental_bench H.jsonl [looks] [register|cas-register]");
        std::process::exit(254);
    };
    let looks: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(600);
    let model: Model = args
        .get(3)
        .map_or(Ok(Model::CasRegister), |m| m.parse())
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(254)
        });
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(254)
    });
    let mut stream = JsonlStream::new(path.clone());
    let (mut fed_at, mut parsing, mut lending) = (0, Duration::ZERO, Duration::ZERO);
    let opts = LinearOptions::new(model);
    let mut check = IncrementalCheck::new(&opts);
    let (mut snapshots, mut fed, mut slowest) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut full, mut full_last, mut full_looks) = (Duration::ZERO, Duration::ZERO, 0);
    let mut found_at = None;
    for look in 1..=looks {
        let cut = bytes.len() * look / looks;
        let started = Instant::now();
        stream.feed(&bytes[fed_at..cut]);
        fed_at = cut;
        parsing += started.elapsed();
        let finished = look == looks;
        let started = Instant::now();
        let outcome = stream.with_history(|prefix| {
            lending += started.elapsed();
            let started = Instant::now();
            check.advance(prefix, finished).expect("fits the model");
            let wide = check.given_up();
            if !wide.is_empty() && !finished {
                // What the watch does for keys too wide to carry: check them alone from scratch.
                let mut alone = opts.clone();
                alone.timeout = Some(Duration::from_secs(5));
                linear::check_keys(prefix, &alone, &wide).expect("fits the model");
            }
            let took = started.elapsed();
            fed += took;
            slowest = slowest.max(took);
            if look % 10 == 0 {
                let started = Instant::now();
                let mut prefix_opts = opts.clone();
                prefix_opts.timeout = Some(Duration::from_secs(5));
                linear::check(prefix, &prefix_opts).expect("fits the model");
                full_last = started.elapsed();
                full += full_last;
                full_looks += 1;
            }
        });
        outcome.expect("a history the stream parses");
        if look % 10 == 0 {
            let started = Instant::now();
            drop(stream.snapshot().expect("a history the stream parses"));
            snapshots += started.elapsed();
        }
        if found_at.is_none() && check.first_violation().is_some() {
            found_at = Some(look);
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let events = stream.with_history(|h| h.events.len()).unwrap_or(0);
    println!(
        "{path}: {} events, {looks} looks; incremental (keys given up checked alone from scratch): {:.1} ms in all, slowest look {:.2} ms, verdict {}, first violation at look {found_at:?}, keys relaxed {}, given up {}, of {}, widest frontier {}, open ops at the end {}",
        events,
        ms(fed),
        ms(slowest),
        check.verdict(),
        check.relaxed(),
        check.given_up().len(),
        check.keys().count(),
        check.widest_frontier(),
        check.open_ops(),
    );
    println!(
        "full check of every tenth prefix: {:.1} ms over {full_looks} looks (the last {:.1} ms; all {looks} looks would take about {:.0} ms)",
        ms(full),
        ms(full_last),
        ms(full) * 10.0,
    );
    println!(
        "parsing and pairing the file piece by piece: {:.1} ms; lending the history to the {looks} looks: {:.3} ms; copying it instead (every tenth look, times ten): {:.0} ms",
        ms(parsing),
        ms(lending),
        ms(snapshots) * 10.0
    );
}
