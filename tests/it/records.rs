//! Nothing lost, ever: the vault folder alone describes the library. Every track,
//! the tombstones and the settings are sealed in `records/` before the catalog
//! commit that changes them, so `doctor --repair` rebuilds a deleted, cut-short or
//! damaged `catalog.db` from the vault folder; `doctor` finds what is missing,
//! torn, orphaned or out of date, and records reveal nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audiovault_tests::*;
use serde_json::Value;

use crate::at_rest::tag_strings;

/// The check named `name` in a doctor report.
#[track_caller]
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    as_array(&report["checks"])
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

fn doctor(vault: &TestVault, extra: &[&str]) -> Run {
    vault
        .cmd(["doctor", "--json", "--offline"])
        .args(extra)
        .run()
}

/// What must survive a rebuild about a track.
#[derive(Debug, Clone, PartialEq)]
struct Facts {
    file_name: String,
    sha256: String,
    state: String,
    trashed_at: Value,
    title: Value,
    /// Everything `list` shows, for the comparison.
    listed: Value,
}

type Library = BTreeMap<String, Facts>;

/// What must survive a rebuild, per track id.
fn library(vault: &TestVault) -> Library {
    vault
        .all_tracks()
        .iter()
        .map(|t| {
            (
                str_field(t, "id").to_owned(),
                Facts {
                    file_name: str_field(t, "file_name").to_owned(),
                    sha256: str_field(t, "sha256").to_owned(),
                    state: str_field(t, "state").to_owned(),
                    trashed_at: t["trashed_at"].clone(),
                    title: t["title"].clone(),
                    listed: t.clone(),
                },
            )
        })
        .collect()
}

/// Every file under `records/`.
fn record_files(vault: &TestVault) -> Vec<PathBuf> {
    files_under(&vault.path.join("records"))
}

fn track_record(vault: &TestVault, id: &str) -> PathBuf {
    vault.path.join("records").join(&id[..2]).join(id)
}

/// The corpus imported, two tracks trashed, a setting and a remote set.
fn populated() -> (TestVault, Library) {
    let corpus = corpus();
    let vault = TestVault::new();
    let report = vault.import(&corpus.dirs());
    assert_eq!(report.count("failed"), 0, "{}", report.run);
    assert!(report.count("imported") > 20, "{}", report.run);
    let ids: Vec<String> = vault
        .tracks()
        .iter()
        .map(|t| str_field(t, "id").to_owned())
        .collect();
    vault.json(["trash", ids[1].as_str(), ids[4].as_str()]);
    vault.json(["settings", "set", "quota_bytes", "987654321000"]);
    vault.json([
        "remote",
        "set",
        "--endpoint",
        "http://127.0.0.1:9",
        "--bucket",
        "records-test",
        "--prefix",
        "lib",
        "--path-style",
    ]);
    let lib = library(&vault);
    assert_eq!(
        lib.values().filter(|t| t.state == "trashed").count(),
        2,
        "{lib:?}"
    );
    // Every record is in place before anything is damaged.
    let clean = doctor(&vault, &[]).expect_ok().json();
    assert_eq!(check(&clean, "records")["ok"], true, "{clean}");
    (vault, lib)
}

