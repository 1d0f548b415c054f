#!/usr/bin/env python3
"""A small agent that embeds plughost through its C API, with ctypes only.

It loads the bundled `text` plugin, extracts keywords and a one-sentence summary of a few
notes (each call writes a memory whose concepts are the note's keywords), writes an
observation of its own, then recalls by concept and prints the concept clusters.

    PLUGHOST_LIB=/path/to/libplughost_embed.so python3 examples/embed-python/agent.py

Without PLUGHOST_LIB it uses <repo>/.build/debug/libplughost_embed.so (or release). The
bundled plugins are found next to the library. Exits non-zero on any error.
"""

import argparse
import json
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plughost import Host, PlugHostError  # noqa: E402

GOAL = "agent-demo"
NOTES = [
    "Swift actors isolate mutable state. Actors make concurrent Swift code safe to share.",
    "The agent memory lives in SQLite. A SQLite file keeps the agent memory across restarts.",
    "Agents recall memory by concept. Concept clusters group the memory an agent gathered.",
    "Swift tasks call plugins concurrently. Plugins never block the Swift concurrency pool.",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--db", help="SQLite file (default: a temporary one)")
    parser.add_argument("--concept", default="swift", help="concept to recall (default: swift)")
    args = parser.parse_args()

    config = {"engine": args.engine}
    if args.engine == "sqlite":
        config["database_path"] = args.db or os.path.join(tempfile.mkdtemp(prefix="plughost-agent-"), "memory.sqlite")

    with Host(config) as host:
        host.load("text")
        print("loaded:", ", ".join(f"{p['name']} {p['version']}" for p in host.plugins()))

        for i, note in enumerate(NOTES, 1):
            words = host.invoke("text", "word_count", [note], goal=GOAL)
            keywords = host.invoke("text", "keywords", {"text": note, "k": 4}, goal=GOAL)
            summary = host.invoke("text", "summarize", {"text": note, "sentences": 1}, goal=GOAL)
            print(f"note {i}: {words} words; keywords: {keywords}")
            print(f"  summary: {summary}")

        memory_id = host.write({
            "goal": GOAL, "plugin": "agent", "content": "Actors and tasks are the Swift concurrency model.",
            "concepts": ["Swift", "actors", "tasks"], "depends_on": [["tasks", "actors"]],
            "metadata": {"source": "agent.py"},
        })
        print(f"wrote observation {memory_id}")

        host.flush()
        recalled = host.recall(GOAL, concept=args.concept, limit=10)
        print(f"recall concept {args.concept!r}: {len(recalled)} memories")
        for m in recalled:
            print(f"  [{m['plugin']}] {m['content'][:70]}  concepts={m['concepts']}")
        if not recalled:
            raise PlugHostError(f"nothing recalled for concept {args.concept!r}")

        found = host.recall(GOAL, text="sqlite restarts", limit=3)
        print(f"recall text 'sqlite restarts': {len(found)} memories")

        clusters = host.clusters(GOAL)
        print("clusters:", clusters)
        for goal in json.loads(clusters):
            for c in goal["clusters"]:
                print(f"  [{c['id']}] {', '.join(c['concepts'])}")

        stats = host.stats()
        print(f"stats: {stats['invocations']} calls, {stats['memory']['writes']} writes, "
              f"{stats['memory']['commits']} commits, engine {stats['engine']}")
    print("ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PlugHostError as e:
        print(f"agent.py: plughost error: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # any other failure is an error too
        print(f"agent.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
