//! Who pushes to the remote, and what their pushes would bring here: the lines
//! of manifests (see `lines`) as the app's Cloud view and `remote devices` show
//! them.

use serde::Serialize;

use super::lines::Lines;
use super::merge::{self, Incoming};
use super::pull::read_manifest;
use super::refresh::{Depth, refresh};
use super::{RemoteCredentials, Session, SyncOptions, state};
use crate::catalog::format_time;
use crate::error::{Error, Result};
use crate::progress::CancelToken;
use crate::vault::Vault;

/// One device's line of manifests.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceLine {
    pub device: String,
    pub this_device: bool,
    /// Manifests of the line still on the remote.
    pub manifests: u64,
    /// The newest one's number in the line.
    pub newest_seq: u64,
    /// When the remote received the newest one (the server's clock, RFC 3339).
    pub last_push_at: Option<String>,
    /// Tracks in the newest manifest's catalog.
    pub tracks: u64,
    /// The newest manifest of this line that this device's catalog includes.
    pub merged_seq: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteDevices {
    pub remote: String,
    pub this_device: String,
    pub devices: Vec<DeviceLine>,
    /// Lines with news this device has not merged, newest manifest each, with what
    /// merging it would change (when asked for; counting fetches the snapshot).
    pub unmerged: Vec<Incoming>,
}

impl RemoteDevices {
    /// Tracks the unmerged lines would add, summed (an upper bound when two lines
    /// bring the same track).
    pub fn incoming_tracks(&self) -> u64 {
        self.unmerged.iter().map(|i| i.new_tracks).sum()
    }
}

impl Vault {
    /// The devices that push to the remote and, with `count_incoming`, what a pull
    /// would bring from each line this device has not merged yet.
    pub fn remote_devices(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        count_incoming: bool,
        cancel: &CancelToken,
    ) -> Result<RemoteDevices> {
        let s = Session::open(self, credentials, options, cancel)?;
        let this_device = self.catalog().device_id()?;
        let lines = s.block_on(Lines::list(&s.remote))?;
        let heads = state::heads(&self.catalog())?;
        let mut devices = Vec::new();
        for (device, entries) in &lines.by_device {
            let Some(newest) = entries.last() else {
                continue;
            };
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let manifest =
                read_manifest(&s.remote, &s.rt, &s.sealer, &newest.name, self.vault_id())?;
            devices.push(DeviceLine {
                device: device.clone(),
                this_device: *device == this_device,
                manifests: entries.len() as u64,
                newest_seq: newest.seq,
                last_push_at: (newest.modified > 0).then(|| format_time(newest.modified)),
                tracks: manifest.tracks,
                merged_seq: heads.get(device).copied().unwrap_or(0),
            });
        }
        let mut unmerged = Vec::new();
        let pending = lines.unmerged(&heads);
        if count_incoming && !pending.is_empty() {
            refresh(self, &s.remote, &s.rt, &s.sealer, Depth::Changes)?;
        }
        for entry in pending {
            if !count_incoming {
                unmerged.push(Incoming {
                    device: entry.device.clone(),
                    seq: entry.seq,
                    pushed_at: (entry.modified > 0).then(|| format_time(entry.modified)),
                    ..Default::default()
                });
                continue;
            }
            let manifest =
                read_manifest(&s.remote, &s.rt, &s.sealer, &entry.name, self.vault_id())?;
            unmerged.push(merge::preview(&s, &entry, &manifest)?);
        }
        Ok(RemoteDevices {
            remote: s.config.url(),
            this_device,
            devices,
            unmerged,
        })
    }
}
