//! Tests on real files made by ffmpeg, checked against ffprobe.
//!
//! ffmpeg and ffprobe are test dependencies (CI installs them): when they are missing
//! these tests fail, they do not skip. Files are a few seconds long so the suite stays
//! fast in a debug build.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::media::samples;

/// Generous for a debug build on a loaded 2-core machine; a probe takes < 1 ms here.
const PROBE_TIME_BOUND: Duration = Duration::from_secs(3);

const TITLE: &str = "Björk – Jóga 日本語";

fn run(program: &str, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is required for the media tests: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn ffmpeg(dir: &Path, args: &[&str]) {
    let mut all = vec!["-v", "error", "-y", "-nostdin"];
    all.extend_from_slice(args);
    run("ffmpeg", dir, &all);
}

/// 3 s of stereo 44.1 kHz audio: two sine tones at half scale.
fn source(dir: &Path) -> PathBuf {
    let path = dir.join("src.wav");
    if !path.exists() {
        ffmpeg(
            dir,
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=3:sample_rate=44100",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=660:duration=3:sample_rate=44100",
                "-filter_complex",
                "[0][1]amerge=inputs=2,volume=4[a]",
                "-map",
                "[a]",
                "-c:a",
                "pcm_s16le",
                "src.wav",
            ],
        );
    }
    path
}

/// Encodes the source into `name` with extra ffmpeg arguments.
pub(super) fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    source(dir);
    let mut all = vec!["-i", "src.wav"];
    all.extend_from_slice(args);
    all.push(name);
    ffmpeg(dir, &all);
    dir.join(name)
}

fn cover_png(dir: &Path) -> PathBuf {
    let path = dir.join("cover.png");
    if !path.exists() {
        ffmpeg(
            dir,
            &[
                "-f",
                "lavfi",
                "-i",
                "color=c=red:s=64x64",
                "-frames:v",
                "1",
                "cover.png",
            ],
        );
    }
    path
}

fn cover_jpg(dir: &Path) -> PathBuf {
    let path = dir.join("cover.jpg");
    if !path.exists() {
        ffmpeg(
            dir,
            &[
                "-f",
                "lavfi",
                "-i",
                "color=c=blue:s=64x64",
                "-frames:v",
                "1",
                "cover.jpg",
            ],
        );
    }
    path
}

/// What ffprobe says about the first audio stream.
#[derive(Debug)]
struct Reference {
    codec: String,
    sample_rate: u32,
    channels: u32,
    /// The format's duration less the stream's start time: for MP3, ffprobe counts
    /// the encoder delay in the duration and reports it as the start time; the probe
    /// reports the playable (gapless) length.
    duration: f64,
    /// bits_per_raw_sample, else bits_per_sample; 0 when ffprobe has neither.
    bits: u32,
    bit_rate: Option<f64>,
    packets: Option<u64>,
    tags: HashMap<String, String>,
}

fn ffprobe(path: &Path, count_packets: bool) -> Reference {
    let mut args = vec![
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-select_streams",
        "a:0",
    ];
    if count_packets {
        args.push("-count_packets");
    }
    let p = path.to_str().unwrap();
    args.push(p);
    let json: serde_json::Value =
        serde_json::from_slice(&run("ffprobe", Path::new("/"), &args)).unwrap();
    let stream = &json["streams"][0];
    let format = &json["format"];
    let num = |v: &serde_json::Value| -> Option<f64> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| v.as_f64())
    };
    let bits = num(&stream["bits_per_raw_sample"])
        .filter(|b| *b > 0.0)
        .or_else(|| num(&stream["bits_per_sample"]))
        .unwrap_or(0.0) as u32;
    let mut tags = HashMap::new();
    for source in [&format["tags"], &stream["tags"]] {
        if let Some(map) = source.as_object() {
            for (k, v) in map {
                tags.insert(k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned());
            }
        }
    }
    Reference {
        codec: stream["codec_name"].as_str().unwrap().to_owned(),
        sample_rate: num(&stream["sample_rate"]).unwrap() as u32,
        channels: stream["channels"].as_u64().unwrap() as u32,
        duration: num(&format["duration"])
            .or_else(|| num(&stream["duration"]))
            .unwrap()
            - num(&stream["start_time"]).unwrap_or(0.0).max(0.0),
        bits,
        bit_rate: num(&format["bit_rate"]),
        packets: num(&stream["nb_read_packets"]).map(|n| n as u64),
        tags,
    }
}

fn assert_duration(ours: Option<f64>, expected: f64, what: &str) {
    let ours = ours.unwrap_or_else(|| panic!("{what}: no duration"));
    let tolerance = (expected * 0.005).max(0.050);
    assert!(
        (ours - expected).abs() <= tolerance,
        "{what}: duration {ours} s, expected {expected} s (± {tolerance})"
    );
}

fn timed_probe(path: &Path) -> (Result<MediaInfo, MediaError>, Duration) {
    let start = Instant::now();
    let result = probe(path);
    let elapsed = start.elapsed();
    assert!(
        elapsed < PROBE_TIME_BOUND,
        "{}: probe took {elapsed:?}",
        path.display()
    );
    (result, elapsed)
}

// ---------------------------------------------------------------------------------
// Technical metadata

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    container: &'static str,
    codec: &'static str,
    lossless: bool,
    decodable: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "s16.wav",
        args: &["-c:a", "pcm_s16le"],
        container: "wav",
        codec: "pcm_s16le",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "s24.wav",
        args: &["-c:a", "pcm_s24le"],
        container: "wav",
        codec: "pcm_s24le",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "mono48k.wav",
        args: &["-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le"],
        container: "wav",
        codec: "pcm_s16le",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "s.aiff",
        args: &[],
        container: "aiff",
        codec: "pcm_s16be",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "s.flac",
        args: &["-c:a", "flac"],
        container: "flac",
        codec: "flac",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "s24.flac",
        args: &["-c:a", "flac", "-sample_fmt", "s32", "-ar", "48000"],
        container: "flac",
        codec: "flac",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "alac.m4a",
        args: &["-c:a", "alac"],
        container: "mp4",
        codec: "alac",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "aac.m4a",
        args: &["-c:a", "aac", "-b:a", "128k"],
        container: "mp4",
        codec: "aac",
        lossless: false,
        decodable: true,
    },
    Case {
        name: "cbr.mp3",
        args: &["-c:a", "libmp3lame", "-b:a", "192k"],
        container: "mp3",
        codec: "mp3",
        lossless: false,
        decodable: true,
    },
    Case {
        name: "vbr.mp3",
        args: &["-c:a", "libmp3lame", "-q:a", "2"],
        container: "mp3",
        codec: "mp3",
        lossless: false,
        decodable: true,
    },
    Case {
        name: "mono22k.mp3",
        args: &[
            "-ac",
            "1",
            "-ar",
            "22050",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
        ],
        container: "mp3",
        codec: "mp3",
        lossless: false,
        decodable: true,
    },
    Case {
        name: "s.ogg",
        args: &["-c:a", "libvorbis", "-q:a", "4"],
        container: "ogg",
        codec: "vorbis",
        lossless: false,
        decodable: true,
    },
    Case {
        name: "s.opus",
        args: &["-c:a", "libopus", "-b:a", "96k"],
        container: "ogg",
        codec: "opus",
        lossless: false,
        decodable: false,
    },
    Case {
        name: "s.caf",
        args: &["-c:a", "pcm_s16le"],
        container: "caf",
        codec: "pcm_s16le",
        lossless: true,
        decodable: true,
    },
    Case {
        name: "s.mka",
        args: &["-c:a", "flac"],
        container: "mkv",
        codec: "flac",
        lossless: true,
        decodable: true,
    },
];

