#!/bin/bash
# ptnetmap-memdev packet rates, 64-byte packets, medians of RUNS, for two ring
# geometries: 1024 slots with batches of 256 (the pipe backend's default) and
# 4096 slots with batches of 1024.  Per geometry, in one run:
#  - the limit: host thread -> host thread over the same rings, the faster of
#    push (the sender's txsync moves the packets: nmport-pipe, two threads) and
#    pull (the receiver's rxsync moves them: modvmm-pktgen tx --offer-pull ->
#    modvmm-pktgen rx, two processes);
#  - guest -> host pktgen: the guest fills its TX ring at CPL3 and modvmm-pktgen
#    rx pulls it (rate from pktgen rx); "push" beside it: pktgen --no-pull, so
#    modvmm's pipe-tx thread moves the packets;
#  - host pktgen -> guest: pktgen's txsync fills the guest's RX ring (rate
#    from pktgen tx);
#  - VM -> VM: two modvmm processes, the sender's pipe-tx thread moves (rate
#    from the receiving guest's TSC cycles, the host's TSC rate from
#    /proc/cpuinfo).
# BUSY_POLL_US sets the pipe engine's busy_poll_us (default 50).  The guests
# poll (no interrupts) and kick only when the host side sleeps.  Notifications
# per 1000 packets: the guest's doorbell writes and the host peer's eventfd
# writes.  Two nested vCPUs here, shared with other jobs: the load average is
# printed.
# usage: memdev.sh MODVMM GUEST.elf nmport-pipe modvmm-pktgen [COUNT [RUNS]]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") BENCH=$(realpath "$3") PKTGEN=$(realpath "$4")
COUNT=${5:-20000000} RUNS=${6:-3}
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
# pktgen_rx NAME PIPE [OPTIONS]: a counting receiver in the background (pid in $rx).
pktgen_rx() {
	"$PKTGEN" -p "$2" -m rx -q -n "$COUNT" -S "$SLOTS" -b "$BATCH" "${@:3}" >"$T/$1.rx" 2>&1 &
	rx=$!
}
rx_ok() { wait $rx || fail "pktgen rx: $(cat "$T/$1.rx")"; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $COUNT packets per run, $RUNS runs, TSC $TSC_KHZ kHz"
threads=$("$BENCH" 1 "$RUNS") || fail "nmport-pipe failed: $threads"

for geo in "1024 256" "4096 1024"; do
	read -r SLOTS BATCH <<<"$geo"
	push=$(echo "$threads" | awk -v l="$SLOTS slots, batch $BATCH:" \
		'index($0, l) && !/checks/ { getline; print $2; exit }')
	pull=() g2h=() g2h_k=() g2h_n=() g2hp=() h2g=() h2g_k=() h2g_n=() v2v=() v2v_k=()
	for i in $(seq "$RUNS"); do
		tag=$SLOTS-$i
		# the limit, pulled: the sender creates the pipe and waits for the receiver
		"$PKTGEN" -p lim$tag -m tx -q -n "$COUNT" -S "$SLOTS" -b "$BATCH" --offer-pull >"$T/lim.tx" 2>&1 &
		tx=$!
		"$PKTGEN" -p lim$tag -m rx -q -n "$COUNT" -S "$SLOTS" -b "$BATCH" >"$T/lim.rx" 2>&1 || fail "pktgen rx: $(cat "$T/lim.rx")"
		wait $tx || fail "pktgen tx: $(cat "$T/lim.tx")"
		expect_in "$T/lim.rx" "pulled $COUNT"
		pull+=("$(pg_mpps "$T/lim.rx")")

		# guest -> host, pulled by pktgen, then pushed by modvmm
		pktgen_rx g2h g2h$tag
		vm g2h g2h$tag "mode=tx count=$COUNT batch=$BATCH"
		vm_ok g2h $pid
		rx_ok g2h
		expect_in "$T/g2h.rx" "pulled $COUNT"
		g2h+=("$(pg_mpps "$T/g2h.rx")")
		g2h_k+=("$(per1000 "$(kicks "$T/g2h.out")" "$COUNT")")
		g2h_n+=("$(per1000 "$(pg_notif "$T/g2h.rx")" "$COUNT")")
		pktgen_rx g2hp g2hp$tag --no-pull
		vm g2hp g2hp$tag "mode=tx count=$COUNT batch=$BATCH"
		vm_ok g2hp $pid
		rx_ok g2hp
		g2hp+=("$(pg_mpps "$T/g2hp.rx")")

		# host -> guest
		vm h2g h2g$tag "mode=rx count=$COUNT"
		wait_for "$T/h2g.out" "memdev: rx ready"
		"$PKTGEN" -p h2g$tag -m tx -q -n "$COUNT" -b "$BATCH" >"$T/h2g.tx" 2>&1 || fail "pktgen tx: $(cat "$T/h2g.tx")"
		vm_ok h2g $pid
		h2g+=("$(pg_mpps "$T/h2g.tx")")
		h2g_k+=("$(per1000 "$(kicks "$T/h2g.out")" "$COUNT")")
		h2g_n+=("$(per1000 "$(pg_notif "$T/h2g.tx")" "$COUNT")")

		# VM -> VM
		vm v2vr v2v$tag "mode=rx count=$COUNT"; rpid=$pid
		wait_for "$T/v2vr.out" "memdev: rx ready"
		vm v2vt v2v$tag "mode=tx count=$COUNT batch=$BATCH"
		vm_ok v2vt $pid
		vm_ok v2vr $rpid
		cyc=$(sed -n 's/.*packets in \([0-9]*\) cycles.*/\1/p' "$T/v2vr.out")
		v2v+=("$(mpps "$COUNT" "$cyc" "$TSC_KHZ")")
		v2v_k+=("$(per1000 $(( $(kicks "$T/v2vt.out") + $(kicks "$T/v2vr.out") )) "$COUNT")")
	done

	pullm=$(echo "${pull[*]}" | median)
	limit=$(printf '%s\n%s\n' "$push" "$pullm" | sort -g | tail -1)
	report() { # NAME VALUES [KICKS [PEER-NOTIFICATIONS]]
		local m line
		m=$(echo "$2" | median)
		line="  median $m Mpps, ratio to the limit: $(ratio "$m" "$limit")"
		[ -z "${3:-}" ] || line+="; guest kicks per 1000 packets: $(echo "$3" | median)"
		[ -z "${4:-}" ] || line+=", peer notifications per 1000: $(echo "$4" | median)"
		echo "$1: $2 Mpps"
		echo "$line"
	}
	echo
	echo "== $SLOTS slots, batches of $BATCH"
	echo "limit, host thread -> host thread: push (threads) median $push Mpps; pull (processes) ${pull[*]}," \
	     "median $pullm Mpps; limit $limit Mpps"
	report "guest -> host pktgen (pulled)" "${g2h[*]}" "${g2h_k[*]}" "${g2h_n[*]}"
	report "guest -> host pktgen (pushed by modvmm, --no-pull)" "${g2hp[*]}"
	report "host pktgen -> guest" "${h2g[*]}" "${h2g_k[*]}" "${h2g_n[*]}"
	report "VM -> VM" "${v2v[*]}" "${v2v_k[*]}"
done
echo "(targets: guest -> host >= 50 Mpps and >= 0.8x the limit; the guests never take an interrupt)"
