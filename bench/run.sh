#!/usr/bin/env bash
# Audiovault benchmark: import, re-import, export and verify of a corpus of real audio,
# side by side with cp -r + sync, sha256sum, openssl, restic and borg on the same bytes,
# in one run: the median of N runs of each step (wall, user and system CPU), MiB/s and
# ratios; plus peak memory importing one 1 GiB WAV, and push / clone to a loopback Garage
# (S3) beside rclone copy of the plain files. The report is printed, and written as text
# and as JSON side by side (BENCH_OUT.txt, BENCH_OUT.json).
#
# usage: bench/run.sh [SCALE]      SCALE for ../shared/tools/make-corpus.sh (default: small)
# env:   BENCH_RUNS     runs per step; each step's figures are the medians (default: 5)
#        BENCH_CORPUS   an existing corpus folder to measure instead of making one
#        BENCH_OUT      report path without extension (default: <BENCH_DIR>/report-<UTC time>)
#        BENCH_SKIP     space-separated sections to leave out: sync big tools
#        AUDIOVAULT_BIN the audiovault binary to measure (default: a release build of this tree)
#        AUDIOVAULT_BIN_BEFORE  a second binary (say, the previous commit's) whose import,
#                       re-import, export, verify and stats are measured in the same run,
#                       with the ratios of the first to it
#        BENCH_DIR      where the corpus and scratch copies live (default: <target>/bench)
#        MAKE_CORPUS    corpus generator (default: ../shared/tools/make-corpus.sh beside the
#                       repository, else our own tests/fixtures/make-corpus.sh)
#        GARAGE_BIN     Garage for the sync figures (default: garage on PATH, else
#                       ~/.cargo/bin/garage); the sync section is skipped, with a notice, without
#                       Garage, rclone, or an audiovault that has the push command
#
# Before every timed run: `sync` (so no step pays for the previous one's dirty pages), then
# the page cache is dropped where this process may (root outside a container:
# /proc/sys/vm/drop_caches), so every tool reads the corpus from the disk; where it may not,
# every figure is warm-cache, and the report says which. Either way every tool runs under
# the same conditions, so the ratios compare like with like.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scale=${1:-small}
target=${CARGO_TARGET_DIR:-$repo/target}
work=${BENCH_DIR:-$target/bench}
runs=${BENCH_RUNS:-5}
skip=" ${BENCH_SKIP:-} "
mkdir -p "$work"
work=$(cd "$work" && pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${BENCH_OUT:-$work/report-$stamp}
mkdir -p "$(dirname "$out")"
skipped() { [[ $skip == *" $1 "* ]]; }

log() { printf '==> %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench/run.sh: $1 is needed ($2)" >&2; exit 1; }; }
need ffmpeg "apt-get install ffmpeg"
need openssl "apt-get install openssl"
need sha256sum "coreutils"
[ -x /usr/bin/time ] || { echo "bench/run.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
case $runs in '' | *[!0-9]* | 0) echo "bench/run.sh: BENCH_RUNS must be a positive number" >&2; exit 2 ;; esac

# --- corpus -------------------------------------------------------------------------
if [ -n "${BENCH_CORPUS:-}" ]; then
  corpus=$(cd "$BENCH_CORPUS" && pwd)
  log "corpus: $corpus (BENCH_CORPUS)"
else
  shared=${MAKE_CORPUS:-$repo/../shared/tools/make-corpus.sh}
  if [ -f "$shared" ]; then
    corpus=$work/corpus-$scale
    log "corpus: $shared $corpus $scale"
    bash "$shared" "$corpus" "$scale" >&2
  else
    corpus=$work/corpus-own
    log "corpus: tests/fixtures/make-corpus.sh $corpus all (no ../shared/tools/make-corpus.sh)"
    bash tests/fixtures/make-corpus.sh "$corpus" all >&2
  fi
fi
# The audio: every non-hidden file except the .tsv oracles.
list=$work/files.list
(cd "$corpus" && find . -type f ! -path '*/.*' ! -name '*.tsv' -printf '%P\0' | LC_ALL=C sort -z) >"$list"
nfiles=$(tr -cd '\0' <"$list" | wc -c)
bytes=$(cd "$corpus" && xargs -0 stat -c %s <"$list" | awk '{s+=$1} END {print s}')
# A folder with only the audio, as hard links (or copies across file systems): what every
# tool reads. Named after the corpus's path, so two corpora never share one.
audio=$work/audio-$(printf '%s' "$corpus" | sha256sum | cut -c1-12)
if [ ! -d "$audio" ]; then
  mkdir -p "$audio.partial"
  (cd "$corpus" && { xargs -0 cp --parents -l -t "$audio.partial" <"$list" 2>/dev/null ||
    xargs -0 cp --parents -t "$audio.partial" <"$list"; })
  mv "$audio.partial" "$audio"
fi

# --- the binary ---------------------------------------------------------------------
if [ -n "${AUDIOVAULT_BIN:-}" ]; then
  av=$AUDIOVAULT_BIN
  log "audiovault: $av (AUDIOVAULT_BIN)"
else
  log "cargo build --release -p audiovault-cli"
  cargo build --release -q -p audiovault-cli
  av=$target/release/audiovault
fi
[ -x "$av" ] || { echo "bench/run.sh: $av is not an executable" >&2; exit 1; }

# --- timing -------------------------------------------------------------------------------
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
  if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Drop the page cache only if a test write works (the file can look writable in a
# container and still refuse).
drop=0
if sync && (echo 1 >/proc/sys/vm/drop_caches) 2>/dev/null; then drop=1; fi
settle() {
  sync
  if [ $drop = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}
declare -A wall user sys nruns series
order=()
# measure NAME SETUP CMD... : runs SETUP (untimed, a shell string; "" for none), settles,
# then times CMD (stdout discarded), $runs times (RUNS=1 before the call for a single run);
# keeps the medians of wall, user and system CPU seconds (CPU of CMD and its children).
measure() {
  local name=$1 setup=$2; shift 2
  local n=${RUNS:-$runs} i w=() u=() s=() t0 t1 cpu
  for ((i = 0; i < n; i++)); do
    if [ -n "$setup" ]; then eval "$setup"; fi
    settle
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f '%U %S' -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt"; then
      echo "bench/run.sh: '$name' failed:" >&2
      tail -n 20 "$work/stderr.txt" >&2
      exit 1
    fi
    t1=$(date +%s.%N)
    w+=("$(calc "$t1 - $t0")")
    cpu=$(tail -n 1 "$work/time.txt")
    u+=("${cpu% *}")
    s+=("${cpu#* }")
  done
  wall[$name]=$(median "${w[@]}")
  user[$name]=$(median "${u[@]}")
  sys[$name]=$(median "${s[@]}")
  nruns[$name]=$n
  series[$name]="${w[*]}"
  order+=("$name")
  printf '    %-28s %8.2f s  (user %.2f, sys %.2f; %d runs: %s)\n' "$name" "${wall[$name]}" \
    "${user[$name]}" "${sys[$name]}" "$n" "${w[*]}" >&2
}
has() { [ -n "${wall[$1]:-}" ]; }

scratch=$work/scratch
fresh() { rm -rf "$scratch"; mkdir -p "$scratch"; }
export AUDIOVAULT_PASSPHRASE="bench passphrase (not secret)"
# The weak KDF below and this short passphrase are refused unless the floors are lifted
# (AUDIOVAULT_ALLOW_WEAK_PASSPHRASE: for tests and benchmarks only).
export AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1
# The KDF is weakened for these vaults so that each command's unlock (Argon2id, 64 MiB
# by default, ~0.1-0.3 s) does not blur the throughput figures; the memory figure below
# is also measured with the default KDF.
init_vault_with() { rm -rf "$2"; AUDIOVAULT_VAULT=$2 "$1" init --kdf-memory-kib 1024 --kdf-iterations 1 >/dev/null; }
init_vault() { init_vault_with "$av" "$1"; }

mib=$(calc "$bytes / 1048576")
cache=$([ $drop = 1 ] && echo "dropped before each run" || echo "warm (cannot be dropped here)")
log "$nfiles files, $(printf %.0f "$mib") MiB in $corpus; $runs runs per step; page cache $cache"
[ $drop = 1 ] || find "$audio" -type f -exec cat {} + >/dev/null # warm the cache

# --- references ------------------------------------------------------------------------
fresh
measure "cp -r + sync" "rm -rf '$scratch/copy'" bash -c "cp -r '$audio' '$scratch/copy' && sync"
rm -rf "$scratch/copy"
measure "sha256sum" "" bash -c "cd '$audio' && find . -type f -print0 | xargs -0 sha256sum"
measure "openssl dgst -sha256" "" bash -c "cd '$audio' && find . -type f -print0 | xargs -0 openssl dgst -sha256"
restic_v="" borg_v=""
if ! skipped tools && command -v restic >/dev/null; then
  restic_v=$(restic version | cut -d' ' -f1-2)
  export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$scratch/restic
  # restic's defaults (0.14: repository v2, compression auto) as a user gets them.
  measure "restic backup" "rm -rf '$scratch/restic'; restic init -q >/dev/null" restic backup -q "$audio"
  measure "restic restore + sync" "rm -rf '$scratch/restored'" \
    bash -c "restic restore -q latest --target '$scratch/restored' && sync"
  measure "restic check --read-data" "" restic check -q --read-data
  rm -rf "$scratch/restic" "$scratch/restored"
  unset RESTIC_REPOSITORY RESTIC_PASSWORD
fi
if ! skipped tools && command -v borg >/dev/null; then
  borg_v=$(borg --version)
  export BORG_PASSPHRASE=bench BORG_REPO=$scratch/borg BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
  export BORG_BASE_DIR=$scratch/borg-home
  # Authenticated encryption as audiovault's, borg's default compression (lz4); borg
  # commits its repository with fsync, so no sync is added.
  measure "borg create" "rm -rf '$scratch/borg' '$scratch/borg-home'; borg init -e repokey-blake2 >/dev/null 2>&1" \
    borg create "::a" "$audio"
  measure "borg extract + sync" "rm -rf '$scratch/extracted'; mkdir -p '$scratch/extracted'" \
    bash -c "cd '$scratch/extracted' && borg extract ::a && sync"
  measure "borg check --verify-data" "" borg check --verify-data
  rm -rf "$scratch/borg" "$scratch/borg-home" "$scratch/extracted"
  unset BORG_PASSPHRASE BORG_REPO BORG_BASE_DIR
fi

# --- audiovault ------------------------------------------------------------------------
fresh
export AUDIOVAULT_VAULT=$scratch/vault
measure "audiovault import" "init_vault '$AUDIOVAULT_VAULT'" "$av" import --json "$audio"
measure "audiovault re-import" "" "$av" import --json "$audio"
measure "audiovault export --all" "rm -rf '$scratch/export'" "$av" export --all --to "$scratch/export" --json
measure "audiovault verify" "" "$av" verify --json
measure "audiovault stats" "" "$av" stats --json
# Metadata extraction (the header probe) re-run from the stored, encrypted bytes, and the
# deep analysis (full decode: waveform + same-audio fingerprint): once, since a second
# analyze finds nothing left to do.
measure "audiovault rescan --all" "" "$av" rescan --all --json
RUNS=1 measure "audiovault analyze" "" "$av" analyze --json
stored=$("$av" stats --json | grep -o '"stored_bytes": *[0-9]*' | grep -o '[0-9]*$' || true)
# Exports are byte-identical: the same set of checksums (a corpus's exact copies of one
# file are one track, exported once).
(cd "$audio" && find . -type f -print0 | xargs -0 sha256sum | cut -d' ' -f1 | sort -u) >"$work/src.sha"
(cd "$scratch/export" && find . -type f -print0 | xargs -0 sha256sum | cut -d' ' -f1 | sort -u) >"$work/exp.sha"
if cmp -s "$work/src.sha" "$work/exp.sha"; then export_ok=yes; else export_ok="NO (checksums differ)"; fi

# --- the same steps with the previous binary, in this run --------------------------------------
before_bin=${AUDIOVAULT_BIN_BEFORE:-}
if [ -n "$before_bin" ]; then
  [ -x "$before_bin" ] || { echo "bench/run.sh: $before_bin is not an executable" >&2; exit 1; }
  log "before: $before_bin ($("$before_bin" --version 2>/dev/null | head -n1))"
  bv=$scratch/vault-before
  measure "before: import" "init_vault_with '$before_bin' '$bv'" env AUDIOVAULT_VAULT="$bv" "$before_bin" import --json "$audio"
  measure "before: re-import" "" env AUDIOVAULT_VAULT="$bv" "$before_bin" import --json "$audio"
  measure "before: export --all" "rm -rf '$scratch/export-before'" env AUDIOVAULT_VAULT="$bv" "$before_bin" export --all --to "$scratch/export-before" --json
  measure "before: verify" "" env AUDIOVAULT_VAULT="$bv" "$before_bin" verify --json
  measure "before: stats" "" env AUDIOVAULT_VAULT="$bv" "$before_bin" stats --json
  rm -rf "$bv" "$scratch/export-before"
fi

# --- sync: push to and clone from a loopback Garage, beside rclone copy -----------------------
# A single-node Garage in the scratch folder, started the way tests/src/garage.rs starts it:
# `garage server --single-node --default-bucket` creates the layout, the key and the bucket
# from GARAGE_DEFAULT_* before the S3 API listens. One run each (a second push finds
# nothing new, which is itself a figure).
garage_bin=${GARAGE_BIN:-$(command -v garage 2>/dev/null || echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage")}
sync_skip=""
if skipped sync; then
  sync_skip="BENCH_SKIP names it"
elif [ ! -x "$garage_bin" ]; then
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
clone_ok="" remote_bytes=""
if [ -n "$sync_skip" ]; then
  log "sync: skipped: $sync_skip"
else
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
  RUNS=1 measure "rclone copy (to Garage)" "" env -u AWS_CA_BUNDLE rclone -q copy "$audio" "garage:$garage_bucket/rclone"
  # The vault imported above, pushed under its own prefix of the same bucket. Credentials
  # through the standard variables.
  export AWS_ACCESS_KEY_ID=$garage_key AWS_SECRET_ACCESS_KEY=$garage_secret
  "$av" remote set --endpoint "$garage_endpoint" --bucket "$garage_bucket" --prefix vault \
    --region garage --path-style >/dev/null
  RUNS=1 measure "audiovault push" "" "$av" push
  RUNS=1 measure "audiovault push again" "" "$av" push
  RUNS=1 measure "audiovault clone" "" env -u AUDIOVAULT_VAULT "$av" clone "s3://$garage_bucket/vault" \
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
big_line="" big_json="null"
if ! skipped big; then
  big=$work/one-gib.wav
  if [ ! -f "$big" ]; then
    log "generating a 1 GiB WAV (48 kHz, 16-bit stereo, 5592 s of noise)"
    ffmpeg -nostdin -v error -f lavfi -i "anoisesrc=d=5592.4:c=pink:r=48000:a=0.3:seed=42" \
      -ac 2 -c:a pcm_s16le -y "$big.partial.wav"
    mv "$big.partial.wav" "$big"
  fi
  big_bytes=$(stat -c %s "$big")
  peak_rss() { # VAULT -> prints "kib seconds user system"
    settle
    /usr/bin/time -v -o "$work/time.txt" env AUDIOVAULT_VAULT="$1" "$av" import --json "$big" >/dev/null
    awk -F': ' '/Maximum resident set size/ {k=$2} /Elapsed \(wall clock\)/ {e=$2}
      /User time/ {u=$2} /System time/ {s=$2} END {
        n = split(e, p, ":"); t = 0; for (i = 1; i <= n; i++) t = t * 60 + p[i]; print k, t, u, s }' "$work/time.txt"
  }
  init_vault "$scratch/v1"
  read -r rss_weak t_big u_big s_big < <(peak_rss "$scratch/v1")
  AUDIOVAULT_VAULT=$scratch/v2 "$av" init >/dev/null # default KDF (Argon2id 64 MiB)
  read -r rss_default _ _ _ < <(peak_rss "$scratch/v2")
  fresh
  big_line=$(printf 'import of one %.2f GiB WAV: %.2f s (%.0f MiB/s, user %.2f s, sys %.2f s; one run); peak RSS %.1f MiB (weak KDF), %.1f MiB with the default KDF (Argon2id 64 MiB)  — target < 128 MiB' \
    "$(calc "$big_bytes / 1073741824")" "$t_big" "$(calc "$big_bytes / 1048576 / $t_big")" "$u_big" "$s_big" \
    "$(calc "$rss_weak / 1024")" "$(calc "$rss_default / 1024")")
  big_json=$(printf '{"bytes": %s, "wall_s": %s, "user_s": %s, "sys_s": %s, "peak_rss_kib_weak_kdf": %s, "peak_rss_kib_default_kdf": %s}' \
    "$big_bytes" "$t_big" "$u_big" "$s_big" "$rss_weak" "$rss_default")
fi
rm -rf "$scratch"

# --- ratios ------------------------------------------------------------------------------
# ratio_of A B: A's median wall time over B's (both measured above), else nothing.
declare -A ratios
ratio_names=()
ratio() { # KEY A B
  if has "$2" && has "$3"; then
    ratios[$1]=$(calc "${wall[$2]} / ${wall[$3]}")
    ratio_names+=("$1")
  fi
}
ratio "import / cp -r + sync" "audiovault import" "cp -r + sync"
ratio "import / restic backup" "audiovault import" "restic backup"
ratio "import / borg create" "audiovault import" "borg create"
ratio "re-import / openssl dgst -sha256" "audiovault re-import" "openssl dgst -sha256"
ratio "re-import / import" "audiovault re-import" "audiovault import"
ratio "export / cp -r + sync" "audiovault export --all" "cp -r + sync"
ratio "export / restic restore + sync" "audiovault export --all" "restic restore + sync"
ratio "export / borg extract + sync" "audiovault export --all" "borg extract + sync"
ratio "verify / sha256sum" "audiovault verify" "sha256sum"
ratio "verify / openssl dgst -sha256" "audiovault verify" "openssl dgst -sha256"
ratio "verify / restic check --read-data" "audiovault verify" "restic check --read-data"
ratio "verify / borg check --verify-data" "audiovault verify" "borg check --verify-data"
ratio "push / rclone copy" "audiovault push" "rclone copy (to Garage)"
ratio "clone / push" "audiovault clone" "audiovault push"
for step in import re-import "export --all" verify stats; do
  ratio "$step / before" "audiovault $step" "before: $step"
done
rof() { printf '%.2f×' "${ratios[$1]}"; }

# --- report ----------------------------------------------------------------------------
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')
avv=$("$av" --version 2>/dev/null | head -n1 || echo '?')
{
  echo "Audiovault benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, page cache $cache"
  echo "corpus: $nfiles files, $(printf %.1f "$mib") MiB ($corpus); $avv ($av), tree $commit"
  echo "each figure: the median of $runs runs (or as shown), sync before each run; CPU = user + system of the command and its children"
  [ -n "$restic_v$borg_v" ] && echo "references: ${restic_v:-no restic} (defaults: repository v2, compression auto), ${borg_v:-no borg} (repokey-blake2, lz4)"
  echo
  printf '%-30s %8s %8s %8s %8s %5s   %s\n' "step" "wall s" "user s" "sys s" "MiB/s" "runs" "compared with"
  printf '%-30s %8s %8s %8s %8s %5s   %s\n' "----" "------" "------" "-----" "-----" "----" "-------------"
  for name in "${order[@]}"; do
    note=""
    case $name in
      "audiovault import")
        note="$(rof "import / cp -r + sync") cp+sync (target ≤ 1.5)"
        [ -n "${ratios[import / restic backup]:-}" ] && note+=", $(rof "import / restic backup") restic"
        [ -n "${ratios[import / borg create]:-}" ] && note+=", $(rof "import / borg create") borg" ;;
      "audiovault re-import")
        note="$(rof "re-import / openssl dgst -sha256") openssl sha256 (reading + hashing), $(rof "re-import / import") import" ;;
      "audiovault export --all")
        note="$(rof "export / cp -r + sync") cp+sync (target ≤ 1.3)"
        [ -n "${ratios[export / restic restore + sync]:-}" ] && note+=", $(rof "export / restic restore + sync") restic restore"
        [ -n "${ratios[export / borg extract + sync]:-}" ] && note+=", $(rof "export / borg extract + sync") borg extract"
        note+="; byte-identical: $export_ok" ;;
      "audiovault verify")
        note="$(rof "verify / sha256sum") sha256sum, $(rof "verify / openssl dgst -sha256") openssl"
        [ -n "${ratios[verify / restic check --read-data]:-}" ] && note+=", $(rof "verify / restic check --read-data") restic check"
        [ -n "${ratios[verify / borg check --verify-data]:-}" ] && note+=", $(rof "verify / borg check --verify-data") borg check" ;;
      "audiovault rescan --all") note="$(printf '%.0f files/s (header probe of every track, read back from the vault)' "$(calc "$nfiles / ${wall[$name]}")")" ;;
      "audiovault analyze") note="$(printf '%.1f files/s (full decode: waveform + fingerprint)' "$(calc "$nfiles / ${wall[$name]}")")" ;;
      "before: "*) step=${name#before: }
        note="this step of AUDIOVAULT_BIN_BEFORE; the binary above: $(rof "$step / before")" ;;
      "audiovault push") note="$(rof "push / rclone copy") rclone copy (target ≤ 1.0)" ;;
      "audiovault push again") note="nothing new to upload (target < 1 s)" ;;
      "audiovault clone") note="$(rof "clone / push") push; verified, all tracks: $clone_ok" ;;
    esac
    printf '%-30s %8.2f %8.2f %8.2f %8.0f %5d   %s\n' "$name" "${wall[$name]}" "${user[$name]}" "${sys[$name]}" \
      "$(calc "$mib / ${wall[$name]}")" "${nruns[$name]}" "$note"
  done
  echo
  [ -n "$sync_skip" ] && echo "sync (push, clone): skipped: $sync_skip"
  [ -n "$remote_bytes" ] && printf 'remote: %.1f MiB in the bucket for %.1f MiB of files (%.3f×)\n' "$(calc "$remote_bytes / 1048576")" "$mib" "$(calc "$remote_bytes / $bytes")"
  [ -n "$stored" ] && printf 'stored: %.1f MiB for %.1f MiB of files (%.3f×)\n' "$(calc "$stored / 1048576")" "$mib" "$(calc "$stored / $bytes")"
  [ -n "$big_line" ] && echo "$big_line"
  true
} | tee "$out.txt"

