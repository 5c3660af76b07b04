//! The remote's catalogs as lines, one per device.
//!
//! Each device's pushes form its own line `catalogs/<seq>-<device>`, numbered
//! 1, 2, 3… by the device itself. A manifest is a whole catalog, including
//! everything its device had merged from other lines (listed in its `heads`), so
//! the newest manifest of a line stands for the whole line. A device's catalog
//! records, per line, the newest sequence number it includes (`sync_heads`); a
//! pull merges the newest manifest of every line ahead of that, its own line too
//! (its catalog may have been restored from an older copy). Nothing here reads a
//! clock: the order within a line is its sequence numbers, and lines are merged
//! as a join (see `merge`), in which order does not matter.

use std::collections::BTreeMap;

use super::SyncError;
use super::objects::{self, CATALOGS};
use super::s3::{Listed, S3Remote};

/// One manifest as listed.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub seq: u64,
    pub device: String,
    /// Server time (unix seconds) it was written.
    pub modified: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Lines {
    /// Device → its manifests, oldest first.
    pub by_device: BTreeMap<String, Vec<Entry>>,
}

impl Lines {
    pub(crate) async fn list(remote: &S3Remote) -> Result<Lines, SyncError> {
        Ok(Lines::from_listing(remote.list(CATALOGS).await?))
    }

    pub(crate) fn from_listing(listed: Vec<Listed>) -> Lines {
        let mut lines = Lines::default();
        for l in listed {
            if let Some((seq, device)) = objects::parse_manifest_name(&l.name) {
                lines
                    .by_device
                    .entry(device.clone())
                    .or_default()
                    .push(Entry {
                        name: l.name,
                        seq,
                        device,
                        modified: l.modified,
                    });
            }
        }
        for entries in lines.by_device.values_mut() {
            entries.sort_by_key(|e| e.seq);
        }
        lines
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_device.is_empty()
    }

    pub(crate) fn newest(&self, device: &str) -> Option<&Entry> {
        self.by_device.get(device).and_then(|e| e.last())
    }

    /// The newest manifest of every line.
    pub(crate) fn heads(&self) -> impl Iterator<Item = &Entry> {
        self.by_device.values().filter_map(|e| e.last())
    }

    /// The newest manifest of every line that `merged` does not include yet.
    pub(crate) fn unmerged(&self, merged: &BTreeMap<String, u64>) -> Vec<Entry> {
        self.heads()
            .filter(|e| merged.get(&e.device).is_none_or(|seq| e.seq > *seq))
            .cloned()
            .collect()
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Entry> {
        self.by_device.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(device: &str, seq: u64) -> Listed {
        Listed {
            name: objects::manifest_name(device, seq),
            size: 1,
            modified: 0,
        }
    }

    #[test]
    fn unmerged_is_the_newest_of_each_line_ahead_of_what_was_merged() {
        let lines = Lines::from_listing(vec![
            listed("aa", 2),
            listed("aa", 1),
            listed("bb", 7),
            listed("cc", 3),
            Listed {
                name: "catalogs/garbage".into(),
                size: 1,
                modified: 0,
            },
        ]);
        assert_eq!(lines.by_device.len(), 3);
        assert_eq!(lines.newest("aa").map(|e| e.seq), Some(2));
        let merged = BTreeMap::from([("aa".to_string(), 2), ("bb".to_string(), 5)]);
        let todo: Vec<(String, u64)> = lines
            .unmerged(&merged)
            .into_iter()
            .map(|e| (e.device, e.seq))
            .collect();
        assert_eq!(todo, vec![("bb".into(), 7), ("cc".into(), 3)]);
    }
}
