//! Test harness for Audiovault's end-to-end tests.
//!
//! The tests drive the real `audiovault` binary against a corpus of real audio files
//! made by `tests/fixtures/make-corpus.sh`, the way a user or a script would:
//!
//! ```no_run
//! use audiovault_tests::{corpus, TestVault};
//! let vault = TestVault::new();
//! let report = vault.import(&corpus().dirs());
//! assert_eq!(report.count("failed"), 0);
//! ```
//!
//! Every CLI run happens in its own session (no controlling terminal, stdin empty), so a
//! passphrase prompt fails fast instead of hanging, and under a time limit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub mod fault_proxy;
pub mod garage;
pub mod s3;

pub use fault_proxy::{Fault, FaultProxy};
pub use garage::Garage;
pub use s3::{Retries, S3Client, S3Failure, S3Target};

/// The passphrase `TestVault::new` creates vaults with.
pub const PASSPHRASE: &str = "test passphrase: quiet marmot 47";

/// Longest a single CLI run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------------------
// Locations

/// The cargo profile directory holding the test executable (`<target>/debug`).
pub fn profile_dir() -> PathBuf {
    // <target>/<profile>/deps/it-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test executable has a parent folder");
    let profile = if deps.file_name() == Some(OsStr::new("deps")) {
        deps.parent().expect("deps folder has a parent")
    } else {
        deps
    };
    profile.to_path_buf()
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .expect("profile folder has a parent")
        .to_path_buf()
}

/// Where generated fixtures are cached between runs: `<target>/test-fixtures`.
pub fn fixtures_cache() -> PathBuf {
    let dir = target_dir().join("test-fixtures");
    fs::create_dir_all(&dir).expect("create test-fixtures folder");
    dir
}

/// The `audiovault` binary under test (`AUDIOVAULT_BIN` overrides).
pub fn audiovault_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("AUDIOVAULT_BIN") {
        return PathBuf::from(bin);
    }
    let bin = profile_dir().join("audiovault");
    assert!(
        bin.is_file(),
        "the audiovault binary is missing at {}: run `cargo build -p audiovault-cli` first \
         (or `cargo test --workspace`, which builds it)",
        bin.display()
    );
    bin
}

fn repo_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

// ---------------------------------------------------------------------------
// Cross-process locks and generated fixtures

/// Runs `make` once per machine for `name`: under an exclusive file lock (nextest runs
/// every test in its own process), skipped when `<cache>/<name>/.complete` records the
/// same `version`. Returns the fixture folder.
pub fn cached_fixture(name: &str, version: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let cache = fixtures_cache();
    let dir = cache.join(name);
    let lock = File::create(cache.join(format!("{name}.lock"))).expect("create fixture lock");
    lock.lock().expect("lock fixture");
    let stamp = dir.join(".complete");
    if fs::read_to_string(&stamp).ok().as_deref() != Some(version) {
        if dir.exists() && stamp.exists() {
            // Made by another version of its generator: start again.
            fs::remove_dir_all(&dir).expect("remove stale fixture");
        }
        fs::create_dir_all(&dir).expect("create fixture folder");
        make(&dir);
        fs::write(&stamp, version).expect("write fixture stamp");
    }
    drop(lock);
    dir
}

fn make_corpus(part: &str) -> PathBuf {
    let script = repo_fixtures().join("make-corpus.sh");
    let text = fs::read(&script).expect("read make-corpus.sh");
    let version = format!("{}-{part}", hex(&Sha256::digest(&text)));
    cached_fixture(&format!("corpus-{part}"), &version, |dir| {
        let status = Command::new("bash")
            .arg(&script)
            .arg(dir)
            .arg(part)
            .stdin(Stdio::null())
            .status()
            .expect("run bash tests/fixtures/make-corpus.sh");
        assert!(
            status.success(),
            "make-corpus.sh {} {part} failed: {status}",
            dir.display()
        );
    })
}

/// The short corpus: ~35 real, tagged files in every supported format.
pub fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| Corpus::load(&make_corpus("short")))
}

/// The `long/` corpus: a ~24 MB MP3 and its re-tagged copy (chunk-level dedup).
pub fn long_corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| Corpus::load(&make_corpus("long")))
}

// ---------------------------------------------------------------------------
// The corpus

