//! Several devices on one bucket, in the orders that used to lose data: each test
//! is one of the ways the issue "Nothing lost, ever" reproduced a loss, plus the
//! adversarial cases (a clock hours off, GC during a push, a hostile bucket).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audiovault_tests::*;
use serde_json::Value;

use crate::sync::{Remote, exported_checksums, garage, u64_of};

const GC_NOW: [&str; 8] = [
    "remote",
    "gc",
    "--grace-hours",
    "0",
    "--keep-last",
    "1",
    "--keep-daily",
    "0",
];

/// A distinct WAV of `size` bytes in `dir`, with its SHA-256.
fn noise(dir: &Path, name: &str, seed: u64, size: u64) -> (PathBuf, String) {
    let path = dir.join(name);
    write_noise_wav(&path, seed, size);
    let sha = sha256_file(&path);
    (path, sha)
}

fn shas(vault: &TestVault) -> BTreeSet<String> {
    vault
        .all_tracks()
        .iter()
        .map(|t| t["sha256"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// sha256 → "active" | "trashed".
fn states(vault: &TestVault) -> BTreeMap<String, String> {
    vault
        .all_tracks()
        .iter()
        .map(|t| {
            (
                t["sha256"].as_str().unwrap_or_default().to_string(),
                t["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn id_of(vault: &TestVault, sha: &str) -> String {
    vault
        .all_tracks()
        .iter()
        .find(|t| t["sha256"] == sha)
        .and_then(|t| t["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no track {sha}"))
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The first reproduction: B's track must survive A pushing without
/// pulling, remote GC with the harshest retention, and a new device's clone.
#[test]
fn a_device_that_never_pulled_cannot_make_another_devices_tracks_vanish() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-vanish");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (a1, a1_sha) = noise(&dir, "a1.wav", 1, 600_000);
    let (b1, b1_sha) = noise(&dir, "b1.wav", 2, 600_000);
    let (a2, a2_sha) = noise(&dir, "a2.wav", 3, 600_000);

    a.import(&[&a1]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    b.import(&[&b1]);
    remote.json(&b, &["push"]);

    // What A's Cloud view shows before A does anything: two devices, and B's news.
    let devices = remote.json(&a, &["remote", "devices", "--incoming"]);
    let lines = devices["devices"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{devices:#}");
    assert_eq!(
        lines.iter().filter(|d| d["this_device"] == true).count(),
        1,
        "{devices:#}"
    );
    let unmerged = devices["unmerged"].as_array().unwrap();
    assert_eq!(unmerged.len(), 1, "{devices:#}");
    assert_eq!(u64_of(&unmerged[0], "new_tracks"), 1, "{devices:#}");
    assert!(u64_of(&unmerged[0], "new_bytes") > 500_000, "{devices:#}");
    assert_eq!(u64_of(&unmerged[0], "purges"), 0, "{devices:#}");

    // A never pulled: its push merges B's line before it writes its own.
    a.import(&[&a2]);
    let push = remote.json(&a, &["push"]);
    assert_eq!(
        push["merged"]["manifests"].as_array().map(Vec::len),
        Some(1),
        "the push merged B's line first: {push:#}"
    );
    assert_eq!(u64_of(&push["merged"], "tracks_added"), 1, "{push:#}");
    assert_eq!(shas(&a), set_of(&[&a1_sha, &a2_sha, &b1_sha]));
    let pull = remote.json(&a, &["pull"]);
    assert_eq!(pull["up_to_date"], true, "{pull:#}");
    let devices = remote.json(&a, &["remote", "devices"]);
    assert_eq!(
        devices["unmerged"].as_array().map(Vec::len),
        Some(0),
        "{devices:#}"
    );

    // The harshest retention, twice: every device's newest manifest is kept.
    for _ in 0..2 {
        let gc = remote.json(&a, &GC_NOW);
        assert_eq!(u64_of(&gc, "packs_deleted"), 0, "{gc:#}");
    }
    let verify = remote.json(&b, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
    let b1_id = id_of(&b, &b1_sha);
    assert_eq!(b.show(&b1_id)["location"], "both");

    // A new device gets all three, byte for byte.
    let c = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&c).expect_ok();
    assert_eq!(shas(&c), set_of(&[&a1_sha, &a2_sha, &b1_sha]));
    let expected: BTreeMap<String, usize> = [&a1_sha, &a2_sha, &b1_sha]
        .iter()
        .map(|s| (s.to_string(), 1))
        .collect();
    assert_eq!(exported_checksums(&c, "export-c"), expected);
}

/// The second reproduction: a device that only knows the old passphrase
/// pushes after another changed it. The new passphrase must keep opening the
/// bucket and the old one must not; the old device adopts the new one.
#[test]
fn a_passphrase_change_is_adopted_everywhere_and_never_undone() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-passwd");
    let mut a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (one, _) = noise(&dir, "one.wav", 11, 300_000);
    let (two, two_sha) = noise(&dir, "two.wav", 12, 300_000);
    a.import(&[&one]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let mut b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();

    const NEW: &str = "a brand new passphrase for the bucket";
    a.cmd(["passwd"])
        .env("AUDIOVAULT_NEW_PASSPHRASE", NEW)
        .run()
        .expect_ok();
    a.set_passphrase(Some(NEW));
    remote.json(&a, &["push"]);

    // B still opens with the old passphrase (its vault.json is the old one), imports
    // and pushes: the push adopts A's newer vault.json instead of replacing it.
    b.import(&[&two]);
    let push = remote.json(&b, &["push"]);
    assert_eq!(push["vault_json_adopted"], true, "{push:#}");
    assert_eq!(push["vault_json_uploaded"], false, "{push:#}");
    let old = b.run(["list", "--json"]);
    assert_eq!(
        old.code(),
        1,
        "B no longer opens with the old passphrase\n{old}"
    );
    assert!(old.stderr.contains("wrong passphrase"), "{old}");
    b.set_passphrase(Some(NEW));
    assert!(shas(&b).contains(&two_sha));

    // A new device: the new passphrase opens, the old one is refused, by name.
    let fresh = TestVault::uninitialised(Some(NEW));
    remote.clone_into(&fresh).expect_ok();
    assert!(shas(&fresh).contains(&two_sha));
    let stale = TestVault::uninitialised(Some(PASSPHRASE));
    let refused = remote.clone_into(&stale);
    assert_eq!(refused.code(), 1, "{refused}");
    assert!(
        refused.stderr.contains("replaced by a newer one"),
        "{refused}"
    );
    assert!(!stale.path.join("vault.json").exists());

    // Every key file the bucket holds is distinct and none was overwritten: the
    // newest is A's change.
    let keys = g.list_keys("lines-passwd/keys/");
    assert_eq!(keys.len(), 2, "{keys:?}");
}

/// The third reproduction: a purge on one device reaches the others, and
/// no older copy of the catalog brings the track back.
#[test]
fn a_purge_reaches_every_device_and_nothing_brings_it_back() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-purge");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (keep, keep_sha) = noise(&dir, "keep.wav", 21, 500_000);
    let (doomed, doomed_sha) = noise(&dir, "doomed.wav", 22, 700_000);
    a.import(&[&keep]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    // The doomed track goes up in a push of its own, so its chunks have packs of
    // their own that remote GC can take once nothing references them.
    a.import(&[&doomed]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    assert_eq!(shas(&b), set_of(&[&keep_sha, &doomed_sha]));
    let b_chunks = b.chunk_files().len();

    a.run(["trash", &id_of(&a, &doomed_sha)]).expect_ok();
    a.json(["purge"]);
    remote.json(&a, &["push"]);

    let pull = remote.json(&b, &["pull"]);
    assert_eq!(u64_of(&pull, "tracks_purged"), 1, "{pull:#}");
    assert!(u64_of(&pull, "chunks_removed") >= 1, "{pull:#}");
    assert_eq!(shas(&b), set_of(&[&keep_sha]));
    assert!(
        b.chunk_files().len() < b_chunks,
        "the purged chunks left B's disk"
    );
    // B pushes its catalog (without the track) and A pulls: it stays purged.
    b.import(&[&keep]);
    remote.json(&b, &["push"]);
    remote.json(&a, &["pull"]);
    assert_eq!(shas(&a), set_of(&[&keep_sha]));

    // A device that cloned before the purge and never heard of it pulls now.
    let packs_before = g.list_keys("lines-purge/packs/").len();
    for _ in 0..2 {
        remote.json(&b, &GC_NOW);
    }
    let packs_after = g.list_keys("lines-purge/packs/").len();
    assert!(
        packs_after < packs_before,
        "remote GC reclaimed the purged track's packs ({packs_before} → {packs_after})"
    );
    let verify = remote.json(&a, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
    let c = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&c).expect_ok();
    assert_eq!(shas(&c), set_of(&[&keep_sha]));

    // An explicit re-import after the purge is a new choice: it survives.
    a.import(&[&doomed]);
    remote.json(&a, &["push"]);
    remote.json(&b, &["pull"]);
    assert_eq!(shas(&b), set_of(&[&keep_sha, &doomed_sha]));
}

/// A purge takes only what its device had seen: an import of the same file that
/// another device made meanwhile, unseen, survives it.
#[test]
fn a_purge_never_takes_an_import_it_had_not_seen() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-unseen");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (song, song_sha) = noise(&dir, "song.wav", 31, 400_000);
    let (other, _) = noise(&dir, "other.wav", 32, 400_000);
    a.import(&[&other]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();

    a.import(&[&song]);
    b.import(&[&song]);
    a.run(["trash", &id_of(&a, &song_sha)]).expect_ok();
    a.json(["purge"]);
    remote.json(&a, &["push"]);
    // B's own import of the same bytes was not seen by A's purge: it stays, and
    // comes back to A as B's.
    remote.json(&b, &["push"]);
    assert!(shas(&b).contains(&song_sha));
    remote.json(&a, &["pull"]);
    assert!(shas(&a).contains(&song_sha));
}

/// Device C's clock is an hour ahead, B's an hour behind. Choices made after
/// seeing others' still win, whatever the clocks say, and GC dates packs by the
/// server's clock.
#[test]
fn devices_with_clocks_hours_off_lose_nothing_and_reorder_nothing() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-skew");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (song, song_sha) = noise(&dir, "song.wav", 41, 400_000);
    let (late, late_sha) = noise(&dir, "late.wav", 42, 400_000);
    a.import(&[&song]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let ahead = TestVault::uninitialised(Some(PASSPHRASE));
    let behind = TestVault::uninitialised(Some(PASSPHRASE));
    let skewed = |vault: &TestVault, hours: i64, args: &[&str]| -> Value {
        remote
            .cmd(vault, args)
            .env(
                "AUDIOVAULT_TEST_CLOCK_OFFSET_SECONDS",
                (hours * 3600).to_string(),
            )
            .arg("--json")
            .run()
            .expect_ok()
            .json()
    };
    skewed(
        &ahead,
        1,
        &[
            "clone",
            &remote.url(),
            "--endpoint",
            &remote.endpoint,
            "--region",
            &remote.region,
            "--path-style",
        ],
    );
    skewed(
        &behind,
        -1,
        &[
            "clone",
            &remote.url(),
            "--endpoint",
            &remote.endpoint,
            "--region",
            &remote.region,
            "--path-style",
        ],
    );

    // The device an hour ahead trashes; A, having seen it, restores; the device an
    // hour behind, having seen that, trashes again; A restores once more. Each
    // choice follows the one before it, so each must win.
    skewed(&ahead, 1, &["trash", &id_of(&ahead, &song_sha)]);
    skewed(&ahead, 1, &["push"]);
    remote.json(&a, &["pull"]);
    assert_eq!(states(&a)[&song_sha], "trashed");
    a.run(["restore", &id_of(&a, &song_sha)]).expect_ok();
    remote.json(&a, &["push"]);
    skewed(&behind, -1, &["pull"]);
    assert_eq!(states(&behind)[&song_sha], "active");
    skewed(&behind, -1, &["trash", &id_of(&behind, &song_sha)]);
    skewed(&behind, -1, &["push"]);
    skewed(&ahead, 1, &["pull"]);
    assert_eq!(
        states(&ahead)[&song_sha],
        "trashed",
        "the later trash (on a clock two hours behind) wins"
    );
    skewed(&ahead, 1, &["push"]);
    remote.json(&a, &["pull"]);
    a.run(["restore", &id_of(&a, &song_sha)]).expect_ok();
    remote.json(&a, &["push"]);
    for (vault, hours) in [(&ahead, 1), (&behind, -1)] {
        skewed(vault, hours, &["pull"]);
        assert_eq!(states(vault)[&song_sha], "active");
    }

    // GC by the device an hour ahead, with a 30-minute grace: a pack the remote got
    // seconds ago is young, whatever that device's clock says.
    a.import(&[&late]);
    a.run(["trash", &id_of(&a, &late_sha)]).expect_ok();
    remote.json(&a, &["push"]);
    a.json(["purge"]);
    remote.json(&a, &["push"]);
    for (vault, hours) in [(&ahead, 1), (&behind, -1)] {
        skewed(vault, hours, &["pull"]);
        skewed(vault, hours, &["push"]);
    }
    let gc = |vault: &TestVault, hours: i64, grace: &str| {
        skewed(
            vault,
            hours,
            &[
                "remote",
                "gc",
                "--grace-hours",
                grace,
                "--keep-last",
                "1",
                "--keep-daily",
                "0",
            ],
        )
    };
    let young = gc(&ahead, 1, "0.5");
    assert_eq!(u64_of(&young, "packs_marked"), 0, "{young:#}");
    assert_eq!(u64_of(&young, "packs_deleted"), 0, "{young:#}");
    // With no grace at all the same pack is a candidate: the test could fail.
    let marked = gc(&behind, -1, "0");
    assert!(u64_of(&marked, "packs_marked") >= 1, "{marked:#}");

    // Everyone ends with the same library, and a new device restores it whole.
    let fresh = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&fresh).expect_ok();
    for vault in [&a, &ahead, &behind, &fresh] {
        assert_eq!(shas(vault), set_of(&[&song_sha]));
        assert_eq!(states(vault)[&song_sha], "active");
    }
    let verify = remote.json(&a, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
}

/// Remote GC with no grace at all, run twice by another device while a push is in
/// flight: the push's packs are not referenced by any manifest yet, but its lease
/// keeps them, and the push uploads again what GC marked before writing its
/// manifest.
#[test]
fn remote_gc_during_a_push_in_flight_deletes_nothing_the_push_needs() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let remote = Remote::on(&g, "lines-inflight");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (seed, _) = noise(&dir, "seed.wav", 51, 200_000);
    a.import(&[&seed]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();

    // A imports the corpus and pushes it slowly, one request at a time.
    a.import(&corpus.dirs());
    let proxy = FaultProxy::start(g.s3_addr());
    let slow = Remote::on(&g, "lines-inflight").via(proxy.endpoint());
    slow.set(&a, &["--parallelism", "1"]);
    proxy.fail_all(Fault::Delay(Duration::from_millis(150)));
    let pushing = slow.cmd(&a, ["push", "--json"]).spawn();
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
    let first = remote.json(&b, &GC_NOW);
    let second = remote.json(&b, &GC_NOW);
    assert!(
        u64_of(&first, "packs_marked") >= 1,
        "the in-flight packs were candidates: {first:#}"
    );
    assert_eq!(u64_of(&second, "packs_deleted"), 0, "{second:#}");
    assert!(u64_of(&second, "deletions_deferred") >= 1, "{second:#}");
    assert!(
        second["pushes_in_flight"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{second:#}"
    );
    proxy.clear();
    let pushed = pushing.wait().expect_ok().json();
    assert_eq!(pushed["nothing_new"], false, "{pushed:#}");

    // Now that the push is done, GC takes what it had marked and nothing else.
    for _ in 0..2 {
        remote.json(&b, &GC_NOW);
    }
    let verify = remote.json(&b, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
    let c = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&c).expect_ok();
    assert_eq!(shas(&c), shas(&a));
    assert_eq!(
        exported_checksums(&c, "export-c"),
        exported_checksums(&a, "export-a")
    );
}

/// The bucket is not trusted with the key: a forged newer key file (weaker KDF,
/// same MAC) is never adopted, and a rolled-back key file (the newest deleted)
/// is noticed by a clone through the epoch the manifests carry.
#[test]
fn a_hostile_bucket_can_neither_weaken_nor_roll_back_the_key() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-hostile");
    let mut a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (one, _) = noise(&dir, "one.wav", 61, 300_000);
    a.import(&[&one]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let first_key = g.list_keys("lines-hostile/keys/");
    assert_eq!(first_key.len(), 1, "{first_key:?}");

    // A forged copy with a higher epoch and a KDF a laptop breaks in seconds.
    let original: Value = serde_json::from_slice(&g.get(&first_key[0].0)).unwrap();
    let mut forged = original.clone();
    forged["epoch"] = 99.into();
    forged["kdf"]["memory_kib"] = 8.into();
    forged["kdf"]["iterations"] = 1.into();
    g.put(
        "lines-hostile/keys/0000000099-ffffffffffffffff",
        serde_json::to_vec(&forged).unwrap().as_slice(),
    );
    let pull = remote.json(&a, &["pull"]);
    assert_eq!(pull["vault_json_adopted"], false, "{pull:#}");
    let local: Value =
        serde_json::from_slice(&std::fs::read(a.path.join("vault.json")).unwrap()).unwrap();
    assert_eq!(local["kdf"], original["kdf"], "the local KDF is untouched");
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    let cloned: Value =
        serde_json::from_slice(&std::fs::read(b.path.join("vault.json")).unwrap()).unwrap();
    assert_eq!(cloned["kdf"], original["kdf"]);
    g.delete("lines-hostile/keys/0000000099-ffffffffffffffff");

    // A real change, then the bucket "forgets" it: the newest key file is deleted
    // and vault.json put back as it was. The old passphrase unwraps the old file,
    // but the catalogs were pushed under the newer epoch.
    const NEW: &str = "the passphrase after the leak";
    a.cmd(["passwd"])
        .env("AUDIOVAULT_NEW_PASSPHRASE", NEW)
        .run()
        .expect_ok();
    a.set_passphrase(Some(NEW));
    remote.json(&a, &["push"]);
    let keys = g.list_keys("lines-hostile/keys/");
    assert_eq!(keys.len(), 2, "{keys:?}");
    let newest = keys.iter().map(|(k, _)| k.clone()).max().unwrap();
    g.delete(&newest);
    g.put(
        "lines-hostile/vault.json",
        serde_json::to_vec_pretty(&original).unwrap().as_slice(),
    );
    let stale = TestVault::uninitialised(Some(PASSPHRASE));
    let refused = remote.clone_into(&stale);
    assert_eq!(refused.code(), 1, "{refused}");
    assert!(refused.stderr.contains("rolled back"), "{refused}");
    // A device that knows the newer key neither adopts the old one nor lets it
    // stand: its next push puts the newest key file back.
    let pull = remote.json(&a, &["pull"]);
    assert_eq!(pull["vault_json_adopted"], false, "{pull:#}");
    a.import(&[&noise(&dir, "two.wav", 62, 300_000).0]);
    let push = remote.json(&a, &["push"]);
    assert_eq!(push["vault_json_uploaded"], true, "{push:#}");
    let fresh = TestVault::uninitialised(Some(NEW));
    remote.clone_into(&fresh).expect_ok();
}

/// A pull that fills the disk stops with a message that says so, leaves a vault
/// that verifies with its library as it was, and `gc` gives back what it wrote.
#[test]
fn a_pull_that_fills_the_disk_fails_clearly_and_gc_reclaims_it() {
    let test = "a_pull_that_fills_the_disk_fails_clearly_and_gc_reclaims_it";
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-full");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (small, small_sha) = noise(&dir, "small.wav", 71, 1 << 20);
    a.import(&[&small]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);

    let b = TestVault::uninitialised(Some(PASSPHRASE));
    let Some(_disk) = Tmpfs::mount(test, &b.path, 12) else {
        return;
    };
    remote.clone_into(&b).expect_ok();
    let (big, _) = noise(&dir, "big.wav", 72, 24 << 20);
    a.import(&[&big]);
    remote.json(&a, &["push"]);

    let full = remote.cmd(&b, ["pull", "--json"]).run();
    assert_eq!(full.code(), 1, "{full}");
    assert!(
        mentions(&full.stderr, &["disk is full", "no space left"]),
        "the message says the disk is full\n{full}"
    );
    let verify = b.cmd(["verify", "--json"]).run();
    assert_eq!(verify.code(), 0, "{verify}");
    assert_eq!(shas(&b), set_of(&[&small_sha]));
    let before_gc = free_bytes(&b.path);
    let gc = b.json(["gc"]);
    assert!(u64_of(&gc, "removed_chunks") >= 1, "{gc:#}");
    assert!(
        free_bytes(&b.path) > before_gc,
        "gc gave back what the failed pull wrote"
    );
    assert_eq!(
        exported_checksums(&b, "export-b"),
        BTreeMap::from([(small_sha.clone(), 1)])
    );
}

/// A device that opens from the OS keyring adopts a passphrase changed elsewhere:
/// it still opens from the keyring (the remembered master key is the same), and
/// once the key is forgotten only the new passphrase opens it.
#[test]
fn a_device_unlocked_from_the_keyring_adopts_a_new_passphrase() {
    let Some(g) = garage() else { return };
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests in a D-Bus session"
        );
        eprintln!("skipping: no D-Bus session for the keyring");
        return;
    }
    let remote = Remote::on(&g, "lines-keyring");
    let mut a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (one, _) = noise(&dir, "one.wav", 81, 300_000);
    a.import(&[&one]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let mut b = TestVault::uninitialised(Some(PASSPHRASE));
    remote
        .cmd(
            &b,
            [
                "clone",
                &remote.url(),
                "--endpoint",
                &remote.endpoint,
                "--region",
                &remote.region,
                "--path-style",
                "--remember",
            ],
        )
        .run()
        .expect_ok();
    b.set_passphrase(None);

    const NEW: &str = "changed on the other laptop";
    a.cmd(["passwd"])
        .env("AUDIOVAULT_NEW_PASSPHRASE", NEW)
        .run()
        .expect_ok();
    a.set_passphrase(Some(NEW));
    remote.json(&a, &["push"]);

    let pull = remote.json(&b, &["pull"]);
    assert_eq!(pull["vault_json_adopted"], true, "{pull:#}");
    b.json(["list"]);
    b.run(["forget"]).expect_ok();
    b.set_passphrase(Some(PASSPHRASE));
    let old = b.run(["list"]);
    assert_eq!(old.code(), 1, "{old}");
    assert!(old.stderr.contains("wrong passphrase"), "{old}");
    b.set_passphrase(Some(NEW));
    b.json(["list"]);
}

/// The chunk path of `id` in `vault` (whether or not a file is there).
fn chunk_file(vault: &TestVault, id: &str) -> PathBuf {
    vault
        .path
        .join("chunks")
        .join(&id[..2])
        .join(&id[2..4])
        .join(id)
}

/// A power cut leaves chunk files empty, short, or the right length with garbage
/// in them. A pull and a resumed clone must fetch such a chunk again rather than
/// trust the file because it exists.
#[test]
fn torn_empty_and_garbage_chunk_files_are_fetched_again_by_pull_and_clone() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-torn");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (seed, _) = noise(&dir, "seed.wav", 91, 200_000);
    a.import(&[&seed]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();

    let (song, song_sha) = noise(&dir, "song.wav", 92, 5 << 20);
    a.import(&[&song]);
    remote.json(&a, &["push"]);
    let chunks = a.chunks_of(&id_of(&a, &song_sha));
    assert!(chunks.len() >= 3, "a track of several chunks: {chunks:?}");
    // What a power cut during an earlier write could have left at their paths.
    for (i, (id, _)) in chunks.iter().take(3).enumerate() {
        let good = std::fs::read(chunk_file(&a, id)).unwrap();
        let torn = match i {
            0 => Vec::new(),
            1 => good[..good.len() / 2].to_vec(),
            _ => good.iter().map(|b| b.wrapping_add(1)).collect(),
        };
        let path = chunk_file(&b, id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, torn).unwrap();
    }
    let pull = remote.json(&b, &["pull"]);
    assert_eq!(u64_of(&pull, "tracks_added"), 1, "{pull:#}");
    assert!(u64_of(&pull, "chunks_fetched") >= 3, "{pull:#}");
    b.cmd(["verify"]).run().expect_ok();
    let expected = exported_checksums(&a, "export-a");
    assert_eq!(exported_checksums(&b, "export-b"), expected);

    // A clone cut off part way, its fetched chunks then damaged, resumes cleanly.
    let proxy = FaultProxy::start(g.s3_addr());
    let slow = Remote::on(&g, "lines-torn").via(proxy.endpoint());
    let c = TestVault::uninitialised(Some(PASSPHRASE));
    proxy.fail_all(Fault::Delay(Duration::from_millis(100)));
    let cloning = slow
        .cmd(
            &c,
            [
                "clone",
                &slow.url(),
                "--endpoint",
                &slow.endpoint,
                "--region",
                &slow.region,
                "--path-style",
                "--parallelism",
                "1",
            ],
        )
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    let fetched = loop {
        let present: Vec<&(String, u64)> = chunks
            .iter()
            .filter(|(id, _)| chunk_file(&c, id).is_file())
            .collect();
        if present.len() >= 2 {
            break present;
        }
        assert!(Instant::now() < deadline, "the clone fetched nothing");
        std::thread::sleep(Duration::from_millis(10));
    };
    let killed = cloning.kill();
    assert_ne!(killed.code(), 0, "the clone was cut off: {killed}");
    std::fs::write(chunk_file(&c, &fetched[0].0), b"").unwrap();
    let good = std::fs::read(chunk_file(&c, &fetched[1].0)).unwrap();
    std::fs::write(
        chunk_file(&c, &fetched[1].0),
        good.iter().map(|b| b ^ 0x5a).collect::<Vec<u8>>(),
    )
    .unwrap();
    proxy.clear();
    remote.clone_into(&c).expect_ok();
    c.cmd(["verify"]).run().expect_ok();
    assert_eq!(exported_checksums(&c, "export-c"), expected);
}

/// A vault folder copied to another computer becomes a device of its own there:
/// the two copies never push into one line, and each sees the other's tracks.
#[test]
fn a_vault_folder_copied_to_another_machine_pushes_its_own_line() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-copied");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (one, one_sha) = noise(&dir, "one.wav", 101, 300_000);
    let (two, two_sha) = noise(&dir, "two.wav", 102, 300_000);
    let (three, three_sha) = noise(&dir, "three.wav", 103, 300_000);
    a.import(&[&one]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let a_device = remote.json(&a, &["remote", "show"])["status"]["device"].clone();

    // The folder, copied as it is, opened on "another machine".
    let copy = TestVault::uninitialised(Some(PASSPHRASE));
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&a.path)
        .arg(&copy.path)
        .status()
        .unwrap();
    assert!(status.success());
    let elsewhere = |args: &[&str]| -> Value {
        remote
            .cmd(&copy, args)
            .env("AUDIOVAULT_TEST_MACHINE_ID", "another-machine-0001")
            .arg("--json")
            .run()
            .expect_ok()
            .json()
    };
    let copy_device = elsewhere(&["remote", "show"])["status"]["device"].clone();
    assert_ne!(copy_device, a_device, "the copy is a device of its own");

    // Both import and push without pulling: two lines, nothing overwritten.
    a.import(&[&two]);
    remote.json(&a, &["push"]);
    let imported = remote
        .cmd(&copy, ["import", three.to_str().unwrap(), "--json"])
        .env("AUDIOVAULT_TEST_MACHINE_ID", "another-machine-0001")
        .run();
    assert_eq!(imported.code(), 0, "{imported}");
    elsewhere(&["push"]);
    let devices = remote.json(&a, &["remote", "devices"]);
    assert_eq!(
        devices["devices"].as_array().map(Vec::len),
        Some(2),
        "{devices:#}"
    );
    remote.json(&a, &["pull"]);
    assert_eq!(shas(&a), set_of(&[&one_sha, &two_sha, &three_sha]));
    elsewhere(&["pull"]);
    let fresh = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&fresh).expect_ok();
    assert_eq!(shas(&fresh), set_of(&[&one_sha, &two_sha, &three_sha]));
}

/// `doctor` says when other devices pushed changes this one has not merged (a
/// warning: nothing is at risk, the next pull or push merges them).
#[test]
fn doctor_names_other_devices_pushes_not_merged_here() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-doctor");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (one, _) = noise(&dir, "one.wav", 111, 300_000);
    let (two, _) = noise(&dir, "two.wav", 112, 300_000);
    a.import(&[&one]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    b.import(&[&two]);
    remote.json(&b, &["push"]);
    let b_device = remote.json(&b, &["remote", "show"])["status"]["device"]
        .as_str()
        .unwrap()
        .to_string();

    let check = |report: &Value, name: &str| -> Value {
        report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["check"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
    };
    let before = remote.cmd(&a, ["doctor", "--json"]).run();
    assert_eq!(before.code(), 0, "a warning does not fail doctor\n{before}");
    let report = before.json();
    assert_eq!(check(&report, "remote")["ok"], true, "{report:#}");
    let unmerged = check(&report, "unmerged_manifests");
    assert_eq!(unmerged["ok"], false, "{report:#}");
    assert_eq!(unmerged["level"], "warning", "{report:#}");
    assert!(
        unmerged["affected"].as_array().is_some_and(|a| a
            .iter()
            .any(|d| d.as_str().is_some_and(|d| d.contains(&b_device)))),
        "{report:#}"
    );
    remote.json(&a, &["pull"]);
    let after = remote.json(&a, &["doctor"]);
    assert_eq!(check(&after, "unmerged_manifests")["ok"], true, "{after:#}");
}

/// Ctrl-C during a push stops it at once, even with a request in flight that the
/// server is slow to answer, and the push still takes its lease off the remote
/// (a lease left behind would hold remote GC off for hours).
#[test]
fn a_cancelled_push_stops_at_once_and_releases_its_lease() {
    let Some(g) = garage() else { return };
    let corpus = corpus();
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "lines-cancel").via(proxy.endpoint());
    let a = TestVault::new();
    a.import(&corpus.dirs());
    remote.set(&a, &["--parallelism", "1"]);
    proxy.fail_all(Fault::Delay(Duration::from_secs(5)));
    let mut pushing = remote.cmd(&a, ["push", "--json"]).spawn();
    // The lease goes up first; then every request waits 5 s at the proxy.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !proxy.put_keys().iter().any(|k| k.contains("/locks/")) {
        assert!(Instant::now() < deadline, "the push took no lease");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(pushing.is_running());
    proxy.clear();
    let interrupted = Instant::now();
    // SAFETY: kill only sends a signal to the child we spawned.
    let rc = unsafe { libc::kill(pushing.pid() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let run = pushing.wait();
    let took = interrupted.elapsed();
    assert_eq!(run.code(), 130, "Ctrl-C exits 130\n{run}");
    assert!(
        took < Duration::from_millis(2500),
        "the push stopped without waiting for the slow request ({took:?})"
    );
    let leases = g.list_keys("lines-cancel/locks/");
    assert!(
        leases.is_empty(),
        "the cancelled push left its lease: {leases:?}"
    );
    // And a push afterwards completes.
    let done = remote.json(&a, &["push"]);
    assert_eq!(done["nothing_new"], false, "{done:#}");
    assert!(g.list_keys("lines-cancel/locks/").is_empty());
}

/// Whether a push or pull listed the remote's packs (a full listing of `packs/`),
/// from the listings a proxy saw.
fn listed_packs(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .list_targets()
        .into_iter()
        .filter(|t| t.contains("packs"))
        .collect()
}

/// A device away for a whole remote GC (the mark, then the deletion a grace period
/// later) must not lean on the packs it deleted, and must learn of the deletion
/// without listing every pack: from the record GC writes before deleting. B knows
/// the song's pack from A's index, sees the song purged, and imports it again after
/// GC deleted the pack; its push must upload the song, or the remote would hold a
/// manifest whose song no device can restore.
#[test]
fn a_device_away_for_a_whole_remote_gc_uploads_again_what_gc_deleted() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-gone");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (seed, seed_sha) = noise(&dir, "seed.wav", 61, 200_000);
    let (song, song_sha) = noise(&dir, "song.wav", 62, 900_000);
    a.import(&[&seed]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    // The song in a pack of its own.
    a.import(&[&song]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    assert_eq!(shas(&b), set_of(&[&seed_sha, &song_sha]));

    a.run(["trash", &id_of(&a, &song_sha)]).expect_ok();
    a.json(["purge"]);
    remote.json(&a, &["push"]);
    remote.json(&b, &["pull"]);
    assert_eq!(shas(&b), set_of(&[&seed_sha]), "the purge reached B");

    // Mark, then delete, with B looking at neither.
    let marked = remote.json(&a, &GC_NOW);
    assert!(u64_of(&marked, "packs_marked") >= 1, "{marked:#}");
    let deleted = remote.json(&a, &GC_NOW);
    assert!(u64_of(&deleted, "packs_deleted") >= 1, "{deleted:#}");
    assert!(
        !g.list_keys("lines-gone/gone/").is_empty(),
        "GC kept a record of what it deleted"
    );

    // B gets the song again and pushes, through a proxy that sees its listings.
    b.import(&[&song]);
    let proxy = FaultProxy::start(g.s3_addr());
    let watched = Remote::on(&g, "lines-gone").via(proxy.endpoint());
    watched.set(&b, &[]);
    let push = watched.json(&b, &["push"]);
    assert!(
        u64_of(&push, "bytes_uploaded") >= 900_000,
        "the song went up again: {push:#}"
    );
    assert_eq!(
        listed_packs(&proxy),
        Vec::<String>::new(),
        "the push learnt of the deletion without listing every pack"
    );

    // A new device restores both, byte for byte.
    let c = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&c).expect_ok();
    let restored = exported_checksums(&c, "export");
    assert_eq!(
        restored.keys().cloned().collect::<BTreeSet<_>>(),
        set_of(&[&seed_sha, &song_sha])
    );
    let verify = remote.json(&b, &["verify", "--remote"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
}

/// What no record tells (a pack deleted by hand or by a bucket lifecycle rule) the
/// weekly full listing finds: within the week a push trusts its view, and the first
/// push a week later (by the device's clock) lists every pack, forgets the one
/// gone, and uploads its chunks again.
#[test]
fn a_pack_deleted_behind_syncs_back_is_found_by_the_weekly_full_listing() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-byhand");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (seed, seed_sha) = noise(&dir, "seed.wav", 71, 200_000);
    let (song, song_sha) = noise(&dir, "song.wav", 72, 900_000);
    a.import(&[&seed]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let before: BTreeSet<String> = g
        .list_keys("lines-byhand/packs/")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    a.import(&[&song]);
    remote.json(&a, &["push"]);
    let song_packs: Vec<String> = g
        .list_keys("lines-byhand/packs/")
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !before.contains(k))
        .collect();
    assert!(!song_packs.is_empty());
    for key in &song_packs {
        g.delete(key);
    }

    let proxy = FaultProxy::start(g.s3_addr());
    let watched = Remote::on(&g, "lines-byhand").via(proxy.endpoint());
    watched.set(&a, &[]);
    let push = |days: i64| -> Value {
        watched
            .cmd(&a, ["push", "--json"])
            .env(
                "AUDIOVAULT_TEST_CLOCK_OFFSET_SECONDS",
                (days * 24 * 3600).to_string(),
            )
            .run()
            .expect_ok()
            .json()
    };
    // A change to push, so the push looks at the remote at all.
    a.run(["trash", &id_of(&a, &seed_sha)]).expect_ok();
    let within_the_week = push(6);
    assert!(
        u64_of(&within_the_week, "bytes_uploaded") < 900_000,
        "only the catalog went up: {within_the_week:#}"
    );
    assert_eq!(listed_packs(&proxy), Vec::<String>::new());

    a.run(["restore", &id_of(&a, &seed_sha)]).expect_ok();
    let a_week_later = push(8);
    assert!(!listed_packs(&proxy).is_empty(), "the weekly full listing");
    assert!(
        u64_of(&a_week_later, "bytes_uploaded") >= 900_000,
        "the song went up again: {a_week_later:#}"
    );
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();
    assert_eq!(
        exported_checksums(&b, "export")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        set_of(&[&seed_sha, &song_sha])
    );
}

/// The snapshot cache a pull reads the other line's catalog from, damaged the ways a
/// power cut or a stray tool leaves files (garbage of the right size, cut short,
/// empty): the pull takes only intact files as cached, fetches the others again,
/// and merges what the other device pushed, byte for byte.
#[test]
fn a_damaged_snapshot_cache_is_fetched_again_and_the_pull_merges_whole() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lines-cache");
    let a = TestVault::new();
    let dir = a.scratch_dir("sources");
    let (seed, seed_sha) = noise(&dir, "seed.wav", 81, 200_000);
    a.import(&[&seed]);
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    remote.clone_into(&b).expect_ok();

    let cached = files_under(&b.path.join("sync-cache"));
    assert!(!cached.is_empty(), "the clone kept A's snapshot chunks");
    for (i, path) in cached.iter().enumerate() {
        let good = std::fs::read(path).unwrap();
        let damaged = match i % 3 {
            // Same size, other bytes: only authentication tells.
            0 => good.iter().map(|b| b ^ 0x5a).collect(),
            1 => good[..good.len() / 2].to_vec(),
            _ => Vec::new(),
        };
        std::fs::write(path, damaged).unwrap();
    }

    let (song, song_sha) = noise(&dir, "song.wav", 82, 300_000);
    a.import(&[&song]);
    remote.json(&a, &["push"]);
    let pull = remote.json(&b, &["pull"]);
    assert_eq!(u64_of(&pull, "tracks_added"), 1, "{pull:#}");
    assert_eq!(shas(&b), set_of(&[&seed_sha, &song_sha]));
    assert_eq!(
        exported_checksums(&b, "export-b"),
        exported_checksums(&a, "export-a")
    );
    // The cache holds the new snapshot's chunks again, each as on the remote.
    for path in files_under(&b.path.join("sync-cache")) {
        assert!(
            std::fs::metadata(&path).unwrap().len() > 0,
            "{}",
            path.display()
        );
    }
}
