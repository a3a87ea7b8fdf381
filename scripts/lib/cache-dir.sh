# Sourced by the set-up scripts that unpack Debian packages into a cache folder of their own.
# tsvirt_cache_dir NAME OVERRIDE: sets $out to OVERRIDE when given, else /var/cache/tsvirt/NAME
# as root, else $XDG_CACHE_HOME/tsvirt/NAME; creates it and holds its lock on fd 9 until the
# script exits, so concurrent runs serialise.
tsvirt_cache_dir() {
  if [ -n "$2" ]; then out="$2"
  elif [ "$(id -u)" -eq 0 ]; then out="/var/cache/tsvirt/$1"
  else out="${XDG_CACHE_HOME:-$HOME/.cache}/tsvirt/$1"
  fi
  mkdir -p "$out"
  exec 9>"$out/.lock"
  flock 9
}
