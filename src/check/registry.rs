//! The one registry of models: each model `faultline check`, `faultline report` and
//! `faultline run` know is declared once here, with its name, a one-line description, the
//! `faultline check` flags that apply to it, and its check function. The callers build a
//! [`ModelOptions`] and call [`check`]; `--model`'s values and help come from [`MODELS`].

use super::Checked;
use crate::check_txn::{TxnArgs, TxnModel};
use clap::ValueEnum;
use clap::builder::PossibleValue;
use faultline_checkers::history::{History, HistoryError};
use faultline_checkers::linear::{KeyProgress, LinearOptions, Model};
use faultline_checkers::objects::ObjectModel;
use faultline_checkers::plain::{self, bank::BankOptions};
use faultline_checkers::report::Report;
use std::borrow::Cow;
use std::sync::LazyLock;

/// A model `--model` names. Its name, description, flags and checker are its [`ModelDef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelArg {
    /// See [`MODELS`].
    Register,
    /// See [`MODELS`].
    CasRegister,
    /// See [`MODELS`].
    ListAppend,
    /// See [`MODELS`].
    RwRegister,
    /// See [`MODELS`].
    Set,
    /// See [`MODELS`].
    SetFull,
    /// See [`MODELS`].
    Counter,
    /// See [`MODELS`].
    Bank,
    /// See [`MODELS`].
    UnorderedQueue,
    /// See [`MODELS`].
    LongFork,
    /// See [`MODELS`].
    Mutex,
    /// See [`MODELS`].
    FifoQueue,
    /// See [`MODELS`].
    MultiRegister,
}

/// A `faultline check` option that only some models use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// `--initial`
    Initial,
    /// `--failed-cas`
    FailedCas,
    /// `--independent`
    Independent,
    /// `--all-keys`
    AllKeys,
    /// `--memory-budget`
    MemoryBudget,
    /// `--timeout`
    Timeout,
    /// `--consistency-model`
    ConsistencyModel,
    /// `--no-realtime`
    NoRealtime,
    /// `--no-process`
    NoProcess,
    /// `--sequential-keys`
    SequentialKeys,
    /// `--linearizable-keys`
    LinearizableKeys,
    /// `--negative-balances`
    NegativeBalances,
    /// `--total`
    Total,
}

impl Flag {
    /// The flag as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Flag::Initial => "--initial",
            Flag::FailedCas => "--failed-cas",
            Flag::Independent => "--independent",
            Flag::AllKeys => "--all-keys",
            Flag::MemoryBudget => "--memory-budget",
            Flag::Timeout => "--timeout",
            Flag::ConsistencyModel => "--consistency-model",
            Flag::NoRealtime => "--no-realtime",
            Flag::NoProcess => "--no-process",
            Flag::SequentialKeys => "--sequential-keys",
            Flag::LinearizableKeys => "--linearizable-keys",
            Flag::NegativeBalances => "--negative-balances",
            Flag::Total => "--total",
        }
    }
}

/// What a model's check function may use. Each caller fills what its command line or workload
/// gives and leaves the rest at [`ModelOptions::new`]'s defaults.
pub struct ModelOptions<'a> {
    /// Linearizability options (the `model` field is set by the registry).
    pub linear: LinearOptions,
    /// Options of the transactional models.
    pub txn: TxnArgs,
    /// Options of the bank model.
    pub bank: BankOptions,
    /// Called as units of work (keys) start and finish.
    pub progress: &'a (dyn Fn(&KeyProgress<'_>) + Sync),
}

impl ModelOptions<'_> {
    /// Every option at its default; no progress reporting.
    pub fn new() -> ModelOptions<'static> {
        ModelOptions {
            linear: LinearOptions::default(),
            txn: TxnArgs::default(),
            bank: BankOptions::default(),
            progress: &|_| {},
        }
    }
}

