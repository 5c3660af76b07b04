//! The watched import folder (`audiovault watch`), end to end: a real watcher
//! process, real writers and copy tools, the vault checked through the CLI.
//!
//! Continuous watchers run with `--json` (one event per line) and are stopped
//! with SIGINT, as Ctrl-C would; one-pass runs use `--once --json`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use audiovault_tests::{
    Run, Running, TestVault, as_array, sha256_file, str_field, variant_of_wav, write_noise_wav,
};
use serde_json::Value;

const MIB: u64 = 1024 * 1024;

/// Starts `audiovault watch DIR --json EXTRA...` in the background.
fn spawn_watch(vault: &TestVault, dir: &Path, extra: &[&str]) -> Running {
    let running = vault
        .cmd(["watch"])
        .arg(dir)
        .arg("--json")
        .args(extra)
        .spawn();
    // Let it set up its watch before the test starts writing.
    std::thread::sleep(Duration::from_millis(700));
    running
}

/// Ctrl-C, then what it printed. A stopped watcher exits 0.
fn stop(mut running: Running) -> Run {
    assert!(running.is_running(), "the watcher died early");
    // SAFETY: kill(2) with a pid we spawned and still own.
    unsafe {
        libc::kill(running.pid() as libc::pid_t, libc::SIGINT);
    }
    running.wait().expect_ok()
}

/// The events a continuous watcher printed, one JSON object per line.
fn events(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event ({e}): {l}\n{run}"))
        })
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

