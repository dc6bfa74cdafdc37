//! The HTTP/1.1 client of the LL-HLS readers: one keep-alive connection per followed
//! playlist, `GET` written by hand, the response head read with `httparse`, the body
//! delimited by `Content-Length`, chunked transfer coding or the end of the connection
//! (RFC 9112 section 6). Plain TCP only: the bench runs on loopback.
//!
//! A reader asks for a playlist, then for its new parts, then blocks on the next
//! playlist, forever; a general client (pool, header map, URL per request, a timer per
//! request) costs more than the server answering it. Here a request is one `write`, and
//! a body that is only counted is never kept.
//!
//! [`Body`] is the sans-IO part: bytes in, body bytes out, resumable at any byte.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Largest response head.
const MAX_HEAD: usize = 64 << 10;
/// Most header fields read in a head.
const MAX_HEADERS: usize = 48;
/// Room made in the read buffer before each read.
const READ_CHUNK: usize = 32 << 10;
/// Longest chunk-size line (hex digits and extensions) or trailer line.
const MAX_LINE: usize = 4 << 10;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    #[error("connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    #[error("{0}")]
    Io(String),
    /// The connection ended before the first byte of the response.
    #[error("connection closed before the response")]
    ClosedBeforeResponse,
    #[error("connection closed in the middle of the response")]
    Truncated,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("invalid response head: {0}")]
    Head(String),
    #[error("response head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("invalid Content-Length")]
    Length,
    #[error("invalid chunked body: {0}")]
    Chunk(&'static str),
    #[error("body larger than {0} bytes")]
    TooLarge(u64),
}

/// How a response body ends (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` (0 for 1xx, 204 and 304 answers).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs to the end of the connection.
    UntilClose,
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    /// `Connection: close`, or HTTP/1.0 without `keep-alive`.
    pub close: bool,
    /// `Location` of a redirection (3xx).
    pub location: Option<String>,
}

/// Reads a response head from the start of `buf`: `Ok(None)` until it is complete, else
/// the head and its length.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut fields);
    let len = match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(HttpError::Head(e.to_string())),
    };
    let status = res.code.unwrap_or(0);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut close = res.version == Some(0);
    let mut location = None;
    for h in res.headers.iter() {
        // Only the fields read here need to be text.
        let value = || std::str::from_utf8(h.value).unwrap_or("");
        if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value().trim().parse().map_err(|_| HttpError::Length)?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::Length);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked must be the last coding; nothing else is expected here.
            chunked = value()
                .rsplit(',')
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value().split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        } else if (300..400).contains(&status) && h.name.eq_ignore_ascii_case("location") {
            location = Some(value().trim().to_owned());
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok(Some((
        Head {
            status,
            framing,
            close,
            location,
        },
        len,
    )))
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Hex digits of a chunk size; `digits` read so far.
    Size {
        size: u64,
        digits: usize,
    },
    /// A chunk extension, up to the end of the line.
    Extension {
        size: u64,
        read: usize,
    },
    /// The LF after the size line's CR.
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    /// The CRLF after a chunk's data; `cr` once the CR is read.
    DataEnd {
        cr: bool,
    },
    /// Trailer fields after the last chunk; `read` bytes of the current line.
    Trailer {
        read: usize,
    },
    /// The LF after a trailer line's CR.
    TrailerLf {
        empty: bool,
    },
    Done,
}

/// A response body being read: bytes in ([`Body::push`]), body bytes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    state: BodyState,
    /// Body bytes given out so far.
    pub received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    Length { left: u64 },
    Chunked(Chunk),
    UntilClose,
}

impl Body {
    pub fn new(framing: Framing) -> Body {
        let state = match framing {
            Framing::Length(n) => BodyState::Length { left: n },
            Framing::Chunked => BodyState::Chunked(Chunk::Size { size: 0, digits: 0 }),
            Framing::UntilClose => BodyState::UntilClose,
        };
        Body { state, received: 0 }
    }

    /// The body is complete (a body that runs to the end of the connection never is).
    pub fn is_done(&self) -> bool {
        matches!(
            self.state,
            BodyState::Length { left: 0 } | BodyState::Chunked(Chunk::Done)
        )
    }