#[test]
fn technical_metadata_matches_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for case in CASES {
        let path = make(dir.path(), case.name, case.args);
        let reference = ffprobe(&path, false);
        let (result, elapsed) = timed_probe(&path);
        let info = result.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        report.push(format!("{:<12} {elapsed:>10.2?}", case.name));

        assert_eq!(
            info.container.as_deref(),
            Some(case.container),
            "{}",
            case.name
        );
        assert_eq!(info.codec.as_deref(), Some(case.codec), "{}", case.name);
        assert_eq!(
            reference.codec, case.codec,
            "{}: ffprobe's codec",
            case.name
        );
        assert_eq!(
            info.sample_rate,
            Some(reference.sample_rate),
            "{}",
            case.name
        );
        assert_eq!(info.channels, Some(reference.channels), "{}", case.name);
        assert_duration(info.duration_seconds, reference.duration, case.name);
        if case.lossless {
            assert_eq!(
                info.bit_depth,
                Some(reference.bits),
                "{}: bit depth",
                case.name
            );
        } else {
            assert_eq!(
                info.bit_depth, None,
                "{}: lossy has no bit depth",
                case.name
            );
        }
        assert_eq!(info.decodable, case.decodable, "{}", case.name);
        let bitrate = f64::from(
            info.bitrate
                .unwrap_or_else(|| panic!("{}: bitrate", case.name)),
        );
        let expected = reference.bit_rate.unwrap();
        assert!(
            (bitrate - expected).abs() / expected < 0.10,
            "{}: bitrate {bitrate}, ffprobe {expected}",
            case.name
        );
        assert_eq!(info.metadata_error, None, "{}", case.name);
        assert!(info.artwork.is_none(), "{}", case.name);
    }
    eprintln!("probe times (debug build):\n{}", report.join("\n"));
}

/// Opus: symphonia reads the Ogg headers though it cannot decode Opus.
#[test]
fn opus_headers_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path(), "mono.opus", &["-ac", "1", "-c:a", "libopus"]);
    let info = probe(&path).unwrap();
    let reference = ffprobe(&path, false);
    assert_eq!(info.codec.as_deref(), Some("opus"));
    assert_eq!(info.sample_rate, Some(48_000));
    assert_eq!(info.channels, Some(1));
    assert!(!info.decodable);
    // ffprobe: last granule position minus pre-skip.
    assert_duration(info.duration_seconds, reference.duration, "opus");
}

/// A VBR MP3 without a Xing header: the duration comes from counting frames. The audio
/// is 2 s of silence and 2 s of noise, in both orders, so the first frames (which a
/// size-based estimate extrapolates from) are far smaller, or far larger, than the
/// average: the estimate is twice too long, or far too short.
#[test]
fn vbr_mp3_without_xing_counts_frames() {
    let dir = tempfile::tempdir().unwrap();
    for (name, order) in [("quiet_first.mp3", "[0][n]"), ("loud_first.mp3", "[n][0]")] {
        let graph = format!("[1]aformat=channel_layouts=stereo[n];{order}concat=n=2:v=0:a=1[a]");
        ffmpeg(
            dir.path(),
            &[
                "-f",
                "lavfi",
                "-i",
                "anullsrc=r=44100:cl=stereo:d=2",
                "-f",
                "lavfi",
                "-i",
                "anoisesrc=r=44100:a=0.5:d=2",
                "-filter_complex",
                &graph,
                "-map",
                "[a]",
                "-c:a",
                "libmp3lame",
                "-q:a",
                "2",
                "-write_xing",
                "0",
                name,
            ],
        );
        let path = dir.path().join(name);
        let reference = ffprobe(&path, true);
        let frames = reference.packets.unwrap();
        let expected = frames as f64 * 1152.0 / f64::from(reference.sample_rate);
        let info = probe(&path).unwrap();
        assert_duration(info.duration_seconds, expected, name);
        assert!(
            (info.duration_seconds.unwrap() - 4.0).abs() < 0.1,
            "{name}: about 4 s of audio: {:?}",
            info.duration_seconds
        );
        assert_eq!(info.metadata_error, None);
        // The full decode is not cut to symphonia's size-based estimate either.
        let decoded = analyze(&path).unwrap();
        assert_duration(Some(decoded.duration_seconds), expected, name);
    }

    // The same with CBR and trailing ID3v1: the tag is not counted as audio.
    let path = make(
        dir.path(),
        "cbr_noxing_v1.mp3",
        &[
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-write_xing",
            "0",
            "-write_id3v1",
            "1",
        ],
    );
    let reference = ffprobe(&path, true);
    let expected = reference.packets.unwrap() as f64 * 1152.0 / 44_100.0;
    assert_duration(
        probe(&path).unwrap().duration_seconds,
        expected,
        "CBR without Xing",
    );
}

// ---------------------------------------------------------------------------------
// Tags

fn tag_args() -> Vec<&'static str> {
    vec![
        "-metadata",
        "title=Björk – Jóga 日本語",
        "-metadata",
        "artist=The Artist",
        "-metadata",
        "album=The Album",
        "-metadata",
        "album_artist=Various Artists",
        "-metadata",
        "track=3/12",
        "-metadata",
        "disc=1/2",
        "-metadata",
        "genre=Jazz",
        "-metadata",
        "date=1999",
        "-metadata",
        "composer=Joe Composer",
        "-metadata",
        "comment=A comment",
        "-metadata",
        "mood=Calm",
    ]
}

/// Which fields a format's ffmpeg writer stores.
struct TagSupport {
    album_artist: bool,
    disc: bool,
    composer: bool,
    /// Arbitrary keys ("mood").
    custom: bool,
}

const ALL: TagSupport = TagSupport {
    album_artist: true,
    disc: true,
    composer: true,
    custom: true,
};

const MP4: TagSupport = TagSupport {
    custom: false,
    ..ALL
};

#[test]
fn tags_written_by_ffmpeg_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str], TagSupport)] = &[
        ("id3v24.mp3", &["-c:a", "libmp3lame"], ALL),
        (
            "id3v23.mp3",
            &["-c:a", "libmp3lame", "-id3v2_version", "3"],
            ALL,
        ),
        ("t.flac", &["-c:a", "flac"], ALL),
        ("t.ogg", &["-c:a", "libvorbis"], ALL),
        ("t.opus", &["-c:a", "libopus"], ALL),
        ("t.m4a", &["-c:a", "aac"], MP4),
        ("alac.m4a", &["-c:a", "alac"], MP4),
        ("id3.aiff", &["-write_id3v2", "1"], ALL),
        (
            "t.wav",
            &[],
            TagSupport {
                album_artist: false,
                disc: false,
                composer: false,
                custom: false,
            },
        ),
    ];
    for (name, args, support) in cases {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(tag_args());
        let path = make(dir.path(), name, &all);
        let info = probe(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let t = &info.tags;
        assert_eq!(t.title.as_deref(), Some(TITLE), "{name}: title");
        assert_eq!(t.artist.as_deref(), Some("The Artist"), "{name}: artist");
        assert_eq!(t.album.as_deref(), Some("The Album"), "{name}");
        assert_eq!(t.track_number, Some(3), "{name}: track");
        assert_eq!(t.track_total, Some(12), "{name}: track total");
        assert_eq!(t.genre.as_deref(), Some("Jazz"), "{name}");
        assert_eq!(t.year, Some(1999), "{name}");
        assert_eq!(t.date.as_deref(), Some("1999"), "{name}");
        assert_eq!(t.comment.as_deref(), Some("A comment"), "{name}: comment");
        if support.album_artist {
            assert_eq!(t.album_artist.as_deref(), Some("Various Artists"), "{name}");
        }
        if support.disc {
            assert_eq!(
                (t.disc_number, t.disc_total),
                (Some(1), Some(2)),
                "{name}: disc"
            );
        }
        if support.composer {
            assert_eq!(
                t.composer.as_deref(),
                Some("Joe Composer"),
                "{name}: composer"
            );
        }
        if support.custom {
            // A tag we do not model is kept under its key.
            assert!(
                t.other
                    .iter()
                    .any(|(k, v)| k.to_ascii_lowercase().contains("mood") && v == "Calm"),
                "{name}: mood in other: {:?}",
                t.other
            );
        }
        // Nothing we modelled is repeated in `other`.
        assert!(
            !t.other
                .iter()
                .any(|(_, v)| v == TITLE || v == "A comment" || v == "3/12"),
            "{name}: duplicates in other: {:?}",
            t.other
        );
        assert_eq!(info.metadata_error, None, "{name}");
        // ffprobe agrees on what was written.
        let reference = ffprobe(&path, false);
        assert_eq!(
            reference.tags.get("title").map(String::as_str),
            Some(TITLE),
            "{name}"
        );
    }
}

