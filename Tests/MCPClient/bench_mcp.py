#!/usr/bin/env python3
"""Round-trip benchmark of `plughost mcp` through the official Python MCP SDK client (`mcp` 2.x).

    python3 Tests/MCPClient/bench_mcp.py --plughost .build/release/plughost [--calls N] [--json]
                                         [--sdk-server "CMD ARGS"] [--only stdio,http,pipelined,raw,rawpipe,inprocess,floor,sdk]
                                         [--repeat R] [--mcp-args "--output-schemas"] [--gc-off]

Every measurement calls `sig_add3(1, 2, 3)` through `ClientSession.call_tool` (the SDK's
`initialize` handshake, one session per measurement, a fresh server each time):

  stdio       plughost mcp over stdio: 200 warm-up calls, then N sequential calls; p50/p90/p99 µs
  http        plughost mcp over Streamable HTTP (--http 127.0.0.1:PORT): the same
  pipelined   plughost mcp over stdio with --inflight (default 64) calls outstanding at once: calls/s
  floor       the same client against a minimal Python stdio server (written to a temporary file,
              answering initialize/ping/tools/list/tools/call with raw JSON lines): the round trip
              the Python client, the pipe and a trivial peer cost without plughost, sequential and
              pipelined. Its tools/list mirrors plughost's sig_add3 entry (an outputSchema too, if
              plughost lists one: the client then validates every result) and its results have
              plughost's shape (text content and structuredContent), so the client does the same work.
  raw         plughost over stdio and HTTP from a thin blocking client without the SDK (JSON lines
              on a pipe; http.client on one keep-alive connection): plughost's own round trip, so
              that the SDK client's overhead shows beside the stdio and http rows.
  rawpipe     plughost over stdio from the thin client with --inflight calls outstanding (a writer
              thread keeps the pipe full, the reader counts replies): plughost's own calls/s
  inprocess   the same call through the `plughost` Python package in-process (Sources/PlugHostPython
              over libplughost_embed.so beside --plughost): no protocol at all, for scale
  sdk         with --sdk-server CMD: the same stdio measurements against CMD (an MCP server built on
              the Swift SDK's StdioTransport serving sig_add3), and plughost's p50 over its p50.

The floor is an upper bound of the client's own share: its server side is Python too.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

TOOL = "sig_add3"
ARGS = {"a": 1, "b": 2, "c": 3}
EXPECTED = 6

# What plughost lists for sig_add3 by default (the floor server's listing when plughost cannot be asked).
INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
DEFAULT_TOOL_ENTRY: dict[str, Any] = {
    "name": TOOL,
    "description": "a + b + c, wrapping.",
    "inputSchema": {
        "type": "object",
        "properties": {"a": INT64, "b": INT64, "c": INT64, "goal": {"type": "string"}},
        "required": ["a", "b", "c"],
        "additionalProperties": False,
    },
}

FLOOR_SERVER = r'''
"""Minimal MCP stdio server for the client-floor benchmark: raw newline-delimited JSON-RPC."""
import json, sys

tool = json.loads(open(sys.argv[1]).read())
tools_list = json.dumps({"tools": [tool]})
inp, out = sys.stdin.buffer, sys.stdout.buffer

def reply(rid, result_json):
    out.write(b'{"jsonrpc":"2.0","id":' + json.dumps(rid).encode() + b',"result":' + result_json.encode() + b'}\n')
    out.flush()

while True:
    line = inp.readline()
    if not line:
        break
    msg = json.loads(line)
    if "id" not in msg or "method" not in msg:
        continue  # notifications (and responses) need no answer
    method, rid = msg["method"], msg["id"]
    if method == "tools/call":
        a = msg["params"].get("arguments") or {}
        v = a["a"] + a["b"] + a["c"]
        text = json.dumps({"type": "text", "text": str(v)})
        reply(rid, '{"content":[' + text + '],"structuredContent":{"result":%d},"isError":false}' % v)
    elif method == "initialize":
        reply(rid, json.dumps({
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "python-floor", "version": "1"},
        }))
    elif method == "ping":
        reply(rid, "{}")
    elif method == "tools/list":
        reply(rid, tools_list)
    else:
        out.write(json.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no " + method}}).encode() + b"\n")
        out.flush()
'''

Streams = tuple[Any, Any]


def _reap(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Waits for `proc` to exit; after `timeout` seconds kills its process group."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class BenchError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def latency_row(label: str, transport: str, mode: str, samples_ns: list[int], total_ns: int) -> dict[str, Any]:
    """One sequential measurement's row: percentiles and mean of the per-call times, calls/s."""
    us = sorted(x / 1000 for x in samples_ns)
    return {
        "target": label, "transport": transport, "mode": mode, "calls": len(us),
        "p50_us": percentile(us, 50), "p90_us": percentile(us, 90), "p99_us": percentile(us, 99),
        "mean_us": statistics.fmean(us), "min_us": us[0], "max_us": us[-1], "calls_per_s": len(us) / (total_ns / 1e9),
    }


