//! Workload files (`workloads/*.toml`): what cluster to start, what operations to generate,
//! which faults to inject, which checkers to run, and what verdict to expect.
//!
//! [`Workload::load`] reads and validates a file; errors name the file and line. The command
//! line can override the run settings ([`Overrides`]). [`generator`] turns a workload and a seed
//! into the operations clients perform.

pub mod availability;
pub mod counterpart;
pub mod duration;
pub mod faults;
pub mod generator;
pub mod override_args;
pub mod routing;

use crate::exit::BadInput;
use crate::systems::SystemKind;
pub use counterpart::Counterpart;
use duration::serde_duration;
pub use faults::{FaultConfig, FaultKind};
pub use routing::{RoutingConfig, RoutingPolicy};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// A whole workload file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Short name, used in run directory names.
    pub name: String,
    /// What the workload shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// The store cluster to start.
    pub cluster: ClusterConfig,
    /// The operations to generate.
    pub generator: GeneratorConfig,
    /// Client settings.
    #[serde(default)]
    pub client: ClientConfig,
    /// How clients choose the node for each operation.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// Run length and seed.
    pub run: RunConfig,
    /// Faults to inject.
    #[serde(default)]
    pub faults: FaultConfig,
    /// Checkers to run on the history.
    pub check: CheckConfig,
    /// The verdict this configuration is expected to get.
    pub expect: Expectation,
    /// The same workload with the guarantee removed, which must get the opposite verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<Counterpart>,
}

/// Replication design of the built-in store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreMode {
    SingleLeader,
    MultiLeader,
    Leaderless,
}

/// Single-leader replication: when the leader acknowledges a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Replication {
    Sync,
    SemiSync,
    Async,
}

/// Whether each node fsyncs its write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Fsync {
    Always,
    #[default]
    Never,
}

/// The cluster section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The system under test (the built-in store unless named).
    #[serde(default)]
    pub system: SystemKind,
    /// The built-in store's replication design (etcd and PostgreSQL each have one leader).
    #[serde(default = "default_mode")]
    pub mode: StoreMode,
    #[serde(default = "default_nodes")]
    pub nodes: usize,
    /// single-leader only.
    pub replication: Option<Replication>,
    /// leaderless only: replicas per key.
    pub n: Option<usize>,
    /// leaderless only: read quorum.
    pub r: Option<usize>,
    /// leaderless only: write quorum.
    pub w: Option<usize>,
    /// leaderless only: background anti-entropy between the replicas of each key, every this
    /// many milliseconds (absent: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_entropy_interval_ms: Option<u64>,
    /// leaderless only: hinted handoff (coordinators deliver missed writes later).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hinted_handoff: bool,
    #[serde(default)]
    pub fsync: Fsync,
    /// Extra flags passed to every `faultline node`.
    #[serde(default)]
    pub node_args: Vec<String>,
    /// postgres only: the primary's `synchronous_standby_names` (`FIRST 2 (*)`, `ANY 1 (*)`;
    /// absent: asynchronous streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous_standby_names: Option<String>,
    /// postgres only: `synchronous_commit` (`on`, `remote_write`, `remote_apply`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous_commit: Option<String>,
    /// postgres only: the harness acts as a naive failover manager (promotes a standby when the
    /// primary is down or no standby streams from it, and rebuilds the deposed primary as a
    /// standby of the new one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failover: bool,
    /// postgres only, with `failover`: which standby the manager promotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_promotes: Option<Promotes>,
}

/// Which standby a failover manager promotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Promotes {
    /// The first standby that answers (in node order), however far behind it is.
    #[default]
    FirstAnswering,
    /// The standby that has received the most WAL (the highest `pg_last_wal_receive_lsn()`).
    MostAdvanced,
}

fn default_nodes() -> usize {
    3
}

fn default_mode() -> StoreMode {
    StoreMode::SingleLeader
}

