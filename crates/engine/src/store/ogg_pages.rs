//! Ogg audio pages stored in a form that a re-tag leaves unchanged (chunker version 2).
//!
//! Every Ogg tagger (mutagen, which beets and Picard use, and the libogg-based ones)
//! renumbers every later page when a re-tag changes the number of header pages: each
//! 4–18 KB page gets a new sequence number and so a new CRC. Eight bytes per page
//! differ, so no chunk of 256 KiB or more that keeps the file's bytes can be shared,
//! and the first re-tag with new cover art stored the whole file again.
//!
//! So the audio pages are stored *normalised*: each page's sequence number less the
//! sequence number of the file's first audio page (`seq_base`, kept in the track's
//! chunk list), and its CRC field xor the CRC computed over the page. Both steps
//! are exact inverses given the page structure, which they leave alone: the stored
//! bytes of an original and of its re-tagged copy are equal, and restoring gives back
//! every byte of either, a page with a wrong CRC included.
//!
//! A normalised chunk holds whole pages only, so it restores on its own (playback's
//! random access needs the chunk and `seq_base`, nothing else), and the audio is cut
//! only between pages, at pages chosen by their content (granule position, length
//! and first body bytes, none of which a renumbering touches), so the cuts fall on
//! the same pages in both copies.
//!
//! The input is untrusted. The walk stops at the first thing that is not a page of
//! the same logical stream (the rest of the file is chunked as plain bytes), never
//! allocates by a length the file declares (a page is at most [`MAX_PAGE`] bytes),
//! and the import checks each normalised chunk by restoring it before it is stored.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use super::chunker::ChunkerParams;

/// The largest Ogg page: a 27-byte header, 255 lacing values of 255 bytes each.
pub const MAX_PAGE: u64 = 27 + 255 + 255 * 255;
/// Pages walked at most (a cap on the loop, not a limit any real file meets: 2^26
/// pages are 270 GB of the smallest useful pages).
const MAX_PAGES_WALKED: u64 = 1 << 26;
/// Body bytes a page's cut decision reads.
const HASHED_BODY_BYTES: usize = 16;

/// How a track's stored chunk relates to the file's bytes at its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkTransform {
    /// Whole Ogg pages, each with its sequence number less `seq_base` and its CRC
    /// field xor the page's computed CRC.
    OggPages { seq_base: u32 },
}

/// A buffer that is not a run of whole Ogg pages.
#[derive(Debug, thiserror::Error)]
#[error("not whole Ogg pages from byte {at}")]
pub struct NotWholePages {
    pub at: usize,
}

impl ChunkTransform {
    const OGG_PAGES: u8 = 1;

    /// The catalog's form (`track_chunks.transform`): a kind byte, then its parameters.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ChunkTransform::OggPages { seq_base } => {
                let mut out = vec![Self::OGG_PAGES];
                out.extend_from_slice(&seq_base.to_le_bytes());
                out
            }
        }
    }

    /// `None` for a form this version does not know: the caller treats the chunk as
    /// unreadable rather than guessing.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [Self::OGG_PAGES, a, b, c, d] => Some(ChunkTransform::OggPages {
                seq_base: u32::from_le_bytes([*a, *b, *c, *d]),
            }),
            _ => None,
        }
    }

    /// The file's bytes into their stored form, in place.
    pub fn normalize(&self, buf: &mut [u8]) -> Result<(), NotWholePages> {
        let ChunkTransform::OggPages { seq_base } = *self;
        let pages = whole_pages(buf)?;
        for (start, len) in pages {
            let page = &mut buf[start..start + len];
            let stored_crc = field(page, CRC_AT);
            put_field(page, CRC_AT, 0);
            let computed = ogg_crc(page);
            let seq = field(page, SEQ_AT);
            put_field(page, SEQ_AT, seq.wrapping_sub(seq_base));
            put_field(page, CRC_AT, stored_crc ^ computed);
        }
        Ok(())
    }

    /// The stored form back into the file's bytes, in place.
    pub fn restore(&self, buf: &mut [u8]) -> Result<(), NotWholePages> {
        let ChunkTransform::OggPages { seq_base } = *self;
        let pages = whole_pages(buf)?;
        for (start, len) in pages {
            let page = &mut buf[start..start + len];
            let crc_xor = field(page, CRC_AT);
            let seq = field(page, SEQ_AT).wrapping_add(seq_base);
            put_field(page, SEQ_AT, seq);
            put_field(page, CRC_AT, 0);
            let computed = ogg_crc(page);
            put_field(page, CRC_AT, crc_xor ^ computed);
        }
        Ok(())
    }
}

