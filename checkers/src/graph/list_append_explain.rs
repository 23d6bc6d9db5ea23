//! Words for the edges inferred from list-append histories: why T1 < T2, citing the read or
//! the observed order that proves it ("T1 < T2 because T2 read T1's append of 1 to key 5").

use super::depgraph::kind;
use super::explain::Ctx;
use super::list_append::{ListIndex, kv, rw_targets};
use super::txn::MicroOp;

/// Why the edge `from -> to` of the given kind holds, in words, with the transactions named.
pub(crate) fn explain_edge(
    ctx: Ctx,
    index: &ListIndex,
    from: usize,
    to: usize,
    bit: u8,
    names: (&str, &str),
) -> String {
    let set = ctx.set;
    let (a, b) = names;
    match bit {
        kind::WR => {
            for r in index
                .reads
                .iter()
                .filter(|r| r.txn as usize == to && r.valid && r.view_len > 0)
            {
                let last = set.values(r.span)[r.view_len as usize - 1];
                if index.writer(r.key, last).is_some_and(|w| w.txn as usize == from) {
                    return format!(
                        "{a} < {b} because {b} read {a}'s append of {} to key {} ({b} read key {} as {})",
                        ctx.s(last),
                        ctx.s(r.key),
                        ctx.s(r.key),
                        ctx.span(r.span)
                    );
                }
            }
        }
        kind::RW => {
            for r in index.reads.iter().filter(|r| r.txn as usize == from && r.valid) {
                if rw_targets(index, set, r.key, r.view_len).contains(&(to as u32)) {
                    let missed = index.next_after(r.key, r.view_len).map(|(_, v)| v).or_else(|| {
                        set.mops(to).iter().find_map(|m| match *m {
                            MicroOp::Append { key, value } if key == r.key => Some(value),
                            _ => None,
                        })
                    });
                    let view = ctx.list(&set.values(r.span)[..r.view_len as usize]);
                    let which = if index.next_after(r.key, r.view_len).is_some() {
                        "the next version"
                    } else {
                        "an append never observed by any read, so made after every read that lacks it"
                    };
                    return format!(
                        "{a} < {b} because {a} read key {} as {view}, which does not include {b}'s append of {}, {which}",
                        ctx.s(r.key),
                        missed.map(|v| ctx.s(v)).unwrap_or_default()
                    );
                }
            }
        }
        kind::WW => {
            for m in set.mops(from) {
                let MicroOp::Append { key, value } = *m else {
                    continue;
                };
                let Some(order) = index.order(key) else { continue };
                let after = match index.pos.get(&kv(key, value)) {
                    Some(&p) => index.next_after(key, p + 1).map(|(_, v)| v),
                    None => None,
                };
                if let Some(v) = after
                    && index.writers[&kv(key, v)].txn as usize == to
                {
                    return format!(
                        "{a} < {b} because {b} appended {} to key {} after {a} appended {} (key {} was read as {})",
                        ctx.s(v),
                        ctx.s(key),
                        ctx.s(value),
                        ctx.s(key),
                        ctx.list(&order.longest)
                    );
                }
                if index.pos.contains_key(&kv(key, value)) && order.unobserved.contains(&(to as u32)) {
                    return format!(
                        "{a} < {b} because {a}'s append of {} to key {} was observed (key {} was read as {}) but {b}'s append to key {} never was, so it came later",
                        ctx.s(value),
                        ctx.s(key),
                        ctx.s(key),
                        ctx.list(&order.longest),
                        ctx.s(key)
                    );
                }
            }
        }
        _ => {}
    }
    format!("{a} < {b} ({} dependency)", kind::name(bit))
}
