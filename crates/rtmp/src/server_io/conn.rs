//! One RTMP connection: the handshake, `connect` and the publish or play request within
//! `readTimeout`, then publishing into a path (track detection, then every frame through
//! the core's unit ingest) or reading from one (see [`super::play`]).

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ferromtx_auth as auth;
use ferromtx_core::hooks::{self, Described};
use ferromtx_core::{PathError, PathRequest, UnitIngest};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::ConnContext;
use super::close::CloseReason;
use super::info::{ConnEntry, ConnState};
use crate::publish::{ToStream, TrackDetector};
use crate::server::{Rejection, ServerConfig, ServerConnection, ServerEvent, ServerOutput};
use crate::{StreamRequest, TagItem};

/// Bytes read at once before publishing (a handshake is 1537 bytes), so that idle
/// connections stay small.
const SMALL_READ: usize = 4 * 1024;
/// Bytes read at once from a publisher.
const PUBLISH_READ: usize = 64 * 1024;

/// The reading side of a connection (plain TCP or TLS).
pub(super) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The writing side of a connection (plain TCP or TLS).
pub(super) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// A random version-4 UUID (not for cryptography: the per-process random hash keys, a
/// counter and the clock).
fn uuid() -> String {
    let random = || {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    let (hi, lo) = (random(), random());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (hi >> 32) as u32,
        (hi >> 16) & 0xffff,
        (hi & 0x0fff) | 0x4000,
        ((lo >> 48) & 0x3fff) | 0x8000,
        lo & 0xffff_ffff_ffff
    )
}

/// One connection's I/O around its state machine.
pub(super) struct Conn {
    pub ctx: Arc<ConnContext>,
    pub entry: Arc<ConnEntry>,
    pub peer: SocketAddr,
    pub machine: ServerConnection,
    pub reader: ReadHalf,
    pub writer: WriteHalf,
    pub rbuf: Vec<u8>,
    /// Events of the machine not handled yet.
    pub events: VecDeque<ServerEvent>,
    pub cancel: CancellationToken,
}

impl Conn {
    /// Sends everything the machine has to send, within `writeTimeout`; keeps its events.
    pub async fn flush(&mut self) -> Result<(), CloseReason> {
        while let Some(out) = self.machine.poll_output() {
            match out {
                ServerOutput::Transmit(bytes) => {
                    let timeout = self.ctx.settings.write_timeout;
                    match tokio::time::timeout(timeout, self.writer.write_all(&bytes)).await {
                        Ok(res) => res?,
                        Err(_) => return Err(CloseReason::WriteTimeout),
                    }
                }
                ServerOutput::Event(e) => self.events.push_back(e),
            }
        }
        self.entry
            .set_counters(self.machine.bytes_received(), self.machine.bytes_sent());
        Ok(())
    }

    /// Feeds `n` bytes just read into the machine and sends its answers.
    pub async fn received(&mut self, n: usize) -> Result<(), CloseReason> {
        if n == 0 {
            return Err(CloseReason::Eof);
        }
        let res = self
            .machine
            .handle_input(Instant::now(), self.rbuf.get(..n).unwrap_or_default());
        // What the machine still has to say (a rejection) goes out before it closes.
        let flushed = self.flush().await;
        res?;
        flushed
    }

    /// Reads once, within `deadline` if given, and feeds the machine; an API kick or the
    /// server's shutdown ends the connection.
    async fn read(&mut self, deadline: Option<tokio::time::Instant>) -> Result<(), CloseReason> {
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let n = tokio::select! {
            r = self.reader.read(&mut self.rbuf) => r?,
            () = timeout => return Err(CloseReason::ReadTimeout),
            () = self.entry.kick.notified() => return Err(CloseReason::Terminated),
            () = self.cancel.cancelled() => return Err(CloseReason::Terminated),
        };
        self.received(n).await
    }

    /// What the path manager is asked for this request.
    pub fn path_request(&self, req: &StreamRequest) -> PathRequest {
        PathRequest {
            name: req.path.path.clone(),
            query: req.path.query.clone(),
            ip: self.peer.ip(),
            credentials: auth::Credentials {
                user: req.user().unwrap_or_default(),
                pass: req.pass().unwrap_or_default(),
                token: String::new(),
            },
            protocol: auth::Protocol::Rtmp,
            who: Described {
                kind: self.ctx.kind().into(),
                id: self.entry.uuid.clone(),
            },
            skip_auth: false,
        }
    }

    /// Answers a refused request: bad credentials get MediaMTX's status after its pause
    /// (which slows down guessing), anything else only closes the connection.
    pub async fn refuse(&mut self, e: PathError) -> CloseReason {
        if matches!(e, PathError::Auth(_)) {
            tokio::time::sleep(auth::PAUSE_AFTER_ERROR).await;
            if let Err(err) = self.machine.reject(Rejection::Unauthorized) {
                return err.into();
            }
            if let Err(reason) = self.flush().await {
                return reason;
            }
        }
        e.into()
    }
}

/// Splits a connection into its halves, after the TLS handshake for RTMPS.
async fn open(ctx: &ConnContext, socket: TcpStream) -> Result<(ReadHalf, WriteHalf), CloseReason> {
    let _ = socket.set_nodelay(true);
    let Some(acceptor) = &ctx.tls else {
        let (r, w) = socket.into_split();
        return Ok((Box::new(r), Box::new(w)));
    };
    match tokio::time::timeout(ctx.settings.read_timeout, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => {
            let (r, w) = tokio::io::split(stream);
            Ok((Box::new(r), Box::new(w)))
        }
        Ok(Err(e)) => Err(CloseReason::TlsHandshake(e.to_string())),
        Err(_) => Err(CloseReason::TlsTimeout),
    }
}

