//! The table's rows agree with each other, with the files they describe, and with the
//! docs generated from them.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::media;

#[test]
fn rows_are_consistent() {
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    let mut extensions = HashSet::new();
    for f in FORMATS {
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        assert!(
            word(f.id),
            "{}: a format name is lower-case letters and digits",
            f.id
        );
        assert!(ids.insert(f.id), "{}: two rows with this name", f.id);
        assert!(
            names.insert(f.display_name),
            "{}: display name {:?} used twice",
            f.id,
            f.display_name
        );
        // A format with no extension of its own comes in under its container's (Ogg FLAC
        // as .oga) and is told by its content.
        assert!(
            !f.extensions.is_empty() || !f.magic.is_empty(),
            "{}: neither an extension nor a magic number",
            f.id
        );
        if let Some(base) = f.variant_of {
            let base = by_id(base).unwrap_or_else(|| panic!("{}: variant of no row", f.id));
            assert!(
                base.reader == f.reader
                    && base.container == f.container
                    && base.variant_of.is_none(),
                "{}: a variant reads as its base",
                f.id
            );
        }
        for ext in f.extensions {
            // What the `allowed_extensions` setting accepts: letters and digits.
            assert!(
                word(ext),
                "{}: extension {ext:?} is not lower-case letters and digits",
                f.id
            );
            assert!(
                extensions.insert(*ext),
                "{}: extension {ext:?} belongs to two formats",
                f.id
            );
        }
        if f.playable_in_webview {
            assert!(f.mime_type.is_some(), "{}: playable but no MIME type", f.id);
        }
        for mime in f.mime_type.iter().chain(f.mime_aliases) {
            assert!(
                mime.starts_with("audio/") && *mime == mime.to_ascii_lowercase(),
                "{}: MIME type {mime:?}",
                f.id
            );
        }
        assert!(
            f.mime_type.is_some() || f.mime_aliases.is_empty(),
            "{}: aliases of no MIME type",
            f.id
        );
        // Every format can be told by its content, so a misnamed file gets its real one.
        assert!(
            !f.magic.is_empty() || f.sync.is_some(),
            "{}: neither a magic number nor a frame sync",
            f.id
        );
        assert!(
            f.magic.is_empty() || f.sync.is_none(),
            "{}: magic and sync",
            f.id
        );
        for sig in f.magic {
            assert!(!sig.is_empty(), "{}: an empty signature", f.id);
            assert!(
                sig.iter().all(|m| !m.bytes.is_empty()),
                "{}: an empty magic",
                f.id
            );
        }
        assert!(
            f.magic_span() <= HEAD_LEN,
            "{}: a signature past HEAD_LEN",
            f.id
        );
        // `container_of_reader` names a symphonia reader by its first row.
        if let Reader::Symphonia(id) = f.reader {
            assert_eq!(
                container_of_reader(id),
                Some(f.container),
                "{}: rows of one reader name two containers",
                f.id
            );
        }
    }
    // Formats of one container are told apart by their content: no signature of one row
    // matches another row's as much (the table's order would decide).
    for a in FORMATS {
        for sig in a.magic {
            let mut head = vec![0u8; HEAD_LEN];
            for m in *sig {
                head[m.offset..m.offset + m.bytes.len()].copy_from_slice(m.bytes);
            }
            for b in FORMATS.iter().filter(|b| b.id != a.id) {
                assert!(
                    b.magic_len(&head) < a.magic_len(&head),
                    "{} matches a signature of {} as much",
                    b.id,
                    a.id
                );
            }
        }
    }
}