/// One generated source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the corpus root, e.g. `dupes/exact copy.mp3`.
    pub rel: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

impl SourceFile {
    pub fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

/// Tags as written by the generator (tags.tsv).
#[derive(Debug, Clone)]
pub struct Tags {
    pub rel: String,
    pub title: String,
    pub artist: String,
    pub album: String,
    pub track: String,
    pub genre: String,
    pub date: String,
}

/// A generated corpus: its files with checksums, the tags written and ffprobe's view.
#[derive(Debug)]
pub struct Corpus {
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    pub tags: Vec<Tags>,
    /// reference.tsv rows: path → [duration, sample_rate, channels, codec].
    pub reference: BTreeMap<String, Vec<String>>,
}

fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

impl Corpus {
    pub fn load(root: &Path) -> Corpus {
        let reference: BTreeMap<String, Vec<String>> = read_tsv(&root.join("reference.tsv"))
            .into_iter()
            .map(|mut row| {
                let rel = row.remove(0);
                (rel, row)
            })
            .collect();
        let files: Vec<SourceFile> = reference
            .keys()
            .map(|rel| {
                let path = root.join(rel);
                let size = fs::metadata(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .len();
                SourceFile {
                    rel: rel.clone(),
                    sha256: sha256_file(&path),
                    path,
                    size,
                }
            })
            .collect();
        assert!(!files.is_empty(), "empty corpus at {}", root.display());
        let tags = read_tsv(&root.join("tags.tsv"))
            .into_iter()
            .map(|r| {
                assert_eq!(r.len(), 7, "tags.tsv row {r:?}");
                Tags {
                    rel: r[0].clone(),
                    title: r[1].clone(),
                    artist: r[2].clone(),
                    album: r[3].clone(),
                    track: r[4].clone(),
                    genre: r[5].clone(),
                    date: r[6].clone(),
                }
            })
            .collect();
        Corpus {
            root: root.to_path_buf(),
            files,
            tags,
            reference,
        }
    }

    /// The top-level audio folders (what a user would drop on the app).
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = fs::read_dir(&self.root)
            .expect("read corpus root")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        dirs.sort();
        dirs
    }

    /// The file at `rel` (panics when absent).
    pub fn file(&self, rel: &str) -> &SourceFile {
        self.files
            .iter()
            .find(|f| f.rel == rel)
            .unwrap_or_else(|| panic!("no {rel} in the corpus at {}", self.root.display()))
    }

    /// Files whose relative path ends with `ext` (e.g. ".flac").
    pub fn with_ext(&self, ext: &str) -> Vec<&SourceFile> {
        self.files.iter().filter(|f| f.rel.ends_with(ext)).collect()
    }

    /// Distinct SHA-256 values → the files carrying them.
    pub fn by_sha(&self) -> HashMap<&str, Vec<&SourceFile>> {
        let mut m: HashMap<&str, Vec<&SourceFile>> = HashMap::new();
        for f in &self.files {
            m.entry(f.sha256.as_str()).or_default().push(f);
        }
        m
    }