/// AIFF's own text chunks have no declared encoding; ffmpeg writes UTF-8 there.
#[test]
fn aiff_text_chunks_are_read_as_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = make(
        dir.path(),
        "plain.aiff",
        &[
            "-metadata",
            &format!("title={TITLE}"),
            "-metadata",
            "comment=Notes",
        ],
    );
    let info = probe(&path).unwrap();
    assert_eq!(info.tags.title.as_deref(), Some(TITLE));
    assert_eq!(info.tags.comment.as_deref(), Some("Notes"));
}

/// An ID3v2 frame: v2.3/v2.4 (4-char id, 32-bit size, flags) or v2.2 (3-char id,
/// 24-bit size).
fn id3_frame(version: u8, id: &str, body: &[u8]) -> Vec<u8> {
    let mut f = id.as_bytes().to_vec();
    if version == 2 {
        f.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    } else {
        f.extend_from_slice(&(body.len() as u32).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    }
    f.extend_from_slice(body);
    f
}

fn id3_tag(version: u8, frames: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = frames.concat();
    let n = body.len() as u32;
    let mut tag = b"ID3".to_vec();
    tag.extend_from_slice(&[version, 0, 0]);
    tag.extend_from_slice(&[
        ((n >> 21) & 0x7f) as u8,
        ((n >> 14) & 0x7f) as u8,
        ((n >> 7) & 0x7f) as u8,
        (n & 0x7f) as u8,
    ]);
    tag.extend(body);
    tag
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

fn utf16_bom_le(s: &str) -> Vec<u8> {
    let mut v = vec![0xff, 0xfe];
    for unit in s.encode_utf16() {
        v.extend_from_slice(&unit.to_le_bytes());
    }
    v
}

fn utf16_bom_be(s: &str) -> Vec<u8> {
    let mut v = vec![0xfe, 0xff];
    for unit in s.encode_utf16() {
        v.extend_from_slice(&unit.to_be_bytes());
    }
    v
}

fn text_body(encoding: u8, bytes: Vec<u8>) -> Vec<u8> {
    let mut b = vec![encoding];
    b.extend(bytes);
    b
}

fn id3v1(title: &str, artist: &str, album: &str, year: &str, track: u8, genre: u8) -> Vec<u8> {
    let field = |s: &str, n: usize| {
        let mut v = latin1(s);
        v.resize(n, 0);
        v
    };
    let mut tag = b"TAG".to_vec();
    tag.extend(field(title, 30));
    tag.extend(field(artist, 30));
    tag.extend(field(album, 30));
    tag.extend(field(year, 4));
    tag.extend(field("v1 comment", 28));
    tag.extend_from_slice(&[0, track, genre]);
    assert_eq!(tag.len(), 128);
    tag
}

/// An APEv2 tag with header and footer.
fn apev2(items: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value) in items {
        body.extend_from_slice(&(value.len() as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
    }
    let size = (body.len() + 32) as u32;
    let block = |is_header: bool| {
        let mut b = b"APETAGEX".to_vec();
        b.extend_from_slice(&2000u32.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&(items.len() as u32).to_le_bytes());
        let flags: u32 = (1 << 31) | if is_header { 1 << 29 } else { 0 };
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b
    };
    let mut tag = block(true);
    tag.extend(body);
    tag.extend(block(false));
    tag
}

/// MP3 audio frames with no tags at all.
fn bare_mp3(dir: &Path) -> Vec<u8> {
    let path = make(
        dir,
        "bare.mp3",
        &[
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-id3v2_version",
            "0",
            "-map_metadata",
            "-1",
        ],
    );
    let bytes = std::fs::read(path).unwrap();
    assert!(!bytes.starts_with(b"ID3"), "ffmpeg wrote an ID3v2 tag");
    bytes
}

#[test]
fn id3v2_text_encodings_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let audio = bare_mp3(dir.path());

    // ID3v2.3: Latin-1, UTF-16 with either byte order, numeric genre, a described
    // comment (iTunes' normalization data, not the user's comment), a user comment.
    let v23 = id3_tag(
        3,
        &[
            id3_frame(3, "TIT2", &text_body(0, latin1("Björk Guðmundsdóttir"))),
            id3_frame(3, "TPE1", &text_body(1, utf16_bom_le("Jóga 日本語"))),
            id3_frame(3, "TALB", &text_body(1, utf16_bom_be("Homogénic"))),
            id3_frame(3, "TRCK", &text_body(0, b"5/10".to_vec())),
            id3_frame(3, "TPOS", &text_body(0, b"2".to_vec())),
            id3_frame(3, "TYER", &text_body(0, b"1997".to_vec())),
            id3_frame(3, "TCON", &text_body(0, b"(8)".to_vec())),
            id3_frame(
                3,
                "COMM",
                &[&[0u8][..], b"eng", b"iTunNORM\0", b" 0000"].concat(),
            ),
            id3_frame(3, "COMM", &[&[0u8][..], b"eng", b"\0", b"Lovely"].concat()),
            id3_frame(
                3,
                "TXXX",
                &[&[0u8][..], b"MusicBrainz Album Id\0", b"abc-123"].concat(),
            ),
        ],
    );
    let path = dir.path().join("v23.mp3");
    std::fs::write(&path, [v23.clone(), audio.clone()].concat()).unwrap();
    let t = probe(&path).unwrap().tags;
    assert_eq!(t.title.as_deref(), Some("Björk Guðmundsdóttir"), "Latin-1");
    assert_eq!(
        t.artist.as_deref(),
        Some("Jóga 日本語"),
        "UTF-16 LE with BOM"
    );
    assert_eq!(t.album.as_deref(), Some("Homogénic"), "UTF-16 BE with BOM");
    assert_eq!((t.track_number, t.track_total), (Some(5), Some(10)));
    assert_eq!((t.disc_number, t.disc_total), (Some(2), None));
    assert_eq!((t.year, t.date.as_deref()), (Some(1997), Some("1997")));
    assert_eq!(t.genre.as_deref(), Some("Jazz"), "ID3v1 genre number");
    assert_eq!(t.comment.as_deref(), Some("Lovely"));
    assert!(
        t.other.contains(&("COMM:iTunNORM".into(), " 0000".into())),
        "{:?}",
        t.other
    );
    assert!(
        t.other
            .contains(&("TXXX:MusicBrainz Album Id".into(), "abc-123".into())),
        "{:?}",
        t.other
    );

    // ID3v2.2: three-character frame ids.
    let v22 = id3_tag(
        2,
        &[
            id3_frame(2, "TT2", &text_body(0, latin1("Old Tagger"))),
            id3_frame(2, "TP1", &text_body(1, utf16_bom_le("Ünïcode"))),
            id3_frame(2, "TRK", &text_body(0, b"7".to_vec())),
        ],
    );
    let path = dir.path().join("v22.mp3");
    std::fs::write(&path, [v22, audio.clone()].concat()).unwrap();
    let t = probe(&path).unwrap().tags;
    assert_eq!(t.title.as_deref(), Some("Old Tagger"));
    assert_eq!(t.artist.as_deref(), Some("Ünïcode"));
    assert_eq!(t.track_number, Some(7));

    // ID3v2.3 at the front and ID3v1 at the end: the full v2 title wins over v1's,
    // and v1 fills what v2 lacks (here: nothing but the comment).
    let path = dir.path().join("v23_v1.mp3");
    let v1 = id3v1("Truncated title", "V1 Artist", "V1 Album", "2001", 9, 17);
    std::fs::write(&path, [v23, audio, v1].concat()).unwrap();
    let info = probe(&path).unwrap();
    assert_eq!(info.tags.title.as_deref(), Some("Björk Guðmundsdóttir"));
    assert_eq!(info.tags.track_number, Some(5));
    assert_eq!(info.tags.year, Some(1997));
    assert_eq!(info.metadata_error, None);
}

#[test]
fn id3v1_and_ape_tags_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let audio = bare_mp3(dir.path());
    let plain = probe(&dir.path().join("bare.mp3")).unwrap();

    // ID3v1 only (Latin-1).
    let path = dir.path().join("v1.mp3");
    let v1 = id3v1("Ænima", "Tool", "Ænima", "1996", 4, 17);
    std::fs::write(&path, [audio.clone(), v1.clone()].concat()).unwrap();
    let info = probe(&path).unwrap();
    let t = &info.tags;
    assert_eq!(t.title.as_deref(), Some("Ænima"));
    assert_eq!(t.artist.as_deref(), Some("Tool"));
    assert_eq!(t.album.as_deref(), Some("Ænima"));
    assert_eq!(t.year, Some(1996));
    assert_eq!(t.track_number, Some(4));
    assert_eq!(t.genre.as_deref(), Some("Rock"));
    // The tag is not audio.
    assert_duration(
        info.duration_seconds,
        plain.duration_seconds.unwrap(),
        "with ID3v1",
    );

    // APEv2 (UTF-8) before ID3v1, as taggers write them: APE wins over ID3v1.
    let path = dir.path().join("ape.mp3");
    let ape = apev2(&[
        ("Title", "Schön – 日本"),
        ("Artist", "APE Artist"),
        ("Album", "APE Album"),
        ("Track", "2/8"),
        ("Year", "2010"),
        ("Catalog", "CAT-42"),
    ]);
    std::fs::write(&path, [audio.clone(), ape.clone(), v1].concat()).unwrap();
    let info = probe(&path).unwrap();
    let t = &info.tags;
    assert_eq!(t.title.as_deref(), Some("Schön – 日本"));
    assert_eq!(t.artist.as_deref(), Some("APE Artist"));
    assert_eq!(t.album.as_deref(), Some("APE Album"));
    assert_eq!(t.track_number, Some(2));
    assert_eq!(t.year, Some(2010));
    assert!(
        t.other
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("catalog") && v == "CAT-42"),
        "{:?}",
        t.other
    );
    assert_duration(
        info.duration_seconds,
        plain.duration_seconds.unwrap(),
        "with APE",
    );

    // ffmpeg's own ID3v1 writer.
    let path = make(
        dir.path(),
        "ffmpeg_v1.mp3",
        &[
            "-c:a",
            "libmp3lame",
            "-id3v2_version",
            "0",
            "-write_id3v1",
            "1",
            "-metadata",
            "title=Plain V1",
        ],
    );
    let bytes = std::fs::read(&path).unwrap();
    if bytes[bytes.len() - 128..].starts_with(b"TAG") {
        assert_eq!(
            probe(&path).unwrap().tags.title.as_deref(),
            Some("Plain V1")
        );
    }
}

