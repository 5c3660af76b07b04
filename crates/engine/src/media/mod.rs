//! Reading audio files: technical metadata, tags, artwork (symphonia), and, for the
//! background analysis jobs, waveform peaks and a decoded-audio fingerprint.
//!
//! Two entry points, both synchronous (callers run them on a worker thread):
//! - [`probe`]: headers only, milliseconds per file; run by the import for every file.
//! - [`analyze`]: a full decode, roughly ten times slower; run later as a queued job
//!   ("import fast, analyse after").
//!
//! # Trust
//! Every byte here is untrusted, and the parsers (symphonia's and ours) are large. So:
//! - symphonia runs under `catch_unwind`: a parser panic becomes
//!   [`MediaError::Panicked`] or, when the file was still recognized, a
//!   `metadata_error`. (This needs `panic = "unwind"`, the default; the panic message
//!   still reaches the global panic hook, i.e. stderr.)
//! - symphonia reads through a [`source::BoundedSource`] with a byte budget and a
//!   deadline, so no input can make a probe read or run without bound.
//! - our own header walkers (MP3 frames, RIFF chunks) have fixed iteration caps.
//! - tag text, tag counts and artwork size are capped (see [`tags`]).
//!
//! # Outcomes
//! - `Err(NotAudio)`: no reader recognizes the file (random bytes, a text file, an
//!   empty file, a container without an audio track).
//! - `Ok` with `metadata_error: None`: everything read.
//! - `Ok` with `metadata_error: Some(reason)`: recognized audio (the container is named)
//!   whose headers or tags could not all be read: truncated, damaged, or a codec
//!   symphonia cannot read. Whatever could be read is filled in.
//!
//! # Why symphonia 0.6
//! 0.6.1 reads ID3v1 and APEv1/v2 (0.5 has no APE reader and never looks at the end
//! of a file), splits "3/12" track and disc numbers into number and total, detects
//! image types, and saturates the MP3 gapless arithmetic that overflows (a panic in
//! debug builds) in 0.5.5 on a crafted Xing header.

mod analyze;
mod headers;
mod mpeg;
mod others;
mod probe;
mod sniff;
mod source;
mod tags;
mod thumbnail;

#[cfg(test)]
pub(crate) mod samples;
#[cfg(test)]
mod tests;

use std::io::{Read, Seek};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use analyze::{ANALYZER_VERSION, Analysis, Fingerprint, FingerprintKind, WAVEFORM_BUCKETS};
pub use thumbnail::{THUMBNAIL_SIDE, Thumbnail};

/// The version of what [`probe`] extracts. Bump it when the probe reads more or reads
/// differently, so the catalog can find tracks read by an older version and read
/// them again.
///
/// 2: the formats of issue #18 are read (WavPack, Monkey's Audio, Musepack, True Audio,
/// DSF, DSDIFF and WMA tracks imported before were stored unread), and 3GP tags.
pub const EXTRACTOR_VERSION: i64 = 2;

/// What [`probe`] learns about an audio file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Short container name: the formats table's (`crate::formats::Format::container`:
    /// "wav", "aiff", "flac", "mp4", "mp3", "ogg", "aac" for ADTS, ...), else symphonia's
    /// reader's. Set whenever the file was recognized.
    pub container: Option<String>,
    /// Short codec name in ffprobe's spelling: "pcm_s16le", "pcm_s24le", "pcm_s16be",
    /// "flac", "alac", "aac", "mp3", "vorbis", "opus", ...
    pub codec: Option<String>,
    pub duration_seconds: Option<f64>,
    pub sample_rate: Option<u32>,
    /// Bits per sample, for PCM and lossless codecs; `None` for lossy ones.
    pub bit_depth: Option<u32>,
    pub channels: Option<u32>,
    /// Bits per second: exact for PCM, otherwise the average over the audio stream
    /// (MP3) or the whole file (other codecs).
    pub bitrate: Option<u32>,
    /// Symphonia has a decoder for this codec (so [`analyze`] can run).
    pub decodable: bool,
    pub tags: Tags,
    /// The front cover, or the first embedded picture.
    pub artwork: Option<Artwork>,
    /// Recognized audio whose metadata could not fully be read: the reason.
    pub metadata_error: Option<String>,
}

/// The standard tag fields, listed once: [`Tags`] is made from this list, and so
/// are the catalog's tag columns (`catalog::tracks`) and the copy from one to the
/// other at import. `with_tag_fields!(m! { prefix })` calls `m! { prefix fields }`.
macro_rules! with_tag_fields {
    ($callback:ident ! { $($prefix:tt)* }) => {
        $callback! {
            $($prefix)*
            title: Option<String>,
            artist: Option<String>,
            album: Option<String>,
            album_artist: Option<String>,
            track_number: Option<u32>,
            track_total: Option<u32>,
            disc_number: Option<u32>,
            disc_total: Option<u32>,
            /// From the date tag, else from the year tag.
            year: Option<i32>,
            /// The date as written ("1999", "1999-05-02"), else the year.
            date: Option<String>,
            genre: Option<String>,
            composer: Option<String>,
            comment: Option<String>,
        }
    };
}
pub(crate) use with_tag_fields;

