//! This device's view of which packs the remote holds, brought up to date at the
//! cost of what changed since the last look, not of the remote's size.
//!
//! Packs appear through index objects (every push writes one for its new packs)
//! and disappear through remote GC, which marks packs (`gc/`, a handful of live
//! marks, each gone a grace period later) and, before it deletes any, writes a
//! permanent record of what it deletes (`gone/`). Index objects and gone records
//! are numbered per device, so each device prefix is read from the last name this
//! device read (`list_after`): one LIST of the prefix's level plus one per device,
//! however many packs, indexes or GC runs the remote has seen. The packs
//! themselves are not listed on the way.
//!
//! What the records cannot tell, a full listing of `packs/` does: a pack deleted
//! by hand, by a bucket lifecycle rule, or by a GC of a version that wrote no gone
//! records. It runs on a device's first look, at least once a week
//! ([`FULL_LISTING_EVERY`], by this device's clock; a clock set back counts as
//! due), and always for repair and remote verify (remote GC lists every pack itself).

use std::collections::HashSet;

use super::objects::{self, GC_MARKS, GONE, INDEXES, PACKS, Sealer};
use super::s3::{Listed, S3Remote};
use super::state;
use crate::catalog::now_unix;
use crate::error::Result;
use crate::vault::Vault;

/// How long a device goes without listing every pack.
pub(crate) const FULL_LISTING_EVERY: i64 = 7 * 24 * 3600;

/// When this device last listed every pack (unix seconds, its own clock).
const LAST_FULL_LISTING_AT: &str = "last_full_pack_listing_at";

/// What [`refresh`] saw of the remote.
pub(crate) struct RemoteView {
    /// GC marks read (so a later look finds only the new ones).
    pub marks_seen: HashSet<String>,
}

/// How much of the remote a refresh lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// What changed, and every pack when the last full listing is due.
    Changes,
    /// Every pack too (repair, remote verify).
    Full,
}

/// Brings this device's view of the remote up to date: reads the index objects
/// and gone records it has not seen, and forgets packs that are gone or marked
/// for deletion by remote GC, so their chunks are uploaded again rather than
/// relied on.
pub(crate) fn refresh(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    sealer: &Sealer,
    depth: Depth,
) -> Result<RemoteView> {
    let now = now_unix();
    let last_full: Option<i64> =
        state::get(&vault.catalog(), LAST_FULL_LISTING_AT)?.and_then(|v| v.parse().ok());
    let full = depth == Depth::Full
        || last_full.is_none_or(|at| now < at || now - at >= FULL_LISTING_EVERY);

    // Deletions first: an index read after them cannot bring a deleted pack back
    // (`record_packs` skips every pack recorded gone).
    for record in unread(vault, remote, rt, GONE)? {
        let Some(sealed) = rt.block_on(remote.get(&record.name))? else {
            continue;
        };
        let content: objects::GoneRecord = sealer.open_json(&record.name, sealed)?;
        let packs: Vec<[u8; 32]> = content
            .packs
            .iter()
            .filter_map(|p| objects::id32_from_hex(p))
            .collect();
        state::record_gone(&vault.catalog(), &packs)?;
        mark_read(vault, GONE, &record.name)?;
    }

    let marks = rt.block_on(remote.list(GC_MARKS))?;
    let mut doomed = HashSet::new();
    let marks_seen: HashSet<String> = marks.iter().map(|m| m.name.clone()).collect();
    for mark in marks {
        let Some(sealed) = rt.block_on(remote.get(&mark.name))? else {
            continue;
        };
        let mark: objects::GcMark = sealer.open_json(&mark.name, sealed)?;
        doomed.extend(mark.packs.iter().filter_map(|p| objects::id32_from_hex(p)));
    }

    let known_indexes = state::known_indexes(&vault.catalog())?;
    for index in unread(vault, remote, rt, INDEXES)? {
        if known_indexes.contains(&index.name) {
            mark_read(vault, INDEXES, &index.name)?;
            continue;
        }
        let Some(sealed) = rt.block_on(remote.get(&index.name))? else {
            continue;
        };
        let plain = sealer.open(&index.name, sealed)?;
        let decoded = objects::IndexObject::decode(&index.name, &plain)?;
        state::record_packs(
            &vault.catalog(),
            &decoded.packs,
            &decoded.entries,
            Some(&index.name),
        )?;
        mark_read(vault, INDEXES, &index.name)?;
    }

    // Listed after the indexes were read, never before: every pack an index names
    // was uploaded before the index was written, so one missing here is gone (a
    // listing made first would miss packs uploaded since, and forget them for good).
    let existing: Option<HashSet<[u8; 32]>> = if full {
        let packs = rt.block_on(remote.list(PACKS))?;
        Some(
            packs
                .iter()
                .filter_map(|p| objects::pack_id_from_name(&p.name))
                .collect(),
        )
    } else {
        None
    };
    let forget: Vec<[u8; 32]> = state::known_packs(&vault.catalog())?
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| doomed.contains(id) || existing.as_ref().is_some_and(|e| !e.contains(id)))
        .collect();
    state::forget_packs(&vault.catalog(), &forget)?;
    if full {
        state::set(&vault.catalog(), LAST_FULL_LISTING_AT, &now.to_string())?;
    }
    Ok(RemoteView { marks_seen })
}

/// The objects under `dir` this device has not read, oldest first per device:
/// one LIST for the level (device prefixes, and objects named before format 2,
/// which sit directly under `dir`), then each device prefix from the last name
/// read of it.
fn unread(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    dir: &str,
) -> Result<Vec<Listed>> {
    let level = rt.block_on(remote.list_level(dir))?;
    let mut out: Vec<Listed> = level.objects;
    for prefix in level.prefixes {
        let Some(device) = prefix.strip_prefix(dir).and_then(|d| d.strip_suffix('/')) else {
            continue;
        };
        let after = state::get(&vault.catalog(), &read_key(dir, device))?;
        let listed = match after {
            Some(after) => rt.block_on(remote.list_after(&prefix, &after))?,
            None => rt.block_on(remote.list(&prefix))?,
        };
        out.extend(
            listed
                .into_iter()
                .filter(|l| objects::parse_numbered_name(dir, &l.name).is_some()),
        );
    }
    Ok(out)
}

/// The state key holding the last name read under `dir` for `device`.
fn read_key(dir: &str, device: &str) -> String {
    format!("read:{dir}{device}")
}

/// Remembers `name` as read, so the next look lists its device's prefix after it.
/// Names from before format 2 are remembered by `known_indexes` instead.
pub(crate) fn mark_read(vault: &Vault, dir: &str, name: &str) -> Result<()> {
    let Some((device, _)) = objects::parse_numbered_name(dir, name) else {
        return Ok(());
    };
    let key = read_key(dir, &device);
    let catalog = vault.catalog();
    if state::get(&catalog, &key)?.is_none_or(|last| last.as_str() < name) {
        state::set(&catalog, &key, name)?;
    }
    Ok(())
}

/// The number for this device's next object under `dir`: past every one of its
/// own this catalog has read or written (its own prefix is read by `refresh`
/// first, so a catalog restored from an older copy continues past the remote's).
pub(crate) fn next_number(vault: &Vault, dir: &str, device: &str) -> Result<u64> {
    let last = state::get(&vault.catalog(), &read_key(dir, device))?
        .and_then(|name| objects::parse_numbered_name(dir, &name))
        .map_or(0, |(_, seq)| seq);
    Ok(last + 1)
}