    /// How many files are byte copies of an earlier file.
    pub fn exact_duplicates(&self) -> usize {
        self.files.len() - self.by_sha().len()
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

// ---------------------------------------------------------------------------
// Files

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, lowercase hex (as `sha256sum` prints it).
pub fn sha256_file(path: &Path) -> String {
    let mut f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

/// Every regular file under `dir` (symlinks not followed), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap_or_else(|e| panic!("walk {}: {e}", dir.display())))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// Everything under `dir` (files, folders, links), relative paths, sorted.
pub fn entries_under(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap_or_else(|e| panic!("walk {}: {e}", dir.display())))
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    out.sort();
    out
}

/// Copies `src` to `dst`, creating `dst`'s folder.
pub fn copy_to(src: &Path, dst: &Path) {
    if let Some(p) = dst.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::copy(src, dst)
        .unwrap_or_else(|e| panic!("copy {} → {}: {e}", src.display(), dst.display()));
}

/// A copy of a PCM WAV file with one audio sample changed: still valid audio, new content.
pub fn variant_of_wav(src: &Path, dst: &Path, salt: u8) {
    let mut bytes = fs::read(src).unwrap();
    let at = bytes.len() - 101;
    bytes[at] = bytes[at].wrapping_add(salt | 1);
    if let Some(p) = dst.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::write(dst, bytes).unwrap();
}

/// Writes a valid 16-bit 44.1 kHz stereo WAV of `bytes` pseudo-random audio bytes derived
/// from `seed` (distinct seeds → distinct, incompressible content). Fast: SHA-256 in
/// counter mode.
pub fn write_noise_wav(path: &Path, seed: u64, bytes: u64) {
    use std::io::Write;
    let data_len = (bytes & !3) as u32;
    let mut w = io::BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_len).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes()); // PCM
    header.extend_from_slice(&2u16.to_le_bytes()); // channels
    header.extend_from_slice(&44_100u32.to_le_bytes());
    header.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&16u16.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    w.write_all(&header).unwrap();
    let mut block = [0u8; 32 * 1024];
    let mut written = 0u64;
    let mut counter = 0u64;
    while written < data_len as u64 {
        for (i, out) in block.chunks_mut(32).enumerate() {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            h.update((counter * 1024 + i as u64).to_le_bytes());
            out.copy_from_slice(&h.finalize());
        }
        counter += 1;
        let n = (data_len as u64 - written).min(block.len() as u64) as usize;
        w.write_all(&block[..n]).unwrap();
        written += n as u64;
    }
    w.flush().unwrap();
}

/// Search `haystacks` for any of `needles`; returns (file, needle index, offset) of the
/// first `max_hits` hits. One Aho-Corasick pass per file, so thousands of needles cost
/// no more than a few.
pub fn find_needles(
    haystacks: &[PathBuf],
    needles: &[Vec<u8>],
    max_hits: usize,
) -> Vec<(PathBuf, usize, usize)> {
    let ac = aho_corasick::AhoCorasick::new(needles).expect("build Aho-Corasick automaton");
    let mut hits = Vec::new();
    for path in haystacks {
        let data = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        for m in ac.find_overlapping_iter(&data) {
            hits.push((path.clone(), m.pattern().as_usize(), m.start()));
            if hits.len() >= max_hits {
                return hits;
            }
        }
    }
    hits
}

// ---------------------------------------------------------------------------
// Running the CLI

/// What a finished CLI run left behind.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code; -signal when killed by a signal.
    pub fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .code()
            .unwrap_or_else(|| -self.status.signal().unwrap_or(0))
    }

    /// Panics with the whole run shown unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code(), code, "unexpected exit code\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_ok(self) -> Run {
        self.expect_code(0)
    }

    /// stdout as the one JSON document `--json` promises.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e})\n{self}"))
    }

    /// stdout and stderr together.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ audiovault {}\nexit: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.code(),
            truncate(&self.stdout, 6000),
            truncate(&self.stderr, 6000)
        )
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes more)", &s[..end], s.len() - end)
}

/// A CLI invocation being built. `TestVault::cmd` fills in the vault and passphrase.
pub struct Cmd {
    command: Command,
    args: Vec<String>,
}

