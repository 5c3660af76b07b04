//! A full disk: an import that fills the vault's disk fails the files that do not fit
//! with a reason that says so, keeps the ones that did, leaves a vault that verifies,
//! and `gc` gives back what the failed files wrote. An export to a full disk fails
//! cleanly: no partial file under a final name, no temp file left.
//!
//! Needs root to mount a small tmpfs; skipped with a notice otherwise (failed under CI).

use std::collections::HashSet;
use std::path::PathBuf;

use audiovault_tests::*;

const MIB: u64 = 1 << 20;

fn says_disk_full(reason: &str) -> bool {
    mentions(reason, &["disk is full", "no space left"])
}

#[test]
fn an_import_that_fills_the_disk_fails_what_does_not_fit_and_gc_reclaims_it() {
    let test = "an_import_that_fills_the_disk_fails_what_does_not_fit_and_gc_reclaims_it";
    let vault = TestVault::uninitialised(Some(PASSPHRASE));
    let Some(disk) = Tmpfs::mount(test, &vault.path, 24) else {
        return;
    };
    vault.init(&[]).expect_ok();

    let src = vault.scratch_dir("src");
    let fits: Vec<PathBuf> = (0..2)
        .map(|i| {
            let p = src.join(format!("a fits {i}.wav"));
            write_noise_wav(&p, 60 + i, 5 * MIB);
            p
        })
        .collect();
    let too_big = src.join("b too big.wav");
    write_noise_wav(&too_big, 62, 40 * MIB);
    let mut sources = fits.clone();
    sources.push(too_big.clone());

    // One worker, so the files that fit are stored before the disk fills.
    let report = ImportReport::from_run(
        vault
            .cmd(["import", "--workers", "1"])
            .args(&sources)
            .arg("--json")
            .run(),
    );
    assert_eq!(report.run.code(), 3, "{}", report.run);
    for p in &fits {
        assert_eq!(
            str_field(report.entry(p), "outcome"),
            "imported",
            "{}",
            report.run
        );
    }
    let failed = report.entry(&too_big);
    assert_eq!(str_field(failed, "outcome"), "failed", "{failed}");
    let reason = str_field(failed, "reason");
    assert!(
        says_disk_full(reason),
        "a reason that says the disk is full: {reason}"
    );
    let human = vault
        .cmd(["import", "--workers", "1"])
        .arg(&too_big)
        .run()
        .expect_code(3);
    assert!(
        human.output().contains("b too big.wav") && says_disk_full(&human.output()),
        "the message names the file and says why\n{human}"
    );

    // The vault is sound: verify is clean and the stored files come back whole.
    let verify = vault.cmd(["verify", "--json"]).run();
    assert_eq!(verify.code(), 0, "{verify}");
    assert_eq!(
        u64_field(&verify.json(), "tracks_checked"),
        fits.len() as u64
    );
    let out = vault.scratch_dir("out");
    vault.export(&["--all"], &out, &[]).expect_ok();
    let exported: HashSet<String> = files_under(&out).iter().map(|p| sha256_file(p)).collect();
    let expected: HashSet<String> = fits.iter().map(|p| sha256_file(p)).collect();
    assert_eq!(exported, expected);

    // gc gives back what the failed file wrote.
    let free_before = disk.free_bytes();
    let gc = vault.json(["gc"]);
    let removed = u64_field(&gc, "removed_bytes");
    assert!(
        removed >= 4 * MIB,
        "the failed file had written chunks: {gc}"
    );
    let free_after = disk.free_bytes();
    assert!(
        free_after + 256 * 1024 >= free_before + removed,
        "the space came back: {free_before} → {free_after} bytes free, gc removed {removed}"
    );
    let referenced = vault.referenced_chunks();
    let on_disk: HashSet<String> = vault.chunk_files().into_keys().collect();
    assert_eq!(on_disk, referenced, "only referenced chunks are left");
    assert!(
        entries_under(&vault.path.join("tmp")).is_empty(),
        "no temp file left: {:?}",
        entries_under(&vault.path.join("tmp"))
    );

    // And the vault takes files again.
    let small = src.join("c small.wav");
    write_noise_wav(&small, 63, 2 * MIB);
    assert_eq!(vault.import(&[&small]).count("imported"), 1);
    vault.cmd(["verify"]).run().expect_ok();
    drop(disk);
}

#[test]
fn an_export_to_a_full_disk_fails_cleanly() {
    let test = "an_export_to_a_full_disk_fails_cleanly";
    let vault = TestVault::new();
    let src = vault.scratch_dir("src");
    let (small, big) = (src.join("small.wav"), src.join("big.wav"));
    write_noise_wav(&small, 64, MIB);
    write_noise_wav(&big, 65, 12 * MIB);
    let report = vault.import(&[&small, &big]);
    assert_eq!(report.count("imported"), 2, "{}", report.run);
    let (id_small, id_big) = (
        str_field(report.entry(&small), "id").to_owned(),
        str_field(report.entry(&big), "id").to_owned(),
    );

    let dest = vault.scratch("usb stick");
    let Some(disk) = Tmpfs::mount(test, &dest, 8) else {
        return;
    };
    let run = vault.export(&[&id_small, &id_big], &dest, &[]);
    assert_eq!(run.code(), 3, "{run}");
    let json = run.json();
    assert_eq!(ids(&json["exported"]), vec![id_small.clone()], "{json}");
    assert_eq!(ids(&json["failed"]), vec![id_big.clone()], "{json}");
    let reason = str_field(&as_array(&json["failed"])[0], "reason");
    assert!(says_disk_full(reason), "{reason}");
    assert_eq!(
        entries_under(&dest),
        vec![PathBuf::from("small.wav")],
        "no partial file under a final name, no temp file"
    );
    assert_eq!(sha256_file(&dest.join("small.wav")), sha256_file(&small));
    let human = vault
        .cmd(["export", &id_big, "--to"])
        .arg(&dest)
        .run()
        .expect_code(3);
    assert!(says_disk_full(&human.output()), "{human}");
    assert_eq!(entries_under(&dest), vec![PathBuf::from("small.wav")]);
    drop(disk);
}
