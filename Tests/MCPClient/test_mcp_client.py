"""End-to-end tests of `plughost mcp` through the official Python MCP SDK client (`mcp` 2.x).

Run from the repository root:

    python3 -m pytest -q Tests/MCPClient

The server binary is `$PLUGHOST_BIN` (default: the checkout's .build/debug/plughost); every test starts its
own server (`plughost mcp text sig --db TMP/memory.sqlite --goal g1`, plus `--http 127.0.0.1:PORT`
for the HTTP transport) in its own temporary directory and talks to it with `ClientSession` over
the SDK's stdio or streamable HTTP client transport, using the legacy `initialize` handshake.
A failing test's report carries the server's stderr (see conftest.py).

Every test runs on both transports ("stdio", "http"), except the Origin check, which is HTTP only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib import error as urlerror
from urllib import request as urlrequest

import anyio
import jsonschema
import mcp_types as types
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

PLUGHOST_BIN = os.environ.get("PLUGHOST_BIN", str(Path(__file__).resolve().parents[2] / ".build" / "debug" / "plughost"))
DEFAULT_GOAL = "g1"
INVALID_PARAMS = -32602

START_TIMEOUT = 30.0  # seconds for the HTTP server to print its "listening on" line
SHUTDOWN_TIMEOUT = 5.0  # the server must exit 0 within this after stdin closes / SIGTERM
REQUEST_TIMEOUT = 30.0  # per-request read timeout, so a hung server fails a test instead of hanging it

TRANSPORTS = ["stdio", "http"]

# C type -> the JSON Schema the server must declare for a parameter of that type.
INT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
SIMPLE_TYPES = {"float": "number", "double": "number", "bool": "boolean", "string": "string"}

# What the brief promises, in case `plughost inspect --json` is unavailable: function -> [(param, C type)].
KNOWN_FUNCTIONS: dict[str, list[tuple[str, str]]] = {
    "text_word_count": [("text", "string")],
    "text_keywords": [("text", "string"), ("k", "int32")],
    "text_summarize": [("text", "string"), ("sentences", "int32")],
    "text_tally": [("key", "string")],
    "text_recall_count": [("concept", "string")],
    "sig_add3": [("a", "int64"), ("b", "int64"), ("c", "int64")],
    "sig_id_i8": [("v", "int8")],
    "sig_id_str": [("v", "string")],
    "sig_id_bool": [("v", "bool")],
    "sig_fail": [("message", "string")],
    "sig_sleep_ms": [("ms", "uint32")],
    "sig_noop": [],
}
MEMORY_TOOLS = ["memory_write", "memory_recall", "memory_forget", "memory_clusters"]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    return dict(os.environ)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@cache
def inspect_parameters() -> dict[str, list[dict[str, Any]]]:
    """`<plugin>_<function>` -> its parameters as `plughost inspect --json` gives them ({"name", "type", ...}).

    Every exported function of text and sig; functions with a pointer parameter are left out (they
    are not exported). Falls back to the brief's list when `inspect` fails.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for plugin in ("text", "sig"):
        try:
            p = subprocess.run([PLUGHOST_BIN, "inspect", plugin, "--json"], capture_output=True, timeout=60, check=True)
            info = json.loads(p.stdout)
        except (OSError, subprocess.SubprocessError, ValueError):
            return {k: [{"name": n, "type": t} for n, t in v] for k, v in KNOWN_FUNCTIONS.items()}
        for f in info["functions"]:
            if any(q["type"] == "pointer" for q in f["parameters"]):
                continue
            out[f"{plugin}_{f['name']}"] = list(f["parameters"])
    return out


def plugin_functions() -> dict[str, list[tuple[str, str]]]:
    """`<plugin>_<function>` -> [(param, C type)] of every exported plugin function."""
    return {k: [(q["name"], q["type"]) for q in v] for k, v in inspect_parameters().items()}


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


def structured(result: types.CallToolResult) -> dict[str, Any]:
    sc = result.structured_content
    assert isinstance(sc, dict), f"structuredContent is not an object: {sc!r} (content: {text_of(result)!r})"
    return sc


def value_of(result: types.CallToolResult) -> Any:
    sc = structured(result)
    assert "result" in sc, f"structuredContent has no 'result': {sc!r}"
    return sc["result"]


async def call_ok(session: ClientSession, name: str, arguments: dict[str, Any], **kw: Any) -> types.CallToolResult:
    result = await session.call_tool(name, arguments, **kw)
    assert not result.is_error, f"{name}({arguments!r}) failed: {text_of(result)!r}"
    return result


