#!/bin/bash
# Every vCPU of a multi-vCPU guest comes up and reports.
# usage: smp.sh MODVMM smp.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
for n in 2 4; do
	basic_ini "$T/vm.ini" "$GUEST" "vcpus = $n
cmdline = ncpus=$n"
	run_vm "$T/vm.ini"
	for ((i = 0; i < n; i++)); do
		expect_in "$T/out" "cpu $i online"
	done
	expect_in "$T/out" "all $n cpus online"
	[ "$status" = 0 ] || fail "$n vCPUs: exit status $status (stderr: $(cat "$T/err"))"
done
# asking the guest for more CPUs than the VM has must fail in the guest
sed -i "s/ncpus=4/ncpus=5/" "$T/vm.ini"
run_vm "$T/vm.ini"
expect_in "$T/out" "only 4 of 5 cpus online"
[ "$status" = 1 ] || fail "guest expecting 5 of 4 vCPUs exited $status, expected 1"
# vCPU threads follow [vm] vcpu_affinity: vCPU i on the i-th listed host CPU
basic_ini "$T/vm.ini" "$GUEST" "vcpus = 2
cmdline = ncpus=2
vcpu_affinity = 1,0"
status=0
timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" || status=$?
[ "$status" = 0 ] || fail "pinned run exited $status"
expect_in "$T/err" "vcpu0 pinned to host CPU 1"
expect_in "$T/err" "vcpu1 pinned to host CPU 0"
echo "ok: 2 and 4 vCPUs all reported; pinning follows vcpu_affinity"
