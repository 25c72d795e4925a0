#!/bin/bash
# PCI exit-cost benchmark: ns per guest write at CPL3 for a trapped PIO write, a
# trapped MMIO write, an ioeventfd PIO doorbell and an ioeventfd MMIO doorbell to
# pci-testdev under modvmm, each beside the same write timed by raw-kvm (a
# minimal KVM program with an empty exit handler: the limit), in the same run.
# modvmm and raw-kvm runs alternate, REPS times each (this machine's exit costs
# drift by tens of percent over seconds, so each modvmm run is compared with the
# raw-kvm run just before it); ns figures are medians over all rounds.  Guest TSC cycles are converted with the TSC frequency
# raw-kvm calibrates against CLOCK_MONOTONIC.
# Targets: doorbells within 5% of raw, trapped exits within 10%.
# The doorbell limit is raw-kvm with a thread reading the eventfds, as
# pci-testdev's worker does; raw-kvm with nobody reading is printed too.
# Both run their vCPU pinned to host CPU $PCI_BENCH_CPU (default 1); helper
# threads (pci-testdev's worker, raw-kvm's reader) are not pinned.
# usage: pci-exits.sh MODVMM raw-kvm pci-bench.elf [REPS [TRAP_N BELL_N ROUNDS]]
. "$(dirname "$0")/../e2e/lib.sh"
MODVMM=$(realpath "$1") RAW=$(realpath "$2") GUEST=$(realpath "$3")
REPS=${4:-8} TRAP_N=${5:-2000} BELL_N=${6:-10000} ROUNDS=${7:-3}
CPU=${PCI_BENCH_CPU:-1}
need_kvm
cat >"$T/vm.ini" <<INI
[vm]
name = pci-bench-$$
memory = 64M
vcpu_affinity = $CPU
kernel = $GUEST
cmdline = trap=$TRAP_N bell=$BELL_N rounds=$ROUNDS
[device com1]
plugin = serial
input = none
[device exit]
plugin = debug-exit
[device td]
plugin = pci-testdev
INI

for rep in $(seq "$REPS"); do
	"$RAW" "$TRAP_N" "$BELL_N" "$ROUNDS" --reader --cpu "$CPU" >"$T/r" || fail "raw-kvm failed"
	sed "s/^/rep=$rep /" "$T/r" >>"$T/raw"
	run_vm "$T/vm.ini"
	[ "$status" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "modvmm run: status $status"; }
	! grep -q '^FAIL' "$T/out" || fail "the bench guest: $(grep '^FAIL' "$T/out")"
	sed "s/^/rep=$rep /" "$T/out" >>"$T/modvmm"
	"$RAW" "$TRAP_N" "$BELL_N" 1 --cpu "$CPU" | sed "s/^/rep=$rep /" >>"$T/raw0" || fail "raw-kvm failed"
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
		split($5, n, "="); split($6, c, "="); printf "%.1f\n", c[2] / n[2] / hz * 1e9 }' "$1"
}

echo "pci-exits: ns per guest write at CPL3; $REPS alternating runs of modvmm and raw-kvm," \
	"$ROUNDS rounds each of $TRAP_N trapped / $BELL_N doorbell writes; TSC $(awk -v h="$hz" 'BEGIN { printf "%.3f", h / 1e9 }') GHz"
echo "ratio: median over runs of modvmm's median / the median of the raw-kvm run just before it"
printf '%-24s %10s %10s %7s %15s %8s  %s\n' write modvmm raw-kvm ratio "ratio range" target verdict
for row in "pio_trap:trapped PIO exit:1.10" "mmio_trap:trapped MMIO exit:1.10" \
	"pio_bell:ioeventfd PIO doorbell:1.05" "mmio_bell:ioeventfd MMIO doorbell:1.05"; do
	IFS=: read -r kind label target <<<"$row"
	m=$(ns "$T/modvmm" "$kind" | median) || fail "no modvmm figure for $kind"
	r=$(ns "$T/raw" "$kind" | median) || fail "no raw-kvm figure for $kind"
	ratios=$(for rep in $(seq "$REPS"); do
		a=$(ns "$T/modvmm" "$kind" "$rep" | median) && b=$(ns "$T/raw" "$kind" "$rep" | median) &&
			awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", a / b }'
	done)
	q=$(median <<<"$ratios")
	lo=$(sort -g <<<"$ratios" | head -1) hi=$(sort -g <<<"$ratios" | tail -1)
	awk -v l="$label" -v m="$m" -v r="$r" -v q="$q" -v lo="$lo" -v hi="$hi" -v t="$target" 'BEGIN {
		printf "%-24s %10.1f %10.1f %7.3f %7.3f-%-7.3f %8s  %s\n", l, m, r, q, lo, hi, "<= " t,
			(q <= t) ? "met" : "MISSED" }'
done
for kind in pio_bell mmio_bell; do
	echo "raw-kvm $kind with nobody reading the eventfd: $(ns "$T/raw0" "$kind" | median) ns"
done