/// `copy_tag_fields!(dst, src)`: each standard tag field of `src` moved into `dst`.
macro_rules! copy_tag_fields {
    ($dst:expr, $src:expr) => {{
        use $crate::media::copy_tag_fields_each;
        $crate::media::with_tag_fields!(copy_tag_fields_each! { $dst, $src, });
    }};
}
macro_rules! copy_tag_fields_each {
    ($dst:expr, $src:expr, $($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        $($dst.$field = $src.$field;)*
    };
}
pub(crate) use {copy_tag_fields, copy_tag_fields_each};

macro_rules! tags_struct {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// The tags of a file, whatever format they were stored in.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct Tags {
            $($(#[$doc])* pub $field: $ty,)*
            /// Every other textual tag, as (raw key, value), in file order. Binary
            /// values (private frames, CD TOCs) are left out. ID3v2 frames with a
            /// description are keyed "FRAME:description" (e.g. "TXXX:MusicBrainz
            /// Album Id").
            pub other: Vec<(String, String)>,
        }
    };
}
with_tag_fields!(tags_struct! {});

/// An embedded picture.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artwork {
    /// "image/jpeg", "image/png", ...; "application/octet-stream" when unknown.
    pub mime_type: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Artwork {
    // The bytes are noise in logs and test failures: show their size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artwork")
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// No reader recognizes the file.
    #[error("not a recognized audio file: {reason}")]
    NotAudio { reason: String },
    /// The file could not be opened or read (not a property of its contents).
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    /// A parser crashed on this file and nothing could be salvaged.
    #[error("the audio parser failed on this file: {message}")]
    Panicked { message: String },
    /// [`analyze`] only: the audio cannot be decoded (no decoder for the codec, or the
    /// stream is damaged beyond the first packets).
    #[error("the audio cannot be decoded: {reason}")]
    Undecodable { reason: String },
}

impl MediaError {
    /// A short, stable name for the kind of error (for the `{kind, message}` IPC form).
    pub fn kind(&self) -> &'static str {
        match self {
            MediaError::NotAudio { .. } => "not_audio",
            MediaError::Io(_) => "io",
            MediaError::Panicked { .. } => "parser_panicked",
            MediaError::Undecodable { .. } => "undecodable",
        }
    }
}

/// Reads a file's headers: container, codec, duration, rate, depth, channels, bitrate,
/// tags and cover art. Milliseconds per file: no full decode (one packet at most, for
/// MP4, whose headers leave the channel count to the decoder).
pub fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    probe::probe(path)
}

/// [`probe`] over any seekable reader of `size` bytes: a track read back from the
/// chunk store. `extension` (without the dot) is a hint only.
pub fn probe_reader<R: Read + Seek + Send + Sync>(
    reader: &mut R,
    size: u64,
    extension: Option<&str>,
) -> Result<MediaInfo, MediaError> {
    probe::probe_source(reader, size, extension)
}

/// The catalog's format name for a file: what its content says (magic numbers, else a
/// frame sync; see [`crate::formats`]), else what its `extension` (without the dot)
/// says. Reads a few bytes from the start (a few kilobytes for a frame sync); leaves the
/// reader anywhere.
pub fn format_of<R: Read + Seek + Send + Sync>(
    reader: &mut R,
    size: u64,
    extension: Option<&str>,
) -> std::io::Result<String> {
    let by_name = extension.and_then(crate::formats::by_extension);
    Ok(match sniff::identify(reader, size, by_name, true)? {
        Some(format) => format.id.to_owned(),
        None => crate::formats::for_extension(extension.unwrap_or("")),
    })
}

/// Decodes the whole file: waveform peaks and a fingerprint of the audio that ignores
/// tags and container. About a tenth of real-time per core for MP3; run it as a
/// background job.
pub fn analyze(path: &Path) -> Result<Analysis, MediaError> {
    analyze::analyze(path)
}

/// [`analyze`] over any seekable reader of `size` bytes (a stored track: the analysis
/// runs after import, when the source file may be gone).
pub fn analyze_reader<R: Read + Seek + Send + Sync>(
    reader: &mut R,
    size: u64,
    extension: Option<&str>,
) -> Result<Analysis, MediaError> {
    analyze::analyze_source(reader, size, extension)
}

/// A small JPEG of a cover-art picture for lists ([`THUMBNAIL_SIDE`] px on the
/// longest side). The picture is decoded with size and allocation limits.
pub fn thumbnail(picture: &[u8]) -> Result<Thumbnail, MediaError> {
    thumbnail::thumbnail(picture)
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}
