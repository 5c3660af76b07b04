//! What the remote holds and how each object is encoded.
//!
//! ```text
//! <prefix>/keys/<epoch>-<mac16>       every vault.json ever pushed, write-once (the wrapped key and KDF
//!                                     parameters, authenticated by a MAC under the master key; no secret in clear)
//! <prefix>/vault.json                 a copy of the newest of them, for a quick look and older clones
//! <prefix>/packs/<64 hex>             chunk objects back to back, exactly as the local store holds them
//! <prefix>/index/<device>/<seq>-<r>  sealed: which chunk lies where in which packs (one per push batch);
//!                                     `index/<64 hex>` from before format 2, still read
//! <prefix>/catalogs/<seq>-<device>    sealed manifest of one catalog snapshot: the device's line, in order
//! <prefix>/gc/<ms>-<device>           sealed list of packs marked for deletion (remote GC, phase one)
//! <prefix>/gone/<device>/<seq>-<r>   sealed list of packs remote GC deleted (phase two), written first, kept
//! <prefix>/locks/<device>-<random>    sealed lease of a push or GC in progress (see `lease`)
//! ```
//! Pack names are random; index, gone-record and manifest names carry only a sequence
//! number and a random device id: no name says anything about the library. Index and
//! gone records are numbered per device so that a device reads each prefix from where
//! its last look stopped (`list_after`), never the whole of it (see `refresh`). Chunk objects are already
//! encrypted and bound to their id, so packs are not sealed again; everything else
//! is sealed with a sync key derived from the master key, its name as associated
//! data so that no object can stand in for another.

use std::collections::{BTreeMap, HashMap};

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use serde::{Deserialize, Serialize};

use super::SyncError;
use crate::keys::{MasterKey, aead_key, random_array};
use crate::store::{ChunkId, hex, unhex};

pub const VAULT_JSON: &str = "vault.json";
pub const PACKS: &str = "packs/";
pub const INDEXES: &str = "index/";
pub const CATALOGS: &str = "catalogs/";
pub const GC_MARKS: &str = "gc/";
pub const GONE: &str = "gone/";
pub const KEYS: &str = "keys/";
pub const LEASES: &str = "locks/";

const SEALED_FORMAT: u8 = 1;

/// The vault id a `vault.json` declares, without opening anything.
pub fn vault_id_of(vault_json: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(vault_json)
        .ok()?
        .get("vault_id")?
        .as_str()
        .map(str::to_string)
}

/// A 32-byte id from 64 hex digits (pack ids in manifests and GC marks).
pub fn id32_from_hex(hex_id: &str) -> Option<[u8; 32]> {
    unhex(hex_id)?.try_into().ok()
}

pub fn pack_name(id: &[u8; 32]) -> String {
    format!("{PACKS}{}", hex(id))
}

pub fn pack_id_from_name(name: &str) -> Option<[u8; 32]> {
    id32_from_hex(name.strip_prefix(PACKS)?)
}

pub fn random_name(dir: &str) -> Result<String, SyncError> {
    Ok(format!("{dir}{}", hex(&random_array::<32>()?)))
}

/// `<dir><device>/<seq>-<8 random hex>`: zero-padded so a device's records sort
/// in the order it wrote them. The random tail keeps two copies of one device
/// (a vault folder restored beside the original) from overwriting each other's.
pub fn numbered_name(dir: &str, device: &str, seq: u64) -> Result<String, SyncError> {
    Ok(format!(
        "{dir}{device}/{seq:020}-{}",
        hex(&random_array::<4>()?)
    ))
}

/// (device, seq) of a [`numbered_name`] under `dir`; None for any other name.
pub fn parse_numbered_name(dir: &str, name: &str) -> Option<(String, u64)> {
    let (device, rest) = name.strip_prefix(dir)?.split_once('/')?;
    if device.is_empty() || !device.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let (seq, tail) = rest.split_once('-')?;
    if seq.len() != 20 || tail.is_empty() || tail.contains('/') {
        return None;
    }
    Some((device.to_string(), seq.parse().ok()?))
}

/// `catalogs/<ms>-<device>`: zero-padded so names sort by time.
pub fn timed_name(dir: &str, millis: i64, device: &str) -> String {
    format!("{dir}{millis:015}-{device}")
}