const SERIAL_AT: usize = 14;
const SEQ_AT: usize = 18;
const CRC_AT: usize = 22;

fn field(page: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]])
}

fn put_field(page: &mut [u8], at: usize, value: u32) {
    page[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The length of the page at the start of `b`, when a whole one is there.
fn page_len(b: &[u8]) -> Option<usize> {
    if b.len() < 27 || &b[..4] != b"OggS" || b[4] != 0 {
        return None;
    }
    let segments = usize::from(b[26]);
    let lacing = b.get(27..27 + segments)?;
    let body: usize = lacing.iter().map(|l| usize::from(*l)).sum();
    let len = 27 + segments + body;
    (len <= b.len()).then_some(len)
}

/// Every page of `buf` as (start, length), or where it stops being whole pages.
/// Checked before anything is changed, so a failed call leaves `buf` as it was.
fn whole_pages(buf: &[u8]) -> Result<Vec<(usize, usize)>, NotWholePages> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let len = page_len(&buf[pos..]).ok_or(NotWholePages { at: pos })?;
        out.push((pos, len));
        pos += len;
    }
    Ok(out)
}

/// Ogg's CRC-32: polynomial 0x04C11DB7, most significant bit first, no reflection,
/// initial value 0, no final xor (RFC 3533). Slicing by 8 (eight tables): the CRC
/// runs twice over every stored Ogg byte, once to normalise and once to check.
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let hi = crc ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        crc = CRC_TABLES[7][(hi >> 24) as usize]
            ^ CRC_TABLES[6][((hi >> 16) & 0xFF) as usize]
            ^ CRC_TABLES[5][((hi >> 8) & 0xFF) as usize]
            ^ CRC_TABLES[4][(hi & 0xFF) as usize]
            ^ CRC_TABLES[3][usize::from(w[4])]
            ^ CRC_TABLES[2][usize::from(w[5])]
            ^ CRC_TABLES[1][usize::from(w[6])]
            ^ CRC_TABLES[0][usize::from(w[7])];
    }
    for b in words.remainder() {
        crc = (crc << 8) ^ CRC_TABLES[0][(((crc >> 24) as u8) ^ b) as usize];
    }
    crc
}

const CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04C1_1DB7
            } else {
                r << 1
            };
            bit += 1;
        }
        t[0][i] = r;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 24) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Where the audio pages of a file are cut, and how they are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePlan {
    pub transform: ChunkTransform,
    pub start: u64,
    /// The end of each chunk, increasing, each on a page boundary; the last one is
    /// where the run of whole pages of the stream ends.
    pub ends: Vec<u64>,
}

/// Walks the pages from `start` (the first audio page) and chooses the chunk ends.
/// `None` when no whole page of a stream starts there. A read error is returned:
/// the import would fail on the same bytes a moment later.
pub fn plan<R: Read + Seek>(
    reader: &mut R,
    size: u64,
    start: u64,
    params: &ChunkerParams,
) -> io::Result<Option<PagePlan>> {
    if start >= size {
        return Ok(None);
    }
    reader.seek(SeekFrom::Start(start))?;
    let mut r = BufReader::with_capacity(64 * 1024, reader);
    let min = u64::from(params.min_size);
    let avg = u64::from(params.avg_size);
    let max = u64::from(params.max_size);
    let mut pos = start;
    let mut chunk_start = start;
    let mut ends = Vec::new();
    let mut stream: Option<(u32, u32)> = None;
    for _ in 0..MAX_PAGES_WALKED {
        let Some(page) = next_page(&mut r, size - pos)? else {
            break;
        };
        let (serial, seq) = (page.serial, page.seq);
        match stream {
            None => stream = Some((serial, seq)),
            Some((s, _)) if s != serial => break,
            Some(_) => {}
        }
        pos += page.len;
        let chunk_len = pos - chunk_start;
        if chunk_len + MAX_PAGE > max || (chunk_len >= min && page.cuts_after(avg - min)) {
            ends.push(pos);
            chunk_start = pos;
        }
        if pos == size {
            break;
        }
    }
    if pos > chunk_start {
        ends.push(pos);
    }
    Ok(stream.map(|(_, seq_base)| PagePlan {
        transform: ChunkTransform::OggPages { seq_base },
        start,
        ends,
    }))
}

