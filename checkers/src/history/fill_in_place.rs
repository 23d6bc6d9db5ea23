//! One vector filled by several threads at once, each writing its own part in place.
//!
//! Parsing a large file side by side used to give one vector per thread, joined afterwards:
//! the join copied every part but the first into fresh memory (about 190 MB for a million
//! transactions, every page of it faulted in). Here each thread writes straight into its own
//! region of one allocation, sized by an upper bound on what it writes (for lines of text, the
//! number of lines), so nothing is copied unless a part wrote less than its bound; then the
//! later parts are moved down to close the gap, within memory already touched.
//!
//! This is the only place the parser uses `unsafe`: writing into a vector's spare capacity and
//! setting its length once every slot below it is written.

use std::mem::MaybeUninit;

/// A thread's region of the shared vector: the first `filled` slots are written.
pub(crate) struct Slots<'a, T> {
    slots: &'a mut [MaybeUninit<T>],
    filled: usize,
}

impl<T> Slots<'_, T> {
    /// Writes the next value. Panics if the part is full: its bound was wrong, a bug.
    pub(crate) fn push(&mut self, value: T) {
        self.slots[self.filled].write(value);
        self.filled += 1;
    }

    /// The values written, mutably.
    fn written_mut(&mut self) -> &mut [T] {
        // SAFETY: the first `filled` slots were written by `push` and not dropped since.
        unsafe { std::slice::from_raw_parts_mut(self.slots.as_mut_ptr().cast::<T>(), self.filled) }
    }

    /// Hands the written values over to the vector (they are no longer dropped with `self`).
    fn keep(mut self) -> usize {
        std::mem::replace(&mut self.filled, 0)
    }
}

impl<T> Drop for Slots<'_, T> {
    /// A part given up (its filler failed or panicked) drops what it wrote.
    fn drop(&mut self) {
        let written: *mut [T] = self.written_mut();
        // SAFETY: the written values are initialised, owned by this part, and dropped once:
        // `keep` sets `filled` to 0 when the vector takes them over.
        unsafe { std::ptr::drop_in_place(written) };
    }
}

/// Fills one vector from `bounds.len()` threads: part `i` gets at most `bounds[i]` slots and
/// `fill(i, start, slots)` writes them in order, `start` being the sum of the earlier bounds. When every part succeeds, the vector holds part 0's
/// values, then part 1's, and so on, with each part's result; otherwise no vector and every
/// part's result (what the failed parts wrote is dropped). A panic in a part is resumed here.
pub(crate) fn fill_in_place<T, R, E, F>(bounds: &[usize], fill: F) -> (Option<Vec<T>>, Vec<Result<R, E>>)
where
    T: Send,
    R: Send,
    E: Send,
    F: Fn(usize, usize, &mut Slots<'_, T>) -> Result<R, E> + Sync,
{
    let starts: Vec<usize> = bounds
        .iter()
        .scan(0, |at, &b| {
            let start = *at;
            *at += b;
            Some(start)
        })
        .collect();
    let total: usize = bounds.iter().sum();
    let mut values: Vec<T> = Vec::with_capacity(total);
    let mut regions = Vec::with_capacity(bounds.len());
    let mut spare = &mut values.spare_capacity_mut()[..total];
    for &bound in bounds {
        let (region, rest) = spare.split_at_mut(bound);
        regions.push(region);
        spare = rest;
    }
    let (fill, starts) = (&fill, &starts);
    let outcomes: Vec<(usize, Result<R, E>)> = std::thread::scope(|s| {
        let handles: Vec<_> = regions
            .into_iter()
            .enumerate()
            .map(|(i, region)| {
                s.spawn(move || {
                    let mut slots = Slots {
                        slots: region,
                        filled: 0,
                    };
                    match fill(i, starts[i], &mut slots) {
                        Ok(r) => (slots.keep(), Ok(r)),
                        Err(e) => (0, Err(e)),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let base = values.as_mut_ptr();
    let parts: Vec<(usize, usize)> = starts.iter().copied().zip(outcomes.iter().map(|o| o.0)).collect();
    if outcomes.iter().any(|o| o.1.is_err()) {
        for &(start, filled) in &parts {
            // SAFETY: the part that started at `start` kept `filled` written values, owned by
            // no one else (the vector's length is still 0).
            unsafe { std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(base.add(start), filled)) };
        }
        return (None, outcomes.into_iter().map(|o| o.1).collect());
    }
    let mut len = 0;
    for &(start, filled) in &parts {
        if start != len {
            // SAFETY: both ranges lie inside the allocation (`len <= start`, and `start +
            // filled` is within the part's bound); `copy` allows them to overlap. The values
            // move: the source slots are treated as uninitialised from here on.
            unsafe { std::ptr::copy(base.add(start), base.add(len), filled) };
        }
        len += filled;
    }
    // SAFETY: slots 0..len hold the parts' values, moved together just above.
    unsafe { values.set_len(len) };
    (Some(values), outcomes.into_iter().map(|o| o.1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts live values, so a leak or a double drop shows.
    struct Tracked<'a>(u64, &'a AtomicUsize);
    impl<'a> Tracked<'a> {
        fn new(v: u64, live: &'a AtomicUsize) -> Self {
            live.fetch_add(1, Ordering::SeqCst);
            Tracked(v, live)
        }
    }
    impl Drop for Tracked<'_> {
        fn drop(&mut self) {
            self.1.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn parts_shorter_than_their_bounds_are_moved_together_in_order() {
        let live = AtomicUsize::new(0);
        let bounds = [5, 0, 7, 3, 4];
        let wrote = [2, 0, 7, 1, 4];
        let (values, results) = fill_in_place(&bounds, |i, start, slots| {
            assert_eq!(start, bounds[..i].iter().sum::<usize>());
            for k in 0..wrote[i] {
                slots.push(Tracked::new((i * 100 + k) as u64, &live));
            }
            Ok::<usize, ()>(i)
        });
        let values = values.unwrap();
        let expected: Vec<u64> = (0..bounds.len())
            .flat_map(|i| (0..wrote[i]).map(move |k| (i * 100 + k) as u64))
            .collect();
        assert_eq!(values.iter().map(|t| t.0).collect::<Vec<_>>(), expected);
        assert_eq!(results, (0..bounds.len()).map(Ok).collect::<Vec<_>>());
        assert_eq!(live.load(Ordering::SeqCst), expected.len());
        drop(values);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_failed_part_gives_no_vector_and_every_value_written_is_dropped() {
        let live = AtomicUsize::new(0);
        let (values, results) = fill_in_place(&[4, 4, 4], |i, _, slots| {
            for k in 0..3 {
                slots.push(Tracked::new(k, &live));
            }
            if i == 1 { Err("bad line") } else { Ok(i) }
        });
        assert!(values.is_none());
        assert_eq!(results, vec![Ok(0), Err("bad line"), Ok(2)]);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn written_values_can_be_changed_in_place() {
        let (values, _) = fill_in_place(&[3, 3], |i, _, slots| {
            slots.push(i as u64);
            slots.push(10);
            for v in slots.written_mut() {
                *v += 1000 * i as u64;
            }
            Ok::<(), ()>(())
        });
        assert_eq!(values.unwrap(), vec![0, 10, 1001, 1010]);
    }
}
