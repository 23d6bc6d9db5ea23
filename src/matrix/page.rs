//! `matrix.html`: the guarantee table as a self-contained page, each cell coloured by what the
//! runs showed and linked to the report of the run that shows it, then every run with its seed,
//! outcome and links.

use super::table::Matrix;
use crate::report::timeline_html::{document_start, escape};
use crate::run::guarantees::{GUARANTEES, Status};
use std::fmt::Write as _;

const STYLE: &str = r#"
table.matrix { border-collapse: collapse; font-size: 14px; } table.matrix th, table.matrix td { border: 1px solid #ddd; padding: 5px 9px; text-align: left; vertical-align: top; }
table.matrix th { background: #f4f4f4; } td.kept { background: #e3f4e6; } td.broken { background: #fbe4e4; } td.unknown { background: #fdf3d7; } td.not-measured { color: #888; }
td.missed { background: #fbe4e4; font-weight: 600; } td.met { background: #e3f4e6; } .description { color: #555; font-size: 12px; max-width: 30em; }
table.runs { border-collapse: collapse; font-size: 13px; } table.runs td, table.runs th { border-bottom: 1px solid #eee; padding: 3px 10px 3px 0; text-align: left; }
"#;

fn class(status: Status) -> &'static str {
    match status {
        Status::Kept => "kept",
        Status::Broken => "broken",
        Status::Unknown => "unknown",
        Status::NotMeasured => "not-measured",
    }
}

fn linked(text: &str, href: Option<&String>) -> String {
    match href {
        Some(h) => format!("<a href=\"{}\">{}</a>", escape(h), escape(text)),
        None => escape(text),
    }
}

/// Renders the page.
pub fn render(m: &Matrix) -> String {
    let title = "faultline matrix: replication guarantees as measured";
    let mut out = document_start(title, STYLE);
    let _ = writeln!(out, "<h1>{}</h1>", escape(title));
    let _ = writeln!(
        out,
        "<p class=\"intro\">Started {}, {} run(s) per configuration{}, {:.0} s in all. {}</p>",
        escape(&m.started_at),
        m.runs_per_workload,
        if m.run_flags.is_empty() {
            String::new()
        } else {
            format!(" with <code>{}</code>", escape(&m.run_flags.join(" ")))
        },
        m.wall_time_s,
        if m.interrupted {
            "Interrupted before every run was made."
        } else {
            ""
        }
    );
    out.push_str("<p class=\"note\">Each cell counts the runs whose checkers showed the guarantee kept or broken (never the workload's expectation); a link opens the report of the run that shows it. \"not measured\": no checker of that run judged it (it never counts as kept). Runs cut short by Ctrl-C are listed below but counted nowhere.</p>\n");
    out.push_str(
        "<table class=\"matrix\" id=\"matrix\"><thead><tr><th>configuration</th><th>expectation</th>",
    );
    for (_, title) in GUARANTEES {
        let _ = write!(out, "<th>{}</th>", escape(title));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &m.rows {
        let _ = write!(
            out,
            "<tr><td><b>{}</b><div class=\"description\">{}</div></td><td class=\"{}\">{}</td>",
            escape(&row.workload),
            escape(&row.description),
            if row.expectation_met == row.runs {
                "met"
            } else {
                "missed"
            },
            linked(&row.expectation_text(), row.missed_evidence.as_ref())
        );
        for (id, cell) in &row.cells {
            let _ = write!(
                out,
                "<td class=\"{}\" data-guarantee=\"{id}\">{}</td>",
                class(cell.status()),
                linked(&cell.text(), cell.evidence.as_ref())
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n<h2>Runs</h2>\n<table class=\"runs\"><thead><tr><th>configuration</th><th>run</th><th>seed</th><th>outcome</th><th>seconds</th><th>files</th></tr></thead><tbody>\n");
    for r in &m.runs {
        let mut files = Vec::new();
        if let Some(report) = &r.report {
            files.push(format!("<a href=\"{}\">report</a>", escape(report)));
        }
        if let Some(dir) = &r.dir {
            files.push(format!("<a href=\"{}/\">run directory</a>", escape(dir)));
        }
        files.push(format!("<a href=\"{}\">output</a>", escape(&r.log)));
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
            escape(&r.workload),
            r.run,
            r.seed,
            escape(&r.outcome()),
            r.duration_s,
            files.join(" · ")
        );
    }
    out.push_str("</tbody></table>\n</body>\n</html>\n");
    out
}
