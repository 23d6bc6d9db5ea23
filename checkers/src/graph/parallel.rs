//! Splitting the graph checker's large loops over both cores: a range of items (transactions,
//! keys, reads) is cut into contiguous parts, one scoped thread each, and the parts' results
//! come back in order, so the caller merges them exactly as one pass in order would have
//! produced them. Small inputs stay on the calling thread.

use std::cell::Cell;
use std::ops::Range;

/// Inputs with fewer items than this are not split (threads cost more than they save).
const PARALLEL_FROM_ITEMS: usize = 20_000;

thread_local! {
    /// Tests force the number of parts here (on the thread that runs the check), so the
    /// parallel path runs on small histories too.
    static FORCED_PARTS: Cell<Option<usize>> = const { Cell::new(None) };
}

/// How many parts `items` items are cut into: one per core for large inputs, else one.
pub(crate) fn parts_for(items: usize) -> usize {
    if let Some(forced) = FORCED_PARTS.with(Cell::get) {
        return forced.clamp(1, items.max(1));
    }
    if items < PARALLEL_FROM_ITEMS {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `f` with the number of parts forced to `parts` on this thread (tests only).
#[cfg(test)]
pub(crate) fn with_parts<T>(parts: usize, f: impl FnOnce() -> T) -> T {
    let before = FORCED_PARTS.with(|c| c.replace(Some(parts)));
    let out = f();
    FORCED_PARTS.with(|c| c.set(before));
    out
}

/// Cuts `0..len` into `parts` contiguous ranges of nearly equal size (in order, none empty
/// unless `len` is 0).
pub(crate) fn ranges(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, len.max(1));
    (0..parts)
        .map(|i| (len * i / parts)..(len * (i + 1) / parts))
        .collect()
}

/// Runs `f` on each range (the first on this thread, the others on scoped threads) and
/// returns the results in the order of the ranges.
pub(crate) fn map_ranges<T: Send>(ranges: Vec<Range<usize>>, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    if ranges.len() <= 1 {
        return ranges.into_iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let mut rest = ranges.into_iter();
        let first = rest.next().expect("two ranges at least");
        let handles: Vec<_> = rest.map(|r| s.spawn(move || f(r))).collect();
        let mut out = vec![f(first)];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
        );
        out
    })
}

/// [`map_ranges`] over `0..len` cut by [`parts_for`].
pub(crate) fn map_parts<T: Send>(len: usize, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    map_ranges(ranges(len, parts_for(len)), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_in_order() {
        for len in [0, 1, 2, 7, 100] {
            for parts in 1..5 {
                let r = ranges(len, parts);
                assert_eq!(r.first().map(|r| r.start), Some(0));
                assert_eq!(r.last().map(|r| r.end), Some(len));
                assert!(r.windows(2).all(|w| w[0].end == w[1].start));
                assert!(len == 0 || r.iter().all(|r| !r.is_empty()));
            }
        }
    }

    #[test]
    fn results_come_back_in_order() {
        let sums = with_parts(3, || map_parts(10, |r| r.sum::<usize>()));
        assert_eq!(sums.len(), 3);
        assert_eq!(sums.iter().sum::<usize>(), 45);
        assert_eq!(map_parts(10, |r| r.len()), vec![10]);
    }
}
