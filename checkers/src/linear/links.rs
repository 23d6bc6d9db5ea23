//! A doubly linked list over array indices, with "dancing links" removal and restoration: the
//! search lifts operations out of the list as it linearizes them and puts them back, in reverse
//! order, as it backtracks.

/// The head sentinel of every list.
pub(crate) const HEAD: u32 = 0;

/// A doubly linked list over nodes `1..=n`, with a head (0) and tail (n+1) sentinel.
pub(crate) struct Links {
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl Links {
    /// The list 1, 2, ..., n.
    pub fn new(n: usize) -> Self {
        let next = (1..=n as u32 + 1).chain([n as u32 + 1]).collect();
        let prev = [0].into_iter().chain(0..=n as u32).collect();
        Links { next, prev }
    }

    /// The tail sentinel.
    pub fn tail(&self) -> u32 {
        (self.next.len() - 1) as u32
    }

    /// The node after `node` (or the tail).
    #[inline]
    pub fn next(&self, node: u32) -> u32 {
        self.next[node as usize]
    }

    /// The first node (or the tail when empty).
    #[inline]
    pub fn first(&self) -> u32 {
        self.next[HEAD as usize]
    }

    /// Removes a node; it remembers its neighbours so that it can be restored.
    #[inline]
    pub fn lift(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    /// Restores a lifted node; nodes must be restored in the reverse order of lifting.
    #[inline]
    pub fn unlift(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = node;
        self.prev[n as usize] = node;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &Links) -> Vec<u32> {
        let mut out = Vec::new();
        let mut n = l.first();
        while n != l.tail() {
            out.push(n);
            n = l.next(n);
        }
        out
    }

    #[test]
    fn lift_and_unlift_in_reverse_order() {
        let mut l = Links::new(4);
        assert_eq!(items(&l), vec![1, 2, 3, 4]);
        l.lift(2);
        l.lift(3);
        l.lift(1);
        assert_eq!(items(&l), vec![4]);
        l.unlift(1);
        l.unlift(3);
        l.unlift(2);
        assert_eq!(items(&l), vec![1, 2, 3, 4]);
        assert_eq!(items(&Links::new(0)), Vec::<u32>::new());
    }
}
