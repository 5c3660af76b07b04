//! The watcher against a real vault in a temporary folder, with short settle
//! times. The command-line tests (tests/it/watch.rs) cover the same ground
//! end to end with bigger files and real copy tools.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use sha2::Digest;

use super::*;
use crate::progress::CancelToken;
use crate::secret::Passphrase;
use crate::vault::CreateOptions;
use crate::{TrackFilter, Vault};

const SETTLE: Duration = Duration::from_millis(200);

struct Fixture {
    _dir: tempfile::TempDir,
    vault: Vault,
    inbox: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let options = CreateOptions {
        kdf_memory_kib: 1024,
        kdf_iterations: 1,
        ..CreateOptions::default()
    };
    let vault = Vault::create(&dir.path().join("vault"), &Passphrase::new("pw"), &options).unwrap();
    let inbox = dir.path().join("inbox");
    fs::create_dir(&inbox).unwrap();
    let inbox = fs::canonicalize(inbox).unwrap();
    Fixture {
        _dir: dir,
        vault,
        inbox,
    }
}

/// A valid PCM WAV with `len` bytes of audio derived from `seed`.
fn wav_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = crate::test_support::pcm_wav_header(len as u32);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < 44 + len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x as u8);
    }
    out
}

fn write_wav(path: &Path, seed: u64) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::write(path, wav_bytes(seed, 64 * 1024)).unwrap();
}

fn folder(f: &Fixture) -> WatchFolder {
    WatchFolder {
        settle: SETTLE,
        ..WatchFolder::new(f.inbox.clone())
    }
}

fn once(f: &Fixture, folder: &WatchFolder) -> (WatchReport, Vec<WatchEvent>) {
    let events = Mutex::new(Vec::new());
    let sink = |e: &WatchEvent| events.lock().unwrap().push(e.clone());
    let config = WatchConfig {
        once: true,
        ..WatchConfig::new(vec![folder.clone()])
    };
    let report = Watcher::new(config)
        .run(&f.vault, &sink, &CancelToken::new())
        .unwrap();
    (report, events.into_inner().unwrap())
}

fn track_count(f: &Fixture) -> usize {
    f.vault.tracks(TrackFilter::All).unwrap().len()
}

fn names(files: &[WatchedFile]) -> Vec<String> {
    let mut v: Vec<String> = files
        .iter()
        .map(|w| w.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn imports_stable_files_once_and_remembers_them_across_runs() {
    let f = fixture();
    write_wav(&f.inbox.join("a.wav"), 1);
    write_wav(&f.inbox.join("album/b.wav"), 2);
    write_wav(&f.inbox.join("album/disc 2/c.wav"), 3);
    let cfg = folder(&f);

    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["a.wav", "b.wav", "c.wav"]);
    assert!(report.not_imported.is_empty() && report.waiting.is_empty());
    assert_eq!(track_count(&f), 3);
    let a_sha = report
        .imported
        .iter()
        .find(|w| w.path.ends_with("a.wav"))
        .and_then(|w| w.sha256.clone())
        .unwrap();
    let expected = crate::store::hex(&sha2::Sha256::digest(
        fs::read(f.inbox.join("a.wav")).unwrap(),
    ));
    assert_eq!(a_sha, expected, "the report carries the source's SHA-256");

    // A restart with the same files: nothing read again, nothing imported.
    let (report, events) = once(&f, &cfg);
    assert!(
        report.imported.is_empty() && report.skipped.is_empty(),
        "{report:?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        WatchEvent::Scanned {
            files: 3,
            known: 3,
            ..
        }
    )));

    // A touch: read again, recognised by its SHA-256, not imported.
    let file = File::options()
        .write(true)
        .open(f.inbox.join("a.wav"))
        .unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(file);
    let (report, _) = once(&f, &cfg);
    assert!(report.imported.is_empty(), "{report:?}");
    assert_eq!(names(&report.skipped), ["a.wav"]);
    assert!(
        report.skipped[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("unchanged")
    );
    // ...and remembered with its new date: the next run does not even read it.
    let (report, _) = once(&f, &cfg);
    assert!(report.skipped.is_empty(), "{report:?}");

    // New content at the same path: a new track.
    write_wav(&f.inbox.join("a.wav"), 99);
    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["a.wav"]);
    assert_eq!(track_count(&f), 4);
}

