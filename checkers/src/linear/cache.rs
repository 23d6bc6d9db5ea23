//! The search's memo of explored configurations, with dominance.
//!
//! A configuration is (required operations linearized, optional operations linearized, register
//! state, and whether the last operation placed was optional). As in Lowe's refinement of Wing &
//! Gong, a configuration already explored need not be explored again. We also prune a
//! configuration *dominated* by one already seen: same required set and state, but a superset
//! of optional (`info`) operations used. Optional operations never have a deadline, so the
//! smaller set can do everything the larger can; without this pruning, histories with many
//! `info` writes blow up exponentially.
//!
//! A configuration reached by placing an optional operation is *restricted*: the search only
//! continues it with an operation that reads the value just left (see `search`). A restricted
//! configuration explores less than the same unrestricted one, so a seen restricted entry
//! prunes only restricted configurations, while a seen unrestricted entry prunes both.
//!
//! The required set is stored as a window: the first required operation not yet linearized,
//! and the bits from there to the last operation that could have been linearized before it
//! (see [`Config`]). Below the window every bit is set, above it none is, so a configuration of
//! a key with 20,000 operations takes a few words, not 300.

use rustc_hash::FxHashMap;

const END: u32 = u32::MAX;

/// One configuration, as the search describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a> {
    /// Hash of (required set, state); must not depend on the optional set.
    pub hash: u64,
    /// The register state.
    pub state: u32,
    /// The first required operation (bit index) not linearized: all before it are.
    pub first: u32,
    /// Required bits from `first` on, least significant first; bits past the window are zero
    /// and its length is a function of `first`.
    pub window: &'a [u64],
    /// The optional set (fixed length).
    pub opt: &'a [u64],
    /// Reached by placing an optional operation: only continued by an operation that reads
    /// the register's value.
    pub restricted: bool,
}

/// The flag bit of `StateCache::window_words` marking a restricted entry.
const RESTRICTED: u32 = 1 << 31;

/// Explored configurations, stored compactly in one arena.
pub(crate) struct StateCache {
    opt_words: usize,
    /// Per entry: state and `first` packed in one word, the window words, the optional words.
    arena: Vec<u64>,
    /// Per entry: where it starts in the arena.
    starts: Vec<usize>,
    /// Per entry: the length of its window, in words, with `RESTRICTED` set for a restricted
    /// entry.
    window_words: Vec<u32>,
    /// Per entry: the next entry with the same hash.
    chain: Vec<u32>,
    /// Hash -> first entry.
    buckets: FxHashMap<u64, u32>,
}

impl StateCache {
    /// An empty cache for optional bitsets of `opt_words` words.
    pub fn new(opt_words: usize) -> Self {
        StateCache {
            opt_words,
            arena: Vec::new(),
            starts: Vec::new(),
            window_words: Vec::new(),
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
        // A hash map entry is a u64 key, a u32 value and about one control byte.
        self.arena.capacity() * 8
            + self.starts.capacity() * 8
            + (self.window_words.capacity() + self.chain.capacity()) * 4
            + self.buckets.capacity() * 14
    }

    /// Records the configuration unless it, or one that dominates it, is already recorded.
    /// Returns true if it is new (and so must be explored).
    pub fn insert(&mut self, c: Config<'_>) -> bool {
        debug_assert_eq!(c.opt.len(), self.opt_words);
        let head_word = (c.state as u64) << 32 | c.first as u64;
        let head = self.buckets.get(&c.hash).copied().unwrap_or(END);
        let mut e = head;
        while e != END {
            let start = self.starts[e as usize];
            let words = self.window_words[e as usize];
            let covers = c.restricted || words & RESTRICTED == 0;
            if covers && self.arena[start] == head_word && (words & !RESTRICTED) as usize == c.window.len() {
                let window = &self.arena[start + 1..start + 1 + c.window.len()];
                let opt = &self.arena[start + 1 + c.window.len()..][..self.opt_words];
                if window == c.window && opt.iter().zip(c.opt).all(|(seen, now)| seen & !now == 0) {
                    return false;
                }
            }
            e = self.chain[e as usize];
        }
        let id = self.chain.len() as u32;
        self.starts.push(self.arena.len());
        let flag = if c.restricted { RESTRICTED } else { 0 };
        self.window_words.push(c.window.len() as u32 | flag);
        self.arena.push(head_word);
        self.arena.extend_from_slice(c.window);
        self.arena.extend_from_slice(c.opt);
        self.chain.push(head);
        self.buckets.insert(c.hash, id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config<'a>(state: u32, first: u32, window: &'a [u64], opt: &'a [u64]) -> Config<'a> {
        Config {
            hash: 7,
            state,
            first,
            window,
            opt,
            restricted: false,
        }
    }

    #[test]
    fn restricted_entries_prune_only_restricted_configurations() {
        let mut c = StateCache::new(1);
        let restricted = |opt| Config {
            restricted: true,
            ..config(1, 0, &[0b1], opt)
        };
        assert!(c.insert(restricted(&[0b10])));
        assert!(!c.insert(restricted(&[0b10])), "same restricted configuration");
        assert!(
            !c.insert(restricted(&[0b11])),
            "dominated restricted configuration"
        );
        assert!(
            c.insert(config(1, 0, &[0b1], &[0b10])),
            "unrestricted explores more"
        );
        assert!(
            !c.insert(restricted(&[0b10])),
            "an unrestricted entry prunes it too"
        );
        assert!(!c.insert(config(1, 0, &[0b1], &[0b11])));
    }

    #[test]
    fn exact_and_dominated_configurations_are_not_new() {
        let mut c = StateCache::new(1);
        assert!(c.insert(config(1, 0, &[0b011], &[0b100])));
        assert!(!c.insert(config(1, 0, &[0b011], &[0b100])), "same configuration");
        assert!(
            !c.insert(config(1, 0, &[0b011], &[0b110])),
            "more optional ops used: dominated"
        );
        assert!(
            c.insert(config(1, 0, &[0b011], &[0b010])),
            "incomparable optional set"
        );
        assert!(c.insert(config(2, 0, &[0b011], &[0b100])), "other state");
        assert!(c.insert(config(1, 0, &[0b111], &[0b100])), "other required set");
        assert!(
            c.insert(config(1, 1, &[0b011], &[0b100])),
            "other first unplaced op"
        );
        assert!(
            c.insert(config(1, 1, &[0b011, 0], &[0b100])),
            "other window length"
        );
        assert!(c.insert(config(1, 1, &[], &[0b100])), "empty window");
        assert!(!c.insert(config(1, 0, &[0b011], &[0b111])));
        assert_eq!(c.len(), 7);
        assert!(c.bytes() > 0);
    }
}
