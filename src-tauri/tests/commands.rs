//! Every IPC command through Tauri's mock runtime: the app's own handler table,
//! the argument names the UI sends (camelCase), and the `{kind, message}` errors
//! it switches on, against a real vault on disk, without a window. The e2e suite
//! drives the same commands through the real UI; this one also reaches the
//! refusals and edge cases a UI flow rarely hits.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audiovault_engine::sync::{RemoteConfig, RemoteCredentials, SyncOptions, clone_vault};
use audiovault_engine::{CancelToken, ImportOptions, NoProgress, Passphrase};
use audiovault_tests::Garage;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod shell;
use shell::{CHANNEL, Shell};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tagged 16-bit mono WAV: a second of a sine at `hz`, with RIFF INFO title,
/// artist and album, so every file has distinct audio and known tags.
fn tagged_wav(path: &Path, hz: f64, title: &str, artist: &str, album: &str) -> Vec<u8> {
    fn info(id: &[u8; 4], text: &str) -> Vec<u8> {
        let mut v = id.to_vec();
        let mut body = text.as_bytes().to_vec();
        body.push(0);
        if body.len() % 2 == 1 {
            body.push(0);
        }
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend_from_slice(&body);
        v
    }
    let rate = 44_100u32;
    let samples: Vec<u8> = (0..rate)
        .flat_map(|i| {
            let s = (i as f64 * hz * std::f64::consts::TAU / rate as f64).sin();
            ((s * 12_000.0) as i16).to_le_bytes()
        })
        .collect();
    let mut list = b"INFO".to_vec();
    list.extend(info(b"INAM", title));
    list.extend(info(b"IART", artist));
    list.extend(info(b"IPRD", album));
    let mut body = b"WAVE".to_vec();
    body.extend_from_slice(b"fmt ");
    body.extend_from_slice(&16u32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes()); // PCM
    body.extend_from_slice(&1u16.to_le_bytes()); // mono
    body.extend_from_slice(&rate.to_le_bytes());
    body.extend_from_slice(&(rate * 2).to_le_bytes());
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(&16u16.to_le_bytes());
    body.extend_from_slice(b"LIST");
    body.extend_from_slice(&(list.len() as u32).to_le_bytes());
    body.extend(list);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    body.extend(samples);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend(body);
    std::fs::write(path, &file).expect("write a fixture");
    file
}

fn titles(page: &Value) -> Vec<String> {
    let mut t: Vec<String> = page["tracks"]
        .as_array()
        .expect("a page of tracks")
        .iter()
        .map(|t| t["title"].as_str().unwrap_or("").to_string())
        .collect();
    t.sort();
    t
}

fn query(text: Option<&str>, state: &str) -> Value {
    json!({ "query": { "text": text, "state": state, "formats": [], "sort": "title", "descending": false, "limit": 100, "after": null } })
}

fn get(url: &str) -> Result<Vec<u8>, u16> {
    match ureq::get(url).timeout(Duration::from_secs(10)).call() {
        Ok(response) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut response.into_reader(), &mut body)
                .expect("read the stream");
            Ok(body)
        }
        Err(ureq::Error::Status(code, _)) => Err(code),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// The first bytes of a playback URL, or why there are none (the status code,
