//! The index page of `faultline serve`: every run directory under the served directory, newest
//! first, coloured by verdict, with its workload, faults, duration and operation counts, and
//! links to its report and raw files.

use crate::report::run_data::{RunFiles, RunSummary};
use crate::report::timeline_html::{document_end, document_start, escape};
use std::fmt::Write as _;
use std::path::Path;

/// One row of the index.
pub struct RunEntry {
    /// The directory's name (a UTC stamp and the workload).
    pub name: String,
    /// Its results, if it has a readable results.json.
    pub summary: Option<RunSummary>,
    /// Why results.json could not be read, if it could not.
    pub problem: Option<String>,
    /// Raw files (label, path relative to the run directory).
    pub files: Vec<(String, String)>,
    /// True when the run has a history (so a report can be drawn).
    pub has_history: bool,
}

/// The run directories under `root`, newest first (their names start with a UTC stamp).
/// Symlinks (such as `latest`) are not listed twice.
pub fn runs(root: &Path) -> std::io::Result<Vec<RunEntry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !kind.is_dir() || kind.is_symlink() {
            continue;
        }
        let files = RunFiles { root: entry.path() };
        let (summary, problem) = if files.results().is_file() {
            match RunSummary::load(&files.results()) {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            }
        } else {
            (None, Some("no results.json (the run did not finish)".to_string()))
        };
        entries.push(RunEntry {
            name,
            summary,
            problem,
            has_history: files.history().is_file(),
            files: files.raw_links(),
        });
    }
    entries.sort_by(|a, b| b.name.cmp(&a.name));
    Ok(entries)
}

const STYLE: &str = r#"
table.runs { border-collapse: collapse; font-size: 13px; } table.runs th { text-align: left; border-bottom: 1px solid #bbb; padding: 4px 10px 4px 0; }
table.runs td { padding: 4px 10px 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
tr.valid td:first-child { border-left: 5px solid #2e9e44; } tr.invalid td:first-child { border-left: 5px solid #d43c3c; }
tr.unknown td:first-child, tr.none td:first-child { border-left: 5px solid #d9a400; }
tr.valid { background: #f1faf2; } tr.invalid { background: #fdf0f0; } tr.unknown, tr.none { background: #fdf8e8; }
.verdict { font-weight: 700; } .files a { margin-right: 8px; } .small { color: #666; font-size: 12px; }
"#;

/// Percent-encodes a path segment for a URL (everything but unreserved characters).
pub fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Renders the index page.
pub fn render_index(root: &Path, runs: &[RunEntry]) -> String {
    let mut out = document_start("faultline runs", STYLE);
    let _ = writeln!(
        out,
        "<h1>faultline runs</h1>\n<p class=\"intro\">{} runs in {}, newest first.</p>",
        runs.len(),
        escape(&root.display().to_string())
    );
    if runs.is_empty() {
        out.push_str(
            "<p>No runs yet: <code>faultline run workloads/single-leader-sync.toml</code> makes one.</p>\n",
        );
    } else {
        out.push_str("<table class=\"runs\"><thead><tr><th>run</th><th>verdict</th><th>workload</th><th>faults</th><th>duration</th><th>operations</th><th>files</th></tr></thead><tbody>\n");
        for run in runs {
            out.push_str(&row(run));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str(&document_end());
    out
}

fn row(run: &RunEntry) -> String {
    let base = format!("/runs/{}", url_segment(&run.name));
    let verdict = run.summary.as_ref().and_then(|s| s.verdict);
    let class = verdict.map_or("none", |v| v.name());
    let name_cell = if run.has_history {
        format!("<a href=\"{base}/report.html\">{}</a>", escape(&run.name))
    } else {
        escape(&run.name)
    };
    let mut verdict_cell = format!(
        "<span class=\"verdict\">{}</span>",
        verdict.map_or("—".to_string(), |v| v.name().to_uppercase())
    );
    let (workload, faults, duration, ops) = match &run.summary {
        Some(s) => {
            if let Some(met) = s.expectation_met {
                let _ = write!(
                    verdict_cell,
                    "<br><span class=\"small\">expected {}{}</span>",
                    escape(&s.expected),
                    if met { "" } else { ": NOT as expected" }
                );
            }
            let mut kinds: Vec<&str> = Vec::new();
            for f in &s.faults {
                if !kinds.contains(&f.kind.as_str()) {
                    kinds.push(&f.kind);
                }
            }
            let faults = if s.faults.is_empty() {
                "none".to_string()
            } else {
                format!("{} ({})", s.faults.len(), kinds.join(", "))
            };
            (
                s.workload.clone(),
                faults,
                format!(
                    "{:.1} s{}",
                    s.duration_s,
                    if s.interrupted { " (interrupted)" } else { "" }
                ),
                format!(
                    "{} ({} ok, {} fail, {} info)",
                    s.ops.invoked, s.ops.ok, s.ops.fail, s.ops.info
                ),
            )
        }
        None => (String::new(), String::new(), String::new(), String::new()),
    };
    if let Some(problem) = &run.problem {
        let _ = write!(
            verdict_cell,
            "<br><span class=\"small\">{}</span>",
            escape(problem)
        );
    }
    let files: Vec<String> = run
        .files
        .iter()
        .map(|(label, path)| {
            let href: Vec<String> = path.split('/').map(url_segment).collect();
            format!("<a href=\"{base}/{}\">{}</a>", href.join("/"), escape(label))
        })
        .collect();
    format!(
        "<tr class=\"{class}\"><td>{name_cell}</td><td>{verdict_cell}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"files\">{}</td></tr>\n",
        escape(&workload),
        escape(&faults),
        escape(&duration),
        escape(&ops),
        files.join("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_url_segments() {
        assert_eq!(url_segment("20260101T000000Z-a_b"), "20260101T000000Z-a_b");
        assert_eq!(url_segment("a b/\"<"), "a%20b%2F%22%3C");
    }
}
