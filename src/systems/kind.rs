//! Which system a workload tests (`[cluster] system`), and what each one can and cannot do:
//! the faults that do not apply to it and the cluster settings that mean nothing to it are
//! refused here, when the workload is loaded, with the reason.

use crate::workload::generator::GenOp;
use crate::workload::{ClusterConfig, FaultKind, GeneratorConfig, StoreMode};
use serde::{Deserialize, Serialize};

/// A system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    /// The built-in store (`faultline node`), on loopback with a proxy per directed link.
    #[default]
    Faultline,
    /// etcd (Debian `etcd-server`), one member per network namespace.
    Etcd,
    /// PostgreSQL streaming replication (Debian `postgresql`): node 1 the primary, the others
    /// hot standbys, one per network namespace.
    Postgres,
}

impl SystemKind {
    /// The name used in workload files.
    pub fn name(self) -> &'static str {
        match self {
            SystemKind::Faultline => "faultline",
            SystemKind::Etcd => "etcd",
            SystemKind::Postgres => "postgres",
        }
    }

    /// Why `fault` does not apply to this system, or `None` when it does (each fault's piece
    /// says, see [`crate::nemesis::fault::Fault::refusal`]).
    pub fn refuses(self, fault: FaultKind) -> Option<String> {
        crate::nemesis::fault::fault_of(fault).refusal(fault, self)
    }

    /// Checks the cluster and generator sections against this system; returns what is wrong.
    pub fn validate(self, cluster: &ClusterConfig, generator: &GeneratorConfig) -> Result<(), String> {
        let name = self.name();
        let store_only = [
            ("replication", cluster.replication.is_some()),
            ("n", cluster.n.is_some()),
            ("r", cluster.r.is_some()),
            ("w", cluster.w.is_some()),
            (
                "anti_entropy_interval_ms",
                cluster.anti_entropy_interval_ms.is_some(),
            ),
            ("hinted_handoff", cluster.hinted_handoff),
            ("node_args", !cluster.node_args.is_empty()),
            ("mode", cluster.mode != StoreMode::SingleLeader),
        ];
        let postgres_only = [
            (
                "synchronous_standby_names",
                cluster.synchronous_standby_names.is_some(),
            ),
            ("synchronous_commit", cluster.synchronous_commit.is_some()),
            ("failover", cluster.failover),
            ("failover_promotes", cluster.failover_promotes.is_some()),
        ];
        let misplaced: Vec<&str> = match self {
            SystemKind::Faultline => postgres_only
                .iter()
                .filter(|(_, set)| *set)
                .map(|(k, _)| *k)
                .collect(),
            SystemKind::Etcd => store_only
                .iter()
                .chain(&postgres_only)
                .filter(|(_, set)| *set)
                .map(|(k, _)| *k)
                .collect(),
            SystemKind::Postgres => store_only
                .iter()
                .filter(|(_, set)| *set)
                .map(|(k, _)| *k)
                .collect(),
        };
        if let Some(key) = misplaced.first() {
            return Err(format!("cluster.{key} does not apply to system = \"{name}\""));
        }
        match (self, generator) {
            (SystemKind::Etcd, GeneratorConfig::Register { .. }) => {}
            (SystemKind::Etcd, _) => {
                return Err(
                    "system = \"etcd\" takes the register generator only (read, write, cas over its KV API)"
                        .into(),
                );
            }
            (
                SystemKind::Postgres,
                GeneratorConfig::RwRegister { .. }
                | GeneratorConfig::Set { .. }
                | GeneratorConfig::Counter { .. },
            ) => {
                return Err("system = \"postgres\" takes the register or list-append generator".into());
            }
            _ => {}
        }
        if self == SystemKind::Postgres {
            if cluster.nodes < 2 {
                return Err("system = \"postgres\" needs at least 2 nodes (a primary and a standby)".into());
            }
            if cluster.failover_promotes.is_some() && !cluster.failover {
                return Err("cluster.failover_promotes needs cluster.failover = true".into());
            }
            if let Some(commit) = &cluster.synchronous_commit
                && !["on", "off", "local", "remote_write", "remote_apply"].contains(&commit.as_str())
            {
                return Err(format!(
                    "cluster.synchronous_commit must be on, off, local, remote_write or remote_apply, found {commit:?}"
                ));
            }
            if let Some(names) = &cluster.synchronous_standby_names
                && !names
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " ,()*_".contains(c))
            {
                return Err(format!(
                    "cluster.synchronous_standby_names takes FIRST/ANY, a count and standby names (n2, n3, *), found {names:?}"
                ));
            }
        }
        Ok(())
    }
}

/// The register key a generated operation names, as text (the real systems' keys are strings).
pub fn register_key(op: &GenOp) -> String {
    op.key.map(|k| k.to_string()).unwrap_or_default()
}
