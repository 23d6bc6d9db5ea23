//! Benchmark of the built-in store: a fresh 3-node cluster of real `faultline node` processes on
//! loopback per scenario, driven by N concurrent clients for a fixed time; prints throughput and
//! latency percentiles of acknowledged operations as a Markdown table.
//!
//! ```sh
//! cargo build --release && cargo run --release --example store_bench -- --seconds 10
//! ```
//!
//! Scenarios: `async-writes`, `sync-writes` (single-leader, writes to the leader),
//! `leaderless-writes`, `leaderless-reads` (N=3 R=2 W=2, coordinators in turn).

use anyhow::Context;
use clap::Parser;
use faultline::client::{Options, Outcome, StoreClient};
use faultline::cluster::launch::LocalCluster;
use rand::RngExt;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Measured seconds per scenario (after a 1 s warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Scenarios to run (comma-separated), or `all`.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// WAL sync policy of the nodes.
    #[arg(long, default_value = "always")]
    fsync: String,
    /// Distinct keys the operations spread over.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    /// The faultline binary [default: target/release/faultline beside this example].
    #[arg(long)]
    binary: Option<PathBuf>,
}

struct Scenario {
    name: &'static str,
    node_args: &'static [&'static str],
    reads: bool,
    /// Send every operation to the leader (single-leader) or spread over the nodes.
    to_leader: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "async-writes",
        node_args: &["--replication", "async"],
        reads: false,
        to_leader: true,
    },
    Scenario {
        name: "sync-writes",
        node_args: &["--replication", "sync"],
        reads: false,
        to_leader: true,
    },
    Scenario {
        name: "leaderless-writes",
        node_args: &["--mode", "leaderless", "--n", "3", "--r", "2", "--w", "2"],
        reads: false,
        to_leader: false,
    },
    Scenario {
        name: "leaderless-reads",
        node_args: &["--mode", "leaderless", "--n", "3", "--r", "2", "--w", "2"],
        reads: true,
        to_leader: false,
    },
];

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    fail: u64,
    info: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(|examples| examples.parent())
            .map(|release| release.join("faultline"))
            .context("locating target/release/faultline")?,
    };
    anyhow::ensure!(
        binary.exists(),
        "{} does not exist: run `cargo build --release` first",
        binary.display()
    );
    let wanted: Vec<&str> = args.scenario.split(',').collect();
    println!(
        "binary {} | {} clients | {} s per scenario | fsync {} | {} keys | load before: {}",
        binary.display(),
        args.clients,
        args.seconds,
        args.fsync,
        args.keys,
        load()
    );
    println!();
    println!("| scenario | ops/s | p50 ms | p99 ms | ok | fail | info |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for s in SCENARIOS
        .iter()
        .filter(|s| wanted.contains(&"all") || wanted.contains(&s.name))
    {
        let t = run(&binary, s, &args)
            .await
            .with_context(|| format!("scenario {}", s.name))?;
        let mut lat = t.latencies_us;
        lat.sort_unstable();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            s.name,
            lat.len() as f64 / args.seconds as f64,
            pct(0.50),
            pct(0.99),
            lat.len(),
            t.fail,
            t.info
        );
    }
    println!();
    println!("load after: {}", load());
    Ok(())
}

async fn run(binary: &std::path::Path, s: &Scenario, args: &Args) -> anyhow::Result<Tally> {
    let dir = tempfile::tempdir()?;
    let mut node_args: Vec<&str> = s.node_args.to_vec();
    node_args.extend(["--fsync", &args.fsync]);
    let cluster = LocalCluster::start(binary, dir.path(), 3, &node_args)?;
    let client = StoreClient::new(cluster.endpoints(), Duration::from_secs(10))?.with_token(&cluster.token);
    let ids = client.node_ids();
    let leader = if s.to_leader {
        Some(wait_leader(&client, &ids).await?)
    } else {
        None
    };
    wait_peers_reachable(&client, &ids).await?;
    if s.reads {
        for k in 0..args.keys {
            let node = &ids[k % ids.len()];
            let w = client
                .write(node, &format!("k{k}"), json!(k), &Options::default())
                .await;
            anyhow::ensure!(w.is_ok(), "preloading k{k}: {w:?}");
        }
    }
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, ids, leader) = (client.clone(), ids.clone(), leader.clone());
        let (reads, keys) = (s.reads, args.keys);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut i = 0usize;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let node = leader.clone().unwrap_or_else(|| ids[(c + i) % ids.len()].clone());
                let key = format!("k{}", rand::rng().random_range(0..keys));
                let outcome = if reads {
                    client.read(&node, &key, &Options::default()).await
                } else {
                    client.write(&node, &key, json!(i), &Options::default()).await
                };
                i += 1;
                if now < warmup_end {
                    continue;
                }
                match outcome {
                    Outcome::Ok(_) => tally.latencies_us.push(now.elapsed().as_micros() as u32),
                    Outcome::Fail(_) => tally.fail += 1,
                    Outcome::Info(_) => tally.info += 1,
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for t in tasks {
        let t = t.await?;
        total.latencies_us.extend(t.latencies_us);
        total.fail += t.fail;
        total.info += t.info;
    }
    drop(cluster);
    Ok(total)
}

async fn wait_leader(client: &StoreClient, ids: &[String]) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        for id in ids {
            if let Ok(s) = client.status(id).await
                && s.role == "leader"
            {
                return Ok(id.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("no leader within 10 s")
}

/// Waits until every node has reached all its peers (leaderless nodes refuse with `no_quorum`
/// while they believe peers are down, as they do right after start-up).
async fn wait_peers_reachable(client: &StoreClient, ids: &[String]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in ids {
        loop {
            let s = client.status(id).await?;
            let peers = s.detail["peers"].as_array().cloned().unwrap_or_default();
            if peers.iter().all(|p| p["reachable"] == true) {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "{id} does not reach its peers: {s:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
