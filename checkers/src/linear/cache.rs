//! The search's memo of explored configurations, with dominance.
//!
//! A configuration is (required operations linearized, optional operations linearized, register
//! state). As in Lowe's refinement of Wing & Gong, a configuration already explored need not be
//! explored again. We also prune a configuration *dominated* by one already seen: same required
//! set and state, but a superset of optional (`info`) operations used. Optional operations never
//! have a deadline, so the smaller set can do everything the larger can; without this pruning,
//! histories with many `info` writes blow up exponentially.

use rustc_hash::FxHashMap;

const END: u32 = u32::MAX;

/// Explored configurations, stored compactly in one arena.
pub(crate) struct StateCache {
    req_words: usize,
    opt_words: usize,
    stride: usize,
    /// Per entry: the state, then the required bitset words, then the optional bitset words.
    arena: Vec<u64>,
    /// Per entry: the next entry with the same hash.
    chain: Vec<u32>,
    /// Hash of (required set, state) -> first entry.
    buckets: FxHashMap<u64, u32>,
}

impl StateCache {
    /// An empty cache for bitsets of the given sizes (in 64-bit words).
    pub fn new(req_words: usize, opt_words: usize) -> Self {
        StateCache {
            req_words,
            opt_words,
            stride: 1 + req_words + opt_words,
            arena: Vec::new(),
            chain: Vec::new(),
            buckets: FxHashMap::default(),
        }
    }

    /// Number of configurations stored.
    pub fn len(&self) -> usize {
        self.chain.len()
    }

    /// Approximate heap memory held, in bytes.
    pub fn bytes(&self) -> usize {
        // A hash map entry is a u64 key, a u32 value and about one control byte, at a load
        // factor of at most 7/8.
        self.arena.capacity() * 8 + self.chain.capacity() * 4 + self.buckets.capacity() * 14
    }

    /// Records the configuration unless it, or one that dominates it, is already recorded.
    /// Returns true if it is new (and so must be explored). `hash` must depend only on `req`
    /// and `state`.
    pub fn insert(&mut self, hash: u64, state: u32, req: &[u64], opt: &[u64]) -> bool {
        debug_assert_eq!(req.len(), self.req_words);
        debug_assert_eq!(opt.len(), self.opt_words);
        let head = self.buckets.get(&hash).copied().unwrap_or(END);
        let mut e = head;
        while e != END {
            let base = e as usize * self.stride;
            let entry = &self.arena[base..base + self.stride];
            if entry[0] == state as u64
                && entry[1..1 + self.req_words] == *req
                && entry[1 + self.req_words..]
                    .iter()
                    .zip(opt)
                    .all(|(seen, now)| seen & !now == 0)
            {
                return false;
            }
            e = self.chain[e as usize];
        }
        let id = self.chain.len() as u32;
        self.arena.push(state as u64);
        self.arena.extend_from_slice(req);
        self.arena.extend_from_slice(opt);
        self.chain.push(head);
        self.buckets.insert(hash, id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_dominated_configurations_are_not_new() {
        let mut c = StateCache::new(1, 1);
        assert!(c.insert(7, 1, &[0b011], &[0b100]));
        assert!(!c.insert(7, 1, &[0b011], &[0b100]), "same configuration");
        assert!(
            !c.insert(7, 1, &[0b011], &[0b110]),
            "more optional ops used: dominated"
        );
        assert!(c.insert(7, 1, &[0b011], &[0b010]), "incomparable optional set");
        assert!(c.insert(7, 2, &[0b011], &[0b100]), "other state");
        assert!(c.insert(7, 1, &[0b111], &[0b100]), "other required set");
        assert!(!c.insert(7, 1, &[0b011], &[0b111]));
        assert_eq!(c.len(), 4);
    }
}
