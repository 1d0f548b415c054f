"""Protocol edge cases of `plughost mcp` that the SDK client cannot provoke, spoken raw: JSON-RPC
lines on a subprocess's pipes (stdio) and POSTs with urllib (Streamable HTTP).

Run from the repository root with `PLUGHOST_BIN` set, like test_mcp_client.py.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any
from urllib import error as urlerror
from urllib import request as urlrequest

import pytest

PLUGHOST_BIN = os.environ.get("PLUGHOST_BIN", str(Path(__file__).resolve().parents[2] / ".build" / "debug" / "plughost"))
DEFAULT_GOAL = "g1"
PROTOCOL_VERSION = "2025-11-25"
READ_TIMEOUT = 30.0  # seconds to wait for one message, so a hung server fails a test instead of hanging it
EXIT_TIMEOUT = 10.0  # seconds the server may take to exit once told to

INVALID_REQUEST = -32600
PARSE_ERROR = -32700


def argv(db: Path, *extra: str) -> list[str]:
    return [PLUGHOST_BIN, "mcp", "text", "sig", "--db", str(db), "--goal", DEFAULT_GOAL, *extra]


def call_params(ms: int, progress: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"name": "sig_sleep_ms", "arguments": {"ms": ms}}
    if progress is not None:
        p["_meta"] = {"progressToken": progress}
    return p


def initialize_params() -> dict[str, Any]:
    return {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "1"}}


@pytest.fixture(autouse=True)
def _binary() -> None:
    if not os.access(PLUGHOST_BIN, os.X_OK):
        pytest.fail(f"PLUGHOST_BIN={PLUGHOST_BIN} is not an executable (build it or set PLUGHOST_BIN)")


# ---------------------------------------------------------------------------------------------
# A raw stdio server
# ---------------------------------------------------------------------------------------------


class StdioServer:
    """`plughost mcp` on pipes: lines in, parsed messages out (a thread reads stdout into a queue)."""

    def __init__(self, workdir: Path, *extra: str, pump: bool = True) -> None:
        self.workdir = workdir
        self.db = workdir / "memory.sqlite"
        self.stderr_path = workdir / "server.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv(self.db, *extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            cwd=workdir, start_new_session=True,
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        if pump:
            threading.Thread(target=self._pump, daemon=True).start()
        # Messages read while waiting for another one's response, in order.
        self.others: list[dict[str, Any]] = []

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message).encode())

    def read(self, timeout: float = READ_TIMEOUT) -> dict[str, Any] | None:
        """The next message, or None at end of output."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no message from the server within {timeout} s; stderr: {self.stderr()}")
        if line is None:
            return None
        try:
            return json.loads(line)
        except ValueError:
            pytest.fail(f"stdout line is not JSON: {line[:300]!r}")

    def response(self, rid: Any, timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        """The response with id `rid`; other messages read meanwhile go to `others`."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.read(max(0.01, deadline - time.monotonic()))
            if m is None:
                pytest.fail(f"the server closed its output before answering {rid!r}; stderr: {self.stderr()}")
            if "method" not in m and m.get("id") == rid:
                return m
            self.others.append(m)

    def request(self, rid: Any, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, **({"params": params} if params is not None else {})})
        return self.response(rid)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int | None:
        """The exit status, or None (after killing it) when it did not exit within `timeout`."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stop(self) -> int | None:
        """Closes stdin and waits for the exit status."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        return self.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self._stderr.close()


def _servers(kind: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A fixture's factory of servers of `kind`, each killed when the test ends."""
    servers: list[Any] = []

    def start(*extra: str) -> Any:
        s = kind(tmp_path, *extra)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.kill()


@pytest.fixture
def stdio_server(tmp_path: Path):
    yield from _servers(StdioServer, tmp_path)


# ---------------------------------------------------------------------------------------------
# A raw HTTP server
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def messages(self) -> list[dict[str, Any]]:
        """The JSON-RPC messages of the body: one JSON object, or an SSE stream's `data:` lines."""
        if self.content_type.startswith("application/json"):
            return [json.loads(self.body)]
        if self.content_type.startswith("text/event-stream"):
            return [json.loads(line[5:]) for line in self.body.decode().splitlines() if line.startswith("data:") and line[5:].strip()]
        return []

    def __repr__(self) -> str:
        return f"HTTP {self.status} {self.content_type!r} {self.body[:300]!r}"


class HTTPServer:
    """`plughost mcp --http 127.0.0.1:PORT`, spoken to with urllib."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.stderr_path = workdir / "server.stderr"
        self.proc = subprocess.Popen(
            argv(workdir / "memory.sqlite", "--http", f"127.0.0.1:{self.port}", *extra),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir,
            start_new_session=True,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc.stderr is not None
            with open(self.stderr_path, "wb") as log:
                for line in self.proc.stderr:
                    log.write(line)
                    log.flush()
                    if b"listening on" in line:
                        ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + READ_TIMEOUT
        while not ready.wait(0.02):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.1)
                self.kill()
                pytest.fail(f"plughost mcp --http did not start (exit {self.proc.returncode}): {self.stderr()}")

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def post(
        self, message: dict[str, Any] | bytes, session: str | None = None, *, method: str = "POST",
        timeout: float = READ_TIMEOUT,
    ) -> Reply:
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if session is not None:
            headers["Mcp-Session-Id"] = session
        req = urlrequest.Request(self.url, data=data if method == "POST" else None, headers=headers, method=method)
        try:
            with urlrequest.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urlerror.HTTPError as e:
            return Reply(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def initialize(self) -> str:
        r = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize_params()})
        assert r.status == 200, r
        session = r.headers.get("mcp-session-id")
        assert session, r
        r = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        assert r.status == 202, r
        return session

    def ping(self, session: str, rid: Any = 1) -> Reply:
        return self.post({"jsonrpc": "2.0", "id": rid, "method": "ping"}, session)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.terminate()
        return self.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


@pytest.fixture
def http_server(tmp_path: Path):
    yield from _servers(HTTPServer, tmp_path)


class Background:
    """Runs `fn` on a thread; `join()` gives its result (or raises what it raised)."""

    def __init__(self, fn: Any) -> None:
        self._result: list[Any] = []
        self._error: list[BaseException] = []
        self.started = time.monotonic()
        self.seconds: float | None = None

        def run() -> None:
            try:
                self._result.append(fn())
            except BaseException as e:  # noqa: BLE001 - handed to join()
                self._error.append(e)
            self.seconds = time.monotonic() - self.started

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            pytest.fail(f"still running after {timeout} s")
        if self._error:
            raise self._error[0]
        return self._result[0]


# ---------------------------------------------------------------------------------------------
# Cancellation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
def test_http_cancelled_call_ends_its_exchange(http_server, streaming: bool) -> None:
    srv = http_server()
    session = srv.initialize()
    progress = "p-7" if streaming else None
    call = Background(lambda: srv.post(
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": call_params(2500, progress)}, session, timeout=8))
    time.sleep(0.4)
    r = srv.post({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "test"}}, session)
    assert r.status == 202, r
    reply = call.join(10)
    assert call.seconds is not None and call.seconds < 1.5, f"the cancelled call's POST ended after {call.seconds:.2f} s: {reply!r}"
    # A request's POST is answered with JSON or an SSE stream; a cancelled one gets a stream that ends without the response.
    assert reply.status == 200 and reply.content_type.startswith("text/event-stream"), reply
    responses = [m for m in reply.messages() if "method" not in m]
    assert responses == [], f"a cancelled request was answered: {responses!r}"
    assert all(m.get("method") == "notifications/progress" for m in reply.messages()), reply
    # the session goes on; the still-running call is waited for at shutdown
    assert srv.ping(session, 8).messages()[0]["result"] == {}
    assert srv.stop() == 0, srv.stderr()


def test_stdio_cancellation_of_unknown_ids_is_ignored_and_ids_are_reusable(stdio_server) -> None:
    srv = stdio_server()
    srv.request(0, "initialize", initialize_params())
    # cancelling a request that was never sent changes nothing for a later request with that id
    srv.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 42}})
    r = srv.request(42, "tools/call", call_params(10))
    assert r.get("result", {}).get("structuredContent") == {"result": 10}, r
    # a cancelled call is not answered, and once it ended its id can be used again
    srv.send({"jsonrpc": "2.0", "id": 43, "method": "tools/call", "params": call_params(400)})
    srv.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 43}})
    assert srv.request(44, "ping")["result"] == {}
    time.sleep(0.7)
    r = srv.request(45, "ping")
    assert not any(m.get("id") == 43 for m in srv.others), f"the cancelled request 43 was answered: {srv.others!r}"
    r = srv.request(43, "tools/call", call_params(5))
    assert r.get("result", {}).get("structuredContent") == {"result": 5}, r
    # cancelling a finished request is ignored too
    srv.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 43}})
    r = srv.request(43, "tools/call", call_params(6))
    assert r.get("result", {}).get("structuredContent") == {"result": 6}, r
    assert srv.stop() == 0, srv.stderr()


# ---------------------------------------------------------------------------------------------
# Invalid messages
# ---------------------------------------------------------------------------------------------

# (what is sent, the expected error's code and id; None for a message that gets no answer)
INVALID_MESSAGES: list[tuple[bytes, tuple[int, Any] | None]] = [
    (b'{"jsonrpc": "2.0"}', (INVALID_REQUEST, None)),  # neither method nor id
    (b'{"jsonrpc": "2.0", "id": 5}', (INVALID_REQUEST, 5)),  # an id, but no method and no result
    (b'{"method": "ping", "id": 6}', (INVALID_REQUEST, 6)),  # no jsonrpc
    (b'{"jsonrpc": "1.0", "method": "ping", "id": 7}', (INVALID_REQUEST, 7)),  # wrong jsonrpc
    (b'{"jsonrpc": "1.0", "method": "notifications/initialized"}', (INVALID_REQUEST, None)),  # wrong jsonrpc, no id
    (b'{"method": "notifications/initialized"}', (INVALID_REQUEST, None)),  # no jsonrpc, no id
    (b'{"jsonrpc": "2.0", "method": 5, "id": 8}', (INVALID_REQUEST, 8)),  # method not a string
    (b'{"jsonrpc": "2.0", "method": "ping", "id": {"a": 1}}', (INVALID_REQUEST, None)),  # id neither string, number nor null
    (b'{"jsonrpc": "2.0", "method": "ping", "id": true}', (INVALID_REQUEST, None)),
    (b"[]", (INVALID_REQUEST, None)),
    (b"42", (INVALID_REQUEST, None)),
    (b'{"jsonrpc": "2.0", "method": "ping", "id": 9', (PARSE_ERROR, None)),
    (b"not json", (PARSE_ERROR, None)),
    (b'{"jsonrpc": "2.0", "method": "notifications/whatever"}', None),  # a notification: no answer
    (b'{"jsonrpc": "2.0", "id": 10, "result": {}}', None),  # a response (we sent no request): ignored
    (b'{"jsonrpc": "2.0", "id": 11, "error": {"code": 1, "message": "x"}}', None),
]


def _check_error(message: dict[str, Any], sent: bytes, code: int, rid: Any) -> list[str]:
    problems = []
    if message.get("jsonrpc") != "2.0" or "id" not in message or "error" not in message:
        return [f"{sent!r}: not a JSON-RPC error response: {message!r}"]
    if message["id"] != rid:
        problems.append(f"{sent!r}: error id {message['id']!r}, expected {rid!r}")
    if message["error"].get("code") != code:
        problems.append(f"{sent!r}: error code {message['error'].get('code')!r}, expected {code}: {message!r}")
    if not message["error"].get("message"):
        problems.append(f"{sent!r}: the error has no message")
    return problems


def test_stdio_invalid_messages(stdio_server) -> None:
    srv = stdio_server()
    srv.request(0, "initialize", initialize_params())
    problems: list[str] = []
    for n, (sent, expected) in enumerate(INVALID_MESSAGES):
        srv.send_raw(sent)
        sentinel = f"sentinel-{n}"
        assert srv.request(sentinel, "ping")["result"] == {}
        got, srv.others = srv.others, []
        if expected is None:
            if got:
                problems.append(f"{sent!r}: expected no answer, got {got!r}")
        elif len(got) != 1:
            problems.append(f"{sent!r}: expected one error response, got {got!r}")
        else:
            problems += _check_error(got[0], sent, *expected)
    assert srv.stop() == 0, srv.stderr()
    assert not problems, "\n  ".join(["invalid messages:", *problems])


def test_http_invalid_messages(http_server) -> None:
    srv = http_server()
    session = srv.initialize()
    problems: list[str] = []
    for sent, expected in INVALID_MESSAGES:
        r = srv.post(sent, session)
        if expected is None:
            if r.status != 202 or r.body:
                problems.append(f"{sent!r}: expected 202 and no body, got {r!r}")
            continue
        # Streamable HTTP: input the server cannot accept gets an HTTP error, its body a JSON-RPC error.
        if r.status != 400 or not r.content_type.startswith("application/json"):
            problems.append(f"{sent!r}: expected 400 with a JSON-RPC error, got {r!r}")
            continue
        problems += _check_error(json.loads(r.body), sent, *expected)
    assert srv.ping(session).status == 200
    assert srv.stop() == 0, srv.stderr()
    assert not problems, "\n  ".join(["invalid messages:", *problems])


def test_stdio_oversized_line_is_one_error(stdio_server) -> None:
    srv = stdio_server()
    head = b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "'
    assert srv.proc.stdin is not None
    srv.proc.stdin.write(head)
    chunk = b"x" * (1 << 20)
    for _ in range(65):  # 65 MiB, over the 64 MiB limit
        srv.proc.stdin.write(chunk)
    srv.proc.stdin.write(b'"}}\n')
    srv.proc.stdin.flush()
    assert srv.request(2, "ping")["result"] == {}, "the line after the oversized one was not read"
    errors = srv.others
    assert len(errors) == 1, f"expected exactly one error for the oversized line, got {len(errors)}: {[str(e)[:200] for e in errors]}"
    e = errors[0]
    assert e.get("id") is None and "id" in e, e
    assert e.get("error", {}).get("code") in (INVALID_REQUEST, PARSE_ERROR), e
    assert "64 MiB" in e["error"].get("message", ""), f"the error does not name the limit: {e!r}"
    assert srv.stop() == 0, srv.stderr()


# ---------------------------------------------------------------------------------------------
# A client that goes away, shutdown
# ---------------------------------------------------------------------------------------------


def test_stdio_client_closing_its_end_stops_the_server_cleanly(tmp_path: Path) -> None:
    srv = StdioServer(tmp_path, pump=False)
    try:
        srv.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize_params()})
        assert srv.proc.stdout is not None
        assert json.loads(srv.proc.stdout.readline())["id"] == 0
        srv.proc.stdout.close()  # our end of its output; its input stays open
        try:
            for i in range(1, 4):
                srv.send({"jsonrpc": "2.0", "id": i, "method": "ping"})
                time.sleep(0.05)
        except BrokenPipeError:
            pass  # it is gone already
        code = srv.wait()
        assert code is not None, f"the server did not exit within {EXIT_TIMEOUT} s after its output was closed"
        assert code == 0, f"exit status {code} (-{signal.SIGPIPE} is death by SIGPIPE): {srv.stderr()}"
    finally:
        srv.kill()


def test_stdio_sigterm_then_end_of_input_stops_once(stdio_server) -> None:
    srv = stdio_server()
    srv.request(0, "initialize", initialize_params())
    r = srv.request(1, "tools/call", {"name": "memory_write", "arguments": {"content": "kept", "concepts": ["once"]}})
    assert not r["result"]["isError"], r
    srv.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call_params(800)})
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    # draining: a new request is refused, the running call finishes
    srv.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    refused = srv.response(3)
    assert "error" in refused, f"a request during shutdown was served: {refused!r}"
    srv.proc.send_signal(signal.SIGTERM)
    code = srv.stop()  # end of input too: a second way to stop
    assert code == 0, f"exit status {code}: {srv.stderr()}"
    assert srv.response(2)["result"]["structuredContent"] == {"result": 800}
    assert "failed" not in srv.stderr(), srv.stderr()
    p = subprocess.run(
        [PLUGHOST_BIN, "memory", "recall", "--goal", DEFAULT_GOAL, "--concept", "once", "--json", "--db", str(srv.db)],
        capture_output=True, timeout=60, cwd=srv.workdir)
    assert p.returncode == 0, p.stderr
    assert [m["content"] for m in json.loads(p.stdout)] == ["kept"]


def test_http_drain_refuses_new_work_and_finishes_running_calls(http_server) -> None:
    srv = http_server()
    session = srv.initialize()
    call = Background(lambda: srv.post(
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call_params(1500)}, session, timeout=20))
    time.sleep(0.3)
    srv.terminate()
    time.sleep(0.2)
    srv.terminate()  # a second SIGTERM changes nothing
    time.sleep(0.1)
    r = srv.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize_params()})
    assert r.status == 503, f"a new session during shutdown: {r!r}"
    r = srv.ping(session, 4)
    assert r.status == 503, f"a new request during shutdown: {r!r}"
    reply = call.join(20)
    assert reply.status == 200, reply
    assert reply.messages()[0]["result"]["structuredContent"] == {"result": 1500}, reply
    code = srv.wait()
    assert code == 0, f"exit status {code}: {srv.stderr()}"
    assert "failed" not in srv.stderr(), srv.stderr()


# ---------------------------------------------------------------------------------------------
# HTTP sessions
# ---------------------------------------------------------------------------------------------


def test_http_idle_sessions_expire(http_server) -> None:
    srv = http_server("--session-idle-timeout", "1")
    idle = srv.initialize()
    busy = srv.initialize()
    for _ in range(5):
        time.sleep(0.35)
        assert srv.ping(busy).status == 200, "a session in use expired"
    # `idle` has not been used for 1.75 s
    r = srv.ping(idle)
    assert r.status == 404, f"an expired session still answers: {r!r}"
    assert srv.post(b"", idle, method="DELETE").status == 404
    # a call that runs longer than the idle timeout keeps its session
    r = srv.post({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call_params(1600)}, busy)
    assert r.status == 200 and r.messages()[0]["result"]["structuredContent"] == {"result": 1600}, r
    assert srv.ping(busy).status == 200, "a session expired while its call ran"
    assert srv.post(b"", busy, method="DELETE").status == 200
    assert srv.ping(busy).status == 404
    assert srv.stop() == 0, srv.stderr()
