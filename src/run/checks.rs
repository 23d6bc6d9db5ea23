//! The checkers a workload names, run on the history file the run wrote: the same loading and
//! checking as `faultline check`, so both give the same verdict.

use crate::check::{ModelArg, ModelOptions, registry};
use crate::check_txn::TxnArgs;
use crate::workload::{CheckerName, Workload};
use faultline_checkers::history::History;
use faultline_checkers::linear;
use faultline_checkers::report::Report;
use std::time::Duration;

/// Runs every checker of the workload on a loaded history, one report per checker in the
/// workload's order. `prefix_budget` is for checks of a run still going (`run::violation_watch`): each
/// linearizability check then stops at the first key found invalid and within that budget.
pub fn check_loaded(
    workload: &Workload,
    history: &History,
    prefix_budget: Option<Duration>,
) -> anyhow::Result<Vec<Report>> {
    check_loaded_by(workload, &workload.check.checkers, history, prefix_budget)
}

/// Like [`check_loaded`], with only `checkers` (some of the workload's).
pub fn check_loaded_by(
    workload: &Workload,
    checkers: &[CheckerName],
    history: &History,
    prefix_budget: Option<Duration>,
) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::new();
    for checker in checkers {
        let mut opts = ModelOptions::new();
        let model = match checker {
            CheckerName::Linearizability => {
                opts.linear.timeout = time_budget(workload.check.timeout);
                // The run's report lists every anomaly and judges guarantees such as "no lost
                // writes" from every key, so its check decides them all (within the budget).
                opts.linear.all_keys = true;
                if let Some(budget) = prefix_budget {
                    opts.linear.timeout = Some(budget);
                    opts.linear.all_keys = false;
                }
                match linear_model(workload) {
                    linear::Model::Register => ModelArg::Register,
                    linear::Model::CasRegister => ModelArg::CasRegister,
                }
            }
            CheckerName::Set => ModelArg::Set,
            CheckerName::SetFull => ModelArg::SetFull,
            CheckerName::Counter => ModelArg::Counter,
            CheckerName::RwRegister | CheckerName::ListAppend => {
                opts.txn = TxnArgs::from_model_names(&workload.check.consistency_models)
                    .map_err(|m| crate::exit::BadInput(format!("check.consistency_models: {m}")))?;
                if *checker == CheckerName::RwRegister {
                    ModelArg::RwRegister
                } else {
                    ModelArg::ListAppend
                }
            }
        };
        let report = registry::report(history, model, &opts)?;
        reports.push(report);
    }
    Ok(reports)
}

/// The register model a workload's linearizability checker checks against.
pub fn linear_model(workload: &Workload) -> linear::Model {
    match workload.check.model.as_str() {
        "register" => linear::Model::Register,
        _ => linear::Model::CasRegister,
    }
}

/// The checking budget of a workload's `[check] timeout`: unset, the default minute; `"0s"`, no
/// limit.
fn time_budget(configured: Option<Duration>) -> Option<Duration> {
    match configured {
        None => Some(linear::DEFAULT_TIMEOUT),
        Some(t) if t.is_zero() => None,
        Some(t) => Some(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_of_a_run_are_bounded_by_default() {
        assert_eq!(time_budget(None), Some(Duration::from_secs(60)));
        assert_eq!(time_budget(Some(Duration::ZERO)), None);
        assert_eq!(
            time_budget(Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
    }
}
