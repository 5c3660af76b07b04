//! The formats symphonia does not read ([`Reader::Lofty`] and [`Reader::Header`] rows
//! of the formats table): their stream properties from lofty or from our own header
//! parsers ([`super::headers`]), their tags through symphonia's tag readers
//! ([`tags::other_format_revisions`]), so every format's fields map the same way.
//!
//! None of them decodes here: `decodable` is false and the analysis says why.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use lofty::config::{ParseOptions, ParsingMode};
use lofty::file::AudioFile;

use super::headers::{self, Parsed};
use super::probe::{PROBE_READ_BUDGET, PROBE_TIME_LIMIT};
use super::source::{BoundedSource, Source};
use super::{MediaError, MediaInfo, panic_message, sniff, tags};
use crate::formats::{Format, LoftyType, Reader};

/// Reads a file the content named `format` (a lofty or header row): what could be read,
/// and notes on what could not. A header that cannot be read is a damaged file of its
/// format (Ok, with the reason), not "not audio": its magic number said what it is.
pub(crate) fn read(
    file: &mut dyn Source,
    file_len: u64,
    format: &'static Format,
    deadline: Instant,
) -> Result<(MediaInfo, Vec<String>), MediaError> {
    let start = sniff::skip_leading_id3v2(file, file_len)?;
    let parsed = match format.reader {
        Reader::Header(kind) => headers::read(kind, file, start, file_len)?,
        Reader::Lofty(kind) => with_lofty(file, start, file_len, kind, deadline)?,
        Reader::Symphonia(_) => Err("not a format of this reader".to_string()),
    };
    let mut info = MediaInfo {
        container: Some(format.container.to_owned()),
        ..MediaInfo::default()
    };
    let mut notes = Vec::new();
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(reason) => {
            notes.push(format!("a damaged {} file: {reason}", format.display_name));
            Parsed::default()
        }
    };
    info.codec = parsed.codec.map(str::to_owned);
    info.sample_rate = parsed.sample_rate;
    info.channels = parsed.channels;
    info.bit_depth = parsed.bit_depth.filter(|b| *b > 0 && *b <= 64);
    info.duration_seconds = parsed.duration_seconds;
    info.bitrate = parsed.bitrate;
    notes.extend(parsed.notes);
    let (revisions, tag_notes) =
        tags::other_format_revisions(file, file_len, &parsed.id3v2, &parsed.tags);
    notes.extend(tag_notes);
    let gathered = tags::gather(&revisions, 0);
    info.tags = gathered.tags;
    info.artwork = gathered.artwork;
    notes.extend(gathered.notes);
    Ok((info, notes))
}

/// The stream properties lofty reads (tags are read as for every other format; lofty
/// gives Speex's comments, which sit in an Ogg packet of their own).
fn with_lofty(
    file: &mut dyn Source,
    start: u64,
    file_len: u64,
    kind: LoftyType,
    deadline: Instant,
) -> std::io::Result<Result<Parsed, String>> {
    let deadline = deadline.min(Instant::now() + PROBE_TIME_LIMIT);
    let first = lofty_attempt(file, start, file_len, kind, deadline)?;
    let Err(reason) = first else {
        return Ok(first);
    };
    // lofty reads the trailing tags to find where the stream ends, and gives up on a
    // damaged one: the stream alone, without the ID3v1 tag and the APE footer.
    let mut end = file_len;
    let mut tail = [0u8; 8];
    if end >= 128 && sniff::read_at(file, end - 128, &mut tail[..3])? == 3 && &tail[..3] == b"TAG" {
        end -= 128;
    }
    if end >= 32 && sniff::read_at(file, end - 32, &mut tail)? == 8 && &tail == b"APETAGEX" {
        end -= 32;
    }
    if end == file_len || end <= start {
        return Ok(Err(reason));
    }
    Ok(
        lofty_attempt(file, start, end, kind, deadline)?.map(|mut parsed| {
            parsed.notes.push(format!(
                "the stream was read without its trailing tags: {reason}"
            ));
            parsed
        }),
    )
}