/// After a rebuild: the same tracks, states, settings and remote; verify clean;
/// every track exports byte-identical.
#[track_caller]
fn assert_whole(vault: &TestVault, before: &Library) {
    assert_eq!(&library(vault), before, "the library after the rebuild");
    assert_eq!(vault.json(["settings"])["quota_bytes"], 987654321000u64);
    let remote = vault.json(["remote", "show"]);
    assert_eq!(remote["remote"]["bucket"], "records-test", "{remote}");
    assert_eq!(remote["remote"]["prefix"], "lib", "{remote}");
    assert_eq!(
        remote["remote"]["endpoint"], "http://127.0.0.1:9",
        "{remote}"
    );
    assert_eq!(remote["remote"]["path_style"], true, "{remote}");
    let verify = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(u64_field(&verify, "tracks_checked"), before.len() as u64);

    // Restore the trashed ones so `export --all` covers every track.
    let trashed: Vec<&String> = before
        .iter()
        .filter(|(_, t)| t.state == "trashed")
        .map(|(id, _)| id)
        .collect();
    let mut restore = vec!["restore"];
    restore.extend(trashed.iter().map(|s| s.as_str()));
    vault.json(restore);
    let out = vault.scratch_dir(&format!("export-{}", std::process::id()));
    let export = vault.export(&["--all"], &out, &[]).expect_ok().json();
    let exported = as_array(&export["exported"]);
    assert_eq!(exported.len(), before.len(), "{export}");
    let sources = corpus().by_sha();
    for e in exported {
        let id = str_field(e, "id");
        let path = PathBuf::from(str_field(e, "path"));
        let sha = sha256_file(&path);
        assert_eq!(
            sha,
            before[id].sha256,
            "{} differs from its import",
            path.display()
        );
        assert!(sources.contains_key(sha.as_str()), "{sha} is a source's");
    }
}

/// The pages of the vault's catalog that hold rows of `tracks` (read through the
/// catalog's key: the file itself is encrypted page by page).
fn track_pages(vault: &TestVault) -> Vec<u32> {
    let catalog = vault.catalog_behind_the_vaults_back();
    let mut stmt = catalog
        .conn()
        .prepare("SELECT pageno FROM dbstat WHERE name = 'tracks' ORDER BY pageno")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// SQLCipher's page size.
const PAGE_SIZE: usize = 4096;

#[derive(Clone, Copy, Debug)]
enum Damage {
    Deleted,
    CutInHalf,
    PageOverwritten,
}

fn rebuild_after(damage: Damage) {
    let (vault, before) = populated();
    let db = vault.path.join("catalog.db");
    let pages = match damage {
        Damage::PageOverwritten => track_pages(&vault),
        _ => Vec::new(),
    };
    let original = fs::read(&db).unwrap();
    match damage {
        Damage::Deleted => {
            for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
                let _ = fs::remove_file(vault.path.join(name));
            }
        }
        Damage::CutInHalf => fs::write(&db, &original[..original.len() / 2]).unwrap(),
        Damage::PageOverwritten => {
            let page = *pages.iter().rfind(|p| **p > 1).expect("a page of tracks");
            let mut bytes = original.clone();
            let at = (page as usize - 1) * PAGE_SIZE;
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ at as u64;
            for b in &mut bytes[at..at + PAGE_SIZE] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            fs::write(&db, &bytes).unwrap();
        }
    }

    // Opening refuses a lost or cut-short catalog and names the way out. A page
    // of garbage is found where a query reads it, with the same advice; `list`
    // may not read that page at all (only doctor's integrity check reads all).
    let list = vault.run(["list", "--all", "--json"]);
    if !matches!(damage, Damage::PageOverwritten) || list.code() != 0 {
        assert_eq!(
            list.code(),
            1,
            "{damage:?}: a damaged catalog is an error\n{list}"
        );
        assert!(
            list.stderr.contains("doctor --repair"),
            "{damage:?}: the error says what to run\n{list}"
        );
    }
    assert!(
        !matches!(damage, Damage::Deleted) || !db.exists(),
        "opening never starts an empty catalog in place of a lost one"
    );

    // doctor: exit 1, the catalog check fails; nothing changes.
    let damaged = fs::read(&db).ok();
    let run = doctor(&vault, &[]).expect_code(1);
    let report = run.json();
    assert_eq!(report["ok"], false, "{report}");
    let catalog = check(&report, "catalog_integrity");
    assert_eq!(catalog["ok"], false, "{damage:?}: {report}");
    assert_eq!(catalog["level"], "error");
    assert!(
        str_field(catalog, "detail").contains("doctor --repair"),
        "{catalog}"
    );
    assert_eq!(check(&report, "records")["ok"], true, "{report}");
    assert_eq!(as_array(&report["repaired"]).len(), 0);
    assert!(fs::read(&db).ok() == damaged, "checking changes nothing");

    // doctor --repair: rebuilt; the damaged file is kept aside, byte for byte.
    let report = doctor(&vault, &["--repair"]).expect_ok().json();
    assert_eq!(report["ok"], true, "{report}");
    let repaired = as_array(&report["repaired"]);
    assert_eq!(repaired[0]["action"], "catalog_rebuilt", "{report}");
    let aside: Vec<PathBuf> = as_array(&repaired[0]["paths"])
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    match &damaged {
        Some(bytes) => {
            let kept = aside
                .iter()
                .find(|p| p.to_string_lossy().contains("catalog.db.damaged-"))
                .unwrap_or_else(|| panic!("the damaged catalog is named: {report}"));
            assert!(&fs::read(kept).unwrap() == bytes, "kept as it was");
        }
        None => assert!(aside.is_empty(), "{report}"),
    }
    for c in ["catalog_integrity", "chunks", "records", "vault_json"] {
        assert_eq!(check(&report, c)["ok"], true, "{c}: {report}");
    }
    assert_whole(&vault, &before);

    // Analysis is derived data: pending again, and done again by `analyze`.
    let analyze = vault.json(["analyze"]);
    assert_eq!(
        u64_field(&analyze, "analyzed") + u64_field(&analyze, "failed"),
        before.len() as u64,
        "{analyze}"
    );
}

