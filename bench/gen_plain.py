#!/usr/bin/env python3
"""Generates large JSON Lines histories for the plain models (set, set-full, counter, bank,
unordered-queue, long-fork) from a simulated correct system with concurrent processes, for
BENCHMARKS.md. The queue's history ends with a drain of what is left; long-fork writes fresh
keys and reads groups of 2 keys (Jepsen's default group size) from one store.

usage: bench/gen_plain.py MODEL OPS OUT [SEED]
       (MODEL: set, set-full, counter, counter-mixed, bank, unordered-queue, long-fork)
"""
import json, random, sys

def main():
    model, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    procs, keys = 10, (n // 100 if model == "set-full" else 1)
    state = {}
    busy = {}
    ids = list(range(procs))
    idx = 0
    started = 0
    w = open(out, "w")
    def emit(p, kind, f, v, key):
        nonlocal idx
        e = {"index": idx, "time": idx * 1000, "process": p, "type": kind, "f": f, "value": v}
        if key is not None:
            e["key"] = key
        w.write(json.dumps(e, separators=(",", ":")) + "\n")
        idx += 1
    written = []
    def new_op():
        key = rng.randrange(keys) if keys > 1 else None
        if model == "unordered-queue":
            return ("enqueue", started, key) if rng.random() < 0.5 else ("dequeue", None, key)
        if model == "long-fork":
            if not written or rng.random() < 0.5:
                written.append(len(written))
                return ("write", [["w", written[-1], 1]], key)
            k = rng.choice(written[-20:])
            group = [k - k % 2, k - k % 2 + 1]
            rng.shuffle(group)
            return ("read", [["r", g, None] for g in group], key)
        if model in ("set", "set-full"):
            if model == "set" and started == n - 1:
                return ("read", None, key)
            if model == "set" or rng.random() < 0.5:
                return ("add", started, key)
            return ("read", None, key)
        if model.startswith("counter"):
            if rng.random() < 0.5:
                return ("add", 1 if model == "counter" else rng.randrange(5), key)
            return ("read", None, key)
        if rng.random() < 0.5:
            a = rng.randrange(8)
            return ("transfer", {"from": a, "to": (a + 1 + rng.randrange(7)) % 8, "amount": 1 + rng.randrange(5)}, key)
        return ("read", None, key)
    def complete(f, v, key):
        st = state.setdefault(key, {"set": [], "n": 0, "bal": [100] * 8, "kv": {}})
        if model == "unordered-queue" and f == "dequeue":
            q = st["set"]
            if not q:
                return "ok", None
            i = rng.randrange(len(q))
            q[i], q[-1] = q[-1], q[i]
            return "ok", q.pop()
        if model == "long-fork" and f == "read":
            return "ok", [["r", k, st["kv"].get(k)] for _, k, _ in v]
        if model == "long-fork":
            outcome = "info" if rng.random() < 0.001 else "ok"
            st["kv"][v[0][1]] = 1
            return outcome, v
        if f == "read":
            if model == "set" or model == "set-full":
                return "ok", list(st["set"])
            if model.startswith("counter"):
                return "ok", st["n"]
            return "ok", {str(i): b for i, b in enumerate(st["bal"])}
        outcome = "info" if rng.random() < 0.001 else "ok"
        if f == "add" and model.startswith("set") or f == "enqueue":
            st["set"].append(v)
        elif f == "add":
            st["n"] += v
        else:
            st["bal"][v["from"]] -= v["amount"]
            st["bal"][v["to"]] += v["amount"]
        return outcome, v
    while started < n or busy:
        p = rng.randrange(procs)
        if p in busy:
            f, v, key = busy.pop(p)
            outcome, r = complete(f, v, key)
            emit(ids[p], outcome, f, r, key)
            if outcome == "info":
                ids[p] += procs
        elif started < n and (model != "set" or started < n - 1 or not busy):
            f, v, key = new_op()
            emit(ids[p], "invoke", f, v, key)
            busy[p] = (f, v, key)
            started += 1
    if model == "unordered-queue":
        st = state.get(None, {"set": []})
        emit(procs * 1000000, "invoke", "drain", None, None)
        emit(procs * 1000000, "ok", "drain", list(st["set"]), None)
    w.close()

main()
