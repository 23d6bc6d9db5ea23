//! Flags that do not apply to the chosen model are an error, never silently ignored: which
//! flags a model uses is declared in its [`registry`](super::registry) entry; this module
//! finds the flags given with a value other than their default and names those the model does
//! not use.

use super::registry::ModelArg;
use super::registry::{self, Flag, MODELS};
use super::{CheckArgs, TimeBound};
use faultline_checkers::linear::{DEFAULT_TIMEOUT, FailedCas};

/// The optional flags given with a value other than their default.
fn given(args: &CheckArgs) -> Vec<Flag> {
    let t = &args.txn;
    [
        (!args.initial.is_null(), Flag::Initial),
        (args.failed_cas != FailedCas::Drop, Flag::FailedCas),
        (args.independent, Flag::Independent),
        (args.all_keys, Flag::AllKeys),
        (args.memory_budget != 4096, Flag::MemoryBudget),
        (args.timeout != TimeBound(Some(DEFAULT_TIMEOUT)), Flag::Timeout),
        (!t.consistency_models.is_empty(), Flag::ConsistencyModel),
        (t.no_realtime, Flag::NoRealtime),
        (t.no_process, Flag::NoProcess),
        (t.sequential_keys, Flag::SequentialKeys),
        (t.linearizable_keys, Flag::LinearizableKeys),
        (args.negative_balances, Flag::NegativeBalances),
        (args.total.is_some(), Flag::Total),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect()
}

/// The flags given (with a value other than their default) that `model` does not use.
pub(super) fn inapplicable(args: &CheckArgs, model: ModelArg) -> Vec<Flag> {
    let uses = registry::def(model).flags;
    given(args).into_iter().filter(|f| !uses.contains(f)).collect()
}

/// The error for flags that do not apply, naming them, the model, and the models they belong to.
pub(super) fn error(model: ModelArg, flags: &[Flag]) -> String {
    let list_append_initial = model == ModelArg::ListAppend && flags.contains(&Flag::Initial);
    let model = registry::def(model).name;
    let names: Vec<&str> = flags.iter().map(|f| f.name()).collect();
    let owners: Vec<&str> = MODELS
        .iter()
        .filter(|d| flags.iter().any(|f| d.flags.contains(f)))
        .map(|d| d.name)
        .collect();
    format!(
        "{} do{} not apply to --model {model}; {} belong{} to --model {}",
        names.join(", "),
        if flags.len() == 1 { "es" } else { "" },
        if flags.len() == 1 { "it" } else { "they" },
        if flags.len() == 1 { "s" } else { "" },
        owners.join(", ")
    ) + if list_append_initial {
        " (every list of list-append starts empty)"
    } else {
        ""
    }
}
