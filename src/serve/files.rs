//! Files under the served directory, and only those: a requested path is refused when it is
//! absolute, has `..` or `.` components, backslashes or NUL bytes, or resolves (through
//! symlinks) to a place outside the directory. Percent-encoding is decoded before the check
//! (axum's path extractor does it), so `%2e%2e%2f` is refused like `../`.

use std::path::{Component, Path, PathBuf};

/// Why a path was not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The path tries to leave the directory, or is not a plain relative path (403).
    Outside,
    /// Nothing there (404).
    NotFound,
}

/// Resolves `requested` (decoded, relative to `root`) to a real path inside `root`.
/// `root` must be canonical.
pub fn resolve(root: &Path, requested: &str) -> Result<PathBuf, Refusal> {
    if requested.contains('\0') || requested.contains('\\') {
        return Err(Refusal::Outside);
    }
    let relative = Path::new(requested);
    let plain = relative.components().all(|c| matches!(c, Component::Normal(_)));
    // `components()` drops `.` in the middle of a path; refuse it explicitly all the same.
    if !plain || requested.split('/').any(|part| part == "." || part == "..") {
        return Err(Refusal::Outside);
    }
    let real = root
        .join(relative)
        .canonicalize()
        .map_err(|_| Refusal::NotFound)?;
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(Refusal::Outside)
    }
}

/// The content type to send for a file, by its name.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("jsonl" | "log" | "toml" | "txt" | "edn" | "tsv" | "md") | None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = dir.path().join("runs");
        std::fs::create_dir_all(root.join("r1")).unwrap();
        std::fs::write(root.join("r1/history.jsonl"), "").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
        std::os::unix::fs::symlink("r1", root.join("latest")).unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(
            resolve(&root, "r1/history.jsonl"),
            Ok(root.join("r1/history.jsonl"))
        );
        assert_eq!(
            resolve(&root, "latest/history.jsonl"),
            Ok(root.join("r1/history.jsonl")),
            "links inside the directory are followed"
        );
        for bad in [
            "../secret",
            "r1/../../secret",
            "r1/./history.jsonl",
            "/etc/passwd",
            "escape/secret",
            "r1\\..\\..\\secret",
            "r1/\0",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refusal::Outside), "{bad}");
        }
        assert_eq!(resolve(&root, "r1/missing"), Err(Refusal::NotFound));
        assert_eq!(
            content_type(Path::new("a/report.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("seed")), "text/plain; charset=utf-8");
    }
}
