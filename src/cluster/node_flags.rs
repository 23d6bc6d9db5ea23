//! The `faultline node` flags for a workload's cluster section.

use crate::workload::{ClusterConfig, Fsync, Replication, StoreMode};
use std::time::Duration;

/// Flags common to every node of the cluster (id, address, peers and data directory aside).
/// `client_timeout` is the harness clients' timeout: the node's own write timeout is kept
/// below it, so a node's definite `timeout` answer arrives before the client gives up.
pub fn node_flags(cluster: &ClusterConfig, client_timeout: Duration) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    let mut push = |name: &str, value: String| {
        flags.push(name.to_string());
        flags.push(value);
    };
    match cluster.mode {
        StoreMode::SingleLeader => {
            push("--mode", "single-leader".into());
            let replication = match cluster.replication.unwrap_or(Replication::Async) {
                Replication::Sync => "sync",
                Replication::SemiSync => "semi-sync",
                Replication::Async => "async",
            };
            // Reads: the clients name the read mode on every request (see run::routing).
            push("--replication", replication.into());
        }
        StoreMode::MultiLeader => push("--mode", "multi-leader".into()),
        StoreMode::Leaderless => {
            push("--mode", "leaderless".into());
            let n = cluster.n.unwrap_or(cluster.nodes.min(3));
            push("--n", n.to_string());
            push("--r", cluster.r.unwrap_or(n / 2 + 1).to_string());
            push("--w", cluster.w.unwrap_or(n / 2 + 1).to_string());
            if let Some(ms) = cluster.anti_entropy_interval_ms {
                push("--anti-entropy-ms", ms.to_string());
            }
        }
    }
    push(
        "--fsync",
        match cluster.fsync {
            Fsync::Always => "always",
            Fsync::Never => "never",
        }
        .into(),
    );
    let op_timeout = (client_timeout.as_millis() as u64 * 2 / 3).max(50);
    push("--op-timeout-ms", op_timeout.to_string());
    push("--ryw-wait-ms", (op_timeout / 2).max(25).to_string());
    if cluster.hinted_handoff {
        flags.push("--hinted-handoff".into());
    }
    flags.extend(cluster.node_args.iter().cloned());
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_leader_flags() {
        let c = ClusterConfig {
            system: Default::default(),
            mode: StoreMode::SingleLeader,
            nodes: 3,
            replication: Some(Replication::SemiSync),
            n: None,
            r: None,
            w: None,
            anti_entropy_interval_ms: None,
            hinted_handoff: false,
            fsync: Fsync::Never,
            node_args: vec!["--heartbeat-ms".into(), "20".into()],
            synchronous_standby_names: None,
            synchronous_commit: None,
            failover: false,
            failover_promotes: None,
        };
        let f = node_flags(&c, Duration::from_millis(1500)).join(" ");
        assert_eq!(
            f,
            "--mode single-leader --replication semi-sync --fsync never --op-timeout-ms 1000 --ryw-wait-ms 500 --heartbeat-ms 20"
        );
    }

    #[test]
    fn leaderless_repair_flags_follow_the_workload() {
        let mut c = ClusterConfig {
            system: Default::default(),
            mode: StoreMode::Leaderless,
            nodes: 3,
            replication: None,
            n: None,
            r: None,
            w: Some(1),
            anti_entropy_interval_ms: None,
            hinted_handoff: false,
            fsync: Fsync::Never,
            node_args: vec![],
            synchronous_standby_names: None,
            synchronous_commit: None,
            failover: false,
            failover_promotes: None,
        };
        let off = node_flags(&c, Duration::from_millis(1500)).join(" ");
        assert!(!off.contains("anti-entropy") && !off.contains("hinted"), "{off}");
        c.anti_entropy_interval_ms = Some(100);
        c.hinted_handoff = true;
        let on = node_flags(&c, Duration::from_millis(1500)).join(" ");
        assert!(on.contains("--n 3 --r 2 --w 1 --anti-entropy-ms 100 "), "{on}");
        assert!(on.contains(" --hinted-handoff"), "{on}");
    }
}
