//! Format-aware region boundaries: where an audio file's metadata ends and its
//! audio begins (and the reverse at its tail), so the chunker can cut there and
//! chunk each region on its own. A re-tag then changes only the metadata
//! region's chunks, even when the tag grew and the audio after it moved.
//!
//! Only offsets come out of here: the chunker never cuts a chunk across one, and
//! the chunks still concatenate to the file, byte for byte. The input is
//! untrusted: every walk has an iteration cap, every length is checked against
//! the file before it is followed, nothing is allocated by a length the file
//! declares, and the first thing that does not add up ends the walk (the rest
//! of the file is chunked as one region, as plain content-defined chunking
//! would).
//!
//! Boundaries only where metadata meets audio, one on each side at most: a region
//! of its own for a format's fixed header (an `ftyp` box, a `fmt ` chunk) would be
//! a tiny chunk that every file of that format shares, a stored object per track
//! for nothing. What is split, per format:
//! - ID3v2 in front (any format that carries one: MP3, and FLAC, APE, WavPack,
//!   TTA, Musepack written by some taggers), APEv2 and ID3v1 at the end (one
//!   region for both);
//! - FLAC: the metadata blocks before the first frame;
//! - MP4 (M4A, M4B, ALAC, AAC, 3GP): `moov`, whose tables (`stco`/`co64`) a re-tag
//!   rewrites, and `mdat` are in different regions: a boundary at `mdat` when
//!   `moov` comes first, at `moov` when `mdat` does;
//! - RIFF/RF64 (WAV) and FORM (AIFF): the audio chunk (`data`/`SSND`) is a region,
//!   the chunks before it (`fmt `, `LIST`, `id3 `…) another, those after it a third;
//! - ASF (WMA): the Header Object (every tag) apart from the Data Object;
//! - DSF: the ID3v2 tag its header points to (at the end); DSDIFF: the audio chunk
//!   (`DSD `/`DST `) apart from the chunks around it (`PROP`, `ID3 `);
//! - Ogg (Vorbis, Opus, Speex, FLAC): the pages of the headers (identification,
//!   comment, setup) before the first audio page.

use std::io::{self, Read, Seek, SeekFrom};

/// At most this many boundaries per file: a file of a thousand tiny RIFF chunks
/// must not become a thousand tiny stored chunks.
pub const MAX_BOUNDARIES: usize = 64;
/// Ogg pages walked looking for the first audio page (a cover art in the
/// comment header spans many pages; 4096 pages of the largest size are 260 MiB).
const MAX_OGG_HEADER_PAGES: usize = 4096;
/// Top-level MP4 boxes or RIFF/FORM chunks walked looking for the audio.
const MAX_BOXES: usize = 1024;
/// FLAC metadata blocks walked (the format allows up to 127 block types; real
/// files have a handful, plus pictures).
const MAX_FLAC_BLOCKS: usize = 1024;

/// The offsets (strictly increasing, each in `1..size`) at which a file's
/// regions begin. Never fails: a read error or a structure that does not add up
/// ends the walk with the boundaries found so far.
pub fn boundaries<R: Read + Seek>(reader: &mut R, size: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut r = Probe { reader, size };
    walk(&mut r, &mut out);
    out.retain(|b| *b > 0 && *b < size);
    out.sort_unstable();
    out.dedup();
    out.truncate(MAX_BOUNDARIES);
    out
}

/// Whether the file starts with an Ogg page (its regions are then the header pages
/// and the audio pages, split at the one boundary [`boundaries`] gives).
pub fn is_ogg<R: Read + Seek>(reader: &mut R) -> bool {
    let size = reader.seek(SeekFrom::End(0)).unwrap_or(0);
    Probe { reader, size }.read::<4>(0).as_ref() == Some(b"OggS")
}

struct Probe<'a, R> {
    reader: &'a mut R,
    size: u64,
}

impl<R: Read + Seek> Probe<'_, R> {
    /// Exactly `N` bytes at `at`, or `None` past the end or on an error.
    fn read<const N: usize>(&mut self, at: u64) -> Option<[u8; N]> {
        if at.checked_add(N as u64)? > self.size {
            return None;
        }
        self.reader.seek(SeekFrom::Start(at)).ok()?;
        let mut buf = [0u8; N];
        read_full(self.reader, &mut buf).ok()?;
        Some(buf)
    }
}

