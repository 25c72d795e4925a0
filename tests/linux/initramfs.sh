# The Linux-guest test kit's inputs (sourced): Debian's generic kernel (the
# one the KVM host boots, tests/kvmhost/inputs.sh fetches and unpacks it) and
# an initramfs built from Debian packages: busybox-static, the kernel
# package's own modules (virtio_pci, virtio_net, macvlan, ...), ethtool and
# iproute2's ip with the libraries they need, and tests/linux/init as /init.
# It is cached under
# ${MODVMM_TEST_CACHE:-/var/cache/modvmm-tests}/linux-guest and rebuilt only
# when an input changes; packages are fetched with `apt-get download` once
# (tests/fetch.sh does it on the outer machine: the KVM host has no network).
# busybox-static and the kernel package are kvmhost's (tests/kvmhost/inputs.sh).
#
# linux_guest_inputs sets LG_KERNEL (bzImage), LG_VMLINUX (its payload
# uncompressed: an ELF with the PVH entry note), LG_INITRD (the cached
# initramfs), LG_KVER and LG_MODDIR (its modules).  lg_initrd OUT FILE...
# writes OUT: that initramfs followed by a second archive (the kernel unpacks
# both) holding the guest scripts of tests/linux/guest/ in /tests and each FILE
# (a static test tool of this build, e.g. tcpx) in /usr/sbin, or in
# /lib/modules/extra for a .ko.

LG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Modules the guest loads at boot, dependencies first (kh_deps expands them).
LG_MODULES="virtio_pci virtio_net macvlan button evdev e1000e"
# Debian packages whose binaries go into the guest, with the libraries they need.
LG_TOOL_PKGS="ethtool libmnl0 iproute2"
LG_TOOLS="ethtool:/sbin/ethtool iproute2:/bin/ip"

