//! Small, bounded parsers of the headers of formats neither symphonia nor lofty reads:
//! True Audio, OptimFROG, TAK, DSF, DSDIFF, AC-3 / E-AC-3 and ASF (Windows Media Audio).
//!
//! Each reads a few fixed-size structures at known offsets (a chunk or object walk has an
//! iteration cap), checks every length against the file before it trusts it, and never
//! allocates more than a capped tag block. What a parser cannot read it reports as an
//! error string: the probe turns it into "a damaged … file" (the magic number already
//! said what the file is). Tags kept inside the format (DSDIFF's `DIIN`, ASF's content
//! descriptions) come back as (key, value) text pairs with Vorbis-comment keys, so the
//! same mapping as every other format's reads them; ID3v2 blocks a format points to
//! (DSF's metadata pointer, DSDIFF's `ID3 ` chunk) come back as byte ranges.

use std::io;

use super::sniff::read_at;
use super::source::Source;
use crate::formats::HeaderType;

/// Chunks or objects walked at most in one file.
const MAX_CHUNKS: usize = 256;
/// Text kept from one field of a format's own tags.
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Fields kept from a format's own tags.
const MAX_FIELDS: usize = 256;
/// The largest header object (ASF) or property chunk (DSDIFF) read into memory.
const MAX_HEADER_BYTES: u64 = 4 * 1024 * 1024;

/// What a header says.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Parsed {
    /// ffprobe's codec name.
    pub codec: Option<&'static str>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub bit_depth: Option<u32>,
    pub duration_seconds: Option<f64>,
    pub bitrate: Option<u32>,
    /// Tags the format keeps itself, with Vorbis-comment keys.
    pub tags: Vec<(String, String)>,
    /// (offset, length) of ID3v2 tags the format carries inside (not at the start).
    pub id3v2: Vec<(u64, u64)>,
    /// Things that were wrong but did not stop the read.
    pub notes: Vec<String>,
}