// ---------------------------------------------------------------------------------
// Artwork

#[test]
fn embedded_cover_art_is_returned() {
    let dir = tempfile::tempdir().unwrap();
    let png = std::fs::read(cover_png(dir.path())).unwrap();
    let jpg = std::fs::read(cover_jpg(dir.path())).unwrap();
    // (file, encoder arguments, cover file, its bytes, expected media type)
    type ArtCase<'a> = (&'a str, &'a [&'a str], &'a str, &'a [u8], &'a str);
    let cases: &[ArtCase] = &[
        (
            "art.mp3",
            &["-c:a", "libmp3lame"],
            "cover.png",
            &png,
            "image/png",
        ),
        (
            "art.flac",
            &["-c:a", "flac"],
            "cover.png",
            &png,
            "image/png",
        ),
        ("art.m4a", &["-c:a", "aac"], "cover.jpg", &jpg, "image/jpeg"),
        (
            "art23.mp3",
            &["-c:a", "libmp3lame", "-id3v2_version", "3"],
            "cover.jpg",
            &jpg,
            "image/jpeg",
        ),
    ];
    for (name, codec, cover, bytes, mime) in cases {
        let plain = format!("plain_{name}");
        make(dir.path(), &plain, codec);
        ffmpeg(
            dir.path(),
            &[
                "-i",
                &plain,
                "-i",
                cover,
                "-map",
                "0",
                "-map",
                "1",
                "-c",
                "copy",
                "-disposition:v",
                "attached_pic",
                name,
            ],
        );
        let info = probe(&dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let art = info.artwork.unwrap_or_else(|| panic!("{name}: no artwork"));
        assert_eq!(art.mime_type, *mime, "{name}");
        assert_eq!(art.data, *bytes, "{name}: the picture's bytes");
        assert_eq!(info.metadata_error, None, "{name}");
        // Without the picture: none.
        assert!(probe(&dir.path().join(&plain)).unwrap().artwork.is_none());
    }
}

// ---------------------------------------------------------------------------------
// Robustness

/// A small deterministic generator (no dependency, reproducible failures).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One of every format, with tags and (where ffmpeg can) a cover.
fn corpus(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for case in CASES {
        files.push(make(dir, case.name, case.args));
    }
    let mut args = vec!["-c:a", "libmp3lame"];
    args.extend(tag_args());
    files.push(make(dir, "tagged.mp3", &args));
    let cover = cover_png(dir);
    ffmpeg(
        dir,
        &[
            "-i",
            "s.flac",
            "-i",
            cover.to_str().unwrap(),
            "-map",
            "0",
            "-map",
            "1",
            "-c",
            "copy",
            "-disposition:v",
            "attached_pic",
            "art.flac",
        ],
    );
    files.push(dir.join("art.flac"));
    files
}

/// A probe outcome is "clear" when it is NotAudio or Ok; a panic that escaped or was
/// reported as Panicked, an I/O error on a readable file, or a hang is not.
fn assert_clear(result: &Result<MediaInfo, MediaError>, what: &str) {
    match result {
        Ok(_) | Err(MediaError::NotAudio { .. }) => {}
        Err(e) => panic!("{what}: {e:?}"),
    }
}

