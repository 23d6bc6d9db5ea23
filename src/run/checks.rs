//! The checkers a workload names, run on the history file the run wrote: the same loading and
//! checking as `faultline check`, so both give the same verdict.

use crate::check_txn::{TxnArgs, TxnModel, check_history};
use crate::workload::{CheckerName, Workload};
use anyhow::Context;
use faultline_checkers::history::{Format, History};
use faultline_checkers::linear::{self, LinearOptions, Model};
use faultline_checkers::report::Report;
use std::path::Path;

/// Loads the history and runs every checker of the workload.
pub fn run_checkers(workload: &Workload, history_path: &Path) -> anyhow::Result<Vec<Report>> {
    let history = History::load(history_path, Some(Format::Jsonl))
        .with_context(|| format!("reading the run's history {}", history_path.display()))?;
    let mut reports = Vec::new();
    for checker in &workload.check.checkers {
        let report = match checker {
            CheckerName::Linearizability => {
                let model = match workload.check.model.as_str() {
                    "register" => Model::Register,
                    _ => Model::CasRegister,
                };
                let mut opts = LinearOptions::new(model);
                opts.timeout = workload.check.timeout;
                linear::check(&history, &opts)?.report
            }
            CheckerName::RwRegister => {
                let args = TxnArgs::from_model_names(&workload.check.consistency_models)
                    .map_err(|m| crate::exit::BadInput(format!("check.consistency_models: {m}")))?;
                check_history(&history, TxnModel::RwRegister, &args)?
            }
            CheckerName::ListAppend => {
                let args = TxnArgs::from_model_names(&workload.check.consistency_models)
                    .map_err(|m| crate::exit::BadInput(format!("check.consistency_models: {m}")))?;
                check_history(&history, TxnModel::ListAppend, &args)?
            }
        };
        reports.push(report);
    }
    Ok(reports)
}
