#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI check of the install and the package: builds the .deb with CPack, unpacks it into a scratch
# root, checks what Debian and QEMU's vhost-user discovery expect to find there, and decodes the
# sample clip with the installed harness driving the installed daemon through --fd.
# Usage: tests/package/package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=$1
source=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vdec-package-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "package test: $*" >&2; exit 1; }

# The .deb, made from this build tree (cpack runs the install rules into a staging folder).
(cd "$build" && cpack -G DEB -B "$scratch/out" >"$scratch/cpack.log" 2>&1) ||
  { cat "$scratch/cpack.log" >&2; fail "cpack failed"; }
deb=$(find "$scratch/out" -maxdepth 1 -name '*.deb' | head -n1)
[ -n "$deb" ] || fail "cpack made no .deb"
info=$(dpkg-deb --info "$deb")
grep -q "Package: vdec" <<<"$info" || fail "$deb: no Package: vdec"
grep -q "Depends:.*libavcodec" <<<"$info" || fail "$deb: Depends lacks libavcodec"
dpkg-deb -x "$deb" "$scratch/root"
root=$scratch/root

for path in usr/bin/vdec-device usr/bin/vdec-harness \
    usr/share/qemu/vhost-user/50-vdec-video.json usr/share/man/man1/vdec-device.1 \
    usr/share/man/man1/vdec-harness.1 usr/lib/systemd/system/vdec-device.service \
    usr/lib/systemd/system/vdec-device.socket usr/share/doc/vdec/README.md; do
  [ -s "$root/$path" ] || fail "the package lacks /$path"
done

# The description (docs/interop/vhost-user.json, VhostUserBackend) names the installed binary.
json=$root/usr/share/qemu/vhost-user/50-vdec-video.json
grep -q '"binary": "/usr/bin/vdec-device"' "$json" || fail "$json: wrong binary"
grep -q '"type": "video"' "$json" || fail "$json: wrong type"
grep -q '"description": "' "$json" || fail "$json: no description"
grep -q '^ExecStart=/usr/bin/vdec-device ' "$root/usr/lib/systemd/system/vdec-device.service" ||
  fail "the unit's ExecStart is not /usr/bin/vdec-device"
grep -q '^\.SH OPTIONS' "$root/usr/share/man/man1/vdec-device.1" || fail "man page has no OPTIONS"
grep -q 'socket\\-path' "$root/usr/share/man/man1/vdec-device.1" ||
  fail "man page does not list --socket-path"

# The installed programs run (from the scratch root: they link only system libraries).
device=$root/usr/bin/vdec-device
"$device" --probe >"$scratch/probe.txt" 2>&1 || { cat "$scratch/probe.txt" >&2; fail "--probe failed"; }
grep -q "zero-copy paths:" "$scratch/probe.txt" || fail "--probe printed no zero-copy matrix"
[ "$("$device" --print-capabilities)" = "$(printf '{\n  "type": "video"\n}')" ] ||
  fail "--print-capabilities printed something else"

# One decode: the installed harness starts the installed daemon with --fd (socketpair).
"$root/usr/bin/vdec-harness" --device-binary "$device" --device-arg=--log-level=warn decode \
  "$source/samples/data/testsrc2-320x180.h264" --memory sg \
  --expect-md5 "$source/samples/data/testsrc2-320x180.h264.md5" >"$scratch/decode.txt" 2>&1 ||
  { cat "$scratch/decode.txt" >&2; fail "decode through the installed daemon failed"; }
grep -q "decoded 75 frames" "$scratch/decode.txt" || fail "decode: $(cat "$scratch/decode.txt")"
grep -q "exited cleanly" "$scratch/decode.txt" || fail "decode: $(cat "$scratch/decode.txt")"
echo "package test: $(basename "$deb") installs, probes and decodes"
