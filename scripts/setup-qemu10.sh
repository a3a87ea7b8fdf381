#!/usr/bin/env bash
# Unpacks bookworm-backports' QEMU 10 (qemu-system-x86 with qemu-system-common, qemu-system-data
# and the seabios it needs) beside Debian 12's system QEMU 7.2, without installing it: the
# packages are fetched with `apt-get download` and unpacked with `dpkg -x` into a cache folder,
# so both QEMUs can be tested on one machine. Nothing system-wide changes except that the
# bookworm-backports apt source is added (priority 100: apt never takes from it unless asked).
#
# Output, in TSVIRT_QEMU10_DIR (default /var/cache/tsvirt/qemu10 as root,
# ~/.cache/tsvirt/qemu10 otherwise):
#   root/usr/bin/qemu-system-x86_64   the emulator (tsvirt passes -L root/usr/share/{qemu,seabios})
#   qemu10.env                        QEMU=<that path>, VERSION=<package version>
# The emulator's path is printed on stdout. Nothing is fetched when qemu10.env matches the
# candidate version. Concurrent runs serialise on a lock in the cache folder.
set -euo pipefail

# shellcheck source=lib/cache-dir.sh
. "$(dirname "$0")/lib/cache-dir.sh"
tsvirt_cache_dir qemu10 "${TSVIRT_QEMU10_DIR:-}"

# shellcheck source=lib/backports.sh
. "$(dirname "$0")/lib/backports.sh"

# Every package of its modules too: QEMU looks for a module in QEMU_MODULE_DIR (tsvirt points it
# at this tree) and then in the system's module dir, whose modules (QEMU 7.2's) it refuses; one
# missing here made QEMU 10 abort when it loaded all modules (qom-list-types).
pkgs=(qemu-system-x86 qemu-system-common qemu-system-data seabios qemu-system-gui qemu-system-modules-opengl qemu-system-modules-spice qemu-block-extra)
backports_source qemu-system-x86
version="$(backports_candidate qemu-system-x86)"

bin="$out/root/usr/bin/qemu-system-x86_64"
if [ -f "$out/qemu10.env" ] && grep -qxF "VERSION=$version" "$out/qemu10.env" && grep -qxF "PACKAGES=${pkgs[*]}" "$out/qemu10.env" && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

work="$(mktemp -d "$out/.unpack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
backports_unpack "$work/root" "${pkgs[@]}"
[ -x "$work/root/usr/bin/qemu-system-x86_64" ] || { echo "setup-qemu10: the packages held no qemu-system-x86_64" >&2; exit 1; }

# Its shared libraries come from Debian 12 itself; install any the system lacks.
missing_libs="$(ldd "$work/root/usr/bin/qemu-system-x86_64" | awk '/not found/{print $1}')"
if [ -n "$missing_libs" ]; then
  echo "setup-qemu10: the system lacks $missing_libs (install qemu-system-x86 from bookworm first)" >&2
  exit 1
fi
"$work/root/usr/bin/qemu-system-x86_64" --version >/dev/null

rm -rf "$out/root"
mv "$work/root" "$out/root"
printf 'QEMU=%s\nVERSION=%s\nPACKAGES=%s\n' "$bin" "$version" "${pkgs[*]}" > "$out/qemu10.env"
echo "$bin"
