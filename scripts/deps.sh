#!/bin/bash
# Install what modvmm needs to build (and, with --test, to run every test) on
# Debian 12.  Run as root.  Skips apt-get when everything is already installed.
set -eu
pkgs="gcc meson ninja-build pkgconf libltdl-dev libinih-dev libjansson-dev libcmocka-dev"   # cmocka: meson setup wants it (-Dtests=false skips it)
[ "${1:-}" = --test ] && pkgs="$pkgs valgrind qemu-system-x86 make"
[ "${1:-}" = --test ] && pkgs="$pkgs man-db groff-base"   # the manual-page test renders with man -l
# Linux-guest tests: iasl (ACPI table round trip), lz4 (the Debian kernel's
# payload for the PVH test); apt-get download and dpkg-deb come with Debian.
[ "${1:-}" = --test ] && pkgs="$pkgs acpica-tools lz4"
[ "${1:-}" = --test ] && pkgs="$pkgs clang iproute2 iputils-ping"   # fuzzers; network namespaces, tap, ping
# kmod/: build the guest driver against a kernel with CONFIG_UIO=m (suite kmod)
[ "${1:-}" = --test ] && pkgs="$pkgs linux-headers-cloud-amd64"
# linux-memdev-kmod: the same driver for the Linux guests' kernel (the generic
# linux-image-amd64 that tests/kvmhost fetches), with its headers
[ "${1:-}" = --test ] && pkgs="$pkgs linux-headers-amd64"
# kmod-checkpatch: checkpatch.pl from the kernel source tarball (unpacked once)
[ "${1:-}" = --test ] && pkgs="$pkgs linux-source-6.1"
# vhost-user tests and benchmark: DPDK's dpdk-testpmd as the peer
# The KVM host (tests/kvmhost) where /dev/kvm is missing: QEMU (above), depmod,
# cpio for its initramfs, setpriv and timeout (util-linux, coreutils: essential)
[ "${1:-}" = --test ] && pkgs="$pkgs kmod cpio"
[ "${1:-}" = --test ] && pkgs="$pkgs dpdk dpdk-dev python3"   # dpdk-dev has dpdk-testpmd; python3: small test helpers (hostile vhost-user peer, UDP, e820 checks)
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
fi