fn read_full<R: Read>(r: &mut R, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match r.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn walk<R: Read + Seek>(r: &mut Probe<'_, R>, out: &mut Vec<u64>) {
    let Some(head) = r.read::<12>(0) else {
        return;
    };
    match &head[..4] {
        b"fLaC" => return flac(r, 0, out),
        b"OggS" => return ogg(r, out),
        b"RIFF" | b"RF64" | b"BW64" if &head[8..12] == b"WAVE" => {
            return iff(r, false, out);
        }
        b"FORM" if matches!(&head[8..12], b"AIFF" | b"AIFC") => return iff(r, true, out),
        b"DSD " => return dsf(r, out),
        b"FRM8" => return dff(r, out),
        _ => {}
    }
    if is_mp4_box(&head) {
        return mp4(r, out);
    }
    if head == ASF_HEADER[..12] {
        return asf(r, out);
    }
    // The rest: a leading ID3v2 (MP3; FLAC and others when a tagger put one there),
    // and APEv2/ID3v1 at the end (MP3, Monkey's Audio, WavPack, Musepack, TTA…).
    let audio_start = id3v2_end(r, 0);
    if let Some(start) = audio_start {
        out.push(start);
        if r.read::<4>(start).as_ref() == Some(b"fLaC") {
            flac(r, start, out);
            tail_tags(r, start, out);
            return;
        }
    }
    tail_tags(r, audio_start.unwrap_or(0), out);
}

/// The end of an ID3v2 tag at `at` (header, body, footer), if one is there and
/// fits in the file.
fn id3v2_end<R: Read + Seek>(r: &mut Probe<'_, R>, at: u64) -> Option<u64> {
    let h = r.read::<10>(at)?;
    if &h[..3] != b"ID3" || h[3] == 0xFF || h[4] == 0xFF || h[6..10].iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    let body = h[6..10]
        .iter()
        .fold(0u64, |acc, b| (acc << 7) | u64::from(*b));
    let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
    let end = at + 10 + body + footer;
    (end <= r.size).then_some(end)
}

/// APEv2 and ID3v1 at the end of the file, not before `floor`: a boundary where
/// the first of them begins.
fn tail_tags<R: Read + Seek>(r: &mut Probe<'_, R>, floor: u64, out: &mut Vec<u64>) {
    let mut end = r.size;
    if end >= floor + 128 && r.read::<3>(end - 128).as_ref() == Some(b"TAG") {
        end -= 128;
    }
    if end >= floor + 32
        && let Some(footer) = r.read::<32>(end - 32)
        && &footer[..8] == b"APETAGEX"
    {
        let size = u64::from(u32::from_le_bytes(
            footer[12..16].try_into().unwrap_or([0; 4]),
        ));
        let flags = u32::from_le_bytes(footer[20..24].try_into().unwrap_or([0; 4]));
        let header = if flags & 0x8000_0000 != 0 { 32 } else { 0 };
        // The size covers the items and the footer, not the header.
        if size >= 32
            && let Some(len) = size.checked_add(header)
            && len <= end - floor
        {
            end -= len;
        }
    }
    if end < r.size {
        out.push(end);
    }
}

/// FLAC at `at`: a boundary where the first frame starts, after the last
/// metadata block.
fn flac<R: Read + Seek>(r: &mut Probe<'_, R>, at: u64, out: &mut Vec<u64>) {
    let mut pos = at + 4;
    for _ in 0..MAX_FLAC_BLOCKS {
        let Some(h) = r.read::<4>(pos) else {
            return;
        };
        let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        let Some(next) = pos.checked_add(4 + len).filter(|n| *n <= r.size) else {
            return;
        };
        pos = next;
        if h[0] & 0x80 != 0 {
            // The last block: frames begin with a sync code.
            if r.read::<2>(pos)
                .is_some_and(|s| s[0] == 0xFF && s[1] & 0xF8 == 0xF8)
            {
                out.push(pos);
            }
            return;
        }
    }
}

/// Whether 12 bytes look like an MP4 file's first box (`ftyp`, or a `moov`,
/// `mdat`, `free`, `skip`, `wide` a stripped file may start with).
fn is_mp4_box(head: &[u8; 12]) -> bool {
    matches!(
        &head[4..8],
        b"ftyp" | b"moov" | b"mdat" | b"free" | b"skip" | b"wide"
    )
}

/// MP4: a boundary between `moov` and `mdat`, found by walking the top-level boxes:
/// at the first `mdat` after a `moov`, or at the first `moov` after an `mdat`.
fn mp4<R: Read + Seek>(r: &mut Probe<'_, R>, out: &mut Vec<u64>) {
    let (mut pos, mut seen_moov, mut seen_mdat) = (0u64, false, false);
    for _ in 0..MAX_BOXES {
        if pos >= r.size {
            return;
        }
        let Some(h) = r.read::<8>(pos) else {
            return;
        };
        if !h[4..8].iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return;
        }
        match &h[4..8] {
            b"mdat" if seen_moov => return out.push(pos),
            b"moov" if seen_mdat => return out.push(pos),
            b"mdat" => seen_mdat = true,
            b"moov" => seen_moov = true,
            _ => {}
        }
        let len = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
            0 => return, // to the end of the file: nothing after it
            1 => match r.read::<8>(pos + 8) {
                Some(large) => u64::from_be_bytes(large),
                None => return,
            },
            n => u64::from(n),
        };
        if len < 8 {
            return;
        }
        match pos.checked_add(len).filter(|n| *n <= r.size) {
            Some(next) => pos = next,
            None => return,
        }
    }
}

