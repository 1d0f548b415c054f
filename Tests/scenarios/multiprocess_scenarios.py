#!/usr/bin/env python3
"""Several `plughost` processes on one SQLite file: counts runs with errors and runs whose
stored clusters are silently wrong, per scenario (issue 12's table).

    python3 Tests/scenarios/multiprocess_scenarios.py --plughost .build/release/plughost --runs 10

"Wrong" is judged from the file itself, independently of plughost's code: after every process
has exited, no goal may be left pending, the live memory ids must be those the workloads leave,
and each goal's stored cluster assignments must equal the connected components of its stored
graph (concepts with count > 0; edges with co >= 2 or dep >= 1; a cluster's id is its smallest
member in UTF-8 byte order), computed here in Python.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def workload(tag, goals, n, seed, concepts=40):
    rng = random.Random(seed)
    ops, live = [], []
    for i in range(n):
        if live and rng.random() < 0.05:
            ops.append({"op": "forget", "id": live.pop(rng.randrange(len(live)))})
            continue
        goal = rng.choice(goals)
        cs = ["c%d" % min(concepts - 1, int(concepts ** rng.random()) - 1) for _ in range(2 + rng.randrange(4))]
        w = {"op": "write", "id": "%s-%d" % (tag, i), "goal": goal, "plugin": "p", "content": " ".join(cs), "concepts": cs}
        if rng.random() < 0.2:
            w["depends_on"] = [["c%d" % rng.randrange(concepts), cs[0]]]
        live.append(w["id"])
        ops.append(w)
    return ops


def live_ids(workloads):
    live = set()
    for ops in workloads:
        for o in ops:
            if o["op"] == "write":
                live.add(o["id"])
            else:
                live.discard(o["id"])
    return live


def save(ops, path):
    with open(path, "w") as f:
        f.write("\n".join(json.dumps(o) for o in ops) + "\n")


def key(s):
    return s.encode("utf-8")


def check_file(db, expected_ids=None):
    """Returns a list of what is wrong with the file's stored clusters (empty: exact)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    problems = []
    pending = [r[0] for r in con.execute("SELECT goal FROM pending_clustering")]
    if pending:
        problems.append("pending: %s" % pending)
    if expected_ids is not None:
        ids = {r[0] for r in con.execute("SELECT id FROM memories")}
        if ids != expected_ids:
            problems.append("memories: %d missing, %d extra" % (len(expected_ids - ids), len(ids - expected_ids)))
    goals = {r[0] for r in con.execute("SELECT DISTINCT goal FROM concepts")} | {r[0] for r in con.execute("SELECT DISTINCT goal FROM clusters")}
    for g in sorted(goals):
        held = {r[0]: r[1] for r in con.execute("SELECT concept, count FROM concepts WHERE goal = ? AND count > 0", (g,))}
        parent = {c: c for c in held}

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b, co, dep in con.execute(
                "SELECT ca.concept, cb.concept, e.co, e.dep FROM edge_counts e JOIN concepts ca ON ca.id = e.a "
                "JOIN concepts cb ON cb.id = e.b WHERE ca.goal = ?", (g,)):
            if (co >= 2 or dep >= 1) and a in held and b in held:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[ra] = rb
        smallest = {}
        for c in held:
            r = find(c)
            if r not in smallest or key(c) < key(smallest[r]):
                smallest[r] = c
        model = {c: smallest[find(c)] for c in held}
        stored = {r[0]: r[1] for r in con.execute("SELECT concept, cluster FROM clusters WHERE goal = ?", (g,))}
        if stored != model:
            bad = sum(1 for c in set(model) | set(stored) if model.get(c) != stored.get(c))
            problems.append("goal %s: %d of %d assignments wrong (%d clusters expected, %d stored)" % (
                g, bad, len(model), len(set(model.values())), len(set(stored.values()))))
    con.close()
    return problems


def start(plughost, args, cwd):
    return subprocess.Popen([plughost] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs, timeout=300):
    errors = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        if p.returncode != 0:
            errors.append("rc %d: %s" % (p.returncode, err.strip().splitlines()[-1] if err.strip() else ""))
    return errors