    /// The connection ended: fine only for a body that runs to the end of it.
    pub fn end(&mut self) -> Result<(), HttpError> {
        match self.state {
            BodyState::UntilClose => Ok(()),
            _ if self.is_done() => Ok(()),
            _ => Err(HttpError::Truncated),
        }
    }

    /// Reads what it can of `input`, giving body bytes to `out`; returns the bytes used
    /// (less than `input.len()` only once the body is done: the rest is the next answer).
    pub fn push(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Result<usize, HttpError> {
        let mut used = 0;
        while used < input.len() && !self.is_done() {
            let rest = &input[used..];
            match &mut self.state {
                BodyState::UntilClose => {
                    self.received += rest.len() as u64;
                    out(rest);
                    used = input.len();
                }
                BodyState::Length { left } => {
                    let n = rest.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    *left -= n as u64;
                    self.received += n as u64;
                    out(&rest[..n]);
                    used += n;
                }
                BodyState::Chunked(Chunk::Data { left }) => {
                    let n = rest.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    *left -= n as u64;
                    self.received += n as u64;
                    out(&rest[..n]);
                    used += n;
                    if *left == 0 {
                        self.state = BodyState::Chunked(Chunk::DataEnd { cr: false });
                    }
                }
                BodyState::Chunked(c) => {
                    *c = chunk_step(*c, rest[0])?;
                    used += 1;
                }
            }
        }
        Ok(used)
    }
}

/// One byte of a chunked body outside chunk data. Bare LF ends a line too.
fn chunk_step(c: Chunk, b: u8) -> Result<Chunk, HttpError> {
    let after_size = |size: u64| {
        if size == 0 {
            Chunk::Trailer { read: 0 }
        } else {
            Chunk::Data { left: size }
        }
    };
    Ok(match c {
        Chunk::Size { size, digits } => match (b as char).to_digit(16) {
            Some(d) => {
                if digits >= 16 {
                    return Err(HttpError::Chunk("chunk size too large"));
                }
                Chunk::Size {
                    size: size << 4 | u64::from(d),
                    digits: digits + 1,
                }
            }
            None if digits == 0 => return Err(HttpError::Chunk("chunk size expected")),
            None => match b {
                b';' | b' ' | b'\t' => Chunk::Extension { size, read: 0 },
                b'\r' => Chunk::SizeLf { size },
                b'\n' => after_size(size),
                _ => return Err(HttpError::Chunk("invalid chunk size")),
            },
        },
        Chunk::Extension { size, read } => match b {
            b'\r' => Chunk::SizeLf { size },
            b'\n' => after_size(size),
            _ if read >= MAX_LINE => return Err(HttpError::Chunk("chunk extension too long")),
            _ => Chunk::Extension {
                size,
                read: read + 1,
            },
        },
        Chunk::SizeLf { size } => match b {
            b'\n' => after_size(size),
            _ => return Err(HttpError::Chunk("LF expected after the chunk size")),
        },
        Chunk::DataEnd { cr } => match b {
            b'\r' if !cr => Chunk::DataEnd { cr: true },
            b'\n' => Chunk::Size { size: 0, digits: 0 },
            _ => return Err(HttpError::Chunk("CRLF expected after chunk data")),
        },
        Chunk::Trailer { read } => match b {
            b'\r' => Chunk::TrailerLf { empty: read == 0 },
            b'\n' if read == 0 => Chunk::Done,
            b'\n' => Chunk::Trailer { read: 0 },
            _ if read >= MAX_LINE => return Err(HttpError::Chunk("trailer line too long")),
            _ => Chunk::Trailer { read: read + 1 },
        },
        Chunk::TrailerLf { empty } => match b {
            b'\n' if empty => Chunk::Done,
            b'\n' => Chunk::Trailer { read: 0 },
            _ => return Err(HttpError::Chunk("LF expected after a trailer line")),
        },
        Chunk::Data { .. } | Chunk::Done => c,
    })
}

/// An answer: its status and its body's length (the body itself in
/// [`Connection::body`] when it was kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub length: u64,
    /// `Location` of a redirection.
    pub location: Option<String>,
}

/// What a `GET` does with the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Kept in [`Connection::body`] (a playlist).
    Body,
    /// Counted and dropped as it arrives (a part).
    Count,
}

/// A keep-alive connection to one server, opened on the first request and again when the
/// server closed it.
pub struct Connection {
    addr: SocketAddr,
    /// The `Host` field.
    host: String,
    io: Io,
    /// Reset at each request: one timer for the connection's life (made at the first).
    deadline: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    max_body: u64,
}

