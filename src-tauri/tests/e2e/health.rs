//! The Health view and repair at unlock, in the real window: on a healthy vault
//! the Health view (reached and run from the keyboard) shows every check ok;
//! then, with the vault locked, its catalog.db (and log) is deleted: unlocking
//! says the catalog is damaged and offers Check and repair, which shows the
//! catalog failing, asks before it repairs, rebuilds the catalog from the sealed
//! records and opens the vault, with every track back and playing.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::driver::{Result, Session};
use super::{
    KEY_ENTER, KEY_ESCAPE, KEY_TAB, LONG, PASSPHRASE, SHORT, Shots, audio_state, click_row, emit,
    rows, sandbox_envs, step, suite, type_into, wait_footer, with_app,
};

/// Files made for the test: (file name, title, tone in Hz).
const FILES: [(&str, &str, u32); 3] = [
    ("Mended Harbour.flac", "Mended Harbour", 330),
    ("Mended Lantern.mp3", "Mended Lantern", 440),
    ("Mended Orchard.wav", "Mended Orchard", 550),
];

#[test]
fn health_and_repair_end_to_end() {
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let music = tmp.path().join("music");
    fs::create_dir_all(&music).expect("music folder");
    for (name, title, hz) in FILES {
        tone(&music.join(name), title, hz).expect("a fixture");
    }
    let envs = sandbox_envs(&vault, &tmp.path().join("home"), false);
    if let Err(e) = with_app(&envs, &shots, "health", |s| run(s, &shots, &vault, &music)) {
        panic!("{e}");
    }
}

/// Six seconds of a tone with a title tag, made by ffmpeg (format by extension).
pub(super) fn tone(path: &Path, title: &str, hz: u32) -> Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .arg("-i")
        .arg(format!("sine=frequency={hz}:duration=6"))
        .args(["-metadata", &format!("title={title}")])
        .args(["-metadata", "artist=Health Test"])
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