pub fn time_of(name: &str) -> Option<i64> {
    name.rsplit('/').next()?.split('-').next()?.parse().ok()
}

/// `catalogs/<seq>-<device>`: the `seq`-th manifest of the device's line. The
/// names of format-1 manifests carried a time in milliseconds where the sequence
/// number now is; read as sequence numbers they still order each device's line,
/// and a device's first new manifest continues from them.
pub fn manifest_name(device: &str, seq: u64) -> String {
    format!("{CATALOGS}{seq:015}-{device}")
}

/// (seq, device) of a manifest name.
pub fn parse_manifest_name(name: &str) -> Option<(u64, String)> {
    let (seq, device) = name.strip_prefix(CATALOGS)?.split_once('-')?;
    if device.is_empty() || !device.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some((seq.parse().ok()?, device.to_string()))
}

/// `keys/<epoch>-<first 16 hex of the MAC>`: one name per distinct vault.json, so
/// a copy is written once and never replaced, and a newer passphrase cannot be
/// overwritten by a device that still holds an older one.
pub fn key_file_name(epoch: u64, mac: &str) -> String {
    let short: String = mac.chars().take(16).collect();
    format!("{KEYS}{epoch:010}-{short}")
}

pub fn key_file_epoch(name: &str) -> Option<u64> {
    name.strip_prefix(KEYS)?.split_once('-')?.0.parse().ok()
}

/// Seals and opens the remote's metadata objects.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    pub fn new(master: &MasterKey, vault_id: &str) -> Sealer {
        Sealer {
            key: aead_key(&master.derive(vault_id, "audiovault sync metadata v1")),
        }
    }

    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Result<Vec<u8>, SyncError> {
        let nonce: [u8; NONCE_LEN] = random_array()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(SEALED_FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(name)),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| SyncError::Other("encryption failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a sealed JSON object (a manifest, a GC mark, a gone record) and decodes
    /// it; a body that does not decode is a corrupt object named by `name`.
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        sealed: Vec<u8>,
    ) -> Result<T, SyncError> {
        serde_json::from_slice(&self.open(name, sealed)?).map_err(|e| SyncError::CorruptObject {
            name: name.to_string(),
            reason: e.to_string(),
        })
    }

    pub fn open(&self, name: &str, mut sealed: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let corrupt = |reason: &str| SyncError::CorruptObject {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if sealed.len() < 1 + NONCE_LEN + 16 {
            return Err(corrupt("too short"));
        }
        if sealed[0] != SEALED_FORMAT {
            return Err(corrupt("unknown format"));
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN]
            .try_into()
            .map_err(|_| corrupt("too short"))?;
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(name)),
                &mut sealed[1 + NONCE_LEN..],
            )
            .map_err(|_| corrupt("authentication failed (damaged, or not this vault's)"))?
            .len();
        sealed.drain(..1 + NONCE_LEN);
        sealed.truncate(len);
        Ok(sealed)
    }
}

fn aad(name: &str) -> Vec<u8> {
    let mut aad = b"audiovault sync object v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad
}

pub use crate::catalog::remote::Location;

/// An index object: packs and the chunks in them. Binary, because a large
/// library's index runs to millions of entries:
/// `u32 packs, packs × (32-byte id, u64 size), u32 entries,
///  entries × (32-byte chunk id, u32 pack number, u64 offset, u32 length)`, little-endian.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexObject {
    pub packs: Vec<([u8; 32], u64)>,
    pub entries: Vec<Location>,
}

