#!/bin/bash
# Install the dependencies, build with warnings as errors, run every test
# (unit, valgrind, end-to-end on real KVM, plugin SDK).  Where /dev/kvm is
# missing or paravirtualized (no vmx/svm), the tests that need it run inside a
# KVM host (tests/kvmhost).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --test
# an existing build/ keeps its options: make sure warnings are errors there too
if [ -d build ]; then meson configure build -Dwerror=true; else meson setup build -Dwerror=true; fi
meson compile -C build
if [ "$(tests/kvmhost/with-kvm --mode)" = kvmhost ]; then
	MODVMM_TIME_FACTOR=$(tests/kvmhost/with-kvm --time-factor)
	echo "test.sh: no /dev/kvm with hardware virtualization (vmx/svm) here: the tests that need KVM each run inside a throwaway KVM host" \
		"(QEMU TCG, tests/kvmhost; ~10 s to boot, everything emulated, time limits x$MODVMM_TIME_FACTOR)"
	set -- --timeout-multiplier "$MODVMM_TIME_FACTOR" "$@"
fi
meson test -C build --print-errorlogs "$@"