impl Cmd {
    /// `audiovault` with a clean environment for our variables, stdin empty and no
    /// controlling terminal (so a prompt fails instead of waiting).
    pub fn new() -> Cmd {
        let mut command = Command::new(audiovault_bin());
        command
            .env_remove("AUDIOVAULT_VAULT")
            .env_remove("AUDIOVAULT_PASSPHRASE")
            .env_remove("AUDIOVAULT_NEW_PASSPHRASE")
            .env_remove("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setsid is async-signal-safe; it detaches from the controlling terminal.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        Cmd {
            command,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Cmd {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.command.env_remove(key);
        self
    }

    /// Runs the process with this umask (the vault's modes must not depend on it).
    pub fn umask(mut self, mask: u32) -> Cmd {
        // SAFETY: umask is async-signal-safe.
        unsafe {
            self.command.pre_exec(move || {
                libc::umask(mask as libc::mode_t);
                Ok(())
            });
        }
        self
    }

    /// Run the binary under another program, e.g. `setpriv ...` (the argv so far follows).
    pub fn wrapped_in(self, wrapper: &[&str]) -> Cmd {
        let inner = self.command;
        let mut command = Command::new(wrapper[0]);
        command
            .args(&wrapper[1..])
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => command.env(k, v),
                None => command.env_remove(k),
            };
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        Cmd {
            command,
            args: self.args,
        }
    }

    /// Starts the process without waiting.
    pub fn spawn(mut self) -> Running {
        let child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn audiovault {}: {e}", self.args.join(" ")));
        Running::new(child, self.args)
    }

    /// Runs to completion (fails the test after 10 minutes).
    pub fn run(self) -> Run {
        self.spawn().wait()
    }
}

impl Default for Cmd {
    fn default() -> Self {
        Cmd::new()
    }
}

/// A CLI process in flight; its output is collected by two threads.
pub struct Running {
    pub child: Child,
    args: Vec<String>,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
    started: Instant,
}

impl Running {
    fn new(mut child: Child, args: Vec<String>) -> Running {
        fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = r.read_to_end(&mut v);
                v
            })
        }
        let out = child.stdout.take().map(drain);
        let err = child.stderr.take().map(drain);
        Running {
            child,
            args,
            out,
            err,
            started: Instant::now(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then collect what it printed.
    pub fn kill(mut self) -> Run {
        let _ = self.child.kill();
        self.wait()
    }

    /// Files the process has open right now (from /proc/PID/fd).
    pub fn open_files(&self) -> Vec<PathBuf> {
        let fd_dir = format!("/proc/{}/fd", self.child.id());
        match fs::read_dir(fd_dir) {
            Ok(rd) => rd
                .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn wait(mut self) -> Run {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for audiovault") {
                break status;
            }
            if self.started.elapsed() > RUN_TIMEOUT {
                let _ = self.child.kill();
                panic!(
                    "audiovault {} did not finish within {RUN_TIMEOUT:?}",
                    self.args.join(" ")
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let stdout = self
            .out
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        let stderr = self
            .err
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        Run {
            args: std::mem::take(&mut self.args),
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

// ---------------------------------------------------------------------------
// A vault in a temporary folder

/// A freshly initialised vault in a temporary folder, plus scratch space beside it.
/// Commands run with `AUDIOVAULT_VAULT` and `AUDIOVAULT_PASSPHRASE` set.
pub struct TestVault {
    dir: tempfile::TempDir,
    /// The vault folder.
    pub path: PathBuf,
    passphrase: Option<String>,
    /// The umask every command runs with (`None`: the test's own).
    pub umask: Option<u32>,
    /// Whether commands run with `AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1` (the default:
    /// test vaults use a fast, weak KDF and short passphrases).
    pub allow_weak_passphrase: bool,
}

impl TestVault {
    /// `audiovault init` with a weak KDF (tests only: commands run with
    /// `AUDIOVAULT_ALLOW_WEAK_PASSPHRASE=1`) and [`PASSPHRASE`].
    pub fn new() -> TestVault {
        TestVault::with_passphrase(PASSPHRASE)
    }

    /// A vault initialised with `passphrase`.
    pub fn with_passphrase(passphrase: &str) -> TestVault {
        let v = TestVault::uninitialised(Some(passphrase));
        v.init(&[]).expect_ok();
        assert!(
            v.path.join("vault.json").is_file(),
            "init wrote no vault.json in {}",
            v.path.display()
        );
        v
    }

    /// Only the folders: the vault is not created yet (see [`TestVault::init`]).
    pub fn uninitialised(passphrase: Option<&str>) -> TestVault {
        let dir = tempfile::Builder::new()
            .prefix("audiovault-test-")
            .tempdir()
            .expect("tempdir");
        let path = dir.path().join("vault");
        TestVault {
            path,
            dir,
            passphrase: passphrase.map(str::to_owned),
            umask: None,
            allow_weak_passphrase: true,
        }
    }

    /// Runs `init --kdf-memory-kib 1024 --kdf-iterations 1 EXTRA...`.
    pub fn init(&self, extra: &[&str]) -> Run {
        self.cmd(["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"])
            .args(extra)
            .run()
    }

    /// The passphrase commands get through `AUDIOVAULT_PASSPHRASE`.
    pub fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_deref()
    }

    /// Changes the passphrase later commands use (e.g. after `passwd`).
    pub fn set_passphrase(&mut self, passphrase: Option<&str>) {
        self.passphrase = passphrase.map(str::to_owned);
    }

    /// A scratch path beside the vault (not inside it), e.g. an export folder.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new empty scratch folder.
    pub fn scratch_dir(&self, name: &str) -> PathBuf {
        let p = self.scratch(name);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// `audiovault ARGS` for this vault (not yet run).
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Cmd::new()
            .env("AUDIOVAULT_VAULT", &self.path)
            // Keep the platform folders inside the sandbox.
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_CACHE_HOME", self.dir.path().join("xdg-cache"));
        if let Some(p) = &self.passphrase {
            c = c.env("AUDIOVAULT_PASSPHRASE", p);
        }
        if self.allow_weak_passphrase {
            c = c.env("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "1");
        } else {
            c = c.env_remove("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE");
        }
        if let Some(mask) = self.umask {
            c = c.umask(mask);
        }
        c.args(args)
    }

    /// Runs `audiovault ARGS`, whatever its exit code.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args).run()
    }

    /// Runs `audiovault ARGS --json`, expects exit 0, returns the document.
    #[track_caller]
    pub fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args).arg("--json").run().expect_ok().json()
    }

    /// `import PATHS --json` (exit 0 or 3 accepted; the report is checked for shape).
    #[track_caller]
    pub fn import<P: AsRef<Path>>(&self, paths: &[P]) -> ImportReport {
        let run = self
            .cmd(["import"])
            .args(paths.iter().map(|p| p.as_ref()))
            .arg("--json")
            .run();
        ImportReport::from_run(run)
    }

    /// `export WHAT... --to DIR EXTRA... --json` (not checked: export may exit 3).
    pub fn export(&self, what: &[&str], to: &Path, extra: &[&str]) -> Run {
        self.cmd(["export"])
            .args(what)
            .arg("--to")
            .arg(to)
            .args(extra)
            .arg("--json")
            .run()
    }

    /// Active tracks (`list --json`), or all with `--all`.
    #[track_caller]
    pub fn tracks(&self) -> Vec<Value> {
        as_array(&self.json(["list"])).clone()
    }

    #[track_caller]
    pub fn all_tracks(&self) -> Vec<Value> {
        as_array(&self.json(["list", "--all"])).clone()
    }

    #[track_caller]
    pub fn trashed_tracks(&self) -> Vec<Value> {
        as_array(&self.json(["list", "--trashed"])).clone()
    }

    /// `show ID --json`.
    #[track_caller]
    pub fn show(&self, id: &str) -> Value {
        self.json(["show", id])
    }

    /// The chunk list (id, length) of a track.
    #[track_caller]
    pub fn chunks_of(&self, id: &str) -> Vec<(String, u64)> {
        let t = self.show(id);
        as_array(&t["chunks"])
            .iter()
            .map(|c| (str_field(c, "id").to_owned(), u64_field(c, "length")))
            .collect()
    }

    /// Every chunk id referenced by any track, active or trashed, as `show --json` tells
    /// it: the audio chunk list plus the cover art's chunk (`artwork_chunk`) if shown.
    #[track_caller]
    pub fn referenced_chunks(&self) -> HashSet<String> {
        let mut all = HashSet::new();
        for t in self.all_tracks() {
            let track = self.show(str_field(&t, "id"));
            for c in as_array(&track["chunks"]) {
                all.insert(str_field(c, "id").to_owned());
            }
            if let Some(art) = track.get("artwork_chunk").and_then(Value::as_str) {
                all.insert(art.to_owned());
            }
        }
        all
    }

    #[track_caller]
    pub fn stats(&self) -> Value {
        self.json(["stats"])
    }

    /// Chunk files on disk: file name → size.
    pub fn chunk_files(&self) -> BTreeMap<String, u64> {
        files_under(&self.path.join("chunks"))
            .into_iter()
            .map(|p| {
                let size = fs::metadata(&p).unwrap().len();
                (p.file_name().unwrap().to_string_lossy().into_owned(), size)
            })
            .collect()
    }

    /// The file holding chunk `id` (found by name under `chunks/`).
    pub fn chunk_path(&self, id: &str) -> PathBuf {
        let expected = self
            .path
            .join("chunks")
            .join(&id[..2])
            .join(&id[2..4])
            .join(id);
        if expected.is_file() {
            return expected;
        }
        files_under(&self.path.join("chunks"))
            .into_iter()
            .find(|p| p.file_name() == Some(OsStr::new(id)))
            .unwrap_or_else(|| {
                panic!(
                    "no file for chunk {id} under {}",
                    self.path.join("chunks").display()
                )
            })
    }

    /// Every file in the vault folder.
    pub fn files(&self) -> Vec<PathBuf> {
        files_under(&self.path)
    }

    /// The key of this vault's catalog, from its passphrase (through the engine, as
    /// a script that must reach the catalog behind the CLI's back would).
    pub fn catalog_key(&self) -> audiovault_engine::catalog::CatalogKey {
        let passphrase = self
            .passphrase
            .as_deref()
            .expect("a vault with a passphrase");
        audiovault_engine::LockedVault::open(&self.path)
            .expect("open vault.json")
            .unlock_keys(&audiovault_engine::Passphrase::new(passphrase))
            .expect("unlock")
            .catalog_key_for_tests()
    }

    /// The vault's catalog, opened with its key but without the vault: a change made
    /// through it is committed without its record (as a writer that does not seal).
    pub fn catalog_behind_the_vaults_back(&self) -> audiovault_engine::catalog::Catalog {
        audiovault_engine::catalog::open_for_tests(
            &self.path.join("catalog.db"),
            &self.catalog_key(),
        )
        .expect("open the catalog with its key")
    }
}

impl Default for TestVault {
    fn default() -> Self {
        TestVault::new()
    }
}

// ---------------------------------------------------------------------------
// JSON helpers with readable failures

#[track_caller]
pub fn as_array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
}

#[track_caller]
pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected string field {key:?} in {v}"))
}

#[track_caller]
pub fn u64_field(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("expected unsigned integer field {key:?} in {v}"))
}

#[track_caller]
pub fn f64_field(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("expected number field {key:?} in {v}"))
}

