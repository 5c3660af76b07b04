//! Sealed records: the vault folder alone describes the library.
//!
//! `catalog.db` is fast to query but a single file; chunk ids are keyed hashes, so
//! without it nothing says which chunks make which track. Records say it again,
//! sealed, in the vault folder:
//!
//! - `records/ab/<track id>`: one track — its row (every column but its import
//!   job, by name), its ordered chunk list with the chunks' sizes, its artwork
//!   chunk, its tags, state, Lamport stamp and its content's adds;
//! - `records/tombstones`: every tombstone, and the adds (keep decisions, see
//!   `catalog::clock`) of every content that has no track, rewritten whole, so a
//!   rebuilt catalog keeps every purge;
//! - `records/settings`: the settings, the remote's row and the watched folders.
//!
//! A record is written (temp file in `tmp/`, rename) and made durable before the
//! catalog transaction that it describes commits: the catalog marks what a
//! transaction changes (`record_dirty`, filled by triggers) and
//! [`crate::catalog::Catalog::seal_records`] writes the marked records just before
//! the commit (see `catalog/records.rs`). `doctor --repair` rebuilds a lost or
//! damaged catalog from them.
//!
//! On disk a record is `FORMAT ‖ nonce ‖ AES-256-GCM(payload) ‖ tag` under a key of
//! its own (HKDF from the master key), with the format byte and the record's name
//! as associated data: a record cannot stand in for another, and names reveal
//! nothing but random track ids. Derived data (analysis, thumbnails) is not
//! recorded; it is computed again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
/// A cell of a record: the catalog's own value type, so a record holds exactly what
/// a row held.
pub use rusqlite::types::Value;

use crate::ids::TrackId;
use crate::keys::{KeyError, MasterKey, aead_key, random_array};
use crate::store::{durable, hex};

/// The first byte of every record: AES-256-GCM with a random 96-bit nonce.
const FORMAT_AES256GCM: u8 = 1;
const TAG_LEN: usize = 16;
/// The payload's own layout version (inside the seal).
const PAYLOAD_VERSION: u16 = 1;
/// Caps while decoding, so a damaged length never asks for gigabytes.
const MAX_ITEMS: u32 = 1 << 24;