/// One model: declared once, used by every command.
pub struct ModelDef {
    /// The `--model` value.
    pub arg: ModelArg,
    /// Its name on the command line and in workload files.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// The `faultline check` flags that apply to it (every other optional flag is an error).
    pub flags: &'static [Flag],
    /// Checks a history.
    pub check: fn(&History, &ModelOptions<'_>) -> Result<Checked, HistoryError>,
}

const LINEAR_FLAGS: &[Flag] = &[
    Flag::Initial,
    Flag::Independent,
    Flag::AllKeys,
    Flag::MemoryBudget,
    Flag::Timeout,
];
const CAS_FLAGS: &[Flag] = &[
    Flag::Initial,
    Flag::FailedCas,
    Flag::Independent,
    Flag::AllKeys,
    Flag::MemoryBudget,
    Flag::Timeout,
];
const LIST_APPEND_FLAGS: &[Flag] = &[
    Flag::Independent,
    Flag::ConsistencyModel,
    Flag::NoRealtime,
    Flag::NoProcess,
];
const OBJECT_FLAGS: &[Flag] = &[Flag::Independent, Flag::MemoryBudget, Flag::Timeout];
const RW_REGISTER_FLAGS: &[Flag] = &[
    Flag::Initial,
    Flag::Independent,
    Flag::ConsistencyModel,
    Flag::NoRealtime,
    Flag::NoProcess,
    Flag::SequentialKeys,
    Flag::LinearizableKeys,
];

/// Every model, in the order `--help` lists them.
pub static MODELS: &[ModelDef] = &[
    ModelDef {
        arg: ModelArg::Register,
        name: "register",
        about: "A read/write register per key (linearizability)",
        flags: LINEAR_FLAGS,
        check: |h, o| super::linear::check(h, Model::Register, o),
    },
    ModelDef {
        arg: ModelArg::CasRegister,
        name: "cas-register",
        about: "A register with compare-and-set per key (linearizability)",
        flags: CAS_FLAGS,
        check: |h, o| super::linear::check(h, Model::CasRegister, o),
    },
    ModelDef {
        arg: ModelArg::ListAppend,
        name: "list-append",
        about: "List-append transactions (dependency graph: anomalies, consistency and session models)",
        flags: LIST_APPEND_FLAGS,
        check: |h, o| txn(h, TxnModel::ListAppend, o),
    },
    ModelDef {
        arg: ModelArg::RwRegister,
        name: "rw-register",
        about: "Read/write register transactions (dependency graph)",
        flags: RW_REGISTER_FLAGS,
        check: |h, o| txn(h, TxnModel::RwRegister, o),
    },
    ModelDef {
        arg: ModelArg::Set,
        name: "set",
        about: "Jepsen's set: adds, then one final read; lost, unexpected and recovered elements",
        flags: &[Flag::Independent],
        check: |h, o| Ok(whole(plain::set::check_set(&*keyed(h, o)?)?, o)),
    },
    ModelDef {
        arg: ModelArg::SetFull,
        name: "set-full",
        about: "Jepsen's set-full: adds and reads throughout; when each element became visible, stale and lost reads",
        flags: &[Flag::Independent],
        check: |h, o| Ok(whole(plain::set_full::check_set_full(&*keyed(h, o)?)?, o)),
    },
    ModelDef {
        arg: ModelArg::Counter,
        name: "counter",
        about: "Jepsen's counter: adds of n and reads, each read within what the adds allow",
        flags: &[Flag::Independent],
        check: |h, o| Ok(whole(plain::counter::check_counter(&*keyed(h, o)?)?, o)),
    },
    ModelDef {
        arg: ModelArg::Bank,
        name: "bank",
        about: "Jepsen's bank: transfers and reads of every balance; total conserved, no negative balance",
        flags: &[Flag::Independent, Flag::NegativeBalances, Flag::Total],
        check: |h, o| Ok(whole(plain::bank::check_bank(&*keyed(h, o)?, &o.bank)?, o)),
    },
    ModelDef {
        arg: ModelArg::UnorderedQueue,
        name: "unordered-queue",
        about: "Jepsen's total-queue: enqueues, dequeues, a final drain; lost, unexpected, duplicated and recovered elements",
        flags: &[Flag::Independent],
        check: |h, o| Ok(whole(plain::unordered_queue::check(&*keyed(h, o)?)?.report, o)),
    },
    ModelDef {
        arg: ModelArg::LongFork,
        name: "long-fork",
        about: "Jepsen's long-fork: single-key writes, reads of key groups; two reads that saw two writes in opposite orders",
        flags: &[Flag::Independent],
        check: |h, o| Ok(whole(plain::long_fork::check(&*keyed(h, o)?)?.report, o)),
    },
    ModelDef {
        arg: ModelArg::Mutex,
        name: "mutex",
        about: "Knossos's mutex: acquire and release one lock per key (linearizability)",
        flags: OBJECT_FLAGS,
        check: |h, o| super::objects::check(h, ObjectModel::Mutex, o),
    },
    ModelDef {
        arg: ModelArg::FifoQueue,
        name: "fifo-queue",
        about: "Knossos's fifo-queue: enqueue x, dequeue (nil: found empty) per key (linearizability)",
        flags: OBJECT_FLAGS,
        check: |h, o| super::objects::check(h, ObjectModel::FifoQueue, o),
    },
    ModelDef {
        arg: ModelArg::MultiRegister,
        name: "multi-register",
        about: "Knossos's multi-register: txns of [read k v] and [write k v] over registers (linearizability)",
        flags: OBJECT_FLAGS,
        check: |h, o| super::objects::check(h, ObjectModel::MultiRegister, o),
    },
];

/// The definition of a model.
pub fn def(model: ModelArg) -> &'static ModelDef {
    MODELS
        .iter()
        .find(|d| d.arg == model)
        .expect("every ModelArg is declared in MODELS")
}

