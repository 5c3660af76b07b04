//! One batch full of trouble: each bad file gets its own outcome and reason, the batch
//! completes, the good files are imported, and the exit code says "partial" (3).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use audiovault_tests::*;

/// Runs a command as root without the capabilities that bypass file permissions, so
/// that `chmod 000` really makes a file unreadable (the tests run as root).
const WITHOUT_DAC_OVERRIDE: &[&str] = &[
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
    "--",
];

/// Three ~48 MiB WAVs of noise, made once per machine: they keep the importer busy
/// while a later file is deleted.
fn big_wavs() -> Vec<PathBuf> {
    let dir = cached_fixture("noise-wavs", "3x48MiB-v1", |dir| {
        for i in 0..3 {
            write_noise_wav(&dir.join(format!("big noise {i}.wav")), 7_000 + i, 48 << 20);
        }
    });
    (0..3)
        .map(|i| {
            dir.join(format!("big noise {i}.wav"))
                .canonicalize()
                .unwrap()
        })
        .collect()
}

#[track_caller]
fn assert_not_imported(report: &ImportReport, path: &Path, what: &str, words: &[&str]) {
    let entry = report.entry(path);
    let outcome = str_field(entry, "outcome");
    assert!(
        outcome == "rejected" || outcome == "failed",
        "{what}: outcome {outcome:?}: {entry}"
    );
    let reason = str_field(entry, "reason");
    assert!(
        mentions(reason, words),
        "{what}: the reason {reason:?} should name the problem (one of {words:?})"
    );
}

#[test]
fn a_batch_of_bad_files_completes_and_reports_each_one() {
    let corpus = corpus();
    let vault = TestVault::new();
    let batch = vault.scratch_dir("batch");

    // Good files, distinct content.
    let good: Vec<&SourceFile> = [".flac", ".ogg", ".m4a"]
        .iter()
        .map(|e| corpus.with_ext(e)[0])
        .collect();
    let good_paths: Vec<PathBuf> = good
        .iter()
        .map(|s| {
            let p = batch.join("good").join(s.file_name());
            copy_to(&s.path, &p);
            p
        })
        .collect();

    // A zero-byte file.
    let empty = batch.join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();

    // An unreadable file (mode 000).
    let locked = batch.join("locked.mp3");
    copy_to(&corpus.with_ext(".mp3")[1].path, &locked);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let probe = Command::new(WITHOUT_DAC_OVERRIDE[0])
        .args(&WITHOUT_DAC_OVERRIDE[1..])
        .arg("cat")
        .arg(&locked)
        .output()
        .unwrap();
    assert!(
        !probe.status.success()
            && String::from_utf8_lossy(&probe.stderr).contains("Permission denied"),
        "precondition: under setpriv, reading a mode-000 file must fail with EACCES: {probe:?}"
    );

    // A symlink loop.
    let looped = batch.join("loop.mp3");
    std::os::unix::fs::symlink("loop.mp3", &looped).unwrap();

    // A file name that is not UTF-8 (Latin-1 "Café" and a stray 0xFF), valid audio inside.
    let latin1 = batch.join(OsStr::from_bytes(b"Caf\xe9 \xff latin1.wav"));
    variant_of_wav(&corpus.with_ext(".wav")[0].path, &latin1, 7);

    // A file that disappears while the import runs: named after three big files, and
    // deleted as soon as the importer has one of them open.
    let big = big_wavs();
    let vanishing = vault.scratch("vanish").join("Going Going Gone.mp3");
    copy_to(&corpus.with_ext(".mp3")[2].path, &vanishing);

    let mut import = vault
        .cmd(["import"])
        .arg(&batch)
        .args(&big)
        .arg(&vanishing)
        .arg("--json")
        .wrapped_in(WITHOUT_DAC_OVERRIDE)
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            import.is_running(),
            "the import ended before any big file was opened: cannot make a file vanish mid-import"
        );
        assert!(
            Instant::now() < deadline,
            "the importer never opened a big file"
        );
        if import.open_files().iter().any(|p| big.contains(p)) {
            std::fs::remove_file(&vanishing).unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let report = ImportReport::from_run(import.wait());
    assert_eq!(report.run.code(), 3, "partial: exit 3\n{}", report.run);

    // The good files and the big ones are in.
    for p in good_paths.iter().chain(&big) {
        let entry = report.entry(p);
        assert_eq!(
            str_field(entry, "outcome"),
            "imported",
            "{}: {entry}",
            p.display()
        );
        assert_eq!(str_field(entry, "sha256"), sha256_file(p));
    }

    assert_not_imported(
        &report,
        &empty,
        "zero-byte file",
        &["empty", "zero", "0 bytes", "no data"],
    );
    assert_not_imported(
        &report,
        &locked,
        "unreadable file",
        &[
            "permission denied",
            "not permitted",
            "unreadable",
            "not readable",
            "access",
        ],
    );
    assert_not_imported(
        &report,
        &looped,
        "symlink loop",
        &["symlink", "symbolic link", "loop", "too many levels"],
    );
    assert_not_imported(
        &report,
        &vanishing,
        "file deleted mid-import",
        &[
            "not found",
            "no such file",
            "disappeared",
            "vanished",
            "missing",
            "removed",
            "deleted",
        ],
    );

    // The non-UTF-8 name: either imported intact (its name shown lossily), or refused
    // with a reason about the name.
    let entry = report.entry(&latin1);
    match str_field(entry, "outcome") {
        "imported" => {
            let id = str_field(entry, "id");
            let out = vault.scratch_dir("latin1-export");
            vault.export(&[id], &out, &[]).expect_ok();
            // JSON cannot carry the raw name: look at the folder itself.
            let exported = files_under(&out);
            assert_eq!(exported.len(), 1, "{exported:?}");
            assert_eq!(
                sha256_file(&exported[0]),
                sha256_file(&latin1),
                "the non-UTF-8 name's file exports intact"
            );
            assert_eq!(
                exported[0].file_name(),
                latin1.file_name(),
                "the original name bytes come back"
            );
        }
        _ => assert_not_imported(
            &report,
            &latin1,
            "non-UTF-8 file name",
            &["utf-8", "utf8", "unicode", "encoding", "name"],
        ),
    }

    // Every input has exactly one entry; the library holds just the imported files.
    assert_eq!(
        report.files().len(),
        good.len() + big.len() + 5,
        "one entry per input file\n{}",
        report.run
    );
    assert_eq!(vault.tracks().len(), report.count("imported"));
}
