//! Storage classes (issue #15): with `storage_class` set, every pack is written with
//! `x-amz-storage-class` (seen at a proxy in front of Garage) and nothing else is; a
//! class that needs a restore before each read is refused; and a pack the bucket has
//! archived (S3 answers `InvalidObjectState`, injected at the proxy) makes a pull name
//! the track that needs it and say how to restore it, while the rest of the pull goes on
//! and a later pull (after the restore) brings the track.

use audiovault_tests::*;

use crate::sync::{Remote, garage, u64_of};

#[test]
fn packs_take_the_storage_class_and_an_archived_pack_names_its_track() {
    let Some(g) = garage() else { return };
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "classes").via(proxy.endpoint());

    let a = TestVault::new();
    for (value, said) in [
        ("GLACIER", "GLACIER_IR"),
        ("DEEP_ARCHIVE", "restore"),
        ("cheap", "STANDARD_IA"),
    ] {
        let run = a.run(["settings", "set", "storage_class", value]);
        assert_ne!(run.code(), 0, "{run}");
        assert!(
            run.output().contains("storage_class") && run.output().contains(said),
            "{value}: {run}"
        );
    }
    a.run(["settings", "set", "storage_class", "standard_ia"])
        .expect_ok();
    assert_eq!(a.json(["settings"])["storage_class"], "STANDARD_IA");

    let first = a.scratch_dir("first");
    write_noise_wav(&first.join("one.wav"), 1, 3 << 20);
    write_noise_wav(&first.join("two.wav"), 2, 2 << 20);
    a.cmd(["import", "--json"]).arg(&first).run().expect_ok();
    remote.set(&a, &[]);
    proxy.reset_counters();
    let push = remote.json(&a, &["push"]);
    let packs = u64_of(&push, "packs_uploaded");
    assert!(packs >= 1, "{push:#}");
    let classes = proxy.header_values("x-amz-storage-class");
    assert_eq!(
        classes.len() as u64,
        packs,
        "one header per pack, none on other objects: {classes:?}; {push:#}"
    );
    assert!(
        classes
            .iter()
            .all(|(m, c)| m == "PUT" && c == "STANDARD_IA"),
        "{classes:?}"
    );
    let pack_puts = proxy
        .put_keys()
        .iter()
        .filter(|k| k.contains("/packs/"))
        .count() as u64;
    assert_eq!(pack_puts, packs, "{:?}", proxy.put_keys());

    let b = TestVault::uninitialised(Some(PASSPHRASE));
    let cloned = remote.clone_into(&b).expect_ok().json();
    assert_eq!(u64_of(&cloned["pull"], "tracks_added"), 2, "{cloned:#}");

    // A new track on A, 20 MiB: two full packs of its audio alone, then one with the
    // rest and the catalog snapshot.
    let second = a.scratch_dir("second");
    write_noise_wav(&second.join("three.wav"), 3, 20 << 20);
    a.cmd(["import", "--json"]).arg(&second).run().expect_ok();
    proxy.reset_counters();
    remote.json(&a, &["push"]);
    let new_packs: Vec<String> = proxy
        .put_keys()
        .into_iter()
        .filter(|k| k.contains("/packs/"))
        .collect();
    let sizes = g.list_keys("classes/packs/");
    let audio_pack = new_packs
        .iter()
        .find_map(|k| {
            let name = k.rsplit('/').next()?;
            sizes
                .iter()
                .find(|(key, size)| key.ends_with(name) && *size >= 7 << 20)
                .map(|_| name.to_string())
        })
        .expect("a full pack of the new track's audio");

    // Every pack archived: even the catalog cannot be read, and the error says which
    // object and what to do.
    proxy.fail_matching("GET", "/packs/", Fault::InvalidObjectState);
    let run = remote.cmd(&b, ["pull"]).run();
    assert_ne!(run.code(), 0, "{run}");
    assert!(
        run.stderr.contains("packs/") && run.stderr.contains("restore"),
        "{run}"
    );

    // One of the new track's packs archived: the pull names the track.
    proxy.fail_matching("GET", &audio_pack, Fault::InvalidObjectState);
    let run = remote.cmd(&b, ["pull", "--json"]).run();
    assert_eq!(run.code(), 3, "a partial pull: {run}");
    let pull = run.json();
    let failed = pull["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1, "{pull:#}");
    assert_eq!(failed[0]["file_name"], "three.wav", "{pull:#}");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("archived") && reason.contains("restore"),
        "the reason says what to do: {reason}"
    );
    assert_eq!(u64_of(&pull, "tracks_added"), 0, "{pull:#}");
    let text = remote.cmd(&b, ["pull"]).run();
    assert!(
        text.output().contains("three.wav") && text.output().contains("restore"),
        "{text}"
    );

    // Restored: the next pull brings it.
    proxy.clear();
    let pull = remote.json(&b, &["pull"]);
    assert_eq!(u64_of(&pull, "tracks_added"), 1, "{pull:#}");
    assert_eq!(
        crate::sync::exported_checksums(&b, "b-out"),
        crate::sync::exported_checksums(&a, "a-out")
    );
}
