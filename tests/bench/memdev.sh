#!/bin/bash
# ptnetmap-memdev packet rates, 64-byte packets, in one run (medians of RUNS):
#  - the limit: host thread -> host thread over the same rings (nmport-pipe,
#    4096 slots, batch 1024);
#  - guest -> host pktgen: the guest fills its TX ring at CPL3, modvmm's pipe
#    worker swaps buffers into modvmm-pktgen's RX ring (rate from pktgen rx);
#  - host pktgen -> guest: pktgen's engine fills the guest's RX ring (rate
#    from pktgen tx);
#  - VM -> VM: two modvmm processes (rate from the receiving guest's TSC
#    cycles, the host's TSC rate from /proc/cpuinfo).
# BUSY_POLL_US sets the pipe engine's busy_poll_us (default 50).
# 4096-slot rings, batches of 1024; the guests poll (no interrupts) and kick
# only when the host side sleeps.  Notifications per 1000 packets: the
# guest's doorbell writes and the host peer's eventfd writes.  Two nested
# vCPUs here, shared with other jobs: the load average is printed.
# usage: memdev.sh MODVMM GUEST.elf nmport-pipe modvmm-pktgen [COUNT [RUNS]]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") BENCH=$(realpath "$3") PKTGEN=$(realpath "$4")
COUNT=${5:-20000000} RUNS=${6:-3}
SLOTS=4096 BATCH=1024
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

per1000() { awk -v n="$1" -v p="$2" 'BEGIN { printf "%.3f", (p > 0 ? n * 1000.0 / p : 0) }'; }
pg_mpps() { awk '/Mpps/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mpps") print $i; exit }' "$1"; }
pg_notif() { sed -n 's/.*notifications \([0-9]*\).*/\1/p' "$1" | head -1; }
kicks() { sed -n 's/.*kicks \([0-9]*\).*/\1/p' "$1" | head -1; }
TSC_KHZ=$(awk -F: '/^cpu MHz/ { printf "%.0f", $2 * 1000; exit }' /proc/cpuinfo)

# vm NAME PIPE CMDLINE: a memdev VM in the background (pid in $pid).
vm() {
	pipe_vm_ini "$T/$1.ini" "$GUEST" "$3 timeout=60" "$2" ptnetmap-memdev \
		"slots = $SLOTS
busy_poll_us = ${BUSY_POLL_US:-50}"
	"$MODVMM" run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	pid=$!
}
vm_ok() {
	local st=0
	wait "$2" || st=$?
	[ "$st" = 0 ] && ! grep -q FAIL "$T/$1.out" || fail "$1: status $st: $(cat "$T/$1.out" "$T/$1.err")"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $COUNT packets per run, $RUNS runs, TSC $TSC_KHZ kHz"
out=$("$BENCH" 1 "$RUNS") || fail "nmport-pipe failed: $out"
limit=$(echo "$out" | awk '/median/ { print $2; exit }')
echo "$out" | head -2

g2h=() g2h_k=() g2h_n=() h2g=() h2g_k=() h2g_n=() v2v=() v2v_k=() v2v_n=()
for i in $(seq "$RUNS"); do
	# guest -> host
	"$PKTGEN" -p g2h$i -m rx -q -n "$COUNT" -S $SLOTS -b $BATCH >"$T/g2h.rx" 2>&1 &
	rx=$!
	vm g2h g2h$i "mode=tx count=$COUNT batch=$BATCH"
	vm_ok g2h $pid
	wait $rx || fail "pktgen rx: $(cat "$T/g2h.rx")"
	g2h+=("$(pg_mpps "$T/g2h.rx")")
	g2h_k+=("$(per1000 "$(kicks "$T/g2h.out")" "$COUNT")")
	g2h_n+=("$(per1000 "$(pg_notif "$T/g2h.rx")" "$COUNT")")

	# host -> guest
	vm h2g h2g$i "mode=rx count=$COUNT"
	wait_for "$T/h2g.out" "memdev: rx ready"
	"$PKTGEN" -p h2g$i -m tx -q -n "$COUNT" -b $BATCH >"$T/h2g.tx" 2>&1 || fail "pktgen tx: $(cat "$T/h2g.tx")"
	vm_ok h2g $pid
	h2g+=("$(pg_mpps "$T/h2g.tx")")
	h2g_k+=("$(per1000 "$(kicks "$T/h2g.out")" "$COUNT")")
	h2g_n+=("$(per1000 "$(pg_notif "$T/h2g.tx")" "$COUNT")")

	# VM -> VM
	vm v2vr v2v$i "mode=rx count=$COUNT"; rpid=$pid
	wait_for "$T/v2vr.out" "memdev: rx ready"
	vm v2vt v2v$i "mode=tx count=$COUNT batch=$BATCH"
	vm_ok v2vt $pid
	vm_ok v2vr $rpid
	cyc=$(sed -n 's/.*packets in \([0-9]*\) cycles.*/\1/p' "$T/v2vr.out")
	v2v+=("$(awk -v p="$COUNT" -v c="$cyc" -v k="$TSC_KHZ" 'BEGIN { printf "%.3f", p / (c / (k * 1000.0)) / 1e6 }')")
	v2v_k+=("$(per1000 $(( $(kicks "$T/v2vt.out") + $(kicks "$T/v2vr.out") )) "$COUNT")")
done

report() { # NAME VALUES KICKS PEER-NOTIFICATIONS
	local m
	m=$(echo "$2" | median)
	echo "$1: $2 Mpps"
	echo "  median $m Mpps, ratio to the host thread limit: $(ratio "$m" "$limit");" \
	     "guest kicks per 1000 packets: $(echo "$3" | median)${4:+, peer notifications per 1000: $(echo "$4" | median)}"
}
report "guest -> host pktgen" "${g2h[*]}" "${g2h_k[*]}" "${g2h_n[*]}"
report "host pktgen -> guest" "${h2g[*]}" "${h2g_k[*]}" "${h2g_n[*]}"
report "VM -> VM            " "${v2v[*]}" "${v2v_k[*]}"
echo "  (targets: guest -> host >= 50 Mpps and >= 0.8x the limit; the guests never take an interrupt)"
