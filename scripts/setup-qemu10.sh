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

pkgs=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
suite=bookworm-backports

candidate() {
  apt-cache policy "$1" 2>/dev/null | awk -v s="$suite" '
    $0 ~ " "s"/main " { if (v != "") { print v; exit } next }
    $1 == "***" { v = $2; next }
    NF == 2 && $1 ~ /^[0-9]/ { v = $1 }'
}

version="$(candidate qemu-system-x86 || true)"
if [ -z "$version" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-qemu10: apt knows no $suite qemu-system-x86; as root this script adds the $suite source" >&2
    exit 1
  fi
  # The same mirror as the machine's bookworm source, one more suite.
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$mirror" ] || mirror="$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  [ -n "$mirror" ] || { echo "setup-qemu10: cannot find the machine's Debian mirror" >&2; exit 1; }
  cat > /etc/apt/sources.list.d/tsvirt-backports.sources <<SRC
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
  version="$(candidate qemu-system-x86)"
fi

bin="$out/root/usr/bin/qemu-system-x86_64"
if [ -f "$out/qemu10.env" ] && grep -qxF "VERSION=$version" "$out/qemu10.env" && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

work="$(mktemp -d "$out/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt's _apt user writes the downloads
specs=()
for p in "${pkgs[@]}"; do
  v="$(candidate "$p")"
  [ -n "$v" ] || { echo "setup-qemu10: $suite has no $p" >&2; exit 1; }
  specs+=("$p=$v")
done
(cd "$work" && apt-get download -qq "${specs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
mkdir "$work/root"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
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
printf 'QEMU=%s\nVERSION=%s\n' "$bin" "$version" > "$out/qemu10.env"
echo "$bin"
