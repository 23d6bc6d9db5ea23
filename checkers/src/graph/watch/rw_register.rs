//! The rw-register part of [`super::TxnWatch`]: the version order that reads followed by
//! writes give (a transaction that read version `x` of a key and then wrote `y` puts `x`
//! before `y`; the initial state precedes every version), and the edges it implies (wr from a
//! version's writer to its readers, ww between the writers of consecutive versions, rw from the
//! readers of a version to the writers of the versions after it, the initial state's readers to
//! every writer with no known earlier version). Every version order known here comes from a
//! transaction that read the earlier version, so the ww edge between the two writers is the wr
//! edge to that reader, and is not added twice. A version is a possibly committed
//! transaction's last write to the key; edges wait until a version's writer is fed. Evidence
//! needing no cycle: a read of an aborted or intermediate write, a transaction not seeing its
//! own write, reading one key twice differently before writing it, two transactions reading
//! one version and writing the key after it, a value written twice.

use super::{Growing, committed};
use crate::graph::list_append::kv;
use crate::graph::rw_register::INIT;
use crate::graph::txn::{MicroOp, TxnSet};
use crate::history::Outcome;
use rustc_hash::{FxHashMap, FxHashSet};

/// Most versions with no known predecessor that a read of a key's initial state gets rw edges
/// to (and most such readers a new one gets edges from); past it, none.
const MAX_INITIAL_LINKS: usize = 256;

/// What the rw-register inference knows so far.
#[derive(Debug, Default)]
pub(super) struct RegisterInference {
    /// Written value (key, value) -> its writer and the micro-op's position in it.
    writers: FxHashMap<u64, (u32, u32)>,
    /// Version (key, value) -> the versions known to follow it directly.
    succ: FxHashMap<u64, Vec<u32>>,
    /// Version (key, value) -> the versions known to precede it directly.
    pred: FxHashMap<u64, Vec<u32>>,
    /// Version (key, value or `INIT`) -> ok transactions whose first read of the key, before
    /// writing it, returned it.
    readers: FxHashMap<u64, Vec<u32>>,
    /// Key -> writers of versions that had no known earlier version when they were fed.
    roots: FxHashMap<u32, Vec<u32>>,
    /// Values read before any fed transaction wrote them.
    awaiting: FxHashSet<u64>,
    /// Version (key, value or `INIT`) -> ok transactions that read it and then wrote the key.
    read_then_wrote: FxHashMap<u64, u32>,
}

/// Transaction `t`'s last write to `key`, if it wrote it.
fn final_write(set: &TxnSet, t: u32, key: u32) -> Option<(u32, u32)> {
    (set.mops(t as usize).iter().enumerate().rev()).find_map(|(i, m)| match *m {
        MicroOp::Write { key: k, value } if k == key => Some((value, i as u32)),
        _ => None,
    })
}

impl RegisterInference {
    /// The writer of version `value` of `key`, when it is fed and the value is a version (its
    /// possibly committed writer's last write to the key).
    fn version_writer(&self, set: &TxnSet, key: u32, value: u32) -> Option<u32> {
        let &(w, mop) = self.writers.get(&kv(key, value))?;
        (committed(set, w) && final_write(set, w, key).is_some_and(|(_, last)| last == mop)).then_some(w)
    }

