//! Content-defined chunking. A re-tagged copy of a file changes only the bytes
//! of its tags, so cut points chosen by content (FastCDC) realign right after
//! the change and every later chunk is shared with the original.

use std::io::Read;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkerAlgorithm {
    /// FastCDC 2020 as implemented by the `fastcdc` crate 3.x (normalization level 1).
    #[serde(rename = "fastcdc-2020")]
    FastCdc2020,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        ChunkerParams {
            algorithm: ChunkerAlgorithm::FastCdc2020,
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
/// buffer holds. Memory: a buffer of twice the maximum chunk size.
pub struct Chunker<R> {
    reader: R,
    params: ChunkerParams,
    buf: Vec<u8>,
    /// `buf[start..filled]` holds bytes not yet handed out.
    start: usize,
    filled: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
}

impl<R: Read> Chunker<R> {
    pub fn new(reader: R, params: &ChunkerParams) -> Self {
        Chunker {
            reader,
            params: *params,
            buf: vec![0; 2 * params.max_size as usize],
            start: 0,
            filled: 0,
            eof: false,
            offset: 0,
        }
    }

    /// The next chunk as (stream offset, bytes), or `None` at the end.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        let max = self.params.max_size as usize;
        if self.filled - self.start < max && !self.eof {
            // Move the unread tail to the front only when the window would run
            // past the buffer: at most once per `max_size` bytes.
            if self.start + max > self.buf.len() {
                self.buf.copy_within(self.start..self.filled, 0);
                self.filled -= self.start;
                self.start = 0;
            }
            while self.filled - self.start < max && !self.eof {
                match self.reader.read(&mut self.buf[self.filled..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let available = (self.filled - self.start).min(max);
        if available == 0 {
            return Ok(None);
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

    #[test]
    fn a_small_stream_is_one_chunk_and_an_empty_one_none() {
        let data = pseudo_random(1000, 3);
        assert_eq!(cut_points(&data), vec![0]);
        assert_eq!(cut_points(&[]), Vec::<u64>::new());
    }
}
