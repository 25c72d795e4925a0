#!/bin/bash
# PCI exit-cost benchmark: ns per guest write at CPL3 for a trapped PIO write, a
# trapped MMIO write, an ioeventfd PIO doorbell and an ioeventfd MMIO doorbell to
# pci-testdev under modvmm, each beside the same write timed by raw-kvm (a
# minimal KVM program with an empty exit handler: the limit), in the same run.
#
# Doorbells are measured twice: with pci-testdev's worker thread reading the
# eventfd after every kick (compared with raw-kvm running a reader thread that
# does the same), and with `kick_thread = false`, where nobody reads the eventfd
# while the guest rings (compared with raw-kvm without a reader).
#
# modvmm and raw-kvm runs alternate, REPS times each.  This machine's exit costs
# drift by tens of percent over seconds, so each modvmm run is compared with the
# raw-kvm run just before it and the ratio printed is the median of those
# ratios; the ns figures are medians over all rounds.  Guest TSC cycles are
# converted with the TSC frequency raw-kvm calibrates against CLOCK_MONOTONIC.
# Both run their vCPU on host CPU $PCI_BENCH_CPU (default 1); helper threads
# (pci-testdev's worker, raw-kvm's reader) are not pinned.
# Targets: doorbells within 5% of raw, trapped exits within 10%.
# usage: pci-exits.sh MODVMM raw-kvm pci-bench.elf [REPS [TRAP_N BELL_N ROUNDS]]
. "$(dirname "$0")/../e2e/lib.sh"
MODVMM=$(realpath "$1") RAW=$(realpath "$2") GUEST=$(realpath "$3")
REPS=${4:-8} TRAP_N=${5:-2000} BELL_N=${6:-10000} ROUNDS=${7:-3}
CPU=${PCI_BENCH_CPU:-1}
need_kvm

# vm_ini FILE TRAP_N KICK_THREAD
vm_ini() {
	cat >"$1" <<INI
[vm]
name = pci-bench-$$
memory = 64M
vcpu_affinity = $CPU
kernel = $GUEST
cmdline = trap=$2 bell=$BELL_N rounds=$ROUNDS
[device com1]
plugin = serial
input = none
[device exit]
plugin = debug-exit
[device td]
plugin = pci-testdev
kick_thread = $3
INI
}
vm_ini "$T/thread.ini" "$TRAP_N" true
vm_ini "$T/nothread.ini" 0 false

# raw RESULT ARGS...: one raw-kvm run, its lines tagged with the rep
raw() {
	local out=$1
	shift
	"$RAW" "$@" --cpu "$CPU" >"$T/r" || fail "raw-kvm failed"
	sed "s/^/rep=$rep /" "$T/r" >>"$T/$out"
}
# vm RESULT INI: one modvmm run, its lines tagged with the rep
vm() {
	run_vm "$2"
	[ "$status" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "modvmm run: status $status"; }
	! grep -q '^FAIL' "$T/out" || fail "the bench guest: $(grep '^FAIL' "$T/out")"
	sed "s/^/rep=$rep /" "$T/out" >>"$T/$1"
}

for rep in $(seq "$REPS"); do
	raw raw "$TRAP_N" "$BELL_N" "$ROUNDS" --reader
	vm modvmm "$T/thread.ini"
	raw raw0 0 "$BELL_N" "$ROUNDS"
	vm modvmm0 "$T/nothread.ini"
done

hz=$(awk '$2 ~ /^tsc_hz=/ { s += substr($2, 8); n++ } END { if (n) printf "%.0f", s / n }' "$T/raw")
[ -n "$hz" ] || fail "raw-kvm printed no TSC frequency"

# median: of the numbers on stdin, one per line
median() {
	sort -g | awk '{ a[NR] = $1 } END { if (!NR) exit 1
		print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# ns FILE KIND [REP]: ns per write of each round (of one rep, or of all)
ns() {
	awk -v k="$2" -v r="${3:-}" -v hz="$hz" '$2 == "bench" && $3 == k && (r == "" || $1 == "rep=" r) {
		split($5, n, "="); split($6, c, "="); printf "%.1f\n", c[2] / n[2] / hz * 1e9 }' "$T/$1"
}
# row LABEL KIND MODVMM_FILE RAW_FILE TARGET
row() {
	local m r q lo hi ratios
	m=$(ns "$3" "$2" | median) || fail "no modvmm figure for $2"
	r=$(ns "$4" "$2" | median) || fail "no raw-kvm figure for $2"
	ratios=$(for rep in $(seq "$REPS"); do
		a=$(ns "$3" "$2" "$rep" | median) && b=$(ns "$4" "$2" "$rep" | median) &&
			awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", a / b }'
	done)
	q=$(median <<<"$ratios")
	lo=$(sort -g <<<"$ratios" | head -1) hi=$(sort -g <<<"$ratios" | tail -1)
	awk -v l="$1" -v m="$m" -v r="$r" -v q="$q" -v lo="$lo" -v hi="$hi" -v t="$5" 'BEGIN {
		printf "%-40s %9.1f %9.1f %6.3f %6.3f-%-6.3f %7s  %s\n", l, m, r, q, lo, hi, "<= " t,
			(q <= t) ? "met" : "MISSED" }'
}

echo "pci-exits: ns per guest write at CPL3; $REPS alternating runs of modvmm and raw-kvm," \
	"$ROUNDS rounds each of $TRAP_N trapped / $BELL_N doorbell writes; vCPU on CPU $CPU;" \
	"TSC $(awk -v h="$hz" 'BEGIN { printf "%.3f", h / 1e9 }') GHz; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ratio: median over runs of modvmm's median / the median of the raw-kvm run just before it"
printf '%-40s %9s %9s %6s %13s %7s  %s\n' write modvmm raw-kvm ratio "ratio range" target verdict
row "trapped PIO exit" pio_trap modvmm raw 1.10
row "trapped MMIO exit" mmio_trap modvmm raw 1.10
row "ioeventfd PIO doorbell, reader thread" pio_bell modvmm raw 1.05
row "ioeventfd MMIO doorbell, reader thread" mmio_bell modvmm raw 1.05
row "ioeventfd PIO doorbell, nobody reading" pio_bell modvmm0 raw0 1.05
row "ioeventfd MMIO doorbell, nobody reading" mmio_bell modvmm0 raw0 1.05
