//! An HTTP/1.1 reverse proxy on loopback that injects the faults a real S3 server cannot
//! produce on demand: 503/SlowDown/500 answers, dropped connections, delays.
//!
//! ```no_run
//! use audiovault_tests::fault_proxy::{Fault, FaultProxy};
//! use audiovault_tests::garage::Garage;
//! let garage = Garage::start();
//! let proxy = FaultProxy::start(garage.s3_addr());
//! proxy.fail_next(2, Fault::Status503);
//! // … point the client at proxy.endpoint() …
//! assert_eq!(proxy.puts(), 0);
//! ```
//!
//! Requests are forwarded byte for byte (request line, headers including `Host`, body), so
//! SigV4 signatures made for the proxy's `host:port` stay valid; Garage accepts them. One
//! thread per client connection, one upstream connection per client connection, keep-alive
//! on both sides; bodies framed by `Content-Length` or `Transfer-Encoding: chunked` (or, for
//! responses, the end of the connection).
//!
//! The fault plan can change while requests run: [`FaultProxy::fail_next`] queues faults
//! for the next requests, [`FaultProxy::fail_all`] applies one to every request until
//! [`FaultProxy::clear`]. Queued faults are used before a standing one.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request or response head the proxy accepts.
const MAX_HEAD: usize = 64 * 1024;

/// What the proxy does to a request instead of (or before) forwarding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `503 Service Unavailable`, S3 error code `ServiceUnavailable`; not forwarded.
    Status503,
    /// `503`, S3 error code `SlowDown` (throttling); not forwarded.
    SlowDown,
    /// `500 Internal Server Error`, S3 error code `InternalError`; not forwarded.
    Status500,
    /// The request is read, then the connection is closed without a response.
    DropConnection,
    /// Wait, then forward.
    Delay(Duration),
    /// `403`, S3 error code `InvalidObjectState`: the object is archived (Glacier)
    /// and needs a restore; not forwarded.
    InvalidObjectState,
}

#[derive(Default)]
struct Plan {
    next: VecDeque<Fault>,
    always: Option<Fault>,
    /// Requests of this method whose target contains this text get this fault.
    matching: Option<(String, String, Fault)>,
}

#[derive(Default)]
struct Stats {
    /// Requests received, by method (faulted or not).
    received: BTreeMap<String, u64>,
    /// Requests forwarded whose response was 2xx, by method.
    succeeded: BTreeMap<String, u64>,
    /// Request targets (path and query) of successful PUTs, in order.
    put_targets: Vec<String>,
    /// Request targets (path and query) of successful listings (GET with
    /// `list-type=`), in order: which prefixes a client listed, and from where.
    list_targets: Vec<String>,
    /// The `x-amz-*` request headers seen that say how a request is made rather
    /// than sign it (`x-amz-security-token`, `x-amz-storage-class`): name
    /// (lower case) → every value, one per request that carried it.
    amz_headers: BTreeMap<String, Vec<String>>,
    faults: u64,
}

