//! What a power cut leaves behind, and that nothing trusts it by name.
//!
//! A rename can reach the disk before the data it renames: after a power cut a chunk's
//! path can hold an empty, truncated or garbage file. An import that needs such a chunk
//! rewrites it (it has the plaintext in hand); `verify` names the track it breaks; a
//! re-import of the source repairs a track whose chunk files came back empty or short.
//! Temp files of writers that died are removed by their exact names, and nothing else
//! in the vault folder is ever deleted.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audiovault_tests::*;

const MIB: u64 = 1 << 20;

/// What a power cut can leave at a chunk's path.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// The rename reached the disk, the data did not.
    Empty,
    /// Part of the data reached the disk.
    Truncated,
    /// The right length, but blocks that never held this chunk (stale or zeroed).
    RightLengthGarbage,
}

const ALL_DAMAGE: [Damage; 3] = [Damage::Empty, Damage::Truncated, Damage::RightLengthGarbage];

/// Replaces the file at `path` with what `damage` leaves of `intact`.
fn damage_file(path: &Path, intact: &[u8], damage: Damage) {
    let bytes = match damage {
        Damage::Empty => Vec::new(),
        Damage::Truncated => intact[..intact.len() / 2].to_vec(),
        Damage::RightLengthGarbage => {
            // Keep the format byte and nonce, so only the authentication can tell.
            let mut b = intact.to_vec();
            for (i, byte) in b.iter_mut().enumerate().skip(13) {
                *byte = (i as u8).wrapping_mul(31) ^ 0x5a;
            }
            b
        }
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, bytes).unwrap();
}

/// A file at the path of a chunk that no track references any more (an import that
/// wrote it, then a crash before its commit, then a power cut), damaged: importing the
/// source again must rewrite it, not take it for stored.
#[test]
fn a_damaged_file_at_the_path_of_a_chunk_an_import_needs_is_rewritten() {
    for damage in ALL_DAMAGE {
        let ctx = format!("{damage:?}");
        let vault = TestVault::new();
        let src = vault.scratch_dir("src");
        let song = src.join("song.wav");
        write_noise_wav(&song, 41, 3 * MIB);
        let sha = sha256_file(&song);

        let id = str_field(vault.import(&[&song]).entry(&song), "id").to_owned();
        let chunks = vault.chunks_of(&id);
        assert!(chunks.len() >= 2, "{ctx}: a multi-chunk file: {chunks:?}");
        let intact: Vec<(PathBuf, Vec<u8>)> = chunks
            .iter()
            .map(|(c, _)| {
                let p = vault.chunk_path(c);
                let bytes = fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
        vault.run(["trash", &id]).expect_ok();
        vault.json(["purge"]);
        assert!(vault.chunk_files().is_empty(), "{ctx}: purge removed them");

        for (path, bytes) in &intact {
            damage_file(path, bytes, damage);
        }
        let again = vault.import(&[&song]);
        assert_eq!(again.count("imported"), 1, "{ctx}\n{}", again.run);
        for (path, bytes) in &intact {
            assert_eq!(
                fs::metadata(path).unwrap().len(),
                bytes.len() as u64,
                "{ctx}: {} rewritten whole",
                path.display()
            );
        }

        let verify = vault.cmd(["verify", "--json"]).run();
        assert_eq!(verify.code(), 0, "{ctx}\n{verify}");
        assert_eq!(verify.json()["ok"], true, "{ctx}");
        let new_id = str_field(again.entry(&song), "id").to_owned();
        let out = vault.scratch_dir("out");
        vault.export(&[&new_id], &out, &[]).expect_ok();
        assert_eq!(
            sha256_file(&out.join("song.wav")),
            sha,
            "{ctx}: byte-identical"
        );
        let warnings = as_array(&again.json["warnings"]);
        assert!(
            warnings.iter().any(|w| w
                .as_str()
                .is_some_and(|w| w.contains(&format!("{} damaged chunk file", chunks.len())))),
            "{ctx}: the import says it rewrote damaged chunk files: {warnings:?}"
        );
    }
}

/// A re-tagged copy shares chunks with its original: when one of them is damaged on
/// disk, importing the copy must store it again, so the copy is whole, and the
/// original, which references the same chunk, is whole again too.
#[test]
fn a_damaged_chunk_shared_with_a_new_copy_is_rewritten_and_both_tracks_verify() {
    for damage in ALL_DAMAGE {
        let ctx = format!("{damage:?}");
        let vault = TestVault::new();
        let src = vault.scratch_dir("src");
        let original = src.join("original.wav");
        let retagged = src.join("retagged.wav");
        write_noise_wav(&original, 42, 10 * MIB);
        // One sample changed near the end: every chunk but the last is shared.
        variant_of_wav(&original, &retagged, 9);
        let (sha_a, sha_b) = (sha256_file(&original), sha256_file(&retagged));
        assert_ne!(sha_a, sha_b);

        let id_a = str_field(vault.import(&[&original]).entry(&original), "id").to_owned();
        let chunks_a = vault.chunks_of(&id_a);
        assert!(chunks_a.len() >= 3, "{ctx}: {chunks_a:?}");
        let shared = chunks_a[0].0.clone();
        let path = vault.chunk_path(&shared);
        let intact = fs::read(&path).unwrap();
        damage_file(&path, &intact, damage);

        // The damage is real: verify names the original.
        let before = vault.cmd(["verify", "--json"]).run().expect_code(3).json();
        assert_eq!(ids(&before["damaged_tracks"]), vec![id_a.clone()], "{ctx}");

        let report = vault.import(&[&retagged]);
        assert_eq!(report.count("imported"), 1, "{ctx}\n{}", report.run);
        let id_b = str_field(report.entry(&retagged), "id").to_owned();
        let chunks_b: HashSet<String> = vault.chunks_of(&id_b).into_iter().map(|c| c.0).collect();
        assert!(
            chunks_b.contains(&shared),
            "{ctx}: the copy references the chunk that was damaged"
        );

        let verify = vault.cmd(["verify", "--json"]).run();
        assert_eq!(verify.code(), 0, "{ctx}: both tracks whole again\n{verify}");
        let out = vault.scratch_dir("out");
        vault.export(&[&id_a, &id_b], &out, &[]).expect_ok();
        assert_eq!(sha256_file(&out.join("retagged.wav")), sha_b, "{ctx}");
        assert_eq!(sha256_file(&out.join("original.wav")), sha_a, "{ctx}");
    }
}

/// Every file in `dir` with its contents, except the paths `skip` says the vault
/// itself may change (its catalog, chunks, lock).
fn snapshot(dir: &Path, skip: impl Fn(&Path) -> bool) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            (!skip(&rel)).then(|| (rel, fs::read(&p).unwrap()))
        })
        .collect()
}

