//! Flags that do not apply to the chosen model are an error, never silently ignored: the
//! linearizability options (`--failed-cas`, `--independent`, `--all-keys`, `--memory-budget`,
//! `--timeout`) mean nothing to the transactional models, nor `--initial` to list-append
//! (every list starts empty), and the transactional options mean nothing to the register models.

use super::{CheckArgs, ModelArg, TimeBound};
use faultline_checkers::linear::{DEFAULT_TIMEOUT, FailedCas};

/// The flags given (with a value other than their default) that `model` does not use.
pub(super) fn inapplicable(args: &CheckArgs, model: ModelArg) -> Vec<&'static str> {
    let mut out = Vec::new();
    match model {
        ModelArg::Register | ModelArg::CasRegister => {
            let t = &args.txn;
            for (given, flag) in [
                (!t.consistency_models.is_empty(), "--consistency-model"),
                (t.no_realtime, "--no-realtime"),
                (t.no_process, "--no-process"),
                (t.sequential_keys, "--sequential-keys"),
                (t.linearizable_keys, "--linearizable-keys"),
            ] {
                if given {
                    out.push(flag);
                }
            }
            if model == ModelArg::Register && args.failed_cas != FailedCas::Drop {
                out.push("--failed-cas");
            }
        }
        ModelArg::ListAppend | ModelArg::RwRegister => {
            for (given, flag) in [
                (
                    model == ModelArg::ListAppend && !args.initial.is_null(),
                    "--initial",
                ),
                (args.failed_cas != FailedCas::Drop, "--failed-cas"),
                (args.independent, "--independent"),
                (args.all_keys, "--all-keys"),
                (args.memory_budget != 4096, "--memory-budget"),
                (args.timeout != TimeBound(Some(DEFAULT_TIMEOUT)), "--timeout"),
            ] {
                if given {
                    out.push(flag);
                }
            }
            if model == ModelArg::ListAppend && (args.txn.sequential_keys || args.txn.linearizable_keys) {
                out.push(if args.txn.sequential_keys {
                    "--sequential-keys"
                } else {
                    "--linearizable-keys"
                });
            }
        }
    }
    out
}

/// The error for flags that do not apply, naming them and the model.
pub(super) fn error(model: ModelArg, flags: &[&str]) -> String {
    let hint = match model {
        ModelArg::ListAppend | ModelArg::RwRegister => {
            "; they belong to the register models (--model register or cas-register)"
        }
        _ => "; they belong to the transactional models (--model list-append or rw-register)",
    };
    let hint = if model == ModelArg::ListAppend && flags.contains(&"--initial") {
        format!("{hint}; --initial also to rw-register: every list of list-append starts empty")
    } else {
        hint.to_string()
    };
    format!(
        "{} do{} not apply to --model {}{hint}",
        flags.join(", "),
        if flags.len() == 1 { "es" } else { "" },
        super::model_name(model)
    )
}
