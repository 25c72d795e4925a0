# Host side of the Linux-guest tests (sourced after tests/e2e/lib.sh and
# initramfs.sh).  Every test boots the same kernel and initramfs under modvmm
# and under QEMU -enable-kvm (the reference) and asserts that both pass; a
# failure names the VMM and shows the guest's console.
#
# lt_setup [TOOL...]: fetch or build the inputs; $T/initrd carries the guest
# scripts and the TOOLs (static binaries of this build).
# lt_init MODVMM TCPX: the usual start of a test with tcpx: sets $MODVMM and
# $TCPX, skips without KVM, lt_setup with tcpx.
# lt_start VMM NAME VCPUS CMDLINE [EXTRA]: boot in the background, the
# console in $T/NAME.VMM.log, modvmm's stderr in $T/NAME.VMM.err; VMM is
# modvmm (EXTRA: INI sections) or qemu (EXTRA: QEMU arguments); $LT_PREFIX
# goes before the command.
# lt_wait_for VMM NAME STRING: wait for a line of the running guest
# (lt_wait_line: or fail).
# lt_finish VMM NAME: the VMM exits 0 (the guest powered off) and the guest
# printed "LINUXTEST: PASS" and no "LINUXTEST: FAIL".  While it waits, another
# guest's VMM that exits without that (a peer that failed, or was stopped by
# kvmhost's watcher: VMMs exit 0 on SIGTERM) fails the test at once, instead of
# this guest waiting for its peer until the time limit.
# Several guests may run at once: each is known by VMM and NAME.
# lt_vmm_pid VMM NAME: the pid of the running VMM itself (not of timeout).
# lt_kill VMM NAME: SIGKILL that VMM and reap it.
# lt_host_listen VMM, lt_host_traffic VMM NAME: the host half of the guest's
# host_traffic (guest/net-lib.sh), in namespace $NS (nsx), $GUEST, $BYTES.

LT_MEMORY=512
LT_CMDLINE="console=ttyS0 panic=-1 loglevel=4"
LT_SECS=${LT_SECS:-90}    # per boot, scaled by MODVMM_TIME_FACTOR
LT_PREFIX=                # runs the VMM, e.g. "ip netns exec NS"
LT_KERNEL=                # another kernel than the bzImage (LG_VMLINUX: PVH)
LT_INPUT=                 # a fifo the serial console reads (default none)
LT_VM_LINES=              # more lines of modvmm's [vm] section, e.g. "hugepages = true"
declare -A LT_PIDS LT_T0S LT_ST # per "NAME.VMM": the pid of timeout running the VMM, its start, its exit status once reaped

lt_setup() {
	linux_guest_inputs || fail "the guest kernel or initramfs is missing (tests/fetch.sh fetches them)"
	lg_initrd "$T/initrd" "$@" || fail "cannot build $T/initrd"
}

lt_init() {
	MODVMM=$(realpath "$1") TCPX=$(realpath "$2")
	need_kvm
	lt_setup "$TCPX"
}

# lt_ini FILE NAME VCPUS CMDLINE [EXTRA]
lt_ini() {
	cat >"$1" <<INI
[vm]
name = lt-$2
memory = ${LT_MEMORY}M
vcpus = $3
${LT_VM_LINES:-}
kernel = ${LT_KERNEL:-$LG_KERNEL}
initrd = $T/initrd
cmdline = $LT_CMDLINE $4
[device com1]
plugin = serial
input = $([ -n "$LT_INPUT" ] && echo stdin || echo none)
${5:-}
INI
}

