//! A tokio RTSP client connection: requests with CSeq, Session and authentication
//! (Basic/Digest from the URL's credentials), and the interleaved frames that arrive
//! between responses. Used by the pull source.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::auth;
use crate::interleaved::Interleaved;
use crate::message::{
    Decoder, Incoming, Message, MessageError, Method, Request, Response, StatusCode,
};
use crate::sdp::{self, SessionDescription};
use crate::session::SessionHeader;

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;
/// Interleaved frames kept while waiting for a response; older ones are dropped.
const MAX_PENDING_FRAMES: usize = 1024;
/// Messages looked at while waiting for one response.
const MAX_MESSAGES_PER_RESPONSE: usize = 100_000;

/// Why a client request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid URL '{0}'")]
    Url(String),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("connection closed by the server")]
    Closed,
    #[error("invalid message from the server: {0}")]
    Message(#[from] MessageError),
    #[error("bad status code: {} ({})", .0.0, .0.reason())]
    Status(StatusCode),
    #[error("authentication failed: {0}")]
    Auth(String),
}

/// The URL the media controls of a DESCRIBE reply are relative to: its `Content-Base`
/// (else `Content-Location`, else the request's `url`), with the SDP's session-level control.
pub fn media_base(reply: &Response, desc: &SessionDescription, url: &str) -> String {
    let base = reply
        .headers
        .get("Content-Base")
        .or_else(|| reply.headers.get("Content-Location"))
        .map_or_else(|| url.to_owned(), |b| b.trim().to_string());
    match desc.control.as_deref() {
        Some(c) if c.trim() != "*" && !c.trim().is_empty() => sdp::control_url(&base, Some(c)),
        _ => base,
    }
}

/// A parsed `rtsp://` or `rtsps://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUrl {
    /// The host name or address, without brackets around IPv6 addresses.
    pub host: String,
    /// `host:port`, port 554 (322 for rtsps) when absent.
    pub host_port: String,
    /// The URL without credentials, as sent in requests.
    pub request_url: String,
    pub credentials: Option<(String, String)>,
    pub tls: bool,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ClientUrl {
    pub fn parse(url: &str) -> Result<ClientUrl, ClientError> {
        let invalid = || ClientError::Url(url.to_string());
        let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "rtsp" => false,
            "rtsps" => true,
            _ => return Err(invalid()),
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(invalid());
        }
        let has_port = match host.rfind(':') {
            Some(i) => !host[i..].contains(']'),
            None => false,
        };
        let host_port = if has_port {
            host.to_string()
        } else {
            format!("{host}:{}", if tls { 322 } else { 554 })
        };
        let credentials = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            (percent_decode(user), percent_decode(pass))
        });
        Ok(ClientUrl {
            host: host
                .rsplit_once(':')
                .filter(|_| has_port)
                .map_or(host, |(h, _)| h)
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            host_port,
            request_url: format!("{scheme}://{host}{tail}"),
            credentials,
            tls,
        })
    }
}

/// One connection to an RTSP server.
pub struct Client {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    peer: SocketAddr,
    local: SocketAddr,
    decoder: Decoder,
    rbuf: BytesMut,
    cseq: u32,
    session: Option<String>,
    credentials: Option<(String, String)>,
    sender: Option<auth::Sender>,
    frames: VecDeque<Interleaved>,
    timeout: Duration,
}

