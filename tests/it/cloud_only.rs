//! Cloud-only tracks ("free up space", issue 15) against a real Garage: evict
//! checks the remote before deleting anything, evicted tracks play (with
//! ranges) and export from the bucket, a stopped bucket gives a clear error and
//! loses nothing, keep brings them back, another device's copy is never touched,
//! and an evict killed at any point never loses a track.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use audiovault_tests::*;
use serde_json::Value;

use crate::sync::{Remote, garage};

/// The `n` biggest distinct files of the corpus (several chunks each).
fn big_files(n: usize) -> Vec<&'static SourceFile> {
    let mut files: Vec<&SourceFile> = corpus().files.iter().collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.size));
    let mut out: Vec<&SourceFile> = Vec::new();
    for f in files {
        if out.iter().all(|o| o.sha256 != f.sha256) {
            out.push(f);
        }
        if out.len() == n {
            break;
        }
    }
    out
}

/// A vault holding `files`, pushed to `remote`. Returns {sha256: track id}.
fn pushed_vault(remote: &Remote, files: &[&SourceFile]) -> (TestVault, BTreeMap<String, String>) {
    let vault = TestVault::new();
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let report = vault.import(&paths);
    assert_eq!(report.count("imported"), files.len(), "{}", report.run);
    remote.set(&vault, &[]);
    remote.json(&vault, &["push"]);
    let ids = vault
        .tracks()
        .iter()
        .map(|t| {
            (
                str_field(t, "sha256").to_string(),
                str_field(t, "id").to_string(),
            )
        })
        .collect();
    (vault, ids)
}

fn location(vault: &TestVault, id: &str) -> String {
    str_field(&vault.show(id), "location").to_string()
}

/// Exports one track and returns its file's SHA-256 (or the run, failed).
fn export_one(remote: &Remote, vault: &TestVault, id: &str, name: &str) -> Result<String, Run> {
    let out = vault.scratch(name);
    let run = remote
        .cmd(vault, ["export", id, "--to"])
        .arg(&out)
        .arg("--json")
        .run();
    if run.code() != 0 {
        return Err(run);
    }
    let files = files_under(&out);
    assert_eq!(files.len(), 1, "{}", run.output());
    Ok(sha256_file(&files[0]))
}

fn outcome<'a>(report: &'a Value, id: &str) -> &'a Value {
    as_array(&report["tracks"])
        .iter()
        .find(|t| str_field(t, "id") == id)
        .unwrap_or_else(|| panic!("no outcome for {id} in {report}"))
}

/// A plain HTTP/1.1 GET to the playback server; (status, body, time to the
/// first body byte).
fn http_get(url: &str, range: Option<&str>) -> (u16, Vec<u8>, Duration) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let started = Instant::now();
    let mut s = TcpStream::connect(host).expect("connect");
    let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{range}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut first = [0u8; 1];
    let mut head = Vec::new();
    // Read the head byte by byte, then the first body byte (timed), then the rest.
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut first).expect("head");
        head.push(first[0]);
    }
    let mut body = Vec::new();
    let n = s.read(&mut first).expect("first body byte");
    let to_first = started.elapsed();
    body.extend_from_slice(&first[..n]);
    s.read_to_end(&mut body).expect("body");
    let head = String::from_utf8_lossy(&head).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    (status, body, to_first)
}

