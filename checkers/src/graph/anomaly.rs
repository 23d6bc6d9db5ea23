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

impl AnomalyKind {
    /// Every kind, cycles first.
    pub fn all() -> Vec<AnomalyKind> {
        use AnomalyKind::*;
        let shapes = [
            CycleShape::G0,
            CycleShape::G1c,
            CycleShape::GSingle,
            CycleShape::GNonadjacent,
            CycleShape::G2Item,
        ];
        let orders = [CycleOrder::Data, CycleOrder::Process, CycleOrder::Realtime];
        let mut all: Vec<AnomalyKind> = shapes
            .iter()
            .flat_map(|s| orders.iter().map(move |o| Cycle(*s, *o)))
            .collect();
        all.extend([
            G1a,
            G1b,
            DirtyUpdate,
            LostUpdate,
            DuplicateElements,
            IncompatibleOrder,
            GarbageRead,
            Internal,
            CyclicVersions,
            FracturedRead,
            NonRepeatableRead,
            ReadYourWrites,
            MonotonicReads,
            MonotonicWrites,
            WritesFollowReads,
            ConsistentPrefix,
            MissedCausalWrite,
        ]);
        all
    }

    /// The kind a report names (`"G1c"`, `"read-your-writes"`, ...).
    pub fn from_name(name: &str) -> Option<AnomalyKind> {
        AnomalyKind::all().into_iter().find(|k| k.name() == name)
    }

    /// True when no later operation can undo an anomaly of this kind: found in a prefix of a
    /// history (operations still pending read as indeterminate), the whole history has it too,
    /// or at least violates every model that forbids it (`faultline run --stop-on-violation`
    /// relies on this; `tests/graph_prefix.rs` checks it). Not so for a read of a value nobody
    /// has written *yet* (a later write may explain it), nor for consistent prefix, which
    /// judges reads against write orders that later reads may still change.
    pub fn is_prefix_closed(self) -> bool {
        !matches!(self, AnomalyKind::GarbageRead | AnomalyKind::ConsistentPrefix)
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

    /// Adds what `later` found (a check run apart, on another thread) as if its instances had
    /// been added here after this set's: the same counts, and the same instances explained.
    pub(crate) fn absorb(&mut self, later: Findings) {
        let mut nth: FxHashMap<AnomalyKind, usize> = FxHashMap::default();
        for (kind, anomaly) in later.explained {
            let before = self.counts.get(&kind).copied().unwrap_or(0);
            let n = nth.entry(kind).or_insert(0);
            *n += 1;
            if before + *n <= EXPLAINED_PER_KIND {
                self.explained.push((kind, anomaly));
            }
        }
        for (kind, n) in later.counts {
            *self.counts.entry(kind).or_insert(0) += n;
        }
    }

    /// Runs two checks on two threads, each recording into its own findings, and adds both
    /// here in order (`first`'s, then `second`'s) as if they had run one after the other.
    pub(crate) fn run_both<A: Send, B: Send>(
        &mut self,
        first: impl FnOnce(&mut Findings) -> A + Send,
        second: impl FnOnce(&mut Findings) -> B + Send,
    ) -> (A, B) {
        let (a, fa, b, fb) = std::thread::scope(|s| {
            let other = s.spawn(move || {
                let mut f = Findings::default();
                let b = second(&mut f);
                (b, f)
            });
            let mut fa = Findings::default();
            let a = first(&mut fa);
            let (b, fb) = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (a, fa, b, fb)
        });
        self.absorb(fa);
        self.absorb(fb);
        (a, b)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(i: usize) -> Anomaly {
        Anomaly {
            kind: String::new(),
            key: None,
            steps: vec![format!("instance {i}")],
            events: Vec::new(),
            details: serde_json::Value::Null,
        }
    }

    /// The explained instances (kind and steps, in order) and the sorted counts.
    type Summary = (Vec<(AnomalyKind, Vec<String>)>, Vec<(AnomalyKind, usize)>);

    fn summary(f: &Findings) -> Summary {
        let explained = f.explained.iter().map(|(k, a)| (*k, a.steps.clone())).collect();
        let mut counts: Vec<_> = f.counts.iter().map(|(k, n)| (*k, *n)).collect();
        counts.sort();
        (explained, counts)
    }

    /// Findings split at any point and recorded on two threads, then merged, equal the
    /// findings recorded in one sequence: counts, and which instances are explained, in order.
    #[test]
    fn findings_found_apart_merge_as_if_found_in_order() {
        let kinds = [
            AnomalyKind::DirtyUpdate,
            AnomalyKind::ReadYourWrites,
            AnomalyKind::MonotonicReads,
        ];
        // Many of one kind (past the explained limit) on both sides, few of the others.
        let sequence: Vec<AnomalyKind> = (0..3 * EXPLAINED_PER_KIND)
            .map(|i| if i % 5 == 0 { kinds[i % 3] } else { kinds[0] })
            .collect();
        for split in [
            0,
            1,
            EXPLAINED_PER_KIND - 1,
            EXPLAINED_PER_KIND + 3,
            sequence.len(),
        ] {
            // One instance already found before the two checks run.
            let mut reference = Findings::default();
            reference.add(kinds[0], || instance(usize::MAX));
            for (i, &k) in sequence.iter().enumerate() {
                reference.add(k, || instance(i));
            }
            let mut merged = Findings::default();
            merged.add(kinds[0], || instance(usize::MAX));
            let (first, second) = sequence.split_at(split);
            merged.run_both(
                |f| {
                    for (i, &k) in first.iter().enumerate() {
                        f.add(k, || instance(i));
                    }
                },
                |f| {
                    for (i, &k) in second.iter().enumerate() {
                        f.add(k, || instance(split + i));
                    }
                },
            );
            assert_eq!(summary(&merged), summary(&reference), "split at {split}");
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_and_found_by_its_name() {
        let all = AnomalyKind::all();
        let names: std::collections::BTreeSet<&str> = all.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), all.len(), "no two kinds share a name");
        for k in &all {
            assert_eq!(AnomalyKind::from_name(k.name()), Some(*k));
        }
        // Kept in step with the enum: a kind added there without being listed fails here.
        let count = |k: AnomalyKind| match k {
            AnomalyKind::Cycle(..)
            | AnomalyKind::G1a
            | AnomalyKind::G1b
            | AnomalyKind::DirtyUpdate
            | AnomalyKind::LostUpdate
            | AnomalyKind::DuplicateElements
            | AnomalyKind::IncompatibleOrder
            | AnomalyKind::GarbageRead
            | AnomalyKind::Internal
            | AnomalyKind::CyclicVersions
            | AnomalyKind::FracturedRead
            | AnomalyKind::NonRepeatableRead
            | AnomalyKind::ReadYourWrites
            | AnomalyKind::MonotonicReads
            | AnomalyKind::MonotonicWrites
            | AnomalyKind::WritesFollowReads
            | AnomalyKind::ConsistentPrefix
            | AnomalyKind::MissedCausalWrite => 1,
        };
        assert_eq!(all.iter().map(|k| count(*k)).sum::<usize>(), 15 + 17);
    }
}
