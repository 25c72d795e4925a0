#!/bin/bash
# virtio-net packet rates: the vnet-bench guest transmits (or receives) frames at
# CPL3, each figure beside a peer measured in the same run:
#   guest -> sink        beside QEMU's virtio-net-pci on a hubport whose hub has
#                        a second port without peer (drops every frame);
#   guest <- sink's generator (no QEMU peer: a hubport delivers nothing);
#   guest -> tap         beside tap-writer, a host program making the same
#                        writev() per frame into a tap (the kernel's limit).
# modvmm's vCPU and QEMU's vCPU thread run on CPU $VCPU_CPU; modvmm's queue
# worker and QEMU's main loop (where its virtio-net TX runs) on CPU $IO_CPU.
# Runs alternate and each figure is the median of $REPS runs of $MS ms.  Also
# printed: guest notifications (kicks) and device interrupts per 1000 packets.
# Targets: guest -> sink >= 2x QEMU; guest -> tap >= 0.8x tap-writer.
# Environment: VNET_BENCH_VCPU, VNET_BENCH_IO (CPUs), VNET_BENCH_BATCH,
# VNET_BENCH_PARTS ("sink rx tap"), QEMU (binary).
# usage: vnet.sh MODVMM vnet-bench.elf tap-writer [REPS [MS]]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
. "$(dirname "$0")/../e2e/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") WRITER=$(realpath "$3")
REPS=${4:-3} MS=${5:-2000}
VCPU_CPU=${VNET_BENCH_VCPU:-0} IO_CPU=${VNET_BENCH_IO:-1} BATCH=${VNET_BENCH_BATCH:-32}
QEMU=${QEMU:-qemu-system-x86_64}
PARTS=${VNET_BENCH_PARTS:-sink rx tap}   # which comparisons to run
need_kvm
part() { case " $PARTS " in *" $1 "*) return 0;; esac; return 1; }

# mpps PACKETS CYCLES TSC_KHZ
per1000() { awk -v n="$1" -v p="$2" 'BEGIN { printf "%.2f", (p > 0 ? n * 1000.0 / p : 0) }'; }

# modvmm_run NAME CMDLINE BACKEND-LINES [NETNS]: sets mpps, kicks1k, irqs1k, tsc
modvmm_run() {
	vnet_bench_ini "$T/$1.ini" "vnet-bench-$$" "$GUEST" "$2" "$VCPU_CPU" "$IO_CPU" "$3"
	local st=0
	${4:+ip netns exec $4} timeout 120 "$MODVMM" -v run "$T/$1.ini" >"$T/out" 2>"$T/err" || st=$?
	grep -q '^bench:' "$T/out" || { cat "$T/out" "$T/err" >&2; fail "modvmm $1: no result (status $st)"; }
	local p c
	p=$(field packets "$T/out") c=$(field cycles "$T/out") tsc=$(field tsc_khz "$T/out")
	mpps=$(mpps "$p" "$c" "$tsc")
	kicks1k=$(per1000 "$(field kicks "$T/out")" "$p")
	local ti ri
	ti=$(sed -n 's/.*queue pair 0: tx [0-9]* packets ([0-9]* dropped), [0-9]* kicks, \([0-9]*\) irqs;.*/\1/p' "$T/err")
	ri=$(sed -n 's/.*; rx [0-9]* packets ([0-9]* dropped, [0-9]* filtered), [0-9]* kicks, \([0-9]*\) irqs;.*/\1/p' "$T/err")
	irqs1k=$(per1000 $((${ti:-0} + ${ri:-0})) "$p")
}

# qemu_run CMDLINE: QEMU with the same guest, threads pinned like modvmm's; sets mpps, kicks1k
qemu_run() {
	local port=$((20000 + RANDOM % 20000)) qp t st=0 fd
	: >"$T/qout"
	"$QEMU" -accel kvm -cpu host -m 64 -nodefaults -display none -no-reboot \
		-serial "file:$T/qout" -device isa-debug-exit,iobase=0x501,iosize=1 \
		-device virtio-net-pci,disable-legacy=on,netdev=n0 \
		-netdev hubport,id=n0,hubid=0 -netdev hubport,id=n1,hubid=0 \
		-name vnet-bench,debug-threads=on -monitor "tcp:127.0.0.1:$port,server,nowait" -S \
		-kernel "$GUEST" -append "$1" 2>"$T/qerr" &
	qp=$!
	# paused (-S): pin every thread to IO_CPU, then the vCPU thread to VCPU_CPU
	for _ in $(seq 200); do
		grep -qs "CPU 0/KVM" /proc/$qp/task/*/comm && { exec {fd}<>/dev/tcp/127.0.0.1/$port; } 2>/dev/null && break
		kill -0 $qp 2>/dev/null || break
		sleep 0.05  # polling QEMU's start-up, not synchronising the measurement
	done
	[ -n "${fd:-}" ] || { cat "$T/qerr" >&2; fail "QEMU did not start"; }
	taskset -a -p -c "$IO_CPU" $qp >/dev/null
	for t in /proc/$qp/task/*; do
		grep -q "CPU 0/KVM" "$t/comm" && taskset -p -c "$VCPU_CPU" "${t##*/}" >/dev/null
	done
	echo cont >&$fd
	wait $qp || st=$?
	exec {fd}>&-
	grep -q '^bench:' "$T/qout" || { cat "$T/qout" "$T/qerr" >&2; fail "QEMU: no result (status $st)"; }
	local p
	p=$(field packets "$T/qout")
	mpps=$(mpps "$p" "$(field cycles "$T/qout")" "$(field tsc_khz "$T/qout")")
	kicks1k=$(per1000 "$(field kicks "$T/qout")" "$p")
}

