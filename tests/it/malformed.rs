//! Malformed input through the whole import: truncated files, random bytes under
//! audio extensions, a header claiming a gigantic size, a zero-length file. Each
//! gets its own outcome, nothing panics, and the batch finishes.

use std::io::Write;
use std::time::{Duration, Instant};

use audiovault_tests::*;

/// Deterministic bytes (xorshift), so a failure reproduces.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn malformed_files_each_get_an_outcome_and_the_batch_completes() {
    let corpus = corpus();
    let v = TestVault::new();
    let dir = v.scratch_dir("malformed");
    let mut expected = 0;
    // One file of each format, truncated at several offsets.
    let mut seen_ext = std::collections::HashSet::new();
    for f in &corpus.files {
        let ext = f.path.extension().unwrap().to_string_lossy().to_string();
        if !seen_ext.insert(ext.clone()) {
            continue;
        }
        let bytes = std::fs::read(&f.path).unwrap();
        for cut in [10, 100, 1000, bytes.len() / 2, bytes.len() - 1] {
            let p = dir.join(format!("cut-{cut}-{}", f.file_name()));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            expected += 1;
        }
    }
    for (i, ext) in ["mp3", "flac", "wav", "m4a", "ogg", "opus", "aiff"]
        .iter()
        .enumerate()
    {
        std::fs::write(
            dir.join(format!("noise.{ext}")),
            noise(50_000, i as u64 + 1),
        )
        .unwrap();
        expected += 1;
    }
    // A WAV whose header claims 4 GiB of audio in a 1 KiB file.
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&u32::MAX.to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&44_100u32.to_le_bytes());
    wav.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    wav.extend_from_slice(&4u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(u32::MAX - 100).to_le_bytes());
    wav.extend_from_slice(&noise(1024, 99));
    std::fs::File::create(dir.join("gigantic.wav"))
        .unwrap()
        .write_all(&wav)
        .unwrap();
    std::fs::write(dir.join("empty.flac"), b"").unwrap();
    expected += 2;

    let started = Instant::now();
    let report = v.import(&[&dir]);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "a batch of small broken files must not take minutes"
    );
    assert_eq!(report.files().len(), expected, "{}", report.run);
    let text = report.run.output();
    assert!(!text.contains("panicked"), "a parser panic escaped: {text}");
    for f in report.files() {
        let name = f["path"].as_str().unwrap();
        if name.contains("noise.") || name.ends_with("empty.flac") {
            assert_eq!(f["outcome"], "rejected", "{f}");
        }
        if name.contains("noise.") {
            assert!(
                f["reason"]
                    .as_str()
                    .unwrap()
                    .contains("not a recognized audio file"),
                "{f}"
            );
        }
        if f["outcome"] == "failed" {
            panic!("a malformed file should be rejected or stored, not fail: {f}");
        }
    }
    // What was stored is stored faithfully: it verifies and exports byte-identical.
    let verify = v.json(["verify"]);
    assert_eq!(verify["ok"], true, "{verify}");
    let gig = report.entry(&dir.join("gigantic.wav"));
    if gig["outcome"] == "imported" {
        let show = v.json(["show", gig["id"].as_str().unwrap()]);
        let d = show["duration_seconds"].as_f64().unwrap_or(0.0);
        assert!(
            d < 1.0,
            "the duration comes from the bytes present, not the header's claim: {show}"
        );
    }
}