/// RIFF/RF64 (little-endian sizes) or FORM (big-endian): boundaries at the start
/// and the end of the audio chunk (`data`, `SSND`).
fn iff<R: Read + Seek>(r: &mut Probe<'_, R>, big_endian: bool, out: &mut Vec<u64>) {
    let mut pos = 12u64;
    for _ in 0..MAX_BOXES {
        if pos >= r.size {
            return;
        }
        let Some(h) = r.read::<8>(pos) else {
            return;
        };
        if !h[..4].iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return;
        }
        let audio = matches!(&h[..4], b"data" | b"SSND");
        if audio {
            out.push(pos);
        }
        let raw = [h[4], h[5], h[6], h[7]];
        let len = u64::from(if big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        });
        // RF64 says 0xFFFFFFFF and puts the real size in `ds64`: not followed here,
        // the rest of the file is one region.
        let Some(next) = pos
            .checked_add(8 + len + (len & 1))
            .filter(|n| *n <= r.size && len != u64::from(u32::MAX))
        else {
            return;
        };
        if audio {
            return out.push(next);
        }
        pos = next;
    }
}

/// The GUID of ASF's Header Object, the first thing in a WMA file.
const ASF_HEADER: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

/// ASF (WMA): the Header Object, which holds every tag, is a region; the Data
/// Object after it another.
fn asf<R: Read + Seek>(r: &mut Probe<'_, R>, out: &mut Vec<u64>) {
    if let Some(h) = r.read::<24>(0)
        && h[..16] == ASF_HEADER
    {
        let len = u64::from_le_bytes(h[16..24].try_into().unwrap_or([0; 8]));
        if len >= 30 && len < r.size {
            out.push(len);
        }
    }
}

/// DSF: the ID3v2 tag its `DSD ` chunk points to, at the end of the file.
fn dsf<R: Read + Seek>(r: &mut Probe<'_, R>, out: &mut Vec<u64>) {
    if let Some(h) = r.read::<28>(0)
        && u64::from_le_bytes(h[4..12].try_into().unwrap_or([0; 8])) == 28
    {
        let tag = u64::from_le_bytes(h[20..28].try_into().unwrap_or([0; 8]));
        if tag > 28 && id3v2_end(r, tag).is_some() {
            out.push(tag);
        }
    }
}

/// DSDIFF: `FRM8` chunks with 64-bit big-endian sizes; boundaries at the start and
/// the end of the audio chunk (`DSD ` or `DST `), as for WAV.
fn dff<R: Read + Seek>(r: &mut Probe<'_, R>, out: &mut Vec<u64>) {
    let mut pos = 16u64;
    for _ in 0..MAX_BOXES {
        let Some(h) = r.read::<12>(pos) else {
            return;
        };
        let audio = matches!(&h[..4], b"DSD " | b"DST ");
        if audio {
            out.push(pos);
        }
        let len = u64::from_be_bytes(h[4..12].try_into().unwrap_or([0xFF; 8]));
        let Some(next) = len
            .checked_add(12 + (len & 1))
            .and_then(|n| pos.checked_add(n))
            .filter(|n| *n <= r.size)
        else {
            return;
        };
        if audio {
            return out.push(next);
        }
        pos = next;
    }
}