/// The model of a name (`register`, `list-append`, ...).
pub fn by_name(name: &str) -> Option<&'static ModelDef> {
    MODELS.iter().find(|d| d.name == name)
}

/// Checks `history` against `model`.
pub fn check(history: &History, model: ModelArg, opts: &ModelOptions<'_>) -> Result<Checked, HistoryError> {
    (def(model).check)(history, opts)
}

/// Checks `history` against `model`, keeping only the report.
pub fn report(history: &History, model: ModelArg, opts: &ModelOptions<'_>) -> Result<Report, HistoryError> {
    check(history, model, opts).map(|c| c.report)
}

/// The history the plain models group by key: with `--independent`, Jepsen's `[key value]`
/// tuples read as each op's key and value.
fn keyed<'h>(history: &'h History, opts: &ModelOptions<'_>) -> Result<Cow<'h, History>, HistoryError> {
    if opts.linear.independent {
        Ok(Cow::Owned(faultline_checkers::history::keyed_by_tuples(history)?))
    } else {
        Ok(Cow::Borrowed(history))
    }
}

/// A checker that decides the whole history at once: one unit of progress, no timeline.
fn whole(report: Report, opts: &ModelOptions<'_>) -> Checked {
    (opts.progress)(&KeyProgress {
        done: 1,
        total: 1,
        searching: &[],
    });
    Checked {
        report,
        sections: Vec::new(),
    }
}

fn txn(history: &History, model: TxnModel, opts: &ModelOptions<'_>) -> Result<Checked, HistoryError> {
    let report = crate::check_txn::check_history(history, model, &opts.txn)?;
    Ok(whole(report, opts))
}

static VARIANTS: LazyLock<Vec<ModelArg>> = LazyLock::new(|| MODELS.iter().map(|d| d.arg).collect());

impl ValueEnum for ModelArg {
    fn value_variants<'a>() -> &'a [Self] {
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let d = def(*self);
        Some(PossibleValue::new(d.name).help(d.about))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_is_declared_once_under_its_own_name() {
        for d in MODELS {
            assert_eq!(MODELS.iter().filter(|o| o.arg == d.arg).count(), 1, "{}", d.name);
            assert_eq!(by_name(d.name).map(|o| o.arg), Some(d.arg));
            assert_eq!(ModelArg::from_str(d.name, false), Ok(d.arg));
        }
        assert!(by_name("no-such-model").is_none());
    }
}