#[test]
fn truncated_files_give_clear_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let cut = tempfile::tempdir().unwrap();
    for path in corpus(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        for len in [0, 1, 10, 100, 1000, 4096, bytes.len() / 2, bytes.len() - 1] {
            let target = cut.path().join(&name);
            std::fs::write(&target, &bytes[..len.min(bytes.len())]).unwrap();
            let (result, _) = timed_probe(&target);
            let what = format!("{name} cut at {len}");
            assert_clear(&result, &what);
            if len == 0 {
                assert!(matches!(result, Err(MediaError::NotAudio { .. })), "{what}");
            }
            if len == bytes.len() / 2 {
                let info = result.as_ref().unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(info.container.is_some(), "{what}");
                if name.ends_with(".wav") || name == "cbr.mp3" {
                    // The header says 3 s; the file holds half of it, and says so.
                    assert_duration(info.duration_seconds, 1.5, &what);
                    assert!(
                        info.metadata_error
                            .as_deref()
                            .is_some_and(|e| e.contains("truncated")),
                        "{what}: {:?}",
                        info.metadata_error
                    );
                }
            }
            // The stored reader path must agree with the file path.
            let data = &bytes[..len.min(bytes.len())];
            let ext = path.extension().and_then(|e| e.to_str());
            let from_reader = probe_reader(&mut Cursor::new(data.to_vec()), data.len() as u64, ext);
            assert_eq!(
                format!("{from_reader:?}"),
                format!("{result:?}"),
                "{what}: probe_reader differs"
            );
        }
    }
}

#[test]
fn random_bytes_are_not_audio() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut recognized = 0;
    for ext in [
        "mp3", "wav", "flac", "m4a", "ogg", "opus", "aiff", "aac", "mka",
    ] {
        for i in 0..8 {
            let path = dir.path().join(format!("random{i}.{ext}"));
            std::fs::write(&path, rng.bytes(16 * 1024 + i * 1000)).unwrap();
            let (result, _) = timed_probe(&path);
            assert_clear(&result, &path.display().to_string());
            if result.is_ok() {
                recognized += 1;
            }
        }
    }
    // Random bytes can hold a plausible MPEG frame sync, but hardly ever two in a row.
    assert!(recognized <= 2, "{recognized} random files taken for audio");

    // Plain non-audio files.
    for (name, data) in [
        ("text.mp3", b"hello, this is not audio\n".repeat(100)),
        ("empty.flac", Vec::new()),
        ("zeros.wav", vec![0u8; 100_000]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        assert!(
            matches!(probe(&path), Err(MediaError::NotAudio { .. })),
            "{name}: {:?}",
            probe(&path)
        );
    }
    let png = cover_png(dir.path());
    assert!(matches!(probe(&png), Err(MediaError::NotAudio { .. })));
    assert!(matches!(
        probe(dir.path()),
        Err(MediaError::NotAudio { .. })
    ));
    assert!(matches!(
        probe(&dir.path().join("missing.mp3")),
        Err(MediaError::Io(_))
    ));
}

/// Valid magic numbers followed by garbage: each reader gets past its score and then
/// meets nonsense.
#[test]
fn garbage_after_magic_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = XorShift(42);
    let prefixes: &[&[u8]] = &[
        b"RIFF\xff\xff\xff\xffWAVEfmt ",
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00",
        b"FORM\x00\x00\xff\xffAIFFCOMM",
        b"fLaC\x00\x00\x00\x22",
        b"OggS\x00\x02",
        b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00",
        b"ID3\x04\x00\x00\x00\x00\x10\x00",
        b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f",
        b"\xff\xfb\x90\x64",
        b"caff\x00\x01\x00\x00",
        b"\x1a\x45\xdf\xa3",
    ];
    for (i, prefix) in prefixes.iter().enumerate() {
        for round in 0..6 {
            let path = dir.path().join(format!("magic{i}_{round}.bin"));
            std::fs::write(&path, [prefix.to_vec(), rng.bytes(8192)].concat()).unwrap();
            let (result, _) = timed_probe(&path);
            assert_clear(&result, &path.display().to_string());
        }
    }
}

/// Headers that claim far more than the file holds.
#[test]
fn gigantic_header_claims_are_bounded() {
    let dir = tempfile::tempdir().unwrap();

    // A WAV whose RIFF and data sizes claim 4 GiB.
    let wav = std::fs::read(make(dir.path(), "s.wav", &["-c:a", "pcm_s16le"])).unwrap();
    let mut big = wav.clone();
    big[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let data_at = wav.windows(4).position(|w| w == b"data").unwrap();
    big[data_at + 4..data_at + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let path = dir.path().join("big.wav");
    std::fs::write(&path, &big).unwrap();
    let (result, _) = timed_probe(&path);
    let info = result.unwrap();
    assert_eq!(info.codec.as_deref(), Some("pcm_s16le"));
    assert_duration(info.duration_seconds, 3.0, "WAV claiming 4 GiB");
    assert!(
        info.metadata_error
            .as_deref()
            .is_some_and(|e| e.contains("claims")),
        "{:?}",
        info.metadata_error
    );

    // A FLAC whose STREAMINFO claims 2^36 samples (about 18 days) in 80 KB.
    let flac = std::fs::read(make(dir.path(), "s.flac", &["-c:a", "flac"])).unwrap();
    let mut big = flac.clone();
    // STREAMINFO starts at 8; total samples are the low 36 bits of bytes 8+13..8+18.
    big[8 + 13] |= 0x0f;
    big[8 + 14..8 + 18].copy_from_slice(&[0xff; 4]);
    let path = dir.path().join("big.flac");
    std::fs::write(&path, &big).unwrap();
    let info = timed_probe(&path).0.unwrap();
    assert_eq!(
        info.duration_seconds, None,
        "an impossible duration is dropped"
    );
    assert!(info.metadata_error.is_some());
    assert_eq!(info.sample_rate, Some(44_100));

    // An MP3 behind an ID3v2 tag claiming 256 MiB.
    let mp3 = std::fs::read(make(dir.path(), "s.mp3", &["-c:a", "libmp3lame"])).unwrap();
    let skip = sniff::id3v2_tag_len(&mp3).unwrap() as usize;
    let path = dir.path().join("bigtag.mp3");
    std::fs::write(
        &path,
        [
            b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f".to_vec(),
            mp3[skip..].to_vec(),
        ]
        .concat(),
    )
    .unwrap();
    let (result, _) = timed_probe(&path);
    assert_clear(&result, "ID3 claiming 256 MiB");

    // An MP4 whose moov atom claims 4 GiB.
    let m4a = std::fs::read(make(dir.path(), "s.m4a", &["-c:a", "aac"])).unwrap();
    let moov = m4a.windows(4).position(|w| w == b"moov").unwrap();
    let mut big = m4a.clone();
    big[moov - 4..moov].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    let path = dir.path().join("bigmoov.m4a");
    std::fs::write(&path, &big).unwrap();
    let (result, _) = timed_probe(&path);
    assert_clear(&result, "moov claiming 4 GiB");

    // An ID3v2 APIC frame claiming 200 MB inside a small tag.
    let frame = id3_frame(3, "APIC", b"\x00image/png\x00\x03\x00\x89PNG");
    let mut tag = id3_tag(3, &[frame]);
    let at = tag.windows(4).position(|w| w == b"APIC").unwrap();
    tag[at + 4..at + 8].copy_from_slice(&200_000_000u32.to_be_bytes());
    let path = dir.path().join("bigapic.mp3");
    std::fs::write(&path, [tag, mp3[skip..].to_vec()].concat()).unwrap();
    let (result, _) = timed_probe(&path);
    assert_clear(&result, "APIC claiming 200 MB");
}

/// A recorder that crashed leaves zero RIFF and data sizes; a streaming writer leaves
/// 0xFFFFFFFF. Either way the samples run to the end of the file.
#[test]
fn wav_without_sizes_counts_the_bytes_present() {
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(make(dir.path(), "s.wav", &["-c:a", "pcm_s16le"])).unwrap();
    let data_at = wav.windows(4).position(|w| w == b"data").unwrap();
    for (size, silent) in [(0u32, false), (u32::MAX, true)] {
        let mut bytes = wav.clone();
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
        bytes[data_at + 4..data_at + 8].copy_from_slice(&size.to_le_bytes());
        let path = dir.path().join(format!("sizes_{size}.wav"));
        std::fs::write(&path, &bytes).unwrap();
        let info = timed_probe(&path).0.unwrap();
        assert_eq!(info.codec.as_deref(), Some("pcm_s16le"), "size {size:#x}");
        assert_duration(info.duration_seconds, 3.0, &format!("size {size:#x}"));
        assert_eq!(
            info.metadata_error.is_none(),
            silent,
            "size {size:#x}: {:?}",
            info.metadata_error
        );
    }
}

/// Random byte flips in the first kilobytes (where the headers are) of every format.
#[test]
fn mutated_headers_never_escape() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    let mut outcomes: HashMap<&'static str, usize> = HashMap::new();
    for path in corpus(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        for i in 0..40 {
            let mut data = bytes.clone();
            let span = data.len().min(4096);
            for _ in 0..1 + rng.next() % 8 {
                let at = (rng.next() as usize) % span;
                data[at] = rng.next() as u8;
            }
            let target = out.path().join(format!("{i}_{name}"));
            std::fs::write(&target, &data).unwrap();
            let (result, _) = timed_probe(&target);
            let kind = match &result {
                Ok(info) if info.metadata_error.is_some() => "ok_with_error",
                Ok(_) => "ok",
                Err(e) => e.kind(),
            };
            *outcomes.entry(kind).or_default() += 1;
            // A caught parser panic may surface as Panicked only for unrecognizable
            // files; an I/O error would be a bug.
            assert!(!matches!(result, Err(MediaError::Io(_))), "{name} #{i}");
            if i % 8 == 0 {
                let start = Instant::now();
                let _ = analyze(&target);
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "{name} #{i}: analyze"
                );
            }
        }
    }
    eprintln!("mutated header outcomes: {outcomes:?}");
}

