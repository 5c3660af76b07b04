//! The long jobs that hold the open vault (import, export, verify, push, pull,
//! repair, restore, the devices' listing, analysis, the watcher), in one place,
//! so that lock and a vault switch can stop every one of them and then wait for
//! the vault to be dropped.
//!
//! Each job registers its cancel token while it runs ([`Job`] deregisters on
//! drop). The Cancel buttons trip the tokens of one group (the tray's of imports,
//! exports and verifies; the Cloud view's of cloud work), lock trips all of them.
//! A job is tied to the session it was started for: once that session is locked
//! ([`Jobs::close`] moves the epoch on), a command that took the session just
//! before the lock cannot start its job after it.

use std::sync::{Arc, Mutex, MutexGuard};

use audiovault_engine::CancelToken;

use crate::error::{IpcError, IpcResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Imports, exports and verifies: the tray's Cancel.
    Local,
    /// Push, pull, repair, restore: one at a time, the Cloud view's Cancel.
    Cloud,
    /// Reading the remote's device lines: beside a cloud job, not instead of one.
    CloudRead,
    Analysis,
    Watch,
}

struct Entry {
    id: u64,
    kind: JobKind,
    /// What the user would call it ("push", "export"), for the lock's notice.
    label: &'static str,
    token: CancelToken,
}

#[derive(Default)]
struct Inner {
    /// Moved on by every lock: jobs of an older session are refused.
    epoch: u64,
    next_id: u64,
    running: Vec<Entry>,
}

#[derive(Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
}

/// A running job: its cancel token, registered until dropped.
pub struct Job {
    jobs: Arc<Jobs>,
    id: u64,
    pub token: CancelToken,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.jobs.inner().running.retain(|e| e.id != self.id);
    }
}

impl Jobs {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn epoch(&self) -> u64 {
        self.inner().epoch
    }

    /// Registers a job for the session of `epoch` (`None`: not tied to a session,
    /// as a restore that opens the vault only when done).
    pub fn start(
        self: &Arc<Self>,
        kind: JobKind,
        label: &'static str,
        epoch: Option<u64>,
    ) -> IpcResult<Job> {
        let mut inner = self.inner();
        if epoch.is_some_and(|e| e != inner.epoch) {
            return Err(IpcError::locked());
        }
        if kind == JobKind::Cloud && inner.running.iter().any(|e| e.kind == JobKind::Cloud) {
            return Err(IpcError::new(
                "busy",
                "another cloud operation is running: wait for it or cancel it",
            ));
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let token = CancelToken::new();
        inner.running.push(Entry {
            id,
            kind,
            label,
            token: token.clone(),
        });
        Ok(Job {
            jobs: self.clone(),
            id,
            token,
        })
    }

    /// Trips the jobs of these kinds; they stop at their next check.
    pub fn cancel(&self, kinds: &[JobKind]) {
        for e in self.inner().running.iter() {
            if kinds.contains(&e.kind) {
                e.token.cancel();
            }
        }
    }

    /// Lock: trips every job and refuses new ones for the sessions so far.
    /// Returns the labels of the jobs a person started (not the background ones).
    pub fn close(&self) -> Vec<&'static str> {
        let mut inner = self.inner();
        inner.epoch += 1;
        let mut stopped = Vec::new();
        for e in &inner.running {
            e.token.cancel();
            if !matches!(
                e.kind,
                JobKind::Analysis | JobKind::Watch | JobKind::CloudRead
            ) && !stopped.contains(&e.label)
            {
                stopped.push(e.label);
            }
        }
        stopped
    }

    /// Jobs registered now (tests).
    pub fn running(&self) -> usize {
        self.inner().running.len()
    }

    /// The labels of the jobs running now, background ones included (the lock's
    /// log line says which one it waited for).
    pub fn labels(&self) -> Vec<&'static str> {
        self.inner().running.iter().map(|e| e.label).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_epoch_refuses_new_jobs_and_cancels_running_ones() {
        let jobs = Arc::new(Jobs::default());
        let e = jobs.epoch();
        let push = jobs.start(JobKind::Cloud, "push", Some(e)).unwrap();
        let analysis = jobs.start(JobKind::Analysis, "analysis", Some(e)).unwrap();
        assert_eq!(jobs.close(), ["push"]);
        assert!(push.token.is_cancelled() && analysis.token.is_cancelled());
        let late = jobs.start(JobKind::Local, "export", Some(e));
        assert_eq!(late.err().map(|e| e.kind), Some("locked".to_string()));
        drop((push, analysis));
        assert_eq!(jobs.running(), 0);
        assert!(
            jobs.start(JobKind::Local, "export", Some(jobs.epoch()))
                .is_ok()
        );
    }

    #[test]
    fn one_cloud_job_at_a_time_and_cancel_by_group() {
        let jobs = Arc::new(Jobs::default());
        let e = Some(jobs.epoch());
        let push = jobs.start(JobKind::Cloud, "push", e).unwrap();
        let busy = jobs.start(JobKind::Cloud, "pull", e);
        assert_eq!(busy.err().map(|e| e.kind), Some("busy".to_string()));
        let devices = jobs.start(JobKind::CloudRead, "devices", e).unwrap();
        let export = jobs.start(JobKind::Local, "export", e).unwrap();
        jobs.cancel(&[JobKind::Local]);
        assert!(export.token.is_cancelled());
        assert!(!push.token.is_cancelled() && !devices.token.is_cancelled());
        drop(push);
        assert!(jobs.start(JobKind::Cloud, "pull", e).is_ok());
    }
}