/// Behaviour kept from before the table: a new vault takes the same extensions, files
/// get the same names, the player the same MIME types.
#[test]
fn existing_formats_keep_their_names_extensions_and_mime_types() {
    let defaults: Vec<&str> = default_extensions().collect();
    for ext in [
        "wav", "wave", "aif", "aiff", "aifc", "flac", "m4a", "mp4", "alac", "aac", "mp3", "ogg",
        "oga", "opus",
    ] {
        assert!(defaults.contains(&ext), "{ext} is no longer a default");
    }
    // Issue #18: every format a collector keeps (Ogg FLAC comes as .oga or .ogg).
    let added: Vec<&str> = defaults
        .iter()
        .copied()
        .filter(|e| {
            ![
                "wav", "wave", "aif", "aiff", "aifc", "flac", "m4a", "mp4", "alac", "aac", "mp3",
                "ogg", "oga", "opus",
            ]
            .contains(e)
        })
        .collect();
    assert_eq!(
        added,
        [
            "m4b", "3gp", "3ga", "3g2", "spx", "wv", "ape", "mpc", "mpp", "tta", "tak", "ofr",
            "ofs", "dsf", "dff", "ac3", "eac3", "ec3", "wma"
        ]
    );
    // Still recognized, not taken by default.
    for ext in ["mp2", "mp1", "caf", "mka"] {
        assert!(!defaults.contains(&ext), "{ext}");
    }
    for (ext, id) in [
        ("wav", "wav"),
        ("WAVE", "wav"),
        ("aif", "aiff"),
        ("aiff", "aiff"),
        ("aifc", "aiff"),
        ("flac", "flac"),
        ("m4a", "m4a"),
        ("mp4", "m4a"),
        ("alac", "m4a"),
        ("aac", "aac"),
        ("mp3", "mp3"),
        ("ogg", "ogg"),
        ("oga", "ogg"),
        ("opus", "opus"),
        // An extension a user allowed that the table does not know names itself.
        ("XYZ", "xyz"),
    ] {
        assert_eq!(for_extension(ext), id, "{ext}");
    }
    for (id, mime) in [
        ("mp3", "audio/mpeg"),
        ("flac", "audio/flac"),
        ("wav", "audio/wav"),
        ("aiff", "audio/x-aiff"),
        ("m4a", "audio/mp4"),
        ("aac", "audio/aac"),
        ("ogg", "audio/ogg"),
        ("opus", "audio/ogg"),
        ("wv", "audio/x-wavpack"),
        ("tak", "application/octet-stream"),
        ("xyz", "application/octet-stream"),
    ] {
        assert_eq!(crate::serve::content_type(id), mime, "{id}");
    }
}

#[test]
fn the_most_specific_signature_wins() {
    let mut opus = vec![0u8; HEAD_LEN];
    opus[..4].copy_from_slice(b"OggS");
    opus[28..36].copy_from_slice(b"OpusHead");
    let mut vorbis = opus.clone();
    vorbis[28..36].copy_from_slice(b"\x01vorbis\0");
    assert_eq!(by_magic(&opus).map(|f| f.id), Some("opus"));
    assert_eq!(by_magic(&vorbis).map(|f| f.id), Some("ogg"));
    assert_eq!(by_magic(b"fLaC\0\0\0\x22").map(|f| f.id), Some("flac"));
    assert_eq!(by_magic(b"ID3\x04").map(|f| f.id), None);
    assert_eq!(by_magic(&[]).map(|f| f.id), None);
    // A signature cut short by the end of the file does not match.
    assert_eq!(by_magic(b"RIFF\0\0\0\0WAV").map(|f| f.id), None);
}

