#!/bin/bash
# Install the build dependencies, build modvmm, boot configs/demo.ini.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --test   # the demo guest is built with the test guests
[ -d build ] || meson setup build
meson compile -C build
exec build/core/modvmm run configs/demo.ini
