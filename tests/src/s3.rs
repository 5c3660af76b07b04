//! A blocking S3 client for tests, configured the way the engine configures aws-sdk-s3 for
//! S3-compatible stores: explicit endpoint and region, path-style addressing, static
//! credentials, checksums only when an operation requires them, rustls with ring.
//!
//! Every call runs on a small private tokio runtime, so tests stay synchronous. The
//! `try_*` methods return an [`S3Failure`] (HTTP status, S3 error code, kind) for tests of
//! failure paths; the plain methods panic with a readable message.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls;

/// Where an S3 client connects and who it signs as.
#[derive(Clone, Debug)]
pub struct S3Target {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

/// Retry policy of an [`S3Client`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retries {
    /// The SDK's standard policy (3 attempts, exponential backoff with jitter).
    Standard,
    /// One attempt: a fault reaches the caller as it happened.
    Disabled,
}

/// The aws-sdk-s3 configuration the engine uses for S3-compatible stores, as a builder
/// (tests can change timeouts, retries, interceptors… before `build()`).
pub fn sdk_config(target: &S3Target, retries: Retries) -> aws_sdk_s3::config::Builder {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let retry = match retries {
        Retries::Standard => RetryConfig::standard(),
        Retries::Disabled => RetryConfig::disabled(),
    };
    aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&target.endpoint)
        .force_path_style(true)
        .region(Region::new(target.region.clone()))
        .credentials_provider(Credentials::new(
            &target.access_key,
            &target.secret_key,
            None,
            None,
            "audiovault-tests",
        ))
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .http_client(http)
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
}

/// Why an S3 call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The server answered with an error status.
    Service,
    /// The request could not be sent or no response arrived (refused, reset, closed).
    Dispatch,
    /// A timeout (connect or attempt).
    Timeout,
    /// A response arrived but could not be read or parsed.
    Response,
    /// Anything else (request construction…).
    Other,
}

/// A failed S3 call, with what a test needs to assert on.
#[derive(Clone, Debug)]
pub struct S3Failure {
    pub kind: FailureKind,
    /// HTTP status of the response, if one arrived.
    pub status: Option<u16>,
    /// The S3 error code (`ServiceUnavailable`, `SlowDown`, `NoSuchKey`…), if any.
    pub code: Option<String>,
    /// The whole error chain, for messages.
    pub message: String,
}

impl fmt::Display for S3Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} failure (status {:?}, code {:?}): {}",
            self.kind, self.status, self.code, self.message
        )
    }
}

impl<E, R> From<SdkError<E, R>> for S3Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + HasStatus,
{
    fn from(e: SdkError<E, R>) -> S3Failure {
        let status = e.raw_response().map(HasStatus::status_code);
        let code = e.code().map(str::to_owned);
        let kind = match &e {
            SdkError::ServiceError(_) => FailureKind::Service,
            SdkError::TimeoutError(_) => FailureKind::Timeout,
            SdkError::DispatchFailure(d) if d.is_timeout() => FailureKind::Timeout,
            SdkError::DispatchFailure(_) => FailureKind::Dispatch,
            SdkError::ResponseError(_) => FailureKind::Response,
            _ => FailureKind::Other,
        };
        S3Failure {
            kind,
            status,
            code,
            message: DisplayErrorContext(&e).to_string(),
        }
    }
}

/// The HTTP status of a raw response (implemented for the SDK's response type).
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A blocking S3 client bound to one bucket.
pub struct S3Client {
    // Declared before the runtime: the client (and its connection pool) is dropped first.
    client: aws_sdk_s3::Client,
    bucket: String,
    rt: tokio::runtime::Runtime,
}

impl S3Client {
    pub fn new(target: &S3Target, retries: Retries) -> S3Client {
        S3Client::from_config(sdk_config(target, retries).build(), &target.bucket)
    }

    /// A client from any SDK configuration, e.g. [`sdk_config`] with changes.
    pub fn from_config(config: aws_sdk_s3::Config, bucket: &str) -> S3Client {
        // One worker thread: pooled connections keep being driven between calls.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("s3-test-client")
            .enable_all()
            .build()
            .expect("build the tokio runtime of the test S3 client");
        S3Client {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
            rt,
        }
    }

    /// The SDK client, for operations the helpers do not cover (use with [`Self::block_on`]).
    pub fn sdk(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Runs a future on this client's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn try_put(&self, key: &str, bytes: &[u8]) -> Result<(), S3Failure> {
        self.block_on(
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(bytes.to_vec()))
                .send(),
        )?;
        Ok(())
    }

    pub fn try_get(&self, key: &str) -> Result<Vec<u8>, S3Failure> {
        self.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await?;
            let body = out.body.collect().await.map_err(|e| S3Failure {
                kind: FailureKind::Response,
                status: None,
                code: None,
                message: format!("reading the body of {key}: {}", DisplayErrorContext(&e)),
            })?;
            Ok(body.into_bytes().to_vec())
        })
    }

    /// Size of `key`, or `None` when it does not exist.
    pub fn try_head(&self, key: &str) -> Result<Option<u64>, S3Failure> {
        match self.block_on(
            self.client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send(),
        ) {
            Ok(out) => Ok(Some(out.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) => {
                let f = S3Failure::from(e);
                if f.status == Some(404) {
                    Ok(None)
                } else {
                    Err(f)
                }
            }
        }
    }

    /// Every `(key, size)` under `prefix`, in key order (all pages).
    pub fn try_list(&self, prefix: &str) -> Result<Vec<(String, u64)>, S3Failure> {
        self.block_on(async {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.take())
                    .send()
                    .await?;
                for o in page.contents() {
                    let key = o.key().unwrap_or_default().to_owned();
                    out.push((key, o.size().unwrap_or(0).max(0) as u64));
                }
                match page.next_continuation_token() {
                    Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                    _ => break,
                }
            }
            out.sort();
            Ok(out)
        })
    }

    pub fn try_delete(&self, key: &str) -> Result<(), S3Failure> {
        self.block_on(
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send(),
        )?;
        Ok(())
    }

    pub fn try_create_bucket(&self, name: &str) -> Result<(), S3Failure> {
        self.block_on(self.client.create_bucket().bucket(name).send())?;
        Ok(())
    }

    #[track_caller]
    pub fn put(&self, key: &str, bytes: &[u8]) {
        if let Err(e) = self.try_put(key, bytes) {
            panic!("S3 put {}/{key} ({} bytes): {e}", self.bucket, bytes.len());
        }
    }

    #[track_caller]
    pub fn get(&self, key: &str) -> Vec<u8> {
        self.try_get(key)
            .unwrap_or_else(|e| panic!("S3 get {}/{key}: {e}", self.bucket))
    }

    #[track_caller]
    pub fn head(&self, key: &str) -> Option<u64> {
        self.try_head(key)
            .unwrap_or_else(|e| panic!("S3 head {}/{key}: {e}", self.bucket))
    }

    #[track_caller]
    pub fn list_keys(&self, prefix: &str) -> Vec<(String, u64)> {
        self.try_list(prefix)
            .unwrap_or_else(|e| panic!("S3 list {}/{prefix}*: {e}", self.bucket))
    }

    #[track_caller]
    pub fn delete(&self, key: &str) {
        if let Err(e) = self.try_delete(key) {
            panic!("S3 delete {}/{key}: {e}", self.bucket);
        }
    }

    #[track_caller]
    pub fn create_bucket(&self, name: &str) {
        if let Err(e) = self.try_create_bucket(name) {
            panic!("S3 create bucket {name}: {e}");
        }
    }
}
