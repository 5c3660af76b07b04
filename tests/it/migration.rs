//! A vault made before the catalog was encrypted opens with this version: its plain
//! catalog is encrypted in place on the first unlock, crash-safe, and the plain
//! file is gone.
//!
//! The fixture `tests/fixtures/plaintext-vault-v0.tar.gz` was made by the CLI of the
//! version before (main at 90b20fd): `init` (weak KDF), `import` of three short
//! tagged files (kept beside it in `src/`), `analyze`, one track trashed, the
//! `quota_bytes` setting. A fixture rather than a saved old binary: the old format is
//! what must keep opening, and 70 KB of it never needs the old build again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use audiovault_tests::*;
use serde_json::Value;

const FIXTURE_PASSPHRASE: &str = "legacy fixture passphrase";
const TITLES: [&str; 3] = [
    "Plaintext Fixture Alpha",
    "Plaintext Fixture Beta",
    "Trashed Fixture Gamma",
];

/// The fixture unpacked into a fresh test folder: the vault and its sources.
fn unpack() -> (TestVault, PathBuf) {
    let vault = TestVault::uninitialised(Some(FIXTURE_PASSPHRASE));
    let dir = vault.path.parent().unwrap().to_path_buf();
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plaintext-vault-v0.tar.gz");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .status()
        .expect("run tar");
    assert!(status.success(), "unpack {}", archive.display());
    (vault, dir.join("src"))
}

fn is_plain(db: &Path) -> bool {
    std::fs::read(db).unwrap()[..16] == *b"SQLite format 3\0"
}

/// id → (file name, title, state) of every track.
fn library(vault: &TestVault) -> BTreeMap<String, (String, String, String)> {
    vault
        .all_tracks()
        .iter()
        .map(|t| {
            (
                str_field(t, "id").to_owned(),
                (
                    str_field(t, "file_name").to_owned(),
                    str_field(t, "title").to_owned(),
                    str_field(t, "state").to_owned(),
                ),
            )
        })
        .collect()
}

/// What the fixture holds, as the previous version listed it.
fn expected() -> BTreeMap<String, (String, String, String)> {
    [
        (
            "df863e9f7ca2dfde",
            "alpha-legacy-track.flac",
            TITLES[0],
            "active",
        ),
        (
            "1ffa9a5aa5e90b31",
            "beta-legacy-track.flac",
            TITLES[1],
            "active",
        ),
        (
            "87bf18694e3dc9f7",
            "gamma-legacy-track.mp3",
            TITLES[2],
            "trashed",
        ),
    ]
    .into_iter()
    .map(|(id, f, t, s)| (id.into(), (f.into(), t.into(), s.into())))
    .collect()
}

/// The fixture's names and tags in every file of the vault folder.
fn plaintext_left(vault: &TestVault) -> Vec<String> {
    let mut needles: Vec<Vec<u8>> = TITLES.iter().map(|t| t.as_bytes().to_vec()).collect();
    for s in [
        "Fixture Ensemble Quartet",
        "Legacy Catalog Album",
        "alpha-legacy-track",
    ] {
        needles.push(s.as_bytes().to_vec());
    }
    find_needles(&vault.files(), &needles, 10)
        .into_iter()
        .map(|(p, i, at)| {
            format!(
                "{:?} in {} @ {at}",
                String::from_utf8_lossy(&needles[i]),
                p.display()
            )
        })
        .collect()
}