/// The generator section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum GeneratorConfig {
    /// Single-register operations (read, write, cas) over `keys` keys.
    Register {
        #[serde(default = "default_keys")]
        keys: u32,
        /// Written values are drawn from `0..values` (small, as in Jepsen, so cas succeeds).
        #[serde(default = "default_values")]
        values: u32,
        #[serde(default)]
        mix: RegisterMix,
    },
    /// List-append transactions of 1 to `max_txn_len` micro-ops.
    ListAppend {
        #[serde(default = "default_keys")]
        keys: u32,
        #[serde(default = "default_txn_len")]
        max_txn_len: u32,
        /// Fraction of micro-ops that are reads.
        #[serde(default = "default_read_fraction")]
        read_fraction: f64,
        /// A key takes at most this many appends, then a fresh key replaces it.
        #[serde(default = "default_writes_per_key")]
        max_writes_per_key: u32,
    },
    /// Read-write register transactions over `keys` keys: a read (`[["r", k, null]]`), or a
    /// read then a write of a value never written before (`[["r", k, null], ["w", k, v]]`), so
    /// the version each write replaced is known.
    RwRegister {
        #[serde(default = "default_keys")]
        keys: u32,
        /// Fraction of transactions that only read.
        #[serde(default = "default_read_fraction")]
        read_fraction: f64,
    },
    /// Jepsen's set: `add` of elements never added before (an append to the key's list in the
    /// built-in store) and reads of the whole set (the list), over `keys` independent sets.
    Set {
        #[serde(default = "default_set_keys")]
        keys: u32,
        /// Fraction of operations that read (0: only the final reads read).
        #[serde(default = "default_read_fraction")]
        read_fraction: f64,
    },
    /// Jepsen's counter: `add n` (n in `1..=max_add`, or `-max_add..=max_add` without 0 when
    /// `negative_adds`) and reads, over `keys` independent counters. The client performs an add
    /// as a read and a compare-and-set of the key's register, retried while the value changes.
    Counter {
        #[serde(default = "default_set_keys")]
        keys: u32,
        /// Fraction of operations that read.
        #[serde(default = "default_read_fraction")]
        read_fraction: f64,
        #[serde(default = "default_max_add")]
        max_add: u32,
        #[serde(default)]
        negative_adds: bool,
    },
}

fn default_set_keys() -> u32 {
    1
}
fn default_max_add() -> u32 {
    1
}
fn default_keys() -> u32 {
    5
}
fn default_values() -> u32 {
    5
}
fn default_txn_len() -> u32 {
    4
}
fn default_read_fraction() -> f64 {
    0.5
}
fn default_writes_per_key() -> u32 {
    32
}

/// Relative weights of register operations (a weight not given is 0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterMix {
    #[serde(default)]
    pub read: f64,
    #[serde(default)]
    pub write: f64,
    #[serde(default)]
    pub cas: f64,
}

impl Default for RegisterMix {
    fn default() -> Self {
        RegisterMix {
            read: 2.0,
            write: 1.0,
            cas: 1.0,
        }
    }
}

/// The client section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Concurrent client workers.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Operations per second over all clients; 0 means as fast as they can.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// How long a client waits for a reply before recording the operation as `info`.
    #[serde(default = "default_op_timeout", with = "serde_duration")]
    pub timeout: Duration,
}

fn default_concurrency() -> usize {
    5
}
fn default_rate() -> f64 {
    100.0
}
fn default_op_timeout() -> Duration {
    Duration::from_millis(1500)
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            concurrency: default_concurrency(),
            rate: default_rate(),
            timeout: default_op_timeout(),
        }
    }
}

/// The run section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// How long clients run (faults included), before the final heal.
    #[serde(with = "serde_duration")]
    pub time_limit: Duration,
    /// After the final heal, how long the cluster settles before the final reads.
    #[serde(default = "default_settle", with = "serde_duration")]
    pub settle: Duration,
    /// Fixed seed; when absent a random one is drawn, printed and recorded.
    pub seed: Option<u64>,
}