impl IndexObject {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.packs.len() * 40 + self.entries.len() * 48);
        out.extend_from_slice(&(self.packs.len() as u32).to_le_bytes());
        for (id, size) in &self.packs {
            out.extend_from_slice(id);
            out.extend_from_slice(&size.to_le_bytes());
        }
        // Each entry names its pack by number: a map built once, so encoding is
        // linear in entries (a scan of the pack list per entry was quadratic: a
        // first push of a large library lists thousands of packs, millions of chunks).
        let numbers: HashMap<[u8; 32], u32> = self
            .packs
            .iter()
            .enumerate()
            .rev() // the first of duplicate ids wins, as the scan it replaces did
            .map(|(i, (p, _))| (*p, i as u32))
            .collect();
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            let pack_no = numbers.get(&e.pack).copied().unwrap_or(0);
            out.extend_from_slice(&e.chunk.0);
            out.extend_from_slice(&pack_no.to_le_bytes());
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&(e.length as u32).to_le_bytes());
        }
        out
    }

    pub fn decode(name: &str, bytes: &[u8]) -> Result<IndexObject, SyncError> {
        let bad = || SyncError::CorruptObject {
            name: name.to_string(),
            reason: "malformed index".into(),
        };
        let mut r = Reader { bytes, at: 0 };
        let n_packs = r.u32().ok_or_else(bad)? as usize;
        let mut packs = Vec::with_capacity(n_packs.min(1 << 20));
        for _ in 0..n_packs {
            let id = r.array32().ok_or_else(bad)?;
            packs.push((id, r.u64().ok_or_else(bad)?));
        }
        let n_entries = r.u32().ok_or_else(bad)? as usize;
        let mut entries = Vec::with_capacity(n_entries.min(1 << 22));
        for _ in 0..n_entries {
            let chunk = ChunkId(r.array32().ok_or_else(bad)?);
            let pack_no = r.u32().ok_or_else(bad)? as usize;
            let offset = r.u64().ok_or_else(bad)?;
            let length = r.u32().ok_or_else(bad)? as u64;
            let pack = packs.get(pack_no).ok_or_else(bad)?.0;
            entries.push(Location {
                chunk,
                pack,
                offset,
                length,
            });
        }
        if r.at != bytes.len() {
            return Err(bad());
        }
        Ok(IndexObject { packs, entries })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn array32(&mut self) -> Option<[u8; 32]> {
        self.take(32)?.try_into().ok()
    }
}

/// A catalog snapshot's manifest, written last by a push: its presence means every
/// chunk the snapshot references is on the remote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// 1: one global line ordered by time (before several writers); 2: lines per
    /// device; 3: the snapshot is a row stream (`catalog::rows`), not a SQLite file.
    pub format: u32,
    pub vault_id: String,
    pub device: String,
    /// Its place in the device's line (format 2; 0 in format 1).
    #[serde(default)]
    pub seq: u64,
    /// For every other device's line, the newest manifest whose library this
    /// snapshot includes (merged before the push). A pull that merges this
    /// manifest has merged those too.
    #[serde(default)]
    pub heads: BTreeMap<String, u64>,
    /// The vault.json epoch of the pushing device: a clone that finds a manifest
    /// newer than the key file it was given knows the key file was rolled back.
    #[serde(default)]
    pub epoch: u64,
    /// The pushing device's wall clock, for display only.
    pub created_at_ms: i64,
    /// The catalog's schema version (PRAGMA user_version) in the snapshot.
    pub schema_version: i64,
    pub snapshot_size: u64,
    /// The snapshot's chunks in order, with where each lies.
    pub snapshot: Vec<ManifestChunk>,
    /// Every pack holding a chunk this snapshot references (tracks, artwork, and
    /// the snapshot itself): what remote GC keeps.
    pub packs: Vec<String>,
    pub tracks: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestChunk {
    pub id: String,
    pub pack: String,
    pub offset: u64,
    pub length: u64,
}

/// Phase one of remote GC: packs found unreferenced, to be deleted by a later run
/// once the grace period has passed and they are still unreferenced. Its age is
/// the server's LastModified, never a device's clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GcMark {
    /// The marking device's wall clock, for display only.
    pub marked_at_ms: i64,
    pub packs: Vec<String>,
}

/// Phase two of remote GC: packs it is about to delete, written before the first
/// deletion and kept, so that a device that was away for the whole grace period
/// learns of the deletion without listing every pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GoneRecord {
    /// The deleting device's wall clock, for display only.
    pub deleted_at_ms: i64,
    pub packs: Vec<String>,
}

