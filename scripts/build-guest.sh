#!/usr/bin/env bash
# Builds tsvirt's test guest from Debian packages: the kernel of linux-image-amd64 and an
# initramfs holding busybox-static, the virtio modules of that same kernel package and the
# workload in scripts/guest/init. Output (in TSVIRT_GUEST_DIR, default /var/cache/tsvirt/guest as
# root, ~/.cache/tsvirt/guest otherwise):
#   vmlinuz         the kernel
#   initramfs.img   gzip'd newc cpio
#   guest.env       KERNEL_RELEASE, KERNEL_PACKAGE, BUSYBOX_PACKAGE, STAMP
# Nothing is done when guest.env's STAMP matches the packages and this script's inputs, so the
# set-up can call it every time. Concurrent runs serialise on a lock in the cache folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# shellcheck source=lib/cache-dir.sh
. "$(dirname "$0")/lib/cache-dir.sh"
tsvirt_cache_dir guest "${TSVIRT_GUEST_DIR:-}"

# Virtio drivers the guest uses (disk, NIC, balloon, console, rng) and the PCI transport; their
# dependencies are added from each module's own modinfo.
wanted_modules=(virtio_pci virtio_blk virtio_net virtio_balloon virtio_console virtio-rng)

# The versioned kernel package linux-image-amd64 points at (apt's package lists must be there).
resolve_kernel() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}
kpkg="$(resolve_kernel || true)"
if [ -z "$kpkg" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-guest: apt knows no linux-image-amd64; run as root: apt-get update" >&2
    exit 1
  fi
  apt-get update -qq
  kpkg="$(resolve_kernel)"
fi
kver="$(apt-cache policy "$kpkg" | awk '/Candidate:/{print $2}')"
bver="$(apt-cache policy busybox-static | awk '/Candidate:/{print $2}')"
inputs_sum="$(cat "$0" "$here/guest/init" "$here/guest/udhcpc.script" | sha256sum | cut -d' ' -f1)"
stamp="$kpkg=$kver busybox-static=$bver inputs=${inputs_sum:0:16}"

if [ -f "$out/guest.env" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.img" ] &&
   grep -qxF "STAMP='$stamp'" "$out/guest.env"; then
  exit 0
fi
echo "build-guest: building the test guest ($kpkg $kver, busybox-static $bver) in $out" >&2

work="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt's stderr is kept aside: as root it warns that _apt cannot write the folder, which is noise
# unless the download fails.
if ! (cd "$work" && apt-get download -q=2 "$kpkg=$kver" "busybox-static=$bver" 2>"$work/apt.err"); then
  cat "$work/apt.err" >&2
  echo "build-guest: apt-get download of $kpkg=$kver busybox-static=$bver failed" >&2
  exit 1
fi
dpkg -x "$work"/linux-image-*.deb "$work/kernel"
dpkg -x "$work"/busybox-static_*.deb "$work/busybox"
rm -f "$work"/*.deb

krel="$(basename "$(ls -d "$work"/kernel/lib/modules/*/ | head -n1)")"
kmods="$work/kernel/lib/modules/$krel/kernel"

# name -> path of every module in the package (module names treat '-' and '_' alike).
declare -A mod_path=()
while IFS= read -r f; do
  n="$(basename "$f" .ko)"
  mod_path["${n//-/_}"]="$f"
done < <(find "$kmods" -name '*.ko')

# A module's dependencies, read from its .modinfo section ("depends=a,b"), without kmod.
mod_depends() {
  tr '\0' '\n' < "$1" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}

declare -A seen=()
order=()
add_module() {
  local key="${1//-/_}" f dep
  [ -n "${seen[$key]:-}" ] && return 0
  f="${mod_path[$key]:-}"
  if [ -z "$f" ]; then
    # A dependency with no .ko is built into this kernel: nothing to load.
    seen[$key]=builtin
    return 0
  fi
  seen[$key]=1
  for dep in $(mod_depends "$f"); do add_module "$dep"; done
  order+=("$(basename "$f")")
  cp "$f" "$work/root/lib/modules/"
}

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
for m in "${wanted_modules[@]}"; do
  key="${m//-/_}"
  if [ -z "${mod_path[$key]:-}" ] && [ -z "${seen[$key]:-}" ]; then
    echo "build-guest: module $m is not in $kpkg" >&2
    exit 1
  fi
  add_module "$m"
done
printf '%s\n' "${order[@]}" > "$root/etc/modules.order"
install -m 0755 "$here/guest/init" "$root/init"
install -m 0755 "$here/guest/udhcpc.script" "$root/etc/udhcpc.script"

# busybox's own cpio writes the archive (no cpio package needed). /dev/console is not in it:
# the kernel's built-in initramfs (Debian builds with an empty INITRAMFS_SOURCE) has the node,
# and ours is unpacked on top of it, so /init starts with the serial console as stdio.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$root/bin/busybox" cpio -o -H newc 2>/dev/null) |
  gzip -9 > "$work/initramfs.img"

cp "$work/kernel/boot/vmlinuz-$krel" "$work/vmlinuz"
cat > "$work/guest.env" <<EOF
KERNEL_RELEASE='$krel'
KERNEL_PACKAGE='$kpkg=$kver'
BUSYBOX_PACKAGE='busybox-static=$bver'
MODULES='${order[*]}'
STAMP='$stamp'
EOF
# Replace the files one by one, guest.env last: a reader that sees the new stamp sees the new
# kernel and initramfs too.
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initramfs.img" "$out/initramfs.img"
mv -f "$work/guest.env" "$out/guest.env"
echo "build-guest: kernel $krel, initramfs $(stat -c %s "$out/initramfs.img") bytes, modules: ${order[*]}" >&2