fn default_settle() -> Duration {
    Duration::from_secs(3)
}

/// A checker to run on a workload's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckerName {
    /// Linearizability of each key (register histories).
    Linearizability,
    /// Dependency-graph anomalies and session guarantees (list-append histories).
    ListAppend,
    /// Dependency-graph anomalies and session guarantees (rw-register histories).
    RwRegister,
    /// Jepsen's set: lost and unexpected elements against the final read (set histories).
    Set,
    /// Jepsen's set-full: lost, stale, unexpected elements over every read (set histories).
    SetFull,
    /// Jepsen's counter: every read within the bounds the adds allow (counter histories).
    Counter,
}

/// The check section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    pub checkers: Vec<CheckerName>,
    /// Linearizability model: `register` or `cas-register`.
    #[serde(default = "default_model")]
    pub model: String,
    /// Consistency models for the dependency-graph checker (its defaults when empty).
    #[serde(default)]
    pub consistency_models: Vec<String>,
    /// Time budget for checking (default a minute, `"0s"`: no limit); past it the keys not yet
    /// decided are unknown.
    #[serde(default, with = "option_duration")]
    pub timeout: Option<Duration>,
}

fn default_model() -> String {
    "cas-register".into()
}

mod option_duration {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        serde_duration::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => serde_duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

/// What verdict the workload should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedVerdict {
    Valid,
    Invalid,
}

/// The expect section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub verdict: ExpectedVerdict,
    /// Why, in a sentence (shown in the summary).
    #[serde(default)]
    pub because: String,
    /// Nodes may exit on their own (outside the nemesis) without failing the run.
    #[serde(default)]
    pub node_exits: bool,
    /// Availability expectations, checked like the verdict (`[[expect.availability]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub availability: Vec<availability::AvailabilityExpectation>,
}

/// Command-line overrides of a workload's settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub time_limit: Option<Duration>,
    pub concurrency: Option<usize>,
    pub rate: Option<f64>,
    pub nodes: Option<usize>,
    pub seed: Option<u64>,
    pub faults: Option<Vec<FaultKind>>,
}

