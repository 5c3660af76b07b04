//! The watched import folder and the per-file import list, in the real window:
//! a folder added through Settings (the folder dialog answered by
//! `AUDIOVAULT_AUTOMATION_PICK_FOLDER`), audio copied into it lands in the
//! library with its titles and in the activity list, a corrupt file lands on the
//! 'Not imported' list with its reason, the folder vanishing and coming back is
//! shown and changes nothing in the library; then a drop with a duplicate and a
//! non-audio file lists each file's outcome.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::driver::{Result, Session};
use super::{
    LONG, PASSPHRASE, SHORT, Shots, emit, footer_count, sandbox_envs, search_for, step, suite,
    type_into, wait_footer, with_app, write_wav,
};

/// Titles of the files the test copies into the watched folder.
const TITLES: [(&str, &str); 3] = [
    ("Watched Lantern One.flac", "Watched Lantern One"),
    ("Watched Lantern Two.mp3", "Watched Lantern Two"),
    ("Watched Lantern Three.flac", "Watched Lantern Three"),
];

#[test]
fn watched_folder_end_to_end() {
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let inbox = tmp.path().join("inbox");
    fs::create_dir_all(&inbox).expect("inbox");
    let mut envs = sandbox_envs(&vault, &tmp.path().join("home"), false);
    envs.push((
        "AUDIOVAULT_AUTOMATION_PICK_FOLDER",
        inbox.to_string_lossy().into_owned(),
    ));
    if let Err(e) = with_app(&envs, &shots, "watch", |s| {
        run(s, &shots, &inbox, tmp.path())
    }) {
        panic!("{e}");
    }
}

/// Audio with a title tag, made by ffmpeg (a second of a tone per seed).
pub(super) fn make_audio(path: &Path, title: &str, seed: u32) -> Result<()> {
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("sine=frequency={}:duration=2", 220 + seed * 110))
        .args(["-metadata", &format!("title={title}")])
        .args(["-metadata", "artist=Watch Test"])
        .arg(path)
        .output()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ffmpeg {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// The folder entry's state in Settings (`data-state`), if it is listed.
fn folder_state(s: &Session) -> Result<Option<String>> {
    let v = s.exec(
        "const f = document.querySelector('[data-testid=watch-folder]');
         return f ? f.dataset.state : null;",
        vec![],
    )?;
    Ok(v.as_str().map(str::to_string))
}

fn indicator(s: &Session) -> Result<(String, String)> {
    let v = s.exec(
        "const el = document.querySelector('[data-testid=watch-indicator]');
         return el ? [el.textContent.trim(), el.dataset.tone] : ['', ''];",
        vec![],
    )?;
    Ok((
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
    ))
}

fn wait_indicator(s: &Session, text: &str, tone: &str, timeout: Duration) -> Result<()> {
    s.wait(
        timeout,
        &format!("the watch indicator to say {text:?}"),
        || {
            let (t, o) = indicator(s)?;
            Ok((t.starts_with(text) && o == tone).then_some(()))
        },
    )
}

/// `[{kind, path, message}]` of the activity list.
fn activity(s: &Session) -> Result<Vec<Value>> {
    let v = s.exec(
        "return [...document.querySelectorAll('[data-testid=watch-activity-entry]')].map(e => ({
           kind: e.dataset.kind, path: e.dataset.path, text: e.textContent.trim() }));",
        vec![],
    )?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

/// Scrolls Settings to the Watched folders section (for the screenshots).
fn show_watch_section(s: &Session) -> Result<()> {
    s.exec(
        "document.querySelector('[data-testid=watch-settings]').scrollIntoView({block: 'start'});",
        vec![],
    )
    .map(|_| ())
}

/// The first-run form: a new vault, its key not remembered.
pub(super) fn create_vault(s: &Session) -> Result<()> {
    s.wait_for("[data-testid=vault-dir]", LONG)?;
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    type_into(s, "[data-testid=passphrase-repeat]", PASSPHRASE)?;
    let remember = s.find("[data-testid=remember]")?;
    if s.property(&remember, "checked")? == json!(true) {
        s.click(&remember)?;
    }
    s.click(&s.find("[data-testid=create]")?)?;
    s.wait_for("[data-testid=empty]", LONG)?;
    Ok(())
}