/// Reads the header of a file of `kind` whose stream starts at `start` (after any
/// leading ID3v2 tags). `Err`: the header is missing, cut short or impossible.
pub(crate) fn read(
    kind: HeaderType,
    file: &mut dyn Source,
    start: u64,
    file_len: u64,
) -> io::Result<Result<Parsed, String>> {
    match kind {
        HeaderType::Tta => tta(file, start),
        HeaderType::OptimFrog => optimfrog(file, start),
        HeaderType::Tak => tak(file, start, file_len),
        HeaderType::Dsf => dsf(file, start, file_len),
        HeaderType::Dff => dff(file, start, file_len),
        HeaderType::Ac3 => ac3(file, start, file_len),
        HeaderType::Asf => asf(file, start, file_len),
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

/// Exactly `N` bytes at `offset`, or `None` when the file ends first.
fn fixed<const N: usize>(file: &mut dyn Source, offset: u64) -> io::Result<Option<[u8; N]>> {
    let mut buf = [0u8; N];
    Ok((read_at(file, offset, &mut buf)? == N).then_some(buf))
}

/// `len` bytes at `offset` when the file holds them all and `len <= max`.
fn block(
    file: &mut dyn Source,
    offset: u64,
    len: u64,
    file_len: u64,
    max: u64,
) -> io::Result<Option<Vec<u8>>> {
    if len > max || offset.checked_add(len).is_none_or(|end| end > file_len) {
        return Ok(None);
    }
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    let n = read_at(file, offset, &mut buf)?;
    Ok((n == buf.len()).then_some(buf))
}

fn seconds(frames: u64, rate: u32) -> Option<f64> {
    (rate > 0 && frames > 0).then(|| frames as f64 / f64::from(rate))
}

const CUT_SHORT: &str = "the header is cut short";

// ---------------------------------------------------------------------------------
// True Audio

/// `TTA1`, format (1 PCM, 2 encrypted, 3 float), channels, bits per sample, sample rate,
/// samples per channel, CRC32: 22 bytes, little-endian.
fn tta(file: &mut dyn Source, start: u64) -> io::Result<Result<Parsed, String>> {
    let Some(h) = fixed::<22>(file, start)? else {
        return Ok(Err(CUT_SHORT.into()));
    };
    if &h[..4] != b"TTA1" {
        return Ok(Err("no TTA1 header".into()));
    }
    let channels = u32::from(le16(&h, 6));
    let bits = u32::from(le16(&h, 8));
    let rate = le32(&h, 10);
    let samples = u64::from(le32(&h, 14));
    if channels == 0 || !(8..=32).contains(&bits) || rate == 0 {
        return Ok(Err(format!(
            "impossible stream: {channels} channels, {bits} bits, {rate} Hz"
        )));
    }
    Ok(Ok(Parsed {
        codec: Some("tta"),
        sample_rate: Some(rate),
        channels: Some(channels),
        bit_depth: Some(bits),
        duration_seconds: seconds(samples, rate),
        ..Parsed::default()
    }))
}

// ---------------------------------------------------------------------------------
// OptimFROG

/// `OFR `, header size (u32, at least 15), total samples of all channels (48 bits),
/// sample type, channel configuration, sample rate, encoder id, compression:
/// little-endian.
fn optimfrog(file: &mut dyn Source, start: u64) -> io::Result<Result<Parsed, String>> {
    let Some(h) = fixed::<23>(file, start)? else {
        return Ok(Err(CUT_SHORT.into()));
    };
    if &h[..4] != b"OFR " {
        return Ok(Err("no OFR header".into()));
    }
    if le32(&h, 4) < 15 {
        return Ok(Err(format!("a header of {} bytes", le32(&h, 4))));
    }
    let total = u64::from(le32(&h, 8)) | (u64::from(le16(&h, 12)) << 32);
    let sample_type = h[14];
    let channels = u32::from(h[15]) + 1;
    let rate = le32(&h, 16);
    // UINT8, SINT8, UINT16, SINT16, UINT24, SINT24, UINT32, SINT32; later types are float.
    let bits = match sample_type {
        0 | 1 => 8,
        2 | 3 => 16,
        4 | 5 => 24,
        6..=10 => 32,
        t => return Ok(Err(format!("unknown sample type {t}"))),
    };
    if rate == 0 {
        return Ok(Err("a sample rate of 0".into()));
    }
    Ok(Ok(Parsed {
        codec: Some("optimfrog"),
        sample_rate: Some(rate),
        channels: Some(channels),
        bit_depth: Some(bits),
        duration_seconds: seconds(total / u64::from(channels), rate),
        ..Parsed::default()
    }))
}

// ---------------------------------------------------------------------------------
// TAK

/// Bits read least significant first (TAK's bit order).
struct LsbBits<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl LsbBits<'_> {
    fn take(&mut self, n: usize) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..n {
            let byte = *self.bytes.get(self.pos / 8)?;
            let bit = (byte >> (self.pos % 8)) & 1;
            v |= u64::from(bit) << i;
            self.pos += 1;
        }
        Some(v)
    }
}

/// The STREAMINFO fields of a TAK stream, from its bits (least significant first):
/// codec (6), profile (4), frame size type (4), samples (35), data type (3), sample rate
/// less 6000 (18), bits per sample less 8 (5), channels less 1 (4).
pub(crate) fn tak_streaminfo(bytes: &[u8]) -> Option<(u64, u32, u32, u32)> {
    let mut bits = LsbBits { bytes, pos: 0 };
    let _codec = bits.take(6)?;
    let _profile = bits.take(4)?;
    let _frame_size = bits.take(4)?;
    let samples = bits.take(35)?;
    let _data_type = bits.take(3)?;
    let rate = u32::try_from(bits.take(18)?).ok()? + 6000;
    let bps = u32::try_from(bits.take(5)?).ok()? + 8;
    let channels = u32::try_from(bits.take(4)?).ok()? + 1;
    Some((samples, rate, bps, channels))
}

/// `tBaK`, then metadata blocks: a type byte (low 7 bits; 0 ends the list), a 24-bit
/// size, the payload (whose last 3 bytes are a CRC). Block 1 is STREAMINFO.
fn tak(file: &mut dyn Source, start: u64, file_len: u64) -> io::Result<Result<Parsed, String>> {
    if fixed::<4>(file, start)?.as_ref() != Some(b"tBaK") {
        return Ok(Err("no tBaK header".into()));
    }
    let mut offset = start + 4;
    for _ in 0..MAX_CHUNKS {
        let Some(h) = fixed::<4>(file, offset)? else {
            break;
        };
        let kind = h[0] & 0x7f;
        let size = u64::from(u32::from_le_bytes([h[1], h[2], h[3], 0]));
        if kind == 0 {
            break;
        }
        if kind == 1 {
            let Some(payload) = block(file, offset + 4, size.min(64), file_len, 64)? else {
                return Ok(Err("the STREAMINFO block is cut short".into()));
            };
            let Some((samples, rate, bps, channels)) = tak_streaminfo(&payload) else {
                return Ok(Err("the STREAMINFO block is cut short".into()));
            };
            return Ok(Ok(Parsed {
                codec: Some("tak"),
                sample_rate: Some(rate),
                channels: Some(channels),
                bit_depth: Some(bps),
                duration_seconds: seconds(samples, rate),
                ..Parsed::default()
            }));
        }
        offset = offset.saturating_add(4 + size);
    }
    Ok(Err("no STREAMINFO block".into()))
}

