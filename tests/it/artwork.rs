//! Cover art: stored once per distinct picture, read back byte for byte, and a
//! small thumbnail for lists.

use audiovault_tests::*;

#[test]
fn embedded_cover_art_comes_back_exactly_with_a_small_thumbnail() {
    let corpus = corpus();
    let v = TestVault::new();
    let covers: Vec<&SourceFile> = corpus
        .files
        .iter()
        .filter(|f| f.rel.starts_with("cover/"))
        .collect();
    assert_eq!(
        covers.len(),
        2,
        "the corpus has an MP3 and a FLAC with cover art"
    );
    let picture = std::fs::read(corpus.root.join(".work/cover.png")).unwrap();
    let paths: Vec<_> = covers.iter().map(|f| f.path.clone()).collect();
    let report = v.import(&paths);
    assert_eq!(report.count("imported"), 2, "{}", report.run);

    let mut art_chunks = std::collections::HashSet::new();
    for f in &covers {
        let id = report.entry(&f.path)["id"].as_str().unwrap().to_string();
        let show = v.json(["show", &id]);
        assert_eq!(show["has_artwork"], true, "{show}");
        assert_eq!(show["artwork_mime"], "image/png", "{show}");
        assert_eq!(show["artwork_size"].as_u64(), Some(picture.len() as u64));
        art_chunks.insert(show["artwork_chunk"].as_str().unwrap().to_string());

        let out = v.scratch(&format!("{id}.png"));
        v.run(["artwork", &id, "--to", out.to_str().unwrap()])
            .expect_ok();
        assert_eq!(std::fs::read(&out).unwrap(), picture, "{}", f.rel);

        let thumb = v.scratch(&format!("{id}-thumb.jpg"));
        v.run([
            "artwork",
            &id,
            "--thumbnail",
            "--to",
            thumb.to_str().unwrap(),
        ])
        .expect_ok();
        let t = std::fs::read(&thumb).unwrap();
        assert_eq!(&t[..2], &[0xFF, 0xD8], "a JPEG");
        assert!(
            t.len() < picture.len() / 2,
            "a thumbnail is small: {} bytes",
            t.len()
        );
    }
    assert_eq!(
        art_chunks.len(),
        1,
        "one picture in two files is stored once"
    );

    let no_art = corpus
        .files
        .iter()
        .find(|f| f.rel.ends_with(".wav"))
        .unwrap();
    let id = v.import(&[&no_art.path]).entry(&no_art.path)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = v.scratch("none.png");
    let run = v.run(["artwork", &id, "--to", out.to_str().unwrap()]);
    assert_eq!(run.code(), 1);
    assert!(run.output().contains("no cover art"), "{run}");
    assert!(!out.exists());
}

#[test]
fn rescan_reads_metadata_again_from_the_stored_bytes() {
    let corpus = corpus();
    let v = TestVault::new();
    let cover = corpus
        .files
        .iter()
        .find(|f| f.rel.starts_with("cover/") && f.rel.ends_with(".mp3"))
        .unwrap();
    // Copy the source away and delete it: rescan must not need it.
    let copy = v.scratch("gone.mp3");
    std::fs::copy(&cover.path, &copy).unwrap();
    let report = v.import(&[&copy]);
    let id = report.entry(&copy)["id"].as_str().unwrap().to_string();
    std::fs::remove_file(&copy).unwrap();
    let before = v.json(["show", &id]);

    let rescan = v.json(["rescan", "--all"]);
    assert_eq!(rescan["rescanned"].as_u64(), Some(1), "{rescan}");
    assert_eq!(
        rescan["failed"].as_array().map(Vec::len),
        Some(0),
        "{rescan}"
    );
    let after = v.json(["show", &id]);
    for key in [
        "title",
        "artist",
        "album",
        "duration_seconds",
        "sample_rate",
        "channels",
        "codec",
        "has_artwork",
        "artwork_chunk",
        "artwork_size",
    ] {
        assert_eq!(before[key], after[key], "{key}");
    }
    assert_eq!(after["has_artwork"], true);
    assert!(after["title"].is_string());
    // Nothing pending: the default rescan finds no track read by an older extractor.
    assert_eq!(v.json(["rescan"])["rescanned"].as_u64(), Some(0));
}
