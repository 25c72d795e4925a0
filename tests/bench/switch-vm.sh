#!/bin/bash
# VM -> VM through modvmm-switch beside VM -> VM over the plain pipe (the
# zero-copy limit between the same endpoints), in one run, 64-byte frames,
# memdev guests polling (tests/guest/memdev.c), RUNS alternating runs of COUNT
# frames; the rate is the receiving guest's (its TSC cycles, the host's TSC
# rate from /proc/cpuinfo).  Through the switch the sender's pipe-tx thread
# moves its ring into the switch's pipe, the switch copies each frame into the
# receiver's pipe and its engine fills the receiving guest's ring: one more
# busy process and a copy per frame.  Prints the medians, the ratio and the
# cost per frame of the switch.  Under emulation (a KVM host) only the ratio
# compares.
# usage: switch-vm.sh MODVMM GUEST.elf modvmm-switch [COUNT [RUNS]]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") SWITCH=$(realpath "$3")
COUNT=${4:-2000000} RUNS=${5:-3}
need_kvm
export MODVMM_RUNDIR=$T/run MODVMM_SWITCH=$SWITCH
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
TSC_KHZ=$(awk -F: '/^cpu MHz/ { printf "%.0f", $2 * 1000; exit }' /proc/cpuinfo)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $COUNT frames per run, $RUNS runs, TSC $TSC_KHZ kHz"

# a long hold: an emulated guest's vCPU may sit out longer than the default 200 ms,
# and a frame dropped for a stalled port would fail the receiving guest's check
"$SWITCH" --stay --hold 5000 sw0 >"$T/sw.log" 2>&1 &
wait_for "$T/sw.log" "running"

# vm NAME PIPE CMDLINE [BACKEND-LINES]: a memdev VM in the background (pid in $pid).
vm() {
	pipe_vm_ini "$T/$1.ini" "$GUEST" "$3 timeout=60" "$2" ptnetmap-memdev "${4:-}"
	"$MODVMM" run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	pid=$!
}
# v2v TAG PIPE-RX PIPE-TX [BACKEND-LINES]: Mpps of one VM -> VM run
v2v() {
	vm "$1r" "$2" "mode=rx count=$COUNT" "${4:-}"
	local rpid=$pid cyc
	wait_for "$T/$1r.out" "memdev: rx ready"
	vm "$1t" "$3" "mode=tx count=$COUNT batch=256" "${4:-}"
	vm_ok "$1t" $pid
	vm_ok "$1r" $rpid
	cyc=$(sed -n 's/.*packets in \([0-9]*\) cycles.*/\1/p' "$T/$1r.out")
	mpps "$COUNT" "$cyc" "$TSC_KHZ"
}

pipe=() sw=()
for i in $(seq "$RUNS"); do
	pipe+=("$(v2v pipe$i p$i p$i)")
	sw+=("$(v2v sw$i rx$i tx$i "switch = sw0")")
done
for v in "${pipe[@]}" "${sw[@]}"; do [ -n "$v" ] || fail "a run failed (see above)"; done
pm=$(echo "${pipe[*]}" | median)
sm=$(echo "${sw[*]}" | median)
[ -z "${MODVMM_IN_KVMHOST:-}" ] || echo "(emulated: only the ratio compares)"
echo "VM -> pipe -> VM:   ${pipe[*]} Mpps, median $pm"
echo "VM -> switch -> VM: ${sw[*]} Mpps, median $sm"
echo "  ratio switch/pipe: $(ratio "$sm" "$pm"), switch cost per frame:" \
     "$(awk -v s="$sm" -v p="$pm" 'BEGIN { if (s > 0 && p > 0) printf "%.1f", 1000 / s - 1000 / p; else print "?" }') ns"