#[test]
fn a_plain_vault_of_the_previous_version_is_encrypted_on_first_unlock() {
    let (vault, src) = unpack();
    let db = vault.path.join("catalog.db");
    assert!(is_plain(&db), "the fixture is a plain catalog");
    assert!(
        !plaintext_left(&vault).is_empty(),
        "control: its names are readable"
    );

    // The first command unlocks it: the library is the same, now encrypted.
    assert_eq!(library(&vault), expected());
    assert!(!is_plain(&db), "encrypted in place");
    let left = plaintext_left(&vault);
    assert!(left.is_empty(), "no plain name or tag is left: {left:?}");
    assert_eq!(
        std::fs::read_dir(vault.path.join("tmp")).unwrap().count(),
        0,
        "nothing left in tmp/"
    );
    for side in ["catalog.db-wal", "catalog.db-shm", "catalog.db-journal"] {
        assert!(!vault.path.join(side).exists(), "{side} is gone");
    }
    crate::at_rest::assert_private(&vault.path);
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM tracks;")
        .output()
        .expect("run sqlite3");
    assert!(!out.status.success(), "sqlite3 cannot read it any more");

    // Everything else came along: settings, analysis, the audio.
    assert_eq!(
        vault.json(["settings"])["quota_bytes"],
        Value::from(1_000_000_000u64)
    );
    let dupes = vault.json(["analyze"]);
    assert_eq!(
        u64_field(&dupes, "analyzed"),
        0,
        "analysis was kept: {dupes}"
    );
    assert_eq!(vault.json(["verify"])["ok"], true);
    let out = vault.scratch_dir("out");
    vault.export(&["df863e9f7ca2dfde"], &out, &[]).expect_ok();
    assert_eq!(
        sha256_file(&out.join("alpha-legacy-track.flac")),
        sha256_file(&src.join("alpha-legacy-track.flac"))
    );
    let doctor = vault
        .cmd(["doctor", "--offline", "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(doctor["ok"], true, "{doctor}");
    // And it keeps working: an import after the migration knows its tracks.
    let again = vault.scratch("again.flac");
    std::fs::copy(src.join("beta-legacy-track.flac"), &again).unwrap();
    let report = vault.import(&[&again]);
    assert_eq!(report.count("duplicate"), 1, "{}", report.run);
    assert_eq!(library(&vault), expected());
}

/// The fixture's vault was made with chunker version 0 (plain FastCDC over the whole
/// file). Its tracks keep their chunks; new imports cut the newest way (a re-tagged WAV
/// stores only its grown tag again), vault.json's chunker is untouched, old and new
/// tracks export byte-identical and verify, and an old track whose chunk file a power cut
/// left short is repaired by importing its file again: the repair cuts it as version 0 did.
#[test]
fn a_vault_of_chunker_version_0_keeps_its_tracks_and_cuts_new_imports_the_newest_way() {
    let (vault, src) = unpack();
    let config = |vault: &TestVault| -> Value {
        serde_json::from_slice(&std::fs::read(vault.path.join("vault.json")).unwrap()).unwrap()
    };
    let chunker = config(&vault)["chunker"].clone();
    assert_eq!(
        chunker["algorithm"], "fastcdc-2020",
        "the fixture is version 0"
    );

    // A WAV, then a copy whose LIST chunk (in front of the audio) grew.
    let wav = vault.scratch("noise.wav");
    write_noise_wav(&wav, 18, 6 * 1024 * 1024);
    let bytes = std::fs::read(&wav).unwrap();
    let mut tagged = bytes[..36].to_vec();
    tagged.extend(b"LIST");
    tagged.extend(30_000u32.to_le_bytes());
    tagged.extend(std::iter::repeat_n(b't', 30_000));
    tagged.extend(&bytes[36..]);
    let riff = (tagged.len() - 8) as u32;
    tagged[4..8].copy_from_slice(&riff.to_le_bytes());
    let retagged = vault.scratch("noise (retagged).wav");
    std::fs::write(&retagged, &tagged).unwrap();

    let report = vault.import(&[&wav]);
    assert_eq!(report.count("imported"), 1, "{}", report.run);
    let report = vault.import(&[&retagged]);
    assert_eq!(report.count("imported"), 1, "{}", report.run);
    let new = u64_field(report.entry(&retagged), "new_bytes");
    // The RIFF header, `fmt ` and the LIST chunk, not the first content-defined chunk
    // (at least 256 KiB) that version 0 stored again.
    assert_eq!(
        new,
        12 + 24 + 8 + 30_000,
        "new imports are cut the newest way: {new} bytes stored again"
    );
    assert_eq!(
        config(&vault)["chunker"],
        chunker,
        "vault.json's chunker unchanged"
    );

    assert_eq!(vault.json(["verify"])["ok"], true);
    let out = vault.scratch_dir("out");
    for t in vault.tracks() {
        vault.export(&[str_field(&t, "id")], &out, &[]).expect_ok();
    }
    assert_eq!(
        sha256_file(&out.join("noise (retagged).wav")),
        sha256_file(&retagged)
    );
    assert_eq!(sha256_file(&out.join("noise.wav")), sha256_file(&wav));
    assert_eq!(
        sha256_file(&out.join("alpha-legacy-track.flac")),
        sha256_file(&src.join("alpha-legacy-track.flac"))
    );

    // A power cut left a chunk file of an old track empty: importing its file again
    // writes that very chunk (version 0's cut; the newest would split the FLAC at its
    // metadata and find other chunks).
    let alpha = vault
        .tracks()
        .into_iter()
        .find(|t| str_field(t, "file_name") == "alpha-legacy-track.flac")
        .expect("the fixture's alpha track");
    let alpha_id = str_field(&alpha, "id").to_string();
    let details = vault.json(["show", &alpha_id]);
    let chunk = details["chunks"][0]["id"].as_str().unwrap().to_string();
    let chunk_file = vault
        .path
        .join("chunks")
        .join(&chunk[..2])
        .join(&chunk[2..4])
        .join(&chunk);
    std::fs::write(&chunk_file, b"").unwrap();
    let damaged = vault.cmd(["verify", "--json"]).run().expect_code(3).json();
    assert_eq!(damaged["ok"], false, "the empty chunk is found: {damaged}");
    let report = vault.import(&[&src.join("alpha-legacy-track.flac")]);
    assert_eq!(report.count("duplicate"), 1, "{}", report.run);
    assert!(std::fs::metadata(&chunk_file).unwrap().len() > 0);
    assert_eq!(vault.json(["verify"])["ok"], true, "repaired");
}

/// `AUDIOVAULT_TEST_MIGRATION_PAUSE_MS` slows each step of the migration down so
/// that kills spread over the whole run land in every step (the plain file switched
/// out of WAL mode, the export, its check, the sync, the rename, the overwrite of
/// the plain file's blocks).
const PAUSE_MS: u64 = 40;
const TRIALS: u64 = 24;

#[test]
fn a_migration_killed_at_random_points_leaves_the_old_or_the_new_catalog() {
    // How long an unlock with migration takes here, paused.
    let mut full = Duration::MAX;
    for _ in 0..2 {
        let (vault, _) = unpack();
        let started = Instant::now();
        vault
            .cmd(["stats", "--json"])
            .env("AUDIOVAULT_TEST_MIGRATION_PAUSE_MS", PAUSE_MS.to_string())
            .run()
            .expect_ok();
        full = full.min(started.elapsed());
    }
    let mut plain_after_kill = 0;
    let mut encrypted_after_kill = 0;
    for trial in 0..TRIALS {
        let (vault, _) = unpack();
        let db = vault.path.join("catalog.db");
        let delay = full.mul_f64(1.1 * (trial as f64 + 0.5) / TRIALS as f64);
        let running = vault
            .cmd(["stats", "--json"])
            .env("AUDIOVAULT_TEST_MIGRATION_PAUSE_MS", PAUSE_MS.to_string())
            .spawn();
        std::thread::sleep(delay);
        let killed = running.kill();
        let ctx = format!(
            "trial {trial}: killed after {delay:?} of {full:?} ({})",
            killed.code()
        );
        // Never neither: a catalog is there, whole.
        assert!(db.is_file(), "{ctx}: catalog.db is there");
        if is_plain(&db) {
            plain_after_kill += 1;
        } else {
            encrypted_after_kill += 1;
        }
        // Never a mix: the next unlock opens it (encrypting it if it is still
        // plain) and finds the same library.
        assert_eq!(library(&vault), expected(), "{ctx}");
        assert!(!is_plain(&db), "{ctx}: encrypted by the next unlock");
        let left = plaintext_left(&vault);
        assert!(left.is_empty(), "{ctx}: plain names left: {left:?}");
        assert_eq!(
            std::fs::read_dir(vault.path.join("tmp")).unwrap().count(),
            0,
            "{ctx}: the killed run's temp files are gone"
        );
        let verify = vault.json(["verify"]);
        assert_eq!(verify["ok"], true, "{ctx}: {verify}");
    }
    assert!(
        plain_after_kill >= 3 && encrypted_after_kill >= 3,
        "kills landed before and after the switch: {plain_after_kill} plain, {encrypted_after_kill} encrypted"
    );
}
