# Debian's cloud kernel for the Linux e2e tests and the linux-boot benchmark
# (sourced after lib.sh).  debian_kernel CACHE sets VMLINUZ (the bzImage) and
# VMLINUX (its LZ4 payload decompressed: an ELF with the PVH entry note).
#
# linux-image-cloud-amd64 is a metapackage; the image package it depends on is
# fetched with `apt-get download` into CACHE/<package>/ once and reused.  The
# folder is $MODVMM_TEST_CACHE, else /var/cache/modvmm-tests when writable, else
# CACHE.  A mirror that cannot be reached fails the test: it is not a skip.

# le32 FILE OFFSET: the little-endian 32-bit word at OFFSET.
le32() {
	od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '
}

# extract_vmlinux BZIMAGE OUT: the protected-mode payload (payload_offset and
# payload_length of the setup header, boot.rst) is an LZ4 legacy frame followed
# by the 4-byte uncompressed size, which lz4 does not expect.
extract_vmlinux() {
	local setup_sects off len magic
	setup_sects=$(od -An -t u1 -j $((0x1f1)) -N 1 "$1" | tr -d ' ')
	[ "$setup_sects" = 0 ] && setup_sects=4
	off=$(( (setup_sects + 1) * 512 + $(le32 "$1" $((0x248))) ))
	len=$(le32 "$1" $((0x24c)))
	magic=$(od -An -t x1 -j "$off" -N 4 "$1" | tr -d ' ')
	[ "$magic" = 02214c18 ] ||
		fail "$1: the payload is not an LZ4 legacy frame (magic $magic); the PVH test needs CONFIG_KERNEL_LZ4"
	tail -c +$((off + 1)) "$1" | head -c $((len - 4)) | lz4 -d -c >"$2.tmp" ||
		fail "lz4 could not decompress the payload of $1"
	mv "$2.tmp" "$2"
}

debian_kernel() {
	local cache=${MODVMM_TEST_CACHE:-/var/cache/modvmm-tests} meta=linux-image-cloud-amd64 pkg dir
	mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$1
	mkdir -p "$cache" || fail "cannot create the cache folder $cache"
	for tool in apt-get apt-cache dpkg-deb lz4 flock; do
		command -v $tool >/dev/null || fail "$tool is missing (scripts/deps.sh --test installs it)"
	done
	pkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		apt-get update -qq || fail "apt-get update failed: is the Debian mirror reachable?"
		pkg=$(apt-cache depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$pkg" ] || fail "apt knows no $meta: add Debian's main archive to the apt sources"
	dir=$cache/$pkg
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9
	if [ ! -s "$dir/vmlinuz" ]; then
		echo "downloading $pkg (for $meta) into $dir" >&2
		rm -rf "$dir/dl" && mkdir -p "$dir/dl"
		(cd "$dir/dl" && apt-get download -q -o APT::Sandbox::User=root "$pkg") >&2 ||
			fail "apt-get download $pkg failed: is the Debian mirror reachable?"
		dpkg-deb -x "$dir"/dl/*.deb "$dir/dl/x" || fail "dpkg-deb could not unpack $pkg"
		cp "$dir"/dl/x/boot/vmlinuz-* "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz" ||
			fail "$pkg has no /boot/vmlinuz-*"
		rm -rf "$dir/dl"
	fi
	[ -s "$dir/vmlinux" ] || extract_vmlinux "$dir/vmlinuz" "$dir/vmlinux"
	exec 9>&-
	VMLINUZ=$dir/vmlinuz VMLINUX=$dir/vmlinux
}

# start_vm INI: modvmm -v runs in the background with its serial output on fd 3
# (a fifo), stderr in $T/err; $pid is its process id.
start_vm() {
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	"$MODVMM" -v run "$1" >"$T/fifo" 2>"$T/err" &
	pid=$!
	exec 3<"$T/fifo"
}

# stop_vm: SIGTERM, then the exit status must be 0.
stop_vm() {
	kill -TERM "$pid" 2>/dev/null
	local st=0
	wait "$pid" || st=$?
	exec 3<&-
	[ "$st" = 0 ] || fail "modvmm exited with $st after SIGTERM; stderr: $(tail -20 "$T/err")"
}

# wait_for SECONDS PATTERN...: read serial lines (into $T/out, \r removed) until
# every fixed-string PATTERN has been seen or SECONDS pass; returns 1 on timeout.
wait_for() {
	local deadline=$((SECONDS + $(scaled "$1"))) line p missing
	shift
	: >"$T/out"
	while :; do
		missing=
		for p in "$@"; do
			grep -qF -- "$p" "$T/out" || { missing=$p; break; }
		done
		[ -z "$missing" ] && return 0
		[ $SECONDS -lt $deadline ] || { echo "not seen within the time limit: $missing" >&2; return 1; }
		IFS= read -r -t $((deadline - SECONDS)) line <&3 || {
			[ $SECONDS -lt $deadline ] && ! kill -0 "$pid" 2>/dev/null &&
				fail "modvmm exited early; stderr: $(tail -20 "$T/err")"
			continue
		}
		printf '%s\n' "${line%$'\r'}" >>"$T/out"
	done
}
