//! Crash safety: an import killed with SIGKILL at any moment leaves a consistent vault.
//!
//! Invariants 1 and 2: chunks are durable before the catalog commits that references
//! them, so a crash leaves at most unreferenced chunks, and `gc` removes them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use audiovault_tests::*;

const TRIALS: u64 = 24;

/// The three biggest files of the corpus (so an import takes a while), the five
/// smallest, and one with cover art (stored as a chunk of its own).
fn sources() -> Vec<&'static SourceFile> {
    let corpus = corpus();
    let mut by_size: Vec<&SourceFile> = corpus.files.iter().collect();
    by_size.sort_by_key(|f| std::cmp::Reverse(f.size));
    let mut picked: Vec<&SourceFile> = Vec::new();
    for f in by_size {
        if picked.iter().all(|p| p.sha256 != f.sha256) {
            picked.push(f);
        }
    }
    let n = picked.len();
    let mut chosen: Vec<&SourceFile> = picked[..3].to_vec();
    chosen.extend(picked[n - 5..].iter().copied());
    chosen.extend(
        corpus
            .files
            .iter()
            .find(|f| f.rel.starts_with("cover/") && f.rel.ends_with(".flac")),
    );
    chosen
}

/// Deterministic fraction in [0, 1) for trial `i` (splitmix64).
fn jitter(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn import_killed_at_random_points_leaves_a_consistent_vault() {
    let sources = sources();
    let paths: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
    let by_sha: HashMap<&str, &SourceFile> =
        sources.iter().map(|s| (s.sha256.as_str(), *s)).collect();

    // How long an import of these files takes, start to finish: the fastest of
    // three, so a calibration slowed by other work on the machine does not push
    // every kill past the end of the trials' imports.
    let mut full = Duration::MAX;
    for _ in 0..3 {
        let calibration = TestVault::new();
        let started = Instant::now();
        let report = calibration.import(&paths);
        full = full.min(started.elapsed());
        assert_eq!(report.count("imported"), sources.len(), "{}", report.run);
    }

    let mut killed_mid_import = 0;
    let mut with_tracks = 0;
    for trial in 0..TRIALS {
        // Kill delays spread over 0..1.2× the import's duration.
        let delay = full.mul_f64(1.2 * (trial as f64 + jitter(trial)) / TRIALS as f64);
        let vault = TestVault::new();
        let mut import = vault.cmd(["import"]).args(&paths).arg("--json").spawn();
        std::thread::sleep(delay);
        if import.is_running() {
            killed_mid_import += 1;
        }
        let killed = import.kill();
        let ctx = format!(
            "trial {trial}: killed after {delay:?} (full import {full:?}), exit {}",
            killed.code()
        );

        // The vault opens, and opening empties tmp/.
        let stats = vault.cmd(["stats", "--json"]).run();
        assert_eq!(
            stats.code(),
            0,
            "{ctx}: the vault must open after a crash\n{stats}"
        );
        let tmp = vault.path.join("tmp");
        assert!(
            entries_under(&tmp).is_empty(),
            "{ctx}: tmp/ not emptied on open: {:?}",
            entries_under(&tmp)
        );

        // verify is clean.
        let verify = vault.cmd(["verify", "--json"]).run();
        assert_eq!(verify.code(), 0, "{ctx}: verify after a crash\n{verify}");
        assert_eq!(verify.json()["ok"], true, "{ctx}");

        // Only whole tracks, each one of the sources.
        let tracks = vault.all_tracks();
        if !tracks.is_empty() {
            with_tracks += 1;
        }
        for t in &tracks {
            let source = by_sha
                .get(str_field(t, "sha256"))
                .unwrap_or_else(|| panic!("{ctx}: track {t} matches no source"));
            assert_eq!(u64_field(t, "size_bytes"), source.size, "{ctx}");
        }

        // Each exportable, byte-identical.
        let out = vault.scratch_dir("export");
        let export = vault.export(&["--all"], &out, &[]);
        assert_eq!(export.code(), 0, "{ctx}\n{export}");
        let exported = as_array(&export.json()["exported"]).clone();
        assert_eq!(exported.len(), tracks.len(), "{ctx}");
        for e in &exported {
            let sha = sha256_file(&PathBuf::from(str_field(e, "path")));
            assert!(
                by_sha.contains_key(sha.as_str()),
                "{ctx}: exported {e} differs from every source"
            );
        }

        // After gc, every chunk file on disk belongs to a track, and every chunk a
        // track lists is on disk.
        vault.json(["gc"]);
        let referenced = vault.referenced_chunks();
        let on_disk: HashSet<String> = vault.chunk_files().into_keys().collect();
        let orphans: Vec<&String> = on_disk.difference(&referenced).collect();
        assert!(
            orphans.is_empty(),
            "{ctx}: gc left {} unreferenced chunk files: {orphans:?}",
            orphans.len()
        );
        let lost: Vec<&String> = referenced.difference(&on_disk).collect();
        assert!(
            lost.is_empty(),
            "{ctx}: tracks reference chunks that are not on disk: {lost:?}"
        );

        // The interrupted import can simply be run again.
        let again = vault.import(&paths);
        assert_eq!(
            again.count("imported") + again.count("duplicate"),
            sources.len(),
            "{ctx}\n{}",
            again.run
        );
        assert_eq!(vault.tracks().len(), sources.len(), "{ctx}");
    }
    eprintln!(
        "crash: {TRIALS} trials over a {full:?} import; {killed_mid_import} killed while running, \
         {with_tracks} left some tracks"
    );
    assert!(
        killed_mid_import >= TRIALS / 2,
        "most kills must land while the import runs ({killed_mid_import})"
    );
}

/// An export killed with SIGKILL at any moment never leaves a file under a real name
/// that is not its track, byte for byte: files are written and checked under temp
/// names, made durable in groups, and named only then. The same export run again
/// completes beside what the killed one named.
#[test]
fn export_killed_at_random_points_names_only_whole_checked_files() {
    let sources = sources();
    let paths: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
    let shas: HashSet<&str> = sources.iter().map(|s| s.sha256.as_str()).collect();
    let vault = TestVault::new();
    let report = vault.import(&paths);
    assert_eq!(report.count("imported"), sources.len(), "{}", report.run);

    let mut full = Duration::MAX;
    for _ in 0..3 {
        let out = vault.scratch_dir("calibration");
        let started = Instant::now();
        vault.export(&["--all"], &out, &[]).expect_ok();
        full = full.min(started.elapsed());
        std::fs::remove_dir_all(&out).unwrap();
    }

    let mut killed_mid_export = 0;
    let mut named_before_the_kill = 0;
    for trial in 0..TRIALS {
        let delay = full.mul_f64(1.2 * (trial as f64 + jitter(trial)) / TRIALS as f64);
        let out = vault.scratch_dir(&format!("export-{trial}"));
        let mut export = vault
            .cmd(["export", "--all", "--to"])
            .arg(&out)
            .arg("--json")
            .spawn();
        std::thread::sleep(delay);
        if export.is_running() {
            killed_mid_export += 1;
        }
        let killed = export.kill();
        let ctx = format!(
            "trial {trial}: killed after {delay:?} (full export {full:?}), exit {}",
            killed.code()
        );
        for rel in entries_under(&out) {
            let file = out.join(&rel);
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".audiovault-export-") && name.ends_with(".part") {
                continue;
            }
            named_before_the_kill += 1;
            let sha = sha256_file(&file);
            assert!(
                shas.contains(sha.as_str()),
                "{ctx}: {name} is named but is no track's bytes"
            );
        }
        // Run again: everything is there afterwards, whole.
        vault.export(&["--all"], &out, &[]).expect_ok();
        let whole: HashSet<String> = entries_under(&out)
            .iter()
            .filter(|f| !f.to_string_lossy().ends_with(".part"))
            .map(|f| sha256_file(&out.join(f)))
            .collect();
        assert_eq!(whole.len(), shas.len(), "{ctx}: every track exported");
    }
    eprintln!(
        "export crash: {TRIALS} trials over a {full:?} export; {killed_mid_export} killed while \
         running, {named_before_the_kill} files named before a kill"
    );
    assert!(
        killed_mid_export >= TRIALS / 2,
        "most kills must land while the export runs ({killed_mid_export})"
    );
}