def timed_calls(call: Callable[[Any], Any], inputs: list[Any], gc_off: bool) -> tuple[list[int], int, Any]:
    """Times `call(x)` for each of `inputs`, one after another: (per-call ns, total ns, the last
    result)."""
    samples: list[int] = []
    last: Any = None
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        clock = time.perf_counter_ns
        begin = clock()
        for x in inputs:
            t0 = clock()
            last = call(x)
            samples.append(clock() - t0)
        total = clock() - begin
    finally:
        gc.enable()
    return samples, total, last


def leaves(e: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, which anyio's task groups wrap failures in."""
    if isinstance(e, BaseExceptionGroup):
        return [leaf for sub in e.exceptions for leaf in leaves(sub)]
    return [e]


def check(result: types.CallToolResult) -> None:
    if result.is_error:
        raise BenchError(f"{TOOL} failed: {result.content!r}")
    sc = result.structured_content
    if isinstance(sc, dict) and "result" in sc:
        ok = sc["result"] == EXPECTED
    else:
        ok = "".join(c.text for c in result.content if isinstance(c, types.TextContent)) == str(EXPECTED)
    if not ok:
        raise BenchError(f"{TOOL}(1,2,3) returned {result!r}")


# ---------------------------------------------------------------------------------------------
# Targets: each a factory of an async context manager yielding the client's (read, write) streams
# ---------------------------------------------------------------------------------------------


class Target:
    def __init__(self, label: str, transport: str, opener: Callable[[], AbstractAsyncContextManager[Streams]],
                 stderr_path: Path) -> None:
        self.label, self.transport, self.opener, self.stderr_path = label, transport, opener, stderr_path

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def stdio_target(label: str, argv: list[str], workdir: Path) -> Target:
    stderr_path = workdir / f"{re.sub(r'[^A-Za-z0-9]+', '-', label)}.stderr"

    @asynccontextmanager
    async def open_streams() -> AsyncIterator[Streams]:
        with open(stderr_path, "a") as errlog:
            params = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(os.environ), cwd=workdir)
            async with stdio_client(params, errlog=errlog) as streams:
                yield streams

    return Target(label, "stdio", open_streams, stderr_path)


