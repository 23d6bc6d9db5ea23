//! The `faultline` binary: check histories, run the built-in store, drive test runs.
//!
//! `main` parses the command line (see [`cli`]), runs the chosen command, and maps its outcome to
//! Jepsen's exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or input, 255 internal
//! error.

use clap::Parser;
use faultline::{check, cli, exit, matrix, report, run, serve};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        cli::Command::Check(args) => check::run(args),
        cli::Command::Node(args) => faultline_store::run(*args).map(|()| exit::VALID),
        cli::Command::Run(args) => run::run(*args),
        cli::Command::Report(args) => report::command::run(*args),
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::Matrix(args) => matrix::run(*args),
        cli::Command::Clean => faultline::netns::clean_command(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("faultline: error: {e:#}");
            ExitCode::from(exit::code_for_error(&e))
        }
    }
}