struct PageHead {
    len: u64,
    serial: u32,
    seq: u32,
    granule: u64,
    body_prefix: [u8; HASHED_BODY_BYTES],
    prefix_len: usize,
}

impl PageHead {
    /// Whether the chunk ends after this page: probability proportional to the
    /// page's length, so chunks average `avg` whatever the page size, decided by
    /// what a renumbering keeps.
    fn cuts_after(&self, spread: u64) -> bool {
        let mut h = mix(self.granule ^ self.len.rotate_left(40));
        for word in self.body_prefix[..self.prefix_len].chunks(8) {
            let mut w = [0u8; 8];
            w[..word.len()].copy_from_slice(word);
            h = mix(h ^ u64::from_le_bytes(w));
        }
        u128::from(h >> 32) * u128::from(spread.max(1)) < u128::from(self.len) << 32
    }
}

/// SplitMix64's finaliser: a well-spread 64-bit hash of a 64-bit value.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The page at the reader's position, when a whole one of at most `left` bytes is
/// there; the reader is left after it.
fn next_page<R: Read + Seek>(r: &mut BufReader<R>, left: u64) -> io::Result<Option<PageHead>> {
    if left < 27 {
        return Ok(None);
    }
    let mut h = [0u8; 27];
    if !read_or_eof(r, &mut h)? || &h[..4] != b"OggS" || h[4] != 0 {
        return Ok(None);
    }
    let segments = usize::from(h[26]);
    let mut lacing = [0u8; 255];
    if !read_or_eof(r, &mut lacing[..segments])? {
        return Ok(None);
    }
    let body: u64 = lacing[..segments].iter().map(|l| u64::from(*l)).sum();
    let len = 27 + segments as u64 + body;
    if len > left {
        return Ok(None);
    }
    let mut body_prefix = [0u8; HASHED_BODY_BYTES];
    let prefix_len = (body as usize).min(HASHED_BODY_BYTES);
    if !read_or_eof(r, &mut body_prefix[..prefix_len])? {
        return Ok(None);
    }
    let skip = body - prefix_len as u64;
    r.seek_relative(skip as i64)?;
    Ok(Some(PageHead {
        len,
        serial: field(&h, SERIAL_AT),
        seq: field(&h, SEQ_AT),
        granule: u64::from_le_bytes([h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13]]),
        body_prefix,
        prefix_len,
    }))
}

