//! RTSP requests and responses (RFC 2326 section 6 and 7) and a streaming decoder for a
//! connection's byte stream, where `$` interleaved frames may sit between messages.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::interleaved::{self, Interleaved};

/// The protocol version this crate speaks.
pub const VERSION: &str = "RTSP/1.0";

/// Maximum number of header lines in one message (as gortsplib).
pub const MAX_HEADER_COUNT: usize = 255;

/// Errors from parsing a message or decoding a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("header section exceeds {0} bytes")]
    HeaderTooBig(usize),
    #[error("body size {size} exceeds {max} bytes")]
    BodyTooBig { size: usize, max: usize },
    #[error("headers count exceeds {MAX_HEADER_COUNT}")]
    TooManyHeaders,
    #[error("invalid Content-Length '{0}'")]
    ContentLength(String),
    #[error("invalid start line '{0}'")]
    StartLine(String),
    #[error("unsupported protocol version '{0}'")]
    Version(String),
    #[error("invalid status code '{0}'")]
    Status(String),
    #[error("invalid header line '{0}'")]
    HeaderLine(String),
    #[error("message is incomplete")]
    Incomplete,
    #[error("unexpected trailing bytes after the message")]
    Trailing,
    #[error(transparent)]
    Interleaved(#[from] interleaved::InterleavedError),
}

impl MessageError {
    /// Whether the stream can no longer be framed after this error: the connection must
    /// close. Non-fatal errors concern one message that was skipped whole.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            MessageError::HeaderTooBig(_)
                | MessageError::BodyTooBig { .. }
                | MessageError::TooManyHeaders
                | MessageError::ContentLength(_)
        )
    }
}

/// An RTSP method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Options,
    Describe,
    Announce,
    Setup,
    Play,
    Pause,
    Record,
    Teardown,
    GetParameter,
    SetParameter,
    Redirect,
    /// Any other token, kept as sent.
    Extension(String),
}

impl Method {
    /// The method from its wire token (case-sensitive, RFC 2326 6.1).
    pub fn from_token(token: &str) -> Method {
        match token {
            "OPTIONS" => Method::Options,
            "DESCRIBE" => Method::Describe,
            "ANNOUNCE" => Method::Announce,
            "SETUP" => Method::Setup,
            "PLAY" => Method::Play,
            "PAUSE" => Method::Pause,
            "RECORD" => Method::Record,
            "TEARDOWN" => Method::Teardown,
            "GET_PARAMETER" => Method::GetParameter,
            "SET_PARAMETER" => Method::SetParameter,
            "REDIRECT" => Method::Redirect,
            other => Method::Extension(other.to_string()),
        }
    }

    /// The wire token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Options => "OPTIONS",
            Method::Describe => "DESCRIBE",
            Method::Announce => "ANNOUNCE",
            Method::Setup => "SETUP",
            Method::Play => "PLAY",
            Method::Pause => "PAUSE",
            Method::Record => "RECORD",
            Method::Teardown => "TEARDOWN",
            Method::GetParameter => "GET_PARAMETER",
            Method::SetParameter => "SET_PARAMETER",
            Method::Redirect => "REDIRECT",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(pub u16);

impl StatusCode {
    pub const OK: StatusCode = StatusCode(200);
    pub const MOVED_PERMANENTLY: StatusCode = StatusCode(301);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    pub const SESSION_NOT_FOUND: StatusCode = StatusCode(454);
    pub const METHOD_NOT_VALID_IN_THIS_STATE: StatusCode = StatusCode(455);
    pub const UNSUPPORTED_TRANSPORT: StatusCode = StatusCode(461);
    pub const INTERNAL_SERVER_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);

