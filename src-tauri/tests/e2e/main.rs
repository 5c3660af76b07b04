//! End-to-end tests of the desktop app in its real window: tauri-driver and
//! WebKitWebDriver drive the built app under Xvfb, on real audio made by
//! `tests/fixtures/make-corpus.sh`.
//!
//! Run by `scripts/test-app` (which sets `AUDIOVAULT_E2E=1`, starts Xvfb and
//! builds the UI first). Without `AUDIOVAULT_E2E=1` the test says so and passes,
//! so `cargo test --workspace` on a machine without a display stays green; with
//! it, every missing piece is a failure.
//!
//! Screenshots of each main view land in `AUDIOVAULT_E2E_ARTIFACTS` (default:
//! `e2e-artifacts/` under the system temp folder).

mod driver;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use driver::{Result, Session, TauriDriver};

const PASSPHRASE: &str = "correct horse battery staple e2e";
const SHORT: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(90);

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The corpus: `AUDIOVAULT_E2E_CORPUS` when given (already made), else made now.
fn corpus(tmp: &Path) -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("AUDIOVAULT_E2E_CORPUS") {
        let dir = PathBuf::from(dir);
        if dir.join("reference.tsv").is_file() {
            return Ok(dir);
        }
    }
    let dir = tmp.join("corpus");
    let status = Command::new(repo_root().join("tests/fixtures/make-corpus.sh"))
        .arg(&dir)
        .arg("short")
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("make-corpus.sh: {e}"))?;
    if !status.success() {
        return Err(format!("make-corpus.sh failed: {status}"));
    }
    Ok(dir)
}

/// `path → [columns]` from one of the corpus's TSV files (header skipped).
fn tsv(path: &Path) -> Result<HashMap<String, Vec<String>>> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t').map(str::to_string);
            let key = cols.next()?;
            Some((key, cols.collect()))
        })
        .collect())
}