echo "virtio-net benchmark: guest loops at CPL3; vCPU on CPU $VCPU_CPU, device thread on CPU $IO_CPU;"
echo "medians of $REPS alternating runs of $MS ms; TX publishes in batches of $BATCH frames"
echo

# --- guest -> sink beside QEMU hubport -------------------------------------------
part sink && for size in 64 1500; do
	m= q= mk= mi= qk= qb=
	for rep in $(seq "$REPS"); do
		modvmm_run sink "mode=tx size=$size ms=$MS batch=$BATCH" "plugin = sink"
		m="$m $mpps" mk="$mk $kicks1k" mi="$mi $irqs1k"
		qemu_run "mode=tx size=$size ms=$MS batch=$BATCH tsc_khz=$tsc"
		q="$q $mpps" qk="$qk $kicks1k"
		qemu_run "mode=tx size=$size ms=$MS batch=256 tsc_khz=$tsc"
		qb="$qb $mpps"
	done
	m=$(echo $m | median) q=$(echo $q | median) qb=$(echo $qb | median)
	best=$(awk -v a="$q" -v b="$qb" 'BEGIN { print ((a > b) ? a : b) }')
	printf "guest TX %4s B: modvmm -> sink %7.3f Mpps (%s kicks, %s irqs /1000 pkts) | QEMU -> hubport %7.3f Mpps (%s kicks /1000), %.3f with batch 256 | ratio %sx vs QEMU's better (target >= 2x)\n" \
		"$size" "$m" "$(echo $mk | median)" "$(echo $mi | median)" "$q" "$(echo $qk | median)" "$qb" "$(ratio "$m" "$best")"
done

# --- guest <- sink's generator ---------------------------------------------------------
part rx && for size in 64 1500; do
	m= mk= mi=
	for rep in $(seq "$REPS"); do
		modvmm_run rx "mode=rx size=$size ms=$MS batch=$BATCH" "plugin = sink
rx_rate = 1000000000
rx_size = $size"
		m="$m $mpps" mk="$mk $kicks1k" mi="$mi $irqs1k"
	done
	printf "guest RX %4s B: sink's generator -> guest %7.3f Mpps (%s kicks, %s irqs /1000 pkts) | no QEMU peer (a hubport delivers nothing)\n" \
		"$size" "$(echo $m | median)" "$(echo $mk | median)" "$(echo $mi | median)"
done

# --- guest -> tap beside the host writer ----------------------------------------------
part tap || exit 0
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
	echo "guest TX -> tap: skipped (needs root, iproute2 and /dev/net/tun)"
	exit 0
fi
NS=vnbench$$ TAP=vbtap$$
ip netns add $NS || fail "ip netns add"
trap 'ip netns del $NS 2>/dev/null; rm -rf "$T"' EXIT
ip netns exec $NS ip tuntap add dev $TAP mode tap || fail "ip tuntap add"
ip netns exec $NS ip link set $TAP up
secs=$(awk -v ms="$MS" 'BEGIN { printf "%.3f", ms / 1000 }')
for size in 64 1500; do
	m= h= mk=
	for rep in $(seq "$REPS"); do
		modvmm_run tap "mode=tx size=$size ms=$MS batch=$BATCH" "plugin = tap
ifname = $TAP" $NS
		m="$m $mpps" mk="$mk $kicks1k"
		ip netns exec $NS "$WRITER" $TAP "$size" "$secs" "$IO_CPU" >"$T/w" || fail "tap-writer: $(cat "$T/w")"
		h="$h $(sed -n 's/.* mpps \([0-9.]*\).*/\1/p' "$T/w")"
	done
	m=$(echo $m | median) h=$(echo $h | median)
	printf "guest TX %4s B: modvmm -> tap %7.3f Mpps (%s kicks /1000 pkts) | host writev() into the tap %7.3f Mpps | ratio %s (target >= 0.8)\n" \
		"$size" "$m" "$(echo $mk | median)" "$h" "$(ratio "$m" "$h")"
done
