//! A history parsed as its bytes arrive ([`JsonlStream`]) is the history [`History::load`]
//! reads from the finished file, however the bytes were cut: the harness relies on this to
//! give a run the verdict `faultline check` gives on the saved file.

use faultline_checkers::history::{Format, History, HistoryError, JsonlStream};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};

fn repo_jsonl_histories() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../histories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the repo's JSON Lines histories in {}",
        dir.display()
    );
    files
}

/// Feeds `bytes` to a stream in random pieces (some empty, some cutting a line or a UTF-8
/// character in two).
fn streamed(source: &str, bytes: &[u8], rng: &mut StdRng) -> JsonlStream {
    let mut stream = JsonlStream::new(source);
    let mut at = 0;
    while at < bytes.len() {
        let len = rng.random_range(0..=bytes.len().min(200));
        let end = (at + len).min(bytes.len());
        stream.feed(&bytes[at..end]);
        at = end;
    }
    stream
}

fn same(a: &History, b: &History) {
    assert_eq!(a.source, b.source);
    assert_eq!(a.events, b.events);
    assert_eq!(format!("{:?}", a.ops), format!("{:?}", b.ops));
    assert_eq!(a.nemesis, b.nemesis);
    assert_eq!(a.warnings, b.warnings);
    assert_eq!(a.completion_only, b.completion_only);
}

/// The same history, or the same error: `read` (by `History::load` or `History::parse`) against
/// `streamed` (by the stream).
fn same_outcome(read: &Result<History, HistoryError>, streamed: &Result<History, HistoryError>, what: &str) {
    match (read, streamed) {
        (Ok(a), Ok(b)) => same(a, b),
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}"),
        _ => panic!("{what}: read {read:?}, streamed {streamed:?}"),
    }
}

#[test]
fn a_streamed_history_is_the_loaded_one_however_its_bytes_are_cut() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut checked = 0;
    for path in repo_jsonl_histories() {
        let source = path.display().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let loaded = History::load(&path, Some(Format::Jsonl));
        for _ in 0..5 {
            let finished = streamed(&source, &bytes, &mut rng).finish();
            same_outcome(&loaded, &finished, &source);
        }
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn a_snapshot_holds_the_whole_lines_only_and_reads_pending_operations_as_pending() {
    let text = concat!(
        r#"{"index":0,"process":0,"type":"invoke","f":"write","value":1}"#,
        "\n",
        r#"{"index":1,"process":1,"type":"invoke","f":"read","value":null}"#,
        "\n",
        r#"{"index":2,"process":0,"type":"ok","f":"write","va"#,
    );
    let mut stream = JsonlStream::new("h.jsonl");
    stream.feed(text.as_bytes());
    let snapshot = stream.snapshot().unwrap();
    assert_eq!(snapshot.events.len(), 2);
    assert_eq!(snapshot.ops.len(), 2);
    assert!(snapshot.ops.iter().all(|op| op.complete.is_none()));
    stream.feed(b"lue\":1}\n");
    let finished = stream.finish().unwrap();
    assert_eq!(finished.events.len(), 3);
    assert_eq!(finished.events[2].line, 3);
    assert!(finished.ops[0].complete.is_some());
}

#[test]
fn a_bad_line_is_named_with_its_number_and_stops_the_stream() {
    let text = "\n{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{oops}\n";
    let mut stream = JsonlStream::new("bad.jsonl");
    stream.feed(text.as_bytes());
    stream.feed(b"{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n");
    let error = stream.finish().unwrap_err();
    assert_eq!(error.line(), Some(3), "{error}");
    let loaded = History::parse("bad.jsonl", text, Format::Jsonl).unwrap_err();
    assert_eq!(error, loaded);
}

#[test]
fn defaulted_indices_count_every_event_before() {
    let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":3}";
    let mut stream = JsonlStream::new("d.jsonl");
    stream.feed(text.as_bytes());
    let streamed = stream.finish().unwrap();
    let parsed = History::parse("d.jsonl", text, Format::Jsonl).unwrap();
    same(&parsed, &streamed);
    assert_eq!(streamed.events[1].index, 1);
    assert_eq!(streamed.events[1].line, 3);
}

/// What `faultline check` reads from the whole lines of `bytes[..end]`.
fn parsed_prefix(source: &str, bytes: &[u8], end: usize) -> Result<History, HistoryError> {
    let whole = bytes[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1);
    let text = std::str::from_utf8(&bytes[..whole]).unwrap();
    History::parse(source, text, Format::Jsonl)
}

/// After every piece fed, the history lent by the stream (paired as it was parsed, or afresh)
/// is the one parsed from the whole lines so far: `bytes` fed in random pieces.
fn lent_histories_match_prefixes(source: &str, bytes: &[u8], rng: &mut StdRng) -> usize {
    let mut stream = JsonlStream::new(source);
    let (mut at, mut compared) = (0, 0);
    while at < bytes.len() {
        let end = (at + rng.random_range(0..=20)).min(bytes.len());
        stream.feed(&bytes[at..end]);
        at = end;
        let expected = parsed_prefix(source, bytes, end);
        let lent = stream.with_history(|h| h.clone());
        same_outcome(&expected, &lent, &format!("{source} at byte {end}"));
        compared += 1;
    }
    compared
}

#[test]
fn the_history_lent_while_streaming_is_the_parsed_prefix_at_every_point() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut compared = 0;
    for path in repo_jsonl_histories() {
        let bytes = std::fs::read(&path).unwrap();
        compared += lent_histories_match_prefixes(&path.display().to_string(), &bytes, &mut rng);
    }
    assert!(compared > 1000, "{compared}");
}

