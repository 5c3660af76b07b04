//! The full decode behind [`super::analyze`]: waveform peaks and a same-audio
//! fingerprint, in one pass.
//!
//! Fingerprint: two files hold "the same audio" when
//! - lossless (PCM, FLAC, ALAC): their decoded samples are equal. We hash the samples
//!   converted to one format (interleaved i32, little-endian, full scale), so a WAV and
//!   the FLAC made from it hash alike whatever the container, tags or compression level.
//! - lossy (MP3, AAC, Vorbis, ...): their coded packets are equal. Decoders may differ in
//!   the last bit between versions, and two encodes of one master are different audio
//!   anyway; the packets are what a re-tag leaves untouched. For MP3 a packet is a
//!   frame, and the Xing/Info frame is not a packet, so rewriting it does not count.
//!
//! A short domain prefix (kind, rate, channels) goes into each hash, so the same bytes
//! read as different audio (mono vs stereo) never collide.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::well_known::{FORMAT_ID_MP1, FORMAT_ID_MP2, FORMAT_ID_MP3};
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use super::source::{BoundedSource, Source, limit_hit};
use super::{MediaError, mpeg, panic_message, probe, sniff};

/// Waveform resolution: about one bucket per pixel of a wide seek bar.
/// Bump when `analyze` changes what it computes: the catalog redoes older rows.
pub const ANALYZER_VERSION: i64 = 1;

pub const WAVEFORM_BUCKETS: usize = 1000;
/// Peaks kept while decoding before pairs are merged (keeps memory fixed for any
/// length; the final waveform is cut from these).
const PEAK_CAPACITY: usize = 8 * WAVEFORM_BUCKETS;
/// Frames per peak at the start (doubles each time the buffer fills).
const INITIAL_BLOCK: u64 = 64;
/// A full decode is slow but must still end: about 100 hours of MP3 at 0.1 s/min.
const ANALYZE_TIME_LIMIT: Duration = Duration::from_secs(15 * 60);
/// Packets that fail to decode before the file counts as undecodable (a few damaged
/// frames in a long file are normal; a stream of them is not audio we can read).
const MAX_DECODE_ERRORS: u64 = 1000;

/// What the full decode found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Min/max peaks (all channels), scaled to -128..=127, [`WAVEFORM_BUCKETS`]
    /// buckets (fewer for very short files).
    pub waveform: Vec<(i8, i8)>,
    pub fingerprint: Fingerprint,
    /// Frames (samples per channel) the decoder produced.
    pub decoded_frames: u64,
    pub sample_rate: u32,
    pub channels: u32,
    /// `decoded_frames / sample_rate`: the duration as decoded.
    pub duration_seconds: f64,
    /// Packets skipped because they failed to decode.
    pub decode_errors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub kind: FingerprintKind,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerprintKind {
    /// Hash of the decoded samples (lossless sources).
    DecodedPcm,
    /// Hash of the coded packets (lossy sources).
    CodedPackets,
}

pub(crate) fn analyze(path: &Path) -> Result<Analysis, MediaError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let ext = path.extension().and_then(|e| e.to_str());
    analyze_source(&mut file, len, ext)
}

pub(crate) fn analyze_source(
    file: &mut dyn Source,
    len: u64,
    ext: Option<&str>,
) -> Result<Analysis, MediaError> {
    if len == 0 {
        return Err(MediaError::NotAudio {
            reason: "the file is empty".into(),
        });
    }
    // A format no decoder here reads: say so rather than let symphonia fail on it.
    if let Some(format) = sniff::other_format(file, len, ext)? {
        return Err(MediaError::Undecodable {
            reason: format!(
                "not analysable: there is no {} decoder here (the file is stored, read and exported as any other)",
                format.display_name
            ),
        });
    }
    let deadline = Instant::now() + ANALYZE_TIME_LIMIT;
    // An MP3 without a VBR header has only an estimated length, and symphonia trims
    // the decoded audio to that estimate (cutting off the end when the first frames are
    // smaller than the average): such files are decoded without gapless trimming.
    let mpeg_length_known = {
        let start = sniff::skip_leading_id3v2(file, len)?;
        mpeg::find_first_frame(file, start, len)?
            .is_some_and(|f| f.vbr.and_then(|v| v.frames).is_some())
    };
    // The whole file is read once; the slack covers readers that re-read headers.
    let budget = len.saturating_mul(2).saturating_add(64 * 1024 * 1024);
    let source = BoundedSource::new(file, 0, len, budget, deadline)?;
    match catch_unwind(AssertUnwindSafe(|| {
        decode_all(source, ext, mpeg_length_known)
    })) {
        Ok(result) => result,
        Err(payload) => Err(MediaError::Panicked {
            message: panic_message(payload.as_ref()),
        }),
    }
}

