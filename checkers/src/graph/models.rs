//! Consistency models and which anomalies each forbids (after Adya, Cerone et al., and Elle's
//! mapping), and the per-model verdicts of a history.
//!
//! The transactional models form a chain: read committed < read atomic < snapshot isolation <
//! serializable < strict serializable, each forbidding what the weaker ones forbid and more.
//! Causal consistency branches off it: it forbids what read atomic forbids, the cycles of
//! ww / wr / process edges, missed causal writes, and the four per-process session anomalies;
//! strict serializable forbids all of that (snapshot isolation and serializable, judged on data
//! edges alone, do not: they ignore process order). Each session guarantee forbids its own
//! anomaly. Integrity anomalies (garbage reads, duplicated
//! elements, incompatible orders, internal inconsistency, cyclic versions) break every model.

use super::anomaly::{AnomalyKind, CycleOrder, CycleShape};
use crate::report::Verdict;
use std::str::FromStr;

/// A consistency model or session guarantee a history can be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsistencyModel {
    /// Adya PL-2: no dirty writes or reads (G0, G1a, G1b, G1c).
    ReadCommitted,
    /// Read committed, and no fractured reads (a transaction sees all or none of another's writes).
    ReadAtomic,
    /// Causal consistency (Cerone et al.'s CC): read atomic, and every transaction sees every
    /// write that happened before it (process order and reads-from, transitively), in an order
    /// consistent with it.
    Causal,
    /// Snapshot isolation: every cycle has two adjacent anti-dependencies (no G-single, no
    /// G-nonadjacent), no lost updates.
    SnapshotIsolation,
    /// Serializable: no dependency cycle at all.
    Serializable,
    /// Strict serializable: no cycle even with process and real-time order.
    StrictSerializable,
    /// A process sees its own earlier writes.
    ReadYourWrites,
    /// A process never reads an older version than it has read before.
    MonotonicReads,
    /// A process's writes become visible in the order it made them.
    MonotonicWrites,
    /// A process's writes become visible only after the writes it had read.
    WritesFollowReads,
    /// Every read sees a prefix of one global order of writes.
    ConsistentPrefix,
}

impl ConsistencyModel {
    /// Every model, transactional first.
    pub const ALL: [ConsistencyModel; 11] = [
        ConsistencyModel::ReadCommitted,
        ConsistencyModel::ReadAtomic,
        ConsistencyModel::Causal,
        ConsistencyModel::SnapshotIsolation,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrictSerializable,
        ConsistencyModel::ReadYourWrites,
        ConsistencyModel::MonotonicReads,
        ConsistencyModel::MonotonicWrites,
        ConsistencyModel::WritesFollowReads,
        ConsistencyModel::ConsistentPrefix,
    ];

