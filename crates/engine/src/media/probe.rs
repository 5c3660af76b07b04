//! The header probe behind [`super::probe`].
//!
//! Flow: symphonia's full probe (formats and tag readers); if that fails or panics, a
//! second probe with format readers only, started after any leading ID3v2 tag (a
//! broken tag must not hide good audio) or, for a WAV, with its RIFF size read as
//! "unknown"; if that fails too, our own magic-number sniff decides between "damaged
//! audio" (Ok, `metadata_error`) and `NotAudio`. Then checks symphonia cannot make:
//! the MP3 frame count when no VBR header gives it, and PCM data sizes against the
//! bytes really present.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO;
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::{Hint, Probe};
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::{MetadataOptions, MetadataRevision};

use super::source::{BoundedSource, Source, limit_hit};
use super::{MediaError, MediaInfo, mpeg, others, panic_message, sniff, tags};
use crate::formats;

/// Wall-clock limit for one probe (a header probe takes milliseconds).
pub(crate) const PROBE_TIME_LIMIT: Duration = Duration::from_secs(10);
/// Bytes symphonia may read in one probe attempt: headers, tags with artwork, and the
/// tail of an Ogg stream. Skipping over audio data is a seek, not a read.
pub(crate) const PROBE_READ_BUDGET: u64 = 128 * 1024 * 1024;
/// Packets read to find the channel count of an MP4 track (the first decodable one
/// answers; a damaged stream gets a few tries).
const MAX_PACKETS_FOR_CHANNELS: usize = 32;
/// An average bitrate below this means the header's duration is a lie.
const MIN_PLAUSIBLE_BITRATE: f64 = 200.0;

pub(crate) fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(MediaError::NotAudio {
            reason: "not a regular file".into(),
        });
    }
    let ext = path.extension().and_then(|e| e.to_str());
    probe_source(&mut file, meta.len(), ext)
}

pub(crate) fn probe_source(
    source: &mut dyn Source,
    len: u64,
    ext: Option<&str>,
) -> Result<MediaInfo, MediaError> {
    if len == 0 {
        return Err(MediaError::NotAudio {
            reason: "the file is empty".into(),
        });
    }
    let deadline = Instant::now() + PROBE_TIME_LIMIT;
    // Our own code below does not panic on input, but a bug must not take the import
    // down with it either.
    match catch_unwind(AssertUnwindSafe(|| probe_inner(source, len, deadline, ext))) {
        Ok(result) => result,
        Err(payload) => Err(MediaError::Panicked {
            message: panic_message(payload.as_ref()),
        }),
    }
}

/// Why a symphonia attempt failed.
enum Failure {
    /// No format reader recognized the stream.
    NoFormat,
    /// Recognized, but reading failed.
    Error(String),
    /// A parser panicked.
    Panic(String),
    /// Recognized, but no audio track.
    NoAudioTrack(&'static str),
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::NoFormat => "no reader recognizes its headers".into(),
            Failure::Error(e) => e.clone(),
            Failure::Panic(m) => format!("the parser crashed ({m})"),
            Failure::NoAudioTrack(c) => format!("the {c} file has no audio track"),
        }
    }
}

