//! What `faultline check` prints: one line per file plus the explanation of any failure, or
//! one JSON document with `--json`.

use super::FileResult;
use faultline_checkers::report::Verdict;
use serde_json::json;
use std::io::Write;

/// At most this many anomalies per file are written out in text.
const MAX_ANOMALIES: usize = 3;

/// Prints one file's result as text: a line on stdout (plus its explanation), or the error on
/// stderr.
pub(super) fn print_text(r: &FileResult) {
    match &r.outcome {
        Ok(c) => {
            announce_model(r, c);
            for w in &c.warnings {
                eprintln!("faultline: warning: {}: {w}", r.file.display());
            }
            let report = &c.checked.report;
            let skipped = match c.skipped_lines {
                0 => String::new(),
                n => format!(", {n} other log lines skipped"),
            };
            let timing = format!(
                "[{} events{skipped}, loaded in {}, checked in {}]",
                c.events,
                seconds(c.load_time),
                seconds(c.check_time)
            );
            let text = if report.details.get("models").is_some() {
                crate::check_txn::render_text(report, MAX_ANOMALIES)
            } else {
                report.render_text(MAX_ANOMALIES)
            };
            let mut lines = text.lines();
            let head = lines.next().unwrap_or_default();
            let mut out = format!("{}: {head} {timing}\n", r.file.display());
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
            if report.verdict == Verdict::Invalid {
                out.push('\n');
            }
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
        }
        Err(e) => eprintln!("faultline: error: {e}"),
    }
}

/// Says on stderr which model was inferred for a file checked without `--model`.
fn announce_model(r: &FileResult, c: &super::FileChecked) {
    if let Some(because) = c.inferred {
        eprintln!(
            "faultline: {}: no --model given: checking as {} ({because})",
            r.file.display(),
            super::model_name(c.model)
        );
    }
}

fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

/// Prints every file's result as one JSON document on stdout.
pub(super) fn print_json(results: &[FileResult], code: u8) -> anyhow::Result<()> {
    let files: Vec<serde_json::Value> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(c) => {
                announce_model(r, c);
                json!({
                "file": r.file.display().to_string(),
                "verdict": c.checked.report.verdict,
                "exit_code": r.exit_code(),
                "events": c.events,
                "skipped_lines": c.skipped_lines,
                "warnings": c.warnings,
                "completion_only": c.completion_only,
                "model": super::model_name(c.model),
                "model_inferred": c.inferred.is_some(),
                "model_inferred_from": c.inferred,
                "load_ms": c.load_time.as_secs_f64() * 1e3,
                "check_ms": c.check_time.as_secs_f64() * 1e3,
                "report": c.checked.report,
                })
            }
            Err(e) => {
                eprintln!("faultline: error: {e}");
                json!({
                    "file": r.file.display().to_string(),
                    "verdict": null,
                    "exit_code": r.exit_code(),
                    "error": e.to_string(),
                    "line": e.line(),
                })
            }
        })
        .collect();
    let verdict = match code {
        0 => json!("valid"),
        1 => json!("invalid"),
        2 => json!("unknown"),
        _ => json!(null),
    };
    let doc = json!({ "verdict": verdict, "exit_code": code, "files": files });
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // A reader that stopped early (`| head`) is not an error of ours.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
