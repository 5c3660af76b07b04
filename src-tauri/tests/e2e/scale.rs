//! A library of 100,000 tracks in the real window: how long the unlock takes to show
//! it (against a library of 100), and how long each keystroke in the search box takes
//! to show its narrowed results (issue: typing feels instant at 100k).
//!
//! A probe: it prints its figures for the bench notes and fails only on contents
//! (each footer must count what the engine counts for the same text), never on a
//! time, which on a shared 2-core machine would make the suite flaky.
//!
//! The libraries are synthetic (`catalog::synthetic`: realistic tags, waveforms as
//! analysis leaves them, no audio), written straight into the vault's catalog.
//!
//! The test's own build of the app is a debug build, whose engine runs unoptimised:
//! its figures say little. `AUDIOVAULT_E2E_APP` names another build to probe, such as
//! `target/release/audiovault-app` (`bench/typing.sh` builds it and runs this test).

use std::path::{Path, PathBuf};
use std::time::Instant;

use audiovault_engine::catalog::SearchQuery;
use audiovault_engine::{CreateOptions, Passphrase, Vault};
use serde_json::{Value, json};

use super::driver::{Result, Session};
use super::{LONG, PASSPHRASE, sandbox_envs, step, suite, with_app_at};

const LARGE: usize = 100_000;
const SMALL: usize = 100;
/// What is typed, a character at a time: a broad two-word search, a selective one,
/// and one with a letter that folds (ö → o).
const TYPED: [&str; 3] = ["love night", "velvet neon", "bjork"];

#[test]
fn a_large_library_unlocks_and_narrows_as_you_type() {
    let Some(shots) = suite() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let app = std::env::var_os("AUDIOVAULT_E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_audiovault-app")));
    eprintln!("  probing {}", app.display());
    let mut launches = Vec::new();
    for (name, tracks) in [("small", SMALL), ("large", LARGE)] {
        let vault = tmp.path().join(name);
        let started = Instant::now();
        let expected = make_library(&vault, tracks).unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "  the {name} library ({tracks} tracks) made in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let envs = sandbox_envs(&vault, &tmp.path().join(format!("home-{name}")), false);
        let outcome = with_app_at(&app, &envs, &shots, &format!("scale-{name}"), |s| {
            let unlock_ms = unlock_and_time(s, tracks)?;
            launches.push((name, unlock_ms));
            if tracks == LARGE {
                typing_probe(s, &expected)?;
                shots.take(s, "scale-01-large-library-searched")?;
            }
            Ok(())
        });
        if let Err(e) = outcome {
            panic!("{e}");
        }
    }
    for (name, ms) in &launches {
        eprintln!("  unlock → library shown, {name} library: {ms:.0} ms");
    }
}

/// The prefixes typed (a space alone changes nothing, so none ends with one), each
/// with the number of active tracks the engine finds for it.
type Expected = Vec<(String, u64)>;

/// A vault at `root` with `tracks` synthetic tracks; what each prefix of [`TYPED`]
/// finds, as the engine counts it.
fn make_library(root: &Path, tracks: usize) -> Result<Expected> {
    let passphrase = Passphrase::new(PASSPHRASE.to_string());
    let vault = Vault::create(root, &passphrase, &CreateOptions::default())
        .map_err(|e| format!("creating the {tracks}-track vault: {e}"))?;
    vault
        .add_synthetic_tracks_for_tests(tracks, 42)
        .map_err(|e| format!("filling the vault: {e}"))?;
    let mut expected = Vec::new();
    for phrase in TYPED {
        for end in phrase.char_indices().map(|(i, c)| i + c.len_utf8()) {
            let prefix = &phrase[..end];
            if prefix.ends_with(' ') {
                continue;
            }
            let summary = vault
                .search_summary(&SearchQuery {
                    text: Some(prefix.to_string()),
                    ..SearchQuery::default()
                })
                .map_err(|e| format!("counting '{prefix}': {e}"))?;
            expected.push((prefix.to_string(), summary.tracks));
        }
    }
    if expected.iter().all(|(_, n)| *n == 0) {
        return Err("the synthetic library matches none of the typed texts".into());
    }
    Ok(expected)
}