fn decode_all(
    source: BoundedSource<'_>,
    ext: Option<&str>,
    mpeg_length_known: bool,
) -> Result<Analysis, MediaError> {
    let mss = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| MediaError::NotAudio {
            reason: e.to_string(),
        })?;
    let track = reader
        .default_track(TrackType::Audio)
        .cloned()
        .ok_or_else(|| MediaError::NotAudio {
            reason: "no audio track".into(),
        })?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .ok_or_else(|| MediaError::NotAudio {
            reason: "no audio track".into(),
        })?;
    let format = reader.format_info().format;
    let is_mpeg = [FORMAT_ID_MP1, FORMAT_ID_MP2, FORMAT_ID_MP3].contains(&format);
    let options = AudioDecoderOptions::default().gapless(!is_mpeg || mpeg_length_known);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &options)
        .map_err(|e| MediaError::Undecodable {
            reason: e.to_string(),
        })?;

    let lossless = probe::codec_is_lossless(params.codec);
    let mut hasher = Sha256::new();
    let mut peaks = Peaks::new();
    let mut samples: Vec<i32> = Vec::new();
    let mut sample_bytes: Vec<u8> = Vec::new();
    let mut decoded_frames = 0u64;
    let mut decode_errors = 0u64;
    let mut spec_seen: Option<(u32, u32)> = None;
    let mut packets_hashed = 0u64;

    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::ResetRequired) => {
                decoder.reset();
                continue;
            }
            Err(e) => {
                if let Some(limit) = limit_hit(&e) {
                    return Err(MediaError::Undecodable {
                        reason: format!("gave up decoding: {limit}"),
                    });
                }
                // A damaged tail: keep what decoded so far.
                if decoded_frames > 0 {
                    break;
                }
                return Err(MediaError::Undecodable {
                    reason: e.to_string(),
                });
            }
        };
        if packet.track_id != track.id {
            continue;
        }
        if !lossless {
            if packets_hashed == 0 {
                hasher.update(b"audiovault-packets-v1\0");
            }
            hasher.update((packet.data.len() as u64).to_le_bytes());
            hasher.update(&packet.data);
            packets_hashed += 1;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                let channels = spec.channels().count().max(1) as u32;
                let rate = spec.rate();
                match spec_seen {
                    None => {
                        spec_seen = Some((rate, channels));
                        if lossless {
                            hasher.update(b"audiovault-pcm-v1\0");
                            hasher.update(rate.to_le_bytes());
                            hasher.update(channels.to_le_bytes());
                        }
                    }
                    Some(seen) if seen != (rate, channels) => {
                        // A stream that changes shape midway (chained Ogg, broken MP3):
                        // its samples no longer mean one thing.
                        return Err(MediaError::Undecodable {
                            reason: "the audio format changes within the stream".into(),
                        });
                    }
                    Some(_) => {}
                }
                buf.copy_to_vec_interleaved::<i32>(&mut samples);
                if lossless {
                    // One update per packet: per-sample updates cost more than the decode.
                    sample_bytes.clear();
                    sample_bytes.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
                    hasher.update(&sample_bytes);
                }
                peaks.push_interleaved(&samples, channels as usize);
                decoded_frames += buf.frames() as u64;
            }
            Err(SymError::DecodeError(_)) => {
                decode_errors += 1;
                if decode_errors > MAX_DECODE_ERRORS {
                    return Err(MediaError::Undecodable {
                        reason: format!("more than {MAX_DECODE_ERRORS} packets failed to decode"),
                    });
                }
            }
            Err(SymError::ResetRequired) => decoder.reset(),
            Err(e) => {
                return Err(MediaError::Undecodable {
                    reason: e.to_string(),
                });
            }
        }
    }

    let Some((sample_rate, channels)) = spec_seen else {
        return Err(MediaError::Undecodable {
            reason: "no packet could be decoded".into(),
        });
    };
    let digest = hasher.finalize();
    Ok(Analysis {
        waveform: peaks.finish(),
        fingerprint: Fingerprint {
            kind: if lossless {
                FingerprintKind::DecodedPcm
            } else {
                FingerprintKind::CodedPackets
            },
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        },
        decoded_frames,
        sample_rate,
        channels,
        duration_seconds: if sample_rate > 0 {
            decoded_frames as f64 / f64::from(sample_rate)
        } else {
            0.0
        },
        decode_errors,
    })
}