def http_target(label: str, argv: list[str], workdir: Path, start_timeout: float = 30.0) -> Target:
    """plughost mcp --http 127.0.0.1:PORT; waits for its 'listening on' line, SIGTERM at the end."""
    stderr_path = workdir / f"{re.sub(r'[^A-Za-z0-9]+', '-', label)}.stderr"

    @asynccontextmanager
    async def open_streams() -> AsyncIterator[Streams]:
        port = free_port()
        proc = subprocess.Popen(
            [*argv, "--http", f"127.0.0.1:{port}"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=workdir, env=dict(os.environ), start_new_session=True,
        )
        ready = threading.Event()
        urls: list[str] = []

        def pump() -> None:
            assert proc.stderr is not None
            with open(stderr_path, "ab") as errlog:
                for line in proc.stderr:
                    errlog.write(line)
                    errlog.flush()
                    m = re.search(rb"listening on (http://\S+)", line)
                    if m and not ready.is_set():
                        urls.append(m.group(1).decode())
                        ready.set()

        threading.Thread(target=pump, daemon=True).start()
        try:
            deadline = time.monotonic() + start_timeout
            while not ready.is_set():
                if proc.poll() is not None:
                    raise BenchError(f"{label}: exited with {proc.returncode} before listening")
                if time.monotonic() > deadline:
                    raise BenchError(f"{label}: no 'listening on' line within {start_timeout} s")
                await anyio.sleep(0.02)
            async with streamable_http_client(urls[0]) as streams:
                yield streams
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                _reap(proc)
            if proc.stdin:
                proc.stdin.close()

    return Target(label, "http", open_streams, stderr_path)


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


@asynccontextmanager
async def session_on(target: Target) -> AsyncIterator[tuple[ClientSession, types.Tool | None]]:
    async with target.opener() as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=60) as session:
            await session.initialize()
            listed = await session.list_tools()  # also primes the SDK's output-schema cache
            tool = next((t for t in listed.tools if t.name == TOOL), None)
            if tool is None:
                raise BenchError(f"{target.label}: tools/list has no {TOOL}: {[t.name for t in listed.tools]}")
            check(await session.call_tool(TOOL, ARGS))
            yield session, tool


async def sequential(target: Target, calls: int, warmup: int, gc_off: bool) -> dict[str, Any]:
    async with session_on(target) as (s, tool):
        for _ in range(warmup):
            check(await s.call_tool(TOOL, ARGS))
        samples: list[int] = []
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            clock = time.perf_counter_ns
            begin = clock()
            for _ in range(calls):
                t0 = clock()
                r = await s.call_tool(TOOL, ARGS)
                samples.append(clock() - t0)
                if r.is_error:
                    check(r)
            total = clock() - begin
        finally:
            gc.enable()
        check(r)
    return {**latency_row(target.label, target.transport, "sequential", samples, total),
            "output_schema": tool.output_schema is not None}


async def pipelined(target: Target, calls: int, warmup: int, inflight: int, gc_off: bool) -> dict[str, Any]:
    async with session_on(target) as (s, tool):
        for _ in range(warmup):
            check(await s.call_tool(TOOL, ARGS))
        remaining = calls
        failures: list[types.CallToolResult] = []

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                r = await s.call_tool(TOOL, ARGS)
                if r.is_error:
                    failures.append(r)

        gc.collect()
        if gc_off:
            gc.disable()
        try:
            begin = time.perf_counter_ns()
            async with anyio.create_task_group() as tg:
                for _ in range(min(inflight, calls)):
                    tg.start_soon(worker)
            total = time.perf_counter_ns() - begin
        finally:
            gc.enable()
        if failures:
            check(failures[0])
    return {
        "target": target.label, "transport": target.transport, "mode": f"pipelined x{inflight}", "calls": calls,
        "seconds": total / 1e9, "calls_per_s": calls / (total / 1e9), "mean_us": total / 1000 / calls,
        "output_schema": tool.output_schema is not None,
    }


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The best of a measurement's runs (a fresh server each): the lowest p50 for sequential runs,
    the highest calls/s for pipelined ones. Every run's figure is kept, so the spread shows."""
    if "p50_us" in runs[0]:
        best = dict(min(runs, key=lambda r: r["p50_us"]))
        best["runs_p50_us"] = [r["p50_us"] for r in runs]
    else:
        best = dict(max(runs, key=lambda r: r["calls_per_s"]))
        best["runs_calls_per_s"] = [r["calls_per_s"] for r in runs]
    return best


