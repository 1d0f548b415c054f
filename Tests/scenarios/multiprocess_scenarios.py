#!/usr/bin/env python3
"""Several `plughost` processes on one SQLite file: counts runs with errors and runs whose
stored clusters are silently wrong, per scenario (issue 12's table).

    python3 Tests/scenarios/multiprocess_scenarios.py --plughost .build/release/plughost --runs 10

"Wrong" is judged from the file itself, independently of plughost's code: after every process
has exited, no goal may be left pending, the live memory ids must be those the workloads leave,
and each goal's stored cluster assignments must equal the clusters of the memory model
(version 2, docs/memory-model.md) over its stored graph: concepts with count > 0, edges with
co >= theta or dep >= 1 weighted co + dep, the deterministic Louvain run in exact integers, each
final community split into its connected parts, a cluster's id its smallest member in UTF-8 byte
order. The Louvain here is written in Python from the model's text, independently of plughost's
code (`louvain_clusters`).
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


def stored_theta(con):
    """The clustering threshold theta the file was written with (2, the default, when the file
    does not record one)."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in sorted(tables):
        cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]
        if "theta" in cols:
            row = con.execute("SELECT theta FROM %s LIMIT 1" % table).fetchone()
            if row is not None and row[0] is not None:
                return int(row[0])
        if "key" in cols and "value" in cols:
            row = con.execute("SELECT value FROM %s WHERE key = 'theta'" % table).fetchone()
            if row is not None:
                return int(row[0])
    return 2


def louvain_communities(n, edges):
    """Steps 1-3 of the model's deterministic Louvain over nodes 0..n-1 and edges (a, b, w)
    between distinct nodes: the final community label of each node. Python integers are exact."""
    nb = [dict() for _ in range(n)]  # nb[i][j]: weight between distinct nodes i and j
    loop = [0] * n  # self-loop weights
    for a, b, w in edges:
        nb[a][b] = nb[a].get(b, 0) + w
        nb[b][a] = nb[b].get(a, 0) + w
    node = list(range(n))  # level-0 node -> current-level node
    while True:
        count = len(loop)
        k = [sum(nb[i].values()) + 2 * loop[i] for i in range(count)]
        two_m = sum(k)
        if two_m == 0:
            break
        comm = list(range(count))
        tot = list(k)
        moved_level = False
        while True:
            moved_pass = False
            for i in range(count):
                ci = comm[i]
                tot[ci] -= k[i]
                k_ic = {}
                for j, w in nb[i].items():
                    k_ic[comm[j]] = k_ic.get(comm[j], 0) + w
                best, best_gain = ci, two_m * k_ic.get(ci, 0) - k[i] * tot[ci]
                for c in sorted(k_ic):
                    gain = two_m * k_ic[c] - k[i] * tot[c]
                    if gain > best_gain:
                        best, best_gain = c, gain
                comm[i] = best
                tot[best] += k[i]
                if best != ci:
                    moved_pass = moved_level = True
            if not moved_pass:
                break
        if not moved_level:
            break
        number = {c: x for x, c in enumerate(sorted(set(comm)))}
        next_nb = [dict() for _ in number]
        next_loop = [0] * len(number)
        for i in range(count):
            ci = number[comm[i]]
            next_loop[ci] += loop[i]
            for j, w in nb[i].items():
                if i < j:
                    cj = number[comm[j]]
                    if ci == cj:
                        next_loop[ci] += w
                    else:
                        next_nb[ci][cj] = next_nb[ci].get(cj, 0) + w
                        next_nb[cj][ci] = next_nb[cj].get(ci, 0) + w
        node = [number[comm[node[x]]] for x in range(n)]
        nb, loop = next_nb, next_loop
    return node