#[test]
fn a_burst_is_one_import_job() {
    let f = fixture();
    for i in 0..40 {
        write_wav(&f.inbox.join(format!("take {i:02}.wav")), 100 + i);
    }
    let (report, events) = once(&f, &folder(&f));
    assert_eq!(report.imported.len(), 40);
    let batches: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Batch { files, .. } => Some(*files),
            _ => None,
        })
        .collect();
    assert_eq!(batches, [40], "one job for the burst, not one per file");
}

#[test]
fn temporary_names_wait_for_their_rename() {
    let f = fixture();
    let part = f.inbox.join("download.wav.part");
    write_wav(&part, 7);
    write_wav(&f.inbox.join(".hidden.wav"), 8);
    write_wav(&f.inbox.join(".cache/inside.wav"), 9);
    fs::write(f.inbox.join("cover.jpg"), b"\xff\xd8\xff").unwrap();
    let cfg = folder(&f);

    let (report, events) = once(&f, &cfg);
    assert!(report.imported.is_empty(), "{report:?}");
    assert!(report.not_imported.is_empty(), "{report:?}");
    let ignored: Vec<&WatchEvent> = events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Ignored { .. }))
        .collect();
    assert_eq!(
        ignored.len(),
        2,
        "the .part and the jpg are reported: {ignored:?}"
    );
    assert!(
        f.inbox.join("cover.jpg").exists(),
        "non-audio files stay put"
    );

    fs::rename(&part, f.inbox.join("download.wav")).unwrap();
    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["download.wav"]);
}

#[test]
fn rejected_files_go_to_not_imported_and_the_rest_continue() {
    let f = fixture();
    File::create(f.inbox.join("empty.wav")).unwrap();
    fs::create_dir_all(f.inbox.join("album")).unwrap();
    fs::write(f.inbox.join("album/noise.wav"), b"this is not audio at all").unwrap();
    write_wav(&f.inbox.join("album/good.wav"), 5);
    let cfg = folder(&f);

    let (report, events) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["good.wav"]);
    assert_eq!(names(&report.not_imported), ["empty.wav", "noise.wav"]);
    // The vault's activity log says what the events say, in the same words.
    let mut said: Vec<String> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                WatchEvent::Imported { .. } | WatchEvent::NotImported { .. }
            )
        })
        .filter_map(|e| e.describe().map(|l| l.to_string()))
        .collect();
    let mut logged: Vec<String> = f
        .vault
        .watch_activity(50)
        .unwrap()
        .into_iter()
        .map(|a| a.message)
        .collect();
    said.sort();
    logged.sort();
    assert_eq!(said.len(), 3);
    assert_eq!(logged, said);
    assert!(
        logged
            .iter()
            .any(|m| m.starts_with("imported ") && m.contains("good.wav: track ")),
        "{logged:?}"
    );
    let not_imported = f.inbox.join(NOT_IMPORTED_DIR);
    assert!(not_imported.join("empty.wav").is_file());
    assert!(not_imported.join("album/noise.wav").is_file());
    assert!(!f.inbox.join("empty.wav").exists());

    let failures = f.vault.watch_failures().unwrap();
    assert_eq!(failures.len(), 2);
    let empty = failures
        .iter()
        .find(|x| x.path.ends_with("empty.wav"))
        .unwrap();
    assert_eq!(empty.outcome, crate::progress::Outcome::Rejected);
    assert!(empty.reason.contains("empty"), "{}", empty.reason);
    assert_eq!(
        empty.moved_to.as_deref(),
        Some(not_imported.join("empty.wav").as_path())
    );

    // What is in 'Not imported' is not looked at again.
    let (report, _) = once(&f, &cfg);
    assert!(report.not_imported.is_empty() && report.imported.is_empty());
    assert_eq!(f.vault.watch_failures().unwrap().len(), 2);
}