    /// The reason phrase MediaMTX (gortsplib) sends with the code.
    pub fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            200 => "OK",
            301 => "Moved Permanently",
            302 => "Found",
            303 => "See Other",
            304 => "Not Modified",
            305 => "Use Proxy",
            400 => "Bad Request",
            401 => "Unauthorized",
            402 => "Payment Required",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Auth Required",
            408 => "Request Timeout",
            410 => "Gone",
            412 => "Precondition Failed",
            413 => "Request Entity Too Large",
            414 => "Request URI Too Long",
            415 => "Unsupported Media Type",
            451 => "Parameter Not Understood",
            453 => "Not Enough Bandwidth",
            454 => "Session Not Found",
            455 => "Method Not Valid In This State",
            456 => "Header Field Not Valid for Resource",
            457 => "Invalid Range",
            458 => "Parameter Is Read-Only",
            459 => "Aggregate Operation Not Allowed",
            460 => "Only Aggregate Operation Allowed",
            461 => "Unsupported Transport",
            462 => "Destination Unreachable",
            463 => "Destination Prohibited",
            464 => "Data Transport Not Ready Yet",
            465 => "Notification Reason Unknown",
            466 => "Key Management Error",
            470 => "Connection Authorization Required",
            471 => "Connection Credentials Not Accepted",
            472 => "Failure to Establish Secure Connection",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            505 => "RTSP Version Not Supported",
            551 => "Option Not Supported",
            553 => "Proxy Unavailable",
            _ => "",
        }
    }
}

/// Header lines in order; names compare case-insensitively, original spelling is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Adds a line, keeping existing lines of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Replaces every line of `name` with one line.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        if let Some(pos) = self
            .0
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(&name))
        {
            self.0[pos].1 = value;
            let mut i = 0;
            self.0.retain(|(k, _)| {
                i += 1;
                i - 1 == pos || !k.eq_ignore_ascii_case(&name)
            });
        } else {
            self.0.push((name, value));
        }
    }

    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `CSeq` value, if present and numeric.
    pub fn cseq(&self) -> Option<u32> {
        self.get("CSeq").and_then(|v| v.trim().parse().ok())
    }

    fn encode(&self, out: &mut BytesMut, body_len: usize) {
        for (k, v) in &self.0 {
            if k.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            put_line(out, &[k, ": ", v]);
        }
        if body_len > 0 {
            put_line(out, &["Content-Length: ", &body_len.to_string()]);
        }
        out.put_slice(b"\r\n");
    }
}

fn put_line(out: &mut BytesMut, parts: &[&str]) {
    for p in parts {
        // A CR or LF inside a value would smuggle a header line: fold them into spaces.
        for &b in p.as_bytes() {
            out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
    }
    out.put_slice(b"\r\n");
}

/// An RTSP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request URI as sent (`rtsp://host:port/path`, or `*`).
    pub uri: String,
    pub headers: Headers,
    pub body: Bytes,
}

