//! What the header probe reads, against the generator's oracles: ffprobe's view
//! (reference.tsv) and the tags as written (tags.tsv). Every mismatch over the whole
//! corpus is listed at once.

use std::collections::HashMap;

use audiovault_tests::*;
use serde_json::Value;

/// ffprobe codec name → a word the engine's codec name must contain.
fn codec_family(ffprobe: &str) -> &str {
    if ffprobe.starts_with("pcm_") {
        "pcm"
    } else {
        ffprobe
    }
}

fn text(t: &Value, key: &str) -> Option<String> {
    match &t[key] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
fn technical_metadata_and_tags_match_ffprobe_and_what_was_written() {
    let corpus = corpus();
    let vault = TestVault::new();
    let report = vault.import(&corpus.dirs());
    let tags: HashMap<&str, &Tags> = corpus.tags.iter().map(|t| (t.rel.as_str(), t)).collect();
    let mut wrong = Vec::new();

    for source in &corpus.files {
        if source.rel == "dupes/exact copy.mp3" {
            continue; // a duplicate: the track is dupes/original.mp3's
        }
        let id = str_field(report.entry(&source.path), "id").to_owned();
        let t = vault.show(&id);
        let mut check = |what: &str, ok: bool, got: String, want: String| {
            if !ok {
                wrong.push(format!("{}: {what}: got {got}, want {want}", source.rel));
            }
        };

        let r = &corpus.reference[&source.rel]; // duration, sample_rate, channels, codec
        let want_duration: f64 = r[0].parse().unwrap();
        let got = t["duration_seconds"].as_f64();
        check(
            "duration_seconds",
            got.is_some_and(|d| (d - want_duration).abs() <= 0.1 + want_duration * 0.01),
            format!("{got:?}"),
            format!("{want_duration} (±0.1 s +1 %)"),
        );
        check(
            "sample_rate",
            text(&t, "sample_rate").as_deref() == Some(&r[1]),
            t["sample_rate"].to_string(),
            r[1].clone(),
        );
        check(
            "channels",
            text(&t, "channels").as_deref() == Some(&r[2]),
            t["channels"].to_string(),
            r[2].clone(),
        );
        let family = codec_family(&r[3]);
        check(
            "codec",
            text(&t, "codec").is_some_and(|c| c.to_lowercase().contains(family)),
            t["codec"].to_string(),
            format!("…{family}…"),
        );
        if let Some(bits) = r[3].strip_prefix("pcm_s").and_then(|s| s.get(..2)) {
            check(
                "bit_depth",
                text(&t, "bit_depth").as_deref() == Some(bits),
                t["bit_depth"].to_string(),
                bits.to_owned(),
            );
        }

        let w = tags[source.rel.as_str()];
        for (key, want) in [
            ("title", &w.title),
            ("artist", &w.artist),
            ("album", &w.album),
            ("genre", &w.genre),
        ] {
            check(
                key,
                text(&t, key).as_deref() == Some(want),
                t[key].to_string(),
                format!("{want:?}"),
            );
        }
        check(
            "track_number",
            text(&t, "track_number").as_deref() == Some(&w.track),
            t["track_number"].to_string(),
            w.track.clone(),
        );
        let year = text(&t, "year").or_else(|| text(&t, "date"));
        check(
            "year/date",
            year.as_deref().is_some_and(|y| y.starts_with(&w.date)),
            format!("{year:?}"),
            w.date.clone(),
        );

        let cover = source.rel.starts_with("cover/");
        check(
            "has_artwork",
            t["has_artwork"] == cover,
            t["has_artwork"].to_string(),
            cover.to_string(),
        );
        if cover {
            check(
                "artwork_mime",
                t["artwork_mime"] == "image/png",
                t["artwork_mime"].to_string(),
                "\"image/png\"".into(),
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} metadata mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
