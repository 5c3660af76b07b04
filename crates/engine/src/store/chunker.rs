//! Content-defined chunking. A re-tagged copy of a file changes only the bytes
//! of its tags, so cut points chosen by content (FastCDC) realign right after
//! the change and every later chunk is shared with the original.
//!
//! Since version 1 of the chunker ([`ChunkerAlgorithm::FastCdc2020Regions`]) an
//! import first asks [`super::regions`] where the file's metadata and audio meet
//! and never cuts a chunk across those offsets: each region is chunked on its own,
//! so a tag that grew or shrank leaves every audio chunk as it was.

use std::io::{Read, Seek, SeekFrom};

use super::ogg_pages::{self, ChunkTransform};
use super::regions;

use serde::{Deserialize, Serialize};

/// Chunker parameters, recorded in vault.json: changing them (or the crate's cut
/// algorithm) changes every boundary and ends dedup against existing chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    pub algorithm: ChunkerAlgorithm,
    pub min_size: u32,
    pub avg_size: u32,
    pub max_size: u32,
}

/// The chunker's versions. A vault keeps the one it was created with (see
/// ARCHITECTURE.md, "Decisions": the versioned chunker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkerAlgorithm {
    /// Version 0: FastCDC 2020 as implemented by the `fastcdc` crate 3.x
    /// (normalization level 1) over the whole file.
    #[serde(rename = "fastcdc-2020")]
    FastCdc2020,
    /// Version 1: the file split first at the boundaries between its metadata and
    /// its audio ([`super::regions`]), then each region cut by version 0's FastCDC.
    #[serde(rename = "fastcdc-2020+format-regions-1")]
    FastCdc2020Regions,
    /// Version 2: version 1, and an Ogg file's audio pages stored normalised and cut
    /// between pages ([`super::ogg_pages`]), so a re-tag that renumbers them is
    /// stored as its header pages alone.
    #[serde(rename = "fastcdc-2020+format-regions-2")]
    FastCdc2020RegionsOggPages,
}

impl ChunkerAlgorithm {
    /// What new imports cut with, in every vault.
    pub const NEWEST: ChunkerAlgorithm = ChunkerAlgorithm::FastCdc2020RegionsOggPages;
    pub const ALL_NEWEST_FIRST: [ChunkerAlgorithm; 3] = [
        ChunkerAlgorithm::FastCdc2020RegionsOggPages,
        ChunkerAlgorithm::FastCdc2020Regions,
        ChunkerAlgorithm::FastCdc2020,
    ];

    /// Whether imports split files into format regions before chunking.
    pub fn splits_regions(self) -> bool {
        matches!(
            self,
            ChunkerAlgorithm::FastCdc2020Regions | ChunkerAlgorithm::FastCdc2020RegionsOggPages
        )
    }

    /// Whether an Ogg file's audio pages are stored normalised.
    pub fn normalizes_ogg_pages(self) -> bool {
        matches!(self, ChunkerAlgorithm::FastCdc2020RegionsOggPages)
    }
}

impl ChunkerParams {
    /// Version 0, what every vault created before format regions records.
    pub fn v0() -> Self {
        ChunkerParams {
            algorithm: ChunkerAlgorithm::FastCdc2020,
            ..ChunkerParams::default()
        }
    }

    /// What an import cuts with: the newest version, with the vault's sizes. A vault
    /// made by an older version keeps its tracks' chunks (a track is read by its own
    /// chunk list, never cut again) and cuts new imports the newest way.
    pub fn for_import(&self) -> Self {
        ChunkerParams {
            algorithm: ChunkerAlgorithm::NEWEST,
            ..*self
        }
    }

    /// Every version with these sizes, newest first: the versions a vault's tracks
    /// may have been cut by.
    pub fn every_version_newest_first(&self) -> Vec<Self> {
        ChunkerAlgorithm::ALL_NEWEST_FIRST
            .iter()
            .map(|algorithm| ChunkerParams {
                algorithm: *algorithm,
                ..*self
            })
            .collect()
    }

    /// Version 1, what vaults created with format regions but before Ogg pages record.
    pub fn v1() -> Self {
        ChunkerParams {
            algorithm: ChunkerAlgorithm::FastCdc2020Regions,
            ..ChunkerParams::default()
        }
    }
}

impl Default for ChunkerParams {
    /// What a new vault gets: the newest version.
    fn default() -> Self {
        ChunkerParams {
            algorithm: ChunkerAlgorithm::NEWEST,
            min_size: 256 * 1024,
            avg_size: 1024 * 1024,
            max_size: 4 * 1024 * 1024,
        }
    }
}