impl Workload {
    /// Reads and validates a workload file.
    pub fn load(path: &Path) -> anyhow::Result<Workload> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BadInput(format!("{}: cannot read the workload file: {e}", path.display())))?;
        Workload::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates workload text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> anyhow::Result<Workload> {
        let workload: Workload = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().trim().to_string();
            match line {
                Some(line) => BadInput(format!("{source}:{line}: {message}")),
                None => BadInput(format!("{source}: {message}")),
            }
        })?;
        workload
            .validate()
            .map_err(|m| BadInput(format!("{source}: {m}")))?;
        workload
            .counterpart()
            .map_err(|m| BadInput(format!("{source}: {m}")))?;
        Ok(workload)
    }

    /// Applies command-line overrides, then validates again.
    pub fn apply(&mut self, o: &Overrides) -> anyhow::Result<()> {
        if let Some(t) = o.time_limit {
            self.run.time_limit = t;
        }
        if let Some(c) = o.concurrency {
            self.client.concurrency = c;
        }
        if let Some(r) = o.rate {
            self.client.rate = r;
        }
        if let Some(n) = o.nodes {
            self.cluster.nodes = n;
        }
        if let Some(s) = o.seed {
            self.run.seed = Some(s);
        }
        if let Some(f) = &o.faults {
            self.faults.kinds = f.clone();
        }
        self.validate()
            .map_err(|m| BadInput(format!("after the command-line overrides: {m}")))?;
        Ok(())
    }

    /// Checks the settings fit together; returns what is wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        let c = &self.cluster;
        if c.nodes == 0 || c.nodes > 15 {
            return Err(format!(
                "cluster.nodes must be between 1 and 15, found {}",
                c.nodes
            ));
        }
        let leader_only = c.replication.is_some();
        let quorum = c.n.is_some() || c.r.is_some() || c.w.is_some();
        if (c.anti_entropy_interval_ms.is_some() || c.hinted_handoff) && c.mode != StoreMode::Leaderless {
            return Err(
                "cluster.anti_entropy_interval_ms and hinted_handoff apply to mode = \"leaderless\" only"
                    .into(),
            );
        }
        if c.anti_entropy_interval_ms == Some(0) {
            return Err("cluster.anti_entropy_interval_ms must be at least 1 (leave it out for off)".into());
        }
        match c.mode {
            StoreMode::SingleLeader if quorum => {
                return Err("cluster.n, r and w apply to mode = \"leaderless\" only".into());
            }
            StoreMode::MultiLeader if quorum || leader_only => {
                return Err("mode = \"multi-leader\" takes no replication, n, r or w".into());
            }
            StoreMode::Leaderless if leader_only => {
                return Err("cluster.replication applies to mode = \"single-leader\" only".into());
            }
            StoreMode::Leaderless => {
                let n = c.n.unwrap_or(c.nodes);
                if n == 0 || n > c.nodes {
                    return Err(format!(
                        "cluster.n must be between 1 and cluster.nodes ({}), found {n}",
                        c.nodes
                    ));
                }
                for (name, q) in [("r", c.r), ("w", c.w)] {
                    if let Some(q) = q
                        && (q == 0 || q > n)
                    {
                        return Err(format!("cluster.{name} must be between 1 and n ({n}), found {q}"));
                    }
                }
            }
            _ => {}
        }
        if self.client.concurrency == 0 || self.client.concurrency > 1000 {
            return Err(format!(
                "client.concurrency must be between 1 and 1000, found {}",
                self.client.concurrency
            ));
        }
        if !(self.client.rate >= 0.0 && self.client.rate.is_finite()) {
            return Err(format!(
                "client.rate must be 0 (unlimited) or a positive number, found {}",
                self.client.rate
            ));
        }
        if self.client.timeout.is_zero() {
            return Err("client.timeout must be positive".into());
        }
        if self.run.time_limit.is_zero() {
            return Err("run.time_limit must be positive".into());
        }
        self.faults.validate()?;
        c.system.validate(c, &self.generator)?;
        for &kind in self.faults.kinds.iter().chain(&self.faults.standing) {
            if let Some(why) = c.system.refuses(kind) {
                return Err(format!("fault {} does not apply here: {why}", kind.name()));
            }
        }
        self.routing.validate(c.mode)?;
        match &self.generator {
            GeneratorConfig::Register { keys, values, mix } => {
                if *keys == 0 || *values == 0 {
                    return Err("generator.keys and generator.values must be at least 1".into());
                }
                let weights = [mix.read, mix.write, mix.cas];
                if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) || weights.iter().sum::<f64>() <= 0.0
                {
                    return Err("generator.mix weights must be non-negative and not all zero".into());
                }
            }
            GeneratorConfig::ListAppend {
                keys,
                max_txn_len,
                read_fraction,
                max_writes_per_key,
            } => {
                if *keys == 0 || *max_txn_len == 0 || *max_writes_per_key == 0 {
                    return Err(
                        "generator.keys, max_txn_len and max_writes_per_key must be at least 1".into(),
                    );
                }
                if !(0.0..=1.0).contains(read_fraction) {
                    return Err("generator.read_fraction must be between 0 and 1".into());
                }
            }
            GeneratorConfig::RwRegister { keys, read_fraction }
            | GeneratorConfig::Set { keys, read_fraction } => {
                if *keys == 0 {
                    return Err("generator.keys must be at least 1".into());
                }
                if !(0.0..=1.0).contains(read_fraction) {
                    return Err("generator.read_fraction must be between 0 and 1".into());
                }
            }
            GeneratorConfig::Counter {
                keys,
                read_fraction,
                max_add,
                ..
            } => {
                if *keys == 0 || *max_add == 0 {
                    return Err("generator.keys and generator.max_add must be at least 1".into());
                }
                if *max_add > 1_000_000 {
                    return Err(format!(
                        "generator.max_add must be at most 1000000, found {max_add}"
                    ));
                }
                if !(0.0..=1.0).contains(read_fraction) {
                    return Err("generator.read_fraction must be between 0 and 1".into());
                }
            }
        }
        if self.check.checkers.is_empty() {
            return Err("check.checkers must name at least one checker".into());
        }
        for checker in &self.check.checkers {
            let fits = matches!(
                (checker, &self.generator),
                (CheckerName::Linearizability, GeneratorConfig::Register { .. })
                    | (CheckerName::ListAppend, GeneratorConfig::ListAppend { .. })
                    | (CheckerName::RwRegister, GeneratorConfig::RwRegister { .. })
                    | (
                        CheckerName::Set | CheckerName::SetFull,
                        GeneratorConfig::Set { .. }
                    )
                    | (CheckerName::Counter, GeneratorConfig::Counter { .. })
            );
            if !fits {
                return Err(format!(
                    "checker {checker:?} does not fit generator kind {}",
                    self.generator.kind_name()
                ));
            }
        }
        if let Err(m) = crate::check_txn::TxnArgs::from_model_names(&self.check.consistency_models) {
            return Err(format!("check.consistency_models: {m}"));
        }
        availability::validate(&self.expect.availability)?;
        if !matches!(self.check.model.as_str(), "register" | "cas-register") {
            return Err(format!(
                "check.model must be register or cas-register, found \"{}\"",
                self.check.model
            ));
        }
        Ok(())
    }
}