/// Ids of the objects in a JSON array.
#[track_caller]
pub fn ids(v: &Value) -> Vec<String> {
    as_array(v)
        .iter()
        .map(|t| str_field(t, "id").to_owned())
        .collect()
}

/// The track object with `sha256` among `tracks`.
#[track_caller]
pub fn track_with_sha<'a>(tracks: &'a [Value], sha: &str) -> &'a Value {
    tracks
        .iter()
        .find(|t| str_field(t, "sha256") == sha)
        .unwrap_or_else(|| panic!("no track with sha256 {sha}"))
}

// ---------------------------------------------------------------------------
// The import report

/// `import --json`: `{"job_id", "files": [...], "imported", "duplicates", "rejected",
/// "failed", "cancelled", "warnings"}`.
#[derive(Debug)]
pub struct ImportReport {
    pub run: Run,
    pub json: Value,
}

impl ImportReport {
    #[track_caller]
    pub fn from_run(run: Run) -> ImportReport {
        assert!(
            run.code() == 0 || run.code() == 3,
            "import should exit 0 (all good) or 3 (some rejected/failed)\n{run}"
        );
        let json = run.json();
        let files = json
            .get("files")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("import report without a files array\n{run}"));
        for f in files {
            let outcome = str_field(f, "outcome");
            assert!(
                ["imported", "duplicate", "rejected", "failed"].contains(&outcome),
                "unknown outcome {outcome:?} in {f}"
            );
            match outcome {
                "imported" | "duplicate" => {
                    assert!(
                        f["id"].is_string(),
                        "{outcome} file without a track id: {f}"
                    );
                    if outcome == "imported" {
                        assert!(f["reason"].is_null(), "imported file with a reason: {f}");
                    }
                }
                _ => {
                    let reason = f["reason"].as_str().unwrap_or("");
                    assert!(
                        !reason.trim().is_empty(),
                        "{outcome} file without a reason: {f}"
                    );
                }
            }
        }
        for key in ["imported", "duplicates", "rejected", "failed"] {
            let n = u64_field(&json, key) as usize;
            let outcome = if key == "duplicates" {
                "duplicate"
            } else {
                key
            };
            let counted = files.iter().filter(|f| f["outcome"] == outcome).count();
            assert_eq!(
                n, counted,
                "report field {key} disagrees with its file list\n{run}"
            );
        }
        assert!(
            json["warnings"].is_array(),
            "import report without a warnings array\n{run}"
        );
        let partial = files
            .iter()
            .any(|f| f["outcome"] == "rejected" || f["outcome"] == "failed");
        assert_eq!(
            run.code(),
            if partial { 3 } else { 0 },
            "import exit code must be 3 exactly when a file was rejected or failed\n{run}"
        );
        ImportReport { run, json }
    }

    pub fn files(&self) -> &Vec<Value> {
        as_array(&self.json["files"])
    }

    /// How many files had `outcome`.
    pub fn count(&self, outcome: &str) -> usize {
        self.files()
            .iter()
            .filter(|f| f["outcome"] == outcome)
            .count()
    }

    pub fn with_outcome(&self, outcome: &str) -> Vec<&Value> {
        self.files()
            .iter()
            .filter(|f| f["outcome"] == outcome)
            .collect()
    }

    /// The entry for `path` (matched on the path as given, canonical, or lossily decoded).
    #[track_caller]
    pub fn entry(&self, path: &Path) -> &Value {
        let wanted: Vec<String> = [Some(path.to_path_buf()), path.canonicalize().ok()]
            .into_iter()
            .flatten()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        self.files()
            .iter()
            .find(|f| {
                f["path"]
                    .as_str()
                    .is_some_and(|p| wanted.iter().any(|w| w == p))
            })
            .unwrap_or_else(|| panic!("no report entry for {}\n{}", path.display(), self.run))
    }

    /// Track ids of files imported or found duplicate.
    pub fn track_ids(&self) -> HashSet<String> {
        self.files()
            .iter()
            .filter_map(|f| f["id"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Does `text` mention any of `words` (case-insensitive)?
pub fn mentions(text: &str, words: &[&str]) -> bool {
    let t = text.to_lowercase();
    words.iter().any(|w| t.contains(&w.to_lowercase()))
}

// ---------------------------------------------------------------------------
// Privileged set-ups: a small tmpfs, a preloaded shim

/// A test that needs something this machine may lack (root, a mount, a compiler)
/// prints why and returns early, except in CI (`CI` set), where a skipped test would
/// hide a regression: there it fails.
#[track_caller]
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why} (CI is set, so this is a failure, not a skip)");
    }
    eprintln!("NOTICE: skipping {test}: {why}");
}