#[test]
fn a_deleted_catalog_is_rebuilt_from_the_records() {
    rebuild_after(Damage::Deleted);
}

#[test]
fn a_catalog_cut_in_half_is_rebuilt_from_the_records() {
    rebuild_after(Damage::CutInHalf);
}

#[test]
fn a_catalog_with_a_page_of_garbage_is_rebuilt_from_the_records() {
    rebuild_after(Damage::PageOverwritten);
}

/// Doctor's remote check is a warning: an unreachable remote is not damage.
#[test]
fn an_unreachable_remote_is_a_warning() {
    let (vault, _) = populated();
    let run = vault
        .cmd(["doctor", "--json"])
        .env("AWS_ACCESS_KEY_ID", "id")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AUDIOVAULT_S3_MAX_ATTEMPTS", "1")
        .run()
        .expect_ok();
    let report = run.json();
    let remote = check(&report, "remote");
    assert_eq!(remote["ok"], false, "{report}");
    assert_eq!(remote["level"], "warning");
    assert!(
        str_field(remote, "detail").contains("s3://records-test/lib"),
        "{remote}"
    );
    // Not known while the remote cannot be reached: a warning too, never an error.
    let unmerged = check(&report, "unmerged_manifests");
    assert_eq!(unmerged["ok"], false, "{report}");
    assert_eq!(unmerged["level"], "warning", "{report}");
    // Without a keyring (outside a D-Bus session) that is a warning too; in one, ok.
    let keyring = check(&report, "keyring");
    if keyring["ok"] == false {
        assert_eq!(keyring["level"], "warning", "{report}");
    }
    let human = vault.run(["doctor", "--offline"]).expect_ok();
    assert!(human.stdout.contains("The vault is whole"), "{human}");
}

