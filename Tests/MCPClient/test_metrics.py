"""The Prometheus text of `plughost stats --prometheus` and of `GET /metrics` (`plughost mcp --http`),
read by a real parser: prometheus_client's `text_string_to_metric_families`.

Run from the repository root with `PLUGHOST_BIN` set, like test_mcp_client.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib import request as urlrequest

import pytest
from prometheus_client.parser import text_string_to_metric_families

from test_mcp_protocol import PLUGHOST_BIN, READ_TIMEOUT, HTTPServer


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (sample name, sorted labels); fails on a duplicate."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"sample {key} twice"
            out[key] = s.value
    return out


def families(text: str) -> dict[str, str]:
    """Family name → type."""
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def value(all_samples: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in all_samples, f"no sample {key}; have {sorted(k for k in all_samples if k[0].startswith(name[:20]))}"
    return all_samples[key]


def plughost(*args: str, cwd: Path) -> str:
    r = subprocess.run([PLUGHOST_BIN, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"plughost {' '.join(args)} exited {r.returncode}: {r.stderr}"
    return r.stdout


def replay(tmp_path: Path, db: Path, name: str, lines: list[dict[str, Any]]) -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    plughost("memory", "replay", str(path), "--db", str(db), cwd=tmp_path)


def test_stats_prometheus_counters_add_up_over_processes(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite"
    # Process 1: 7 writes in goal g (concepts shared, so edges and a cluster), 2 in goal h.
    first = [{"op": "write", "goal": "g", "content": f"w{i}", "concepts": ["a", "b", f"c{i % 3}"]} for i in range(7)]
    first += [{"op": "write", "goal": "h", "content": f"h{i}", "concepts": ["x", "y"]} for i in range(2)]
    replay(tmp_path, db, "first.jsonl", first)
    after_one = samples(plughost("stats", "--prometheus", "--db", str(db), cwd=tmp_path))
    assert value(after_one, "plughost_stored_writes_total") == 9
    # Process 2 on the same file: 5 more writes, one of them the same content as one of the
    # first (deduplicated, not a write).
    second = [{"op": "write", "goal": "g", "content": f"v{i}", "concepts": ["a", f"d{i}"]} for i in range(4)]
    second.append(dict(first[0]))
    replay(tmp_path, db, "second.jsonl", second)

    text = plughost("stats", "--prometheus", "--db", str(db), cwd=tmp_path)
    s = samples(text)
    types = families(text)
    assert types["plughost_stored_writes"] == "counter"
    assert types["plughost_goal_memories"] == "gauge"
    assert value(s, "plughost_stored_writes_total") == 13, "added by both processes, not overwritten"
    assert value(s, "plughost_stored_deduplicated_total") == 1
    assert value(s, "plughost_stored_commits_total") >= 2
    assert value(s, "plughost_stored_clustering_runs_total") >= 2
    assert value(s, "plughost_stored_clustering_seconds_total") > 0
    assert value(s, "plughost_goal_memories", goal="g") == 11
    assert value(s, "plughost_goal_memories", goal="h") == 2
    assert value(s, "plughost_goal_concepts", goal="h") == 2
    assert value(s, "plughost_goal_concepts", goal="g") == 9  # a, b, c0..c2, d0..d3
    assert value(s, "plughost_goals") == 2
    size = value(s, "plughost_database_size_bytes")
    on_disk = sum(p.stat().st_size for p in [db, Path(f"{db}-wal")] if p.exists())
    assert size == on_disk, (size, on_disk)

    # --json carries the same figures.
    j = json.loads(plughost("stats", "--json", "--db", str(db), cwd=tmp_path))
    assert j["counters"]["writes"] == 13
    assert j["database_size_bytes"] == size
    assert {g["goal"]: g["memories"] for g in j["goals"]} == {"g": 11, "h": 2}
    for g in j["goals"]:
        assert value(s, "plughost_goal_edges", goal=g["goal"]) == g["edges"]
        assert value(s, "plughost_goal_clusters", goal=g["goal"]) == g["clusters"]
    for name, v in j["counters"].items():
        exposed = f"plughost_stored_{name[:-6]}_seconds_total" if name.endswith("_nanos") else f"plughost_stored_{name}_total"
        scale = 1e-9 if name.endswith("_nanos") else 1
        assert value(s, exposed) == pytest.approx(v * scale), name


def get_metrics(srv: HTTPServer) -> str:
    url = srv.url.removesuffix("/mcp") + "/metrics"
    with urlrequest.urlopen(url, timeout=READ_TIMEOUT) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.read().decode()


def call_tool(srv: HTTPServer, session: str, rid: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    r = srv.post({"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments}}, session)
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)


def test_metrics_endpoint_serves_live_and_stored_metrics(tmp_path: Path) -> None:
    srv = HTTPServer(tmp_path)
    try:
        session = srv.initialize()
        writes = 6
        for i in range(writes):
            reply = call_tool(srv, session, 10 + i, "memory_write", {"content": f"note {i}", "concepts": ["k", f"n{i}"]})
            assert "error" not in reply and not reply["result"].get("isError"), reply
        for i in range(3):
            reply = call_tool(srv, session, 20 + i, "sig_add3", {"a": i, "b": 1, "c": 2})
            assert not reply["result"].get("isError"), reply
        reply = call_tool(srv, session, 30, "sig_fail", {"message": "on purpose"})
        assert reply["result"].get("isError"), reply

        text = get_metrics(srv)
        s = samples(text)
        types = families(text)
        # Live process metrics (swift-metrics through the Prometheus backend).
        assert value(s, "plughost_memory_writes_total") == writes
        assert value(s, "plughost_memory_commits_total") >= 1
        assert value(s, "plughost_plugin_calls_total", plugin="sig") == 4
        assert value(s, "plughost_plugin_call_errors_total", plugin="sig", code="pluginError") == 1
        assert types["plughost_plugin_call_duration_seconds"] == "histogram"
        assert value(s, "plughost_plugin_call_duration_seconds_count", plugin="sig") == 4
        assert value(s, "plughost_plugin_call_duration_seconds_bucket", plugin="sig", le="+Inf") == 4
        assert types["plughost_memory_commit_operations"] == "histogram"
        assert value(s, "plughost_memory_commit_operations_sum") == writes
        # Stored figures of the memory behind the server.
        assert value(s, "plughost_goal_memories", goal="g1") == writes
        assert value(s, "plughost_database_size_bytes") > 0
        # Only GET.
        req = urlrequest.Request(srv.url.removesuffix("/mcp") + "/metrics", data=b"x", method="POST")
        try:
            urlrequest.urlopen(req, timeout=READ_TIMEOUT)
            pytest.fail("POST /metrics answered")
        except Exception as e:  # noqa: BLE001 - urllib's HTTPError
            assert getattr(e, "code", None) == 405, e
    finally:
        assert srv.stop() == 0, srv.stderr()

    # The server added its counters to the database when it closed the memory.
    stored = samples(plughost("stats", "--prometheus", "--db", str(tmp_path / "memory.sqlite"), cwd=tmp_path))
    assert value(stored, "plughost_stored_writes_total") == writes
