//! Small, bounded readers of container headers, independent of symphonia.
//!
//! Why: symphonia answers "what is this file" only when its whole reader succeeds. When
//! it fails on a damaged file we still want to tell "a broken WAV" (recognized audio,
//! reported with `metadata_error`) from "not audio at all" (`NotAudio`), and for PCM
//! we want to check a header's claimed data size against the bytes really present.
//! These helpers read a few hundred bytes at most, with fixed iteration caps.

use std::io::{self, SeekFrom};

use super::source::Source;
use super::{headers, mpeg};
use crate::formats::{self, FORMATS, Format, FrameSync};

/// Leading ID3v2 tags we skip at most (files with two stacked tags exist; more is junk).
const MAX_LEADING_TAGS: usize = 4;
/// Chunks we look at while searching a RIFF/AIFF file for its audio data.
const MAX_CHUNKS: usize = 256;

/// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
pub(crate) fn read_at(file: &mut dyn Source, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Total size (header, body, optional footer) of the ID3v2 tag at the start of `head`.
pub(crate) fn id3v2_tag_len(head: &[u8]) -> Option<u64> {
    if head.len() < 10 || &head[..3] != b"ID3" || head[3] == 0xff || head[4] == 0xff {
        return None;
    }
    let size_bytes = &head[6..10];
    if size_bytes.iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    let size = size_bytes
        .iter()
        .fold(0u64, |acc, b| (acc << 7) | u64::from(*b));
    let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// Whether the file is a plain RIFF/WAVE (not RF64).
pub(crate) fn is_riff_wave(file: &mut dyn Source) -> io::Result<bool> {
    let mut head = [0u8; 12];
    let n = read_at(file, 0, &mut head)?;
    Ok(n == 12 && &head[..4] == b"RIFF" && &head[8..] == b"WAVE")
}

/// Offset of the first byte after any ID3v2 tags at the start of the file.
pub(crate) fn skip_leading_id3v2(file: &mut dyn Source, file_len: u64) -> io::Result<u64> {
    let mut offset = 0u64;
    for _ in 0..MAX_LEADING_TAGS {
        let mut head = [0u8; 10];
        if read_at(file, offset, &mut head)? < head.len() {
            break;
        }
        match id3v2_tag_len(&head) {
            Some(len) if offset + len <= file_len => offset += len,
            // A tag claiming more bytes than the file has is damaged: whatever follows
            // its header may be the audio, so the search starts at the tag.
            Some(_) | None => break,
        }
    }
    Ok(offset)
}

/// What a file's content says it is, from the formats table: the format whose magic
/// number its first bytes (after any ID3v2 tags) hold (the most specific one); when
/// none does and `frame_sync` is set, the format whose frame sync it starts with,
/// `preferred` (the extension's format) tried first. `None`: nothing the table knows.
///
/// MPEG audio and ADTS have no magic number, only a frame sync that random bytes hold
/// every few kilobytes: only trust `frame_sync` on a file some reader already took for
/// audio.
pub(crate) fn identify(
    file: &mut dyn Source,
    file_len: u64,
    preferred: Option<&'static Format>,
    frame_sync: bool,
) -> io::Result<Option<&'static Format>> {
    let start = skip_leading_id3v2(file, file_len)?;
    let mut head = [0u8; formats::HEAD_LEN];
    let n = read_at(file, start, &mut head)?;
    if let Some(format) = formats::by_magic(&head[..n]) {
        // An M4B the writer branded `M4A `: the extension names the variant.
        if let Some(named) = preferred
            && named.variant_of == Some(format.id)
        {
            return Ok(Some(named));
        }
        return Ok(Some(format));
    }
    // Two AC-3 frames in a row, each header giving the place of the next: as sure as a
    // magic number.
    if let Some(enhanced) = headers::ac3_sync(file, start)? {
        let sync = FrameSync::Ac3 { enhanced };
        return Ok(FORMATS.iter().find(|f| f.sync == Some(sync)));
    }
    if !frame_sync {
        return Ok(None);
    }
    let with_sync = preferred
        .into_iter()
        .chain(FORMATS.iter())
        .filter_map(|f| Some((f, f.sync?)));
    // The MPEG frame walk, once for every layer's row.
    let mut mpeg_layer = None;
    for (format, sync) in with_sync {
        let found = match sync {
            FrameSync::Adts => n >= 2 && head[0] == 0xff && head[1] & 0xf6 == 0xf0,
            // Looked for above.
            FrameSync::Ac3 { .. } => false,
            FrameSync::Mpeg { layer } => {
                if mpeg_layer.is_none() {
                    mpeg_layer = Some(mpeg::sniff_frames(file, start, file_len)?);
                }
                mpeg_layer == Some(Some(layer))
            }
        };
        if found {
            return Ok(Some(format));
        }
    }
    Ok(None)
}

/// The format of a file whose content names a format symphonia does not read (a lofty
/// or header row of the table), for [`super::others`]; `None` for everything else.
pub(crate) fn other_format(
    file: &mut dyn Source,
    file_len: u64,
    extension: Option<&str>,
) -> io::Result<Option<&'static Format>> {
    let preferred = extension.and_then(formats::by_extension);
    Ok(identify(file, file_len, preferred, false)?
        .filter(|f| !matches!(f.reader, formats::Reader::Symphonia(_))))
}