// ---------------------------------------------------------------------------------
// DSF

/// `DSD ` chunk (28 bytes: size, file size, metadata pointer), then `fmt ` (52 bytes:
/// version, format id, channel type, channels, sampling frequency, bits per sample,
/// samples per channel, block size), then `data`: little-endian. The metadata pointer
/// is the offset of an ID3v2 tag (0: none).
fn dsf(file: &mut dyn Source, start: u64, file_len: u64) -> io::Result<Result<Parsed, String>> {
    let Some(h) = fixed::<80>(file, start)? else {
        return Ok(Err(CUT_SHORT.into()));
    };
    if &h[..4] != b"DSD " || &h[28..32] != b"fmt " {
        return Ok(Err("no DSD and fmt chunks".into()));
    }
    let metadata = le64(&h, 20);
    let format_id = le32(&h, 44);
    let channels = le32(&h, 52);
    let rate = le32(&h, 56);
    let bits = le32(&h, 60);
    let samples = le64(&h, 64);
    if format_id != 0 {
        return Ok(Err(format!("DSD format {format_id} (only raw DSD exists)")));
    }
    if !(1..=6).contains(&channels) || rate == 0 || !(bits == 1 || bits == 8) {
        return Ok(Err(format!(
            "impossible stream: {channels} channels, {rate} Hz, {bits} bits"
        )));
    }
    let mut parsed = Parsed {
        codec: Some(if bits == 1 {
            "dsd_lsbf_planar"
        } else {
            "dsd_msbf_planar"
        }),
        sample_rate: Some(rate),
        channels: Some(channels),
        bit_depth: Some(1),
        duration_seconds: seconds(samples, rate),
        ..Parsed::default()
    };
    if metadata != 0 {
        if metadata >= file_len {
            parsed.notes.push(format!(
                "the metadata pointer ({metadata}) points past the end of the file"
            ));
        } else {
            parsed.id3v2.push((metadata, file_len - metadata));
        }
    }
    Ok(Ok(parsed))
}

// ---------------------------------------------------------------------------------
// DSDIFF

