//! A sequential specification: what the generic linearizability search needs of a model.
//!
//! A model is a small state machine, as in Porcupine and Knossos: an initial state, and a
//! `step` that applies one operation (its input and, when it completed `ok`, its output) to a
//! state and returns the next state, or `None` when the operation cannot happen in that state.
//! The other methods put states and operations into words for explanations.

use serde_json::Value;
use std::hash::Hash;

/// A model the search in [`super::search`] checks histories against.
pub(crate) trait Spec {
    /// A state of the object. Hashed into the search's memo (see `search`).
    type State: Clone + Eq + Hash;
    /// One compiled operation: its input, and its output when known.
    type Op: Clone + Eq + Hash;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op` takes effect in `state`, or `None` when it cannot.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// The operation in words, without its process: "acquire the lock", "enqueue 5".
    fn describe_op(&self, op: &Self::Op) -> String;

    /// The state in words: "the lock is free", "the queue holds [1, 2]".
    fn describe_state(&self, state: &Self::State) -> String;

    /// The state as JSON, for `details.state`.
    fn state_json(&self, state: &Self::State) -> Value;

    /// Why `op` cannot take effect in `state` (when [`Spec::step`] refuses it).
    fn why_not(&self, state: &Self::State, op: &Self::Op) -> String;

    /// Bytes a copy of `state` holds (its heap included), for the search's memory budget: the
    /// search keeps the state before each placed operation.
    fn state_bytes(&self, _state: &Self::State) -> usize {
        std::mem::size_of::<Self::State>()
    }

    /// A hint: among the operations that may take effect in `state`, the search tries lower
    /// hints first. It changes how fast a witness is found, never the verdict.
    fn priority(&self, _state: &Self::State, _op: &Self::Op) -> u64 {
        0
    }

    /// An exact ordering constraint, per operation: `Some((position, needs))` puts it at
    /// `position` of a chain and lets it take effect only once every chain member at positions
    /// below `needs` has (a FIFO queue: an enqueue waits for the enqueues whose values were
    /// dequeued, in real time, before its own value's dequeue began). Default: none.
    fn chain(&self, ops: &[super::search::SearchOp<Self::Op>]) -> Vec<Option<(u32, u32)>> {
        vec![None; ops.len()]
    }
}

/// Values of one key interned to small integers, so states are cheap to copy and hash. Values
/// are compared exactly as written (the JSON text, with numbers kept as written).
#[derive(Debug, Clone, Default)]
pub(crate) struct Values {
    ids: rustc_hash::FxHashMap<String, u32>,
    values: Vec<Value>,
}

impl Values {
    /// The id of `v`, interning it if new.
    pub fn intern(&mut self, v: &Value) -> u32 {
        let text = v.to_string();
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(v.clone());
        self.ids.insert(text, id);
        id
    }

    /// The value of an id.
    pub fn get(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }

    /// A value in prose: JSON text, null written as Jepsen's `nil`.
    pub fn label(&self, id: u32) -> String {
        crate::linear::value_label(self.get(id))
    }
}