/// What the table shows for a duration: m:ss of the rounded seconds.
fn mmss(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

struct Shots {
    dir: PathBuf,
}

impl Shots {
    /// Captures the X display the app runs on (Xvfb): the window as a person
    /// sees it. (WebKitWebDriver's own screenshot command can hang under Xvfb and
    /// take the session with it.)
    fn take(&self, _s: &Session, name: &str) -> Result<()> {
        let path = self.dir.join(format!("{name}.png"));
        // Let the last change paint.
        std::thread::sleep(Duration::from_millis(300));
        let out = Command::new("import")
            .args(["-window", "root"])
            .arg(format!("png:{}", path.display()))
            .output()
            .map_err(|e| format!("ImageMagick's import (apt-get install imagemagick): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "screenshot {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        eprintln!("  screenshot {}", path.display());
        Ok(())
    }
}

fn step(name: &str) {
    eprintln!("e2e: {name}");
}

/// Types into an input after clearing it (Svelte listens to the input events).
fn type_into(s: &Session, css: &str, text: &str) -> Result<()> {
    let el = s.wait_for(css, SHORT)?;
    s.exec(
        "const el = arguments[0]; el.focus(); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![el.to_json()],
    )?;
    s.send_keys(&el, text)
}

/// Emits a Tauri window event the way the OS drag-and-drop does.
fn emit(s: &Session, event: &str, payload: Value) -> Result<()> {
    let v = s.exec_async(
        "const [event, payload, done] = arguments;
         window.__TAURI_INTERNALS__.invoke('plugin:event|emit', { event, payload })
           .then(() => done(null), (e) => done(String(e && e.message || e)));",
        vec![json!(event), payload],
    )?;
    match v {
        Value::Null => Ok(()),
        other => Err(format!("emitting {event} failed: {other}")),
    }
}

/// The rendered rows: `[{id, title, duration, format}]`.
fn rows(s: &Session) -> Result<Vec<Value>> {
    let v = s.exec(
        "return [...document.querySelectorAll('[data-testid=track-row]')].map(r => ({
           id: r.dataset.id,
           title: r.querySelector('[data-col=title]').textContent.trim(),
           duration: r.querySelector('[data-col=duration]').textContent.trim(),
           format: r.querySelector('[data-col=format]').textContent.trim(),
         }));",
        vec![],
    )?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

/// Searches and waits until a row titled `title` is among the results, all of
/// which match the search; returns that row.
fn search_for(s: &Session, title: &str) -> Result<Value> {
    type_into(s, "[data-testid=search]", title)?;
    s.wait(SHORT, &format!("search results for '{title}'"), || {
        let rows = rows(s)?;
        let all_match = rows.iter().all(|r| {
            let t = r["title"].as_str().unwrap_or_default();
            title
                .split_whitespace()
                .all(|w| t.to_lowercase().contains(&w.to_lowercase()))
        });
        Ok(all_match
            .then(|| rows.into_iter().find(|r| r["title"] == title))
            .flatten())
    })
}

fn click_row(s: &Session, id: &str) -> Result<()> {
    let el = s.find(&format!("[data-testid=track-row][data-id='{id}']"))?;
    s.click(&el)
}

fn audio_state(s: &Session) -> Result<Value> {
    s.exec(
        "const a = document.querySelector('[data-testid=audio]');
         const err = document.querySelector('[data-testid=player-error]');
         return { time: a.currentTime, paused: a.paused, src: a.currentSrc,
                  player_error: err ? err.textContent : null };",
        vec![],
    )
}

#[test]
fn desktop_app_end_to_end() {
    if std::env::var("AUDIOVAULT_E2E").as_deref() != Ok("1") {
        eprintln!(
            "skipped: the desktop e2e suite runs with AUDIOVAULT_E2E=1 (scripts/test-app sets it)"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let artifacts = std::env::var_os("AUDIOVAULT_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("e2e-artifacts"));
    fs::create_dir_all(&artifacts).expect("artifacts dir");
    let shots = Shots { dir: artifacts };

    let corpus = corpus(tmp.path()).expect("corpus");
    let vault = tmp.path().join("vault");
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("home");
    let app = PathBuf::from(env!("CARGO_BIN_EXE_audiovault-app"));
    let exported = tmp.path().join("exported");
    fs::create_dir_all(&exported).expect("export folder");
    let envs = vec![
        (
            "AUDIOVAULT_AUTOMATION_PICK_FOLDER",
            exported.to_string_lossy().into_owned(),
        ),
        ("AUDIOVAULT_VAULT", vault.to_string_lossy().into_owned()),
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".to_string()),
        ("WEBKIT_DISABLE_DMABUF_RENDERER", "1".to_string()),
        // The app's own settings, caches and keyring lookups stay in the sandbox.
        (
            "XDG_CONFIG_HOME",
            home.join("config").to_string_lossy().into_owned(),
        ),
        (
            "XDG_CACHE_HOME",
            home.join("cache").to_string_lossy().into_owned(),
        ),
        (
            "XDG_DATA_HOME",
            home.join("data").to_string_lossy().into_owned(),
        ),
    ];
    let driver = TauriDriver::start(&envs).expect("tauri-driver");
    let session = driver.session(&app).expect("WebDriver session");
    let outcome = run(&session, &shots, &corpus, &vault, tmp.path());
    if let Err(e) = &outcome {
        let _ = shots.take(&session, "failure");
        eprintln!("e2e failed: {e}");
    }
    let _ = session.delete();
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

fn run(s: &Session, shots: &Shots, corpus: &Path, vault: &Path, tmp: &Path) -> Result<()> {
    let reference = tsv(&corpus.join("reference.tsv"))?;
    let tags = tsv(&corpus.join("tags.tsv"))?;

    step("first run: create a vault");
    let dir_input = s.wait_for("[data-testid=vault-dir]", LONG)?;
    let shown = s.property(&dir_input, "value")?;
    if shown.as_str() != Some(&*vault.to_string_lossy()) {
        return Err(format!(
            "the vault location should be prefilled with AUDIOVAULT_VAULT ({}), shows {shown}",
            vault.display()
        ));
    }
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    type_into(s, "[data-testid=passphrase-repeat]", "mismatch")?;
    let create = s.find("[data-testid=create]")?;
    if s.property(&create, "disabled")? != json!(true) {
        return Err("Create is enabled while the passphrases differ".into());
    }
    type_into(s, "[data-testid=passphrase-repeat]", PASSPHRASE)?;
    // No keyring in the test session: do not ask for one.
    let remember = s.find("[data-testid=remember]")?;
    if s.property(&remember, "checked")? == json!(true) {
        s.click(&remember)?;
    }
    shots.take(s, "01-first-run")?;
    s.click(&create)?;
    s.wait_for("[data-testid=empty]", LONG)?;
    if !vault.join("vault.json").is_file() {
        return Err("no vault.json after creating the vault".into());
    }
    shots.take(s, "02-empty-library")?;

    step("import: a drop of the corpus folder");
    let paths = json!([corpus.to_string_lossy()]);
    emit(
        s,
        "tauri://drag-enter",
        json!({"paths": paths, "position": {"x": 400, "y": 300}}),
    )?;
    s.wait_for("[data-testid=drop-overlay]", SHORT)?;
    shots.take(s, "03-drop-overlay")?;
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": paths, "position": {"x": 400, "y": 300}}),
    )?;
    let summary = s.wait_for("[data-testid=import-summary]", LONG)?;
    let summary_text = s.text(&summary)?;
    eprintln!("  {summary_text}");
    shots.take(s, "04-import-done")?;

    // Every distinct audio file of the corpus is a track.
    let mut distinct = std::collections::HashSet::new();
    let mut by_rel: HashMap<String, PathBuf> = HashMap::new();
    for entry in walk(corpus)? {
        let rel = entry
            .strip_prefix(corpus)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        if rel.ends_with(".tsv") {
            continue;
        }
        distinct.insert(sha256_file(&entry)?);
        by_rel.insert(rel, entry);
    }
    let expected = distinct.len();
    if !summary_text.starts_with(&format!("{expected} files imported")) {
        return Err(format!(
            "expected {expected} files imported, the tray says: {summary_text}"
        ));
    }
    let footer = s.wait(SHORT, "the footer count", || {
        let t = s.text(&s.find("[data-testid=summary]")?)?;
        Ok(t.starts_with(&format!("{expected} tracks")).then_some(t))
    })?;
    eprintln!("  footer: {footer}");
    s.click(&s.find("[data-testid=tray-close]")?)?;
    shots.take(s, "05-library")?;

    step("rows: titles and durations, by search");
    let mut checked_formats = Vec::new();
    let mut tagged: Vec<_> = tags.iter().collect();
    tagged.sort();
    for (rel, cols) in tagged {
        let Some(path) = by_rel.get(rel) else {
            continue;
        };
        let ext = rel.rsplit('.').next().unwrap_or_default().to_string();
        if checked_formats.contains(&ext) {
            continue;
        }
        let title = &cols[0];
        let row = search_for(s, title)?;
        let duration: f64 = reference
            .get(rel)
            .and_then(|r| r.first())
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| format!("no reference duration for {rel}"))?;
        if row["duration"] != mmss(duration) {
            return Err(format!(
                "{rel}: the table shows {} for a {duration} s file",
                row["duration"]
            ));
        }
        eprintln!(
            "  {title}: {} {} ({})",
            row["format"],
            row["duration"],
            path.display()
        );
        checked_formats.push(ext);
    }
    if checked_formats.len() < 6 {
        return Err(format!("only checked formats {checked_formats:?}"));
    }

    step("details: artwork, checksum");
    let cover_rel = "cover/Harbor Thistle 103.flac";
    let cover_title = tags
        .get(cover_rel)
        .map(|c| c[0].clone())
        .ok_or("the corpus has no cover FLAC")?;
    let row = search_for(s, &cover_title)?;
    let id = row["id"].as_str().unwrap_or_default().to_string();
    click_row(s, &id)?;
    s.wait(SHORT, "the details title", || {
        let t = s.text(&s.find("[data-testid=details-title]")?)?;
        Ok((t == cover_title).then_some(()))
    })?;
    let art = s.wait_for("[data-testid=artwork]", SHORT)?;
    s.wait(SHORT, "the artwork to load", || {
        Ok((s.property(&art, "naturalWidth")?.as_u64().unwrap_or(0) > 0).then_some(()))
    })?;
    let shown_sha = s.text(&s.find("[data-testid=details-sha256]")?)?;
    let source = by_rel.get(cover_rel).ok_or("cover file missing")?;
    if shown_sha.trim() != sha256_file(source)? {
        return Err(format!(
            "details show SHA-256 {shown_sha}, the source has another"
        ));
    }
    shots.take(s, "06-details")?;

    step("playback: currentTime advances, seek");
    s.click(&s.find("[data-testid=details-play]")?)?;
    let first = s.wait(LONG, "playback to start", || {
        let st = audio_state(s)?;
        if let Some(err) = st["player_error"].as_str() {
            return Err(format!("the player says: {err}"));
        }
        let t = st["time"].as_f64().unwrap_or(0.0);
        Ok((t > 0.2 && st["paused"] == json!(false)).then_some(t))
    })?;
    std::thread::sleep(Duration::from_millis(800));
    let later = audio_state(s)?["time"].as_f64().unwrap_or(0.0);
    if later <= first {
        return Err(format!("currentTime did not advance: {first} then {later}"));
    }
    let src = audio_state(s)?["src"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !src.starts_with("http://127.0.0.1:") || !src.contains("sig=") {
        return Err(format!(
            "the audio is not from the signed loopback server: {src}"
        ));
    }
    shots.take(s, "07-playing")?;
    // Seek through the player's slider.
    s.exec(
        "const el = document.querySelector('[data-testid=seek]');
         el.value = '3.5'; el.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![],
    )?;
    s.wait(SHORT, "the seek to land", || {
        let t = audio_state(s)?["time"].as_f64().unwrap_or(0.0);
        Ok((t >= 3.4).then_some(()))
    })?;
    // A tampered URL is refused by the server.
    let tampered = src.replace("sig=", "sig=00");
    let code = s.exec_async(
        "const [url, done] = arguments;
         const a = new Audio(); a.onerror = () => done('error'); a.oncanplay = () => done('played');
         a.src = url; a.load();",
        vec![json!(tampered)],
    )?;
    if code != json!("error") {
        return Err(format!("a tampered playback URL played: {code}"));
    }
    if audio_state(s)?["paused"] == json!(false) {
        s.click(&s.find("[data-testid=play-pause]")?)?;
    }

    step("playback of every corpus format: plays, or the UI says why not");
    let mut per_format: Vec<(String, String)> = Vec::new();
    let mut titled: Vec<_> = tags
        .iter()
        .filter(|(rel, _)| by_rel.contains_key(*rel))
        .collect();
    titled.sort();
    let mut seen_ext: Vec<String> = Vec::new();
    for (rel, cols) in titled {
        let ext = rel.rsplit('.').next().unwrap_or_default().to_string();
        if seen_ext.contains(&ext) || rel.starts_with("dupes/") {
            continue;
        }
        seen_ext.push(ext.clone());
        let row = search_for(s, &cols[0])?;
        let el = s.find(&format!(
            "[data-testid=track-row][data-id='{}']",
            row["id"].as_str().unwrap_or_default()
        ))?;
        // A double click plays, as a person would.
        s.exec(
            "arguments[0].dispatchEvent(new MouseEvent('dblclick', {bubbles: true}));",
            vec![el.to_json()],
        )?;
        let verdict = s.wait(LONG, &format!("{rel} to play or to be refused"), || {
            let st = audio_state(s)?;
            if let Some(err) = st["player_error"].as_str() {
                return Ok(Some(format!("refused: {err}")));
            }
            let t = st["time"].as_f64().unwrap_or(0.0);
            Ok((t > 0.3 && st["paused"] == json!(false)).then(|| format!("plays ({t:.1} s)")))
        })?;
        eprintln!("  {ext}: {verdict}");
        per_format.push((ext, verdict));
    }
    if let Some(pause) = s.find_all("[data-testid=play-pause]")?.into_iter().next()
        && audio_state(s)?["paused"] == json!(false)
    {
        s.click(&pause)?;
    }
    // Formats WebKitGTK with GStreamer (base, good, bad, libav) plays: these must play.
    // (AIFF stalled at 0:00 in 2 of 3 runs while served as audio/aiff; as
    // audio/x-aiff, GStreamer's own name, it played in every run since.)
    for must in ["flac", "mp3", "wav", "aiff", "ogg", "opus", "m4a"] {
        if let Some((_, v)) = per_format.iter().find(|(e, _)| e == must)
            && !v.starts_with("plays")
        {
            return Err(format!("{must} should play here: {v}"));
        }
    }
    let cover_row = search_for(s, &cover_title)?;
    click_row(s, cover_row["id"].as_str().unwrap_or_default())?;
    s.wait_for("[data-testid=details-export]", SHORT)?;

    step("export: byte-identical, SHA-256 checked");
    // The app was started with AUDIOVAULT_AUTOMATION_PICK_FOLDER = this folder:
    // the export's folder dialog answers with it (WebDriver cannot drive GTK).
    let dest = tmp.join("exported");
    s.click(&s.find("[data-testid=details-export]")?)?;
    let exported = s.wait_for("[data-testid=export-summary]", LONG)?;
    eprintln!("  {}", s.text(&exported)?);
    let out = dest.join("Harbor Thistle 103.flac");
    if sha256_file(&out)? != sha256_file(source)? {
        return Err("the exported file differs from the source".into());
    }
    shots.take(s, "08-exported")?;
    s.click(&s.find("[data-testid=tray-close]")?)?;

    step("trash and restore");
    let trash_button = s.wait(SHORT, "the Trash button", || {
        let buttons = s.find_all("[data-testid=details] .buttons button")?;
        for b in buttons {
            if s.text(&b)? == "Trash" {
                return Ok(Some(b));
            }
        }
        Ok(None)
    })?;
    s.click(&trash_button)?;
    s.wait(SHORT, "the track to leave the library", || {
        Ok(rows(s)?.iter().all(|r| r["id"] != json!(id)).then_some(()))
    })?;
    s.click(&s.find("[data-nav=trash]")?)?;
    let trashed = search_for(s, &cover_title)?;
    click_row(s, trashed["id"].as_str().unwrap_or_default())?;
    shots.take(s, "09-trash")?;
    let restore = s.wait(SHORT, "the Restore button", || {
        for b in s.find_all("[data-testid=details] .buttons button")? {
            if s.text(&b)? == "Restore" {
                return Ok(Some(b));
            }
        }
        Ok(None)
    })?;
    s.click(&restore)?;
    s.wait(SHORT, "the track to leave the trash", || {
        Ok(rows(s)?.is_empty().then_some(()))
    })?;
    s.click(&s.find("[data-nav=library]")?)?;
    search_for(s, &cover_title)?;

    step("storage view");
    s.click(&s.find("[data-nav=storage]")?)?;
    s.wait(SHORT, "the storage numbers", || {
        let t = s.text(&s.wait_for("[data-testid=storage]", SHORT)?)?;
        Ok(t.contains("saved by deduplication").then_some(()))
    })?;
    shots.take(s, "11-storage")?;
    s.click(&s.find("[data-nav=library]")?)?;

    step("lock and unlock");
    s.click(&s.find("[data-testid=lock]")?)?;
    s.wait_for("[data-testid=unlock-form]", SHORT)?;
    type_into(s, "[data-testid=passphrase]", "wrong passphrase")?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait(LONG, "the wrong-passphrase message", || {
        Ok(s.find_all("[role=alert]")?.into_iter().next())
    })?;
    shots.take(s, "10-unlock")?;
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait(LONG, "the library after unlocking", || {
        let t = s.text(&s.find("[data-testid=summary]")?)?;
        Ok((t.starts_with(&format!("{expected} tracks")) && !rows(s)?.is_empty()).then_some(()))
    })?;
    Ok(())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}