def replayers(plughost, d, run, count):
    db = os.path.join(d, "m.sqlite")
    wls = [workload("r%dp%d" % (run, p), ["alpha", "beta", "gamma"], 3000, run * 10 + p) for p in range(count)]
    files = []
    for p, ops in enumerate(wls):
        files.append(os.path.join(d, "w%d.jsonl" % p))
        save(ops, files[-1])
    errors = finish([start(plughost, ["memory", "replay", f, "--db", db], d) for f in files])
    return errors, check_file(db, live_ids(wls))


def writer_plus_short(plughost, d, run):
    db = os.path.join(d, "m.sqlite")
    main = workload("w%d" % run, ["alpha", "beta"], 8000, 100 + run)
    save(main, os.path.join(d, "w.jsonl"))
    w = start(plughost, ["memory", "replay", "w.jsonl", "--db", db], d)
    wls, errors, k = [main], [], 0
    while w.poll() is None and k < 40:
        s = workload("s%d-%d" % (run, k), ["other"], 12, 300 + k)
        save(s, os.path.join(d, "s%d.jsonl" % k))
        errs = finish([start(plughost, ["memory", "replay", "s%d.jsonl" % k, "--db", db], d)])
        errors += errs
        if not errs:
            wls.append(s)
        k += 1
    errors += finish([w])
    return errors, check_file(db, live_ids(wls))


def writer_plus_reader(plughost, d, run, reader):
    db = os.path.join(d, "m.sqlite")
    first = workload("f%d" % run, ["alpha"], 20, 7)
    save(first, os.path.join(d, "f.jsonl"))
    errors = finish([start(plughost, ["memory", "replay", "f.jsonl", "--db", db], d)])
    main = workload("w%d" % run, ["alpha", "beta"], 8000, 200 + run)
    save(main, os.path.join(d, "w.jsonl"))
    w = start(plughost, ["memory", "replay", "w.jsonl", "--db", db], d)
    while w.poll() is None:
        errors += finish([start(plughost, reader + ["--db", db], d)])
    errors += finish([w])
    return errors, check_file(db, live_ids([first, main]))


def two_pipelines(plughost, d, run):
    pipeline = os.path.join(REPO, "examples/pipelines/quickstart.yaml")
    errors = finish([start(plughost, ["run", pipeline, "--quiet"], d) for _ in range(2)])
    db = os.path.join(d, ".plughost/memory.sqlite")
    if not os.path.exists(db):
        return errors, ["no database"]
    return errors, check_file(db)


SCENARIOS = {
    "2x replay, same goals": lambda b, d, r: replayers(b, d, r, 2),
    "3x replay, same goals": lambda b, d, r: replayers(b, d, r, 3),
    "writer + short writes to another goal": writer_plus_short,
    "writer + stats loop": lambda b, d, r: writer_plus_reader(b, d, r, ["stats"]),
    "writer + memory clusters loop": lambda b, d, r: writer_plus_reader(b, d, r, ["memory", "clusters"]),
    "2x plughost run quickstart, fresh folder": two_pipelines,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plughost", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--only", default=None, help="substring of a scenario name")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    plughost = os.path.abspath(a.plughost)
    print("| scenario | runs | runs with errors | runs with wrong stored clusters | runs leaving a goal pending | runs losing memories without an error |")
    print("|---|---|---|---|---|---|")
    for name, fn in SCENARIOS.items():
        if a.only and a.only not in name:
            continue
        err_runs = wrong_runs = pending_runs = lost_runs = 0
        for r in range(a.runs):
            d = tempfile.mkdtemp(prefix="ph-mp-")
            try:
                errors, problems = fn(plughost, d, r)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            err_runs += bool(errors)
            wrong_runs += any(p.startswith("goal ") for p in problems)
            pending_runs += any(p.startswith("pending") for p in problems)
            # Memories a failed process never wrote are explained by its error.
            lost_runs += not errors and any(p.startswith("memories") for p in problems)
            if a.verbose and (errors or problems):
                print("  %s run %d: %s %s" % (name, r, errors[:2], problems[:3]), file=sys.stderr)
        print("| %s | %d | %d | %d | %d | %d |" % (name, a.runs, err_runs, wrong_runs, pending_runs, lost_runs), flush=True)


if __name__ == "__main__":
    main()