/// Serves one accepted connection until it closes.
pub(super) async fn serve(
    ctx: Arc<ConnContext>,
    mut socket: TcpStream,
    peer: SocketAddr,
    id: u64,
    cancel: CancellationToken,
) {
    // rtspTrustedProxies / rtmpTrustedProxies: the client's address from a PROXY header.
    let trusted = ferromtx_conf::proxy_trust(&ctx.settings.trusted_proxies, peer.ip());
    let timeout = ctx.settings.read_timeout;
    let peer = match ferromtx_net::proxy::client_addr(&mut socket, peer, trusted, timeout).await {
        Ok(client) => client,
        Err(e) => {
            let span = tracing::info_span!("rtmp_conn", component = ctx.label(), conn = %peer);
            span.in_scope(|| tracing::info!("closed: {e}"));
            return;
        }
    };
    let span = tracing::info_span!("rtmp_conn", component = ctx.label(), conn = %peer);
    async move {
        tracing::info!("opened");
        let uuid = uuid();
        let _hook = hooks::on_connect(
            &ctx.settings.run_on_connect,
            ctx.settings.run_on_connect_restart,
            &ctx.settings.run_on_disconnect,
            &ctx.settings.rtsp_address,
            &Described {
                kind: ctx.kind().into(),
                id: uuid.clone(),
            },
        );
        let entry = Arc::new(ConnEntry::new(uuid, peer));
        ctx.registry.insert(id, Arc::clone(&entry));
        let reason = match open(&ctx, socket).await {
            Ok((reader, writer)) => {
                let seed = RandomState::new().build_hasher().finish();
                let mut conn = Conn {
                    ctx: Arc::clone(&ctx),
                    entry,
                    peer,
                    machine: ServerConnection::new(
                        ServerConfig {
                            seed,
                            ..ServerConfig::default()
                        },
                        Instant::now(),
                    ),
                    reader,
                    writer,
                    rbuf: vec![0; SMALL_READ],
                    events: VecDeque::new(),
                    cancel,
                };
                run(&mut conn).await
            }
            Err(reason) => reason,
        };
        ctx.registry.remove(id);
        tracing::info!("closed: {reason}");
    }
    .instrument(span)
    .await;
}

/// Waits for the publish or play request, then serves it; returns why it ended.
async fn run(conn: &mut Conn) -> CloseReason {
    let deadline = tokio::time::Instant::now() + conn.ctx.settings.read_timeout;
    loop {
        while let Some(event) = conn.events.pop_front() {
            match event {
                ServerEvent::Connected(info) => {
                    conn.entry
                        .set_user_agent(info.flash_ver.as_deref().unwrap_or_default());
                }
                ServerEvent::PublishRequested(req) => return publish(conn, req).await,
                ServerEvent::PlayRequested(req) => return super::play::run(conn, req).await,
                _ => {}
            }
        }
        if let Err(reason) = conn.read(Some(deadline)).await {
            return reason;
        }
    }
}

/// Serves a publish request: authentication and the path first, then track detection,
/// then every frame into the stream until the connection ends or is replaced.
async fn publish(conn: &mut Conn, req: StreamRequest) -> CloseReason {
    let publisher = match conn.ctx.paths.add_publisher(conn.path_request(&req)).await {
        Ok(p) => p,
        Err(e) => return conn.refuse(e).await,
    };
    if let Err(e) = conn.machine.accept_publish() {
        return e.into();
    }
    if let Err(reason) = conn.flush().await {
        return reason;
    }
    conn.rbuf.resize(PUBLISH_READ, 0);
    let read_timeout = conn.ctx.settings.read_timeout;
    let next_deadline = || Some(tokio::time::Instant::now() + read_timeout);

    // Track detection: tags are held until 2 s of them arrived.
    let mut detector = TrackDetector::new();
    let mut done = false;
    while !done {
        while let Some(event) = conn.events.pop_front() {
            if let ServerEvent::Media(item) = event
                && detector.push(item)
            {
                done = true;
            }
        }
        if done {
            break;
        }
        tokio::select! {
            r = conn.read(next_deadline()) => if let Err(reason) = r { return reason; },
            () = publisher.kicked() => return CloseReason::Terminated,
        }
    }
    let found = match detector.finish() {
        Ok(found) => found,
        Err(e) => return e.into(),
    };
    let (mut to_stream, tracks, skipped) = ToStream::new(&found.tracks);
    for (n, name) in skipped.iter().enumerate() {
        tracing::warn!("skipping track {} ({name})", n + 1);
    }
    if tracks.is_empty() {
        return crate::publish::DetectError::NoSupportedCodecs.into();
    }
    let stream = match publisher.start_with_query(tracks, &req.path.query) {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let user = req.user().unwrap_or_default();
    conn.entry
        .set_stream(ConnState::Publish, &req.path.path, &req.path.query, &user);
    // MediaMTX 1.20 names the tracks in the path's `stream is available` line only.
    tracing::info!("is publishing to path '{}'", req.path.path);
    let mut ingest = UnitIngest::new(stream);
    let mut write = |item: TagItem, ingest: &mut UnitIngest| to_stream.write(item, ingest);
    for item in found.held {
        if let Err(e) = write(item, &mut ingest) {
            return e.into();
        }
    }
    loop {
        while let Some(event) = conn.events.pop_front() {
            if let ServerEvent::Media(item) = event
                && let Err(e) = write(item, &mut ingest)
            {
                return e.into();
            }
        }
        tokio::select! {
            r = conn.read(next_deadline()) => if let Err(reason) = r { return reason; },
            () = publisher.kicked() => return CloseReason::Terminated,
        }
    }
}
