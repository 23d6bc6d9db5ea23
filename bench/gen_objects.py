#!/usr/bin/env python3
"""Generates large valid JSON Lines histories for the object models (mutex, fifo-queue,
multi-register) from a simulated linearizable system, for BENCHMARKS.md.

Each of PROCS processes invokes an op, the system applies it atomically at some later moment
(its linearization point), and the process completes it later still; the steps of different
processes interleave at random. About INFO_RATE of the ops time out (`info`), half of them
having taken effect and half not; a process whose op timed out continues under a new id.

usage: bench/gen_objects.py MODEL OPS OUT [SEED] [PROCS]   (MODEL: mutex, fifo-queue, multi-register)
"""
import json, random, sys

import os
INFO_RATE = float(os.environ.get("INFO_RATE", "0.005"))
# Which functions may time out (default all), e.g. INFO_FS=enqueue.
INFO_FS = os.environ.get("INFO_FS", "")

def main():
    model, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    procs = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    w = open(out, "w")
    idx = 0
    def emit(p, kind, f, v):
        nonlocal idx
        e = {"index": idx, "time": idx * 1000, "process": p, "type": kind, "f": f, "value": v}
        w.write(json.dumps(e, separators=(",", ":")) + "\n")
        idx += 1

    held_by = [None]          # mutex: which process slot holds the lock
    queue = []                # fifo-queue: items, head first
    regs = {}                 # multi-register: register -> value
    next_value = [0]
    def fresh():
        next_value[0] += 1
        return next_value[0]

    def invoke(slot):
        if model == "mutex":
            f = "release" if held_by[0] == slot else "acquire"
            return f, None
        if model == "fifo-queue":
            if rng.random() < 0.45:
                return "enqueue", fresh()
            return "dequeue", None
        txn = []
        for _ in range(rng.randint(1, 3)):
            k = "k%d" % rng.randrange(5)
            if rng.random() < 0.5:
                txn.append(["read", k, None])
            else:
                txn.append(["write", k, fresh()])
        return "txn", txn

    def apply(slot, f, v):
        """Applies the op now; returns (type, completion value)."""
        if model == "mutex":
            if f == "acquire":
                if held_by[0] is None:
                    held_by[0] = slot
                    return "ok", None
                return "fail", None
            held_by[0] = None
            return "ok", None
        if model == "fifo-queue":
            if f == "enqueue":
                queue.append(v)
                return "ok", v
            return "ok", (queue.pop(0) if queue else None)
        done = []
        for mf, k, mv in v:
            if mf == "write":
                regs[k] = mv
                done.append([mf, k, mv])
            else:
                done.append([mf, k, regs.get(k)])
        return "ok", done

    ids = list(range(procs))
    # Per slot: None (idle), or [phase, f, value, result] with phase "invoked" or "applied".
    busy = [None] * procs
    started = 0
    while started < n or any(busy):
        s = rng.randrange(procs)
        op = busy[s]
        if op is None:
            if started < n:
                f, v = invoke(s)
                emit(ids[s], "invoke", f, v)
                busy[s] = ["invoked", f, v, None]
                started += 1
            continue
        phase, f, v, result = op
        if phase == "invoked":
            if rng.random() < INFO_RATE / 2 and not (model == "mutex" and f == "release") and f in (INFO_FS or f):
                # Timed out before taking effect. (A mutex release always takes effect, so the
                # lock is never held by a process that is gone.)
                emit(ids[s], "info", f, v)
                ids[s] += procs
                busy[s] = None
                continue
            op[0], op[3] = "applied", apply(s, f, v)
            continue
        kind, value = result
        if kind == "ok" and rng.random() < INFO_RATE / 2 and not (model == "mutex" and f == "acquire") and f in (INFO_FS or f):
            # Took effect, then timed out.
            emit(ids[s], "info", f, v)
            ids[s] += procs
        else:
            emit(ids[s], kind, f, value)
        busy[s] = None
    w.close()

if __name__ == "__main__":
    main()
