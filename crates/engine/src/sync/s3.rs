//! The S3 client: aws-sdk-s3 set up for S3-compatible stores, with our own retry
//! loop so that what is retried, how often and what the user is told are decided
//! here rather than inside the SDK.
//!
//! Transient failures (5xx, SlowDown, throttling, timeouts, dropped connections)
//! are retried with exponential backoff and full jitter within a budget;
//! permanent ones (bad credentials, a missing bucket, an endpoint that never
//! answered) stop at once with a message naming what to fix.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sdk_s3::types::StorageClass;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::throttle::{Throttle, ThrottledBody};
use super::{Bandwidth, RemoteConfig, RemoteCredentials, SyncError};
use crate::progress::CancelToken;

/// How hard to try before giving up on a request.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest a single attempt may take, transfer included.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(120),
        }
    }
}

/// One object in a listing, its key relative to the remote's prefix.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub size: u64,
    /// Unix seconds; 0 when the server did not say.
    pub modified: i64,
}

/// One level of a listing: the objects directly under a prefix and its sub-prefixes.
#[derive(Debug, Default)]
pub struct Level {
    pub objects: Vec<Listed>,
    /// Full names ending in '/', such as "index/<device>/".
    pub prefixes: Vec<String>,
}

/// What one attempt's failure means for the next.
enum Failure {
    Transient(String),
    /// The endpoint could not be reached at all (refused, no such host). Permanent
    /// when the endpoint never answered this session, transient after it has.
    Unreachable(String),
    NotFound,
    Permanent(SyncError),
}

#[derive(Clone)]
pub struct S3Remote {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint_label: String,
    policy: RetryPolicy,
    cancel: CancelToken,
    /// Set once any request got an answer: from then on a refused connection is
    /// an outage to wait out, not a wrong endpoint.
    reached: Arc<AtomicBool>,
    stats: Arc<RequestStats>,
    /// Bandwidth limits, shared by every clone of this client (one operation's
    /// concurrent requests); `None`: unlimited.
    up: Option<Arc<Throttle>>,
    down: Option<Arc<Throttle>>,
    /// The storage class packs are written with (`None`: the bucket's default).
    pack_class: Option<StorageClass>,
}

/// Requests made, for reports and tests ("a push with nothing new makes no LIST").
#[derive(Default, Debug)]
pub struct RequestStats {
    pub puts: AtomicU64,
    pub gets: AtomicU64,
    pub lists: AtomicU64,
    pub deletes: AtomicU64,
    pub retries: AtomicU64,
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
}

