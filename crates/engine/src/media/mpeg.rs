//! MPEG audio (MP1/MP2/MP3) frame headers: the duration of files without a VBR header.
//!
//! Why: an MP3 without a Xing/Info or VBRI header does not say how many frames it has.
//! Symphonia then estimates the duration from the size of the first few frames, which
//! is wrong for VBR files (and counts trailing tags as audio). Walking the frame
//! headers gives the exact count: each header holds its frame's length, so the walk
//! reads 4 bytes per frame and skips the rest, milliseconds for a typical file. The
//! walk is bounded in frames and in time, and extrapolates past the bound.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::time::Instant;

use super::sniff::read_at;
use super::source::Source;

/// Frames walked before extrapolating: about 14 hours of 44.1 kHz MP3.
const MAX_WALK_FRAMES: u64 = 2_000_000;
/// Bytes searched for the next frame after junk before giving up on the stream.
const MAX_RESYNC_BYTES: u64 = 64 * 1024;
/// Junk regions skipped before the walk stops.
const MAX_RESYNCS: u32 = 1_000;
/// Bytes searched for the first frame of a stream.
const MAX_FIRST_FRAME_SEARCH: u64 = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Mpeg1,
    Mpeg2,
    Mpeg25,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub version: Version,
    /// 1, 2 or 3.
    pub layer: u8,
    pub has_crc: bool,
    pub bitrate_kbps: u32,
    pub sample_rate: u32,
    pub padding: bool,
    pub mono: bool,
}

impl FrameHeader {
    /// Parses a 4-byte header; `None` for anything invalid, reserved or free-format.
    pub(crate) fn parse(b: [u8; 4]) -> Option<Self> {
        if b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
            return None;
        }
        let version = match (b[1] >> 3) & 0b11 {
            0b00 => Version::Mpeg25,
            0b10 => Version::Mpeg2,
            0b11 => Version::Mpeg1,
            _ => return None,
        };
        let layer = match (b[1] >> 1) & 0b11 {
            0b01 => 3,
            0b10 => 2,
            0b11 => 1,
            _ => return None,
        };
        let has_crc = b[1] & 1 == 0;
        let bitrate_index = usize::from(b[2] >> 4);
        let rate_index = usize::from((b[2] >> 2) & 0b11);
        // Index 0 is free format (length not derivable from the header), 15 is invalid.
        if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 || b[3] & 0b11 == 0b10 {
            return None;
        }
        const V1: [[u32; 14]; 3] = [
            [
                32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
            ],
            [
                32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
            ],
            [
                32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
            ],
        ];
        const V2_L1: [u32; 14] = [
            32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ];
        const V2_L23: [u32; 14] = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
        let bitrate_kbps = match (version, layer) {
            (Version::Mpeg1, l) => V1[usize::from(l - 1)][bitrate_index - 1],
            (_, 1) => V2_L1[bitrate_index - 1],
            _ => V2_L23[bitrate_index - 1],
        };
        let sample_rate = match version {
            Version::Mpeg1 => [44_100, 48_000, 32_000][rate_index],
            Version::Mpeg2 => [22_050, 24_000, 16_000][rate_index],
            Version::Mpeg25 => [11_025, 12_000, 8_000][rate_index],
        };
        Some(Self {
            version,
            layer,
            has_crc,
            bitrate_kbps,
            sample_rate,
            padding: (b[2] >> 1) & 1 == 1,
            mono: b[3] >> 6 == 0b11,
        })
    }

    pub(crate) fn samples_per_frame(&self) -> u32 {
        match (self.layer, self.version) {
            (1, _) => 384,
            (3, Version::Mpeg2 | Version::Mpeg25) => 576,
            _ => 1152,
        }
    }

    /// The whole frame's length in bytes, header included.
    pub(crate) fn frame_len(&self) -> u32 {
        let bitrate = self.bitrate_kbps * 1000;
        if self.layer == 1 {
            (12 * bitrate / self.sample_rate + u32::from(self.padding)) * 4
        } else {
            self.samples_per_frame() / 8 * bitrate / self.sample_rate + u32::from(self.padding)
        }
    }

    /// Fields that stay the same for every frame of one stream: a candidate header
    /// that differs is a false sync inside frame data.
    fn same_stream(&self, other: &Self) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
    }

    /// Offset of a Xing/Info tag inside the first frame (after the side information).
    fn xing_offset(&self) -> usize {
        let side_info = match (self.version, self.mono) {
            (Version::Mpeg1, false) => 32,
            (Version::Mpeg1, true) => 17,
            (_, false) => 17,
            (_, true) => 9,
        };
        4 + side_info
    }
}

