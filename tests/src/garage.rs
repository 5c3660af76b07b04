//! A real S3 server for the sync tests: a single-node Garage 2.5 on loopback.
//!
//! ```no_run
//! use audiovault_tests::garage::Garage;
//! let Some(garage) = Garage::start_or_skip() else { return };
//! garage.put("hello", b"world");
//! assert_eq!(garage.get("hello"), b"world");
//! ```
//!
//! Each instance lives in its own temporary folder (config, metadata, data, log) with
//! free random ports for the S3 API, RPC and admin API. It is started with
//! `garage server --single-node --default-bucket`, which (Garage ≥ 2.3) applies a one-node
//! layout and creates the access key from `GARAGE_DEFAULT_ACCESS_KEY` /
//! `GARAGE_DEFAULT_SECRET_KEY` and the bucket `GARAGE_DEFAULT_BUCKET`, read-write for that
//! key, before the API servers start; the same command on the same folder (a restart)
//! finds them already there.
//!
//! The binary is `GARAGE_BIN`, else `garage` on `PATH`, else `~/.cargo/bin/garage`
//! (`cargo install garage --version 2.5.0 --locked`; `scripts/test` does it). Without it,
//! [`Garage::start_or_skip`] prints a notice and returns `None`, unless `CI` is set: then
//! it panics, so CI never silently skips the sync tests.

use std::collections::HashSet;
use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::s3::{Retries, S3Client, S3Target};

/// The S3 region the test servers answer to.
pub const REGION: &str = "garage";

/// The bucket [`Garage::start`] creates.
pub const DEFAULT_BUCKET: &str = "audiovault-test";

/// How long a start or restart may take before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The Garage binary, if there is one: `GARAGE_BIN`, `garage` on `PATH`, `$CARGO_HOME/bin`
/// (default `~/.cargo/bin`).
pub fn garage_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("GARAGE_BIN") {
        let bin = PathBuf::from(bin);
        return bin.is_file().then_some(bin);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|c| c.join("bin"));
    on_path
        .into_iter()
        .chain(cargo_bin)
        .map(|d| d.join("garage"))
        .find(|p| p.is_file())
}

/// `garage --version` of `bin` (e.g. `garage v2.5.0 [features: …]`), first line.
pub fn garage_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    })
}

/// A running (or stopped) single-node Garage. Dropping it kills the server and removes
/// its folder.
pub struct Garage {
    bin: PathBuf,
    // Declared before `dir`: the server is killed before its folder is removed.
    child: Option<Child>,
    client: Option<S3Client>,
    dir: tempfile::TempDir,
    s3_port: u16,
    rpc_port: u16,
    admin_port: u16,
    access_key: String,
    secret_key: String,
}

impl Garage {
    /// Starts a Garage, or returns `None` (after printing why) when no `garage` binary is
    /// installed and `CI` is not set. With `CI` set, a missing binary panics.
    pub fn start_or_skip() -> Option<Garage> {
        match garage_bin() {
            Some(bin) => Some(Garage::start_with(bin)),
            None if std::env::var_os("CI").is_some() => panic!("{}", missing_message()),
            None => {
                eprintln!("SKIPPED (no S3 test server): {}", missing_message());
                None
            }
        }
    }

    /// Starts a Garage; panics when the binary is missing.
    pub fn start() -> Garage {
        let bin = garage_bin().unwrap_or_else(|| panic!("{}", missing_message()));
        Garage::start_with(bin)
    }

    /// Starts `bin` as a single-node Garage in a fresh folder, with a key and the bucket
    /// [`DEFAULT_BUCKET`], and waits until the S3 API answers for that bucket.
    pub fn start_with(bin: PathBuf) -> Garage {
        let dir = tempfile::Builder::new()
            .prefix("audiovault-garage-")
            .tempdir()
            .expect("create a temporary folder for Garage");
        let [s3_port, rpc_port, admin_port] = free_ports();
        let access_key = format!("GK{}", &random_hex()[..24]);
        let secret_key = random_hex();
        let mut g = Garage {
            bin,
            child: None,
            client: None,
            dir,
            s3_port,
            rpc_port,
            admin_port,
            access_key,
            secret_key,
        };
        g.write_config();
        g.spawn_and_wait();
        g
    }

