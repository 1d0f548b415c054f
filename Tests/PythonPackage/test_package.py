"""The plughost Python package against the real libplughost_embed.so: every method, every
error class and code, goal contexts, pipelines, threads, isolation, and pip installation."""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import re
import threading

import pytest

import plughost
from conftest import REPO, SOURCE


@pytest.fixture()
def host(build: pathlib.Path, library: str):
    with plughost.Host(engine="memory", plugin_directories=[str(build)], library=library) as h:
        h.load("text")
        h.load("sig")
        yield h


def test_versions(library: str) -> None:
    assert plughost.api_version(library) >= (1, 1)
    version = plughost.version(library)
    out = subprocess.run([str(pathlib.Path(library).parent / "plughost"), "--help"], capture_output=True, text=True)
    assert version and version[0].isdigit(), version
    assert out.returncode == 0


def test_invoke_by_position_name_keywords_and_defaults(host: plughost.Host) -> None:
    note = "Swift actors isolate state and Swift tasks run concurrently"
    assert host.invoke("sig", "add3", [1, 2, 3]) == 6
    assert host.invoke("sig", "add3", {"a": 40, "b": 1, "c": 1}) == 42
    assert host.invoke("sig", "add3", a=1, b=1, c=1) == 3
    assert host.invoke("sig", "id_str", ["ünï \"q\""]) == "ünï \"q\""
    assert host.invoke("sig", "id_u64", [18446744073709551615]) == 18446744073709551615
    assert host.invoke("sig", "noop") is None
    assert host.invoke("text", "keywords", text=note, k=2, goal="notes") == "swift, actors"
    # k is optional (default 10): by name or by position.
    assert host.invoke("text", "keywords", text=note) == host.invoke("text", "keywords", [note, 10])
    assert host.invoke("text", "keywords", [note]) == host.invoke("text", "keywords", [note, 10])
    with pytest.raises(TypeError):
        host.invoke("sig", "add3", [1, 2, 3], a=1)
    with pytest.raises(TypeError):
        host.invoke("sig", "id_str", "abc")


def test_plugins_show_metadata(host: plughost.Host) -> None:
    plugins = {p["name"]: p for p in host.plugins()}
    assert sorted(plugins) == ["sig", "text"]
    keywords = next(f for f in plugins["text"]["functions"] if f["name"] == "keywords")
    k = keywords["parameters"][1]
    assert (k["name"], k["minimum"], k["maximum"], k["default"], k["optional"]) == ("k", 1, 50, 10, True)
    assert keywords["parameters"][0]["optional"] is False
    assert keywords["result_doc"]


@pytest.mark.parametrize(
    ("call", "cls", "code", "fragment"),
    [
        (lambda h: h.invoke("text", "keywords", text="a b", k=0), plughost.BadArgumentsError, "BAD_ARGUMENTS", "below its minimum 1"),
        (lambda h: h.invoke("text", "keywords", text=5), plughost.BadArgumentsError, "BAD_ARGUMENTS", "text"),
        (lambda h: h.invoke("sig", "add3", [1]), plughost.BadArgumentsError, "BAD_ARGUMENTS", "takes 3 arguments"),
        (lambda h: h.invoke("nope", "f"), plughost.NotFoundError, "NOT_FOUND", "no plugin named nope"),
        (lambda h: h.invoke("text", "nope"), plughost.NotFoundError, "NOT_FOUND", "has no function nope"),
        (lambda h: h.invoke("sig", "fail", ["boom"]), plughost.PluginError, "PLUGIN_FAILED", "boom"),
        (lambda h: h.load("/nonexistent/x.so"), plughost.PluginLoadError, "LOAD_FAILED", "/nonexistent/x.so"),
        (lambda h: h.write(""), plughost.MemoryInvalidError, "MEMORY_INVALID", "goal"),
        (lambda h: h.write("g", "x" * (2 << 20)), plughost.MemoryLimitError, "MEMORY_LIMIT", "over the limit"),
        (lambda h: h.run_pipeline("/nonexistent/p.yaml"), plughost.PipelineError, "PIPELINE", "/nonexistent/p.yaml"),
        (lambda h: h.set_context("g", "text", "plughost:file", "x"), plughost.InvalidArgumentError, "INVALID_ARGUMENT", "reserved"),
    ],
)
def test_errors_are_exceptions_with_codes(host: plughost.Host, call, cls, code, fragment) -> None:
    with pytest.raises(cls) as info:
        call(host)
    assert info.value.code == plughost.ErrorCode[code]
    assert isinstance(info.value, plughost.PlugHostError)
    assert fragment in str(info.value), str(info.value)
    # The host is still usable after every failure.
    assert host.invoke("sig", "add3", [1, 1, 1]) == 3


