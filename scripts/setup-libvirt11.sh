#!/usr/bin/env bash
# Unpacks bookworm-backports' libvirt 11.3 (libvirtd with its QEMU driver, virtlogd, virsh and
# libvirt.so) beside Debian 12's installed libvirt 9.0, without installing it: `apt-get download`
# and `dpkg -x` into a cache folder. The tests run that libvirtd in a private mount namespace
# with the unpacked files bound over the system paths (test/helpers/libvirtd-qemu.ts), and the
# unpacked virsh with LD_LIBRARY_PATH; nothing system-wide changes except the backports apt
# source (priority 100).
#
# Output, in TSVIRT_LIBVIRT11_DIR (default /var/cache/tsvirt/libvirt11 as root,
# ~/.cache/tsvirt/libvirt11 otherwise):
#   root/...        the unpacked packages (usr/sbin/libvirtd, usr/bin/virsh, usr/lib/...)
#   libvirt11.env   ROOT=<that folder>, VERSION=<package version>
# The root folder is printed on stdout. Nothing is fetched when libvirt11.env matches the
# candidate version. Concurrent runs serialise on a lock in the cache folder.
set -euo pipefail

# shellcheck source=lib/cache-dir.sh
. "$(dirname "$0")/lib/cache-dir.sh"
tsvirt_cache_dir libvirt11 "${TSVIRT_LIBVIRT11_DIR:-}"
# shellcheck source=lib/backports.sh
. "$(dirname "$0")/lib/backports.sh"

pkgs=(libvirt0 libvirt-common libvirt-daemon libvirt-daemon-common libvirt-daemon-driver-qemu libvirt-daemon-log libvirt-clients)
backports_source libvirt-daemon
version="$(backports_candidate libvirt-daemon)"

root="$out/root"
if [ -f "$out/libvirt11.env" ] && grep -qxF "VERSION=$version" "$out/libvirt11.env" && [ -x "$root/usr/sbin/libvirtd" ]; then
  echo "$root"
  exit 0
fi

work="$(mktemp -d "$out/.unpack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
backports_unpack "$work/root" "${pkgs[@]}"

# Its other shared libraries come from Debian 12 itself.
lib="$work/root/usr/lib/x86_64-linux-gnu"
for b in usr/sbin/libvirtd usr/sbin/virtlogd usr/bin/virsh usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so; do
  [ -e "$work/root/$b" ] || { echo "setup-libvirt11: the packages held no $b" >&2; exit 1; }
  missing="$(LD_LIBRARY_PATH="$lib" ldd "$work/root/$b" | awk '/not found/{print $1}')"
  [ -z "$missing" ] || { echo "setup-libvirt11: $b needs $missing, which the system lacks" >&2; exit 1; }
done
LD_LIBRARY_PATH="$lib" "$work/root/usr/bin/virsh" --version >/dev/null

rm -rf "$root"
mv "$work/root" "$root"
printf 'ROOT=%s\nVERSION=%s\n' "$root" "$version" > "$out/libvirt11.env"
echo "$root"
