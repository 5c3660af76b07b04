//! The app's life on the desktop, in the real window: start at login writes and
//! removes the XDG autostart entry; closing the window while a folder is watched
//! (the window manager's close request, WM_DELETE_WINDOW) hides it to the tray
//! and the watcher goes on importing; the OS notifications are seen on the
//! session bus (`dbus-monitor`); a second launch brings the window back.
//!
//! And the installed package (`AUDIOVAULT_E2E_INSTALLED_APP`, set by
//! scripts/test-package): its first-run screen, an import, and playback of a
//! FLAC and an AAC file through the GStreamer plugins the package depends on.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::driver::{Result, Session};
use super::watch::{create_vault, make_audio, watch_folder};
use super::{
    LONG, SHORT, Shots, audio_state, click_row, emit, play_outcome, rows, sandbox_envs, step,
    suite, verdict, with_app, with_app_at,
};

#[test]
fn background_life_end_to_end() {
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let inbox = tmp.path().join("inbox");
    fs::create_dir_all(&inbox).expect("inbox");
    let home = tmp.path().join("home");
    let mut envs = sandbox_envs(&vault, &home, false);
    envs.push((
        "AUDIOVAULT_AUTOMATION_PICK_FOLDER",
        inbox.to_string_lossy().into_owned(),
    ));
    // The autostart entry goes to ~/.config/autostart (tauri-plugin-autostart's
    // auto-launch does not read XDG_CONFIG_HOME): a home of the test's own.
    envs.push(("HOME", home.to_string_lossy().into_owned()));
    let app = PathBuf::from(env!("CARGO_BIN_EXE_audiovault-app"));
    if let Err(e) = with_app(&envs, &shots, "background", |s| {
        background(s, &shots, &app, &envs, &inbox, &home, tmp.path())
    }) {
        panic!("{e}");
    }
}

/// Method calls on the session bus, as `dbus-monitor` prints them.
pub(super) struct BusWatch {
    child: Child,
    out: PathBuf,
}

/// The desktop's notification calls.
const NOTIFY: &str = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'";

impl BusWatch {
    fn start(out: PathBuf) -> Result<BusWatch> {
        Self::start_matching(out, NOTIFY)
    }

