//! Cloud sync in the real window against a real S3 server (Garage on loopback,
//! from the `audiovault-tests` harness) and a real Secret Service (a private
//! D-Bus session with gnome-keyring, unlocked with a throwaway password):
//!
//! 1. a new vault imports three generated WAV files; the Cloud view takes the
//!    remote; a wrong secret makes Test connection fail at "reach the bucket" with
//!    access denied; the right one passes every step; Push finishes, the last-sync
//!    time shows, and the library and the details drawer say "both";
//! 2. a damaged chunk found by Verify is repaired from the cloud;
//! 3. a fresh app (new, empty data folder) restores the vault from the cloud on the
//!    first-run screen: same titles, same count, and an exported file has the
//!    source's SHA-256;
//! 4. that second device imports a track and pushes; the first one's Cloud view
//!    then lists both devices and says one new track (and its size) is waiting;
//!    Pull (pressed from the keyboard) brings it, and nothing waits any more;
//! 5. the first device starts a push slowed down by the fault proxy (which sits
//!    between it and Garage from the start) and locks while it runs: "Locking…",
//!    then the unlock form saying the push was cancelled; the playback URL the page
//!    held gets nothing; after unlocking, a push completes and the remote
//!    verifies with every track in the newest catalog.
//!
//! Skips, saying why, without Garage (unless `CI` is set: then the harness fails)
//! or without dbus-daemon / gnome-keyring-daemon.

use std::process::{Child, Stdio};
use std::time::Instant;

use audiovault_tests::Garage;
use audiovault_tests::fault_proxy::{Fault, FaultProxy};

use super::*;

const CLOUD_PASSPHRASE: &str = "cloud e2e passphrase, long enough";
const PREFIX: &str = "e2e-vault";
/// Title (file stem) and size of each generated track.
const TRACKS: [(&str, u32); 3] = [
    ("Cloud Anthem", 3 << 20),
    ("Harbor Lights", 2 << 20),
    ("Quiet Coda", 1 << 20),
];

/// A private D-Bus session bus with gnome-keyring's Secret Service on it; both
/// stop on drop.
struct PrivateKeyring {
    bus: Child,
    keyring: Option<Child>,
    address: String,
}