#[test]
fn histories_only_the_whole_file_can_pair_are_paired_afresh_and_errors_come_in_file_order() {
    let line = |p: Option<i64>, kind: &str, f: &str| match p {
        Some(p) => format!("{{\"process\":{p},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":null}}\n"),
        None => format!("{{\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":null}}\n"),
    };
    let nemesis = "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"start\",\"value\":null}\n";
    let cases: Vec<(&str, String)> = vec![
        // Elle's histories without processes: one process, with a warning.
        (
            "no process",
            [line(None, "invoke", "read"), line(None, "ok", "read")].concat(),
        ),
        // Some with a process, one without: an error at the one without, after a pairing error.
        (
            "mixed",
            [line(Some(0), "ok", "read"), line(None, "invoke", "read")].concat(),
        ),
        // Completion-only, after a nemesis event.
        (
            "completions",
            [
                nemesis.to_string(),
                line(Some(0), "ok", "read"),
                line(Some(1), "ok", "read"),
            ]
            .concat(),
        ),
        // A pairing error, then a line that cannot be parsed: the parse error wins.
        (
            "pairing then parse",
            [
                line(Some(0), "invoke", "read"),
                line(Some(0), "invoke", "read"),
                "{oops}\n".into(),
            ]
            .concat(),
        ),
        // A pairing error alone, after the first invocation.
        (
            "pairing",
            [
                line(Some(0), "invoke", "read"),
                line(Some(1), "ok", "write"),
                line(Some(0), "ok", "read"),
            ]
            .concat(),
        ),
        // An info completion, then the same process again.
        (
            "reused",
            [
                line(Some(0), "invoke", "read"),
                line(Some(0), "info", "read"),
                line(Some(0), "invoke", "read"),
            ]
            .concat(),
        ),
    ];
    let mut rng = StdRng::seed_from_u64(3);
    for (name, text) in cases {
        for _ in 0..20 {
            lent_histories_match_prefixes(name, text.as_bytes(), &mut rng);
        }
        let finished = streamed(name, text.as_bytes(), &mut rng).finish();
        let parsed = History::parse(name, &text, Format::Jsonl);
        same_outcome(&parsed, &finished, name);
    }
}
