//! "Free up space" in the real window (issue 15): a vault of one album, pushed to
//! a real Garage, opens in the app; the album's ⋯ menu frees up its space; every
//! track of it then says "cloud" and the Storage view counts them; a track of it
//! plays from the bucket (currentTime advances). The access keys come from the
//! environment, as the engine's credential order allows.

use audiovault_engine::sync::{RemoteConfig, RemoteCredentials, SyncOptions};
use audiovault_engine::vault::CreateOptions;
use audiovault_engine::{CancelToken, ImportOptions, NoProgress, Passphrase, Vault};
use audiovault_tests::Garage;

use super::*;

const PASSPHRASE: &str = "free up space e2e passphrase";
const PREFIX: &str = "e2e-space";

#[test]
fn free_up_space_on_an_album_then_play_it() {
    let Some(shots) = suite() else { return };
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = tmp.path().join("vault");
    let freed = prepare(&garage, tmp.path(), &vault).expect("a pushed vault");
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("home");
    let mut envs = sandbox_envs(&vault, &home, false);
    envs.push(("AWS_ACCESS_KEY_ID", garage.access_key().to_string()));
    envs.push(("AWS_SECRET_ACCESS_KEY", garage.secret_key().to_string()));
    let outcome = with_app(&envs, &shots, "free-up-space", |s| {
        free_up_and_play(s, &shots, freed)
    });
    if let Err(e) = outcome {
        panic!("{e}\n--- garage log ---\n{}", garage.log_tail());
    }
}

/// A vault with three tracks (one album: untagged WAVs share the "" album),
/// pushed. Returns the bytes their chunks take on disk.
fn prepare(garage: &Garage, tmp: &Path, vault: &Path) -> Result<u64> {
    let music = tmp.join("music");
    fs::create_dir_all(&music).map_err(|e| e.to_string())?;
    for (i, name) in ["Far Shore", "Low Tide", "Night Ferry"].iter().enumerate() {
        write_wav(&music.join(format!("{name}.wav")), 3 << 20, 300 + i as u64)?;
    }
    let e = |e: audiovault_engine::Error| e.to_string();
    let v = Vault::create(
        vault,
        &Passphrase::new(PASSPHRASE),
        &CreateOptions::default(),
    )
    .map_err(e)?;
    let report = v
        .import(
            &[music],
            &ImportOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .map_err(e)?;
    if report.imported != 3 {
        return Err(format!("3 imports expected: {report:?}"));
    }
    v.set_remote_config(&RemoteConfig {
        endpoint: Some(garage.endpoint()),
        region: garage.region().to_string(),
        bucket: garage.bucket().to_string(),
        prefix: PREFIX.into(),
        path_style: true,
        parallelism: 4,
    })
    .map_err(e)?;
    let keys = RemoteCredentials::new(garage.access_key(), garage.secret_key());
    v.push(
        &keys,
        &SyncOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .map_err(e)?;
    Ok(v.store()
        .list()
        .map_err(|x| x.to_string())?
        .iter()
        .map(|(_, n)| n)
        .sum())
}

fn free_up_and_play(s: &Session, shots: &Shots, on_disk: u64) -> Result<()> {
    step("free up space: unlock, open the album");
    s.wait_for("[data-testid=unlock-form]", LONG)?;
    type_into(s, "[data-testid=passphrase]", PASSPHRASE)?;
    s.click(&s.find("[data-testid=unlock]")?)?;
    s.wait_for("[data-testid=lock]", LONG)?;
    s.click(&s.wait_for("[data-nav=albums]", SHORT)?)?;
    s.click(&s.wait_for("[data-testid=group]", LONG)?)?;
    s.wait(LONG, "the album's three tracks", || {
        Ok((s.find_all("[data-testid=group-track]")?.len() == 3).then_some(()))
    })?;
    let before = locations(s)?;
    if before.iter().any(|l| l != "both") {
        return Err(format!("pushed tracks should be on both: {before:?}"));
    }

    step("free up space: the album's menu");
    s.click(&s.find("[data-testid=group-actions]")?)?;
    s.click(&s.wait_for("[data-testid=free-up-space]", SHORT)?)?;
    s.wait(LONG, "every track of the album to be cloud only", || {
        let l = locations(s)?;
        if toasts(s)?.contains("was not freed") {
            return Err(format!("freeing up space failed: {}", toasts(s)?));
        }
        Ok((l.len() == 3 && l.iter().all(|l| l == "cloud")).then_some(()))
    })?;
    let said = toasts(s)?;
    if !said.contains("3 tracks now in the cloud only") {
        return Err(format!("the toast should say what was freed: {said:?}"));
    }
    shots.take(s, "free-up-space-album")?;

    step("free up space: the Storage view counts them");
    s.click(&s.find("[data-nav=storage]")?)?;
    let cloud = s.text(&s.wait_for("[data-testid=storage-cloud]", LONG)?)?;
    if cloud != "3" {
        return Err(format!(
            "Storage should count 3 cloud-only tracks, shows {cloud:?}"
        ));
    }
    let shown_freed = s.text(&s.find("[data-testid=storage-freed]")?)?;
    eprintln!("  freed: {shown_freed} (chunks on disk before: {on_disk} bytes)");
    if shown_freed.starts_with("0 ") {
        return Err(format!(
            "Storage should show the space freed: {shown_freed:?}"
        ));
    }

    step("free up space: a cloud-only track plays from the bucket");
    s.click(&s.find("[data-nav=albums]")?)?;
    s.click(&s.wait_for("[data-testid=group]", LONG)?)?;
    let track = s.wait_for("[data-testid=group-track][data-location=cloud]", LONG)?;
    let src = audio_state(s)?["src"].clone();
    s.exec(
        "arguments[0].dispatchEvent(new MouseEvent('dblclick', {bubbles: true}));",
        vec![track.to_json()],
    )?;
    match play_outcome(s, &src, 0.5, "the cloud-only track")? {
        Ok(t) => eprintln!("  playing from the cloud: currentTime {t:.2} s"),
        Err(e) => return Err(format!("the cloud-only track does not play: {e}")),
    }
    let first = audio_state(s)?["time"].as_f64().unwrap_or(0.0);
    std::thread::sleep(Duration::from_millis(800));
    let later = audio_state(s)?["time"].as_f64().unwrap_or(0.0);
    if later <= first {
        return Err(format!("currentTime did not advance: {first} then {later}"));
    }
    shots.take(s, "free-up-space-playing")
}

/// The `data-location` of every track of the album shown.
fn locations(s: &Session) -> Result<Vec<String>> {
    let v = s.exec(
        "return [...document.querySelectorAll('[data-testid=group-track]')].map(e => e.dataset.location ?? '');",
        vec![],
    )?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}
