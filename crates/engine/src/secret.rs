//! Types that hold secrets. They zero their memory on drop, print as
//! `<redacted>`, and implement neither `Display` nor `Serialize`, so a secret
//! cannot reach a log line, an error message or a JSON document by accident.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// A user's passphrase.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(text.into()))
    }

    /// The passphrase as typed, with one trailing newline (from a file or a pipe) removed.
    pub fn from_line(mut text: String) -> Self {
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        Passphrase::new(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// 32 bytes of key material.
#[derive(Clone)]
pub struct KeyBytes(Zeroizing<[u8; 32]>);

impl KeyBytes {
    pub fn new(bytes: [u8; 32]) -> Self {
        KeyBytes(Zeroizing::new(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut array: [u8; 32] = bytes.try_into().ok()?;
        let key = KeyBytes::new(array);
        array.zeroize();
        Some(key)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let pass = Passphrase::new("hunter2-correct-horse");
        let key = KeyBytes::new([0x41; 32]);
        let printed = format!("{pass:?} {key:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("AAAA") && !printed.contains("65, 65"));
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn trailing_newlines_are_not_part_of_the_passphrase() {
        assert_eq!(Passphrase::from_line("abc\r\n".into()).expose(), "abc");
        assert_eq!(Passphrase::from_line("a b ".into()).expose(), "a b ");
    }
}
