//! Jepsen's bank checker: clients `:transfer {:from a :to b :amount n}` between accounts and
//! `:read` every balance at once (`{account balance}`). Transfers move money, never make or
//! destroy it, so every `ok` read must show the same total: the `total` given, or else the
//! first read's (the report says which). A read with an account missing or extra (against the
//! first read's accounts), a nil balance, or (unless negative balances are allowed) a negative
//! balance is also an anomaly. Balances are exact integers, up to 128 bits.

use super::set::{capitalise, keep_explained};
use super::{by_key, describe, int_json, integer};
use crate::history::{History, HistoryError, Operation, Outcome};
use crate::report::{Anomaly, Report, Verdict};
use serde_json::{Map, Value, json};

/// A read whose balances do not add up to the total.
pub const WRONG_TOTAL: &str = "wrong-total";
/// A negative balance (when not allowed).
pub const NEGATIVE_VALUE: &str = "negative-value";
/// A balance read as nil.
pub const NIL_BALANCE: &str = "nil-balance";
/// A read naming other accounts than the first read.
pub const UNEXPECTED_KEY: &str = "unexpected-key";

/// How to judge a bank history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankOptions {
    /// The total every read must show; `None`: the first `ok` read's.
    pub total: Option<i128>,
    /// Balances may go below zero.
    pub negative_balances: bool,
}

/// Checks a bank history (see the module documentation). Ops are grouped by key when the
/// history names keys (one bank per key).
pub fn check_bank(history: &History, opts: &BankOptions) -> Result<Report, HistoryError> {
    let mut anomalies = Vec::new();
    let (mut reads, mut transfers, mut bad) = (0usize, 0usize, 0usize);
    let mut totals_assumed = Vec::new();
    let mut explained: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
    for (key, ops) in by_key(history) {
        transfers += ops.iter().filter(|o| o.f == "transfer").count();
        let mut first: Option<(&Operation, Vec<&String>, i128)> = None;
        for op in ops
            .iter()
            .copied()
            .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        {
            reads += 1;
            let pos = op.complete.unwrap_or(op.invoke);
            let Value::Object(balances) = history.value(op) else {
                return Err(history.error_at(
                    pos,
                    format!(
                        "a bank read must return a map of account to balance, found {}",
                        crate::history::quote_json(history.value(op), crate::history::QUOTE_LIMIT)
                    ),
                ));
            };
            let mut found = Vec::new();
            let (total, nils) = sum(history, pos, balances)?;
            let mut accounts: Vec<&String> = balances.keys().collect();
            accounts.sort();
            if !nils.is_empty() {
                found.push((
                    NIL_BALANCE,
                    format!("Account(s) {} had a nil balance.", nils.join(", ")),
                    json!({"accounts": nils}),
                ));
            }
            if !opts.negative_balances {
                let negative: Vec<&String> = balances
                    .iter()
                    .filter(|(_, b)| b.as_number().is_some_and(|n| n.to_string().starts_with('-')))
                    .map(|(a, _)| a)
                    .collect();
                if !negative.is_empty() {
                    let names: Vec<&str> = negative.iter().map(|s| s.as_str()).collect();
                    found.push((
                        NEGATIVE_VALUE,
                        format!("Account(s) {} had a negative balance, and negative balances are not allowed (--negative-balances allows them).", names.join(", ")),
                        json!({"accounts": names}),
                    ));
                }
            }
            match &first {
                None => {
                    if opts.total.is_none() {
                        totals_assumed.push(
                            json!({"key": key, "total": int_json(total), "read": history.events[pos].index}),
                        );
                    }
                    first = Some((op, accounts.clone(), total));
                }
                Some((first_op, first_accounts, _)) if *first_accounts != accounts => {
                    found.push((
                        UNEXPECTED_KEY,
                        format!(
                            "It names the accounts {}, but the first read ({}) named {}: a read must see every account, and no others.",
                            list(&accounts),
                            describe(history, first_op),
                            list(first_accounts)
                        ),
                        json!({"accounts": accounts, "expected": first_accounts}),
                    ));
                }
                Some(_) => {}
            }
            let (expected, source) = match (opts.total, &first) {
                (Some(t), _) => (t, "the total given".to_string()),
                (None, Some((f, _, t))) => (*t, format!("the first read's total ({})", describe(history, f))),
                (None, None) => (total, String::new()),
            };
            if nils.is_empty() && total != expected {
                found.push((
                    WRONG_TOTAL,
                    format!("They add up to {total}, but transfers only move money: every read must total {expected}, {source}."),
                    json!({"total": int_json(total), "expected": int_json(expected)}),
                ));
            }
            bad += found.len();
            // Explanations past the first few of a kind are only counted.
            found.retain(|(kind, _, _)| {
                let n = explained.entry(*kind).or_insert(0);
                *n += 1;
                *n <= super::EXPLAINED
            });
            if found.is_empty() {
                continue;
            }
            let what = format!(
                "{}, read the balances {}",
                capitalise(&describe(history, op)),
                crate::history::quote_json(history.value(op), crate::history::QUOTE_LIMIT)
            );
            for (kind, why, details) in found {
                let events = [Some(op.invoke), op.complete]
                    .into_iter()
                    .flatten()
                    .map(|p| history.events[p].index)
                    .collect();
                anomalies.push(Anomaly {
                    kind: kind.into(),
                    key: key.clone(),
                    steps: vec![format!("{what}."), why],
                    events,
                    details,
                });
            }
        }
    }
    let verdict = if bad > 0 { Verdict::Invalid } else { Verdict::Valid };
    let summary = if bad > 0 {
        format!("{bad} anomalies in {reads} reads")
    } else {
        format!("every read shows the total, no bad balance ({reads} reads, {transfers} transfers)")
    };
    let mut report = Report::new("bank", "bank", verdict, summary);
    keep_explained(&mut anomalies);
    report.anomalies = anomalies;
    report.stats.insert("reads".into(), json!(reads));
    report.stats.insert("transfers".into(), json!(transfers));
    report.stats.insert("errors".into(), json!(bad));
    report.details = json!({
        "total": opts.total.map(int_json),
        "totals_from_first_read": totals_assumed,
        "negative_balances_allowed": opts.negative_balances,
    });
    Ok(report)
}

/// The sum of the non-nil balances, and the accounts with a nil balance.
fn sum(
    history: &History,
    pos: usize,
    balances: &Map<String, Value>,
) -> Result<(i128, Vec<String>), HistoryError> {
    let mut total: i128 = 0;
    let mut nils = Vec::new();
    for (account, b) in balances {
        if b.is_null() {
            nils.push(account.clone());
            continue;
        }
        let n = integer(history, pos, b, &format!("the balance of account {account}"))?;
        total = total
            .checked_add(n)
            .ok_or_else(|| history.error_at(pos, "the balances' sum overflows 128 bits"))?;
    }
    Ok((total, nils))
}

fn list(accounts: &[&String]) -> String {
    format!(
        "[{}]",
        accounts.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    )
}