def test_configuration_and_closed_errors(build: pathlib.Path, library: str) -> None:
    with pytest.raises(plughost.ConfigurationError) as info:
        plughost.Host(engine="memory", cache_capacity=0, library=library)
    assert info.value.code is plughost.ErrorCode.INVALID_CONFIGURATION
    assert "cache_capacity" in str(info.value)
    with pytest.raises(plughost.ConfigurationError):
        plughost.Host(engine="memory", colour="red", library=library)
    h = plughost.Host(engine="memory", plugin_directories=[str(build)], library=library)
    h.load("sig")
    h.close()
    assert h.closed
    h.close()  # again: nothing
    with pytest.raises(plughost.HostClosedError):
        h.invoke("sig", "noop")


def test_memory_write_recall_forget_clusters(host: plughost.Host) -> None:
    mid = host.write("g", "hello", concepts=["Swift", "Tasks"], depends_on=[("tasks", "swift")], metadata={"source": "t"}, id="m1")
    assert mid == "m1"
    host.write("g", "other", concepts=["swift", "actors"])
    host.flush()
    got = host.recall("g", concept=" SWIFT ")
    assert len(got) == 2
    mine = next(m for m in got if m["id"] == "m1")
    assert mine["concepts"] == ["swift", "tasks"] and mine["depends_on"] == [["tasks", "swift"]]
    assert mine["metadata"] == {"source": "t"}
    assert [m["id"] for m in host.recall("g", text="hello")] == ["m1"]
    assert host.recall("g", plugin="agent", limit=1)[0]["plugin"] == "agent"
    with pytest.raises(TypeError):
        host.recall("g", concept="a", text="b")
    clusters = host.clusters("g")
    # co(swift, actors) is 1, under θ = 2; tasks depends on swift.
    assert clusters == [{"goal": "g", "clusters": [{"id": "actors", "concepts": ["actors"]}, {"id": "swift", "concepts": ["swift", "tasks"]}]}]
    assert host.clusters_json("g").startswith('[{"goal":"g"')
    assert host.forget("m1", goal="other") is False
    assert host.forget("m1") is True
    assert host.forget("m1") is False
    stats = host.stats()
    assert stats["engine"] == "memory" and stats["memory"]["writes"] == 2


def test_recall_related(host: plughost.Host) -> None:
    """related=True widens recall by concept to the concept's cluster, newest first, the limit after the merge."""
    host.write("g", "one", concepts=["a", "b"], id="1")
    host.write("g", "two", concepts=["x"], id="2")
    host.write("g", "three", concepts=["A", "B"], id="3")
    host.write("g", "four", concepts=["c"], depends_on=[("b", "c")], id="4")
    # a–b: co 2; b–c: a dependency; x alone. No flush: the goal's pending clustering runs first.
    assert [m["id"] for m in host.recall("g", concept="a")] == ["3", "1"]
    assert [m["id"] for m in host.recall("g", concept=" A ", related=True)] == ["4", "3", "1"]
    assert [m["id"] for m in host.recall("g", concept="c", related=True, limit=2)] == ["4", "3"]
    assert [m["id"] for m in host.recall("g", concept="x", related=True)] == ["2"]
    assert host.recall("g", concept="nobody", related=True) == []
    # the same as the brute force over the clusters and the memories
    cluster = next(c["concepts"] for c in host.clusters("g")[0]["clusters"] if "a" in c["concepts"])
    holders = [m["id"] for m in host.recall("g", plugin="agent", limit=100) if set(m["concepts"]) & set(cluster)]
    assert [m["id"] for m in host.recall("g", concept="a", related=True)] == holders
    with pytest.raises(TypeError, match="needs concept="):
        host.recall("g", text="one", related=True)
    with pytest.raises(TypeError, match="related must be True or False"):
        host.recall("g", concept="a", related=1)  # type: ignore[arg-type]


