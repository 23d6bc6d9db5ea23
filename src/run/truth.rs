//! What a run must not hide, beyond the checkers' verdict: that it was interrupted (Ctrl-C or
//! SIGTERM: exit 2, never 0, whatever the partial history's verdict), and that a node exited
//! on its own, outside the nemesis (the run fails, exit 1, unless the workload expects it with
//! `[expect] node_exits = true`).

use super::nemesis_exec::NodeExit;
use super::results::RunResults;
use super::violation_watch::EarlyStop;
use crate::exit;

/// The facts of a run that override its verdict's exit code.
pub struct RunTruth {
    pub interrupted: bool,
    pub node_exits: Vec<NodeExit>,
    /// The workload allows nodes to exit on their own.
    pub node_exits_expected: bool,
    /// The certain violation that ended the run early, with `--stop-on-violation`.
    pub early_stop: Option<EarlyStop>,
}

impl RunTruth {
    /// Records the facts in the results and sets the exit code they call for.
    pub fn apply(&self, results: &mut RunResults) {
        results.node_exits = self.node_exits.clone();
        results.early_stop = self.early_stop.clone();
        if !self.node_exits.is_empty() && !self.node_exits_expected {
            results.expectation_met = false;
            results.exit_code = exit::INVALID;
        }
        if self.interrupted {
            results.exit_code = exit::UNKNOWN;
        }
    }

    /// Lines for the end of the summary (empty when there is nothing to say).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for e in &self.node_exits {
            out += &format!(
                "Node exit: {} exited on its own at {:.1}s ({}), outside the nemesis{}\n",
                e.node,
                e.at_s,
                e.status,
                if self.node_exits_expected {
                    " (the workload allows it)"
                } else {
                    ": the run FAILS (exit 1)"
                }
            );
        }
        if let Some(e) = &self.early_stop {
            let key = e.key.as_ref().map(|k| format!(" on key {k}")).unwrap_or_default();
            out += &format!(
                "Stopped early (--stop-on-violation): at {:.1}s a check of the history so far ({} completed operations, check {}) found {} {}{key}, which no later operation can undo\n",
                e.at_s, e.ops_checked, e.checks, e.checker, e.kind
            );
        }
        if self.interrupted {
            out += "Interrupted: the run was stopped early; the verdict above covers what was recorded (exit 2)\n";
        }
        out
    }
}
