#!/usr/bin/env bash
# Sync at library scale (issue #15): builds the release CLI and the sync bench, then runs
# it: a synthetic library of N tracks (default 20000) imported, pushed to a loopback
# Garage through the byte-counting proxy, cloned on a second device, pushed unchanged,
# 5 new tracks pushed and pulled by the second device. Prints seconds, MiB up and down
# and requests per step (see tests/src/bin/sync_bench.rs). Figures only, no thresholds.
#
# usage: bench/sync.sh [N] [--track-kib K] [--rclone]   e.g. bench/sync.sh 100000 --rclone
#        (--rclone: rclone copy of the same files up and back, as the reference)
# env:   GARAGE_BIN (as for the tests); TMPDIR for the vaults, the Garage and the files
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p audiovault-cli -p audiovault-tests --bin audiovault --bin sync_bench
# The passphrase floors are lifted for the bench's weak, fast KDF (tests and benches only).
AUDIOVAULT_BIN=$target/release/audiovault exec "$target/release/sync_bench" "$@"