def test_goal_contexts(host: plughost.Host) -> None:
    assert host.context("g", "text") == plughost.Context()
    host.set_context("g", "text", "runs", "41")
    assert host.invoke("text", "tally", ["runs"], goal="g") == 42
    host.invoke("text", "keywords", text="swift actors", goal="g")
    ctx = host.context("g", "text")
    assert ctx.values == {"runs": "42"} and len(ctx.recent) == 1
    host.set_context("g", "text", "runs", None)
    assert host.context("g", "text").values == {}


def test_run_pipeline(host: plughost.Host, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent("""\
        name: p
        goal: pg
        plugins: {text: text}
        inputs:
          notes: ["Swift actors isolate state."]
        steps:
          - id: kw
            call: text.keywords
            foreach: ${inputs.notes}
            args: {text: "${item}", k: 2}
        outputs:
          kw: ${steps.kw}
        """))
    report = host.run_pipeline(path)
    assert report["goal"] == "pg" and report["outputs"] == {"kw": ["swift, actors"]}
    report = host.run_pipeline(path, goal="other", inputs={"notes": ["Rust traits", "Rust lifetimes"]})
    assert report["goal"] == "other" and report["outputs"]["kw"] == ["rust, traits", "rust, lifetimes"]
    assert len(host.recall("other", concept="rust")) == 2
    with pytest.raises(plughost.PipelineError, match="has no input nope"):
        host.run_pipeline(path, inputs={"nope": "x"})


def test_threads_run_calls_concurrently(host: plughost.Host) -> None:
    # sig.sleep_ms is thread-safe, bundled plugins run in-process (the library's folder holds
    # them) and ctypes releases the GIL: 8 calls of 200 ms overlap.
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: host.invoke("sig", "sleep_ms", [200]), range(8)))
    elapsed = time.monotonic() - start
    assert results == [200] * 8
    assert elapsed < 1.2, f"8 × 200 ms took {elapsed:.2f} s: calls did not overlap"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: host.write("t", f"note {i}", concepts=[f"c{i % 3}"]), range(200)))
    assert len(set(ids)) == 200


def test_isolated_plugins_crash_and_time_out_as_exceptions(build: pathlib.Path, library: str, tmp_path: pathlib.Path) -> None:
    so = tmp_path / "segv.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-I", str(REPO / "include"), str(REPO / "Tests/Fixtures/broken/segv.c"), "-o", str(so)], check=True
    )
    with plughost.Host(
        engine="memory", plugin_directories=[str(build)], isolation="process", call_timeout=0.5, library=library
    ) as h:
        h.load(str(so))
        with pytest.raises(plughost.PluginCrashedError) as info:
            h.invoke("segv", "run")
        assert info.value.code is plughost.ErrorCode.PLUGIN_CRASHED
        assert "SIGSEGV" in str(info.value) or "signal" in str(info.value), str(info.value)
        h.load("sig")
        with pytest.raises(plughost.PluginTimeoutError) as info:
            h.invoke("sig", "sleep_ms", [5000])
        assert isinstance(info.value, TimeoutError)
        assert h.invoke("sig", "add3", [1, 2, 3]) == 6, "the worker restarts after a timeout"


def test_find_library(build: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGHOST_LIB", "/nonexistent/libplughost_embed.so")
    with pytest.raises(plughost.LibraryError, match="PLUGHOST_LIB=/nonexistent"):
        plughost.find_library()
    monkeypatch.delenv("PLUGHOST_LIB")
    # Beside the plughost on PATH (a build folder).
    monkeypatch.setenv("PATH", f"{build}{os.pathsep}/usr/bin:/bin")
    assert plughost.find_library() == str(build / "libplughost_embed.so")
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        found = plughost.find_library()
    except plughost.LibraryError as e:
        assert "set PLUGHOST_LIB" in str(e)
    else:
        assert found  # an installed copy on this machine


def test_pip_installs_the_package(tmp_path: pathlib.Path, library: str) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(SOURCE)],
        check=True,
        capture_output=True,
    )
    assert (target / "plughost" / "py.typed").is_file()
    code = "import plughost, sys; print(plughost.__file__); print(plughost.version())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(target), "PLUGHOST_LIB": library},
        check=True,
    )
    where, version = out.stdout.split()
    assert where.startswith(str(target)), where
    assert version == plughost.version(library)
    # Leave no build products in the source folder.
    subprocess.run(["rm", "-rf", str(SOURCE / "build"), str(SOURCE / "plughost.egg-info")], check=False)