struct Io {
    stream: Option<TcpStream>,
    /// Bytes read and not used yet.
    read: BytesMut,
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    /// A connection to `addr`, naming `host` (`HOST[:PORT]`) in its requests; a request
    /// fails after `timeout`, a body after `max_body` bytes.
    pub fn new(addr: SocketAddr, host: &str, timeout: Duration, max_body: u64) -> Connection {
        Connection {
            addr,
            host: host.to_owned(),
            io: Io {
                stream: None,
                read: BytesMut::new(),
                request: Vec::with_capacity(256),
                body: Vec::new(),
            },
            deadline: None,
            timeout,
            max_body,
        }
    }

    /// The body of the last answer fetched with [`Keep::Body`].
    pub fn body(&self) -> &[u8] {
        &self.io.body
    }

    /// `GET target` (an origin-form target: `/path?query`). A kept-alive connection the
    /// server closed before answering is opened again once.
    pub async fn get(&mut self, target: &str, keep: Keep) -> Result<Answer, HttpError> {
        let at = Instant::now() + self.timeout;
        match &mut self.deadline {
            Some(d) => d.as_mut().reset(at),
            None => self.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
        }
        let Connection {
            addr,
            host,
            io,
            deadline,
            timeout,
            max_body,
        } = self;
        let exchange = async {
            let reused = io.stream.is_some();
            match io.exchange(*addr, host, target, keep, *max_body).await {
                Err(HttpError::ClosedBeforeResponse) if reused => {
                    // The closed connection goes, whether the write or the read found it
                    // closed: the retry opens a new one.
                    io.stream = None;
                    io.read.clear();
                    io.exchange(*addr, host, target, keep, *max_body).await
                }
                r => r,
            }
        };
        let r = tokio::select! {
            r = exchange => r,
            () = async {
                if let Some(d) = deadline {
                    d.as_mut().await;
                }
            } => Err(HttpError::Timeout(*timeout)),
        };
        if r.is_err() {
            // Whatever was half read belongs to nothing.
            self.io.stream = None;
            self.io.read.clear();
        }
        r
    }
}

fn io_error(e: &std::io::Error) -> HttpError {
    HttpError::Io(e.to_string())
}