pub(crate) const RECORDS_DIR: &str = "records";
const TOMBSTONES: &str = "tombstones";
const SETTINGS: &str = "settings";

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("record {name} is damaged: {reason}")]
    Damaged { name: String, reason: String },
    #[error(
        "record {name} was written by a newer Audiovault (catalog schema {found}, this one knows {known}); upgrade Audiovault"
    )]
    TooNew {
        name: String,
        found: i64,
        known: i64,
    },
    #[error("track id '{0}' cannot name a record (expected hex digits)")]
    BadTrackId(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl RecordError {
    fn io(path: &Path, source: io::Error) -> Self {
        RecordError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Which record: a track's, or one of the whole-file records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordName {
    Track(TrackId),
    Tombstones,
    Settings,
}

impl RecordName {
    /// The name sealed into the record as associated data.
    fn label(&self) -> String {
        match self {
            RecordName::Track(id) => format!("track/{id}"),
            RecordName::Tombstones => TOMBSTONES.into(),
            RecordName::Settings => SETTINGS.into(),
        }
    }
}

impl std::fmt::Display for RecordName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// Track ids name files, so only hex digits are accepted (ids are 16 of them).
fn valid_track_id(id: &str) -> bool {
    (2..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One table's rows in a record, columns named.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl RecordTable {
    /// The value of `column` in row `row`, if the table has that column.
    pub fn get(&self, row: usize, column: &str) -> Option<&Value> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.rows.get(row)?.get(i)
    }
}

/// What a record holds: rows of catalog tables, and the catalog schema version
/// they were read under (a newer one is refused, never half-understood).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordPayload {
    pub schema_version: i64,
    pub tables: Vec<RecordTable>,
}

impl RecordPayload {
    pub fn table(&self, name: &str) -> Option<&RecordTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Whether this record, written under this or an older schema, says what
    /// `current` (the catalog's rendering now) says: the same tables and rows, where a
    /// column a later migration added (absent from the record) is NULL in `current`,
    /// as the record's rows read back (`insert_tables` inserts by column name). So a
    /// migration that adds a column does not make every record stale.
    pub fn says_the_same_as(&self, current: &RecordPayload) -> bool {
        if self == current {
            return true;
        }
        if self.schema_version > current.schema_version || self.tables.len() != current.tables.len()
        {
            return false;
        }
        self.tables.iter().zip(&current.tables).all(|(old, new)| {
            if old.name != new.name || old.rows.len() != new.rows.len() {
                return false;
            }
            let Some(positions) = old
                .columns
                .iter()
                .map(|c| new.columns.iter().position(|n| n == c))
                .collect::<Option<Vec<usize>>>()
            else {
                return false;
            };
            let added: Vec<usize> = (0..new.columns.len())
                .filter(|i| !positions.contains(i))
                .collect();
            old.rows.iter().zip(&new.rows).all(|(o, n)| {
                positions.iter().zip(o).all(|(at, v)| n.get(*at) == Some(v))
                    && added.iter().all(|at| n.get(*at) == Some(&Value::Null))
            })
        })
    }

    /// `u16 version ‖ i64 schema ‖ u16 tables ‖ per table: name, u16 columns,
    /// names, u32 rows, values` — strings and blobs length-prefixed (u32), numbers
    /// little-endian, each value tagged (0 null, 1 integer, 2 real, 3 text, 4 blob).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(&PAYLOAD_VERSION.to_le_bytes());
        out.extend_from_slice(&self.schema_version.to_le_bytes());
        out.extend_from_slice(&(self.tables.len() as u16).to_le_bytes());
        for t in &self.tables {
            put_bytes(&mut out, t.name.as_bytes());
            out.extend_from_slice(&(t.columns.len() as u16).to_le_bytes());
            for c in &t.columns {
                put_bytes(&mut out, c.as_bytes());
            }
            out.extend_from_slice(&(t.rows.len() as u32).to_le_bytes());
            for row in &t.rows {
                for v in row {
                    match v {
                        Value::Null => out.push(0),
                        Value::Integer(i) => {
                            out.push(1);
                            out.extend_from_slice(&i.to_le_bytes());
                        }
                        Value::Real(f) => {
                            out.push(2);
                            out.extend_from_slice(&f.to_le_bytes());
                        }
                        Value::Text(s) => {
                            out.push(3);
                            put_bytes(&mut out, s.as_bytes());
                        }
                        Value::Blob(b) => {
                            out.push(4);
                            put_bytes(&mut out, b);
                        }
                    }
                }
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<RecordPayload, String> {
        let mut r = Reader { bytes, at: 0 };
        let version = u16::from_le_bytes(r.array()?);
        if version != PAYLOAD_VERSION {
            return Err(format!("unknown payload version {version}"));
        }
        let schema_version = i64::from_le_bytes(r.array()?);
        let table_count = u16::from_le_bytes(r.array()?);
        let mut tables = Vec::with_capacity(table_count as usize);
        for _ in 0..table_count {
            let name = r.string()?;
            let column_count = u16::from_le_bytes(r.array()?) as usize;
            let columns = (0..column_count)
                .map(|_| r.string())
                .collect::<Result<Vec<_>, _>>()?;
            let row_count = u32::from_le_bytes(r.array()?);
            if row_count > MAX_ITEMS {
                return Err("too many rows".into());
            }
            let mut rows = Vec::with_capacity(row_count.min(4096) as usize);
            for _ in 0..row_count {
                let mut row = Vec::with_capacity(column_count);
                for _ in 0..column_count {
                    row.push(match r.array::<1>()?[0] {
                        0 => Value::Null,
                        1 => Value::Integer(i64::from_le_bytes(r.array()?)),
                        2 => Value::Real(f64::from_le_bytes(r.array()?)),
                        3 => Value::Text(r.string()?),
                        4 => Value::Blob(r.bytes()?.to_vec()),
                        tag => return Err(format!("unknown value tag {tag}")),
                    });
                }
                rows.push(row);
            }
            tables.push(RecordTable {
                name,
                columns,
                rows,
            });
        }
        if r.at != bytes.len() {
            return Err("trailing bytes".into());
        }
        Ok(RecordPayload {
            schema_version,
            tables,
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("truncated")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        self.take(N)?.try_into().map_err(|_| "truncated".into())
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = u32::from_le_bytes(self.array()?);
        self.take(len as usize)
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "text is not UTF-8".into())
    }
}

/// The `records/` folder: sealing, writing, reading and listing records.
pub struct RecordStore {
    dir: PathBuf,
    tmp_dir: PathBuf,
    key: LessSafeKey,
}

impl RecordStore {
    pub(crate) fn new(vault_root: &Path, master: &MasterKey, vault_id: &str) -> Self {
        RecordStore {
            dir: vault_root.join(RECORDS_DIR),
            tmp_dir: vault_root.join("tmp"),
            key: aead_key(&master.derive(vault_id, "audiovault records v1")),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    #[cfg(target_os = "linux")]
    fn chunks_dir(&self) -> PathBuf {
        self.dir
            .parent()
            .map_or_else(|| PathBuf::from("chunks"), |root| root.join("chunks"))
    }

    pub fn path_of(&self, name: &RecordName) -> PathBuf {
        match name {
            RecordName::Track(id) => self
                .dir
                .join(id.as_str().get(..2).unwrap_or("__"))
                .join(id.as_str()),
            RecordName::Tombstones => self.dir.join(TOMBSTONES),
            RecordName::Settings => self.dir.join(SETTINGS),
        }
    }

    /// True once records were ever written here (the settings record is written
    /// when a vault is created or first opened by a version with records).
    pub fn has_records(&self) -> bool {
        self.dir.join(SETTINGS).is_file()
    }

    pub(crate) fn seal(&self, name: &RecordName, payload: &[u8]) -> Result<Vec<u8>, RecordError> {
        let nonce: [u8; NONCE_LEN] = random_array()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + payload.len() + TAG_LEN);
        out.push(FORMAT_AES256GCM);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(payload);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(FORMAT_AES256GCM, name)),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| KeyError::Random)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    pub(crate) fn open(
        &self,
        name: &RecordName,
        mut sealed: Vec<u8>,
    ) -> Result<Vec<u8>, RecordError> {
        let damaged = |reason: &str| RecordError::Damaged {
            name: name.label(),
            reason: reason.into(),
        };
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(damaged("too short"));
        }
        if sealed[0] != FORMAT_AES256GCM {
            return Err(damaged("unknown format"));
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN]
            .try_into()
            .map_err(|_| damaged("too short"))?;
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(sealed[0], name)),
                &mut sealed[1 + NONCE_LEN..],
            )
            .map_err(|_| damaged("authentication failed"))?
            .len();
        sealed.drain(..1 + NONCE_LEN);
        sealed.truncate(len);
        Ok(sealed)
    }

    /// Seals `payload` and puts it in place (temp file, rename). Not durable yet:
    /// see [`RecordStore::make_durable`].
    pub(crate) fn write(
        &self,
        name: &RecordName,
        payload: &RecordPayload,
    ) -> Result<(), RecordError> {
        if let RecordName::Track(id) = name
            && !valid_track_id(id.as_str())
        {
            return Err(RecordError::BadTrackId(id.to_string()));
        }
        let sealed = self.seal(name, &payload.encode())?;
        // The chunk store's temp name: opening the vault removes those of
        // writers that died (store::clean_tmp).
        let tmp = durable::temp_path(&self.tmp_dir)?;
        durable::put_via_temp(
            &tmp,
            &self.path_of(name),
            &sealed,
            durable::Flush::WithBatch,
        )
        .map_err(|(path, e)| RecordError::io(&path, e))
    }

    /// Reads, authenticates and decodes a record; `Ok(None)` when there is none.
    pub(crate) fn read(&self, name: &RecordName) -> Result<Option<RecordPayload>, RecordError> {
        let path = self.path_of(name);
        let sealed = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RecordError::io(&path, e)),
        };
        let plain = self.open(name, sealed)?;
        let payload = RecordPayload::decode(&plain).map_err(|reason| RecordError::Damaged {
            name: name.label(),
            reason,
        })?;
        let known = super::SCHEMA_VERSION;
        if payload.schema_version > known {
            return Err(RecordError::TooNew {
                name: name.label(),
                found: payload.schema_version,
                known,
            });
        }
        Ok(Some(payload))
    }

    pub(crate) fn remove(&self, name: &RecordName) -> Result<(), RecordError> {
        let path = self.path_of(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RecordError::io(&path, e)),
        }
    }

    /// Moves a record that cannot be read out of the way (to `records/damaged/`),
    /// keeping its bytes; returns where it went.
    pub(crate) fn set_aside(&self, name: &RecordName) -> Result<PathBuf, RecordError> {
        let from = self.path_of(name);
        let dir = self.dir.join("damaged");
        crate::private::create_dir_all(&dir).map_err(|e| RecordError::io(&dir, e))?;
        let suffix: [u8; 4] = random_array()?;
        let to = dir.join(format!(
            "{}.{}",
            name.label().replace('/', "-"),
            hex(&suffix)
        ));
        fs::rename(&from, &to).map_err(|e| RecordError::io(&from, e))?;
        Ok(to)
    }

    /// The ids of every track record on disk. Anything else under `records/` (a
    /// stray file, a folder that is not a fan-out folder) is left out.
    pub fn track_ids(&self) -> Result<Vec<TrackId>, RecordError> {
        let mut out = Vec::new();
        let top = match fs::read_dir(&self.dir) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(RecordError::io(&self.dir, e)),
        };
        for entry in top {
            let entry = entry.map_err(|e| RecordError::io(&self.dir, e))?;
            let fan = entry.file_name();
            let Some(fan) = fan.to_str().filter(|f| f.len() == 2) else {
                continue;
            };
            if !entry.path().is_dir() {
                continue;
            }
            let sub = entry.path();
            for file in fs::read_dir(&sub).map_err(|e| RecordError::io(&sub, e))? {
                let file = file.map_err(|e| RecordError::io(&sub, e))?;
                let name = file.file_name();
                if let Some(id) = name
                    .to_str()
                    .filter(|n| valid_track_id(n) && n.starts_with(fan))
                {
                    out.push(TrackId(id.to_string()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Makes the records written so far durable. `chunks_synced`: a `syncfs` for
    /// the chunks of the same commit just ran, which on Linux covered the records
    /// too when both live on one file system. Elsewhere records were synced as
    /// written and their folders are synced here.
    pub(crate) fn make_durable(&self, chunks_synced: bool) -> Result<(), RecordError> {
        #[cfg(target_os = "linux")]
        {
            // chunks/ is the records' sibling, unless it was moved elsewhere.
            if chunks_synced && same_file_system(&self.dir, &self.chunks_dir()) {
                return Ok(());
            }
            sync_file_system(&self.dir)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = chunks_synced;
            sync_dir(&self.dir)?;
            for entry in fs::read_dir(&self.dir).map_err(|e| RecordError::io(&self.dir, e))? {
                let path = entry.map_err(|e| RecordError::io(&self.dir, e))?.path();
                if path.is_dir() {
                    sync_dir(&path)?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(target_os = "linux")]
fn same_file_system(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path) -> Result<(), RecordError> {
    durable::sync_file_system(dir).map_err(|e| RecordError::io(dir, e))
}

#[cfg(not(target_os = "linux"))]
fn sync_dir(dir: &Path) -> Result<(), RecordError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| RecordError::io(dir, e))
}

fn associated_data(format: u8, name: &RecordName) -> Vec<u8> {
    let mut aad = vec![format];
    aad.extend_from_slice(b"audiovault record\0");
    aad.extend_from_slice(name.label().as_bytes());
    aad
}

#[cfg(test)]
mod tests {

    /// A record written before a migration added a column says the same as the
    /// catalog's rendering with that column NULL, and nothing else does.
    #[test]
    fn a_record_from_before_a_new_column_says_the_same_when_that_column_is_null() {
        let table = |columns: &[&str], rows: Vec<Vec<Value>>| RecordTable {
            name: "track_chunks".into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        };
        let old = RecordPayload {
            schema_version: 11,
            tables: vec![table(
                &["track_id", "seq"],
                vec![vec![Value::Text("t".into()), Value::Integer(0)]],
            )],
        };
        let now = |transform: Value| RecordPayload {
            schema_version: 12,
            tables: vec![table(
                &["track_id", "seq", "transform"],
                vec![vec![Value::Text("t".into()), Value::Integer(0), transform]],
            )],
        };
        assert!(old.says_the_same_as(&now(Value::Null)));
        assert!(!old.says_the_same_as(&now(Value::Blob(vec![1, 0, 0, 0, 0]))));
        let mut other_row = now(Value::Null);
        other_row.tables[0].rows[0][1] = Value::Integer(1);
        assert!(!old.says_the_same_as(&other_row));
        // A newer record against an older catalog, or a column the catalog lost: no.
        assert!(!now(Value::Null).says_the_same_as(&old));
        let mut fewer_rows = now(Value::Null);
        fewer_rows.tables[0].rows.clear();
        assert!(!old.says_the_same_as(&fewer_rows));
    }

    use super::*;

    fn store(dir: &Path) -> RecordStore {
        fs::create_dir_all(dir.join("tmp")).unwrap();
        fs::create_dir_all(dir.join("chunks")).unwrap();
        RecordStore::new(dir, &MasterKey::generate().unwrap(), "vault-id")
    }

    fn payload() -> RecordPayload {
        RecordPayload {
            schema_version: crate::catalog::SCHEMA_VERSION,
            tables: vec![
                RecordTable {
                    name: "tracks".into(),
                    columns: vec![
                        "id".into(),
                        "sha256".into(),
                        "size".into(),
                        "dur".into(),
                        "title".into(),
                    ],
                    rows: vec![vec![
                        Value::Text("0123456789abcdef".into()),
                        Value::Blob(vec![7; 32]),
                        Value::Integer(-42),
                        Value::Real(3.25),
                        Value::Null,
                    ]],
                },
                RecordTable {
                    name: "track_tags".into(),
                    columns: vec!["key".into(), "value".into()],
                    rows: vec![
                        vec![Value::Text("MOOD".into()), Value::Text("Björk — ☂".into())],
                        vec![Value::Text("".into()), Value::Blob(vec![])],
                    ],
                },
                RecordTable {
                    name: "empty".into(),
                    columns: vec![],
                    rows: vec![],
                },
            ],
        }
    }

    #[test]
    fn payload_round_trips_every_value_kind() {
        let p = payload();
        let bytes = p.encode();
        assert_eq!(RecordPayload::decode(&bytes).unwrap(), p);
        assert_eq!(
            p.table("tracks").unwrap().get(0, "size"),
            Some(&Value::Integer(-42))
        );
        assert_eq!(p.table("tracks").unwrap().get(0, "nope"), None);
    }

    #[test]
    fn a_truncated_or_extended_payload_is_refused() {
        let bytes = payload().encode();
        for cut in [0, 1, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                RecordPayload::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(RecordPayload::decode(&longer).is_err());
    }

    #[test]
    fn write_read_and_list_track_records() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let a = RecordName::Track(TrackId("00aa11bb22cc33dd".into()));
        let b = RecordName::Track(TrackId("ffee000000000001".into()));
        s.write(&a, &payload()).unwrap();
        s.write(&b, &payload()).unwrap();
        s.write(&RecordName::Settings, &payload()).unwrap();
        s.make_durable(false).unwrap();
        assert_eq!(s.read(&a).unwrap(), Some(payload()));
        assert!(
            s.path_of(&a)
                .starts_with(dir.path().join("records").join("00"))
        );
        assert!(s.has_records());
        // A stray file and a temp-looking name are not records.
        fs::write(s.dir().join("00").join("notes.txt"), b"x").unwrap();
        fs::write(s.dir().join("ff").join("00aa11bb22cc33dd"), b"x").unwrap();
        assert_eq!(
            s.track_ids().unwrap(),
            vec![
                TrackId("00aa11bb22cc33dd".into()),
                TrackId("ffee000000000001".into())
            ]
        );
        assert!(
            fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .next()
                .is_none()
        );
        s.remove(&a).unwrap();
        s.remove(&a).unwrap();
        assert_eq!(s.read(&a).unwrap(), None);
        assert!(matches!(
            s.write(&RecordName::Track(TrackId("../x".into())), &payload()),
            Err(RecordError::BadTrackId(_))
        ));
    }

    #[test]
    fn a_record_cannot_stand_in_for_another_or_be_altered() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let a = RecordName::Track(TrackId("00aa11bb22cc33dd".into()));
        let b = RecordName::Track(TrackId("00aa11bb22cc33de".into()));
        s.write(&a, &payload()).unwrap();
        // Moved under another track's name: refused.
        fs::create_dir_all(s.path_of(&b).parent().unwrap()).unwrap();
        fs::copy(s.path_of(&a), s.path_of(&b)).unwrap();
        assert!(matches!(s.read(&b), Err(RecordError::Damaged { .. })));
        fs::copy(s.path_of(&a), s.path_of(&RecordName::Settings)).unwrap();
        assert!(matches!(
            s.read(&RecordName::Settings),
            Err(RecordError::Damaged { .. })
        ));
        // One flipped bit, or half the file (a torn write): refused.
        let good = fs::read(s.path_of(&a)).unwrap();
        let mut flipped = good.clone();
        let at = flipped.len() / 2;
        flipped[at] ^= 1;
        fs::write(s.path_of(&a), &flipped).unwrap();
        assert!(matches!(s.read(&a), Err(RecordError::Damaged { .. })));
        fs::write(s.path_of(&a), &good[..good.len() / 2]).unwrap();
        assert!(matches!(s.read(&a), Err(RecordError::Damaged { .. })));
        // Another vault's key: refused.
        fs::write(s.path_of(&a), &good).unwrap();
        let other = RecordStore::new(dir.path(), &MasterKey::generate().unwrap(), "vault-id");
        assert!(matches!(other.read(&a), Err(RecordError::Damaged { .. })));
        assert_eq!(s.read(&a).unwrap(), Some(payload()));
    }

    #[test]
    fn sealed_records_hold_no_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let a = RecordName::Track(TrackId("00aa11bb22cc33dd".into()));
        s.write(&a, &payload()).unwrap();
        let bytes = fs::read(s.path_of(&a)).unwrap();
        for needle in [&b"tracks"[..], b"MOOD", "Björk".as_bytes(), &[7u8; 32]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{needle:?} found in a sealed record"
            );
        }
    }

    /// A record read under an older schema with the same rows is current (doctor does
    /// not call it different after a migration that leaves recorded tables alone); a
    /// changed value is not.
    #[test]
    fn same_rows_ignore_the_schema_version_and_nothing_else() {
        let current = payload();
        let mut older = payload();
        older.schema_version -= 1;
        assert_ne!(older, current);
        assert!(older.says_the_same_as(&current));
        let mut changed = payload();
        changed.tables[0].rows[0][0] = Value::Null;
        assert_ne!(changed.tables, current.tables);
        assert!(!changed.says_the_same_as(&current));
    }

    #[test]
    fn a_record_from_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mut p = payload();
        p.schema_version = crate::catalog::SCHEMA_VERSION + 1;
        s.write(&RecordName::Tombstones, &p).unwrap();
        assert!(matches!(
            s.read(&RecordName::Tombstones),
            Err(RecordError::TooNew { .. })
        ));
    }
}
