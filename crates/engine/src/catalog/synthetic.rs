//! Synthetic libraries at scale, for the benchmarks (`--features bench`) and the
//! end-to-end probes (`--features testing`) only: N tracks with realistic tag
//! distributions (a few artists dominate, thousands of albums, Unicode words),
//! each with a 1000-bucket waveform row as analysis leaves it, so nothing waits
//! for analysis. Deterministic: a seed makes the same library every run.
//!
//! The tracks reference chunks that are not in the store: a synthetic library
//! measures the catalog and the window, not playback.

use super::{Catalog, CatalogError, NewChunk, NewTrack, TrackId, TrackMetadata, now_unix};
use crate::store::ChunkId;

/// splitmix64: deterministic, so every run measures the same catalog.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Zipf-like: small indexes are far more common (a few artists dominate).
    fn skewed(&mut self, n: u64) -> u64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as u64 % n
    }
}

const WORDS: &[&str] = &[
    "love", "night", "blue", "river", "dance", "jazz", "fire", "dream", "city", "rain", "gold",
    "heart", "moon", "road", "song", "light", "shadow", "summer", "winter", "ocean", "björk",
    "café", "señor", "über", "naïve", "sky", "storm", "echo", "velvet", "neon", "garden",
];

const GENRES: &[&str] = &[
    "Jazz",
    "Rock",
    "Pop",
    "Classical",
    "Electronic",
    "Hip-Hop",
    "Folk",
    "Ambient",
    "Field Recording",
    "Podcast",
];

const FORMATS: &[(&str, &str, u32, Option<u32>)] = &[
    ("mp3", "mp3", 44100, None),
    ("flac", "flac", 44100, Some(16)),
    ("flac", "flac", 96000, Some(24)),
    ("m4a", "aac", 44100, None),
    ("wav", "pcm_s24le", 48000, Some(24)),
    ("ogg", "vorbis", 44100, None),
    ("opus", "opus", 48000, None),
];

fn phrase(rng: &mut Rng, words: usize) -> String {
    (0..words)
        .map(|_| {
            let w = WORDS[rng.skewed(WORDS.len() as u64) as usize];
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds `n` synthetic tracks inside the caller's open transaction.
pub fn fill(catalog: &Catalog, n: usize, seed: u64) -> Result<(), CatalogError> {
    let mut rng = Rng(seed);
    let artists: Vec<String> = (0..2000)
        .map(|i| format!("{} {i}", phrase(&mut rng, 2)))
        .collect();
    let albums: Vec<String> = (0..8000).map(|_| phrase(&mut rng, 2)).collect();
    // Waveforms from a stream of their own: the tracks stay those the bench
    // measured before waveforms were added.
    let mut wave_rng = Rng(seed ^ 0x5741_5645_464f_524d);
    let now = now_unix();
    for i in 0..n {
        let (format, codec, rate, depth) =
            FORMATS[(rng.next_u64() % FORMATS.len() as u64) as usize];
        let artist = &artists[rng.skewed(artists.len() as u64) as usize];
        let words = 1 + (rng.next_u64() % 4) as usize;
        let title = phrase(&mut rng, words);
        let meta = TrackMetadata {
            title: Some(title.clone()),
            artist: Some(artist.clone()),
            album: Some(albums[rng.skewed(albums.len() as u64) as usize].clone()),
            genre: Some(GENRES[rng.skewed(GENRES.len() as u64) as usize].into()),
            codec: Some(codec.into()),
            sample_rate: Some(rate),
            bit_depth: depth,
            channels: Some(2),
            duration_seconds: Some(30.0 + (rng.next_u64() % 600) as f64),
            year: Some(1950 + (rng.next_u64() % 75) as i32),
            track_number: Some(1 + (rng.next_u64() % 14) as u32),
            ..TrackMetadata::default()
        };
        let mut sha = [0u8; 32];
        sha[..8].copy_from_slice(&(i as u64).to_le_bytes());
        sha[8..16].copy_from_slice(&seed.to_le_bytes());
        let size = 1_000_000 + rng.next_u64() % 50_000_000;
        catalog.commit_track_unsynced(&NewTrack {
            id: &TrackId(format!("{:016x}", rng.next_u64())),
            sha256: &sha,
            size_bytes: size,
            file_name: &format!("{:02} {title}.{format}", meta.track_number.unwrap_or(1)),
            file_name_raw: None,
            source_path: "/music",
            source_mtime: None,
            format,
            import_job_id: None,
            chunks: &[NewChunk::plain(ChunkId(sha), 0, size, size + 29)],
            meta: &meta,
            other_tags: &[],
            artwork: None,
            metadata_version: 1,
        })?;
        let waveform: Vec<u8> = (0..2000).map(|_| wave_rng.next_u64() as u8).collect();
        catalog
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO analysis (sha256, analyzer_version, analyzed_at, status, waveform)
                 VALUES (?1, ?2, ?3, 'done', ?4)",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    &sha[..],
                    crate::media::ANALYZER_VERSION,
                    now,
                    waveform
                ])
            })
            .map_err(|e| catalog.err(e))?;
    }
    Ok(())
}

/// Adds `n` synthetic tracks in one transaction of its own, and drops their record
/// marks so the vault's next open does not seal them all (a synthetic library has no
/// chunks to restore anyway).
#[cfg(feature = "testing")]
pub(crate) fn fill_without_records(
    catalog: &Catalog,
    n: usize,
    seed: u64,
) -> Result<(), CatalogError> {
    let run = |sql: &str| {
        catalog
            .conn()
            .execute_batch(sql)
            .map_err(|e| catalog.err(e))
    };
    run("BEGIN IMMEDIATE")?;
    if let Err(e) = fill(catalog, n, seed) {
        let _ = run("ROLLBACK");
        return Err(e);
    }
    run("DELETE FROM record_dirty; COMMIT; ANALYZE;")
}