    pub(super) fn start_matching(out: PathBuf, rule: &str) -> Result<BusWatch> {
        let file = fs::File::create(&out).map_err(|e| e.to_string())?;
        let child = Command::new("dbus-monitor")
            .args(["--session", rule])
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("dbus-monitor (package dbus-bin): {e}"))?;
        // It subscribes asynchronously: a moment before anything is sent.
        std::thread::sleep(Duration::from_millis(500));
        Ok(BusWatch { child, out })
    }

    fn seen(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.out) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    pub(super) fn wait_for(&self, needle: &str, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if self.seen().contains(needle) {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "no notification saying {needle:?} on the session bus; seen:\n{}",
                    self.seen()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for BusWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `xwininfo`'s map state of the window titled Audiovault ("IsViewable",
/// "IsUnMapped"), or None when there is no such window.
fn map_state() -> Option<String> {
    let out = Command::new("xwininfo")
        .args(["-name", "Audiovault"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Map State: "))
        .map(str::to_owned)
}

fn wait_map_state(want: &str, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let now = map_state();
        if now.as_deref() == Some(want) {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!("the window's map state is {now:?}, not {want}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What a window manager sends when its close button is clicked: a
/// WM_PROTOCOLS client message with WM_DELETE_WINDOW (python3-xlib).
fn close_like_a_window_manager() -> Result<()> {
    const SCRIPT: &str = r#"
from Xlib import X, display, protocol
d = display.Display()
def find(w):
    try:
        if w.get_wm_name() == "Audiovault" and w.get_wm_protocols():
            return w
        for c in w.query_tree().children:
            r = find(c)
            if r:
                return r
    except Exception:
        return None
w = find(d.screen().root)
if w is None:
    raise SystemExit("no Audiovault window")
protocols = d.intern_atom("WM_PROTOCOLS")
delete = d.intern_atom("WM_DELETE_WINDOW")
w.send_event(protocol.event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])), event_mask=X.NoEventMask)
d.flush()
"#;
    // The system's Python, where apt puts python3-xlib.
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sending WM_DELETE_WINDOW: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn checkbox(s: &Session, testid: &str) -> Result<bool> {
    let el = s.wait_for(&format!("[data-testid={testid}]"), SHORT)?;
    Ok(s.property(&el, "checked")? == json!(true))
}

fn autostart_entries(config: &Path) -> Vec<PathBuf> {
    fs::read_dir(config.join("autostart"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn background(
    s: &Session,
    shots: &Shots,
    app: &Path,
    envs: &[(&str, String)],
    inbox: &Path,
    home: &Path,
    tmp: &Path,
) -> Result<()> {
    step("background: a vault watching a folder");
    create_vault(s)?;
    watch_folder(s, inbox)?;

    step("menu bar: View → Albums by its shortcut, Ctrl+2 (GTK's accelerator, keys from XTEST)");
    menu_key("ctrl+2")?;
    s.wait(SHORT, "the Albums view", || {
        let current = s.exec(
            "return document.querySelector('[aria-current=page]')?.dataset.nav ?? null;",
            vec![],
        )?;
        Ok((current == json!("albums")).then_some(()))
    })?;

    step("background: start at login writes the autostart entry, and removes it");
    s.click(&s.find("[data-nav=settings]")?)?;
    let config = home.join(".config");
    if checkbox(s, "start-at-login")? || !autostart_entries(&config).is_empty() {
        return Err("start at login is on before it was asked for".into());
    }
    s.click(&s.find("[data-testid=start-at-login]")?)?;
    let entry = s.wait(SHORT, "the autostart entry", || {
        Ok(autostart_entries(&config).into_iter().next())
    })?;
    let text = fs::read_to_string(&entry).map_err(|e| e.to_string())?;
    eprintln!("  {}:\n{text}", entry.display());
    if !text.contains("--background") || !text.contains("Exec=") {
        return Err(format!(
            "the autostart entry does not start the app in the background:\n{text}"
        ));
    }
    if !checkbox(s, "start-at-login")? {
        return Err("the setting does not show as on".into());
    }
    shots.take(s, "background-01-settings")?;
    s.click(&s.find("[data-testid=start-at-login]")?)?;
    s.wait(SHORT, "the autostart entry to go", || {
        Ok(autostart_entries(&config).is_empty().then_some(()))
    })?;
    if !checkbox(s, "keep-running-in-tray")? || !checkbox(s, "notify-when-away")? {
        return Err("the tray and notifications are not on by default".into());
    }

    step("background: closing the window hides it to the tray; the watcher goes on");
    let bus = BusWatch::start(tmp.join("notifications.txt"))?;
    wait_map_state("IsViewable", SHORT)?;
    close_like_a_window_manager()?;
    wait_map_state("IsUnMapped", SHORT)?;
    // Still running: the web view answers.
    let alive = s.exec(
        "return document.querySelectorAll('[data-nav]').length;",
        vec![],
    )?;
    if alive.as_u64().unwrap_or(0) == 0 {
        return Err(format!("the hidden window's page is gone: {alive}"));
    }
    bus.wait_for("Audiovault is still watching", SHORT)?;
    let staging = tmp.join("staging-bg");
    fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
    let name = "Imported While Hidden.flac";
    make_audio(&staging.join(name), "Imported While Hidden", 5)?;
    fs::copy(staging.join(name), inbox.join(name)).map_err(|e| e.to_string())?;
    bus.wait_for("Watched folder: 1 file(s) taken in", LONG)?;
    bus.wait_for("1 imported", SHORT)?;

    step("background: a second launch brings the window back, with the new track");
    let status = Command::new(app)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("a second launch: {e}"))?;
    if !status.success() {
        return Err(format!("the second launch ended with {status}"));
    }
    wait_map_state("IsViewable", SHORT)?;
    s.click(&s.find("[data-nav=library]")?)?;
    s.wait(LONG, "the track imported while hidden", || {
        Ok(rows(s)?
            .iter()
            .any(|r| r["title"] == "Imported While Hidden")
            .then_some(()))
    })?;
    shots.take(s, "background-02-back")?;
    // In sight again: a finished import is the window's to say, not a notification.
    let before = bus.seen().matches("member=Notify").count();
    let name = "Imported In Sight.flac";
    make_audio(&staging.join(name), "Imported In Sight", 6)?;
    fs::copy(staging.join(name), inbox.join(name)).map_err(|e| e.to_string())?;
    s.wait(LONG, "the track imported in sight", || {
        Ok(rows(s)?
            .iter()
            .any(|r| r["title"] == "Imported In Sight")
            .then_some(()))
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let after = bus.seen().matches("member=Notify").count();
    eprintln!("  notifications while hidden: {before}; after the window came back: {after}");
    if before < 2 {
        return Err(format!(
            "expected two notifications while hidden, saw {before}"
        ));
    }

    step("menu bar: File → Lock by its shortcut, Ctrl+L");
    menu_key("ctrl+l")?;
    s.wait_for("[data-testid=unlock-form]", LONG)?;
    Ok(())
}

/// Types `keys` into the Audiovault window the way a keyboard does (xdotool:
/// the window gets the input focus, the keys come through XTEST), so GTK's menu
/// accelerators see them before the web view.
fn menu_key(keys: &str) -> Result<()> {
    let out = Command::new("xdotool")
        .args([
            "search",
            "--onlyvisible",
            "--name",
            "^Audiovault$",
            "windowfocus",
            "--sync",
        ])
        .args(["key", "--clearmodifiers", keys])
        .output()
        .map_err(|e| format!("xdotool: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "xdotool key {keys}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

#[test]
fn installed_package_end_to_end() {
    let Some(shots) = suite() else { return };
    let Some(app) = std::env::var_os("AUDIOVAULT_E2E_INSTALLED_APP").map(PathBuf::from) else {
        eprintln!(
            "AUDIOVAULT_E2E_INSTALLED_APP is not set: the installed package is tested by scripts/test-package"
        );
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let envs = sandbox_envs(&vault, &tmp.path().join("home"), false);
    if let Err(e) = with_app_at(&app, &envs, &shots, "installed", |s| {
        installed(s, &shots, tmp.path())
    }) {
        panic!("{e}");
    }
}

fn installed(s: &Session, shots: &Shots, tmp: &Path) -> Result<()> {
    step("installed: the first-run screen");
    s.wait_for("[data-testid=vault-dir]", LONG)?;
    shots.take(s, "installed-01-first-run")?;
    create_vault(s)?;

    step(
        "installed: a FLAC and an AAC file import and play (GStreamer from the package's Depends)",
    );
    let files = tmp.join("files");
    fs::create_dir_all(&files).map_err(|e| e.to_string())?;
    let flac = files.join("Installed Tone.flac");
    let aac = files.join("Installed Tone.m4a");
    // Six seconds each: a two-second track could end (and the next start) between
    // the two readings of its clock.
    super::health::tone(&flac, "Installed Tone FLAC", 440)?;
    super::health::tone(&aac, "Installed Tone AAC", 660)?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": [flac.to_string_lossy(), aac.to_string_lossy()], "position": {"x": 400, "y": 300}}),
    )?;
    s.wait_for("[data-testid=import-summary]", LONG)?;
    s.click(&s.find("[data-testid=tray-close]")?)?;
    let listed = s.wait(LONG, "both files in the library", || {
        let r = rows(s)?;
        Ok((r.len() == 2).then_some(r))
    })?;
    for row in &listed {
        let id = row["id"].as_str().unwrap_or_default();
        let title = row["title"].as_str().unwrap_or_default();
        // The clock read must be this track's, not the one playing before it.
        let before = audio_state(s)?["src"].clone();
        click_row(s, id)?;
        s.click(&s.wait_for("[data-testid=details-play]", SHORT)?)?;
        let first = play_outcome(s, &before, 0.2, title)?
            .map_err(|e| format!("{title}: the player says: {e}"))?;
        std::thread::sleep(Duration::from_millis(600));
        let later = audio_state(s)?["time"].as_f64().unwrap_or(0.0);
        if later <= first {
            return Err(format!(
                "{title}: currentTime did not advance: {first} then {later}"
            ));
        }
        eprintln!(
            "  {title} ({}) plays: {first:.2} s → {later:.2} s",
            row["format"]
        );
    }
    shots.take(s, "installed-02-playing")
}

/// The formats #18 added that ffmpeg can write: each imports, and plays in the
/// real window when the engine's table says GStreamer decodes it here; otherwise
/// the details say so and Play says why at once.
#[test]
fn new_formats_play_or_say_why() {
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let envs = sandbox_envs(&vault, &tmp.path().join("home"), false);
    if let Err(e) = with_app(&envs, &shots, "formats", |s| {
        new_formats(s, &shots, tmp.path())
    }) {
        panic!("{e}");
    }
}

/// (file name, format id, ffmpeg output options).
const NEW_FORMATS: &[(&str, &str, &[&str])] = &[
    ("WavPack Tone.wv", "wv", &["-c:a", "wavpack"]),
    ("True Audio Tone.tta", "tta", &["-c:a", "tta"]),
    ("AC-3 Tone.ac3", "ac3", &["-c:a", "ac3"]),
    ("E-AC-3 Tone.eac3", "eac3", &["-c:a", "eac3"]),
    ("Audiobook Tone.m4b", "m4b", &["-c:a", "aac", "-f", "mp4"]),
    (
        "Phone Tone.3gp",
        "3gp",
        &["-c:a", "aac", "-ar", "16000", "-f", "3gp"],
    ),
    (
        "Ogg FLAC Tone.oga",
        "oggflac",
        &["-c:a", "flac", "-f", "ogg"],
    ),
    (
        "Speex Tone.spx",
        "spx",
        &["-c:a", "libspeex", "-ar", "16000", "-ac", "1"],
    ),
    ("Windows Media Tone.wma", "wma", &["-c:a", "wmav2"]),
];

fn new_formats(s: &Session, shots: &Shots, tmp: &Path) -> Result<()> {
    step("formats: a new vault");
    create_vault(s)?;
    let dir = tmp.join("new-formats");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    for (i, (name, _, options)) in NEW_FORMATS.iter().enumerate() {
        let title = name.rsplit_once('.').map_or(*name, |(t, _)| t);
        let path = dir.join(name);
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
            .arg(format!("sine=frequency={}:duration=4", 300 + i * 70))
            .args(["-metadata", &format!("title={title}")])
            .args(*options)
            .arg(&path)
            .output()
            .map_err(|e| format!("ffmpeg: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ffmpeg {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        paths.push(path.to_string_lossy().into_owned());
    }
    step("formats: every new format imports");
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": paths, "position": {"x": 400, "y": 300}}),
    )?;
    s.wait_for("[data-testid=import-summary]", LONG)?;
    s.click(&s.find("[data-testid=tray-close]")?)?;
    let listed = s.wait(LONG, "every new format in the library", || {
        let r = rows(s)?;
        Ok((r.len() == NEW_FORMATS.len()).then_some(r))
    })?;
    step("formats: each plays, or the app says at once that it cannot here");
    let mut verdicts = Vec::new();
    for (name, id, _) in NEW_FORMATS {
        let title = name.rsplit_once('.').map_or(*name, |(t, _)| t);
        let row = listed
            .iter()
            .find(|r| r["title"] == *title)
            .ok_or_else(|| format!("{title} is not listed: {listed:?}"))?;
        let plays_here = audiovault_engine::formats::FORMATS
            .iter()
            .find(|f| f.id == *id)
            .ok_or_else(|| format!("{id} is not in the formats table"))?
            .playable_in_webview;
        click_row(s, row["id"].as_str().unwrap_or_default())?;
        // The details load after the click: this track's, not the one before.
        s.wait(SHORT, &format!("the details of {title}"), || {
            let shown = s.text(&s.find("[data-testid=details-title]")?)?;
            Ok((shown.trim() == title).then_some(()))
        })?;
        let note = s
            .find_all("[data-testid=details-not-playable]")?
            .into_iter()
            .next();
        if note.is_some() == plays_here {
            return Err(format!(
                "{title}: the details' 'does not play here' note is {}, the table says plays here: {plays_here}",
                if note.is_some() { "shown" } else { "missing" }
            ));
        }
        // The clock read must be this track's, not the one playing before it.
        let before = audio_state(s)?["src"].clone();
        s.click(&s.wait_for("[data-testid=details-play]", SHORT)?)?;
        let verdict = verdict(play_outcome(s, &before, 0.3, title)?);
        eprintln!("  {id}: {verdict}");
        if plays_here != verdict.starts_with("plays") {
            return Err(format!(
                "{title} ({id}): {verdict}, but the table says plays here: {plays_here}"
            ));
        }
        if !plays_here && !verdict.contains("cannot be played") {
            return Err(format!(
                "{title} ({id}): refused without saying why: {verdict}"
            ));
        }
        verdicts.push((*id, verdict));
    }
    if let Some(pause) = s.find_all("[data-testid=play-pause]")?.into_iter().next()
        && audio_state(s)?["paused"] == json!(false)
    {
        s.click(&pause)?;
    }
    shots.take(s, "formats-01-new-formats")
}