// ---------------------------------------------------------------------------------
// Analysis

#[test]
fn fingerprint_matches_same_audio_across_containers() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make(dir.path(), "a.wav", &["-c:a", "pcm_s16le"]);
    let flac = make(
        dir.path(),
        "a.flac",
        &["-c:a", "flac", "-compression_level", "8"],
    );
    let alac = make(dir.path(), "a.m4a", &["-c:a", "alac"]);
    let s24 = make(dir.path(), "a24.wav", &["-c:a", "pcm_s24le"]);
    let mono = make(dir.path(), "mono.wav", &["-ac", "1", "-c:a", "pcm_s16le"]);

    let a = analyze(&wav).unwrap();
    assert_eq!(a.fingerprint.kind, FingerprintKind::DecodedPcm);
    assert_eq!(a.fingerprint.sha256.len(), 64);
    assert_eq!(
        a.fingerprint,
        analyze(&flac).unwrap().fingerprint,
        "WAV vs FLAC"
    );
    assert_eq!(
        a.fingerprint,
        analyze(&alac).unwrap().fingerprint,
        "WAV vs ALAC"
    );
    // The same samples widened to 24 bits are equal after normalization.
    assert_eq!(
        a.fingerprint,
        analyze(&s24).unwrap().fingerprint,
        "16 vs 24 bit container"
    );
    assert_ne!(
        a.fingerprint,
        analyze(&mono).unwrap().fingerprint,
        "different audio"
    );

    assert_eq!(a.decoded_frames, 3 * 44_100);
    assert_eq!((a.sample_rate, a.channels), (44_100, 2));
    assert!((a.duration_seconds - 3.0).abs() < 1e-9);
    assert_eq!(a.decode_errors, 0);
}

#[test]
fn fingerprint_of_lossy_ignores_tags() {
    let dir = tempfile::tempdir().unwrap();
    let original = make(dir.path(), "o.mp3", &["-c:a", "libmp3lame", "-q:a", "2"]);
    ffmpeg(
        dir.path(),
        &[
            "-i",
            "o.mp3",
            "-c",
            "copy",
            "-metadata",
            "title=Retagged",
            "-metadata",
            "artist=Someone Else",
            "-id3v2_version",
            "3",
            "retagged.mp3",
        ],
    );
    let retagged = dir.path().join("retagged.mp3");
    assert_ne!(
        std::fs::read(&original).unwrap(),
        std::fs::read(&retagged).unwrap()
    );
    let other = make(
        dir.path(),
        "other.mp3",
        &["-c:a", "libmp3lame", "-b:a", "128k"],
    );

    let a = analyze(&original).unwrap();
    assert_eq!(a.fingerprint.kind, FingerprintKind::CodedPackets);
    assert_eq!(a.fingerprint, analyze(&retagged).unwrap().fingerprint);
    assert_ne!(a.fingerprint, analyze(&other).unwrap().fingerprint);

    let ogg = make(dir.path(), "o.ogg", &["-c:a", "libvorbis"]);
    ffmpeg(
        dir.path(),
        &["-i", "o.ogg", "-c", "copy", "-metadata", "title=X", "r.ogg"],
    );
    assert_eq!(
        analyze(&ogg).unwrap().fingerprint,
        analyze(&dir.path().join("r.ogg")).unwrap().fingerprint
    );
}

#[test]
fn waveform_follows_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    // 1.5 s of silence then 1.5 s of a half-scale sine.
    ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=mono:d=1.5",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1.5:sample_rate=44100",
            "-filter_complex",
            "[1]volume=4.0[s];[0][s]concat=n=2:v=0:a=1[a]",
            "-map",
            "[a]",
            "-c:a",
            "pcm_s16le",
            "w.wav",
        ],
    );
    let a = analyze(&dir.path().join("w.wav")).unwrap();
    assert_eq!(a.waveform.len(), WAVEFORM_BUCKETS);
    let (silent, loud) = a.waveform.split_at(WAVEFORM_BUCKETS / 2);
    assert!(silent[..490].iter().all(|p| *p == (0, 0)), "silence first");
    let peak = loud[10..].iter().map(|p| p.1).max().unwrap();
    let trough = loud[10..].iter().map(|p| p.0).min().unwrap();
    // ffmpeg's sine source is at 1/8 scale; volume 4 makes it 1/2: about ±64.
    assert!((60..=66).contains(&peak), "peak {peak}");
    assert!((-66..=-60).contains(&trough), "trough {trough}");

    // Lossy too, and the decoded length is close to the probe's.
    let mp3 = make(dir.path(), "w.mp3", &["-c:a", "libmp3lame"]);
    let a = analyze(&mp3).unwrap();
    assert_eq!(a.waveform.len(), WAVEFORM_BUCKETS);
    assert_duration(
        Some(a.duration_seconds),
        probe(&mp3).unwrap().duration_seconds.unwrap(),
        "mp3 decode",
    );
}

#[test]
fn analyze_reports_undecodable_and_not_audio() {
    let dir = tempfile::tempdir().unwrap();
    let opus = make(dir.path(), "a.opus", &["-c:a", "libopus"]);
    assert!(matches!(
        analyze(&opus),
        Err(MediaError::Undecodable { .. })
    ));
    let text = dir.path().join("t.mp3");
    std::fs::write(&text, b"not audio at all").unwrap();
    assert!(matches!(analyze(&text), Err(MediaError::NotAudio { .. })));
    let flac = make(dir.path(), "a.flac", &["-c:a", "flac"]);
    let bytes = std::fs::read(&flac).unwrap();
    let from_reader = analyze_reader(
        &mut Cursor::new(bytes.clone()),
        bytes.len() as u64,
        Some("flac"),
    )
    .unwrap();
    assert_eq!(from_reader, analyze(&flac).unwrap());
}