lt_start() {
	local vmm=$1 name=$2 log=$T/$2.$1.log
	: >"$log"
	local in=${LT_INPUT:-/dev/null} serial="file:$log" out=$T/$2.qemu.err
	[ -n "$LT_INPUT" ] && serial=stdio out=$log
	case $vmm in
	modvmm)
		lt_ini "$T/$name.ini" "$name" "$3" "$4" "${5:-}"
		$LT_PREFIX env timeout -k 20 "$(scaled "$LT_SECS")" "$MODVMM" -v run "$T/$name.ini" >"$log" 2>"$T/$name.modvmm.err" <"$in" & ;;
	qemu)
		# shellcheck disable=SC2086
		$LT_PREFIX env timeout -k 20 "$(scaled "$LT_SECS")" qemu-system-x86_64 -M q35 -enable-kvm -cpu host -smp "$3" -m "$LT_MEMORY" \
			-nodefaults -no-user-config -display none -no-reboot -serial "$serial" \
			-kernel "${LT_KERNEL:-$LG_KERNEL}" -initrd "$T/initrd" -append "$LT_CMDLINE $4" ${5:-} \
			<"$in" >"$out" 2>>"$T/$name.qemu.err" & ;;
	*) fail "lt_start: unknown VMM $vmm" ;;
	esac
	LT_PIDS[$2.$1]=$!
	LT_T0S[$2.$1]=$SECONDS
	unset "LT_ST[$2.$1]"
}

# lt_reap VMM NAME: wait until that VMM exits, its status in LT_ST[NAME.VMM];
# the other guests' VMMs that exit meanwhile are reaped too, and one that
# did not pass (lt_passed) fails the test, its console shown.
lt_reap() {
	local key=$2.$1 k who st pids
	while [ -z "${LT_ST[$key]+set}" ]; do
		pids=()
		for k in "${!LT_PIDS[@]}"; do
			[ -n "${LT_ST[$k]+set}" ] || pids+=("${LT_PIDS[$k]}")
		done
		who= st=0
		# a pid a plain `wait` reaped already is skipped ("no such job")
		wait -n -p who "${pids[@]}" 2>/dev/null || st=$?
		# 127 and no pid: this one was reaped by a plain `wait`
		[ -n "$who" ] || { LT_ST[$key]=$st; break; }
		for k in "${!LT_PIDS[@]}"; do
			[ "${LT_PIDS[$k]}" = "$who" ] && [ -z "${LT_ST[$k]+set}" ] && LT_ST[$k]=$st && break
		done
		if [ "$k" != "$key" ] && ! lt_passed "${k##*.}" "${k%.*}" "$st"; then
			lt_show "${k##*.}" "${k%.*}"
			fail "${k%.*} under ${k##*.} exited (status $st) without passing while $2 under $1 was still running"
		fi
	done
}

lt_vmm_pid() {
	pgrep -P "${LT_PIDS[$2.$1]}"
}

lt_kill() {
	local pid
	pid=$(lt_vmm_pid "$1" "$2") && kill -9 "$pid"
	if [ -z "${LT_ST[$2.$1]+set}" ]; then
		wait "${LT_PIDS[$2.$1]}"
		LT_ST[$2.$1]=$?
	fi
	[ -z "$pid" ] && fail "$2 under $1 was not running"
	echo "killed $2 under $1 (pid $pid)"
}

# lt_wait_for VMM NAME STRING: block until the console of the running guest
# shows STRING; 1 when the VMM exits or the time limit passes first.
lt_wait_for() {
	local fd tpid st=0
	exec {fd}< <(exec tail -F --pid="${LT_PIDS[$2.$1]}" -n +1 "$T/$2.$1.log" 2>/dev/null)
	tpid=$!
	timeout "$LT_SECS" grep -q -m1 -F -- "$3" <&"$fd" || st=1
	kill "$tpid" 2>/dev/null
	exec {fd}<&-
	return $st
}

# lt_wait_line VMM NAME STRING: lt_wait_for, or the test fails showing the console.
lt_wait_line() {
	lt_wait_for "$1" "$2" "$3" || { lt_show "$1" "$2"; fail "$2 under $1: no '$3'"; }
}

# lt_vnet BACKEND-LINES [DEVICE-LINES]: the INI sections of a virtio-net
# nic0 on a backend n0 (BACKEND-LINES: its plugin and keys).
lt_vnet() {
	printf '[backend n0]\n%s\n[device nic0]\nplugin = virtio-net\nbackend = n0\n%s\n' "$1" "${2:-}"
}

