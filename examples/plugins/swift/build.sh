#!/bin/sh
# Builds libhello_swift.so from hello.swift with swiftc alone (no SwiftPM).
set -eu
cd "$(dirname "$0")"
"${SWIFTC:-swiftc}" -emit-library -parse-as-library -swift-version 6 -O \
    -module-name HelloSwift -I CPlugHost \
    hello.swift -o libhello_swift.so
echo "built $(pwd)/libhello_swift.so"