    /// Feeds transaction `t` (parsed into `set`, its real-time edges added).
    pub(super) fn feed(&mut self, set: &TxnSet, g: &mut Growing, t: u32) {
        let mops: Vec<MicroOp> = set.mops(t as usize).to_vec();
        let ok = set.txns[t as usize].outcome == Outcome::Ok;
        let mut keys: Vec<u32> = mops.iter().map(|m| m.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        for (i, mop) in mops.iter().enumerate() {
            if let MicroOp::Write { key, value } = *mop {
                self.written(set, g, t, i as u32, key, value);
            }
        }
        for &key in &keys {
            let ext_read = if ok { self.reads(g, &mops, key) } else { None };
            let wrote = final_write(set, t, key);
            if let Some(x) = ext_read {
                self.read(set, g, t, key, x);
                if let Some((w, _)) = wrote {
                    let n = self.read_then_wrote.entry(kv(key, x)).or_insert(0);
                    *n += 1;
                    if *n > 1 {
                        g.suspect = true; // a lost update (a cycle too)
                    }
                    self.succ.entry(kv(key, x)).or_default().push(w);
                    self.pred.entry(kv(key, w)).or_default().push(x);
                }
            }
            if let Some((w, _)) = wrote
                && committed(set, t)
            {
                self.version_known(set, g, key, w, t);
            }
        }
    }

    /// Checks a transaction's reads of `key` against its own writes; returns its external
    /// read (the first, before any own write), `INIT` for the initial state.
    fn reads(&mut self, g: &mut Growing, mops: &[MicroOp], key: u32) -> Option<u32> {
        let (mut own, mut external) = (None, None);
        for m in mops.iter().filter(|m| m.key() == key) {
            match *m {
                MicroOp::Write { value, .. } => own = Some(value),
                MicroOp::ReadRegister {
                    value: Some(read), ..
                } => {
                    let read = read.unwrap_or(INIT);
                    match own {
                        Some(own) if own != read => g.suspect = true, // internal
                        Some(_) => {}
                        None => match external {
                            None => external = Some(read),
                            Some(first) if first != read => g.suspect = true, // non-repeatable
                            Some(_) => {}
                        },
                    }
                }
                _ => {}
            }
        }
        external
    }

    /// A fed transaction wrote `value` to `key` (its micro-op `mop`).
    fn written(&mut self, set: &TxnSet, g: &mut Growing, t: u32, mop: u32, key: u32, value: u32) {
        let id = kv(key, value);
        if self.writers.insert(id, (t, mop)).is_some() {
            g.suspect = true; // written twice: the check reports the history as bad input
            return;
        }
        let is_final = final_write(set, t, key).is_some_and(|(_, last)| last == mop);
        if self.awaiting.remove(&id) && !(committed(set, t) && is_final) {
            g.suspect = true; // an aborted or intermediate write was read
        }
    }

    /// Ok transaction `t` read version `x` of `key` first.
    fn read(&mut self, set: &TxnSet, g: &mut Growing, t: u32, key: u32, x: u32) {
        self.readers.entry(kv(key, x)).or_default().push(t);
        if x == INIT {
            let roots = self.roots.get(&key).map_or(&[][..], Vec::as_slice);
            if roots.len() <= MAX_INITIAL_LINKS {
                for &u in roots {
                    g.edge(t, u);
                }
            }
            return;
        }
        match self.writers.get(&kv(key, x)) {
            None => {
                self.awaiting.insert(kv(key, x));
                return;
            }
            Some(_) => match self.version_writer(set, key, x) {
                None => {
                    g.suspect = true; // an aborted or intermediate write was read
                    return;
                }
                Some(w) => g.edge(w, t),
            },
        }
        for &y in self.succ.get(&kv(key, x)).map_or(&[][..], Vec::as_slice) {
            if let Some(u) = self.version_writer(set, key, y) {
                g.edge(t, u);
            }
        }
    }

    /// Version `v` of `key`, written by `t`, is known: the edges that wait for its writer.
    fn version_known(&mut self, set: &TxnSet, g: &mut Growing, key: u32, v: u32, t: u32) {
        let id = kv(key, v);
        for &r in self.readers.get(&id).map_or(&[][..], Vec::as_slice) {
            g.edge(t, r);
        }
        let mut earlier_known = false;
        for &x in self.pred.get(&id).map_or(&[][..], Vec::as_slice) {
            for &r in self.readers.get(&kv(key, x)).map_or(&[][..], Vec::as_slice) {
                g.edge(r, t);
            }
            earlier_known |= x != INIT && self.version_writer(set, key, x).is_some();
        }
        for &y in self.succ.get(&id).map_or(&[][..], Vec::as_slice) {
            if let Some(u) = self.version_writer(set, key, y) {
                for &r in self.readers.get(&id).map_or(&[][..], Vec::as_slice) {
                    g.edge(r, u);
                }
            }
        }
        if !earlier_known {
            let initial_readers = self.readers.get(&kv(key, INIT)).map_or(&[][..], Vec::as_slice);
            if initial_readers.len() <= MAX_INITIAL_LINKS {
                for &r in initial_readers {
                    g.edge(r, t);
                }
            }
            self.roots.entry(key).or_default().push(t);
        }
    }
}
