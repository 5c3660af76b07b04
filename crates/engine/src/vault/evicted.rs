//! The local half of cloud-only tracks (`sync::evict` does the rest): putting
//! right what an eviction cut short left. Here, below `sync`, because GC runs it
//! too.

use super::Vault;
use crate::catalog::cloud;
use crate::error::Result;
use crate::store::ChunkId;

impl Vault {
    /// Puts right what an eviction cut short left (call under the exclusive
    /// lock): a marked chunk whose file is still there and intact is local again
    /// (the mark is rolled back); a damaged leftover file is removed (the mark
    /// stays: the remote holds the chunk). Returns how many it touched.
    pub(crate) fn recover_evictions(&self) -> Result<u64> {
        let evicted: Vec<ChunkId> = {
            let catalog = self.catalog();
            cloud::evicted_chunks(&catalog)?.into_iter().collect()
        };
        let present: Vec<ChunkId> = evicted
            .into_iter()
            .filter(|id| self.store().contains(id))
            .collect();
        if present.is_empty() {
            return Ok(0);
        }
        let sizes = cloud::stored_sizes(&self.catalog(), &present)?;
        let mut intact = Vec::new();
        for id in &present {
            if self.store().holds_intact(id, sizes.get(id).copied()) {
                intact.push(*id);
            } else {
                self.store().remove(id)?;
            }
        }
        if !intact.is_empty() {
            // Made durable before the catalog calls them local again.
            self.store().make_durable(&intact)?;
            cloud::clear_evicted(&self.catalog(), &intact)?;
        }
        Ok(present.len() as u64)
    }

    /// Records that the player served this track now (for "not played for N
    /// days"). Only when the writer is free at once: playback never waits for it,
    /// and a play missed while a long job writes only makes the track look older.
    /// Within a minute of the last one nothing is written (the player's several
    /// requests per track).
    pub fn record_play(&self, id: &crate::catalog::TrackId) {
        if let Ok(catalog) = self.catalog.try_lock() {
            let _ = cloud::record_play(&catalog, id);
        }
    }
}
