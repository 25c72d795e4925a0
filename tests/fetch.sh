#!/bin/bash
# Fetch, on this machine, everything the tests download (Debian's cloud kernel
# for the Linux-guest tests, the KVM host's kernel and busybox, the packages of
# the Linux-guest test kit's initramfs, tests/linux/), into the cache
# (/var/cache/modvmm-tests or $MODVMM_TEST_CACHE).  tests/kvmhost/with-kvm
# runs it before it boots a KVM host, which has no network; when everything is
# cached it only checks.
set -eu
cd "$(dirname "$0")/.."
fail() {
	echo "fetch: $*" >&2
	exit 1
}
. tests/e2e/debian-kernel.sh
debian_kernel "${MODVMM_TEST_CACHE:-/var/cache/modvmm-tests}"
tests/kvmhost/kvmhost --prepare
# The Linux-guest test kit: its packages and the initramfs built from them.
. tests/linux/initramfs.sh
linux_guest_inputs || fail "the Linux-guest test kit's inputs"