impl ChunkerParams {
    pub fn validate(&self) -> Result<(), String> {
        let ok = (fastcdc::v2020::MINIMUM_MIN..=fastcdc::v2020::MINIMUM_MAX)
            .contains(&self.min_size)
            && (fastcdc::v2020::AVERAGE_MIN..=fastcdc::v2020::AVERAGE_MAX).contains(&self.avg_size)
            && (fastcdc::v2020::MAXIMUM_MIN..=fastcdc::v2020::MAXIMUM_MAX).contains(&self.max_size)
            && self.min_size <= self.avg_size
            && self.avg_size <= self.max_size;
        if ok {
            Ok(())
        } else {
            Err(format!("chunker sizes out of range: {self:?}"))
        }
    }
}

/// One chunk of a stream: where it starts and its bytes.
pub struct Chunk {
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Splits a reader into content-defined chunks, handing out each chunk as a
/// slice of its own buffer: no copy per chunk. (The crate's `StreamCDC` copies
/// every chunk out and shifts its whole buffer after each one, several times the
/// data's size in memory traffic on the import's hottest path.)
///
/// Cut points are exactly `StreamCDC`'s: each cut is searched in a window of at
/// most `max_size` bytes from the chunk's start, which is what `StreamCDC`'s
/// buffer holds. Memory: a buffer of twice the maximum chunk size, which
/// [`Chunker::with_buffer`] takes from the caller and [`Chunker::into_buffer`]
/// gives back, so that one import worker reuses one buffer for all its files.
///
/// With region boundaries ([`Chunker::with_boundaries`]) the window also ends at
/// the next boundary, so no chunk spans one: a region's last chunk ends there
/// and the next region's first chunk starts there, as if it were a stream of its own.
pub struct Chunker<R> {
    reader: R,
    params: ChunkerParams,
    /// Stream offsets no chunk may span, increasing; `boundaries[next_boundary..]`
    /// are still ahead.
    boundaries: Vec<u64>,
    next_boundary: usize,
    buf: Vec<u8>,
    /// `buf[start..filled]` holds bytes not yet handed out.
    start: usize,
    filled: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
    /// Bytes moved to the buffer's front so far: the chunker's own copies, counted
    /// for ARCHITECTURE.md's figures (the import's copies).
    moved: u64,
}

impl<R: Read> Chunker<R> {
    /// Plain content-defined chunking of the whole stream (version 0's cuts).
    pub fn new(reader: R, params: &ChunkerParams) -> Self {
        Self::with_boundaries(reader, params, Vec::new())
    }

    /// Chunking that never spans one of `boundaries` (stream offsets; unsorted or
    /// repeated ones are sorted and merged).
    pub fn with_boundaries(reader: R, params: &ChunkerParams, boundaries: Vec<u64>) -> Self {
        Self::with_buffer(reader, params, boundaries, Vec::new())
    }

    /// [`Chunker::with_boundaries`] reading into `buf` (its contents are
    /// overwritten; it is grown to twice the maximum chunk size if shorter, once).
    pub fn with_buffer(
        reader: R,
        params: &ChunkerParams,
        mut boundaries: Vec<u64>,
        mut buf: Vec<u8>,
    ) -> Self {
        boundaries.sort_unstable();
        boundaries.dedup();
        let len = 2 * params.max_size as usize;
        if buf.len() < len {
            // A new zeroed allocation, not `resize`: the kernel's zero pages cost
            // nothing until touched, and a small file touches few of them.
            buf = vec![0; len];
        }
        Chunker {
            reader,
            params: *params,
            boundaries,
            next_boundary: 0,
            buf,
            start: 0,
            filled: 0,
            eof: false,
            offset: 0,
            moved: 0,
        }
    }

    /// The buffer, for the next file's chunker.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes the chunker has moved within its buffer so far.
    pub fn bytes_moved(&self) -> u64 {
        self.moved
    }

