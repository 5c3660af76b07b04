#!/usr/bin/env bash
# Audiovault benchmark: import, re-import, export and verify of a corpus of real audio,
# side by side with cp -r + sync, sha256sum, openssl and restic on the same bytes, in
# one run, as MiB/s and ratios; plus peak memory importing one 1 GiB WAV, and push / clone
# to a loopback Garage (S3) beside rclone copy of the plain files.
#
# usage: bench/run.sh [SCALE]      SCALE for ../shared/tools/make-corpus.sh (default: small)
# env:   BENCH_DIR    where the corpus and scratch copies live (default: <target>/bench)
#        MAKE_CORPUS  corpus generator (default: ../shared/tools/make-corpus.sh beside the
#                     repository, else our own tests/fixtures/make-corpus.sh)
#        GARAGE_BIN   Garage for the sync figures (default: garage on PATH, else
#                     ~/.cargo/bin/garage); the sync section is skipped, with a notice, without
#                     Garage, rclone, or an audiovault that has the push command
#
# Page caches cannot be dropped here (no privilege over /proc/sys/vm in a container), so
# every figure is warm-cache: each tool reads files that are in memory, and the
# comparisons are between tools under the same conditions.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scale=${1:-small}
target=${CARGO_TARGET_DIR:-$repo/target}
work=${BENCH_DIR:-$target/bench}
mkdir -p "$work"
work=$(cd "$work" && pwd)