fn probe_inner(
    file: &mut dyn Source,
    file_len: u64,
    deadline: Instant,
    ext: Option<&str>,
) -> Result<MediaInfo, MediaError> {
    // Formats symphonia does not read: lofty or our own header parsers.
    if let Some(format) = sniff::other_format(file, file_len, ext)? {
        let (mut info, mut notes) = others::read(file, file_len, format, deadline)?;
        check_plausible(&mut info, file_len, &mut notes);
        if info.bitrate.is_none() {
            info.bitrate = average_bitrate(file_len, info.duration_seconds);
        }
        if !notes.is_empty() {
            info.metadata_error = Some(notes.join("; "));
        }
        return Ok(info);
    }

    // Tags symphonia's WAV reader drops (read with its parsers, outside the probe).
    let (extra, mut notes) = tags::riff_revisions(file, file_len);

    let first = attempt(file, Pass::full(file_len, &extra), deadline, ext);
    let mut info = match first {
        Ok(info) => info,
        Err(Failure::NoAudioTrack(c)) => return Err(no_audio_track(c)),
        Err(first) => {
            // Second chance with the format readers alone. A WAV is read with its RIFF
            // size taken as unknown (writers that crash or stream leave it wrong); any
            // other file from after its leading ID3v2 tags, so a broken tag cannot hide
            // good audio.
            let second = if sniff::is_riff_wave(file)? {
                let pass = Pass {
                    start: 0,
                    len: file_len,
                    tag_readers: false,
                    extra_tags: &extra,
                    riff_size_unknown: true,
                };
                attempt(file, pass, deadline, ext)
                    .map(|info| (info, "the file's headers are inconsistent"))
            } else {
                let start = sniff::skip_leading_id3v2(file, file_len)?;
                let pass = Pass {
                    start,
                    len: file_len - start,
                    tag_readers: false,
                    extra_tags: &[],
                    riff_size_unknown: false,
                };
                attempt(file, pass, deadline, ext).map(|info| (info, "the tags could not be read"))
            };
            match second {
                Ok((mut info, what)) => {
                    info.metadata_error = Some(format!("{what}: {}", first.describe()));
                    info
                }
                Err(Failure::NoAudioTrack(c)) => return Err(no_audio_track(c)),
                Err(second) => return damaged_or_not_audio(file, file_len, first, second),
            }
        }
    };

    notes.splice(0..0, info.metadata_error.take());
    // 3GP keeps its tags in 3GPP asset boxes, which symphonia's MP4 reader skips.
    if info.container.as_deref() == Some("mp4") && info.tags == super::Tags::default() {
        let pairs = super::headers::mp4_3gpp_assets(file, file_len)?;
        if let Some(revision) = tags::revision_from_pairs(&pairs) {
            info.tags = tags::gather(&[revision], 0).tags;
        }
    }
    fix_durations(&mut info, file, file_len, deadline, &mut notes)?;
    check_plausible(&mut info, file_len, &mut notes);
    if info.bitrate.is_none() {
        info.bitrate = average_bitrate(file_len, info.duration_seconds);
    }
    if !notes.is_empty() {
        info.metadata_error = Some(notes.join("; "));
    }
    Ok(info)
}

/// The format readers alone: used when a tag reader broke the full probe.
fn formats_only_probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        use symphonia::default::formats::*;
        let mut probe = Probe::default();
        probe.register_format::<AdtsReader<'_>>();
        probe.register_format::<CafReader<'_>>();
        probe.register_format::<FlacReader<'_>>();
        probe.register_format::<IsoMp4Reader<'_>>();
        probe.register_format::<MpaReader<'_>>();
        probe.register_format::<AiffReader<'_>>();
        probe.register_format::<WavReader<'_>>();
        probe.register_format::<OggReader<'_>>();
        probe.register_format::<MkvReader<'_>>();
        probe
    })
}

fn no_audio_track(container: &str) -> MediaError {
    MediaError::NotAudio {
        reason: format!("the {container} file has no audio track"),
    }
}

/// Both symphonia passes failed: a file whose magic number we know is damaged audio
/// (Ok, with the reason); anything else is not audio.
fn damaged_or_not_audio(
    file: &mut dyn Source,
    file_len: u64,
    first: Failure,
    second: Failure,
) -> Result<MediaInfo, MediaError> {
    // A frame sync is only worth trusting when some reader took the file for a stream.
    let reader_matched =
        !matches!(first, Failure::NoFormat) || !matches!(second, Failure::NoFormat);
    let sniffed = sniff::sniff_container(file, file_len, reader_matched)?;
    let reason = match (&first, &second) {
        (Failure::NoFormat, s) => s.describe(),
        (f, _) => f.describe(),
    };
    match sniffed {
        Some(container) => Ok(MediaInfo {
            container: Some(container.to_owned()),
            metadata_error: Some(format!("a damaged {container} file: {reason}")),
            ..MediaInfo::default()
        }),
        None => match first {
            Failure::Panic(message) => Err(MediaError::Panicked { message }),
            _ => Err(MediaError::NotAudio { reason }),
        },
    }
}

