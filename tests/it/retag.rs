//! Re-tags cost only the tag (issue #18): a copy of a file re-tagged by mutagen, as
//! beets or Picard do it (a new title, a 200-byte comment, new cover art), stores at
//! most 3% of its size again, by the import report's `new_bytes`.
//!
//! The files are 4–10 MB each (WAV and AIFF also, not only the formats the issue names), made with ffmpeg (a tone and pink noise) and re-tagged
//! by `tests/fixtures/retag.py` (mutagen, `/usr/bin/python3`). The figures are printed
//! per format (`--nocapture` shows them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use audiovault_tests::*;
use sha2::{Digest, Sha256};

/// (file name, ffmpeg codec arguments, seconds)
const SOURCES: &[(&str, &[&str], u32)] = &[
    ("tone.mp3", &["-c:a", "libmp3lame", "-b:a", "192k"], 240),
    ("tone.flac", &["-c:a", "flac", "-sample_fmt", "s16"], 90),
    ("tone-aac.m4a", &["-c:a", "aac", "-b:a", "192k"], 240),
    ("tone-alac.m4a", &["-c:a", "alac"], 60),
    ("tone.ogg", &["-c:a", "libvorbis", "-b:a", "192k"], 240),
    ("tone.opus", &["-c:a", "libopus", "-b:a", "192k"], 240),
    ("tone.wav", &["-c:a", "pcm_s16le"], 30),
    ("tone.aiff", &["-c:a", "pcm_s16be"], 30),
    ("tone.wv", &["-c:a", "wavpack"], 60),
    ("tone.wma", &["-c:a", "wmav2", "-b:a", "192k"], 240),
];

const RETAG: &str = "retag.py";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(RETAG)
}

fn retag(file: &Path, cover: &Path, title: &str) {
    let out = Command::new("/usr/bin/python3")
        .arg(script())
        .arg(file)
        .arg(cover)
        .arg(title)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/python3 (python3-mutagen: scripts/test installs it)");
    assert!(
        out.status.success(),
        "retag.py {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The originals, their re-tagged copies (`retagged-NAME`), and for Ogg a second
/// re-tag of the re-tagged copy (`retagged2-NAME`); made once per machine.
fn sources() -> PathBuf {
    let text = std::fs::read(script()).unwrap();
    let version = format!("4-{}", hex(&Sha256::digest(&text)));
    cached_fixture("retag", &version, |dir| {
        let cover = dir.join("cover.png");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "nullsrc=s=96x96,geq=random(1)*255:128:128",
            "-frames:v",
            "1",
        ])
        .arg(&cover)
        .status()
        .map(|s| assert!(s.success(), "ffmpeg cover"))
        .unwrap();
        for (name, codec, seconds) in SOURCES {
            let lossless = [".flac", "alac", ".wav", ".aiff", ".wv"];
            let noise = if lossless.iter().any(|l| name.contains(l)) {
                0.05
            } else {
                0.3
            };
            let path = dir.join(name);
            let status = ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency=440:duration={seconds}"),
                "-f",
                "lavfi",
                "-i",
                &format!("anoisesrc=d={seconds}:c=pink:a={noise}:seed=7"),
                "-filter_complex",
                "[0][1]amix=inputs=2,aformat=channel_layouts=stereo",
                "-metadata",
                "title=The original title",
            ])
            .args(*codec)
            .arg(&path)
            .status()
            .unwrap();
            assert!(status.success(), "ffmpeg {name}");
            let copy = dir.join(format!("retagged-{name}"));
            std::fs::copy(&path, &copy).unwrap();
            retag(&copy, &cover, "A new title, as a library manager writes it");
            let again = dir.join(format!("retagged2-{name}"));
            std::fs::copy(&copy, &again).unwrap();
            retag(&again, &cover, "Another title, the second fix");
        }
    })
}

fn ffmpeg(args: &[&str]) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-v", "error", "-y"])
        .args(args)
        .stdin(Stdio::null());
    c
}

/// The file's size and what importing it after `before` stored again.
fn new_bytes(before: &Path, after: &Path) -> (u64, u64) {
    let vault = TestVault::new();
    let first = vault.import(&[before]);
    assert_eq!(first.count("imported"), 1, "{}", first.run);
    let report = vault.import(&[after]);
    assert_eq!(report.count("imported"), 1, "{}", report.run);
    let entry = report.entry(after);
    let size = u64_field(entry, "size_bytes");
    assert_eq!(size, std::fs::metadata(after).unwrap().len());
    // The re-tagged copy exports byte-identical, like any file.
    let out = vault.scratch_dir("out");
    vault
        .export(&[str_field(entry, "id")], &out, &[])
        .expect_ok();
    let exported = out.join(after.file_name().unwrap());
    assert_eq!(sha256_file(&exported), sha256_file(after));
    (size, u64_field(entry, "new_bytes"))
}

fn percent(new: u64, size: u64) -> f64 {
    100.0 * new as f64 / size as f64
}

/// MP3, FLAC, AAC and ALAC in MP4, WAV, AIFF (ID3 in a chunk), WavPack (APEv2) and WMA:
/// mutagen's re-tag stores at most 3% again.
#[test]
fn a_mutagen_retag_stores_at_most_3_percent_of_the_file_again() {
    let dir = sources();
    let mut failures = Vec::new();
    for (name, _, _) in SOURCES.iter().filter(|(n, _, _)| !is_ogg(n)) {
        let original = dir.join(name);
        let retagged = dir.join(format!("retagged-{name}"));
        let (size, new) = new_bytes(&original, &retagged);
        assert!(
            (4_000_000..=10_000_000).contains(&size),
            "{name} is {size} bytes, not 4–10 MB"
        );
        println!(
            "{name:<14} {size:>9} bytes, re-tag stored again {new:>8} bytes ({:.2}%)",
            percent(new, size)
        );
        if new * 100 > size * 3 {
            failures.push(format!(
                "{name}: {new} of {size} bytes ({:.1}%)",
                percent(new, size)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "stored more than 3% again: {failures:?}"
    );
}

fn is_ogg(name: &str) -> bool {
    name.ends_with(".ogg") || name.ends_with(".opus")
}

/// Ogg Vorbis and Opus. mutagen's first re-tag adds header pages (the cover art), and
/// then renumbers every later page: the sequence number and CRC of each 4–18 KB page
/// change. The vault stores audio pages normalised (chunker version 2,
/// `store::ogg_pages`), so that re-tag, and the next one that fits the padding
/// mutagen left, each store at most 3% again.
#[test]
fn an_ogg_retag_stores_at_most_3_percent_again_even_when_every_page_is_renumbered() {
    let dir = sources();
    let mut failures = Vec::new();
    for (name, _, _) in SOURCES.iter().filter(|(n, _, _)| is_ogg(n)) {
        let original = dir.join(name);
        let first = dir.join(format!("retagged-{name}"));
        let second = dir.join(format!("retagged2-{name}"));
        for (kind, before, after) in [
            ("first re-tag (pages renumbered)", &original, &first),
            ("second re-tag", &first, &second),
        ] {
            let (size, new) = new_bytes(before, after);
            assert!(
                (4_000_000..=10_000_000).contains(&size),
                "{name} is {size} bytes, not 4–10 MB"
            );
            println!(
                "{name:<14} {size:>9} bytes, {kind} stored again {new:>8} bytes ({:.2}%)",
                percent(new, size)
            );
            if new * 100 > size * 3 {
                failures.push(format!(
                    "{name}, {kind}: {new} of {size} bytes ({:.1}%)",
                    percent(new, size)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "stored more than 3% again: {failures:?}"
    );
}
