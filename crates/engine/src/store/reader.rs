//! Random access to a stored file: `Read + Seek` over its ordered chunk list,
//! decrypting one chunk at a time in memory. Playback, seeking and metadata
//! rescans read tracks through this; no plaintext ever touches the disk.

use std::io::{self, Read, Seek, SeekFrom};

use super::TrackChunk;
use super::{ChunkStore, StoreError};

pub struct TrackReader<'a> {
    store: &'a ChunkStore,
    chunks: Vec<TrackChunk>,
    size: u64,
    pos: u64,
    /// Index into `chunks` and the decrypted bytes of the chunk last read.
    current: Option<(usize, Vec<u8>)>,
}

impl<'a> TrackReader<'a> {
    pub fn new(store: &'a ChunkStore, chunks: Vec<TrackChunk>) -> Self {
        let size = chunks.last().map_or(0, |c| c.offset + c.length);
        TrackReader {
            store,
            chunks,
            size,
            pos: 0,
            current: None,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    fn chunk_at(&self, pos: u64) -> Option<usize> {
        // Chunks are ordered by offset: binary search for the one containing pos.
        let i = self.chunks.partition_point(|c| c.offset + c.length <= pos);
        (i < self.chunks.len()).then_some(i)
    }
}

fn to_io(e: StoreError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Read for TrackReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let Some(i) = self.chunk_at(self.pos) else {
            return Ok(0);
        };
        if self.current.as_ref().is_none_or(|(ci, _)| *ci != i) {
            let data = self
                .store
                .read_track_chunk(&self.chunks[i])
                .map_err(to_io)?;
            self.current = Some((i, data));
        }
        let Some((_, data)) = &self.current else {
            return Ok(0);
        };
        let start = (self.pos - self.chunks[i].offset) as usize;
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for TrackReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the track",
            )),
        }
    }
}
