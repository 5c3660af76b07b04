//! A file view that symphonia reads through, with hard limits.
//!
//! Why: symphonia's readers run on untrusted bytes, and a crafted header can make a
//! reader loop over the file or read far more than a header probe should. Every byte
//! symphonia reads passes through [`BoundedSource`], which fails the read (an ordinary
//! I/O error that symphonia propagates) once a byte budget or a wall-clock deadline is
//! spent. That turns a would-be hang into a bounded, reportable error without trusting
//! any parser to police itself.

use std::io::{self, Read, Seek, SeekFrom};
use std::time::Instant;

use symphonia::core::io::MediaSource;

/// Anything the probe can read from: a file, or a track read back from the chunk store.
/// (`Send + Sync` because symphonia's `MediaSource` requires it.)
pub(crate) trait Source: Read + Seek + Send + Sync {}
impl<T: Read + Seek + Send + Sync + ?Sized> Source for T {}

/// What a read was refused for; recovered from the `io::Error` to word the report.
pub(crate) const BUDGET_MESSAGE: &str = "read budget exhausted";
pub(crate) const DEADLINE_MESSAGE: &str = "time limit exceeded";

/// A window `[start, start + len)` of a source, read with a byte budget and a deadline.
///
/// The window lets a second probe attempt start after a leading tag (an ID3v2 block
/// the tag parser choked on) while the format reader still sees offset 0 as the
/// start of the stream.
pub(crate) struct BoundedSource<'a> {
    file: &'a mut dyn Source,
    start: u64,
    len: u64,
    /// Position relative to `start`.
    pos: u64,
    remaining_budget: u64,
    deadline: Instant,
    /// Bytes shown in place of the file's at a position in the window.
    overlay: Option<(u64, [u8; 4])>,
}

impl<'a> BoundedSource<'a> {
    pub(crate) fn new(
        file: &'a mut dyn Source,
        start: u64,
        len: u64,
        budget: u64,
        deadline: Instant,
    ) -> io::Result<Self> {
        file.seek(SeekFrom::Start(start))?;
        Ok(Self {
            file,
            start,
            len,
            pos: 0,
            remaining_budget: budget,
            deadline,
            overlay: None,
        })
    }

    /// Shows `bytes` in place of the 4 bytes at `offset` (within the window): the
    /// second attempt on a WAV whose RIFF size contradicts its chunks reads it as
    /// "unknown size" rather than giving up.
    pub(crate) fn with_overlay(mut self, offset: u64, bytes: [u8; 4]) -> Self {
        self.overlay = Some((offset, bytes));
        self
    }
}

impl Read for BoundedSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() > self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, DEADLINE_MESSAGE));
        }
        if self.remaining_budget == 0 {
            return Err(io::Error::other(BUDGET_MESSAGE));
        }
        let left_in_window = self.len.saturating_sub(self.pos);
        let want = (buf.len() as u64)
            .min(left_in_window)
            .min(self.remaining_budget);
        if want == 0 {
            return Ok(0);
        }
        // `want` fits in usize: it is at most buf.len().
        let n = self.file.read(&mut buf[..want as usize])?;
        if let Some((at, bytes)) = self.overlay {
            for (i, b) in bytes.iter().enumerate() {
                let p = at + i as u64;
                if p >= self.pos && p < self.pos + n as u64 {
                    buf[(p - self.pos) as usize] = *b;
                }
            }
        }
        self.pos += n as u64;
        self.remaining_budget -= n as u64;
        Ok(n)
    }
}

impl Seek for BoundedSource<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target: i128 = match pos {
            SeekFrom::Start(p) => i128::from(p),
            SeekFrom::End(d) => i128::from(self.len) + i128::from(d),
            SeekFrom::Current(d) => i128::from(self.pos) + i128::from(d),
        };
        if target < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the stream",
            ));
        }
        // Seeking past the end is allowed (as for a File); reads there return 0.
        let target = u64::try_from(target).unwrap_or(u64::MAX);
        let absolute = self.start.saturating_add(target);
        self.file.seek(SeekFrom::Start(absolute))?;
        self.pos = target;
        Ok(target)
    }
}

impl MediaSource for BoundedSource<'_> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// Whether a symphonia error came from one of [`BoundedSource`]'s limits.
pub(crate) fn limit_hit(err: &symphonia::core::errors::Error) -> Option<&'static str> {
    if let symphonia::core::errors::Error::IoError(io) = err {
        let text = io.to_string();
        if text.contains(DEADLINE_MESSAGE) {
            return Some(DEADLINE_MESSAGE);
        }
        if text.contains(BUDGET_MESSAGE) {
            return Some(BUDGET_MESSAGE);
        }
    }
    None
}