fn vault_owned(rel: &Path) -> bool {
    let s = rel.to_string_lossy();
    s.starts_with("chunks/")
        || s.starts_with("records/")
        || s.starts_with("catalog.db")
        || s == "lock"
        || s == "vault.json"
}

/// Files a user, another program or an older version put in the vault folder: all of
/// them must survive every command.
fn plant_foreign_files(vault: &TestVault) {
    let files: [(&str, &[u8]); 6] = [
        ("notes.txt", b"my notes"),
        ("tmp/keep me.txt", b"not a temp file of the vault"),
        (
            "tmp/999999999-bb.tmp",
            b"short random part: not the vault's name",
        ),
        (
            "tmp/999999999-0123456789abcdef.tmp.bak",
            b"a suffix the vault never writes",
        ),
        (".vault.json.bak", b"a backup the user made"),
        (".vault.json.999999999-xyz.tmp", b"not hex"),
    ];
    for (rel, bytes) in files {
        fs::write(vault.path.join(rel), bytes).unwrap();
    }
}

#[test]
fn leftover_temp_files_of_dead_writers_are_removed_by_name_and_nothing_else() {
    let vault = TestVault::new();
    let src = vault.scratch_dir("src");
    let song = src.join("song.wav");
    write_noise_wav(&song, 43, 2 * MIB);
    let id = str_field(vault.import(&[&song]).entry(&song), "id").to_owned();
    let config = fs::read(vault.path.join("vault.json")).unwrap();

    plant_foreign_files(&vault);
    // What a writer killed mid-write leaves: a vault.json temp (this version's name and
    // an older version's), a chunk in flight, a pulled catalog with its WAL.
    let dead = 999_999_999;
    let random = "0123456789abcdef";
    let dead_leftovers = [
        format!(".vault.json.{dead}-{random}.tmp"),
        format!("tmp/{dead}-{random}.tmp"),
        format!("tmp/{dead}-{random}-pull.db"),
        format!("tmp/{dead}-{random}-pull.db-wal"),
        format!("tmp/{dead}-{random}-snapshot.db"),
    ];
    for rel in &dead_leftovers {
        fs::write(vault.path.join(rel), &config[..config.len() / 2]).unwrap();
    }
    let legacy_old = vault.path.join(".vault.json.0123456789ab.tmp");
    fs::write(&legacy_old, &config[..10]).unwrap();
    fs::File::options()
        .write(true)
        .open(&legacy_old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    // A live writer's (this test process is alive) and a legacy one just written.
    let live = [
        format!(".vault.json.{}-{random}.tmp", std::process::id()),
        format!("tmp/{}-{random}.tmp", std::process::id()),
        ".vault.json.ba9876543210.tmp".to_string(),
    ];
    for rel in &live {
        fs::write(vault.path.join(rel), b"in flight").unwrap();
    }
    let kept = snapshot(&vault.path, |rel| {
        vault_owned(rel)
            || dead_leftovers.iter().any(|d| rel == Path::new(d))
            || rel == Path::new(".vault.json.0123456789ab.tmp")
    });

    // Open, verify, re-import, export: each works, and afterwards the dead writers'
    // files are gone and everything else is as it was.
    let stats = vault.json(["stats"]);
    assert_eq!(u64_field(&stats, "tracks"), 1, "{stats}");
    for rel in &dead_leftovers {
        assert!(!vault.path.join(rel).exists(), "{rel} removed on open");
    }
    assert!(
        !legacy_old.exists(),
        "an hour-old legacy vault.json temp is removed"
    );
    let verify = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(verify["ok"], true, "{verify}");
    let again = vault.import(&[&song]);
    assert_eq!(again.count("duplicate"), 1, "{}", again.run);
    let out = vault.scratch_dir("out");
    vault.export(&[&id], &out, &[]).expect_ok();
    assert_eq!(sha256_file(&out.join("song.wav")), sha256_file(&song));

    assert_eq!(
        snapshot(&vault.path, vault_owned),
        kept,
        "nothing but the dead writers' temp files was deleted or changed"
    );
    assert_eq!(fs::read(vault.path.join("vault.json")).unwrap(), config);
}

/// A chunk renamed into place and committed, whose data never reached the disk: the
/// file comes back empty or short. The vault opens; verify names the track; export
/// refuses it; importing the source again rewrites the chunk files and the track is
/// whole.
#[test]
fn a_referenced_chunk_that_never_reached_the_disk_is_named_by_verify_and_repaired_by_reimport() {
    let vault = TestVault::new();
    let src = vault.scratch_dir("src");
    let (song, other) = (src.join("song.wav"), src.join("other.wav"));
    write_noise_wav(&song, 44, 10 * MIB);
    write_noise_wav(&other, 45, 2 * MIB);
    let report = vault.import(&[&song, &other]);
    assert_eq!(report.count("imported"), 2, "{}", report.run);
    let id = str_field(report.entry(&song), "id").to_owned();
    let chunks = vault.chunks_of(&id);
    assert!(chunks.len() >= 3, "{chunks:?}");
    let (empty, short) = (&chunks[1].0, &chunks[chunks.len() - 1].0);
    for (chunk, damage) in [(empty, Damage::Empty), (short, Damage::Truncated)] {
        let path = vault.chunk_path(chunk);
        let intact = fs::read(&path).unwrap();
        damage_file(&path, &intact, damage);
    }
    plant_foreign_files(&vault);
    let foreign = snapshot(&vault.path, vault_owned);

    // Opens.
    assert_eq!(u64_field(&vault.json(["stats"]), "tracks"), 2);

    // verify names the track and both chunks.
    let verify = vault.cmd(["verify", "--json"]).run().expect_code(3).json();
    assert_eq!(ids(&verify["damaged_tracks"]), vec![id.clone()], "{verify}");
    assert_eq!(
        str_field(&as_array(&verify["damaged_tracks"])[0], "file_name"),
        "song.wav"
    );
    let mut damaged: Vec<String> = ids(&verify["damaged_chunks"]);
    damaged.sort();
    let mut expected = vec![empty.clone(), short.clone()];
    expected.sort();
    assert_eq!(damaged, expected, "{verify}");
    let human = vault.run(["verify"]).expect_code(3);
    assert!(human.output().contains("song.wav"), "{human}");

    // export refuses it and leaves nothing.
    let out = vault.scratch_dir("refused");
    vault.export(&[&id], &out, &[]).expect_code(3);
    assert!(entries_under(&out).is_empty(), "{:?}", entries_under(&out));

    // Importing the source again repairs it.
    let again = vault.import(&[&song]);
    assert_eq!(again.run.code(), 0, "{}", again.run);
    let entry = again.entry(&song);
    assert_eq!(str_field(entry, "outcome"), "duplicate", "{entry}");
    assert_eq!(str_field(entry, "id"), id, "{entry}");
    assert!(
        str_field(entry, "reason").contains("2 of its missing or damaged chunk file(s) rewritten"),
        "the report says what was repaired: {entry}"
    );
    let verify = vault.cmd(["verify", "--json"]).run();
    assert_eq!(verify.code(), 0, "{verify}");
    let out = vault.scratch_dir("out");
    vault.export(&["--all"], &out, &[]).expect_ok();
    assert_eq!(sha256_file(&out.join("song.wav")), sha256_file(&song));
    assert_eq!(sha256_file(&out.join("other.wav")), sha256_file(&other));

    // An intact library re-imports as duplicates with nothing written.
    let before = vault.chunk_files();
    let again = vault.import(&[&song, &other]);
    assert_eq!(again.count("duplicate"), 2, "{}", again.run);
    for f in again.files() {
        assert!(
            !str_field(f, "reason").contains("rewritten"),
            "nothing to repair: {f}"
        );
    }
    assert_eq!(vault.chunk_files(), before);
    assert_eq!(snapshot(&vault.path, vault_owned), foreign);
}

/// An import killed with SIGKILL after some commits leaves `catalog.db-wal` beside the
/// catalog, holding those commits: the next open replays it, and the import can run
/// again.
#[test]
fn a_catalog_wal_left_by_a_killed_import_is_replayed_and_the_import_runs_again() {
    let vault = TestVault::new();
    let src = vault.scratch_dir("src");
    let small = src.join("a small.wav");
    write_noise_wav(&small, 46, 256 * 1024);
    let mut sources = vec![small.clone()];
    for i in 0..3 {
        let big = src.join(format!("b big {i}.wav"));
        write_noise_wav(&big, 47 + i, 64 * MIB);
        sources.push(big);
    }
    let shas: HashSet<String> = sources.iter().map(|p| sha256_file(p)).collect();
    plant_foreign_files(&vault);
    let foreign = snapshot(&vault.path, vault_owned);

    // One worker, the small file first: kill once it is committed, while the big
    // ones are being written.
    let mut import = vault
        .cmd(["import", "--workers", "1"])
        .args(&sources)
        .arg("--json")
        .spawn();
    let started = Instant::now();
    loop {
        let listed = vault.cmd(["list", "--json"]).run();
        if listed.code() == 0 && !as_array(&listed.json()).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the first file was never committed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        import.is_running(),
        "the import must still run when killed (make the big files bigger)"
    );
    import.kill();
    let wal = vault.path.join("catalog.db-wal");
    let wal_len = fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(wal_len > 0, "the kill left a WAL holding the commits");
    // The state a power cut leaves is the same files: keep a copy of the folder as it
    // is now, before anything opens it, and open that copy too.
    let copy = vault.scratch("vault copy");
    for file in files_under(&vault.path) {
        copy_to(&file, &copy.join(file.strip_prefix(&vault.path).unwrap()));
    }

    for folder in [vault.path.clone(), copy] {
        let ctx = folder.display().to_string();
        let run = |args: &[&str]| vault.cmd(args).env("AUDIOVAULT_VAULT", &folder).run();
        let tracks = run(&["list", "--json"]).expect_ok().json();
        let tracks = as_array(&tracks);
        assert!(!tracks.is_empty(), "{ctx}: the WAL's commits are there");
        for t in tracks {
            assert!(shas.contains(str_field(t, "sha256")), "{ctx}: {t}");
        }
        let verify = run(&["verify", "--json"]);
        assert_eq!(verify.code(), 0, "{ctx}\n{verify}");

        let mut args = vec!["import"];
        let paths: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        args.push("--json");
        let again = ImportReport::from_run(run(&args));
        assert_eq!(
            again.count("imported") + again.count("duplicate"),
            sources.len(),
            "{ctx}\n{}",
            again.run
        );
        assert_eq!(
            again.count("imported"),
            sources.len() - tracks.len(),
            "{ctx}"
        );

        let out = vault.scratch_dir(&format!(
            "out {}",
            folder.file_name().unwrap().to_string_lossy()
        ));
        run(&["export", "--all", "--to", out.to_str().unwrap(), "--json"]).expect_ok();
        let exported: HashSet<String> = files_under(&out).iter().map(|p| sha256_file(p)).collect();
        assert_eq!(exported, shas, "{ctx}: every source back, byte-identical");

        run(&["gc", "--json"]).expect_ok();
        assert_eq!(
            snapshot(&folder, vault_owned),
            foreign,
            "{ctx}: nothing of the user's was deleted"
        );
    }
}
