//! The one-line summary and the machine-readable details of a linearizability report: which
//! keys failed, which were decided linearizable, which were left undecided and why (a budget
//! ran out, or the check stopped at the first failing key).

use super::{GaveUp, KeyVerdict, LinearOptions, key_label};
use crate::report::Verdict;
use serde_json::{Value, json};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Up to five key names, then "and N more".
fn names<'a>(keys: impl Iterator<Item = &'a KeyVerdict>) -> String {
    let keys: Vec<&KeyVerdict> = keys.collect();
    let mut shown: Vec<String> = keys.iter().take(5).map(|k| key_label(&k.key)).collect();
    if keys.len() > 5 {
        shown.push(format!("and {} more", keys.len() - 5));
    }
    shown.join(", ")
}

/// Why keys are undecided, in words, for the reasons among `gave_up` (budgets only).
fn reasons(unknown: &[&KeyVerdict], opts: &LinearOptions) -> String {
    let has = |why: GaveUp| unknown.iter().any(|k| k.gave_up == Some(why));
    let mut why: Vec<String> = Vec::new();
    if has(GaveUp::Deadline) {
        let budget = opts.timeout.map_or(0.0, |t| t.as_secs_f64());
        why.push(format!("the {budget} s time budget ran out"));
    }
    if has(GaveUp::Memory) {
        let mib = opts.max_search_memory >> 20;
        why.push(format!("the search outgrew its {mib} MiB memory budget"));
    }
    if has(GaveUp::BadWitness) {
        why.push("the search's linearization failed its own check (a bug: please report it)".to_string());
    }
    if has(GaveUp::Steps) {
        why.push("the search ran out of steps".to_string());
    }
    why.join(" and ")
}

/// The report's one-line summary.
pub(super) fn summary(verdicts: &[KeyVerdict], n_ops: usize, opts: &LinearOptions) -> String {
    let keys = plural(verdicts.len(), "key", "keys");
    let with = |v: Verdict| verdicts.iter().filter(move |k| k.verdict == v);
    let failed: Vec<&KeyVerdict> = with(Verdict::Invalid).collect();
    let valid: Vec<&KeyVerdict> = with(Verdict::Valid).collect();
    let stopped: Vec<&KeyVerdict> = verdicts
        .iter()
        .filter(|k| k.gave_up == Some(GaveUp::Stopped))
        .collect();
    let unknown: Vec<&KeyVerdict> = verdicts
        .iter()
        .filter(|k| k.verdict == Verdict::Unknown && k.gave_up != Some(GaveUp::Stopped))
        .collect();
    if !failed.is_empty() {
        let mut s = format!(
            "not linearizable: {} of {keys} failed ({})",
            failed.len(),
            names(failed.iter().copied())
        );
        if stopped.is_empty() && unknown.is_empty() {
            return s;
        }
        let mut rest = Vec::new();
        if !valid.is_empty() {
            rest.push(format!("{} linearizable", plural(valid.len(), "key", "keys")));
        }
        if !unknown.is_empty() {
            rest.push(format!(
                "{} undecided ({}: {})",
                unknown.len(),
                names(unknown.iter().copied()),
                reasons(&unknown, opts)
            ));
        }
        if !stopped.is_empty() {
            rest.push(format!(
                "{} not searched ({}): the check stops at the first failing key",
                stopped.len(),
                names(stopped.iter().copied())
            ));
        }
        s.push_str("; ");
        s.push_str(&rest.join(", "));
        s
    } else if !unknown.is_empty() {
        let rest = match valid.len() {
            0 => String::new(),
            n => format!("; the other {} linearizable", plural(n, "key is", "keys are")),
        };
        format!(
            "unknown: {} before {} of {keys} could be decided ({}){rest}",
            reasons(&unknown, opts),
            unknown.len(),
            names(unknown.iter().copied())
        )
    } else if n_ops == 0 {
        "linearizable: no operations to check".to_string()
    } else {
        format!(
            "linearizable: {keys}, {}",
            plural(n_ops, "operation", "operations")
        )
    }
}

