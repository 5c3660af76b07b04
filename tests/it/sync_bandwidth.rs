//! Bandwidth limits (issue #15): push holds to `upload_bytes_per_second`, clone to
//! `--download-limit` and pull to `download_bytes_per_second`, within 20% over 50 MiB,
//! through a proxy in front of Garage. Unlimited, each of these
//! takes about a second on loopback, so the lower bounds fail when a limit is ignored.

use std::time::Instant;

use audiovault_tests::*;

use crate::sync::{Remote, garage, u64_of};

const MIB: u64 = 1 << 20;

/// Runs `f`, returns its result and the seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed().as_secs_f64())
}

#[track_caller]
fn assert_near(what: &str, seconds: f64, expected: f64) {
    assert!(
        seconds >= expected * 0.8 && seconds <= expected * 1.2,
        "{what} took {seconds:.2} s; the limit says {expected:.1} s (±20%)"
    );
}

#[test]
fn push_pull_and_clone_keep_to_the_bandwidth_limits() {
    let Some(g) = garage() else { return };
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "bandwidth").via(proxy.endpoint());

    let a = TestVault::new();
    let first = a.scratch_dir("first");
    write_noise_wav(&first.join("big.wav"), 50, 50 * MIB);
    a.cmd(["import", "--json"]).arg(&first).run().expect_ok();
    remote.set(&a, &[]);
    a.cmd(["settings", "set", "upload_bytes_per_second", "10MiB"])
        .run()
        .expect_ok();

    proxy.reset_counters();
    let (push, took) = timed(|| remote.json(&a, &["push"]));
    let up = proxy.bytes_up();
    eprintln!("push of {up} bytes at 10 MiB/s: {took:.2} s");
    assert!(up >= 50 * MIB, "the track went up: {up} bytes; {push:#}");
    assert_near(
        "a 50 MiB push at 10 MiB/s",
        took,
        up as f64 / (10 * MIB) as f64,
    );

    // Clone: the limit comes from the command line (the new vault has no settings).
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    proxy.reset_counters();
    let (cloned, took) = timed(|| {
        remote
            .cmd(
                &b,
                [
                    "clone",
                    &remote.url(),
                    "--endpoint",
                    &remote.endpoint,
                    "--region",
                    &remote.region,
                    "--path-style",
                    "--download-limit",
                    "10MiB",
                    "--json",
                ],
            )
            .run()
            .expect_ok()
            .json()
    });
    let down = proxy.bytes_down();
    eprintln!("clone of {down} bytes at 10 MiB/s: {took:.2} s");
    assert_eq!(u64_of(&cloned["pull"], "tracks_added"), 1, "{cloned:#}");
    assert!(down >= 50 * MIB, "the track came down: {down} bytes");
    assert_near(
        "a 50 MiB clone at 10 MiB/s",
        took,
        down as f64 / (10 * MIB) as f64,
    );
    assert_eq!(
        crate::sync::exported_checksums(&b, "b-out"),
        crate::sync::exported_checksums(&a, "a-out"),
        "the clone holds the same audio"
    );

    // Pull: the limit is B's setting. A pushes 50 MiB more without a limit.
    let more = a.scratch_dir("more");
    write_noise_wav(&more.join("more.wav"), 30, 50 * MIB);
    a.cmd(["import", "--json"]).arg(&more).run().expect_ok();
    a.cmd(["settings", "set", "upload_bytes_per_second", "0"])
        .run()
        .expect_ok();
    let (_, unlimited) = timed(|| remote.json(&a, &["push"]));
    eprintln!("unlimited push of 50 MiB: {unlimited:.2} s");
    b.cmd(["settings", "set", "download_bytes_per_second", "10MiB"])
        .run()
        .expect_ok();
    proxy.reset_counters();
    let (pull, took) = timed(|| remote.json(&b, &["pull"]));
    let down = proxy.bytes_down();
    eprintln!("pull of {down} bytes at 10 MiB/s: {took:.2} s");
    assert_eq!(u64_of(&pull, "tracks_added"), 1, "{pull:#}");
    assert!(down >= 50 * MIB, "the new track came down: {down} bytes");
    assert_near(
        "a 50 MiB pull at 10 MiB/s",
        took,
        down as f64 / (10 * MIB) as f64,
    );
    assert!(
        unlimited < 0.6 * took,
        "without a limit the same bytes go much faster ({unlimited:.2} s against {took:.2} s)"
    );
}
