#!/usr/bin/env bash
# The second QEMU pass of CI: the QEMU test files that cover every save layout (single stream
# raw/compressed/BYPASS_CACHE, multifd files, region, instant restore; the real Linux guest in
# each) run again with
# bookworm-backports' QEMU 10 as the default emulator (TSVIRT_QEMU), unpacked beside the system
# QEMU 7.2 by setup-qemu10.sh. The QEMU 10 specific files (qemu10-*, sparse-*) already run in
# the main pass, on both QEMUs. Part of `npm test`.
# About 60 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
qemu10="$(bash scripts/setup-qemu10.sh)"
echo "test-qemu10: running the QEMU tests again on $("$qemu10" --version | head -1)" >&2
TSVIRT_QEMU="$qemu10" npx jest \
  test/qemu/save-restore.test.ts \
  test/parallel/qemu-parallel.test.ts \
  test/qemu/linux-guest.test.ts
