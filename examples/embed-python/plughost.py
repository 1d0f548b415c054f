"""A thin ctypes binding of plughost's C embedding API (include/plughost/embed.h).

Standard library only. Every function that fails raises PlugHostError with the message of
plughost_last_error(); every string the library returns is copied into Python and released
with plughost_free() at once.
"""

import ctypes
import json
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
LIBRARY_NAMES = ("libplughost_embed.so", "libplughost.so")


class PlugHostError(RuntimeError):
    """A plughost call failed; the message is plughost_last_error()'s."""


def find_library():
    """PLUGHOST_LIB, else <repo>/.build/debug (then release) /libplughost_embed.so."""
    env = os.environ.get("PLUGHOST_LIB")
    if env:
        if not os.path.isfile(env):
            raise PlugHostError(f"PLUGHOST_LIB={env}: no such file")
        return env
    for config in ("debug", "release"):
        for name in LIBRARY_NAMES:
            candidate = REPO / ".build" / config / name
            if candidate.is_file():
                return str(candidate)
    raise PlugHostError(
        f"cannot find {LIBRARY_NAMES[0]} in {REPO}/.build/debug or .build/release: "
        "run `swift build` in the repository, or set PLUGHOST_LIB")


def load_library(path):
    """Opens the shared library and declares every function's C signature."""
    lib = ctypes.CDLL(path)
    host, s, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32
    # Functions returning malloc'd strings are declared as returning void* so that the
    # pointer survives to be passed to plughost_free.
    owned = ctypes.c_void_p
    signatures = {
        "plughost_create": (host, [s]),
        "plughost_close": (ctypes.c_int, [host]),
        "plughost_destroy": (None, [host]),
        "plughost_load": (ctypes.c_int, [host, s, s]),
        "plughost_plugins": (owned, [host]),
        "plughost_invoke": (owned, [host, s, s, s, s]),
        "plughost_write": (owned, [host, s]),
        "plughost_recall": (owned, [host, s, s, i32]),
        "plughost_forget": (ctypes.c_int, [host, s, s, ctypes.POINTER(ctypes.c_int)]),
        "plughost_flush": (ctypes.c_int, [host]),
        "plughost_stats": (owned, [host]),
        "plughost_clusters": (owned, [host, s]),
        "plughost_last_error": (s, [host]),
        "plughost_free": (None, [ctypes.c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def _c(text):
    return None if text is None else text.encode("utf-8")


class Host:
    """One plughost_host. Use as a context manager, or call close() and destroy()."""

    def __init__(self, config=None, library=None):
        self.lib = load_library(library or find_library())
        self.handle = self.lib.plughost_create(_c(json.dumps(config or {})))
        if not self.handle:
            raise PlugHostError(self._error())

    def _error(self):
        return self.lib.plughost_last_error(None).decode("utf-8", "replace")

    def _take(self, pointer):
        """Copies a returned string and frees it; raises on NULL."""
        if not pointer:
            raise PlugHostError(self._error())
        try:
            return ctypes.string_at(pointer).decode("utf-8")
        finally:
            self.lib.plughost_free(pointer)

    def _check(self, status):
        if status != 0:
            raise PlugHostError(self._error())

    def load(self, plugin, alias=None):
        self._check(self.lib.plughost_load(self.handle, _c(plugin), _c(alias)))

    def plugins(self):
        return json.loads(self._take(self.lib.plughost_plugins(self.handle)))

    def invoke(self, plugin, function, args, goal=None):
        """args: a list (by position) or a dict (by parameter name)."""
        text = self._take(self.lib.plughost_invoke(
            self.handle, _c(plugin), _c(function), _c(json.dumps(args)), _c(goal)))
        return json.loads(text)

    def write(self, memory):
        return self._take(self.lib.plughost_write(self.handle, _c(json.dumps(memory))))

    def recall(self, goal, limit=0, **query):
        """recall(goal, concept=...) or text=... or plugin=..."""
        return json.loads(self._take(self.lib.plughost_recall(
            self.handle, _c(goal), _c(json.dumps(query)), limit)))

    def forget(self, memory_id, goal=None):
        found = ctypes.c_int(0)
        self._check(self.lib.plughost_forget(self.handle, _c(memory_id), _c(goal), ctypes.byref(found)))
        return bool(found.value)

    def flush(self):
        self._check(self.lib.plughost_flush(self.handle))

    def clusters(self, goal=None):
        """The canonical clusters JSON text (plughost memory clusters --json)."""
        return self._take(self.lib.plughost_clusters(self.handle, _c(goal)))

    def stats(self):
        return json.loads(self._take(self.lib.plughost_stats(self.handle)))

    def close(self):
        if self.handle:
            self._check(self.lib.plughost_close(self.handle))

    def destroy(self):
        if self.handle:
            self.lib.plughost_destroy(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.close()
        finally:
            self.destroy()
        return False
