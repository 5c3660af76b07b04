//! Settings that guard the vault: allowed extensions, a size limit per file, a quota.

use std::path::PathBuf;

use audiovault_tests::*;

/// How a refusal may name the quota (`quota_bytes`): by that word, or as the vault's size limit.
const QUOTA_WORDS: &[&str] = &["quota", "vault size limit"];

#[test]
fn disallowed_extension_and_oversized_file_are_rejected_with_reasons() {
    let corpus = corpus();
    let vault = TestVault::new();
    vault
        .run(["settings", "set", "allowed_extensions", "wav,flac"])
        .expect_ok();

    let mut wavs = corpus.with_ext(".wav");
    wavs.sort_by_key(|f| f.size);
    let small_wav = wavs[0];
    let big_wav = wavs[wavs.len() - 1];
    let flac = corpus.with_ext(".flac")[0];
    let mp3 = corpus.with_ext(".mp3")[0];
    let limit = big_wav.size - 1;
    assert!(small_wav.size <= limit && flac.size <= limit);
    vault
        .run(["settings", "set", "max_file_size_bytes", &limit.to_string()])
        .expect_ok();

    let settings = vault.json(["settings"]);
    let allowed = settings["allowed_extensions"].to_string().to_lowercase();
    assert!(
        allowed.contains("wav") && allowed.contains("flac") && !allowed.contains("mp3"),
        "{settings}"
    );
    assert_eq!(
        u64_field(&settings, "max_file_size_bytes"),
        limit,
        "{settings}"
    );

    let report = vault.import(&[&small_wav.path, &big_wav.path, &flac.path, &mp3.path]);
    assert_eq!(report.run.code(), 3, "{}", report.run);
    assert_eq!(
        str_field(report.entry(&small_wav.path), "outcome"),
        "imported"
    );
    assert_eq!(str_field(report.entry(&flac.path), "outcome"), "imported");

    let e = report.entry(&mp3.path);
    assert_eq!(str_field(e, "outcome"), "rejected", "{e}");
    assert!(
        mentions(
            str_field(e, "reason"),
            &["extension", "mp3", "not allowed", "format"]
        ),
        "{e}"
    );
    let e = report.entry(&big_wav.path);
    assert_eq!(str_field(e, "outcome"), "rejected", "{e}");
    assert!(
        mentions(str_field(e, "reason"), &["size", "large", "limit", "max"]),
        "{e}"
    );
    assert_eq!(vault.tracks().len(), 2);

    // Back to no limits: the same files go in.
    vault
        .run(["settings", "set", "allowed_extensions", "wav,flac,mp3"])
        .expect_ok();
    vault
        .run(["settings", "set", "max_file_size_bytes", "0"])
        .expect_ok();
    let report = vault.import(&[&big_wav.path, &mp3.path]);
    assert_eq!(report.count("imported"), 2, "{}", report.run);
}