/// Min/max peaks over fixed-size blocks of frames; when the buffer fills, neighbours
/// merge and the block size doubles, so memory stays fixed for any length.
struct Peaks {
    peaks: Vec<(i32, i32)>,
    block: u64,
    in_block: u64,
    current: (i32, i32),
}

impl Peaks {
    fn new() -> Self {
        Self {
            peaks: Vec::with_capacity(PEAK_CAPACITY),
            block: INITIAL_BLOCK,
            in_block: 0,
            current: (i32::MAX, i32::MIN),
        }
    }

    fn push_interleaved(&mut self, samples: &[i32], channels: usize) {
        for frame in samples.chunks(channels.max(1)) {
            for &s in frame {
                self.current.0 = self.current.0.min(s);
                self.current.1 = self.current.1.max(s);
            }
            self.in_block += 1;
            if self.in_block == self.block {
                self.close_block();
            }
        }
    }

    fn close_block(&mut self) {
        self.peaks.push(self.current);
        self.current = (i32::MAX, i32::MIN);
        self.in_block = 0;
        if self.peaks.len() == PEAK_CAPACITY {
            let merged: Vec<(i32, i32)> = self
                .peaks
                .chunks(2)
                .map(|pair| {
                    pair.iter()
                        .fold((i32::MAX, i32::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)))
                })
                .collect();
            self.peaks = merged;
            self.block *= 2;
        }
    }

    fn finish(mut self) -> Vec<(i8, i8)> {
        if self.in_block > 0 {
            self.peaks.push(self.current);
        }
        let n = self.peaks.len();
        if n == 0 {
            return Vec::new();
        }
        let buckets = WAVEFORM_BUCKETS.min(n);
        (0..buckets)
            .map(|b| {
                let from = b * n / buckets;
                let to = ((b + 1) * n / buckets).max(from + 1);
                let (lo, hi) = self.peaks[from..to]
                    .iter()
                    .fold((i32::MAX, i32::MIN), |a, p| (a.0.min(p.0), a.1.max(p.1)));
                (to_i8(lo), to_i8(hi))
            })
            .collect()
    }
}

/// Full-scale i32 to i8 (the top byte).
fn to_i8(s: i32) -> i8 {
    (s >> 24) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_stay_bounded_and_cover_the_signal() {
        let mut peaks = Peaks::new();
        // Ten million frames of a ramp: far more blocks than the capacity.
        let frames: Vec<i32> = (0..10_000_000i64)
            .map(|i| {
                ((i * 400) - (1i64 << 31)).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
            })
            .collect();
        for chunk in frames.chunks(4096) {
            peaks.push_interleaved(chunk, 1);
        }
        assert!(peaks.peaks.len() < PEAK_CAPACITY);
        let wave = peaks.finish();
        assert_eq!(wave.len(), WAVEFORM_BUCKETS);
        assert_eq!(wave[0].0, -128);
        assert!(wave.windows(2).all(|w| w[0].1 <= w[1].1), "a ramp rises");
    }

    #[test]
    fn silence_is_zero() {
        let mut peaks = Peaks::new();
        peaks.push_interleaved(&[0; 2000], 2);
        assert!(peaks.finish().iter().all(|p| *p == (0, 0)));
    }
}