/// A push or remote GC in progress, announced under `locks/` (see `lease`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseBody {
    pub device: String,
    /// "push" or "gc".
    pub kind: String,
    /// The device's wall clock, for display only.
    pub started_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_and_rejects_truncation() {
        let p1 = [1u8; 32];
        let p2 = [2u8; 32];
        let idx = IndexObject {
            packs: vec![(p1, 100), (p2, 200)],
            entries: vec![
                Location {
                    chunk: ChunkId([9; 32]),
                    pack: p2,
                    offset: 50,
                    length: 20,
                },
                Location {
                    chunk: ChunkId([8; 32]),
                    pack: p1,
                    offset: 0,
                    length: 100,
                },
            ],
        };
        let bytes = idx.encode();
        assert_eq!(IndexObject::decode("i", &bytes).unwrap(), idx);
        assert!(IndexObject::decode("i", &bytes[..bytes.len() - 1]).is_err());
    }

    /// The encoder once scanned the pack list for every entry: 100,000 packs of
    /// one chunk each was 5·10⁹ comparisons (minutes in a debug build). Linear,
    /// it is milliseconds; the bound leaves a hundredfold margin for a slow machine.
    #[test]
    fn index_encoding_is_linear_in_packs_and_entries() {
        let n = 100_000u32;
        let id = |tag: u8, i: u32| {
            let mut a = [tag; 32];
            a[..4].copy_from_slice(&i.to_le_bytes());
            a
        };
        let idx = IndexObject {
            packs: (0..n).map(|i| (id(1, i), 8 << 20)).collect(),
            entries: (0..n)
                .rev()
                .map(|i| Location {
                    chunk: ChunkId(id(2, i)),
                    pack: id(1, i),
                    offset: u64::from(i),
                    length: 4096,
                })
                .collect(),
        };
        let started = std::time::Instant::now();
        let bytes = idx.encode();
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(5),
            "encoding {n} packs and entries took {took:?}"
        );
        // Each entry still names its own pack.
        assert_eq!(IndexObject::decode("i", &bytes).unwrap(), idx);
    }

    #[test]
    fn sealed_objects_are_bound_to_their_name() {
        let key = MasterKey::generate().unwrap();
        let sealer = Sealer::new(&key, "vault");
        let sealed = sealer.seal("catalogs/1-a", b"hello").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        assert_eq!(
            sealer.open("catalogs/1-a", sealed.clone()).unwrap(),
            b"hello"
        );
        assert!(sealer.open("catalogs/2-a", sealed.clone()).is_err());
        let mut flipped = sealed;
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(sealer.open("catalogs/1-a", flipped).is_err());
    }

    #[test]
    fn numbered_names_parse_and_sort_by_sequence() {
        let a = numbered_name(INDEXES, "c0ffee", 9).unwrap();
        let b = numbered_name(INDEXES, "c0ffee", 10).unwrap();
        assert!(a < b, "{a} sorts before {b}");
        assert_eq!(
            parse_numbered_name(INDEXES, &b),
            Some(("c0ffee".to_string(), 10))
        );
        assert_eq!(parse_numbered_name(GONE, &b), None, "another prefix");
        // Names from before format 2, or not this format at all, are not numbered.
        assert_eq!(
            parse_numbered_name(INDEXES, &format!("{INDEXES}{}", "ab".repeat(32))),
            None
        );
        assert_eq!(parse_numbered_name(INDEXES, "index/c0ffee/12-ab"), None);
        assert_eq!(
            parse_numbered_name(INDEXES, "index/not-hex/00000000000000000001-ab"),
            None
        );
    }

    #[test]
    fn manifest_names_parse_in_both_formats() {
        let name = manifest_name("00ab", 7);
        assert_eq!(parse_manifest_name(&name), Some((7, "00ab".to_string())));
        assert!(manifest_name("00ab", 9) < manifest_name("00ab", 10));
        // A format-1 name: the time stands where the sequence number is.
        let old = timed_name(CATALOGS, 1_733_000_000_123, "c0ffee");
        assert_eq!(
            parse_manifest_name(&old),
            Some((1_733_000_000_123, "c0ffee".to_string()))
        );
        assert_eq!(parse_manifest_name("catalogs/12-"), None);
        assert_eq!(parse_manifest_name("catalogs/x-ab"), None);
        assert_eq!(parse_manifest_name("packs/1-ab"), None);
        assert_eq!(
            key_file_epoch(&key_file_name(42, "0123456789abcdef0123")),
            Some(42)
        );
    }

    #[test]
    fn timed_names_sort_by_time() {
        let a = timed_name(CATALOGS, 999, "d");
        let b = timed_name(CATALOGS, 1000, "d");
        assert!(a < b);
        assert_eq!(time_of(&b), Some(1000));
    }
}
