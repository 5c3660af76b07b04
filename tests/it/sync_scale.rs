//! Sync costs what changed, not the library (issue #15): with a library already on the
//! remote, a push of 5 new tracks sends less than their bytes + 2 MiB and the other
//! device's pull receives less than their bytes + 2 MiB, counted on the wire at a proxy in
//! front of Garage; a push with nothing new makes no request; neither lists the
//! remote's packs. Bytes, never times.
//!
//! 20,000 tracks by default, the size. The catalog as a database file (the
//! design this replaced) was ~4 MiB at 3,000 tracks, almost all of it sent again by each
//! push and pull, so the test fails against it (and it rewrote every record on each
//! pull, which the last check catches). `AUDIOVAULT_SCALE_TRACKS=N` runs it at another
//! size (`bench/sync.sh` prints the times too).

use audiovault_tests::*;

use crate::sync::{Remote, garage, u64_of};

const MIB: u64 = 1 << 20;

#[test]
fn a_push_and_a_pull_of_five_tracks_cost_their_bytes_not_the_librarys() {
    let Some(g) = garage() else { return };
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "scale").via(proxy.endpoint());
    let tracks: u64 = std::env::var("AUDIOVAULT_SCALE_TRACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);

    let a = TestVault::new();
    let library = a.scratch_dir("library");
    for i in 0..tracks {
        let dir = library.join(format!("Album {:05}", i / 12));
        if i % 12 == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        write_noise_wav(
            &dir.join(format!("{:02} Track {i}.wav", i % 12 + 1)),
            i,
            1024,
        );
    }
    a.cmd(["import", "--json"]).arg(&library).run().expect_ok();
    remote.set(&a, &[]);
    remote.json(&a, &["push"]);
    let b = TestVault::uninitialised(Some(PASSPHRASE));
    let cloned = remote.clone_into(&b).expect_ok().json();
    assert_eq!(u64_of(&cloned["pull"], "tracks_added"), tracks);

    // Nothing new: not a single request.
    proxy.reset_counters();
    let again = remote.json(&a, &["push"]);
    assert_eq!(again["nothing_new"], true, "{again:#}");
    assert_eq!(proxy.requests(), 0);

    // Five song-sized tracks.
    let new = a.scratch_dir("new");
    for i in 0..5 {
        write_noise_wav(&new.join(format!("New {i}.wav")), 1 << 40 | i, 4 * MIB);
    }
    let new_bytes: u64 = files_under(&new)
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    a.cmd(["import", "--json"]).arg(&new).run().expect_ok();

    proxy.reset_counters();
    let push = remote.json(&a, &["push"]);
    let up = proxy.bytes_up();
    eprintln!(
        "{tracks} tracks: push of 5 sent {up} bytes for {new_bytes} of tracks ({} requests): {push}",
        proxy.requests()
    );
    assert!(
        up < new_bytes + 2 * MIB,
        "the push sent {up} bytes over the wire for {new_bytes} bytes of new tracks: {push:#}"
    );
    assert!(up >= new_bytes, "the tracks themselves went up: {up}");
    let listed_packs = |proxy: &FaultProxy| -> Vec<String> {
        proxy
            .list_targets()
            .into_iter()
            .filter(|t| t.contains("packs"))
            .collect()
    };
    assert_eq!(
        listed_packs(&proxy),
        Vec::<String>::new(),
        "the push listed every pack on the remote"
    );

    let records_before = records_of(&b);
    proxy.reset_counters();
    let pull = remote.json(&b, &["pull"]);
    let down = proxy.bytes_down();
    eprintln!(
        "{tracks} tracks: pull of 5 received {down} bytes ({} requests): {pull}",
        proxy.requests()
    );
    assert_eq!(u64_of(&pull, "tracks_added"), 5, "{pull:#}");
    assert_eq!(
        listed_packs(&proxy),
        Vec::<String>::new(),
        "the pull listed every pack on the remote"
    );
    assert!(
        down < new_bytes + 2 * MIB,
        "the pull received {down} bytes over the wire for {new_bytes} bytes of new tracks: {pull:#}"
    );
    assert_eq!(b.tracks().len() as u64, tracks + 5);
    // The join rewrote the records of what it changed, not of the whole library (it
    // once re-sealed every track's record on every pull: the adds it merged were
    // "updated" to what they already were).
    let records_after = records_of(&b);
    let rewritten = records_after
        .iter()
        .filter(|(path, mtime)| records_before.get(*path) != Some(*mtime))
        .count();
    assert!(
        rewritten <= 5 + 3,
        "the pull of 5 tracks rewrote {rewritten} of {} records",
        records_after.len()
    );
}

/// Every record file of a vault with its modification time.
fn records_of(
    v: &TestVault,
) -> std::collections::BTreeMap<std::path::PathBuf, std::time::SystemTime> {
    files_under(&v.path.join("records"))
        .into_iter()
        .filter_map(|f| Some((f.clone(), std::fs::metadata(&f).ok()?.modified().ok()?)))
        .collect()
}
