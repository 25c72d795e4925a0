#!/bin/bash
# A hostile guest (tests/guest/pci-hostile.c) abuses the PCI bus with several
# random seeds: random configuration writes everywhere, BARs over RAM, the LAPIC,
# the IOAPIC, KVM's private pages, each other, COM1, the debug console and the
# configuration ports, odd-sized and unaligned accesses to every BAR, junk in
# the MSI-X table.  modvmm must stay up, the guest must finish with every later
# valid access working, COM1 and the debug console must still print, and the
# devmem folder must be gone afterwards.
# usage: pci-hostile.sh MODVMM pci-hostile.elf [SEEDS...]
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
shift 2
need_kvm
ROOT=${MODVMM_RUNDIR:-/dev/shm/modvmm}
VM=pci-hostile-$$
seeds=("$@")
[ $# -gt 0 ] || seeds=(1 2 3)
for seed in "${seeds[@]}"; do
	basic_ini "$T/vm.ini" "$GUEST" "name = $VM
cmdline = seed=$seed"
	cat >>"$T/vm.ini" <<INI

[device td0]
plugin = pci-testdev
INI
	run_vm "$T/vm.ini"
	if [ "$status" != 0 ] || ! grep -qx "pci-hostile: all checks passed" "$T/out"; then
		grep '^FAIL' "$T/out" >&2
		tail -20 "$T/err" >&2
		fail "seed $seed: the hostile guest did not finish cleanly (exit status $status)"
	fi
	expect_in "$T/out" "serial still works with BAR0 over COM1"
	expect_in "$T/out" "debugcon still works with BAR0 at port 0"
	[ ! -e "$ROOT/$VM" ] || fail "seed $seed: $ROOT/$VM still exists after the VM exited"
	echo "ok: seed $seed: modvmm stayed up, $(grep -c '^ok:' "$T/out") guest checks passed" \
		"($(wc -l <"$T/err") lines of warnings)"
done
