//! Jepsen's EDN histories (keywords as strings) check the same as JSON Lines ones.

use faultline_checkers::graph::{ConsistencyModel, TxnCheckOptions, Workload, analyze};
use faultline_checkers::history::{Format, History};

const G_SINGLE: &str = r#"{:type :invoke, :f :txn, :value [[:append 5 1]], :process 0, :time 10, :index 0}
{:type :ok, :f :txn, :value [[:append 5 1]], :process 0, :time 20, :index 1}
{:type :invoke, :f :txn, :value [[:r 5 nil] [:append 6 1]], :process 1, :time 30, :index 2}
{:type :ok, :f :txn, :value [[:r 5 [1]] [:append 6 1]], :process 1, :time 40, :index 3}
{:type :invoke, :f :txn, :value [[:r 6 nil] [:r 5 nil]], :process 2, :time 50, :index 4}
{:type :ok, :f :txn, :value [[:r 6 [1]] [:r 5 []]], :process 2, :time 60, :index 5}
"#;

#[test]
fn edn_list_append_history_is_checked() {
    let history = History::parse("history.edn", G_SINGLE, Format::Edn).unwrap();
    let mut opts = TxnCheckOptions::new(Workload::ListAppend);
    opts.models = vec![ConsistencyModel::Serializable];
    let analysis = analyze(&history, &opts).unwrap();
    let kinds: Vec<&str> = analysis.anomaly_kinds().iter().map(|k| k.name()).collect();
    assert_eq!(kinds, vec!["G-single"]);
    let fixed = G_SINGLE.replace("[:r 5 []]", "[:r 5 [1]]");
    let history = History::parse("history.edn", &fixed, Format::Edn).unwrap();
    assert!(analyze(&history, &opts).unwrap().anomaly_kinds().is_empty());
}

#[test]
fn malformed_edn_micro_op_names_the_line() {
    let bad = G_SINGLE.replace("[[:r 6 nil] [:r 5 nil]]", "[[:r 6 nil] [:frob 5 nil]]");
    let history = History::parse("history.edn", &bad, Format::Edn).unwrap();
    let err = analyze(&history, &TxnCheckOptions::new(Workload::ListAppend)).unwrap_err();
    assert_eq!(err.line(), Some(5), "{err}");
    assert!(err.to_string().starts_with("history.edn:5:"), "{err}");
}
