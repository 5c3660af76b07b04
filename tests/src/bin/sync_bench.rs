//! Sync at library scale (issue #15): a synthetic library of N tracks (default 20,000)
//! pushed to a real Garage on loopback through the byte-counting proxy, then: a clone on a
//! second device, an unchanged push, a push of 5 new tracks and the second device's pull
//! of them, and once more (the steady state, away from the clone). Prints time, bytes over
//! the wire (HTTP heads and bodies, counted at the proxy) and requests for each step.
//! With `--rclone` (and rclone on PATH), the same files copied up to the same Garage and
//! back by rclone are timed too, as the reference for push and clone (one request per
//! file: minutes at 20,000). Figures only: nothing here
//! asserts a time. `SYNC_BENCH_STDERR=1` prints each command's
//! output too.
//!
//!     AUDIOVAULT_BIN=target/release/audiovault cargo run --release -p audiovault-tests \
//!         --bin sync_bench -- [N] [--track-kib K] [--rclone]
//!
//! or `bench/sync.sh [N]`, which builds both first.
//!
//! The library is made of real (tiny) WAV files imported by `audiovault import`, not
//! rows written into a catalog behind the engine's back: the catalog snapshot, whose
//! size is what an incremental push is about, is then exactly what a user's would be
//! (tracks, chunk lists, records, the search index), and the import path is timed too.
//! The files are small (8 KiB of noise by default, one chunk each) so that building
//! 20,000 takes about a minute and the first push measures the per-track costs rather
//! than the loopback's throughput; the 5 new tracks are song-sized (4 MiB each), as the
//! issue's "their bytes + 2 MiB" is about songs.

use std::path::Path;
use std::time::Instant;

use audiovault_tests::fault_proxy::FaultProxy;
use audiovault_tests::garage::Garage;
use audiovault_tests::{Cmd, PASSPHRASE, TestVault, write_noise_wav};
use serde_json::Value;

const NEW_TRACKS: u64 = 5;
const NEW_TRACK_BYTES: u64 = 4 << 20;
const MIB: f64 = 1048576.0;

struct Args {
    tracks: u64,
    track_bytes: u64,
    rclone: bool,
}

fn args() -> Args {
    let mut out = Args {
        tracks: 20_000,
        track_bytes: 8 << 10,
        rclone: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--track-kib" => {
                out.track_bytes = it
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|k| k << 10)
                    .unwrap_or_else(|| usage());
            }
            "--rclone" => out.rclone = true,
            n => out.tracks = n.parse().unwrap_or_else(|_| usage()),
        }
    }
    out
}

fn usage() -> ! {
    eprintln!("usage: sync_bench [N tracks, default 20000] [--track-kib K, default 8] [--rclone]");
    std::process::exit(2)
}

