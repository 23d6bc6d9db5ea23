//! A workload's counterpart: the same workload with the guarantee removed (e.g. async instead of
//! sync replication, follower reads instead of leader reads), which must get the opposite
//! verdict. It shows that the workload can fail: a run that expects "valid" proves something
//! only if the same setup catches the violation when the guarantee is gone.
//!
//! ```toml
//! [counterpart]
//! because = "async replication acknowledges writes the followers may never get"
//! [counterpart.set]
//! cluster.replication = "async"
//! ```
//!
//! `unset` (dotted names, e.g. `["cluster.replication"]`) is removed from the workload first,
//! then `set` is merged into it (tables key by key, other values replaced); the result is named
//! `<name>-counterpart`, expects the opposite verdict for the reason given, and is validated
//! like any workload. `faultline run WORKLOAD --counterpart` runs it.

use super::{ExpectedVerdict, Workload};
use serde::{Deserialize, Serialize};

/// The counterpart section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterpart {
    /// Why the counterpart gets the opposite verdict, in a sentence.
    pub because: String,
    /// Settings to remove (back to their defaults), as dotted names.
    #[serde(default)]
    pub unset: Vec<String>,
    /// The settings to change, as workload sections (e.g. `cluster.replication = "async"`).
    #[serde(default)]
    pub set: toml::Table,
}

impl Workload {
    /// The counterpart of this workload, if it names one (validated; errors say what is wrong).
    pub fn counterpart(&self) -> Result<Option<Workload>, String> {
        let Some(counterpart) = &self.counterpart else {
            return Ok(None);
        };
        if counterpart.set.is_empty() && counterpart.unset.is_empty() {
            return Err("counterpart.set is empty: name the settings that remove the guarantee".into());
        }
        let mut table =
            toml::Table::try_from(self).map_err(|e| format!("cannot merge the counterpart: {e}"))?;
        table.remove("counterpart");
        // The availability expectations describe the original design; the counterpart states its
        // own, if any, in `set`.
        if let Some(toml::Value::Table(expect)) = table.get_mut("expect") {
            expect.remove("availability");
        }
        for name in &counterpart.unset {
            remove(&mut table, name)
                .ok_or_else(|| format!("counterpart.unset: the workload has no setting {name}"))?;
        }
        merge(&mut table, &counterpart.set);
        let mut derived: Workload = toml::Value::Table(table)
            .try_into()
            .map_err(|e| format!("counterpart.set: {}", e.message().trim()))?;
        derived.name = format!("{}-counterpart", self.name);
        derived.expect.verdict = match self.expect.verdict {
            ExpectedVerdict::Valid => ExpectedVerdict::Invalid,
            ExpectedVerdict::Invalid => ExpectedVerdict::Valid,
        };
        derived.expect.because = counterpart.because.clone();
        derived.validate().map_err(|m| format!("counterpart: {m}"))?;
        Ok(Some(derived))
    }
}

/// Removes the dotted `name` from `table`; `None` if it is not there.
fn remove(table: &mut toml::Table, name: &str) -> Option<toml::Value> {
    match name.split_once('.') {
        None => table.remove(name),
        Some((head, rest)) => match table.get_mut(head)? {
            toml::Value::Table(inner) => remove(inner, rest),
            _ => None,
        },
    }
}

/// Merges `changes` into `table`: tables key by key, anything else replaced.
fn merge(table: &mut toml::Table, changes: &toml::Table) {
    for (key, change) in changes {
        match (table.get_mut(key), change) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(more)) => merge(inner, more),
            _ => {
                table.insert(key.clone(), change.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Replication;

    const SYNC: &str = r#"
name = "sync"
[cluster]
mode = "single-leader"
replication = "sync"
[generator]
kind = "register"
[run]
time_limit = "5s"
[faults]
kinds = ["kill-leader"]
[check]
checkers = ["linearizability"]
[expect]
verdict = "valid"
because = "sync keeps every write"
[counterpart]
because = "async loses writes"
[counterpart.set]
cluster.replication = "async"
faults.standing = ["delay"]
"#;

    #[test]
    fn the_counterpart_changes_only_what_it_names_and_flips_the_verdict() {
        let w = Workload::parse("w.toml", SYNC).unwrap();
        let c = w.counterpart().unwrap().unwrap();
        assert_eq!(c.name, "sync-counterpart");
        assert_eq!(c.cluster.replication, Some(Replication::Async));
        assert_eq!(c.cluster.mode, w.cluster.mode);
        assert_eq!(c.faults.kinds, w.faults.kinds, "untouched settings stay");
        assert_eq!(c.faults.standing.len(), 1);
        assert_eq!(c.expect.verdict, ExpectedVerdict::Invalid);
        assert_eq!(c.expect.because, "async loses writes");
        assert!(c.counterpart.is_none());
    }

    #[test]
    fn unset_removes_a_setting_before_set_applies() {
        let text = SYNC.replace(
            "[counterpart.set]\ncluster.replication = \"async\"",
            "unset = [\"cluster.replication\"]\n[counterpart.set]\ncluster.mode = \"multi-leader\"",
        );
        let c = Workload::parse("w.toml", &text)
            .unwrap()
            .counterpart()
            .unwrap()
            .unwrap();
        assert_eq!(c.cluster.mode, crate::workload::StoreMode::MultiLeader);
        assert_eq!(c.cluster.replication, None);
    }

    #[test]
    fn a_bad_counterpart_is_refused_when_the_workload_loads() {
        let bad = SYNC.replace(
            "cluster.replication = \"async\"",
            "cluster.replication = \"eventually\"",
        );
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(
            e.contains("w.toml") && e.contains("counterpart") && e.contains("eventually"),
            "{e}"
        );
        let bad = SYNC.replace("cluster.replication = \"async\"", "cluster.n = 3");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("counterpart") && e.contains("leaderless"), "{e}");
        let bad = SYNC.replace(
            "[counterpart.set]",
            "unset = [\"cluster.nope\"]\n[counterpart.set]",
        );
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("cluster.nope"), "{e}");
        let typo = Workload::parse("w.toml", &SYNC.replace("[counterpart.set]", "[counterpart.sett]"));
        assert!(
            typo.unwrap_err().to_string().contains("sett"),
            "unknown fields are refused"
        );
    }
}