/// The Health view's rows: `(check, status)` in the order shown.
pub(super) fn checks(s: &Session) -> Result<Vec<(String, String)>> {
    let v = s.exec(
        "return [...document.querySelectorAll('[data-testid=health-check]')]
           .map(r => [r.dataset.check, r.dataset.status]);",
        vec![],
    )?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let f = |i: usize| r[i].as_str().unwrap_or_default().to_string();
                    (f(0), f(1))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Waits for the Health view to finish its run number `runs` (or to fail).
pub(super) fn wait_health(s: &Session, runs: u64) -> Result<()> {
    s.wait(LONG, &format!("the Health view's run {runs}"), || {
        let v = s.exec(
            "const h = document.querySelector('[data-testid=health]');
             if (!h) return null;
             const e = document.querySelector('[data-testid=health-error]');
             return [h.dataset.state, Number(h.dataset.runs), e ? e.textContent : null];",
            vec![],
        )?;
        if v[0] == json!("error") {
            return Err(format!("the Health view says: {}", v[2]));
        }
        Ok((v[0] == json!("done") && v[1].as_u64() == Some(runs)).then_some(()))
    })
}

fn focused_testid(s: &Session) -> Result<Value> {
    s.exec(
        "const a = document.activeElement;
         return a ? (a.dataset.testid || a.dataset.nav || a.localName) : null;",
        vec![],
    )
}

fn library_ids(s: &Session) -> Result<BTreeSet<String>> {
    Ok(rows(s)?
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect())
}

fn run(s: &Session, shots: &Shots, vault: &Path, music: &Path) -> Result<()> {
    step("health: a new vault with three tracks");
    s.wait_for("[data-testid=vault-dir]", LONG)?;
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    type_into(s, "[data-testid=passphrase-repeat]", PASSPHRASE)?;
    let remember = s.find("[data-testid=remember]")?;
    if s.property(&remember, "checked")? == json!(true) {
        s.click(&remember)?;
    }
    s.click(&s.find("[data-testid=create]")?)?;
    s.wait_for("[data-testid=empty]", LONG)?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": [music.to_string_lossy()], "position": {"x": 400, "y": 300}}),
    )?;
    let summary = s.text(&s.wait_for("[data-testid=import-summary]", LONG)?)?;
    if !summary.starts_with("3 files imported") {
        return Err(format!("the import says: {summary}"));
    }
    s.click(&s.find("[data-testid=tray-close]")?)?;
    wait_footer(s, 3)?;
    let before = library_ids(s)?;
    if before.len() != 3 {
        return Err(format!("the library shows {before:?}"));
    }

    step("health: reached from the keyboard, every check ok on a healthy vault");
    let storage = s.find("[data-nav=storage]")?;
    s.exec("arguments[0].focus();", vec![storage.to_json()])?;
    s.send_keys(&storage, KEY_TAB)?;
    if focused_testid(s)? != json!("health") {
        return Err(format!(
            "Tab from Storage went to {}, not Health",
            focused_testid(s)?
        ));
    }
    s.send_keys(&s.find("[data-nav=health]")?, KEY_ENTER)?;
    wait_health(s, 1)?;
    let shown = checks(s)?;
    eprintln!("  checks: {shown:?}");
    let names: Vec<&str> = shown.iter().map(|(c, _)| c.as_str()).collect();
    if names
        != [
            "catalog_integrity",
            "chunks",
            "records",
            "disk_space",
            "keyring",
            "vault_json",
            "permissions",
        ]
    {
        return Err(format!("the Health view lists {names:?}"));
    }
    if let Some((c, st)) = shown.iter().find(|(_, st)| st != "ok") {
        let detail = s.exec(
            "return document.querySelector(`[data-check=${arguments[0]}] [data-testid=health-detail]`).textContent;",
            vec![json!(c)],
        )?;
        return Err(format!("a healthy vault's {c} check is {st}: {detail}"));
    }
    let summary = s.text(&s.find("[data-testid=health-summary]")?)?;
    if summary != "The vault is whole: all 7 checks passed." {
        return Err(format!("the Health view's summary: {summary:?}"));
    }
    let repair = s.find("[data-testid=health-repair]")?;
    if s.property(&repair, "disabled")? != json!(true) {
        return Err("Repair is offered on a healthy vault".into());
    }
    shots.take(s, "40-health-ok")?;
    // Check again, by Enter on the focused button; the focus stays on it.
    let again = s.find("[data-testid=health-check-again]")?;
    s.exec("arguments[0].focus();", vec![again.to_json()])?;
    s.send_keys(&again, KEY_ENTER)?;
    wait_health(s, 2)?;
    if focused_testid(s)? != json!("health-check-again") {
        return Err(format!(
            "after Check again the focus is on {}",
            focused_testid(s)?
        ));
    }

    step(
        "health: an orphan chunk file is a warning; Repair (asked first) removes it, the vault stays open",
    );
    let orphan = vault.join("chunks/ee/ee").join("ee".repeat(32));
    // Planted private (as the vault writes its own files), so that the repair
    // has only the orphan to mend, not the permissions too.
    let plant = || -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let dir = orphan.parent().unwrap_or(vault);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let parent = dir.parent().unwrap_or(vault);
        fs::set_permissions(parent, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&orphan)?;
        std::io::Write::write_all(&mut f, b"no chunk of any track")
    };
    plant().map_err(|e| format!("{}: {e}", orphan.display()))?;
    s.click(&s.find("[data-testid=health-check-again]")?)?;
    wait_health(s, 3)?;
    let shown = checks(s)?;
    if shown.first() != Some(&("chunks".to_string(), "warning".to_string())) {
        return Err(format!("an orphan chunk file shows as {shown:?}"));
    }
    let summary = s.text(&s.find("[data-testid=health-summary]")?)?;
    if !summary.contains("Repair removes the orphan chunk files") {
        return Err(format!("the summary with an orphan: {summary:?}"));
    }
    s.click(&s.find("[data-testid=health-repair]")?)?;
    let question = s.text(&s.wait_for("[data-testid=repair-text]", SHORT)?)?;
    if !question.contains("The library closes while the repair runs") {
        return Err(format!("the repair dialog says: {question:?}"));
    }
    s.click(&s.find("[data-testid=confirm-repair]")?)?;
    wait_health(s, 4)?;
    let actions = s.exec(
        "return [...document.querySelectorAll('[data-testid=health-repair-item]')].map(e => e.dataset.action);",
        vec![],
    )?;
    if actions != json!(["orphan_chunks_removed"]) {
        return Err(format!("the repair of an orphan lists {actions}"));
    }
    if orphan.exists() {
        return Err("the orphan chunk file is still there".into());
    }
    if let Some(bad) = checks(s)?.iter().find(|(_, st)| st != "ok") {
        return Err(format!("after removing the orphan: {bad:?}"));
    }
    // The focus lands on the result (the Repair button is disabled again).
    if focused_testid(s)? != json!("health-summary") {
        return Err(format!(
            "after the repair the focus is on {}",
            focused_testid(s)?
        ));
    }
    shots.take(s, "40b-orphan-removed")?;
    s.click(&s.find("[data-nav=library]")?)?;
    wait_footer(s, 3)?;
    if library_ids(s)? != before {
        return Err("the library changed with the orphan's repair".into());
    }

    step("health: the catalog is deleted while the vault is locked");
    s.click(&s.find("[data-testid=lock]")?)?;
    s.wait_for("[data-testid=unlock-form]", LONG)?;
    for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let path = vault.join(name);
        if path.exists() {
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    let panel = s.wait_for("[data-testid=catalog-damaged]", LONG)?;
    let said = s.text(&panel)?;
    eprintln!("  {said}");
    if !said.contains("catalog is damaged") || !said.contains("catalog.db") {
        return Err(format!("the unlock screen says: {said:?}"));
    }
    shots.take(s, "41-catalog-damaged")?;

    step("health: Check and repair shows the catalog failing");
    s.click(&s.find("[data-testid=check-and-repair]")?)?;
    wait_health(s, 1)?;
    let shown = checks(s)?;
    eprintln!("  checks: {shown:?}");
    if shown.first() != Some(&("catalog_integrity".to_string(), "error".to_string())) {
        return Err(format!(
            "the catalog's failure is not the first row: {shown:?}"
        ));
    }
    if vault.join("catalog.db").exists() {
        return Err("the check made a catalog".into());
    }
    shots.take(s, "42-check-and-repair")?;

    step("health: Repair asks first (Cancel focused, Escape backs out), then repairs");
    let repair = s.find("[data-testid=health-repair]")?;
    s.click(&repair)?;
    let question = s.text(&s.wait_for("[data-testid=repair-text]", SHORT)?)?;
    if !question.contains("rebuilds a missing or damaged catalog from the vault's sealed records")
        || !question.contains("Nothing you imported is deleted")
    {
        return Err(format!("the repair dialog says: {question:?}"));
    }
    s.wait(SHORT, "the repair dialog to focus Cancel", || {
        let t = s.exec(
            "const a = document.activeElement;
             return a && a.closest('[data-testid=repair-dialog]') ? a.textContent : null;",
            vec![],
        )?;
        Ok((t == json!("Cancel")).then_some(()))
    })?;
    shots.take(s, "43-repair-dialog")?;
    s.send_keys(&s.find("[data-testid=repair-dialog] button")?, KEY_ESCAPE)?;
    s.wait(SHORT, "Escape to close the dialog", || {
        Ok(s.find_all("[data-testid=repair-dialog]")?
            .is_empty()
            .then_some(()))
    })?;
    if vault.join("catalog.db").exists() {
        return Err("Escape repaired the vault".into());
    }
    s.click(&s.find("[data-testid=health-repair]")?)?;
    s.click(&s.wait_for("[data-testid=confirm-repair]", SHORT)?)?;
    wait_health(s, 2)?;
    let actions = s.exec(
        "return [...document.querySelectorAll('[data-testid=health-repair-item]')].map(e => e.dataset.action);",
        vec![],
    )?;
    if actions.get(0) != Some(&json!("catalog_rebuilt")) {
        return Err(format!("the repair lists {actions}"));
    }
    let shown = checks(s)?;
    if shown
        .iter()
        .any(|(c, st)| st == "error" || (c == "catalog_integrity" && st != "ok"))
    {
        return Err(format!("after the repair: {shown:?}"));
    }
    if !vault.join("catalog.db").is_file() {
        return Err("no catalog.db after the repair".into());
    }
    shots.take(s, "44-repaired")?;

    step("health: the library opens with every track, and one plays");
    s.click(&s.wait_for("[data-testid=open-library]", SHORT)?)?;
    wait_footer(s, 3)?;
    let after = s.wait(SHORT, "the three rows", || {
        let ids = library_ids(s)?;
        Ok((ids.len() == 3).then_some(ids))
    })?;
    if after != before {
        return Err(format!("before the repair {before:?}, after {after:?}"));
    }
    let first = after.iter().next().cloned().unwrap_or_default();
    click_row(s, &first)?;
    s.send_keys(&s.find("[data-testid=track-grid]")?, KEY_ENTER)?;
    s.wait(LONG, "the rebuilt library to play", || {
        let st = audio_state(s)?;
        if let Some(err) = st["player_error"].as_str() {
            return Err(format!("the player says: {err}"));
        }
        let t = st["time"].as_f64().unwrap_or(0.0);
        Ok((t > 0.2 && st["paused"] == json!(false)).then_some(()))
    })?;
    shots.take(s, "45-playing-after-repair")?;
    s.click(&s.find("[data-testid=play-pause]")?)?;
    Ok(())
}