/// The probe's container name for a file whose readers all failed (see [`identify`]).
pub(crate) fn sniff_container(
    file: &mut dyn Source,
    file_len: u64,
    frame_sync: bool,
) -> io::Result<Option<&'static str>> {
    Ok(identify(file, file_len, None, frame_sync)?.map(|f| f.container))
}

/// A chunk of a RIFF/WAVE or AIFF file: its id, where its payload starts, and the
/// payload length its header claims (which may exceed the file).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk {
    pub id: [u8; 4],
    pub offset: u64,
    pub size: u64,
}

/// The top-level chunks of a RIFF/WAVE ("wav") or AIFF ("aiff") file, up to the first
/// that runs past the end of the file. Empty for anything else.
pub(crate) fn chunks(
    file: &mut dyn Source,
    file_len: u64,
    container: &str,
) -> io::Result<Vec<Chunk>> {
    let mut head = [0u8; 12];
    if read_at(file, 0, &mut head)? < 12 {
        return Ok(Vec::new());
    }
    let little_endian = match container {
        // RF64/BW64 keep the real sizes in a ds64 chunk: only plain RIFF is walked.
        "wav" if &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" => true,
        "aiff" if &head[..4] == b"FORM" && (&head[8..12] == b"AIFF" || &head[8..12] == b"AIFC") => {
            false
        }
        _ => return Ok(Vec::new()),
    };
    let mut found = Vec::new();
    let mut offset = 12u64;
    while found.len() < MAX_CHUNKS && offset + 8 <= file_len {
        let mut header = [0u8; 8];
        if read_at(file, offset, &mut header)? < 8 {
            break;
        }
        let size_bytes = [header[4], header[5], header[6], header[7]];
        let size = u64::from(if little_endian {
            u32::from_le_bytes(size_bytes)
        } else {
            u32::from_be_bytes(size_bytes)
        });
        found.push(Chunk {
            id: [header[0], header[1], header[2], header[3]],
            offset: offset + 8,
            size,
        });
        // Chunks are padded to an even length.
        offset = offset.saturating_add(8 + size + (size & 1));
    }
    Ok(found)
}

/// Where the audio data of a RIFF/WAVE or AIFF file starts, and how many bytes its
/// header claims it holds. `None` when the chunk cannot be found within the caps.
pub(crate) fn pcm_data_chunk(
    file: &mut dyn Source,
    file_len: u64,
    container: &str,
) -> io::Result<Option<(u64, u64)>> {
    for chunk in chunks(file, file_len, container)? {
        match &chunk.id {
            b"data" if container == "wav" => return Ok(Some((chunk.offset, chunk.size))),
            b"SSND" if container == "aiff" => {
                // SSND: u32 offset, u32 block size, then the samples.
                let mut head = [0u8; 8];
                if read_at(file, chunk.offset, &mut head)? < 8 {
                    return Ok(None);
                }
                let skip = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
                let data_start = chunk.offset + 8 + skip;
                return Ok(Some((data_start, chunk.size.saturating_sub(8 + skip))));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Reads a chunk's payload if the file holds all of it and it is at most `max` bytes.
pub(crate) fn chunk_payload(
    file: &mut dyn Source,
    file_len: u64,
    chunk: &Chunk,
    max: u64,
) -> io::Result<Option<Vec<u8>>> {
    if chunk.size > max || chunk.offset + chunk.size > file_len {
        return Ok(None);
    }
    let mut buf = vec![0u8; usize::try_from(chunk.size).unwrap_or(0)];
    let n = read_at(file, chunk.offset, &mut buf)?;
    Ok((n == buf.len()).then_some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id3v2_length_includes_header_and_footer() {
        let mut head = *b"ID3\x04\x00\x00\x00\x00\x02\x01";
        assert_eq!(id3v2_tag_len(&head), Some(10 + 257));
        head[5] = 0x10;
        assert_eq!(id3v2_tag_len(&head), Some(10 + 257 + 10));
        // A size byte with its top bit set is not syncsafe: not a tag.
        head[9] = 0x81;
        assert_eq!(id3v2_tag_len(&head), None);
        assert_eq!(id3v2_tag_len(b"ID3"), None);
        assert_eq!(id3v2_tag_len(b"RIFF\0\0\0\0WAVE"), None);
    }
}