impl S3Remote {
    pub fn new(
        config: &RemoteConfig,
        credentials: &RemoteCredentials,
        policy: RetryPolicy,
        cancel: CancelToken,
    ) -> S3Remote {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(Credentials::new(
                credentials.access_key_id.expose(),
                credentials.secret_access_key.expose(),
                credentials
                    .session_token
                    .as_ref()
                    .map(|t| t.expose().to_string()),
                None,
                "audiovault",
            ))
            .force_path_style(config.path_style)
            // The SDK's default checksums (since early 2025) are refused by R2, Garage
            // and others; our objects carry their own authentication anyway.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .read_timeout(Duration::from_secs(60))
                    .operation_attempt_timeout(Duration::from_secs(300))
                    .build(),
            )
            .http_client(http)
            // Explicit, so the connect and read timeouts above are enforced.
            .sleep_impl(aws_sdk_s3::config::SharedAsyncSleep::new(
                aws_smithy_async::rt::sleep::TokioSleep::new(),
            ));
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.clone());
        }
        S3Remote {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            prefix: config.prefix.trim_matches('/').to_string(),
            endpoint_label: config
                .endpoint
                .clone()
                .unwrap_or_else(|| format!("AWS S3 ({})", config.region)),
            policy,
            cancel,
            reached: Arc::new(AtomicBool::new(false)),
            stats: Arc::new(RequestStats::default()),
            up: None,
            down: None,
            pack_class: None,
        }
    }

    /// The same client, writing packs (through [`Self::put_pack`]) with this
    /// storage class, e.g. `STANDARD_IA`.
    pub fn with_pack_storage_class(mut self, class: Option<&str>) -> S3Remote {
        self.pack_class = class.map(StorageClass::from);
        self
    }

    /// A pack: the bulk of the bytes, written with the pack storage class. Every
    /// other object (manifests, indexes, key files, leases: small and read often)
    /// keeps the bucket's default class.
    pub async fn put_pack(&self, name: &str, body: Vec<u8>) -> Result<(), SyncError> {
        self.put_with_class(name, body, self.pack_class.clone())
            .await
    }

    /// The same client, its uploads and downloads held to these limits.
    pub fn with_bandwidth(mut self, bandwidth: Bandwidth) -> S3Remote {
        self.up = Throttle::new(bandwidth.upload_bytes_per_second);
        self.down = Throttle::new(bandwidth.download_bytes_per_second);
        self
    }

    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{}", self.prefix, name)
        }
    }

    pub async fn put(&self, name: &str, body: Vec<u8>) -> Result<(), SyncError> {
        self.put_with_class(name, body, None).await
    }

    async fn put_with_class(
        &self,
        name: &str,
        body: Vec<u8>,
        class: Option<StorageClass>,
    ) -> Result<(), SyncError> {
        let key = self.key(name);
        let len = body.len() as u64;
        // Bytes are shared so a retry resends them without a copy per attempt.
        let body = bytes::Bytes::from(body);
        self.retry(&format!("upload {name}"), || {
            // Limited: a streaming body of known length, released slice by slice
            // (signed as UNSIGNED-PAYLOAD, which is all a stream can be; the
            // object authenticates itself). Unlimited: bytes from memory.
            let stream = match &self.up {
                Some(throttle) => ByteStream::from(SdkBody::from_body_1_x(ThrottledBody::new(
                    body.clone(),
                    throttle.clone(),
                ))),
                None => ByteStream::from(body.clone()),
            };
            let req = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_length(len as i64)
                .set_storage_class(class.clone())
                .body(stream);
            async move { req.send().await.map(|_| ()).map_err(|e| self.classify(e)) }
        })
        .await?;
        self.stats.puts.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes_up.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// The whole object, or `None` when it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, SyncError> {
        self.get_range(name, None).await
    }

    /// `range` is (offset, length).
    pub async fn get_range(
        &self,
        name: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        let key = self.key(name);
        let result = self
            .retry(&format!("download {name}"), || {
                let mut req = self.client.get_object().bucket(&self.bucket).key(&key);
                if let Some((offset, len)) = range {
                    req = req.range(format!("bytes={}-{}", offset, offset + len.max(1) - 1));
                }
                async move {
                    let mut out = req.send().await.map_err(|e| self.classify(e))?;
                    // Read piece by piece so a download limit paces the body as it
                    // arrives (waiting here leaves the rest in the socket, and TCP
                    // slows the sender). A connection dropped mid-body surfaces here:
                    // worth another try.
                    let mut data = Vec::with_capacity(
                        out.content_length
                            .and_then(|n| usize::try_from(n).ok())
                            .unwrap_or(0)
                            .min(64 << 20),
                    );
                    while let Some(piece) = out
                        .body
                        .try_next()
                        .await
                        .map_err(|e| Failure::Transient(format!("download interrupted: {e}")))?
                    {
                        if let Some(throttle) = &self.down {
                            for part in piece.chunks(super::throttle::SLICE) {
                                throttle.take(part.len()).await;
                            }
                        }
                        data.extend_from_slice(&piece);
                    }
                    if let Some((_, len)) = range
                        && data.len() as u64 != len
                    {
                        return Err(Failure::Transient(format!(
                            "short read: {} of {} bytes",
                            data.len(),
                            len
                        )));
                    }
                    Ok(data)
                }
            })
            .await;
        match result {
            Ok(data) => {
                self.stats.gets.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .bytes_down
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
                Ok(Some(data))
            }
            Err(SyncError::ObjectNotFound(_)) => Ok(None),
            Err(SyncError::Archived { .. }) => Err(SyncError::Archived {
                object: name.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Every object under `dir` (a name prefix such as "packs/"), paginated.
    pub async fn list(&self, dir: &str) -> Result<Vec<Listed>, SyncError> {
        Ok(self.list_where(dir, None, false).await?.objects)
    }

    /// The objects under `dir` whose names sort after `start_after` (a full name such
    /// as "index/<device>/00000000000000000041"): how a prefix written in increasing
    /// names is read from where the last look stopped, at the cost of what is new.
    pub async fn list_after(&self, dir: &str, start_after: &str) -> Result<Vec<Listed>, SyncError> {
        Ok(self
            .list_where(dir, Some(start_after), false)
            .await?
            .objects)
    }

    /// One level under `dir`: the objects directly in it and the names of the
    /// sub-prefixes ("index/<device>/"), each sub-prefix listed once however many
    /// objects it holds.
    pub async fn list_level(&self, dir: &str) -> Result<Level, SyncError> {
        self.list_where(dir, None, true).await
    }

    async fn list_where(
        &self,
        dir: &str,
        start_after: Option<&str>,
        one_level: bool,
    ) -> Result<Level, SyncError> {
        let full = self.key(dir);
        let strip = self.key("").len();
        let start_after = start_after.map(|s| self.key(s));
        let mut out = Level::default();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retry(&format!("list {dir}"), || {
                    let req = self
                        .client
                        .list_objects_v2()
                        .bucket(&self.bucket)
                        .prefix(&full)
                        .set_start_after(start_after.clone())
                        .set_delimiter(one_level.then(|| "/".to_string()))
                        .set_continuation_token(token.clone());
                    async move { req.send().await.map_err(|e| self.classify(e)) }
                })
                .await?;
            self.stats.lists.fetch_add(1, Ordering::Relaxed);
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let Some(name) = key.get(strip..) else {
                    continue;
                };
                out.objects.push(Listed {
                    name: name.to_string(),
                    size: obj.size().unwrap_or(0).max(0) as u64,
                    modified: obj.last_modified().map(|t| t.secs()).unwrap_or(0),
                });
            }
            for prefix in page.common_prefixes() {
                if let Some(name) = prefix.prefix().and_then(|p| p.get(strip..)) {
                    out.prefixes.push(name.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    pub async fn delete(&self, name: &str) -> Result<(), SyncError> {
        let key = self.key(name);
        let result = self
            .retry(&format!("delete {name}"), || {
                let req = self.client.delete_object().bucket(&self.bucket).key(&key);
                async move { req.send().await.map(|_| ()).map_err(|e| self.classify(e)) }
            })
            .await;
        self.stats.deletes.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(()) | Err(SyncError::ObjectNotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Checks that the bucket exists and the credentials may use it.
    pub async fn head_bucket(&self) -> Result<(), SyncError> {
        let result = self
            .retry("open the bucket", || {
                let req = self.client.head_bucket().bucket(&self.bucket);
                async move { req.send().await.map(|_| ()).map_err(|e| self.classify(e)) }
            })
            .await;
        match result {
            // HEAD has no body, so a missing bucket is a bare 404.
            Err(SyncError::ObjectNotFound(_)) => Err(SyncError::NoSuchBucket {
                bucket: self.bucket.clone(),
            }),
            other => other,
        }
    }

    async fn retry<T, F, Fut>(&self, what: &str, mut attempt_once: F) -> Result<T, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut attempt = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            // A guard of our own besides the SDK's timeouts: a server (or a proxy)
            // that keeps a connection open and never answers must not hang a push.
            // Cancelling drops the request in flight: locking the app must not wait
            // for a pack to finish uploading over a slow link.
            let timed = tokio::time::timeout(self.policy.attempt_timeout, attempt_once());
            let outcome = tokio::select! {
                outcome = timed => match outcome {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Failure::Transient(format!(
                        "no answer within {} s",
                        self.policy.attempt_timeout.as_secs()
                    ))),
                },
                () = self.cancelled() => return Err(SyncError::Cancelled),
            };
            let reason = match outcome {
                Ok(v) => {
                    self.reached.store(true, Ordering::Relaxed);
                    return Ok(v);
                }
                Err(Failure::NotFound) => {
                    self.reached.store(true, Ordering::Relaxed);
                    return Err(SyncError::ObjectNotFound(what.to_string()));
                }
                Err(Failure::Permanent(e)) => {
                    self.reached.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                Err(Failure::Unreachable(reason)) if !self.reached.load(Ordering::Relaxed) => {
                    return Err(SyncError::Unreachable {
                        endpoint: self.endpoint_label.clone(),
                        reason,
                    });
                }
                Err(Failure::Unreachable(reason)) | Err(Failure::Transient(reason)) => reason,
            };
            attempt += 1;
            if attempt >= self.policy.max_attempts {
                return Err(SyncError::RetriesExhausted {
                    what: what.to_string(),
                    attempts: attempt,
                    last: reason,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::select! {
                () = tokio::time::sleep(self.backoff(attempt)) => {}
                () = self.cancelled() => return Err(SyncError::Cancelled),
            }
        }
    }

    /// Resolves once the operation is cancelled (the token is a plain flag, so it is
    /// looked at a few times a second).
    async fn cancelled(&self) {
        while !self.cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The same client, deaf to the operation's cancellation: for the clean-up an
    /// operation owes the remote however it ended (releasing its lease), with a
    /// short retry budget so a dead remote does not hold the caller up.
    pub(crate) fn for_cleanup(&self) -> S3Remote {
        S3Remote {
            cancel: CancelToken::new(),
            policy: RetryPolicy {
                max_attempts: self.policy.max_attempts.min(3),
                attempt_timeout: self.policy.attempt_timeout.min(Duration::from_secs(15)),
                ..self.policy
            },
            ..self.clone()
        }
    }

    /// Full jitter: a random wait up to base·2^attempt, capped, so many clients
    /// retrying at once spread out instead of hammering the server together.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.policy.max_delay);
        let random = crate::keys::random_array::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or(u64::MAX / 2);
        let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(fraction)
    }

    fn classify<E>(&self, err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::TimeoutError(_) => Failure::Transient("the request timed out".into()),
            SdkError::DispatchFailure(d) => {
                let chain = error_chain(&err);
                if d.is_timeout() {
                    Failure::Transient(format!("timed out: {chain}"))
                } else if refused_or_unresolved(&err) {
                    Failure::Unreachable(chain)
                } else if d.is_io() || d.is_other() {
                    Failure::Transient(format!("connection failed: {chain}"))
                } else {
                    Failure::Permanent(SyncError::Other(format!("request failed: {chain}")))
                }
            }
            SdkError::ResponseError(_) => {
                Failure::Transient(format!("bad or cut-off response: {}", error_chain(&err)))
            }
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = service.err().code().unwrap_or("").to_string();
                let message = service.err().message().unwrap_or("").to_string();
                self.classify_status(status, &code, &message)
            }
            _ => Failure::Permanent(SyncError::Other(error_chain(&err))),
        }
    }

    fn classify_status(&self, status: u16, code: &str, message: &str) -> Failure {
        let said = if code.is_empty() {
            format!("HTTP {status}")
        } else if message.is_empty() {
            format!("HTTP {status} {code}")
        } else {
            format!("HTTP {status} {code}: {message}")
        };
        match (status, code) {
            (_, "NoSuchBucket") => Failure::Permanent(SyncError::NoSuchBucket {
                bucket: self.bucket.clone(),
            }),
            // A 403 too, but no retry or new key helps: the object needs a restore.
            // (The object's name is filled in by the caller.)
            (_, "InvalidObjectState") => Failure::Permanent(SyncError::Archived {
                object: String::new(),
            }),
            (404, _) | (_, "NoSuchKey") => Failure::NotFound,
            (
                _,
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "AccessDenied"
                | "InvalidToken"
                | "ExpiredToken",
            )
            | (401 | 403, _) => Failure::Permanent(SyncError::AccessDenied {
                bucket: self.bucket.clone(),
                server_said: said,
            }),
            (_, "SlowDown" | "Throttling" | "RequestTimeout" | "InternalError")
            | (408 | 429, _)
            | (500..=599, _) => Failure::Transient(said),
            (301 | 307, _) | (_, "PermanentRedirect" | "AuthorizationHeaderMalformed") => {
                Failure::Permanent(SyncError::WrongRegion { server_said: said })
            }
            _ => Failure::Permanent(SyncError::Other(format!("the server refused: {said}"))),
        }
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn refused_or_unresolved(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            )
        {
            return true;
        }
        let text = s.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return true;
        }
        source = s.source();
    }
    false
}