impl Client {
    /// Connects within `timeout`, which also bounds every later request. For `rtsps://`
    /// the server's certificate must have the SHA-256 `fingerprint` (hex) when one is
    /// given, else be signed by a well-known authority for the URL's host.
    pub async fn connect(
        url: &ClientUrl,
        timeout: Duration,
        fingerprint: &str,
    ) -> Result<Client, ClientError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(url.host_port.as_str()))
            .await
            .map_err(|_| ClientError::Timeout)??;
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr()?;
        let local = stream.local_addr()?;
        let (reader, writer): (
            Box<dyn AsyncRead + Send + Unpin>,
            Box<dyn AsyncWrite + Send + Unpin>,
        ) = if url.tls {
            let config = ferromtx_net::tls::client_config(fingerprint).map_err(ClientError::Tls)?;
            let name = ServerName::try_from(url.host.clone())
                .map_err(|e| ClientError::Tls(format!("invalid host '{}': {e}", url.host)))?;
            let connector = TlsConnector::from(Arc::new(config));
            let tls = tokio::time::timeout(timeout, connector.connect(name, stream))
                .await
                .map_err(|_| ClientError::Timeout)?
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            let (r, w) = tokio::io::split(tls);
            (Box::new(r), Box::new(w))
        } else {
            let (r, w) = stream.into_split();
            (Box::new(r), Box::new(w))
        };
        Ok(Client {
            reader,
            writer,
            peer,
            local,
            decoder: Decoder::new(),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            cseq: 0,
            session: None,
            credentials: url.credentials.clone(),
            sender: None,
            frames: VecDeque::new(),
            timeout,
        })
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// This side's address of the connection.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Sends a request without waiting for its response (keep-alives).
    pub async fn send(&mut self, mut req: Request) -> Result<(), ClientError> {
        self.cseq += 1;
        req.headers.set("CSeq", self.cseq.to_string());
        req.headers.set("User-Agent", "ferromtx");
        if let Some(s) = &self.session {
            req.headers.set("Session", s.clone());
        }
        if let Some(sender) = self.sender.as_mut() {
            let value = sender.authorization(&req.method, &req.uri, &crate::server::cnonce());
            req.headers.set("Authorization", value);
        }
        self.write(&req.to_bytes()).await
    }

    /// Writes raw bytes (interleaved frames) within the timeout.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), ClientError> {
        let write = async {
            self.writer.write_all(data).await?;
            self.writer.flush().await
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(ClientError::from)
    }

    /// Sends a request and waits for its response; answers one 401 with the URL's
    /// credentials. A status other than 2xx is an error.
    pub async fn request(&mut self, req: Request) -> Result<Response, ClientError> {
        self.send(req.clone()).await?;
        let mut res = self.response().await?;
        if res.status == StatusCode::UNAUTHORIZED && self.sender.is_none() {
            let Some((user, pass)) = self.credentials.clone() else {
                return Err(ClientError::Status(res.status));
            };
            let sender = auth::Sender::new(res.headers.get_all("WWW-Authenticate"), &user, &pass)
                .map_err(|e| ClientError::Auth(e.to_string()))?;
            self.sender = Some(sender);
            self.send(req).await?;
            res = self.response().await?;
        }
        if res.status == StatusCode::UNAUTHORIZED && self.credentials.is_some() {
            return Err(ClientError::Auth("wrong credentials".to_string()));
        }
        if !(200..300).contains(&res.status.0) {
            return Err(ClientError::Status(res.status));
        }
        if let Some(v) = res.headers.get("Session")
            && let Ok(h) = SessionHeader::parse(v)
        {
            self.session = Some(h.id);
        }
        Ok(res)
    }

    /// OPTIONS, and the keep-alive method the server takes: GET_PARAMETER when its reply
    /// lists it in `Public`, else OPTIONS. A server that refuses OPTIONS (some do) gets
    /// OPTIONS keep-alives; authentication and I/O errors are errors.
    pub async fn keepalive_method(&mut self, url: &str) -> Result<Method, ClientError> {
        match self
            .request(Request::new(Method::Options, url.to_owned()))
            .await
        {
            Ok(r)
                if r.headers.get("Public").is_some_and(|p| {
                    p.split(',')
                        .any(|m| m.trim().eq_ignore_ascii_case("GET_PARAMETER"))
                }) =>
            {
                Ok(Method::GetParameter)
            }
            Ok(_) | Err(ClientError::Status(_)) => Ok(Method::Options),
            Err(e) => Err(e),
        }
    }

    /// DESCRIBE: the reply, whose body is the SDP.
    pub async fn describe(&mut self, url: &str) -> Result<Response, ClientError> {
        let mut describe = Request::new(Method::Describe, url.to_owned());
        describe.headers.set("Accept", "application/sdp");
        self.request(describe).await
    }

    async fn response(&mut self) -> Result<Response, ClientError> {
        for _ in 0..MAX_MESSAGES_PER_RESPONSE {
            let item = tokio::time::timeout(self.timeout, self.next())
                .await
                .map_err(|_| ClientError::Timeout)??;
            match item {
                Incoming::Message(Message::Response(r)) => return Ok(r),
                Incoming::Message(Message::Request(_)) => {}
                Incoming::Interleaved(f) => {
                    if self.frames.len() >= MAX_PENDING_FRAMES {
                        self.frames.pop_front();
                    }
                    self.frames.push_back(f);
                }
            }
        }
        Err(ClientError::Timeout)
    }

    /// The next message or frame (frames kept while waiting for a response first).
    /// Cancel-safe.
    pub async fn next(&mut self) -> Result<Incoming, ClientError> {
        if let Some(f) = self.frames.pop_front() {
            return Ok(Incoming::Interleaved(f));
        }
        loop {
            if let Some(item) = self.decoder.pull() {
                return item.map_err(ClientError::from);
            }
            self.rbuf.clear();
            let n = self.reader.read_buf(&mut self.rbuf).await?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.decoder.push(&self.rbuf);
        }
    }

    /// Sends an interleaved frame.
    pub async fn send_frame(&mut self, channel: u8, payload: Bytes) -> Result<(), ClientError> {
        let data = Interleaved { channel, payload }
            .to_bytes()
            .map_err(|e| ClientError::Message(e.into()))?;
        self.write(&data).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_ports_and_queries() {
        let u = ClientUrl::parse("rtsp://us%40er:p%3Ass@127.0.0.1:8554/cam/1?a=b").unwrap();
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.host_port, "127.0.0.1:8554");
        assert_eq!(u.request_url, "rtsp://127.0.0.1:8554/cam/1?a=b");
        assert_eq!(
            u.credentials,
            Some(("us@er".to_string(), "p:ss".to_string()))
        );
        assert!(!u.tls);
        let u = ClientUrl::parse("rtsps://cam.local/x").unwrap();
        assert_eq!(u.host, "cam.local");
        assert_eq!(u.host_port, "cam.local:322");
        assert!(u.tls);
        let u = ClientUrl::parse("rtsp://[::1]/x").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.host_port, "[::1]:554");
        let u = ClientUrl::parse("rtsps://[::1]:8322/x").unwrap();
        assert_eq!(u.host, "::1");
        assert!(ClientUrl::parse("http://a/b").is_err());
        assert!(ClientUrl::parse("rtsp:///b").is_err());
    }
}
