#!/bin/bash
# Build modvmm, fetch Debian's cloud kernel into build/debian-kernel/ (once, with
# apt-get download), and boot it with configs/linux.ini.  Extra arguments go to
# modvmm before `run` (e.g. -v).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --test   # lz4 for the uncompressed vmlinux, next to the bzImage
[ -d build ] || meson setup build
meson compile -C build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() {
	echo "linux-guest: $*" >&2
	exit 1
}
. tests/e2e/debian-kernel.sh
MODVMM_TEST_CACHE=$PWD/build/debian-kernel debian_kernel "$PWD/build/debian-kernel"
ln -sf "$VMLINUZ" build/debian-kernel/vmlinuz
ln -sf "$VMLINUX" build/debian-kernel/vmlinux
build/core/modvmm "$@" run configs/linux.ini