    /// Reads until `need` bytes from `start` are in the buffer, or the stream ends.
    fn fill(&mut self, need: usize) -> std::io::Result<()> {
        if self.filled - self.start >= need || self.eof {
            return Ok(());
        }
        // Move the unread tail to the front only when the window would run past
        // the buffer's end: at most once per `max_size` bytes. (A window shorter
        // than `max_size` first, to move less, was measured and dropped: the long
        // chunks' second search cost more in FastCDC's hashing, about four times a
        // move per byte, than the moves it saved. ARCHITECTURE.md, the import's copies.)
        if self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.filled, 0);
            self.moved += (self.filled - self.start) as u64;
            self.filled -= self.start;
            self.start = 0;
        }
        while self.filled - self.start < need && !self.eof {
            match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// FastCDC's cut in `buf[start..start + window]`.
    fn cut(&self, window: usize) -> usize {
        let cdc = fastcdc::v2020::FastCDC::new(
            &self.buf[self.start..self.start + window],
            self.params.min_size,
            self.params.avg_size,
            self.params.max_size,
        );
        cdc.cut(0, window).1
    }

    /// The next chunk as (stream offset, bytes), or `None` at the end.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        let max = self.params.max_size as usize;
        self.fill(max)?;
        while self
            .boundaries
            .get(self.next_boundary)
            .is_some_and(|b| *b <= self.offset)
        {
            self.next_boundary += 1;
        }
        let region_left = match self.boundaries.get(self.next_boundary) {
            Some(b) => usize::try_from(b - self.offset).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let available = (self.filled - self.start).min(max).min(region_left);
        if available == 0 {
            return Ok(None);
        }
        let len = self.cut(available).max(1).min(available);
        let at = self.start;
        let offset = self.offset;
        self.start += len;
        self.offset += len as u64;
        Ok(Some((offset, &self.buf[at..at + len])))
    }
}

/// Splits a reader into owned chunks (tests and small inputs; the import uses
/// [`Chunker`] directly to avoid the copies).
pub fn chunks<R: Read>(
    reader: R,
    params: &ChunkerParams,
) -> impl Iterator<Item = std::io::Result<Chunk>> {
    let mut chunker = Chunker::new(reader, params);
    std::iter::from_fn(move || match chunker.next_chunk() {
        Ok(Some((offset, data))) => Some(Ok(Chunk {
            offset,
            data: data.to_vec(),
        })),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    })
}

/// One chunk of a file as an import stores it.
pub struct FileChunk<'a> {
    pub offset: u64,
    /// The file's bytes here: what the file's SHA-256 covers.
    pub original: &'a [u8],
    /// What is stored and named by the chunk id: `original`, or its normalised form.
    pub stored: &'a [u8],
    /// How `stored` turns back into `original` (`None`: they are the same bytes).
    pub transform: Option<ChunkTransform>,
}

/// The buffer a file's chunking reads into, kept by an import worker from one file
/// to the next: a file then costs no allocation, and no page to zero, for its bytes.
/// (An Ogg file's three page buffers are the file's own, reused from chunk to chunk
/// but freed with the file: kept per worker they held three chunks' worth of memory
/// each, for the few Ogg files of a library.)
#[derive(Default)]
pub struct ChunkBuffers {
    /// The [`Chunker`]'s read buffer.
    read: Vec<u8>,
    /// Bytes the chunkers moved within their buffer (for the tests' bound).
    moved: u64,
}

impl ChunkBuffers {
    /// Bytes moved within the read buffer so far, over every file chunked with it.
    pub fn bytes_moved(&self) -> u64 {
        self.moved
    }
}