impl Request {
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Request {
            method,
            uri: uri.into(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Appends the wire form to `out`; `Content-Length` is derived from the body.
    pub fn encode(&self, out: &mut BytesMut) {
        put_line(out, &[self.method.as_str(), " ", &self.uri, " ", VERSION]);
        self.headers.encode(out, self.body.len());
        out.put_slice(&self.body);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// Parses exactly one complete request.
    pub fn parse(buf: &[u8]) -> Result<Request, MessageError> {
        match Message::parse(buf)? {
            Message::Request(r) => Ok(r),
            Message::Response(r) => {
                Err(MessageError::StartLine(format!("{VERSION} {}", r.status.0)))
            }
        }
    }
}

/// An RTSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    /// The reason phrase as received, or [`StatusCode::reason`] when built here.
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

impl Response {
    pub fn new(status: StatusCode) -> Self {
        Response {
            status,
            reason: status.reason().to_string(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    pub fn encode(&self, out: &mut BytesMut) {
        put_line(
            out,
            &[VERSION, " ", &self.status.0.to_string(), " ", &self.reason],
        );
        self.headers.encode(out, self.body.len());
        out.put_slice(&self.body);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// Parses exactly one complete response.
    pub fn parse(buf: &[u8]) -> Result<Response, MessageError> {
        match Message::parse(buf)? {
            Message::Response(r) => Ok(r),
            Message::Request(r) => Err(MessageError::StartLine(r.method.to_string())),
        }
    }
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.encode(out),
            Message::Response(r) => r.encode(out),
        }
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// Parses exactly one complete message (head and body) with default limits.
    pub fn parse(buf: &[u8]) -> Result<Message, MessageError> {
        let mut d = Decoder::new();
        d.push(buf);
        match d.pull() {
            Some(Ok(Incoming::Message(m))) if d.buf.is_empty() => Ok(m),
            Some(Ok(_)) => Err(MessageError::Trailing),
            Some(Err(e)) => Err(e),
            None => Err(MessageError::Incomplete),
        }
    }
}

/// What the decoder yields: a message or an interleaved frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(Message),
    Interleaved(Interleaved),
}

/// Size limits of a [`Decoder`]; exceeding one is a fatal error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Start line plus header lines plus the blank line, in bytes.
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            // As gortsplib's rtspMaxBodySize.
            max_body_bytes: 128 * 1024,
        }
    }
}

/// Streaming decoder: [`push`](Decoder::push) bytes as they arrive, then
/// [`pull`](Decoder::pull) until it returns `None`.
///
/// Messages may be split at any byte, several may arrive in one push, and interleaved
/// frames may sit between them. After a fatal error ([`MessageError::is_fatal`]) the
/// decoder stops: `pull` returns `None` and `push` discards, the connection must close.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
    limits: Limits,
    /// Bytes of `buf` already searched for the end of the header section.
    scanned: usize,
    /// Head parsed (or refused), waiting for this many body bytes.
    pending: Option<(Result<Message, MessageError>, usize)>,
    failed: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            limits,
            ..Self::default()
        }
    }

    /// Bytes held and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether a fatal error stopped the decoder.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
    }

    pub fn pull(&mut self) -> Option<Result<Incoming, MessageError>> {
        if self.failed {
            return None;
        }
        let out = self.pull_inner();
        if let Some(Err(e)) = &out
            && e.is_fatal()
        {
            self.failed = true;
            self.buf = BytesMut::new();
            self.pending = None;
        }
        out
    }

    fn pull_inner(&mut self) -> Option<Result<Incoming, MessageError>> {
        if let Some((_, body_len)) = &self.pending {
            let body_len = *body_len;
            if self.buf.len() < body_len {
                return None;
            }
            let body = self.buf.split_to(body_len).freeze();
            let (head, _) = self.pending.take()?;
            return Some(head.map(|mut m| {
                match &mut m {
                    Message::Request(r) => r.body = body,
                    Message::Response(r) => r.body = body,
                }
                Incoming::Message(m)
            }));
        }
        // Blank lines between messages are keep-alives some clients send.
        while self.scanned == 0 && matches!(self.buf.first(), Some(b'\r' | b'\n')) {
            self.buf.advance(1);
        }
        if self.buf.first() == Some(&interleaved::MAGIC) {
            let len = match Interleaved::frame_len(&self.buf) {
                Ok(Some(len)) => len,
                Ok(None) => return None,
                Err(e) => return Some(Err(e.into())),
            };
            if self.buf.len() < len {
                return None;
            }
            // Copied out rather than split off: a slice would keep the receive buffer's whole
            // block alive as long as any unit made from the packet stays in a stream's ring.
            let channel = self.buf[1];
            let payload = Bytes::copy_from_slice(&self.buf[interleaved::HEADER_LEN..len]);
            self.buf.advance(len);
            return Some(Ok(Incoming::Interleaved(Interleaved { channel, payload })));
        }
        let Some(head_len) = self.find_head_end() else {
            if self.buf.len() > self.limits.max_header_bytes {
                return Some(Err(MessageError::HeaderTooBig(
                    self.limits.max_header_bytes,
                )));
            }
            return None;
        };
        self.scanned = 0;
        if head_len > self.limits.max_header_bytes {
            return Some(Err(MessageError::HeaderTooBig(
                self.limits.max_header_bytes,
            )));
        }
        let head = self.buf.split_to(head_len);
        let text = String::from_utf8_lossy(&head);
        let result = parse_head(&text);
        let body_len = match &result {
            Ok(m) => content_length(m.headers()),
            // Skip the body of a message we cannot parse, if its length is legible.
            Err(_) => Ok(lenient_content_length(&text)),
        };
        let body_len = match body_len {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        if body_len > self.limits.max_body_bytes {
            return Some(Err(MessageError::BodyTooBig {
                size: body_len,
                max: self.limits.max_body_bytes,
            }));
        }
        if let Err(MessageError::TooManyHeaders) = result {
            return Some(Err(MessageError::TooManyHeaders));
        }
        self.pending = Some((result, body_len));
        self.pull_inner()
    }

    /// Length of the header section including the blank line, once it is buffered.
    fn find_head_end(&mut self) -> Option<usize> {
        let buf = &self.buf[..];
        // Resume one byte back so a "\n" split from its blank line is still seen.
        let start = self.scanned.saturating_sub(3);
        let mut i = start;
        while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
            let nl = i + off;
            let rest = &buf[nl + 1..];
            if rest.starts_with(b"\r\n") {
                return Some(nl + 3);
            }
            if rest.starts_with(b"\n") {
                return Some(nl + 2);
            }
            if rest.is_empty() || rest == b"\r" {
                break;
            }
            i = nl + 1;
        }
        self.scanned = buf.len();
        None
    }
}

