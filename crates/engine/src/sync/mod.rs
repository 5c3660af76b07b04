//! Cloud sync to an S3-compatible store: push, pull, clone, repair, remote verify
//! and remote GC. The store sees only random names and ciphertext (see
//! [`objects`] for the layout).
//!
//! Network waits are async (tokio, one runtime per operation); disk reads, the
//! catalog and crypto stay on ordinary threads that call into the runtime, so the
//! public API is blocking like the rest of the engine and the Tauri shell runs it
//! on a blocking thread.

mod devices;
mod evict;
mod keyfile;
mod lease;
pub(crate) mod lines;
mod maint;
mod merge;
pub mod objects;
mod pull;
mod push;
mod refresh;
pub mod s3;
mod throttle;
use crate::catalog::remote as state;

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use crate::catalog::cloud::LocationTotals;
pub use crate::catalog::remote::{RemoteConfig, SyncStatus, tracks_on_remote};
pub use devices::{DeviceLine, RemoteDevices};
pub use evict::{
    CloudChunks, EvictOutcome, EvictReport, EvictSelection, EvictState, KeepOutcome, KeepReport,
    KeepState, hold_credentials_for_reads,
};
pub use maint::{
    RemoteGcOptions, RemoteGcReport, RemoteVerifyReport, RepairOutcome, RepairReport,
    RepairedChunk, UnrepairableChunk, UnrepairedTrack,
};
pub use merge::{Incoming, MergeReport};
pub use pull::{PullFailure, PullReport, clone_vault};
pub use push::PushReport;
pub use s3::{RetryPolicy, S3Remote};

use crate::error::{Error, Result};
use crate::keys::{KeyError, keyring_error};
use crate::progress::CancelToken;
use crate::vault::Vault;

pub use crate::error::SyncError;

impl RemoteConfig {
    pub fn new(bucket: impl Into<String>) -> RemoteConfig {
        RemoteConfig {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: bucket.into(),
            prefix: String::new(),
            path_style: false,
            parallelism: 8,
        }
    }

    /// The remote as typed (a form, command-line flags): blanks and stray slashes
    /// trimmed, a blank endpoint meaning AWS S3 and a blank region us-east-1, then
    /// checked.
    pub fn from_input(
        endpoint: &str,
        region: &str,
        bucket: &str,
        prefix: &str,
        path_style: bool,
        parallelism: u32,
    ) -> std::result::Result<RemoteConfig, SyncError> {
        let endpoint = endpoint.trim().trim_end_matches('/');
        let region = region.trim();
        let config = RemoteConfig {
            endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
            region: if region.is_empty() {
                "us-east-1".into()
            } else {
                region.into()
            },
            bucket: bucket.trim().to_string(),
            prefix: prefix.trim().trim_matches('/').to_string(),
            path_style,
            parallelism,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> std::result::Result<(), SyncError> {
        if self.bucket.is_empty() || self.bucket.contains('/') {
            return Err(SyncError::InvalidConfig(format!(
                "bucket '{}' is not a bucket name",
                self.bucket
            )));
        }
        if let Some(e) = &self.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(SyncError::InvalidConfig(format!(
                "endpoint '{e}' must start with http:// or https://"
            )));
        }
        if self.region.is_empty() {
            return Err(SyncError::InvalidConfig("the region is empty".into()));
        }
        if !(1..=64).contains(&self.parallelism) {
            return Err(SyncError::InvalidConfig(
                "parallelism must be between 1 and 64".into(),
            ));
        }
        Ok(())
    }

    /// `s3://bucket/prefix`, for messages.
    pub fn url(&self) -> String {
        let prefix = self.prefix.trim_matches('/');
        if prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, prefix)
        }
    }

    /// Parses `s3://BUCKET[/PREFIX]` into bucket and prefix.
    pub fn parse_url(url: &str) -> std::result::Result<(String, String), SyncError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            SyncError::InvalidConfig(format!("'{url}' is not an s3://BUCKET/PREFIX address"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(SyncError::InvalidConfig(format!("'{url}' names no bucket")));
        }
        Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
    }
}

