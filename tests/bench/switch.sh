#!/bin/bash
# modvmm-switch beside the plain pipe, in one run, 64-byte frames, alternating
# RUNS runs of SECS seconds each (host processes only, no KVM):
#  - pipe:   modvmm-pktgen tx -> modvmm-pktgen rx over one pipe (buffer swaps,
#            no copy: the zero-copy limit between the same endpoints);
#  - switch: modvmm-pktgen tx -> modvmm-switch -> modvmm-pktgen rx (learned
#            unicast; the switch copies each frame into the receiver's pipe).
# Prints the medians, the ratio switch/pipe and the cost per frame of the
# switch (copy, lookup, one more hop): 1/switch - 1/pipe.  The receivers count
# without reading payload (as pkt-gen's rx does).  The machine's two vCPUs are
# shared with other jobs: the load average is printed.
# usage: switch.sh modvmm-pktgen modvmm-switch [SECS [RUNS [SLOTS BATCH]]]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
PKTGEN=$(realpath "$1") SWITCH=$(realpath "$2") SECS=${3:-1} RUNS=${4:-5}
SLOTS=${5:-1024} BATCH=${6:-256}
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "${MODVMM_IN_KVMHOST:-}" ] || echo "note: emulated (KVM host): only the ratio compares"

"$SWITCH" --stay -v sw0 >"$T/sw.log" 2>&1 &
wait_for "$T/sw.log" "running"

# one RX-PIPE TX-PIPE TAG [rx options] -- [tx options]: Mpps of one run (the sender's)
one() {
	local rxp=$1 txp=$2 tag=$3 rxo=() txo=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do rxo+=("$1"); shift; done
	shift
	txo=("$@")
	"$PKTGEN" -p "$rxp" -m rx -q -d "$SECS" -S "$SLOTS" "${rxo[@]}" >"$T/$tag.rx" 2>&1 &
	local rx=$!
	"$PKTGEN" -p "$txp" -m tx -q -d "$SECS" -S "$SLOTS" -b "$BATCH" "${txo[@]}" >"$T/$tag.tx" 2>&1 ||
		fail "$tag: pktgen tx failed: $(cat "$T/$tag.tx")"
	wait $rx || fail "$tag: pktgen rx failed: $(cat "$T/$tag.rx")"
	awk '/Mpps/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mpps") print $i; exit }' "$T/$tag.tx"
}

pipe=() sw=()
for i in $(seq "$RUNS"); do
	pipe+=("$(one p$i p$i pipe$i --)")
	# the receiver announces itself; the sender starts once the switch learned it
	"$PKTGEN" -p sw0.rx$i -m rx -q -d $((SECS + 30)) -S "$SLOTS" --src 02:00:00:00:01:$(printf %02x $i) \
		--announce >"$T/sw$i.rx" 2>&1 &
	rx=$!
	wait_for "$T/sw.log" "learned 02:00:00:00:01:$(printf %02x $i) on sw0.rx$i"
	"$PKTGEN" -p sw0.tx$i -m tx -q -d "$SECS" -S "$SLOTS" -b "$BATCH" \
		--src 02:00:00:00:02:00 --dst 02:00:00:00:01:$(printf %02x $i) >"$T/sw$i.tx" 2>&1 ||
		fail "switch: pktgen tx failed: $(cat "$T/sw$i.tx")"
	kill $rx
	wait $rx 2>/dev/null
	sw+=("$(awk '/Mpps/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mpps") print $i; exit }' "$T/sw$i.tx")")
done
pm=$(echo "${pipe[*]}" | median)
sm=$(echo "${sw[*]}" | median)
echo "64-byte frames, $SLOTS slots, batch $BATCH, $RUNS runs of $SECS s:"
echo "  pipe   pktgen -> pktgen:          ${pipe[*]} Mpps, median $pm"
echo "  switch pktgen -> switch -> pktgen: ${sw[*]} Mpps, median $sm"
echo "  ratio switch/pipe: $(ratio "$sm" "$pm")"
echo "  switch cost per frame: $(awk -v s="$sm" -v p="$pm" 'BEGIN { if (s > 0 && p > 0) printf "%.1f", 1000 / s - 1000 / p; else print "?" }') ns"
grep -h "drop_full" "$T/sw.log" | tail -n 2
