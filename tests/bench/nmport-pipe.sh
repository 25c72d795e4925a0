#!/bin/bash
# Netmap-style pipes on this machine, 64-byte packets, medians of RUNS runs:
#  - host thread -> host thread in one process (nmport-pipe): the limit that
#    issue 5's guest -> host and VM -> VM figures are compared against;
#  - modvmm-pktgen tx -> modvmm-pktgen rx in two processes over the rendezvous
#    (4096 slots, batch 1024), printed with its ratio to that limit.
# The limit is the first thread configuration (4096 slots, batch 1024, the
# receiver reading slots but not payload, as pkt-gen's rx does); the others show the
# cost of small batches and of a receiver that checks every packet.  The
# machine has two vCPUs that other jobs share: the load average is printed.
# usage: nmport-pipe.sh nmport-pipe modvmm-pktgen [SECS [RUNS]]
. "$(dirname "$0")/../e2e/lib.sh"
BENCH=$(realpath "$1") PKTGEN=$(realpath "$2") SECS=${3:-1} RUNS=${4:-7}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

out=$("$BENCH" "$SECS" "$RUNS") || fail "nmport-pipe failed: $out"
echo "$out"
limit=$(echo "$out" | awk '/median/ { print $2; exit }')

export MODVMM_RUNDIR=$T/run
vals=()
for i in $(seq "$RUNS"); do
	"$PKTGEN" -p bench$i -m rx -q -d "$SECS" -S 4096 >"$T/rx$i" 2>&1 &
	rx=$!
	"$PKTGEN" -p bench$i -m tx -q -d "$SECS" -S 4096 -b 1024 >"$T/tx$i" 2>&1 ||
		fail "pktgen tx failed: $(cat "$T/tx$i")"
	wait $rx || fail "pktgen rx failed: $(cat "$T/rx$i")"
	vals+=("$(awk '/Mpps/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mpps") print $i; exit }' "$T/tx$i")")
done
med=$(printf '%s\n' "${vals[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "modvmm-pktgen tx -> rx (two processes, 64-byte packets, 4096 slots, batch 1024): ${vals[*]} Mpps"
echo "  median $med Mpps, ratio to the host thread limit: $(awk -v a="$med" -v b="$limit" 'BEGIN { printf "%.2f", a / b }')"
echo "  (the ptnetmap target for guest -> host is >= 50 Mpps and >= 0.8x the limit above)"