def raw_client(label: str, argv: list[str], workdir: Path, transport: str, calls: int, warmup: int,
               gc_off: bool) -> dict[str, Any]:
    """plughost without the SDK: a blocking client writing JSON-RPC lines to its stdin (or POSTing on
    one keep-alive HTTP connection with http.client) and reading each reply before the next call.
    What remains is plughost's own round trip plus a thin client, beside the SDK rows."""
    import http.client

    stderr_path = workdir / f"raw-{transport}.stderr"
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench-raw", "version": "1"}}}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    calls_json = [json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                              "params": {"name": TOOL, "arguments": ARGS}}).encode() for i in range(warmup + calls)]
    with open(stderr_path, "ab") as errlog:
        if transport == "stdio":
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, cwd=workdir,
                                    env=dict(os.environ), start_new_session=True)
            assert proc.stdin is not None and proc.stdout is not None
            inp, out = proc.stdin, proc.stdout

            def rpc(line: bytes) -> bytes:
                inp.write(line + b"\n")
                inp.flush()
                return out.readline()

            def notify(line: bytes) -> None:
                inp.write(line + b"\n")
                inp.flush()
        else:
            port = free_port()
            proc = subprocess.Popen([*argv, "--http", f"127.0.0.1:{port}"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir,
                                    env=dict(os.environ), start_new_session=True)
            assert proc.stderr is not None
            for line in proc.stderr:
                errlog.write(line)
                if b"listening on" in line:
                    break
            else:
                raise BenchError(f"{label}: exited with {proc.wait()} before listening")
            errlog.flush()

            def pump(stream: Any = proc.stderr) -> None:
                with open(stderr_path, "ab") as log:
                    for x in stream:
                        log.write(x)
                        log.flush()

            threading.Thread(target=pump, daemon=True).start()
            conn = http.client.HTTPConnection("127.0.0.1", port)
            headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

            def post(body: bytes) -> bytes:
                conn.request("POST", "/mcp", body, headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 200 and (sid := resp.getheader("Mcp-Session-Id")):
                    headers["Mcp-Session-Id"] = sid
                if "text/event-stream" in (resp.getheader("Content-Type") or ""):
                    data = b"".join(x[5:].strip() for x in data.splitlines() if x.startswith(b"data:"))
                return data

            rpc = post

            def notify(line: bytes) -> None:
                post(line)
        try:
            reply = json.loads(rpc(json.dumps(init).encode()))
            if "result" not in reply:
                raise BenchError(f"{label}: initialize failed: {reply}")
            if transport == "http":
                headers["MCP-Protocol-Version"] = reply["result"]["protocolVersion"]
            notify(json.dumps(initialized).encode())
            for line in calls_json[:warmup]:
                rpc(line)
            samples, total, last = timed_calls(rpc, calls_json[warmup:], gc_off)
            reply = json.loads(last)
            if reply.get("result", {}).get("structuredContent", {}).get("result") != EXPECTED:
                raise BenchError(f"{label}: unexpected reply {reply}")
        finally:
            if transport == "stdio":
                proc.stdin.close()  # type: ignore[union-attr]
            else:
                conn.close()
                proc.send_signal(signal.SIGTERM)
            _reap(proc)
    return latency_row(label, transport, "raw client, no SDK", samples, total)


def raw_pipelined(label: str, argv: list[str], workdir: Path, calls: int, warmup: int, inflight: int) -> dict[str, Any]:
    """plughost over stdio from the thin client, `inflight` calls outstanding: a writer thread
    sends a call whenever fewer than `inflight` are unanswered; the caller reads the replies."""
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench-rawpipe", "version": "1"}}}
    lines = [json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                         "params": {"name": TOOL, "arguments": ARGS}}).encode() + b"\n" for i in range(warmup + calls)]
    with open(workdir / "rawpipe.stderr", "ab") as errlog:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, cwd=workdir,
                                env=dict(os.environ), start_new_session=True)
        assert proc.stdin is not None and proc.stdout is not None
        inp, out = proc.stdin, proc.stdout
        try:
            inp.write(json.dumps(init).encode() + b"\n")
            inp.flush()
            if "result" not in json.loads(out.readline()):
                raise BenchError(f"{label}: initialize failed")
            inp.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            inp.flush()
            window = threading.Semaphore(inflight)

            def writer(batch: list[bytes]) -> None:
                for line in batch:
                    window.acquire()
                    inp.write(line)
                    inp.flush()

            def run(batch: list[bytes]) -> tuple[int, bytes]:
                t = threading.Thread(target=writer, args=(batch,), daemon=True)
                begin = time.perf_counter_ns()
                t.start()
                last = b""
                for _ in batch:
                    last = out.readline()
                    window.release()
                t.join()
                return time.perf_counter_ns() - begin, last

            run(lines[:warmup])
            total, last = run(lines[warmup:])
            reply = json.loads(last)
            if reply.get("result", {}).get("structuredContent", {}).get("result") != EXPECTED:
                raise BenchError(f"{label}: unexpected reply {reply}")
        finally:
            inp.close()
            _reap(proc)
    return {"target": label, "transport": "stdio", "mode": f"raw client, {inflight} in flight", "calls": calls,
            "calls_per_s": calls / (total / 1e9)}


