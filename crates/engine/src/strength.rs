//! How hard a passphrase is to guess, and the floor a new one must reach.
//!
//! `vault.json` (the wrapped master key) travels to the remote, where whoever
//! holds a copy can guess offline at Argon2id's pace: the passphrase is the one
//! secret a user chooses, so a new vault and a passphrase change need one that
//! zxcvbn (Dropbox's estimator: dictionaries, names, keyboard walks, repeats,
//! dates, l33t) scores at least 3 of 4, and a new vault needs the default KDF
//! cost at least (Argon2id 64 MiB, 3 passes). Front ends show [`estimate`] as
//! the user types; the engine enforces the floor.
//!
//! `AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1` lifts both floors. It is for tests and
//! benchmarks, which make many vaults with short passphrases and a fast KDF;
//! never for a library anyone cares about.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::keys::KdfParams;
use crate::secret::Passphrase;

/// The lowest zxcvbn score a new passphrase may have (0 to 4).
pub const MIN_SCORE: u8 = 3;

/// The variable that lets tests make vaults with weak passphrases and KDF
/// parameters (`1`).
pub const ALLOW_WEAK_VAR: &str = "AUDIOVAULT_ALLOW_WEAK_PASSPHRASE";

/// zxcvbn reads at most this many characters (its cost grows with length; a
/// passphrase this long is strong by its length alone).
const ESTIMATED_CHARS: usize = 100;

/// What [`estimate`] says about a passphrase.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very unlikely to be guessed).
    pub score: u8,
    /// Whether a new vault or a passphrase change accepts it (score ≥ 3).
    pub acceptable: bool,
    /// What makes it weak, if anything (e.g. "This is a very common password.").
    pub warning: Option<String>,
    /// How to make it stronger.
    pub suggestions: Vec<String>,
}

/// Words that must not count as strength in an Audiovault passphrase.
const USER_INPUTS: &[&str] = &["audiovault", "audio", "vault", "music", "library"];

/// How hard `passphrase` is to guess (zxcvbn), with its warning and suggestions.
pub fn estimate(passphrase: &Passphrase) -> Strength {
    let text: String = passphrase.expose().chars().take(ESTIMATED_CHARS).collect();
    let text = zeroize::Zeroizing::new(text);
    if text.is_empty() {
        return Strength {
            score: 0,
            acceptable: false,
            warning: Some("A passphrase is needed.".into()),
            suggestions: vec!["Use a few words, avoid common phrases.".into()],
        };
    }
    let entropy = zxcvbn::zxcvbn(&text, USER_INPUTS);
    let score = u8::from(entropy.score());
    let (warning, suggestions) = match entropy.feedback() {
        Some(f) => (
            f.warning().map(|w| w.to_string()),
            f.suggestions().iter().map(|s| s.to_string()).collect(),
        ),
        None => (None, Vec::new()),
    };
    Strength {
        score,
        acceptable: score >= MIN_SCORE,
        warning,
        suggestions,
    }
}

/// Whether the floors are lifted (`AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1`). In the
/// engine's unit tests they are, unless a test asks for them (see
/// `tests::strict`), so its many fast vaults need no variable.
pub fn weak_allowed() -> bool {
    #[cfg(test)]
    {
        !tests::STRICT.with(|s| s.get())
    }
    #[cfg(not(test))]
    {
        std::env::var(ALLOW_WEAK_VAR).is_ok_and(|v| v.trim() == "1")
    }
}

/// Refuses a passphrase for a new vault or a change below the floor, with the
/// estimator's reason and suggestions (`weak_passphrase`).
pub(crate) fn check_new_passphrase(passphrase: &Passphrase) -> Result<()> {
    if passphrase.is_empty() || weak_allowed() {
        return Ok(());
    }
    let s = estimate(passphrase);
    if s.acceptable {
        return Ok(());
    }
    Err(Error::WeakPassphrase {
        score: s.score,
        needed: MIN_SCORE,
        warning: s.warning,
        suggestions: s.suggestions,
    })
}

/// Refuses KDF parameters for a new vault below the defaults (`weak_kdf`).
pub(crate) fn check_new_kdf(memory_kib: u32, iterations: u32) -> Result<()> {
    if weak_allowed()
        || (memory_kib >= KdfParams::DEFAULT_MEMORY_KIB
            && iterations >= KdfParams::DEFAULT_ITERATIONS)
    {
        return Ok(());
    }
    Err(Error::WeakKdf {
        memory_kib,
        iterations,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Whether this test thread enforces the floors.
        pub(crate) static STRICT: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` with the floors enforced on this thread.
    pub(crate) fn strict<T>(f: impl FnOnce() -> T) -> T {
        STRICT.with(|s| s.set(true));
        let out = f();
        STRICT.with(|s| s.set(false));
        out
    }

    #[test]
    fn common_and_repetitive_passphrases_score_low_and_long_unusual_ones_high() {
        for weak in [
            "Password1!",
            &"a".repeat(20),
            "audiovault2024",
            "qwertyuiop",
            "summer2024",
        ] {
            let s = estimate(&Passphrase::new(weak));
            assert!(!s.acceptable, "{weak:?} scored {}", s.score);
            assert!(
                s.warning.is_some() || !s.suggestions.is_empty(),
                "{weak:?} is explained"
            );
        }
        for strong in [
            "test passphrase: quiet marmot 47",
            "velvet tundra lantern 93 orchard",
            "Gx7#pL2$qR9!vT4m",
        ] {
            let s = estimate(&Passphrase::new(strong));
            assert!(s.acceptable, "{strong:?} scored {}", s.score);
        }
        assert_eq!(estimate(&Passphrase::new("")).score, 0);
        // Very long input is cut, not slow.
        let long = Passphrase::new("x9!".repeat(10_000));
        let t = std::time::Instant::now();
        assert!(estimate(&long).score <= 4);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn the_floors_hold_unless_lifted() {
        strict(|| {
            let err = check_new_passphrase(&Passphrase::new("Password1!")).unwrap_err();
            assert_eq!(err.kind().as_str(), "weak_passphrase");
            let text = err.to_string();
            assert!(text.contains("too weak") && text.contains("of 4"), "{text}");
            check_new_passphrase(&Passphrase::new("velvet tundra lantern 93 orchard")).unwrap();
            let err = check_new_kdf(1024, 1).unwrap_err();
            assert_eq!(err.kind().as_str(), "weak_kdf");
            check_new_kdf(KdfParams::DEFAULT_MEMORY_KIB, KdfParams::DEFAULT_ITERATIONS).unwrap();
        });
        // Lifted (as AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1 does outside unit tests).
        check_new_passphrase(&Passphrase::new("pw")).unwrap();
        check_new_kdf(1024, 1).unwrap();
    }
}