/// Ogg: a boundary at the first page after the headers. Header pages carry a
/// granule position of 0 (or -1 when no packet ends on them); the first page
/// of audio, a positive one.
fn ogg<R: Read + Seek>(r: &mut Probe<'_, R>, out: &mut Vec<u64>) {
    let mut pos = 0u64;
    for page in 0..MAX_OGG_HEADER_PAGES {
        let Some(h) = r.read::<27>(pos) else {
            return;
        };
        if &h[..4] != b"OggS" {
            return;
        }
        let granule = i64::from_le_bytes(h[6..14].try_into().unwrap_or([0; 8]));
        if page > 0 && granule > 0 {
            out.push(pos);
            return;
        }
        let segments = usize::from(h[26]);
        let mut lacing = [0u8; 255];
        if pos + 27 + segments as u64 > r.size {
            return;
        }
        if r.reader.seek(SeekFrom::Start(pos + 27)).is_err()
            || read_full(r.reader, &mut lacing[..segments]).is_err()
        {
            return;
        }
        let body: u64 = lacing[..segments].iter().map(|b| u64::from(*b)).sum();
        pos += 27 + segments as u64 + body;
        if pos >= r.size {
            return;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;
    use std::time::{Duration, Instant};

    fn cuts(data: &[u8]) -> Vec<u64> {
        boundaries(&mut Cursor::new(data), data.len() as u64)
    }

    fn id3v2(body: usize) -> Vec<u8> {
        let mut t = b"ID3\x04\x00\x00".to_vec();
        let n = body as u32;
        t.extend([
            (n >> 21) as u8 & 0x7F,
            (n >> 14) as u8 & 0x7F,
            (n >> 7) as u8 & 0x7F,
            n as u8 & 0x7F,
        ]);
        t.extend(std::iter::repeat_n(b'x', body));
        t
    }

    fn ape_tag(items: usize) -> Vec<u8> {
        let size = (items + 32) as u32;
        let footer = |flags: u32| {
            let mut f = b"APETAGEX".to_vec();
            f.extend(2000u32.to_le_bytes());
            f.extend(size.to_le_bytes());
            f.extend(1u32.to_le_bytes());
            f.extend(flags.to_le_bytes());
            f.extend([0u8; 8]);
            f
        };
        let mut t = footer(0xA000_0000);
        t.extend(std::iter::repeat_n(b'i', items));
        t.extend(footer(0x8000_0000));
        t
    }

    fn mp3_frames(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            out.extend([0xFF, 0xFB, 0x90, 0x64]);
            out.extend((0..413).map(|j| (i * 7 + j) as u8));
        }
        out
    }

    pub(crate) fn golden_mp3() -> Vec<u8> {
        let mut f = id3v2(1000);
        f.extend(mp3_frames(20));
        f.extend(ape_tag(64));
        let mut v1 = b"TAG".to_vec();
        v1.resize(128, b' ');
        f.extend(v1);
        f
    }

    pub(crate) fn golden_flac() -> Vec<u8> {
        let mut f = b"fLaC".to_vec();
        let block = |last: bool, kind: u8, len: usize| {
            let mut b = vec![kind | if last { 0x80 } else { 0 }];
            b.extend(&(len as u32).to_be_bytes()[1..]);
            b.extend(std::iter::repeat_n(kind, len));
            b
        };
        f.extend(block(false, 0, 34));
        f.extend(block(false, 4, 200));
        f.extend(block(true, 1, 1000));
        f.extend([0xFF, 0xF8, 0x69, 0x08]);
        f.extend(std::iter::repeat_n(0x5Au8, 5000));
        f
    }

    fn mp4_box(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut b = ((body + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(std::iter::repeat_n(kind[0], body));
        b
    }

    pub(crate) fn golden_m4a() -> Vec<u8> {
        let mut f = mp4_box(b"ftyp", 20);
        f.extend(mp4_box(b"moov", 3000));
        f.extend(mp4_box(b"free", 8));
        f.extend(mp4_box(b"mdat", 10_000));
        f
    }

    pub(crate) fn golden_m4a_moov_last() -> Vec<u8> {
        let mut f = mp4_box(b"ftyp", 20);
        f.extend(mp4_box(b"free", 8));
        f.extend(mp4_box(b"mdat", 10_000));
        f.extend(mp4_box(b"moov", 3000));
        f
    }

    fn riff_chunk(kind: &[u8; 4], body: usize, big_endian: bool) -> Vec<u8> {
        let mut c = kind.to_vec();
        let n = body as u32;
        c.extend(if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        });
        c.extend(std::iter::repeat_n(kind[1], body));
        if body % 2 == 1 {
            c.push(0);
        }
        c
    }

    pub(crate) fn golden_wav() -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        body.extend(riff_chunk(b"fmt ", 16, false));
        body.extend(riff_chunk(b"LIST", 301, false));
        body.extend(riff_chunk(b"data", 8000, false));
        body.extend(riff_chunk(b"id3 ", 500, false));
        let mut f = b"RIFF".to_vec();
        f.extend((body.len() as u32).to_le_bytes());
        f.extend(body);
        f
    }

    pub(crate) fn golden_aiff() -> Vec<u8> {
        let mut body = b"AIFF".to_vec();
        body.extend(riff_chunk(b"COMM", 18, true));
        body.extend(riff_chunk(b"ID3 ", 401, true));
        body.extend(riff_chunk(b"SSND", 8000, true));
        let mut f = b"FORM".to_vec();
        f.extend((body.len() as u32).to_be_bytes());
        f.extend(body);
        f
    }

    pub(crate) fn golden_asf() -> Vec<u8> {
        let mut f = ASF_HEADER.to_vec();
        f.extend(530u64.to_le_bytes());
        f.extend(std::iter::repeat_n(0x41u8, 530 - 24));
        f.extend([0x36, 0x26, 0xB2, 0x75]); // the Data Object's GUID begins so
        f.extend(std::iter::repeat_n(0x44u8, 5000));
        f
    }

    pub(crate) fn golden_dsf() -> Vec<u8> {
        let mut f = b"DSD ".to_vec();
        f.extend(28u64.to_le_bytes());
        f.extend(0u64.to_le_bytes()); // total size, filled below
        f.extend((28u64 + 52 + 4012).to_le_bytes()); // the metadata's offset
        f.extend(b"fmt ");
        f.extend(52u64.to_le_bytes());
        f.extend([0u8; 40]);
        f.extend(b"data");
        f.extend(4012u64.to_le_bytes());
        f.extend(std::iter::repeat_n(0x69u8, 4000));
        f.extend(id3v2(300));
        let total = f.len() as u64;
        f[12..20].copy_from_slice(&total.to_le_bytes());
        f
    }

    pub(crate) fn golden_dff() -> Vec<u8> {
        let chunk = |id: &[u8; 4], body: usize| {
            let mut c = id.to_vec();
            c.extend((body as u64).to_be_bytes());
            c.extend(std::iter::repeat_n(id[0], body));
            if body % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"DSD ".to_vec();
        body.extend(chunk(b"FVER", 4));
        body.extend(chunk(b"PROP", 51));
        body.extend(chunk(b"DSD ", 6000));
        body.extend(chunk(b"ID3 ", 200));
        let mut f = b"FRM8".to_vec();
        f.extend((body.len() as u64).to_be_bytes());
        f.extend(body);
        f
    }

    fn ogg_page(granule: i64, seq: u32, body: usize) -> Vec<u8> {
        let mut p = b"OggS\x00\x00".to_vec();
        p.extend(granule.to_le_bytes());
        p.extend(7u32.to_le_bytes());
        p.extend(seq.to_le_bytes());
        p.extend([0u8; 4]);
        let mut lacing = vec![255u8; body / 255];
        lacing.push((body % 255) as u8);
        p.push(lacing.len() as u8);
        p.extend(lacing);
        p.extend(std::iter::repeat_n(seq as u8, body));
        p
    }

    pub(crate) fn golden_ogg() -> Vec<u8> {
        let mut f = ogg_page(0, 0, 30);
        f.extend(ogg_page(-1, 1, 4000));
        f.extend(ogg_page(0, 2, 3000));
        f.extend(ogg_page(960, 3, 4000));
        f.extend(ogg_page(1920, 4, 4000));
        f
    }

    /// Golden boundaries per format: if one moves, every later import of such a
    /// file cuts differently and re-tags of files imported before stop sharing
    /// their audio chunks. Do not update the numbers; add a chunker version.
    #[test]
    fn golden_boundaries_per_format() {
        assert_eq!(cuts(&golden_mp3()), vec![1010, 9350]);
        assert_eq!(cuts(&golden_flac()), vec![1250]);
        assert_eq!(cuts(&golden_m4a()), vec![3052]);
        assert_eq!(cuts(&golden_m4a_moov_last()), vec![10_052]);
        assert_eq!(cuts(&golden_wav()), vec![346, 8354]);
        assert_eq!(cuts(&golden_aiff()), vec![448]);
        assert_eq!(cuts(&golden_ogg()), vec![7140]);
        assert_eq!(cuts(&golden_dsf()), vec![4092]);
        assert_eq!(cuts(&golden_asf()), vec![530]);
        assert_eq!(cuts(&golden_dff()), vec![96, 6108]);
        // ID3v2 in front of a FLAC: both the tag and the metadata blocks are regions.
        let mut tagged = id3v2(100);
        tagged.extend(golden_flac());
        assert_eq!(cuts(&tagged), vec![110, 1360]);
        // Nothing known: no boundary.
        assert_eq!(cuts(&[7u8; 5000]), Vec::<u64>::new());
        assert_eq!(cuts(b""), Vec::<u64>::new());
    }

    #[test]
    fn a_grown_tag_moves_the_audio_region_with_it() {
        let mut small = id3v2(100);
        small.extend(mp3_frames(10));
        let mut big = id3v2(5000);
        big.extend(mp3_frames(10));
        assert_eq!(cuts(&small), vec![110]);
        assert_eq!(cuts(&big), vec![5010]);
        assert_eq!(small[110..], big[5010..]);
    }

    /// Lying lengths and absurd sizes: no panic, no loop, no allocation by a
    /// declared length, and every boundary inside the file.
    #[test]
    fn lying_lengths_and_absurd_sizes_end_the_walk() {
        let mut hostile: Vec<Vec<u8>> = Vec::new();
        // An ID3v2 that claims 256 MiB.
        hostile.push(b"ID3\x04\x00\x00\x7F\x7F\x7F\x7Fabc".to_vec());
        // FLAC blocks of 16 MiB each, none last.
        let mut f = b"fLaC".to_vec();
        f.extend([0x00, 0xFF, 0xFF, 0xFF]);
        hostile.push(f);
        // 10,000 empty FLAC blocks: the iteration cap ends it.
        let mut f = b"fLaC".to_vec();
        for _ in 0..10_000 {
            f.extend([0x01, 0, 0, 0]);
        }
        hostile.push(f);
        // MP4 boxes of size 1 with a 2^64-1 large size, of size 7, of size 0.
        let mut m = mp4_box(b"ftyp", 8);
        m.extend(1u32.to_be_bytes());
        m.extend(b"mdat");
        m.extend(u64::MAX.to_be_bytes());
        hostile.push(m);
        let mut m = mp4_box(b"ftyp", 8);
        m.extend(7u32.to_be_bytes());
        m.extend(b"moov");
        hostile.push(m);
        let mut m = mp4_box(b"ftyp", 8);
        m.extend(0u32.to_be_bytes());
        m.extend(b"mdat");
        m.extend([1, 2, 3]);
        hostile.push(m);
        // 100,000 empty MP4 boxes: the walk's cap ends it.
        let mut m = Vec::new();
        for _ in 0..100_000 {
            m.extend(mp4_box(b"free", 0));
        }
        hostile.push(m);
        // A RIFF chunk of 4 GiB, an RF64 data chunk of 0xFFFFFFFF.
        let mut w = b"RIFF\xFF\xFF\xFF\xFFWAVEdata\xFF\xFF\xFF\x7F".to_vec();
        w.extend([0u8; 100]);
        hostile.push(w);
        let mut w = b"RF64\xFF\xFF\xFF\xFFWAVEdata\xFF\xFF\xFF\xFF".to_vec();
        w.extend([0u8; 100]);
        hostile.push(w);
        // Ogg pages of granule 0 forever (each the smallest), and a page cut short.
        let mut o = Vec::new();
        for i in 0..20_000 {
            o.extend(ogg_page(0, i, 0));
        }
        hostile.push(o);
        let mut o = ogg_page(0, 0, 30);
        o.extend(&ogg_page(960, 1, 4000)[..100]);
        hostile.push(o);
        // APEv2 footers that claim more than the file, or less than a footer.
        for size in [u32::MAX, 5, 0] {
            let mut a = vec![0u8; 50];
            a.extend(b"APETAGEX");
            a.extend(2000u32.to_le_bytes());
            a.extend(size.to_le_bytes());
            a.extend([0u8; 16]);
            hostile.push(a);
        }
        // An ASF header object larger than the file, and smaller than its own header.
        for size in [u64::MAX, 10] {
            let mut a = ASF_HEADER.to_vec();
            a.extend(size.to_le_bytes());
            a.extend([0u8; 100]);
            hostile.push(a);
        }
        // A DSF pointing past the end, and a DSDIFF chunk of 2^64-1 bytes.
        let mut d = golden_dsf();
        d[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
        hostile.push(d);
        let mut d = golden_dff();
        d[16 + 4..16 + 12].copy_from_slice(&u64::MAX.to_be_bytes());
        hostile.push(d);
        for data in &hostile {
            let started = Instant::now();
            let got = cuts(data);
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "took {:?}",
                started.elapsed()
            );
            assert!(got.len() <= MAX_BOUNDARIES);
            assert!(got.windows(2).all(|w| w[0] < w[1]));
            assert!(
                got.iter().all(|b| *b > 0 && *b < data.len() as u64),
                "{got:?}"
            );
        }
        // The lying ID3v2 and the 4 GiB RIFF chunk leave no region behind them.
        assert_eq!(cuts(&hostile[0]), Vec::<u64>::new());
        assert_eq!(cuts(&hostile[7]), vec![12]);
    }

    /// A 1 TiB file made of `prefix` and then `unit` repeated, that counts the
    /// bytes read: a structure that repeats forever must not be read forever.
    struct Endless {
        prefix: Vec<u8>,
        unit: Vec<u8>,
        pos: u64,
        read: u64,
    }

    const TIB: u64 = 1 << 40;

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut n = 0;
            while n < buf.len() && self.pos < TIB {
                let p = self.pos as usize;
                buf[n] = match self.prefix.get(p) {
                    Some(b) => *b,
                    None => self.unit[(p - self.prefix.len()) % self.unit.len()],
                };
                n += 1;
                self.pos += 1;
            }
            self.read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Endless {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            if let SeekFrom::Start(p) = to {
                self.pos = p;
            }
            Ok(self.pos)
        }
    }

    /// The size budget: whatever a file of a terabyte repeats (header pages,
    /// empty boxes, chunks or blocks), the walk reads a bounded amount and ends.
    #[test]
    fn a_terabyte_of_repeated_structure_is_read_only_a_little() {
        let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            ("ogg header pages", Vec::new(), ogg_page(0, 0, 0)),
            ("mp4 free boxes", mp4_box(b"ftyp", 8), mp4_box(b"free", 0)),
            (
                "riff chunks",
                b"RIFF\xFF\xFF\xFF\xFFWAVE".to_vec(),
                riff_chunk(b"JUNK", 0, false),
            ),
            ("flac blocks", b"fLaC".to_vec(), vec![0x01, 0, 0, 0]),
            (
                "dsdiff chunks",
                b"FRM8\x00\x00\x00\x00\x00\x00\x00\x00DSD ".to_vec(),
                b"COMT\x00\x00\x00\x00\x00\x00\x00\x00".to_vec(),
            ),
        ];
        for (name, prefix, unit) in cases {
            let mut file = Endless {
                prefix,
                unit,
                pos: 0,
                read: 0,
            };
            let started = Instant::now();
            let got = boundaries(&mut file, TIB);
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{name}: {:?}",
                started.elapsed()
            );
            assert!(file.read <= 2 << 20, "{name}: read {} bytes", file.read);
            assert!(got.iter().all(|b| *b > 0 && *b < TIB), "{name}: {got:?}");
        }
    }

    /// A reader that fails after a number of reads: the walk stops, it does not
    /// panic or spin.
    #[test]
    fn a_failing_reader_ends_the_walk() {
        struct Failing(Cursor<Vec<u8>>, usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                self.1 -= 1;
                self.0.read(buf)
            }
        }
        impl Seek for Failing {
            fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
                self.0.seek(to)
            }
        }
        for data in [
            golden_mp3(),
            golden_flac(),
            golden_m4a(),
            golden_wav(),
            golden_ogg(),
        ] {
            for reads in 0..6 {
                let size = data.len() as u64;
                let got = boundaries(&mut Failing(Cursor::new(data.clone()), reads), size);
                assert!(got.iter().all(|b| *b > 0 && *b < size));
            }
        }
    }
}