#[track_caller]
fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `watch DIR --once --json EXTRA...`: the report and the exit code.
fn once(vault: &TestVault, dir: &Path, extra: &[&str]) -> (Value, i32) {
    let run = vault
        .cmd(["watch", "--once", "--json"])
        .arg(dir)
        .args(extra)
        .run();
    let code = run.code();
    assert!(code == 0 || code == 3, "unexpected exit code\n{run}");
    (run.json(), code)
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = as_array(list)
        .iter()
        .map(|f| {
            Path::new(str_field(f, "path"))
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

fn track_shas(vault: &TestVault) -> Vec<String> {
    let mut v: Vec<String> = vault
        .all_tracks()
        .iter()
        .map(|t| str_field(t, "sha256").to_owned())
        .collect();
    v.sort();
    v
}

fn inbox(vault: &TestVault) -> PathBuf {
    fs::canonicalize(vault.scratch_dir("inbox")).unwrap()
}

/// Copies `src` into `dst` in `piece`-byte writes, sleeping `pause(i)` after
/// the i-th, with the destination open for writing the whole time.
fn slow_copy(src: &Path, dst: &Path, piece: usize, pause: impl Fn(usize) -> Duration) {
    let mut input = File::open(src).unwrap();
    let mut output = File::create(dst).unwrap();
    let mut buf = vec![0u8; piece];
    let mut i = 0;
    loop {
        let n = input.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).unwrap();
        output.flush().unwrap();
        std::thread::sleep(pause(i));
        i += 1;
    }
}

#[test]
fn a_slow_writer_is_imported_once_complete() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    let source = vault.scratch("source.wav");
    write_noise_wav(&source, 1, 50 * MIB);
    let sha = sha256_file(&source);

    let watcher = spawn_watch(&vault, &dir, &["--settle-seconds", "1"]);
    // 50 MB in 1 MB pieces over 5 seconds.
    slow_copy(&source, &dir.join("slow.wav"), MIB as usize, |_| {
        Duration::from_millis(100)
    });
    wait_until("the import", Duration::from_secs(60), || {
        !vault.tracks().is_empty()
    });
    // Long enough for a second, wrong import to show up.
    std::thread::sleep(Duration::from_secs(3));
    let run = stop(watcher);

    let tracks = vault.all_tracks();
    assert_eq!(tracks.len(), 1, "imported exactly once\n{run}");
    assert_eq!(
        str_field(&tracks[0], "sha256"),
        sha,
        "complete: the source's SHA-256"
    );
    assert_eq!(
        tracks[0]["size_bytes"].as_u64(),
        Some(fs::metadata(&source).unwrap().len())
    );
    let ev = events(&run);
    assert_eq!(of_kind(&ev, "imported").len(), 1, "{run}");
    assert!(of_kind(&ev, "not_imported").is_empty(), "{run}");
}

#[test]
fn a_writer_that_pauses_longer_than_the_settle_time_is_not_imported_partially() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    let source = vault.scratch("source.wav");
    write_noise_wav(&source, 2, 8 * MIB);
    let sha = sha256_file(&source);

    let watcher = spawn_watch(&vault, &dir, &["--settle-seconds", "1"]);
    // Half the file, then 3 s of silence with the file still open (a recorder
    // waiting for the next take), then the rest. Size and mtime alone would
    // call the half-written file stable.
    slow_copy(&source, &dir.join("take.wav"), 4 * MIB as usize, |i| {
        if i == 0 {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        }
    });
    wait_until("the import", Duration::from_secs(30), || {
        !vault.tracks().is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    let run = stop(watcher);
    assert_eq!(track_shas(&vault), [sha], "one complete import\n{run}");
    let ev = events(&run);
    let waiting = of_kind(&ev, "waiting");
    assert!(
        waiting
            .iter()
            .any(|w| str_field(w, "reason").contains("open for writing")),
        "the watcher said why it waited\n{run}"
    );
}

#[test]
fn thirty_files_at_once_and_a_folder_tree_are_all_imported() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    let batch = vault.scratch_dir("thirty");
    for i in 0..30 {
        write_noise_wav(&batch.join(format!("take {i:02}.wav")), 100 + i, 256 * 1024);
    }
    let tree = vault.scratch_dir("Album");
    for (i, rel) in [
        "CD1/01.wav",
        "CD1/02.wav",
        "CD2/01.wav",
        "CD2/bonus/01.wav",
        "cover.wav",
    ]
    .iter()
    .enumerate()
    {
        let p = tree.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        write_noise_wav(&p, 200 + i as u64, 512 * 1024);
    }
    let mut expected: Vec<String> = audiovault_tests::files_under(&batch)
        .iter()
        .chain(audiovault_tests::files_under(&tree).iter())
        .map(|p| sha256_file(p))
        .collect();
    expected.sort();

    let watcher = spawn_watch(&vault, &dir, &["--settle-seconds", "1"]);
    let mut cp = Command::new("cp");
    cp.arg("-p");
    for entry in fs::read_dir(&batch).unwrap() {
        cp.arg(entry.unwrap().path());
    }
    assert!(cp.arg(&dir).status().unwrap().success());
    wait_until("30 imports", Duration::from_secs(60), || {
        vault.tracks().len() == 30
    });
    let status = Command::new("cp")
        .arg("-r")
        .arg(&tree)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("35 imports", Duration::from_secs(60), || {
        vault.tracks().len() == 35
    });
    let run = stop(watcher);

    assert_eq!(track_shas(&vault), expected, "every file, complete\n{run}");
    let ev = events(&run);
    let batches = of_kind(&ev, "batch");
    let files: u64 = batches.iter().map(|b| b["files"].as_u64().unwrap()).sum();
    assert_eq!(files, 35, "{run}");
    assert!(
        batches.len() <= 4,
        "bursts are batched, not one import job per file: {} jobs\n{run}",
        batches.len()
    );
}

#[test]
fn a_restart_a_touch_and_a_change_import_only_the_change() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    for i in 0..3 {
        write_noise_wav(&dir.join(format!("{i}.wav")), 10 + i, 300 * 1024);
    }
    let fast = ["--settle-seconds", "0.5"];
    let (report, code) = once(&vault, &dir, &fast);
    assert_eq!(code, 0, "{report}");
    assert_eq!(names(&report["imported"]), ["0.wav", "1.wav", "2.wav"]);

    // Restart with the same files present: not imported, and not even offered
    // to the import again (which would call them duplicates).
    let (report, _) = once(&vault, &dir, &fast);
    assert!(as_array(&report["imported"]).is_empty(), "{report}");
    assert!(as_array(&report["skipped"]).is_empty(), "{report}");
    assert_eq!(vault.all_tracks().len(), 3);

    // Touch without changing the content.
    let touched = Command::new("touch")
        .arg(dir.join("1.wav"))
        .status()
        .unwrap();
    assert!(touched.success());
    let (report, _) = once(&vault, &dir, &fast);
    assert!(as_array(&report["imported"]).is_empty(), "{report}");
    assert_eq!(names(&report["skipped"]), ["1.wav"]);
    let reason = str_field(&as_array(&report["skipped"])[0], "reason");
    assert!(
        reason.contains("unchanged"),
        "recognised by its checksum: {reason}"
    );
    assert_eq!(vault.all_tracks().len(), 3);

    // Change the content: a new track.
    let original = vault.scratch("1-original.wav");
    fs::copy(dir.join("1.wav"), &original).unwrap();
    variant_of_wav(&original, &dir.join("1.wav"), 7);
    let (report, _) = once(&vault, &dir, &fast);
    assert_eq!(names(&report["imported"]), ["1.wav"]);
    assert_eq!(vault.all_tracks().len(), 4);
    assert!(track_shas(&vault).contains(&sha256_file(&dir.join("1.wav"))));
}

