# The KVM host's inputs (sourced by kvmhost): Debian's generic kernel and
# busybox-static, fetched with `apt-get download` into the cache once, and the
# initramfs built from them, rebuilt only when an input changes.  All of it
# happens on the outer machine: the KVM host has no network.
#
# kvmhost_inputs sets KH_KERNEL (bzImage), KH_INITRD, KH_KVER (the kernel's
# release) and KH_MODDIR (its extracted module tree, depmod'ed).

# Modules the initramfs loads to reach the share and the output ports, in
# dependency order after kh_deps has expanded them.
KH_BOOT_MODULES="virtio_pci 9pnet_virtio 9p virtio_console"

kh_fail() {
	echo "kvmhost: $*" >&2
	exit 125
}

# kh_download CACHE PACKAGE: CACHE/PACKAGE.deb, fetched once.
kh_download() {
	[ -s "$1/$2.deb" ] && return 0
	echo "kvmhost: downloading $2 into $1" >&2
	rm -rf "$1/dl.$2" && mkdir -p "$1/dl.$2"
	(cd "$1/dl.$2" && apt-get download -q -o APT::Sandbox::User=root "$2") >&2 ||
		kh_fail "apt-get download $2 failed: is the Debian mirror reachable?"
	mv "$1/dl.$2"/*.deb "$1/$2.deb" && rmdir "$1/dl.$2"
}

# kh_kernel_pkg: the image package linux-image-amd64 depends on.
kh_kernel_pkg() {
	local meta=linux-image-amd64 pkg
	pkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		apt-get update -qq >&2 || kh_fail "apt-get update failed: is the Debian mirror reachable?"
		pkg=$(apt-cache depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$pkg" ] || kh_fail "apt knows no $meta: add Debian's main archive to the apt sources"
	echo "$pkg"
}

# kh_deps MODDIR MODULE...: the .ko paths (relative to MODDIR) of MODULEs and
# what they depend on, dependencies first, each once.  Built-in modules are
# left out.
kh_deps() {
	local dir=$1 m path
	shift
	for m in "$@"; do
		m=$(echo "$m" | tr - _)
		path=$(awk -v m="$m" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n) }
			n == m { print $1; exit }' "$dir/modules.dep")
		if [ -z "$path" ]; then
			grep -q "/$m.ko\$\|/$(echo "$m" | tr _ -).ko\$" "$dir/modules.builtin" && continue
			kh_fail "module $m is neither in modules.dep nor built in"
		fi
		kh_dep_chain "$dir" "$path"
	done | awk '!seen[$0]++'
}

# kh_dep_chain MODDIR PATH: PATH's dependencies (recursively), then PATH.
kh_dep_chain() {
	local d
	for d in $(awk -v p="$2" -F: '$1 == p { print $2; exit }' "$1/modules.dep"); do
		kh_dep_chain "$1" "$d"
	done
	echo "$2"
}

kvmhost_inputs() {
	local cache=${MODVMM_TEST_CACHE:-/var/cache/modvmm-tests} pkg dir x stamp want
	mkdir -p "$cache/kvmhost" || kh_fail "cannot create the cache folder $cache/kvmhost"
	for tool in apt-get apt-cache dpkg-deb depmod cpio gzip flock; do
		command -v $tool >/dev/null || kh_fail "$tool is missing (scripts/deps.sh --test installs it)"
	done
	dir=$cache/kvmhost
	exec 8>"$dir/.lock"
	flock 8
	pkg=$(kh_kernel_pkg)
	kh_download "$dir" "$pkg"
	kh_download "$dir" busybox-static
	x=$dir/$pkg
	if [ ! -s "$x/done" ]; then
		rm -rf "$x" && mkdir -p "$x"
		dpkg-deb -x "$dir/$pkg.deb" "$x" || kh_fail "dpkg-deb could not unpack $pkg"
		KH_KVER=$(ls "$x/lib/modules")
		depmod -b "$x" "$KH_KVER" || kh_fail "depmod failed on $pkg"
		echo "$KH_KVER" >"$x/done"
	fi
	KH_KVER=$(cat "$x/done")
	KH_KERNEL=$(echo "$x"/boot/vmlinuz-*)
	KH_MODDIR=$x/lib/modules/$KH_KVER
	KH_INITRD=$dir/initrd.gz

	# The initramfs depends on the kernel, busybox, the boot modules and init.
	want=$(cat "$KH_SRC/init" "$KH_SRC/inputs.sh" | md5sum | cut -c1-32)
	want="$pkg $(stat -c %s.%Y "$dir/busybox-static.deb") $want"
	stamp=$dir/initrd.stamp
	if [ ! -s "$KH_INITRD" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		kh_build_initrd "$dir" "$KH_MODDIR" || kh_fail "could not build the initramfs"
		echo "$want" >"$stamp"
	fi
	exec 8>&-
}

# kh_build_initrd CACHEDIR MODDIR: CACHEDIR/initrd.gz from busybox, init and
# the boot modules (listed in load order in /modules).
kh_build_initrd() {
	local r=$1/initrd.root m
	rm -rf "$r" "$1/bb" && mkdir -p "$r/bin" "$r/lib/modules"
	dpkg-deb -x "$1/busybox-static.deb" "$1/bb" && cp "$1/bb/bin/busybox" "$r/bin/busybox" || return 1
	rm -rf "$1/bb"
	cp "$KH_SRC/init" "$r/init" && chmod 755 "$r/init"
	: >"$r/modules"
	for m in $(kh_deps "$2" $KH_BOOT_MODULES); do
		cp "$2/$m" "$r/lib/modules/" || return 1
		echo "${m##*/}" >>"$r/modules"
	done
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$1/initrd.gz.tmp" &&
		mv "$1/initrd.gz.tmp" "$1/initrd.gz"
}
