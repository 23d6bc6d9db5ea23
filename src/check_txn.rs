//! Glue for `faultline check --model list-append|rw-register`: the command-line options of the
//! transactional (dependency-graph) checker, running it on a loaded history, and rendering its
//! report as text or JSON. `src/check.rs` plugs this in; `faultline run` can call
//! [`check_history`] on the history it recorded.

use clap::{Args, ValueEnum};
use faultline_checkers::graph::{
    ConsistencyModel, RegisterOrderAssumptions, TxnCheckOptions, Workload, analyze, analyze_lean,
};
use faultline_checkers::history::{History, HistoryError, RawValues};
use faultline_checkers::report::Report;
use serde_json::Value;
use std::fmt::Write as _;
use std::str::FromStr;

/// The transactional workloads `--model` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TxnModel {
    /// Transactions of `["append", k, v]` and `["r", k, [..]]`.
    ListAppend,
    /// Transactions of `["w", k, v]` and `["r", k, v]`.
    RwRegister,
}

impl TxnModel {
    /// The workload for a `--model` name, when it names a transactional one.
    pub fn from_model_name(name: &str) -> Option<TxnModel> {
        match name {
            "list-append" => Some(TxnModel::ListAppend),
            "rw-register" => Some(TxnModel::RwRegister),
            _ => None,
        }
    }

    /// The checker crate's workload.
    pub fn workload(self) -> Workload {
        match self {
            TxnModel::ListAppend => Workload::ListAppend,
            TxnModel::RwRegister => Workload::RwRegister,
        }
    }
}

/// Options of the transactional checker (flatten into `faultline check`'s arguments).
#[derive(Debug, Clone, Default, Args)]
pub struct TxnArgs {
    /// Consistency models to check (repeat or comma-separate): read-committed, read-atomic,
    /// causal, snapshot-isolation, serializable, strict-serializable, read-your-writes, monotonic-reads,
    /// monotonic-writes, writes-follow-reads, consistent-prefix. Default: strict-serializable
    /// and every session guarantee.
    #[arg(long = "consistency-model", value_parser = ConsistencyModel::from_str, value_delimiter = ',')]
    pub consistency_models: Vec<ConsistencyModel>,
    /// Do not infer real-time order (strict serializability then stays unknown).
    #[arg(long)]
    pub no_realtime: bool,
    /// Do not infer process order (no `-process` cycle names).
    #[arg(long)]
    pub no_process: bool,
    /// rw-register: assume each process sees every key's versions in order.
    #[arg(long)]
    pub sequential_keys: bool,
    /// rw-register: assume every key is linearizable (versions follow real time).
    #[arg(long)]
    pub linearizable_keys: bool,
    /// rw-register: the value every key holds before any write (`faultline check --initial`).
    #[arg(skip)]
    pub initial: Option<Value>,
    /// Every op must be a `jepsen.independent` tuple `[key transaction]` (`faultline check
    /// --independent`); without it such histories are still recognised and split.
    #[arg(skip)]
    pub independent: bool,
}

impl TxnArgs {
    /// Arguments from consistency model names as workload files write them
    /// (`"strict-serializable"`, `"read-your-writes"`, ...); none means the defaults.
    pub fn from_model_names(names: &[String]) -> Result<TxnArgs, String> {
        let consistency_models = names.iter().map(|name| name.parse()).collect::<Result<_, _>>()?;
        Ok(TxnArgs {
            consistency_models,
            ..TxnArgs::default()
        })
    }

    /// The checker options for a workload.
    pub fn options(&self, model: TxnModel) -> TxnCheckOptions {
        let mut o = TxnCheckOptions::new(model.workload());
        o.models = self.consistency_models.clone();
        o.realtime_order = !self.no_realtime;
        o.process_order = !self.no_process;
        o.initial = self.initial.clone();
        o.register_order = RegisterOrderAssumptions {
            sequential_keys: self.sequential_keys,
            linearizable_keys: self.linearizable_keys,
        };
        o
    }
}

/// Checks a loaded history; the report's verdict gives the exit code
/// (`report.verdict.exit_code()`). A malformed transaction is a [`HistoryError`] (exit 254).
/// A `jepsen.independent` history (values `[key transaction]`) is checked key by key
/// ([`crate::txn_independent`]).
pub fn check_history(history: &History, model: TxnModel, args: &TxnArgs) -> Result<Report, HistoryError> {
    if let Some(keys) = faultline_checkers::history::split_independent(history)? {
        let reports = keys
            .into_iter()
            .map(|(key, sub)| Ok((key, analyze(&sub, &args.options(model))?.into_report())))
            .collect::<Result<Vec<_>, HistoryError>>()?;
        return Ok(crate::txn_independent::combine(history, reports));
    }
    if args.independent {
        return Err(match history.ops.first() {
            Some(op) => history.error_at(
                op.invoke,
                "--independent: this op's value is not a jepsen.independent tuple [key transaction]"
                    .to_string(),
            ),
            None => HistoryError::whole(&history.source, "--independent: the history has no ops"),
        });
    }
    Ok(analyze(history, &args.options(model))?.into_report())
}