/// What one symphonia pass reads, and how.
struct Pass<'t> {
    /// The window of the file the pass sees as the whole stream.
    start: u64,
    len: u64,
    /// Whether symphonia's tag readers (ID3v2 in front, APE and ID3v1 behind) run.
    tag_readers: bool,
    /// Tag blocks read outside symphonia (RIFF INFO and ID3 chunks).
    extra_tags: &'t [MetadataRevision],
    /// Present the RIFF size as 0xFFFFFFFF ("unknown").
    riff_size_unknown: bool,
}

impl<'t> Pass<'t> {
    fn full(len: u64, extra_tags: &'t [MetadataRevision]) -> Self {
        Pass {
            start: 0,
            len,
            tag_readers: true,
            extra_tags,
            riff_size_unknown: false,
        }
    }
}

/// One symphonia pass, panics caught.
fn attempt(
    file: &mut dyn Source,
    pass: Pass<'_>,
    deadline: Instant,
    ext: Option<&str>,
) -> Result<MediaInfo, Failure> {
    let mut source = BoundedSource::new(file, pass.start, pass.len, PROBE_READ_BUDGET, deadline)
        .map_err(|e| Failure::Error(e.to_string()))?;
    if pass.riff_size_unknown {
        source = source.with_overlay(4, [0xff; 4]);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mss = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let probe = if pass.tag_readers {
            symphonia::default::get_probe()
        } else {
            formats_only_probe()
        };
        let reader = probe.probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        );
        match reader {
            Ok(mut reader) => read_info(reader.as_mut(), pass.extra_tags),
            Err(SymError::Unsupported(msg)) if msg.contains("no suitable format reader") => {
                Err(Failure::NoFormat)
            }
            Err(e) => Err(Failure::Error(describe_error(&e))),
        }
    }));
    match outcome {
        Ok(result) => result,
        Err(payload) => Err(Failure::Panic(panic_message(payload.as_ref()))),
    }
}

fn describe_error(e: &SymError) -> String {
    match limit_hit(e) {
        Some(limit) => format!("gave up reading the file: {limit}"),
        None => e.to_string(),
    }
}

/// Everything symphonia's reader knows about the audio track.
fn read_info(
    reader: &mut dyn FormatReader,
    extra_tags: &[MetadataRevision],
) -> Result<MediaInfo, Failure> {
    let container = container_name(reader);
    let track = reader
        .default_track(TrackType::Audio)
        .or_else(|| reader.first_track(TrackType::Audio))
        .cloned();
    let Some(track) = track else {
        return Err(Failure::NoAudioTrack(container_static(reader)));
    };
    let mut params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .unwrap_or_default();

    let registered = symphonia::default::get_codecs().get_audio_decoder(params.codec);
    let decodable = params.codec != CODEC_ID_NULL_AUDIO && registered.is_some();
    let codec = codec_name(params.codec)
        .map(str::to_owned)
        .or_else(|| registered.map(|r| r.codec.info.short_name.to_ascii_lowercase()));

    // Tags: the log holds what the probe read before the container (ID3v2), after it
    // (APE, ID3v1) and what the container itself carries.
    let mut revisions: Vec<MetadataRevision> = Vec::new();
    {
        let mut log = reader.metadata();
        while let Some(rev) = log.pop() {
            revisions.push(rev);
        }
        if let Some(rev) = log.current() {
            revisions.push(rev.clone());
        }
    }
    for extra in extra_tags {
        if !revisions
            .iter()
            .any(|r| r.info.metadata == extra.info.metadata)
        {
            revisions.push(extra.clone());
        }
    }
    let gathered = tags::gather(&revisions, track.id);
    let mut notes = gathered.notes;

    // MP4 leaves the channel count to the decoder: decode one packet.
    if decodable
        && (params.channels.is_none() || params.sample_rate.is_none())
        && let Err(e) = decode_first_packet(reader, &track, &mut params)
    {
        notes.push(format!("could not decode a first packet: {e}"));
    }

    if params.codec == CODEC_ID_ALAC && params.bits_per_sample.is_none() {
        params.bits_per_sample = params.extra_data.as_deref().and_then(alac_bit_depth);
    }

    let sample_rate = params.sample_rate.filter(|r| *r > 0);
    let lossless_or_pcm = codec_is_lossless(params.codec);
    let bit_depth = if lossless_or_pcm {
        params
            .bits_per_sample
            .or(params.bits_per_coded_sample)
            .filter(|b| *b > 0 && *b <= 64)
    } else {
        None
    };
    let channels = params
        .channels
        .as_ref()
        .map(|c| c.count() as u32)
        .filter(|c| *c > 0);
    // Matroska gives the length of the segment, not of the track.
    let duration_seconds = track_duration(&track, sample_rate).or_else(|| {
        let media = reader.media_info();
        match (media.duration, media.time_base) {
            (Some(d), Some(tb)) => tb
                .calc_duration(d)
                .map(|t| t.as_secs_f64())
                .filter(|d| d.is_finite() && *d > 0.0),
            _ => None,
        }
    });
    let bitrate = match (is_pcm(params.codec), sample_rate, bit_depth, channels) {
        (true, Some(r), Some(b), Some(c)) => {
            u32::try_from(u64::from(r) * u64::from(b) * u64::from(c)).ok()
        }
        _ => None,
    };

    Ok(MediaInfo {
        container: Some(container),
        codec,
        duration_seconds,
        sample_rate,
        bit_depth,
        channels,
        bitrate,
        decodable,
        tags: gathered.tags,
        artwork: gathered.artwork,
        metadata_error: if notes.is_empty() {
            None
        } else {
            Some(notes.join("; "))
        },
    })
}

