#!/bin/bash
# PCI exit-cost benchmark: ns per guest write at CPL3 for a trapped PIO write, a
# trapped MMIO write, an ioeventfd PIO doorbell and an ioeventfd MMIO doorbell to
# pci-testdev under modvmm, each beside the same write timed by raw-kvm (a
# minimal KVM program with an empty exit handler: the limit), in the same run.
# modvmm and raw-kvm runs alternate, REPS times each; the figures are medians
# over all rounds.  Guest TSC cycles are converted with the TSC frequency
# raw-kvm calibrates against CLOCK_MONOTONIC.
# Targets: doorbells within 5% of raw, trapped exits within 10%.
# The doorbell limit is raw-kvm with a thread reading the eventfds, as
# pci-testdev's worker does; raw-kvm with nobody reading is printed too.
# usage: pci-exits.sh MODVMM raw-kvm pci-bench.elf [REPS [TRAP_N BELL_N ROUNDS]]
. "$(dirname "$0")/../e2e/lib.sh"
MODVMM=$(realpath "$1") RAW=$(realpath "$2") GUEST=$(realpath "$3")
REPS=${4:-3} TRAP_N=${5:-2000} BELL_N=${6:-20000} ROUNDS=${7:-5}
need_kvm
cat >"$T/vm.ini" <<INI
[vm]
name = pci-bench-$$
memory = 64M
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
	"$RAW" "$TRAP_N" "$BELL_N" "$ROUNDS" --reader >>"$T/raw" || fail "raw-kvm failed"
	run_vm "$T/vm.ini"
	cat "$T/out" >>"$T/modvmm"
	[ "$status" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "modvmm run: status $status"; }
	! grep -q '^FAIL' "$T/out" || fail "the bench guest: $(grep '^FAIL' "$T/out")"
	"$RAW" "$TRAP_N" "$BELL_N" "$ROUNDS" >>"$T/raw0" || fail "raw-kvm failed"
done

hz=$(awk -F= '/^tsc_hz=/ { s += $2; n++ } END { if (n) printf "%.0f", s / n }' "$T/raw")
[ -n "$hz" ] || fail "raw-kvm printed no TSC frequency"

# median_ns FILE KIND: median over rounds of ns per write
median_ns() {
	awk -v k="$2" -v hz="$hz" '$1 == "bench" && $2 == k {
		split($4, n, "="); split($5, c, "="); printf "%.1f\n", c[2] / n[2] / hz * 1e9 }' "$1" |
		sort -g | awk '{ a[NR] = $1 } END { if (!NR) exit 1
			print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

echo "pci-exits: ns per guest write at CPL3, medians of $((REPS * ROUNDS)) rounds" \
	"($TRAP_N trapped / $BELL_N doorbell writes per round); TSC $(awk -v h="$hz" 'BEGIN { printf "%.3f", h / 1e9 }') GHz"
printf '%-24s %12s %12s %8s %8s  %s\n' write modvmm raw-kvm ratio target verdict
for row in "pio_trap:trapped PIO exit:1.10" "mmio_trap:trapped MMIO exit:1.10" \
	"pio_bell:ioeventfd PIO doorbell:1.05" "mmio_bell:ioeventfd MMIO doorbell:1.05"; do
	IFS=: read -r kind label target <<<"$row"
	m=$(median_ns "$T/modvmm" "$kind") || fail "no modvmm figure for $kind"
	r=$(median_ns "$T/raw" "$kind") || fail "no raw-kvm figure for $kind"
	awk -v l="$label" -v m="$m" -v r="$r" -v t="$target" 'BEGIN {
		printf "%-24s %12.1f %12.1f %8.3f %8s  %s\n", l, m, r, m / r, "<= " t, (m / r <= t) ? "met" : "MISSED" }'
done
for kind in pio_bell mmio_bell; do
	r0=$(median_ns "$T/raw0" "$kind") || fail "no raw-kvm figure for $kind"
	echo "raw-kvm $kind with nobody reading the eventfd: $r0 ns"
done
