#!/usr/bin/env bash
# The chunk store at scale (issue: a store of 1M chunks; none of open, verify and gc
# super-linear). Cuts MIB MiB of audio into ~1 KiB chunks, one file each, at two
# sizes (a tenth, then all of it), and times each step with its peak memory, so a
# super-linear step shows as a ratio far above 10:
#   import, open (unlock + stats), verify, gc (nothing to collect), purge of a tenth
#   of the tracks (their chunks removed).
#
# usage: bench/store.sh [MIB, default 1024: about a million chunks]
# env:   AUDIOVAULT_BIN  the CLI to measure (default: a release build of this checkout)
#        BENCH_DIR       where the audio and the vaults go (default: <target>/bench-store)
# Needs ffmpeg and GNU time. Page cache dropped before each step where allowed.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
target=${CARGO_TARGET_DIR:-target}
if [ -z "${AUDIOVAULT_BIN:-}" ]; then
  cargo build --release -q -p audiovault-cli
  AUDIOVAULT_BIN=$target/release/audiovault
fi
av=$AUDIOVAULT_BIN
work=${BENCH_DIR:-$target/bench-store}
mkdir -p "$work"
export AUDIOVAULT_PASSPHRASE="bench passphrase (not secret)"
# (AUDIOVAULT_ALLOW_WEAK_PASSPHRASE: for tests and benchmarks only.)
export AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1

drop=0
if sync && (echo 1 >/proc/sys/vm/drop_caches) 2>/dev/null; then drop=1; fi
settle() {
  sync
  if [ $drop = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

# 4 MiB WAVs of noise (incompressible, no two chunks alike), made once per size.
audio() {
  local dir=$work/audio-$1 files=$(( ($1 + 3) / 4 )) i
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    for ((i = 0; i < files; i++)); do
      ffmpeg -loglevel error -f lavfi -i "anoisesrc=d=14.56:c=white:r=48000:a=0.5:seed=$((i + 1))" \
        -ac 2 -c:a pcm_s24le "$dir/noise-$i.wav"
    done
    touch "$dir/.done"
  fi
  echo "$dir"
}

# step NAME CMD...: times CMD after a settle; prints wall seconds and peak RSS.
declare -A secs rss
step() {
  local key=$1; shift
  settle
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
    echo "bench/store.sh: $key failed:" >&2; tail -n 20 "$work/stderr.txt" >&2; exit 1; }
  local t m
  read -r t m < "$work/time.txt"
  secs[$key]=$t rss[$key]=$m
}

sizes=("$((mib / 10))" "$mib")
for size in "${sizes[@]}"; do
  dir=$(audio "$size")
  vault=$work/vault-$size
  rm -rf "$vault"
  export AUDIOVAULT_VAULT=$vault
  "$av" init --kdf-memory-kib 1024 --kdf-iterations 1 --chunk-avg-bytes 1024 >/dev/null
  step "import $size" "$av" import "$dir"
  chunks=$(find "$vault/chunks" -type f | wc -l)
  declare -g "chunks_$size=$chunks"
  step "open $size" "$av" stats
  step "verify $size" "$av" verify
  step "gc $size" "$av" gc
  ids=$("$av" list --json | python3 -c 'import json,sys; t=json.load(sys.stdin); t=t.get("tracks",t) if isinstance(t,dict) else t; print(" ".join(x["id"] for x in t[: max(1, len(t)//10)]))')
  "$av" trash $ids >/dev/null
  step "purge $size" "$av" purge
  echo "  $size MiB: $chunks chunk files" >&2
done

small=${sizes[0]} large=${sizes[1]}
small_chunks=$(eval echo "\$chunks_$small") large_chunks=$(eval echo "\$chunks_$large")
printf '\n%-10s %12s %9s %12s %9s %8s\n' "step" "$small_chunks ch" "peak" "$large_chunks ch" "peak" "ratio"
for s in import open verify gc purge; do
  a=${secs["$s $small"]} b=${secs["$s $large"]}
  ratio=$(python3 -c "print(f'{$b / max($a, 0.01):.1f}')")
  printf '%-10s %10.2f s %6d MB %10.2f s %6d MB %7s×\n' "$s" "$a" "$((${rss["$s $small"]} / 1024))" \
    "$b" "$((${rss["$s $large"]} / 1024))" "$ratio"
done
echo "(chunks ×$(python3 -c "print(f'{$large_chunks / $small_chunks:.1f}')"); a ratio near that is linear)"
