#!/bin/bash
# kmod/ in a stock Linux guest, for the first time: ptnetmap_memdev_uio is
# built here against the headers Debian ships beside the guest's kernel
# (linux-headers-RELEASE), then the guest loads it with uio and drives its
# ptnetmap-memdevs with lib/nmguest's nmguest-pktgen
# (tests/linux/guest/memdev-kmod.sh):
#  1. one guest, two memdevs: N sequence-numbered packets guest -> host
#     modvmm-pktgen on one pipe, then N host -> guest on the other, none lost
#     or reordered; rmmod unbinds both;
#  2. VM <-> VM: two guests on the two ends of one pipe, N packets from one
#     to the other.
# No QEMU reference here: ptnetmap-memdev exists only in modvmm.
# usage: memdev-kmod.sh WITH_KVM OUTDIR MODVMM NMGUEST-PKTGEN MODVMM-PKTGEN
# (OUTDIR: where the module is built, seen by the KVM host)
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
WITH_KVM=$1 OUT=$2
if [ -z "${MODVMM_KMOD_BUILT:-}" ]; then
	# Outside the KVM host (where building is fast): the module for the
	# guest's kernel, then this script again under with-kvm.
	linux_guest_inputs || fail "the guest kernel is missing (tests/fetch.sh fetches it)"
	hdr=/usr/src/linux-headers-$LG_KVER
	[ -d "$hdr" ] || fail "no $hdr: the guest kernel's headers (scripts/deps.sh --test installs linux-headers-amd64; or apt-get install linux-headers-$LG_KVER)"
	rm -rf "$OUT" && mkdir -p "$OUT/kmod" &&
		cp "$(dirname "$0")"/../../kmod/{Kbuild,Makefile,*.c} "$OUT/kmod/" || fail "cannot copy kmod/ to $OUT"
	make -C "$hdr" M="$OUT/kmod" MODVMM_INCLUDE="$(realpath "$(dirname "$0")/../../include")" >"$OUT/build.log" 2>&1 ||
		{ cat "$OUT/build.log"; fail "building ptnetmap_memdev_uio against $hdr"; }
	echo "built $OUT/kmod/ptnetmap_memdev_uio.ko against $hdr"
	rm -rf "$T"
	MODVMM_KMOD_BUILT=1 exec "$WITH_KVM" bash "$0" "$@"
fi
MODVMM=$(realpath "$3") NMGUEST=$(realpath "$4") PKTGEN=$(realpath "$5")
need_kvm
KO=$OUT/kmod/ptnetmap_memdev_uio.ko
[ -f "$KO" ] || fail "no $KO"
linux_guest_inputs || fail "the guest kernel is missing"
lt_setup "$NMGUEST" "$KO" "$LG_MODDIR/kernel/drivers/uio/uio.ko"
# the pipes' sockets in /tmp even when $T is elsewhere (MODVMM_TEST_TMP)
MODVMM_RUNDIR=$(mktemp -d /tmp/modvmm-kmod.XXXXXX) || fail "mktemp"
export MODVMM_RUNDIR
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$MODVMM_RUNDIR"; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
N=${LT_PACKETS:-1000000}

# memdev_ini PIPE...: a ptnetmap-memdev on each named pipe.
memdev_ini() {
	local i=0 p
	for p in "$@"; do
		printf '[backend p%d]\nplugin = pipe\nname = %s\n[device md%d]\nplugin = ptnetmap-memdev\nbackend = p%d\n' \
			$i "$p" $i $i
		i=$((i + 1))
	done
}

# 1. guest -> host on pipe kg2h (pktgen creates it), host -> guest on kh2g
"$PKTGEN" -p kg2h -m rx -c >"$T/g2h.rx" 2>&1 &
rx=$!
lt_start modvmm kmod 1 "lt.test=memdev-kmod lt.devs=2 lt.steps=tx:0:$N,rx:1:$N" "$(memdev_ini kg2h kh2g)"
pktgen_rx_ok $rx "$T/g2h.rx"
expect_in "$T/g2h.rx" "rx: $N packets"
echo "guest -> host: $(grep -h Mpps "$T/g2h.rx")"
lt_wait_line modvmm kmod "LINUXTEST: rx ready on 1"
timeout 60 "$PKTGEN" -p kh2g -m tx -n "$N" >"$T/h2g.tx" 2>&1 || fail "pktgen tx: $(cat "$T/h2g.tx")"
expect_in "$T/h2g.tx" "dropped 0, refused 0"
lt_finish modvmm kmod
echo "host -> guest: $(grep -a -h 'rx:.*Mpps' "$T/kmod.modvmm.log" | tr -d '\r')"

# 2. VM -> VM on pipe kvv
lt_start modvmm vmrx 1 "lt.test=memdev-kmod lt.steps=rx:0:$N" "$(memdev_ini kvv)"
lt_wait_line modvmm vmrx "LINUXTEST: rx ready on 0"
lt_start modvmm vmtx 1 "lt.test=memdev-kmod lt.steps=tx:0:$N" "$(memdev_ini kvv)"
lt_finish modvmm vmtx
lt_finish modvmm vmrx
echo "VM -> VM: $(grep -a -h 'rx:.*Mpps' "$T/vmrx.modvmm.log" | tr -d '\r')"
echo "ok"