# The NIC of a backend that returns every frame: modvmm's loopback, QEMU's
# UDP socket sent to itself (lt_loop_qemu PORT).
LT_LOOP_MODVMM=$(lt_vnet "plugin = loopback")
lt_loop_qemu() {
	echo "-netdev socket,id=n0,udp=127.0.0.1:$1,localaddr=127.0.0.1:$1 -device virtio-net-pci,netdev=n0"
}

# lt_show VMM NAME: the console (and modvmm's stderr), for a failure report.
lt_show() {
	echo "--- guest console under $1 ($T/$2.$1.log):" >&2
	tail -n 60 "$T/$2.$1.log" | tr -d '\r' >&2
	echo "--- $1 stderr:" >&2
	tail -n 30 "$T/$2.$1.err" >&2
}

# lt_passed VMM NAME STATUS: the VMM exited 0 and its guest printed
# "LINUXTEST: PASS" and no "LINUXTEST: FAIL"
lt_passed() {
	[ "$3" = 0 ] && grep -q "LINUXTEST: PASS" "$T/$2.$1.log" && ! grep -q "LINUXTEST: FAIL" "$T/$2.$1.log"
}

lt_finish() {
	local vmm=$1 name=$2 st
	lt_reap "$vmm" "$name"
	st=${LT_ST[$2.$1]}
	local took=$((SECONDS - LT_T0S[$2.$1]))
	if [ "$st" = 124 ]; then
		lt_show "$vmm" "$name"
		fail "$name under $vmm: no power-off within $(scaled "$LT_SECS") s"
	fi
	if ! lt_passed "$vmm" "$name" "$st"; then
		lt_show "$vmm" "$name"
		fail "$name under $vmm: exit status $st, $(grep -a -m1 'LINUXTEST: FAIL' "$T/$name.$vmm.log" | tr -d '\r' || echo "no PASS line")"
	fi
	echo "ok: $name under $vmm in ${took} s"
}

# lt_both NAME VCPUS CMDLINE MODVMM-EXTRA QEMU-EXTRA: boot under modvmm, then
# under QEMU; both must pass.
lt_both() {
	lt_start modvmm "$1" "$2" "$3" "$4"
	lt_finish modvmm "$1"
	lt_start qemu "$1" "$2" "$3" "$5"
	lt_finish qemu "$1"
}

# lt_host_listen VMM: the host's tcpx receiver on port 5001 listens (pid
# $rpid, output $T/hrecv.VMM); called before the guest boots.
lt_host_listen() {
	rm -f "$T/rdy" && mkfifo "$T/rdy"
	nsx timeout 300 "$TCPX" recv 5001 3>"$T/rdy" >"$T/hrecv.$1" 2>&1 &
	rpid=$!
	read -r line <"$T/rdy"
	[ "$line" = listening ] || fail "the host's tcpx recv did not start: $(cat "$T/hrecv.$1")"
}

# lt_host_traffic VMM NAME: the guest's transfer to the host arrives intact,
# the host pings the guest and sends it $BYTES once it says "READY tcp-rx";
# the guest passes.
lt_host_traffic() {
	local vmm=$1 name=$2 st=0
	if ! lt_wait_for "$vmm" "$name" "LINUXTEST: READY tcp-rx"; then
		kill "$rpid" 2>/dev/null
		lt_finish "$vmm" "$name"   # reports the guest's failure
		fail "$name under $vmm: the guest passed without the host's transfer"
	fi
	wait "$rpid" || st=$?
	[ $st = 0 ] || { lt_show "$vmm" "$name"; fail "$name under $vmm: guest -> host TCP: $(cat "$T/hrecv.$vmm")"; }
	nsx ping -c 3 -W 10 "$GUEST" >"$T/ping" 2>&1 || { cat "$T/ping" >&2; lt_show "$vmm" "$name"; fail "$name under $vmm: host -> guest ping"; }
	nsx timeout 300 "$TCPX" send "$GUEST" 5002 "$BYTES" >"$T/hsend.$vmm" 2>&1 ||
		{ cat "$T/hsend.$vmm" >&2; lt_show "$vmm" "$name"; fail "$name under $vmm: host -> guest TCP"; }
	lt_finish "$vmm" "$name"
}