fn content_length(headers: &Headers) -> Result<usize, MessageError> {
    match headers.get("Content-Length") {
        None => Ok(0),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| MessageError::ContentLength(v.to_string())),
    }
}

fn lenient_content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Parses a start line and header lines (the blank line may be included).
fn parse_head(text: &str) -> Result<Message, MessageError> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or("");
    let mut headers = Headers::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding: continue the previous value.
            match headers.0.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                None => return Err(MessageError::HeaderLine(line.to_string())),
            }
        }
        if headers.len() >= MAX_HEADER_COUNT {
            return Err(MessageError::TooManyHeaders);
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(MessageError::HeaderLine(line.to_string()));
        };
        let name = name.trim();
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(MessageError::HeaderLine(line.to_string()));
        }
        headers.append(name, value.trim());
    }
    if let Some(rest) = start.strip_prefix("RTSP/") {
        let mut parts = start.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        check_version(version, rest)?;
        let code = parts.next().unwrap_or("");
        let status = code
            .parse::<u16>()
            .ok()
            .filter(|c| (100..1000).contains(c))
            .ok_or_else(|| MessageError::Status(code.to_string()))?;
        let reason = parts.next().unwrap_or("").to_string();
        return Ok(Message::Response(Response {
            status: StatusCode(status),
            reason,
            headers,
            body: Bytes::new(),
        }));
    }
    let mut parts = start.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MessageError::StartLine(start.to_string()));
    };
    if method.is_empty() || uri.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(MessageError::StartLine(start.to_string()));
    }
    let Some(rest) = version.strip_prefix("RTSP/") else {
        return Err(MessageError::Version(version.to_string()));
    };
    check_version(version, rest)?;
    Ok(Message::Request(Request {
        method: Method::from_token(method),
        uri: uri.to_string(),
        headers,
        body: Bytes::new(),
    }))
}

fn check_version(version: &str, number: &str) -> Result<(), MessageError> {
    let number = number.split(' ').next().unwrap_or("");
    if number == "1.0" || number == "2.0" {
        Ok(())
    } else {
        Err(MessageError::Version(version.to_string()))
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
