//! Automatic sync (issue #15) through the app's own commands and its background
//! loop, against a real S3 server (Garage on loopback), with no Push or Pull
//! pressed: an import is pushed once imports settle (a second device's clone
//! gets its bytes), a pull happens on unlock (the other device's track appears),
//! and an unreachable remote gives an error status, retries spaced further and
//! further apart, and a recovery once it answers again. The loop's waits are
//! shortened (`Timing`), its logic is the product's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audiovault_app::autosync::{AutoSync, Timing};
use audiovault_engine::catalog::TrackFilter;
use audiovault_engine::export::ExportOptions;
use audiovault_engine::sync::{
    RemoteConfig, RemoteCredentials, RetryPolicy, SyncOptions, clone_vault,
};
use audiovault_engine::{CancelToken, ImportOptions, NoProgress, Passphrase, Vault};
use audiovault_tests::fault_proxy::{Fault, FaultProxy};
use audiovault_tests::{Garage, write_noise_wav};
use serde_json::{Value, json};
use tauri::Manager;

const PASSPHRASE: &str = "battery staple";

mod shell;
use shell::{CHANNEL, Shell};

impl Shell {
    fn status(&self) -> Value {
        self.ok("auto_sync_status", json!({}))
    }

    /// Polls the automatic sync's status until `done` holds, `limit` at most.
    #[track_caller]
    fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + limit;
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < until,
                "{what}: not within {limit:?}; status {status}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn active_titles(&self) -> Vec<(String, String)> {
        let page = self.ok(
            "search",
            json!({ "query": { "text": null, "state": "active", "formats": [], "sort": "title",
                "descending": false, "limit": 100, "after": null } }),
        );
        page["tracks"]
            .as_array()
            .expect("tracks")
            .iter()
            .map(|t| {
                (
                    t["file_name"].as_str().unwrap_or_default().to_string(),
                    t["sha256"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

fn quick_timing() -> Timing {
    Timing {
        push_debounce: Duration::from_millis(1500),
        backoff_first: Duration::from_millis(600),
        backoff_max: Duration::from_secs(5),
        busy_retry: Duration::from_millis(200),
        poll: Duration::from_millis(100),
        pull_interval: None,
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            attempt_timeout: Duration::from_secs(30),
        },
    }
}

fn remote_form(g: &Garage, endpoint: &str, prefix: &str) -> Value {
    json!({ "form": {
        "endpoint": endpoint, "region": g.region(), "bucket": g.bucket(),
        "prefix": prefix, "path_style": true,
        "access_key_id": g.access_key(), "secret_access_key": g.secret_key(),
    } })
}

fn config(g: &Garage, prefix: &str) -> RemoteConfig {
    RemoteConfig {
        endpoint: Some(g.endpoint()),
        region: g.region().to_string(),
        bucket: g.bucket().to_string(),
        prefix: prefix.into(),
        path_style: true,
        parallelism: 4,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every active track of `vault` exported: {file name: its bytes' SHA-256}.
fn exported(vault: &Vault, dest: &Path) -> Vec<(String, String)> {
    let ids: Vec<_> = vault
        .tracks(TrackFilter::Active)
        .expect("tracks")
        .into_iter()
        .map(|t| t.id)
        .collect();
    let report = vault
        .export(
            &ids,
            dest,
            &ExportOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("export");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let mut out: Vec<(String, String)> = report
        .exported
        .iter()
        .map(|e| {
            let path = PathBuf::from(&e.path);
            let bytes = std::fs::read(&path).expect("the exported file");
            (
                path.file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned(),
                sha256_hex(&bytes),
            )
        })
        .collect();
    out.sort();
    out
}

fn file_sha(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("the source file"))
}

#[test]
fn automatic_sync_pushes_after_imports_pulls_on_unlock_and_backs_off() {
    // SAFETY: this test binary has one test, so no other thread reads the environment.
    unsafe {
        std::env::remove_var("AUDIOVAULT_PASSPHRASE");
        std::env::set_var("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "1");
    }
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let sources = tmp.path().join("sources");
    std::fs::create_dir_all(&sources).expect("sources");
    let dir_a = tmp.path().join("a");
    let a = Shell::new(&dir_a);
    a.app.state::<AutoSync>().set_timing(quick_timing());
    a.ok(
        "create_vault",
        json!({ "dir": dir_a, "passphrase": PASSPHRASE, "rememberKey": false }),
    );
    assert_eq!(a.status()["state"], "off", "opt-in: off until turned on");
    a.ok(
        "set_remote",
        remote_form(&garage, &garage.endpoint(), "auto"),
    );

    // Off: an import is not pushed.
    let first = sources.join("first.wav");
    write_noise_wav(&first, 1, 2 << 20);
    a.ok("import", json!({ "paths": [first], "onProgress": CHANNEL }));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        garage.list_keys("auto/").is_empty(),
        "nothing goes up while automatic sync is off"
    );
    assert_eq!(a.status()["last_synced_at_ms"], Value::Null);

    // --- on: what waits is pushed, and then each import once imports settle ----
    a.ok("set_setting", json!({ "key": "auto_sync", "value": "on" }));
    let synced = a.wait_for("the first automatic sync", Duration::from_secs(30), |s| {
        s["state"] == "idle" && s["last_synced_at_ms"].is_u64()
    });
    assert_eq!(synced["error"], Value::Null, "{synced}");
    let second = sources.join("second.wav");
    write_noise_wav(&second, 2, 3 << 20);
    let before = a.status()["last_synced_at_ms"].as_u64().unwrap_or(0);
    let imported_at = Instant::now();
    a.ok(
        "import",
        json!({ "paths": [second], "onProgress": CHANNEL }),
    );
    a.wait_for("the push after the import", Duration::from_secs(30), |s| {
        s["state"] == "idle" && s["last_synced_at_ms"].as_u64() > Some(before)
    });
    let pushed_after = imported_at.elapsed();
    assert!(
        pushed_after >= Duration::from_millis(1500),
        "the push waits for imports to settle (pushed after {pushed_after:?})"
    );

    // The remote holds both tracks: a second device clones them, byte for byte.
    let keys = RemoteCredentials::new(garage.access_key(), garage.secret_key());
    let (device_b, cloned) = clone_vault(
        &tmp.path().join("b"),
        &config(&garage, "auto"),
        &keys,
        &Passphrase::new(PASSPHRASE.to_string()),
        &SyncOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .expect("a second device clones what A pushed by itself");
    assert_eq!(cloned.tracks_added, 2, "{cloned:?}");
    let mut want = vec![
        ("first.wav".to_string(), file_sha(&first)),
        ("second.wav".to_string(), file_sha(&second)),
    ];
    want.sort();
    assert_eq!(exported(&device_b, &tmp.path().join("b-out")), want);

    // --- a pull on unlock: B pushes a track while A is locked ---------------------
    a.ok("lock", json!({}));
    assert_eq!(
        a.wait_for("off once locked", Duration::from_secs(5), |s| s["state"]
            == "off")["state"],
        "off"
    );
    let from_b = sources.join("from-b.wav");
    write_noise_wav(&from_b, 3, 1 << 20);
    let report = device_b
        .import(
            std::slice::from_ref(&from_b),
            &ImportOptions {
                source: audiovault_engine::ingest::ImportSource::App,
                workers: 0,
            },
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("B imports");
    assert_eq!(report.imported, 1);
    device_b
        .push(
            &keys,
            &SyncOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("B pushes");
    assert!(
        !a.ok("status_of", json!({}))["unlocked"]
            .as_bool()
            .unwrap_or(true)
    );
    a.ok(
        "unlock",
        json!({ "passphrase": PASSPHRASE, "rememberKey": false }),
    );
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let titles = a.active_titles();
        if titles.iter().any(|(name, _)| name == "from-b.wav") {
            let (_, sha) = titles
                .iter()
                .find(|(name, _)| name == "from-b.wav")
                .expect("found above");
            assert_eq!(sha, &file_sha(&from_b), "B's track as B imported it");
            assert_eq!(titles.len(), 3, "{titles:?}");
            break;
        }
        assert!(
            Instant::now() < until,
            "A did not pull B's track after unlocking: {titles:?}; status {}",
            a.status()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // --- backoff: the remote stops answering, then comes back ---------------------
    let proxy = FaultProxy::start(garage.s3_addr());
    proxy.fail_all(Fault::DropConnection);
    a.ok(
        "set_remote",
        remote_form(&garage, &proxy.endpoint(), "auto"),
    );
    let third = sources.join("third.wav");
    write_noise_wav(&third, 4, 1 << 20);
    a.ok("import", json!({ "paths": [third], "onProgress": CHANNEL }));
    let mut failures_seen: Vec<(u64, Instant)> = Vec::new();
    let until = Instant::now() + Duration::from_secs(40);
    while failures_seen.len() < 4 {
        let s = a.status();
        let n = s["failures"].as_u64().unwrap_or(0);
        if s["state"] == "error" && failures_seen.last().is_none_or(|(last, _)| *last < n) {
            assert_eq!(s["operation"], "push", "{s}");
            let error = s["error"].as_str().unwrap_or_default();
            assert!(
                !error.is_empty() && !error.contains(garage.secret_key()),
                "the reason, and no secret: {s}"
            );
            let retry_at = s["next_retry_at_ms"].as_u64().expect("when it retries");
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            assert!(retry_at + 50 >= now_ms, "the retry is ahead: {s}");
            failures_seen.push((n, Instant::now()));
        }
        assert!(
            Instant::now() < until,
            "failures seen: {:?}; status {s}",
            failures_seen.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Spaced out, each wait twice the one before: 0.6 s, 1.2 s, 2.4 s after the
    // failures before (less a margin for the clock; a slow request only adds).
    let gaps: Vec<Duration> = failures_seen.windows(2).map(|w| w[1].1 - w[0].1).collect();
    eprintln!(
        "pushed {pushed_after:?} after the import; retries while down after {gaps:?}; {} requests",
        proxy.requests()
    );
    let first = quick_timing().backoff_first;
    for (i, gap) in gaps.iter().enumerate() {
        let floor = first * (1 << i) - Duration::from_millis(100);
        assert!(
            *gap >= floor,
            "retry {i} came after {gap:?}, before {floor:?}: {gaps:?}"
        );
    }
    let requests_while_down = proxy.requests();
    assert!(
        requests_while_down < 40,
        "no hammering: {requests_while_down} requests in {} failures",
        failures_seen.len()
    );

    // Back: the next retry pushes the waiting track, and the status clears.
    proxy.clear();
    let recovered = a.wait_for("recovery", Duration::from_secs(20), |s| {
        s["state"] == "idle" && s["failures"] == 0
    });
    assert_eq!(recovered["error"], Value::Null, "{recovered}");
    assert!(
        proxy.succeeded("PUT") > 0,
        "the push went through the proxy"
    );
    let pulled = device_b
        .pull(
            &keys,
            &SyncOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("B pulls");
    assert_eq!(pulled.tracks_added, 1, "A's third track reached the remote");
    drop(device_b);

    // The Push button still works beside it, and counts as a sync.
    let before = a.status()["last_synced_at_ms"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(5));
    let pushed = a.ok("push", json!({ "onProgress": CHANNEL }));
    assert_eq!(pushed["nothing_new"], true, "{pushed}");
    assert!(a.status()["last_synced_at_ms"].as_u64() > Some(before));
    a.ok("lock", json!({}));
}
