//! A lock that locks, in the real window: a weak passphrase is refused with the
//! engine's reason (no variable lifts it here), "Remember" is off by default; then,
//! with a short idle time set, the window shows the unlock form by itself and a
//! playback URL taken before the lock no longer plays (connection refused or 403);
//! and a `PrepareForSleep(true)` signal on a private D-Bus (the app's system bus
//! for this test) locks too.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::driver::{Result, Session};
use super::{
    KEY_ENTER, LONG, SHORT, Shots, click_row, emit, rows, sandbox_envs, step, suite, type_into,
    with_app,
};

const STRONG: &str = "velvet tundra lantern 93 orchard";

/// A private bus (the session configuration, on a socket of its own), killed on drop.
struct PrivateBus {
    child: Child,
    address: String,
}

impl PrivateBus {
    fn start() -> Result<PrivateBus> {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("dbus-daemon: {e}"))?;
        let mut out = child.stdout.take().ok_or("dbus-daemon's stdout")?;
        let mut address = String::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).map_err(|e| e.to_string())? == 1 && byte[0] != b'\n' {
            address.push(byte[0] as char);
        }
        if address.is_empty() {
            return Err("dbus-daemon printed no address".into());
        }
        Ok(PrivateBus { child, address })
    }

    /// logind's signal that the machine is about to sleep.
    fn prepare_for_sleep(&self) -> Result<()> {
        let status = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--type=signal",
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager.PrepareForSleep",
                "boolean:true",
            ])
            .status()
            .map_err(|e| format!("dbus-send: {e}"))?;
        if !status.success() {
            return Err(format!("dbus-send: {status}"));
        }
        Ok(())
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_lock_that_locks_end_to_end() {
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let music = tmp.path().join("music");
    fs::create_dir_all(&music).expect("music folder");
    super::health::tone(&music.join("Locked Harbour.flac"), "Locked Harbour", 392)
        .expect("a fixture");
    let bus = PrivateBus::start().expect("a private D-Bus");
    // Strict: no AUDIOVAULT_ALLOW_WEAK_PASSPHRASE, the floor holds here.
    let mut envs = sandbox_envs(&vault, &tmp.path().join("home"), true);
    envs.push(("DBUS_SYSTEM_BUS_ADDRESS", bus.address.clone()));
    let outcome = with_app(&envs, &shots, "security", |s| {
        run(s, &shots, &vault, &music, &bus)
    })
    .and_then(|()| {
        // A restart with no AUDIOVAULT_VAULT: the app comes back to the vault it
        // last opened (not the default folder), at its unlock form.
        envs.retain(|(k, _)| *k != "AUDIOVAULT_VAULT");
        let app = PathBuf::from(env!("CARGO_BIN_EXE_audiovault-app"));
        with_app(&envs, &shots, "security-remembered", |s| {
            remembered(s, &shots, &vault, &app, &envs, tmp.path())
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

fn remembered(
    s: &Session,
    shots: &Shots,
    vault: &Path,
    app: &Path,
    envs: &[(&str, String)],
    tmp: &Path,
) -> Result<()> {
    step("desktop: after a restart the last vault opens to its unlock form");
    s.wait_for("[data-testid=unlock-form]", LONG)?;
    let shown = s.property(&s.find("[data-testid=unlock-vault-dir]")?, "textContent")?;
    let shown = shown.as_str().unwrap_or_default().trim().to_string();
    if shown != vault.to_string_lossy() {
        return Err(format!("the unlock form is for {shown:?}, not {vault:?}"));
    }
    shots.take(s, "security-04-remembered-vault")?;
    type_into(s, "[data-testid=passphrase]", STRONG)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait(LONG, "the library again", || {
        Ok((!rows(s)?.is_empty()).then_some(()))
    })?;

    step("desktop: About shows the workspace's version and licence");
    s.click(&s.find("[data-nav=settings]")?)?;
    s.click(&s.wait_for("[data-testid=open-about]", SHORT)?)?;
    let version = s.text(&s.wait_for("[data-testid=about-version]", SHORT)?)?;
    if version != format!("Version {}", env!("CARGO_PKG_VERSION")) {
        return Err(format!("About says {version:?}"));
    }
    let license = s.text(&s.find("[data-testid=about-license]")?)?;
    if !license.contains("MIT or Apache-2.0") {
        return Err(format!("About's licence line: {license:?}"));
    }
    shots.take(s, "security-05-about")?;
    s.click(&s.find("[data-testid=about-close]")?)?;
    s.click(&s.find("[data-nav=library]")?)?;

    step("desktop: a second launch with a file hands it to the running window, which imports it");
    let second = tmp.join("second");
    fs::create_dir_all(&second).map_err(|e| e.to_string())?;
    let file = second.join("Second Launch.flac");
    super::health::tone(&file, "Second Launch", 523)?;
    let mut child = Command::new(app)
        .arg(&file)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("a second launch: {e}"))?;
    let started = Instant::now();
    let exited = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > LONG {
            let _ = child.kill();
            return Err("the second launch did not end: it opened a window of its own".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !exited.success() {
        return Err(format!("the second launch ended with {exited}"));
    }
    s.wait(LONG, "the second launch's file in the library", || {
        let titles: Vec<String> = rows(s)?
            .iter()
            .filter_map(|r| r["title"].as_str().map(str::to_owned))
            .collect();
        Ok(titles.iter().any(|t| t == "Second Launch").then_some(()))
    })?;
    eprintln!(
        "  the second launch ended in {:.1} s; its file was imported by the first",
        started.elapsed().as_secs_f64()
    );
    shots.take(s, "security-06-second-launch")?;

    step("desktop: the Imports view lists a drop with a rejected file and its reason");
    let notes = second.join("notes.txt");
    fs::write(&notes, b"not audio").map_err(|e| e.to_string())?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": [notes.to_string_lossy()], "position": {"x": 400, "y": 300}}),
    )?;
    s.wait_for("[data-testid=import-summary]", LONG)?;
    s.click(&s.find("[data-nav=imports]")?)?;
    let newest = s.wait_for("[data-testid=import-job]", LONG)?;
    s.click(&newest)?;
    let reason = s.wait(LONG, "the rejected file's reason", || {
        let r = s.exec(
            "const i = [...document.querySelectorAll('[data-testid=job-item]')]
               .find((e) => e.dataset.outcome === 'rejected');
             return i ? i.textContent : null;",
            vec![],
        )?;
        Ok(r.as_str().map(str::to_owned))
    })?;
    if !(reason.contains("notes.txt") && reason.contains("extension")) {
        return Err(format!("the rejected file's entry: {reason:?}"));
    }
    if s.find("[data-testid=retry-failed]").is_err() {
        return Err("no Retry failed for a job with a file not imported".into());
    }
    let jobs = s.exec(
        "return document.querySelectorAll('[data-testid=import-job]').length;",
        vec![],
    )?;
    // The restart's vault holds the first run's drop, the second launch's and this one.
    if jobs.as_u64() != Some(3) {
        return Err(format!("the Imports view lists {jobs} jobs"));
    }
    shots.take(s, "security-07-imports-view")?;

    step("desktop: the Duplicates view groups a WAV and its FLAC; Keep this one trashes the other");
    let wav = second.join("Locked Harbour.wav");
    super::health::tone(&wav, "Locked Harbour", 392)?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": [wav.to_string_lossy()], "position": {"x": 400, "y": 300}}),
    )?;
    s.wait(LONG, "the WAV imported", || {
        let n = s.exec(
            "return document.querySelectorAll('[data-testid=import-job]').length;",
            vec![],
        )?;
        Ok((n.as_u64() == Some(4)).then_some(()))
    })?;
    s.click(&s.find("[data-nav=duplicates]")?)?;
    let formats = s.wait(LONG, "a same-audio group of a WAV and a FLAC", || {
        let f = s.exec(
            "const g = document.querySelector('[data-testid=same-audio-group]');
             return g ? [...g.querySelectorAll('[data-testid=duplicate-track]')]
               .map((t) => t.dataset.format).sort().join(',') : null;",
            vec![],
        )?;
        Ok(f.as_str().map(str::to_owned))
    })?;
    if formats != "flac,wav" {
        return Err(format!("the group holds {formats}"));
    }
    shots.take(s, "security-08-duplicates")?;
    s.exec(
        "[...document.querySelectorAll('[data-testid=duplicate-track]')]
           .find((t) => t.dataset.format === 'flac')
           .querySelector('[data-testid=keep-this-one]').click();",
        vec![],
    )?;
    s.click(&s.wait_for("[data-testid=keep-confirm-ok]", SHORT)?)?;
    s.wait(LONG, "the group gone", || {
        let g = s.exec(
            "return document.querySelectorAll('[data-testid=same-audio-group]').length;",
            vec![],
        )?;
        Ok((g.as_u64() == Some(0)).then_some(()))
    })?;
    s.click(&s.find("[data-nav=trash]")?)?;
    s.wait(LONG, "the WAV in the Trash", || {
        let formats: Vec<String> = rows(s)?
            .iter()
            .filter_map(|r| r["format"].as_str().map(str::to_lowercase))
            .collect();
        Ok((formats == ["wav"]).then_some(()))
    })?;
    Ok(())
}

/// Calls a shell command from the page, as the UI does.
fn invoke(s: &Session, command: &str, args: Value) -> Result<Value> {
    let v = s.exec_async(
        "const [cmd, args, done] = arguments;
         window.__TAURI_INTERNALS__.invoke(cmd, args)
           .then((r) => done({ ok: r === undefined ? null : r }), (e) => done({ err: e }));",
        vec![json!(command), args],
    )?;
    match v.get("ok") {
        Some(ok) => Ok(ok.clone()),
        None => Err(format!("{command} failed: {v}")),
    }
}

/// What a GET of a playback URL gets: `Some(status)`, or `None` when the
/// connection is refused or closed without an answer.
fn fetch(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut c = TcpStream::connect_timeout(&host.parse().ok()?, Duration::from_secs(2)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    c.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=0-15\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .ok()?;
    let mut head = [0u8; 12];
    c.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Plays the first track and returns the URL the player was given.
fn play_and_take_url(s: &Session) -> Result<String> {
    let first = rows(s)?
        .first()
        .and_then(|r| r["id"].as_str().map(str::to_owned))
        .ok_or("no track row")?;
    click_row(s, &first)?;
    let grid = s.find("[data-testid=track-grid]")?;
    s.send_keys(&grid, KEY_ENTER)?;
    s.wait(LONG, "a playback URL", || {
        let src = s.exec(
            "return document.querySelector('[data-testid=audio]').currentSrc || null;",
            vec![],
        )?;
        Ok(src
            .as_str()
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .map(str::to_owned))
    })
}

fn pause(s: &Session) -> Result<()> {
    s.exec(
        "document.querySelector('[data-testid=audio]').pause();",
        vec![],
    )?;
    Ok(())
}

fn run(s: &Session, shots: &Shots, vault: &Path, music: &Path, bus: &PrivateBus) -> Result<()> {
    step("security: a weak passphrase is refused with the engine's reason");
    s.wait_for("[data-testid=vault-dir]", LONG)?;
    let remember = s.find("[data-testid=remember]")?;
    if s.property(&remember, "checked")? != json!(false) {
        return Err("\"Remember on this device\" is on by default".into());
    }
    type_into(s, "[data-testid=passphrase]", "Password1!")?;
    // The meter is the engine's estimate: weak, with its reason.
    let hint = s.wait_for("[data-testid=strength-hint]", SHORT)?;
    let hint_text = s.text(&hint)?;
    if !hint_text.to_lowercase().contains("common") {
        return Err(format!(
            "the meter gives the estimator's reason: {hint_text}"
        ));
    }
    let meter = s.find("[data-testid=strength]")?;
    let score = s.exec("return arguments[0].dataset.score;", vec![meter.to_json()])?;
    if !matches!(score.as_str(), Some("0" | "1" | "2")) {
        return Err(format!("Password1! scored {score}"));
    }
    type_into(s, "[data-testid=passphrase-repeat]", "Password1!")?;
    let create = s.find("[data-testid=create]")?;
    s.click(&create)?;
    let error = s.wait(SHORT, "the refusal", || {
        let e = s.exec(
            "const e = document.querySelector('p.error[role=alert]');
             return e ? e.textContent : null;",
            vec![],
        )?;
        Ok(e.as_str().map(str::to_owned))
    })?;
    if !error.contains("too weak") {
        return Err(format!("the refusal says why: {error}"));
    }
    if vault.join("vault.json").exists() {
        return Err("a vault was made with a weak passphrase".into());
    }
    shots.take(s, "security-01-weak-refused")?;

    step("security: a strong passphrase makes the vault");
    type_into(s, "[data-testid=passphrase]", STRONG)?;
    type_into(s, "[data-testid=passphrase-repeat]", STRONG)?;
    s.click(&s.find("[data-testid=create]")?)?;
    s.wait_for("[data-testid=empty]", LONG)?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": [music.to_string_lossy()], "position": {"x": 400, "y": 300}}),
    )?;
    s.wait_for("[data-testid=import-summary]", LONG)?;
    s.wait(LONG, "the imported track", || {
        Ok((!rows(s)?.is_empty()).then_some(()))
    })?;

    step("security: idle, the vault locks itself and the old URL dies");
    let url = play_and_take_url(s)?;
    if !matches!(fetch(&url), Some(200 | 206)) {
        return Err(format!("the URL plays before the lock: {:?}", fetch(&url)));
    }
    pause(s)?;
    invoke(s, "set_auto_lock", json!({"seconds": 3}))?;
    let started = Instant::now();
    s.wait_for("[data-testid=unlock-form]", Duration::from_secs(20))?;
    let after = started.elapsed();
    eprintln!(
        "  locked {:.1} s after the idle time was set to 3 s",
        after.as_secs_f64()
    );
    let notice = s.text(&s.wait_for("[data-testid=unlock-notice]", SHORT)?)?;
    if !notice.contains("without activity") {
        return Err(format!("the unlock form says why: {notice}"));
    }
    match fetch(&url) {
        None | Some(403) => {}
        other => return Err(format!("a URL taken before the lock answered {other:?}")),
    }
    shots.take(s, "security-02-idle-locked")?;

    step("security: PrepareForSleep on the system bus locks too");
    invoke(s, "set_auto_lock", json!({"seconds": 900}))?;
    type_into(s, "[data-testid=passphrase]", STRONG)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait(LONG, "the library again", || {
        Ok((!rows(s)?.is_empty()).then_some(()))
    })?;
    let url = play_and_take_url(s)?;
    if !matches!(fetch(&url), Some(200 | 206)) {
        return Err("the new URL plays".into());
    }
    bus.prepare_for_sleep()?;
    s.wait_for("[data-testid=unlock-form]", Duration::from_secs(20))?;
    let notice = s.text(&s.wait_for("[data-testid=unlock-notice]", SHORT)?)?;
    if !notice.contains("sleep") {
        return Err(format!("the unlock form says why: {notice}"));
    }
    match fetch(&url) {
        None | Some(403) => {}
        other => {
            return Err(format!(
                "a URL taken before the sleep lock answered {other:?}"
            ));
        }
    }
    shots.take(s, "security-03-sleep-locked")?;
    Ok(())
}
