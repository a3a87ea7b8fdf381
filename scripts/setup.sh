#!/usr/bin/env bash
# Installs what `npm test`, `npm run demo` and `npm run bench` need on a Debian/Ubuntu machine:
# the npm dependencies (from the lock file) and the Debian packages the tests drive for real.
# Without root (and without sudo) it installs nothing from apt and says exactly what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-test}"

# Debian packages per purpose: QEMU for the real-guest driver and tests (qemu-utils: qemu-img for
# qcow2 test disks; libvirt-daemon-driver-qemu: libvirt's QEMU driver, the device-model oracle).
# python3-fusepy: the EIO-injecting FUSE filesystem of the fault tests (test/helpers/eio-fs.py).
# virtinst: virt-install, the tool test/remote/virt-install.test.ts drives through tsvirtd.
apt_pkgs=(qemu-system-x86 qemu-utils libvirt-daemon-driver-qemu zstd xz-utils gzip bzip2 lzop coreutils libvirt-clients python3-libvirt libvirt-daemon python3-fusepy libsasl2-modules openssl virtinst)
# gdb: the backtrace scripts/jest-crash-trace.sh prints when the jest process itself crashes.
[ "$purpose" = test ] && apt_pkgs+=(gdb)

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js 20 or newer is required (apt-get install nodejs npm, or from nodejs.org)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required, found $(node --version)" >&2
  exit 1
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); elif command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else sudo_cmd=(none); fi
  if [ "${sudo_cmd[0]:-}" = none ]; then
    echo "setup: missing Debian packages for '$purpose': ${missing[*]}" >&2
    echo "setup: run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libvirt's QEMU driver (the interop tests' private libvirtd) refuses to start without its
# 'libvirt-qemu' user and group (a --no-install-recommends install creates neither) and needs a
# running virtlogd.
if [ "$(id -u)" -eq 0 ] && [ "$purpose" != bench ]; then
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  mkdir -p /var/log/libvirt
  [ -S /run/libvirt/virtlogd-sock ] && pgrep -x virtlogd >/dev/null || /usr/sbin/virtlogd --daemon
fi

# npm dependencies, exactly as locked; skipped when node_modules is newer than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# The Linux test guest (kernel + initramfs from Debian packages) the QEMU tests and the demo boot.
[ "$purpose" = bench ] || bash scripts/build-guest.sh
