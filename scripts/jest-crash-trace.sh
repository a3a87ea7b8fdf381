#!/usr/bin/env bash
# Runs jest ("$@" are its arguments) so that a crash of the jest process itself (a signal such as
# SIGSEGV, which no test can report) leaves a native backtrace in the log: jest runs its test
# files in one process on 2 cores, so such a crash ends the run with no hint of its cause.
# Core files go to a directory of their own and are removed once read. Part of `npm test`.
set -uo pipefail
cd "$(dirname "$0")/.."
cores=/var/tmp/tsvirt-cores
if [ -w /proc/sys/kernel/core_pattern ] && command -v gdb >/dev/null; then
  mkdir -p "$cores"
  echo "$cores/core.%e.%p" > /proc/sys/kernel/core_pattern
  ulimit -c unlimited
fi
running="$(mktemp)"
TSVIRT_JEST_RUNNING="$running" npx jest "$@"
rc=$?
if [ "$rc" -ge 128 ]; then
  echo "jest ended by signal $((rc - 128)); the test files started last:" >&2
  tail -3 "$running" >&2
  for core in "$cores"/core.node.* "$cores"/core.jest.*; do
    [ -f "$core" ] || continue
    echo "=== native backtrace of $core ===" >&2
    gdb -batch -ex 'bt 40' -ex 'info threads' "$(command -v node)" "$core" 2>&1 | tail -120 >&2
  done
fi
rm -rf "$cores"/core.* "$running" 2>/dev/null
exit "$rc"