/// The serialized form the catalog and the CLI see.
#[test]
fn media_info_round_trips_through_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["-c:a", "flac"];
    args.extend(tag_args());
    let path = make(dir.path(), "j.flac", &args);
    let info = probe(&path).unwrap();
    let json = serde_json::to_string(&info).unwrap();
    let back: MediaInfo = serde_json::from_str(&json).unwrap();
    assert_eq!(back, info);
}

// ---------------------------------------------------------------------------------
// The formats of issue #18: a real file of each, read and checked against ffprobe

/// How a sample of a format is made.
enum Make {
    /// By ffmpeg from the 3 s source, with the tag arguments.
    Ffmpeg(&'static [&'static str]),
    /// By ffmpeg from 3 s of 16 kHz mono (Speex's own rate).
    FfmpegSpeex,
    /// From the format's spec (`samples`).
    Spec(fn() -> Vec<u8>),
}

struct FormatCase {
    name: &'static str,
    make: Make,
    /// The format's name in the table (what the content says it is).
    format: &'static str,
    container: &'static str,
    codec: &'static str,
    /// Bits per sample (lossless formats), else `None`.
    bits: Option<u32>,
    decodable: bool,
    /// ffprobe reads the format (not OptimFROG).
    ffprobe: bool,
    /// The title the file carries, if its format has tags.
    title: Option<&'static str>,
}

const FORMAT_CASES: &[FormatCase] = &[
    FormatCase {
        name: "s.wv",
        make: Make::Ffmpeg(&["-c:a", "wavpack"]),
        format: "wv",
        container: "wavpack",
        codec: "wavpack",
        bits: Some(16),
        decodable: false,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "s.tta",
        make: Make::Ffmpeg(&["-c:a", "tta"]),
        format: "tta",
        container: "tta",
        codec: "tta",
        bits: Some(16),
        decodable: false,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "s.ac3",
        make: Make::Ffmpeg(&["-c:a", "ac3", "-b:a", "192k"]),
        format: "ac3",
        container: "ac3",
        codec: "ac3",
        bits: None,
        decodable: false,
        ffprobe: true,
        title: None,
    },
    FormatCase {
        name: "s.eac3",
        make: Make::Ffmpeg(&["-c:a", "eac3", "-b:a", "192k"]),
        format: "eac3",
        container: "eac3",
        codec: "eac3",
        bits: None,
        decodable: false,
        ffprobe: true,
        title: None,
    },
    FormatCase {
        name: "s.wma",
        make: Make::Ffmpeg(&["-c:a", "wmav2"]),
        format: "wma",
        container: "asf",
        codec: "wmav2",
        bits: None,
        decodable: false,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "s.m4b",
        make: Make::Ffmpeg(&["-c:a", "aac", "-f", "ipod"]),
        format: "m4b",
        container: "mp4",
        codec: "aac",
        bits: None,
        decodable: true,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "s.3gp",
        make: Make::Ffmpeg(&["-c:a", "aac"]),
        format: "3gp",
        container: "mp4",
        codec: "aac",
        bits: None,
        decodable: true,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "flac.oga",
        make: Make::Ffmpeg(&["-c:a", "flac", "-f", "ogg"]),
        format: "oggflac",
        container: "ogg",
        codec: "flac",
        bits: Some(16),
        decodable: true,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "s.spx",
        make: Make::FfmpegSpeex,
        format: "spx",
        container: "ogg",
        codec: "speex",
        bits: None,
        decodable: false,
        ffprobe: true,
        title: Some(TITLE),
    },
    FormatCase {
        name: "s.ape",
        make: Make::Spec(samples::ape),
        format: "ape",
        container: "ape",
        codec: "ape",
        bits: Some(16),
        decodable: false,
        ffprobe: true,
        title: Some(samples::TITLE),
    },
    FormatCase {
        name: "s.mpc",
        make: Make::Spec(samples::mpc_sv7),
        format: "mpc",
        container: "mpc",
        codec: "musepack7",
        bits: None,
        decodable: false,
        ffprobe: true,
        title: Some(samples::TITLE),
    },
    FormatCase {
        name: "s.tak",
        make: Make::Spec(samples::tak),
        format: "tak",
        container: "tak",
        codec: "tak",
        bits: Some(16),
        decodable: false,
        ffprobe: true,
        title: Some(samples::TITLE),
    },
    FormatCase {
        name: "s.ofr",
        make: Make::Spec(samples::ofr),
        format: "ofr",
        container: "ofr",
        codec: "optimfrog",
        bits: Some(16),
        decodable: false,
        ffprobe: false,
        title: Some(samples::TITLE),
    },
    FormatCase {
        name: "s.dsf",
        make: Make::Spec(samples::dsf),
        format: "dsf",
        container: "dsf",
        codec: "dsd_lsbf_planar",
        bits: Some(1),
        decodable: false,
        ffprobe: true,
        title: Some(samples::TITLE),
    },
    FormatCase {
        name: "s.dff",
        make: Make::Spec(samples::dff),
        format: "dff",
        container: "dsdiff",
        codec: "dsd_msbf",
        bits: Some(1),
        decodable: false,
        ffprobe: true,
        title: Some(samples::TITLE),
    },
];

/// A sample of `case` in `dir`.
fn make_format_case(dir: &Path, case: &FormatCase) -> PathBuf {
    match &case.make {
        Make::Ffmpeg(args) => {
            let mut all: Vec<&str> = args.to_vec();
            all.extend(tag_args());
            make(dir, case.name, &all)
        }
        Make::FfmpegSpeex => {
            let mut all = vec![
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=3:sample_rate=16000",
                "-c:a",
                "libspeex",
            ];
            all.extend(tag_args());
            all.push(case.name);
            ffmpeg(dir, &all);
            dir.join(case.name)
        }
        Make::Spec(build) => {
            let path = dir.join(case.name);
            std::fs::write(&path, build()).unwrap();
            path
        }
    }
}