/// A tmpfs of a fixed size mounted on a folder, unmounted on drop: a disk that fills up.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size_mib` MiB on `path` (created if missing). `None`, after a
    /// notice (or a panic under CI), when this process may not mount.
    pub fn mount(test: &str, path: &Path, size_mib: u64) -> Option<Tmpfs> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip_or_fail(test, "mounting a tmpfs needs root");
            return None;
        }
        fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size_mib}m,mode=0755"))
            .arg("tmpfs")
            .arg(path)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                path: path.to_path_buf(),
            }),
            Ok(o) => {
                skip_or_fail(
                    test,
                    &format!(
                        "mount -t tmpfs failed: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    ),
                );
                None
            }
            Err(e) => {
                skip_or_fail(test, &format!("cannot run mount: {e}"));
                None
            }
        }
    }

    /// Bytes an unprivileged writer can still write.
    pub fn free_bytes(&self) -> u64 {
        free_bytes(&self.path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it now, gone when closed.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Free bytes on the file system holding `path` (statvfs: available blocks × size).
pub fn free_bytes(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    assert_eq!(
        rc,
        0,
        "statvfs {}: {}",
        path.display(),
        io::Error::last_os_error()
    );
    st.f_bavail as u64 * st.f_frsize as u64
}

/// Compiles `source` (C) into a shared object in `dir` with `cc -shared -fPIC`, for
/// `LD_PRELOAD`. `None`, after a notice (or a panic under CI), when there is no `cc`.
pub fn build_preload_shim(test: &str, dir: &Path, name: &str, source: &str) -> Option<PathBuf> {
    let c_file = dir.join(format!("{name}.c"));
    let so = dir.join(format!("{name}.so"));
    fs::write(&c_file, source).unwrap();
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&so)
        .arg(&c_file)
        .arg("-ldl")
        .output();
    match out {
        Ok(o) if o.status.success() => Some(so),
        Ok(o) => panic!(
            "cc could not build the {name} shim:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            skip_or_fail(test, &format!("no C compiler (cc): {e}"));
            None
        }
    }
}
