//! The run directory: `histories/runs/<UTC time>-<workload>/`, holding the history, the
//! workload as run, the seed, node data and logs, results and the report; and `latest`, a
//! symlink to the newest run.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Paths inside one run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// Creates a fresh run directory under `parent` and points `parent/latest` at it.
    pub fn create(parent: &Path, workload_name: &str) -> anyhow::Result<RunDir> {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let stamp = utc_stamp(SystemTime::now());
        let safe_name: String = workload_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut root = parent.join(format!("{stamp}-{safe_name}"));
        let mut n = 2;
        while root.exists() {
            root = parent.join(format!("{stamp}-{safe_name}-{n}"));
            n += 1;
        }
        std::fs::create_dir_all(root.join("nodes"))
            .with_context(|| format!("creating {}", root.display()))?;
        let latest = parent.join("latest");
        let _ = std::fs::remove_file(&latest);
        if let Some(name) = root.file_name() {
            // A relative link, so the runs folder can be moved or served as a whole.
            let _ = std::os::unix::fs::symlink(name, &latest);
        }
        Ok(RunDir { root })
    }

    pub fn history(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }
    pub fn workload(&self) -> PathBuf {
        self.root.join("workload.toml")
    }
    pub fn seed(&self) -> PathBuf {
        self.root.join("seed")
    }
    pub fn results(&self) -> PathBuf {
        self.root.join("results.json")
    }
    pub fn report(&self) -> PathBuf {
        self.root.join("report.html")
    }
    /// A node's data directory (its log file sits beside it).
    pub fn node_data(&self, name: &str) -> PathBuf {
        self.root.join("nodes").join(name)
    }
    pub fn node_log(&self, name: &str) -> PathBuf {
        self.root.join("nodes").join(format!("{name}.log"))
    }
}

/// `YYYYMMDDTHHMMSSZ` for a time, in UTC.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Gregorian date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(1_795_756_332)),
            "20261127T051212Z"
        );
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
    }

    #[test]
    fn creates_unique_dirs_and_a_latest_link() {
        let parent = tempfile::tempdir().unwrap();
        let a = RunDir::create(parent.path(), "w/x").unwrap();
        let b = RunDir::create(parent.path(), "w/x").unwrap();
        assert_ne!(a.root, b.root);
        assert!(a.root.file_name().unwrap().to_str().unwrap().ends_with("-w_x"));
        let latest = std::fs::canonicalize(parent.path().join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b.root).unwrap());
    }
}