/// `FRM8` (64-bit size), form type `DSD `, then chunks of a 4-byte id, a 64-bit size and
/// the payload, padded to an even length: big-endian. `PROP`/`SND ` holds `FS  ` (rate),
/// `CHNL` (channels) and `CMPR` (`DSD ` or `DST `); `DSD ` the samples; `DST ` a `FRTE`
/// (frame count, frame rate) before its frames; `DIIN` the artist (`DIAR`) and title
/// (`DITI`); `ID3 ` an ID3v2 tag (not in the spec, written by most taggers).
fn dff(file: &mut dyn Source, start: u64, file_len: u64) -> io::Result<Result<Parsed, String>> {
    let Some(h) = fixed::<16>(file, start)? else {
        return Ok(Err(CUT_SHORT.into()));
    };
    if &h[..4] != b"FRM8" || &h[12..16] != b"DSD " {
        return Ok(Err("no FRM8 DSD form".into()));
    }
    let mut parsed = Parsed::default();
    let mut rate = None;
    let mut channels = None;
    let mut compression = *b"DSD ";
    let mut sound_bytes = None;
    let mut dst_frames = None;
    for (id, offset, size) in chunks_be64(file, start + 16, file_len)? {
        match &id {
            b"PROP" => {
                let Some(prop) = block(file, offset, size, file_len, MAX_HEADER_BYTES)? else {
                    parsed
                        .notes
                        .push("the PROP chunk runs past the end of the file".into());
                    continue;
                };
                if prop.get(..4) != Some(b"SND ") {
                    continue;
                }
                for (id, body) in sub_chunks_be64(&prop[4..]) {
                    match &id {
                        b"FS  " if body.len() >= 4 => rate = Some(be32(body, 0)),
                        b"CHNL" if body.len() >= 2 => channels = Some(u32::from(be16(body, 0))),
                        b"CMPR" if body.len() >= 4 => compression.copy_from_slice(&body[..4]),
                        _ => {}
                    }
                }
            }
            b"DSD " => sound_bytes = Some(size.min(file_len.saturating_sub(offset))),
            b"DST " => {
                // FRTE comes first: frame count (u32), frame rate (u16).
                if let Some(frte) = fixed::<18>(file, offset)?
                    && &frte[..4] == b"FRTE"
                {
                    dst_frames = Some((be32(&frte, 12), be16(&frte, 16)));
                }
            }
            b"DIIN" => {
                if let Some(diin) = block(file, offset, size, file_len, MAX_HEADER_BYTES)? {
                    for (id, body) in sub_chunks_be64(&diin) {
                        let key = match &id {
                            b"DIAR" => "ARTIST",
                            b"DITI" => "TITLE",
                            _ => continue,
                        };
                        // u32 length, then the text.
                        if body.len() >= 4 {
                            let len = (be32(body, 0) as usize).min(body.len() - 4);
                            push_tag(&mut parsed.tags, key, &latin1_or_utf8(&body[4..4 + len]));
                        }
                    }
                }
            }
            b"ID3 " => parsed.id3v2.push((offset, size.min(file_len - offset))),
            _ => {}
        }
    }
    let (Some(rate), Some(channels)) = (rate, channels) else {
        return Ok(Err(
            "no sample rate or channel count in the PROP chunk".into()
        ));
    };
    if rate == 0 || channels == 0 {
        return Ok(Err(format!(
            "impossible stream: {channels} channels, {rate} Hz"
        )));
    }
    parsed.sample_rate = Some(rate);
    parsed.channels = Some(channels);
    parsed.bit_depth = Some(1);
    match &compression {
        b"DSD " => {
            parsed.codec = Some("dsd_msbf");
            parsed.duration_seconds =
                sound_bytes.and_then(|b| seconds(b * 8 / u64::from(channels), rate));
        }
        b"DST " => {
            parsed.codec = Some("dst");
            parsed.duration_seconds =
                dst_frames.and_then(|(frames, fps)| seconds(u64::from(frames), u32::from(fps)));
        }
        other => {
            parsed.notes.push(format!(
                "unknown compression {:?}",
                String::from_utf8_lossy(other)
            ));
        }
    }
    Ok(Ok(parsed))
}

/// Chunks with 64-bit big-endian sizes from `offset` on: (id, payload offset, size as
/// claimed). Stops at the first chunk header the file cannot hold, or after
/// [`MAX_CHUNKS`].
fn chunks_be64(
    file: &mut dyn Source,
    mut offset: u64,
    file_len: u64,
) -> io::Result<Vec<([u8; 4], u64, u64)>> {
    let mut found = Vec::new();
    while found.len() < MAX_CHUNKS && offset.saturating_add(12) <= file_len {
        let Some(h) = fixed::<12>(file, offset)? else {
            break;
        };
        let size = be64(&h, 4);
        found.push(([h[0], h[1], h[2], h[3]], offset + 12, size));
        offset = offset
            .saturating_add(12)
            .saturating_add(size)
            .saturating_add(size & 1);
    }
    Ok(found)
}

/// The sub-chunks of a chunk held in memory (64-bit big-endian sizes).
fn sub_chunks_be64(mut bytes: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut found = Vec::new();
    while found.len() < MAX_CHUNKS && bytes.len() >= 12 {
        let id = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let size = be64(bytes, 4);
        let body_len = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(bytes.len() - 12);
        found.push((id, &bytes[12..12 + body_len]));
        let next = 12usize
            .saturating_add(body_len)
            .saturating_add(body_len & 1);
        bytes = bytes.get(next..).unwrap_or(&[]);
    }
    found
}

fn latin1_or_utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

fn push_tag(tags: &mut Vec<(String, String)>, key: &str, value: &str) {
    let value = value.trim_end_matches(['\0', ' ']);
    if value.is_empty() || tags.len() >= MAX_FIELDS {
        return;
    }
    let mut end = value.len().min(MAX_TEXT_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    tags.push((key.replace('=', "_"), value[..end].to_owned()));
}

// ---------------------------------------------------------------------------------
// AC-3 and E-AC-3

/// One AC-3 or E-AC-3 frame header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ac3Frame {
    pub enhanced: bool,
    pub sample_rate: u32,
    pub channels: u32,
    /// Bytes in the frame.
    pub size: u64,
    /// Bits per second.
    pub bitrate: u32,
}