/// lofty over the window `[start, end)`.
fn lofty_attempt(
    file: &mut dyn Source,
    start: u64,
    end: u64,
    kind: LoftyType,
    deadline: Instant,
) -> std::io::Result<Result<Parsed, String>> {
    // Lofty reads the stream from its own start (after any leading ID3v2 tags, which it
    // would read as well) through our byte budget and deadline.
    let mut source = BoundedSource::new(file, start, end - start, PROBE_READ_BUDGET, deadline)?;
    let options = ParseOptions::new()
        .read_properties(true)
        .read_tags(kind == LoftyType::Speex)
        .read_cover_art(false)
        .parsing_mode(ParsingMode::BestAttempt);
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Parsed, String> {
        let e = |e: lofty::error::FileParseError| e.to_string();
        Ok(match kind {
            LoftyType::Ape => {
                let f = lofty::ape::ApeFile::read_from(&mut source, options).map_err(e)?;
                let p = f.properties();
                Parsed {
                    codec: Some("ape"),
                    sample_rate: Some(p.sample_rate()),
                    channels: Some(u32::from(p.channels())),
                    bit_depth: Some(u32::from(p.bit_depth())),
                    duration_seconds: Some(p.duration().as_secs_f64()),
                    ..Parsed::default()
                }
            }
            LoftyType::WavPack => {
                let f = lofty::wavpack::WavPackFile::read_from(&mut source, options).map_err(e)?;
                let p = f.properties();
                Parsed {
                    codec: Some("wavpack"),
                    sample_rate: Some(p.sample_rate()),
                    channels: Some(u32::from(p.channels())),
                    bit_depth: p.is_lossless().then(|| u32::from(p.bit_depth())),
                    duration_seconds: Some(p.duration().as_secs_f64()),
                    ..Parsed::default()
                }
            }
            LoftyType::Musepack => {
                use lofty::musepack::MpcProperties;
                let f = lofty::musepack::MpcFile::read_from(&mut source, options).map_err(e)?;
                let (codec, rate, channels, duration) = match f.properties() {
                    MpcProperties::Sv8(p) => {
                        ("musepack8", p.sample_rate(), p.channels(), p.duration())
                    }
                    MpcProperties::Sv7(p) => {
                        ("musepack7", p.sample_rate(), p.channels(), p.duration())
                    }
                    MpcProperties::Sv4to6(p) => {
                        ("musepack", p.sample_rate(), p.channels(), p.duration())
                    }
                };
                Parsed {
                    codec: Some(codec),
                    sample_rate: Some(rate),
                    channels: Some(u32::from(channels)),
                    duration_seconds: Some(duration.as_secs_f64()),
                    ..Parsed::default()
                }
            }
            LoftyType::Speex => {
                let f = lofty::ogg::SpeexFile::read_from(&mut source, options).map_err(e)?;
                let p = f.properties();
                let tags = f
                    .vorbis_comments()
                    .items()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                Parsed {
                    codec: Some("speex"),
                    sample_rate: Some(p.sample_rate()),
                    channels: Some(u32::from(p.channels())),
                    duration_seconds: Some(p.duration().as_secs_f64()),
                    tags,
                    ..Parsed::default()
                }
            }
        })
    }));
    Ok(match outcome {
        Ok(Ok(mut parsed)) => {
            parsed.sample_rate = parsed.sample_rate.filter(|r| *r > 0);
            parsed.channels = parsed.channels.filter(|c| *c > 0);
            parsed.duration_seconds = parsed.duration_seconds.filter(|d| *d > 0.0);
            Ok(parsed)
        }
        Ok(Err(reason)) => Err(reason),
        Err(payload) => Err(format!(
            "the parser crashed ({})",
            panic_message(payload.as_ref())
        )),
    })
}
