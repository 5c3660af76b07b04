//! End-to-end tests of the `audiovault` command line on real audio.
//!
//! One test binary with a module per area keeps link times down. Every test builds
//! its own vault in a temporary folder; the corpus is generated once per machine
//! (see `tests/fixtures/make-corpus.sh`) and shared read-only.

mod artwork;
mod at_rest;
mod bad_input;
mod cancel;
mod cloud_only;
mod crash;
mod dedup;
mod disk_full;
mod duplicates;
mod export;
mod export_fs;
mod formats;
mod hardening;
mod history;
mod init;
mod keyring;
mod lifecycle;
mod malformed;
mod metadata;
mod migration;
mod passphrase;
mod power_cut;
mod records;
mod retag;
mod roundtrip;
mod s3_harness;
mod settings;
mod sync;
mod sync_aws_profile;
mod sync_bandwidth;
mod sync_lines;
mod sync_model;
mod sync_scale;
mod sync_storage_class;
mod tamper;
mod watch;
