"""plughost for Python: load plugins, call them, and use their memory in-process.

A typed binding of plughost's C embedding API (include/plughost/embed.h) over ctypes; it
needs libplughost_embed.so (see :func:`find_library`) and nothing else.

>>> import plughost
>>> with plughost.Host(engine="memory") as host:
...     host.load("text")
...     host.invoke("text", "keywords", text="Swift actors and Swift tasks", k=2, goal="notes")
'swift, actors'
"""

from ._library import API_MAJOR, API_MINOR, find_library
from .errors import (
    BadArgumentsError,
    ConfigurationError,
    EngineError,
    ErrorCode,
    ForbiddenError,
    HostClosedError,
    InvalidArgumentError,
    LibraryError,
    MemoryInvalidError,
    MemoryLimitError,
    NotFoundError,
    PipelineError,
    PlugHostError,
    PluginCrashedError,
    PluginError,
    PluginLoadError,
    PluginQuarantinedError,
    PluginTimeoutError,
)
from .host import JSON, Context, Host, api_version, version

__version__ = "0.2.0.dev0"

__all__ = [
    "API_MAJOR",
    "API_MINOR",
    "BadArgumentsError",
    "ConfigurationError",
    "Context",
    "EngineError",
    "ErrorCode",
    "ForbiddenError",
    "Host",
    "HostClosedError",
    "InvalidArgumentError",
    "JSON",
    "LibraryError",
    "MemoryInvalidError",
    "MemoryLimitError",
    "NotFoundError",
    "PipelineError",
    "PlugHostError",
    "PluginCrashedError",
    "PluginError",
    "PluginLoadError",
    "PluginQuarantinedError",
    "PluginTimeoutError",
    "api_version",
    "find_library",
    "version",
]
