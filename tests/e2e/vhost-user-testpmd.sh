#!/bin/bash
# vhost-user against DPDK's dpdk-testpmd (a peer nobody here wrote): the
# guest's frames go to testpmd, which sends them back (io forwarding, port
# looped onto itself), and the guest checks every one.  testpmd's own port
# counters must match.  modvmm as client and as server, one and two queue
# pairs, an MSI-X interrupt raised by testpmd through the call fd (irqfd), and
# testpmd killed mid-run and restarted: the link goes down, modvmm keeps
# running, reconnects, restores the rings and traffic resumes.  The example
# configs/vhost-user-testpmd.ini runs against the testpmd command in its comment.
# testpmd drops a frame when the guest's RX ring is full (io forwarding has no
# retry), so the guest keeps at most `window` frames in flight.
# usage: vhost-user-testpmd.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
. "$(dirname "$0")/testpmd-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
need_testpmd
SOCK=$T/vu.sock

# check_counts N: testpmd received and sent back exactly N frames
check_counts() {
	[ "$TP_RX" = "$1" ] && [ "$TP_TX" = "$1" ] ||
		fail "testpmd counted RX $TP_RX TX $TP_TX (TX-dropped $TP_TXDROP), expected $1 each"
}

# run_vm_tp INI: run_vnet, and on a guest failure show testpmd's counters too
run_vm_tp() {
	( run_vnet "$1" ) || { testpmd_stop; fail "testpmd counted RX $TP_RX TX $TP_TX TX-dropped $TP_TXDROP"; }
}

# 1. modvmm client, testpmd server; 1000 frames in 512-byte mergeable RX
#    buffers (testpmd merges them), one RX interrupt through MSI-X first
testpmd_start tp1 "$SOCK" ""
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=1000 mrg=1 rxbuf=512 window=32 msix=1" \
	"plugin = vhost-user
socket = $SOCK" ""
run_vm_tp "$T/vm.ini"
testpmd_stop
expect_in "$T/out" "ok: MSI-X interrupt for receiveq1 (vector 1)"
expect_in "$T/out" "echo: sent 1000 received 1000 intact 1000"
expect_in "$T/out" "frames spanned several mergeable buffers"
expect_in "$T/err" "$SOCK: connected"
check_counts 1001
echo "ok: client mode: 1000 frames echoed by testpmd, which counted 1001 each way (with the MSI-X probe)"

# 1b. configs/vhost-user-testpmd.ini as shipped: `modvmm check` accepts it, and
#     the testpmd command line in its comment, run as written (socket path and
#     file prefix swapped for this test's), serves it
CONF=$(dirname "$(realpath "$0")")/../../configs/vhost-user-testpmd.ini
sed -e "s|^kernel = .*|kernel = $GUEST|" -e "s|^socket = .*|socket = $SOCK|" "$CONF" >"$T/conf.ini"
"$MODVMM" check "$T/conf.ini" >"$T/check.out" 2>&1 || fail "modvmm check refused the example: $(cat "$T/check.out")"
cmd=$(sed -n '/^#   dpdk-testpmd/,/^#.*[^\\]$/p' "$CONF" | sed -e 's/^#  *//' -e 's/\\$//' | tr '\n' ' ')
cmd=${cmd//\/tmp\/vhost-user.sock/$SOCK}
cmd=${cmd//--file-prefix vu/--file-prefix $TP_PREFIX}
case "$cmd" in dpdk-testpmd*--auto-start*) ;; *) fail "no testpmd command line in $CONF: $cmd" ;; esac
rm -f "$T/tp0.in"
mkfifo "$T/tp0.in"
exec {TP_FD}<>"$T/tp0.in"
# shellcheck disable=SC2086
stdbuf -oL $cmd <"$T/tp0.in" >"$T/tp0.out" 2>&1 &
TP_PID=$! TP_NAME=tp0
wait_for "$T/tp0.out" "Press enter to exit" 30
run_vm_tp "$T/conf.ini"
testpmd_stop
expect_in "$T/out" "echo: sent 1000 received 1000 intact 1000"
check_counts 1000
echo "ok: configs/vhost-user-testpmd.ini passes modvmm check and runs against the testpmd command in its comment"

# 2. modvmm server, testpmd client (it retries until modvmm listens; modvmm
# waits for it 10 s, scaled: testpmd's start takes longer under emulation)
rm -f "$SOCK"
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=1000 window=64" "plugin = vhost-user
socket = $SOCK
mode = server
connect_timeout_ms = $(($(scaled 10) * 1000))" ""
timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" &
VM=$!
wait_for "$T/err" "waiting for a vhost-user peer on $SOCK"
testpmd_start tp2 "$SOCK" ",client=1"
status=0
wait "$VM" || status=$?
testpmd_stop
[ "$status" = 0 ] && ! grep -q "^FAIL" "$T/out" || {
	cat "$T/out" "$T/err" >&2
	fail "server mode: guest failed; testpmd counted RX $TP_RX TX $TP_TX TX-dropped $TP_TXDROP"
}
expect_in "$T/out" "echo: sent 1000 received 1000 intact 1000"
check_counts 1000
echo "ok: server mode: testpmd connected to modvmm, 1000 frames echoed"

# 3. two queue pairs: testpmd forwards queue k back to queue k
testpmd_start tp3 "$SOCK" ",queues=2" --rxq=2 --txq=2
vnet_ini "$T/vm.ini" "$GUEST" "mode=mq pairs=2 frames=500 window=64" "plugin = vhost-user
socket = $SOCK" "queues = 2"
run_vm_tp "$T/vm.ini"
testpmd_stop
expect_in "$T/out" "ok: pair 0: 500 frames out, 500 back intact"
expect_in "$T/out" "ok: pair 1: 500 frames out, 500 back intact"
check_counts 1000
echo "ok: two queue pairs through testpmd"

# 4. testpmd killed mid-run and restarted, modvmm as client then as server
for mode in client server; do
	rm -f "$SOCK"
	vdev=""
	[ "$mode" = server ] && vdev=",client=1"
	vnet_ini "$T/vm.ini" "$GUEST" "mode=flap frames=500 window=32" "plugin = vhost-user
socket = $SOCK
mode = $mode
connect_timeout_ms = $(($(scaled 10) * 1000))
reconnect_ms = 50" ""
	if [ "$mode" = client ]; then
		testpmd_start tp4a "$SOCK" "$vdev"
		timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" &
		VM=$!
	else
		timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" &
		VM=$!
		wait_for "$T/err" "waiting for a vhost-user peer"
		testpmd_start tp4a "$SOCK" "$vdev"
	fi
	wait_for "$T/out" "flap: phase 1 done" 60
	testpmd_kill
	wait_for "$T/err" "link down" 30
	kill -0 "$VM" || fail "$mode mode: modvmm exited when testpmd died"
	[ "$mode" = client ] && rm -f "$SOCK"   # testpmd's socket file outlives a SIGKILL
	testpmd_start tp4b "$SOCK" "$vdev"
	wait_for "$T/err" "reconnected, state restored; link up" 30
	status=0
	wait "$VM" || status=$?
	testpmd_stop
	flap_verdict "$status" 500 "$mode mode, after the reconnect"
	[ "$TP_RX" -ge 500 ] && [ "$TP_TX" -ge 500 ] ||
		fail "$mode mode: the restarted testpmd counted RX $TP_RX TX $TP_TX, expected at least 500"
	echo "ok: $mode mode: testpmd killed and restarted; the new one forwarded $TP_TX frames, the last 500 all back; $cfg configuration interrupts"
done