#[test]
fn quota_warns_near_90_percent_and_refuses_beyond() {
    let corpus = corpus();
    let mut files: Vec<&SourceFile> = corpus.with_ext(".flac");
    files.sort_by_key(|f| f.size);
    let batch: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let extra = corpus.file("dupes/original.mp3");

    // How many bytes this batch takes in a vault.
    let probe = TestVault::new();
    probe.import(&batch);
    let needed = u64_field(&probe.stats(), "stored_bytes");
    assert!(needed > 0);
    let quota = needed * 100 / 93; // the batch fills 93 % of it

    let vault = TestVault::new();
    vault
        .run(["settings", "set", "quota_bytes", &quota.to_string()])
        .expect_ok();
    let report = vault.import(&batch);
    assert_eq!(
        report.count("imported"),
        batch.len(),
        "fits within the quota\n{}",
        report.run
    );
    let warnings = as_array(&report.json["warnings"]);
    assert!(
        warnings
            .iter()
            .any(|w| mentions(&w.to_string(), &["quota", "%", "full", "space"])),
        "crossing 90 % of the quota warns: {warnings:?}"
    );
    let stats = vault.stats();
    assert_eq!(u64_field(&stats, "quota_bytes"), quota, "{stats}");
    let used = f64_field(&stats, "quota_used_fraction");
    assert!(
        (0.9..1.0).contains(&used),
        "quota_used_fraction {used}: {stats}"
    );
    let warnings = as_array(&stats["warnings"]);
    assert!(
        warnings
            .iter()
            .any(|w| mentions(&w.to_string(), &["quota", "%", "full", "space"])),
        "stats warns near the quota: {stats}"
    );
    let human = vault.run(["stats"]).expect_ok();
    assert!(
        mentions(&human.output(), &["warning"]),
        "plain `stats` shows the warning too\n{human}"
    );

    // A file that does not fit is refused, clearly, and nothing of it is stored.
    let chunks_before = vault.chunk_files();
    let run = vault.cmd(["import"]).arg(&extra.path).arg("--json").run();
    match run.code() {
        1 => assert!(
            mentions(&run.stderr, QUOTA_WORDS),
            "the error names the quota\n{run}"
        ),
        3 => {
            let report = ImportReport::from_run(run);
            let e = report.entry(&extra.path);
            assert_ne!(str_field(e, "outcome"), "imported", "{e}");
            assert!(
                mentions(str_field(e, "reason"), QUOTA_WORDS),
                "the reason names the quota: {e}"
            );
        }
        _ => panic!("an import over the quota must be refused (exit 1 or 3)\n{run}"),
    }
    assert_eq!(
        vault.tracks().len(),
        batch.len(),
        "no track added over the quota"
    );
    vault.json(["gc"]);
    assert_eq!(
        vault.chunk_files(),
        chunks_before,
        "no chunk of the refused file kept"
    );
    assert!(u64_field(&vault.stats(), "stored_bytes") <= quota);

    // Lifting the quota lets it in.
    vault
        .run(["settings", "set", "quota_bytes", "0"])
        .expect_ok();
    assert!(
        vault.stats()["quota_bytes"].is_null(),
        "quota_bytes is null without a limit"
    );
    let report = vault.import(&[&extra.path]);
    assert_eq!(report.count("imported"), 1, "{}", report.run);
}

/// The sync settings: automatic sync off until turned on, a pull interval, and rates
/// with units; a value a setting cannot take is refused with the setting's name and
/// the reason, and the last good value stays.
#[test]
fn sync_settings_take_units_and_refuse_bad_values() {
    let vault = TestVault::new();
    let settings = vault.json(["settings"]);
    assert_eq!(settings["auto_sync"], false, "opt-in: {settings}");
    assert_eq!(u64_field(&settings, "auto_sync_pull_minutes"), 15);
    assert!(settings["upload_bytes_per_second"].is_null(), "{settings}");

    for (key, value) in [
        ("auto_sync", "on"),
        ("auto_sync_pull_minutes", "5"),
        ("upload_bytes_per_second", "2MiB"),
        ("download_bytes_per_second", "500KiB"),
    ] {
        vault.run(["settings", "set", key, value]).expect_ok();
    }
    let settings = vault.json(["settings"]);
    assert_eq!(settings["auto_sync"], true, "{settings}");
    assert_eq!(u64_field(&settings, "auto_sync_pull_minutes"), 5);
    assert_eq!(u64_field(&settings, "upload_bytes_per_second"), 2 << 20);
    assert_eq!(u64_field(&settings, "download_bytes_per_second"), 500 << 10);
    let shown = vault.run(["settings"]).expect_ok().stdout;
    assert!(shown.contains("auto_sync            on"), "{shown}");
    assert!(shown.contains("2097152 (2.00 MiB/s)"), "{shown}");

    for (key, value, said) in [
        ("auto_sync", "sometimes", "on or off"),
        ("auto_sync_pull_minutes", "0", "minutes"),
        ("upload_bytes_per_second", "fast", "per second"),
    ] {
        let run = vault.run(["settings", "set", key, value]);
        assert_ne!(run.code(), 0, "{run}");
        let out = run.output();
        assert!(
            out.contains(key) && out.contains(said),
            "{key} = {value}: {out}"
        );
    }
    let settings = vault.json(["settings"]);
    assert_eq!(settings["auto_sync"], true, "{settings}");
    assert_eq!(u64_field(&settings, "upload_bytes_per_second"), 2 << 20);
}