#[test]
fn failures_left_in_place_are_not_retried_until_they_change() {
    let f = fixture();
    File::create(f.inbox.join("empty.wav")).unwrap();
    let cfg = WatchFolder {
        move_failures: false,
        ..folder(&f)
    };
    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.not_imported), ["empty.wav"]);
    assert!(report.not_imported[0].moved_to.is_none());
    assert!(f.inbox.join("empty.wav").exists());

    let (report, _) = once(&f, &cfg);
    assert!(
        report.not_imported.is_empty(),
        "not retried while unchanged"
    );

    // Fixed in place: imported, and its failure is resolved.
    write_wav(&f.inbox.join("empty.wav"), 3);
    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["empty.wav"]);
    assert!(f.vault.watch_failures().unwrap().is_empty());
}

#[test]
fn remove_policy_deletes_only_verified_imports() {
    let f = fixture();
    write_wav(&f.inbox.join("a.wav"), 1);
    write_wav(&f.inbox.join("b.wav"), 2);
    let cfg = WatchFolder {
        after_import: AfterImport::Remove,
        ..folder(&f)
    };
    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["a.wav", "b.wav"]);
    assert!(report.imported.iter().all(|w| w.source_removed));
    assert!(!f.inbox.join("a.wav").exists() && !f.inbox.join("b.wav").exists());
    assert_eq!(track_count(&f), 2);

    // The same content again, whose track is now in the trash: the vault's copy
    // is not one to rely on, so the file stays.
    let ids: Vec<_> = f
        .vault
        .tracks(TrackFilter::All)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    f.vault.set_trashed(&ids, true).unwrap();
    write_wav(&f.inbox.join("again.wav"), 1);
    let (report, events) = once(&f, &cfg);
    assert_eq!(names(&report.skipped), ["again.wav"]);
    assert!(!report.skipped[0].source_removed);
    assert!(f.inbox.join("again.wav").exists());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WatchEvent::Notice { message, .. } if message.contains("trash")))
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_held_open_for_writing_waits_however_still_it_looks() {
    let f = fixture();
    let path = f.inbox.join("recording.wav");
    let mut writer = File::create(&path).unwrap();
    writer.write_all(&wav_bytes(4, 32 * 1024)).unwrap();
    writer.flush().unwrap();
    // Quiet for longer than the settle time, but still open.
    std::thread::sleep(SETTLE * 2);
    let cfg = folder(&f);
    let (report, _) = once(&f, &cfg);
    assert!(report.imported.is_empty(), "{report:?}");
    assert_eq!(names(&report.waiting), ["recording.wav"]);
    assert!(
        report.waiting[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("open for writing"),
        "{report:?}"
    );
    drop(writer);
    let (report, _) = once(&f, &cfg);
    assert_eq!(names(&report.imported), ["recording.wav"]);
}

#[test]
fn a_folder_that_disappears_is_waited_for_and_the_library_kept() {
    let f = fixture();
    write_wav(&f.inbox.join("first.wav"), 1);
    let cfg = folder(&f);
    let events = Mutex::new(Vec::<WatchEvent>::new());
    let sink = |e: &WatchEvent| events.lock().unwrap().push(e.clone());
    let cancel = CancelToken::new();
    let wait_for = |what: &str, cond: &dyn Fn(&[WatchEvent]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond(&events.lock().unwrap()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                events.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::thread::scope(|s| {
        let runner = s.spawn(|| {
            Watcher::new(WatchConfig::new(vec![cfg.clone()])).run(&f.vault, &sink, &cancel)
        });
        wait_for("the first import", &|ev| {
            ev.iter().any(|e| matches!(e, WatchEvent::Imported { .. }))
        });
        fs::remove_dir_all(&f.inbox).unwrap();
        wait_for("unavailable", &|ev| {
            ev.iter().any(|e| {
                matches!(
                    e,
                    WatchEvent::State {
                        state: FolderState::Unavailable,
                        ..
                    }
                )
            })
        });
        assert_eq!(track_count(&f), 1);
        fs::create_dir(&f.inbox).unwrap();
        write_wav(&f.inbox.join("second.wav"), 2);
        wait_for("the second import", &|ev| {
            ev.iter()
                .filter(|e| matches!(e, WatchEvent::Imported { .. }))
                .count()
                == 2
        });
        cancel.cancel();
        let report = runner.join().unwrap().unwrap();
        assert_eq!(report.imported_count, 2);
    });
    let events = events.into_inner().unwrap();
    let states: Vec<FolderState> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::State { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            FolderState::Watching,
            FolderState::Unavailable,
            FolderState::Watching,
            FolderState::Stopped
        ]
    );
    let tracks = f.vault.tracks(TrackFilter::All).unwrap();
    assert_eq!(tracks.len(), 2);
    assert!(tracks.iter().all(|t| t.state == crate::TrackState::Active));
}

#[test]
fn events_mode_picks_up_new_files_and_a_forced_poll_does_too() {
    for poll in [false, true] {
        let f = fixture();
        let cfg = WatchFolder { poll, ..folder(&f) };
        let events = Mutex::new(Vec::<WatchEvent>::new());
        let sink = |e: &WatchEvent| events.lock().unwrap().push(e.clone());
        let cancel = CancelToken::new();
        let config = WatchConfig {
            poll_interval: Duration::from_millis(200),
            ..WatchConfig::new(vec![cfg])
        };
        std::thread::scope(|s| {
            let runner = s.spawn(|| Watcher::new(config).run(&f.vault, &sink, &cancel));
            std::thread::sleep(Duration::from_millis(100));
            // An album copied in under a temporary name, then renamed: the
            // atomic way copy tools deliver.
            let tmp = f.inbox.join("album.tmp");
            write_wav(&tmp.join("01.wav"), 1);
            write_wav(&tmp.join("02.wav"), 2);
            fs::rename(&tmp, f.inbox.join("Album")).unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while events
                .lock()
                .unwrap()
                .iter()
                .filter(|e| matches!(e, WatchEvent::Imported { .. }))
                .count()
                < 2
            {
                assert!(
                    Instant::now() < deadline,
                    "poll={poll}: {:?}",
                    events.lock().unwrap()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            cancel.cancel();
            runner.join().unwrap().unwrap();
        });
        let first_state = events.lock().unwrap().iter().find_map(|e| match e {
            WatchEvent::State { state, .. } => Some(*state),
            _ => None,
        });
        let expected = if poll {
            FolderState::Polling
        } else {
            FolderState::Watching
        };
        assert_eq!(first_state, Some(expected));
        assert_eq!(track_count(&f), 2);
    }
}

#[test]
fn folders_that_overlap_the_vault_are_refused() {
    let f = fixture();
    let parent = f.vault.root().parent().unwrap().to_path_buf();
    match f.vault.add_watch_folder(&WatchFolder::new(parent.clone())) {
        Err(WatchError::ContainsVault { .. }) => {}
        other => panic!("watching the vault's parent was allowed: {other:?}"),
    }
    // Not recursive, the vault folder itself is never looked into.
    let flat = WatchFolder {
        recursive: false,
        ..WatchFolder::new(parent)
    };
    assert!(f.vault.add_watch_folder(&flat).is_ok());
    match f
        .vault
        .add_watch_folder(&WatchFolder::new(f.vault.root().join("chunks")))
    {
        Err(WatchError::InsideVault { .. }) => {}
        other => panic!("watching inside the vault was allowed: {other:?}"),
    }
}

#[test]
fn stored_folders_are_added_listed_disabled_and_removed() {
    let f = fixture();
    let added = f
        .vault
        .add_watch_folder(&WatchFolder::new(f.inbox.join("../inbox")))
        .unwrap();
    assert_eq!(added.path, f.inbox, "stored canonical");
    assert_eq!(f.vault.watch_folders().unwrap(), vec![added.clone()]);
    f.vault.set_watch_folder_enabled(&f.inbox, false).unwrap();
    assert!(!f.vault.watch_folders().unwrap()[0].enabled);
    match Watcher::new(WatchConfig::new(f.vault.watch_folders().unwrap())).run(
        &f.vault,
        &NoWatchEvents,
        &CancelToken::new(),
    ) {
        Err(WatchError::NothingToWatch) => {}
        other => panic!("a disabled folder was watched: {other:?}"),
    }
    f.vault.remove_watch_folder(&f.inbox).unwrap();
    assert!(f.vault.watch_folders().unwrap().is_empty());
    assert!(matches!(
        f.vault.remove_watch_folder(&f.inbox),
        Err(WatchError::NotWatched(_))
    ));
    assert!(
        !f.vault.watch_activity(10).unwrap().is_empty(),
        "changes are in the activity log"
    );
}