#[test]
fn an_evicted_track_plays_exports_and_comes_back_and_a_stopped_bucket_loses_nothing() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "cloud-only");
    let files = big_files(3);
    let (vault, ids) = pushed_vault(&remote, &files);
    let gone = &files[0];
    let gone_id = ids[&gone.sha256].clone();
    let before = vault.chunk_files();
    let its_chunks: Vec<String> = vault
        .chunks_of(&gone_id)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert!(its_chunks.len() > 1, "a track of several chunks");
    assert_eq!(location(&vault, &gone_id), "both");

    // A fresh import (never played) is not "unplayed for a day".
    let none = remote
        .cmd(&vault, ["evict", "--not-played-days", "1", "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(u64_field(&none, "evicted"), 0, "{none}");
    assert_eq!(vault.chunk_files(), before);

    let report = remote
        .cmd(&vault, ["evict", &gone_id, "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(
        str_field(outcome(&report, &gone_id), "outcome"),
        "evicted",
        "{report}"
    );
    let freed: u64 = its_chunks.iter().map(|c| before[c]).sum();
    assert_eq!(u64_field(&report, "bytes_freed"), freed, "{report}");
    assert!(
        u64_field(&report, "bytes_checked") >= freed,
        "the remote's copies were read: {report}"
    );
    let after = vault.chunk_files();
    for c in &its_chunks {
        assert!(!after.contains_key(c), "chunk {c} still on disk");
    }
    assert_eq!(after.len(), before.len() - its_chunks.len());
    assert_eq!(location(&vault, &gone_id), "cloud");
    let listed = vault.run(["search"]).expect_ok().output();
    assert!(listed.contains("(cloud only)"), "{listed}");
    // Again: nothing more to free.
    let again = remote
        .cmd(&vault, ["evict", &gone_id, "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(
        str_field(outcome(&again, &gone_id), "outcome"),
        "already_cloud"
    );
    assert_eq!(u64_field(&again, "bytes_freed"), 0);

    // A plain verify: intact, the evicted track "cloud only, not checked locally".
    let verify = vault.json(["verify"]);
    assert_eq!(verify["ok"], true, "{verify}");
    let cloud = as_array(&verify["cloud_only"]);
    assert_eq!(cloud.len(), 1, "{verify}");
    assert_eq!(str_field(&cloud[0], "id"), gone_id);
    assert_eq!(cloud[0]["checked"], false);
    // Doctor sees no missing chunk either.
    let doctor = vault.json(["doctor"]);
    let chunks_check = as_array(&doctor["checks"])
        .iter()
        .find(|c| str_field(c, "check") == "chunks")
        .cloned()
        .unwrap_or_default();
    assert_eq!(chunks_check["ok"], true, "{doctor}");

    // Playback from the bucket, no cache: the first byte and a seek to the middle.
    let played = play_from_the_cloud(&vault, &remote, &gone_id, gone);
    eprintln!(
        "cloud playback: first byte {:?}, middle range {:?}",
        played.0, played.1
    );
    assert!(
        played.0 < Duration::from_millis(300),
        "first byte after {:?}",
        played.0
    );
    assert!(
        played.1 < Duration::from_millis(300),
        "a seek's first byte after {:?}",
        played.1
    );

    // Export from the bucket is byte-identical; verify --cloud reads it back.
    assert_eq!(
        export_one(&remote, &vault, &gone_id, "exp1").expect("export"),
        gone.sha256
    );
    let verify = remote
        .cmd(&vault, ["verify", "--cloud", "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(
        as_array(&verify["cloud_only"])[0]["checked"],
        true,
        "{verify}"
    );

    // The cache holds the encrypted objects as the pack had them: one per chunk,
    // each the stored size, none holding the source's bytes.
    let cache = vault.path.join("cache").join("chunks");
    let source = std::fs::read(&gone.path).expect("source");
    let mut offset = 0usize;
    for (c, len) in vault.chunks_of(&gone_id) {
        let cached =
            std::fs::read(cache.join(&c)).unwrap_or_else(|e| panic!("chunk {c} not cached: {e}"));
        assert_eq!(cached.len() as u64, before[&c], "chunk {c}");
        let probe = &source[offset + 1000..offset + 1064];
        assert!(
            !cached.windows(probe.len()).any(|w| w == probe),
            "plaintext in the cache: {c}"
        );
        offset += len as usize;
    }
    // A cap smaller than the track: the cache stays under it.
    let _ = std::fs::remove_dir_all(&cache);
    let cap = before[&its_chunks[0]] + 1;
    let capped = remote
        .cmd(&vault, ["export", &gone_id, "--json", "--to"])
        .arg(vault.scratch("capped"))
        .env("AUDIOVAULT_CLOUD_CACHE_BYTES", cap.to_string())
        .run()
        .expect_ok();
    let held: u64 = files_under(&cache)
        .iter()
        .map(|f| f.metadata().expect("size").len())
        .sum();
    assert!(
        held > 0 && held <= cap,
        "cache of {held} bytes with a cap of {cap}: {}",
        capped.output()
    );

    // The bucket unreachable: a track in the cache still exports from it (and
    // one not in it does not)…
    let dead = Remote::on(&g, "cloud-only").via("http://127.0.0.1:9".into());
    dead.set(&vault, &[]);
    let _ = std::fs::remove_dir_all(&cache);
    export_one(&dead, &vault, &gone_id, "refill").expect_err("no cache, no bucket");
    remote.set(&vault, &[]);
    assert_eq!(
        export_one(&remote, &vault, &gone_id, "refill2").expect("export"),
        gone.sha256
    );
    dead.set(&vault, &[]);
    assert_eq!(
        export_one(&dead, &vault, &gone_id, "cached").expect("from the cache"),
        gone.sha256
    );

    // …and with the cache out of the way, a clear error that names the track;
    // nothing local is lost.
    let _ = std::fs::remove_dir_all(vault.path.join("cache"));
    let failed = export_one(&dead, &vault, &gone_id, "exp2").expect_err("no bucket, no export");
    let text = failed.output();
    assert!(text.contains(gone.file_name()), "names the track: {text}");
    assert!(text.contains("cloud only"), "says why: {text}");
    for (sha, id) in &ids {
        if id != &gone_id {
            assert_eq!(
                &export_one(&dead, &vault, id, &format!("o-{id}")).expect("local"),
                sha
            );
        }
    }
    assert_eq!(location(&vault, &gone_id), "cloud");
    assert_eq!(vault.chunk_files(), after);
    let kept = dead.cmd(&vault, ["keep", &gone_id, "--json"]).run();
    assert_ne!(kept.code(), 0, "keep without the bucket must fail");
    assert_eq!(location(&vault, &gone_id), "cloud");
    assert_eq!(vault.chunk_files(), after);

    // Keep, with the bucket back: the chunks return, checked.
    remote.set(&vault, &[]);
    let kept = remote
        .cmd(&vault, ["keep", &gone_id, "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(
        str_field(outcome(&kept, &gone_id), "outcome"),
        "kept",
        "{kept}"
    );
    assert_eq!(u64_field(&kept, "bytes_fetched"), freed);
    assert_eq!(vault.chunk_files(), before);
    assert_eq!(location(&vault, &gone_id), "both");
    // And it stands on its own: the bucket stopped, verify is clean.
    dead.set(&vault, &[]);
    let verify = vault.json(["verify"]);
    assert_eq!(verify["ok"], true, "{verify}");
    assert!(as_array(&verify["cloud_only"]).is_empty(), "{verify}");
    assert_eq!(
        export_one(&dead, &vault, &gone_id, "exp3").expect("local again"),
        gone.sha256
    );
}

/// Plays `id` through the engine's playback server with no cache: the whole
/// file from the first byte, then a range from the middle. Returns the times to
/// the first byte of each.
fn play_from_the_cloud(
    vault: &TestVault,
    remote: &Remote,
    id: &str,
    file: &SourceFile,
) -> (Duration, Duration) {
    // This test's own process: the engine reads these as the app would.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", &remote.access_key);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", &remote.secret_key);
        std::env::set_var("AUDIOVAULT_CLOUD_CACHE_BYTES", "0");
    }
    let opened = audiovault_engine::LockedVault::open(&vault.path)
        .expect("open")
        .unlock(&audiovault_engine::Passphrase::new(
            vault.passphrase().expect("passphrase"),
        ))
        .expect("unlock");
    let server = audiovault_engine::serve::MediaServer::start(Arc::new(opened)).expect("serve");
    // Read when the server's chunk source is made (below, on the first
    // request): gone again before the CLI's runs inherit this environment.
    let url = server.url(id, Duration::from_secs(60));
    let (status, body, first) = http_get(&url, None);
    assert_eq!(status, 200);
    assert_eq!(
        sha256_bytes(&body),
        file.sha256,
        "the whole track, byte for byte"
    );
    let mid = file.size / 2;
    let (status, part, seek) = http_get(&url, Some(&format!("bytes={mid}-{}", mid + 99_999)));
    assert_eq!(status, 206);
    let whole = std::fs::read(&file.path).expect("source");
    assert_eq!(part, whole[mid as usize..mid as usize + 100_000]);
    unsafe {
        std::env::remove_var("AUDIOVAULT_CLOUD_CACHE_BYTES");
    }
    assert!(
        !vault.path.join("cache").join("chunks").exists(),
        "nothing cached with a cap of 0"
    );
    // The player's requests count as a play of the track (for --not-played-days).
    let plays: i64 = vault
        .catalog_behind_the_vaults_back()
        .conn()
        .query_row(
            "SELECT count(*) FROM track_plays WHERE track_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("plays");
    assert_eq!(plays, 1, "a play of {id} recorded");
    (first, seek)
}

fn sha256_bytes(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("b");
    std::fs::write(&p, bytes).expect("write");
    sha256_file(&p)
}

#[test]
fn a_remote_that_lost_a_pack_refuses_the_eviction_and_nothing_is_deleted() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "lost-pack");
    let files = big_files(2);
    let (vault, ids) = pushed_vault(&remote, &files);
    let before = vault.chunk_files();
    // Every pack gone from the bucket behind the vault's back.
    let packs = g.list_keys("lost-pack/packs/");
    assert!(!packs.is_empty());
    for (key, _) in &packs {
        g.client().delete(key);
    }
    let all: Vec<&str> = ids.values().map(String::as_str).collect();
    let report = remote.cmd(&vault, ["evict"]).args(&all).arg("--json").run();
    assert_eq!(
        report.code(),
        3,
        "refused tracks are a partial result: {}",
        report.output()
    );
    let report = report.json();
    for id in &all {
        let t = outcome(&report, id);
        assert_eq!(str_field(t, "outcome"), "refused", "{report}");
        assert!(str_field(t, "reason").contains("gone"), "{report}");
        assert_eq!(location(&vault, id), "both");
    }
    assert_eq!(u64_field(&report, "bytes_freed"), 0);
    assert_eq!(vault.chunk_files(), before, "nothing deleted");
    // A track never pushed is refused before the remote is asked.
    let other = big_files(3)[2];
    vault.import(std::slice::from_ref(&other.path));
    let new_id = vault
        .tracks()
        .iter()
        .find(|t| str_field(t, "sha256") == other.sha256)
        .map(|t| str_field(t, "id").to_string())
        .expect("imported");
    let report = remote
        .cmd(&vault, ["evict", &new_id, "--json"])
        .run()
        .json();
    assert!(
        str_field(outcome(&report, &new_id), "reason").contains("push first"),
        "{report}"
    );
}

#[test]
fn an_eviction_on_one_device_never_touches_anothers_copy_nor_does_its_gc() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "two-devices");
    let files = big_files(2);
    let (a, ids) = pushed_vault(&remote, &files);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    let cloned = remote.clone_into(&b);
    assert_eq!(cloned.code(), 0, "{}", cloned.output());
    let b_before = b.chunk_files();
    let gone_id = ids[&files[0].sha256].clone();
    let report = remote
        .cmd(&a, ["evict", &gone_id, "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(u64_field(&report, "evicted"), 1, "{report}");
    // A pushes (its manifest still references the packs), B pulls and pushes.
    remote.json(&a, &["push"]);
    remote.json(&b, &["pull"]);
    remote.json(&b, &["push"]);
    assert_eq!(b.chunk_files(), b_before, "B keeps every chunk");
    assert_ne!(location(&b, &gone_id), "cloud");
    assert_eq!(b.json(["verify"])["ok"], true);
    // B's remote GC, with no grace, twice (mark, then delete): A's cloud-only
    // track stays readable from the bucket.
    for _ in 0..2 {
        remote.json(&b, &["remote", "gc", "--grace-hours", "0"]);
    }
    assert_eq!(location(&a, &gone_id), "cloud");
    let _ = std::fs::remove_dir_all(a.path.join("cache"));
    assert_eq!(
        export_one(&remote, &a, &gone_id, "after-gc").expect("from the bucket"),
        files[0].sha256
    );
    let verify = remote
        .cmd(&a, ["verify", "--cloud", "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(verify["ok"], true, "{verify}");
}

#[test]
fn an_evict_or_keep_killed_at_random_points_never_loses_a_track() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "evict-crash");
    let files = big_files(4);
    let (vault, ids) = pushed_vault(&remote, &files);
    let all: Vec<String> = ids.values().cloned().collect();
    // How long a whole eviction takes (then brought back).
    let started = Instant::now();
    remote
        .cmd(&vault, ["evict"])
        .args(&all)
        .arg("--json")
        .run()
        .expect_ok();
    let full = started.elapsed();
    let started = Instant::now();
    remote
        .cmd(&vault, ["keep"])
        .args(&all)
        .arg("--json")
        .run()
        .expect_ok();
    let full_keep = started.elapsed();
    const TRIALS: u32 = 8;
    let mut cloud_seen = 0;
    let mut local_seen = 0;
    // Every track is local with every chunk file (verify then checks them), or
    // cloud and exports from the bucket byte for byte.
    let mut check = |ctx: &str, tag: &str| {
        for (sha, id) in &ids {
            match location(&vault, id).as_str() {
                "cloud" => {
                    cloud_seen += 1;
                    let got = export_one(&remote, &vault, id, &format!("{tag}-{id}"))
                        .unwrap_or_else(|r| {
                            panic!("{ctx}: {id} cloud but not exportable: {}", r.output())
                        });
                    assert_eq!(&got, sha, "{ctx}");
                }
                _ => {
                    local_seen += 1;
                    for (c, _) in vault.chunks_of(id) {
                        assert!(
                            vault.chunk_path(&c).is_file(),
                            "{ctx}: {id} local but chunk {c} gone"
                        );
                    }
                }
            }
        }
        let verify = vault.json(["verify"]);
        assert_eq!(verify["ok"], true, "{ctx}: {verify}");
    };
    for trial in 0..TRIALS {
        let delay = full.mul_f64(1.2 * f64::from(trial) / f64::from(TRIALS));
        let run = remote
            .cmd(&vault, ["evict"])
            .args(&all)
            .arg("--json")
            .spawn();
        std::thread::sleep(delay);
        let killed = run.kill();
        let ctx = format!(
            "trial {trial}: evict killed after {delay:?} of {full:?}, exit {}",
            killed.code()
        );
        check(&ctx, &format!("e{trial}"));
        // GC after the crash puts leftovers right and deletes nothing needed.
        vault.run(["gc"]).expect_ok();
        check(&format!("{ctx}, then gc"), &format!("g{trial}"));

        // The same for keep, from every track cloud only.
        remote
            .cmd(&vault, ["evict"])
            .args(&all)
            .arg("--json")
            .run()
            .expect_ok();
        let delay = full_keep.mul_f64(1.2 * f64::from(trial) / f64::from(TRIALS));
        let run = remote
            .cmd(&vault, ["keep"])
            .args(&all)
            .arg("--json")
            .spawn();
        std::thread::sleep(delay);
        let killed = run.kill();
        let ctx = format!(
            "trial {trial}: keep killed after {delay:?} of {full_keep:?}, exit {}",
            killed.code()
        );
        check(&ctx, &format!("k{trial}"));
        remote
            .cmd(&vault, ["keep"])
            .args(&all)
            .arg("--json")
            .run()
            .expect_ok();
        for id in ids.values() {
            assert_eq!(location(&vault, id), "both", "{ctx}");
        }
    }
    eprintln!("evict crash: {cloud_seen} cloud and {local_seen} local track states checked");
}

/// The state a kill between the marks' commit and the last deletion leaves,
/// made on purpose: every chunk of a track marked, half of its files deleted.
/// Reads use what is there and the bucket for the rest; the next GC rolls back
/// the marks of the files still intact (and only those); keep finishes.
#[test]
fn a_half_done_eviction_reads_from_both_and_gc_rolls_back_only_intact_files() {
    let Some(g) = garage() else { return };
    let remote = Remote::on(&g, "half-done");
    let files = big_files(1);
    let (vault, ids) = pushed_vault(&remote, &files);
    let id = ids[&files[0].sha256].clone();
    let chunks: Vec<String> = vault.chunks_of(&id).into_iter().map(|(c, _)| c).collect();
    assert!(chunks.len() >= 2, "a track of several chunks");
    {
        let catalog = vault.catalog_behind_the_vaults_back();
        let n = catalog
            .conn()
            .execute(
                "INSERT INTO evicted_chunks (chunk_id, evicted_at)
                 SELECT chunk_id, 0 FROM track_chunks WHERE track_id = ?1",
                [&id],
            )
            .expect("mark");
        assert_eq!(n, chunks.len());
    }
    let (gone, kept) = chunks.split_at(chunks.len() / 2);
    for c in gone {
        std::fs::remove_file(vault.chunk_path(c)).expect("delete a chunk file");
    }
    assert_eq!(location(&vault, &id), "cloud");
    assert_eq!(
        export_one(&remote, &vault, &id, "half").expect("local and cloud chunks"),
        files[0].sha256
    );
    assert_eq!(vault.json(["verify"])["ok"], true);

    vault.run(["gc"]).expect_ok();
    let still: Vec<String> = {
        let catalog = vault.catalog_behind_the_vaults_back();
        let mut stmt = catalog
            .conn()
            .prepare("SELECT lower(hex(chunk_id)) FROM evicted_chunks")
            .expect("query");
        stmt.query_map([], |r| r.get::<_, String>(0))
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect()
    };
    let mut expected: Vec<String> = gone.to_vec();
    expected.sort();
    let mut got = still.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "marks of intact files rolled back, the others kept"
    );
    for c in kept {
        assert!(
            vault.chunk_path(c).is_file(),
            "GC removed an intact chunk {c}"
        );
    }
    assert_eq!(location(&vault, &id), "cloud");
    let kept_run = remote
        .cmd(&vault, ["keep", &id, "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(u64_field(&kept_run, "kept"), 1, "{kept_run}");
    assert_eq!(location(&vault, &id), "both");
    for c in &chunks {
        assert!(vault.chunk_path(c).is_file(), "chunk {c} back");
    }
    assert_eq!(vault.json(["verify"])["ok"], true);
}
