//! Cloud sync against a real Garage server on loopback: push, clone, pull, repair,
//! remote verify and GC, faults, and what the bucket may never hold.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use audiovault_tests::*;
use serde_json::Value;

/// A running Garage, or `None` (with a notice) where it is not installed and CI
/// is not set.
pub(crate) fn garage() -> Option<Garage> {
    Garage::start_or_skip()
}

/// How a vault reaches a remote: endpoint (Garage, or a proxy in front of it),
/// credentials and prefix.
pub(crate) struct Remote {
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

impl Remote {
    pub(crate) fn on(g: &Garage, prefix: &str) -> Remote {
        Remote {
            endpoint: g.endpoint(),
            region: g.region().to_string(),
            bucket: g.bucket().to_string(),
            prefix: prefix.to_string(),
            access_key: g.access_key().to_string(),
            secret_key: g.secret_key().to_string(),
        }
    }

    pub(crate) fn via(mut self, endpoint: String) -> Remote {
        self.endpoint = endpoint;
        self
    }

    pub(crate) fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// `audiovault ARGS` on `vault` with this remote's credentials in the environment.
    pub(crate) fn cmd<I, S>(&self, vault: &TestVault, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        vault
            .cmd(args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            // Short retry budgets keep the fault tests quick; the logic is the same.
            .env("AUDIOVAULT_S3_MAX_ATTEMPTS", "5")
    }

    pub(crate) fn set(&self, vault: &TestVault, extra: &[&str]) {
        self.cmd(
            vault,
            [
                "remote",
                "set",
                "--endpoint",
                &self.endpoint,
                "--bucket",
                &self.bucket,
                "--prefix",
                &self.prefix,
                "--region",
                &self.region,
                "--path-style",
            ],
        )
        .args(extra)
        .run()
        .expect_ok();
    }

    #[track_caller]
    pub(crate) fn json(&self, vault: &TestVault, args: &[&str]) -> Value {
        self.cmd(vault, args).arg("--json").run().expect_ok().json()
    }

    pub(crate) fn clone_into(&self, vault: &TestVault) -> Run {
        self.cmd(
            vault,
            [
                "clone",
                &self.url(),
                "--endpoint",
                &self.endpoint,
                "--region",
                &self.region,
                "--path-style",
                "--json",
            ],
        )
        .run()
    }
}

/// Exports every active track and returns {sha256 of exported file: count}.
pub(crate) fn exported_checksums(vault: &TestVault, name: &str) -> BTreeMap<String, usize> {
    let out = vault.scratch(name);
    vault.export(&["--all"], &out, &[]).expect_ok();
    let mut sums = BTreeMap::new();
    for f in files_under(&out) {
        *sums.entry(sha256_file(&f)).or_insert(0) += 1;
    }
    sums
}

fn distinct_corpus_checksums(corpus: &Corpus) -> BTreeMap<String, usize> {
    corpus
        .by_sha()
        .keys()
        .map(|s| (s.to_string(), 1usize))
        .collect()
}

pub(crate) fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v:#}"))
}

#[test]
fn push_then_clone_restores_every_file_byte_for_byte() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let remote = Remote::on(&g, "library");
    let a = TestVault::new();
    a.import(&corpus.dirs());
    remote.set(&a, &[]);

    let test = remote.json(&a, &["remote", "test"]);
    assert_eq!(test["ok"], true, "{test:#}");
    assert_eq!(test["steps"].as_array().unwrap().len(), 4);

    let push = remote.json(&a, &["push"]);
    assert_eq!(push["nothing_new"], false, "{push:#}");
    assert!(u64_of(&push, "packs_uploaded") >= 1, "{push:#}");
    let chunks = a.referenced_chunks();
    assert!(
        u64_of(&push, "chunks_uploaded") >= chunks.len() as u64,
        "every referenced chunk went up: {push:#}"
    );
    assert_eq!(
        u64_of(&push, "tracks"),
        corpus.by_sha().len() as u64,
        "{push:#}"
    );
    // The snapshot's sealed chunks waited in a file under tmp/; it is gone.
    assert_eq!(std::fs::read_dir(a.path.join("tmp")).unwrap().count(), 0);

    // Nothing new: no request at all, well under a second.
    let started = Instant::now();
    let again = remote.json(&a, &["push"]);
    assert_eq!(again["nothing_new"], true, "{again:#}");
    assert_eq!(u64_of(&again, "requests_list"), 0);
    assert_eq!(u64_of(&again, "requests_put"), 0);
    assert!(started.elapsed() < Duration::from_secs(5));