/// The request headers [`FaultProxy::header_values`] keeps.
const KEPT_HEADERS: [&str; 2] = ["x-amz-security-token", "x-amz-storage-class"];

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<Plan>,
    stats: Mutex<Stats>,
    requests: AtomicU64,
    connections: AtomicU64,
    /// Bytes of forwarded requests (heads and bodies): what a client sent over the wire.
    bytes_up: AtomicU64,
    /// Bytes of forwarded responses (heads and bodies): what a client received.
    bytes_down: AtomicU64,
    stopping: AtomicBool,
    /// Client sockets, so that drop can close them.
    conns: Mutex<Vec<TcpStream>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The proxy; dropping it stops it and closes its connections.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:<random>` and forwards to `upstream` (e.g. Garage's S3 API).
    pub fn start(upstream: impl ToSocketAddrs) -> FaultProxy {
        let upstream = upstream
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .expect("FaultProxy::start: the upstream address does not resolve");
        let listener = TcpListener::bind("127.0.0.1:0").expect("FaultProxy: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("FaultProxy: local_addr");
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::default(),
            stats: Mutex::default(),
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            conns: Mutex::default(),
        });
        let s = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name("fault-proxy-accept".into())
            .spawn(move || accept_loop(listener, s))
            .expect("FaultProxy: spawn the accept thread");
        FaultProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next `n` requests get `fault` (after any already queued).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut plan = lock(&self.shared.plan);
        plan.next.extend(std::iter::repeat_n(fault, n));
    }

    /// Every request gets `fault` until [`Self::clear`] (queued faults still come first).
    pub fn fail_all(&self, fault: Fault) {
        lock(&self.shared.plan).always = Some(fault);
    }

    /// Every `method` request whose target (path and query) contains `text` gets
    /// `fault` until [`Self::clear`] (e.g. GETs of `/packs/`).
    pub fn fail_matching(&self, method: &str, text: &str, fault: Fault) {
        lock(&self.shared.plan).matching = Some((method.to_string(), text.to_string(), fault));
    }

    /// No more faults: queued, standing and matching ones are dropped.
    pub fn clear(&self) {
        let mut plan = lock(&self.shared.plan);
        plan.next.clear();
        plan.always = None;
        plan.matching = None;
    }

    /// Faults still queued by [`Self::fail_next`].
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.plan).next.len()
    }

    /// Every request received (faulted or forwarded).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Client connections accepted (keep-alive: many requests share one).
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests received with `method` (`"GET"`, `"PUT"`…), faulted or forwarded.
    pub fn received(&self, method: &str) -> u64 {
        lock(&self.shared.stats)
            .received
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Requests with `method` forwarded upstream that got a 2xx response.
    pub fn succeeded(&self, method: &str) -> u64 {
        lock(&self.shared.stats)
            .succeeded
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Successful (2xx) PUTs forwarded upstream: uploads that reached the server.
    pub fn puts(&self) -> u64 {
        self.succeeded("PUT")
    }

    /// Successful GETs forwarded upstream.
    pub fn gets(&self) -> u64 {
        self.succeeded("GET")
    }

    /// Successful DELETEs forwarded upstream.
    pub fn deletes(&self) -> u64 {
        self.succeeded("DELETE")
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> u64 {
        lock(&self.shared.stats).faults
    }

    /// Request paths (query string removed) of successful PUTs, in order. Path-style, so
    /// `/bucket/key` with the key as the client encoded it. Multipart `UploadPart`
    /// requests (`?partNumber=…`) are left out: see [`Self::put_targets`].
    pub fn put_keys(&self) -> Vec<String> {
        lock(&self.shared.stats)
            .put_targets
            .iter()
            .filter(|t| !t.contains("partNumber="))
            .map(|t| t.split('?').next().unwrap_or_default().to_owned())
            .collect()
    }

    /// The values of request header `name` (`x-amz-security-token` or
    /// `x-amz-storage-class`), one per request received that carried it, with the
    /// method: `("PUT", "STANDARD_IA")`.
    pub fn header_values(&self, name: &str) -> Vec<(String, String)> {
        lock(&self.shared.stats)
            .amz_headers
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let (method, value) = v.split_once(' ').unwrap_or(("", &v));
                (method.to_string(), value.to_string())
            })
            .collect()
    }

    /// Request targets (path and query) of every successful PUT, in order.
    pub fn put_targets(&self) -> Vec<String> {
        lock(&self.shared.stats).put_targets.clone()
    }

    /// Request targets (path and query, URL-encoded as sent) of every successful
    /// listing, in order.
    pub fn list_targets(&self) -> Vec<String> {
        lock(&self.shared.stats).list_targets.clone()
    }

    /// Bytes of the requests forwarded upstream, heads and bodies (HTTP framing
    /// included): what the client sent over the wire to the server.
    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::SeqCst)
    }

    /// Bytes of the responses passed back to the client, heads and bodies.
    pub fn bytes_down(&self) -> u64 {
        self.shared.bytes_down.load(Ordering::SeqCst)
    }

    /// Zeroes the counters and forgets the PUT list (the fault plan is kept).
    pub fn reset_counters(&self) {
        *lock(&self.shared.stats) = Stats::default();
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.connections.store(0, Ordering::SeqCst);
        self.shared.bytes_up.store(0, Ordering::SeqCst);
        self.shared.bytes_down.store(0, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        for c in lock(&self.shared.conns).drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = conn.set_nodelay(true);
        if let Ok(c) = conn.try_clone() {
            let mut conns = lock(&shared.conns);
            // Forget sockets of finished connections now and then.
            if conns.len() > 256 {
                conns.retain(|c| c.peer_addr().is_ok());
            }
            conns.push(c);
        }
        let s = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || {
                // An I/O error ends the connection; the client sees it as such. The
                // list above holds a clone of the socket, so dropping ours would not
                // close it: shut it down explicitly, or the client waits forever.
                let closer = conn.try_clone();
                let _ = serve_connection(conn, &s);
                if let Ok(c) = closer {
                    let _ = c.shutdown(std::net::Shutdown::Both);
                }
            });
        if spawned.is_err() {
            // Out of threads: the connection is dropped, which a client sees as a fault.
            continue;
        }
    }
}

/// A parsed message head, with its raw bytes.
struct Head {
    raw: Vec<u8>,
    /// Request: method. Response: HTTP version.
    first: String,
    /// Request: target. Response: status code.
    second: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn chunked(&self) -> bool {
        self.has_token("transfer-encoding", "chunked")
    }

    fn content_length(&self) -> io::Result<Option<u64>> {
        match self.header("content-length") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| bad(format!("bad Content-Length {v:?}"))),
        }
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads a message head; `Ok(None)` on a clean end of stream before any byte.
fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    loop {
        let start = raw.len();
        let n = r.read_until(b'\n', &mut raw)?;
        if n == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if raw.len() > MAX_HEAD {
            return Err(bad("message head too long".into()));
        }
        let line = &raw[start..];
        if line == b"\r\n" || line == b"\n" {
            if start == 0 {
                // Stray empty line before a request: ignore it (RFC 9112 §2.2).
                raw.clear();
                continue;
            }
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let start_line = lines.next().unwrap_or_default();
    let mut parts = start_line.splitn(3, ' ');
    let first = parts.next().unwrap_or_default().to_owned();
    let second = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        raw,
        first,
        second,
        headers,
    }))
}

/// Copies exactly `n` bytes.
fn copy_exact(r: &mut impl Read, w: &mut impl Write, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.take(n), w)?;
    if copied != n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// Copies a chunked body as it is, through the last chunk and the trailers.
fn copy_chunked(r: &mut impl BufRead, w: &mut impl Write) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        w.write_all(&line)?;
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| bad(format!("bad chunk size line {text:?}")))?;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                w.write_all(&line)?;
                if line == b"\r\n" || line == b"\n" {
                    return Ok(());
                }
            }
        }
        copy_exact(r, w, size + 2)?; // data and its CRLF
    }
}

/// Reads a request body (as raw bytes, framing included).
fn read_request_body(r: &mut impl BufRead, head: &Head) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if head.chunked() {
        copy_chunked(r, &mut body)?;
    } else if let Some(n) = head.content_length()? {
        copy_exact(r, &mut body, n)?;
    }
    Ok(body)
}

struct Upstream {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Upstream {
    fn connect(addr: SocketAddr) -> io::Result<Upstream> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_nodelay(true)?;
        Ok(Upstream {
            writer: s.try_clone()?,
            reader: BufReader::new(s),
        })
    }
}

fn serve_connection(client: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut to_client = client.try_clone()?;
    let mut from_client = BufReader::new(client);
    let mut upstream: Option<Upstream> = None;
    loop {
        let Some(req) = read_head(&mut from_client)? else {
            return Ok(()); // the client closed the connection
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        let method = req.first.clone();
        let target = req.second.clone();
        if req.has_token("expect", "100-continue") {
            // Let the client send its body now; the upstream's own 100 is not passed on.
            to_client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let body = read_request_body(&mut from_client, &req)?;
        let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut stats = lock(&shared.stats);
            *stats.received.entry(method.clone()).or_default() += 1;
            for name in KEPT_HEADERS {
                if let Some(v) = req.header(name) {
                    stats
                        .amz_headers
                        .entry(name.to_string())
                        .or_default()
                        .push(format!("{method} {}", v.trim()));
                }
            }
        }
        let fault = {
            let mut plan = lock(&shared.plan);
            let matched = plan
                .matching
                .as_ref()
                .filter(|(m, text, _)| *m == method && target.contains(text.as_str()))
                .map(|(_, _, f)| f.clone());
            matched
                .or_else(|| plan.next.pop_front())
                .or_else(|| plan.always.clone())
        };
        if fault.is_some() {
            lock(&shared.stats).faults += 1;
        }
        match fault {
            Some(Fault::DropConnection) => {
                let _ = to_client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::Status503) => {
                error_response(
                    &mut to_client,
                    &method,
                    &target,
                    n,
                    503,
                    "ServiceUnavailable",
                )?;
                continue;
            }
            Some(Fault::SlowDown) => {
                error_response(&mut to_client, &method, &target, n, 503, "SlowDown")?;
                continue;
            }
            Some(Fault::Status500) => {
                error_response(&mut to_client, &method, &target, n, 500, "InternalError")?;
                continue;
            }
            Some(Fault::InvalidObjectState) => {
                error_response(
                    &mut to_client,
                    &method,
                    &target,
                    n,
                    403,
                    "InvalidObjectState",
                )?;
                continue;
            }
            Some(Fault::Delay(d)) => std::thread::sleep(d),
            None => {}
        }

        // Forward; a reused upstream connection the server has closed meanwhile is
        // replaced once (nothing of the response has been read then).
        let mut attempt = 0;
        let resp = loop {
            attempt += 1;
            let fresh = upstream.is_none();
            if fresh {
                upstream = Some(Upstream::connect(shared.upstream)?);
            }
            let up = upstream.as_mut().expect("upstream connected above");
            let sent = up
                .writer
                .write_all(&req.raw)
                .and_then(|()| up.writer.write_all(&body));
            let head = sent.and_then(|()| {
                loop {
                    // Interim 1xx responses: ours was sent already (100) or they are dropped.
                    match read_head(&mut up.reader)? {
                        None => break Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                        Some(h) if h.second.starts_with('1') && h.second != "101" => continue,
                        Some(h) => break Ok(h),
                    }
                }
            });
            match head {
                Ok(h) => {
                    shared
                        .bytes_up
                        .fetch_add((req.raw.len() + body.len()) as u64, Ordering::SeqCst);
                    break h;
                }
                Err(_) if !fresh && attempt == 1 => upstream = None,
                Err(e) => return Err(e),
            }
        };
        let up = upstream.as_mut().expect("upstream connected above");
        let status: u16 = resp.second.parse().unwrap_or(0);
        // Counted before the client sees a byte of the answer, so a test that
        // reads the counts right after its request returns never races the proxy.
        if (200..300).contains(&status) {
            let mut stats = lock(&shared.stats);
            *stats.succeeded.entry(method.clone()).or_default() += 1;
            if method == "PUT" {
                stats.put_targets.push(target.clone());
            }
            if method == "GET" && target.contains("list-type=") {
                stats.list_targets.push(target.clone());
            }
        }
        let mut counted = Counting {
            inner: &mut to_client,
            count: &shared.bytes_down,
        };
        counted.write_all(&resp.raw)?;
        let bodiless = method == "HEAD" || status == 204 || status == 304;
        let mut close_after = resp.has_token("connection", "close")
            || req.has_token("connection", "close")
            || resp.first == "HTTP/1.0";
        if !bodiless {
            if resp.chunked() {
                copy_chunked(&mut up.reader, &mut counted)?;
            } else if let Some(n) = resp.content_length()? {
                copy_exact(&mut up.reader, &mut counted, n)?;
            } else {
                // Framed by the end of the connection.
                io::copy(&mut up.reader, &mut counted)?;
                close_after = true;
            }
        }
        counted.flush()?;
        if close_after {
            let _ = counted.inner.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

/// A writer that adds what passes through it to a counter (bytes on the wire).
struct Counting<'a> {
    inner: &'a mut TcpStream,
    count: &'a AtomicU64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn error_response(
    w: &mut TcpStream,
    method: &str,
    target: &str,
    n: u64,
    status: u16,
    code: &str,
) -> io::Result<()> {
    let reason = match status {
        503 => "Service Unavailable",
        403 => "Forbidden",
        _ => "Internal Server Error",
    };
    let message = match code {
        "SlowDown" => "Please reduce your request rate.",
        "ServiceUnavailable" => "Service is unable to handle request.",
        "InvalidObjectState" => "The operation is not valid for the object's storage class",
        _ => "We encountered an internal error. Please try again.",
    };
    let resource = target.split('?').next().unwrap_or_default();
    let resource = resource
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let request_id = format!("faultproxy{n:08}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><Resource>{resource}</Resource>\
         <RequestId>{request_id}</RequestId></Error>"
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nx-amz-request-id: {request_id}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
    w.write_all(&out)?;
    w.flush()
}