/// AC-3's bitrates (kbit/s) by `frmsizecod / 2`.
const AC3_BITRATES: [u32; 19] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640,
];
/// Full-bandwidth channels by `acmod`.
const AC3_CHANNELS: [u32; 8] = [2, 1, 2, 3, 3, 4, 4, 5];

/// Reads bits most significant first.
struct MsbBits<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl MsbBits<'_> {
    fn take(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.bytes.get(self.pos / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }
}

/// The frame header at the start of `h` (at least 8 bytes), if it is one.
pub(crate) fn ac3_frame(h: &[u8]) -> Option<Ac3Frame> {
    if h.len() < 8 || h[0] != 0x0b || h[1] != 0x77 {
        return None;
    }
    let bsid = h[5] >> 3;
    let mut bits = MsbBits { bytes: h, pos: 16 };
    if bsid <= 10 {
        // crc1 (16), fscod (2), frmsizecod (6), bsid (5), bsmod (3), acmod (3), then the
        // mix levels acmod calls for, then lfeon.
        bits.take(16)?;
        let fscod = bits.take(2)?;
        let frmsizecod = bits.take(6)?;
        bits.take(8)?;
        let acmod = bits.take(3)?;
        if acmod & 1 != 0 && acmod != 1 {
            bits.take(2)?;
        }
        if acmod & 4 != 0 {
            bits.take(2)?;
        }
        if acmod == 2 {
            bits.take(2)?;
        }
        let lfe = bits.take(1)?;
        let rate = *[48_000u32, 44_100, 32_000].get(fscod as usize)?;
        let kbps = *AC3_BITRATES.get((frmsizecod / 2) as usize)?;
        // 16-bit words per frame: 1536 samples at the bitrate (44.1 kHz alternates
        // between two sizes, the odd code being the longer).
        let words = match fscod {
            0 => kbps * 2,
            1 => kbps * 1000 * 1536 / (44_100 * 16) + (frmsizecod & 1),
            _ => kbps * 3,
        };
        let channels = AC3_CHANNELS[acmod as usize] + lfe;
        Some(Ac3Frame {
            enhanced: false,
            sample_rate: rate,
            channels,
            size: u64::from(words) * 2,
            bitrate: kbps * 1000,
        })
    } else if bsid <= 16 {
        // strmtyp (2), substreamid (3), frmsiz (11), fscod (2), fscod2 or numblkscod (2),
        // acmod (3), lfeon (1).
        bits.take(2)?;
        bits.take(3)?;
        let words = bits.take(11)? + 1;
        let fscod = bits.take(2)?;
        let second = bits.take(2)?;
        let acmod = bits.take(3)?;
        let lfe = bits.take(1)?;
        let (rate, blocks) = if fscod == 3 {
            (*[24_000u32, 22_050, 16_000].get(second as usize)?, 6)
        } else {
            (
                [48_000u32, 44_100, 32_000][fscod as usize],
                [1u32, 2, 3, 6][second as usize],
            )
        };
        let size = u64::from(words) * 2;
        let bitrate = u32::try_from(size * 8 * u64::from(rate) / (u64::from(blocks) * 256)).ok()?;
        Some(Ac3Frame {
            enhanced: true,
            sample_rate: rate,
            channels: AC3_CHANNELS[acmod as usize] + lfe,
            size,
            bitrate,
        })
    } else {
        None
    }
}

/// Whether the stream at `start` holds two AC-3 or E-AC-3 frames in a row: `Some(true)`
/// for E-AC-3. One sync word is no proof (random bytes hold one every 64 KiB); a frame
/// whose header gives the place of the next sync word, and that sync word, are.
pub(crate) fn ac3_sync(file: &mut dyn Source, start: u64) -> io::Result<Option<bool>> {
    let Some(h) = fixed::<8>(file, start)? else {
        return Ok(None);
    };
    let Some(first) = ac3_frame(&h) else {
        return Ok(None);
    };
    let Some(next) = fixed::<8>(file, start + first.size)? else {
        return Ok(None);
    };
    Ok(ac3_frame(&next)
        .filter(|f| f.enhanced == first.enhanced)
        .map(|_| first.enhanced))
}