fn ffmpeg(dir: &Path, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ffmpeg is required for the formats tests");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sample of every format: made by ffmpeg where it writes the format, else its first
/// bytes built from the format's spec. A new row without a sample fails the test.
fn sample(dir: &Path, format: &Format) -> PathBuf {
    let path = dir.join(format!(
        "sample.{}",
        format.extensions.first().copied().unwrap_or("oga")
    ));
    let encode = |args: &[&str]| {
        let mut all = vec![
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1:sample_rate=44100",
            "-ac",
            "2",
        ];
        all.extend_from_slice(args);
        all.push(path.to_str().unwrap());
        ffmpeg(dir, &all);
    };
    let spec = |bytes: Vec<u8>| std::fs::write(&path, bytes).unwrap();
    match format.id {
        "wav" => encode(&["-c:a", "pcm_s16le"]),
        "aiff" => encode(&["-c:a", "pcm_s16be"]),
        "flac" => encode(&["-c:a", "flac"]),
        "m4a" => encode(&["-c:a", "aac"]),
        "aac" => encode(&["-c:a", "aac", "-f", "adts"]),
        "mp3" => encode(&["-c:a", "libmp3lame", "-metadata", "title=x"]),
        "ogg" => encode(&["-c:a", "libvorbis"]),
        "opus" => encode(&["-c:a", "libopus"]),
        "mp2" => encode(&["-c:a", "mp2"]),
        "caf" => encode(&["-c:a", "pcm_s16le"]),
        "mka" => encode(&["-c:a", "flac"]),
        "wv" => encode(&["-c:a", "wavpack"]),
        "tta" => encode(&["-c:a", "tta"]),
        "wma" => encode(&["-c:a", "wmav2"]),
        "ac3" => encode(&["-c:a", "ac3"]),
        "eac3" => encode(&["-c:a", "eac3"]),
        // A real audiobook brand (ffmpeg brands its own M4A).
        "m4b" => encode(&["-c:a", "aac", "-f", "ipod", "-brand", "M4B "]),
        "3gp" => encode(&["-c:a", "aac"]),
        "oggflac" => encode(&["-c:a", "flac", "-f", "ogg"]),
        "spx" => encode(&["-ar", "16000", "-ac", "1", "-c:a", "libspeex"]),
        "mp1" => {
            // MPEG-1 Layer I, 384 kbit/s, 44.1 kHz, no CRC: 416-byte frames.
            let mut frames = Vec::new();
            for _ in 0..8 {
                let mut frame = vec![0u8; 416];
                frame[..4].copy_from_slice(&[0xff, 0xff, 0xc0, 0x00]);
                frames.extend(frame);
            }
            std::fs::write(&path, frames).unwrap();
        }
        // Built from each format's spec (see `media::samples`).
        "ape" => spec(media::samples::ape()),
        "mpc" => spec(media::samples::mpc_sv7()),
        "tak" => spec(media::samples::tak()),
        "ofr" => spec(media::samples::ofr()),
        "dsf" => spec(media::samples::dsf()),
        "dff" => spec(media::samples::dff()),
        other => panic!("no sample of {other}: add one to formats::tests::sample"),
    }
    path
}

/// Every row, on a real file of its format: its content names it, whatever the file is
/// called, and a probe reads it as the row's container.
#[test]
fn every_format_is_recognized_by_its_content() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let path = sample(dir.path(), format);
        let size = std::fs::metadata(&path).unwrap().len();
        // A name of another format, and of none.
        let other = if format.id == "mp3" { "flac" } else { "mp3" };
        let own = format.extensions.first().copied();
        for ext in [own, Some(other), Some("xyz"), None] {
            let mut file = File::open(&path).unwrap();
            let id = media::format_of(&mut file, size, ext).unwrap();
            assert_eq!(id, format.id, "{} named .{ext:?}", format.id);
        }
        let info = media::probe(&path).unwrap_or_else(|e| panic!("{}: {e}", format.id));
        assert_eq!(
            info.container.as_deref(),
            Some(format.container),
            "{}",
            format.id
        );
        // Every reader reads its own rows' samples whole.
        assert_eq!(info.metadata_error, None, "{}", format.id);
        assert!(info.sample_rate.is_some(), "{}: sample rate", format.id);
        assert!(info.channels.is_some(), "{}: channels", format.id);
    }
}

/// A leading ID3v2 tag hides no format; a file with neither a magic number nor a frame
/// sync keeps its extension's name.
#[test]
fn id3v2_tags_are_skipped_and_unknown_content_keeps_its_name() {
    let mut flac = b"ID3\x04\0\0\0\0\0\x0a".to_vec();
    flac.extend([0u8; 10]);
    flac.extend(b"fLaC\0\0\0\x22");
    flac.resize(4096, 0);
    let size = flac.len() as u64;
    let id = media::format_of(&mut std::io::Cursor::new(&flac), size, Some("mp3")).unwrap();
    assert_eq!(id, "flac");
    let text = b"not audio at all, whatever the name says".repeat(100);
    let size = text.len() as u64;
    for (ext, id) in [
        (Some("MP3"), "mp3"),
        (Some("wave"), "wav"),
        (Some("Xyz"), "xyz"),
        (None, ""),
    ] {
        let got = media::format_of(&mut std::io::Cursor::new(&text), size, ext).unwrap();
        assert_eq!(got, id, "{ext:?}");
    }
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn update_docs() -> bool {
    std::env::var("AUDIOVAULT_UPDATE_DOCS").as_deref() == Ok("1")
}

const STALE: &str = "is stale: run `AUDIOVAULT_UPDATE_DOCS=1 cargo test -p audiovault-engine formats::` and commit it";

#[test]
fn formats_doc_is_current() {
    let path = repo_file("docs/FORMATS.md");
    let generated = markdown();
    if update_docs() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "docs/FORMATS.md {STALE}");
}

