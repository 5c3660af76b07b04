//! The long jobs that hold the open vault (import, export, verify, push, pull,
//! repair, restore, the devices' listing, analysis, the watcher, the Health
//! view's doctor, emptying the Trash, a passphrase change), in one place,
//! so that lock and a vault switch can stop every one of them and then wait for
//! the vault to be dropped.
//!
//! Each job registers its cancel token while it runs ([`Job`] deregisters on
//! drop). The Cancel buttons trip the tokens of one group (the tray's of imports,
//! exports and verifies; the Cloud view's of cloud work), lock trips all of them.
//! A job is tied to the session it was started for: once that session is locked
//! ([`Jobs::close`] moves the epoch on), a command that took the session just
//! before the lock cannot start its job after it.

use audiovault_engine::ErrorKind;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
    /// The automatic push or pull ([`crate::autosync`]): exclusive with the
    /// `Cloud` jobs (never two syncs at once), stopped by the Cloud view's
    /// Cancel, and not named by lock's notice (nobody asked for it).
    AutoSync,
    Analysis,
    Watch,
    /// Doctor: the Health view's check and repair, and repair at unlock (the
    /// Health view's Cancel). Works from the key alone, so lock also waits for
    /// it to end ([`Jobs::holding_keys`]).
    Health,
    /// Short all-or-nothing work a person asked for (emptying the Trash, a
    /// passphrase change): a lock before it starts cancels it, a lock after
    /// waits for it; never reported as cancelled.
    Atomic,
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
        let syncing = |k: JobKind| matches!(k, JobKind::Cloud | JobKind::AutoSync);
        if syncing(kind)
            && let Some(other) = inner.running.iter().find(|e| syncing(e.kind))
        {
            return Err(IpcError::new(
                ErrorKind::Busy,
                if other.kind == JobKind::AutoSync {
                    "an automatic sync is running: wait for it (a few seconds) or cancel it in the Cloud view"
                } else {
                    "another cloud operation is running: wait for it or cancel it"
                },
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
                JobKind::Analysis
                    | JobKind::Watch
                    | JobKind::CloudRead
                    | JobKind::Atomic
                    | JobKind::AutoSync
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

    /// True while a job that holds a copy of the vault's key without holding
    /// the vault runs (doctor works from the key alone): lock waits for it.
    pub fn holding_keys(&self) -> bool {
        self.inner()
            .running
            .iter()
            .any(|e| e.kind == JobKind::Health)
    }

    /// Waits until no job of these kinds runs, `timeout` at most; returns the
    /// labels of those still running then.
    pub fn wait_idle(&self, kinds: &[JobKind], timeout: Duration) -> Vec<&'static str> {
        let until = Instant::now() + timeout;
        loop {
            let left: Vec<&'static str> = self
                .inner()
                .running
                .iter()
                .filter(|e| kinds.contains(&e.kind))
                .map(|e| e.label)
                .collect();
            if left.is_empty() || Instant::now() >= until {
                return left;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
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
        assert_eq!(
            late.err().map(|e| e.kind),
            Some(audiovault_engine::ErrorKind::Locked)
        );
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
        assert_eq!(
            busy.err().map(|e| e.kind),
            Some(audiovault_engine::ErrorKind::Busy)
        );
        let devices = jobs.start(JobKind::CloudRead, "devices", e).unwrap();
        let export = jobs.start(JobKind::Local, "export", e).unwrap();
        jobs.cancel(&[JobKind::Local]);
        assert!(export.token.is_cancelled());
        assert!(!push.token.is_cancelled() && !devices.token.is_cancelled());
        drop(push);
        let pull = jobs.start(JobKind::Cloud, "pull", e).unwrap();
        // The automatic sync takes turns with the manual one, both ways.
        let auto = jobs.start(JobKind::AutoSync, "automatic sync", e);
        assert_eq!(
            auto.err().map(|e| e.kind),
            Some(audiovault_engine::ErrorKind::Busy)
        );
        drop(pull);
        let auto = jobs.start(JobKind::AutoSync, "automatic sync", e).unwrap();
        let manual = jobs.start(JobKind::Cloud, "push", e);
        assert!(
            manual
                .err()
                .is_some_and(|e| e.message.contains("automatic sync"))
        );
        assert_eq!(jobs.close(), ["export"], "lock does not name it");
        assert!(auto.token.is_cancelled());
    }

    #[test]
    fn atomic_jobs_are_waited_for_not_reported_cancelled() {
        let jobs = Arc::new(Jobs::default());
        let e = Some(jobs.epoch());
        let purge = jobs
            .start(JobKind::Atomic, "emptying of the Trash", e)
            .unwrap();
        let check = jobs.start(JobKind::Health, "vault check", e).unwrap();
        assert!(jobs.holding_keys());
        assert_eq!(jobs.close(), ["vault check"]);
        // Tripped all the same: one that has not started its work does not.
        assert!(purge.token.is_cancelled() && check.token.is_cancelled());
        drop(check);
        assert!(!jobs.holding_keys());
    }

    #[test]
    fn wait_idle_returns_once_the_jobs_of_those_kinds_end() {
        let jobs = Arc::new(Jobs::default());
        let push = jobs.start(JobKind::Cloud, "push", None).unwrap();
        let _analysis = jobs.start(JobKind::Analysis, "analysis", None).unwrap();
        let token = push.token.clone();
        // The push lets go a moment after its cancel (its lease's DELETE).
        let worker = std::thread::spawn(move || {
            while !push.token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(50));
            drop(push);
        });
        let kinds = [JobKind::Cloud, JobKind::CloudRead];
        assert_eq!(
            jobs.wait_idle(&kinds, Duration::from_millis(20)),
            ["push"],
            "still running before its cancel"
        );
        token.cancel();
        let started = Instant::now();
        assert!(jobs.wait_idle(&kinds, Duration::from_secs(5)).is_empty());
        assert!(started.elapsed() >= Duration::from_millis(40));
        worker.join().unwrap();
    }
}
