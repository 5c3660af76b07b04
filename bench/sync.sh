#!/usr/bin/env bash
# Sync at library scale (issue #15): builds the release CLI and the sync bench, then runs
# it: a synthetic library of N tracks (default 20000) imported, pushed to a loopback
# Garage through the byte-counting proxy, cloned on a second device, pushed unchanged,
# 5 new tracks pushed and pulled by the second device. Prints seconds, MiB up and down,
# requests and peak memory per step (see tests/src/bin/sync_bench.rs). Figures only, no
# thresholds.
#
# usage: bench/sync.sh [N] [--track-kib K] [--rclone]   e.g. bench/sync.sh 100000 --rclone
#        (--rclone: rclone copy of the same files up and back, as the reference)
# env:   GARAGE_BIN (as for the tests); TMPDIR for the vaults, the Garage and the files
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p audiovault-cli -p audiovault-tests --bin audiovault --bin sync_bench
# Copies of the binaries: a build that finishes while the bench runs (another checkout
# sharing the target dir) must not swap the binary between two steps.
bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT
cp "$target/release/audiovault" "$target/release/sync_bench" "$bins/"
bin=$bins/audiovault
# Each step's peak memory, when GNU time is installed: the bench reads it after each step.
if [ -x /usr/bin/time ]; then
  printf '#!/bin/sh\nexec /usr/bin/time -q -o "%s/peak-kib" -f %%M "%s/audiovault" "$@"\n' \
    "$bins" "$bins" >"$bins/audiovault-peak"
  chmod +x "$bins/audiovault-peak"
  bin=$bins/audiovault-peak
  export SYNC_BENCH_PEAK_FILE=$bins/peak-kib
fi
# The passphrase floors are lifted for the bench's weak, fast KDF (tests and benches only).
AUDIOVAULT_BIN=$bin "$bins/sync_bench" "$@"
