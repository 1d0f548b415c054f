"""``Host``: one embedded plughost (``plughost_host``) and its memory."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ErrorCode, HostClosedError, PlugHostError, error_for
from ._library import open_library

#: A JSON value as Python's json module reads and writes it.
JSON = Union[None, bool, int, float, str, List[Any], Dict[str, Any]]


@dataclass(frozen=True)
class Context:
    """A plugin's context for a goal: its key-value pairs and its recent memories' ids."""

    values: Dict[str, str] = field(default_factory=dict)
    recent: List[str] = field(default_factory=list)


def _c(text: Optional[str]) -> Optional[bytes]:
    if text is None:
        return None
    if "\0" in text:
        # C strings end at the first NUL: the rest would be dropped without a word.
        raise ValueError(f"{text[:40]!r}… contains a NUL character, which a C string cannot carry")
    return text.encode("utf-8")


def version(library: Optional[str] = None) -> str:
    """plughost's version (``plughost_version()``), e.g. ``"0.2.0"``."""
    return open_library(library).plughost_version().decode("utf-8")


def api_version(library: Optional[str] = None) -> Tuple[int, int]:
    """The embed API version the library implements, as (major, minor)."""
    v = open_library(library).plughost_api_version()
    return v >> 16, v & 0xFFFF