#[test]
fn power_cut_states_are_found_and_mended() {
    let corpus = corpus();
    let vault = TestVault::new();
    let some: Vec<&PathBuf> = corpus.files.iter().take(8).map(|f| &f.path).collect();
    vault.import(&some);
    let tracks = vault.tracks();
    let ids: Vec<String> = tracks
        .iter()
        .map(|t| str_field(t, "id").to_owned())
        .collect();
    let name_of = |id: &str| {
        tracks
            .iter()
            .find(|t| str_field(t, "id") == id)
            .map(|t| str_field(t, "file_name").to_owned())
            .unwrap()
    };

    // 1. A sealed record cut in half (a power cut before the data reached the disk).
    let torn = track_record(&vault, &ids[0]);
    let bytes = fs::read(&torn).unwrap();
    fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();
    // 2. A record missing for a committed track.
    fs::remove_file(track_record(&vault, &ids[1])).unwrap();
    // 3. Leftover temp files of a writer that died (a record's among them).
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let leftover = vault
        .path
        .join("tmp")
        .join(format!("{dead_pid}-00112233aabbccdd.tmp"));
    fs::write(&leftover, &bytes[..10]).unwrap();

    // Opening and verify are unaffected: the audio is intact.
    let verify = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(verify["ok"], true, "{verify}");
    assert!(
        !leftover.exists(),
        "opening removed the dead writer's temp file"
    );
    fs::write(&leftover, &bytes[..10]).unwrap();

    let report = doctor(&vault, &[]).expect_code(1).json();
    let records = check(&report, "records");
    assert_eq!(records["ok"], false, "{report}");
    let detail = str_field(records, "detail");
    assert!(detail.contains("1 track(s) have no record"), "{detail}");
    assert!(
        detail.contains("1 record(s) fail authentication"),
        "{detail}"
    );
    let affected: Vec<&str> = as_array(&records["affected"])
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for id in &ids[..2] {
        assert!(
            affected.contains(&format!("{} ({id})", name_of(id)).as_str()),
            "{id} is named: {affected:?}"
        );
    }
    assert!(
        !leftover.exists(),
        "doctor removes dead writers' temp files too"
    );
    assert_eq!(check(&report, "chunks")["ok"], true, "{report}");

    let report = doctor(&vault, &["--repair"]).expect_ok().json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        as_array(&report["repaired"])[0]["action"],
        "records_written"
    );
    assert!(track_record(&vault, &ids[1]).is_file());
    assert_ne!(fs::read(&torn).unwrap(), bytes[..bytes.len() / 2].to_vec());

    // 4. A change committed without its record (a writer that did not seal, or a
    // crash between its commit and its records): its mark survives.
    {
        let catalog = vault.catalog_behind_the_vaults_back();
        catalog
            .conn()
            .execute(
                "UPDATE tracks SET title = 'Retitled behind the vault''s back' WHERE id = ?1",
                [&ids[2]],
            )
            .unwrap();
    }
    let report = doctor(&vault, &[]).expect_code(1).json();
    let detail = str_field(check(&report, "records"), "detail").to_owned();
    assert!(detail.contains("1 change(s) not written"), "{detail}");
    assert!(detail.contains("1 track record(s) differ"), "{detail}");
    // Opening the vault writes it.
    vault.json(["stats"]);
    let report = doctor(&vault, &[]).expect_ok().json();
    assert_eq!(check(&report, "records")["ok"], true, "{report}");

    // And the records now carry it: a rebuild brings the new title back.
    let before = library(&vault);
    fs::remove_file(vault.path.join("catalog.db")).unwrap();
    doctor(&vault, &["--repair"]).expect_ok();
    let after = library(&vault);
    assert_eq!(after, before);
    assert_eq!(after[&ids[2]].title, "Retitled behind the vault's back");
}

#[test]
fn orphan_chunk_files_are_reported_and_removed_only_on_repair() {
    let corpus = corpus();
    let vault = TestVault::new();
    let some: Vec<&PathBuf> = corpus.files.iter().take(4).map(|f| &f.path).collect();
    vault.import(&some);
    let before = vault.chunk_files();
    let any = before.keys().next().unwrap().clone();
    let orphan_id = format!("{}{}", "ab".repeat(31), "cd");
    let orphan = vault
        .path
        .join("chunks")
        .join(&orphan_id[..2])
        .join(&orphan_id[2..4])
        .join(&orphan_id);
    fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    fs::copy(vault.chunk_path(&any), &orphan).unwrap();

    let report = doctor(&vault, &[]).expect_ok().json();
    let chunks = check(&report, "chunks");
    assert_eq!(chunks["ok"], false, "{report}");
    assert_eq!(chunks["level"], "warning", "orphans lose nothing");
    assert!(
        str_field(chunks, "detail").contains("1 orphan file(s)"),
        "{chunks}"
    );
    assert!(
        as_array(&chunks["affected"])
            .iter()
            .any(|a| a.as_str().unwrap().contains(&orphan_id)),
        "{chunks}"
    );
    assert!(orphan.is_file(), "doctor without --repair removes nothing");

    let report = doctor(&vault, &["--repair"]).expect_ok().json();
    assert_eq!(check(&report, "chunks")["ok"], true, "{report}");
    assert_eq!(
        as_array(&report["repaired"])[0]["action"],
        "orphan_chunks_removed"
    );
    assert!(!orphan.exists());
    assert_eq!(
        vault.chunk_files(),
        before,
        "every referenced chunk file stays"
    );
    let verify = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(verify["ok"], true);
}