/// The first frame's header; the duration from the stream's size at its bitrate (AC-3
/// is constant-bitrate; it is also how ffprobe measures a bare stream).
fn ac3(file: &mut dyn Source, start: u64, file_len: u64) -> io::Result<Result<Parsed, String>> {
    let Some(h) = fixed::<8>(file, start)? else {
        return Ok(Err(CUT_SHORT.into()));
    };
    let Some(frame) = ac3_frame(&h) else {
        return Ok(Err("no AC-3 frame at the start".into()));
    };
    let stream_bytes = file_len.saturating_sub(start);
    let duration = (frame.bitrate > 0)
        .then(|| stream_bytes as f64 * 8.0 / f64::from(frame.bitrate))
        .filter(|d| *d > 0.0);
    Ok(Ok(Parsed {
        codec: Some(if frame.enhanced { "eac3" } else { "ac3" }),
        sample_rate: Some(frame.sample_rate),
        channels: Some(frame.channels),
        duration_seconds: duration,
        bitrate: Some(frame.bitrate),
        ..Parsed::default()
    }))
}

// ---------------------------------------------------------------------------------
// ASF

const ASF_HEADER: [u8; 16] = [
    0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c,
];
const ASF_FILE_PROPERTIES: [u8; 16] = [
    0xa1, 0xdc, 0xab, 0x8c, 0x47, 0xa9, 0xcf, 0x11, 0x8e, 0xe4, 0x00, 0xc0, 0x0c, 0x20, 0x53, 0x65,
];
const ASF_STREAM_PROPERTIES: [u8; 16] = [
    0x91, 0x07, 0xdc, 0xb7, 0xb7, 0xa9, 0xcf, 0x11, 0x8e, 0xe6, 0x00, 0xc0, 0x0c, 0x20, 0x53, 0x65,
];
const ASF_AUDIO_MEDIA: [u8; 16] = [
    0x40, 0x9e, 0x69, 0xf8, 0x4d, 0x5b, 0xcf, 0x11, 0xa8, 0xfd, 0x00, 0x80, 0x5f, 0x5c, 0x44, 0x2b,
];
const ASF_CONTENT_DESCRIPTION: [u8; 16] = [
    0x33, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c,
];
const ASF_EXTENDED_CONTENT_DESCRIPTION: [u8; 16] = [
    0x40, 0xa4, 0xd0, 0xd2, 0x07, 0xe3, 0xd2, 0x11, 0x97, 0xf0, 0x00, 0xa0, 0xc9, 0x5e, 0xa8, 0x50,
];

/// ffprobe's name of a WAVEFORMATEX format tag.
fn wave_codec(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0160 => "wmav1",
        0x0161 => "wmav2",
        0x0162 => "wmapro",
        0x0163 => "wmalossless",
        0x000a => "wmavoice",
        0x0001 => "pcm_s16le",
        0x0055 => "mp3",
        _ => return None,
    })
}