class Host:
    """An embedded plughost: loaded plugins and their memory.

    ``Host(engine="sqlite", database_path="memory.sqlite")`` takes the configuration keys of
    ``plughost_create`` (include/plughost/embed.h) as keyword arguments or as a mapping. Use it
    as a context manager, or call :meth:`close`. ``theta`` (θ, at least 1) is stored with the
    memory by the first host that opens it; leave it out to use the stored one (else 2); a
    different one than stored raises, naming both. Every method may be called from several
    threads at once; calls release the GIL while plughost works. Failures raise a subclass of
    :class:`~plughost.PlugHostError` chosen by the error's code.
    """

    def __init__(
        self, config: Optional[Mapping[str, Any]] = None, *, library: Optional[str] = None, **options: Any
    ) -> None:
        self._lib = open_library(library)
        merged: Dict[str, Any] = dict(config or {})
        merged.update(options)
        if isinstance(merged.get("database_path"), os.PathLike):
            merged["database_path"] = os.fspath(merged["database_path"])
        handle = self._lib.plughost_create(_c(json.dumps(merged)))
        if not handle:
            raise self._error()
        # The handle stays valid until the object is collected: close() only closes it (calls
        # racing with close get HostClosedError from plughost, never a freed pointer), and
        # __del__ frees it, when no thread can be inside a method any more.
        self._handle: int = handle
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def cdll(self) -> ctypes.CDLL:
        """The opened libplughost_embed.so, every embed.h function declared: for calling the C
        API directly (as examples/agent-python/bench.py does)."""
        return self._lib

    @property
    def handle(self) -> int:
        """The ``plughost_host *`` for :attr:`cdll`'s functions; invalid once closed."""
        return self._h

    # -- plumbing ---------------------------------------------------------------------------

    def _error(self) -> PlugHostError:
        code = self._lib.plughost_last_error_code()
        message = self._lib.plughost_last_error(None).decode("utf-8", "replace")
        return error_for(code, message)

    @property
    def _h(self) -> int:
        if self._closed:
            raise HostClosedError("host is closed: this Host was closed", ErrorCode.CLOSED)
        return self._handle

    def _take(self, pointer: Optional[int]) -> str:
        """Copies a returned string and frees it; raises on NULL."""
        if not pointer:
            raise self._error()
        try:
            return ctypes.string_at(pointer).decode("utf-8")
        finally:
            self._lib.plughost_free(pointer)

    def _check(self, status: int) -> None:
        if status != 0:
            raise self._error()

    # -- plugins ----------------------------------------------------------------------------

    def load(self, plugin: Union[str, "os.PathLike[str]"], alias: Optional[str] = None) -> None:
        """Loads a plugin by path, or by bare name from the plugin search path."""
        self._check(self._lib.plughost_load(self._h, _c(os.fspath(plugin)), _c(alias)))

    def plugins(self) -> List[Dict[str, Any]]:
        """The loaded plugins, their functions and parameters (with their declared metadata)."""
        return json.loads(self._take(self._lib.plughost_plugins(self._h)))

    def invoke(
        self,
        plugin: str,
        function: str,
        args: Union[Sequence[JSON], Mapping[str, JSON], None] = None,
        *,
        goal: Optional[str] = None,
        **named: JSON,
    ) -> JSON:
        """Calls ``plugin.function`` and returns its result.

        Arguments go by position (a list), by name (a mapping, or keyword arguments:
        ``invoke("text", "keywords", text=note, k=3)``); optional parameters may be left out.
        ``goal`` is the goal whose memory and context the call works in ("default" when None);
        a parameter literally named ``goal`` must be passed in ``args``.
        """
        if args is not None and named:
            raise TypeError("pass arguments either in args or as keyword arguments, not both")
        payload: Any = named if args is None else args
        if isinstance(payload, Mapping):
            payload = dict(payload)
        elif isinstance(payload, (str, bytes)):
            raise TypeError("args must be a list or a mapping, not a string")
        else:
            payload = list(payload)
        text = self._take(
            self._lib.plughost_invoke(self._h, _c(plugin), _c(function), _c(json.dumps(payload)), _c(goal))
        )
        return json.loads(text)

    # -- memory -----------------------------------------------------------------------------

    def write(
        self,
        goal: str,
        content: str = "",
        *,
        concepts: Iterable[str] = (),
        depends_on: Iterable[Tuple[str, str]] = (),
        metadata: Optional[Mapping[str, JSON]] = None,
        ttl_ms: Optional[int] = None,
        id: Optional[str] = None,
        plugin: Optional[str] = None,
    ) -> str:
        """Writes a memory; returns its id once the engine acknowledged it."""
        memory: Dict[str, Any] = {
            "goal": goal,
            "content": content,
            "concepts": list(concepts),
            "depends_on": [list(pair) for pair in depends_on],
        }
        if metadata is not None:
            memory["metadata"] = dict(metadata)
        if ttl_ms is not None:
            memory["ttl_ms"] = ttl_ms
        if id is not None:
            memory["id"] = id
        if plugin is not None:
            memory["plugin"] = plugin
        return self._take(self._lib.plughost_write(self._h, _c(json.dumps(memory))))

    def recall(
        self,
        goal: str,
        *,
        concept: Optional[str] = None,
        text: Optional[str] = None,
        plugin: Optional[str] = None,
        limit: int = 20,
        related: bool = False,
    ) -> List[Dict[str, Any]]:
        """Memories of a goal holding ``concept``, matching ``text`` (scored, best first) or
        written by ``plugin``: exactly one of the three. With ``concept``, ``related=True``
        widens the recall to the concept's cluster: memories holding any concept of the
        cluster the concept belongs to, newest first (the goal's pending clustering runs
        first, so the cluster is exact)."""
        query: Dict[str, Any] = {k: v for k, v in (("concept", concept), ("text", text), ("plugin", plugin)) if v is not None}
        if len(query) != 1:
            raise TypeError("recall takes exactly one of concept=, text=, plugin=")
        if not isinstance(related, bool):
            raise TypeError(f"related must be True or False, got {related!r}")
        if related:
            if concept is None:
                raise TypeError("related=True widens recall by concept to the concept's cluster: it needs concept=")
            query["related"] = True
        if not 1 <= limit <= 2**31 - 1:
            raise ValueError(f"limit must be 1 to {2**31 - 1}, got {limit}")
        return json.loads(self._take(self._lib.plughost_recall(self._h, _c(goal), _c(json.dumps(query)), limit)))

    def forget(self, memory_id: str, goal: Optional[str] = None) -> bool:
        """Forgets a memory; False when there was none (in ``goal``, when given)."""
        found = ctypes.c_int(0)
        self._check(self._lib.plughost_forget(self._h, _c(memory_id), _c(goal), ctypes.byref(found)))
        return bool(found.value)

    def flush(self) -> None:
        """Sweeps expired memories and runs pending clustering (clusters are exact after it)."""
        self._check(self._lib.plughost_flush(self._h))

    def clusters(self, goal: Optional[str] = None) -> List[Dict[str, Any]]:
        """The concept clusters of one goal (or every goal): ``[{"goal", "clusters": [{"id",
        "concepts"}]}]``. Call :meth:`flush` first for exact clusters."""
        return json.loads(self.clusters_json(goal))

    def clusters_json(self, goal: Optional[str] = None) -> str:
        """:meth:`clusters` as the canonical JSON text of ``plughost memory clusters --json``."""
        return self._take(self._lib.plughost_clusters(self._h, _c(goal)))

    def stats(self) -> Dict[str, Any]:
        """Counters: invocations, writes, commits, cache hits, clustering runs…"""
        return json.loads(self._take(self._lib.plughost_stats(self._h)))

    # -- goal contexts ----------------------------------------------------------------------

    def context(self, goal: str, plugin: str) -> Context:
        """A plugin's context for a goal (what it reads with context_get)."""
        data = json.loads(self._take(self._lib.plughost_context_get(self._h, _c(goal), _c(plugin))))
        return Context(values=data["values"], recent=data["recent"])

    def set_context(self, goal: str, plugin: str, key: str, value: Optional[str]) -> None:
        """Sets one key of a plugin's context for a goal; None removes it."""
        self._check(self._lib.plughost_context_set(self._h, _c(goal), _c(plugin), _c(key), _c(value)))

    # -- pipelines --------------------------------------------------------------------------

    def run_pipeline(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        goal: Optional[str] = None,
        inputs: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    ) -> Dict[str, Any]:
        """Runs a pipeline file on this host and returns the report ``plughost run --json``
        prints (outputs, steps, clusters, memory counters)."""
        options: Dict[str, Any] = {}
        if goal is not None:
            options["goal"] = goal
        if inputs is not None:
            options["inputs"] = {k: v if isinstance(v, str) else list(v) for k, v in inputs.items()}
        text = self._take(self._lib.plughost_run_pipeline(self._h, _c(os.fspath(path)), _c(json.dumps(options))))
        return json.loads(text)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Waits for running calls, shuts the plugins down and flushes the memory. Later calls
        raise :class:`~plughost.HostClosedError`; closing again does nothing. Safe to call while
        other threads are calling the host."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            status = self._lib.plughost_close(self._handle)
        if status != 0:
            raise self._error()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None  # type: ignore[assignment]
            self._lib.plughost_destroy(handle)  # closes first if still open
