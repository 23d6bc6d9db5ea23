//! A history parsed as its bytes arrive ([`JsonlStream`]) is the history [`History::load`]
//! reads from the finished file, however the bytes were cut: the harness relies on this to
//! give a run the verdict `faultline check` gives on the saved file.

use faultline_checkers::history::{Format, History, JsonlStream};
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
            match (&loaded, &finished) {
                (Ok(a), Ok(b)) => same(a, b),
                (Err(a), Err(b)) => assert_eq!(a, b, "{source}"),
                _ => panic!("{source}: loaded {loaded:?}, streamed {finished:?}"),
            }
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
