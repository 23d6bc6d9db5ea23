//! Reports for people: HTML pages with timelines (and, as they land, run summaries and plots).
//!
//! The checkers' own results (`faultline_checkers::report`) are data; this module renders them
//! into files a person opens after a failure.

pub mod timeline_html;
