//! WAL compaction for the single-leader design: the whole WAL is replaced by the term and vote,
//! a snapshot of the committed data at the commit index, and the log entries after it (committed
//! or not, durable or not: a rewrite queued after their appends covers them), so a restart
//! recovers exactly what it would have from the long log.

use super::SingleLeader;
use super::state::{LogVersion, Record};
use crate::log::log;

impl SingleLeader {
    /// Rewrites the WAL as a snapshot if it has grown enough; returns whether it did.
    pub fn compact_wal_if_due(&self) -> bool {
        if !self.wal.wants_compaction() {
            return false;
        }
        let mut st = self.lock();
        let Some(term) = st.log.term_at(st.commit) else {
            return false;
        };
        let base = LogVersion {
            term,
            index: st.commit,
        };
        let mut records = vec![
            Record::Term {
                term: st.term,
                voted_for: st.voted_for.clone(),
            }
            .encode(),
            Record::Snapshot {
                base,
                data: st.data.map.iter().map(|(k, c)| (k.clone(), c.clone())).collect(),
            }
            .encode(),
        ];
        let after: Vec<_> = (st.commit + 1..=st.log.last().index)
            .filter_map(|i| st.log.entry(i))
            .map(|e| Record::Entry(e.clone()).encode())
            .collect();
        let entries = after.len();
        records.extend(after);
        self.wal.rewrite(records);
        st.commit_persisted = st.commit;
        log(format_args!(
            "WAL compacted: a snapshot at index {} ({} keys) and {entries} entries after it",
            base.index,
            st.data.map.len()
        ));
        true
    }
}