#[test]
fn an_atomic_rename_is_imported_and_a_part_file_waits_for_its_rename() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    let watcher = spawn_watch(&vault, &dir, &["--settle-seconds", "0.5"]);

    let part = dir.join("download.wav.part");
    write_noise_wav(&part, 3, 400 * 1024);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        vault.all_tracks().is_empty(),
        "a .part file is not imported"
    );

    fs::rename(&part, dir.join("download.wav")).unwrap();
    wait_until("the renamed download", Duration::from_secs(30), || {
        vault.tracks().len() == 1
    });

    // Written elsewhere on the same disk, then renamed in: one atomic step.
    let staged = vault.scratch("staged.wav");
    write_noise_wav(&staged, 4, 400 * 1024);
    let staged_sha = sha256_file(&staged);
    fs::rename(&staged, dir.join("staged.wav")).unwrap();
    wait_until("the renamed file", Duration::from_secs(30), || {
        vault.tracks().len() == 2
    });
    let run = stop(watcher);

    assert!(track_shas(&vault).contains(&staged_sha));
    let ev = events(&run);
    assert!(
        of_kind(&ev, "ignored")
            .iter()
            .any(|e| str_field(e, "path").ends_with("download.wav.part")),
        "the .part file was reported as waiting for its rename\n{run}"
    );
}

#[test]
fn a_corrupt_file_goes_to_not_imported_with_its_reason_and_the_rest_continue() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    write_noise_wav(&dir.join("good 1.wav"), 5, 200 * 1024);
    fs::create_dir(dir.join("sub")).unwrap();
    write_noise_wav(&dir.join("sub/good 2.wav"), 6, 200 * 1024);
    fs::write(dir.join("sub/corrupt.wav"), vec![0x5au8; 64 * 1024]).unwrap();
    File::create(dir.join("empty.flac")).unwrap();
    let corrupt_sha = sha256_file(&dir.join("sub/corrupt.wav"));

    let (report, code) = once(&vault, &dir, &["--settle-seconds", "0.5"]);
    assert_eq!(code, 3, "partial: some files were not imported\n{report}");
    assert_eq!(names(&report["imported"]), ["good 1.wav", "good 2.wav"]);
    assert_eq!(
        names(&report["not_imported"]),
        ["corrupt.wav", "empty.flac"]
    );
    assert_eq!(vault.all_tracks().len(), 2);

    // Moved aside, never deleted, the tree kept.
    let moved = dir.join("Not imported/sub/corrupt.wav");
    assert!(!dir.join("sub/corrupt.wav").exists());
    assert_eq!(sha256_file(&moved), corrupt_sha);
    assert!(dir.join("Not imported/empty.flac").is_file());

    let failures = vault.json(["watch", "failures"]);
    let failures = as_array(&failures);
    assert_eq!(failures.len(), 2, "{failures:?}");
    let corrupt = failures
        .iter()
        .find(|f| str_field(f, "path").ends_with("corrupt.wav"))
        .unwrap();
    assert!(
        str_field(corrupt, "reason").contains("not a recognized audio file"),
        "{corrupt}"
    );
    assert_eq!(str_field(corrupt, "moved_to"), moved.to_string_lossy());
    let empty = failures
        .iter()
        .find(|f| str_field(f, "path").ends_with("empty.flac"))
        .unwrap();
    assert!(str_field(empty, "reason").contains("empty"), "{empty}");

    // The activity log says what happened and why.
    let log = vault.json(["watch", "log"]);
    let messages: Vec<&str> = as_array(&log)
        .iter()
        .map(|a| str_field(a, "message"))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("not imported") && m.contains("corrupt.wav")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("imported") && m.contains("good 1.wav"))
    );
}