/// The Header Object: a GUID, a 64-bit size, an object count, two reserved bytes, then
/// objects (GUID, 64-bit size, payload): File Properties (play duration in 100 ns,
/// preroll in ms), Stream Properties (an audio stream's WAVEFORMATEX), Content
/// Description (title, author, copyright, description, rating) and Extended Content
/// Description (`WM/AlbumTitle`, `WM/TrackNumber`, ...): little-endian, text UTF-16.
fn asf(file: &mut dyn Source, start: u64, file_len: u64) -> io::Result<Result<Parsed, String>> {
    let Some(h) = fixed::<30>(file, start)? else {
        return Ok(Err(CUT_SHORT.into()));
    };
    if h[..16] != ASF_HEADER {
        return Ok(Err("no ASF header object".into()));
    }
    let size = le64(&h, 16);
    if size < 30 {
        return Ok(Err(format!("a header object of {size} bytes")));
    }
    let Some(header) = block(file, start + 30, size - 30, file_len, MAX_HEADER_BYTES)? else {
        return Ok(Err(format!(
            "the header object ({size} bytes) runs past the end of the file or is too large"
        )));
    };
    let mut parsed = Parsed::default();
    let mut audio = false;
    let mut rest: &[u8] = &header;
    for _ in 0..MAX_CHUNKS {
        if rest.len() < 24 {
            break;
        }
        let object_size = le64(rest, 16);
        let Some(len) = usize::try_from(object_size)
            .ok()
            .filter(|l| *l >= 24 && *l <= rest.len())
        else {
            parsed.notes.push("an object runs past the header".into());
            break;
        };
        let (guid, body) = (&rest[..16], &rest[24..len]);
        if guid == ASF_FILE_PROPERTIES && body.len() >= 80 {
            // file id 16, file size 8, created 8, packets 8, play 8, send 8, preroll 8.
            let play = le64(body, 40);
            let preroll_ms = le64(body, 56);
            let secs = play as f64 / 1e7 - preroll_ms as f64 / 1e3;
            parsed.duration_seconds = Some(secs).filter(|s| *s > 0.0 && s.is_finite());
        } else if guid == ASF_STREAM_PROPERTIES && body.len() >= 54 && !audio {
            // stream type 16, error correction type 16, time offset 8, type-specific
            // length 4, error correction length 4, flags 2, reserved 4.
            if body[..16] == ASF_AUDIO_MEDIA {
                let specific = le32(body, 40) as usize;
                if let Some(wf) = body.get(54..54 + specific).filter(|w| w.len() >= 16) {
                    audio = true;
                    let tag = le16(wf, 0);
                    parsed.codec = wave_codec(tag);
                    if parsed.codec.is_none() {
                        parsed.notes.push(format!("codec tag {tag:#06x}"));
                    }
                    parsed.channels = Some(u32::from(le16(wf, 2))).filter(|c| *c > 0);
                    parsed.sample_rate = Some(le32(wf, 4)).filter(|r| *r > 0);
                    let bits = u32::from(le16(wf, 14));
                    if matches!(tag, 0x0163 | 0x0001) && bits > 0 {
                        parsed.bit_depth = Some(bits);
                    }
                }
            }
        } else if guid == ASF_CONTENT_DESCRIPTION && body.len() >= 10 {
            let mut at = 10usize;
            for (i, key) in ["TITLE", "ARTIST", "COPYRIGHT", "COMMENT", "RATING"]
                .into_iter()
                .enumerate()
            {
                let len = usize::from(le16(body, i * 2));
                let Some(text) = body.get(at..at + len) else {
                    break;
                };
                push_tag(&mut parsed.tags, key, &utf16(text));
                at += len;
            }
        } else if guid == ASF_EXTENDED_CONTENT_DESCRIPTION && body.len() >= 2 {
            extended_content(body, &mut parsed.tags);
        }
        rest = &rest[len..];
    }
    if !audio {
        return Ok(Err("no audio stream".into()));
    }
    Ok(Ok(parsed))
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_owned()
}

/// The Vorbis-comment key of an ASF attribute (what the tag mapping knows), else the
/// attribute's own name.
fn asf_key(name: &str) -> String {
    match name {
        "WM/AlbumTitle" => "ALBUM",
        "WM/AlbumArtist" => "ALBUMARTIST",
        "WM/TrackNumber" => "TRACKNUMBER",
        "WM/PartOfSet" => "DISCNUMBER",
        "WM/Year" => "DATE",
        "WM/Genre" => "GENRE",
        "WM/Composer" => "COMPOSER",
        "WM/Text" => "COMMENT",
        _ if name.eq_ignore_ascii_case("title") => "TITLE",
        _ if name.eq_ignore_ascii_case("author") => "ARTIST",
        _ if name.eq_ignore_ascii_case("description") => "COMMENT",
        _ if name.eq_ignore_ascii_case("copyright") => "COPYRIGHT",
        other => other,
    }
    .to_owned()
}

fn extended_content(body: &[u8], tags: &mut Vec<(String, String)>) {
    let has = |tags: &Vec<(String, String)>, key: &str, text: &str| {
        tags.iter().any(|(k, v)| k == key && v == text)
    };
    let count = usize::from(le16(body, 0));
    let mut at = 2usize;
    for _ in 0..count.min(MAX_FIELDS) {
        let Some(name_len) = body.get(at..at + 2).map(|b| usize::from(le16(b, 0))) else {
            return;
        };
        let Some(name) = body.get(at + 2..at + 2 + name_len) else {
            return;
        };
        at += 2 + name_len;
        let Some(h) = body.get(at..at + 4) else {
            return;
        };
        let (kind, len) = (le16(h, 0), usize::from(le16(h, 2)));
        let Some(value) = body.get(at + 4..at + 4 + len) else {
            return;
        };
        at += 4 + len;
        let text = match kind {
            0 => utf16(value),
            2 | 3 if value.len() >= 4 => le32(value, 0).to_string(),
            4 if value.len() >= 8 => le64(value, 0).to_string(),
            5 if value.len() >= 2 => le16(value, 0).to_string(),
            // Byte arrays (pictures, binary ids) are not text.
            _ => continue,
        };
        let key = asf_key(&utf16(name));
        // The content description's fields again, as ffmpeg also writes them here.
        if has(tags, &key, text.trim_end_matches(['\0', ' '])) {
            continue;
        }
        push_tag(tags, &key, &text);
    }
}