/// The library: albums of 12 tracks, artists of 4 albums, names that vary as real ones do.
fn make_library(root: &Path, tracks: u64, bytes: u64, seed_base: u64) {
    for i in 0..tracks {
        let album = i / 12;
        let artist = album / 4;
        let dir = root
            .join(format!("Artist {artist:05}"))
            .join(format!("Album {album:06} ({})", 1960 + album % 60));
        if i % 12 == 0 {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        let name = format!("{:02} Track {i} of album {album}.wav", i % 12 + 1);
        write_noise_wav(&dir.join(name), seed_base + i, bytes);
    }
}

/// One step's figures at the proxy.
struct Step {
    name: &'static str,
    seconds: f64,
    up: u64,
    down: u64,
    requests: u64,
    /// The step's peak resident memory in MiB (GNU time, through bench/sync.sh).
    peak_mib: Option<f64>,
    note: String,
}

/// The peak memory of the last command, in MiB, when bench/sync.sh runs each
/// command under GNU time (`SYNC_BENCH_PEAK_FILE`).
fn last_peak_mib() -> Option<f64> {
    let file = std::env::var_os("SYNC_BENCH_PEAK_FILE")?;
    let text = std::fs::read_to_string(file).ok()?;
    let kib: f64 = text.lines().last()?.trim().parse().ok()?;
    Some(kib / 1024.0)
}

fn timed(proxy: &FaultProxy, name: &'static str, cmd: Cmd) -> (Step, Value) {
    proxy.reset_counters();
    let started = Instant::now();
    let run = cmd.arg("--json").run();
    let seconds = started.elapsed().as_secs_f64();
    let run = run.expect_ok();
    if std::env::var_os("SYNC_BENCH_STDERR").is_some() {
        eprintln!("{}", run.output());
    }
    let json = run.json();
    let step = Step {
        name,
        seconds,
        up: proxy.bytes_up(),
        down: proxy.bytes_down(),
        requests: proxy.requests(),
        peak_mib: last_peak_mib(),
        note: String::new(),
    };
    eprintln!("    {name}: {seconds:.2} s");
    (step, json)
}

struct Remote {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
}

impl Remote {
    fn cmd(&self, v: &TestVault, args: &[&str]) -> Cmd {
        v.cmd(args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
    }
}

/// `rclone` on PATH, if any.
fn rclone() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("rclone"))
        .find(|p| p.is_file())
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

fn main() {
    let args = args();
    let started = Instant::now();
    let garage = Garage::start();
    let proxy = FaultProxy::start(garage.s3_addr());
    let remote = Remote {
        endpoint: proxy.endpoint(),
        bucket: garage.bucket().to_string(),
        access_key: garage.access_key().to_string(),
        secret_key: garage.secret_key().to_string(),
    };
    let a = TestVault::new();
    let src = a.scratch_dir("library");
    eprintln!(
        "==> {} tracks of {} KiB in {}",
        args.tracks,
        args.track_bytes >> 10,
        src.display()
    );
    let t = Instant::now();
    make_library(&src, args.tracks, args.track_bytes, 0);
    let made = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let imported = a
        .cmd(["import", "--json"])
        .arg(&src)
        .run()
        .expect_ok()
        .json();
    let import_seconds = t.elapsed().as_secs_f64();
    eprintln!(
        "    made in {made:.1} s, imported in {import_seconds:.1} s: {}",
        imported["imported"]
    );
    remote
        .cmd(
            &a,
            &[
                "remote",
                "set",
                "--endpoint",
                &remote.endpoint,
                "--bucket",
                &remote.bucket,
                "--prefix",
                "bench",
                "--region",
                garage.region(),
                "--path-style",
            ],
        )
        .run()
        .expect_ok();
    let library_bytes: u64 = args.tracks * (44 + (args.track_bytes & !3));

    let mut steps = Vec::new();
    let (mut s, push) = timed(&proxy, "first push", remote.cmd(&a, &["push"]));
    s.note = format!(
        "library {:.1} MiB, catalog snapshot {:.1} MiB, {} packs",
        library_bytes as f64 / MIB,
        n(&push, "snapshot_bytes") as f64 / MIB,
        n(&push, "packs_uploaded")
    );
    steps.push(s);

    // The reference: rclone copying the same files to the same Garage, through the same
    // proxy, and back (what a clone is compared with), when rclone is installed.
    if let Some(rclone) = rclone().filter(|_| args.rclone) {
        let rc = |args: &[&str]| {
            let mut c = std::process::Command::new(&rclone);
            c.arg("-q")
                .args(args)
                .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
                .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
                .env("RCLONE_CONFIG_BENCH_ENDPOINT", &remote.endpoint)
                .env("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID", &remote.access_key)
                .env("RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY", &remote.secret_key)
                .env("RCLONE_CONFIG_BENCH_REGION", garage.region())
                .env("RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE", "true")
                // rclone's S3 client refuses a CA bundle it cannot load; loopback needs none.
                .env_remove("AWS_CA_BUNDLE");
            c
        };
        let dest = format!("bench:{}/rclone", remote.bucket);
        for (name, args) in [
            (
                "rclone copy up",
                vec!["copy".to_string(), src.display().to_string(), dest.clone()],
            ),
            (
                "rclone copy down",
                vec![
                    "copy".to_string(),
                    dest.clone(),
                    a.scratch("rclone-down").display().to_string(),
                ],
            ),
        ] {
            proxy.reset_counters();
            let started = Instant::now();
            let ok = rc(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .status()
                .is_ok_and(|s| s.success());
            steps.push(Step {
                name,
                seconds: started.elapsed().as_secs_f64(),
                up: proxy.bytes_up(),
                down: proxy.bytes_down(),
                requests: proxy.requests(),
                peak_mib: None,
                note: if ok {
                    "the plain files".into()
                } else {
                    "FAILED".into()
                },
            });
            eprintln!("    {name}: done");
        }
    }

    let b = TestVault::uninitialised(Some(PASSPHRASE));
    let url = format!("s3://{}/bench", remote.bucket);
    let (mut s, cloned) = timed(
        &proxy,
        "clone (device B)",
        remote.cmd(
            &b,
            &[
                "clone",
                &url,
                "--endpoint",
                &remote.endpoint,
                "--region",
                garage.region(),
                "--path-style",
            ],
        ),
    );
    s.note = format!("{} tracks added", n(&cloned["pull"], "tracks_added"));
    steps.push(s);

    let (mut s, again) = timed(&proxy, "unchanged push", remote.cmd(&a, &["push"]));
    s.note = format!("nothing_new: {}", again["nothing_new"]);
    steps.push(s);

    let new = a.scratch_dir("new");
    for i in 0..NEW_TRACKS {
        write_noise_wav(
            &new.join(format!("New {i}.wav")),
            1 << 40 | i,
            NEW_TRACK_BYTES,
        );
    }
    let new_bytes = NEW_TRACKS * (44 + NEW_TRACK_BYTES);
    a.cmd(["import", "--json"]).arg(&new).run().expect_ok();
    let (mut s, push5) = timed(&proxy, "push of 5 new tracks", remote.cmd(&a, &["push"]));
    s.note = format!(
        "tracks {:.1} MiB; over the wire {:.2} MiB beyond them (limit 2); snapshot {} chunks / {:.2} MiB sent",
        new_bytes as f64 / MIB,
        (s.up as f64 - new_bytes as f64) / MIB,
        n(&push5, "snapshot_chunks_uploaded"),
        (n(&push5, "bytes_uploaded") as f64 - new_bytes as f64) / MIB
    );
    steps.push(s);

    let (mut s, pulled) = timed(&proxy, "pull of them (device B)", remote.cmd(&b, &["pull"]));
    s.note = format!(
        "{} tracks added; over the wire {:.2} MiB beyond them (limit 2)",
        n(&pulled, "tracks_added"),
        (s.down as f64 - new_bytes as f64) / MIB
    );
    steps.push(s);

    // Again, now that neither device has just been cloned or first pushed: the
    // steady state (the first pull after a clone also checkpoints the clone's log).
    let more = a.scratch_dir("more");
    for i in 0..NEW_TRACKS {
        write_noise_wav(
            &more.join(format!("More {i}.wav")),
            2 << 40 | i,
            NEW_TRACK_BYTES,
        );
    }
    a.cmd(["import", "--json"]).arg(&more).run().expect_ok();
    let (mut s, push5) = timed(&proxy, "push of 5 more", remote.cmd(&a, &["push"]));
    s.note = format!(
        "over the wire {:.2} MiB beyond them; snapshot {} chunks",
        (s.up as f64 - new_bytes as f64) / MIB,
        n(&push5, "snapshot_chunks_uploaded"),
    );
    steps.push(s);
    let (mut s, pulled) = timed(&proxy, "pull of them (device B)", remote.cmd(&b, &["pull"]));
    s.note = format!(
        "{} tracks added; over the wire {:.2} MiB beyond them",
        n(&pulled, "tracks_added"),
        (s.down as f64 - new_bytes as f64) / MIB
    );
    steps.push(s);

    println!();
    println!(
        "sync bench: {} tracks ({:.1} MiB), import {:.1} s, Garage on loopback via the counting proxy",
        args.tracks,
        library_bytes as f64 / MIB,
        import_seconds
    );
    println!(
        "{:<26} {:>8} {:>11} {:>11} {:>9} {:>9}   notes",
        "step", "seconds", "MiB up", "MiB down", "requests", "peak MiB"
    );
    for s in &steps {
        println!(
            "{:<26} {:>8.2} {:>11.2} {:>11.2} {:>9} {:>9}   {}",
            s.name,
            s.seconds,
            s.up as f64 / MIB,
            s.down as f64 / MIB,
            s.requests,
            s.peak_mib.map_or("-".to_string(), |m| format!("{m:.0}")),
            s.note
        );
    }
    println!("(total {:.0} s)", started.elapsed().as_secs_f64());
}
