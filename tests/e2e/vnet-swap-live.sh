#!/bin/bash
# A running NIC moves to another backend under traffic, through the control
# socket: the test guest streams sequence-numbered frames on loopback (they
# come back), `modvmm swap` moves nic0 to sink (frames go on, none come back),
# four refused swaps leave sink in place, a swap back to loopback, and new
# frames come back intact.  The guest sees the link go down and up; the
# counters show frames on each backend.
# usage: vnet-swap-live.sh MODVMM vnet-test.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
export MODVMM_RUNDIR=$T/run
VM=swaptest

vnet_ini "$T/vm.ini" "$GUEST" "mode=flap go_serial=1 frames=300" "plugin = loopback" ""
sed -i "s/^input = none$/input = stdin/; s/^\[vm\]$/[vm]\nname = $VM/" "$T/vm.ini"
mkfifo "$T/in"
FAIL_LOGS="$T/err $T/out"
"$MODVMM" -v run "$T/vm.ini" <"$T/in" >"$T/out" 2>"$T/err" &
vm=$!
exec 3>"$T/in"
trap 'kill -9 $vm 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT

# counter NAME: nic0's counter NAME now
counter() {
	"$MODVMM" stats --json $VM nic0 | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}
# until_counter NAME MIN: wait (bounded) until nic0's counter NAME reaches MIN
until_counter() {
	local i v
	for ((i = 0; i < $(scaled 300); i++)); do
		v=$(counter "$1")
		[ "${v:-0}" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "nic0's $1 stayed at ${v:-?} (wanted $2)"
}

wait_for "$T/out" "flap: phase 1 done" 60
"$MODVMM" events $VM >"$T/events" &
ev=$!
wait_for "$T/events" "events of $VM" 30
lb=$(counter backend.tx_packets)
[ "${lb:-0}" -ge 6 ] || fail "loopback carried ${lb:-no} frames in phase 1"

"$MODVMM" swap $VM nic0 --backend sink >"$T/swap1" 2>&1 || fail "swap to sink: $(cat "$T/swap1")"
expect_in "$T/swap1" "nic0: backend sink replaced loopback; the driver saw the link go down"
"$MODVMM" status $VM >"$T/status"
grep -Eq "backend +nic0.1 +sink" "$T/status" || fail "status after the swap: $(cat "$T/status")"
grep -q " net0 " "$T/status" && fail "the old backend is still listed: $(cat "$T/status")"
until_counter backend.tx_packets 100      # sink's own counter: frames flow on sink
rx=$(counter pair0.rx_packets)

# refused swaps leave sink in place, say why, and the frames flow on
"$MODVMM" swap $VM nic0 --backend sink rx_rate=fast >"$T/bad1" 2>&1 && fail "a bad value was taken"
expect_in "$T/bad1" "rx_rate"
"$MODVMM" swap $VM nic0 --backend nosuch >"$T/bad2" 2>&1 && fail "a missing plugin was taken"
expect_in "$T/bad2" "plugin 'nosuch'"
"$MODVMM" swap $VM nic0 --backend serial >"$T/bad3" 2>&1 && fail "a device plugin was taken as a backend"
expect_in "$T/bad3" "not a backend"
"$MODVMM" swap $VM nic0 --backend sink rx_backlog=0 >"$T/bad4" 2>&1 && fail "a value the plugin's own rules refuse was taken"
expect_in "$T/bad4" "rx_backlog = 0: must be at least 1"
[ "$(counter swap_failures)" = 4 ] || fail "swap_failures $(counter swap_failures), expected 4"
"$MODVMM" status $VM | grep -Eq "backend +nic0.1 +sink" || fail "a refused swap moved the NIC"
until_counter backend.tx_packets $(($(counter backend.tx_packets) + 50))
[ "$(counter pair0.rx_packets)" = "$rx" ] || fail "frames came back from sink"

"$MODVMM" swap $VM nic0 --backend loopback >"$T/swap2" 2>&1 || fail "swap back: $(cat "$T/swap2")"
expect_in "$T/swap2" "nic0: backend loopback replaced sink; the driver saw the link go down"
until_counter pair0.rx_packets $((rx + 20))   # loopback echoes again
echo g >&3
exits_within $vm 120 || fail "the guest did not finish: $(tail -5 "$T/out")"
st=0
wait $vm || st=$?
exec 3>&-
flap_verdict "$st" 300 "swap"
exits_within $ev 30 || fail "the events client still runs"
for e in "link device=nic0 detail=down" "link device=nic0 detail=up" "command device=nic0 name=swap ok=true" \
	"command device=nic0 name=swap ok=false"; do
	grep -qF "$e" "$T/events" || fail "no event '$e': $(cat "$T/events")"
done
expect_in "$T/err" "created backend 'nic0.1' (plugin sink) at run time"
expect_in "$T/err" "removing backend 'net0' (plugin loopback) at run time"
echo "ok: loopback ($lb frames) -> sink -> loopback under traffic; 4 refused swaps kept sink; $cfg configuration interrupts; phase 3 intact"