    // A new device: an empty folder, the bucket and the passphrase.
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    let cloned = remote.clone_into(&b).expect_ok().json();
    assert_eq!(
        u64_of(&cloned["pull"], "tracks_added"),
        corpus.by_sha().len() as u64,
        "{cloned:#}"
    );
    assert_eq!(cloned["pull"]["failed"].as_array().unwrap().len(), 0);
    assert_eq!(b.tracks().len(), a.tracks().len());
    assert_eq!(
        exported_checksums(&b, "export-b"),
        distinct_corpus_checksums(corpus),
        "the clone exports every distinct source file, byte for byte"
    );
    b.run(["verify"]).expect_ok();
    // The metadata came along: titles and cover art as on the first device.
    let titles = |v: &TestVault| -> HashSet<String> {
        v.tracks()
            .iter()
            .map(|t| format!("{}|{}|{}", t["sha256"], t["title"], t["has_artwork"]))
            .collect()
    };
    assert_eq!(titles(&a), titles(&b));

    // Per-track status: everything is on the remote now.
    let status = remote.json(&a, &["remote", "show"]);
    assert_eq!(
        u64_of(&status["status"], "tracks_local_only"),
        0,
        "{status:#}"
    );
    assert_eq!(
        u64_of(&status["status"], "tracks_on_remote"),
        corpus.by_sha().len() as u64
    );
    let show = a.show(a.tracks()[0]["id"].as_str().unwrap());
    assert_eq!(show["location"], "both", "{show:#}");
}

