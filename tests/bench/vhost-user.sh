#!/bin/bash
# vhost-user packet rates at 64 B: the vnet-bench guest transmits to (or
# receives from) DPDK's testpmd through vhost-user, beside the same guest on
# the in-process `sink` backend in the same run:
#   guest TX -> testpmd rxonly        beside  guest TX -> sink (drops)
#   guest RX <- testpmd txonly        beside  guest RX <- sink's generator
# and how much CPU time modvmm's own threads (all but the vCPU thread) spent
# while the guest's data path ran: ~0 with vhost-user, where testpmd does the
# work (target: ~0), versus the sink's queue worker.  CPU times come from
# /proc/PID/task/*/stat (utime + stime, 10 ms ticks), sampled when the guest
# prints "phase: data path starts" and when it prints its result (it then
# holds for 500 ms before exiting).
# The vCPU runs on CPU 0; testpmd's forwarding lcore and the sink's queue
# worker on CPU 1.  Figures are medians of $REPS alternating runs of $MS ms.
# usage: vhost-user.sh MODVMM vnet-bench.elf [REPS [MS]]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
. "$(dirname "$0")/../e2e/vnet-lib.sh"
. "$(dirname "$0")/../e2e/testpmd-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
REPS=${3:-3} MS=${4:-2000}
need_kvm
need_testpmd
SOCK=$T/vu.sock
TICK=$(getconf CLK_TCK)


# cpu_ticks PID: "OTHER VCPU": utime + stime ticks of the non-vCPU threads and of the vCPU threads
cpu_ticks() {
	local t o=0 v=0 n
	for t in /proc/"$1"/task/*; do
		n=$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
		[ -n "$n" ] || continue
		case "$(cat "$t/comm" 2>/dev/null)" in vcpu*) v=$((v + n)) ;; *) o=$((o + n)) ;; esac
	done
	echo "$o $v"
}

# vm_run NAME CMDLINE BACKEND-LINES: sets mpps, vmm_s (CPU seconds of modvmm's
# own threads in the data-path phase), packets
vm_run() {
	vnet_bench_ini "$T/$1.ini" "vu-bench-$$" "$GUEST" "$2 hold_ms=500" 0 1 "$3"
	local tpid pid st=0 a b
	timeout 120 "$MODVMM" -v run "$T/$1.ini" >"$T/out" 2>"$T/err" &
	tpid=$!
	wait_for "$T/out" "phase: data path starts" 30
	pid=$(ps -o pid= --ppid $tpid | tr -d ' ')   # modvmm, the child of timeout
	[ -n "$pid" ] || fail "modvmm $1: no process"
	a=$(cpu_ticks $pid)
	wait_for "$T/out" "bench: " $((MS / 1000 + 30))
	b=$(cpu_ticks $pid)
	wait $tpid || st=$?
	[ "$st" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "modvmm $1: exit status $st"; }
	packets=$(field packets "$T/out")
	mpps=$(mpps "$packets" "$(field cycles "$T/out")" "$(field tsc_khz "$T/out")")
	vmm_s=$(awk -v a="${a% *}" -v b="${b% *}" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
}

secs=$(awk -v ms="$MS" 'BEGIN { printf "%.1f", ms / 1000 }')
echo "vhost-user benchmark: 64-byte frames, guest loops at CPL3 on CPU 0; testpmd forwarding lcore / sink worker on CPU 1;"
echo "medians of $REPS alternating runs of $MS ms; 'modvmm CPU' = CPU seconds of modvmm's threads other than the vCPU during the ${secs} s data path"
echo
for dir in tx rx; do
	m= s= mc= sc= tpc=
	if [ "$dir" = tx ]; then fwd=rxonly sink="plugin = sink"; else fwd=txonly sink="plugin = sink
rx_rate = 1000000000
rx_size = 64"; fi
	for rep in $(seq "$REPS"); do
		rm -f "$SOCK"
		testpmd_start tp "$SOCK" "" --forward-mode=$fwd --txpkts=64
		vm_run vu "mode=$dir size=64 ms=$MS batch=32" "plugin = vhost-user
socket = $SOCK"
		testpmd_stop
		m="$m $mpps" mc="$mc $vmm_s"
		if [ "$dir" = tx ]; then tpc="$tpc $(ratio "$TP_RX" "$packets")"; else tpc="$tpc $(ratio "$packets" "$TP_TX")"; fi
		vm_run sink "mode=$dir size=64 ms=$MS batch=32" "$sink"
		s="$s $mpps" sc="$sc $vmm_s"
	done
	m=$(echo $m | median) s=$(echo $s | median)
	if [ "$dir" = tx ]; then
		what="guest TX -> testpmd rxonly" other="guest TX -> sink" check="testpmd RX / guest TX"
	else
		what="guest RX <- testpmd txonly" other="guest RX <- sink generator" check="guest RX / testpmd TX"
	fi
	printf "%s %7.3f Mpps, modvmm CPU %s s | %s %7.3f Mpps, modvmm CPU %s s | ratio %sx | %s %s (1.00: every frame counted by both)\n" \
		"$what" "$m" "$(echo $mc | median)" "$other" "$s" "$(echo $sc | median)" "$(ratio "$m" "$s")" \
		"$check" "$(echo $tpc | median)"
done
