//! The model of a history checked without `--model`, inferred from its operations.
//!
//! A history's *features* are the functions of its client ops (`read`, `write`, `cas`, ...)
//! and, for transactions, their micro-ops (`txn:append`, `txn:r`, `txn:w`). Each row of
//! [`ROWS`] names a model, the features it accepts and the features of which it needs at least
//! one; the model is the one row that fits. No row, or more than one, is an error naming the
//! `--model` values to pass. A new model adds one row.

use super::{ModelArg, model_name};
use clap::ValueEnum;
use faultline_checkers::history::History;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// One model and the op features that identify its histories.
struct Row {
    /// The model.
    model: ModelArg,
    /// What was recognised, for the message ("transactions with appends").
    because: &'static str,
    /// Every feature of the history must be one of these.
    accepts: &'static [&'static str],
    /// At least one feature of the history must be one of these.
    needs: &'static [&'static str],
}

/// The models `faultline check` can infer, one row each.
const ROWS: &[Row] = &[
    Row {
        model: ModelArg::ListAppend,
        because: "transactions with appends",
        accepts: &["txn:append", "txn:r"],
        needs: &["txn:append"],
    },
    Row {
        model: ModelArg::RwRegister,
        because: "transactions of w and r micro-ops",
        accepts: &["txn:w", "txn:r"],
        needs: &["txn:w"],
    },
    Row {
        model: ModelArg::CasRegister,
        because: "read, write and cas operations",
        accepts: &["read", "write", "cas"],
        needs: &["cas"],
    },
    Row {
        model: ModelArg::LongFork,
        because: "read and write operations whose values are micro-op lists, as Jepsen's long-fork workload writes them",
        accepts: &["read:mops", "write:mops"],
        needs: &["read:mops", "write:mops"],
    },
    Row {
        model: ModelArg::Register,
        because: "read and write operations only",
        accepts: &["read", "write"],
        needs: &["read", "write"],
    },
    Row {
        model: ModelArg::Mutex,
        because: "acquire and release operations",
        accepts: &["acquire", "release"],
        needs: &["acquire", "release"],
    },
    Row {
        model: ModelArg::FifoQueue,
        because: "enqueue and dequeue operations",
        accepts: &["enqueue", "dequeue"],
        needs: &["enqueue"],
    },
    Row {
        // Enqueues and dequeues alone fit both queues (which one is meant is the user's claim:
        // FIFO order, or only no loss); a drain is Jepsen's total-queue workload.
        model: ModelArg::UnorderedQueue,
        because: "enqueue, dequeue and drain operations",
        accepts: &["enqueue", "dequeue", "drain"],
        needs: &["enqueue"],
    },
    Row {
        // Knossos's :read/:write micro-ops, never rw-register's r/w.
        model: ModelArg::MultiRegister,
        because: "transactions of read and write micro-ops",
        accepts: &["txn:read", "txn:write"],
        needs: &["txn:read", "txn:write"],
    },
];

/// A model inferred from a history, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inferred {
    /// The model.
    pub model: ModelArg,
    /// What in the history identified it.
    pub because: &'static str,
}

/// The features of a history: its client ops' functions and its transactions' micro-ops.
fn features(history: &History) -> BTreeSet<Cow<'_, str>> {
    let mut out: BTreeSet<Cow<'_, str>> = BTreeSet::new();
    for op in &history.ops {
        if op.f != "txn" {
            // An op named read or write whose value is a list of micro-ops is not a register's
            // (Jepsen's long-fork workload names its transactions so).
            if is_micro_op_list(&history.events[op.invoke].value) {
                out.insert(Cow::Owned(format!("{}:mops", op.f)));
            } else if !out.contains(op.f.as_str()) {
                out.insert(Cow::Borrowed(op.f.as_str()));
            }
            continue;
        }
        let mut any = false;
        let mut value = &history.events[op.invoke].value;
        // A jepsen.independent tuple [key transaction]: its transaction identifies the model
        // (whose checker then says what it makes of the tuple).
        if let Some([key, inner @ Value::Array(_)]) = value.as_array().map(Vec::as_slice)
            && !key.is_array()
        {
            value = inner;
        }
        for mop in value.as_array().into_iter().flatten() {
            let Some(name) = mop.get(0).and_then(Value::as_str) else {
                continue;
            };
            any = true;
            out.insert(match name {
                "append" => Cow::Borrowed("txn:append"),
                "r" => Cow::Borrowed("txn:r"),
                "w" => Cow::Borrowed("txn:w"),
                other => Cow::Owned(format!("txn:{other}")),
            });
        }
        if !any {
            // A transaction with no recognisable micro-op identifies no model by itself.
            out.insert(Cow::Borrowed("txn"));
        }
    }
    out
}

