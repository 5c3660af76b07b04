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
pub(crate) fn device(conn: &Connection) -> rusqlite::Result<String> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'device_id'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
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
