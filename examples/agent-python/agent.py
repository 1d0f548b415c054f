#!/usr/bin/env python3
"""An agent that uses plughost both in-process (the `plughost` Python package) and over the
Model Context Protocol (`plughost mcp`, through the official MCP Python SDK), on one memory.

In-process, it loads the bundled `text` plugin, extracts keywords and a summary of a few notes
(each call writes memories), writes an observation of its own, keeps a note in its goal
context, and runs a pipeline. Then it starts `plughost mcp` over the same SQLite file, as an
agent framework would, lists the tools, calls `text_keywords` and `memory_recall` through
MCP, reads the goal's clusters as a resource, and checks that both ways see the same memory.

    python3 -m pip install ./Sources/PlugHostPython mcp
    swift build && PATH=$PWD/.build/debug:$PATH python3 examples/agent-python/agent.py

The library and the `plughost` executable are found on PATH (see `plughost.find_library`), or
through PLUGHOST_LIB and --plughost. Exits non-zero on any error or disagreement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import sys
import tempfile
from typing import Any, Dict, List, Optional

import plughost

GOAL = "agent-demo"
NOTES = [
    "Swift actors isolate mutable state. Actors make concurrent Swift code safe to share.",
    "The agent memory lives in SQLite. A SQLite file keeps the agent memory across restarts.",
    "Agents recall memory by concept. Concept clusters group the memory an agent gathered.",
    "Swift tasks call plugins concurrently. Plugins never block the Swift concurrency pool.",
]
PIPELINE = pathlib.Path(__file__).resolve().parents[1] / "pipelines" / "journal.yaml"


def in_process(db: str, concept: str) -> List[Dict[str, Any]]:
    """The agent's first half: plughost as a library. Returns the goal's clusters."""
    with plughost.Host(engine="sqlite", database_path=db) as host:
        host.load("text")
        print("loaded:", ", ".join(f"{p['name']} {p['version']}" for p in host.plugins()))
        for i, note in enumerate(NOTES, 1):
            words = host.invoke("text", "word_count", [note], goal=GOAL)
            keywords = host.invoke("text", "keywords", text=note, k=4, goal=GOAL)
            summary = host.invoke("text", "summarize", text=note, sentences=1, goal=GOAL)
            print(f"note {i}: {words} words; keywords: {keywords}")
            print(f"  summary: {summary}")
        observation = host.write(
            GOAL,
            "Actors and tasks are the Swift concurrency model.",
            concepts=["Swift", "actors", "tasks"],
            depends_on=[("tasks", "actors")],
            metadata={"source": "agent.py"},
        )
        print(f"wrote observation {observation}")
        host.set_context(GOAL, "agent", "last_run_notes", str(len(NOTES)))
        print("context:", host.context(GOAL, "agent").values)

        # A bad argument is an exception with a code, and the host carries on.
        try:
            host.invoke("text", "keywords", text=NOTES[0], k=0, goal=GOAL)
        except plughost.BadArgumentsError as e:
            print(f"bad arguments ({e.code.name}): {e}")

        report = host.run_pipeline(PIPELINE, goal="garden-journal-demo")
        calls = sum(s["calls"] for s in report["steps"])
        print(f"pipeline {report['name']}: {calls} calls, outputs {', '.join(sorted(report['outputs']))}")

        host.flush()
        recalled = host.recall(GOAL, concept=concept, limit=10)
        print(f"recall concept {concept!r}: {len(recalled)} memories")
        if not recalled:
            raise RuntimeError(f"nothing recalled in-process for concept {concept!r}")
        clusters = host.clusters(GOAL)[0]["clusters"]
        for c in clusters:
            print(f"  [{c['id']}] {', '.join(c['concepts'])}")
        stats = host.stats()
        print(f"stats: {stats['invocations']} calls, {stats['memory']['writes']} writes, {stats['memory']['commits']} commits")
        return clusters


def field(obj: Any, snake: str, camel: str) -> Any:
    """A field of an MCP SDK object: snake_case in SDK 2.x, camelCase in 1.x."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel, None)


def tool_result(result: Any) -> Any:
    """A tools/call result's JSON (structured content, else its text), raising on isError."""
    text = "".join(getattr(c, "text", "") for c in result.content)
    if field(result, "is_error", "isError"):
        raise RuntimeError(f"tool failed: {text}")
    structured = field(result, "structured_content", "structuredContent")
    if structured:
        return structured
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


async def over_mcp(executable: str, db: str, concept: str, expected_clusters: List[Dict[str, Any]]) -> None:
    """The agent's second half: the same memory through `plughost mcp` over stdio."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    server = StdioServerParameters(command=executable, args=["mcp", "text", "--goal", GOAL, "--db", db])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        info = field(init, "server_info", "serverInfo")
        print(f"mcp: {info.name} {info.version}, protocol {field(init, 'protocol_version', 'protocolVersion')}")
        tools = (await session.list_tools()).tools
        print("mcp tools:", ", ".join(t.name for t in tools))
        # Before any call over MCP writes more memory: the clusters the in-process half left.
        resource = await session.read_resource(f"plughost://goals/{GOAL}/clusters")
        served = json.loads(resource.contents[0].text)
        served_clusters = served.get("clusters", served) if isinstance(served, dict) else served
        if served_clusters != expected_clusters:
            raise RuntimeError(f"clusters differ: in-process {expected_clusters}, over MCP {served}")
        print("mcp clusters resource equals the in-process clusters")
        keywords = tool_result(await session.call_tool("text_keywords", {"text": NOTES[0], "k": 4}))
        print("mcp text_keywords:", keywords)
        recalled = tool_result(await session.call_tool("memory_recall", {"concept": concept, "limit": 10}))
        memories = recalled["memories"] if isinstance(recalled, dict) else recalled
        print(f"mcp recall concept {concept!r}: {len(memories)} memories")
        if not any(m.get("content", "").startswith("Actors and tasks") for m in memories):
            raise RuntimeError("the MCP server does not see the observation written in-process")


def find_plughost(given: Optional[str]) -> str:
    """The plughost executable: --plughost, $PLUGHOST_BIN, PATH, or beside the library."""
    candidates = [given, os.environ.get("PLUGHOST_BIN"), shutil.which("plughost"),
                  os.path.join(os.path.dirname(plughost.find_library()), "plughost")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise RuntimeError("cannot find the plughost executable: put it on PATH or pass --plughost")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the SQLite file both halves share (default: a temporary one)")
    parser.add_argument("--concept", default="swift", help="concept to recall (default: swift)")
    parser.add_argument("--plughost", help="the plughost executable for `plughost mcp`")
    parser.add_argument("--no-mcp", action="store_true", help="only the in-process half")
    args = parser.parse_args()
    db = args.db or os.path.join(tempfile.mkdtemp(prefix="plughost-agent-"), "memory.sqlite")
    clusters = in_process(db, args.concept)
    if not args.no_mcp:
        asyncio.run(over_mcp(find_plughost(args.plughost), db, args.concept, clusters))
    print("ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except plughost.PlugHostError as e:
        print(f"agent.py: plughost error ({e.code.name}): {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # any other failure is an error too
        print(f"agent.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
