//! The playback server: stored tracks over HTTP on `127.0.0.1`, for the desktop
//! app's web view (WebKitGTK plays media through GStreamer, which cannot open a
//! custom URI scheme, so `<audio>` needs a real `http://` URL).
//!
//! What it serves and to whom:
//! - Only `GET`/`HEAD /track/<id>?exp=<unix seconds>&sig=<hex>`, where `sig` is an
//!   HMAC-SHA256, under a key made fresh for each server, of the id and the expiry.
//!   Nothing else exists: any other path is 404, a bad or expired signature 403.
//!   Another local process cannot read the library through it without a URL the
//!   app handed out, and such a URL stops working when it expires or when the
//!   server stops (the vault is locked).
//! - `Range: bytes=…` requests get `206` with `Content-Range` (a start past the end
//!   gets `416`); only the chunks a range covers are read, authenticated and
//!   decrypted, in memory ([`crate::store::reader::TrackReader`]). No plaintext
//!   touches the disk.
//!
//! - Only a `Host` of its own (`127.0.0.1:PORT`): a web page the user visits
//!   cannot reach it through a DNS name rebound to 127.0.0.1 (its requests carry
//!   that name as their Host), nor can anything that is not talking to this
//!   server on purpose. Anything else is 403.
//! - URLs live [`URL_TTL`] (minutes, not hours: a URL copied out of the web view
//!   or a process list is soon worthless), and the app's player asks for a new one
//!   when one has expired (see the shell's `stream_url` and `ui/src/lib/player`).
//! - A 500 says "internal error" and nothing more: what went wrong inside (a
//!   path, a chunk id) is not the client's business.
//!
//! A plain thread per connection (GStreamer opens one or two), with a cap on
//! connections (in all, and per client address), a bounded request head, and
//! idle connections closed: the engine has no async runtime and this needs none.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ring::hmac;

use crate::catalog::TrackId;
use crate::error::{Error, Result};
use crate::keys::random_array;
use crate::store::{hex, reader::TrackReader};
use crate::vault::Vault;

/// Largest request head accepted (request line and headers).
const MAX_HEAD: u64 = 16 * 1024;
/// Connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 128;
/// Connections served at once to one client address (GStreamer opens one or two
/// per track, a few more while seeking or reading ahead to the next track); more
/// are answered 503 and closed. Every local process may connect from 127.0.0.1,
/// so this bounds any one of them, the others sharing the rest of the global cap
/// only when they use other loopback addresses.
const MAX_PER_CLIENT: usize = 16;

/// How long a playback URL stays valid: 10 minutes. Long enough for GStreamer's
/// requests while a typical track plays and is sought through (each seek is a new
/// request, checked again), short enough that a URL that leaks is soon useless;
/// the player asks for a fresh one when a request meets an expired URL.
pub const URL_TTL: Duration = Duration::from_secs(10 * 60);
/// How often a waiting connection checks whether the server is stopping.
const POLL: Duration = Duration::from_millis(250);
/// A keep-alive connection with no new request for this long is closed.
const IDLE: Duration = Duration::from_secs(20);
/// Body bytes written between checks of the stop flag.
const COPY_BUF: usize = 64 * 1024;

/// Anything that can be read from any offset.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// One servable item, opened for a request.
pub struct MediaItem<'a> {
    pub size: u64,
    pub content_type: &'static str,
    pub reader: Box<dyn ReadSeek + 'a>,
}

/// Where the server gets its bytes: the vault, or a fake in tests.
pub trait MediaSource: Send + Sync + 'static {
    /// `Ok(None)` when there is no such item (404).
    fn open(&self, id: &str) -> Result<Option<MediaItem<'_>>>;
}