async def list_all(list_page: Any, field: str) -> list[Any]:
    """Every item of a paginated list (`session.list_tools`, `session.list_resources`), page by page."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await list_page(params=params)
        items += getattr(page, field)
        cursor = page.next_cursor
        if not cursor:
            return items


async def list_all_tools(session: ClientSession) -> list[types.Tool]:
    return await list_all(session.list_tools, "tools")


async def list_all_resources(session: ClientSession) -> list[types.Resource]:
    return await list_all(session.list_resources, "resources")


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for e in group.exceptions:
        if isinstance(e, BaseExceptionGroup):
            out += _leaves(e)
        elif not isinstance(e, anyio.get_cancelled_exc_class()):
            out.append(e)
    return out


async def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return await anyio.run_process([PLUGHOST_BIN, *args], check=False, cwd=cwd, env=_child_env())


@asynccontextmanager
async def raw_stdio_transport(
    argv: list[str], cwd: Path, errlog: Any, exit_info: dict[str, Any]
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]]:
    """A stdio transport like the SDK's, but whose shutdown is only "close stdin, wait".

    The SDK's `stdio_client` sends SIGTERM 2 s after closing stdin and does not expose the exit
    status, which would hide a server that only exits when signalled. This one closes stdin, waits
    up to SHUTDOWN_TIMEOUT and records `returncode` and `seconds` in `exit_info` (killing the
    process group only if it is still alive, then recording `killed`).
    """
    proc = await anyio.open_process(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, cwd=cwd, env=_child_env(),
        start_new_session=True,
    )
    exit_info["pid"] = proc.pid
    read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def reader() -> None:
        assert proc.stdout is not None
        buffer = b""
        delivering = True
        try:
            async for chunk in proc.stdout:
                if not delivering:
                    continue  # drain so a server flushing output at exit never blocks on a full pipe
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        item: SessionMessage | Exception = SessionMessage(
                            types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                        )
                    except ValueError as e:
                        item = ValueError(f"stdout line is not a JSON-RPC message: {line[:200]!r}: {e}")
                    try:
                        await read_send.send(item)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        delivering = False
                        break
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            pass
        finally:
            read_send.close()

    async def writer() -> None:
        assert proc.stdin is not None
        try:
            async with write_recv:
                async for message in write_recv:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await proc.stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            read_send.close()
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        try:
            yield read_recv, write_send
        finally:
            with anyio.CancelScope(shield=True):
                read_recv.close()
                write_send.close()
                with anyio.move_on_after(2):
                    await writer_done.wait()
                assert proc.stdin is not None
                try:
                    await proc.stdin.aclose()
                except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass
                start = time.monotonic()
                while proc.returncode is None and time.monotonic() - start < SHUTDOWN_TIMEOUT:
                    await anyio.sleep(0.01)
                exit_info["seconds"] = time.monotonic() - start
                exit_info["returncode"] = proc.returncode
                exit_info["killed"] = proc.returncode is None
                if proc.returncode is None:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    with anyio.move_on_after(5):
                        await proc.wait()
            tg.cancel_scope.cancel()


class Server:
    """One `plughost mcp` server of one test, in its own directory, reached over one transport."""

    def __init__(self, transport: str, workdir: Path) -> None:
        self.transport = transport
        self.workdir = workdir
        self.db = workdir / "memory.sqlite"
        self.stderr_path = workdir / "server.stderr"
        self.stderr_path.touch()
        self.init_result: types.InitializeResult | None = None
        self.transport_errors: list[Exception] = []
        # After the session: {"returncode", "seconds", "killed"}; for the SDK's stdio client only what it tells.
        self.exit_info: dict[str, Any] = {}
        self.url: str | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- command lines ----------------------------------------------------------------------

    def argv(self, *extra: str) -> list[str]:
        return [PLUGHOST_BIN, "mcp", "text", "sig", "--db", str(self.db), "--goal", DEFAULT_GOAL, *extra]

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError as e:
            return f"(cannot read {self.stderr_path}: {e})"

    async def cli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return await run_cli(*args, "--db", str(self.db), cwd=self.workdir)

    async def cli_json(self, *args: str) -> Any:
        p = await self.cli(*args)
        assert p.returncode == 0, f"plughost {' '.join(args)} failed ({p.returncode}): {p.stderr.decode(errors='replace')}"
        return json.loads(p.stdout)

    # -- sessions ---------------------------------------------------------------------------

    @asynccontextmanager
    async def session(self, *, raw_stdio: bool = False) -> AsyncIterator[ClientSession]:
        """Start the server, connect, `initialize`, yield the session; on exit disconnect and stop the server.

        stdio: the SDK's `stdio_client` (or `raw_stdio_transport` when `raw_stdio`, which records the
        exit status after closing stdin). http: the server gets SIGTERM after the client disconnects;
        `exit_info` records its exit.
        """
        try:
            async with self._transport(raw_stdio) as (read, write):

                async def on_message(message: Any) -> None:
                    if isinstance(message, Exception):
                        self.transport_errors.append(message)

                async with ClientSession(
                    read, write, read_timeout_seconds=REQUEST_TIMEOUT, message_handler=on_message,
                    client_info=types.Implementation(name="plughost-mcp-tests", version="1.0"),
                ) as session:
                    self.init_result = await session.initialize()
                    yield session
        except BaseExceptionGroup as group:
            # The transports' task groups wrap the test's own failure; show it plainly.
            leaves = _leaves(group)
            if len(leaves) == 1:
                raise leaves[0] from None
            raise
        assert not self.transport_errors, f"the transport reported errors (non-protocol output?): {self.transport_errors!r}"

    @asynccontextmanager
    async def _transport(self, raw_stdio: bool) -> AsyncIterator[tuple[Any, Any]]:
        if self.transport == "stdio":
            with open(self.stderr_path, "a") as errlog:
                if raw_stdio:
                    async with raw_stdio_transport(self.argv(), self.workdir, errlog, self.exit_info) as streams:
                        yield streams
                else:
                    params = StdioServerParameters(
                        command=PLUGHOST_BIN, args=self.argv()[1:], env=_child_env(), cwd=self.workdir
                    )
                    async with stdio_client(params, errlog=errlog) as streams:
                        yield streams
            return
        assert self.transport == "http"
        await self.start_http()
        try:
            async with streamable_http_client(self.url) as streams:
                yield streams
        finally:
            with anyio.CancelScope(shield=True):
                await self.stop_http()

    async def start_http(self) -> None:
        self.port = free_port()
        expected = f"http://127.0.0.1:{self.port}/mcp"
        errlog = open(self.stderr_path, "ab")  # noqa: SIM115 - closed by the reader thread
        ready = threading.Event()
        printed: list[str] = []
        self._proc = subprocess.Popen(
            self.argv("--http", f"127.0.0.1:{self.port}"),
            stdin=subprocess.PIPE,  # kept open: an HTTP server must not depend on stdin
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.workdir, env=_child_env(),
            start_new_session=True,
        )
        proc = self._proc

        def pump() -> None:
            assert proc.stderr is not None
            with errlog:
                for line in proc.stderr:
                    errlog.write(line)
                    errlog.flush()
                    m = re.search(rb"listening on (http://\S+)", line)
                    if m and not ready.is_set():
                        printed.append(m.group(1).decode())
                        ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.is_set():
            if proc.poll() is not None:
                await anyio.sleep(0.1)  # let the pump copy the last lines
                pytest.fail(f"plughost mcp --http exited with {proc.returncode} before listening")
            if time.monotonic() > deadline:
                pytest.fail(f"plughost mcp --http printed no 'listening on' line within {START_TIMEOUT} s")
            await anyio.sleep(0.02)
        assert printed[0] == expected, f"server printed 'listening on {printed[0]}', expected {expected}"
        self.url = expected

    async def stop_http(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            if proc is not None and not self.exit_info:
                self.exit_info.update(returncode=proc.returncode, seconds=0.0, killed=False, early=True)
            return
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        while proc.poll() is None and time.monotonic() - start < SHUTDOWN_TIMEOUT:
            await anyio.sleep(0.01)
        self.exit_info.update(returncode=proc.returncode, seconds=time.monotonic() - start, killed=proc.returncode is None)
        if proc.returncode is None:
            self.kill()

    def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=TRANSPORTS)
def server(request: pytest.FixtureRequest, tmp_path: Path):
    if not os.access(PLUGHOST_BIN, os.X_OK):
        pytest.fail(f"PLUGHOST_BIN={PLUGHOST_BIN} is not an executable (build it or set PLUGHOST_BIN)")
    srv = Server(request.param, tmp_path)
    request.node._plughost_servers = [srv]  # conftest.py adds their stderr to a failing report
    yield srv
    srv.kill()


@pytest.fixture
def http_server(request: pytest.FixtureRequest, tmp_path: Path):
    if not os.access(PLUGHOST_BIN, os.X_OK):
        pytest.fail(f"PLUGHOST_BIN={PLUGHOST_BIN} is not an executable (build it or set PLUGHOST_BIN)")
    srv = Server("http", tmp_path)
    request.node._plughost_servers = [srv]
    yield srv
    srv.kill()


pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------------------------------------
# Handshake and tool listing
# ---------------------------------------------------------------------------------------------


async def test_initialize(server: Server) -> None:
    async with server.session() as s:
        init = server.init_result
        assert init is not None
        assert init.server_info.name == "plughost"
        assert init.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
        assert init.capabilities.tools is not None, "server does not declare the tools capability"
        assert init.capabilities.resources is not None, "server does not declare the resources capability"
        await s.send_ping()


# Parameters whose schema must carry exactly the C type's range (functions that take any value of it).
EXACT_RANGE = {("sig_id_i8", "v"), ("sig_add3", "a"), ("sig_add3", "b"), ("sig_add3", "c")}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_param_schema(tool: str, name: str, ctype: str, schema: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """The property schema of one parameter: the C type's JSON type and range, or the narrower range
    (and default, enum) the plugin declares for it (ABI 1.1 parameter metadata)."""
    where = f"{tool}.{name} ({ctype})"
    problems: list[str] = []
    if ctype in INT_RANGES:
        lo, hi = INT_RANGES[ctype]
        mn, mx = schema.get("minimum"), schema.get("maximum")
        if schema.get("type") != "integer":
            problems.append(f"{where}: type {schema.get('type')!r}, expected 'integer'")
        if not (_is_int(mn) and _is_int(mx) and lo <= mn <= mx <= hi):
            problems.append(f"{where}: range {mn!r}..{mx!r} is not an integer range within the C type's {lo}..{hi}")
        elif (tool, name) in EXACT_RANGE and (mn, mx) != (lo, hi):
            problems.append(f"{where}: range {mn}..{mx}, expected the whole C range {lo}..{hi}")
        for key in ("minimum", "maximum"):  # a range inspect declares must be the schema's
            if isinstance(info.get(key), int | float) and schema.get(key) is not None and schema[key] != info[key]:
                problems.append(f"{where}: {key} {schema[key]} but inspect declares {info[key]}")
    elif ctype in SIMPLE_TYPES:
        if schema.get("type") != SIMPLE_TYPES[ctype]:
            problems.append(f"{where}: type {schema.get('type')!r}, expected {SIMPLE_TYPES[ctype]!r}")
        if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]
                                     and all(isinstance(x, str) for x in schema["enum"]) and ctype == "string"):
            problems.append(f"{where}: enum {schema['enum']!r} is not a non-empty list of strings on a string")
    elif ctype == "buffer":
        items = schema.get("items") or {}
        if schema.get("type") != "array" or items.get("type") != "integer":
            problems.append(f"{where}: {schema!r} is not an array of integers")
        elif items.get("minimum") != 0 or items.get("maximum") != 255:
            problems.append(f"{where}: items range {items.get('minimum')}..{items.get('maximum')}, expected 0..255")
    else:
        problems.append(f"{where}: unexpected C type in inspect output")
    if "default" in schema and not jsonschema.Draft202012Validator(schema).is_valid(schema["default"]):
        problems.append(f"{where}: default {schema['default']!r} does not satisfy its own schema {schema!r}")
    return problems


async def test_list_tools_and_schemas(server: Server) -> None:
    async with server.session() as s:
        tools = {t.name: t for t in await list_all_tools(s)}
    expected = plugin_functions()
    infos = {k: {q["name"]: q for q in v} for k, v in inspect_parameters().items()}
    missing = sorted((set(KNOWN_FUNCTIONS) | set(expected) | set(MEMORY_TOOLS)) - set(tools))
    assert not missing, f"tools missing from tools/list: {missing}; listed: {sorted(tools)}"
    assert "sig_id_ptr" not in tools, "a function with a pointer parameter is exported"
    unexpected = sorted(n for n in tools if n not in expected and n not in MEMORY_TOOLS)
    assert not unexpected, f"tools/list has tools that are neither plugin functions nor memory tools: {unexpected}"

    problems: list[str] = []
    for name, tool in sorted(tools.items()):
        schema = tool.input_schema
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            problems.append(f"{name}: inputSchema is not a valid JSON Schema: {e.message}")
            continue
        if tool.output_schema is not None:
            try:
                jsonschema.Draft202012Validator.check_schema(tool.output_schema)
            except jsonschema.SchemaError as e:
                problems.append(f"{name}: outputSchema is not a valid JSON Schema: {e.message}")
        if schema.get("type") != "object":
            problems.append(f"{name}: inputSchema type {schema.get('type')!r}")
        props = schema.get("properties") or {}
        goal = props.get("goal")
        if not isinstance(goal, dict) or goal.get("type") != "string":
            problems.append(f"{name}: no optional string 'goal' property ({goal!r})")
        if "goal" in (schema.get("required") or []):
            problems.append(f"{name}: 'goal' is required")
        if name not in expected:
            continue
        params = expected[name]
        if schema.get("additionalProperties") is not False:
            problems.append(f"{name}: additionalProperties is {schema.get('additionalProperties')!r}, expected false")
        # every parameter is required, unless the plugin gave it a default (then the schema shows it)
        optional = {p for p, _ in params if isinstance(props.get(p), dict) and "default" in props[p]}
        required_expected = [p for p, _ in params if p not in optional]
        if sorted(schema.get("required") or []) != sorted(required_expected):
            problems.append(f"{name}: required {schema.get('required')!r}, expected {required_expected!r}")
        if set(props) != {p for p, _ in params} | {"goal"}:
            problems.append(f"{name}: properties {sorted(props)}, expected {sorted({p for p, _ in params} | {'goal'})}")
        for pname, ctype in params:
            if pname in props:
                problems += _check_param_schema(name, pname, ctype, props[pname], infos.get(name, {}).get(pname, {}))

    mem = {n: (tools[n].input_schema.get("properties") or {}) for n in MEMORY_TOOLS}
    for n, keys in {
        "memory_write": ["content", "concepts", "id", "goal"],
        "memory_recall": ["concept", "text", "related", "limit", "goal"],
        "memory_forget": ["id", "goal"],
        "memory_clusters": ["goal"],
    }.items():
        for k in keys:
            if k not in mem[n]:
                problems.append(f"{n}: no property {k!r} ({sorted(mem[n])})")
    if not {"content", "concepts"} <= set(tools["memory_write"].input_schema.get("required") or []):
        problems.append(f"memory_write: required {tools['memory_write'].input_schema.get('required')!r}")
    if "id" not in (tools["memory_forget"].input_schema.get("required") or []):
        problems.append(f"memory_forget: required {tools['memory_forget'].input_schema.get('required')!r}")
    assert not problems, "schema problems:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------
# Calling plugin functions
# ---------------------------------------------------------------------------------------------


async def test_text_functions(server: Server) -> None:
    async with server.session() as s:
        r = await call_ok(s, "text_word_count", {"text": "one two three"})
        assert value_of(r) == 3
        assert text_of(r) == "3"

        source = "apple banana apple cherry banana apple"
        r = await call_ok(s, "text_keywords", {"text": source, "k": 2})
        kw = value_of(r)
        assert isinstance(kw, str) and ", " in kw, f"keywords: {kw!r}"
        assert kw.split(", ")[0] == "apple", kw
        assert len(kw.split(", ")) == 2, kw
        assert text_of(r) == kw

        # a parameter the plugin gave a default may be left out
        schemas = {t.name: t.input_schema for t in await list_all_tools(s)}
        for tool, param, args in (
            ("text_keywords", "k", {"text": source}),
            ("text_summarize", "sentences", {"text": "One. Two. Three."}),
        ):
            if param not in (schemas[tool].get("required") or []):
                assert "default" in schemas[tool]["properties"][param], (tool, schemas[tool])
                assert isinstance(value_of(await call_ok(s, tool, args)), str)

        prose = "First sentence here. Second one is there. Third is last."
        r = await call_ok(s, "text_summarize", {"text": prose, "sentences": 1})
        summary = value_of(r)
        assert isinstance(summary, str) and summary.strip(), f"summary: {summary!r}"
        assert summary.strip() in prose, f"not an extractive summary: {summary!r}"
        assert text_of(r) == summary

        assert value_of(await call_ok(s, "text_tally", {"key": "k"})) == 1
        r = await call_ok(s, "text_tally", {"key": "k"})
        assert value_of(r) == 2 and text_of(r) == "2"

        # keywords remembered the text under its keywords (visible as soon as the write returned)
        r = await call_ok(s, "text_recall_count", {"concept": "apple"})
        assert isinstance(value_of(r), int) and value_of(r) >= 1, f"recall_count(apple) = {value_of(r)!r}"
        assert value_of(await call_ok(s, "text_recall_count", {"concept": "nothing-like-this"})) == 0


async def test_sig_functions(server: Server) -> None:
    async with server.session() as s:
        r = await call_ok(s, "sig_add3", {"a": 1, "b": 2, "c": 3})
        assert value_of(r) == 6 and text_of(r) == "6"
        r = await call_ok(s, "sig_add3", {"a": -(2**62), "b": -(2**62), "c": 5})
        assert value_of(r) == -(2**63) + 5

        for v in ("hello", "héllo wörld ✓", ""):
            r = await call_ok(s, "sig_id_str", {"v": v})
            assert value_of(r) == v and text_of(r) == v, (v, r)

        for v in (True, False):
            r = await call_ok(s, "sig_id_bool", {"v": v})
            assert value_of(r) is v
            assert text_of(r) == json.dumps(v)

        for v in (-128, 0, 127):  # the int8 range's edges are accepted
            assert value_of(await call_ok(s, "sig_id_i8", {"v": v})) == v

        r = await s.call_tool("sig_noop", {})
        assert not r.is_error, text_of(r)
        assert r.content == [] or text_of(r) == "null", f"noop content: {r.content!r}"
        if isinstance(r.structured_content, dict) and "result" in r.structured_content:
            assert r.structured_content["result"] is None

        # the goal property is accepted by every plugin tool
        assert value_of(await call_ok(s, "sig_add3", {"a": 1, "b": 1, "c": 1, "goal": "other"})) == 3


async def test_sig_fail_is_error_result(server: Server) -> None:
    async with server.session() as s:
        r = await s.call_tool("sig_fail", {"message": "boom-1234"})
        assert r.is_error, f"sig_fail did not report an error: {r!r}"
        assert "boom-1234" in text_of(r), f"error text lacks the message: {text_of(r)!r}"
        # the session still works afterwards
        assert value_of(await call_ok(s, "sig_add3", {"a": 1, "b": 2, "c": 3})) == 6


BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("sig_id_i8", {}, "missing required argument"),
    ("sig_id_i8", {"v": 1, "bogus": 2}, "extra unknown argument"),
    ("sig_id_i8", {"v": "x"}, "string for an integer"),
    ("sig_id_i8", {"v": 1.5}, "fraction for an integer"),
    ("sig_id_i8", {"v": 300}, "above int8"),
    ("sig_id_i8", {"v": -129}, "below int8"),
    ("sig_add3", {"a": 1, "b": 2}, "missing one of three"),
    ("sig_add3", {"a": 1, "b": 2, "c": 2**63}, "above int64"),
    ("sig_add3", {"a": 1, "b": 2, "c": 3, "goal": 7}, "goal not a string"),
    ("sig_id_str", {"v": 5}, "number for a string"),
    ("sig_id_bool", {"v": "true"}, "string for a bool"),
    ("sig_sleep_ms", {"ms": -1}, "negative for uint32"),
    ("text_keywords", {"text": "a b c", "k": "2"}, "string for int32"),
    ("text_word_count", {"text": None}, "null for a string"),
    ("memory_recall", {"concept": "a", "related": "yes"}, "string for a bool"),
]


def valid_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy `schema`: each required property's default, minimum, first enum value, or a plain value."""
    props = schema.get("properties") or {}
    args: dict[str, Any] = {}
    for name in schema.get("required") or []:
        p = props.get(name) or {}
        if "default" in p:
            args[name] = p["default"]
        elif "enum" in p:
            args[name] = p["enum"][0]
        elif p.get("type") in ("integer", "number"):
            args[name] = max(p.get("minimum", 0), min(p.get("maximum", 1), 1))
        else:
            args[name] = {"string": "x", "boolean": True, "array": []}.get(p.get("type"), None)
    return args