impl PrivateKeyring {
    fn start(dir: &Path) -> Result<PrivateKeyring> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let data = dir.join("keyring-data");
        let run = dir.join("keyring-run");
        fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        fs::create_dir_all(&run).map_err(|e| e.to_string())?;
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("dbus-daemon (apt-get install dbus): {e}"))?;
        // From here on, dropping `keyring` stops whatever was started.
        let mut keyring = PrivateKeyring {
            bus,
            keyring: None,
            address,
        };
        let start = Instant::now();
        while !socket.exists() {
            if start.elapsed() > SHORT {
                return Err("the private D-Bus session did not start".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("gnome-keyring-daemon (apt-get install gnome-keyring): {e}"))?;
        // The new login keyring's password, then end of input.
        let stdin = daemon.stdin.take();
        keyring.keyring = Some(daemon);
        if let Some(mut stdin) = stdin {
            stdin
                .write_all(b"audiovault-e2e")
                .map_err(|e| e.to_string())?;
        }
        // Ready once org.freedesktop.secrets is on the bus.
        loop {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.ListNames",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
                .output()
                .map_err(|e| format!("dbus-send: {e}"))?;
            if String::from_utf8_lossy(&out.stdout).contains("org.freedesktop.secrets") {
                return Ok(keyring);
            }
            if start.elapsed() > SHORT {
                return Err("gnome-keyring's Secret Service did not appear on the bus".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        if let Some(k) = &mut self.keyring {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn app_envs(
    tmp: &Path,
    name: &str,
    vault: &Path,
    bus: &str,
) -> Result<(Vec<(&'static str, String)>, PathBuf)> {
    let home = tmp.join(format!("home-{name}"));
    let exported = tmp.join(format!("exported-{name}"));
    fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    fs::create_dir_all(&exported).map_err(|e| e.to_string())?;
    let mut envs = sandbox_envs(vault, &home, false);
    envs.push((
        "AUDIOVAULT_AUTOMATION_PICK_FOLDER",
        exported.to_string_lossy().into_owned(),
    ));
    envs.push(("DBUS_SESSION_BUS_ADDRESS", bus.to_string()));
    Ok((envs, exported))
}

fn check(s: &Session, css: &str, on: bool) -> Result<()> {
    let el = s.wait_for(css, SHORT)?;
    if s.property(&el, "checked")? != json!(on) {
        s.click(&el)?;
    }
    Ok(())
}

/// `data-*` values of every element matching `css`.
fn data_of(s: &Session, css: &str, key: &str) -> Result<Vec<String>> {
    let v = s.exec(
        "const [css, key] = arguments;
         return [...document.querySelectorAll(css)].map(e => e.dataset[key] ?? '');",
        vec![json!(css), json!(key)],
    )?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

fn text_of(s: &Session, css: &str) -> Result<String> {
    s.text(&s.wait_for(css, SHORT)?)
}

#[test]
fn cloud_sync_end_to_end() {
    let Some(shots) = suite() else { return };
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let keyring = match PrivateKeyring::start(tmp.path()) {
        Ok(k) => k,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: no private Secret Service for the access keys: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let music = tmp.path().join("music");
    fs::create_dir_all(&music).expect("music folder");
    let mut sources = HashMap::new();
    for (i, (title, size)) in TRACKS.iter().enumerate() {
        let path = music.join(format!("{title}.wav"));
        write_wav(&path, *size, 100 + i as u64).expect("write a WAV");
        sources.insert(title.to_string(), path);
    }

    // Device A reaches Garage through the fault proxy (no fault until step 5).
    let proxy = FaultProxy::start(garage.s3_addr());
    let vault_a = tmp.path().join("vault-a");
    let (envs_a, _) = app_envs(tmp.path(), "a", &vault_a, &keyring.address).expect("environment");
    let outcome = with_app(&envs_a, &shots, "cloud-source", |s| {
        source_device(s, &shots, &garage, &proxy.endpoint(), &music, &vault_a)
    });
    let outcome = outcome.and_then(|()| {
        let vault_b = tmp.path().join("restored").join("Audiovault");
        let (envs_b, exported) = app_envs(tmp.path(), "b", &vault_b, &keyring.address)?;
        with_app(&envs_b, &shots, "cloud-restore", |s| {
            restore_device(s, &shots, &garage, &vault_b, &exported, &sources)?;
            second_device_pushes(s, &shots, tmp.path())
        })
    });
    let outcome = outcome.and_then(|()| {
        with_app(&envs_a, &shots, "cloud-devices", |s| {
            first_device_pulls(s, &shots)?;
            lock_during_a_push(s, &shots, &garage, &proxy, &vault_a, tmp.path())
        })
    });
    drop(proxy);
    drop(keyring);
    if let Err(e) = outcome {
        panic!("{e}\n--- garage log ---\n{}", garage.log_tail());
    }
}

fn fill_remote(s: &Session, garage: &Garage, endpoint: &str, secret: &str) -> Result<()> {
    type_into(s, "[data-testid=remote-endpoint]", endpoint)?;
    type_into(s, "[data-testid=remote-region]", garage.region())?;
    type_into(s, "[data-testid=remote-bucket]", garage.bucket())?;
    type_into(s, "[data-testid=remote-prefix]", PREFIX)?;
    check(s, "[data-testid=remote-path-style]", true)?;
    type_into(s, "[data-testid=remote-key-id]", garage.access_key())?;
    type_into(s, "[data-testid=remote-secret]", secret)
}

fn save_remote(s: &Session) -> Result<()> {
    let save = s.wait_for("[data-testid=remote-save]", SHORT)?;
    if s.property(&save, "disabled")? == json!(true) {
        let problem = s
            .find_all("[data-testid=remote-problem]")?
            .into_iter()
            .next()
            .map(|p| s.text(&p))
            .transpose()?;
        return Err(format!("Save is disabled before saving: {problem:?}"));
    }
    s.click(&save)?;
    // Saved: the form equals what is stored again, so Save rests disabled.
    s.wait(LONG, "the remote to be saved", || {
        let t = toasts(s)?;
        if t.contains("was not saved") {
            return Err(format!("saving the remote failed: {t}"));
        }
        let at_rest = s.text(&save)? == "Save" && s.property(&save, "disabled")? == json!(true);
        Ok(at_rest.then_some(()))
    })?;
    let keys = text_of(s, "[data-testid=cloud-keys]")?;
    if !keys.contains("stored in the OS keyring") {
        return Err(format!("the access keys are not in the keyring: {keys:?}"));
    }
    let secret = s.find("[data-testid=remote-secret]")?;
    if s.property(&secret, "value")? != json!("")
        || s.property(&secret, "placeholder")? != json!("stored in keyring")
    {
        return Err("the secret field should be empty, showing 'stored in keyring'".into());
    }
    Ok(())
}

/// A connection-test line as shown: its text, whether it passed, the error kind.
type StepShown = (String, bool, String);

/// Clicks Test connection; returns the steps shown and the verdict line.
fn test_connection(s: &Session) -> Result<(Vec<StepShown>, String)> {
    s.click(&s.wait_for("[data-testid=remote-test]", SHORT)?)?;
    s.wait(LONG, "the connection report", || {
        Ok(s.find_all("[data-testid=connection-report]")?
            .into_iter()
            .next())
    })?;
    let v = s.exec(
        "return [...document.querySelectorAll('[data-testid=connection-step]')].map(e =>
           [e.textContent.trim(), e.dataset.ok === 'true', e.dataset.kind]);",
        vec![],
    )?;
    let steps = v
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|st| {
            (
                st[0].as_str().unwrap_or_default().to_string(),
                st[1] == json!(true),
                st[2].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Ok((steps, text_of(s, "[data-testid=connection-verdict]")?))
}

fn source_device(
    s: &Session,
    shots: &Shots,
    garage: &Garage,
    endpoint: &str,
    music: &Path,
    vault: &Path,
) -> Result<()> {
    step("cloud: a new vault with three tracks");
    s.wait_for("[data-testid=vault-dir]", LONG)?;
    type_into(s, "[data-testid=passphrase]", CLOUD_PASSPHRASE)?;
    type_into(s, "[data-testid=passphrase-repeat]", CLOUD_PASSPHRASE)?;
    check(s, "[data-testid=remember]", false)?;
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
    let locations = data_of(s, "[data-testid=track-row] [data-col=location]", "location")?;
    if locations != ["local", "local", "local"] {
        return Err(format!("before a push every track is local: {locations:?}"));
    }

    step("cloud: a wrong secret fails the connection test, named");
    s.click(&s.find("[data-nav=cloud]")?)?;
    s.wait_for("[data-testid=remote-form][data-loaded=true]", SHORT)?;
    if text_of(s, "[data-testid=last-sync]")? != "Not set up" {
        return Err("a new vault's Cloud view should say 'Not set up'".into());
    }
    let wrong = "0".repeat(garage.secret_key().len());
    fill_remote(s, garage, endpoint, &wrong)?;
    shots.take(s, "20-cloud-form")?;
    save_remote(s)?;
    let (steps, verdict) = test_connection(s)?;
    eprintln!("  wrong secret: {steps:?} {verdict}");
    match steps.as_slice() {
        [(first, false, kind)]
            if kind == "remote_access_denied"
                && first.contains("reach the bucket")
                && first.contains("access denied") => {}
        other => {
            return Err(format!(
                "a wrong secret should fail the first step with access denied, got {other:?}"
            ));
        }
    }
    if !verdict.ends_with("not usable") {
        return Err(format!("the verdict after a failed test: {verdict}"));
    }
    s.wait(SHORT, "the failure notification", || {
        Ok(toasts(s)?
            .contains("Connection test failed: reach the bucket")
            .then_some(()))
    })?;
    if toasts(s)?.contains(&wrong) {
        return Err("the notification shows the secret".into());
    }
    shots.take(s, "21-cloud-test-failed")?;

    step("cloud: the right secret passes every step");
    type_into(s, "[data-testid=remote-secret]", garage.secret_key())?;
    save_remote(s)?;
    let (steps, verdict) = test_connection(s)?;
    let names: Vec<&str> = steps.iter().map(|(n, _, _)| n.as_str()).collect();
    if steps.len() != 4 || steps.iter().any(|(_, ok, _)| !ok) {
        return Err(format!(
            "the connection test with the right keys: {steps:?}"
        ));
    }
    if !names[1].contains("write a probe object") || !verdict.ends_with("ready") {
        return Err(format!("unexpected steps {names:?} / verdict {verdict}"));
    }
    shots.take(s, "22-cloud-test-ok")?;
    let page = s.exec(
        "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie
              + document.documentElement.outerHTML
              + [...document.querySelectorAll('input')].map(i => i.value).join('|');",
        vec![],
    )?;
    if page
        .as_str()
        .unwrap_or_default()
        .contains(garage.secret_key())
    {
        return Err("the S3 secret is in the web view (DOM, inputs or storage)".into());
    }

    step("cloud: push, then the last-sync time");
    s.click(&s.find("[data-testid=cloud-push]")?)?;
    let result = s.wait(LONG, "the push to finish", || {
        if let Some(e) = s.find_all("[data-testid=cloud-error]")?.into_iter().next() {
            return Err(format!("the push failed: {}", s.text(&e)?));
        }
        Ok(s.find_all("[data-testid=cloud-result]")?.into_iter().next())
    })?;
    let result = s.text(&result)?;
    eprintln!("  {result}");
    if !result.starts_with("Pushed ") || !result.contains("the cloud catalog has 3 tracks") {
        return Err(format!("the push says: {result}"));
    }
    let progress = text_of(s, "[data-testid=cloud-progress]")?;
    if !progress.contains(" objects · ") && !progress.contains(" object · ") {
        return Err(format!("the push's progress line: {progress}"));
    }
    s.wait(SHORT, "the last-sync time", || {
        let t = text_of(s, "[data-testid=last-sync]")?;
        Ok(t.starts_with("Last synced 20").then_some(t))
    })?;
    let summary = text_of(s, "[data-testid=cloud-summary]")?;
    if !summary.starts_with("3 tracks in the cloud · 0 tracks only on this device") {
        return Err(format!("the Cloud view after a push: {summary}"));
    }
    if !text_of(s, "[data-testid=sidebar-cloud]")?.starts_with("Cloud: synced") {
        return Err("the sidebar does not show the sync".into());
    }
    shots.take(s, "23-cloud-pushed")?;
    let keys: Vec<String> = garage
        .list_keys(&format!("{PREFIX}/"))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for want in ["vault.json", "catalogs/", "packs/", "index/"] {
        if !keys.iter().any(|k| k.contains(want)) {
            return Err(format!("no {want} in the bucket after a push: {keys:?}"));
        }
    }

    step("cloud: the library and the details say both");
    s.click(&s.find("[data-nav=library]")?)?;
    s.wait(SHORT, "every row stored on both", || {
        let l = data_of(s, "[data-testid=track-row] [data-col=location]", "location")?;
        Ok((l == ["both", "both", "both"]).then_some(()))
    })?;
    let label = s.exec(
        "return document.querySelector('[data-testid=track-row] [data-col=location]').getAttribute('aria-label');",
        vec![],
    )?;
    if label != json!("On this device and in the cloud") {
        return Err(format!("the location cell's accessible label: {label}"));
    }
    let row = search_for(s, "Harbor Lights")?;
    click_row(s, row["id"].as_str().unwrap_or_default())?;
    s.wait(SHORT, "the details' Stored line", || {
        let t = text_of(s, "[data-testid=details-location]")?;
        Ok((t == "This device and cloud").then_some(()))
    })?;
    shots.take(s, "24-cloud-both")?;
    type_into(s, "[data-testid=search]", "")?;

    step("cloud: a damaged chunk is repaired from the cloud");
    let broken = corrupt_a_chunk_of(vault, CLOUD_PASSPHRASE, "Quiet Coda.wav")?;
    s.click(&s.find("[data-nav=storage]")?)?;
    s.click(&s.wait_for("[data-testid=verify]", SHORT)?)?;
    s.wait(LONG, "the damaged track", || {
        Ok(s.find_all("[data-testid=damaged-track]")?
            .into_iter()
            .next())
    })?;
    s.click(&s.wait_for("[data-testid=repair-from-cloud]", SHORT)?)?;
    let summary = s.wait(LONG, "the repair report", || {
        Ok(s.find_all("[data-testid=repair-summary]")?
            .into_iter()
            .next())
    })?;
    let summary = s.text(&summary)?;
    let repaired: Vec<String> = s
        .exec(
            "return [...document.querySelectorAll('[data-testid=repaired-track] .name')].map(e => e.textContent.trim());",
            vec![],
        )?
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    eprintln!("  {summary} {repaired:?}");
    if repaired != broken || !summary.starts_with("Repaired 1 track from the cloud") {
        return Err(format!(
            "repair says {summary:?} for {repaired:?}; the damage broke {broken:?}"
        ));
    }
    shots.take(s, "25-repaired")?;
    s.click(&s.find("[data-testid=tray-close]")?)?;
    s.click(&s.wait_for("[data-testid=verify]", SHORT)?)?;
    let clean = s.wait(LONG, "the verify after the repair", || {
        Ok(s.find_all("[data-testid=verify-summary]")?
            .into_iter()
            .next())
    })?;
    let clean = s.text(&clean)?;
    if !clean.starts_with("All 3 tracks intact") {
        return Err(format!("verify after the repair: {clean}"));
    }
    Ok(())
}

fn restore_device(
    s: &Session,
    shots: &Shots,
    garage: &Garage,
    vault: &Path,
    exported: &Path,
    sources: &HashMap<String, PathBuf>,
) -> Result<()> {
    step("restore: a fresh app restores the vault from the cloud");
    s.click(&s.wait_for("[data-testid=restore-from-cloud]", LONG)?)?;
    let dir = s.wait_for("[data-testid=restore-dir]", SHORT)?;
    if s.property(&dir, "value")? != json!(vault.to_string_lossy()) {
        return Err(format!(
            "the restore folder should be prefilled with {}",
            vault.display()
        ));
    }
    type_into(s, "[data-testid=restore-endpoint]", &garage.endpoint())?;
    type_into(s, "[data-testid=restore-region]", garage.region())?;
    type_into(s, "[data-testid=restore-bucket]", garage.bucket())?;
    type_into(s, "[data-testid=restore-prefix]", PREFIX)?;
    check(s, "[data-testid=restore-path-style]", true)?;
    type_into(s, "[data-testid=restore-key-id]", garage.access_key())?;
    type_into(s, "[data-testid=restore-secret]", garage.secret_key())?;
    // A wrong passphrase is refused, and leaves nothing behind.
    type_into(s, "[data-testid=restore-passphrase]", "not the passphrase")?;
    check(s, "[data-testid=restore-remember]", false)?;
    s.click(&s.find("[data-testid=restore-start]")?)?;
    let err = s.wait(LONG, "the wrong-passphrase message", || {
        Ok(s.find_all("[data-testid=restore-error]")?
            .into_iter()
            .next())
    })?;
    let err = s.text(&err)?;
    if !err.contains("passphrase does not open") {
        return Err(format!("a wrong passphrase says: {err}"));
    }
    if vault.join("vault.json").exists() {
        return Err("a refused restore left a vault.json behind".into());
    }
    type_into(s, "[data-testid=restore-passphrase]", CLOUD_PASSPHRASE)?;
    shots.take(s, "26-restore-form")?;
    s.click(&s.find("[data-testid=restore-start]")?)?;
    s.wait(LONG, "the restored library", || {
        if let Some(e) = s
            .find_all("[data-testid=restore-error]")?
            .into_iter()
            .next()
        {
            return Err(format!("the restore failed: {}", s.text(&e)?));
        }
        Ok(s.find_all("[data-testid=summary]")?.into_iter().next())
    })?;
    wait_footer(s, sources.len())?;
    let mut titles: Vec<String> = rows(s)?
        .iter()
        .filter_map(|r| r["title"].as_str().map(str::to_string))
        .collect();
    titles.sort();
    let mut want: Vec<String> = sources.keys().cloned().collect();
    want.sort();
    if titles != want {
        return Err(format!("restored titles {titles:?}, pushed {want:?}"));
    }
    let locations = data_of(s, "[data-testid=track-row] [data-col=location]", "location")?;
    if locations.len() != 3 || locations.iter().any(|l| l != "both") {
        return Err(format!("restored tracks are on both: {locations:?}"));
    }
    shots.take(s, "27-restored-library")?;

    step("restore: an exported track is byte-identical to the source");
    let row = search_for(s, "Cloud Anthem")?;
    click_row(s, row["id"].as_str().unwrap_or_default())?;
    s.click(&s.wait_for("[data-testid=details-export]", SHORT)?)?;
    s.wait_for("[data-testid=export-summary]", LONG)?;
    let out = exported.join("Cloud Anthem.wav");
    let source = &sources["Cloud Anthem"];
    if sha256_file(&out)? != sha256_file(source)? {
        return Err("the restored track's export differs from the source file".into());
    }
    s.click(&s.find("[data-testid=tray-close]")?)?;

    step("restore: the Cloud view knows the remote and the keys");
    s.click(&s.find("[data-nav=cloud]")?)?;
    s.wait(SHORT, "the restored remote's settings", || {
        let bucket = s.property(&s.wait_for("[data-testid=remote-bucket]", SHORT)?, "value")?;
        let keys = text_of(s, "[data-testid=cloud-keys]")?;
        Ok((bucket == json!(garage.bucket()) && keys.contains("OS keyring")).then_some(()))
    })?;
    let last = text_of(s, "[data-testid=last-sync]")?;
    if !last.ends_with("(pulled)") {
        return Err(format!("after a restore the last sync is the pull: {last}"));
    }
    shots.take(s, "28-restored-cloud")?;
    Ok(())
}

/// Title and size of the track the second device adds, and of the one the first
/// device adds before its slowed-down push.
const FROM_B: (&str, u32) = ("Night Train", 2 << 20);
const LATE: (&str, u32) = ("Late Addition", 6 << 20);

/// Waits until the Cloud view has listed the devices (not loading any more).
fn devices_listed(s: &Session) -> Result<()> {
    s.wait(LONG, "the devices to be listed", || {
        if let Some(e) = s.find_all("[data-testid=devices-error]")?.into_iter().next() {
            return Err(format!("listing the devices failed: {}", s.text(&e)?));
        }
        let el = s.wait_for("[data-testid=cloud-devices]", SHORT)?;
        let loaded = s.exec(
            "const el = arguments[0]; return el.dataset.loaded === 'true' && el.dataset.loading === 'false';",
            vec![el.to_json()],
        )?;
        Ok((loaded == json!(true)).then_some(()))
    })
}

/// The device rows as shown: `{device, this, merged, tracks, name, last}`.
fn device_rows(s: &Session) -> Result<Vec<Value>> {
    let v = s.exec(
        "return [...document.querySelectorAll('[data-testid=device-row]')].map(r => ({
           device: r.dataset.device, this: r.dataset.this === 'true', merged: r.dataset.merged === 'true',
           tracks: r.querySelector('[data-testid=device-tracks]').textContent.trim(),
           name: r.querySelector('th').textContent.trim(),
           last: (r.querySelector('[data-testid=device-last-push]') || {}).textContent || '',
           exact: (r.querySelector('[data-testid=device-last-push]') || {getAttribute: () => ''}).getAttribute('title') || '',
         }));",
        vec![],
    )?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

fn drop_files(s: &Session, paths: &[&Path], summary_starts: &str) -> Result<()> {
    let paths: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    emit(
        s,
        "tauri://drag-drop",
        json!({"paths": paths, "position": {"x": 400, "y": 300}}),
    )?;
    let summary = s.wait(LONG, "the import summary", || {
        let Some(el) = s
            .find_all("[data-testid=import-summary]")?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let t = s.text(&el)?;
        Ok(t.starts_with(summary_starts).then_some(t))
    })?;
    eprintln!("  {summary}");
    s.click(&s.find("[data-testid=tray-close]")?)
}

/// Clicks Push and waits for its result line.
fn push_and_wait(s: &Session) -> Result<String> {
    s.click(&s.wait_for("[data-testid=cloud-push]", SHORT)?)?;
    // The job of this click: a result or an error appears once it ends.
    let result = s.wait(LONG, "the push to finish", || {
        let job = s.find_all("[data-testid=cloud-job][data-running=false]")?;
        if job.is_empty() {
            return Ok(None);
        }
        if let Some(e) = s.find_all("[data-testid=cloud-error]")?.into_iter().next() {
            return Err(format!("the push failed: {}", s.text(&e)?));
        }
        Ok(s.find_all("[data-testid=cloud-result]")?.into_iter().next())
    })?;
    s.text(&result)
}

/// Step 4, on the restored (second) device: a new track, pushed.
fn second_device_pushes(s: &Session, shots: &Shots, tmp: &Path) -> Result<()> {
    step("devices: the second device imports a track and pushes it");
    let dir = tmp.join("music-b");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{}.wav", FROM_B.0));
    write_wav(&path, FROM_B.1, 200)?;
    s.click(&s.find("[data-nav=library]")?)?;
    type_into(s, "[data-testid=search]", "")?;
    drop_files(s, &[&path], "1 file imported")?;
    wait_footer(s, TRACKS.len() + 1)?;
    s.click(&s.find("[data-nav=cloud]")?)?;
    devices_listed(s)?;
    // Before its first push, only the first device has a line, merged here (the restore).
    let rows = device_rows(s)?;
    if rows.len() != 1 || rows[0]["this"] == json!(true) || rows[0]["merged"] != json!(true) {
        return Err(format!(
            "before its push the restored device sees: {rows:?}"
        ));
    }
    let result = push_and_wait(s)?;
    eprintln!("  {result}");
    if !result.contains(&format!(
        "the cloud catalog has {} tracks",
        TRACKS.len() + 1
    )) {
        return Err(format!("the second device's push says: {result}"));
    }
    devices_listed(s)?;
    s.wait(LONG, "both devices listed on the second device", || {
        Ok((device_rows(s)?.len() == 2).then_some(()))
    })?;
    shots.take(s, "29-second-device-pushed")?;
    Ok(())
}

fn unlock(s: &Session) -> Result<()> {
    s.wait_for("[data-testid=unlock-form]", LONG)?;
    type_into(s, "[data-testid=passphrase]", CLOUD_PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait_for("[data-testid=lock]", LONG)?;
    Ok(())
}

/// Step 4, on the first device: two devices, one new track waiting, Pull from
/// the keyboard, then nothing waiting.
fn first_device_pulls(s: &Session, shots: &Shots) -> Result<()> {
    step("devices: the first device sees the second one's push waiting");
    unlock(s)?;
    wait_footer(s, TRACKS.len())?;
    // The Health view says so too (a warning: nothing is at risk), and its link
    // leads to the Cloud view's Pull.
    s.click(&s.find("[data-nav=health]")?)?;
    super::health::wait_health(s, 1)?;
    let checks = super::health::checks(s)?;
    eprintln!("  health: {checks:?}");
    let status_of = |name: &str| {
        checks
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, st)| st.as_str())
    };
    if status_of("unmerged_manifests") != Some("warning") || status_of("remote") != Some("ok") {
        return Err(format!(
            "the Health view with another device's push waiting: {checks:?}"
        ));
    }
    let affected = text_of(s, "[data-check=unmerged_manifests] .affected")?;
    if !affected.contains("(push 1)") {
        return Err(format!("the waiting push is named as {affected:?}"));
    }
    shots.take(s, "30a-health-other-devices")?;
    s.click(&s.find("[data-testid=health-open-cloud]")?)?;
    devices_listed(s)?;
    let rows = device_rows(s)?;
    eprintln!("  devices: {rows:?}");
    let mine: Vec<&Value> = rows.iter().filter(|r| r["this"] == json!(true)).collect();
    let other: Vec<&Value> = rows.iter().filter(|r| r["this"] == json!(false)).collect();
    if rows.len() != 2 || mine.len() != 1 || other.len() != 1 {
        return Err(format!("two devices, one of them this one: {rows:?}"));
    }
    if !mine[0]["name"]
        .as_str()
        .unwrap_or_default()
        .contains("this device")
        || mine[0]["tracks"] != json!(TRACKS.len().to_string())
    {
        return Err(format!("this device's row: {}", mine[0]));
    }
    if other[0]["merged"] != json!(false)
        || other[0]["tracks"] != json!((TRACKS.len() + 1).to_string())
    {
        return Err(format!(
            "the other device's row (not merged yet): {}",
            other[0]
        ));
    }
    for r in &rows {
        let last = r["last"].as_str().unwrap_or_default();
        let exact = r["exact"].as_str().unwrap_or_default();
        if !(last.starts_with("just now") || last.contains("minute"))
            || !exact.ends_with("(your time)")
        {
            return Err(format!(
                "a last push as a relative time with the exact one in a tooltip: {r}"
            ));
        }
    }
    let waiting = s.wait_for("[data-testid=cloud-waiting]", SHORT)?;
    let text = text_of(s, "[data-testid=cloud-waiting-text]")?;
    let bytes: u64 = s
        .exec(
            "return arguments[0].dataset.bytes;",
            vec![waiting.to_json()],
        )?
        .as_str()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    eprintln!("  waiting: {text} ({bytes} bytes)");
    let want = format!("1 new track from another device ({})", format_bytes(bytes));
    // Sealed chunks: the track's bytes and a little per chunk.
    let size = u64::from(FROM_B.1);
    if text != want || bytes < size || bytes > size + size / 50 {
        return Err(format!(
            "waiting says {text:?} for {bytes} bytes; wanted {want:?} near {size}"
        ));
    }
    shots.take(s, "30-devices-waiting")?;

    step("devices: the Cloud view from the keyboard, Pull by Enter");
    let audit = s.exec(
        "const view = document.querySelector('[data-testid=cloud]');
         const stops = [...view.querySelectorAll('button, input, select, a[href], [tabindex]')]
           .filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length > 0);
         const name = el => (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
           || el.getAttribute('title') || el.getAttribute('placeholder') || el.textContent || '').trim();
         const pull = document.querySelector('[data-testid=waiting-pull]');
         const described = document.getElementById(pull.getAttribute('aria-describedby') || '');
         return {
           unnamed: stops.filter(el => !name(el)).map(el => el.outerHTML.slice(0, 120)),
           refresh: stops.includes(document.querySelector('[data-testid=devices-refresh]')),
           pull: stops.includes(pull),
           described: described ? described.textContent.trim() : null,
           headers: [...document.querySelectorAll('[data-testid=device-list] th[scope]')].length,
           live: document.querySelector('[data-testid=devices-status]').getAttribute('role'),
         };",
        vec![],
    )?;
    if audit["unnamed"].as_array().is_some_and(|a| !a.is_empty())
        || audit["refresh"] != json!(true)
        || audit["pull"] != json!(true)
        || audit["described"] != json!(text)
        || audit["headers"].as_u64() < Some(6)
        || audit["live"] != json!("status")
    {
        return Err(format!(
            "the devices section for keyboards and screen readers: {audit}"
        ));
    }
    let pull = s.find("[data-testid=waiting-pull]")?;
    s.exec("arguments[0].focus();", vec![pull.to_json()])?;
    s.send_keys(&pull, KEY_ENTER)?;
    let result = s.wait(LONG, "the pull to finish", || {
        if let Some(e) = s.find_all("[data-testid=cloud-error]")?.into_iter().next() {
            return Err(format!("the pull failed: {}", s.text(&e)?));
        }
        Ok(s.find_all("[data-testid=cloud-result]")?.into_iter().next())
    })?;
    let result = s.text(&result)?;
    eprintln!("  {result}");
    if !result.starts_with("1 track added") {
        return Err(format!("the pull says: {result}"));
    }
    s.wait(LONG, "nothing waiting after the pull", || {
        let none = s.find_all("[data-testid=cloud-nothing-waiting]")?;
        let rows = device_rows(s)?;
        Ok((!none.is_empty()
            && s.find_all("[data-testid=cloud-waiting]")?.is_empty()
            && rows.len() == 2
            && rows.iter().all(|r| r["merged"] == json!(true)))
        .then_some(()))
    })?;
    shots.take(s, "31-devices-pulled")?;
    s.click(&s.find("[data-nav=library]")?)?;
    wait_footer(s, TRACKS.len() + 1)?;
    search_for(s, FROM_B.0)?;
    type_into(s, "[data-testid=search]", "")?;
    Ok(())
}

/// The first bytes of a URL, or why there are none.
fn first_bytes(url: &str) -> std::result::Result<usize, String> {
    match ureq::get(url)
        .set("Range", "bytes=0-1023")
        .timeout(Duration::from_secs(10))
        .call()
    {
        Ok(r) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body)
                .map_err(|e| e.to_string())?;
            Ok(body.len())
        }
        Err(ureq::Error::Status(code, _)) => Err(format!("HTTP {code}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Step 5: lock while a slowed-down push runs.
fn lock_during_a_push(
    s: &Session,
    shots: &Shots,
    garage: &Garage,
    proxy: &FaultProxy,
    vault: &Path,
    tmp: &Path,
) -> Result<()> {
    step("lock during a push: something new to push, and a track playing");
    let dir = tmp.join("music-late");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{}.wav", LATE.0));
    write_wav(&path, LATE.1, 300)?;
    drop_files(s, &[&path], "1 file imported")?;
    let total = TRACKS.len() + 2;
    wait_footer(s, total)?;
    let row = search_for(s, TRACKS[2].0)?;
    click_row(s, row["id"].as_str().unwrap_or_default())?;
    s.send_keys(&s.find("[data-testid=track-grid]")?, KEY_ENTER)?;
    let url = s.wait(LONG, "the player's URL", || {
        let src = audio_state(s)?["src"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(src.starts_with("http://127.0.0.1:").then_some(src))
    })?;
    if first_bytes(&url) != Ok(1024) {
        return Err(format!(
            "the playback URL does not serve before the lock: {:?}",
            first_bytes(&url)
        ));
    }
    type_into(s, "[data-testid=search]", "")?;

    step("lock during a push: push slowed down, then Lock");
    s.click(&s.find("[data-nav=cloud]")?)?;
    devices_listed(s)?;
    // Every request waits before it goes on: the push is in flight for many seconds.
    proxy.fail_all(Fault::Delay(Duration::from_millis(1500)));
    s.click(&s.wait_for("[data-testid=cloud-push]", SHORT)?)?;
    s.wait_for("[data-testid=cloud-job][data-running=true]", SHORT)?;
    std::thread::sleep(Duration::from_secs(3));
    if s.find_all("[data-testid=cloud-job][data-running=true]")?
        .is_empty()
    {
        return Err("the slowed-down push ended before the lock".into());
    }
    let requests_before = proxy.requests();
    let started = Instant::now();
    s.click(&s.find("[data-testid=lock]")?)?;
    let mut saw_locking = false;
    let notice = s.wait(LONG, "the unlock form after the lock", || {
        if !saw_locking && let Some(el) = s.find_all("[data-testid=locking]")?.into_iter().next() {
            saw_locking = s.text(&el)?.contains("Locking…");
        }
        if s.find_all("[data-testid=unlock-form]")?.is_empty() {
            return Ok(None);
        }
        Ok(Some(text_of(s, "[data-testid=unlock-notice]")?))
    })?;
    let took = started.elapsed();
    eprintln!(
        "  lock with a push in flight: the unlock form after {took:?} (\"Locking…\" seen: {saw_locking}); {} requests during the lock",
        proxy.requests() - requests_before
    );
    shots.take(s, "32-locked-during-push")?;
    if !notice.contains("the push was cancelled") {
        return Err(format!(
            "the unlock screen after locking during a push says: {notice:?}"
        ));
    }
    if took > Duration::from_millis(600) && !saw_locking {
        return Err(format!("the lock took {took:?} without showing Locking…"));
    }
    match first_bytes(&url) {
        Err(e) => eprintln!("  the old playback URL: {e}"),
        Ok(n) => {
            return Err(format!(
                "the playback URL still served {n} bytes after the lock"
            ));
        }
    }
    let leases: Vec<String> = garage
        .list_keys(&format!("{PREFIX}/locks/"))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    eprintln!("  leases left on the remote by the cancelled push: {leases:?}");

    step("lock during a push: unlock, push again, the remote verifies");
    proxy.clear();
    unlock(s)?;
    wait_footer(s, total)?;
    s.click(&s.find("[data-nav=cloud]")?)?;
    let cancelled = text_of(s, "[data-testid=cloud-error]")?;
    if !cancelled.contains("cancelled when the vault was locked") {
        return Err(format!("the Cloud view after the lock says: {cancelled:?}"));
    }
    let result = push_and_wait(s)?;
    eprintln!("  {result}");
    if !result.contains(&format!("the cloud catalog has {total} tracks")) {
        return Err(format!("the push after unlocking says: {result}"));
    }
    devices_listed(s)?;
    if s.find_all("[data-testid=cloud-nothing-waiting]")?
        .is_empty()
    {
        return Err("something waits after the last push".into());
    }
    shots.take(s, "33-pushed-after-lock")?;
    // Said, not asserted: the engine's to decide (a lease left behind only makes a
    // remote GC defer deletions until it goes stale).
    let still: Vec<String> = garage
        .list_keys(&format!("{PREFIX}/locks/"))
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| leases.contains(k))
        .collect();
    eprintln!("  the cancelled push's lease after the next push: {still:?}");
    remote_holds_everything(vault, garage, total)
}

/// Nothing lost: the remote verifies (every pack and index authenticates, every
/// manifest's chunks are there) and this device's newest catalog on it has
/// every track; the local library has them all too.
fn remote_holds_everything(vault: &Path, garage: &Garage, total: usize) -> Result<()> {
    use audiovault_engine::sync::{RemoteCredentials, SyncOptions};
    use audiovault_engine::{CancelToken, LockedVault, NoProgress, Passphrase, TrackFilter};
    let v = LockedVault::open(vault)
        .and_then(|l| l.unlock(&Passphrase::new(CLOUD_PASSPHRASE)))
        .map_err(|e| format!("opening the vault in the test: {e}"))?;
    let keys = RemoteCredentials::new(garage.access_key(), garage.secret_key());
    let report = v
        .verify_remote(
            &keys,
            &SyncOptions::default(),
            None,
            &NoProgress,
            &CancelToken::new(),
        )
        .map_err(|e| format!("verify --remote: {e}"))?;
    eprintln!(
        "  remote verify: ok={} packs={} chunks={} manifests={}",
        report.ok, report.packs_checked, report.chunks_checked, report.manifests_checked
    );
    if !report.ok || !report.damaged.is_empty() {
        return Err(format!("the remote does not verify: {:?}", report.damaged));
    }
    let devices = v
        .remote_devices(&keys, &SyncOptions::default(), false, &CancelToken::new())
        .map_err(|e| format!("remote devices: {e}"))?;
    let mine = devices
        .devices
        .iter()
        .find(|d| d.this_device)
        .ok_or("this device has no line on the remote")?;
    if mine.tracks != total as u64 || !devices.unmerged.is_empty() || devices.devices.len() != 2 {
        return Err(format!(
            "the remote's devices after the last push: {devices:?}"
        ));
    }
    let local = v.tracks(TrackFilter::All).map_err(|e| e.to_string())?;
    if local.len() != total {
        return Err(format!("{} tracks here, {total} expected", local.len()));
    }
    Ok(())
}
