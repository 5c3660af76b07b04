//! The engine's part of each keystroke typed into the app's search box, on a vault
//! of N synthetic tracks (default 100,000) just unlocked, as the app asks for it
//! (`Vault::search_first_page`: the first page of 100 rows and its footer).
//!
//!     cargo run --release -p audiovault-engine --features testing --example typing_bench DIR [N]
//!
//! DIR is made (and filled) on the first run and reused after.

use std::path::PathBuf;
use std::time::Instant;

use audiovault_engine::catalog::SearchQuery;
use audiovault_engine::{CreateOptions, LockedVault, Passphrase, Vault};

const TYPED: [&str; 3] = ["love night", "velvet neon", "bjork"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: typing_bench DIR [N]")?,
    );
    let n: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let passphrase = Passphrase::new("typing bench passphrase".to_string());
    if !dir.join("vault.json").is_file() {
        let started = Instant::now();
        let vault = Vault::create(&dir, &passphrase, &CreateOptions::default())?;
        vault.add_synthetic_tracks_for_tests(n, 42)?;
        println!(
            "made {n} tracks in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    for round in 1..=2 {
        let started = Instant::now();
        let vault = LockedVault::open(&dir)?.unlock(&passphrase)?;
        println!("round {round}: unlocked in {:.0} ms", ms(started));
        let mut times = Vec::new();
        let mut texts = vec![String::new()];
        for phrase in TYPED {
            for end in phrase.char_indices().map(|(i, c)| i + c.len_utf8()) {
                if !phrase[..end].ends_with(' ') {
                    texts.push(phrase[..end].to_string());
                }
            }
        }
        for text in &texts {
            let q = SearchQuery {
                text: (!text.is_empty()).then(|| text.clone()),
                limit: Some(100),
                descending: true,
                ..SearchQuery::default()
            };
            let t = Instant::now();
            let first = vault.search_first_page(&q)?;
            let took = ms(t);
            println!(
                "  {:>14} {:>7} tracks {:>7.1} ms",
                format!("'{text}'"),
                first.summary.tracks,
                took
            );
            if !text.is_empty() {
                times.push(took);
            }
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "  keystrokes: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            at(0.5),
            at(0.95),
            at(1.0)
        );
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
