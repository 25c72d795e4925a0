# Helpers for the virtio-net e2e tests (sourced after lib.sh).

# vnet_ini FILE GUEST CMDLINE BACKEND-LINES DEVICE-LINES: a VM with serial,
# debug-exit, one [backend net0] and one virtio-net [device nic0] using it.
# The guest's own waits scale by the time factor (time_factor= on CMDLINE).
vnet_ini() {
	basic_ini "$1" "$2" "cmdline = $3 time_factor=$TIME_FACTOR"
	cat >>"$1" <<INI

[backend net0]
$4

[device nic0]
plugin = virtio-net
backend = net0
$5
INI
}

# vnet_bench_ini FILE NAME GUEST CMDLINE VCPU-CPU WORKER-CPU BACKEND-LINES: the
# benchmarks' VM (64M, pinned vCPU and queue worker, one virtio-net on net0).
vnet_bench_ini() {
	cat >"$1" <<INI
[vm]
name = $2
memory = 64M
kernel = $3
cmdline = $4
vcpu_affinity = $5
[device com1]
plugin = serial
input = none
[device exit]
plugin = debug-exit
[backend net0]
$7
[device nic0]
plugin = virtio-net
backend = net0
worker_cpus = $6
INI
}

# run_vnet INI: run_vm with -v (the device's per-queue statistics go to stderr)
# and require the guest's own verdict: exit status 0 and no FAIL line.
run_vnet() {
	status=0
	timeout 120 "$MODVMM" -v run "$1" >"$T/out" 2>"$T/err" || status=$?
	[ "$status" != 124 ] || fail "modvmm run $1 timed out; stderr: $(cat "$T/err")"
	if [ "$status" != 0 ] || grep -q "^FAIL" "$T/out"; then
		cat "$T/out" "$T/err" >&2
		fail "guest reported failure (exit status $status)"
	fi
}

# flap_verdict STATUS FRAMES WHAT: the guest of a mode=flap run (output in
# $T/out and $T/err) exited with STATUS 0 and no FAIL line, saw the link go down
# and come back with at least two configuration interrupts (counted in $cfg),
# and got FRAMES new frames back intact afterwards.  WHAT leads the failures.
flap_verdict() {
	if [ "$1" != 0 ] || grep -q "^FAIL" "$T/out"; then
		cat "$T/out" "$T/err" >&2
		fail "$3: guest failed (exit status $1)"
	fi
	expect_in "$T/out" "ok: the link went down and came back"
	expect_in "$T/out" "flap: phase 3 sent $2 received $2 intact $2"
	cfg=$(sed -n 's/.*link: \([0-9]*\) configuration interrupts.*/\1/p' "$T/out")
	[ "${cfg:-0}" -ge 2 ] || fail "$3: expected configuration interrupts for link down and up, got ${cfg:-none}"
}

# udp_receiver: inside the caller's namespace (its nsx), receive one datagram on
# $HOST_IP:$PORT and say in $T/udp whether its $UDPLEN bytes are intact (byte i
# of the guest's payload is (i * 13 + 5) & 0xff, tests/guest/vnet-test.c).
udp_receiver() {
	nsx timeout "$(scaled 90)" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
data, peer = s.recvfrom(65536)
want = bytes((i * 13 + 5) & 0xff for i in range(int(sys.argv[3])))
print("udp", len(data), "bytes from", peer[0], "intact" if data == want else "CORRUPT", flush=True)
' $HOST_IP $PORT $UDPLEN >"$T/udp" 2>&1
}