/// Adds `inbox` in Settings (the folder dialog answered by the environment) with
/// a settle time of 0.3 s, and waits until it is watched.
pub(super) fn watch_folder(s: &Session, inbox: &Path) -> Result<()> {
    s.click(&s.find("[data-nav=settings]")?)?;
    s.wait_for("[data-testid=watch-none]", SHORT)?;
    s.click(&s.find("[data-testid=watch-add]")?)?;
    s.wait(SHORT, "the folder to be watched", || {
        Ok((folder_state(s)?.as_deref() == Some("watching")).then_some(()))
    })?;
    let listed = s.exec(
        "return document.querySelector('[data-testid=watch-folder]').dataset.path;",
        vec![],
    )?;
    let canonical = fs::canonicalize(inbox).map_err(|e| e.to_string())?;
    if listed.as_str() != Some(&*canonical.to_string_lossy()) {
        return Err(format!(
            "Settings lists {listed}, the folder is {}",
            canonical.display()
        ));
    }
    let settle = s.find("[data-testid=watch-settle]")?;
    s.exec(
        "const el = arguments[0]; el.value = '0.3'; el.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![settle.to_json()],
    )?;
    s.wait(SHORT, "the settle time to be stored and the folder watched again", || {
        let v = s.exec(
            "const el = document.querySelector('[data-testid=watch-settle]'); return el ? el.value : null;",
            vec![],
        )?;
        Ok((v == json!("0.3") && folder_state(s)?.as_deref() == Some("watching")).then_some(()))
    })?;
    wait_indicator(s, "Watching 1 folder", "ok", SHORT)
}