#[test]
fn the_bucket_holds_no_plaintext_names_tags_or_checksums() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let remote = Remote::on(&g, "p");
    let a = TestVault::new();
    a.import(&corpus.dirs());
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);

    let dump = a.scratch_dir("bucket");
    let mut files = Vec::new();
    let keys = g.list_keys("");
    assert!(keys.len() >= 4, "objects in the bucket: {keys:?}");
    for (i, (key, _)) in keys.iter().enumerate() {
        let path = dump.join(format!("object-{i}"));
        std::fs::write(&path, g.get(key)).unwrap();
        files.push(path);
    }
    let total: u64 = keys.iter().map(|(_, n)| n).sum();
    assert!(
        total >= corpus.total_bytes() / 2,
        "the bucket holds the audio ({total} bytes)"
    );

    // Audio: sampled 64-byte windows of every source file.
    let windows = crate::at_rest::audio_windows(corpus);
    let hits = find_needles(&files, &windows, 20);
    assert!(hits.is_empty(), "plaintext audio in the bucket: {hits:?}");

    // Tags and names, in UTF-8 and UTF-16; plain SHA-256 of each source, hex and raw.
    let mut needles: Vec<Vec<u8>> = crate::at_rest::tag_strings(corpus)
        .into_iter()
        .flat_map(|(_, enc)| enc)
        .collect();
    for f in &corpus.files {
        needles.push(f.sha256.as_bytes().to_vec());
        needles.push(unhex(&f.sha256));
    }
    let hits = find_needles(&files, &needles, 20);
    assert!(
        hits.is_empty(),
        "a tag, name or checksum is readable in the bucket: {:?}",
        hits.iter()
            .map(|(_, i, _)| String::from_utf8_lossy(&needles[*i]).into_owned())
            .collect::<Vec<_>>()
    );
    // Object names: nothing but fixed folder names, random hex and times.
    for (key, _) in &keys {
        for f in &corpus.files {
            assert!(!key.contains(&f.sha256), "{key} carries a checksum");
            let stem = f
                .file_name()
                .rsplit_once('.')
                .map_or(f.file_name(), |s| s.0);
            assert!(!key.contains(stem), "{key} carries a file name");
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_push_cut_off_by_a_dead_server_resumes_without_uploading_twice() {
    let Some(mut g) = garage() else { return };
    let corpus = corpus();
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "resume").via(proxy.endpoint());
    let a = TestVault::new();
    a.import(&corpus.dirs());
    // One upload at a time, each slowed down, so the server can die mid-push.
    remote.set(&a, &["--parallelism", "1"]);
    proxy.fail_all(Fault::Delay(Duration::from_millis(300)));
    let pushing = remote.cmd(&a, ["push", "--json"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy
        .put_keys()
        .iter()
        .filter(|k| k.contains("/packs/"))
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "the push made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    g.stop();
    let failed = pushing.wait();
    assert_eq!(
        failed.code(),
        1,
        "the push fails while the server is down\n{failed}"
    );
    assert!(
        failed.stderr.contains("gave up") || failed.stderr.contains("cannot reach"),
        "{failed}"
    );
    let first_run: Vec<String> = proxy.put_keys();
    assert_eq!(
        std::fs::read_dir(a.path.join("tmp")).unwrap().count(),
        0,
        "a failed push leaves no spill file behind"
    );

    g.restart();
    proxy.clear();
    let done = remote.json(&a, &["push"]);
    assert_eq!(done["nothing_new"], false);
    let all_puts = proxy.put_keys();
    let second_run = &all_puts[first_run.len()..];
    let first_packs: HashSet<&String> =
        first_run.iter().filter(|k| k.contains("/packs/")).collect();
    assert!(first_packs.len() >= 2);
    assert!(
        second_run.iter().all(|k| !first_packs.contains(k)),
        "no pack uploaded twice"
    );
    // Every pack byte belongs to exactly one distinct chunk: nothing went up twice
    // under a new name either.
    let verify = remote.json(&a, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
    assert_eq!(
        u64_of(&verify, "bytes_checked"),
        u64_of(&verify, "chunk_bytes_checked"),
        "{verify:#}"
    );

    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    assert_eq!(
        exported_checksums(&b, "export"),
        distinct_corpus_checksums(corpus)
    );
}

#[test]
fn transient_faults_are_retried_and_a_fault_that_never_clears_is_reported() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "faults").via(proxy.endpoint());
    let a = TestVault::new();
    a.import(&corpus.dirs());
    remote.set(&a, &[]);

    // A fault that never clears: a clear error once the retry budget is spent.
    proxy.fail_all(Fault::Status503);
    let started = Instant::now();
    let run = remote.cmd(&a, ["push"]).run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("gave up"), "{run}");
    assert!(run.stderr.contains("503"), "{run}");
    assert!(started.elapsed() < Duration::from_secs(60), "{run}");
    let requests = proxy.requests();
    assert!(
        requests < 50,
        "no retry storm: {requests} requests for a dead server"
    );

    // Bursts of 503, SlowDown, dropped connections and slow answers: the push
    // completes, retrying.
    proxy.clear();
    proxy.fail_next(2, Fault::Status503);
    proxy.fail_next(2, Fault::SlowDown);
    proxy.fail_next(2, Fault::DropConnection);
    proxy.fail_next(2, Fault::Delay(Duration::from_millis(500)));
    // Six faults in a row: a budget of ten attempts rides them out.
    let push = remote
        .cmd(&a, ["push", "--json"])
        .env("AUDIOVAULT_S3_MAX_ATTEMPTS", "10")
        .run()
        .expect_ok()
        .json();
    assert!(u64_of(&push, "retries") >= 6, "{push:#}");
    let verify = remote.json(&a, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "nothing corrupted: {verify:#}");

    let b = TestVault::uninitialised(Some(PASSPHRASE));
    Remote::on(&g, "faults").clone_into(&b).expect_ok();
    assert_eq!(
        exported_checksums(&b, "export"),
        distinct_corpus_checksums(corpus)
    );
}

#[test]
fn wrong_credentials_missing_bucket_and_dead_endpoint_fail_clearly_and_fast() {
    let Some(g) = garage() else { return };
    let a = TestVault::new();
    let song = a.scratch("song.wav");
    write_noise_wav(&song, 7, 200_000);
    a.import(&[&song]);

    let proxy = FaultProxy::start(g.s3_addr());
    let mut wrong = Remote::on(&g, "x").via(proxy.endpoint());
    wrong.secret_key = "not-the-secret-key-at-all-000000000000000".into();
    wrong.set(&a, &[]);
    let run = wrong.cmd(&a, ["push"]).run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("access denied"), "{run}");
    assert!(
        !run.stderr.contains(&wrong.secret_key),
        "the secret is never echoed"
    );
    assert!(
        proxy.requests() <= 2,
        "no retries on 403: {}",
        proxy.requests()
    );
    let test = wrong.cmd(&a, ["remote", "test", "--json"]).run();
    assert_eq!(test.code(), 1);
    let report = test.json();
    assert_eq!(
        report["steps"][0]["error_kind"], "remote_access_denied",
        "{report:#}"
    );

    let mut missing = Remote::on(&g, "x");
    missing.bucket = "no-such-bucket".into();
    missing.set(&a, &[]);
    let run = missing.cmd(&a, ["push"]).run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("no-such-bucket"), "{run}");
    assert!(run.stderr.contains("does not exist"), "{run}");

    let dead = Remote::on(&g, "x").via("http://127.0.0.1:9".into());
    dead.set(&a, &[]);
    let started = Instant::now();
    let run = dead.cmd(&a, ["push"]).run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("cannot reach"), "{run}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "an endpoint that never answers fails at once"
    );
}

