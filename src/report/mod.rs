//! Reports for people: the HTML page of a run (or of a history file), with the verdicts, each
//! anomaly explained and linked to a timeline of every process, fault windows, and plots.
//!
//! The checkers' own results (`faultline_checkers::report`) are data; this module renders them
//! into files a person opens after a failure. `timeline_html` is the one timeline renderer,
//! shared with `faultline check --html`.

pub mod anomalies;
pub mod command;
pub mod faults;
pub mod history_view;
pub mod plots;
pub mod run_data;
pub mod run_page;
pub mod run_results_html;
pub mod run_timeline;
pub mod timeline_html;

pub use command::{ReportArgs, render_run_dir, write_run_report};