#[test]
fn the_folder_removed_and_recreated_while_watching_changes_nothing_and_watching_resumes() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    write_noise_wav(&dir.join("before.wav"), 8, 200 * 1024);
    let watcher = spawn_watch(&vault, &dir, &["--settle-seconds", "0.5"]);
    wait_until("the first import", Duration::from_secs(30), || {
        vault.tracks().len() == 1
    });
    let before = vault.all_tracks();

    fs::remove_dir_all(&dir).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(vault.all_tracks(), before, "the library is untouched");

    fs::create_dir(&dir).unwrap();
    write_noise_wav(&dir.join("after.wav"), 9, 200 * 1024);
    wait_until(
        "the import after the folder came back",
        Duration::from_secs(30),
        || vault.tracks().len() == 2,
    );
    let run = stop(watcher);

    let tracks = vault.all_tracks();
    assert!(tracks.iter().all(|t| str_field(t, "state") == "active"));
    let ev = events(&run);
    let states: Vec<&str> = of_kind(&ev, "state")
        .iter()
        .map(|e| str_field(e, "state"))
        .collect();
    assert_eq!(
        states,
        ["watching", "unavailable", "watching", "stopped"],
        "{run}"
    );
}

#[test]
fn stored_folders_run_without_naming_them_and_remove_after_import() {
    let vault = TestVault::new();
    let dir = inbox(&vault);
    let added = vault.json([
        "watch",
        "add",
        dir.to_str().unwrap(),
        "--settle-seconds",
        "0.5",
        "--remove-after-import",
    ]);
    assert_eq!(as_array(&added).len(), 1);
    let list = vault.json(["watch", "list"]);
    let folder = &as_array(&list)[0];
    assert_eq!(str_field(folder, "path"), dir.to_string_lossy());
    assert_eq!(str_field(folder, "after_import"), "remove");
    assert_eq!(folder["settle_seconds"].as_f64(), Some(0.5));

    write_noise_wav(&dir.join("a.wav"), 11, 200 * 1024);
    let sha = sha256_file(&dir.join("a.wav"));
    let run = vault.cmd(["watch", "--once", "--json"]).run().expect_ok();
    let report = run.json();
    assert_eq!(names(&report["imported"]), ["a.wav"]);
    assert_eq!(as_array(&report["imported"])[0]["source_removed"], true);
    assert!(
        !dir.join("a.wav").exists(),
        "removed after a verified import"
    );
    assert_eq!(track_shas(&vault), [sha]);

    vault.cmd(["watch", "disable"]).arg(&dir).run().expect_ok();
    let run = vault.run(["watch", "--once"]);
    assert_eq!(run.code(), 1, "nothing enabled to watch\n{run}");
    assert!(run.stderr.contains("no folder to watch"), "{run}");
    vault.cmd(["watch", "remove"]).arg(&dir).run().expect_ok();
    assert!(as_array(&vault.json(["watch", "list"])).is_empty());
}

#[test]
fn watching_the_vault_itself_is_refused() {
    let vault = TestVault::new();
    let run = vault
        .cmd(["watch", "--once"])
        .arg(vault.path.join("chunks"))
        .run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("inside the vault"), "{run}");
}