/// Cuts a file by the vault's chunker version and hands each chunk to `each`, in
/// order. Version 0 cuts the whole stream, version 1 each format region on its
/// own, version 2 also stores an Ogg file's audio pages normalised.
///
/// Reads from the start of `reader` to its end (not only `size` bytes: a file that
/// grew meanwhile shows up as a total that is not its size). A normalised chunk is
/// restored and compared before it is handed out; one that does not come back
/// byte for byte (which would be a bug) is handed out as plain bytes instead.
pub fn chunk_file<R, E>(
    reader: &mut R,
    size: u64,
    params: &ChunkerParams,
    each: impl FnMut(FileChunk<'_>) -> Result<(), E>,
) -> Result<(), E>
where
    R: Read + Seek,
    E: From<std::io::Error>,
{
    chunk_file_reusing(reader, size, params, &mut ChunkBuffers::default(), each)
}

/// [`chunk_file`] with the caller's buffers (see [`ChunkBuffers`]).
pub fn chunk_file_reusing<R, E>(
    reader: &mut R,
    size: u64,
    params: &ChunkerParams,
    buffers: &mut ChunkBuffers,
    mut each: impl FnMut(FileChunk<'_>) -> Result<(), E>,
) -> Result<(), E>
where
    R: Read + Seek,
    E: From<std::io::Error>,
{
    if !params.algorithm.splits_regions() {
        reader.seek(SeekFrom::Start(0))?;
        return plain_chunks(&mut *reader, 0, Vec::new(), params, buffers, &mut each);
    }
    let boundaries = regions::boundaries(reader, size);
    // An Ogg file's one boundary is where its audio pages start.
    let pages = match boundaries.first() {
        Some(&start) if params.algorithm.normalizes_ogg_pages() && regions::is_ogg(reader) => {
            ogg_pages::plan(reader, size, start, params)?
        }
        _ => None,
    };
    let Some(pages) = pages else {
        reader.seek(SeekFrom::Start(0))?;
        return plain_chunks(&mut *reader, 0, boundaries, params, buffers, &mut each);
    };
    // The header pages, as version 1 cuts them.
    reader.seek(SeekFrom::Start(0))?;
    plain_chunks(
        (&mut *reader).take(pages.start),
        0,
        Vec::new(),
        params,
        buffers,
        &mut each,
    )?;
    // The audio pages, normalised, a chunk per planned run of pages. `stored` is a
    // copy because `original` is what the file's SHA-256 covers and what the check
    // compares with; `check` a copy because restoring is in place.
    reader.seek(SeekFrom::Start(pages.start))?;
    let (mut original, mut stored, mut check) = (Vec::new(), Vec::new(), Vec::new());
    let mut at = pages.start;
    for &end in &pages.ends {
        let len = usize::try_from(end - at).map_err(std::io::Error::other)?;
        original.resize(len, 0);
        reader.read_exact(&mut original)?;
        stored.clear();
        stored.extend_from_slice(&original);
        check.clear();
        let normalised = pages.transform.normalize(&mut stored).is_ok() && {
            check.extend_from_slice(&stored);
            pages.transform.restore(&mut check).is_ok() && check == original
        };
        each(FileChunk {
            offset: at,
            original: &original[..],
            stored: if normalised {
                &stored[..]
            } else {
                &original[..]
            },
            transform: normalised.then_some(pages.transform),
        })?;
        at = end;
    }
    // Whatever follows the run of pages (another stream, a tag, bytes that are not a
    // page), as plain bytes to the end of the file.
    plain_chunks(&mut *reader, at, Vec::new(), params, buffers, &mut each)
}

/// Plain content-defined chunks of `reader` to its end, where `from` is the file
/// offset of its first byte and `boundaries` are file offsets.
fn plain_chunks<R: Read, E: From<std::io::Error>>(
    reader: R,
    from: u64,
    boundaries: Vec<u64>,
    params: &ChunkerParams,
    buffers: &mut ChunkBuffers,
    each: &mut impl FnMut(FileChunk<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let relative = boundaries
        .into_iter()
        .filter_map(|b| b.checked_sub(from))
        .collect();
    let mut chunker =
        Chunker::with_buffer(reader, params, relative, std::mem::take(&mut buffers.read));
    let result = (|| {
        while let Some((offset, data)) = chunker.next_chunk()? {
            each(FileChunk {
                offset: from + offset,
                original: data,
                stored: data,
                transform: None,
            })?;
        }
        Ok(())
    })();
    // The buffer goes back whatever happened, for the worker's next file.
    buffers.moved += chunker.bytes_moved();
    buffers.read = chunker.into_buffer();
    result
}

/// The same cuts as [`Chunker::new`] over the same bytes, for a stream that is
/// written rather than read: a writer (the catalog's row stream) hands bytes in,
/// and each chunk goes to `each` as soon as its cut is certain, so the stream is
/// never held whole. A cut is certain once `max_size` bytes past the chunk's start
/// are here, because FastCDC looks no further; the rest is cut by [`Self::finish`].
/// Memory: about twice the maximum chunk size.
pub struct CutWriter<F> {
    params: ChunkerParams,
    buf: Vec<u8>,
    /// `buf[start..]` holds bytes not yet handed out.
    start: usize,
    each: F,
}

impl<F: FnMut(&[u8]) -> std::io::Result<()>> CutWriter<F> {
    pub fn new(params: &ChunkerParams, each: F) -> Self {
        CutWriter {
            params: *params,
            buf: Vec::with_capacity(4 * params.max_size as usize),
            start: 0,
            each,
        }
    }

    /// Cuts chunks; with `certain_only`, only those whose whole window (`max_size`
    /// bytes from their start) is here, so more bytes cannot move their cut.
    fn cut(&mut self, certain_only: bool) -> std::io::Result<()> {
        let max = self.params.max_size as usize;
        while self.start < self.buf.len() {
            let available = (self.buf.len() - self.start).min(max);
            if certain_only && available < max {
                break;
            }
            let window = &self.buf[self.start..self.start + available];
            let cdc = fastcdc::v2020::FastCDC::new(
                window,
                self.params.min_size,
                self.params.avg_size,
                self.params.max_size,
            );
            let (_, len) = cdc.cut(0, available);
            let len = len.max(1).min(available);
            (self.each)(&self.buf[self.start..self.start + len])?;
            self.start += len;
        }
        // Drop what was handed out once it is most of the buffer: at most one
        // move per `max_size` bytes written.
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            let len = self.buf.len();
            self.buf.copy_within(self.start.., 0);
            // The tail's old copy is cleared, not just forgotten.
            self.buf[len - self.start..].fill(0);
            self.buf.truncate(len - self.start);
            self.start = 0;
        }
        Ok(())
    }

    /// Cuts what is left; the stream's end is its last chunk's end.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.cut(false)
    }
}

/// The stream may be plaintext (a catalog's rows): nothing of it outlives the writer.
impl<F> Drop for CutWriter<F> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

impl<F: FnMut(&[u8]) -> std::io::Result<()>> std::io::Write for CutWriter<F> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        let max = self.params.max_size as usize;
        if self.buf.len() - self.start >= 2 * max {
            self.cut(true)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift64*), so the golden cut points
    /// below do not depend on any other crate's generator.
    pub(crate) fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            out.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn cut_points(data: &[u8]) -> Vec<u64> {
        chunks(data, &ChunkerParams::default())
            .map(|c| c.unwrap().offset)
            .collect()
    }

    /// Golden cut points: if this fails after a dependency update, the update moved
    /// chunk boundaries and would silently break dedup against existing vaults.
    /// Do not update the numbers; pin the old chunker or add a new algorithm.
    #[test]
    fn cut_points_are_stable() {
        let data = pseudo_random(24 * 1024 * 1024, 0x00A0_D10F_A017);
        assert_eq!(cut_points(&data), GOLDEN_CUTS);
    }

    const GOLDEN_CUTS: &[u64] = &[
        0, 300925, 1706967, 2441067, 2751157, 3914872, 5305602, 5752834, 6874129, 7879260, 8727760,
        9399124, 10496477, 11689218, 12908251, 13398488, 14483876, 16153389, 17285495, 18593163,
        19714434, 20145302, 21344161, 22539555, 24542858, 24828917,
    ];

    /// The buffer-reusing chunker cuts exactly where the crate's StreamCDC does,
    /// whatever sizes the reader hands out.
    #[test]
    fn cuts_match_stream_cdc() {
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = out.len().min(self.1).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let p = ChunkerParams::default();
        for (len, seed) in [
            (20 * 1024 * 1024 + 3, 5),
            (5 * 1024 * 1024, 6),
            (300_000, 7),
        ] {
            let data = pseudo_random(len, seed);
            let expected: Vec<(u64, usize)> =
                fastcdc::v2020::StreamCDC::new(&data[..], p.min_size, p.avg_size, p.max_size)
                    .map(|c| {
                        let c = c.unwrap();
                        (c.offset, c.length)
                    })
                    .collect();
            for step in [usize::MAX, 1 << 20, 65_537] {
                let got: Vec<(u64, usize)> = chunks(Dribble(&data, step), &p)
                    .map(|c| {
                        let c = c.unwrap();
                        (c.offset, c.data.len())
                    })
                    .collect();
                assert_eq!(got, expected, "len {len}, reads of {step}");
            }
        }
    }

    /// A buffer reused from one stream to the next (holding the last one's bytes)
    /// changes no cut, whatever the sizes and wherever the content forces a chunk to
    /// the maximum (zeros, where no cut is ever found): every cut is StreamCDC's.
    #[test]
    fn with_a_reused_buffer_every_cut_is_stream_cdcs_at_every_size() {
        let sizes = [
            ChunkerParams::default(),
            ChunkerParams {
                min_size: 16 * 1024,
                avg_size: 64 * 1024,
                max_size: 128 * 1024,
                ..ChunkerParams::default()
            },
            ChunkerParams {
                min_size: 64 * 1024,
                avg_size: 256 * 1024,
                max_size: 4 * 1024 * 1024,
                ..ChunkerParams::default()
            },
        ];
        let mut data = pseudo_random(3 * 1024 * 1024, 41);
        data.extend(vec![0u8; 9 * 1024 * 1024 + 5]);
        data.extend(pseudo_random(2 * 1024 * 1024 + 1, 42));
        // A stretch of bytes with few cut points: long chunks.
        data.extend(pseudo_random(6 * 1024 * 1024, 43).iter().map(|b| b & 0x81));
        data.extend(vec![7u8; 1024 * 1024]);
        let mut buf = Vec::new();
        for p in sizes {
            let expected: Vec<(u64, usize)> =
                fastcdc::v2020::StreamCDC::new(&data[..], p.min_size, p.avg_size, p.max_size)
                    .map(|c| {
                        let c = c.unwrap();
                        (c.offset, c.length)
                    })
                    .collect();
            for stream in [&data[..], &data[5..], &data[..1_000_000]] {
                let expected: Vec<(u64, usize)> = if stream.len() == data.len() {
                    expected.clone()
                } else {
                    fastcdc::v2020::StreamCDC::new(stream, p.min_size, p.avg_size, p.max_size)
                        .map(|c| {
                            let c = c.unwrap();
                            (c.offset, c.length)
                        })
                        .collect()
                };
                let mut chunker =
                    Chunker::with_buffer(stream, &p, Vec::new(), std::mem::take(&mut buf));
                let mut got = Vec::new();
                let mut joined = Vec::with_capacity(stream.len());
                while let Some((offset, chunk)) = chunker.next_chunk().unwrap() {
                    got.push((offset, chunk.len()));
                    joined.extend_from_slice(chunk);
                }
                buf = chunker.into_buffer();
                assert_eq!(got, expected, "{p:?}, {} bytes", stream.len());
                assert!(joined == stream, "the chunks join back to the stream");
            }
        }
    }

    /// The figures of ARCHITECTURE.md's import copies: bytes moved within the
    /// chunker's buffer per byte of every file of a corpus (`CORPUS=<folder>`),
    /// cut at its regions as an import does.
    #[test]
    #[ignore = "a measurement: CORPUS=<folder> cargo test -- --ignored --nocapture"]
    fn measure_bytes_moved_over_a_corpus() {
        let Some(root) = std::env::var_os("CORPUS") else {
            return;
        };
        let mut files = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        let (mut total, mut moved) = (0u64, 0u64);
        let mut buf = Vec::new();
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let size = data.len() as u64;
            let p = ChunkerParams::default();
            let bounds = super::super::regions::boundaries(&mut std::io::Cursor::new(&data), size);
            let mut chunker = Chunker::with_buffer(&data[..], &p, bounds, std::mem::take(&mut buf));
            while chunker.next_chunk().unwrap().is_some() {}
            total += size;
            moved += chunker.bytes_moved();
            buf = chunker.into_buffer();
        }
        eprintln!(
            "{} files, {total} bytes: {:.3} moved per byte",
            files.len(),
            moved as f64 / total as f64
        );
    }

    #[test]
    fn chunks_cover_the_stream_in_order() {
        let data = pseudo_random(9 * 1024 * 1024 + 17, 7);
        let mut next = 0u64;
        let mut joined = Vec::new();
        for c in chunks(&data[..], &ChunkerParams::default()) {
            let c = c.unwrap();
            assert_eq!(c.offset, next);
            assert!(c.data.len() <= 4 * 1024 * 1024);
            next += c.data.len() as u64;
            joined.extend_from_slice(&c.data);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn an_insertion_near_the_start_leaves_later_chunks_unchanged() {
        let data = pseudo_random(16 * 1024 * 1024, 99);
        let mut edited = b"ID3 tag grew by a few bytes".to_vec();
        edited.extend_from_slice(&data);
        let ids = |d: &[u8]| -> Vec<blake3::Hash> {
            chunks(d, &ChunkerParams::default())
                .map(|c| blake3::hash(&c.unwrap().data))
                .collect()
        };
        let (a, b) = (ids(&data), ids(&edited));
        let shared = b.iter().filter(|h| a.contains(h)).count();
        assert!(shared + 1 >= b.len(), "shared {shared} of {}", b.len());
    }

    /// (offset, length) of each chunk, cut with `boundaries`.
    fn cuts_with(data: &[u8], boundaries: Vec<u64>) -> Vec<(u64, usize)> {
        let p = ChunkerParams::default();
        let mut chunker = Chunker::with_boundaries(data, &p, boundaries);
        let mut out = Vec::new();
        while let Some((offset, chunk)) = chunker.next_chunk().unwrap() {
            out.push((offset, chunk.len()));
        }
        out
    }

    /// Golden cut points of version 1: a 12 MiB "MP3" (a 300 KiB ID3v2 tag, pseudo-
    /// random frames, an ID3v1 tag) cuts at the tag's end and the ID3v1 tag's
    /// start, and by content between. Do not update the numbers; add a version.
    #[test]
    fn region_cut_points_are_stable() {
        let tag = 300 * 1024;
        let mut data = b"ID3\x04\x00\x00".to_vec();
        data.extend([0x00, 0x12, 0x60, 0x00]); // syncsafe 300 KiB
        data.extend(pseudo_random(tag, 11));
        data.extend(pseudo_random(12 * 1024 * 1024, 12));
        data.extend(b"TAG");
        data.extend([b' '; 125]);
        let b =
            super::super::regions::boundaries(&mut std::io::Cursor::new(&data), data.len() as u64);
        assert_eq!(b, vec![10 + tag as u64, data.len() as u64 - 128]);
        let cuts: Vec<u64> = cuts_with(&data, b).iter().map(|c| c.0).collect();
        assert_eq!(cuts, GOLDEN_REGION_CUTS);
    }

    const GOLDEN_REGION_CUTS: &[u64] = &[
        0, 307210, 1863988, 3181295, 3743561, 5026433, 6236035, 6506647, 6945288, 7766312, 9258982,
        11190948, 11819638, 12890122,
    ];

    /// Version 2's cuts of an Ogg file and the stored form of its pages, pinned: a
    /// change to either would stop new imports sharing chunks with stored tracks.
    #[test]
    fn ogg_page_cut_points_and_stored_bytes_are_stable() {
        let file = crate::ingest::tests::ogg_file(0);
        let mut cuts = Vec::new();
        let mut stored = blake3::Hasher::new();
        chunk_file(
            &mut std::io::Cursor::new(&file),
            file.len() as u64,
            &ChunkerParams::default(),
            |c| {
                cuts.push((c.offset, c.transform.is_some()));
                stored.update(c.stored);
                Ok::<(), std::io::Error>(())
            },
        )
        .unwrap();
        assert_eq!(cuts, GOLDEN_OGG_CUTS);
        assert_eq!(stored.finalize().to_hex().as_str(), GOLDEN_OGG_STORED);
    }

    const GOLDEN_OGG_CUTS: &[(u64, bool)] = &[
        (0, false),
        (376, true),
        (1785691, true),
        (2431505, true),
        (2870184, true),
        (3484415, true),
        (4120999, true),
        (4628437, true),
        (5536215, true),
        (7582726, true),
        (8223448, true),
        (8506068, true),
        (9089924, true),
        (10211345, true),
        (10881538, true),
    ];
    const GOLDEN_OGG_STORED: &str =
        "557fa7b13a09a3319442309a77408e35449e771af6be4018743f7155a8437faf";

    /// A re-tag that grows the tag moves the audio; with regions every audio chunk
    /// stays the same, without them the first ones change.
    #[test]
    fn with_regions_a_grown_tag_changes_only_the_tags_chunks() {
        let audio = pseudo_random(10 * 1024 * 1024, 21);
        let file = |tag: usize| {
            let mut f = b"ID3\x04\x00\x00".to_vec();
            let n = tag as u32;
            f.extend([
                (n >> 21) as u8 & 0x7F,
                (n >> 14) as u8 & 0x7F,
                (n >> 7) as u8 & 0x7F,
                n as u8 & 0x7F,
            ]);
            f.extend(pseudo_random(tag, tag as u64));
            f.extend(&audio);
            f
        };
        let (a, b) = (file(4000), file(70_000));
        let ids = |d: &[u8], regions: bool| -> Vec<blake3::Hash> {
            let bounds = if regions {
                super::super::regions::boundaries(&mut std::io::Cursor::new(d), d.len() as u64)
            } else {
                Vec::new()
            };
            cuts_with(d, bounds)
                .iter()
                .map(|(o, l)| blake3::hash(&d[*o as usize..*o as usize + l]))
                .collect()
        };
        let new_bytes = |regions: bool| -> usize {
            let old = ids(&a, regions);
            let bounds = if regions {
                super::super::regions::boundaries(&mut std::io::Cursor::new(&b), b.len() as u64)
            } else {
                Vec::new()
            };
            cuts_with(&b, bounds)
                .iter()
                .filter(|(o, l)| !old.contains(&blake3::hash(&b[*o as usize..*o as usize + l])))
                .map(|(_, l)| l)
                .sum()
        };
        assert_eq!(new_bytes(true), 70_010, "only the tag is stored again");
        assert!(
            new_bytes(false) > 256 * 1024,
            "without regions the first chunk changes"
        );
    }

    /// Property: whatever the input and the boundaries, the chunks concatenate to
    /// the input, none spans a boundary, none is longer than the maximum, and
    /// without boundaries the cuts are version 0's.
    #[test]
    fn chunks_with_boundaries_cover_the_input_and_respect_them() {
        let mut seed = 0x5EED_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..40 {
            let len = (next() % (9 * 1024 * 1024)) as usize;
            let data = pseudo_random(len, round);
            let count = (next() % 12) as usize;
            let bounds: Vec<u64> = (0..count).map(|_| next() % (len as u64 + 2)).collect();
            let got = cuts_with(&data, bounds.clone());
            let mut at = 0u64;
            for (offset, l) in &got {
                assert_eq!(*offset, at, "round {round}");
                assert!(*l > 0 && *l <= 4 * 1024 * 1024);
                let end = offset + *l as u64;
                assert!(
                    !bounds.iter().any(|b| *b > *offset && *b < end),
                    "round {round}: chunk {offset}+{l} spans a boundary of {bounds:?}"
                );
                at = end;
            }
            assert_eq!(at, len as u64, "round {round}: the chunks cover the input");
            if count == 0 {
                let plain: Vec<(u64, usize)> = chunks(&data[..], &ChunkerParams::default())
                    .map(|c| {
                        let c = c.unwrap();
                        (c.offset, c.data.len())
                    })
                    .collect();
                assert_eq!(got, plain);
            }
        }
    }

    /// A bounded mutation loop over the region splitter and the chunker (what a
    /// fuzz target would do, on stable and within the test's time): every golden
    /// file of `regions`, mutated (bytes flipped, lengths set to extremes, cut
    /// short, spliced), gives boundaries inside the file and chunks that join
    /// back to it, quickly.
    #[test]
    fn mutated_audio_files_never_break_the_splitter_or_the_bytes() {
        use super::super::regions::tests as g;
        let seeds = [
            g::golden_mp3(),
            g::golden_flac(),
            g::golden_m4a(),
            g::golden_m4a_moov_last(),
            g::golden_wav(),
            g::golden_aiff(),
            g::golden_ogg(),
            g::golden_dsf(),
            g::golden_asf(),
            g::golden_dff(),
        ];
        let mut state = 0xF0221_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let started = std::time::Instant::now();
        for i in 0..3000 {
            let mut data = seeds[i % seeds.len()].clone();
            for _ in 0..(1 + next() % 4) {
                let len = data.len().max(1);
                let at = (next() as usize) % len;
                match next() % 6 {
                    0 => {
                        if let Some(b) = data.get_mut(at) {
                            *b ^= 1 << (next() % 8);
                        }
                    }
                    1 => {
                        let v = [0u8, 0xFF, 0x7F, 0x80][(next() % 4) as usize];
                        for b in data.iter_mut().skip(at).take(4) {
                            *b = v;
                        }
                    }
                    2 => data.truncate(at),
                    3 => {
                        let extra = pseudo_random((next() % 600) as usize, next());
                        data.splice(at..at, extra);
                    }
                    4 => {
                        let end = (at + (next() % 300) as usize).min(data.len());
                        data.drain(at..end);
                    }
                    _ => {
                        let other = &seeds[(next() as usize) % seeds.len()];
                        data.extend_from_slice(&other[..(next() as usize) % other.len()]);
                    }
                }
            }
            let size = data.len() as u64;
            let bounds = super::super::regions::boundaries(&mut std::io::Cursor::new(&data), size);
            assert!(
                bounds.iter().all(|b| *b > 0 && *b < size),
                "case {i}: {bounds:?}"
            );
            assert!(bounds.len() <= super::super::regions::MAX_BOUNDARIES);
            let mut joined = Vec::with_capacity(data.len());
            let p = ChunkerParams::default();
            let mut chunker = Chunker::with_boundaries(&data[..], &p, bounds);
            while let Some((_, chunk)) = chunker.next_chunk().unwrap() {
                joined.extend_from_slice(chunk);
            }
            assert!(joined == data, "case {i}: the chunks join back to the file");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "3000 mutated files took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_small_stream_is_one_chunk_and_an_empty_one_none() {
        let data = pseudo_random(1000, 3);
        assert_eq!(cut_points(&data), vec![0]);
        assert_eq!(cut_points(&[]), Vec::<u64>::new());
    }

    /// Chunks of `data` by `params`' version: (stored id stand-in, transformed?).
    fn file_chunks(data: &[u8], params: &ChunkerParams) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let mut joined = Vec::new();
        chunk_file(
            &mut std::io::Cursor::new(data),
            data.len() as u64,
            params,
            |c| {
                joined.extend_from_slice(c.original);
                out.push((c.stored.to_vec(), c.transform.is_some()));
                Ok::<(), std::io::Error>(())
            },
        )
        .unwrap();
        assert_eq!(joined, data, "the chunks join to the file");
        out
    }

    /// What versions 1 and 2 share between an Ogg file and its copy whose header grew
    /// by three pages (every audio page renumbered): version 1 nothing of the audio,
    /// version 2 all of it.
    #[test]
    fn only_version_2_shares_the_audio_of_an_ogg_retag_that_renumbered_its_pages() {
        let original = crate::ingest::tests::ogg_file(0);
        let retagged = crate::ingest::tests::ogg_file(3);
        let shared = |params: &ChunkerParams| {
            let a = file_chunks(&original, params);
            let b = file_chunks(&retagged, params);
            let stored: u64 = b
                .iter()
                .filter(|c| !a.contains(c))
                .map(|c| c.0.len() as u64)
                .sum();
            (stored, b.iter().filter(|c| c.1).count())
        };
        let (v1_stored, v1_transformed) = shared(&ChunkerParams::v1());
        let (v2_stored, v2_transformed) = shared(&ChunkerParams::default());
        assert_eq!(v1_transformed, 0);
        assert!(v1_stored > retagged.len() as u64 * 9 / 10, "{v1_stored}");
        assert!(v2_transformed >= 4);
        assert!(v2_stored < 200_000, "{v2_stored}");
    }

    #[test]
    fn a_written_stream_is_cut_exactly_as_the_same_bytes_read() {
        let params = ChunkerParams {
            algorithm: ChunkerAlgorithm::FastCdc2020,
            min_size: 4 << 10,
            avg_size: 16 << 10,
            max_size: 64 << 10,
        };
        for (len, seed) in [(0usize, 1u64), (100, 2), (70_000, 3), (3 << 20, 4)] {
            let data = pseudo_random(len, seed);
            let mut read = Vec::new();
            let mut chunker = Chunker::new(&data[..], &params);
            while let Some((_, c)) = chunker.next_chunk().unwrap() {
                read.push(c.to_vec());
            }
            // Written in pieces of every size: 1 byte to several chunks at once.
            let mut written = Vec::new();
            let mut writer = CutWriter::new(&params, |c: &[u8]| {
                written.push(c.to_vec());
                Ok(())
            });
            let mut at = 0;
            let mut piece = 1usize;
            while at < data.len() {
                let end = (at + piece).min(data.len());
                std::io::Write::write_all(&mut writer, &data[at..end]).unwrap();
                at = end;
                piece = (piece * 7 + 3) % 200_000 + 1;
            }
            writer.finish().unwrap();
            assert_eq!(written.len(), read.len(), "{len} bytes");
            assert!(
                written == read,
                "{len} bytes: the same chunks in the same order"
            );
            assert_eq!(written.concat(), data);
        }
    }
}
