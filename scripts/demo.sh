#!/bin/bash
# Install the build dependencies, build modvmm, boot configs/demo.ini.  Where
# /dev/kvm is missing (or on a CPU without vmx/svm: a paravirtualized KVM),
# the demo runs inside a throwaway KVM host under QEMU
# (tests/kvmhost/with-kvm; MODVMM_KVMHOST=native|kvmhost forces either way).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --test   # the demo guest is built with the test guests
[ -d build ] || meson setup build
meson compile -C build
[ "$(tests/kvmhost/with-kvm --mode)" = native ] ||
	echo "demo.sh: no /dev/kvm with hardware virtualization here: running the demo inside a KVM host under QEMU TCG emulation (tests/kvmhost), about a minute"
exec tests/kvmhost/with-kvm build/core/modvmm run configs/demo.ini