log() { printf '==> %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench/run.sh: $1 is needed ($2)" >&2; exit 1; }; }
need ffmpeg "apt-get install ffmpeg"
need openssl "apt-get install openssl"
need sha256sum "coreutils"
[ -x /usr/bin/time ] || { echo "bench/run.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

# --- corpus -------------------------------------------------------------------------
shared=${MAKE_CORPUS:-$repo/../shared/tools/make-corpus.sh}
if [ -x "$shared" ] || [ -f "$shared" ]; then
  corpus=$work/corpus-$scale
  log "corpus: $shared $corpus $scale"
  bash "$shared" "$corpus" "$scale" >&2
else
  corpus=$work/corpus-own
  log "corpus: tests/fixtures/make-corpus.sh $corpus all (no ../shared/tools/make-corpus.sh)"
  bash tests/fixtures/make-corpus.sh "$corpus" all >&2
fi
# The audio: every non-hidden file except the .tsv oracles.
list=$work/files.list
(cd "$corpus" && find . -type f ! -path '*/.*' ! -name '*.tsv' -printf '%P\0' | LC_ALL=C sort -z) >"$list"
nfiles=$(tr -cd '\0' <"$list" | wc -c)
bytes=$(cd "$corpus" && xargs -0 stat -c %s <"$list" | awk '{s+=$1} END {print s}')
# A folder with only the audio, as hard links: what every tool reads.
audio=$work/audio-$(basename "$corpus")
if [ ! -d "$audio" ]; then
  mkdir -p "$audio.partial"
  (cd "$corpus" && xargs -0 cp --parents -l -t "$audio.partial" <"$list")
  mv "$audio.partial" "$audio"
fi

# --- build --------------------------------------------------------------------------
log "cargo build --release -p audiovault-cli"
cargo build --release -q -p audiovault-cli
av=$target/release/audiovault

# --- timing helpers ----------------------------------------------------------------------
declare -A secs
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
# measure NAME CMD... : wall seconds of CMD (stdout discarded)
measure() {
  local name=$1; shift
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  secs[$name]=$(calc "$t1 - $t0")
  printf '    %-28s %8.2f s\n' "$name" "${secs[$name]}" >&2
}
scratch=$work/scratch
fresh() { rm -rf "$scratch"; mkdir -p "$scratch"; }
export AUDIOVAULT_PASSPHRASE="bench passphrase (not secret)"
# The weak KDF below and this short passphrase are refused unless the floors are lifted
# (AUDIOVAULT_ALLOW_WEAK_PASSPHRASE: for tests and benchmarks only).
export AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1
# The KDF is weakened for these vaults so that each command's unlock (Argon2id, 64 MiB
# by default, ~0.1-0.3 s) does not blur the throughput figures; the memory figure below
# is also measured with the default KDF.
init_vault() { AUDIOVAULT_VAULT=$1 "$av" init --kdf-memory-kib 1024 --kdf-iterations 1 >/dev/null; }

mib=$(calc "$bytes / 1048576")
log "$nfiles files, $(printf %.0f "$mib") MiB in $corpus (warm cache)"
find "$audio" -type f -exec cat {} + >/dev/null # warm the cache

# --- references ------------------------------------------------------------------------
fresh
measure "cp -r + sync" bash -c "cp -r '$audio' '$scratch/copy' && sync"
measure "sha256sum" bash -c "cd '$audio' && find . -type f -print0 | xargs -0 sha256sum"
measure "openssl dgst -sha256" bash -c "cd '$audio' && find . -type f -print0 | xargs -0 openssl dgst -sha256"
have_restic=0
if command -v restic >/dev/null; then
  have_restic=1
  export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$scratch/restic
  restic init -q >/dev/null
  measure "restic backup" restic backup -q "$audio"
  measure "restic check --read-data" restic check -q --read-data
  unset RESTIC_REPOSITORY
fi

# --- audiovault ------------------------------------------------------------------------
fresh
export AUDIOVAULT_VAULT=$scratch/vault
init_vault "$AUDIOVAULT_VAULT"
measure "audiovault import" "$av" import --json "$audio"
measure "audiovault re-import" "$av" import --json "$audio"
measure "audiovault export --all" "$av" export --all --to "$scratch/export" --json
measure "audiovault verify" "$av" verify --json
# Metadata extraction (the header probe) re-run from the stored, encrypted bytes,
# and the deep analysis (full decode: waveform + same-audio fingerprint).
measure "audiovault rescan --all" "$av" rescan --all --json
measure "audiovault analyze" "$av" analyze --json
stored=$("$av" stats --json | grep -o '"stored_bytes": *[0-9]*' | grep -o '[0-9]*$' || true)
# Exports are byte-identical: the same multiset of checksums.
(cd "$audio" && find . -type f -print0 | xargs -0 sha256sum | cut -d' ' -f1 | sort -u) >"$work/src.sha"
(cd "$scratch/export" && find . -type f -print0 | xargs -0 sha256sum | cut -d' ' -f1 | sort -u) >"$work/exp.sha"
if cmp -s "$work/src.sha" "$work/exp.sha"; then export_ok=yes; else export_ok="NO (checksums differ)"; fi

# --- sync: push to and clone from a loopback Garage, beside rclone copy -----------------------
# A single-node Garage in the scratch folder, started the way tests/src/garage.rs starts it:
# `garage server --single-node --default-bucket` creates the layout, the key and the bucket
# from GARAGE_DEFAULT_* before the S3 API listens.
garage_bin=${GARAGE_BIN:-$(command -v garage 2>/dev/null || echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage")}
sync_skip=""
if [ ! -x "$garage_bin" ]; then
  sync_skip="no garage binary (cargo install garage --version 2.5.0 --locked, ~16 min; or set GARAGE_BIN)"
elif ! command -v rclone >/dev/null 2>&1; then
  sync_skip="no rclone (apt-get install rclone)"
elif ! "$av" push --help >/dev/null 2>&1; then
  sync_skip="this audiovault has no push command yet (audiovault push --help fails)"
fi
garage_pid=""
garage_stop() {
  if [ -n "$garage_pid" ]; then
    kill -9 "$garage_pid" 2>/dev/null || true
    wait "$garage_pid" 2>/dev/null || true
    garage_pid=""
  fi
}
trap garage_stop EXIT
# free_port: a loopback port nothing listens on (bash's /dev/tcp: a refused connect).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
# garage_start DIR: sets garage_pid, garage_endpoint, garage_key, garage_secret, garage_bucket.
garage_start() {
  local dir=$1 s3 rpc admin i
  s3=$(free_port); rpc=$(free_port); admin=$(free_port)
  while [ "$rpc" = "$s3" ]; do rpc=$(free_port); done
  while [ "$admin" = "$s3" ] || [ "$admin" = "$rpc" ]; do admin=$(free_port); done
  garage_key=GK$(openssl rand -hex 12)
  garage_secret=$(openssl rand -hex 32)
  garage_bucket=audiovault-bench
  garage_endpoint=http://127.0.0.1:$s3
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"

[admin]
api_bind_addr = "127.0.0.1:$admin"
admin_token = "$(openssl rand -hex 32)"
TOML
  GARAGE_DEFAULT_ACCESS_KEY=$garage_key GARAGE_DEFAULT_SECRET_KEY=$garage_secret \
    GARAGE_DEFAULT_BUCKET=$garage_bucket RUST_LOG=garage=warn \
    "$garage_bin" -c "$dir/config.toml" server --single-node --default-bucket >"$dir/garage.log" 2>&1 &
  garage_pid=$!
  for i in $(seq 600); do # up to 60 s
    if ! kill -0 "$garage_pid" 2>/dev/null; then
      echo "bench/run.sh: garage exited during start-up; its log:" >&2
      tail -n 30 "$dir/garage.log" >&2
      exit 1
    fi
    # The key and bucket exist before the S3 API listens: an open port means ready.
    (exec 3<>"/dev/tcp/127.0.0.1/$s3") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/run.sh: garage's S3 API did not open port $s3 within 60 s (attempt $i); its log:" >&2
  tail -n 30 "$dir/garage.log" >&2
  exit 1
}
have_sync=0
if [ -n "$sync_skip" ]; then
  log "sync: skipped: $sync_skip"
else
  have_sync=1
  garage_start "$scratch/garage"
  log "sync: $("$garage_bin" --version | head -n1 | cut -d' ' -f1-2) at $garage_endpoint"
  # rclone's remote "garage:" entirely from the environment.
  export RCLONE_CONFIG_GARAGE_TYPE=s3 RCLONE_CONFIG_GARAGE_PROVIDER=Other \
    RCLONE_CONFIG_GARAGE_ENDPOINT=$garage_endpoint RCLONE_CONFIG_GARAGE_ACCESS_KEY_ID=$garage_key \
    RCLONE_CONFIG_GARAGE_SECRET_ACCESS_KEY=$garage_secret RCLONE_CONFIG_GARAGE_REGION=garage \
    RCLONE_CONFIG_GARAGE_FORCE_PATH_STYLE=true
  # AWS_CA_BUNDLE (set on some machines) makes rclone 1.60's S3 client fail outright
  # ("LoadCustomCABundleError … unsupported transport"); loopback http needs no CA.
  rc() { env -u AWS_CA_BUNDLE rclone -q "$@"; }
  rc lsf "garage:$garage_bucket" >/dev/null # the key and the bucket work
  measure "rclone copy" rc copy "$audio" "garage:$garage_bucket/rclone"
  # The vault imported above, pushed under its own prefix of the same bucket. Credentials
  # through the standard variables.
  export AWS_ACCESS_KEY_ID=$garage_key AWS_SECRET_ACCESS_KEY=$garage_secret
  "$av" remote set --endpoint "$garage_endpoint" --bucket "$garage_bucket" --prefix vault \
    --region garage --path-style >/dev/null
  measure "audiovault push" "$av" push
  measure "audiovault push again" "$av" push
  measure "audiovault clone" env -u AUDIOVAULT_VAULT "$av" clone "s3://$garage_bucket/vault" \
    --endpoint "$garage_endpoint" --region garage --path-style --vault "$scratch/clone"
  remote_bytes=$(rc size --json "garage:$garage_bucket/vault" | grep -o '"bytes": *[0-9]*' | grep -o '[0-9]*$' || true)
  # The clone has as many tracks, and every byte of it authenticates and re-hashes.
  tracks_of() { AUDIOVAULT_VAULT=$1 "$av" stats --json | grep -o '"tracks": *[0-9]*' | grep -o '[0-9]*$'; }
  if AUDIOVAULT_VAULT=$scratch/clone "$av" verify --json >/dev/null 2>&1 &&
    [ "$(tracks_of "$scratch/clone")" = "$(tracks_of "$AUDIOVAULT_VAULT")" ]; then
    clone_ok=yes
  else
    clone_ok="NO (verify failed or track counts differ)"
  fi
  garage_stop
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
fi
fresh

# --- peak memory: one 1 GiB WAV --------------------------------------------------------
big=$work/one-gib.wav
if [ ! -f "$big" ]; then
  log "generating a 1 GiB WAV (48 kHz, 16-bit stereo, 5592 s of noise)"
  ffmpeg -nostdin -v error -f lavfi -i "anoisesrc=d=5592.4:c=pink:r=48000:a=0.3:seed=42" \
    -ac 2 -c:a pcm_s16le -y "$big.partial.wav"
  mv "$big.partial.wav" "$big"
fi
big_bytes=$(stat -c %s "$big")
peak_rss() { # VAULT -> prints "kib seconds"
  /usr/bin/time -v -o "$work/time.txt" env AUDIOVAULT_VAULT="$1" "$av" import --json "$big" >/dev/null
  awk -F': ' '/Maximum resident set size/ {k=$2} /Elapsed \(wall clock\)/ {e=$2} END {
      n = split(e, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print k, s }' "$work/time.txt"
}
init_vault "$scratch/v1"
read -r rss_weak t_big < <(peak_rss "$scratch/v1")
AUDIOVAULT_VAULT=$scratch/v2 "$av" init >/dev/null # default KDF (Argon2id 64 MiB)
read -r rss_default _ < <(peak_rss "$scratch/v2")
fresh

# --- report ----------------------------------------------------------------------------
rate() { calc "$mib / $1"; }
ratio() { calc "$1 / $2"; }
row() { printf '%-30s %9.2f %10.0f   %s\n' "$1" "$2" "$(rate "$2")" "$3"; }
echo
echo "Audiovault benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, warm page cache (caches cannot be dropped here)"
echo "corpus: $nfiles files, $(printf %.1f "$mib") MiB ($corpus); audiovault $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') release build"
echo
printf '%-30s %9s %10s   %s\n' "operation" "seconds" "MiB/s" "compared with"
printf '%-30s %9s %10s   %s\n' "---------" "-------" "-----" "-------------"
row "cp -r + sync" "${secs[cp -r + sync]}" ""
row "sha256sum" "${secs[sha256sum]}" ""
row "openssl dgst -sha256" "${secs[openssl dgst -sha256]}" ""
if [ $have_restic = 1 ]; then
  row "restic backup" "${secs[restic backup]}" ""
  row "restic check --read-data" "${secs[restic check --read-data]}" ""
fi
imp=${secs[audiovault import]}
line="$(printf '%.2f× cp+sync (target ≤ 1.5)' "$(ratio "$imp" "${secs[cp -r + sync]}")")"
[ $have_restic = 1 ] && line+="$(printf ', %.2f× restic backup (target ≤ 1.0)' "$(ratio "$imp" "${secs[restic backup]}")")"
row "audiovault import" "$imp" "$line"
row "audiovault re-import" "${secs[audiovault re-import]}" \
  "$(printf '%.2f× openssl sha256 (reading + hashing), %.2f× import' "$(ratio "${secs[audiovault re-import]}" "${secs[openssl dgst -sha256]}")" "$(ratio "${secs[audiovault re-import]}" "$imp")")"
row "audiovault export --all" "${secs[audiovault export --all]}" \
  "$(printf '%.2f× cp+sync; byte-identical: %s' "$(ratio "${secs[audiovault export --all]}" "${secs[cp -r + sync]}")" "$export_ok")"
ver=${secs[audiovault verify]}
line="$(printf 'throughput %.2f× sha256sum (target ≥ 0.8)' "$(ratio "${secs[sha256sum]}" "$ver")")"
[ $have_restic = 1 ] && line+="$(printf ', %.2f× restic check --read-data' "$(ratio "${secs[restic check --read-data]}" "$ver")")"
row "audiovault verify" "$ver" "$line"
per_file() { calc "$nfiles / $1"; }
printf '%-30s %9.2f %10.0f   %.0f files/s (header probe of every track, read back from the vault)\n' \
  "audiovault rescan --all" "${secs[audiovault rescan --all]}" "$(rate "${secs[audiovault rescan --all]}")" "$(per_file "${secs[audiovault rescan --all]}")"
printf '%-30s %9.2f %10.0f   %.1f files/s (full decode: waveform + fingerprint)\n' \
  "audiovault analyze" "${secs[audiovault analyze]}" "$(rate "${secs[audiovault analyze]}")" "$(per_file "${secs[audiovault analyze]}")"
if [ $have_sync = 1 ]; then
  push=${secs[audiovault push]}
  row "rclone copy (to Garage)" "${secs[rclone copy]}" "plain files to a loopback Garage"
  row "audiovault push" "$push" "$(printf '%.2f× rclone copy (target ≤ 1.0)' "$(ratio "$push" "${secs[rclone copy]}")")"
  printf '%-30s %9.2f %10s   %s\n' "audiovault push again" "${secs[audiovault push again]}" "" "nothing new to upload (target < 1 s)"
  row "audiovault clone" "${secs[audiovault clone]}" \
    "$(printf '%.2f× push; verified, all tracks: %s' "$(ratio "${secs[audiovault clone]}" "$push")" "$clone_ok")"
else
  printf '%-30s %9s %10s   %s\n' "sync (push, clone)" "-" "-" "skipped: $sync_skip"
fi
echo
[ -n "${remote_bytes:-}" ] && printf 'remote: %.1f MiB in the bucket for %.1f MiB of files (%.3f×)\n' "$(calc "$remote_bytes / 1048576")" "$mib" "$(ratio "$remote_bytes" "$bytes")"
[ -n "$stored" ] && printf 'stored: %.1f MiB for %.1f MiB of files (%.3f×)\n' "$(calc "$stored / 1048576")" "$mib" "$(ratio "$stored" "$bytes")"
printf 'import of one %.2f GiB WAV: %.2f s (%.0f MiB/s); peak RSS %.1f MiB (weak KDF), %.1f MiB with the default KDF (Argon2id 64 MiB)  — target < 128 MiB\n' \
  "$(calc "$big_bytes / 1073741824")" "$t_big" "$(calc "$big_bytes / 1048576 / $t_big")" \
  "$(calc "$rss_weak / 1024")" "$(calc "$rss_default / 1024")"
