#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the module out of the source tree (kmod/ and include/ copied to a
# scratch folder) against Debian's cloud kernel headers with W=1: any warning
# or error fails.  Skips (77) without linux-headers-*-cloud-amd64.
# usage: build.sh KMOD_DIR INCLUDE_DIR
set -u
SRC=$1 INC=$2
hdr=$(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$hdr" ]; then
	echo "SKIP: no /usr/src/linux-headers-*-cloud-amd64 (scripts/deps.sh --test installs linux-headers-cloud-amd64)" >&2
	exit 77
fi
T=$(mktemp -d /tmp/modvmm-kmod.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/kmod"
cp "$SRC/Kbuild" "$SRC/Makefile" "$SRC"/*.c "$T/kmod/"
cp -r "$INC" "$T/include"

echo "building against $hdr"
make -C "$hdr" M="$T/kmod" W=1 >"$T/log" 2>&1
st=$?
cat "$T/log"
[ "$st" = 0 ] || { echo "FAIL: make exited with $st"; exit 1; }
if grep -qiE "warning|error" "$T/log"; then
	echo "FAIL: the build printed warnings"
	exit 1
fi
ko="$T/kmod/ptnetmap_memdev_uio.ko"
[ -f "$ko" ] || { echo "FAIL: no $ko"; exit 1; }
# the .modinfo section (what modinfo prints), read with binutils into a
# regular file: once in CI, objcopy writing to /dev/stdout (a pipe) left
# nothing to read and no error
objcopy -O binary --only-section=.modinfo "$ko" "$T/modinfo" ||
	{ echo "FAIL: objcopy cannot extract .modinfo"; exit 1; }
[ -s "$T/modinfo" ] || { readelf -S "$ko"; echo "FAIL: empty .modinfo"; exit 1; }
info=$(tr '\0' '\n' <"$T/modinfo")
echo "$info"
# 1b36:000c with class 0xff (QEMU's pcie-root-port is 1b36:000c too, class 0x0604)
echo "$info" | grep -qx "alias=pci:v00001B36d0000000Csv\*sd\*bcFFsc00i\*" ||
	{ echo "FAIL: wrong PCI alias"; exit 1; }
echo "$info" | grep -qx "license=GPL" || { echo "FAIL: licence"; exit 1; }
echo "$info" | grep -qx "depends=uio" || { echo "FAIL: expected to depend on uio only"; exit 1; }

# the same module from the installed-SDK layout (MODVMM_INCLUDE)
mkdir -p "$T/sdk" "$T/alone"
cp -r "$INC/modvmm-netmap" "$T/sdk/"
cp "$SRC/Kbuild" "$SRC/Makefile" "$SRC"/*.c "$T/alone/"
make -C "$hdr" M="$T/alone" W=1 MODVMM_INCLUDE="$T/sdk" >"$T/log2" 2>&1 ||
	{ cat "$T/log2"; echo "FAIL: build with MODVMM_INCLUDE"; exit 1; }
! grep -qiE "warning|error" "$T/log2" || { cat "$T/log2"; echo "FAIL: warnings with MODVMM_INCLUDE"; exit 1; }
echo "ok"
