# Helpers for the vhost-user tests: DPDK's dpdk-testpmd as the vhost-user peer
# (sourced after lib.sh).  testpmd runs without hugepages, forwards in io mode
# with its one port looped onto itself (every frame goes back out of the port
# it came in on), prints line by line (stdbuf: its stdout is a file), and reads
# its stdin from a fifo: a newline makes it stop and print its forward
# statistics.  --disable-link-check: otherwise testpmd waits for the link (up
# to 9 s) before it starts forwarding.

need_testpmd() {
	command -v dpdk-testpmd >/dev/null || {
		echo "SKIP: dpdk-testpmd is missing (Debian package dpdk)" >&2
		exit 77
	}
	TP_PREFIX=modvmm-e2e-$$
	trap 'testpmd_kill; rm -rf "$T" "/var/run/dpdk/$TP_PREFIX"' EXIT
}

# The command line, also in configs/vhost-user-testpmd.ini.  VDEV_ARGS: the
# vhost PMD's arguments after iface=SOCK (e.g. ",client=1", ",queues=2"); the
# rest goes to testpmd (e.g. --rxq=2 --txq=2).
testpmd_cmd() {
	local sock=$1 vdev=$2
	shift 2
	TP_CMD=(stdbuf -oL dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix "$TP_PREFIX" -l 0-1
		--vdev "net_vhost0,iface=$sock$vdev" -- --port-topology=loop --forward-mode=io
		--total-num-mbufs 4096 --disable-link-check --auto-start "$@")
}

# testpmd_start NAME SOCK VDEV_ARGS [TESTPMD ARGS]: start it in the background,
# output in $T/NAME.out, and wait until it forwards (a server-mode vhost PMD,
# without client=1, then listens).
testpmd_start() {
	local name=$1 sock=$2 vdev=$3
	shift 3
	rm -f "$T/$name.in"
	mkfifo "$T/$name.in"
	exec {TP_FD}<>"$T/$name.in"
	testpmd_cmd "$sock" "$vdev" "$@"
	"${TP_CMD[@]}" <"$T/$name.in" >"$T/$name.out" 2>&1 &
	TP_PID=$!
	TP_NAME=$name
	wait_for "$T/$name.out" "Press enter to exit" 30
}

# testpmd_stop: newline on stdin, wait for it to exit; its port-0 counters go
# to TP_RX / TP_TX (packets received from / sent to the guest).
testpmd_stop() {
	echo >&"$TP_FD"
	timeout 30 tail --pid="$TP_PID" -f /dev/null || fail "testpmd did not exit"
	wait "$TP_PID" 2>/dev/null || true
	exec {TP_FD}>&-
	TP_PID=
	local f="$T/$TP_NAME.out"
	grep -q "Forward statistics for port 0" "$f" || fail "no statistics from testpmd: $(tail -20 "$f")"
	TP_RX=$(sed -n '/Forward statistics for port 0/,/----------$/s/.*RX-packets: *\([0-9]*\).*/\1/p' "$f" | head -1)
	TP_TX=$(sed -n '/Forward statistics for port 0/,/----------$/s/.*TX-packets: *\([0-9]*\).*/\1/p' "$f" | head -1)
	TP_TXDROP=$(sed -n '/Forward statistics for port 0/,/----------$/s/.*TX-dropped: *\([0-9]*\).*/\1/p' "$f" | head -1)
}

# testpmd_kill: SIGKILL, as a crash would (no statistics, the socket file stays).
testpmd_kill() {
	[ -n "${TP_PID:-}" ] || return 0
	kill -9 "$TP_PID" 2>/dev/null
	wait "$TP_PID" 2>/dev/null
	exec {TP_FD}>&-
	TP_PID=
}