/// A secret string: zeroed on drop, never printed.
#[derive(Clone)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(Zeroizing::new(s.into()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug)]
pub struct RemoteCredentials {
    pub access_key_id: SecretString,
    pub secret_access_key: SecretString,
    /// Temporary credentials' session token (`x-amz-security-token`); never stored.
    pub session_token: Option<SecretString>,
}

impl RemoteCredentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        RemoteCredentials {
            access_key_id: SecretString::new(access_key_id),
            secret_access_key: SecretString::new(secret_access_key),
            session_token: None,
        }
    }

    pub fn with_session_token(mut self, token: Option<String>) -> Self {
        self.session_token = token.filter(|t| !t.is_empty()).map(SecretString::new);
        self
    }

    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, when both are set (with
    /// `AWS_SESSION_TOKEN` when that is set too).
    pub fn from_env() -> Option<Self> {
        let id = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
        (!id.is_empty() && !secret.is_empty()).then(|| {
            RemoteCredentials::new(id, secret)
                .with_session_token(std::env::var("AWS_SESSION_TOKEN").ok())
        })
    }

    /// Keys from the AWS shared config files, as the AWS CLI reads them:
    /// `~/.aws/credentials` and `~/.aws/config` (or where
    /// `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` point), profile
    /// `profile`, else `AWS_PROFILE`, else `default`; static keys with their
    /// session token, or a role assumed through STS. Resolved once per call: a
    /// sync longer than the credentials live needs them refreshed by a rerun.
    pub fn from_aws_profile(profile: Option<&str>) -> std::result::Result<Self, SyncError> {
        use aws_config::profile::ProfileFileCredentialsProvider;
        use aws_config::provider_config::ProviderConfig;
        use aws_sdk_s3::config::ProvideCredentials;
        let name = profile
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".into());
        let failed = |reason: String| SyncError::AwsProfile {
            profile: name.clone(),
            reason,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the runtime: {e}")))?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = ProviderConfig::default()
            .with_http_client(http)
            .with_sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new());
        let provider = ProfileFileCredentialsProvider::builder()
            .configure(&config)
            .profile_name(&name)
            .build();
        let credentials = rt
            .block_on(provider.provide_credentials())
            .map_err(|e| failed(error_text(&e)))?;
        Ok(
            RemoteCredentials::new(credentials.access_key_id(), credentials.secret_access_key())
                .with_session_token(credentials.session_token().map(str::to_string)),
        )
    }

    fn keyring_entry(vault_id: &str) -> std::result::Result<keyring::Entry, KeyError> {
        keyring::Entry::new("audiovault", &format!("s3-{vault_id}")).map_err(keyring_error)
    }

    /// The credentials remembered in the OS keyring for this vault's remote.
    pub fn load(vault_id: &str) -> std::result::Result<Option<Self>, KeyError> {
        match Self::keyring_entry(vault_id)?.get_password() {
            Ok(json) => {
                let json = Zeroizing::new(json);
                let stored: StoredCredentials = serde_json::from_str(&json).map_err(|_| {
                    KeyError::Keyring("the stored S3 credentials are damaged".into())
                })?;
                Ok(Some(RemoteCredentials::new(
                    stored.access_key_id.as_str(),
                    stored.secret_access_key.as_str(),
                )))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    pub fn store(&self, vault_id: &str) -> std::result::Result<(), KeyError> {
        let json = Zeroizing::new(
            serde_json::json!({
                "access_key_id": self.access_key_id.expose(),
                "secret_access_key": self.secret_access_key.expose(),
            })
            .to_string(),
        );
        Self::keyring_entry(vault_id)?
            .set_password(&json)
            .map_err(keyring_error)
    }

    pub fn forget(vault_id: &str) -> std::result::Result<bool, KeyError> {
        match Self::keyring_entry(vault_id)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// An error and its causes, one line (the AWS errors say little at the top).
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[derive(Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct StoredCredentials {
    access_key_id: String,
    secret_access_key: String,
}

/// Where a vault's remote access keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// The OS keyring.
    Keyring,
    /// Held in memory by the app for this run (no keyring could take them).
    Session,
    /// The AWS shared config files: the `aws_profile` setting's profile, or (when
    /// nothing else has keys) `AWS_PROFILE` or `default`.
    AwsProfile,
    None,
}

/// The remote and where its keys are, for a settings view. No secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteSettings {
    pub configured: bool,
    #[serde(flatten)]
    pub config: RemoteConfig,
    pub credentials: CredentialSource,
    pub access_key_id: Option<String>,
}

/// How a sync operation runs.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub retry: RetryPolicy,
    /// Overrides the remote's parallelism setting.
    pub parallelism: Option<u32>,
    /// Overrides the vault's bandwidth settings (`upload_bytes_per_second`,
    /// `download_bytes_per_second`); a clone, which has no vault yet, uses this
    /// or nothing.
    pub bandwidth: Option<Bandwidth>,
}

/// Upload and download limits in bytes per second, shared by every request of
/// one operation (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bandwidth {
    pub upload_bytes_per_second: Option<u64>,
    pub download_bytes_per_second: Option<u64>,
}

impl Bandwidth {
    /// The vault's settings' limits.
    pub fn of(settings: &crate::vault::Settings) -> Bandwidth {
        Bandwidth {
            upload_bytes_per_second: settings.upload_bytes_per_second,
            download_bytes_per_second: settings.download_bytes_per_second,
        }
    }
}

/// One step of a connection test.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionStep {
    pub step: &'static str,
    pub ok: bool,
    pub error: Option<String>,
    pub error_kind: Option<crate::error::ErrorKind>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionReport {
    pub ok: bool,
    pub remote: String,
    pub steps: Vec<ConnectionStep>,
}

/// One sync operation's connection to the remote: the vault, the client and its
/// runtime, the sealer for metadata objects, and how it may run.
pub(crate) struct Session<'a> {
    pub vault: &'a Vault,
    pub config: RemoteConfig,
    pub remote: S3Remote,
    pub rt: tokio::runtime::Runtime,
    pub sealer: objects::Sealer,
    pub parallelism: usize,
    pub cancel: &'a CancelToken,
}

impl<'a> Session<'a> {
    pub(crate) fn open(
        vault: &'a Vault,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        cancel: &'a CancelToken,
    ) -> Result<Session<'a>> {
        let config = vault.remote_config()?.ok_or(SyncError::NotConfigured)?;
        let rt = runtime()?;
        let bandwidth = match options.bandwidth {
            Some(b) => b,
            None => Bandwidth::of(&vault.settings()?),
        };
        let settings = vault.settings()?;
        let remote = S3Remote::new(&config, credentials, options.retry, cancel.clone())
            .with_bandwidth(bandwidth)
            .with_pack_storage_class(settings.storage_class.as_deref());
        Ok(Session {
            parallelism: options.parallelism.unwrap_or(config.parallelism).max(1) as usize,
            sealer: objects::Sealer::new(vault.master_key(), vault.vault_id()),
            vault,
            config,
            remote,
            rt,
            cancel,
        })
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("audiovault-sync")
        .enable_all()
        .build()
        .map_err(|e| {
            Error::Sync(SyncError::Other(format!(
                "cannot start the network runtime: {e}"
            )))
        })
}

/// Checks, in order, that the bucket can be reached with these credentials and
/// that a probe object can be written, read back intact, and deleted. Each step
/// says what failed; the steps after a failure are not tried.
pub fn test_connection(
    config: &RemoteConfig,
    credentials: &RemoteCredentials,
    options: &SyncOptions,
) -> Result<ConnectionReport> {
    config.validate()?;
    let rt = runtime()?;
    let remote = S3Remote::new(config, credentials, options.retry, CancelToken::new());
    let probe_name = objects::random_name("probe-")?;
    let probe: Vec<u8> = crate::keys::random_array::<64>()?.to_vec();
    let mut steps = Vec::new();
    let mut record = |step: &'static str, result: std::result::Result<(), SyncError>| {
        let ok = result.is_ok();
        steps.push(ConnectionStep {
            step,
            ok,
            error_kind: result.as_ref().err().map(SyncError::kind),
            error: result.err().map(|e| e.to_string()),
        });
        ok
    };
    let _ = rt.block_on(async {
        record("reach the bucket", remote.head_bucket().await)
            && record(
                "write a probe object",
                remote.put(&probe_name, probe.clone()).await,
            )
            && record(
                "read it back",
                match remote.get(&probe_name).await {
                    Ok(Some(back)) if back == probe => Ok(()),
                    Ok(Some(_)) => Err(SyncError::Other("the probe came back different".into())),
                    Ok(None) => Err(SyncError::Other("the probe vanished after writing".into())),
                    Err(e) => Err(e),
                },
            )
            && record("delete it", remote.delete(&probe_name).await)
    });
    Ok(ConnectionReport {
        ok: steps.iter().all(|s| s.ok),
        remote: config.url(),
        steps,
    })
}

impl Vault {
    /// One push, pull, clone or remote GC at a time on this device, across
    /// processes (the app and the CLI): two pushes of one device would compute the
    /// same next number of its line, and the later manifest would replace the other.
    pub(crate) fn lock_sync(&self) -> Result<std::fs::File> {
        let path = self.root().join("sync.lock");
        let file = crate::private::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(
                "another push, pull or remote GC of this vault is running on this device; try again when it has finished"
                    .into(),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// The remote this vault syncs with, if one is set up.
    pub fn remote_config(&self) -> Result<Option<RemoteConfig>> {
        Ok(state::load_config(&self.catalog())?)
    }

    pub fn set_remote_config(&self, config: &RemoteConfig) -> Result<()> {
        config.validate()?;
        state::save_config(&self.catalog(), config)?;
        self.catalog().log_activity(
            crate::catalog::LogKind::Sync,
            &format!("remote set to {}", config.url()),
        )?;
        Ok(())
    }

    /// Credentials from the environment, else the keyring.
    pub fn remote_credentials(&self) -> Result<RemoteCredentials> {
        self.remote_credentials_or(None)
    }

    /// Credentials from the environment, else the keyring, else `held` (keys a
    /// front end keeps in memory for its run when the keyring could not take them).
    /// A blocking call (the keyring is a D-Bus round trip).
    ///
    /// With the `aws_profile` setting, that profile of the AWS shared config files
    /// only (chosen explicitly: its failure is the answer, naming the profile).
    /// Without it, the shared config files come last (`AWS_PROFILE`, else
    /// `default`).
    pub fn remote_credentials_or(
        &self,
        held: Option<&RemoteCredentials>,
    ) -> Result<RemoteCredentials> {
        if let Some(profile) = self.settings()?.aws_profile {
            return Ok(RemoteCredentials::from_aws_profile(Some(&profile))?);
        }
        match self.find_credentials(held) {
            (Some(c), _) => Ok(c),
            (None, _) => Err(SyncError::NoCredentials.into()),
        }
    }

    fn find_credentials(
        &self,
        held: Option<&RemoteCredentials>,
    ) -> (Option<RemoteCredentials>, CredentialSource) {
        if let Some(profile) = self.settings().ok().and_then(|s| s.aws_profile) {
            return (
                RemoteCredentials::from_aws_profile(Some(&profile)).ok(),
                CredentialSource::AwsProfile,
            );
        }
        if let Some(c) = RemoteCredentials::from_env() {
            return (Some(c), CredentialSource::Environment);
        }
        if let Ok(Some(c)) = RemoteCredentials::load(self.vault_id()) {
            return (Some(c), CredentialSource::Keyring);
        }
        if let Some(c) = held {
            return (Some(c.clone()), CredentialSource::Session);
        }
        match RemoteCredentials::from_aws_profile(None) {
            Ok(c) => (Some(c), CredentialSource::AwsProfile),
            Err(_) => (None, CredentialSource::None),
        }
    }

    /// The remote as a settings view shows it: where it is and where its keys are
    /// (never the secret; the access key id is not one).
    pub fn remote_settings(&self, held: Option<&RemoteCredentials>) -> Result<RemoteSettings> {
        let config = self.remote_config()?;
        let (credentials, source) = self.find_credentials(held);
        Ok(RemoteSettings {
            configured: config.is_some(),
            config: config.unwrap_or_else(|| RemoteConfig::new("")),
            credentials: source,
            access_key_id: credentials.map(|c| c.access_key_id.expose().to_string()),
        })
    }

    /// Last push and pull, what is on the remote, what is waiting to go up.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        Ok(state::status(&self.catalog())?)
    }
}