/// Types the passphrase, then times the unlock click to the library's footer counting
/// every track, in the page (no WebDriver round trip inside the figure).
fn unlock_and_time(s: &Session, tracks: usize) -> Result<f64> {
    s.wait_for("[data-testid=unlock-form]", LONG)?;
    step(&format!("scale: unlock a library of {tracks} tracks"));
    let v = s.exec_async(
        "const [passphrase, expected, done] = arguments;
         const input = document.querySelector('[data-testid=passphrase]');
         input.value = passphrase;
         input.dispatchEvent(new Event('input', {bubbles: true}));
         const t0 = performance.now();
         document.querySelector('[data-testid=unlock]').click();
         const tick = () => {
           const f = document.querySelector('[data-testid=summary]');
           const n = f ? Number((f.textContent.trim().split(/\\s/)[0] || '').replace(/,/g, '')) : NaN;
           if (n === expected) done({ms: performance.now() - t0});
           else if (performance.now() - t0 > 25000) done({error: 'after 25 s the footer says: ' + (f ? f.textContent : '(no footer)')});
           else requestAnimationFrame(tick);
         };
         requestAnimationFrame(tick);",
        vec![json!(PASSPHRASE), json!(tracks)],
    )?;
    match v["ms"].as_f64() {
        Some(ms) => Ok(ms),
        None => Err(format!("unlocking the {tracks}-track library: {v}")),
    }
}

/// Types each text a character at a time, the way a person does (the next key after
/// the results are shown), and times each keystroke to its results on screen: the
/// footer names the text it shows and counts what the engine counts.
fn typing_probe(s: &Session, expected: &Expected) -> Result<()> {
    step("scale: type into the search box, a keystroke at a time");
    let texts: Vec<&str> = expected.iter().map(|(t, _)| t.as_str()).collect();
    let counts: Vec<u64> = expected.iter().map(|(_, n)| *n).collect();
    let v = s.exec_async(
        "const [texts, counts, done] = arguments;
         const input = document.querySelector('[data-testid=search]');
         input.focus();
         const times = [];
         let i = 0;
         const next = () => {
           if (i >= texts.length) return done({times});
           input.value = texts[i];
           const t0 = performance.now();
           input.dispatchEvent(new Event('input', {bubbles: true}));
           const tick = () => {
             const f = document.querySelector('[data-testid=summary]');
             const shown = f ? f.dataset.shownText : null;
             const n = f ? Number((f.textContent.trim().split(/\\s/)[0] || '').replace(/,/g, '')) : NaN;
             if (shown === texts[i] && n === counts[i]) {
               times.push(performance.now() - t0);
               i += 1;
               setTimeout(next, 40);
             } else if (performance.now() - t0 > 10000) {
               done({error: `'${texts[i]}': after 10 s the footer shows '${shown}' with ${f ? f.textContent.trim() : '(no footer)'}, where the engine counts ${counts[i]}`, times});
             } else requestAnimationFrame(tick);
           };
           requestAnimationFrame(tick);
         };
         next();",
        vec![json!(texts), json!(counts)],
    )?;
    if let Some(e) = v["error"].as_str() {
        return Err(format!("typing at {LARGE} tracks: {e}"));
    }
    let mut times: Vec<f64> = v["times"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if times.len() != texts.len() {
        return Err(format!(
            "{} keystrokes timed of {}",
            times.len(),
            texts.len()
        ));
    }
    for ((text, n), ms) in expected.iter().zip(&times) {
        eprintln!("    '{text}' → {n} tracks in {ms:.0} ms");
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "  typing at {LARGE} tracks, keystroke → narrowed results shown: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms ({} keystrokes)",
        at(0.5),
        at(0.95),
        at(1.0),
        times.len()
    );
    Ok(())
}