#[test]
fn verify_repair_restores_deleted_and_corrupted_chunks_from_the_remote() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let remote = Remote::on(&g, "repair");
    let a = TestVault::new();
    a.import(&corpus.dirs());
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);

    let chunks: Vec<String> = a.referenced_chunks().into_iter().collect();
    assert!(chunks.len() >= 3);
    std::fs::remove_file(a.chunk_path(&chunks[0])).unwrap();
    let corrupt = a.chunk_path(&chunks[1]);
    let mut bytes = std::fs::read(&corrupt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&corrupt, bytes).unwrap();
    a.run(["verify"]).expect_code(3);

    let repaired = remote
        .cmd(&a, ["verify", "--repair", "--json"])
        .run()
        .expect_ok()
        .json();
    let ids: HashSet<&str> = repaired["repair"]["repaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([chunks[0].as_str(), chunks[1].as_str()]),
        "{repaired:#}"
    );
    assert_eq!(repaired["after"]["ok"], true);
    a.run(["verify"]).expect_ok();
    assert_eq!(
        exported_checksums(&a, "export"),
        distinct_corpus_checksums(corpus)
    );
}

/// Splits the corpus's top-level folders in two.
fn halves(corpus: &Corpus) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dirs = corpus.dirs();
    let mid = dirs.len() / 2;
    (dirs[..mid].to_vec(), dirs[mid..].to_vec())
}

fn sources_under(corpus: &Corpus, dirs: &[PathBuf]) -> BTreeMap<String, usize> {
    corpus
        .files
        .iter()
        .filter(|f| dirs.iter().any(|d| f.path.starts_with(d)))
        .map(|f| (f.sha256.clone(), 1))
        .collect()
}

#[test]
fn two_devices_exchange_tracks_and_trash_and_gc_never_loses_a_push_in_flight() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let (first, second) = halves(corpus);
    assert!(!first.is_empty() && !second.is_empty());
    let remote = Remote::on(&g, "shared");

    let a = TestVault::new();
    a.import(&first);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);

    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    assert_eq!(b.tracks().len(), a.tracks().len());
    b.import(&second);
    // B trashes one of A's tracks.
    let victim = a.tracks()[0]["id"].as_str().unwrap().to_string();
    b.run(["trash", &victim]).expect_ok();

    // B pushes slowly through a proxy while A runs remote GC.
    let proxy = FaultProxy::start(g.s3_addr());
    let b_remote = Remote::on(&g, "shared").via(proxy.endpoint());
    b_remote.set(&b, &["--parallelism", "1"]);
    proxy.fail_all(Fault::Delay(Duration::from_millis(200)));
    let pushing = b_remote.cmd(&b, ["push", "--json"]).spawn();
    while proxy
        .put_keys()
        .iter()
        .filter(|k| k.contains("/packs/"))
        .count()
        < 1
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let gc = remote.json(&a, &["remote", "gc"]);
    assert_eq!(u64_of(&gc, "packs_deleted"), 0, "{gc:#}");
    proxy.clear();
    pushing.wait().expect_ok();

    // A pulls: B's tracks arrive, the trashed one is trashed.
    let pull = remote.json(&a, &["pull"]);
    assert_eq!(
        u64_of(&pull, "tracks_added") as usize,
        sources_under(corpus, &second)
            .keys()
            .filter(|s| !sources_under(corpus, &first).contains_key(*s))
            .count(),
        "{pull:#}"
    );
    assert_eq!(u64_of(&pull, "tracks_state_changed"), 1, "{pull:#}");
    assert!(
        a.trashed_tracks()
            .iter()
            .any(|t| t["id"] == victim.as_str()),
        "the track B trashed is in A's trash"
    );
    a.run(["restore", &victim]).expect_ok();
    assert_eq!(
        exported_checksums(&a, "export-a"),
        distinct_corpus_checksums(corpus)
    );

    // A third device sees everything: GC during B's push lost nothing.
    let c = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&c).expect_ok();
    c.run(["restore", &victim]).expect_ok();
    assert_eq!(
        exported_checksums(&c, "export-c"),
        distinct_corpus_checksums(corpus)
    );
    let verify = remote.json(&a, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
}

