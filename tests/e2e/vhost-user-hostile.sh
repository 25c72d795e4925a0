#!/bin/bash
# vhost-user protocol errors from the peer: a scripted back-end
# (vhost-user-peer.py) refuses SET_FEATURES at the guest's DRIVER_OK (a vCPU
# thread finds the error), sends a message nobody asked for, replies with a wrong
# payload size, names another request, drops the reply flag, refuses a request
# through REPLY_ACK and closes the socket in the middle of a reply, one
# connection each, and then keeps the connection open.  Every time modvmm logs
# the reason, takes the link down, closes the connection,
# stays up and reconnects; the last connection behaves, the guest sees the
# link come back (and configuration interrupts), watching until the test sends
# a byte to its serial port after the last reconnection, and modvmm exits normally.
# usage: vhost-user-hostile.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
PEER=$(dirname "$(realpath "$0")")/vhost-user-peer.py
need_kvm
[ -x "$PYTHON" ] || { echo "SKIP: $PYTHON is missing" >&2; exit 77; }
SOCK=$T/vu.sock
scenarios=(nack:SET_FEATURES unsolicited:SET_VRING_ENABLE badsize:GET_FEATURES badreq:GET_PROTOCOL_FEATURES
	badflags:GET_QUEUE_NUM nack:SET_MEM_TABLE cut:SET_VRING_ADDR good)
"$PYTHON" "$PEER" "$SOCK" "${scenarios[@]}" >"$T/peer.out" 2>&1 &
PEER_PID=$!
wait_for "$T/peer.out" "peer: listening" 10
# The guest watches the link until a byte arrives on its serial port, sent once
# the peer has run every scenario (between two scenarios the link is briefly up).
vnet_ini "$T/vm.ini" "$GUEST" "mode=link go_serial=1" "plugin = vhost-user
socket = $SOCK
reconnect_ms = 50" ""
sed -i 's/^input = none$/input = stdin/' "$T/vm.ini"
mkfifo "$T/in"
run_vnet "$T/vm.ini" <"$T/in" &
VM_PID=$!
exec 3>"$T/in"
# scenario 8 is served once scenario 7's connection is over; modvmm logs its
# second "reconnected" (the first is scenario 2's) when the good peer has it
wait_for "$T/peer.out" "peer: scenario 7 (cut:SET_VRING_ADDR) done" 60
n=$(timeout 30 grep -m2 -F -- "reconnected, state restored; link up" < <(exec tail -F -n +1 "$T/err" 2>/dev/null) | wc -l)
[ "$n" = 2 ] || fail "no second reconnection: $(cat "$T/err")"
echo g >&3
wait "$VM_PID" || fail "the VM failed: $(cat "$T/out" "$T/err")"
exec 3>&-
timeout 10 tail --pid="$PEER_PID" -f /dev/null || fail "the peer did not finish: $(cat "$T/peer.out")"
wait "$PEER_PID" || fail "the peer failed: $(cat "$T/peer.out")"
expect_in "$T/out" "ok: the link went down and came back"
cfg=$(sed -n 's/.*link: \([0-9]*\) configuration interrupts.*/\1/p' "$T/out")
# the first down may come before DRIVER_OK (no interrupt then); the return after it always interrupts
[ "${cfg:-0}" -ge 1 ] || fail "expected a configuration interrupt for the link coming back, got ${cfg:-none}"
expect_in "$T/err" "protocol error: unexpected message from the peer (request 4242, unknown request, 8 bytes); link down"
expect_in "$T/err" "protocol error: reply to GET_FEATURES has 4 payload bytes, expected 8; link down"
expect_in "$T/err" "protocol error: reply names request 16 (SET_PROTOCOL_FEATURES), expected GET_PROTOCOL_FEATURES; link down"
expect_in "$T/err" "protocol error: reply to GET_QUEUE_NUM has bad flags 0x1"
expect_in "$T/err" "protocol error: peer refused SET_MEM_TABLE (status 1); link down"
expect_in "$T/err" "protocol error: peer closed the socket in the middle of the reply to SET_VRING_ADDR (6 of 12 header bytes); link down"
expect_in "$T/err" "reconnected, state restored; link up"
expect_in "$T/err" "protocol error: peer refused SET_FEATURES (status 1); link down"
expect_in "$T/peer.out" "peer: scenario 8 (good) done"
echo "ok: seven protocol errors: each logged with its reason, link down, modvmm reconnected; the guest saw the link return"
