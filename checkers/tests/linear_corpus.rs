//! The linearizability checker against the public Jepsen etcd corpus: every verdict must equal
//! `verdicts.tsv`, under both treatments of a failed cas. The corpus is found through
//! `$FAULTLINE_CORPUS` (or `../shared/data` beside the workspace); if it cannot be found the
//! test fails, it never passes by skipping.

use faultline_checkers::history::History;
use faultline_checkers::linear::{self, FailedCas, LinearOptions, Model};
use faultline_checkers::report::Verdict;
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    let base = match std::env::var_os("FAULTLINE_CORPUS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let dir = base.join("jepsen-etcd");
    assert!(
        dir.join("verdicts.tsv").is_file(),
        "the Jepsen etcd corpus is missing: expected {} (set FAULTLINE_CORPUS to the directory holding jepsen-etcd/)",
        dir.display()
    );
    dir
}

fn expected_verdicts() -> Vec<(String, Verdict)> {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("verdicts.tsv")).expect("read verdicts.tsv");
    let rows: Vec<(String, Verdict)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (file, verdict) = l.split_once('\t').expect("file<TAB>verdict");
            let verdict = match verdict.trim() {
                "valid" => Verdict::Valid,
                "invalid" => Verdict::Invalid,
                other => panic!("unexpected verdict {other:?} in verdicts.tsv"),
            };
            (file.to_string(), verdict)
        })
        .collect();
    assert_eq!(rows.len(), 102, "verdicts.tsv should list 102 histories");
    rows
}

fn check_corpus(failed_cas: FailedCas) {
    let dir = corpus_dir();
    let mut wrong = Vec::new();
    for (file, expected) in expected_verdicts() {
        let history = History::load(&dir.join(&file), None).unwrap_or_else(|e| panic!("{e}"));
        let mut opts = LinearOptions::new(Model::CasRegister);
        opts.failed_cas = failed_cas;
        let result = linear::check(&history, &opts).unwrap_or_else(|e| panic!("{e}"));
        if result.report.verdict != expected {
            wrong.push(format!(
                "{file}: expected {expected}, got {}",
                result.report.verdict
            ));
        }
        if expected == Verdict::Invalid {
            let failure = &result.failures[0];
            assert!(!result.report.anomalies[0].steps.is_empty());
            assert!(failure.longest.len() < failure.ops.len(), "{file}");
        }
    }
    assert!(
        wrong.is_empty(),
        "verdicts differ ({failed_cas:?}):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn etcd_corpus_verdicts_with_failed_cas_dropped() {
    check_corpus(FailedCas::Drop);
}

#[test]
fn etcd_corpus_verdicts_with_failed_cas_as_read() {
    check_corpus(FailedCas::AsRead);
}