def narrowed_range_cases(tools: dict[str, types.Tool]) -> list[tuple[str, dict[str, Any], str]]:
    """For every integer parameter whose declared range is narrower than its C type's: just outside it."""
    cases: list[tuple[str, dict[str, Any], str]] = []
    for name, params in sorted(plugin_functions().items()):
        if name not in tools:
            continue
        schema = tools[name].input_schema
        props = schema.get("properties") or {}
        for pname, ctype in params:
            if ctype not in INT_RANGES or not _is_int(props.get(pname, {}).get("minimum")):
                continue
            lo, hi = INT_RANGES[ctype]
            mn, mx = props[pname]["minimum"], props[pname].get("maximum", hi)
            for v, why in ((mn - 1, f"below its declared minimum {mn}"), (mx + 1, f"above its declared maximum {mx}")):
                if lo <= v <= hi:
                    cases.append((name, {**valid_arguments(schema), pname: v}, why))
    return cases


async def test_bad_arguments_are_invalid_params(server: Server) -> None:
    async with server.session() as s:
        tools = {t.name: t for t in await list_all_tools(s)}
        problems: list[str] = []
        for name, args, why in BAD_ARGUMENTS + narrowed_range_cases(tools):
            validator = jsonschema.Draft202012Validator(tools[name].input_schema)
            if validator.is_valid(args):
                problems.append(f"{name}({args!r}) [{why}]: the declared inputSchema accepts it")
            try:
                r = await s.call_tool(name, args)
            except MCPError as e:
                if e.code != INVALID_PARAMS:
                    problems.append(f"{name}({args!r}) [{why}]: JSON-RPC error {e.code} {e.message!r}, expected {INVALID_PARAMS}")
            else:
                problems.append(f"{name}({args!r}) [{why}]: no JSON-RPC error; result isError={r.is_error} {text_of(r)!r}")
        # the good variants pass both the schema and the host
        for name, args in [("sig_id_i8", {"v": 127}), ("sig_add3", {"a": 1, "b": 2, "c": 3, "goal": "g1"})]:
            assert jsonschema.Draft202012Validator(tools[name].input_schema).is_valid(args), (name, args)
            await call_ok(s, name, args)
    assert not problems, "bad arguments not rejected as invalid params:\n  " + "\n  ".join(problems)


