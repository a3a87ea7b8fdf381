# Sourced by the set-up scripts that unpack bookworm-backports packages beside the system's own
# (QEMU 10, libvirt 11.3) without installing them.
#
# backports_candidate PKG   prints PKG's bookworm-backports version ('' when apt knows none)
# backports_source          adds the bookworm-backports apt source (root only) unless apt
#                           already knows a backports version of $1; priority 100, so apt never
#                           takes from it unless asked
# backports_unpack OUT P... downloads the backports version of each package P and unpacks them
#                           all with `dpkg -x` into the new folder OUT (removed first)
backports_suite=bookworm-backports

backports_candidate() {
  apt-cache policy "$1" 2>/dev/null | awk -v s="$backports_suite" '
    $0 ~ " "s"/main " { if (v != "") { print v; exit } next }
    $1 == "***" { v = $2; next }
    NF == 2 && $1 ~ /^[0-9]/ { v = $1 }'
}

backports_source() {
  [ -z "$(backports_candidate "$1" || true)" ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "apt knows no $backports_suite $1; as root the set-up adds the $backports_suite source" >&2
    return 1
  fi
  # The same mirror as the machine's bookworm source, one more suite.
  local mirror
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$mirror" ] || mirror="$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  [ -n "$mirror" ] || { echo "cannot find the machine's Debian mirror" >&2; return 1; }
  cat > /etc/apt/sources.list.d/tsvirt-backports.sources <<SRC
Types: deb
URIs: $mirror
Suites: $backports_suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
}

backports_unpack() {
  local dest="$1" fetch deb p v
  shift
  local specs=()
  for p in "$@"; do
    v="$(backports_candidate "$p")"
    [ -n "$v" ] || { echo "$backports_suite has no $p" >&2; return 1; }
    specs+=("$p=$v")
  done
  fetch="$(mktemp -d "$(dirname "$dest")/.fetch.XXXXXX")"
  chmod 755 "$fetch"   # apt's _apt user writes the downloads
  (cd "$fetch" && apt-get download -qq "${specs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  rm -rf "$dest"
  mkdir "$dest"
  for deb in "$fetch"/*.deb; do dpkg -x "$deb" "$dest"; done
  rm -rf "$fetch"
}