/// Decodes packets of `track` until one yields audio, and fills in what the decoder
/// learned (channels, rate).
fn decode_first_packet(
    reader: &mut dyn FormatReader,
    track: &Track,
    params: &mut AudioCodecParameters,
) -> Result<(), String> {
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| describe_error(&e))?;
    let mut last_error = String::from("no packet in the stream");
    for _ in 0..MAX_PACKETS_FOR_CHANNELS {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return Err(describe_error(&e)),
        };
        if packet.track_id != track.id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                if params.channels.is_none() && spec.channels().count() > 0 {
                    params.channels = Some(spec.channels().clone());
                }
                if params.sample_rate.is_none() && spec.rate() > 0 {
                    params.sample_rate = Some(spec.rate());
                }
                if params.bits_per_sample.is_none() {
                    params.bits_per_sample = decoder.codec_params().bits_per_sample;
                }
                return Ok(());
            }
            Err(SymError::DecodeError(e)) => last_error = e.to_string(),
            Err(e) => return Err(describe_error(&e)),
        }
    }
    Err(last_error)
}

/// The bit depth in an ALAC "magic cookie" (the MP4 reader does not copy it into the
/// codec parameters). The cookie may follow `frma` and `alac` atom headers.
fn alac_bit_depth(cookie: &[u8]) -> Option<u32> {
    let mut c = cookie;
    for atom in [b"frma", b"alac"] {
        if c.get(4..8) == Some(atom.as_slice()) {
            c = c.get(12..)?;
        }
    }
    // frameLength (u32), compatibleVersion (u8), bitDepth (u8), ...
    let depth = u32::from(*c.get(5)?);
    (c.len() >= 24 && (8..=32).contains(&depth)).then_some(depth)
}

/// The track's length in seconds, from its frame count or its duration and time base.
fn track_duration(track: &Track, sample_rate: Option<u32>) -> Option<f64> {
    let from_frames = match (track.num_frames, sample_rate) {
        (Some(n), Some(r)) if r > 0 => Some(n as f64 / f64::from(r)),
        _ => None,
    };
    let from_duration = match (track.duration, track.time_base) {
        (Some(d), Some(tb)) => tb.calc_duration(d).map(|t| t.as_secs_f64()),
        _ => None,
    };
    from_frames
        .or(from_duration)
        .filter(|d| d.is_finite() && *d > 0.0)
}

/// Corrections to symphonia's duration where the headers do not give it or lie.
fn fix_durations(
    info: &mut MediaInfo,
    file: &mut dyn Source,
    file_len: u64,
    deadline: Instant,
    notes: &mut Vec<String>,
) -> Result<(), MediaError> {
    let container = info.container.clone();
    match container.as_deref() {
        Some("mp3" | "mp2" | "mp1") => fix_mpeg(info, file, file_len, deadline, notes)?,
        Some(container @ ("wav" | "aiff")) if is_pcm_name(info.codec.as_deref()) => {
            fix_pcm(info, file, file_len, container, notes)?
        }
        _ => {}
    }
    Ok(())
}

