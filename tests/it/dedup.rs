//! Content addressing: the same bytes are stored once; a re-tagged copy costs a chunk or two.

use std::collections::HashSet;

use audiovault_tests::*;

#[test]
fn reimporting_the_same_folder_stores_nothing() {
    let corpus = corpus();
    let vault = TestVault::new();
    let first = vault.import(&corpus.dirs());
    assert_eq!(
        first.count("failed") + first.count("rejected"),
        0,
        "{}",
        first.run
    );
    let chunks_before = vault.chunk_files();
    let stats_before = vault.stats();
    assert!(!chunks_before.is_empty());

    let again = vault.import(&corpus.dirs());
    assert_eq!(
        again.count("duplicate"),
        corpus.files.len(),
        "every file is a duplicate\n{}",
        again.run
    );
    assert_eq!(u64_field(&again.json, "imported"), 0);
    for source in &corpus.files {
        assert_eq!(
            again.entry(&source.path)["id"],
            first.entry(&source.path)["id"],
            "{} is a duplicate of the track it became the first time",
            source.rel
        );
    }
    assert_eq!(
        vault.chunk_files(),
        chunks_before,
        "no chunk file added, removed or changed in size"
    );
    let stats = vault.stats();
    for key in [
        "tracks",
        "logical_bytes",
        "stored_bytes",
        "unique_bytes",
        "chunks",
    ] {
        assert_eq!(stats[key], stats_before[key], "stats {key} after re-import");
    }
}

#[test]
fn exact_copy_is_a_duplicate_of_the_original() {
    let corpus = corpus();
    let vault = TestVault::new();
    let original = corpus.file("dupes/original.mp3");
    let copy = corpus.file("dupes/exact copy.mp3");
    let report = vault.import(&[&original.path, &copy.path]);
    let a = report.entry(&original.path);
    let b = report.entry(&copy.path);
    let outcomes: HashSet<&str> = [str_field(a, "outcome"), str_field(b, "outcome")].into();
    assert_eq!(
        outcomes,
        HashSet::from(["imported", "duplicate"]),
        "{}",
        report.run
    );
    assert_eq!(a["id"], b["id"], "the duplicate names the existing track");
    assert_eq!(vault.tracks().len(), 1);
}

#[test]
fn retagged_copy_shares_at_least_90_percent_of_its_bytes() {
    let corpus = long_corpus();
    let vault = TestVault::new();
    let original = corpus.file("long/Long Session.mp3");
    let retagged = corpus.file("long/Long Session (retagged).mp3");
    let report = vault.import(&[&original.path, &retagged.path]);
    assert_eq!(
        report.count("imported"),
        2,
        "different bytes, two tracks\n{}",
        report.run
    );
    let id_a = str_field(report.entry(&original.path), "id").to_owned();
    let id_b = str_field(report.entry(&retagged.path), "id").to_owned();

    for (id, source) in [(&id_a, original), (&id_b, retagged)] {
        let track = vault.show(id);
        let chunks = as_array(&track["chunks"]);
        assert_eq!(chunks.len() as u64, u64_field(&track, "chunk_count"));
        assert!(
            chunks.len() >= 10,
            "a 24 MB file in 1 MiB-average chunks: {} chunks",
            chunks.len()
        );
        // Chunks tile the file: contiguous offsets, lengths within FastCDC's bounds
        // (but the last chunk of a format region, here the ID3 tags: at most two).
        let mut offset = 0;
        let mut short = 0;
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(
                u64_field(c, "offset"),
                offset,
                "chunk {i} of {id} starts where the last ended"
            );
            let len = u64_field(c, "length");
            assert!(len <= 4 << 20, "chunk {i} of {id} longer than 4 MiB: {len}");
            if i + 1 < chunks.len() && len < 256 << 10 {
                short += 1;
                assert!(
                    short <= 2,
                    "chunk {i} of {id} shorter than 256 KiB: {len}, and not a tag's region"
                );
            }
            offset += len;
        }
        assert_eq!(
            offset, source.size,
            "the chunks of {id} cover its {} bytes",
            source.size
        );
    }

    let a: HashSet<String> = vault
        .chunks_of(&id_a)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let b = vault.chunks_of(&id_b);
    let total: u64 = b.iter().map(|(_, len)| len).sum();
    let shared: u64 = b
        .iter()
        .filter(|(id, _)| a.contains(id))
        .map(|(_, len)| len)
        .sum();
    assert!(
        shared as f64 >= 0.9 * total as f64,
        "the re-tagged copy shares {shared} of {total} bytes ({:.1}%) with the original",
        100.0 * shared as f64 / total as f64
    );

    // Shared chunks are stored once.
    let distinct: HashSet<String> = a
        .iter()
        .cloned()
        .chain(b.iter().map(|(id, _)| id.clone()))
        .collect();
    assert_eq!(
        vault.chunk_files().len(),
        distinct.len(),
        "one chunk file per distinct chunk"
    );
    let stats = vault.stats();
    assert_eq!(u64_field(&stats, "chunks"), distinct.len() as u64);
    assert!(
        u64_field(&stats, "dedup_saved_bytes") >= shared,
        "dedup_saved_bytes counts the shared bytes ({shared}): {stats}"
    );
}