def louvain_clusters(concepts, edges):
    """The model's clusters of one goal: concepts numbered in UTF-8 byte order, the Louvain's
    communities split into the connected parts of their induced graphs; each cluster sorted in
    byte order, the clusters by their first member."""
    keys = sorted(set(concepts), key=key)
    number = {c: i for i, c in enumerate(keys)}
    pairs = [(number[a], number[b], w) for a, b, w in edges]
    community = louvain_communities(len(keys), pairs)
    adjacent = [[] for _ in keys]
    for a, b, _ in pairs:
        adjacent[a].append(b)
        adjacent[b].append(a)
    seen = [False] * len(keys)
    clusters = []
    for start in range(len(keys)):
        if seen[start]:
            continue
        seen[start] = True
        stack, members = [start], []
        while stack:
            x = stack.pop()
            members.append(x)
            for y in adjacent[x]:
                if not seen[y] and community[y] == community[start]:
                    seen[y] = True
                    stack.append(y)
        clusters.append([keys[i] for i in sorted(members)])
    return clusters


def self_test():
    """Hand-computed cases of the model (the same as the Swift oracle's LouvainOracleTests)."""
    def run(edges, extra=()):
        return louvain_clusters({x for e in edges for x in e[:2]} | set(extra), edges)
    assert run([("a", "b", 1), ("a", "c", 1), ("b", "c", 1), ("c", "d", 1), ("d", "e", 1), ("d", "f", 1), ("e", "f", 1)]) == [
        ["a", "b", "c"], ["d", "e", "f"]]
    assert run([("a", "b", 3), ("y", "z", 3), ("b", "m", 1), ("m", "y", 1)]) == [["a", "b", "m"], ["y", "z"]]
    assert run([("a", "b", 3), ("y", "z", 3), ("b", "m", 1), ("m", "z", 1)]) == [["a", "b"], ["m", "y", "z"]]
    assert run([("a", "b", 3), ("\U0001F600", "\uFF59", 3), ("b", "m", 1), ("m", "\U0001F600", 1)]) == [
        ["a", "b"], ["m", "\uFF59", "\U0001F600"]]
    assert run([("a", "b", 4), ("c", "d", 4), ("e", "f", 4), ("g", "h", 4), ("b", "c", 2), ("a", "d", 2), ("f", "g", 2),
                ("e", "h", 2), ("d", "e", 1)]) == [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    assert run([("00", "02", 6), ("00", "04", 3), ("00", "10", 6), ("01", "09", 5), ("02", "12", 3), ("04", "06", 1),
                ("04", "07", 1), ("04", "10", 2), ("04", "12", 2), ("05", "06", 1), ("07", "08", 1)]) == [
        ["00", "02", "04", "10", "12"], ["01", "09"], ["05", "06"], ["07", "08"]]
    assert run([("a", "b", 2)], ["lone", "\u00c4"]) == [["a", "b"], ["lone"], ["\u00c4"]]
    assert run([], ["z", "b"]) == [["b"], ["z"]]


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
    theta = stored_theta(con)
    goals = {r[0] for r in con.execute("SELECT DISTINCT goal FROM concepts")} | {r[0] for r in con.execute("SELECT DISTINCT goal FROM clusters")}
    for g in sorted(goals):
        held = {r[0]: r[1] for r in con.execute("SELECT concept, count FROM concepts WHERE goal = ? AND count > 0", (g,))}
        edges = []
        for a, b, co, dep in con.execute(
                "SELECT ca.concept, cb.concept, e.co, e.dep FROM edge_counts e JOIN concepts ca ON ca.id = e.a "
                "JOIN concepts cb ON cb.id = e.b WHERE ca.goal = ?", (g,)):
            if (co >= theta or dep >= 1) and a in held and b in held:
                edges.append((a, b, co + dep))
        model = {}
        for cluster in louvain_clusters(held, edges):
            for c in cluster:
                model[c] = cluster[0]
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
    # A project folder (an empty .plughost/): both processes create its database at once.
    os.makedirs(os.path.join(d, ".plughost"), exist_ok=True)
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
    self_test()
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