# --- JSON, beside the text -------------------------------------------------------------------
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
{
  printf '{\n  "date": %s,\n  "tree": %s,\n  "audiovault": %s,\n  "cores": %s,\n' \
    "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(jstr "$commit")" "$(jstr "$avv")" "$(nproc)"
  printf '  "page_cache": %s,\n  "runs": %s,\n' "$(jstr "$([ $drop = 1 ] && echo dropped || echo warm)")" "$runs"
  printf '  "corpus": {"path": %s, "files": %s, "bytes": %s},\n' "$(jstr "$corpus")" "$nfiles" "$bytes"
  printf '  "steps": [\n'
  sep=""
  for name in "${order[@]}"; do
    printf '%s    {"name": %s, "runs": %s, "wall_s": %s, "user_s": %s, "sys_s": %s, "mib_per_s": %s, "wall_s_each": [%s]}' \
      "$sep" "$(jstr "$name")" "${nruns[$name]}" "${wall[$name]}" "${user[$name]}" "${sys[$name]}" \
      "$(calc "$mib / ${wall[$name]}")" "$(echo "${series[$name]}" | sed 's/ /, /g')"
    sep=$',\n'
  done
  printf '\n  ],\n  "ratios": {'
  sep=""
  for r in "${ratio_names[@]}"; do
    printf '%s\n    %s: %s' "$sep" "$(jstr "$r")" "${ratios[$r]}"
    sep=","
  done
  printf '\n  },\n'
  printf '  "export_identical": %s,\n' "$([ "$export_ok" = yes ] && echo true || echo false)"
  printf '  "stored_bytes": %s,\n' "${stored:-null}"
  printf '  "remote_bytes": %s,\n' "${remote_bytes:-null}"
  printf '  "clone_verified": %s,\n' "$([ -z "$clone_ok" ] && echo null || { [ "$clone_ok" = yes ] && echo true || echo false; })"
  printf '  "import_one_gib_wav": %s\n}\n' "$big_json"
} >"$out.json"
log "report: $out.txt and $out.json"
