#!/bin/bash
# Install the dependencies, build with warnings as errors, run every test
# (unit, valgrind, end-to-end on real KVM, plugin SDK).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --test
[ -d build ] || meson setup build -Dwerror=true
meson compile -C build
meson test -C build --print-errorlogs "$@"