/// What the first frame of the stream says about the whole stream.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VbrHeader {
    /// Frames in the stream according to a Xing/Info or VBRI header.
    pub frames: Option<u64>,
    /// Bytes in the stream according to the header.
    pub bytes: Option<u64>,
}

/// The first frame of an MPEG audio stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FirstFrame {
    pub offset: u64,
    pub header: FrameHeader,
    pub vbr: Option<VbrHeader>,
}

/// Finds the first frame at or after `start`: a valid header followed by another valid
/// header of the same stream (or the end of the file), so a stray 0xFFE inside a tag
/// is not taken for audio.
pub(crate) fn find_first_frame(
    file: &mut dyn Source,
    start: u64,
    file_len: u64,
) -> io::Result<Option<FirstFrame>> {
    let window = MAX_FIRST_FRAME_SEARCH.min(file_len.saturating_sub(start));
    let mut buf = vec![0u8; usize::try_from(window).unwrap_or(0)];
    let n = read_at(file, start, &mut buf)?;
    buf.truncate(n);
    let mut i = 0usize;
    while i + 4 <= buf.len() {
        if let Some(header) = FrameHeader::parse([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]) {
            let len = header.frame_len() as usize;
            let next = i + len;
            let next_ok = if next + 4 <= buf.len() {
                FrameHeader::parse([buf[next], buf[next + 1], buf[next + 2], buf[next + 3]])
                    .is_some_and(|h| h.same_stream(&header))
            } else {
                // The window ends here: accept when the file ends here too.
                start + next as u64 >= file_len
            };
            if next_ok && len >= 4 {
                let frame = &buf[i..(i + len).min(buf.len())];
                return Ok(Some(FirstFrame {
                    offset: start + i as u64,
                    header,
                    vbr: read_vbr_header(frame, &header),
                }));
            }
        }
        i += 1;
    }
    Ok(None)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// A Xing/Info or VBRI header in the first frame.
fn read_vbr_header(frame: &[u8], header: &FrameHeader) -> Option<VbrHeader> {
    // Encoders place the Xing tag after the side information; some count the CRC.
    let base = header.xing_offset();
    for at in [base, base + 2] {
        let Some(id) = frame.get(at..at + 4) else {
            continue;
        };
        if id == b"Xing" || id == b"Info" {
            let flags = be_u32(frame, at + 4)?;
            let mut field = at + 8;
            let mut vbr = VbrHeader::default();
            if flags & 1 != 0 {
                vbr.frames = be_u32(frame, field).map(u64::from);
                field += 4;
            }
            if flags & 2 != 0 {
                vbr.bytes = be_u32(frame, field).map(u64::from);
            }
            return Some(vbr);
        }
    }
    // VBRI (Fraunhofer) sits 32 bytes after the header.
    if frame.get(36..40) == Some(b"VBRI") {
        return Some(VbrHeader {
            bytes: be_u32(frame, 36 + 10).map(u64::from),
            frames: be_u32(frame, 36 + 14).map(u64::from),
        });
    }
    None
}

/// The result of walking the frames of a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Walk {
    /// Frames counted (or extrapolated, see `extrapolated`).
    pub frames: u64,
    /// Decoded samples per channel those frames hold.
    pub samples: u64,
    /// Bytes of audio frames.
    pub audio_bytes: u64,
    /// The last frame is cut off by the end of the file.
    pub truncated: bool,
    /// The walk stopped at its frame or time limit and estimated the rest.
    pub extrapolated: bool,
}