impl Io {
    async fn exchange(
        &mut self,
        addr: SocketAddr,
        host: &str,
        target: &str,
        keep: Keep,
        max_body: u64,
    ) -> Result<Answer, HttpError> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(addr)
                    .await
                    .map_err(|e| HttpError::Connect {
                        addr,
                        reason: e.to_string(),
                    })?;
                // Requests are single writes; nothing to coalesce.
                s.set_nodelay(true).map_err(|e| io_error(&e))?;
                self.read.clear();
                self.stream.insert(s)
            }
        };
        self.request.clear();
        for part in [
            "GET ",
            target,
            " HTTP/1.1\r\nHost: ",
            host,
            "\r\nUser-Agent: ferromtx-bench\r\n\r\n",
        ] {
            self.request.extend_from_slice(part.as_bytes());
        }
        if let Err(e) = stream.write_all(&self.request).await {
            self.stream = None;
            return Err(match e.kind() {
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => {
                    HttpError::ClosedBeforeResponse
                }
                _ => io_error(&e),
            });
        }
        let head = loop {
            if let Some((head, n)) = parse_head(&self.read)? {
                self.read.advance(n);
                // An interim answer (100 Continue, 103 Early Hints) precedes the real one.
                if (100..200).contains(&head.status) {
                    continue;
                }
                break head;
            }
            if self.read.len() > MAX_HEAD {
                return Err(HttpError::HeadTooLarge);
            }
            self.read.reserve(READ_CHUNK);
            match stream.read_buf(&mut self.read).await {
                Ok(0) if self.read.is_empty() => return Err(HttpError::ClosedBeforeResponse),
                Ok(0) => return Err(HttpError::Truncated),
                Ok(_) => {}
                Err(e) if self.read.is_empty() => {
                    return Err(match e.kind() {
                        std::io::ErrorKind::ConnectionReset => HttpError::ClosedBeforeResponse,
                        _ => io_error(&e),
                    });
                }
                Err(e) => return Err(io_error(&e)),
            }
        };
        let mut body = Body::new(head.framing);
        if let Framing::Length(n) = head.framing
            && n > max_body
        {
            return Err(HttpError::TooLarge(max_body));
        }
        self.body.clear();
        let kept = &mut self.body;
        let mut out = |data: &[u8]| {
            if keep == Keep::Body {
                kept.extend_from_slice(data);
            }
        };
        loop {
            let used = body.push(&self.read, &mut out)?;
            self.read.advance(used);
            if body.received > max_body {
                return Err(HttpError::TooLarge(max_body));
            }
            if body.is_done() {
                break;
            }
            self.read.reserve(READ_CHUNK);
            let n = stream
                .read_buf(&mut self.read)
                .await
                .map_err(|e| io_error(&e))?;
            if n == 0 {
                body.end()?;
                self.stream = None;
                break;
            }
        }
        if head.close {
            self.stream = None;
        }
        Ok(Answer {
            status: head.status,
            length: body.received,
            location: head.location,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of `input` given to `Body` cut at `cut`, and the bytes left after it.
    fn decode_split(framing: Framing, input: &[u8], cut: usize) -> (Vec<u8>, usize) {
        let mut b = Body::new(framing);
        let mut out = Vec::new();
        let mut sink = |d: &[u8]| out.extend_from_slice(d);
        let first = b.push(&input[..cut], &mut sink).expect("first half");
        assert!(
            first == cut || b.is_done(),
            "stopped early at {first} of {cut}"
        );
        let second = if b.is_done() {
            0
        } else {
            b.push(&input[cut..], &mut sink).expect("second half")
        };
        assert!(b.is_done(), "not done with {input:?} cut at {cut}");
        assert_eq!(b.received, out.len() as u64);
        (out, first + second)
    }

    #[test]
    fn a_chunked_body_resumes_at_every_byte() {
        let wire =
            b"5;name=v\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\nHTTP/1.1";
        let body_end = wire.len() - b"HTTP/1.1".len();
        for cut in 0..=wire.len() {
            let (out, used) = decode_split(Framing::Chunked, wire, cut);
            assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz", "cut at {cut}");
            assert_eq!(used, body_end, "the next answer is left, cut at {cut}");
        }
    }

    #[test]
    fn a_length_body_resumes_at_every_byte_and_leaves_the_next_answer() {
        let wire = b"0123456789HTTP/1.1 200";
        for cut in 0..=wire.len() {
            let (out, used) = decode_split(Framing::Length(10), wire, cut);
            assert_eq!(out, b"0123456789");
            assert_eq!(used, 10);
        }
        let mut empty = Body::new(Framing::Length(0));
        assert!(empty.is_done());
        assert_eq!(empty.push(b"HTTP", &mut |_| {}), Ok(0));
    }

    #[test]
    fn bare_lf_ends_chunk_lines() {
        let (out, used) = decode_split(Framing::Chunked, b"3\nabc\n0\n\n", 4);
        assert_eq!((out.as_slice(), used), (&b"abc"[..], 9));
    }

    #[test]
    fn malformed_chunks_are_refused() {
        for wire in [
            &b"\r\n"[..],
            b"zz\r\n",
            b"3\rX",
            b"3\r\nabcX",
            b"11111111111111111\r\n",
        ] {
            let mut b = Body::new(Framing::Chunked);
            assert!(
                matches!(b.push(wire, &mut |_| {}), Err(HttpError::Chunk(_))),
                "{wire:?}"
            );
        }
    }

    #[test]
    fn a_cut_body_is_truncated_unless_it_runs_to_the_close() {
        let mut b = Body::new(Framing::Length(5));
        assert_eq!(b.push(b"abc", &mut |_| {}), Ok(3));
        assert_eq!(b.end(), Err(HttpError::Truncated));
        let mut b = Body::new(Framing::UntilClose);
        assert_eq!(b.push(b"abc", &mut |_| {}), Ok(3));
        assert!(!b.is_done());
        assert_eq!((b.end(), b.received), (Ok(()), 3));
    }

    #[test]
    fn heads_name_their_framing() {
        let head = |s: &str| parse_head(s.as_bytes()).expect("valid").expect("complete");
        let (h, n) = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX: y\r\n\r\nbody");
        assert_eq!(n, 45);
        assert_eq!(
            h,
            Head {
                status: 200,
                framing: Framing::Length(12),
                close: false,
                location: None,
            }
        );
        let (h, _) = head("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        let (h, _) = head("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
        assert_eq!(
            (h.status, h.framing, h.close),
            (404, Framing::UntilClose, true)
        );
        let (h, _) = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.close);
        let (h, _) = head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(h.close);
        let (h, _) = head("HTTP/1.1 302 Found\r\nLocation: /a/b?c=1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.location.as_deref(), Some("/a/b?c=1"));
        let (h, _) = head("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(0));
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            Err(HttpError::Length)
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(HttpError::Length)
        ));
        assert!(matches!(
            parse_head(b"SIP/2.0 200 OK\r\n\r\n"),
            Err(HttpError::Head(_))
        ));
    }

    /// Reads one request head from `s`; `None` at the end of the connection.
    async fn request(s: &mut TcpStream) -> Option<String> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return None,
            }
        }
        Some(String::from_utf8(head).expect("ASCII request"))
    }

    #[tokio::test]
    async fn keeps_alive_reconnects_and_reads_every_framing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            // First connection: a chunked answer, a 404, then closed while idle.
            let (mut s, _) = listener.accept().await.expect("accept");
            seen.push(request(&mut s).await.expect("request 1"));
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n")
                .await
                .expect("answer 1");
            seen.push(request(&mut s).await.expect("request 2"));
            s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
                .await
                .expect("answer 2");
            drop(s);
            // Second: one answer that closes it.
            let (mut s, _) = listener.accept().await.expect("accept");
            seen.push(request(&mut s).await.expect("request 3"));
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz")
                .await
                .expect("answer 3");
            drop(s);
            // Third: a body that runs to the close.
            let (mut s, _) = listener.accept().await.expect("accept");
            seen.push(request(&mut s).await.expect("request 4"));
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
                .await
                .expect("answer 4");
            seen
        });
        let mut c = Connection::new(addr, "127.0.0.1:1", Duration::from_secs(10), 1 << 20);
        let a = c.get("/a.m3u8?x=1", Keep::Body).await.expect("get 1");
        assert_eq!((a.status, a.length), (200, 6));
        assert_eq!(c.body(), b"abcdef");
        let a = c.get("/gone.mp4", Keep::Body).await.expect("get 2");
        assert_eq!((a.status, c.body()), (404, &b"not found"[..]));
        let a = c
            .get("/p.mp4", Keep::Count)
            .await
            .expect("get 3, on a new connection");
        assert_eq!((a.status, a.length), (200, 3));
        assert!(c.body().is_empty(), "a counted body is not kept");
        let a = c.get("/q.mp4", Keep::Body).await.expect("get 4");
        assert_eq!(c.body(), b"until the end");
        assert_eq!(a.length, 13);
        let seen = server.await.expect("server");
        assert_eq!(
            seen[0],
            "GET /a.m3u8?x=1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUser-Agent: ferromtx-bench\r\n\r\n"
        );
        let lines: Vec<&str> = seen.iter().filter_map(|r| r.lines().next()).collect();
        assert_eq!(
            lines,
            [
                "GET /a.m3u8?x=1 HTTP/1.1",
                "GET /gone.mp4 HTTP/1.1",
                "GET /p.mp4 HTTP/1.1",
                "GET /q.mp4 HTTP/1.1"
            ]
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_a_large_body_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut silent, _) = listener.accept().await.expect("accept");
            request(&mut silent).await.expect("request 1");
            let (mut s, _) = listener.accept().await.expect("accept");
            request(&mut s).await.expect("request 2");
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                .await
                .expect("answer");
            silent
        });
        let mut silent = Connection::new(addr, "h", Duration::from_millis(300), 10);
        assert_eq!(
            silent.get("/", Keep::Body).await,
            Err(HttpError::Timeout(Duration::from_millis(300)))
        );
        let mut c = Connection::new(addr, "h", Duration::from_secs(30), 10);
        assert_eq!(c.get("/", Keep::Count).await, Err(HttpError::TooLarge(10)));
        drop(server.await.expect("server"));
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_address() {
        // A port just freed: nothing listens there.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port");
        let mut c = Connection::new(addr, "h", Duration::from_secs(5), 10);
        assert!(matches!(
            c.get("/", Keep::Body).await,
            Err(HttpError::Connect { addr: a, .. }) if a == addr
        ));
    }
}