async def test_unknown_tool_is_invalid_params(server: Server) -> None:
    async with server.session() as s:
        with pytest.raises(MCPError) as info:
            await s.call_tool("no_such_tool", {})
        assert info.value.code == INVALID_PARAMS, (info.value.code, info.value.message)
        with pytest.raises(MCPError) as info:
            await s.call_tool("sig_id_ptr", {"v": 0})
        assert info.value.code == INVALID_PARAMS, (info.value.code, info.value.message)


# ---------------------------------------------------------------------------------------------
# Progress and concurrency
# ---------------------------------------------------------------------------------------------


async def test_progress_notifications(server: Server) -> None:
    async with server.session() as s:
        events: list[tuple[float, float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            events.append((time.monotonic(), progress, total, message))

        start = time.monotonic()
        r = await call_ok(s, "sig_sleep_ms", {"ms": 1200}, progress_callback=on_progress)
        elapsed = time.monotonic() - start
        await anyio.sleep(0.05)  # progress callbacks run in their own tasks
        assert value_of(r) == 1200
        assert elapsed >= 1.15, f"sig_sleep_ms(1200) returned after {elapsed:.3f} s"
        assert len(events) >= 2, f"{len(events)} progress notifications in {elapsed:.3f} s: {events!r}"
        values = [p for _, p, _, _ in events]
        assert all(b > a for a, b in zip(values, values[1:])), f"progress does not increase: {values!r}"

        # without a progress token the call works the same
        assert value_of(await call_ok(s, "sig_sleep_ms", {"ms": 10})) == 10


async def test_concurrent_calls(server: Server) -> None:
    async with server.session() as s:
        await list_all_tools(s)  # the SDK lists tools once for output-schema validation; do it up front
        results: dict[int, Any] = {}

        async def one(i: int) -> None:
            results[i] = value_of(await call_ok(s, "sig_sleep_ms", {"ms": 300}))

        start = time.monotonic()
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(one, i)
        elapsed = time.monotonic() - start
    assert results == {i: 300 for i in range(8)}
    # All 8 at once take 0.3 s. Two at a time (one blocked call per core, as Dispatch's global
    # queue ran them on this 2-core machine) took 1.2 s; the bound leaves 0.6 s for a busy machine.
    assert elapsed < 0.9, f"8 concurrent sig_sleep_ms(300) took {elapsed:.3f} s (all at once: 0.3 s; serial: 2.4 s)"


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def _ids(recall_result: types.CallToolResult) -> list[str]:
    memories = structured(recall_result).get("memories")
    assert isinstance(memories, list), f"memory_recall: {structured(recall_result)!r}"
    return [m["id"] for m in memories]


async def test_memory_round_trip(server: Server) -> None:
    async with server.session() as s:
        r = await call_ok(s, "memory_write", {"content": "alpha and beta go together", "concepts": ["alpha", "beta"]})
        mid = structured(r).get("id")
        assert isinstance(mid, str) and mid, f"memory_write: {structured(r)!r}"

        r = await call_ok(s, "memory_recall", {"concept": "alpha"})
        memories = structured(r)["memories"]
        mine = [m for m in memories if m["id"] == mid]
        assert len(mine) == 1, f"recall(alpha) does not see {mid}: {memories!r}"
        m = mine[0]
        assert m["content"] == "alpha and beta go together"
        assert sorted(m["concepts"]) == ["alpha", "beta"]
        assert isinstance(m["plugin"], str)
        assert isinstance(m["score"], int | float)
        assert mid in _ids(await call_ok(s, "memory_recall", {"concept": "beta", "limit": 5}))
        assert mid in _ids(await call_ok(s, "memory_recall", {"concept": "alpha", "goal": DEFAULT_GOAL}))

        # another goal does not see it
        assert mid not in _ids(await call_ok(s, "memory_recall", {"concept": "alpha", "goal": "g2"}))

        r = await call_ok(s, "memory_forget", {"id": mid})
        assert structured(r) == {"forgotten": True}
        assert mid not in _ids(await call_ok(s, "memory_recall", {"concept": "alpha"}))
        r = await call_ok(s, "memory_forget", {"id": mid})
        assert structured(r) == {"forgotten": False}


async def test_memory_recall_related(server: Server) -> None:
    """related: true widens recall by concept to the concept's cluster, newest first."""
    async with server.session() as s:
        goal = "related-goal"
        for mid, concepts in (("r1", ["red", "green"]), ("r2", ["blue"]), ("r3", ["Red", "Green"]), ("r4", ["teal"])):
            await call_ok(s, "memory_write", {"content": mid, "concepts": concepts, "id": mid, "goal": goal})
        # red–green: co 2, an edge; blue and teal are alone
        assert _ids(await call_ok(s, "memory_recall", {"concept": "green", "goal": goal})) == ["r3", "r1"]
        assert _ids(await call_ok(s, "memory_recall", {"concept": "red", "related": True, "goal": goal})) == ["r3", "r1"]
        await call_ok(s, "memory_write", {"content": "r5", "concepts": ["green", "blue"], "id": "r5", "goal": goal})
        await call_ok(s, "memory_write", {"content": "r6", "concepts": ["green", "blue"], "id": "r6", "goal": goal})
        # green–blue now co 2: red's cluster holds blue, seen at once (pending clustering runs first)
        assert _ids(await call_ok(s, "memory_recall", {"concept": "red", "related": True, "goal": goal})) == [
            "r6",
            "r5",
            "r3",
            "r2",
            "r1",
        ]
        assert _ids(await call_ok(s, "memory_recall", {"concept": "red", "related": True, "limit": 2, "goal": goal})) == [
            "r6",
            "r5",
        ]
        assert _ids(await call_ok(s, "memory_recall", {"concept": "teal", "related": True, "goal": goal})) == ["r4"]
        with pytest.raises(MCPError) as info:
            await s.call_tool("memory_recall", {"text": "r1", "related": True, "goal": goal})
        assert "give concept, not text" in str(info.value), str(info.value)


async def test_memory_goals_and_text_recall(server: Server) -> None:
    async with server.session() as s:
        r = await call_ok(
            s, "memory_write", {"content": "the quick brown fox", "concepts": ["fox"], "goal": "g2", "id": "fox-1"}
        )
        assert structured(r) == {"id": "fox-1"}
        assert "fox-1" not in _ids(await call_ok(s, "memory_recall", {"concept": "fox"}))
        assert "fox-1" in _ids(await call_ok(s, "memory_recall", {"concept": "fox", "goal": "g2"}))
        assert "fox-1" in _ids(await call_ok(s, "memory_recall", {"text": "quick fox", "goal": "g2"}))
        assert "fox-1" not in _ids(await call_ok(s, "memory_recall", {"text": "quick fox"}))

        # limit is honoured
        for i in range(5):
            await call_ok(s, "memory_write", {"content": f"note {i}", "concepts": ["many"]})
        assert len(_ids(await call_ok(s, "memory_recall", {"concept": "many", "limit": 3}))) == 3
        assert len(_ids(await call_ok(s, "memory_recall", {"concept": "many"}))) == 5

        # exactly one of concept and text: both or neither is refused (as invalid params or as an error result)
        for args in ({"concept": "fox", "text": "fox"}, {}):
            try:
                r = await s.call_tool("memory_recall", args)
            except MCPError as e:
                assert e.code == INVALID_PARAMS, (args, e.code, e.message)
            else:
                assert r.is_error, f"memory_recall({args!r}) succeeded: {r.structured_content!r}"

        # the goal argument of plugin tools overrides the default goal too (goal contexts are separate)
        assert value_of(await call_ok(s, "text_tally", {"key": "n"})) == 1
        assert value_of(await call_ok(s, "text_tally", {"key": "n"})) == 2
        assert value_of(await call_ok(s, "text_tally", {"key": "n", "goal": "g2"})) == 1
        assert value_of(await call_ok(s, "text_tally", {"key": "n", "goal": DEFAULT_GOAL})) == 3


CLUSTER_WRITES: list[tuple[str, list[str], str | None]] = [
    ("a", ["alpha", "beta"], None),
    ("b", ["beta", "gamma"], None),
    ("c", ["delta"], None),
    ("d", ["alpha", "epsilon"], None),
    ("e", ["zeta", "eta"], "g2"),
]


async def _write_cluster_memories(s: ClientSession) -> None:
    for content, concepts, goal in CLUSTER_WRITES:
        args: dict[str, Any] = {"content": content, "concepts": concepts}
        if goal:
            args["goal"] = goal
        await call_ok(s, "memory_write", args)


def _cli_entry(cli_output: Any, goal: str) -> dict[str, Any]:
    assert isinstance(cli_output, list), cli_output
    entries = [e for e in cli_output if e.get("goal") == goal]
    assert len(entries) <= 1, cli_output
    return entries[0] if entries else {"goal": goal, "clusters": []}


async def test_memory_clusters_match_cli(server: Server) -> None:
    tool_clusters: dict[str, dict[str, Any]] = {}
    cli_during: Any = None
    cli_during_error = ""
    async with server.session() as s:
        await _write_cluster_memories(s)
        tool_clusters["g1"] = structured(await call_ok(s, "memory_clusters", {}))
        tool_clusters["g2"] = structured(await call_ok(s, "memory_clusters", {"goal": "g2"}))
        p = await server.cli("memory", "clusters", "--json")  # a second process reads the database now
        if p.returncode == 0:
            cli_during = json.loads(p.stdout)
        else:
            cli_during_error = p.stderr.decode(errors="replace")

    for goal in ("g1", "g2"):
        got = tool_clusters[goal]
        assert got.get("goal") == goal, got
        concepts = [c for cl in got["clusters"] for c in cl["concepts"]]
        written = {c for _, cs, g in CLUSTER_WRITES if (g or "g1") == goal for c in cs}
        assert sorted(concepts) == sorted(written), f"{goal}: clusters {got!r} do not partition {sorted(written)}"

    if cli_during is None:
        warnings.warn(f"`plughost memory clusters` failed while the server ran; compared after shutdown: {cli_during_error}")
    cli_after = await server.cli_json("memory", "clusters", "--json")
    for goal in ("g1", "g2"):
        if cli_during is not None:
            assert tool_clusters[goal] == _cli_entry(cli_during, goal), f"{goal}: tool vs CLI while running"
        assert tool_clusters[goal] == _cli_entry(cli_after, goal), f"{goal}: tool vs CLI after shutdown"


async def test_resources(server: Server) -> None:
    async with server.session() as s:
        await _write_cluster_memories(s)
        expected = {g: structured(await call_ok(s, "memory_clusters", {"goal": g})) for g in ("g1", "g2")}
        resources = {str(r.uri): r for r in await list_all_resources(s)}
        for goal in ("g1", "g2"):
            uri = f"plughost://goals/{goal}/clusters"
            assert uri in resources, f"{uri} not in resources/list: {sorted(resources)}"
            assert resources[uri].mime_type == "application/json", resources[uri]
            rr = await s.read_resource(uri)
            assert len(rr.contents) == 1, rr.contents
            content = rr.contents[0]
            assert isinstance(content, types.TextResourceContents), content
            assert str(content.uri) == uri
            assert content.mime_type in (None, "application/json"), content.mime_type
            assert json.loads(content.text) == expected[goal], f"{uri}: {content.text}"
        assert "plughost://goals/g3/clusters" not in resources


# ---------------------------------------------------------------------------------------------
# Shutdown, durability, HTTP origin checks
# ---------------------------------------------------------------------------------------------


async def test_shutdown_and_durability(server: Server) -> None:
    # stdio: our own transport, which only closes stdin (the SDK's would SIGTERM after 2 s);
    # http: the session helper sends SIGTERM after disconnecting.
    async with server.session(raw_stdio=True) as s:
        r = await call_ok(s, "memory_write", {"content": "survives shutdown", "concepts": ["durable"]})
        mid = structured(r)["id"]
        await call_ok(s, "text_keywords", {"text": "persist persist these words", "k": 1})
    info = server.exit_info
    how = "stdin closed" if server.transport == "stdio" else "SIGTERM"
    assert not info.get("early"), f"the server had exited before shutdown (code {info.get('returncode')})"
    assert not info.get("killed"), f"the server did not exit within {SHUTDOWN_TIMEOUT} s after {how}"
    assert info.get("returncode") == 0, f"exit code {info.get('returncode')} after {how} ({info})"
    recalled = await server.cli_json("memory", "recall", "--goal", DEFAULT_GOAL, "--concept", "durable", "--json")
    assert [m["id"] for m in recalled] == [mid], recalled
    assert recalled[0]["content"] == "survives shutdown"
    persisted = await server.cli_json("memory", "recall", "--goal", DEFAULT_GOAL, "--concept", "persist", "--json")
    assert persisted, "the memory text_keywords wrote is not in the database"


def _post(url: str, origin: str | None) -> tuple[int, bytes]:
    body = json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "origin-test", "version": "1"}},
    }).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if origin is not None:
        headers["Origin"] = origin
    req = urlrequest.Request(url, data=body, headers=headers, method="POST")
    try:
        with urlrequest.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
            return resp.status, resp.read()
    except urlerror.HTTPError as e:
        return e.code, e.read()


async def test_http_origin_check(http_server: Server) -> None:
    srv = http_server
    await srv.start_http()
    try:
        assert srv.url is not None and srv.port is not None
        status, body = await anyio.to_thread.run_sync(_post, srv.url, "http://evil.example")
        assert status == 403, f"Origin http://evil.example: HTTP {status} {body[:200]!r}"
        for origin in (None, f"http://127.0.0.1:{srv.port}", f"http://localhost:{srv.port}"):
            status, body = await anyio.to_thread.run_sync(_post, srv.url, origin)
            assert status == 200, f"Origin {origin}: HTTP {status} {body[:200]!r}"
            assert b"plughost" in body, f"Origin {origin}: no initialize result in {body[:300]!r}"
    finally:
        await srv.stop_http()
    assert srv.exit_info.get("returncode") == 0, srv.exit_info