/// Counts the frames from `first` to the end of the stream (a tag, junk that does not
/// resynchronize, or the end of the file).
pub(crate) fn walk_frames(
    file: &mut dyn Source,
    first: &FirstFrame,
    file_len: u64,
    deadline: Instant,
) -> io::Result<Walk> {
    file.seek(SeekFrom::Start(first.offset))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut pos = first.offset;
    let spf = u64::from(first.header.samples_per_frame());
    let mut walk = Walk {
        frames: 0,
        samples: 0,
        audio_bytes: 0,
        truncated: false,
        extrapolated: false,
    };
    // A Xing/Info frame holds no audio.
    if first.vbr.is_some() {
        let len = u64::from(first.header.frame_len());
        reader.seek_relative(len as i64)?;
        pos += len;
    }
    let mut header_bytes = [0u8; 4];
    let mut resyncs = 0u32;
    loop {
        if pos + 4 > file_len {
            break;
        }
        reader.read_exact(&mut header_bytes)?;
        let header = FrameHeader::parse(header_bytes).filter(|h| h.same_stream(&first.header));
        let Some(header) = header else {
            // Trailing tags end the stream; anything else is junk to skip over.
            if header_bytes.starts_with(b"TAG")
                || header_bytes == *b"APET"
                || header_bytes.starts_with(b"ID3")
                || header_bytes == *b"LYRI"
            {
                break;
            }
            // Junk between frames: bounded in count and time, since random bytes can
            // hold a false sync every few kilobytes.
            resyncs += 1;
            if resyncs > MAX_RESYNCS || Instant::now() > deadline {
                break;
            }
            match resync(&mut reader, pos + 1, file_len, &first.header)? {
                Some(next) => {
                    pos = next;
                    continue;
                }
                None => break,
            }
        };
        let len = u64::from(header.frame_len());
        if pos + len > file_len {
            walk.truncated = true;
            break;
        }
        walk.frames += 1;
        walk.samples += spf;
        walk.audio_bytes += len;
        pos += len;
        reader.seek_relative(len as i64 - 4)?;

        if (walk.frames.is_multiple_of(4096) && Instant::now() > deadline)
            || walk.frames >= MAX_WALK_FRAMES
        {
            // Estimate the rest from the average frame length so far.
            let avg = walk.audio_bytes / walk.frames.max(1);
            if let Some(rest) = file_len.saturating_sub(pos).checked_div(avg) {
                walk.frames += rest;
                walk.samples += rest * spf;
                walk.audio_bytes += rest * avg;
            }
            walk.extrapolated = true;
            break;
        }
    }
    Ok(walk)
}

/// Searches forward from `from` for the next header of the same stream; positions the
/// reader there and returns its offset.
fn resync(
    reader: &mut BufReader<&mut dyn Source>,
    from: u64,
    file_len: u64,
    stream: &FrameHeader,
) -> io::Result<Option<u64>> {
    let want = MAX_RESYNC_BYTES.min(file_len.saturating_sub(from));
    reader.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
    reader.by_ref().take(want).read_to_end(&mut buf)?;
    for (i, w) in buf.windows(4).enumerate() {
        if FrameHeader::parse([w[0], w[1], w[2], w[3]]).is_some_and(|h| h.same_stream(stream)) {
            let pos = from + i as u64;
            reader.seek(SeekFrom::Start(pos))?;
            return Ok(Some(pos));
        }
    }
    Ok(None)
}

/// The layer (1, 2 or 3) of the MPEG audio stream at `start`: `Some` when two
/// consecutive frames start at or soon after `start`.
pub(crate) fn sniff_frames(
    file: &mut dyn Source,
    start: u64,
    file_len: u64,
) -> io::Result<Option<u8>> {
    Ok(find_first_frame(file, start, file_len)?
        .filter(|f| f.offset < start + 64 * 1024)
        .map(|f| f.header.layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_headers() {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding, joint stereo.
        let h = FrameHeader::parse([0xff, 0xfb, 0x90, 0x64]).unwrap();
        assert_eq!(h.version, Version::Mpeg1);
        assert_eq!(h.layer, 3);
        assert_eq!(h.bitrate_kbps, 128);
        assert_eq!(h.sample_rate, 44_100);
        assert_eq!(h.frame_len(), 417);
        assert_eq!(h.samples_per_frame(), 1152);
        // Same with padding.
        assert_eq!(
            FrameHeader::parse([0xff, 0xfb, 0x92, 0x64])
                .unwrap()
                .frame_len(),
            418
        );
        // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz.
        let h = FrameHeader::parse([0xff, 0xf3, 0x80, 0xc4]).unwrap();
        assert_eq!(
            (h.version, h.sample_rate, h.bitrate_kbps),
            (Version::Mpeg2, 22_050, 64)
        );
        assert_eq!(h.samples_per_frame(), 576);
        assert_eq!(h.frame_len(), 208);
        assert!(h.mono);
    }

    #[test]
    fn rejects_invalid_headers() {
        assert!(FrameHeader::parse([0xff, 0xfb, 0xf0, 0x64]).is_none()); // bitrate 15
        assert!(FrameHeader::parse([0xff, 0xfb, 0x00, 0x64]).is_none()); // free format
        assert!(FrameHeader::parse([0xff, 0xfb, 0x9c, 0x64]).is_none()); // rate 3
        assert!(FrameHeader::parse([0xff, 0xf9, 0x90, 0x64]).is_none()); // layer 0
        assert!(FrameHeader::parse([0xff, 0xeb, 0x90, 0x64]).is_none()); // version 01
        assert!(FrameHeader::parse([0xfe, 0xfb, 0x90, 0x64]).is_none()); // no sync
    }
}
