//! `faultline check FILE...`: load saved histories, check them, explain any violation.
//!
//! (Placeholder: the linearizability checker is being built in issue 2.)

use crate::exit;
use anyhow::Context;
use clap::Args;
use faultline_checkers::history::{Format, History};
use std::path::PathBuf;

/// Arguments of `faultline check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// History files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The history format; detected from the content when omitted.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
}

/// Runs the check command; returns the worst exit code over all files.
pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let mut code = exit::VALID;
    for file in &args.files {
        let history =
            History::load(file, args.format).with_context(|| format!("loading {}", file.display()))?;
        println!(
            "{}: {} events, {} operations",
            file.display(),
            history.events.len(),
            history.ops.len()
        );
        code = exit::worst(code, exit::VALID);
    }
    Ok(code)
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}