fn fix_mpeg(
    info: &mut MediaInfo,
    file: &mut dyn Source,
    file_len: u64,
    deadline: Instant,
    notes: &mut Vec<String>,
) -> Result<(), MediaError> {
    let start = sniff::skip_leading_id3v2(file, file_len)?;
    let Some(first) = mpeg::find_first_frame(file, start, file_len)? else {
        return Ok(());
    };
    let rate = first.header.sample_rate;
    let vbr_frames = first.vbr.and_then(|v| v.frames);
    // A VBR header whose byte count the file cannot hold: the file was cut short, and
    // the header's frame count (so symphonia's duration) is that of the whole file.
    let cut_short = first
        .vbr
        .and_then(|v| v.bytes)
        .is_some_and(|bytes| first.offset + bytes > file_len + 1024);
    if vbr_frames.is_some() && !cut_short {
        if let (Some(bytes), Some(d)) = (first.vbr.and_then(|v| v.bytes), info.duration_seconds) {
            info.bitrate = bitrate(bytes, d);
        }
        return Ok(());
    }
    let walk = mpeg::walk_frames(file, &first, file_len, deadline)?;
    if walk.frames == 0 {
        return Ok(());
    }
    let duration = walk.samples as f64 / f64::from(rate);
    info.duration_seconds = Some(duration);
    info.bitrate = bitrate(walk.audio_bytes, duration);
    if cut_short || walk.truncated {
        notes.push(format!(
            "the file is truncated: {} complete MPEG frames, the stream stops mid-frame or before its header's length",
            walk.frames
        ));
    }
    Ok(())
}

fn fix_pcm(
    info: &mut MediaInfo,
    file: &mut dyn Source,
    file_len: u64,
    container: &str,
    notes: &mut Vec<String>,
) -> Result<(), MediaError> {
    let (Some(rate), Some(bits), Some(channels)) =
        (info.sample_rate, info.bit_depth, info.channels)
    else {
        return Ok(());
    };
    let Some((data_start, claimed)) = sniff::pcm_data_chunk(file, file_len, container)? else {
        return Ok(());
    };
    let frame_bytes = u64::from(bits.div_ceil(8)) * u64::from(channels);
    if frame_bytes == 0 {
        return Ok(());
    }
    let present = file_len.saturating_sub(data_start);
    // 0xFFFFFFFF: a streaming writer did not know the size (valid: the data runs to
    // the end). 0: a writer that never finished (the data still runs to the end).
    let (usable, note) = match claimed {
        0xffff_ffff => (present, None),
        0 if present > 0 => (
            present,
            Some(format!(
                "the header gives no audio size (an unfinished recording?): {present} bytes of audio counted"
            )),
        ),
        c if c > present => (
            present,
            Some(format!(
                "the header claims {c} bytes of audio but the file holds {present}: truncated or damaged"
            )),
        ),
        c => (c, None),
    };
    let actual = (usable / frame_bytes) as f64 / f64::from(rate);
    if note.is_some() || info.duration_seconds.is_none() || claimed == 0xffff_ffff {
        info.duration_seconds = Some(actual).filter(|d| *d > 0.0);
    }
    notes.extend(note);
    Ok(())
}

/// Drops a duration no file of this size could hold (a header claiming days of audio
/// in a few kilobytes).
fn check_plausible(info: &mut MediaInfo, file_len: u64, notes: &mut Vec<String>) {
    if let Some(d) = info.duration_seconds
        && (!d.is_finite() || d <= 0.0 || (file_len as f64 * 8.0 / d) < MIN_PLAUSIBLE_BITRATE)
    {
        notes.push(format!(
            "the header claims a duration of {d:.0} s, impossible for a file of {file_len} bytes"
        ));
        info.duration_seconds = None;
        info.bitrate = None;
    }
}

