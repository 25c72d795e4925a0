#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module's sources are checkpatch-clean (--strict).  checkpatch.pl comes
# from $CHECKPATCH, an unpacked kernel tree in /usr/src, or (unpacked once into
# CACHE) Debian's linux-source tarball; skips (77) when none is there.
# usage: checkpatch.sh KMOD_DIR CACHE_DIR
set -u
SRC=$1 CACHE=$2
cp=${CHECKPATCH:-}
if [ -z "$cp" ]; then
	for c in /usr/src/linux-source-*/scripts/checkpatch.pl /usr/src/linux-[0-9]*/scripts/checkpatch.pl \
		"$CACHE"/checkpatch/*/scripts/checkpatch.pl; do
		[ -x "$c" ] && { cp=$c; break; }
	done
fi
if [ -z "$cp" ]; then
	tarball=$(ls /usr/src/linux-source-*.tar.* 2>/dev/null | sort -V | tail -1)
	if [ -n "$tarball" ]; then
		mkdir -p "$CACHE/checkpatch"
		top=$(basename "$tarball"); top=${top%.tar.*}
		tar -xf "$tarball" -C "$CACHE/checkpatch" "$top/scripts/checkpatch.pl" \
			"$top/scripts/spelling.txt" "$top/scripts/const_structs.checkpatch" ||
			{ echo "FAIL: cannot unpack checkpatch from $tarball"; exit 1; }
		cp=$CACHE/checkpatch/$top/scripts/checkpatch.pl
	fi
fi
if [ -z "$cp" ]; then
	echo "SKIP: checkpatch.pl not found (set CHECKPATCH, or apt-get install linux-source-6.1)" >&2
	exit 77
fi
echo "using $cp"
st=0
for f in "$SRC"/*.c; do
	out=$(perl "$cp" --no-tree --strict --quiet -f "$f") || st=1
	[ -z "$out" ] || { echo "$out"; st=1; }
done
[ "$st" = 0 ] && echo "ok: $(ls "$SRC"/*.c | wc -l) file(s) clean"
exit $st
