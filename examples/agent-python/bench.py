#!/usr/bin/env python3
"""Per-call cost of plughost_invoke with JSON arguments, against calling the same C function
directly through ctypes, in one run.

    PLUGHOST_LIB=/path/to/libplughost_embed.so python3 examples/agent-python/bench.py

The function is `add3` of the bundled `sig` plugin (int64 a + b + c). The direct call finds
its C function pointer through the plugin's descriptor (plughost_plugin_entry()), since the
function itself is static in libsig.so, and calls it with ctypes. Each figure is the median
over --repeats rounds of --calls calls, in nanoseconds per call, including Python's own loop
and ctypes overhead (printed as "empty loop" and "ctypes no-op" for scale).
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

from plughost import Host, PlugHostError, find_library


class PhFunction(ctypes.Structure):
    """struct ph_function of include/plughost/plughost.h."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("doc", ctypes.c_char_p),
        ("fn", ctypes.c_void_p),
        ("return_type", ctypes.c_uint32),
        ("param_count", ctypes.c_uint32),
        ("param_types", ctypes.c_void_p),
        ("param_names", ctypes.c_void_p),
        ("flags", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


class PhPlugin(ctypes.Structure):
    """The leading fields of struct ph_plugin."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("abi_major", ctypes.c_uint32),
        ("abi_minor", ctypes.c_uint32),
        ("min_host_abi_minor", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("version", ctypes.c_char_p),
        ("description", ctypes.c_char_p),
        ("function_count", ctypes.c_uint32),
        ("functions", ctypes.POINTER(ctypes.POINTER(PhFunction))),
    ]


def direct_add3(sig_path):
    """add3's C function from libsig.so, as a ctypes function."""
    sig = ctypes.CDLL(sig_path)
    entry = sig.plughost_plugin_entry
    entry.restype = ctypes.POINTER(PhPlugin)
    entry.argtypes = []
    plugin = entry().contents
    for i in range(plugin.function_count):
        f = plugin.functions[i].contents
        if f.name == b"add3":
            proto = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
            return proto(f.fn)
    raise PlugHostError(f"{sig_path} has no function add3")


def median_ns_per_call(fn, calls, repeats):
    per_call = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(per_call)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per round (default 20000)")
    parser.add_argument("--repeats", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    library = find_library()
    sig_path = os.path.join(os.path.dirname(library), "libsig.so")
    add3 = direct_add3(sig_path)

    with Host({"engine": "memory"}, library=library) as host:
        host.load("sig")
        lib, handle = host.cdll, host.handle
        plugin, function, argv = b"sig", b"add3", json.dumps([1, 2, 3]).encode()
        free = lib.plughost_free
        invoke = lib.plughost_invoke

        # Check both paths agree before timing them.
        assert add3(1, 2, 3) == 6
        assert host.invoke("sig", "add3", [1, 2, 3]) == 6

        def via_plughost():
            free(invoke(handle, plugin, function, argv, None))

        def via_plughost_decoded():
            p = invoke(handle, plugin, function, b"[1, 2, 3]", None)
            json.loads(ctypes.string_at(p))
            free(p)

        def via_ctypes():
            add3(1, 2, 3)

        noop = lambda: None  # noqa: E731
        libc_getpid = ctypes.CDLL(None).getpid
        libc_getpid.restype = ctypes.c_int
        libc_getpid.argtypes = []

        # Warm up.
        for fn in (via_ctypes, via_plughost, via_plughost_decoded):
            median_ns_per_call(fn, 2000, 1)
        figures = {
            "empty_loop_ns": median_ns_per_call(noop, args.calls, args.repeats),
            "ctypes_noop_ns": median_ns_per_call(libc_getpid, args.calls, args.repeats),
            "ctypes_add3_ns": median_ns_per_call(via_ctypes, args.calls, args.repeats),
            "plughost_invoke_ns": median_ns_per_call(via_plughost, args.calls, args.repeats),
            "plughost_invoke_decoded_ns": median_ns_per_call(via_plughost_decoded, args.calls, args.repeats),
        }
        stats = host.stats()
        if stats["failed_invocations"]:
            raise PlugHostError(f"{stats['failed_invocations']} invocations failed")

    if args.json:
        print(json.dumps({k: round(v, 1) for k, v in figures.items()}))
        return 0
    print(f"library: {library}")
    print(f"median ns/call over {args.repeats} rounds of {args.calls} calls (Python {sys.version.split()[0]})")
    print(f"  empty Python call (lambda)                 {figures['empty_loop_ns']:9.0f}")
    print(f"  ctypes getpid() (ctypes floor)             {figures['ctypes_noop_ns']:9.0f}")
    print(f"  ctypes add3(1, 2, 3) directly              {figures['ctypes_add3_ns']:9.0f}")
    print(f"  plughost_invoke(sig, add3, \"[1,2,3]\")+free {figures['plughost_invoke_ns']:9.0f}")
    print(f"  ... + json.loads of the result             {figures['plughost_invoke_decoded_ns']:9.0f}")
    ratio = figures["plughost_invoke_ns"] / figures["ctypes_add3_ns"]
    extra = figures["plughost_invoke_ns"] - figures["ctypes_add3_ns"]
    print(f"plughost_invoke costs {ratio:.1f}x the direct ctypes call (+{extra:.0f} ns/call)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PlugHostError as e:
        print(f"bench.py: plughost error: {e}", file=sys.stderr)
        sys.exit(1)