/// Every format the issue lists, on a real file: its content names its format, the
/// probe reads its technical metadata as ffprobe does (rate and channels exact, duration
/// within 0.5 %) and its tags.
#[test]
fn every_new_format_is_read_like_ffprobe_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = vec![format!(
        "{:<10} {:>9} {:>9} {:>8} {:>8} {:>3} {:>3}",
        "file", "ours s", "ffprobe s", "ours Hz", "ffp Hz", "ch", "ffp"
    )];
    for case in FORMAT_CASES {
        let path = make_format_case(dir.path(), case);
        let what = case.name;
        let size = std::fs::metadata(&path).unwrap().len();
        let mut file = std::fs::File::open(&path).unwrap();
        // Named as itself and as something else: the content decides.
        let ext = path.extension().and_then(|e| e.to_str());
        assert_eq!(
            format_of(&mut file, size, ext).unwrap(),
            case.format,
            "{what}"
        );
        if case.format != "m4b" {
            assert_eq!(
                format_of(&mut file, size, Some("mp3")).unwrap(),
                case.format,
                "{what} named .mp3"
            );
        }
        let (result, _) = timed_probe(&path);
        let info = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(info.metadata_error, None, "{what}");
        assert_eq!(info.container.as_deref(), Some(case.container), "{what}");
        assert_eq!(info.codec.as_deref(), Some(case.codec), "{what}");
        assert_eq!(info.bit_depth, case.bits, "{what}: bit depth");
        assert_eq!(info.decodable, case.decodable, "{what}: decodable");
        assert!(info.bitrate.is_some_and(|b| b > 0), "{what}: bitrate");
        if let Some(title) = case.title {
            assert_eq!(info.tags.title.as_deref(), Some(title), "{what}: title");
            // Nothing modelled is repeated in `other`.
            assert!(
                !info.tags.other.iter().any(|(_, v)| v == title),
                "{what}: {:?}",
                info.tags.other
            );
            assert!(info.tags.artist.is_some(), "{what}: artist");
            // DSDIFF's own text chunks hold an artist and a title, no album.
            if case.format != "dff" {
                assert!(info.tags.album.is_some(), "{what}: album");
            }
        }
        let duration = info
            .duration_seconds
            .unwrap_or_else(|| panic!("{what}: duration"));
        if case.ffprobe {
            let reference = ffprobe(&path, false);
            // ffmpeg decodes DSD to PCM at an eighth of its rate, and says that rate.
            let dsd = if case.bits == Some(1) { 8 } else { 1 };
            assert_eq!(
                info.sample_rate,
                Some(reference.sample_rate * dsd),
                "{what}: rate"
            );
            assert_eq!(info.channels, Some(reference.channels), "{what}: channels");
            // 0.5 %, and at least 50 ms (the suite's rule: AAC's priming samples, which
            // symphonia counts and ffprobe's edit list does not, are 23 ms of a 3 s file).
            assert_duration(Some(duration), reference.duration, what);
            table.push(format!(
                "{:<10} {:>9.4} {:>9.4} {:>8} {:>8} {:>3} {:>3}",
                what,
                duration,
                reference.duration,
                info.sample_rate.unwrap_or(0),
                reference.sample_rate,
                info.channels.unwrap_or(0),
                reference.channels
            ));
        } else {
            // What the spec-built header says: 3 s of 44.1 kHz stereo.
            assert_eq!((info.sample_rate, info.channels), (Some(44_100), Some(2)));
            assert_duration(Some(duration), 3.0, what);
            table.push(format!(
                "{:<10} {:>9.4} {:>9} {:>8} {:>8} {:>3} {:>3}",
                what,
                duration,
                "-",
                info.sample_rate.unwrap_or(0),
                "-",
                info.channels.unwrap_or(0),
                "-"
            ));
        }
    }
    eprintln!("{}", table.join("\n"));
}

/// The tag blocks of the new formats, lying: an APE footer claiming more than the file,
/// an item claiming 4 GiB, an ID3v2 tag claiming 256 MiB, a DSF metadata pointer past
/// the end. Each file still reads (with a note), quickly, and without the allocation.
#[test]
fn lying_tag_blocks_of_new_formats_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let ape = samples::ape();
    let tag = samples::sample_apev2();
    let audio = &ape[..ape.len() - tag.len()];
    let footer = tag.len() - 32;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("footer claims 4 GiB", {
            let mut t = tag.clone();
            t[footer + 12..footer + 16].copy_from_slice(&u32::MAX.to_le_bytes());
            [audio, &t].concat()
        }),
        ("footer claims 2^31 items", {
            let mut t = tag.clone();
            t[footer + 16..footer + 20].copy_from_slice(&0x8000_0000u32.to_le_bytes());
            [audio, &t].concat()
        }),
        ("an item claims 4 GiB", {
            let mut t = tag.clone();
            t[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
            [audio, &t].concat()
        }),
        ("an ID3v2 tag in front claims 256 MiB", {
            [&b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f"[..], &ape].concat()
        }),
        ("DSF metadata pointer past the end", {
            let mut d = samples::dsf();
            d[20..28].copy_from_slice(&(u64::MAX - 5).to_le_bytes());
            d
        }),
    ];
    for (what, bytes) in cases {
        let ext = if what.starts_with("DSF") {
            "dsf"
        } else {
            "ape"
        };
        let path = dir.path().join(format!("lie.{ext}"));
        std::fs::write(&path, &bytes).unwrap();
        let (result, _) = timed_probe(&path);
        if what.starts_with("an ID3v2") {
            // Where the stream starts is unknowable: as for an MP3, a clear outcome.
            assert_clear(&result, what);
            continue;
        }
        let info = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            info.sample_rate.is_some(),
            "{what}: the stream is still read"
        );
        assert!(
            info.metadata_error.is_some(),
            "{what}: a note says what was left out"
        );
    }
}

/// Truncated and mutated files of every new format: a clear outcome in bounded time,
/// and the stored-reader path agrees with the file path.
#[test]
fn new_formats_truncated_or_mutated_give_clear_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut rng = XorShift(0x0bad_cafe_1234_5678);
    for case in FORMAT_CASES {
        let path = make_format_case(dir.path(), case);
        let bytes = std::fs::read(&path).unwrap();
        let ext = path.extension().and_then(|e| e.to_str());
        let mut variants: Vec<Vec<u8>> = [1, 10, 30, 100, 1000, bytes.len() / 2]
            .iter()
            .map(|&n| bytes[..n.min(bytes.len())].to_vec())
            .collect();
        for _ in 0..24 {
            let mut data = bytes.clone();
            let span = data.len().min(2048);
            for _ in 0..1 + rng.next() % 6 {
                let at = (rng.next() as usize) % span;
                data[at] = rng.next() as u8;
            }
            variants.push(data);
        }
        for (i, data) in variants.into_iter().enumerate() {
            let target = out.path().join(format!("{i}_{}", case.name));
            std::fs::write(&target, &data).unwrap();
            let (result, _) = timed_probe(&target);
            assert_clear(&result, &format!("{} variant {i}", case.name));
            let from_reader = probe_reader(&mut Cursor::new(data.clone()), data.len() as u64, ext);
            assert_eq!(
                format!("{from_reader:?}"),
                format!("{result:?}"),
                "{} #{i}",
                case.name
            );
        }
    }
}

/// Same-audio fingerprints where symphonia decodes (Ogg FLAC is the FLAC's audio);
/// "not analysable" said plainly where it does not.
#[test]
fn new_formats_are_analysed_where_they_decode() {
    let dir = tempfile::tempdir().unwrap();
    let flac = make(dir.path(), "same.flac", &["-c:a", "flac"]);
    let oga = make(dir.path(), "same.oga", &["-c:a", "flac", "-f", "ogg"]);
    let a = analyze(&flac).unwrap();
    let b = analyze(&oga).unwrap();
    assert_eq!(
        a.fingerprint, b.fingerprint,
        "Ogg FLAC holds the FLAC's audio"
    );
    let m4b = make(dir.path(), "same.m4b", &["-c:a", "aac", "-f", "ipod"]);
    assert!(analyze(&m4b).is_ok(), "M4B (AAC) decodes");
    for case in FORMAT_CASES.iter().filter(|c| !c.decodable) {
        let path = make_format_case(dir.path(), case);
        match analyze(&path) {
            Err(MediaError::Undecodable { reason }) => {
                assert!(reason.contains("not analysable"), "{}: {reason}", case.name)
            }
            other => panic!("{}: {other:?}", case.name),
        }
    }
}

/// `AUDIOVAULT_WRITE_SAMPLES=DIR`: writes the spec-built samples there (to try them in
/// GStreamer or ffprobe by hand, or to seed a fuzz corpus). Otherwise does nothing.
#[test]
fn write_spec_samples_when_asked() {
    let Ok(dir) = std::env::var("AUDIOVAULT_WRITE_SAMPLES") else {
        return;
    };
    for (name, bytes) in [
        ("s.ape", samples::ape()),
        ("s.mpc", samples::mpc_sv7()),
        ("s.tak", samples::tak()),
        ("s.ofr", samples::ofr()),
        ("s.dsf", samples::dsf()),
        ("s.dff", samples::dff()),
    ] {
        std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
    }
}