impl MediaSource for Vault {
    fn open(&self, id: &str) -> Result<Option<MediaItem<'_>>> {
        let id = TrackId(id.to_string());
        // A cloud-only track's chunks come from the bucket (see `sync::evict`).
        self.enable_cloud_reads();
        // A read connection of its own: playback never waits for a job on the writer.
        let Some((track, chunks)) = self.read(|catalog| {
            let Some(track) = catalog.track(&id)? else {
                return Ok(None);
            };
            let chunks = catalog.track_chunks(&id)?;
            Ok(Some((track, chunks)))
        })?
        else {
            return Ok(None);
        };
        let reader = TrackReader::new(self.store(), chunks);
        if reader.size() != track.size_bytes {
            return Err(Error::Invalid(format!(
                "track {id}: its chunk list does not add up to its size"
            )));
        }
        self.record_play(&id);
        Ok(Some(MediaItem {
            size: reader.size(),
            content_type: content_type(&track.format),
            reader: Box::new(reader),
        }))
    }
}

/// The MIME type a web view expects for a stored format (the formats table's).
pub fn content_type(format: &str) -> &'static str {
    crate::formats::by_id(format)
        .and_then(|f| f.mime_type)
        .unwrap_or("application/octet-stream")
}

/// A running playback server. Dropping it stops it: the listening socket closes,
/// open connections end at their next read or body write.
pub struct MediaServer {
    addr: SocketAddr,
    key: Arc<hmac::Key>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl MediaServer {
    /// Listens on `127.0.0.1` on a port the OS picks.
    pub fn start(source: Arc<dyn MediaSource>) -> Result<MediaServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("127.0.0.1 (playback server)", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("127.0.0.1 (playback server)", e))?;
        let secret: [u8; 32] = random_array()?;
        let key = Arc::new(hmac::Key::new(hmac::HMAC_SHA256, &secret));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            source,
            key: key.clone(),
            stop: stop.clone(),
            active: AtomicUsize::new(0),
            per_client: std::sync::Mutex::new(HashMap::new()),
            host: addr.to_string(),
        });
        let accept = std::thread::Builder::new()
            .name("audiovault-media-accept".into())
            .spawn(move || accept_loop(listener, shared))
            .map_err(|e| Error::io("playback server thread", e))?;
        Ok(MediaServer {
            addr,
            key,
            stop,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A signed URL for one track, valid for `ttl`.
    pub fn url(&self, id: &str, ttl: Duration) -> String {
        let exp = unix_now().saturating_add(ttl.as_secs());
        self.url_expiring_at(id, exp)
    }

    /// A signed URL that expires at `exp` (unix seconds).
    pub fn url_expiring_at(&self, id: &str, exp: u64) -> String {
        format!(
            "{}/track/{id}?exp={exp}&sig={}",
            self.origin(),
            sign(&self.key, id, exp)
        )
    }
}

impl Drop for MediaServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so its thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

struct Shared {
    source: Arc<dyn MediaSource>,
    key: Arc<hmac::Key>,
    stop: Arc<AtomicBool>,
    active: AtomicUsize,
    /// Connections open per client address.
    per_client: std::sync::Mutex<HashMap<std::net::IpAddr, usize>>,
    /// The only `Host` accepted: `127.0.0.1:PORT`.
    host: String,
}

impl Shared {
    /// Counts a connection from `ip`; `false` (and nothing counted) when that
    /// client has its share open already.
    fn admit(&self, ip: std::net::IpAddr) -> bool {
        let mut open = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= MAX_PER_CLIENT {
            return false;
        }
        *n += 1;
        true
    }

    fn release(&self, ip: std::net::IpAddr) {
        let mut open = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn signed_message(id: &str, exp: u64) -> String {
    format!("audiovault-media-v1\n{id}\n{exp}")
}

fn sign(key: &hmac::Key, id: &str, exp: u64) -> String {
    hex(hmac::sign(key, signed_message(id, exp).as_bytes()).as_ref())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let ip = peer.ip();
        if shared.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            let _ = respond_simple(&mut stream, 503, "too many connections", true, false);
            continue;
        }
        if !shared.admit(ip) {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            let _ = respond_simple(&mut stream, 503, "too many connections", true, false);
            continue;
        }
        let conn_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("audiovault-media-conn".into())
            .spawn(move || {
                let _ = serve_connection(stream, &conn_shared);
                conn_shared.release(ip);
                conn_shared.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.release(ip);
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A parsed request head.
struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    close: bool,
}

enum Head {
    Request(Request),
    /// The peer closed, went idle, or the server is stopping.
    Closed,
    Bad(&'static str),
}

fn read_head(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> io::Result<Head> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = Vec::new();
    let mut total = 0u64;
    let waiting_since = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(Head::Closed);
        }
        let before = line.len();
        let limit = MAX_HEAD - total;
        match reader.by_ref().take(limit).read_until(b'\n', &mut line) {
            Ok(0) if line.is_empty() && lines.is_empty() => return Ok(Head::Closed),
            Ok(0) if total + line.len() as u64 >= MAX_HEAD => {
                return Ok(Head::Bad("request head too large"));
            }
            Ok(0) => return Ok(Head::Closed),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                // Idle between requests, or a client that stalls mid-head.
                if waiting_since.elapsed() > IDLE {
                    return Ok(Head::Closed);
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if line.last() != Some(&b'\n') {
            // A partial line: the read timed out or the head limit cut it.
            if total + line.len() as u64 >= MAX_HEAD {
                return Ok(Head::Bad("request head too large"));
            }
            if line.len() == before {
                return Ok(Head::Closed);
            }
            continue;
        }
        total += line.len() as u64;
        let Ok(text) = std::str::from_utf8(&line) else {
            return Ok(Head::Bad("request head is not text"));
        };
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        line.clear();
        if text.is_empty() {
            if lines.is_empty() {
                // Tolerate blank lines before a request line (RFC 9112 2.2).
                continue;
            }
            break;
        }
        lines.push(text);
    }
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Head::Bad("malformed request line"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Ok(Head::Bad("unsupported HTTP version"));
    }
    let mut headers = HashMap::new();
    for h in &lines[1..] {
        let Some((name, value)) = h.split_once(':') else {
            return Ok(Head::Bad("malformed header"));
        };
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let connection = headers
        .get("connection")
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    let close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"))
        // A request with a body is not expected; rather than read it, close after answering.
        || headers
            .get("content-length")
            .is_some_and(|v| v.trim() != "0")
        || headers.contains_key("transfer-encoding");
    Ok(Head::Request(Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        close,
    }))
}

fn serve_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_head(&mut reader, &shared.stop)? {
            Head::Closed => return Ok(()),
            Head::Bad(reason) => {
                respond_simple(&mut writer, 400, reason, true, false)?;
                linger_close(&writer);
                return Ok(());
            }
            Head::Request(r) => r,
        };
        handle(&request, &mut writer, shared)?;
        if request.close || shared.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
    }
}

/// Closes after an error answer without resetting the connection: unread request
/// bytes would make the kernel send a reset, which can destroy the answer before
/// the client reads it. So: stop sending, read briefly, then close.
fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 8192];
    let mut drained = 0usize;
    let mut s = stream;
    while drained < 256 * 1024 {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// What a request asks for, once checked.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Track(String),
    NotFound,
    Forbidden(&'static str),
}

fn route(target: &str, key: &hmac::Key, now: u64) -> Route {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(id) = path.strip_prefix("/track/") else {
        return Route::NotFound;
    };
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Route::NotFound;
    }
    let mut exp = None;
    let mut sig = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("exp", v)) if exp.is_none() => exp = Some(v),
            Some(("sig", v)) if sig.is_none() => sig = Some(v),
            _ => return Route::Forbidden("unexpected query parameter"),
        }
    }
    let (Some(exp), Some(sig)) = (exp, sig) else {
        return Route::Forbidden("unsigned URL");
    };
    let Ok(exp) = exp.parse::<u64>() else {
        return Route::Forbidden("bad expiry");
    };
    let Some(sig) = crate::store::unhex(sig) else {
        return Route::Forbidden("bad signature");
    };
    // Checked before the expiry, so an expired URL says "expired" only when it was ours.
    if hmac::verify(key, signed_message(id, exp).as_bytes(), &sig).is_err() {
        return Route::Forbidden("bad signature");
    }
    if now > exp {
        return Route::Forbidden("URL expired");
    }
    Route::Track(id.to_string())
}

