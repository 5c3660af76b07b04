//! Hostile inputs for each header parser: every truncation of a valid header, lying
//! length fields, absurd sizes and random byte flips. No panic, no allocation beyond the
//! caps, and each file read in bounded time.

use std::io::Cursor;
use std::time::{Duration, Instant};

use super::*;
use crate::media::samples;

/// A debug build on a loaded machine parses a header in microseconds.
const BOUND: Duration = Duration::from_millis(500);

fn parse(kind: HeaderType, bytes: &[u8]) -> Result<Parsed, String> {
    let start = Instant::now();
    let mut cursor = Cursor::new(bytes.to_vec());
    let out = read(kind, &mut cursor, 0, bytes.len() as u64).expect("reads from memory");
    assert!(start.elapsed() < BOUND, "{kind:?}: {:?}", start.elapsed());
    if let Ok(p) = &out {
        assert!(p.tags.len() <= MAX_FIELDS, "{kind:?}");
        assert!(
            p.tags.iter().all(|(_, v)| v.len() <= MAX_TEXT_BYTES),
            "{kind:?}"
        );
        for &(at, len) in &p.id3v2 {
            assert!(
                at + len <= bytes.len() as u64,
                "{kind:?}: an ID3 range past the end"
            );
        }
        if let Some(d) = p.duration_seconds {
            assert!(d.is_finite() && d > 0.0, "{kind:?}: duration {d}");
        }
    }
    out
}

fn ac3_sample() -> Vec<u8> {
    // Two AC-3 frames: 48 kHz, 192 kbit/s (768 bytes), 2/0 (acmod 2), no LFE.
    let mut frame = vec![0u8; 768];
    frame[..8].copy_from_slice(&[0x0b, 0x77, 0, 0, 0x14, 0x40, 0x40, 0x00]);
    [frame.clone(), frame].concat()
}

fn eac3_sample() -> Vec<u8> {
    // Two E-AC-3 frames: 417 words, 44.1 kHz, 6 blocks, 2/0, bsid 16.
    let mut frame = vec![0u8; 834];
    frame[..6].copy_from_slice(&[0x0b, 0x77, 0x01, 0xa0, 0x74, 0x80]);
    [frame.clone(), frame].concat()
}

/// A small ASF file: header object with file properties, an audio stream (WMA 2,
/// 44.1 kHz stereo), a content description and an extended content description.
fn asf_sample() -> Vec<u8> {
    let object = |guid: &[u8; 16], body: &[u8]| {
        let mut o = guid.to_vec();
        o.extend_from_slice(&((24 + body.len()) as u64).to_le_bytes());
        o.extend_from_slice(body);
        o
    };
    let mut file_props = vec![0u8; 80];
    file_props[40..48].copy_from_slice(&33_000_000u64.to_le_bytes());
    file_props[56..64].copy_from_slice(&300u64.to_le_bytes());
    let mut stream = ASF_AUDIO_MEDIA.to_vec();
    stream.extend_from_slice(&[0u8; 16]);
    stream.extend_from_slice(&0u64.to_le_bytes());
    stream.extend_from_slice(&18u32.to_le_bytes());
    stream.extend_from_slice(&0u32.to_le_bytes());
    stream.extend_from_slice(&1u16.to_le_bytes());
    stream.extend_from_slice(&0u32.to_le_bytes());
    let mut wf = Vec::new();
    wf.extend_from_slice(&0x0161u16.to_le_bytes());
    wf.extend_from_slice(&2u16.to_le_bytes());
    wf.extend_from_slice(&44_100u32.to_le_bytes());
    wf.extend_from_slice(&16_000u32.to_le_bytes());
    wf.extend_from_slice(&2_000u16.to_le_bytes());
    wf.extend_from_slice(&16u16.to_le_bytes());
    wf.extend_from_slice(&0u16.to_le_bytes());
    stream.extend(wf);
    let utf16 = |s: &str| -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(|u| u.to_le_bytes())
            .collect()
    };
    let title = utf16("Title");
    let artist = utf16("Artist");
    let mut content = Vec::new();
    for len in [title.len(), artist.len(), 0, 0, 0] {
        content.extend_from_slice(&(len as u16).to_le_bytes());
    }
    content.extend(title);
    content.extend(artist);
    let mut ext = 1u16.to_le_bytes().to_vec();
    let name = utf16("WM/AlbumTitle");
    let value = utf16("Album");
    ext.extend_from_slice(&(name.len() as u16).to_le_bytes());
    ext.extend(name);
    ext.extend_from_slice(&0u16.to_le_bytes());
    ext.extend_from_slice(&(value.len() as u16).to_le_bytes());
    ext.extend(value);
    let objects = [
        object(&ASF_FILE_PROPERTIES, &file_props),
        object(&ASF_STREAM_PROPERTIES, &stream),
        object(&ASF_CONTENT_DESCRIPTION, &content),
        object(&ASF_EXTENDED_CONTENT_DESCRIPTION, &ext),
    ]
    .concat();
    let mut f = ASF_HEADER.to_vec();
    f.extend_from_slice(&((30 + objects.len()) as u64).to_le_bytes());
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&[1, 2]);
    f.extend(objects);
    f.extend(samples::noise(4096, 9));
    f
}

