//! Real systems nobody here wrote, run by the harness in network namespaces it creates.
//!
//! Each system knows how to start, kill, pause and restart its nodes inside a
//! [`crate::netns::Fabric`], which of them leads (where it has a leader), and how to turn a
//! register operation into an outcome by the harness's rule: `fail` only when the operation
//! certainly did not take effect, `info` when it may have.

pub mod etcd;

/// The outcome of one operation on a real system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemOutcome<T> {
    /// It took effect (or the read returned this).
    Ok(T),
    /// It certainly did not take effect.
    Fail(String),
    /// It may or may not have taken effect.
    Info(String),
}