/// Whether a value is a non-empty list of micro-ops `[f key value]` (f a string).
fn is_micro_op_list(value: &Value) -> bool {
    value.as_array().is_some_and(|mops| {
        !mops.is_empty()
            && mops
                .iter()
                .all(|m| m.as_array().is_some_and(|m| m.len() == 3 && m[0].is_string()))
    })
}

/// The model of `history`: the one row of [`ROWS`] its features fit, or an error saying why
/// none or several fit and naming the `--model` values to pass.
pub(crate) fn infer_model(history: &History) -> Result<Inferred, String> {
    let features = features(history);
    let fits = |row: &Row| {
        features.iter().all(|f| row.accepts.contains(&f.as_ref()))
            && features.iter().any(|f| row.needs.contains(&f.as_ref()))
    };
    let fitting: Vec<&Row> = ROWS.iter().filter(|r| fits(r)).collect();
    let choices = ModelArg::value_variants()
        .iter()
        .map(|m| model_name(*m))
        .collect::<Vec<_>>()
        .join(", ");
    let seen = || {
        features
            .iter()
            .map(|f| match f.strip_prefix("txn:") {
                Some(m) => format!("txn micro-op \"{m}\""),
                None if f.as_ref() == "txn" => "txn without micro-ops".to_string(),
                None if f.ends_with(":mops") => {
                    format!("f=\"{}\" with micro-ops", f.trim_end_matches(":mops"))
                }
                None => format!("f=\"{f}\""),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match fitting.as_slice() {
        [row] => Ok(Inferred {
            model: row.model,
            because: row.because,
        }),
        [] if features.is_empty() => Err(format!(
            "cannot infer the model: the history has no client operations; pass --model ({choices})"
        )),
        [] => Err(format!(
            "cannot infer the model: no model fits operations {} (each accepts only its own: {}); pass --model ({choices})",
            seen(),
            ROWS.iter()
                .map(|r| format!("{} needs {}", model_name(r.model), r.needs.join(" or ")))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        several => Err(format!(
            "cannot infer the model: operations {} fit {}; pass --model with the one meant",
            seen(),
            several
                .iter()
                .map(|r| model_name(r.model))
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::Format;

    fn infer(lines: &str) -> Result<ModelArg, String> {
        let h = History::parse("t.jsonl", lines, Format::Jsonl).unwrap();
        infer_model(&h).map(|i| i.model)
    }

    fn op(f: &str, value: &str) -> String {
        format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"{f}\",\"value\":{value}}}\n{{\"process\":0,\"type\":\"ok\",\"f\":\"{f}\",\"value\":{value}}}\n"
        )
    }

    #[test]
    fn each_row_is_inferred_from_its_operations() {
        let append = op("txn", r#"[["append","x",1],["r","x",null]]"#);
        let w = op("txn", r#"[["w","x",1],["r","y",null]]"#);
        assert_eq!(infer(&append), Ok(ModelArg::ListAppend));
        assert_eq!(infer(&w), Ok(ModelArg::RwRegister));
        assert_eq!(
            infer(&(op("write", "1") + &op("cas", "[1,2]"))),
            Ok(ModelArg::CasRegister)
        );
        assert_eq!(
            infer(&(op("write", "1") + &op("read", "null"))),
            Ok(ModelArg::Register)
        );
        assert_eq!(infer(&op("read", "null")), Ok(ModelArg::Register));
        assert_eq!(
            infer(&(op("acquire", "null") + &op("release", "null"))),
            Ok(ModelArg::Mutex)
        );
        let e = infer(&(op("enqueue", "1") + &op("dequeue", "1"))).unwrap_err();
        assert!(e.contains("fit fifo-queue and unordered-queue"), "{e}");
        assert_eq!(
            infer(&(op("enqueue", "1") + &op("drain", "[1]"))),
            Ok(ModelArg::UnorderedQueue)
        );
        let txn = op("txn", r#"[["read","x",null],["write","y",2]]"#);
        assert_eq!(infer(&txn), Ok(ModelArg::MultiRegister));
        assert_eq!(
            infer(&op("txn", r#"[["read","x",1]]"#)),
            Ok(ModelArg::MultiRegister)
        );
    }

    #[test]
    fn knossos_read_write_micro_ops_are_not_rw_register_r_w() {
        let knossos = op("txn", r#"[["read","x",1]]"#);
        let elle = op("txn", r#"[["w","x",1]]"#);
        assert_eq!(infer(&knossos), Ok(ModelArg::MultiRegister));
        assert_eq!(infer(&elle), Ok(ModelArg::RwRegister));
        let e = infer(&(knossos + &elle)).unwrap_err();
        assert!(e.contains("txn micro-op \"read\", txn micro-op \"w\""), "{e}");
        // Dequeues alone identify no queue.
        let e = infer(&op("dequeue", "1")).unwrap_err();
        assert!(e.contains("fifo-queue needs enqueue"), "{e}");
    }

    #[test]
    fn long_fork_is_inferred_only_from_jepsens_read_and_write_transactions() {
        let write = op("write", r#"[["w",0,1]]"#);
        let read = op("read", r#"[["r",0,null],["r",1,null]]"#);
        assert_eq!(infer(&(write.clone() + &read)), Ok(ModelArg::LongFork));
        // As :f :txn (older Jepsen) it is an rw-register history, whose checker finds a long
        // fork as a G2-item cycle.
        let txn = op("txn", r#"[["w",0,1]]"#) + &op("txn", r#"[["r",0,null],["r",1,null]]"#);
        assert_eq!(infer(&txn), Ok(ModelArg::RwRegister));
        // Mixed with register ops, nothing fits, and the message names --model long-fork.
        let e = infer(&(write + &op("read", "null"))).unwrap_err();
        assert!(e.contains("f=\"write\" with micro-ops"), "{e}");
        assert!(e.contains("long-fork"), "{e}");
    }

    #[test]
    fn unsure_is_an_error_naming_the_models() {
        let e = infer("").unwrap_err();
        assert!(e.contains("no client operations"), "{e}");
        assert!(
            e.contains(
                "--model (register, cas-register, list-append, rw-register, set, set-full, counter, bank, unordered-queue, long-fork, mutex, fifo-queue, multi-register)"
            ),
            "{e}"
        );
        let mixed = op("txn", r#"[["append","x",1],["w","y",2]]"#);
        let e = infer(&mixed).unwrap_err();
        assert!(e.contains("txn micro-op \"append\", txn micro-op \"w\""), "{e}");
        let e = infer(&(op("write", "1") + &op("txn", r#"[["w","x",1]]"#))).unwrap_err();
        assert!(e.contains("f=\"write\""), "{e}");
        let e = infer(&op("add", "1")).unwrap_err();
        assert!(e.contains("no model fits operations f=\"add\""), "{e}");
        // Reads alone identify neither transactional model.
        let e = infer(&op("txn", r#"[["r","x",null]]"#)).unwrap_err();
        assert!(
            e.contains("list-append needs txn:append, rw-register needs txn:w"),
            "{e}"
        );
    }
}
