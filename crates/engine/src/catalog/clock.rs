//! The library's Lamport clock and content adds (migration 0010). Devices order
//! their trash and restore choices by these stamps, never by wall clocks: a stamp
//! is taken after raising the clock past everything merged, so a choice made after
//! seeing another always wins over it, and a device whose clock is hours off
//! reorders nothing.

use rusqlite::{Connection, OptionalExtension};

/// The next stamp. Call inside the transaction that records the change.
pub(crate) fn tick(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "UPDATE lamport SET value = value + 1 WHERE id = 1 RETURNING value",
        [],
        |r| r.get(0),
    )
}

/// Raises the clock to at least `seen` (a stamp merged from another device).
pub(crate) fn observe(conn: &Connection, seen: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE lamport SET value = max(value, ?1) WHERE id = 1",
        [seen],
    )?;
    Ok(())
}

/// The device id that tags this catalog's adds, made on first use (the same one
/// that names its line of manifests on a remote).
///
/// The id is bound to the machine: a vault folder copied to another computer (a
/// migration, a backup restored elsewhere) gets an id of its own there, so the two
/// copies never push into one line and overwrite each other's manifests.
pub(crate) fn device(conn: &Connection) -> rusqlite::Result<String> {
    let get = |key: &str| -> rusqlite::Result<Option<String>> {
        conn.query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
    };
    let existing = get("device_id")?;
    let machine = machine_fingerprint();
    if let (Some(id), Some(machine)) = (&existing, &machine) {
        match get("device_machine")? {
            Some(recorded) if recorded != *machine => {
                conn.execute(
                    "DELETE FROM sync_state WHERE key IN ('device_id', 'device_machine')",
                    [],
                )?;
                return device(conn);
            }
            Some(_) => return Ok(id.clone()),
            None => {
                conn.execute(
                    "INSERT OR IGNORE INTO sync_state (key, value) VALUES ('device_machine', ?1)",
                    [machine],
                )?;
                return Ok(id.clone());
            }
        }
    }
    if let Some(id) = existing {
        return Ok(id);
    }
    if let Some(machine) = &machine {
        conn.execute(
            "INSERT OR REPLACE INTO sync_state (key, value) VALUES ('device_machine', ?1)",
            [machine],
        )?;
    }
    let random: [u8; 8] = crate::keys::random_array()
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES ('device_id', ?1)
         ON CONFLICT (key) DO NOTHING",
        [crate::store::hex(&random)],
    )?;
    // Another connection may have made one first: theirs stands.
    conn.query_row(
        "SELECT value FROM sync_state WHERE key = 'device_id'",
        [],
        |r| r.get(0),
    )
}

/// Records that this device chose to keep `sha256` (an import or a restore).
pub(crate) fn add(
    conn: &Connection,
    sha256: &[u8],
    device: &str,
    stamp: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO content_adds (sha256, device, clock) VALUES (?1, ?2, ?3)",
    )?
    .execute(rusqlite::params![sha256, device, stamp])?;
    Ok(())
}

/// A keyed digest of this machine's id (`/etc/machine-id`), so the catalog can
/// tell it was moved to another computer without storing the id itself. `None`
/// where the system has none (the binding is then skipped). The test seam
/// `AUDIOVAULT_TEST_MACHINE_ID` stands for another machine.
fn machine_fingerprint() -> Option<String> {
    static MACHINE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let id = std::env::var("AUDIOVAULT_TEST_MACHINE_ID")
                .ok()
                .or_else(|| {
                    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
                        .iter()
                        .find_map(|p| std::fs::read_to_string(p).ok())
                })?;
            let id = id.trim();
            (!id.is_empty()).then(|| {
                crate::store::hex(
                    &blake3::keyed_hash(b"audiovault device machine v1 key", id.as_bytes())
                        .as_bytes()[..8],
                )
            })
        })
        .clone()
}