#[test]
fn readme_format_list_is_current() {
    let path = repo_file("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (open, close) = README_MARKERS;
    let start = text.find(open).expect("README.md has the formats markers") + open.len();
    let end = start
        + text[start..]
            .find(close)
            .expect("README.md closes the formats markers");
    let generated = readme_list();
    if update_docs() {
        let mut new = text.clone();
        new.replace_range(start..end, &generated);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert!(
        text[start..end] == generated,
        "README.md's format list {STALE}"
    );
}

/// Every format a new vault accepts, through a vault: imported under its own extension,
/// catalogued as its format with what its reader read, exported byte-identical, and
/// analysed where it decodes ("not analysable", said so, where it does not).
#[test]
fn every_default_format_imports_exports_and_analyses() {
    use crate::catalog::AnalysisState;
    use crate::progress::{CancelToken, NoProgress};
    use crate::{CreateOptions, ExportOptions, ImportOptions, Passphrase, vault::Vault};

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let options = CreateOptions {
        kdf_memory_kib: 1024,
        kdf_iterations: 1,
        ..CreateOptions::default()
    };
    let vault = Vault::create(&dir.path().join("vault"), &Passphrase::new("pw"), &options).unwrap();
    let formats: Vec<&Format> = FORMATS.iter().filter(|f| f.allowed_by_default).collect();
    let paths: Vec<PathBuf> = formats.iter().map(|f| sample(&src, f)).collect();
    let report = vault
        .import(
            &paths,
            &ImportOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(report.imported, formats.len(), "{:?}", report.files);
    let analysed = vault
        .analyze_pending(&NoProgress, &CancelToken::new())
        .unwrap();
    assert_eq!(analysed.pending, 0);

    let out = dir.path().join("out");
    for (format, path) in formats.iter().zip(&paths) {
        let item = report
            .files
            .iter()
            .find(|r| r.source == *path)
            .unwrap_or_else(|| panic!("{}: not in the report", format.id));
        let id = item.id.clone().unwrap();
        let details = vault.track_details(&id).unwrap();
        let meta = &details.track.meta;
        assert_eq!(details.track.format, format.id, "{}", format.id);
        assert_eq!(
            meta.container.as_deref(),
            Some(format.container),
            "{}",
            format.id
        );
        assert_eq!(meta.metadata_error, None, "{}", format.id);
        assert!(
            meta.sample_rate.is_some() && meta.channels.is_some(),
            "{}",
            format.id
        );
        assert!(
            meta.duration_seconds.is_some_and(|d| d > 0.5),
            "{}",
            format.id
        );
        if ["ape", "mpc", "tak", "ofr", "dsf", "dff"].contains(&format.id) {
            assert_eq!(
                meta.title.as_deref(),
                Some(media::samples::TITLE),
                "{}",
                format.id
            );
        }
        // A decodable codec is analysed; the rest say why not.
        if meta.decodable == Some(true) {
            assert_eq!(details.analysis, AnalysisState::Done, "{}", format.id);
        } else {
            assert_eq!(details.analysis, AnalysisState::Failed, "{}", format.id);
            if !matches!(format.reader, Reader::Symphonia(_)) {
                let reason = details.analysis_error.unwrap_or_default();
                assert!(reason.contains("not analysable"), "{}: {reason}", format.id);
            }
        }
        let exported = vault
            .export(
                &[id],
                &out,
                &ExportOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
        let back = std::fs::read(&exported.exported[0].path).unwrap();
        assert!(
            back == std::fs::read(path).unwrap(),
            "{}: exported bytes differ",
            format.id
        );
    }
}