impl GeneratorConfig {
    /// The generator's kind name.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GeneratorConfig::Register { .. } => "register",
            GeneratorConfig::ListAppend { .. } => "list-append",
            GeneratorConfig::RwRegister { .. } => "rw-register",
            GeneratorConfig::Set { .. } => "set",
            GeneratorConfig::Counter { .. } => "counter",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
[cluster]
mode = "single-leader"
replication = "sync"
[routing]
policy = "leader"
[generator]
kind = "register"
keys = 3
[run]
time_limit = "5s"
[faults]
kinds = ["partition-leader", "kill"]
[check]
checkers = ["linearizability"]
[expect]
verdict = "valid"
"#;

    #[test]
    fn loads_a_workload_with_defaults() {
        let w = Workload::parse("w.toml", GOOD).unwrap();
        assert_eq!(w.cluster.nodes, 3);
        assert_eq!(w.run.time_limit, Duration::from_secs(5));
        assert_eq!(w.faults.kinds, vec![FaultKind::PartitionLeader, FaultKind::Kill]);
        assert_eq!(w.client.concurrency, 5);
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = GOOD.replace("kill\"]", "explode\"]");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("w.toml:14: "), "{e}");
        assert!(e.contains("explode"), "{e}");
        let bad = GOOD.replace("keys = 3", "keys = 3\nbogus = 1");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("w.toml:") && e.contains("bogus"), "{e}");
        let bad = GOOD.replace("replication = \"sync\"", "replication = \"sync\"\nn = 3");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("leaderless"), "{e}");
        let bad = GOOD.replace(
            "mode = \"single-leader\"\nreplication = \"sync\"",
            "mode = \"leaderless\"",
        );
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("routing.policy") && e.contains("single-leader"), "{e}");
        let bad = GOOD.replace("kinds = [", "standing = [\"kill\"]\nkinds = [");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("faults.standing"), "{e}");
    }

    #[test]
    fn missing_mix_weights_are_zero_and_routing_defaults_by_mode() {
        let w = Workload::parse(
            "w.toml",
            &GOOD.replace("keys = 3", "keys = 3\nmix = { read = 2, write = 1 }"),
        )
        .unwrap();
        let GeneratorConfig::Register { mix, .. } = &w.generator else {
            panic!("a register generator")
        };
        assert_eq!((mix.read, mix.write, mix.cas), (2.0, 1.0, 0.0));
        let w = Workload::parse("w.toml", &GOOD.replace("[routing]\npolicy = \"leader\"\n", "")).unwrap();
        assert_eq!(w.routing.policy_for(w.cluster.mode), RoutingPolicy::Leader);
        let leaderless = GOOD
            .replace(
                "mode = \"single-leader\"\nreplication = \"sync\"",
                "mode = \"leaderless\"",
            )
            .replace("[routing]\npolicy = \"leader\"\n", "");
        let w = Workload::parse("w.toml", &leaderless).unwrap();
        assert_eq!(w.routing.policy_for(w.cluster.mode), RoutingPolicy::Sticky);
    }

    #[test]
    fn leaderless_repairs_are_switched_per_workload_and_refused_elsewhere() {
        let leaderless = GOOD
            .replace(
                "mode = \"single-leader\"\nreplication = \"sync\"",
                "mode = \"leaderless\"\nanti_entropy_interval_ms = 100\nhinted_handoff = true",
            )
            .replace("[routing]\npolicy = \"leader\"\n", "");
        let w = Workload::parse("w.toml", &leaderless).unwrap();
        assert_eq!(w.cluster.anti_entropy_interval_ms, Some(100));
        assert!(w.cluster.hinted_handoff);
        let plain = Workload::parse("w.toml", GOOD).unwrap();
        assert_eq!(plain.cluster.anti_entropy_interval_ms, None);
        assert!(!plain.cluster.hinted_handoff);
        let zero = leaderless.replace("= 100", "= 0");
        let e = Workload::parse("w.toml", &zero).unwrap_err().to_string();
        assert!(e.contains("anti_entropy_interval_ms"), "{e}");
        for switch in ["anti_entropy_interval_ms = 100", "hinted_handoff = true"] {
            let bad = GOOD.replace(
                "replication = \"sync\"",
                &format!("replication = \"sync\"\n{switch}"),
            );
            let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
            assert!(e.contains("leaderless"), "{switch}: {e}");
        }
    }

    #[test]
    fn overrides_apply_and_revalidate() {
        let mut w = Workload::parse("w.toml", GOOD).unwrap();
        let o = Overrides {
            nodes: Some(5),
            faults: Some(vec![]),
            ..Default::default()
        };
        w.apply(&o).unwrap();
        assert_eq!(w.cluster.nodes, 5);
        assert!(w.faults.kinds.is_empty());
        let o = Overrides {
            concurrency: Some(0),
            ..Default::default()
        };
        assert!(w.apply(&o).is_err());
    }

    #[test]
    fn set_and_counter_generators_take_their_own_checkers() {
        let set = GOOD
            .replace("kind = \"register\"\nkeys = 3", "kind = \"set\"\nkeys = 2")
            .replace("[\"linearizability\"]", "[\"set-full\", \"set\"]");
        let w = Workload::parse("w.toml", &set).unwrap();
        assert_eq!(w.generator.kind_name(), "set");
        assert_eq!(w.check.checkers, vec![CheckerName::SetFull, CheckerName::Set]);
        let counter = GOOD
            .replace(
                "kind = \"register\"\nkeys = 3",
                "kind = \"counter\"\nmax_add = 3\nnegative_adds = true",
            )
            .replace("[\"linearizability\"]", "[\"counter\"]");
        let w = Workload::parse("w.toml", &counter).unwrap();
        let GeneratorConfig::Counter {
            keys,
            max_add,
            negative_adds,
            ..
        } = w.generator
        else {
            panic!("a counter generator")
        };
        assert_eq!((keys, max_add, negative_adds), (1, 3, true));
        let e = Workload::parse("w.toml", &counter.replace("[\"counter\"]", "[\"set\"]"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not fit generator kind counter"), "{e}");
        let e = Workload::parse("w.toml", &counter.replace("max_add = 3", "max_add = 0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_add"), "{e}");
        let e = Workload::parse(
            "w.toml",
            &set.replace("[\"set-full\", \"set\"]", "[\"linearizability\"]"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not fit generator kind set"), "{e}");
    }
}