/// A byte range of an item of a known size.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum ByteRange {
    /// No (usable) Range header: the whole item, 200.
    Full,
    /// First and last byte, inclusive: 206.
    Partial(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// Interprets a `Range` header (RFC 9110 14.1.2). Syntax this server does not
/// serve (other units, several ranges) is ignored: the answer is the whole item,
/// which the RFC allows.
pub fn parse_range(header: Option<&str>, size: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return ByteRange::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match num(last) {
            None => ByteRange::Full,
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if size == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Partial(size - n.min(size), size - 1),
        },
        // bytes=A-
        (false, true) => match num(first) {
            None => ByteRange::Full,
            Some(a) if a >= size => ByteRange::Unsatisfiable,
            Some(a) => ByteRange::Partial(a, size - 1),
        },
        // bytes=A-B
        (false, false) => match (num(first), num(last)) {
            (Some(a), Some(b)) if a <= b => {
                if a >= size {
                    ByteRange::Unsatisfiable
                } else {
                    ByteRange::Partial(a, b.min(size - 1))
                }
            }
            _ => ByteRange::Full,
        },
        (true, true) => ByteRange::Full,
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn respond_simple(
    w: &mut TcpStream,
    status: u16,
    message: &str,
    close: bool,
    head_only: bool,
) -> io::Result<()> {
    let body = format!("{message}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\n",
        reason_phrase(status),
        body.len()
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "\r\n"
    });
    if !head_only {
        out.push_str(&body);
    }
    w.write_all(out.as_bytes())?;
    w.flush()
}

fn handle(req: &Request, w: &mut TcpStream, shared: &Shared) -> io::Result<()> {
    let head_only = req.method == "HEAD";
    if !req
        .headers
        .get("host")
        .is_some_and(|h| h.eq_ignore_ascii_case(&shared.host))
    {
        return respond_simple(w, 403, "wrong host", true, head_only);
    }
    if req.method != "GET" && !head_only {
        return respond_simple(w, 405, "only GET and HEAD", req.close, false);
    }
    let id = match route(&req.target, &shared.key, unix_now()) {
        Route::Track(id) => id,
        Route::NotFound => return respond_simple(w, 404, "not found", req.close, head_only),
        Route::Forbidden(why) => return respond_simple(w, 403, why, req.close, head_only),
    };
    let item = match shared.source.open(&id) {
        Ok(Some(item)) => item,
        Ok(None) => return respond_simple(w, 404, "no such track", req.close, head_only),
        Err(_) => return respond_simple(w, 500, "internal error", true, head_only),
    };
    let MediaItem {
        size,
        content_type,
        mut reader,
    } = item;
    let range = parse_range(req.headers.get("range").map(String::as_str), size);
    let (status, start, len) = match range {
        ByteRange::Full => (200, 0, size),
        ByteRange::Partial(a, b) => (206, a, b - a + 1),
        ByteRange::Unsatisfiable => {
            let out = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}\r\nContent-Length: 0\r\nCache-Control: no-store\r\n{}\r\n",
                if req.close {
                    "Connection: close\r\n"
                } else {
                    ""
                }
            );
            w.write_all(out.as_bytes())?;
            return w.flush();
        }
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
        reason_phrase(status)
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{size}\r\n",
            start + len - 1
        ));
    }
    if req.close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    // Position (and so decrypt the first chunk) before answering, so a damaged
    // chunk is a 500 rather than a cut-off 200.
    let mut first = vec![0u8; COPY_BUF.min(len as usize)];
    let prepared = reader
        .seek(SeekFrom::Start(start))
        .and_then(|_| reader.read_exact(&mut first));
    if prepared.is_err() {
        return respond_simple(w, 500, "internal error", true, false);
    }
    w.write_all(head.as_bytes())?;
    if head_only {
        return w.flush();
    }
    w.write_all(&first)?;
    let mut remaining = len - first.len() as u64;
    let mut buf = vec![0u8; COPY_BUF];
    while remaining > 0 {
        if shared.stop.load(Ordering::SeqCst) {
            return Err(io::Error::other("server stopping"));
        }
        let want = buf.len().min(remaining as usize);
        // A chunk that fails authentication mid-body: the connection is cut, so the
        // client sees a short body, never wrong bytes.
        reader.read_exact(&mut buf[..want])?;
        w.write_all(&buf[..want])?;
        remaining -= want as u64;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    struct Memory(Vec<u8>);

    impl MediaSource for Memory {
        fn open(&self, id: &str) -> Result<Option<MediaItem<'_>>> {
            Ok((id == "abcd").then(|| MediaItem {
                size: self.0.len() as u64,
                content_type: "audio/mpeg",
                reader: Box::new(Cursor::new(&self.0[..])),
            }))
        }
    }

    fn data() -> Vec<u8> {
        (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn server() -> MediaServer {
        MediaServer::start(Arc::new(Memory(data()))).unwrap()
    }

    struct Response {
        status: u16,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    /// Sends raw requests on one connection and reads one response per request.
    fn exchange(addr: SocketAddr, requests: &[String]) -> Vec<Response> {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut out = Vec::new();
        for req in requests {
            s.write_all(req.as_bytes()).unwrap();
            let mut status_line = String::new();
            r.read_line(&mut status_line).unwrap();
            let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut headers = HashMap::new();
            loop {
                let mut l = String::new();
                r.read_line(&mut l).unwrap();
                let l = l.trim_end();
                if l.is_empty() {
                    break;
                }
                let (k, v) = l.split_once(':').unwrap();
                headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
            }
            let len: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; if req.starts_with("HEAD") { 0 } else { len }];
            r.read_exact(&mut body).unwrap();
            out.push(Response {
                status,
                headers,
                body,
            });
        }
        out
    }

    fn get(addr: SocketAddr, target: &str, extra: &str) -> Response {
        get_with_host(addr, target, &addr.to_string(), extra)
    }

    fn get_with_host(addr: SocketAddr, target: &str, host: &str, extra: &str) -> Response {
        exchange(
            addr,
            &[format!(
                "GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
            )],
        )
        .pop()
        .unwrap()
    }

    fn path_of(url: &str) -> String {
        let rest = url.strip_prefix("http://").unwrap();
        rest[rest.find('/').unwrap()..].to_string()
    }

    #[test]
    fn a_signed_url_serves_the_whole_item() {
        let s = server();
        let url = s.url("abcd", Duration::from_secs(60));
        assert!(url.starts_with("http://127.0.0.1:"));
        let r = get(s.addr, &path_of(&url), "");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, data());
        assert_eq!(r.headers["content-type"], "audio/mpeg");
        assert_eq!(r.headers["accept-ranges"], "bytes");
    }

    #[test]
    fn ranges_get_206_with_content_range() {
        let s = server();
        let p = path_of(&s.url("abcd", Duration::from_secs(60)));
        let d = data();
        let r = get(s.addr, &p, "Range: bytes=100000-100009\r\n");
        assert_eq!(r.status, 206);
        assert_eq!(r.headers["content-range"], "bytes 100000-100009/200000");
        assert_eq!(r.body, &d[100000..100010]);
        let r = get(s.addr, &p, "Range: bytes=199990-\r\n");
        assert_eq!(r.status, 206);
        assert_eq!(r.body, &d[199990..]);
        let r = get(s.addr, &p, "Range: bytes=-5\r\n");
        assert_eq!(r.headers["content-range"], "bytes 199995-199999/200000");
        assert_eq!(r.body, &d[199995..]);
        // An end past the last byte is clipped.
        let r = get(s.addr, &p, "Range: bytes=0-999999999\r\n");
        assert_eq!(r.status, 206);
        assert_eq!(r.body.len(), d.len());
    }

    #[test]
    fn a_range_past_the_end_is_416() {
        let s = server();
        let p = path_of(&s.url("abcd", Duration::from_secs(60)));
        let r = get(s.addr, &p, "Range: bytes=200000-\r\n");
        assert_eq!(r.status, 416);
        assert_eq!(r.headers["content-range"], "bytes */200000");
        assert!(r.body.is_empty());
    }

    #[test]
    fn range_parsing() {
        use ByteRange::*;
        assert_eq!(parse_range(None, 10), Full);
        assert_eq!(parse_range(Some("bytes=0-0"), 10), Partial(0, 0));
        assert_eq!(parse_range(Some("bytes=2-"), 10), Partial(2, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Partial(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Partial(0, 9));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), Partial(5, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        // Not served as ranges: the whole item.
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=+1-2"), 10), Full);
    }

    #[test]
    fn bad_or_missing_signatures_are_refused() {
        let s = server();
        let good = path_of(&s.url("abcd", Duration::from_secs(60)));
        // Flip one hex digit of the signature.
        let mut bad = good.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert_eq!(get(s.addr, &bad, "").status, 403);
        // The signature of one track does not open another.
        assert_eq!(
            get(s.addr, &good.replace("/abcd?", "/abce?"), "").status,
            403
        );
        // A later expiry with the old signature.
        let exp: u64 = good
            .split("exp=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let moved = good.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600));
        assert_eq!(get(s.addr, &moved, "").status, 403);
        assert_eq!(get(s.addr, "/track/abcd", "").status, 403);
        assert_eq!(get(s.addr, "/track/abcd?exp=1&sig=zz", "").status, 403);
        // Another server's signature (another key) is worthless here.
        let other = server();
        let foreign = path_of(&other.url("abcd", Duration::from_secs(60)));
        assert_eq!(get(s.addr, &foreign, "").status, 403);
    }

    #[test]
    fn expired_urls_are_refused() {
        let s = server();
        let past = path_of(&s.url_expiring_at("abcd", unix_now() - 1));
        let r = get(s.addr, &past, "");
        assert_eq!(r.status, 403);
        assert!(String::from_utf8_lossy(&r.body).contains("expired"));
    }

    #[test]
    fn nothing_else_is_served() {
        let s = server();
        let signed = path_of(&s.url("abcd", Duration::from_secs(60)));
        for target in [
            "/",
            "/track/",
            "/etc/passwd",
            "/track/../vault.json",
            "/chunks/ab",
        ] {
            assert_eq!(get(s.addr, target, "").status, 404, "{target}");
        }
        // Signed, but no such track: 404 from the source.
        let p = path_of(&s.url("ffff", Duration::from_secs(60)));
        assert_eq!(get(s.addr, &p, "").status, 404);
        let post = exchange(
            s.addr,
            &[format!(
                "POST {signed} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                s.addr
            )],
        );
        assert_eq!(post[0].status, 405);
        let garbage = exchange(s.addr, &["NONSENSE\r\n\r\n".to_string()]);
        assert_eq!(garbage[0].status, 400);
    }

    #[test]
    fn keep_alive_serves_several_requests_and_head_has_no_body() {
        let s = server();
        let p = path_of(&s.url("abcd", Duration::from_secs(60)));
        let rs = exchange(
            s.addr,
            &[
                format!("HEAD {p} HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr),
                format!(
                    "GET {p} HTTP/1.1\r\nHost: {}\r\nRange: bytes=0-3\r\n\r\n",
                    s.addr
                ),
                format!(
                    "GET {p} HTTP/1.1\r\nHost: {}\r\nRange: bytes=4-7\r\n\r\n",
                    s.addr
                ),
            ],
        );
        assert_eq!(rs[0].status, 200);
        assert_eq!(rs[0].headers["content-length"], "200000");
        assert!(rs[0].body.is_empty());
        assert_eq!(rs[1].body, &data()[0..4]);
        assert_eq!(rs[2].body, &data()[4..8]);
    }

    #[test]
    fn a_huge_request_head_is_refused() {
        let s = server();
        let big = format!(
            "GET /track/abcd HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        assert_eq!(exchange(s.addr, &[big])[0].status, 400);
    }

    #[test]
    fn only_its_own_host_is_served() {
        let s = server();
        let p = path_of(&s.url("abcd", Duration::from_secs(60)));
        assert_eq!(get(s.addr, &p, "").status, 200);
        let port = s.port();
        for host in [
            "127.0.0.1".to_string(),
            format!("localhost:{port}"),
            format!("evil.example:{port}"),
            format!("127.0.0.1:{}", port.wrapping_add(1)),
            format!("127.0.0.1:{port}.evil.example"),
            String::new(),
        ] {
            let r = get_with_host(s.addr, &p, &host, "");
            assert_eq!(r.status, 403, "Host {host:?}");
            assert!(r.body.len() < 20, "says little: {:?}", r.body);
        }
        // No Host at all.
        let r = exchange(
            s.addr,
            &[format!("GET {p} HTTP/1.1\r\nConnection: close\r\n\r\n")],
        );
        assert_eq!(r[0].status, 403);
    }

    #[test]
    fn a_500_carries_no_internal_detail() {
        struct Broken;
        impl MediaSource for Broken {
            fn open(&self, _: &str) -> Result<Option<MediaItem<'_>>> {
                Err(Error::Invalid(
                    "chunk 0123abcd at /home/me/vault/chunks/01/23 is damaged".into(),
                ))
            }
        }
        let s = MediaServer::start(Arc::new(Broken)).unwrap();
        let r = get(
            s.addr,
            &path_of(&s.url("abcd", Duration::from_secs(60))),
            "",
        );
        assert_eq!(r.status, 500);
        assert_eq!(String::from_utf8_lossy(&r.body), "internal error\n");
    }

    #[test]
    fn one_client_gets_a_bounded_number_of_connections() {
        let s = server();
        // Connections that send nothing stay open (until idle).
        let held: Vec<TcpStream> = (0..MAX_PER_CLIENT)
            .map(|_| TcpStream::connect(s.addr).unwrap())
            .collect();
        // Until the server has counted them.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut refused = false;
        while Instant::now() < deadline && !refused {
            let mut extra = TcpStream::connect(s.addr).unwrap();
            extra
                .set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut answer = String::new();
            let _ = extra.read_to_string(&mut answer);
            refused = answer.starts_with("HTTP/1.1 503");
        }
        assert!(
            refused,
            "the {}th connection is refused",
            MAX_PER_CLIENT + 1
        );
        drop(held);
        // Their slots come back.
        let p = path_of(&s.url("abcd", Duration::from_secs(60)));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = c.write_all(
                format!(
                    "GET {p} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    s.addr
                )
                .as_bytes(),
            );
            let mut head = [0u8; 12];
            if c.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 200" {
                break;
            }
            assert!(Instant::now() < deadline, "slots are released");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn a_stopped_server_answers_nothing() {
        let s = server();
        let addr = s.addr;
        drop(s);
        let refused =
            TcpStream::connect_timeout(&addr, Duration::from_millis(500)).and_then(|mut c| {
                c.set_read_timeout(Some(Duration::from_secs(2)))?;
                c.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
                let mut buf = [0u8; 1];
                c.read(&mut buf)
            });
        assert!(matches!(refused, Err(_) | Ok(0)));
    }
}