    /// The session guarantees.
    pub const SESSION: [ConsistencyModel; 5] = [
        ConsistencyModel::ReadYourWrites,
        ConsistencyModel::MonotonicReads,
        ConsistencyModel::MonotonicWrites,
        ConsistencyModel::WritesFollowReads,
        ConsistencyModel::ConsistentPrefix,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ConsistencyModel::ReadCommitted => "read-committed",
            ConsistencyModel::ReadAtomic => "read-atomic",
            ConsistencyModel::Causal => "causal",
            ConsistencyModel::SnapshotIsolation => "snapshot-isolation",
            ConsistencyModel::Serializable => "serializable",
            ConsistencyModel::StrictSerializable => "strict-serializable",
            ConsistencyModel::ReadYourWrites => "read-your-writes",
            ConsistencyModel::MonotonicReads => "monotonic-reads",
            ConsistencyModel::MonotonicWrites => "monotonic-writes",
            ConsistencyModel::WritesFollowReads => "writes-follow-reads",
            ConsistencyModel::ConsistentPrefix => "consistent-prefix",
        }
    }

    /// The strength of a transactional model in the chain (0 for session guarantees).
    fn rank(self) -> u8 {
        match self {
            ConsistencyModel::ReadCommitted => 1,
            ConsistencyModel::ReadAtomic => 2,
            ConsistencyModel::SnapshotIsolation => 3,
            ConsistencyModel::Serializable => 4,
            ConsistencyModel::StrictSerializable => 5,
            _ => 0,
        }
    }

    /// True if the model forbids anomalies of this kind.
    pub fn forbids(self, kind: AnomalyKind) -> bool {
        use AnomalyKind::*;
        if kind.is_integrity() {
            return true;
        }
        let rank = self.rank();
        // The weakest transactional model forbidding the kind (0: none of them).
        let needs = match kind {
            G1a | G1b | DirtyUpdate => 1,
            Cycle(CycleShape::G0 | CycleShape::G1c, CycleOrder::Data) => 1,
            FracturedRead | NonRepeatableRead => 2,
            LostUpdate | ConsistentPrefix => 3,
            MissedCausalWrite => 5,
            Cycle(CycleShape::GSingle | CycleShape::GNonadjacent, CycleOrder::Data) => 3,
            Cycle(CycleShape::G2Item, CycleOrder::Data) => 4,
            Cycle(_, _) => 5,
            ReadYourWrites | MonotonicReads | MonotonicWrites | WritesFollowReads => 5,
            _ => 0,
        };
        if rank > 0 {
            return needs > 0 && rank >= needs;
        }
        if self == ConsistencyModel::Causal {
            // Read atomic's anomalies, and those of happened-before (process order and
            // reads-from): cycles of ww / wr / process edges, missed causal writes, and the
            // session anomalies (each is one of those, seen on one key).
            let read_atomic = needs > 0 && needs <= 2;
            let happened_before = matches!(
                kind,
                Cycle(CycleShape::G0 | CycleShape::G1c, CycleOrder::Process)
                    | MissedCausalWrite
                    | ReadYourWrites
                    | MonotonicReads
                    | MonotonicWrites
                    | WritesFollowReads
            );
            return read_atomic || happened_before;
        }
        matches!(
            (self, kind),
            (ConsistencyModel::ReadYourWrites, ReadYourWrites)
                | (ConsistencyModel::MonotonicReads, MonotonicReads)
                | (ConsistencyModel::MonotonicWrites, MonotonicWrites)
                | (ConsistencyModel::WritesFollowReads, WritesFollowReads)
                | (ConsistencyModel::ConsistentPrefix, ConsistentPrefix)
        )
    }
}

impl std::fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConsistencyModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let aliases = [
            ("rc", ConsistencyModel::ReadCommitted),
            ("ra", ConsistencyModel::ReadAtomic),
            ("si", ConsistencyModel::SnapshotIsolation),
            ("cc", ConsistencyModel::Causal),
            ("causal-cerone", ConsistencyModel::Causal),
            ("strong-serializable", ConsistencyModel::StrictSerializable),
        ];
        ConsistencyModel::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .or_else(|| aliases.iter().find(|(a, _)| *a == s).map(|(_, m)| *m))
            .ok_or_else(|| {
                let names: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown consistency model {s:?}; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// The verdict of one model over a history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelVerdict {
    /// The model.
    #[serde(serialize_with = "serialize_name")]
    pub model: ConsistencyModel,
    /// Valid, invalid, or unknown (a search the model depends on ran out of budget).
    pub verdict: Verdict,
    /// The anomaly kinds found that the model forbids.
    pub anomalies: Vec<String>,
    /// Cycle classes the model forbids whose search was cut short.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inconclusive: Vec<String>,
    /// Anomalies the model forbids that were not looked for: they need real-time or process
    /// order, which a completion-only history does not give.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
}

fn serialize_name<S: serde::Serializer>(m: &ConsistencyModel, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.name())
}

/// The verdict of `model`, given the kinds found and the kinds whose search was inconclusive.
/// Kinds in `not_checked` were not looked for at all: like inconclusive ones, they make a model
/// that forbids them unknown unless something it forbids was found.
pub fn verdict_for(
    model: ConsistencyModel,
    found: &[AnomalyKind],
    inconclusive: &[AnomalyKind],
    not_checked: &[AnomalyKind],
) -> ModelVerdict {
    let anomalies: Vec<String> = found
        .iter()
        .filter(|k| model.forbids(**k))
        .map(|k| k.name().to_string())
        .collect();
    let open: Vec<String> = inconclusive
        .iter()
        .filter(|k| model.forbids(**k))
        .map(|k| k.name().to_string())
        .collect();
    let unchecked: Vec<String> = not_checked
        .iter()
        .filter(|k| model.forbids(**k))
        .map(|k| k.name().to_string())
        .collect();
    let verdict = if !anomalies.is_empty() {
        Verdict::Invalid
    } else if !open.is_empty() || !unchecked.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    ModelVerdict {
        model,
        verdict,
        anomalies,
        inconclusive: open,
        not_checked: unchecked,
    }
}

