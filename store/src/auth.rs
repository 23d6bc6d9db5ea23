//! The cluster secret: a token every node of one cluster shares, which node-to-node requests
//! (`/internal/*`) and the harness's admin requests (`/admin/*`) must carry as
//! `Authorization: Bearer TOKEN`; clients' routes stay open.
//!
//! A node reads its token from the file named by `--token-file` (or `token_file` in its config
//! file), or else from the environment variable [`TOKEN_ENV`]; never from its command line,
//! which every local user can read with `ps`. The harness generates one token per run
//! ([`ClusterToken::generate`]) and hands it to its nodes through the environment.

use crate::error::ApiError;
use crate::node::Node;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngExt;
use std::fmt;
use std::sync::Arc;

/// The environment variable a node reads its token from when no `--token-file` is given.
pub const TOKEN_ENV: &str = "FAULTLINE_CLUSTER_TOKEN";

/// Shortest token accepted, in characters.
pub const MIN_TOKEN_LEN: usize = 16;

/// A cluster's shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterToken(String);

impl ClusterToken {
    /// A fresh random token: 32 random bytes, in hex.
    pub fn generate() -> ClusterToken {
        let bytes: [u8; 32] = rand::rng().random();
        ClusterToken(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Checks a token given by a user (surrounding whitespace, such as a file's final newline,
    /// is dropped): at least [`MIN_TOKEN_LEN`] visible ASCII characters.
    pub fn parse(text: &str) -> Result<ClusterToken, String> {
        let token = text.trim();
        if token.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "the cluster token must be at least {MIN_TOKEN_LEN} characters long, got {}",
                token.len()
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the cluster token may only hold visible ASCII characters".into());
        }
        Ok(ClusterToken(token.to_string()))
    }

    /// The token itself (to hand to a node through its environment).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The `Authorization` header value that carries it.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Does this `Authorization` header value carry the token? Compares in constant time for a
    /// given length, so response times do not reveal how much of a guess was right.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let expected = self.0.as_bytes();
        given.len() == expected.len()
            && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl fmt::Debug for ClusterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterToken(..)")
    }
}

/// Do requests to this path need the token?
pub fn is_guarded(path: &str) -> bool {
    path.starts_with("/internal/") || path.starts_with("/admin/")
}

/// The layer in front of every route: a request to a guarded path without the node's token is
/// answered 401 (`unauthorized`, JSON) and goes no further.
pub async fn guard(State(node): State<Arc<Node>>, request: Request, next: Next) -> Response {
    let given = request.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    if is_guarded(request.uri().path()) && !node.cfg.token.admits(given) {
        return ApiError::unauthorized().into_response_from(&node.cfg.id);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_admit_only_themselves() {
        let a = ClusterToken::generate();
        let b = ClusterToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.secret().len(), 64);
        assert!(a.admits(Some(a.bearer().as_bytes())));
        assert!(!a.admits(Some(b.bearer().as_bytes())));
        assert!(
            !a.admits(Some(a.secret().as_bytes())),
            "the Bearer scheme is required"
        );
        assert!(!a.admits(Some(b"Bearer ")));
        assert!(!a.admits(None));
        assert!(
            format!("{a:?}").find(a.secret()).is_none(),
            "Debug does not show the secret"
        );
    }

    #[test]
    fn user_tokens_are_checked() {
        assert_eq!(
            ClusterToken::parse("  0123456789abcdef\n").unwrap().secret(),
            "0123456789abcdef"
        );
        assert!(ClusterToken::parse("short").unwrap_err().contains("at least 16"));
        assert!(
            ClusterToken::parse("0123456789 abcdef")
                .unwrap_err()
                .contains("visible ASCII")
        );
        assert!(is_guarded("/internal/sl/append") && is_guarded("/admin/status"));
        assert!(!is_guarded("/kv/admin") && !is_guarded("/txn"));
    }
}
