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

mod cloud;
mod desktop;
mod driver;
mod health;
mod scale;
mod security;
mod space;
mod watch;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use driver::{Result, Session, TauriDriver};

const PASSPHRASE: &str = "correct horse battery staple e2e";
/// The passphrase after the Settings step changes it.
const NEW_PASSPHRASE: &str = "a new and longer passphrase for e2e";
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

/// The screenshots folder when the desktop suite runs (`AUDIOVAULT_E2E=1`, which
/// `scripts/test-app` sets); `None`, said once, otherwise.
fn suite() -> Option<Shots> {
    if std::env::var("AUDIOVAULT_E2E").as_deref() != Ok("1") {
        eprintln!(
            "skipped: the desktop e2e suite runs with AUDIOVAULT_E2E=1 (scripts/test-app sets it)"
        );
        return None;
    }
    let dir = std::env::var_os("AUDIOVAULT_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("e2e-artifacts"));
    fs::create_dir_all(&dir).expect("artifacts dir");
    Some(Shots { dir })
}

/// What every app of the suite runs with: its vault, its own settings, caches and
/// keyring lookups under `home`, WebKit as Xvfb needs it, and, unless `strict`, the
/// passphrase floor lifted for the tests' short passphrases.
fn sandbox_envs(vault: &Path, home: &Path, strict: bool) -> Vec<(&'static str, String)> {
    let p = |p: PathBuf| p.to_string_lossy().into_owned();
    let mut envs = vec![
        ("AUDIOVAULT_VAULT", p(vault.to_path_buf())),
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".to_string()),
        ("WEBKIT_DISABLE_DMABUF_RENDERER", "1".to_string()),
        ("XDG_CONFIG_HOME", p(home.join("config"))),
        ("XDG_CACHE_HOME", p(home.join("cache"))),
        ("XDG_DATA_HOME", p(home.join("data"))),
    ];
    if !strict {
        envs.push(("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "1".to_string()));
    }
    envs
}

/// Runs `body` in a new app window with `envs`; on failure keeps a `<what>-failure`
/// screenshot; the window closes either way.
fn with_app(
    envs: &[(&str, String)],
    shots: &Shots,
    what: &str,
    body: impl FnOnce(&Session) -> Result<()>,
) -> Result<()> {
    let app = PathBuf::from(env!("CARGO_BIN_EXE_audiovault-app"));
    with_app_at(&app, envs, shots, what, body)
}

/// [`with_app`] with another build of the app (the installed package's).
fn with_app_at(
    app: &Path,
    envs: &[(&str, String)],
    shots: &Shots,
    what: &str,
    body: impl FnOnce(&Session) -> Result<()>,
) -> Result<()> {
    let driver = TauriDriver::start(envs)?;
    let s = driver.session(app)?;
    let outcome = body(&s);
    if let Err(e) = &outcome {
        let _ = shots.take(&s, &format!("{what}-failure"));
        eprintln!("e2e ({what}) failed: {e}");
    }
    let _ = s.delete();
    outcome
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
    if text.is_empty() {
        return Ok(());
    }
    s.send_keys(&el, text)
}

/// Emits a Tauri window event the way the OS drag-and-drop does. A drop waits
/// until the library listens for drops (its listeners register just after it
/// shows; a person cannot drop that fast, a test can).
fn emit(s: &Session, event: &str, payload: Value) -> Result<()> {
    if event == "tauri://drag-drop" {
        s.wait_for("[data-drop-ready]", SHORT)?;
    }
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

/// Picks `value` in a `<select>` (waiting for the option to exist) the way a
/// person's choice does: the value changes, then a change event.
fn choose(s: &Session, css: &str, value: &str) -> Result<()> {
    let el = s.wait_for(css, SHORT)?;
    s.wait(SHORT, &format!("option {value:?} in {css}"), || {
        let v = s.exec(
            "const [el, v] = arguments;
             if (![...el.options].some(o => o.value === v)) return false;
             el.value = v; el.dispatchEvent(new Event('change', {bubbles: true})); return true;",
            vec![el.to_json(), json!(value)],
        )?;
        Ok((v == json!(true)).then_some(()))
    })
}

/// The footer's track count ("12 tracks · …" → 12).
fn footer_count(s: &Session) -> Result<Option<usize>> {
    let t = s.text(&s.find("[data-testid=summary]")?)?;
    Ok(t.split_whitespace()
        .next()
        .and_then(|n| n.replace(',', "").parse().ok()))
}

fn wait_footer(s: &Session, n: usize) -> Result<()> {
    s.wait(SHORT, &format!("the footer to count {n} tracks"), || {
        Ok((footer_count(s)? == Some(n)).then_some(()))
    })
}

/// The texts of the toasts on screen.
fn toasts(s: &Session) -> Result<String> {
    Ok(s.exec(
        "return [...document.querySelectorAll('.toast')].map(t => t.textContent).join(' | ');",
        vec![],
    )?
    .as_str()
    .unwrap_or_default()
    .to_string())
}

/// Sizes as the UI shows them (ui/src/lib/format.ts `formatBytes`).
fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    match i {
        0 => format!("{bytes} B"),
        _ if v >= 100.0 => format!("{v:.0} {}", UNITS[i]),
        _ if v >= 10.0 => format!("{v:.1} {}", UNITS[i]),
        _ => format!("{v:.2} {}", UNITS[i]),
    }
}

/// The vault's format name for a well-named corpus file: the engine's, by its extension.
fn format_of(rel: &str) -> String {
    audiovault_engine::formats::for_extension(rel.rsplit('.').next().unwrap_or_default())
}

fn chunk_files(vault: &Path) -> Result<usize> {
    Ok(walk(&vault.join("chunks"))?.len())
}

/// Clicks the details drawer's button labelled `label`.
fn details_button(s: &Session, label: &str) -> Result<()> {
    let b = s.wait(SHORT, &format!("the {label} button"), || {
        for b in s.find_all("[data-testid=details] .buttons button")? {
            if s.text(&b)? == label {
                return Ok(Some(b));
            }
        }
        Ok(None)
    })?;
    s.click(&b)
}

fn click_row(s: &Session, id: &str) -> Result<()> {
    let el = s.find(&format!("[data-testid=track-row][data-id='{id}']"))?;
    s.click(&el)
}

/// After Play: `Ok(seconds)` once this track plays from a source other than
/// `before` (the previous track's, whose clock could pass for this one's) past
/// `past` seconds, or `Err(message)` when the player says why it does not.
fn play_outcome(
    s: &Session,
    before: &Value,
    past: f64,
    what: &str,
) -> Result<std::result::Result<f64, String>> {
    s.wait(LONG, &format!("{what} to play or be refused"), || {
        let st = audio_state(s)?;
        if let Some(err) = st["player_error"].as_str() {
            return Ok(Some(Err(err.to_string())));
        }
        let t = st["time"].as_f64().unwrap_or(0.0);
        Ok((st["src"] != *before && t > past && st["paused"] == json!(false)).then_some(Ok(t)))
    })
}

/// `play_outcome` as the per-format lists print it.
fn verdict(outcome: std::result::Result<f64, String>) -> String {
    match outcome {
        Ok(t) => format!("plays ({t:.1} s)"),
        Err(e) => format!("refused: {e}"),
    }
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
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let corpus = corpus(tmp.path()).expect("corpus");
    let vault = tmp.path().join("vault");
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("home");
    let app = PathBuf::from(env!("CARGO_BIN_EXE_audiovault-app"));
    let exported = tmp.path().join("exported");
    fs::create_dir_all(&exported).expect("export folder");
    let mut envs = sandbox_envs(&vault, &home, false);
    envs.push((
        "AUDIOVAULT_AUTOMATION_PICK_FOLDER",
        exported.to_string_lossy().into_owned(),
    ));
    let driver = TauriDriver::start(&envs).expect("tauri-driver");
    let session = driver.session(&app).expect("WebDriver session");
    let outcome = run(&session, &shots, &corpus, &vault, tmp.path());
    if let Err(e) = &outcome {
        let _ = shots.take(&session, "failure");
        eprintln!("e2e failed: {e}");
    }
    let _ = session.delete();
    let outcome = outcome.and_then(|()| {
        let config = home.join("config").join("org.audiovault.desktop");
        window_state(&driver, &app, &config, &shots).inspect_err(|e| eprintln!("e2e failed: {e}"))
    });
    drop(driver);
    let outcome = outcome.and_then(|()| {
        dark_mode(&envs, &app, &shots).inspect_err(|e| eprintln!("e2e failed: {e}"))
    });
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
    let mut per_format: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for (rel, path) in &by_rel {
        per_format
            .entry(format_of(rel))
            .or_default()
            .insert(sha256_file(path)?);
    }
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

    step("filters: format, then every format again");
    type_into(s, "[data-testid=search]", "")?;
    wait_footer(s, expected)?;
    for format in ["flac", "mp3", "wav"] {
        let n = per_format.get(format).map_or(0, |set| set.len());
        if n == 0 {
            return Err(format!("the corpus has no {format} files"));
        }
        choose(s, "[data-testid=format-filter]", format)?;
        s.wait(SHORT, &format!("only the {n} {format} tracks"), || {
            let rows = rows(s)?;
            let all = rows
                .iter()
                .all(|r| r["format"].as_str() == Some(&*format.to_uppercase()));
            Ok((footer_count(s)? == Some(n) && rows.len() == n && all).then_some(()))
        })?;
        eprintln!("  {format}: {n} tracks");
        if format == "flac" {
            shots.take(s, "05b-format-filter")?;
        }
    }
    choose(s, "[data-testid=format-filter]", "")?;
    wait_footer(s, expected)?;

    step("albums and artists: a group lists exactly its tracks");
    let cover_rel = "cover/Harbor Thistle 103.flac";
    let cover_tags = tags.get(cover_rel).ok_or("the corpus has no cover FLAC")?;
    let (cover_artist, cover_album) = (cover_tags[1].clone(), cover_tags[2].clone());
    let titles_where = |keep: &dyn Fn(&Vec<String>) -> bool| -> Vec<String> {
        let set: std::collections::BTreeSet<String> = tags
            .iter()
            .filter(|(rel, cols)| by_rel.contains_key(*rel) && keep(cols))
            .map(|(_, cols)| cols[0].clone())
            .collect();
        set.into_iter().collect()
    };
    let group_titles = |kind: &str, title: &str, artist: &str| -> Result<Vec<String>> {
        s.click(&s.find(&format!("[data-nav={kind}]"))?)?;
        let g = s.wait(SHORT, &format!("the {kind} entry {title}"), || {
            for g in s.find_all("[data-testid=group]")? {
                let d = s.exec(
                    "return [arguments[0].dataset.title, arguments[0].dataset.artist];",
                    vec![g.to_json()],
                )?;
                if d[0] == json!(title) && d[1] == json!(artist) {
                    return Ok(Some(g));
                }
            }
            Ok(None)
        })?;
        s.click(&g)?;
        s.wait(SHORT, &format!("the tracks of {title}"), || {
            let v = s.exec(
                "return [...document.querySelectorAll('[data-testid=group-track] .name')].map(e => e.textContent.trim());",
                vec![],
            )?;
            let mut t: Vec<String> = v
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            t.sort();
            t.dedup();
            Ok((!t.is_empty()).then_some(t))
        })
    };
    let want = titles_where(&|c| c[1] == cover_artist && c[2] == cover_album);
    let got = group_titles("albums", &cover_album, &cover_artist)?;
    if got != want {
        return Err(format!(
            "album {cover_album} by {cover_artist} lists {got:?}, expected {want:?}"
        ));
    }
    // The album grid shows the album's cover (the catalog's thumbnail of its art).
    s.wait(SHORT, "the album's cover in the grid", || {
        let src = s.exec(
            "const g = [...document.querySelectorAll('[data-testid=group]')]
               .find((e) => e.dataset.title === arguments[0] && e.dataset.artist === arguments[1]);
             const img = g && g.querySelector('[data-testid=album-cover]');
             return img && img.complete && img.naturalWidth > 0 ? img.src.slice(0, 15) : null;",
            vec![json!(cover_album), json!(cover_artist)],
        )?;
        Ok(src
            .as_str()
            .filter(|s| s.starts_with("data:image/"))
            .map(str::to_owned))
    })?;
    shots.take(s, "05c-albums")?;
    let want = titles_where(&|c| c[1] == cover_artist);
    let got = group_titles("artists", &cover_artist, &cover_artist)?;
    if got != want {
        return Err(format!(
            "artist {cover_artist} lists {got:?}, expected {want:?}"
        ));
    }
    step("artists: the artist's page shows its albums' covers; an album lists its tracks");
    let tile = s.wait(SHORT, "the artist's album tile", || {
        for t in s.find_all("[data-testid=artist-album]")? {
            let d = s.exec(
                "const img = arguments[0].querySelector('[data-testid=album-cover]');
                 return [arguments[0].dataset.title, arguments[0].dataset.artist,
                         !!(img && img.complete && img.naturalWidth > 0 && img.src.startsWith('data:image/'))];",
                vec![t.to_json()],
            )?;
            if d[0] == json!(cover_album) && d[1] == json!(cover_artist) && d[2] == json!(true) {
                return Ok(Some(t));
            }
        }
        Ok(None)
    })?;
    shots.take(s, "05d-artist-albums")?;
    s.click(&tile)?;
    let want = titles_where(&|c| c[1] == cover_artist && c[2] == cover_album);
    let got = s.wait(SHORT, "the artist's album's tracks", || {
        let title = s.text(&s.find("[data-testid=group-title]")?)?;
        if title.trim() != cover_album {
            return Ok(None);
        }
        let v = s.exec(
            "return [...document.querySelectorAll('[data-testid=group-tracks] [data-testid=group-track] .name')].map(e => e.textContent.trim());",
            vec![],
        )?;
        let mut t: Vec<String> = v
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        t.sort();
        t.dedup();
        Ok((!t.is_empty()).then_some(t))
    })?;
    if got != want {
        return Err(format!(
            "the artist page's album {cover_album} lists {got:?}, expected {want:?}"
        ));
    }
    s.click(&s.find("[data-testid=artist-back]")?)?;
    s.wait_for("[data-testid=group]", SHORT)?;
    s.click(&s.find("[data-nav=library]")?)?;

    step("details: artwork, checksum");
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
    step("details: the waveform from the background analysis");
    s.wait(LONG, "the details waveform", || {
        let el = s.find("[data-testid=details-waveform]")?;
        let status = s.exec("return arguments[0].dataset.status;", vec![el.to_json()])?;
        if let Some(st) = status.as_str().filter(|st| st.starts_with("failed")) {
            return Err(format!("the analysis failed: {st}"));
        }
        let bars = s.exec(
            "return Number(arguments[0].querySelector('svg').dataset.bars);",
            vec![el.to_json()],
        )?;
        Ok((status == json!("done") && bars.as_u64().unwrap_or(0) > 10).then_some(()))
    })?;
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
    step("the player's waveform seek bar");
    s.wait(LONG, "the player's waveform", || {
        let bars = s.exec(
            "return Number(document.querySelector('[data-testid=player-waveform]').dataset.bars);",
            vec![],
        )?;
        Ok((bars.as_u64().unwrap_or(0) > 10).then_some(()))
    })?;
    let cover_duration: f64 = reference
        .get(cover_rel)
        .and_then(|r| r.first())
        .and_then(|d| d.parse().ok())
        .ok_or("no reference duration for the cover FLAC")?;
    // A click in the middle of the waveform seeks to the middle of the track.
    s.click(&s.find("[data-testid=seek]")?)?;
    let half = cover_duration / 2.0;
    s.wait(
        SHORT,
        "a click on the waveform to seek to the middle",
        || {
            let t = audio_state(s)?["time"].as_f64().unwrap_or(0.0);
            Ok((t > half - 0.6 && t < half + 2.0).then_some(t))
        },
    )?;
    shots.take(s, "07b-waveform-seek")?;
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
        let attempt = || -> Result<String> {
            // The clock read must be this track's, not the one playing before it.
            let before = audio_state(s)?["src"].clone();
            // A double click plays, as a person would.
            s.exec(
                "arguments[0].dispatchEvent(new MouseEvent('dblclick', {bubbles: true}));",
                vec![el.to_json()],
            )?;
            Ok(verdict(play_outcome(s, &before, 0.3, rel)?))
        };
        let mut verdict = attempt()?;
        // A stall is the player's time-based guess on a busy machine, and its
        // message says to try again: a person would, once.
        if verdict.contains("stalled") {
            eprintln!("  {ext}: {verdict}; trying again");
            verdict = attempt()?;
        }
        eprintln!("  {ext}: {verdict}");
        per_format.push((ext, verdict));
    }
    if let Some(pause) = s.find_all("[data-testid=play-pause]")?.into_iter().next()
        && audio_state(s)?["paused"] == json!(false)
    {
        s.click(&pause)?;
    }
    // Formats WebKitGTK with GStreamer (base, good, bad, libav) plays: these must play.
    for must in ["flac", "mp3", "wav", "ogg", "opus", "m4a"] {
        if let Some((_, v)) = per_format.iter().find(|(e, _)| e == must)
            && !v.starts_with("plays")
        {
            return Err(format!("{must} should play here: {v}"));
        }
    }
    // A known fault, not yet mended: the corpus's AIFF (stereo, with an ID3 chunk
    // after the sound data) stalls in the web view's pipeline, while gst-launch
    // plays the same bytes over HTTP, and a mono or untagged AIFF plays in the
    // window. Until it is mended the player must at least say so.
    if let Some((_, v)) = per_format.iter().find(|(e, _)| e == "aiff")
        && !v.starts_with("plays")
        && !v.contains("stalled")
    {
        return Err(format!("aiff neither plays nor says why: {v}"));
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
    step("export: Show in folder asks the desktop's file manager for the file");
    let bus = desktop::BusWatch::start_matching(
        tmp.join("file-manager.txt"),
        "type='method_call',interface='org.freedesktop.FileManager1'",
    )?;
    s.click(&s.find("[data-testid=export-show-in-folder]")?)?;
    bus.wait_for("member=ShowItems", SHORT)?;
    bus.wait_for("exported/Harbor%20Thistle%20103.flac", SHORT)?;
    drop(bus);
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
    // The Show filter switches to the trashed tracks.
    choose(s, "[data-testid=state-filter]", "trashed")?;
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

    keyboard(s, shots)?;
    passphrase_change(s, shots)?;

    step("verify: a clean library");
    s.click(&s.find("[data-nav=storage]")?)?;
    s.click(&s.wait_for("[data-testid=verify]", SHORT)?)?;
    let clean = s.wait(LONG, "the verify report", || {
        Ok(s.find_all("[data-testid=verify-summary]")?
            .into_iter()
            .next())
    })?;
    let clean = s.text(&clean)?;
    eprintln!("  {clean}");
    if !clean.starts_with(&format!("All {expected} tracks intact")) {
        return Err(format!("verify of an intact vault says: {clean}"));
    }
    s.click(&s.find("[data-testid=tray-close]")?)?;

    step("empty the Trash: the confirmation names tracks and bytes");
    let mut doomed = Vec::new();
    let mut tagged: Vec<_> = tags
        .iter()
        .filter(|(rel, _)| by_rel.contains_key(*rel))
        .collect();
    tagged.sort();
    for want in ["ogg", "opus"] {
        let (rel, cols) = tagged
            .iter()
            .find(|(rel, _)| format_of(rel) == want)
            .ok_or_else(|| format!("no tagged {want} file"))?;
        doomed.push((rel.to_string(), cols[0].clone()));
    }
    s.click(&s.find("[data-nav=library]")?)?;
    let mut doomed_bytes = 0;
    for (rel, title) in &doomed {
        let row = search_for(s, title)?;
        let id = row["id"].as_str().unwrap_or_default().to_string();
        click_row(s, &id)?;
        details_button(s, "Trash")?;
        s.wait(SHORT, "the track to leave the library", || {
            Ok(rows(s)?.iter().all(|r| r["id"] != json!(id)).then_some(()))
        })?;
        doomed_bytes += fs::metadata(&by_rel[rel]).map_err(|e| e.to_string())?.len();
    }
    type_into(s, "[data-testid=search]", "")?;
    s.click(&s.find("[data-nav=storage]")?)?;
    s.wait(SHORT, "the storage view to count the Trash", || {
        let tracks = s.text(&s.wait_for("[data-testid=storage-tracks]", SHORT)?)?;
        let trashed = s.text(&s.find("[data-testid=storage-trashed]")?)?;
        Ok(
            (tracks == (expected - 2).to_string() && trashed.contains("2 in the Trash"))
                .then_some(()),
        )
    })?;
    let chunks_before = chunk_files(vault)?;
    s.click(&s.find("[data-nav=trash]")?)?;
    s.click(&s.wait_for("[data-testid=empty-trash]", SHORT)?)?;
    let question = s.text(&s.wait_for("[data-testid=empty-trash-text]", SHORT)?)?;
    let want = format!(
        "Delete 2 tracks ({}) for good? This cannot be undone.",
        format_bytes(doomed_bytes)
    );
    if question != want {
        return Err(format!(
            "the Empty Trash dialog asks {question:?}, expected {want:?}"
        ));
    }
    shots.take(s, "12-empty-trash")?;
    // Cancel has the focus, so a stray Enter never deletes; Escape backs out.
    s.wait(SHORT, "the Empty Trash dialog to focus Cancel", || {
        let focused = s.exec(
            "const a = document.activeElement;
             return a && a.closest('[data-testid=empty-trash-dialog]') ? a.textContent : null;",
            vec![],
        )?;
        Ok((focused == json!("Cancel")).then_some(()))
    })
    .map_err(|e| {
        let at = s
            .exec(
                "return document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : null;",
                vec![],
            )
            .unwrap_or_default();
        format!("{e}; the focus is on {at}")
    })?;
    let focused = s.find("[data-testid=empty-trash-dialog] button")?;
    s.send_keys(&focused, KEY_ESCAPE)?;
    s.wait(SHORT, "Escape to close the Empty Trash dialog", || {
        Ok(s.find_all("[data-testid=empty-trash-dialog]")?
            .is_empty()
            .then_some(()))
    })?;
    if s.find_all("[data-testid=trash-empty]")?.len() == 1 {
        return Err("Escape emptied the Trash".into());
    }
    let back = s.exec(
        "return document.activeElement.dataset.testid || null;",
        vec![],
    )?;
    if back != json!("empty-trash") {
        return Err(format!(
            "closing the dialog left the focus on {back}, not the Empty Trash… button"
        ));
    }
    s.click(&s.find("[data-testid=empty-trash]")?)?;
    s.click(&s.wait_for("[data-testid=confirm-empty-trash]", SHORT)?)?;
    s.wait_for("[data-testid=trash-empty]", LONG)?;
    s.click(&s.find("[data-nav=storage]")?)?;
    s.wait(SHORT, "the storage view after emptying the Trash", || {
        let tracks = s.text(&s.wait_for("[data-testid=storage-tracks]", SHORT)?)?;
        let trashed = s.text(&s.find("[data-testid=storage-trashed]")?)?;
        Ok((tracks == (expected - 2).to_string() && trashed.is_empty()).then_some(()))
    })?;
    let chunks_after = chunk_files(vault)?;
    eprintln!("  chunk files: {chunks_before} → {chunks_after}");
    if chunks_after >= chunks_before {
        return Err(format!(
            "emptying the Trash removed no chunk files ({chunks_before} → {chunks_after})"
        ));
    }

    step("verify: a corrupted chunk names the tracks it breaks");
    let victim_rel = tagged
        .iter()
        .map(|(rel, _)| rel.as_str())
        .find(|rel| format_of(rel) == "wav")
        .ok_or("no tagged WAV file")?;
    let victim_name = victim_rel
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let broken = corrupt_a_chunk_of(vault, NEW_PASSPHRASE, &victim_name)?;
    eprintln!("  corrupted a chunk of {victim_name}; it breaks {broken:?}");
    s.click(&s.wait_for("[data-testid=verify]", SHORT)?)?;
    let summary = s.wait(LONG, "the verify report", || {
        Ok(s.find_all("[data-testid=verify-summary]")?
            .into_iter()
            .next())
    })?;
    eprintln!("  {}", s.text(&summary)?);
    let named: Vec<String> = s
        .exec(
            "return [...document.querySelectorAll('[data-testid=damaged-track] .name')].map(e => e.textContent.trim());",
            vec![],
        )?
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut named_sorted = named.clone();
    named_sorted.sort();
    if named_sorted != broken {
        return Err(format!(
            "verify names {named:?}, the corrupted chunk breaks {broken:?}"
        ));
    }
    shots.take(s, "13-verify-damaged")?;
    s.click(&s.find("[data-testid=tray-close]")?)?;

    step("a drop while an import runs is queued, then imported");
    // A large first import (random PCM, so it takes a moment) and a small second
    // one dropped right after it.
    let big = tmp.join("queued-big");
    let small = tmp.join("queued-small");
    fs::create_dir_all(&big).map_err(|e| e.to_string())?;
    fs::create_dir_all(&small).map_err(|e| e.to_string())?;
    write_wav(&big.join("big noise.wav"), 150 << 20, 1)?;
    write_wav(&small.join("small noise.wav"), 1 << 20, 2)?;
    s.click(&s.find("[data-nav=library]")?)?;
    type_into(s, "[data-testid=search]", "")?;
    wait_footer(s, expected - 2)?;
    for dir in [&big, &small] {
        emit(
            s,
            "tauri://drag-drop",
            json!({"paths": [dir.to_string_lossy()], "position": {"x": 400, "y": 300}}),
        )?;
    }
    s.wait(SHORT, "the queued notice", || {
        Ok(toasts(s)?.contains("Queued: 1 item").then_some(()))
    })?;
    shots.take(s, "16-queued-import")?;
    s.wait(LONG, "both imports", || {
        Ok((footer_count(s)? == Some(expected)).then_some(()))
    })?;
    Ok(())
}

/// A WAV file (16-bit stereo, 44.1 kHz) of about `bytes` of pseudo-random PCM.
fn write_wav(path: &Path, bytes: u32, seed: u64) -> Result<()> {
    let data_len = bytes & !3;
    let mut out = Vec::with_capacity(data_len as usize + 44);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&2u16.to_le_bytes()); // channels
    out.extend_from_slice(&44_100u32.to_le_bytes());
    out.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < data_len as usize + 44 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(data_len as usize + 44);
    fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
}

/// Flips a byte in the middle of the first chunk of the track called `file_name`,
/// through the engine, opened with `passphrase`; returns the sorted file
/// names of every track that references that chunk.
pub(crate) fn corrupt_a_chunk_of(
    vault: &Path,
    passphrase: &str,
    file_name: &str,
) -> Result<Vec<String>> {
    use audiovault_engine::{LockedVault, Passphrase, TrackFilter};
    let v = LockedVault::open(vault)
        .and_then(|l| l.unlock(&Passphrase::new(passphrase)))
        .map_err(|e| format!("opening the vault in the test: {e}"))?;
    let tracks = v.tracks(TrackFilter::All).map_err(|e| e.to_string())?;
    let victim = tracks
        .iter()
        .find(|t| t.file_name == file_name)
        .ok_or_else(|| format!("no track named {file_name}"))?;
    let chunk = v
        .track_details(&victim.id)
        .map_err(|e| e.to_string())?
        .chunks
        .into_iter()
        .next()
        .ok_or("the track has no chunks")?;
    let path = v.store().path_of(&chunk.id);
    let mut bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut broken = Vec::new();
    for t in &tracks {
        let chunks = v.track_details(&t.id).map_err(|e| e.to_string())?.chunks;
        if chunks.iter().any(|c| c.id == chunk.id) {
            broken.push(t.file_name.clone());
        }
    }
    broken.sort();
    Ok(broken)
}

/// WebDriver's codes for the keys a person presses (the W3C spec's key table).
const KEY_TAB: &str = "\u{E004}";
const KEY_ENTER: &str = "\u{E007}";
const KEY_SHIFT: &str = "\u{E008}";
const KEY_ESCAPE: &str = "\u{E00C}";
const KEY_END: &str = "\u{E010}";
const KEY_HOME: &str = "\u{E011}";
const KEY_DOWN: &str = "\u{E015}";

/// The ids of the selected rows, and the row the table's focus points at.
fn selection(s: &Session) -> Result<(Vec<String>, Option<String>)> {
    let v = s.exec(
        "const grid = document.querySelector('[data-testid=track-grid]');
         const sel = [...document.querySelectorAll('[data-testid=track-row][aria-selected=true]')].map(r => r.dataset.id);
         const active = grid.getAttribute('aria-activedescendant');
         return [sel, active ? active.replace('track-row-', '') : null];",
        vec![],
    )?;
    let ids = v[0]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok((ids, v[1].as_str().map(String::from)))
}

/// Focus order and keyboard use: every tab stop has a name, the stops follow the
/// layout (sidebar, toolbar, table), the table is one stop, and in it the arrows
/// move and extend the selection and Enter plays.
fn keyboard(s: &Session, shots: &Shots) -> Result<()> {
    step("keyboard: focus order, names, and the table's arrows");
    type_into(s, "[data-testid=search]", "")?;
    s.wait(SHORT, "rows to move through", || {
        Ok((rows(s)?.len() >= 3).then_some(()))
    })?;
    // The sequential focus order is the DOM order of the tab stops (no positive
    // tabindex may reorder it); each must say what it is.
    let audit = s.exec(
        "const stops = [...document.querySelectorAll('button, input, select, textarea, a[href], [tabindex]')]
           .filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length > 0);
         const name = el => (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
           || el.getAttribute('title') || el.getAttribute('placeholder') || el.textContent || '').trim();
         return {
           positive: [...document.querySelectorAll('[tabindex]')].filter(el => el.tabIndex > 0).map(el => el.outerHTML.slice(0, 80)),
           unnamed: stops.filter(el => !name(el)).map(el => el.outerHTML.slice(0, 120)),
           order: stops.map(el => el.dataset.nav ? 'nav' : el.dataset.testid === 'search' ? 'search'
             : el.dataset.testid === 'add-files' ? 'add-files' : el.dataset.sort ? 'header'
             : el.dataset.testid === 'track-grid' ? 'grid' : el.dataset.testid === 'play-pause' ? 'player' : 'other'),
           rowStops: document.querySelectorAll('[data-testid=track-row][tabindex]:not([tabindex=\"-1\"])').length,
         };",
        vec![],
    )?;
    if audit["positive"].as_array().is_some_and(|a| !a.is_empty()) {
        return Err(format!(
            "a positive tabindex reorders the focus: {}",
            audit["positive"]
        ));
    }
    if audit["unnamed"].as_array().is_some_and(|a| !a.is_empty()) {
        return Err(format!(
            "tab stops without an accessible name: {}",
            audit["unnamed"]
        ));
    }
    if audit["rowStops"] != json!(0) {
        return Err(format!(
            "{} rows are tab stops of their own",
            audit["rowStops"]
        ));
    }
    let order: Vec<&str> = audit["order"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let first = |what: &str| {
        order
            .iter()
            .position(|o| *o == what)
            .ok_or_else(|| format!("no {what} among the tab stops: {order:?}"))
    };
    let (nav, search, add, grid, header) = (
        first("nav")?,
        first("search")?,
        first("add-files")?,
        first("grid")?,
        first("header")?,
    );
    if !(nav < search && search < add && add < grid && grid < header) {
        return Err(format!(
            "the focus order does not follow the layout: {order:?}"
        ));
    }
    if order.iter().filter(|o| **o == "grid").count() != 1 {
        return Err(format!("the table must be one tab stop: {order:?}"));
    }

    // Tab from the toolbar's last button reaches the table.
    let add_files = s.find("[data-testid=add-files]")?;
    s.exec("arguments[0].focus();", vec![add_files.to_json()])?;
    s.send_keys(&add_files, KEY_TAB)?;
    let focused = s.exec(
        "return document.activeElement.dataset.testid || null;",
        vec![],
    )?;
    if focused != json!("track-grid") {
        return Err(format!(
            "Tab from Add files… went to {focused}, not the table"
        ));
    }
    let grid_el = s.find("[data-testid=track-grid]")?;
    // Home selects the first row and scrolls to it; the rows on screen then
    // start with it.
    s.send_keys(&grid_el, KEY_HOME)?;
    let all = s.wait(SHORT, "Home to select the first row", || {
        let (sel, active) = selection(s)?;
        let shown = rows(s)?;
        let first = shown
            .first()
            .and_then(|r| r["id"].as_str())
            .map(String::from);
        Ok((sel.len() == 1
            && active.as_ref() == sel.first()
            && first == active
            && shown.len() >= 3)
            .then_some(shown))
    })?;
    let id = |i: usize| all[i]["id"].as_str().unwrap_or_default().to_string();
    s.send_keys(&grid_el, KEY_DOWN)?;
    s.wait(SHORT, "the arrow to move to the second row", || {
        Ok((selection(s)? == (vec![id(1)], Some(id(1)))).then_some(()))
    })?;
    // Shift+Down extends from the second row to the third (the chord is one
    // send: Shift stays down until the end of the sequence).
    s.send_keys(&grid_el, &format!("{KEY_SHIFT}{KEY_DOWN}"))?;
    s.wait(SHORT, "Shift+Down to extend the selection", || {
        let (mut sel, active) = selection(s)?;
        sel.sort();
        let mut want = vec![id(1), id(2)];
        want.sort();
        Ok((sel == want && active == Some(id(2))).then_some(()))
    })?;
    shots.take(s, "15-keyboard-selection")?;
    s.send_keys(&grid_el, KEY_END)?;
    let last = s.wait(SHORT, "End to reach the last row", || {
        let (sel, active) = selection(s)?;
        let loaded = rows(s)?;
        Ok((sel.len() == 1
            && active.as_ref() == sel.first()
            && loaded.last().map(|r| r["id"].clone()) == active.clone().map(Value::from))
        .then_some(sel[0].clone()))
    })?;
    let last_title = rows(s)?
        .into_iter()
        .find(|r| r["id"] == json!(last))
        .and_then(|r| r["title"].as_str().map(String::from))
        .unwrap_or_default();
    // Enter plays the focused row.
    s.send_keys(&grid_el, KEY_ENTER)?;
    let seen = std::cell::RefCell::new(String::new());
    s.wait(SHORT, "Enter to play the focused row", || {
        let now = s
            .exec(
                "const el = document.querySelector('[data-testid=now-playing]');
                 return el ? el.textContent.trim() : '';",
                vec![],
            )?
            .as_str()
            .unwrap_or_default()
            .to_string();
        *seen.borrow_mut() = now.clone();
        Ok((now == last_title).then_some(()))
    })
    .map_err(|e| format!("{e} (playing {:?}, focused {last_title:?})", seen.borrow()))?;
    s.wait(LONG, "the audio to start", || {
        let a = audio_state(s)?;
        Ok((a["paused"] == json!(false) && a["time"].as_f64().unwrap_or(0.0) > 0.0).then_some(()))
    })?;
    s.click(&s.find("[data-testid=play-pause]")?)?;
    s.wait(SHORT, "the audio to pause", || {
        Ok((audio_state(s)?["paused"] == json!(true)).then_some(()))
    })?;
    Ok(())
}

/// Settings: a wrong current passphrase is refused; a right one changes it; the
/// old one stops opening the vault and the new one opens it; neither is kept in
/// the web view's storage.
fn passphrase_change(s: &Session, shots: &Shots) -> Result<()> {
    step("settings: change the passphrase");
    s.click(&s.find("[data-nav=settings]")?)?;
    s.wait_for("[data-testid=passphrase-form]", SHORT)?;
    // The import settings come from the vault, and a saved one goes back to it.
    let ext = s.wait(SHORT, "the allowed extensions", || {
        let el = s.find("[data-testid=settings-extensions]")?;
        let v = s.property(&el, "value")?;
        Ok(v.as_str().filter(|v| !v.is_empty()).map(str::to_string))
    })?;
    if !(ext.contains("flac") && ext.contains("opus")) {
        return Err(format!("allowed extensions shown: {ext}"));
    }
    type_into(s, "[data-testid=settings-quota]", "500000000000")?;
    s.click(&s.find("[data-testid=settings-save]")?)?;
    s.wait(SHORT, "the settings to be saved", || {
        Ok(toasts(s)?.contains("Import settings saved").then_some(()))
    })?;
    s.click(&s.find("[data-nav=storage]")?)?;
    s.wait(SHORT, "the size limit in the storage view", || {
        let t = s.text(&s.wait_for("[data-testid=storage]", SHORT)?)?;
        Ok(t.contains("of 500 GB used").then_some(()))
    })?;
    s.click(&s.find("[data-nav=settings]")?)?;
    s.wait_for("[data-testid=passphrase-form]", SHORT)?;
    type_into(s, "[data-testid=current-passphrase]", "not the passphrase")?;
    type_into(s, "[data-testid=new-passphrase]", NEW_PASSPHRASE)?;
    type_into(s, "[data-testid=repeat-passphrase]", "something else")?;
    let change = s.find("[data-testid=change-passphrase]")?;
    if s.property(&change, "disabled")? != json!(true) {
        return Err("Change passphrase is enabled while the new ones differ".into());
    }
    type_into(s, "[data-testid=repeat-passphrase]", NEW_PASSPHRASE)?;
    s.click(&change)?;
    let err = s.wait_for("[data-testid=passphrase-error]", LONG)?;
    let err = s.text(&err)?;
    if !err.contains("not right") {
        return Err(format!("a wrong current passphrase says: {err}"));
    }
    type_into(s, "[data-testid=current-passphrase]", PASSPHRASE)?;
    shots.take(s, "14-settings")?;
    s.click(&s.find("[data-testid=change-passphrase]")?)?;
    s.wait(LONG, "the passphrase to change", || {
        Ok(toasts(s)?.contains("Passphrase changed").then_some(()))
    })?;
    let stored = s.exec(
        "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie;",
        vec![],
    )?;
    let stored = stored.as_str().unwrap_or_default();
    if stored.contains(PASSPHRASE) || stored.contains(NEW_PASSPHRASE) {
        return Err("a passphrase is kept in the web view's storage".into());
    }
    s.click(&s.find("[data-testid=lock]")?)?;
    s.wait_for("[data-testid=unlock-form]", SHORT)?;
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait(LONG, "the old passphrase to be refused", || {
        Ok(s.find_all("[role=alert]")?.into_iter().next())
    })?;
    type_into(s, "[data-testid=passphrase]", NEW_PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait_for("[data-testid=summary]", LONG)?;
    Ok(())
}

/// The window comes back at the size and place it had: a first run moves and
/// resizes it (saved by tauri-plugin-window-state to `.window-state.json`, half
/// a second after the move), a second run opens there.
/// The app's first screen after a relaunch: the unlock form, or the library.
const APP_READY: &str = "[data-testid=unlock-form], [data-testid=lock]";

fn window_state(driver: &TauriDriver, app: &Path, config: &Path, shots: &Shots) -> Result<()> {
    step("window size and position are remembered");
    let file = config.join(".window-state.json");
    let read = || -> Option<Value> { serde_json::from_slice(&fs::read(&file).ok()?).ok() };
    let first = driver.session(app)?;
    let result = (|| -> Result<(Value, Value)> {
        // Locked, or unlocked from the OS keyring when the test session has one
        // and an unlock asked to remember the key: either way the window is up.
        first.wait_for(APP_READY, LONG)?;
        match first.set_window_rect(40, 30, 1000, 650) {
            Ok(r) => eprintln!("  WebDriver set the window to {r}"),
            Err(e) => {
                eprintln!("  WebDriver could not set the window rect ({e}); using the saved file")
            }
        }
        let saved = first.wait(SHORT, "the state file with the new size", || {
            Ok(read()
                .filter(|v| v["main"]["width"] == json!(1000) && v["main"]["height"] == json!(650)))
        })?;
        // The page's own size: the window's less the menu bar.
        let page = first.exec("return [window.innerWidth, window.innerHeight];", vec![])?;
        Ok((saved, page))
    })();
    let _ = first.delete();
    let (saved, page) = result.map_err(|e| format!("the window's new size was not saved: {e}"))?;
    eprintln!("  saved: {saved}; the page was {page}");
    let second = driver.session(app)?;
    let result = (|| {
        second.wait_for(APP_READY, LONG)?;
        second.wait(SHORT, "the window at its saved size", || {
            let v = second.exec(
                "return [window.innerWidth, window.innerHeight, window.screenX, window.screenY];",
                vec![],
            )?;
            let n = |i: usize| v[i].as_i64().unwrap_or(-1);
            eprintln!("  window now {v}");
            Ok((json!([n(0), n(1)]) == page).then_some(()))
        })?;
        shots.take(&second, "15-window-restored")
    })();
    let _ = second.delete();
    result
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

/// Light and dark follow the system: with GTK's dark theme the web view reports
/// `prefers-color-scheme: dark` and the window paints dark (a screenshot is kept).
fn dark_mode(envs: &[(&str, String)], app: &Path, shots: &Shots) -> Result<()> {
    step("dark mode follows the system theme");
    let mut envs = envs.to_vec();
    envs.push(("GTK_THEME", "Adwaita:dark".to_string()));
    let driver = TauriDriver::start(&envs)?;
    let s = driver.session(app)?;
    let result = (|| {
        s.wait_for(APP_READY, LONG)?;
        let v = s.exec(
            "const bg = getComputedStyle(document.body).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number);
             return [matchMedia('(prefers-color-scheme: dark)').matches, bg];",
            vec![],
        )?;
        eprintln!("  prefers dark, body background: {v}");
        shots.take(&s, "17-dark")?;
        if v[0] != json!(true) {
            return Err(format!(
                "the web view does not report a dark preference under GTK_THEME=Adwaita:dark: {v}"
            ));
        }
        let rgb: Vec<f64> = v[1]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let luma = rgb
            .iter()
            .take(3)
            .zip([0.2126, 0.7152, 0.0722])
            .map(|(c, w)| c / 255.0 * w)
            .sum::<f64>();
        if rgb.len() < 3 || luma > 0.3 {
            return Err(format!("dark preference, but the window paints light: {v}"));
        }
        Ok(())
    })();
    let _ = s.delete();
    result
}