def test_error_codes_match_embed_h() -> None:
    header = (REPO / "include" / "plughost" / "embed.h").read_text()
    declared = {m.group(1): int(m.group(2)) for m in re.finditer(r"PLUGHOST_(?:ERROR_)?([A-Z_]+) = (\d+)", header)}
    assert declared == {c.name: c.value for c in plughost.ErrorCode}


def test_nul_characters_are_refused_not_cut(host: plughost.Host) -> None:
    with pytest.raises(ValueError, match="NUL"):
        host.set_context("g", "text", "k", "a\0b")
    with pytest.raises(ValueError, match="NUL"):
        host.invoke("sig", "noop", goal="x\0y")
    with pytest.raises(ValueError):
        host.recall("g", concept="a", limit=2**32 + 5)


def test_close_while_other_threads_call(build: pathlib.Path, library: str) -> None:
    # close() may race with calls on other threads: they finish or get HostClosedError, never
    # a freed handle; two closes at once close once.
    for _ in range(5):
        h = plughost.Host(engine="memory", plugin_directories=[str(build)], library=library)
        h.load("sig")
        outcomes: list[str] = []
        lock = threading.Lock()

        def caller() -> None:
            for _ in range(200):
                try:
                    h.invoke("sig", "add3", [1, 2, 3])
                    got = "ok"
                except plughost.HostClosedError:
                    got = "closed"
                with lock:
                    outcomes.append(got)

        threads = [threading.Thread(target=caller) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.01)
        closers = [threading.Thread(target=h.close) for _ in range(2)]
        for t in closers:
            t.start()
        for t in threads + closers:
            t.join()
        assert h.closed and len(outcomes) == 800 and set(outcomes) <= {"ok", "closed"}
        with pytest.raises(plughost.HostClosedError):
            h.invoke("sig", "noop")
        del h


def test_pipeline_inputs_given_twice_are_refused(host: plughost.Host, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: p\ngoal: g\nplugins: {sig: sig}\ninputs: {x: a}\nsteps:\n  - id: s\n    call: sig.noop\n")
    lib = host.cdll
    raw = lib.plughost_run_pipeline(host.handle, str(path).encode(), b'{"inputs": {"x": "1", "x": "2"}}')
    assert not raw
    assert lib.plughost_last_error_code() == plughost.ErrorCode.INVALID_ARGUMENT
    assert b"given twice" in lib.plughost_last_error(None)


def test_theta_is_stored_with_the_memory(build: pathlib.Path, library: str, tmp_path: pathlib.Path) -> None:
    db = str(tmp_path / "m.sqlite")
    with pytest.raises(plughost.ConfigurationError, match="theta: must be at least 1, got 0"):
        plughost.Host(engine="sqlite", database_path=db, theta=0, library=library)
    with plughost.Host(engine="sqlite", database_path=db, theta=3, library=library) as h:
        first = h.write("g", "note", concepts=["a", "b"])
        assert h.write("g", "note", concepts=["b", "a"]) == first  # the same memory
        assert h.stats()["memory"]["deduplicated"] == 1 and h.stats()["memory"]["writes"] == 1
    with pytest.raises(plughost.PlugHostError) as info:
        plughost.Host(engine="sqlite", database_path=db, theta=2, library=library)
    for part in ("theta is 2", "created with theta 3", db):
        assert part in str(info.value)
    with plughost.Host(engine="sqlite", database_path=db, plugin_directories=[str(build)], library=library) as h:
        assert h.write("g", "note", concepts=["a", "b"]) == first
        pipeline = tmp_path / "p.yaml"
        pipeline.write_text("theta: 4\ngoal: g\nplugins: {text: text}\nsteps:\n  - id: kw\n    call: text.keywords\n    args: {text: basil, k: 1}\n")
        with pytest.raises(plughost.PipelineError, match="asks for theta 4.*uses theta 3"):
            h.run_pipeline(pipeline)