# lg_libs ROOTS... BINARY: the shared libraries BINARY needs, searched in the
# unpacked packages first, then on this machine (libc6 of the same release).
lg_libs() {
	local bin=${*: -1} path=
	for r in "${@:1:$#-1}"; do
		path="$path:$r/lib/x86_64-linux-gnu:$r/usr/lib/x86_64-linux-gnu"
	done
	LD_LIBRARY_PATH=${path#:} ldd "$bin" | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }'
}

# lg_vmlinux BZIMAGE OUT: the protected-mode payload (payload_offset and
# payload_length in the setup header, Documentation/x86/boot.rst) is an xz
# stream followed by the 4-byte uncompressed size, which xz leaves alone with
# --single-stream.
lg_vmlinux() {
	local sects off len
	sects=$(od -An -t u1 -j $((0x1f1)) -N 1 "$1" | tr -d ' ')
	[ "$sects" = 0 ] && sects=4
	off=$(( (sects + 1) * 512 + $(od -An -t u4 -j $((0x248)) -N 4 "$1" | tr -d ' ') ))
	len=$(od -An -t u4 -j $((0x24c)) -N 4 "$1" | tr -d ' ')
	tail -c +$((off + 1)) "$1" | head -c "$len" | xz -dc --single-stream >"$2.tmp" && mv "$2.tmp" "$2"
}

# lg_build_initrd DIR MODDIR OUT
lg_build_initrd() {
	local dir=$1 moddir=$2 out=$3 r=$1/root pkg m bin lib
	rm -rf "$r" "$dir/x" && mkdir -p "$r/bin" "$r/lib/modules" "$r/tests" "$dir/x"
	dpkg-deb -x "$dir/../kvmhost/busybox-static.deb" "$dir/x/busybox" && cp "$dir/x/busybox/bin/busybox" "$r/bin/" ||
		return 1
	for pkg in $LG_TOOL_PKGS; do
		dpkg-deb -x "$dir/$pkg.deb" "$dir/x/$pkg" || return 1
	done
	mkdir -p "$r/lib/x86_64-linux-gnu" "$r/lib64" "$r/usr/sbin"
	for t in $LG_TOOLS; do
		bin=$dir/x/${t%%:*}${t#*:}
		cp "$bin" "$r/usr/sbin/" || return 1
		for lib in $(lg_libs "$dir"/x/* "$bin"); do
			case $lib in
			*/ld-linux*) cp -L "$lib" "$r/lib64/" ;;
			*) cp -L "$lib" "$r/lib/x86_64-linux-gnu/" ;;
			esac || return 1
		done
	done
	cp "$LG_SRC/init" "$r/init" && chmod 755 "$r/init" || return 1
	: >"$r/modules"
	for m in $(kh_deps "$moddir" $LG_MODULES); do
		cp "$moddir/$m" "$r/lib/modules/" || return 1
		echo "${m##*/}" >>"$r/modules"
	done
	rm -rf "$dir/x"
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" &&
		mv "$out.tmp" "$out" && rm -rf "$r"
}

linux_guest_inputs() {
	local cache=${MODVMM_TEST_CACHE:-/var/cache/modvmm-tests} dir want pkg
	KH_SRC=$LG_SRC/../kvmhost
	. "$KH_SRC/inputs.sh"
	# The kernel package as kvmhost unpacked it; not kvmhost_inputs each time,
	# which would also rebuild the KVM host's own initramfs when another
	# checkout's kvmhost/ differs.
	pkg=$(kh_kernel_pkg)
	[ -s "$cache/kvmhost/$pkg/done" ] || (kvmhost_inputs) || return 1
	KH_KVER=$(cat "$cache/kvmhost/$pkg/done")
	KH_KERNEL=$(echo "$cache/kvmhost/$pkg"/boot/vmlinuz-*)
	KH_MODDIR=$cache/kvmhost/$pkg/lib/modules/$KH_KVER
	dir=$cache/linux-guest
	mkdir -p "$dir" || { echo "linux-guest: cannot create $dir" >&2; return 1; }
	exec 7>"$dir/.lock"
	flock 7
	for pkg in $LG_TOOL_PKGS; do
		(kh_download "$dir" "$pkg") || { exec 7>&-; return 1; }
	done
	# One initramfs per version of its inputs, named by their hash: checkouts
	# with different scripts share the cache without rebuilding it under each
	# other's feet.  Versions unused for 3 days go.
	want=$({ echo "$KH_KVER"; stat -c %s.%Y "$dir"/*.deb "$cache/kvmhost/busybox-static.deb"
		cat "$LG_SRC/init" "$LG_SRC/initramfs.sh"; } | md5sum | cut -c1-16)
	LG_INITRD=$dir/initrd-$want.gz
	if [ ! -s "$LG_INITRD" ]; then
		echo "linux-guest: building the guest initramfs $LG_INITRD" >&2
		lg_build_initrd "$dir" "$KH_MODDIR" "$LG_INITRD" ||
			{ exec 7>&-; echo "linux-guest: could not build the initramfs" >&2; return 1; }
	fi
	touch "$LG_INITRD"
	find "$dir" -maxdepth 1 -name 'initrd*.gz' -mtime +3 -delete
	if [ ! -s "$dir/vmlinux" ] || [ "$(cat "$dir/vmlinux.stamp" 2>/dev/null)" != "$KH_KVER" ]; then
		lg_vmlinux "$KH_KERNEL" "$dir/vmlinux" || { exec 7>&-; echo "linux-guest: cannot extract vmlinux from $KH_KERNEL" >&2; return 1; }
		echo "$KH_KVER" >"$dir/vmlinux.stamp"
	fi
	exec 7>&-
	LG_VMLINUX=$dir/vmlinux
	LG_KERNEL=$KH_KERNEL LG_KVER=$KH_KVER LG_MODDIR=$KH_MODDIR
}

lg_initrd() {
	local out=$1 o=$1.d f
	shift
	rm -rf "$o" && mkdir -p "$o/tests" "$o/usr/sbin" "$o/lib/modules/extra" &&
		cp "$LG_SRC"/guest/*.sh "$o/tests/" || return 1
	for f in "$@"; do
		case $f in
		*.ko) cp "$f" "$o/lib/modules/extra/" ;;
		*) cp "$f" "$o/usr/sbin/" ;;
		esac || return 1
	done
	{ cat "$LG_INITRD" && (cd "$o" && find . | cpio -o -H newc --quiet | gzip -1); } >"$out" && rm -rf "$o"
}
