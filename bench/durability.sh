#!/usr/bin/env bash
# Durability campaign (issue 11): single-leader list-append under ~110 leader kills, once with
# sync and once with semi-sync replication; every key ever written is read back at the end.
# Prints, per run: the kills (and how many hit a node that claimed leadership), the acknowledged
# appends, the keys read back, and the acknowledged appends missing from their key's final read
# (lost), next to the list-append checker's verdict. Exits 1 if any acknowledged append is lost
# or a run missed its expected verdict.
#
#   bench/durability.sh                      # both workloads, as written (280 s each)
#   bench/durability.sh --time-limit 20s     # a short smoke run (extra args go to faultline run)
#
# Not a CI test: it takes about 10 minutes. Run from the repository root after
# `cargo build --release`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/faultline"
out=${DURABILITY_OUT:-$(mktemp -d /tmp/faultline-durability.XXXXXX)}
status=0

# DURABILITY_WORKLOADS: other workload files to run instead (e.g. an async variant, to see the
# script count losses).
workloads=${DURABILITY_WORKLOADS:-"$root/bench/durability-sync.toml $root/bench/durability-semi-sync.toml"}
for file in $workloads; do
    workload=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$file")
    echo "== $workload (runs in $out)"
    rc=0
    "$bin" run "$file" --out "$out" --check-expectation "$@" \
        >"$out/$workload.log" 2>&1 || rc=$?
    grep -E '^(Verdict|Reproduce)' "$out/$workload.log" || true
    run=$(ls -d "$out"/*-"$workload" | tail -n 1)
    python3 - "$run" <<'EOF' || status=1
import json, sys

run = sys.argv[1]
kills = leader_kills = 0
acked = {}            # key -> set of acknowledged appended values
last_read = {}        # key -> (index, elements) of the last ok read
with open(f"{run}/history.jsonl") as f:
    for line in f:
        e = json.loads(line)
        if e.get("process") == "nemesis":
            if e.get("f") == "kill":
                kills += 1
                if "note" not in e.get("value", {}):
                    leader_kills += 1
            continue
        if e.get("type") != "ok" or e.get("f") != "txn":
            continue
        for f_, k, v in e["value"]:
            if f_ == "append":
                acked.setdefault(k, set()).add(json.dumps(v))
            elif f_ == "r":
                last_read[k] = (e["index"], {json.dumps(x) for x in (v or [])})
appends = sum(len(v) for v in acked.values())
unread = [k for k in acked if k not in last_read]
lost = sum(len(vals - last_read.get(k, (0, set()))[1]) for k, vals in acked.items())
results = json.load(open(f"{run}/results.json"))
print(f"kills: {kills} ({leader_kills} of the node that claimed leadership, "
      f"{kills - leader_kills} with no leader known)")
print(f"acknowledged appends: {appends} over {len(acked)} keys; keys never read back: {len(unread)}")
print(f"acknowledged appends missing from their key's final read (lost): {lost}")
print(f"checker verdict: {results['verdict']} (expected {results['expected']}); ops: {results['ops']}")
sys.exit(0 if lost == 0 and not unread and results["expectation_met"] else 1)
EOF
    [ "$rc" -eq 0 ] || status=1
done
echo "runs kept in $out"
exit $status