/// or the connection's error: a stopped server refuses).
fn first_bytes(url: &str) -> Result<Vec<u8>, String> {
    match ureq::get(url)
        .set("Range", "bytes=0-1023")
        .timeout(Duration::from_secs(10))
        .call()
    {
        Ok(response) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut response.into_reader(), &mut body)
                .map_err(|e| format!("reading the body: {e}"))?;
            Ok(body)
        }
        Err(ureq::Error::Status(code, _)) => Err(format!("HTTP {code}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A 16-bit stereo WAV of `bytes` bytes of noise: distinct per `seed`, no two
/// chunks alike, so nothing deduplicates.
fn noise_wav(path: &Path, bytes: u32, seed: u64) -> Vec<u8> {
    let data_len = bytes - 44;
    let mut out = Vec::with_capacity(bytes as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(bytes - 8).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&44_100u32.to_le_bytes());
    out.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < bytes as usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(bytes as usize);
    std::fs::write(path, &out).expect("write a fixture");
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn every_command_through_the_mock_runtime() {
    // Automation hooks the app honours; the passphrase one must not leak in from
    // the environment, or startup would unlock on its own.
    // SAFETY: this test binary has one test, so no other thread reads the environment.
    unsafe {
        std::env::remove_var("AUDIOVAULT_PASSPHRASE");
        // Short test passphrases and fast KDFs: the strength floor lifted (tests only).
        std::env::set_var("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "1");
    }
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let vault = tmp.path().join("vault");
    let sources = tmp.path().join("sources");
    std::fs::create_dir_all(&sources).expect("sources folder");
    let shell = Shell::new(&vault);

    // --- before a vault exists ---------------------------------------------------------
    let status = shell.ok("status_of", json!({}));
    assert_eq!(status["exists"], false);
    assert_eq!(status["unlocked"], false);
    assert_eq!(status["vault_dir"], vault.to_string_lossy().as_ref());
    let status = shell.ok("startup", json!({}));
    assert_eq!(status["unlocked"], false, "nothing to unlock yet");
    assert_eq!(shell.err_kind("search", query(None, "active")), "locked");
    assert_eq!(
        shell.err_kind("remote_devices", json!({ "incoming": true })),
        "locked"
    );
    assert_eq!(shell.err_kind("stats", json!({})), "locked");
    assert_eq!(
        shell.err_kind(
            "create_vault",
            json!({ "dir": vault, "passphrase": "", "rememberKey": false })
        ),
        "invalid"
    );
    assert_eq!(
        shell.err_kind("choose_vault", json!({ "dir": "  " })),
        "invalid"
    );

    // --- passphrase strength: the engine's estimate, and its floor -------------------
    let weak = shell.ok("passphrase_strength", json!({ "passphrase": "Password1!" }));
    assert_eq!(weak["acceptable"], false, "{weak}");
    assert!(weak["score"].as_u64().unwrap() < 3, "{weak}");
    assert!(
        weak["warning"].as_str().is_some() || !weak["suggestions"].as_array().unwrap().is_empty(),
        "{weak}"
    );
    let strong = shell.ok(
        "passphrase_strength",
        json!({ "passphrase": "velvet tundra lantern 93 orchard" }),
    );
    assert_eq!(strong["acceptable"], true, "{strong}");
    // Without the variable a weak one makes no vault; with it (as below) it does.
    // SAFETY: one test in this binary.
    unsafe {
        std::env::remove_var("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE");
    }
    let refused = shell.err(
        "create_vault",
        json!({ "dir": vault, "passphrase": "Password1!", "rememberKey": false }),
    );
    assert_eq!(refused["kind"], "weak_passphrase", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("too weak"),
        "{refused}"
    );
    assert!(!vault.join("vault.json").exists());
    unsafe {
        std::env::set_var("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "1");
    }

    // --- the idle time: a setting of this device -------------------------------------
    let app_settings = shell.ok("app_settings", json!({}));
    assert_eq!(
        app_settings["auto_lock_seconds"], 900,
        "15 minutes by default"
    );
    assert_eq!(
        shell.err_kind("set_auto_lock", json!({ "seconds": 0 })),
        "invalid_setting"
    );
    let app_settings = shell.ok("set_auto_lock", json!({ "seconds": 600 }));
    assert_eq!(app_settings["auto_lock_seconds"], 600);
    shell.ok("activity", json!({}));
    // The desktop settings: on by default; a change keeps the others.
    assert_eq!(app_settings["keep_running_in_tray"], true);
    assert_eq!(app_settings["notify_when_away"], true);
    assert_eq!(app_settings["start_at_login"], false);
    let no_change =
        json!({ "keep_running_in_tray": null, "notify_when_away": null, "start_at_login": null });
    let mut change = no_change.clone();
    change["notify_when_away"] = json!(false);
    let app_settings = shell.ok("set_desktop_settings", json!({ "change": change }));
    assert_eq!(app_settings["notify_when_away"], false);
    assert_eq!(app_settings["keep_running_in_tray"], true);
    assert_eq!(app_settings["auto_lock_seconds"], 600);
    // No autostart plugin under the mock runtime: a clear refusal, nothing changed.
    let mut change = no_change.clone();
    change["start_at_login"] = json!(true);
    assert_eq!(
        shell.err_kind("set_desktop_settings", json!({ "change": change })),
        "invalid_setting"
    );
    assert_eq!(shell.ok("app_settings", json!({}))["start_at_login"], false);

    // --- create, import ----------------------------------------------------------------
    let status = shell.ok(
        "create_vault",
        json!({ "dir": vault, "passphrase": "correct horse", "rememberKey": false }),
    );
    assert_eq!(status["exists"], true);
    assert_eq!(status["unlocked"], true);

    // --- the tray's Pause watching and Resume ------------------------------------------
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let watch = shell.ok("watch_add_folder", json!({ "path": inbox }));
    assert_eq!(watch["paused"], false);
    let handle = shell.app.handle().clone();
    audiovault_app::watching::set_paused(&handle, true);
    let watch = shell.ok("watch_status", json!({}));
    assert_eq!(watch["paused"], true, "{watch}");
    assert_eq!(watch["running"], false, "paused: no run: {watch}");
    assert!(
        audiovault_app::desktop::watcher_in_use(&handle),
        "paused still keeps the tray"
    );
    audiovault_app::watching::set_paused(&handle, false);
    let watch = shell.ok("watch_status", json!({}));
    assert_eq!(watch["paused"], false);
    assert_eq!(watch["running"], true, "resumed: {watch}");
    shell.ok("watch_remove_folder", json!({ "path": inbox }));
    assert_eq!(
        status["vault_id"].as_str().map(str::len),
        Some(32),
        "{status}"
    );

    // No remote yet: the Cloud view's listing says so by kind, before any key is looked for.
    assert_eq!(
        shell.err_kind("remote_devices", json!({ "incoming": false })),
        "remote_not_configured"
    );

    let a = tagged_wav(&sources.join("a.wav"), 440.0, "Alpha", "Ann", "First");
    let b = tagged_wav(&sources.join("b.wav"), 523.0, "Beta", "Ann", "First");
    let c = tagged_wav(&sources.join("c.wav"), 659.0, "Gamma", "Cid", "Second");
    std::fs::copy(sources.join("a.wav"), sources.join("a copy.wav")).expect("copy");
    std::fs::write(
        sources.join("notes.wav"),
        b"these are not audio samples at all",
    )
    .expect("write");
    let report = shell.ok(
        "import",
        json!({ "paths": [sources], "onProgress": CHANNEL }),
    );
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["duplicates"], 1, "{report}");
    assert_eq!(report["rejected"], 1, "{report}");
    assert_eq!(report["cancelled"], false);
    let rejected = report["files"]
        .as_array()
        .expect("per-file results")
        .iter()
        .find(|f| f["outcome"] == "rejected")
        .expect("the non-audio file is listed");
    assert!(
        rejected["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("notes.wav"))
    );
    assert!(rejected["reason"].as_str().is_some_and(|r| !r.is_empty()));

    // --- search, details, artwork ------------------------------------------------------
    let page = shell.ok("search", query(None, "active"));
    assert_eq!(titles(&page), ["Alpha", "Beta", "Gamma"]);
    let page = shell.ok("search", query(Some("gam"), "active"));
    assert_eq!(titles(&page), ["Gamma"]);
    let summary = shell.ok("search_summary", query(Some("ann"), "active"));
    assert_eq!(summary["tracks"], 2);
    assert!((summary["duration_seconds"].as_f64().unwrap_or(0.0) - 2.0).abs() < 0.05);
    assert_eq!(summary["bytes"].as_u64(), Some((a.len() + b.len()) as u64));

    let all = shell.ok("search", query(None, "active"));
    let id_of = |title: &str| -> String {
        all["tracks"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["title"] == title))
            .and_then(|t| t["id"].as_str())
            .unwrap_or_else(|| panic!("{title} is in the library"))
            .to_string()
    };
    let (alpha, beta, gamma) = (id_of("Alpha"), id_of("Beta"), id_of("Gamma"));
    let details = shell.ok("track_details", json!({ "id": alpha }));
    assert_eq!(details["sha256"], sha256_hex(&a), "{details}");
    assert_eq!(details["artist"], "Ann");
    assert_eq!(details["album"], "First");
    assert_eq!(details["sample_rate"], 44_100);
    assert_eq!(details["channels"], 1);
    assert_eq!(details["size_bytes"].as_u64(), Some(a.len() as u64));
    assert_eq!(
        shell.err_kind("track_details", json!({ "id": "0".repeat(32) })),
        "track_not_found"
    );
    assert_eq!(shell.ok("artwork", json!({ "id": alpha })), Value::Null);
    assert_eq!(shell.ok("thumbnail", json!({ "id": alpha })), Value::Null);

    // --- albums and artists ------------------------------------------------------------
    let albums = shell.ok("albums", json!({}));
    let mut names: Vec<(String, u64)> = albums
        .as_array()
        .expect("albums")
        .iter()
        .map(|a| {
            (
                a["album"].as_str().unwrap_or("").to_string(),
                a["tracks"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    names.sort();
    assert_eq!(names, [("First".to_string(), 2), ("Second".to_string(), 1)]);
    let artists = shell.ok("artists", json!({}));
    assert_eq!(artists.as_array().map(Vec::len), Some(2), "{artists}");
    let first = shell.ok("group_tracks", json!({ "album": "First", "artist": "Ann" }));
    assert_eq!(titles(&json!({ "tracks": first })), ["Alpha", "Beta"]);
    let cid = shell.ok("group_tracks", json!({ "album": null, "artist": "Cid" }));
    assert_eq!(titles(&json!({ "tracks": cid })), ["Gamma"]);

    // --- playback URLs: the bytes come back; a forged signature gets nothing ------------
    let stream = shell.ok("stream_url", json!({ "id": beta }));
    assert_eq!(stream["content_type"], "audio/wav");
    let url = stream["url"].as_str().expect("a URL").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(get(&url).map(|body| sha256_hex(&body)), Ok(sha256_hex(&b)));
    let mut forged = url.clone();
    let last = forged.pop().expect("a non-empty URL");
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(get(&forged), Err(403));

    // --- export: byte-identical ------------------------------------------------------
    let out = tmp.path().join("out");
    let exported = shell.ok(
        "export",
        json!({ "ids": [alpha, gamma], "dest": out, "onProgress": CHANNEL }),
    );
    assert_eq!(exported["exported"].as_array().map(Vec::len), Some(2));
    assert_eq!(exported["failed"].as_array().map(Vec::len), Some(0));
    for e in exported["exported"].as_array().into_iter().flatten() {
        let path = PathBuf::from(e["path"].as_str().expect("a path"));
        let bytes = std::fs::read(&path).expect("the exported file");
        let expected = if e["id"] == alpha.as_str() { &a } else { &c };
        assert_eq!(
            sha256_hex(&bytes),
            sha256_hex(expected),
            "{}",
            path.display()
        );
    }

    // --- trash, restore, stats, empty trash -------------------------------------------
    assert_eq!(
        shell.ok("set_trashed", json!({ "ids": [gamma], "trashed": true })),
        1
    );
    assert_eq!(
        titles(&shell.ok("search", query(None, "trashed"))),
        ["Gamma"]
    );
    assert_eq!(
        titles(&shell.ok("search", query(None, "active"))),
        ["Alpha", "Beta"]
    );
    let stats = shell.ok("stats", json!({}));
    assert_eq!(stats["tracks"], 2, "{stats}");
    assert_eq!(stats["trashed"], 1, "{stats}");
    assert_eq!(
        stats["logical_bytes"].as_u64(),
        Some((a.len() + b.len()) as u64)
    );
    assert_eq!(
        shell.ok("set_trashed", json!({ "ids": [gamma], "trashed": false })),
        1
    );
    assert_eq!(shell.ok("stats", json!({}))["tracks"], 3);
    shell.ok("set_trashed", json!({ "ids": [gamma], "trashed": true }));
    let purged = shell.ok("purge_trash", json!({}));
    assert_eq!(
        purged["purged_tracks"].as_array().map(Vec::len),
        Some(1),
        "{purged}"
    );
    assert!(
        purged["removed_bytes"].as_u64().unwrap_or(0) > 0,
        "{purged}"
    );
    assert_eq!(
        titles(&shell.ok("search", query(None, "trashed"))),
        Vec::<String>::new()
    );

    // --- verify: clean ------------------------------------------------------------------
    let verified = shell.ok("verify", json!({ "onProgress": CHANNEL }));
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["tracks_checked"], 2);
    assert_eq!(verified["damaged_tracks"].as_array().map(Vec::len), Some(0));

    // --- background analysis: a waveform arrives ----------------------------------------
    let deadline = Instant::now() + Duration::from_secs(60);
    let waveform = loop {
        let w = shell.ok("waveform", json!({ "id": alpha }));
        if w["analysis"] == "done" || Instant::now() > deadline {
            break w;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(waveform["analysis"], "done", "{waveform}");
    let peaks = waveform["peaks"].as_array().expect("peaks");
    assert!(peaks.len() > 100, "{} buckets", peaks.len());
    // The sine's amplitude is 12,000 of 32,767: peaks scaled to ±127 reach ±46.
    let lows = peaks.iter().filter_map(|p| p[0].as_i64());
    let highs = peaks.iter().filter_map(|p| p[1].as_i64());
    let (low, high) = (lows.min().unwrap_or(0), highs.max().unwrap_or(0));
    assert!((-49..=-44).contains(&low), "lowest peak {low}");
    assert!((44..=49).contains(&high), "highest peak {high}");
    let progress = shell.ok("analysis_progress", json!({}));
    assert!(progress["total"].as_u64().unwrap_or(0) >= progress["done"].as_u64().unwrap_or(0));

    // --- settings -------------------------------------------------------------------------
    let settings = shell.ok("settings", json!({}));
    assert!(
        settings["allowed_extensions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == "flac")),
        "{settings}"
    );
    assert_eq!(
        shell.err_kind(
            "set_setting",
            json!({ "key": "max_file_size_bytes", "value": "a lot" })
        ),
        "invalid_setting"
    );
    let settings = shell.ok(
        "set_setting",
        json!({ "key": "max_file_size_bytes", "value": "1000" }),
    );
    assert_eq!(settings["max_file_size_bytes"], 1000);
    tagged_wav(&sources.join("d.wav"), 784.0, "Delta", "Dee", "Third");
    let report = shell.ok(
        "import",
        json!({ "paths": [sources.join("d.wav")], "onProgress": CHANNEL }),
    );
    assert_eq!(
        (report["imported"].as_u64(), report["rejected"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    shell.ok(
        "set_setting",
        json!({ "key": "max_file_size_bytes", "value": "0" }),
    );
    // A cancel with nothing running is harmless, and the next import gets a fresh token.
    assert_eq!(shell.ok("cancel", json!({})), Value::Null);
    let report = shell.ok(
        "import",
        json!({ "paths": [sources.join("d.wav")], "onProgress": CHANNEL }),
    );
    assert_eq!(report["imported"], 1, "{report}");

    // --- passphrase change, lock, unlock --------------------------------------------------
    assert_eq!(
        shell.err_kind(
            "change_passphrase",
            json!({ "current": "wrong", "new": "battery staple" })
        ),
        "wrong_passphrase"
    );
    assert_eq!(
        shell.ok(
            "change_passphrase",
            json!({ "current": "correct horse", "new": "battery staple" })
        ),
        Value::Null
    );
    let status = shell.ok("lock", json!({}));
    assert_eq!(status["unlocked"], false);
    assert_eq!(shell.err_kind("search", query(None, "active")), "locked");
    assert_eq!(
        shell.err_kind(
            "unlock",
            json!({ "passphrase": "correct horse", "rememberKey": false })
        ),
        "wrong_passphrase"
    );
    let status = shell.ok(
        "unlock",
        json!({ "passphrase": "battery staple", "rememberKey": false }),
    );
    assert_eq!(status["unlocked"], true);
    assert_eq!(
        titles(&shell.ok("search", query(None, "active"))),
        ["Alpha", "Beta", "Delta"]
    );

    // --- another folder, and back -------------------------------------------------------
    let elsewhere = tmp.path().join("elsewhere");
    let status = shell.ok("choose_vault", json!({ "dir": elsewhere }));
    assert_eq!(
        (status["exists"].clone(), status["unlocked"].clone()),
        (json!(false), json!(false))
    );
    let status = shell.ok("choose_vault", json!({ "dir": vault }));
    assert_eq!(
        (status["exists"].clone(), status["unlocked"].clone()),
        (json!(true), json!(false))
    );

    // --- doctor: the Health view, and a lost catalog repaired from the unlock screen -----
    doctor_and_repair(&shell, &vault);

    // --- lock during a long export ----------------------------------------------------
    lock_during_an_export(&shell, tmp.path());

    // --- the remote's devices, and what waits from another one ---------------------------
    devices_on_a_real_remote(&shell, tmp.path());

    // --- the folder picker answers for automation --------------------------------------
    // SAFETY: as above, one test in this binary.
    unsafe {
        std::env::set_var("AUDIOVAULT_AUTOMATION_PICK_FOLDER", &out);
    }
    assert_eq!(
        shell.ok("pick_folder", json!({ "title": "Export to" })),
        json!(out.to_string_lossy())
    );
}

/// Every track, trashed ones too, as `(id, sha256, state)`, sorted.
fn library_ids(shell: &Shell) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for state in ["active", "trashed"] {
        let page = shell.ok("search", query(None, state));
        for t in page["tracks"].as_array().expect("tracks") {
            out.push((
                t["id"].as_str().unwrap_or_default().to_string(),
                t["sha256"].as_str().unwrap_or_default().to_string(),
                state.to_string(),
            ));
        }
    }
    out.sort();
    out
}

/// The check called `name` in a doctor report.
fn check_of<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

/// The Health view's doctor on a healthy vault (its shape, every check ok), then
/// the catalog deleted while locked: unlock says `catalog_damaged`, the unlock
/// screen's check from the key finds the catalog failing, its repair rebuilds it
/// and opens the vault, with every track back (ids and SHA-256 as before).
fn doctor_and_repair(shell: &Shell, vault: &Path) {
    const PASSPHRASE: &str = "battery staple";
    assert_eq!(shell.err_kind("doctor", json!({})), "locked");
    let status = shell.ok(
        "unlock",
        json!({ "passphrase": PASSPHRASE, "rememberKey": false }),
    );
    assert_eq!(status["catalog_damaged"], false, "{status}");
    // A keyring-less run (not CI) may see the keyring check as a warning only.
    let keyring_required = std::env::var_os("CI").is_some();

    let report = shell.ok("doctor", json!({}));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["repaired"], json!([]), "a check repairs nothing");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "catalog_integrity",
            "chunks",
            "records",
            "disk_space",
            "keyring",
            "vault_json",
            "permissions"
        ],
        "no remote is set up yet: {report}"
    );
    for c in report["checks"].as_array().expect("checks") {
        assert!(c["level"] == "error" || c["level"] == "warning", "{c}");
        assert!(c["detail"].as_str().is_some_and(|d| !d.is_empty()), "{c}");
        assert!(c["affected"].is_array(), "{c}");
        if c["check"] == "keyring" && !keyring_required && c["ok"] == false {
            eprintln!("no keyring here: {}", c["detail"]);
            continue;
        }
        assert_eq!(c["ok"], true, "every check of a healthy vault passes: {c}");
    }
    // The Health view's repair on a healthy vault: the session closes and opens
    // again, nothing is lost.
    let before = library_ids(shell);
    assert_eq!(before.len(), 3, "{before:?}");
    assert_eq!(shell.ok("cancel_doctor", json!({})), Value::Null);
    let recovery = shell.ok("repair_vault", json!({}));
    assert_eq!(recovery["report"]["ok"], true, "{recovery:#}");
    assert_eq!(recovery["status"]["unlocked"], true, "{recovery}");
    assert_eq!(library_ids(shell), before);
    assert_eq!(
        shell.err_kind(
            "recover",
            json!({ "passphrase": PASSPHRASE, "repair": true, "rememberKey": false })
        ),
        "invalid",
        "the open vault is repaired from its Health view"
    );

    // The catalog goes while the vault is locked.
    shell.ok("lock", json!({}));
    for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(vault.join(name));
    }
    assert_eq!(
        shell.err_kind(
            "unlock",
            json!({ "passphrase": PASSPHRASE, "rememberKey": false })
        ),
        "catalog_damaged"
    );
    let status = shell.ok("status_of", json!({}));
    assert_eq!(
        (
            status["unlocked"].clone(),
            status["catalog_damaged"].clone()
        ),
        (json!(false), json!(true)),
        "{status}"
    );
    assert!(!vault.join("catalog.db").exists(), "unlock made no catalog");
    assert_eq!(
        shell.err_kind(
            "recover",
            json!({ "passphrase": "not it", "repair": false, "rememberKey": false })
        ),
        "wrong_passphrase"
    );
    // Check: the catalog fails, at error level; nothing changes.
    let checked = shell.ok(
        "recover",
        json!({ "passphrase": PASSPHRASE, "repair": false, "rememberKey": false }),
    );
    let report = &checked["report"];
    assert_eq!(report["ok"], false, "{report:#}");
    let catalog = check_of(report, "catalog_integrity");
    assert_eq!(
        (catalog["ok"].clone(), catalog["level"].clone()),
        (json!(false), json!("error")),
        "{catalog}"
    );
    assert_eq!(check_of(report, "records")["ok"], true, "{report:#}");
    assert_eq!(checked["status"]["unlocked"], false);
    assert!(
        !vault.join("catalog.db").exists(),
        "a check changes nothing"
    );

    // Repair: rebuilt from the records, and the vault opens.
    let repaired = shell.ok(
        "recover",
        json!({ "passphrase": PASSPHRASE, "repair": true, "rememberKey": false }),
    );
    let report = &repaired["report"];
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(
        report["repaired"][0]["action"], "catalog_rebuilt",
        "{report:#}"
    );
    assert_eq!(check_of(report, "catalog_integrity")["ok"], true);
    assert_eq!(
        (
            repaired["status"]["unlocked"].clone(),
            repaired["status"]["catalog_damaged"].clone()
        ),
        (json!(true), json!(false)),
        "{repaired}"
    );
    assert_eq!(library_ids(shell), before, "every track is back");
    // And it unlocks as any vault does.
    shell.ok("lock", json!({}));
    shell.ok(
        "unlock",
        json!({ "passphrase": PASSPHRASE, "rememberKey": false }),
    );
    assert_eq!(library_ids(shell), before);

    // At start, with the passphrase from the environment: the status says the
    // catalog is damaged, and the check and repair find the key by themselves.
    shell.ok("lock", json!({}));
    for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(vault.join(name));
    }
    // SAFETY: one test in this binary.
    unsafe {
        std::env::set_var("AUDIOVAULT_PASSPHRASE", PASSPHRASE);
    }
    let status = shell.ok("startup", json!({}));
    assert_eq!(
        (
            status["unlocked"].clone(),
            status["catalog_damaged"].clone()
        ),
        (json!(false), json!(true)),
        "{status}"
    );
    assert!(
        status["notice"]
            .as_str()
            .is_some_and(|n| n.contains("Check and repair")),
        "{status}"
    );
    let repaired = shell.ok(
        "recover",
        json!({ "passphrase": null, "repair": true, "rememberKey": false }),
    );
    unsafe {
        std::env::remove_var("AUDIOVAULT_PASSPHRASE");
    }
    assert_eq!(repaired["status"]["unlocked"], true, "{repaired}");
    assert_eq!(library_ids(shell), before);
    shell.ok("lock", json!({}));
}

/// Lock while an export runs: the export stops (cancelled, nothing partial under
/// a final name), a playback URL handed out before the lock gets nothing, and
/// the lock answers only once nothing holds the vault any more.
fn lock_during_an_export(shell: &Shell, tmp: &Path) {
    let status = shell.ok(
        "unlock",
        json!({ "passphrase": "battery staple", "rememberKey": false }),
    );
    assert_eq!(status["unlocked"], true);
    let big = tmp.join("big");
    std::fs::create_dir_all(&big).expect("folder");
    // Big enough that the export of the three takes a while, so the lock lands
    // in the middle of one of them.
    let mut whole = Vec::new();
    for i in 0..3u64 {
        let bytes = noise_wav(&big.join(format!("big {i}.wav")), 48 << 20, 1000 + i);
        whole.push(sha256_hex(&bytes));
    }
    let report = shell.ok("import", json!({ "paths": [big], "onProgress": CHANNEL }));
    assert_eq!(report["imported"], 3, "{report}");
    let page = shell.ok("search", query(Some("big"), "active"));
    let ids: Vec<String> = page["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 3, "{page}");

    // A playback URL, serving before the lock.
    let stream = shell.ok("stream_url", json!({ "id": ids[0] }));
    let url = stream["url"].as_str().expect("a URL").to_string();
    assert_eq!(first_bytes(&url).map(|b| b.len()), Ok(1024));

    let dest = tmp.join("export-while-locking");
    let export = shell.invoke_in_background(
        "export",
        json!({ "ids": ids, "dest": dest, "onProgress": CHANNEL }),
    );
    // The export is writing its first file once a .part file shows.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let writing = files_in(&dest)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".part"));
        if writing {
            break;
        }
        assert!(
            !export.is_finished(),
            "the export ended before the lock could catch it"
        );
        assert!(
            Instant::now() < deadline,
            "the export never started writing"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // The waveforms of the new tracks are being computed too: the lock stops
    // that decode as well.
    let analysing = shell.ok("analysis_progress", json!({}));
    assert_eq!(analysing["running"], true, "{analysing}");
    let started = Instant::now();
    let status = shell.ok("lock", json!({}));
    let took = started.elapsed();
    eprintln!("lock with an export and an analysis in flight answered in {took:?}");
    assert_eq!(status["unlocked"], false);
    // Each job stops at its next chunk or read (it took 2 to 7 s while the
    // analysis finished its 48 MB decode first; a few ms since).
    assert!(
        took < Duration::from_secs(1),
        "the lock waited {took:?} for the jobs to stop"
    );
    assert!(
        status["notice"]
            .as_str()
            .is_some_and(|n| n.contains("the export was cancelled")),
        "the unlock screen should say the export was cancelled: {status}"
    );
    // Nothing holds the vault (its key) once lock has answered.
    assert!(!shell.state().vault_alive(), "the vault outlived the lock");
    // The export is over by then, and says it was cancelled.
    let outcome = export.join().expect("the export thread");
    match &outcome {
        Ok(r) => {
            assert_eq!(r["cancelled"], true, "{r}");
            assert_eq!(r["failed"].as_array().map(Vec::len), Some(0), "{r}");
            assert!(
                r["exported"].as_array().map_or(0, Vec::len) < 3,
                "the lock came too late to stop anything: {r}"
            );
        }
        Err(e) => assert_eq!(e["kind"], "cancelled", "{e}"),
    }
    // Nothing partial under a final name: every file there is a whole track, and
    // no temporary file is left.
    for path in files_in(&dest) {
        let name = path.to_string_lossy().into_owned();
        assert!(!name.ends_with(".part"), "a temporary file is left: {name}");
        let bytes = std::fs::read(&path).expect("an exported file");
        assert!(
            whole.contains(&sha256_hex(&bytes)),
            "{name} is not a whole track"
        );
    }
    // The URL from before the lock gets no byte (the server is gone, or refuses it).
    let after = first_bytes(&url);
    assert!(after.is_err(), "a stream URL still serves after the lock");
    eprintln!("the old playback URL after the lock: {:?}", after.err());
    // A new session serves again, under a new URL.
    let status = shell.ok(
        "unlock",
        json!({ "passphrase": "battery staple", "rememberKey": false }),
    );
    assert_eq!(status["unlocked"], true);
    let fresh = shell.ok("stream_url", json!({ "id": ids[0] }));
    let fresh = fresh["url"].as_str().expect("a URL");
    assert_eq!(first_bytes(fresh).map(|b| b.len()), Ok(1024));
    assert!(first_bytes(&url).is_err(), "the old URL works again");
    // The analysis the lock cut short was no verdict: it runs again after the
    // unlock and every waveform arrives.
    let deadline = Instant::now() + Duration::from_secs(180);
    for id in &ids {
        let status = loop {
            let w = shell.ok("waveform", json!({ "id": id }));
            if w["analysis"] != "pending" || Instant::now() > deadline {
                break w["analysis"].clone();
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(status, "done", "the waveform of {id}");
    }
}

/// `remote_devices` against a real S3 server (Garage): its shape as the UI gets
/// it, its error kinds, and what waits from a second device until a pull.
fn devices_on_a_real_remote(shell: &Shell, tmp: &Path) {
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let form = |secret: &str| {
        json!({ "form": {
            "endpoint": garage.endpoint(), "region": garage.region(), "bucket": garage.bucket(),
            "prefix": "mock", "path_style": true,
            "access_key_id": garage.access_key(), "secret_access_key": secret,
        } })
    };
    let wrong = "0".repeat(garage.secret_key().len());
    shell.ok("set_remote", form(&wrong));
    assert_eq!(
        shell.err_kind("remote_devices", json!({ "incoming": true })),
        "remote_access_denied"
    );
    shell.ok("set_remote", form(garage.secret_key()));
    // An empty remote: no device yet, nothing waiting.
    let empty = shell.ok("remote_devices", json!({ "incoming": true }));
    assert_eq!(empty["devices"], json!([]), "{empty}");
    assert_eq!(empty["unmerged"], json!([]), "{empty}");

    let pushed = shell.ok("push", json!({ "onProgress": CHANNEL }));
    let this_device = pushed["device"].as_str().expect("the device").to_string();
    assert_eq!(pushed["merged"]["failed"], json!([]), "{pushed}");
    assert_eq!(pushed["vault_json_adopted"], false, "{pushed}");
    let tracks = pushed["tracks"].as_u64().expect("tracks");
    let status = shell.ok("sync_status", json!({}));
    assert_eq!(status["device"], this_device.as_str(), "{status}");

    // Cloud-only tracks: free up an active track's space, the Storage view's
    // totals count it, keep brings it back.
    let (id, _, _) = library_ids(shell)
        .into_iter()
        .find(|(_, _, state)| state == "active")
        .expect("an active track");
    let freed = shell.ok("free_up_space", json!({ "ids": [id] }));
    assert_eq!(freed["evicted"], 1, "{freed}");
    assert!(freed["bytes_freed"].as_u64().unwrap_or(0) > 0, "{freed}");
    let totals = shell.ok("location_totals", json!({}));
    assert_eq!(totals["cloud"], 1, "{totals}");
    assert_eq!(totals["freed_bytes"], freed["bytes_freed"], "{totals}");
    let kept = shell.ok("keep_on_device", json!({ "ids": [id] }));
    assert_eq!(kept["kept"], 1, "{kept}");
    assert_eq!(kept["bytes_fetched"], freed["bytes_freed"], "{kept}");
    assert_eq!(shell.ok("location_totals", json!({}))["cloud"], 0);

    let listed = shell.ok("remote_devices", json!({ "incoming": false }));
    assert_eq!(listed["this_device"], this_device.as_str(), "{listed}");
    assert_eq!(listed["remote"], pushed["remote"], "{listed}");
    let devices = listed["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 1, "{listed}");
    let me = &devices[0];
    assert_eq!(me["device"], this_device.as_str());
    assert_eq!(me["this_device"], true);
    assert_eq!(me["tracks"].as_u64(), Some(tracks));
    assert_eq!(me["manifests"], 1);
    assert_eq!(me["merged_seq"], me["newest_seq"], "{me}");
    assert!(
        me["last_push_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20") && t.contains('T')),
        "{me}"
    );

    // Another device: a clone of the remote, with one track of its own, pushed.
    let other = tmp.join("other-device");
    let config = RemoteConfig {
        endpoint: Some(garage.endpoint()),
        region: garage.region().to_string(),
        bucket: garage.bucket().to_string(),
        prefix: "mock".into(),
        path_style: true,
        parallelism: 4,
    };
    let keys = RemoteCredentials::new(garage.access_key(), garage.secret_key());
    let (device_b, _) = clone_vault(
        &other,
        &config,
        &keys,
        &Passphrase::new("battery staple".to_string()),
        &SyncOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .expect("the second device clones the remote");
    let new_track = tmp.join("from-b.wav");
    let bytes = noise_wav(&new_track, 3 << 20, 77);
    let imported = device_b
        .import(
            &[new_track],
            &ImportOptions {
                source: audiovault_engine::ingest::ImportSource::App,
                workers: 0,
            },
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("import on the second device");
    assert_eq!(imported.imported, 1);
    let b_push = device_b
        .push(
            &keys,
            &SyncOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("the second device pushes");
    drop(device_b);

    let listed = shell.ok("remote_devices", json!({ "incoming": true }));
    let devices = listed["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 2, "{listed}");
    assert_eq!(
        devices.iter().filter(|d| d["this_device"] == true).count(),
        1,
        "{listed}"
    );
    let b = devices
        .iter()
        .find(|d| d["device"] == b_push.device.as_str())
        .expect("the second device is listed");
    assert_eq!(b["tracks"].as_u64(), Some(tracks + 1), "{b}");
    assert!(
        b["merged_seq"].as_u64() < b["newest_seq"].as_u64(),
        "its push is not merged here yet: {b}"
    );
    let unmerged = listed["unmerged"].as_array().expect("unmerged");
    assert_eq!(unmerged.len(), 1, "{listed}");
    let waiting = &unmerged[0];
    assert_eq!(waiting["device"], b_push.device.as_str());
    assert_eq!(waiting["new_tracks"], 1, "{waiting}");
    assert!(
        waiting["new_bytes"].as_u64().unwrap_or(0) >= bytes.len() as u64,
        "the waiting bytes cover the new track: {waiting}"
    );
    assert_eq!(waiting["state_changes"], 0);
    assert_eq!(waiting["purges"], 0);

    let pulled = shell.ok("pull", json!({ "onProgress": CHANNEL }));
    assert_eq!(pulled["tracks_added"], 1, "{pulled}");
    assert_eq!(
        pulled["manifests_merged"].as_array().map(Vec::len),
        Some(1),
        "{pulled}"
    );
    let listed = shell.ok("remote_devices", json!({ "incoming": true }));
    assert_eq!(
        listed["unmerged"],
        json!([]),
        "nothing waits after a pull: {listed}"
    );
    for d in listed["devices"].as_array().expect("devices") {
        assert_eq!(d["merged_seq"], d["newest_seq"], "{d}");
    }
}