#[test]
fn records_hold_no_name_tag_or_plain_checksum() {
    let corpus = corpus();
    let vault = TestVault::new();
    vault.import(&corpus.dirs());
    vault.json(["settings", "set", "quota_bytes", "987654321000"]);
    let files = record_files(&vault);
    let tracks = vault.tracks();
    assert_eq!(
        files.len(),
        tracks.len() + 2,
        "one record per track, the tombstones and the settings: {files:?}"
    );
    let ids: HashSet<String> = tracks
        .iter()
        .map(|t| str_field(t, "id").to_owned())
        .collect();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            ids.contains(&name) || name == "tombstones" || name == "settings",
            "a record's name is a random track id: {}",
            f.display()
        );
    }

    let tags = tag_strings(corpus);
    let mut needles: Vec<Vec<u8>> = tags.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
    let tag_needles = needles.len();
    for f in &corpus.files {
        let raw: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&f.sha256[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        needles.push(raw);
        needles.push(f.sha256.clone().into_bytes());
        needles.push(f.sha256.to_uppercase().into_bytes());
    }
    // Control: the names, tags and checksums are in what `list` prints with the key.
    let listing = vault.scratch("listing.json");
    fs::write(
        &listing,
        vault.run(["list", "--all", "--json"]).expect_ok().stdout,
    )
    .unwrap();
    assert!(!find_needles(std::slice::from_ref(&listing), &needles[..tag_needles], 1).is_empty());
    assert!(!find_needles(&[listing], &needles[tag_needles..], 1).is_empty());
    let hits = find_needles(&files, &needles, 20);
    assert!(
        hits.is_empty(),
        "plaintext found in records: {:?}",
        hits.iter()
            .map(|(p, i, at)| format!(
                "{} in {} @ {at}",
                if *i < tag_needles {
                    tags[i / 3].0.clone()
                } else {
                    "a checksum".into()
                },
                p.display()
            ))
            .collect::<Vec<_>>()
    );
}

/// Copies a vault folder into an uninitialised test vault.
fn copy_vault(from: &TestVault) -> TestVault {
    let to = TestVault::uninitialised(Some(PASSPHRASE));
    for file in files_under(&from.path) {
        let rel = file.strip_prefix(&from.path).unwrap();
        copy_to(&file, &to.path.join(rel));
    }
    to
}

fn shas(vault: &TestVault) -> BTreeSet<String> {
    vault
        .all_tracks()
        .iter()
        .map(|t| str_field(t, "sha256").to_owned())
        .collect()
}

