#!/bin/bash
# Two Linux guests on the two ends of one link (tests/linux/guest/net-pipe.sh):
# ping both ways and a checked TCP transfer each way.  Under modvmm the link
# is a `pipe` (each guest's virtio-net on one end), and the carrier follows
# the peer: guest a has none until b's modvmm joins the pipe, loses it when
# b's modvmm is killed (kill -9) and has it again when a third guest joins.
# QEMU has no pipe backend: its reference run links two QEMUs with a TCP
# socket netdev (listen/connect) for the same traffic; the carrier part is
# modvmm's only (QEMU's socket netdev keeps the carrier up).
# usage: net-pipe.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
BYTES=${LT_BYTES:-$((64 << 20))}
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
port=$((20000 + $$ % 10000))
args="lt.test=net-pipe lt.bytes=$BYTES lt.a=10.96.0.1 lt.b=10.96.0.2"

# nic ROLE: virtio-net on end auto of the pipe "lt", MAC ...:0R
nic() {
	lt_vnet "plugin = pipe
name = lt" "mac = 52:54:00:4c:54:$1"
}

lt_start modvmm pipe-a 1 "$args lt.role=a lt.carrier=1" "$(nic 0a)"
lt_wait_line modvmm pipe-a "LINUXTEST: READY tcp-rx"
lt_start modvmm pipe-b 1 "$args lt.role=b lt.carrier=1" "$(nic 0b)"
lt_wait_line modvmm pipe-b "LINUXTEST: READY kill"
lt_kill modvmm pipe-b
lt_wait_line modvmm pipe-a "LINUXTEST: READY rejoin"
lt_start modvmm pipe-c 1 "$args lt.role=c" "$(nic 0c)"
lt_finish modvmm pipe-c
lt_finish modvmm pipe-a
grep -q "LINUXTEST: FAIL" "$T/pipe-b.modvmm.log" && { lt_show modvmm pipe-b; fail "pipe-b under modvmm failed"; }
[ "$(grep -c 'link up' "$T/pipe-a.modvmm.err")" = 2 ] || { lt_show modvmm pipe-a; fail "pipe-a's modvmm: want two link-ups (b, then c)"; }

lt_start qemu pipe-a 1 "$args lt.role=a" \
	"-netdev socket,id=n0,listen=127.0.0.1:$port -device virtio-net-pci,netdev=n0,mac=52:54:00:4c:54:0a"
lt_wait_line qemu pipe-a "LINUXTEST: READY tcp-rx"
lt_start qemu pipe-b 1 "$args lt.role=b" \
	"-netdev socket,id=n0,connect=127.0.0.1:$port -device virtio-net-pci,netdev=n0,mac=52:54:00:4c:54:0b"
lt_finish qemu pipe-b
lt_finish qemu pipe-a
echo "modvmm, guest a: $(grep -a 'no peer yet\|eth0: carrier' "$T/pipe-a.modvmm.log" | tr -d '\r' | tr '\n' ';')"
for vmm in modvmm qemu; do
	echo "$vmm: $(grep -ah 'tcpx: received' "$T"/pipe-[ab].$vmm.log | tr -d '\r' | tr '\n' ';')"
done