#[cfg(test)]
mod tests {
    use super::ConsistencyModel::*;
    use super::*;

    #[test]
    fn stronger_models_forbid_what_weaker_ones_do() {
        let chain = [
            ReadCommitted,
            ReadAtomic,
            SnapshotIsolation,
            Serializable,
            StrictSerializable,
        ];
        let kinds = [
            AnomalyKind::G1a,
            AnomalyKind::FracturedRead,
            AnomalyKind::NonRepeatableRead,
            AnomalyKind::LostUpdate,
            AnomalyKind::Cycle(CycleShape::GSingle, CycleOrder::Data),
            AnomalyKind::Cycle(CycleShape::G2Item, CycleOrder::Data),
            AnomalyKind::Cycle(CycleShape::G0, CycleOrder::Realtime),
            AnomalyKind::ReadYourWrites,
        ];
        for k in kinds {
            for w in chain.windows(2) {
                assert!(!w[0].forbids(k) || w[1].forbids(k), "{} vs {} on {k}", w[0], w[1]);
            }
        }
        assert!(!SnapshotIsolation.forbids(AnomalyKind::Cycle(CycleShape::G2Item, CycleOrder::Data)));
        assert!(!Serializable.forbids(AnomalyKind::Cycle(CycleShape::G0, CycleOrder::Process)));
        assert!(!ReadCommitted.forbids(AnomalyKind::LostUpdate));
        assert!(!ReadCommitted.forbids(AnomalyKind::NonRepeatableRead));
        assert!(ReadAtomic.forbids(AnomalyKind::NonRepeatableRead));
        assert!(ReadYourWrites.forbids(AnomalyKind::GarbageRead));
        assert!(!ReadYourWrites.forbids(AnomalyKind::MonotonicReads));
        assert_eq!("si".parse::<ConsistencyModel>(), Ok(SnapshotIsolation));
        assert!(
            "bogus"
                .parse::<ConsistencyModel>()
                .unwrap_err()
                .contains("read-committed")
        );
    }

    /// Every anomaly kind.
    fn every_kind() -> Vec<AnomalyKind> {
        AnomalyKind::all()
    }

    /// `strong` implies `weak`: every anomaly `weak` forbids, `strong` forbids too.
    fn implies(strong: ConsistencyModel, weak: ConsistencyModel) -> bool {
        every_kind()
            .into_iter()
            .all(|k| !weak.forbids(k) || strong.forbids(k))
    }

    #[test]
    fn causal_sits_between_strict_serializable_and_read_atomic_and_the_sessions() {
        assert!(implies(StrictSerializable, Causal));
        assert!(implies(Causal, ReadAtomic));
        assert!(implies(Causal, ReadCommitted));
        for session in [ReadYourWrites, MonotonicReads, MonotonicWrites, WritesFollowReads] {
            assert!(implies(Causal, session), "causal should imply {session}");
            assert!(
                !implies(session, Causal),
                "{session} alone should not imply causal"
            );
        }
        // Causal allows what needs an order of all writes or anti-dependencies beyond its read
        // rule: long forks (consistent prefix), write skew, real-time cycles.
        assert!(!implies(Causal, ConsistentPrefix));
        assert!(!implies(Causal, SnapshotIsolation));
        assert!(!implies(ReadAtomic, Causal));
        // Snapshot isolation and serializable are judged on data edges alone here (Adya's, not
        // Cerone's session forms), so they do not imply causal.
        assert!(!implies(SnapshotIsolation, Causal));
        assert!(!implies(Serializable, Causal));
        assert_eq!("causal".parse::<ConsistencyModel>(), Ok(Causal));
        assert_eq!("cc".parse::<ConsistencyModel>(), Ok(Causal));
        assert!(Causal.forbids(AnomalyKind::MissedCausalWrite));
        assert!(!Causal.forbids(AnomalyKind::Cycle(CycleShape::GSingle, CycleOrder::Data)));
        assert!(!Causal.forbids(AnomalyKind::LostUpdate));
    }
}