/// Imports killed with SIGKILL at spread-out moments. Afterwards every catalog
/// track has a valid record, and a catalog rebuilt from the records alone holds
/// the same tracks — plus, when the kill fell between a batch's records and its
/// commit, the tracks of that batch, which are then complete (their chunks were
/// written before their records, and the same syncfs made both durable): they
/// verify and export byte-identical. `gc` removes such records with their chunks,
/// after which the rebuild gives exactly the catalog's tracks.
#[test]
fn records_stay_whole_when_an_import_is_killed() {
    const TRIALS: u64 = 10;
    let corpus = corpus();
    let mut by_size: Vec<&SourceFile> = corpus.files.iter().collect();
    by_size.sort_by_key(|f| std::cmp::Reverse(f.size));
    let paths: Vec<&Path> = by_size.iter().take(14).map(|f| f.path.as_path()).collect();
    let sources: HashMap<&str, &SourceFile> =
        by_size.iter().map(|f| (f.sha256.as_str(), *f)).collect();

    let calibration = TestVault::new();
    let started = Instant::now();
    calibration.import(&paths);
    let full = started.elapsed();

    let mut ahead = 0;
    for trial in 0..TRIALS {
        let delay = full.mul_f64(0.1 + 0.9 * trial as f64 / TRIALS as f64);
        let vault = TestVault::new();
        let import = vault.cmd(["import"]).args(&paths).arg("--json").spawn();
        std::thread::sleep(delay.max(Duration::from_millis(5)));
        import.kill();
        let ctx = format!("trial {trial} (killed after {delay:?} of {full:?})");

        let report = doctor(&vault, &[]).run_json_any();
        let records = check(&report, "records");
        let detail = str_field(records, "detail");
        assert!(
            !detail.contains("have no record")
                && !detail.contains("fail authentication")
                && !detail.contains("differ")
                && !detail.contains("not written"),
            "{ctx}: every committed track has its record: {report}"
        );
        assert_eq!(
            check(&report, "catalog_integrity")["ok"],
            true,
            "{ctx}: {report}"
        );
        let chunks = check(&report, "chunks");
        assert!(
            chunks["ok"] == true || chunks["level"] == "warning",
            "{ctx}: only orphans (the killed import's chunks), nothing missing or torn: {report}"
        );
        let committed = shas(&vault);

        // The records alone, in a copy whose catalog is gone.
        let copy = copy_vault(&vault);
        fs::remove_file(copy.path.join("catalog.db")).unwrap();
        let rebuilt_report = doctor(&copy, &["--repair"]).expect_ok().json();
        assert_eq!(rebuilt_report["ok"], true, "{ctx}: {rebuilt_report}");
        let rebuilt = shas(&copy);
        assert!(
            rebuilt.is_superset(&committed),
            "{ctx}: the rebuild lost committed tracks"
        );
        if rebuilt != committed {
            ahead += 1;
            let verify = copy.cmd(["verify", "--json"]).run().expect_ok().json();
            assert_eq!(
                verify["ok"], true,
                "{ctx}: uncommitted records are complete"
            );
            let out = copy.scratch_dir("export");
            let export = copy.export(&["--all"], &out, &[]).expect_ok().json();
            for e in as_array(&export["exported"]) {
                let sha = sha256_file(Path::new(str_field(e, "path")));
                assert!(sources.contains_key(sha.as_str()), "{ctx}: {e}");
            }
        }

        // gc drops the records of uncommitted tracks with their chunks: then the
        // records describe exactly the catalog.
        vault.json(["gc"]);
        let report = doctor(&vault, &[]).expect_ok().json();
        assert_eq!(report["ok"], true, "{ctx}: {report}");
        assert_eq!(check(&report, "records")["ok"], true, "{ctx}: {report}");
        let copy = copy_vault(&vault);
        fs::remove_file(copy.path.join("catalog.db")).unwrap();
        doctor(&copy, &["--repair"]).expect_ok();
        assert_eq!(
            shas(&copy),
            committed,
            "{ctx}: after gc, exactly the catalog"
        );
    }
    eprintln!("records crash: {TRIALS} trials, {ahead} left records ahead of the catalog");
}

trait AnyJson {
    fn run_json_any(self) -> Value;
}

impl AnyJson for Run {
    /// The report, whatever the exit code (0 or 1: records of uncommitted tracks
    /// make the records check fail until `gc` or `doctor --repair`).
    #[track_caller]
    fn run_json_any(self) -> Value {
        assert!(self.code() == 0 || self.code() == 1, "{self}");
        self.json()
    }
}