// ---------------------------------------------------------------------------------
// 3GPP asset boxes (3GP files' tags, which symphonia's MP4 reader does not map)

/// The 3GPP asset boxes in `moov/udta` (3GPP TS 26.244: `titl`, `perf`, `auth`,
/// `albm`, `gnre`, `dscp`, `cprt`, `yrrc`) as Vorbis-comment pairs. Box headers are
/// walked (at most [`MAX_CHUNKS`] per level); only `udta` is read into memory, capped.
pub(crate) fn mp4_3gpp_assets(
    file: &mut dyn Source,
    file_len: u64,
) -> io::Result<Vec<(String, String)>> {
    let mut tags = Vec::new();
    let Some((moov, moov_len)) = find_box(file, 0, file_len, b"moov")? else {
        return Ok(tags);
    };
    let Some((udta, udta_len)) = find_box(file, moov, moov + moov_len, b"udta")? else {
        return Ok(tags);
    };
    let Some(bytes) = block(file, udta, udta_len, file_len, MAX_HEADER_BYTES)? else {
        return Ok(tags);
    };
    let mut rest: &[u8] = &bytes;
    for _ in 0..MAX_CHUNKS {
        if rest.len() < 8 {
            break;
        }
        let size = be32(rest, 0) as usize;
        let Some(body) = rest.get(8..size).filter(|_| size >= 8) else {
            break;
        };
        let kind: [u8; 4] = [rest[4], rest[5], rest[6], rest[7]];
        let key = match &kind {
            b"titl" => "TITLE",
            b"perf" => "ARTIST",
            b"auth" => "AUTHOR",
            b"albm" => "ALBUM",
            b"gnre" => "GENRE",
            b"dscp" => "COMMENT",
            b"cprt" => "COPYRIGHT",
            b"yrrc" => "DATE",
            _ => "",
        };
        if key == "DATE" && body.len() >= 6 {
            push_tag(&mut tags, key, &be16(body, 4).to_string());
        } else if !key.is_empty() && body.len() > 6 {
            // Full box header (4), language (2), then a NUL-terminated string: UTF-8, or
            // UTF-16 behind its byte-order mark.
            let text = &body[6..];
            let (value, after) = if text.starts_with(&[0xfe, 0xff]) {
                let units: Vec<u16> = text[2..]
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .take_while(|u| *u != 0)
                    .collect();
                let end = 2 + units.len() * 2 + 2;
                (String::from_utf16_lossy(&units), end)
            } else {
                let end = text.iter().position(|b| *b == 0).unwrap_or(text.len());
                (String::from_utf8_lossy(&text[..end]).into_owned(), end + 1)
            };
            push_tag(&mut tags, key, &value);
            // An album box may end with the track's number.
            if key == "ALBUM"
                && let Some(n) = text.get(after).filter(|n| **n > 0)
            {
                push_tag(&mut tags, "TRACKNUMBER", &n.to_string());
            }
        }
        rest = &rest[size..];
    }
    Ok(tags)
}

/// The payload (offset, length) of the first box of `kind` in `[from, to)`.
fn find_box(
    file: &mut dyn Source,
    from: u64,
    to: u64,
    kind: &[u8; 4],
) -> io::Result<Option<(u64, u64)>> {
    let mut at = from;
    for _ in 0..MAX_CHUNKS {
        let Some(h) = fixed::<16>(file, at)?.or(fixed::<8>(file, at)?.map(|h8| {
            let mut h = [0u8; 16];
            h[..8].copy_from_slice(&h8);
            h
        })) else {
            return Ok(None);
        };
        let (header, size) = match be32(&h, 0) {
            0 => (8, to.saturating_sub(at)),
            1 => (16, be64(&h, 8)),
            n => (8, u64::from(n)),
        };
        if size < header || at.saturating_add(size) > to {
            return Ok(None);
        }
        if &h[4..8] == kind {
            return Ok(Some((at + header, size - header)));
        }
        at += size;
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