fn bitrate(bytes: u64, seconds: f64) -> Option<u32> {
    if seconds <= 0.0 || !seconds.is_finite() {
        return None;
    }
    let bps = (bytes as f64 * 8.0 / seconds).round();
    (bps >= 1.0 && bps <= f64::from(u32::MAX)).then_some(bps as u32)
}

fn average_bitrate(file_len: u64, duration: Option<f64>) -> Option<u32> {
    duration.and_then(|d| bitrate(file_len, d))
}

/// The container name of what symphonia's reader read: the formats table's, else the
/// reader's own short name.
fn container_static(reader: &dyn FormatReader) -> &'static str {
    let info = reader.format_info();
    formats::container_of_reader(info.format).unwrap_or(info.short_name)
}

fn container_name(reader: &dyn FormatReader) -> String {
    container_static(reader).to_ascii_lowercase()
}

/// ffprobe's `codec_name` for the codecs symphonia knows.
fn codec_name(id: AudioCodecId) -> Option<&'static str> {
    const NAMES: &[(AudioCodecId, &str)] = &[
        (CODEC_ID_PCM_S32LE, "pcm_s32le"),
        (CODEC_ID_PCM_S32LE_PLANAR, "pcm_s32le_planar"),
        (CODEC_ID_PCM_S32BE, "pcm_s32be"),
        (CODEC_ID_PCM_S32BE_PLANAR, "pcm_s32be_planar"),
        (CODEC_ID_PCM_S24LE, "pcm_s24le"),
        (CODEC_ID_PCM_S24LE_PLANAR, "pcm_s24le_planar"),
        (CODEC_ID_PCM_S24BE, "pcm_s24be"),
        (CODEC_ID_PCM_S24BE_PLANAR, "pcm_s24be_planar"),
        (CODEC_ID_PCM_S16LE, "pcm_s16le"),
        (CODEC_ID_PCM_S16LE_PLANAR, "pcm_s16le_planar"),
        (CODEC_ID_PCM_S16BE, "pcm_s16be"),
        (CODEC_ID_PCM_S16BE_PLANAR, "pcm_s16be_planar"),
        (CODEC_ID_PCM_S8, "pcm_s8"),
        (CODEC_ID_PCM_S8_PLANAR, "pcm_s8_planar"),
        (CODEC_ID_PCM_U32LE, "pcm_u32le"),
        (CODEC_ID_PCM_U32LE_PLANAR, "pcm_u32le_planar"),
        (CODEC_ID_PCM_U32BE, "pcm_u32be"),
        (CODEC_ID_PCM_U32BE_PLANAR, "pcm_u32be_planar"),
        (CODEC_ID_PCM_U24LE, "pcm_u24le"),
        (CODEC_ID_PCM_U24LE_PLANAR, "pcm_u24le_planar"),
        (CODEC_ID_PCM_U24BE, "pcm_u24be"),
        (CODEC_ID_PCM_U24BE_PLANAR, "pcm_u24be_planar"),
        (CODEC_ID_PCM_U16LE, "pcm_u16le"),
        (CODEC_ID_PCM_U16LE_PLANAR, "pcm_u16le_planar"),
        (CODEC_ID_PCM_U16BE, "pcm_u16be"),
        (CODEC_ID_PCM_U16BE_PLANAR, "pcm_u16be_planar"),
        (CODEC_ID_PCM_U8, "pcm_u8"),
        (CODEC_ID_PCM_U8_PLANAR, "pcm_u8_planar"),
        (CODEC_ID_PCM_F32LE, "pcm_f32le"),
        (CODEC_ID_PCM_F32LE_PLANAR, "pcm_f32le_planar"),
        (CODEC_ID_PCM_F32BE, "pcm_f32be"),
        (CODEC_ID_PCM_F32BE_PLANAR, "pcm_f32be_planar"),
        (CODEC_ID_PCM_F64LE, "pcm_f64le"),
        (CODEC_ID_PCM_F64LE_PLANAR, "pcm_f64le_planar"),
        (CODEC_ID_PCM_F64BE, "pcm_f64be"),
        (CODEC_ID_PCM_F64BE_PLANAR, "pcm_f64be_planar"),
        (CODEC_ID_PCM_ALAW, "pcm_alaw"),
        (CODEC_ID_PCM_MULAW, "pcm_mulaw"),
        (CODEC_ID_ADPCM_G722, "adpcm_g722"),
        (CODEC_ID_ADPCM_G726, "adpcm_g726"),
        (CODEC_ID_ADPCM_G726LE, "adpcm_g726le"),
        (CODEC_ID_ADPCM_MS, "adpcm_ms"),
        (CODEC_ID_ADPCM_IMA_WAV, "adpcm_ima_wav"),
        (CODEC_ID_ADPCM_IMA_QT, "adpcm_ima_qt"),
        (CODEC_ID_VORBIS, "vorbis"),
        (CODEC_ID_OPUS, "opus"),
        (CODEC_ID_SPEEX, "speex"),
        (CODEC_ID_MUSEPACK, "musepack"),
        (CODEC_ID_MP1, "mp1"),
        (CODEC_ID_MP2, "mp2"),
        (CODEC_ID_MP3, "mp3"),
        (CODEC_ID_AAC, "aac"),
        (CODEC_ID_AC3, "ac3"),
        (CODEC_ID_EAC3, "eac3"),
        (CODEC_ID_AC4, "ac4"),
        (CODEC_ID_DCA, "dts"),
        (CODEC_ID_WMA, "wma"),
        (CODEC_ID_FLAC, "flac"),
        (CODEC_ID_WAVPACK, "wavpack"),
        (CODEC_ID_MONKEYS_AUDIO, "ape"),
        (CODEC_ID_ALAC, "alac"),
        (CODEC_ID_TTA, "tta"),
        (CODEC_ID_TRUEHD, "truehd"),
    ];
    NAMES.iter().find(|(c, _)| *c == id).map(|(_, n)| *n)
}