fn run(s: &Session, shots: &Shots, inbox: &Path, tmp: &Path) -> Result<()> {
    step("watch: create a vault");
    create_vault(s)?;
    wait_indicator(s, "Watching: no folder", "off", SHORT)?;

    step("watch: add the folder in Settings, settle time 0.3 s");
    watch_folder(s, inbox)?;

    step("watch: audio copied in is imported; a corrupt file is not");
    let staging = tmp.join("staging");
    fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
    for (i, (name, title)) in TITLES.iter().enumerate() {
        make_audio(&staging.join(name), title, i as u32)?;
    }
    // Not audio under an audio name: the probe rejects it.
    let mut junk = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..40_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        junk.push(x as u8);
    }
    fs::write(staging.join("Broken Take.flac"), &junk).map_err(|e| e.to_string())?;
    for name in TITLES.iter().map(|(n, _)| *n).chain(["Broken Take.flac"]) {
        fs::copy(staging.join(name), inbox.join(name)).map_err(|e| format!("copy {name}: {e}"))?;
    }
    s.click(&s.find("[data-nav=library]")?)?;
    s.wait(LONG, "the watched files in the library", || {
        Ok((footer_count(s)? == Some(TITLES.len())).then_some(()))
    })?;
    for (_, title) in TITLES {
        search_for(s, title)?;
    }
    type_into(s, "[data-testid=search]", "")?;
    wait_footer(s, TITLES.len())?;
    shots.take(s, "20-watch-library")?;

    s.click(&s.find("[data-nav=settings]")?)?;
    let entries = s.wait(
        LONG,
        "the activity list to name every imported file",
        || {
            let a = activity(s)?;
            let all = TITLES.iter().all(|(name, _)| {
                a.iter().any(|e| {
                    e["kind"] == "imported"
                        && e["path"].as_str().is_some_and(|p| p.ends_with(name))
                        && e["text"].as_str().is_some_and(|t| t.contains(name))
                })
            });
            Ok(all.then_some(a))
        },
    )?;
    eprintln!("  {} activity entries", entries.len());
    let failure = s.wait(LONG, "the corrupt file on the Not imported list", || {
        let v = s.exec(
            "return [...document.querySelectorAll('[data-testid=watch-failure]')].map(e => ({
               path: e.dataset.path,
               reason: e.querySelector('[data-testid=watch-failure-reason]').textContent.trim() }));",
            vec![],
        )?;
        Ok(v.as_array()
            .and_then(|a| a.first().cloned())
            .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with("Broken Take.flac"))))
    })?;
    let reason = failure["reason"].as_str().unwrap_or_default().to_string();
    eprintln!("  not imported: {reason}");
    if reason.len() < 8 {
        return Err(format!("the Not imported entry gives no reason: {failure}"));
    }
    let rows = s.find_all("[data-testid=watch-failure]")?.len();
    if rows != 1 {
        return Err(format!(
            "{rows} entries on the Not imported list, expected 1"
        ));
    }
    let moved = inbox.join("Not imported").join("Broken Take.flac");
    if !moved.is_file() {
        return Err(format!("the corrupt file is not at {}", moved.display()));
    }
    let activity_says = activity(s)?.into_iter().any(|e| {
        e["kind"] == "not_imported" && e["text"].as_str().is_some_and(|t| t.contains(&reason))
    });
    if !activity_says {
        return Err("the activity list does not give the corrupt file's reason".into());
    }
    for (name, _) in TITLES {
        if !inbox.join(name).is_file() {
            return Err(format!("{name} left the folder under the keep policy"));
        }
    }
    let (text, _) = indicator(s)?;
    if !text.contains("1 not imported") {
        return Err(format!("the indicator does not count the failure: {text}"));
    }
    show_watch_section(s)?;
    shots.take(s, "21-watch-settings")?;

    step("watch: the folder vanishes, then comes back");
    let parked = tmp.join("inbox-away");
    fs::rename(inbox, &parked).map_err(|e| e.to_string())?;
    wait_indicator(s, "Watched folder unavailable", "bad", SHORT)?;
    s.wait(SHORT, "Settings to show the folder unavailable", || {
        Ok((folder_state(s)?.as_deref() == Some("unavailable")).then_some(()))
    })?;
    show_watch_section(s)?;
    shots.take(s, "22-watch-unavailable")?;
    s.click(&s.find("[data-nav=library]")?)?;
    wait_footer(s, TITLES.len())?;
    // Back, with its files: a scan finds them all known, nothing is imported again.
    fs::rename(&parked, inbox).map_err(|e| e.to_string())?;
    wait_indicator(s, "Watching 1 folder", "ok", SHORT)?;
    s.click(&s.find("[data-nav=settings]")?)?;
    s.wait(
        LONG,
        "the returned folder's scan to find its files known",
        || {
            let a = activity(s)?;
            Ok(a.iter()
                .any(|e| {
                    e["kind"] == "folder"
                        && e["text"]
                            .as_str()
                            .is_some_and(|t| t.contains("3 audio file(s), 3 imported before"))
                })
                .then_some(()))
        },
    )?;
    if folder_state(s)?.as_deref() != Some("watching") {
        return Err("Settings does not show the folder watched again".into());
    }
    let imported = activity(s)?
        .iter()
        .filter(|e| e["kind"] == "imported")
        .count();
    if imported != TITLES.len() {
        return Err(format!(
            "{imported} imports in the activity list after the folder came back, expected {}",
            TITLES.len()
        ));
    }
    s.click(&s.find("[data-nav=library]")?)?;
    wait_footer(s, TITLES.len())?;

    step("import: the per-file list of a drop with a duplicate and a non-audio file");
    let drop_dir = tmp.join("drop");
    fs::create_dir_all(&drop_dir).map_err(|e| e.to_string())?;
    let dup = drop_dir.join("Copy of One.flac");
    fs::copy(staging.join(TITLES[0].0), &dup).map_err(|e| e.to_string())?;
    let fresh = drop_dir.join("Fresh noise.wav");
    write_wav(&fresh, 256 << 10, 7)?;
    let notes = drop_dir.join("liner notes.txt");
    fs::write(&notes, b"not audio at all").map_err(|e| e.to_string())?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": [drop_dir.to_string_lossy()], "position": {"x": 400, "y": 300}}),
    )?;
    s.wait_for("[data-testid=import-summary]", LONG)?;
    let files = s.wait(SHORT, "three files in the per-file list", || {
        let v = s.exec(
            "return [...document.querySelectorAll('[data-testid=import-file]')].map(e => ({
               path: e.dataset.path, state: e.dataset.state,
               reason: (e.querySelector('[data-testid=import-file-reason]') || {}).textContent || '' }));",
            vec![],
        )?;
        let a = v.as_array().cloned().unwrap_or_default();
        Ok((a.len() == 3).then_some(a))
    })?;
    let state_of = |p: &Path| -> (String, String) {
        files
            .iter()
            .find(|f| f["path"].as_str() == Some(&*p.to_string_lossy()))
            .map(|f| {
                (
                    f["state"].as_str().unwrap_or_default().to_string(),
                    f["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .unwrap_or_default()
    };
    let (dup_state, dup_reason) = state_of(&dup);
    let (fresh_state, _) = state_of(&fresh);
    let (notes_state, notes_reason) = state_of(&notes);
    eprintln!(
        "  duplicate: {dup_state} ({dup_reason}); fresh: {fresh_state}; notes: {notes_state} ({notes_reason})"
    );
    if dup_state != "duplicate" || fresh_state != "imported" || notes_state != "rejected" {
        return Err(format!("the per-file list shows {files:?}"));
    }
    if notes_reason.trim().is_empty() {
        return Err("the rejected file's row gives no reason".into());
    }
    let counts = s.text(&s.find("[data-testid=import-file-counts]")?)?;
    for want in ["1 imported", "1 already in the vault", "1 rejected"] {
        if !counts.contains(want) {
            return Err(format!(
                "the per-file counts say {counts:?}, missing {want:?}"
            ));
        }
    }
    shots.take(s, "23-import-per-file")?;
    s.click(&s.find("[data-testid=tray-close]")?)?;
    wait_footer(s, TITLES.len() + 1)?;

    step("watch: Clear empties the Not imported list, the file stays where it was moved");
    s.click(&s.find("[data-nav=settings]")?)?;
    s.click(&s.wait_for("[data-testid=watch-clear-failures]", SHORT)?)?;
    s.wait(SHORT, "the Not imported list to be empty", || {
        let (text, _) = indicator(s)?;
        Ok((s.find_all("[data-testid=watch-failure]")?.is_empty()
            && !text.contains("not imported"))
        .then_some(()))
    })?;
    if !moved.is_file() {
        return Err("clearing the list touched the file in 'Not imported'".into());
    }

    step("watch: lock stops the watcher; unlock's start-up scan takes what arrived meanwhile");
    s.click(&s.find("[data-testid=lock]")?)?;
    s.wait_for("[data-testid=unlock-form]", SHORT)?;
    let late = "Watched Lantern Four.flac";
    make_audio(&staging.join(late), "Watched Lantern Four", 4)?;
    fs::copy(staging.join(late), inbox.join(late)).map_err(|e| e.to_string())?;
    // Nothing watches while the vault is locked.
    std::thread::sleep(Duration::from_millis(1500));
    let v = audiovault_engine::LockedVault::open(&tmp.join("vault"))
        .and_then(|l| l.unlock(&audiovault_engine::Passphrase::new(PASSPHRASE)))
        .map_err(|e| format!("opening the vault in the test: {e}"))?;
    let tracks = v
        .tracks(audiovault_engine::TrackFilter::All)
        .map_err(|e| e.to_string())?
        .len();
    drop(v);
    if tracks != TITLES.len() + 1 {
        return Err(format!(
            "{tracks} tracks while locked, expected {}: the watcher kept importing",
            TITLES.len() + 1
        ));
    }
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait_for("[data-testid=summary]", LONG)?;
    s.wait(
        LONG,
        "the file that arrived while locked in the library",
        || Ok((footer_count(s)? == Some(TITLES.len() + 2)).then_some(())),
    )?;
    search_for(s, "Watched Lantern Four")?;
    type_into(s, "[data-testid=search]", "")?;
    wait_indicator(s, "Watching 1 folder", "ok", SHORT)?;

    step("watch: Remove asks first and touches no file");
    s.click(&s.find("[data-nav=settings]")?)?;
    s.click(&s.wait_for("[data-testid=watch-remove]", SHORT)?)?;
    s.wait_for("[data-testid=watch-remove-dialog]", SHORT)?;
    shots.take(s, "24-watch-remove")?;
    s.click(&s.find("[data-testid=watch-remove-confirm]")?)?;
    s.wait_for("[data-testid=watch-none]", SHORT)?;
    wait_indicator(s, "Watching: no folder", "off", SHORT)?;
    for (name, _) in TITLES {
        if !inbox.join(name).is_file() {
            return Err(format!("removing the watched folder touched {name}"));
        }
    }
    s.click(&s.find("[data-nav=library]")?)?;
    wait_footer(s, TITLES.len() + 2)?;
    Ok(())
}
