//! Per-key state of one session at a time, in a dense vector indexed by key id (keys are small
//! interned ids). Moving to the next session clears only the keys the last one touched, so one
//! allocation serves every session, and a lookup is an index rather than a hash.

/// A value per key id, for the keys set since the last [`KeySlots::clear`].
pub(super) struct KeySlots<T: Copy> {
    slots: Vec<Option<T>>,
    touched: Vec<u32>,
}

impl<T: Copy> KeySlots<T> {
    /// Room for keys `0..keys`.
    pub(super) fn new(keys: usize) -> Self {
        KeySlots {
            slots: vec![None; keys],
            touched: Vec::new(),
        }
    }

    pub(super) fn get(&self, key: u32) -> Option<T> {
        self.slots[key as usize]
    }

    pub(super) fn set(&mut self, key: u32, value: T) {
        let slot = &mut self.slots[key as usize];
        if slot.is_none() {
            self.touched.push(key);
        }
        *slot = Some(value);
    }

    /// Forgets every key's value.
    pub(super) fn clear(&mut self) {
        for key in self.touched.drain(..) {
            self.slots[key as usize] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KeySlots;

    #[test]
    fn values_are_kept_per_key_until_cleared() {
        let mut slots = KeySlots::new(4);
        assert_eq!(slots.get(2), None);
        slots.set(2, (1, 7));
        slots.set(2, (3, 8));
        slots.set(0, (5, 9));
        assert_eq!(
            (slots.get(2), slots.get(0), slots.get(3)),
            (Some((3, 8)), Some((5, 9)), None)
        );
        slots.clear();
        assert_eq!((slots.get(2), slots.get(0)), (None, None));
        slots.set(3, (1, 1));
        assert_eq!(slots.get(3), Some((1, 1)));
    }
}
