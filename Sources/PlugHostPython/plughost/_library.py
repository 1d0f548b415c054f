"""Finding and opening libplughost_embed.so, with every function's C signature declared."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from typing import List, Optional

from .errors import LibraryError

LIBRARY_NAME = "libplughost_embed.so"

#: The embed.h version this package is written against (PLUGHOST_EMBED_VERSION_MAJOR/MINOR).
API_MAJOR = 1
API_MINOR = 1


def candidates() -> List[str]:
    """Where :func:`find_library` looks when ``$PLUGHOST_LIB`` is not set, in order (the first
    that exists wins; then the system's library search)."""
    found: List[str] = []
    # Beside a `plughost` executable on PATH: a build folder (.build/debug) holds the library
    # next to the binary; an installed prefix holds it in PREFIX/lib.
    exe = shutil.which("plughost")
    if exe:
        bindir = os.path.dirname(os.path.realpath(exe))
        found += [os.path.join(bindir, LIBRARY_NAME), os.path.join(bindir, "..", "lib", LIBRARY_NAME)]
    for prefix in ("/usr/local", "/usr"):
        found.append(os.path.join(prefix, "lib", LIBRARY_NAME))
    return found


def find_library() -> str:
    """The path of libplughost_embed.so: ``$PLUGHOST_LIB`` when set, else beside the
    ``plughost`` on PATH (or in its prefix's lib/), else /usr/local/lib, /usr/lib, else what
    the system's library search finds."""
    env = os.environ.get("PLUGHOST_LIB")
    if env:
        if not os.path.isfile(env):
            raise LibraryError(f"PLUGHOST_LIB={env}: no such file")
        return env
    tried = candidates()
    for path in tried:
        if os.path.isfile(path):
            return os.path.normpath(path)
    system = ctypes.util.find_library("plughost_embed")
    if system:
        return system
    raise LibraryError(
        f"cannot find {LIBRARY_NAME} (tried {', '.join(tried) or 'nothing'} and the system's library path): "
        "set PLUGHOST_LIB to its path, put the folder holding `plughost` on PATH "
        "(`swift build` puts both in .build/debug), or install plughost")


def _declare(lib: ctypes.CDLL) -> None:
    host, s, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32
    # Functions returning malloc'd strings are declared as returning void* so that the pointer
    # survives to be passed to plughost_free.
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
        "plughost_context_get": (owned, [host, s, s]),
        "plughost_context_set": (ctypes.c_int, [host, s, s, s, s]),
        "plughost_run_pipeline": (owned, [host, s, s]),
        "plughost_last_error": (s, [host]),
        "plughost_last_error_code": (ctypes.c_int, []),
        "plughost_error_name": (s, [ctypes.c_int]),
        "plughost_version": (s, []),
        "plughost_api_version": (ctypes.c_uint32, []),
        "plughost_free": (None, [ctypes.c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_opened: dict = {}


def open_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Opens libplughost_embed.so (once per path) and checks that it implements embed.h
    1.1 or a later 1.x."""
    path = path or find_library()
    lib = _opened.get(path)
    if lib is not None:
        return lib
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise LibraryError(f"cannot open {path}: {e}") from e
    if not hasattr(lib, "plughost_api_version"):
        raise LibraryError(
            f"{path} implements embed.h 1.0; this package needs {API_MAJOR}.{API_MINOR} or later: rebuild plughost")
    _declare(lib)
    version = lib.plughost_api_version()
    major, minor = version >> 16, version & 0xFFFF
    if major != API_MAJOR or minor < API_MINOR:
        raise LibraryError(
            f"{path} implements embed.h {major}.{minor}; this package needs {API_MAJOR}.{API_MINOR} or a later {API_MAJOR}.x")
    _opened[path] = lib
    return lib