fn tta_sample() -> Vec<u8> {
    let mut f = b"TTA1".to_vec();
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(&44_100u32.to_le_bytes());
    f.extend_from_slice(&132_300u32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend(samples::noise(4096, 8));
    f
}

fn valid() -> Vec<(HeaderType, Vec<u8>)> {
    vec![
        (HeaderType::Tta, tta_sample()),
        (HeaderType::OptimFrog, samples::ofr()),
        (HeaderType::Tak, samples::tak()),
        (HeaderType::Dsf, samples::dsf()),
        (HeaderType::Dff, samples::dff()),
        (HeaderType::Ac3, ac3_sample()),
        (HeaderType::Ac3, eac3_sample()),
        (HeaderType::Asf, asf_sample()),
    ]
}

#[test]
fn valid_headers_are_read() {
    for (kind, bytes) in valid() {
        let p = parse(kind, &bytes).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(p.codec.is_some(), "{kind:?}");
        assert!(p.sample_rate.is_some() && p.channels.is_some(), "{kind:?}");
        assert!(p.duration_seconds.is_some(), "{kind:?}");
        assert!(p.notes.is_empty(), "{kind:?}: {:?}", p.notes);
    }
    let asf = parse(HeaderType::Asf, &asf_sample()).unwrap();
    assert_eq!(asf.codec, Some("wmav2"));
    assert_eq!((asf.sample_rate, asf.channels), (Some(44_100), Some(2)));
    // 3.3 s of play less 300 ms of preroll.
    assert!((asf.duration_seconds.unwrap() - 3.0).abs() < 1e-9);
    assert_eq!(
        asf.tags,
        [
            ("TITLE".to_string(), "Title".to_string()),
            ("ARTIST".into(), "Artist".into()),
            ("ALBUM".into(), "Album".into()),
        ]
    );
    let ac3 = parse(HeaderType::Ac3, &ac3_sample()).unwrap();
    assert_eq!(
        (ac3.codec, ac3.sample_rate, ac3.channels, ac3.bitrate),
        (Some("ac3"), Some(48_000), Some(2), Some(192_000))
    );
    let eac3 = parse(HeaderType::Ac3, &eac3_sample()).unwrap();
    assert_eq!(
        (eac3.codec, eac3.sample_rate, eac3.channels),
        (Some("eac3"), Some(44_100), Some(2))
    );
    let tak = parse(HeaderType::Tak, &samples::tak_with(1 << 34, 192_000, 24, 6)).unwrap();
    assert_eq!(
        (tak.sample_rate, tak.bit_depth, tak.channels),
        (Some(192_000), Some(24), Some(6))
    );
    let dff = parse(HeaderType::Dff, &samples::dff()).unwrap();
    assert!(dff.tags.contains(&("TITLE".into(), samples::TITLE.into())));
}

/// Every prefix of every valid header: an error or a reading, never a panic.
#[test]
fn truncated_headers_never_panic() {
    for (kind, bytes) in valid() {
        let header = bytes.len().min(600);
        for len in (0..header).chain([bytes.len() / 2, bytes.len() - 1]) {
            let _ = parse(kind, &bytes[..len]);
        }
        assert!(parse(kind, &[]).is_err(), "{kind:?}: empty");
    }
}

/// Length and count fields set to their largest values, one at a time: no panic, no
/// allocation of what they claim (the caps hold), bounded time.
#[test]
fn lying_lengths_and_absurd_sizes_are_refused_or_bounded() {
    for (kind, bytes) in valid() {
        let header = bytes.len().min(400);
        for at in 0..header.saturating_sub(3) {
            for value in [0xffu8, 0x7f, 0x00] {
                let mut lie = bytes.clone();
                lie[at..at + 4].fill(value);
                let _ = parse(kind, &lie);
            }
            // 64-bit sizes (DSF, DSDIFF, ASF).
            if at + 8 <= header {
                let mut lie = bytes.clone();
                lie[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
                let _ = parse(kind, &lie);
                lie[at..at + 8].copy_from_slice(&(u64::MAX / 2).to_be_bytes());
                let _ = parse(kind, &lie);
            }
        }
    }
    // Specific lies: a DSF metadata pointer past the end is a note, not a range.
    let mut dsf = samples::dsf();
    dsf[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
    let p = parse(HeaderType::Dsf, &dsf).unwrap();
    assert!(p.id3v2.is_empty() && !p.notes.is_empty());
    // An ASF header object claiming 2^63 bytes.
    let mut asf = asf_sample();
    asf[16..24].copy_from_slice(&(1u64 << 63).to_le_bytes());
    assert!(parse(HeaderType::Asf, &asf).is_err());
    // A DSDIFF chunk claiming more than the file: the walk stops, no read of it.
    let mut dff = samples::dff();
    let prop = dff.windows(4).position(|w| w == b"PROP").unwrap();
    dff[prop + 4..prop + 12].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(parse(HeaderType::Dff, &dff).is_err());
    // AC-3 with an impossible frame size code is not AC-3.
    let mut ac3 = ac3_sample();
    ac3[4] = 0x3f;
    assert!(parse(HeaderType::Ac3, &ac3).is_err());
    // TTA claiming 0 channels.
    let mut tta = tta_sample();
    tta[6..8].fill(0);
    assert!(parse(HeaderType::Tta, &tta).is_err());
}

/// Random byte flips in the headers.
#[test]
fn mutated_headers_never_panic() {
    let mut x = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (kind, bytes) in valid() {
        let span = bytes.len().min(512);
        for _ in 0..2000 {
            let mut data = bytes.clone();
            for _ in 0..1 + next() % 6 {
                let at = (next() as usize) % span;
                data[at] = next() as u8;
            }
            let _ = parse(kind, &data);
        }
    }
}

/// Two AC-3 frames in a row are AC-3; one sync word in noise is not.
#[test]
fn ac3_needs_two_frames() {
    let two = ac3_sample();
    assert_eq!(
        ac3_sync(&mut Cursor::new(two.clone()), 0).unwrap(),
        Some(false)
    );
    assert_eq!(
        ac3_sync(&mut Cursor::new(eac3_sample()), 0).unwrap(),
        Some(true)
    );
    let mut one = two.clone();
    one[768] = 0;
    assert_eq!(ac3_sync(&mut Cursor::new(one), 0).unwrap(), None);
    assert_eq!(
        ac3_sync(&mut Cursor::new(two[..770].to_vec()), 0).unwrap(),
        None
    );
}

/// `ftyp`, then `moov` holding `udta` with 3GPP asset boxes.
fn three_gpp_sample() -> Vec<u8> {
    let boxed = |kind: &[u8; 4], body: &[u8]| {
        let mut b = ((8 + body.len()) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    };
    let asset = |text: &[u8]| [&[0u8, 0, 0, 0, 0x15, 0xc7][..], text, &[0]].concat();
    let udta = [
        boxed(b"titl", &asset(b"Title")),
        boxed(b"perf", &asset(b"Artist")),
        boxed(b"albm", &[asset(b"Album"), vec![7]].concat()),
        boxed(b"yrrc", &[0, 0, 0, 0, 0x07, 0xcf]),
    ]
    .concat();
    let moov = boxed(
        b"moov",
        &[boxed(b"mvhd", &[0; 100]), boxed(b"udta", &udta)].concat(),
    );
    [boxed(b"ftyp", b"3gp4\x00\x00\x02\x003gp4isom"), moov].concat()
}

#[test]
fn three_gpp_assets_are_read_and_bounded() {
    let bytes = three_gpp_sample();
    let tags = mp4_3gpp_assets(&mut Cursor::new(bytes.clone()), bytes.len() as u64).unwrap();
    assert_eq!(
        tags,
        [
            ("TITLE".to_string(), "Title".to_string()),
            ("ARTIST".into(), "Artist".into()),
            ("ALBUM".into(), "Album".into()),
            ("TRACKNUMBER".into(), "7".into()),
            ("DATE".into(), "1999".into()),
        ]
    );
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        mp4_3gpp_assets(&mut Cursor::new(cut.to_vec()), len as u64).unwrap();
    }
    for _ in 0..3000 {
        let mut data = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % data.len();
            data[at] = if next() % 2 == 0 { 0xff } else { next() as u8 };
        }
        let start = Instant::now();
        let tags = mp4_3gpp_assets(&mut Cursor::new(data.clone()), data.len() as u64).unwrap();
        assert!(start.elapsed() < BOUND);
        assert!(tags.len() <= MAX_FIELDS);
    }
}
