//! The transactional models (list-append, rw-register) on `jepsen.independent` histories: each
//! op's value a tuple `[key transaction]`. Each independent key's transactions are checked as a
//! history of their own (`faultline_checkers::history::split_independent`), and the reports are
//! folded into one: per consistency model the worst verdict and every anomaly kind behind it,
//! each explained anomaly's steps opened with the key it belongs to, counts summed, and the
//! verdict of every key in `details.independent_keys`.

use faultline_checkers::history::History;
use faultline_checkers::report::{Report, Verdict};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Folds the reports of independent keys (in key order) into one report.
pub fn combine(source: &History, reports: Vec<(Value, Report)>) -> Report {
    let verdict = reports
        .iter()
        .fold(Verdict::Valid, |v, (_, r)| v.worst(r.verdict));
    let checker = reports
        .first()
        .map_or("", |(_, r)| r.checker.as_str())
        .to_string();
    let model = reports.first().map_or("", |(_, r)| r.model.as_str()).to_string();
    let invalid: Vec<String> = reports
        .iter()
        .filter(|(_, r)| r.verdict == Verdict::Invalid)
        .map(|(k, _)| k.to_string())
        .collect();
    let mut summary = format!(
        "{} independent key{} checked one by one; {} invalid{}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        invalid.len(),
        if invalid.is_empty() {
            String::new()
        } else {
            format!(" ({})", invalid.join(", "))
        }
    );
    if let Some((k, r)) = reports.iter().find(|(_, r)| r.verdict == verdict) {
        summary += &format!("; key {k}: {}", r.summary);
    }
    let mut combined = Report::new(checker, model, verdict, summary);
    let mut models: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut per_key = Vec::new();
    let mut completion_only = false;
    for (key, report) in reports {
        per_key.push(json!({"key": key, "verdict": report.verdict, "summary": report.summary}));
        for mut a in report.anomalies {
            a.steps
                .insert(0, format!("In the transactions of independent key {key}:"));
            combined.anomalies.push(a);
        }
        for (name, v) in report.stats {
            if let Some(n) = v.as_u64() {
                let total = combined.stats.entry(name).or_insert(json!(0));
                *total = json!(total.as_u64().unwrap_or(0) + n);
            }
        }
        completion_only |= report.details["completion_only"].as_bool().unwrap_or(false);
        for field in ["anomaly_counts", "other_anomalies"] {
            for (kind, n) in report.details[field].as_object().into_iter().flatten() {
                *counts
                    .entry(field.to_string())
                    .or_default()
                    .entry(kind.clone())
                    .or_insert(0) += n.as_u64().unwrap_or(0);
            }
        }
        for m in report.details["models"].as_array().into_iter().flatten() {
            let name = m["model"].as_str().unwrap_or("?").to_string();
            let slot = match models.iter_mut().position(|(n, _)| *n == name) {
                Some(i) => &mut models[i].1,
                None => {
                    models.push((name.clone(), Map::new()));
                    let fresh = &mut models.last_mut().expect("just pushed").1;
                    fresh.insert("model".into(), json!(name));
                    fresh.insert("verdict".into(), json!(Verdict::Valid));
                    fresh
                }
            };
            merge_model(slot, m);
        }
    }
    let mut details = Map::new();
    details.insert(
        "models".into(),
        Value::Array(models.into_iter().map(|(_, m)| Value::Object(m)).collect()),
    );
    for (field, by_kind) in counts {
        details.insert(field, json!(by_kind));
    }
    details.entry("other_anomalies").or_insert(json!({}));
    details.insert("completion_only".into(), json!(completion_only));
    details.insert("independent_keys".into(), Value::Array(per_key));
    details.insert("source".into(), json!(source.source));
    combined.details = Value::Object(details);
    combined
}

/// Folds one key's verdict of a model into the combined one: the worse verdict, and the union of
/// its anomaly kinds and of the kinds it could not decide or check.
fn merge_model(into: &mut Map<String, Value>, from: &Value) {
    let verdict = |v: &Value| match v.as_str() {
        Some("invalid") => Verdict::Invalid,
        Some("unknown") => Verdict::Unknown,
        _ => Verdict::Valid,
    };
    let worst = verdict(&into["verdict"]).worst(verdict(&from["verdict"]));
    into.insert("verdict".into(), json!(worst));
    for list in ["anomalies", "inconclusive", "not_checked"] {
        let Some(add) = from[list].as_array() else {
            continue;
        };
        let have = into.entry(list).or_insert(json!([]));
        let items = have.as_array_mut().expect("a list");
        for item in add {
            if !items.contains(item) {
                items.push(item.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: Verdict, model_verdict: &str, kinds: &[&str]) -> Report {
        let mut r = Report::new("list-append", "serializable", verdict, format!("{verdict}"));
        r.details = json!({
            "models": [{"model": "serializable", "verdict": model_verdict, "anomalies": kinds}],
            "anomaly_counts": kinds.iter().map(|k| (k.to_string(), json!(1))).collect::<Map<_, _>>(),
            "other_anomalies": {},
            "completion_only": false,
        });
        r.stats.insert("transactions".into(), json!(3));
        r
    }

    #[test]
    fn the_worst_key_decides_and_every_anomaly_kind_is_kept() {
        let h = History::parse("t", "", faultline_checkers::history::Format::Jsonl).unwrap();
        let combined = combine(
            &h,
            vec![
                (json!(1), report(Verdict::Valid, "valid", &[])),
                (json!(2), report(Verdict::Invalid, "invalid", &["G1c"])),
                (json!(3), report(Verdict::Invalid, "invalid", &["G0", "G1c"])),
            ],
        );
        assert_eq!(combined.verdict, Verdict::Invalid);
        assert!(
            combined
                .summary
                .starts_with("3 independent keys checked one by one; 2 invalid (2, 3)")
        );
        let m = &combined.details["models"][0];
        assert_eq!(m["verdict"], "invalid");
        assert_eq!(m["anomalies"], json!(["G1c", "G0"]));
        assert_eq!(combined.details["anomaly_counts"]["G1c"], 2);
        assert_eq!(combined.stats["transactions"], 9);
        assert_eq!(combined.details["independent_keys"][0]["verdict"], "valid");
    }
}