/// The report's details: the options that matter for reading it, and the keys by outcome. The
/// linearizable keys are listed only when some key is undecided (otherwise they are all the
/// keys not listed as invalid).
pub(super) fn details(verdicts: &[KeyVerdict], opts: &LinearOptions) -> Value {
    let keys_where = |f: &dyn Fn(&KeyVerdict) -> bool| -> Vec<&Option<Value>> {
        verdicts.iter().filter(|k| f(k)).map(|k| &k.key).collect()
    };
    let stopped = |k: &KeyVerdict| k.gave_up == Some(GaveUp::Stopped);
    let mut details = json!({
        "initial": opts.initial,
        "failed_cas": opts.failed_cas.name(),
        "all_keys": opts.all_keys,
        "invalid_keys": keys_where(&|k| k.verdict == Verdict::Invalid),
        "unknown_keys": keys_where(&|k| k.verdict == Verdict::Unknown && !stopped(k)),
        "not_searched_keys": keys_where(&stopped),
    });
    if verdicts.iter().any(|k| k.verdict == Verdict::Unknown) {
        details["linearizable_keys"] = json!(keys_where(&|k| k.verdict == Verdict::Valid));
        let reasons: Vec<Value> = verdicts
            .iter()
            .filter_map(|k| k.gave_up.map(|why| json!({"key": k.key, "reason": why.name()})))
            .collect();
        details["undecided"] = json!(reasons);
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, verdict: Verdict, gave_up: Option<GaveUp>) -> KeyVerdict {
        KeyVerdict {
            key: Some(json!(name)),
            verdict,
            gave_up,
            ops: 10,
            states: 0,
        }
    }

    #[test]
    fn a_stopped_check_says_what_it_decided_and_what_it_did_not_search() {
        let opts = LinearOptions::default();
        let verdicts = [
            key("k1", Verdict::Valid, None),
            key("k2", Verdict::Invalid, None),
            key("k3", Verdict::Unknown, Some(GaveUp::Stopped)),
            key("k4", Verdict::Unknown, Some(GaveUp::Stopped)),
        ];
        assert_eq!(
            summary(&verdicts, 40, &opts),
            "not linearizable: 1 of 4 keys failed (k2); 1 key linearizable, 2 not searched (k3, k4): the check stops at the first failing key"
        );
        let d = details(&verdicts, &opts);
        assert_eq!(d["invalid_keys"], json!(["k2"]));
        assert_eq!(d["linearizable_keys"], json!(["k1"]));
        assert_eq!(d["not_searched_keys"], json!(["k3", "k4"]));
        assert_eq!(d["unknown_keys"], json!([]));
        assert_eq!(d["undecided"][0], json!({"key": "k3", "reason": "not-searched"}));
    }

    #[test]
    fn budgets_and_complete_checks() {
        let opts = LinearOptions::default();
        let verdicts = [
            key("k1", Verdict::Valid, None),
            key("k2", Verdict::Unknown, Some(GaveUp::Deadline)),
        ];
        assert_eq!(
            summary(&verdicts, 20, &opts),
            "unknown: the 60 s time budget ran out before 1 of 2 keys could be decided (k2); the other 1 key is linearizable"
        );
        let valid = [key("k1", Verdict::Valid, None)];
        assert_eq!(summary(&valid, 10, &opts), "linearizable: 1 key, 10 operations");
        assert!(details(&valid, &opts).get("linearizable_keys").is_none());
        let many: Vec<KeyVerdict> = (0..7)
            .map(|i| key(&format!("k{i}"), Verdict::Invalid, None))
            .collect();
        assert_eq!(
            summary(&many, 70, &opts),
            "not linearizable: 7 of 7 keys failed (k0, k1, k2, k3, k4, and 2 more)"
        );
    }
}