/// [`check_history`] for a history loaded with [`History::load_lean`] (its transactions'
/// values in `raw`): the same report.
pub fn check_history_lean(
    history: &History,
    raw: RawValues,
    model: TxnModel,
    args: &TxnArgs,
) -> Result<Report, HistoryError> {
    if raw.is_empty() {
        return check_history(history, model, args);
    }
    let tuples = args.independent
        || history
            .ops
            .first()
            .and_then(|op| raw.get(op.invoke))
            .is_some_and(|text| {
                serde_json::from_str::<Value>(text)
                    .is_ok_and(|v| faultline_checkers::history::is_independent_txn(&v))
            });
    if tuples {
        // Splitting by independent key needs the values: read them from the text.
        let mut events = history.events.clone();
        for (pos, event) in events.iter_mut().enumerate() {
            if let Some(text) = raw.get(pos) {
                event.value = serde_json::from_str(text)
                    .map_err(|e| history.error_at(pos, format!("the value is not valid JSON: {e}")))?;
            }
        }
        let full = History::from_events(history.source.clone(), events)?;
        return check_history(&full, model, args);
    }
    Ok(analyze_lean(history, raw, &args.options(model))?.into_report())
}

/// The report as text: a line per model (verdict and the anomalies behind it), then the
/// explained anomalies (at most `max_anomalies`).
pub fn render_text(report: &Report, max_anomalies: usize) -> String {
    let full = report.render_text(max_anomalies);
    let mut lines = full.lines();
    let mut out = String::new();
    if let Some(head) = lines.next() {
        let _ = writeln!(out, "{head}");
    }
    if let Some(models) = report.details.get("models").and_then(Value::as_array) {
        for m in models {
            let name = m["model"].as_str().unwrap_or("?");
            let verdict = m["verdict"].as_str().unwrap_or("?").to_uppercase();
            let why: Vec<&str> = m["anomalies"]
                .as_array()
                .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
            let open: Vec<&str> = m
                .get("inconclusive")
                .and_then(Value::as_array)
                .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
            let mut line = format!("  {name:<20} {verdict}");
            if !why.is_empty() {
                let _ = write!(line, " ({})", why.join(", "));
            }
            if !open.is_empty() {
                let _ = write!(line, " (search budget spent on {})", open.join(", "));
            }
            let unchecked: Vec<&str> = m
                .get("not_checked")
                .and_then(Value::as_array)
                .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
            if !unchecked.is_empty() {
                let _ = write!(
                    line,
                    " (not checked: {}: needs invocations)",
                    unchecked.join(", ")
                );
            }
            let _ = writeln!(out, "{line}");
        }
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    if let Some(other) = report.details.get("other_anomalies").and_then(Value::as_object)
        && !other.is_empty()
    {
        let names: Vec<String> = other.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        let _ = writeln!(
            out,
            "\n  Also found (allowed by the models checked): {}",
            names.join(", ")
        );
    }
    out
}

/// The report as JSON (for `--json`).
pub fn render_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use faultline_checkers::history::Format;

    #[derive(Parser)]
    struct Cli {
        #[arg(long, value_enum)]
        model: TxnModel,
        #[command(flatten)]
        txn: TxnArgs,
    }

    const LONG_FORK: &str = r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append","x",1]]}
{"index":1,"process":1,"type":"invoke","f":"txn","value":[["append","y",1]]}
{"index":2,"process":2,"type":"invoke","f":"txn","value":[["r","x",null],["r","y",null]]}
{"index":3,"process":3,"type":"invoke","f":"txn","value":[["r","y",null],["r","x",null]]}
{"index":4,"process":0,"type":"ok","f":"txn","value":[["append","x",1]]}
{"index":5,"process":1,"type":"ok","f":"txn","value":[["append","y",1]]}
{"index":6,"process":2,"type":"ok","f":"txn","value":[["r","x",[1]],["r","y",[]]]}
{"index":7,"process":3,"type":"ok","f":"txn","value":[["r","y",[1]],["r","x",[]]]}
"#;

    #[test]
    fn parses_flags_and_reports_models() {
        let cli = Cli::parse_from([
            "t",
            "--model",
            "list-append",
            "--consistency-model",
            "read-atomic,snapshot-isolation",
            "--consistency-model",
            "consistent-prefix",
        ]);
        assert_eq!(cli.model, TxnModel::ListAppend);
        assert_eq!(
            TxnModel::from_model_name("rw-register"),
            Some(TxnModel::RwRegister)
        );
        let history = History::parse("fork.jsonl", LONG_FORK, Format::Jsonl).unwrap();
        let report = check_history(&history, cli.model, &cli.txn).unwrap();
        assert_eq!(report.verdict.exit_code(), 1);
        let text = render_text(&report, 5);
        assert!(text.contains("read-atomic          VALID"), "{text}");
        assert!(
            text.contains("snapshot-isolation   INVALID (G-nonadjacent, consistent-prefix)"),
            "{text}"
        );
        assert!(text.contains("Anomaly 1 — G-nonadjacent"), "{text}");
        let json = render_json(&report);
        assert_eq!(json["details"]["models"][2]["model"], "consistent-prefix");
        assert_eq!(json["verdict"], "invalid");
    }

    #[test]
    fn malformed_transactions_are_bad_input() {
        let history = History::parse(
            "bad.jsonl",
            r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["append","x"]]}"#,
            Format::Jsonl,
        )
        .unwrap();
        let err = check_history(&history, TxnModel::ListAppend, &TxnArgs::default()).unwrap_err();
        assert_eq!(
            err.to_string().split(':').take(2).collect::<Vec<_>>(),
            vec!["bad.jsonl", "1"]
        );
    }
}
