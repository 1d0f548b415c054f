"""Errors of the plughost C API as Python exceptions, one class per error code."""

from __future__ import annotations

import enum
from typing import Dict, Type


class ErrorCode(enum.IntEnum):
    """``plughost_error_code`` of include/plughost/embed.h: what kind of failure an error is."""

    OK = 0
    INVALID_ARGUMENT = 1
    INVALID_CONFIGURATION = 2
    CLOSED = 3
    NOT_FOUND = 4
    LOAD_FAILED = 5
    BAD_ARGUMENTS = 6
    PLUGIN_FAILED = 7
    PLUGIN_CRASHED = 8
    PLUGIN_TIMED_OUT = 9
    PLUGIN_QUARANTINED = 10
    MEMORY_LIMIT = 11
    MEMORY_INVALID = 12
    ENGINE = 13
    FORBIDDEN = 14
    PIPELINE = 15
    INTERNAL = 99


class PlugHostError(Exception):
    """A plughost call failed.

    ``code`` is the :class:`ErrorCode` (``plughost_last_error_code()``), ``message`` the text
    of ``plughost_last_error()``, which names the plugin, function, argument, file, step or
    field at fault. Catch a subclass to act on one kind of failure.
    """

    code: ErrorCode

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INTERNAL) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code.name})"


class InvalidArgumentError(PlugHostError, ValueError):
    """Bad input to the API itself: invalid JSON, JSON of the wrong shape, a bad key."""


class LibraryError(PlugHostError, OSError):
    """libplughost_embed.so cannot be found or opened, or is too old for this package."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.LOAD_FAILED)


class ConfigurationError(PlugHostError, ValueError):
    """The host configuration is invalid (an unknown key, a value out of range)."""


class HostClosedError(PlugHostError):
    """The host is closed."""


class NotFoundError(PlugHostError, LookupError):
    """No such plugin, function or memory."""


class PluginLoadError(PlugHostError):
    """A plugin could not be loaded (missing file, wrong ABI, invalid descriptor, init failed)."""


class BadArgumentsError(PlugHostError, ValueError):
    """A function's arguments have the wrong count, type, range or value."""


class PluginError(PlugHostError):
    """The plugin reported an error; the message is the plugin's."""


class PluginCrashedError(PluginError):
    """An isolated plugin crashed (or its worker failed, or it returned a bad result)."""


class PluginTimeoutError(PluginError, TimeoutError):
    """An isolated plugin call ran past its timeout and its worker was killed."""


class PluginQuarantinedError(PluginError):
    """The plugin crashed too often and is refused until released."""


class MemoryLimitError(PlugHostError):
    """A memory write over a limit; nothing of it was written."""


class MemoryInvalidError(PlugHostError, ValueError):
    """A memory write that is not valid (an empty goal, a bad field)."""


class EngineError(PlugHostError):
    """The memory engine failed (I/O, SQL)."""


class ForbiddenError(PlugHostError, PermissionError):
    """Not allowed (a read-only memory)."""


class PipelineError(PlugHostError):
    """A pipeline failed: the message names the file, step, item and field."""


_CLASSES: Dict[ErrorCode, Type[PlugHostError]] = {
    ErrorCode.INVALID_ARGUMENT: InvalidArgumentError,
    ErrorCode.INVALID_CONFIGURATION: ConfigurationError,
    ErrorCode.CLOSED: HostClosedError,
    ErrorCode.NOT_FOUND: NotFoundError,
    ErrorCode.LOAD_FAILED: PluginLoadError,
    ErrorCode.BAD_ARGUMENTS: BadArgumentsError,
    ErrorCode.PLUGIN_FAILED: PluginError,
    ErrorCode.PLUGIN_CRASHED: PluginCrashedError,
    ErrorCode.PLUGIN_TIMED_OUT: PluginTimeoutError,
    ErrorCode.PLUGIN_QUARANTINED: PluginQuarantinedError,
    ErrorCode.MEMORY_LIMIT: MemoryLimitError,
    ErrorCode.MEMORY_INVALID: MemoryInvalidError,
    ErrorCode.ENGINE: EngineError,
    ErrorCode.FORBIDDEN: ForbiddenError,
    ErrorCode.PIPELINE: PipelineError,
}


def error_for(code: int, message: str) -> PlugHostError:
    """The exception for a ``plughost_last_error_code()`` and its message."""
    try:
        known = ErrorCode(code)
    except ValueError:
        known = ErrorCode.INTERNAL
    if known is ErrorCode.OK:
        # A failure whose thread error was cleared before it was read: never report "OK".
        return PlugHostError(message or "plughost failed, and its error message was lost", ErrorCode.INTERNAL)
    return _CLASSES.get(known, PlugHostError)(message, known)
