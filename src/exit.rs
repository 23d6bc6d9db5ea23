//! Exit codes (Jepsen's, so CI scripts can be shared) and the error marker for bad input.

use faultline_checkers::history::HistoryError;

/// The history or the run was valid.
pub const VALID: u8 = 0;
/// A guarantee was violated.
pub const INVALID: u8 = 1;
/// The verdict is unknown (time budget spent, or not decidable).
pub const UNKNOWN: u8 = 2;
/// Bad arguments or bad input.
pub const BAD_INPUT: u8 = 254;
/// Anything else: a bug or an environment failure.
pub const INTERNAL: u8 = 255;

/// Marks an error as the user's input being wrong (exit 254) rather than an internal failure.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// The exit code for an error: 254 when bad input caused it, 255 otherwise.
pub fn code_for_error(e: &anyhow::Error) -> u8 {
    let bad = e
        .chain()
        .any(|c| c.is::<BadInput>() || c.is::<HistoryError>() || c.is::<faultline_store::BadConfig>());
    if bad { BAD_INPUT } else { INTERNAL }
}

/// Ranks exit codes by severity so several results combine into the worst:
/// internal error, bad input, invalid, unknown, valid.
pub fn severity(code: u8) -> u8 {
    match code {
        INTERNAL => 5,
        BAD_INPUT => 4,
        INVALID => 3,
        UNKNOWN => 2,
        0 => 0,
        _ => 1,
    }
}

/// The worse of two exit codes (see [`severity`]).
pub fn worst(a: u8, b: u8) -> u8 {
    if severity(b) > severity(a) { b } else { a }
}