#[test]
fn remote_gc_deletes_only_what_no_snapshot_needs_in_two_phases() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let (first, second) = halves(corpus);
    let remote = Remote::on(&g, "gc");
    let a = TestVault::new();
    // Two pushes, so the first half's chunks sit in packs of their own.
    a.import(&first);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let first_ids: HashSet<String> = a
        .tracks()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    a.import(&second);
    remote.json(&a, &["push"]);

    // Drop the first half's tracks for good.
    let doomed: Vec<&String> = first_ids.iter().collect();
    a.cmd(["trash"]).args(&doomed).run().expect_ok();
    a.run(["purge"]).expect_ok();
    remote.json(&a, &["push"]);
    let kept: BTreeMap<String, usize> = a
        .tracks()
        .iter()
        .map(|t| (t["sha256"].as_str().unwrap().to_string(), 1))
        .collect();
    assert!(!kept.is_empty() && kept.len() < corpus.by_sha().len());
    let packs_before = g.list_keys("gc/packs/").len();

    let gc_args = [
        "remote",
        "gc",
        "--grace-hours",
        "0",
        "--keep-last",
        "1",
        "--keep-daily",
        "0",
    ];
    let first_gc = remote.json(&a, &gc_args);
    assert_eq!(u64_of(&first_gc, "manifests_deleted"), 2, "{first_gc:#}");
    assert!(u64_of(&first_gc, "packs_marked") >= 1, "{first_gc:#}");
    assert_eq!(
        u64_of(&first_gc, "packs_deleted"),
        0,
        "phase one only marks: {first_gc:#}"
    );
    assert_eq!(g.list_keys("gc/packs/").len(), packs_before);

    let second_gc = remote.json(&a, &gc_args);
    assert_eq!(
        u64_of(&second_gc, "packs_deleted"),
        u64_of(&first_gc, "packs_marked"),
        "{second_gc:#}"
    );
    assert_eq!(
        g.list_keys("gc/packs/").len(),
        packs_before - u64_of(&second_gc, "packs_deleted") as usize
    );

    let verify = remote.json(&a, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    assert_eq!(exported_checksums(&b, "export"), kept);
}

#[test]
fn clone_refuses_a_wrong_passphrase_and_leaves_nothing_behind() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "pw");
    let a = TestVault::new();
    let song = a.scratch("song.wav");
    write_noise_wav(&song, 3, 300_000);
    a.import(&[&song]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);

    let b = TestVault::uninitialised(Some("not the passphrase"));
    let run = remote.clone_into(&b);
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.to_lowercase().contains("passphrase"), "{run}");
    assert!(!b.path.join("vault.json").exists(), "no half-made vault");

    let empty = Remote::on(&g, "nothing-here");
    let run = empty.clone_into(&TestVault::uninitialised(Some(PASSPHRASE)));
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("no Audiovault vault"), "{run}");
}

#[test]
fn s3_keys_are_kept_in_the_keyring_and_never_in_the_catalog() {
    let Some(g) = garage() else { return };
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests in a D-Bus session"
        );
        eprintln!("skipping: no D-Bus session for the keyring");
        return;
    }
    let remote = Remote::on(&g, "keys");
    let a = TestVault::new();
    let song = a.scratch("song.wav");
    write_noise_wav(&song, 5, 300_000);
    a.import(&[&song]);
    remote.set(&a, &[]);
    // Without the variables, the keys come from the keyring.
    let push = a
        .cmd(["push", "--json"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .run()
        .expect_ok()
        .json();
    assert_eq!(push["nothing_new"], false, "{push:#}");
    for f in a.files() {
        let data = std::fs::read(&f).unwrap();
        for secret in [&remote.secret_key, &remote.access_key] {
            assert!(
                !data.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "an S3 key is stored in {}",
                f.display()
            );
        }
    }
    a.run(["remote", "forget-credentials"]).expect_ok();
    let other = a.scratch("other.wav");
    write_noise_wav(&other, 6, 300_000);
    a.import(&[&other]);
    let run = a
        .cmd(["push"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("credentials"), "{run}");
}
