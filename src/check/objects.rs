//! `faultline check` for the object models (`mutex`, `fifo-queue`, `multi-register`): runs
//! the generic linearizability search of `faultline_checkers::objects` with the command line's
//! `--independent`, `--timeout` and `--memory-budget`, and draws each failing key as a
//! timeline section as the register models do.

use super::Checked;
use super::registry::ModelOptions;
use faultline_checkers::history::{History, HistoryError};
use faultline_checkers::linear::KeyProgress;
use faultline_checkers::objects::{self, ObjectModel, ObjectOptions};

/// At most this many failing keys of one history are drawn.
const MAX_KEYS_DRAWN: usize = 5;

/// Checks `history` for linearizability against the object `model`.
pub(super) fn check(
    history: &History,
    model: ObjectModel,
    options: &ModelOptions<'_>,
) -> Result<Checked, HistoryError> {
    let opts = ObjectOptions {
        model,
        independent: options.linear.independent,
        timeout: options.linear.timeout,
        max_search_memory: options.linear.max_search_memory,
    };
    let result = objects::check(history, &opts)?;
    (options.progress)(&KeyProgress {
        done: 1,
        total: 1,
        searching: &[],
    });
    let sections = result
        .failures
        .iter()
        .zip(&result.report.anomalies)
        .take(MAX_KEYS_DRAWN)
        .map(|(failure, anomaly)| super::linear::section(history, failure, anomaly))
        .collect();
    Ok(Checked {
        report: result.report,
        sections,
    })
}
