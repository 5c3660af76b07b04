//! Catalog latency at library scale: builds a synthetic catalog of N tracks
//! (default 100,000) with realistic tag distributions, then times search,
//! filter, sort and keyset paging, and the stats, printing p50/p95/max per query.
//!
//!     cargo run --release -p audiovault-engine --example catalog_bench [N]

use std::time::{Duration, Instant};

use audiovault_engine::catalog::{
    NewChunk, NewTrack, SearchQuery, SortKey, TrackId, TrackMetadata,
};
use audiovault_engine::store::ChunkId;

/// splitmix64: deterministic, so every run measures the same catalog.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Zipf-like: small indexes are far more common (a few artists dominate).
    fn skewed(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
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
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let catalog = audiovault_engine::catalog::open_for_bench(&dir.path().join("catalog.db"))?;
    let mut rng = Rng(42);
    let artists: Vec<String> = (0..2000)
        .map(|i| format!("{} {i}", phrase(&mut rng, 2)))
        .collect();
    let albums: Vec<String> = (0..8000).map(|_| phrase(&mut rng, 2)).collect();
    let started = Instant::now();
    catalog.conn().execute_batch("BEGIN")?;
    for i in 0..n {
        let (format, codec, rate, depth) = FORMATS[(rng.next() % FORMATS.len() as u64) as usize];
        let artist = &artists[rng.skewed(artists.len() as u64) as usize];
        let words = 1 + (rng.next() % 4) as usize;
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
            duration_seconds: Some(30.0 + (rng.next() % 600) as f64),
            year: Some(1950 + (rng.next() % 75) as i32),
            track_number: Some(1 + (rng.next() % 14) as u32),
            ..TrackMetadata::default()
        };
        let mut sha = [0u8; 32];
        sha[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let size = 1_000_000 + rng.next() % 50_000_000;
        let chunk = ChunkId(sha);
        catalog.commit_track_unsynced(&NewTrack {
            id: &TrackId(format!("{:016x}", rng.next())),
            sha256: &sha,
            size_bytes: size,
            file_name: &format!("{:02} {title}.{format}", meta.track_number.unwrap_or(1)),
            file_name_raw: None,
            source_path: "/music",
            source_mtime: None,
            format,
            import_job_id: None,
            chunks: &[NewChunk::plain(chunk, 0, size, size + 29)],
            meta: &meta,
            other_tags: &[],
            artwork: None,
            metadata_version: 1,
        })?;
    }
    catalog.conn().execute_batch("COMMIT; ANALYZE;")?;
    println!(
        "built {n} tracks in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let q = |text: Option<&str>, sort: SortKey| SearchQuery {
        text: text.map(str::to_string),
        sort,
        limit: Some(100),
        ..SearchQuery::default()
    };
    let cases: Vec<(&str, SearchQuery)> = vec![
        ("first page, by import time", q(None, SortKey::Imported)),
        ("first page, by artist", q(None, SortKey::Artist)),
        (
            "first page, by title desc",
            SearchQuery {
                descending: true,
                ..q(None, SortKey::Title)
            },
        ),
        ("first page, by duration", q(None, SortKey::Duration)),
        (
            "selective search 'velvet neon'",
            q(Some("velvet neon"), SortKey::Title),
        ),
        ("prefix search 'bjo'", q(Some("bjo"), SortKey::Artist)),
        (
            "broad search 'love' by artist",
            q(Some("love"), SortKey::Artist),
        ),
        (
            "filter flac 96k/24",
            SearchQuery {
                formats: vec!["flac".into()],
                sample_rate: Some(96000),
                bit_depth: Some(24),
                ..q(None, SortKey::Title)
            },
        ),
        (
            "filter years 1990-1999 by year",
            SearchQuery {
                min_year: Some(1990),
                max_year: Some(1999),
                ..q(None, SortKey::Year)
            },
        ),
        (
            "search + filter 'jazz' mp3",
            SearchQuery {
                formats: vec!["mp3".into()],
                ..q(Some("jazz"), SortKey::Title)
            },
        ),
    ];
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>7}",
        "query (100 rows a page)", "p50 ms", "p95 ms", "max ms", "rows"
    );
    for (name, query) in &cases {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..60 {
            let t = Instant::now();
            let page = catalog.search(query)?;
            times.push(t.elapsed());
            rows = page.tracks.len();
        }
        report(name, &mut times, rows);
    }
    // The figures every import ends with (and `stats` without its dedup breakdown).
    let mut times = Vec::new();
    let mut tracks = 0;
    for _ in 0..30 {
        let t = Instant::now();
        tracks = catalog.stats(None)?.tracks as usize;
        times.push(t.elapsed());
    }
    report("stats (totals, by format)", &mut times, tracks);
    // Deep keyset paging: walk 200 pages by artist, time each page.
    let mut times = Vec::new();
    let mut after = None;
    for _ in 0..200 {
        let query = SearchQuery {
            after: after.clone(),
            ..q(None, SortKey::Artist)
        };
        let t = Instant::now();
        let page = catalog.search(&query)?;
        times.push(t.elapsed());
        after = page.next_cursor;
    }
    report("keyset paging, 200 pages by artist", &mut times, 100);
    let mut times = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        catalog.search_summary(&q(Some("love"), SortKey::Artist))?;
        times.push(t.elapsed());
    }
    report("count + duration of 'love'", &mut times, 1);
    // A change to a track drops the cached text sets: the first page after it
    // pays for evaluating the text again (what a new word typed costs, too).
    let some_track = catalog
        .search(&q(None, SortKey::Title))?
        .tracks
        .first()
        .map(|t| t.id.clone());
    let mut times = Vec::new();
    for i in 0..30 {
        if let Some(id) = &some_track {
            catalog.set_trashed(std::slice::from_ref(id), i % 2 == 0)?;
        }
        let t = Instant::now();
        catalog.search(&q(Some("love"), SortKey::Artist))?;
        times.push(t.elapsed());
    }
    report("'love' by artist after a track change", &mut times, 100);
    // Search as you type: every keystroke of a broad two-word search is a text
    // never evaluated before, each a page and its footer, as the app asks.
    let typed = "love night";
    let mut times = Vec::new();
    for i in 0..20 {
        if let Some(id) = &some_track {
            catalog.set_trashed(std::slice::from_ref(id), i % 2 == 0)?;
        }
        for end in 1..=typed.len() {
            let query = q(Some(&typed[..end]), SortKey::Artist);
            let t = Instant::now();
            catalog.search(&query)?;
            catalog.search_summary(&query)?;
            times.push(t.elapsed());
        }
    }
    report("typing 'love night': page + footer", &mut times, 100);
    // Writes that cannot change a search (settings, activity, waveforms) keep them.
    let mut times = Vec::new();
    for i in 0..30 {
        catalog.set_setting("catalog_bench", &i.to_string())?;
        let t = Instant::now();
        catalog.search(&q(Some("love"), SortKey::Artist))?;
        times.push(t.elapsed());
    }
    report("'love' by artist after a setting write", &mut times, 100);
    Ok(())
}

fn report(name: &str, times: &mut [Duration], rows: usize) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{name:<36} {:>9.2} {:>9.2} {:>9.2} {rows:>7}",
        p(0.5),
        p(0.95),
        ms(times[times.len() - 1])
    );
}
