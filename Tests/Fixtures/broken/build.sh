#!/usr/bin/env bash
# build.sh OUTDIR — compiles every case of the broken-plugin matrix into OUTDIR/<case>.so.
#   *.c   with cc  -shared -fPIC -O1 -pthread
#   *.cpp with g++ -shared -fPIC -O1 -pthread
#   *.rs  with rustc --crate-type cdylib -O, only when rustc is on PATH
# Works from any directory; the plughost header is found relative to this script.
set -euo pipefail
shopt -s nullglob

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
include="$(cd "$here/../../../include" && pwd)"
if [[ ! -f "$include/plughost/plughost.h" ]]; then
    echo "build.sh: $include/plughost/plughost.h not found" >&2
    exit 1
fi

out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

CC="${CC:-cc}"
CXX="${CXX:-g++}"
cflags=(-shared -fPIC -O1 -pthread -Wall -Wextra "-I$include")

built=0
for src in "$here"/*.c; do
    name="$(basename "$src" .c)"
    "$CC" -std=gnu11 "${cflags[@]}" -o "$out/$name.so" "$src"
    built=$((built + 1))
done

for src in "$here"/*.cpp; do
    name="$(basename "$src" .cpp)"
    "$CXX" -std=c++17 "${cflags[@]}" -o "$out/$name.so" "$src"
    built=$((built + 1))
done

if command -v rustc >/dev/null 2>&1; then
    # rustc may leave other files beside the library: build in a scratch folder.
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    for src in "$here"/*.rs; do
        name="$(basename "$src" .rs)"
        rustc --crate-type cdylib -O --crate-name "$name" -o "$scratch/$name.so" "$src"
        mv "$scratch/$name.so" "$out/$name.so"
        built=$((built + 1))
    done
else
    for src in "$here"/*.rs; do
        echo "build.sh: rustc is not on PATH; skipping $(basename "$src")" >&2
    done
fi

echo "build.sh: built $built plugins into $out" >&2