fn is_pcm_name(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with("pcm_"))
}

fn is_pcm(id: AudioCodecId) -> bool {
    is_pcm_name(codec_name(id))
}

/// PCM and lossless codecs: the ones for which a bit depth means something.
pub(crate) fn codec_is_lossless(id: AudioCodecId) -> bool {
    is_pcm(id)
        || [
            CODEC_ID_FLAC,
            CODEC_ID_ALAC,
            CODEC_ID_WAVPACK,
            CODEC_ID_MONKEYS_AUDIO,
            CODEC_ID_TTA,
            CODEC_ID_TRUEHD,
        ]
        .contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// symphonia 0.6 reads the channel count of MP4 tracks from their headers (0.5 did
    /// not); the one-packet fallback must still work for readers that leave it out.
    #[test]
    fn one_decoded_packet_fills_missing_channels_and_rate() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::media::tests::make(dir.path(), "a.m4a", &["-c:a", "aac"]);
        let mut file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let source = BoundedSource::new(
            &mut file,
            0,
            len,
            PROBE_READ_BUDGET,
            Instant::now() + PROBE_TIME_LIMIT,
        )
        .unwrap();
        let mss = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
        let mut reader = symphonia::default::get_probe()
            .probe(
                &Hint::new(),
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .unwrap();
        let track = reader.default_track(TrackType::Audio).unwrap().clone();
        let mut params = track
            .codec_params
            .as_ref()
            .unwrap()
            .audio()
            .unwrap()
            .clone();
        params.channels = None;
        params.sample_rate = None;
        decode_first_packet(reader.as_mut(), &track, &mut params).unwrap();
        assert_eq!(params.channels.map(|c| c.count()), Some(2));
        assert_eq!(params.sample_rate, Some(44_100));
    }

    #[test]
    fn alac_cookie_bit_depth() {
        let mut cookie = vec![0u8; 24];
        cookie[5] = 24;
        assert_eq!(alac_bit_depth(&cookie), Some(24));
        let mut atom = vec![0, 0, 0, 36];
        atom.extend_from_slice(b"alac");
        atom.extend_from_slice(&[0; 4]);
        atom.extend_from_slice(&cookie);
        assert_eq!(alac_bit_depth(&atom), Some(24));
        assert_eq!(alac_bit_depth(&cookie[..10]), None);
        cookie[5] = 0;
        assert_eq!(alac_bit_depth(&cookie), None);
    }
}
