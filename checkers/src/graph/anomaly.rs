//! The anomaly kinds the graph and session checkers report, and a collector that keeps a
//! bounded number of fully explained instances per kind while counting them all.

use crate::report::Anomaly;
use rustc_hash::FxHashMap;

/// The shape of a dependency cycle, by its data edges (Adya / Elle names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CycleShape {
    /// Only ww edges.
    G0,
    /// ww and wr edges, at least one wr.
    G1c,
    /// Exactly one rw edge.
    GSingle,
    /// Two or more rw edges, no two adjacent.
    GNonadjacent,
    /// Two or more rw edges, at least two adjacent.
    G2Item,
}

/// Which orders besides the data dependencies a cycle needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CycleOrder {
    /// Data edges only.
    Data,
    /// At least one process-order edge (and no real-time-only edge).
    Process,
    /// At least one real-time edge.
    Realtime,
}

/// Every anomaly kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// A dependency cycle.
    Cycle(CycleShape, CycleOrder),
    /// Aborted read: a read saw a write of a failed transaction.
    G1a,
    /// Intermediate read: a read saw a write that its transaction later overwrote.
    G1b,
    /// A committed write was applied on top of a failed transaction's write.
    DirtyUpdate,
    /// Two committed transactions read the same version of a key and both wrote it.
    LostUpdate,
    /// A list read contains the same element twice.
    DuplicateElements,
    /// Two reads of a key disagree on the order of its elements.
    IncompatibleOrder,
    /// A read saw a value nobody wrote.
    GarbageRead,
    /// A transaction's read contradicts its own earlier writes.
    Internal,
    /// The inferred version order of a register is cyclic.
    CyclicVersions,
    /// A transaction saw some but not all of another transaction's writes.
    FracturedRead,
    /// A transaction read a key twice, without writing it in between, and saw two different
    /// values.
    NonRepeatableRead,
    /// A process did not see its own earlier write.
    ReadYourWrites,
    /// A process read an older version than it had read before.
    MonotonicReads,
    /// A process's writes became visible out of order.
    MonotonicWrites,
    /// A process's write became visible without the writes it had read.
    WritesFollowReads,
    /// Reads saw states that no single order of writes explains.
    ConsistentPrefix,
    /// A transaction did not see a write that happened before it (through process order and
    /// what transactions read): causal consistency's read rule.
    MissedCausalWrite,
}

impl AnomalyKind {
    /// The name in reports (Elle's where Elle has one).
    pub fn name(self) -> &'static str {
        use AnomalyKind::*;
        use CycleOrder::*;
        use CycleShape::*;
        match self {
            Cycle(G0, Data) => "G0",
            Cycle(G0, Process) => "G0-process",
            Cycle(G0, Realtime) => "G0-realtime",
            Cycle(G1c, Data) => "G1c",
            Cycle(G1c, Process) => "G1c-process",
            Cycle(G1c, Realtime) => "G1c-realtime",
            Cycle(GSingle, Data) => "G-single",
            Cycle(GSingle, Process) => "G-single-process",
            Cycle(GSingle, Realtime) => "G-single-realtime",
            Cycle(GNonadjacent, Data) => "G-nonadjacent",
            Cycle(GNonadjacent, Process) => "G-nonadjacent-process",
            Cycle(GNonadjacent, Realtime) => "G-nonadjacent-realtime",
            Cycle(G2Item, Data) => "G2-item",
            Cycle(G2Item, Process) => "G2-item-process",
            Cycle(G2Item, Realtime) => "G2-item-realtime",
            G1a => "G1a",
            G1b => "G1b",
            DirtyUpdate => "dirty-update",
            LostUpdate => "lost-update",
            DuplicateElements => "duplicate-elements",
            IncompatibleOrder => "incompatible-order",
            GarbageRead => "garbage-read",
            Internal => "internal",
            CyclicVersions => "cyclic-versions",
            FracturedRead => "fractured-read",
            NonRepeatableRead => "non-repeatable-read",
            ReadYourWrites => "read-your-writes",
            MonotonicReads => "monotonic-reads",
            MonotonicWrites => "monotonic-writes",
            WritesFollowReads => "writes-follow-reads",
            ConsistentPrefix => "consistent-prefix",
            MissedCausalWrite => "missed-causal-write",
        }
    }

    /// Integrity anomalies: no execution of the workload's operations produces them, whatever
    /// the isolation level.
    pub fn is_integrity(self) -> bool {
        use AnomalyKind::*;
        matches!(
            self,
            DuplicateElements | IncompatibleOrder | GarbageRead | Internal | CyclicVersions
        )
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How many instances of one kind are explained in full; the rest are only counted.
pub const EXPLAINED_PER_KIND: usize = 16;

/// Collects anomalies: every instance is counted, the first [`EXPLAINED_PER_KIND`] of each
/// kind are explained.
#[derive(Debug, Default)]
pub struct Findings {
    /// Explained instances, in the order found.
    pub explained: Vec<(AnomalyKind, Anomaly)>,
    /// Count per kind.
    pub counts: FxHashMap<AnomalyKind, usize>,
}

impl Findings {
    /// Records one instance; `explain` runs only when this instance will be kept.
    pub fn add(&mut self, kind: AnomalyKind, explain: impl FnOnce() -> Anomaly) {
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        if *n <= EXPLAINED_PER_KIND {
            let mut a = explain();
            a.kind = kind.name().to_string();
            self.explained.push((kind, a));
        }
    }

    /// True if at least one instance of `kind` was found.
    pub fn has(&self, kind: AnomalyKind) -> bool {
        self.counts.contains_key(&kind)
    }

    /// The kinds found, sorted.
    pub fn kinds(&self) -> Vec<AnomalyKind> {
        let mut k: Vec<_> = self.counts.keys().copied().collect();
        k.sort();
        k
    }
}
