//! Which operations the search may place next: observers the state allows (placed without
//! branching), one representative per group of twins, and the candidates that help the
//! operation with the earliest pending return.

use super::state::Search;
use crate::linear::model::Action;

impl Search<'_> {
    /// A candidate observer the current state allows, if any.
    pub(super) fn allowed_observer(&self) -> Option<usize> {
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                return None;
            }
            let op = entry.op as usize;
            if self.observer[op] && self.ops[op].action.step(self.state).is_some() {
                return Some(op);
            }
            node = self.main_links.next(node);
        }
        None
    }

    /// Starts a new scan of the required candidates: among candidates with the same action
    /// (observers aside), marks the one with the earliest return (the first invoked on ties).
    pub(super) fn mark_representatives(&mut self) {
        self.epoch += 1;
        self.twins.clear();
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                break;
            }
            let op = entry.op;
            if !self.observer[op as usize] {
                let ret = self.ops[op as usize].ret;
                self.twins
                    .entry(self.ops[op as usize].action)
                    .and_modify(|best| {
                        if ret < self.ops[*best as usize].ret {
                            *best = op;
                        }
                    })
                    .or_insert(op);
            }
            node = self.main_links.next(node);
        }
        for &op in self.twins.values() {
            self.representative_in[op as usize] = self.epoch;
        }
    }

    /// True if optional `op` is the first member of its group of twins not yet placed.
    pub(super) fn first_unplaced_twin(&self, op: usize) -> bool {
        let g = self.opt_group[op] as usize;
        self.group_members[g].get(self.group_placed[g] as usize) == Some(&(op as u32))
    }

    /// True if a required candidate (other than an observer) does `action`: placing it
    /// dominates placing an optional twin.
    pub(super) fn required_candidate_does(&self, action: Action) -> bool {
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                return false;
            }
            if self.ops[entry.op as usize].action == action {
                return true;
            }
            node = self.main_links.next(node);
        }
        false
    }

    /// The operation whose return is the first pending one (`u32::MAX` if none).
    pub(super) fn first_pending_return(&self) -> u32 {
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                return entry.op;
            }
            node = self.main_links.next(node);
        }
        u32::MAX
    }

    /// True if placing `op` now is a step towards placing `blocked`: it is `blocked`, or it
    /// gives the register a value `blocked` needs. Only the order of the search depends on it.
    pub(super) fn helps(&self, op: usize, blocked: u32) -> bool {
        let Some(b) = self.ops.get(blocked as usize) else {
            return false;
        };
        if op == blocked as usize {
            return true;
        }
        let produces = match self.ops[op].action {
            Action::Write(v) | Action::Cas(_, v) => v,
            Action::Read(_) | Action::ReadOther(_) => return false,
        };
        match b.action {
            Action::Read(v) | Action::Cas(v, _) => produces == v,
            Action::ReadOther(e) => produces != e,
            Action::Write(_) => false,
        }
    }
}
