//! Identifiers every layer speaks of.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::store::hex;

/// A track's id: 16 lowercase hex characters (64 random bits), stable across
/// devices so catalogs can merge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrackId(pub String);

impl TrackId {
    pub fn generate() -> Result<Self, crate::keys::KeyError> {
        let bytes: [u8; 8] = crate::keys::random_array()?;
        Ok(TrackId(hex(&bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TrackId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
