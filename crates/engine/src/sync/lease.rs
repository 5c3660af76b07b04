//! Leases: a push or a remote GC announces itself with an object under `locks/`
//! for as long as it runs, and the remote's own clock dates everything.
//!
//! Why GC needs them: a push in flight may rely on a pack that no kept manifest
//! references yet (its manifest is written last). Remote GC deletes a marked pack
//! only when no other device's lease is alive, and it surveys the leases *before*
//! it reads the manifests. So a push either (a) held its lease when GC looked —
//! nothing is deleted in that run — or (b) finished before, and its manifest is
//! among those read, or (c) started after, and then read the GC marks (which all
//! existed before GC looked) and treats their packs as gone. A push also renews
//! its lease while it uploads, so only a lease whose owner died goes stale.
//!
//! Ages are the server's LastModified against the LastModified of the lease this
//! run just wrote: a device whose clock is hours off can neither delete a young
//! pack nor ignore a live lease.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::SyncError;
use super::objects::{LEASES, LeaseBody, Sealer};
use super::s3::S3Remote;
use crate::catalog::now_unix_millis;

/// A lease not renewed for this long belongs to a device that stopped (a crash, a
/// closed lid): GC no longer waits for it, and removes it.
pub(crate) const STALE_AFTER_SECS: i64 = 2 * 3600;
/// How often a running push renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(10 * 60);

pub(crate) struct Lease {
    name: String,
    sealed: Vec<u8>,
    renewed: Mutex<Instant>,
}

/// What the leases on the remote say, as of this run's own lease.
pub(crate) struct LeaseSurvey {
    /// The server's time (unix seconds) when this run's lease was written.
    pub server_now: i64,
    /// Other leases written or renewed within [`STALE_AFTER_SECS`].
    pub live_others: Vec<String>,
    /// Leases past it.
    pub stale: Vec<String>,
}

impl Lease {
    pub(crate) async fn take(
        remote: &S3Remote,
        sealer: &Sealer,
        device: &str,
        kind: &str,
    ) -> Result<Lease, SyncError> {
        let random: [u8; 8] = crate::keys::random_array()?;
        let name = format!("{LEASES}{device}-{}", crate::store::hex(&random));
        let body = serde_json::to_vec(&LeaseBody {
            device: device.to_string(),
            kind: kind.to_string(),
            started_at_ms: now_unix_millis(),
        })
        .map_err(|e| SyncError::Other(format!("cannot encode a lease: {e}")))?;
        let sealed = sealer.seal(&name, &body)?;
        remote.put(&name, sealed.clone()).await?;
        Ok(Lease {
            name,
            sealed,
            renewed: Mutex::new(Instant::now()),
        })
    }

    /// Rewrites the lease when it is due, so its LastModified stays recent while
    /// a long push runs. Cheap to call after every pack.
    pub(crate) async fn keep_alive(&self, remote: &S3Remote) -> Result<(), SyncError> {
        {
            let renewed = crate::mutex::lock(&self.renewed);
            if renewed.elapsed() < RENEW_EVERY {
                return Ok(());
            }
        }
        remote.put(&self.name, self.sealed.clone()).await?;
        *crate::mutex::lock(&self.renewed) = Instant::now();
        Ok(())
    }

    /// Lists every lease and dates them by the server's clock.
    pub(crate) async fn survey(&self, remote: &S3Remote) -> Result<LeaseSurvey, SyncError> {
        let listed = remote.list(LEASES).await?;
        let server_now = listed
            .iter()
            .find(|l| l.name == self.name)
            .map(|l| l.modified)
            .filter(|m| *m > 0)
            .ok_or_else(|| {
                SyncError::Other(format!(
                    "the lease {} just written is not listed: the store does not list what it stores",
                    self.name
                ))
            })?;
        let mut survey = LeaseSurvey {
            server_now,
            live_others: Vec::new(),
            stale: Vec::new(),
        };
        for l in listed.into_iter().filter(|l| l.name != self.name) {
            if server_now - l.modified >= STALE_AFTER_SECS {
                survey.stale.push(l.name);
            } else {
                survey.live_others.push(l.name);
            }
        }
        Ok(survey)
    }

    pub(crate) async fn release(self, remote: &S3Remote) -> Result<(), SyncError> {
        remote.delete(&self.name).await
    }
}

/// The device a lease name belongs to (for messages).
pub(crate) fn lease_device(name: &str) -> &str {
    name.strip_prefix(LEASES)
        .and_then(|n| n.split('-').next())
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lease_name_names_its_device() {
        assert_eq!(super::lease_device("locks/00ab12-ffee"), "00ab12");
        assert_eq!(super::lease_device(&format!("{}x", super::LEASES)), "x");
    }
}