    /// `http://127.0.0.1:PORT` of the S3 API.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The S3 API's socket address (e.g. the upstream of a [`crate::FaultProxy`]).
    pub fn s3_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.s3_port))
    }

    pub fn region(&self) -> &str {
        REGION
    }

    pub fn bucket(&self) -> &str {
        DEFAULT_BUCKET
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Endpoint, region, bucket and credentials, for building other clients.
    pub fn target(&self) -> S3Target {
        S3Target {
            endpoint: self.endpoint(),
            region: REGION.to_owned(),
            bucket: DEFAULT_BUCKET.to_owned(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
        }
    }

    /// The same server and key, a different bucket (e.g. one made by [`Self::create_bucket`]).
    pub fn target_for(&self, bucket: &str) -> S3Target {
        S3Target {
            bucket: bucket.to_owned(),
            ..self.target()
        }
    }

    /// The server's folder (config.toml, meta/, data/, garage.log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The harness's own client for the default bucket (standard retries).
    pub fn client(&self) -> &S3Client {
        self.client
            .as_ref()
            .expect("the Garage test server is stopped: restart() it first")
    }

    /// Creates bucket `name`, read-write for [`Self::access_key`] (the key may create
    /// buckets; Garage gives the creator every permission).
    #[track_caller]
    pub fn create_bucket(&self, name: &str) {
        self.client().create_bucket(name);
    }

    /// Every `(key, size)` in the default bucket under `prefix`, in key order.
    #[track_caller]
    pub fn list_keys(&self, prefix: &str) -> Vec<(String, u64)> {
        self.client().list_keys(prefix)
    }

    #[track_caller]
    pub fn get(&self, key: &str) -> Vec<u8> {
        self.client().get(key)
    }

    #[track_caller]
    pub fn put(&self, key: &str, bytes: &[u8]) {
        self.client().put(key, bytes)
    }

    #[track_caller]
    pub fn delete(&self, key: &str) {
        self.client().delete(key)
    }

    /// Is the server process running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Kills the server (SIGKILL: no clean shutdown) and keeps its folder.
    pub fn stop(&mut self) {
        self.client = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same folder and ports; waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn_and_wait();
    }

    /// The end of the server's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("garage.log")
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn write_config(&self) {
        let root = self.dir.path();
        let config = format!(
            r#"# Written by audiovault-tests (tests/src/garage.rs): one node on loopback.
metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{region}"
api_bind_addr = "127.0.0.1:{s3}"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
admin_token = "{admin_token}"
"#,
            meta = root.join("meta").display(),
            data = root.join("data").display(),
            rpc = self.rpc_port,
            rpc_secret = random_hex(),
            region = REGION,
            s3 = self.s3_port,
            admin = self.admin_port,
            admin_token = random_hex(),
        );
        fs::write(self.config_path(), config).expect("write Garage's config.toml");
    }

    fn spawn_and_wait(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open garage.log");
        let log2 = log.try_clone().expect("clone garage.log handle");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.config_path())
            .args(["server", "--single-node", "--default-bucket"])
            .env("GARAGE_DEFAULT_ACCESS_KEY", &self.access_key)
            .env("GARAGE_DEFAULT_SECRET_KEY", &self.secret_key)
            .env("GARAGE_DEFAULT_BUCKET", DEFAULT_BUCKET)
            .env("RUST_LOG", "garage=info,garage_api_s3=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let client = S3Client::new(&self.target(), Retries::Disabled);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "Garage exited during start-up ({status}); its log ({}):\n{}",
                    self.log_path().display(),
                    self.log_tail()
                );
            }
            match client.try_list("") {
                Ok(_) => break,
                Err(e) if Instant::now() > deadline => panic!(
                    "Garage's S3 API at {} did not answer within {READY_TIMEOUT:?} ({e}); log:\n{}",
                    self.endpoint(),
                    self.log_tail()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        drop(client);
        self.client = Some(S3Client::new(&self.target(), Retries::Standard));
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}

fn missing_message() -> String {
    let looked = match std::env::var_os("GARAGE_BIN") {
        Some(bin) => format!("GARAGE_BIN={} is not a file", Path::new(&bin).display()),
        None => "no `garage` on PATH or in $CARGO_HOME/bin (GARAGE_BIN unset)".to_owned(),
    };
    format!(
        "the S3 test server Garage is not installed: {looked}. Install it with \
         `cargo install garage --version 2.5.0 --locked` (about 16 minutes on an idle 2-core \
         machine; scripts/test does it once per machine)"
    )
}

/// Three distinct free loopback ports, never handed out twice by this process.
fn free_ports() -> [u16; 3] {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let mut given = GIVEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut ports = [0u16; 3];
    let mut i = 0;
    while i < 3 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
        let port = l.local_addr().expect("local_addr").port();
        if given.insert(port) {
            ports[i] = port;
            i += 1;
        }
    }
    ports
}

/// 64 hex digits, unique per call (not for real secrets: these guard a loopback test
/// server for a few seconds).
fn random_hex() -> String {
    static COUNTER: Mutex<u64> = Mutex::new(0);
    let n = {
        let mut c = COUNTER.lock().unwrap_or_else(|e| e.into_inner());
        *c += 1;
        *c
    };
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(n.to_le_bytes());
    if let Ok(t) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.update(t.as_nanos().to_le_bytes());
    }
    if let Ok(bytes) = fs::read("/proc/sys/kernel/random/uuid") {
        h.update(bytes);
    }
    crate::hex(&h.finalize())
}