def in_process(plughost: str, calls: int, warmup: int, gc_off: bool) -> dict[str, Any]:
    """sig.add3(1, 2, 3) through the `plughost` Python package, in this process."""
    package = Path(__file__).resolve().parents[2] / "Sources" / "PlugHostPython"
    if str(package) not in sys.path:
        sys.path.insert(0, str(package))
    import plughost as ph  # the checkout's package

    build = Path(plughost).resolve().parent
    with ph.Host(engine="memory", plugin_directories=[str(build)], library=str(build / "libplughost_embed.so")) as host:
        host.load("sig")
        for _ in range(warmup):
            host.invoke("sig", "add3", [1, 2, 3])
        samples, total, result = timed_calls(lambda _: host.invoke("sig", "add3", [1, 2, 3]), [None] * calls, gc_off)
        if result != EXPECTED:
            raise BenchError(f"in-process: add3 gave {result!r}")
    return latency_row("plughost Python package", "in-process", "sequential", samples, total)


async def fetch_tool_entry(target: Target) -> dict[str, Any]:
    async with session_on(target) as (_, tool):
        assert tool is not None
        return tool.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def print_table(rows: list[dict[str, Any]], summary: dict[str, Any], env: dict[str, Any]) -> None:
    print(f"MCP tools/call round trip of {TOOL}(1,2,3) through the Python SDK client (mcp {env['mcp']}, "
          f"Python {env['python']}, {env['cpus']} CPUs)")
    header = ["target", "transport", "mode", "calls", "p50 µs", "p90 µs", "p99 µs", "mean µs", "calls/s"]
    table = [header] + [
        [r["target"], r["transport"], r["mode"], str(r["calls"]), fmt(r.get("p50_us")), fmt(r.get("p90_us")),
         fmt(r.get("p99_us")), fmt(r.get("mean_us")), fmt(r.get("calls_per_s"), 0)]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for key, text in summary.items():
        print(f"{key}: {text}")


def summarize(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ps, floor, sdk = results.get("stdio"), results.get("floor"), results.get("sdk")
    if ps and floor:
        out["plughost stdio p50 minus client floor p50 (µs)"] = round(ps["p50_us"] - floor["p50_us"], 1)
        out["client floor share of plughost stdio p50"] = f"{floor['p50_us'] / ps['p50_us']:.0%}"
    if ps and sdk:
        out["plughost/sdk p50 ratio"] = round(ps["p50_us"] / sdk["p50_us"], 3)
    if results.get("pipelined") and results.get("sdk_pipelined"):
        out["plughost/sdk pipelined calls/s ratio"] = round(
            results["pipelined"]["calls_per_s"] / results["sdk_pipelined"]["calls_per_s"], 3)
    if results.get("raw_pipelined"):
        out["plughost raw pipelined calls/s (target >= 5000)"] = round(results["raw_pipelined"]["calls_per_s"])
    if ps and results.get("http"):
        out["http/stdio p50 ratio"] = round(results["http"]["p50_us"] / ps["p50_us"], 3)
    for t in ("stdio", "http"):
        if results.get(t) and results.get(f"raw_{t}"):
            out[f"SDK client overhead on plughost {t} p50 (SDK p50 minus raw-client p50, µs)"] = round(
                results[t]["p50_us"] - results[f"raw_{t}"]["p50_us"], 1)
    if sdk and not sdk.get("output_schema") and ps and ps.get("output_schema"):
        out["note"] = ("the sdk server's tool declares no outputSchema, so the client skips result validation "
                       "there (it validates plughost's and the floor's results)")
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    everything = {"stdio", "http", "pipelined", "floor", "sdk", "raw", "rawpipe", "inprocess"}
    only = {x.strip() for x in args.only.split(",")} if args.only else everything
    unknown = only - everything
    if unknown:
        raise SystemExit(f"--only: unknown {sorted(unknown)}")
    needs_plughost = bool(only & {"stdio", "http", "pipelined", "raw", "rawpipe", "inprocess"})
    if needs_plughost and not os.access(args.plughost, os.X_OK):
        raise SystemExit(f"--plughost {args.plughost}: not an executable")

    workdir = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    plughost_argv = [str(Path(args.plughost).resolve()), "mcp", "text", "sig", "--db", str(workdir / "memory.sqlite"),
                     "--goal", "bench", *shlex.split(args.mcp_args or "")]
    plughost_stdio = stdio_target("plughost", plughost_argv, workdir)
    plughost_http = http_target("plughost", plughost_argv, workdir)
    results: dict[str, dict[str, Any]] = {}
    n, w, k, g, rep = args.calls, args.warmup, args.inflight, args.gc_off, args.repeat

    def progress(msg: str) -> None:
        if not args.json:
            print(f"... {msg}", file=sys.stderr, flush=True)

    current: Target | None = None
    try:
        tool_entry = DEFAULT_TOOL_ENTRY
        if needs_plughost:
            current = plughost_stdio
            tool_entry = await fetch_tool_entry(plughost_stdio)
        elif "floor" in only and os.access(args.plughost, os.X_OK):
            try:
                tool_entry = await fetch_tool_entry(plughost_stdio)
            except Exception as e:  # only the floor is measured: its default listing will do
                print(f"(could not list plughost's {TOOL}, the floor uses its default entry: {leaves(e)!r})", file=sys.stderr)

        # (result key, what, target whose stderr explains a failure, one measurement)
        jobs: list[tuple[str, str, Target, Callable[[], Any]]] = []
        if "stdio" in only:
            jobs.append(("stdio", "plughost over stdio, sequential", plughost_stdio,
                         lambda: sequential(plughost_stdio, n, w, g)))
        if "http" in only:
            jobs.append(("http", "plughost over HTTP, sequential", plughost_http,
                         lambda: sequential(plughost_http, n, w, g)))
        if "pipelined" in only:
            jobs.append(("pipelined", f"plughost over stdio, {k} in flight", plughost_stdio,
                         lambda: pipelined(plughost_stdio, n, w, k, g)))
        if "raw" in only:
            for t in ("stdio", "http"):
                raw_target = Target("plughost (raw client)", t, plughost_stdio.opener, workdir / f"raw-{t}.stderr")
                jobs.append((f"raw_{t}", f"plughost over {t}, raw client", raw_target,
                             lambda t=t: anyio.to_thread.run_sync(raw_client, "plughost", plughost_argv, workdir, t, n, w, g)))
        if "rawpipe" in only:
            rawpipe_target = Target("plughost (raw client)", "stdio", plughost_stdio.opener, workdir / "rawpipe.stderr")
            jobs.append(("raw_pipelined", f"plughost over stdio, raw client, {k} in flight", rawpipe_target,
                         lambda: anyio.to_thread.run_sync(raw_pipelined, "plughost", plughost_argv, workdir, n, w, k)))
        if "inprocess" in only:
            inproc_target = Target("plughost Python package", "in-process", plughost_stdio.opener, workdir / "none.stderr")
            jobs.append(("inprocess", "plughost Python package, in-process", inproc_target,
                         lambda: anyio.to_thread.run_sync(in_process, args.plughost, n, w, g)))
        if "floor" in only:
            script = workdir / "floor_server.py"
            script.write_text(FLOOR_SERVER)
            entry_file = workdir / "floor_tool.json"
            entry_file.write_text(json.dumps(tool_entry))
            floor = stdio_target("python floor", [sys.executable, str(script), str(entry_file)], workdir)
            jobs.append(("floor", "python floor server, sequential", floor, lambda: sequential(floor, n, w, g)))
            jobs.append(("floor_pipelined", f"python floor server, {k} in flight", floor,
                         lambda: pipelined(floor, n, w, k, g)))
        if args.sdk_server and "sdk" in only:
            sdk = stdio_target("swift sdk server", shlex.split(args.sdk_server), workdir)
            jobs.append(("sdk", "Swift SDK server, sequential", sdk, lambda: sequential(sdk, n, w, g)))
            jobs.append(("sdk_pipelined", f"Swift SDK server, {k} in flight", sdk, lambda: pipelined(sdk, n, w, k, g)))

        # Rounds interleave the targets, so that a machine's load drifting during the run
        # biases none of them; each keeps its best round (see best_of).
        runs: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in jobs}
        for r in range(rep):
            for key, what, target, measure in jobs:
                progress(f"{what}" + (f" (round {r + 1} of {rep})" if rep > 1 else ""))
                current = target
                runs[key].append(await measure())
        for key, got in runs.items():
            results[key] = best_of(got)
    except Exception as e:
        where = current.label if current else "?"
        tail = current.stderr_tail() if current else ""
        causes = "; ".join(repr(x) for x in leaves(e))
        raise BenchError(f"benchmark failed on {where} ({current.transport if current else '?'}): {causes}\n"
                         f"--- its stderr (tail) ---\n{tail}") from e
    env = {
        "python": platform.python_version(), "mcp": metadata.version("mcp"), "cpus": os.cpu_count(),
        "platform": platform.platform(), "plughost": args.plughost if needs_plughost else None,
        "mcp_args": args.mcp_args, "sdk_server": args.sdk_server, "warmup": w, "inflight": k, "gc_off": g, "repeat": rep,
    }
    return {"env": env, "results": results, "summary": summarize(results)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = str(Path(__file__).resolve().parents[2] / ".build" / "debug" / "plughost")
    ap.add_argument("--plughost", default=os.environ.get("PLUGHOST_BIN", default_bin),
                    help="the plughost binary (default: $PLUGHOST_BIN or the checkout's .build/debug/plughost)")
    ap.add_argument("--calls", type=int, default=2000, help="measured calls per measurement (default 2000)")
    ap.add_argument("--warmup", type=int, default=200, help="warm-up calls before each measurement (default 200)")
    ap.add_argument("--inflight", type=int, default=64, help="calls outstanding at once when pipelined (default 64)")
    ap.add_argument("--sdk-server", metavar="CMD", help="an MCP stdio server on the Swift SDK serving sig_add3 (a shell-quoted command)")
    ap.add_argument("--mcp-args", metavar="ARGS", help="extra arguments for plughost mcp, e.g. \"--output-schemas\"")
    ap.add_argument("--only", help="comma-separated subset of stdio,http,pipelined,raw,rawpipe,inprocess,floor,sdk "
                                   "(default: all)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every measurement R times, in interleaved rounds (a fresh server each), and keep each "
                         "one's best: lowest p50, highest calls/s")
    ap.add_argument("--gc-off", action="store_true", help="disable Python's garbage collector while timing")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    if args.calls < 1 or args.warmup < 0 or args.inflight < 1 or args.repeat < 1:
        raise SystemExit("--calls, --inflight and --repeat must be positive, --warmup not negative")
    try:
        report = anyio.run(run, args)
    except BenchError as e:
        print(e, file=sys.stderr)
        raise SystemExit(1) from None
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        rows = [report["results"][k] for k in ("stdio", "http", "pipelined", "raw_stdio", "raw_http", "raw_pipelined",
                                                "inprocess", "floor", "floor_pipelined", "sdk", "sdk_pipelined")
                if k in report["results"]]
        print_table(rows, report["summary"], report["env"])


if __name__ == "__main__":
    main()