/// `read_exact`, but the end of the file is `false` rather than an error.
fn read_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;

    /// A page of one stream, with a correct CRC and a body of `body` pseudo-random bytes.
    pub(crate) fn page(serial: u32, seq: u32, granule: u64, body: usize, seed: u64) -> Vec<u8> {
        let mut p = b"OggS\x00\x00".to_vec();
        p.extend(granule.to_le_bytes());
        p.extend(serial.to_le_bytes());
        p.extend(seq.to_le_bytes());
        p.extend([0u8; 4]);
        let mut lacing = vec![255u8; body / 255];
        lacing.push((body % 255) as u8);
        assert!(lacing.len() <= 255);
        p.push(lacing.len() as u8);
        p.extend(&lacing);
        let mut x = seed | 1;
        for _ in 0..body {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p.push(x as u8);
        }
        let crc = ogg_crc(&p);
        put_field(&mut p, CRC_AT, crc);
        p
    }

    /// Audio pages `first_seq..` of one stream.
    pub(crate) fn audio(serial: u32, first_seq: u32, pages: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..pages {
            let body = 3000 + (i as usize * 7919) % 9000;
            out.extend(page(
                serial,
                first_seq + i,
                960 * u64::from(i + 1),
                body,
                u64::from(i),
            ));
        }
        out
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_crc_is_oggs() {
        // A page libogg wrote (ffmpeg's Opus identification header): its stored CRC.
        let mut p = unhex(
            "4f67675300020000000000000000d7afa6ad000000007bf12aa701134f707573\
             486561640101380180bb0000000000",
        );
        let stored = field(&p, CRC_AT);
        put_field(&mut p, CRC_AT, 0);
        assert_eq!(ogg_crc(&p), stored);
        // The table-at-a-time path agrees with a bit-at-a-time CRC on every length.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 1000] {
            let mut slow = 0u32;
            for b in &data[..len] {
                slow ^= u32::from(*b) << 24;
                for _ in 0..8 {
                    slow = if slow & 0x8000_0000 != 0 {
                        (slow << 1) ^ 0x04C1_1DB7
                    } else {
                        slow << 1
                    };
                }
            }
            assert_eq!(ogg_crc(&data[..len]), slow, "length {len}");
        }
        // The check value of this CRC (CRC-32/MPEG-2 without its init and xor): "123456789".
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn a_renumbered_copy_normalises_to_the_same_bytes_and_both_restore_exactly() {
        let original = audio(7, 3, 40);
        let renumbered = audio(7, 9, 40);
        assert_ne!(original, renumbered);
        let mut a = original.clone();
        let mut b = renumbered.clone();
        ChunkTransform::OggPages { seq_base: 3 }
            .normalize(&mut a)
            .unwrap();
        ChunkTransform::OggPages { seq_base: 9 }
            .normalize(&mut b)
            .unwrap();
        assert_eq!(a, b, "the stored forms are equal");
        ChunkTransform::OggPages { seq_base: 3 }
            .restore(&mut a)
            .unwrap();
        ChunkTransform::OggPages { seq_base: 9 }
            .restore(&mut b)
            .unwrap();
        assert_eq!(a, original);
        assert_eq!(b, renumbered);
    }

    #[test]
    fn a_page_with_a_wrong_crc_or_a_gap_in_its_numbers_comes_back_as_it_was() {
        let mut pages = audio(7, 0, 5);
        // A wrong CRC on the second page, and the fourth page numbered out of turn.
        let second = page_len(&pages).unwrap();
        pages[second + CRC_AT] ^= 0x5A;
        let third = second + page_len(&pages[second..]).unwrap();
        let fourth = third + page_len(&pages[third..]).unwrap();
        put_field(&mut pages[fourth..], SEQ_AT, 0xFFFF_FFF0);
        let t = ChunkTransform::OggPages { seq_base: 2 };
        let mut stored = pages.clone();
        t.normalize(&mut stored).unwrap();
        assert_ne!(stored, pages);
        t.restore(&mut stored).unwrap();
        assert_eq!(stored, pages);
    }

    #[test]
    fn what_is_not_whole_pages_is_refused_and_left_alone() {
        let pages = audio(1, 0, 3);
        let t = ChunkTransform::OggPages { seq_base: 0 };
        for cut in [1, 26, 27, 100, pages.len() - 1] {
            let mut b = pages[..cut].to_vec();
            let before = b.clone();
            assert!(t.normalize(&mut b).is_err(), "cut at {cut}");
            assert!(t.restore(&mut b).is_err(), "cut at {cut}");
            assert_eq!(b, before);
        }
        let mut garbage = pages.clone();
        garbage[0] = b'X';
        assert!(t.normalize(&mut garbage).is_err());
        assert!(t.normalize(&mut []).is_ok());
    }

    #[test]
    fn the_transform_encodes_for_the_catalog_and_unknown_forms_are_refused() {
        let t = ChunkTransform::OggPages {
            seq_base: 0xDEAD_BEEF,
        };
        assert_eq!(ChunkTransform::decode(&t.encode()), Some(t));
        assert_eq!(ChunkTransform::decode(&[2, 0, 0, 0, 0]), None);
        assert_eq!(ChunkTransform::decode(&[1, 0, 0, 0]), None);
        assert_eq!(ChunkTransform::decode(&[]), None);
    }

    fn plan_of(data: &[u8], start: u64) -> Option<PagePlan> {
        plan(
            &mut Cursor::new(data),
            data.len() as u64,
            start,
            &ChunkerParams::default(),
        )
        .unwrap()
    }

    #[test]
    fn pages_are_cut_on_page_boundaries_within_the_size_limits_and_equally_in_a_renumbered_copy() {
        let p = ChunkerParams::default();
        let header = page(7, 0, 0, 500, 99);
        let mut file = header.clone();
        file.extend(audio(7, 1, 1200));
        let plan_a = plan_of(&file, header.len() as u64).unwrap();
        assert_eq!(plan_a.transform, ChunkTransform::OggPages { seq_base: 1 });
        assert_eq!(*plan_a.ends.last().unwrap(), file.len() as u64);
        let mut at = header.len();
        for end in &plan_a.ends {
            let end = *end as usize;
            let chunk = &file[at..end];
            assert!(whole_pages(chunk).is_ok(), "whole pages at {at}..{end}");
            assert!(chunk.len() <= p.max_size as usize);
            if end != file.len() {
                assert!(chunk.len() >= p.min_size as usize, "{}", chunk.len());
            }
            at = end;
        }
        assert!(plan_a.ends.len() >= 3, "{} chunks", plan_a.ends.len());

        // The same audio after a header grown by three pages: the same cuts, shifted.
        let mut grown = header.clone();
        grown.extend(page(7, 1, 0, 60_000, 5));
        grown.extend(page(7, 2, 0, 60_000, 6));
        grown.extend(page(7, 3, 0, 60_000, 7));
        let shift = grown.len() - header.len();
        grown.extend(audio(7, 4, 1200));
        let plan_b = plan_of(&grown, (header.len() + shift) as u64).unwrap();
        assert_eq!(plan_b.transform, ChunkTransform::OggPages { seq_base: 4 });
        let shifted: Vec<u64> = plan_a.ends.iter().map(|e| e + shift as u64).collect();
        assert_eq!(plan_b.ends, shifted);
    }

    #[test]
    fn the_walk_stops_at_another_stream_or_at_bytes_that_are_not_a_page() {
        let mut file = audio(7, 0, 10);
        let first_stream = file.len() as u64;
        file.extend(audio(8, 0, 3));
        let plan = plan_of(&file, 0).unwrap();
        assert_eq!(*plan.ends.last().unwrap(), first_stream);

        let mut cut = audio(7, 0, 10);
        let whole = cut.len() as u64;
        cut.extend(&audio(7, 10, 1)[..500]);
        assert_eq!(*plan_of(&cut, 0).unwrap().ends.last().unwrap(), whole);

        assert_eq!(plan_of(b"not an ogg page at all, not at all", 0), None);
        assert_eq!(plan_of(&audio(7, 0, 2)[..100], 0), None);
    }

    #[test]
    fn lying_lengths_and_mutations_never_panic_and_restore_what_they_normalise() {
        let base = audio(3, 5, 12);
        let mut x = 0x9E37_79B9u64;
        for round in 0..400 {
            let mut data = base.clone();
            for _ in 0..(1 + round % 8) {
                x = mix(x);
                let at = (x as usize) % data.len();
                data[at] = (x >> 40) as u8;
            }
            if let Some(plan) = plan_of(&data, 0) {
                let mut at = 0usize;
                for end in &plan.ends {
                    let end = *end as usize;
                    assert!(end > at && end <= data.len());
                    let mut stored = data[at..end].to_vec();
                    plan.transform.normalize(&mut stored).unwrap();
                    plan.transform.restore(&mut stored).unwrap();
                    assert_eq!(stored, &data[at..end]);
                    at = end;
                }
            }
        }
    }
}
