//! One RTSP connection: reads requests and interleaved frames, owns its session, and
//! moves media between the socket(s) and the path's stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_core::hooks::{self, Described};
use ferromtx_core::{PathManager, Publisher, Unit};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use super::close::CloseReason;
use super::info::{ConnEntry, Registry, SessionEntry};
use super::multicast::{Membership, Multicast};
use super::read::{Destination, Playing};
use super::settings::RtspSettings;
use super::udp::{Channel, Datagram, UdpServer};
use crate::interleaved::{self, Interleaved};
use crate::message::{Decoder, Incoming, Message, Response, StatusCode};
use crate::rtp_in::Publishing;
use crate::sdp::SessionDescription;
use crate::secret;
use crate::server_session::{ServerSession, SessionConfig};

/// Datagrams queued for one session before they are dropped.
const UDP_QUEUE: usize = 1024;
/// Anomalies of publishers are logged at most this often.
const ANOMALY_PERIOD: Duration = Duration::from_secs(1);
/// Bytes read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;

/// The reading side of a connection (plain TCP or TLS).
type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The writing side of a connection (plain TCP or TLS).
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// What every connection shares.
pub(crate) struct ConnContext {
    pub settings: RtspSettings,
    pub paths: Arc<PathManager>,
    pub udp: Option<Arc<UdpServer>>,
    pub multicast: Option<Arc<Multicast>>,
    /// Set for RTSPS.
    pub tls: Option<TlsAcceptor>,
    pub session_config: SessionConfig,
    pub registry: Arc<Registry>,
}

impl ConnContext {
    /// The log prefix: `RTSP` or `RTSPS`.
    pub fn label(&self) -> &'static str {
        if self.tls.is_some() { "RTSPS" } else { "RTSP" }
    }

    /// The kind of a connection or session in the API and hooks (`rtspConn`,
    /// `rtspsSession`...).
    pub fn kind(&self, session: bool) -> &'static str {
        match (self.tls.is_some(), session) {
            (false, false) => "rtspConn",
            (false, true) => "rtspSession",
            (true, false) => "rtspsConn",
            (true, true) => "rtspsSession",
        }
    }
}

/// A publisher that is recording: its tracks and how its media arrives.
pub(super) struct Recording {
    pub publishing: Publishing,
    /// Interleaved channel → (track, RTP or RTCP).
    pub channels: Vec<Option<(usize, Channel)>>,
    /// Where receiver reports of each track go.
    pub reports_to: Vec<Option<Destination>>,
}

/// The RTSP session of the connection (MediaMTX ties it to the connection).
pub(super) struct Session {
    pub machine: ServerSession,
    pub span: tracing::Span,
    pub uuid: String,
    pub query: String,
    pub announced: Option<SessionDescription>,
    /// The reader attached at SETUP, until PLAY.
    pub reader: Option<ferromtx_core::ReaderHandle>,
    /// The multicast groups of the stream, for a multicast reader.
    pub multicast: Option<Membership>,
    /// What the API shows of the session.
    pub entry: Arc<SessionEntry>,
}

pub(super) struct Conn {
    pub ctx: Arc<ConnContext>,
    /// Owner key of UDP routes.
    pub id: u64,
    pub uuid: String,
    pub peer: SocketAddr,
    /// The server's address of the connection (where multicast leaves from).
    pub local: Option<SocketAddr>,
    /// What the API shows of the connection.
    pub entry: Arc<ConnEntry>,
    pub nonce: String,
    writer: WriteHalf,
    pub wbuf: BytesMut,
    udp_out: Vec<(SocketAddr, Bytes)>,
    pub udp_tx: mpsc::Sender<Datagram>,
    pub session: Option<Session>,
    pub publisher: Option<Publisher>,
    pub recording: Option<Recording>,
    pub playing: Option<Playing>,
}

enum Event {
    Read(std::io::Result<usize>),
    Unit(Option<Arc<Unit>>),
    Datagram(Datagram),
    SessionTimeout,
    Report,
    Anomalies,
    Kicked,
    ApiKick,
    ReadTimeout,
}

/// Splits a connection into its halves, after the TLS handshake for RTSPS.
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
pub(crate) async fn serve(ctx: Arc<ConnContext>, mut socket: TcpStream, peer: SocketAddr, id: u64) {
    // rtspTrustedProxies / rtmpTrustedProxies: the client's address from a PROXY header.
    let trusted = ferromtx_conf::proxy_trust(&ctx.settings.trusted_proxies, peer.ip());
    let timeout = ctx.settings.read_timeout;
    let peer = match ferromtx_net::proxy::client_addr(&mut socket, peer, trusted, timeout).await {
        Ok(client) => client,
        Err(e) => {
            let span = tracing::info_span!("rtsp_conn", component = ctx.label(), conn = %peer);
            span.in_scope(|| tracing::info!("closed: {e}"));
            return;
        }
    };
    let span = tracing::info_span!("rtsp_conn", component = ctx.label(), conn = %peer);
    async move {
        tracing::info!("opened");
        let uuid = secret::uuid();
        let _hook = hooks::on_connect(
            &ctx.settings.run_on_connect,
            ctx.settings.run_on_connect_restart,
            &ctx.settings.run_on_disconnect,
            &ctx.settings.rtsp_address,
            &Described {
                kind: ctx.kind(false).into(),
                id: uuid.clone(),
            },
        );
        let local = socket.local_addr().ok().map(ferromtx_net::canonical);
        let entry = Arc::new(ConnEntry::new(uuid.clone(), peer));
        ctx.registry.insert(id, Arc::clone(&entry));
        let (mut reader, writer) = match open(&ctx, socket).await {
            Ok(halves) => halves,
            Err(reason) => {
                ctx.registry.remove(id);
                tracing::info!("closed: {reason}");
                return;
            }
        };
        let (udp_tx, mut udp_rx) = mpsc::channel(UDP_QUEUE);
        let mut conn = Conn {
            ctx,
            id,
            uuid,
            peer,
            local,
            entry,
            nonce: secret::hex(16) + &secret::hex(16),
            writer,
            wbuf: BytesMut::with_capacity(READ_CHUNK),
            udp_out: Vec::new(),
            udp_tx,
            session: None,
            publisher: None,
            recording: None,
            playing: None,
        };
        let reason = conn.run(&mut reader, &mut udp_rx).await;
        // A session outlived by its connection is "not in use" in MediaMTX's words, whatever
        // ended the connection; only a shutdown or a kick names itself.
        match reason {
            CloseReason::Terminated | CloseReason::Kicked => conn.destroy_session(&reason),
            _ => conn.destroy_session(&"not in use"),
        }
        conn.ctx.registry.remove(id);
        tracing::info!("closed: {reason}");
    }
    .instrument(span)
    .await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

async fn next_unit(playing: Option<&mut Playing>) -> Option<Arc<Unit>> {
    match playing {
        Some(p) => p.handle.reader().next().await,
        None => std::future::pending().await,
    }
}

async fn kicked(publisher: Option<&Publisher>) {
    match publisher {
        Some(p) => p.kicked().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    /// The read loop; returns why the connection ends.
    async fn run(
        &mut self,
        reader: &mut ReadHalf,
        udp_rx: &mut mpsc::Receiver<Datagram>,
    ) -> CloseReason {
        let mut decoder = Decoder::new();
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        let period = self
            .ctx
            .settings
            .report_period
            .max(Duration::from_millis(100));
        let mut report = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut anomalies = tokio::time::interval(ANOMALY_PERIOD);
        anomalies.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_read = Instant::now();
        loop {
            let session_deadline = self.session.as_ref().and_then(|s| s.machine.poll_timeout());
            let read_deadline = self
                .reads_must_arrive()
                .then(|| last_read + self.ctx.settings.read_timeout);
            let event = tokio::select! {
                r = reader.read_buf(&mut rbuf) => Event::Read(r),
                u = next_unit(self.playing.as_mut()) => Event::Unit(u),
                Some(d) = udp_rx.recv() => Event::Datagram(d),
                () = sleep_until(session_deadline) => Event::SessionTimeout,
                _ = report.tick() => Event::Report,
                _ = anomalies.tick(), if self.recording.is_some() => Event::Anomalies,
                () = kicked(self.publisher.as_ref()) => Event::Kicked,
                () = self.entry.kick.notified() => Event::ApiKick,
                () = sleep_until(read_deadline) => Event::ReadTimeout,
            };
            let now = Instant::now();
            let res = match event {
                Event::Read(Ok(0)) => Err(CloseReason::Eof),
                Event::Read(Err(e)) => Err(e.into()),
                Event::Read(Ok(n)) => {
                    last_read = now;
                    self.entry.received(n as u64);
                    decoder.push(&rbuf);
                    rbuf.clear();
                    self.on_input(&mut decoder, now).await
                }
                Event::Unit(Some(unit)) => self.on_unit(&unit, now).await,
                Event::Unit(None) => Err(CloseReason::Terminated),
                Event::Datagram(d) => self.on_datagram(d, now),
                Event::SessionTimeout => {
                    if let Some(s) = self.session.as_mut()
                        && let Some(effect) = s.machine.handle_timeout(now)
                    {
                        let reason = match effect {
                            crate::server_session::Effect::Close(r) => r.to_string(),
                            _ => "session timed out".to_string(),
                        };
                        self.destroy_session(&reason);
                    }
                    Ok(())
                }
                Event::Report => self.send_reports(now).await,
                Event::Anomalies => {
                    self.log_anomalies();
                    Ok(())
                }
                Event::Kicked => Err(CloseReason::Terminated),
                Event::ApiKick => Err(CloseReason::Kicked),
                Event::ReadTimeout => Err(CloseReason::ReadTimeout),
            };
            if let Err(reason) = res {
                return reason;
            }
        }
    }

    /// Whether the peer must send something within `readTimeout` on the connection:
    /// not while it plays (it may stay silent) nor when its media travels over UDP.
    fn reads_must_arrive(&self) -> bool {
        let udp = self.session.as_ref().is_some_and(|s| {
            s.machine.transport() == Some(crate::server_session::TransportKind::Udp)
        });
        self.playing.is_none() && !udp
    }

    async fn on_input(&mut self, decoder: &mut Decoder, now: Instant) -> Result<(), CloseReason> {
        while let Some(item) = decoder.pull() {
            match item {
                Ok(Incoming::Message(Message::Request(req))) => {
                    let res = self.on_request(req, now).await;
                    self.flush().await?;
                    res?;
                }
                Ok(Incoming::Message(Message::Response(_))) => {}
                Ok(Incoming::Interleaved(frame)) => self.on_interleaved(&frame, now)?,
                Err(e) => {
                    tracing::debug!("invalid request: {e}");
                    Response::new(StatusCode::BAD_REQUEST).encode(&mut self.wbuf);
                    self.flush().await?;
                    if e.is_fatal() {
                        return Err(CloseReason::Malformed(e.to_string()));
                    }
                }
            }
        }
        self.flush().await
    }

    fn on_interleaved(&mut self, frame: &Interleaved, now: Instant) -> Result<(), CloseReason> {
        let Some(rec) = self.recording.as_mut() else {
            // A reader's RTCP: its receiver reports tell what it lost.
            if let Some(p) = self.playing.as_mut() {
                p.on_interleaved_rtcp(frame.channel, &frame.payload);
            }
            return Ok(());
        };
        match rec
            .channels
            .get(usize::from(frame.channel))
            .copied()
            .flatten()
        {
            Some((track, Channel::Rtp)) => rec
                .publishing
                .on_rtp(track, &frame.payload, now)
                .map_err(CloseReason::from),
            Some((track, Channel::Rtcp)) => {
                rec.publishing.on_rtcp(track, &frame.payload, now);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn on_datagram(&mut self, d: Datagram, now: Instant) -> Result<(), CloseReason> {
        if let Some(s) = self.session.as_mut() {
            s.machine.on_packet(now);
            s.entry
                .bytes_received
                .fetch_add(d.data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        let Some(rec) = self.recording.as_mut() else {
            if let (Some(p), Channel::Rtcp) = (self.playing.as_mut(), d.channel) {
                p.on_rtcp(d.track, &d.data);
            }
            return Ok(());
        };
        match d.channel {
            Channel::Rtp => rec
                .publishing
                .on_rtp(d.track, &d.data, now)
                .map_err(CloseReason::from),
            Channel::Rtcp => {
                rec.publishing.on_rtcp(d.track, &d.data, now);
                Ok(())
            }
        }
    }

    async fn on_unit(&mut self, unit: &Unit, now: Instant) -> Result<(), CloseReason> {
        let Some(playing) = self.playing.as_mut() else {
            return Ok(());
        };
        let sent = playing.send(unit, &mut self.wbuf, &mut self.udp_out, now);
        playing.handle.reader().add_bytes_sent(sent as u64);
        self.flush().await
    }

    async fn send_reports(&mut self, now: Instant) -> Result<(), CloseReason> {
        let mut out: Vec<(Destination, Bytes)> = Vec::new();
        if let Some(rec) = self.recording.as_mut() {
            for (track, data) in rec.publishing.receiver_reports(now) {
                if let Some(Some(dest)) = rec.reports_to.get(track) {
                    out.push((*dest, data));
                }
            }
        }
        if let Some(playing) = self.playing.as_ref() {
            out.extend(playing.sender_reports(now));
        }
        for (dest, data) in out {
            match dest {
                Destination::Interleaved { rtcp, .. } => {
                    let Ok(len) = u16::try_from(data.len()) else {
                        continue;
                    };
                    self.wbuf.put_u8(interleaved::MAGIC);
                    self.wbuf.put_u8(rtcp);
                    self.wbuf.put_u16(len);
                    self.wbuf.extend_from_slice(&data);
                }
                Destination::Udp { rtcp, .. } => {
                    if let Some(udp) = &self.ctx.udp
                        && let Err(e) = udp.send(Channel::Rtcp, &data, rtcp).await
                    {
                        tracing::debug!("UDP send error: {e}");
                    }
                }
            }
        }
        self.flush().await
    }

    /// Logs what went wrong with the publisher's packets since the last time.
    fn log_anomalies(&mut self) {
        let (Some(rec), Some(s)) = (self.recording.as_mut(), self.session.as_ref()) else {
            return;
        };
        rec.publishing.update_jitter();
        for line in rec.publishing.take_anomalies().log_lines() {
            s.span.in_scope(|| tracing::warn!("{line}"));
        }
    }

    /// Writes what is queued, within `writeTimeout`.
    pub(super) async fn flush(&mut self) -> Result<(), CloseReason> {
        if !self.udp_out.is_empty() {
            if let Some(udp) = self.ctx.udp.clone() {
                for (addr, data) in self.udp_out.drain(..) {
                    if let Some(s) = &self.session {
                        s.entry
                            .bytes_sent
                            .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                    if let Err(e) = udp.send(Channel::Rtp, &data, addr).await {
                        tracing::debug!("UDP send error: {e}");
                    }
                }
            }
            self.udp_out.clear();
        }
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let timeout = self.ctx.settings.write_timeout;
        let write = async {
            self.writer.write_all(&self.wbuf).await?;
            // TLS keeps records until flushed.
            self.writer.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Ok(Ok(())) => {
                self.entry.sent(self.wbuf.len() as u64);
                self.wbuf.clear();
                Ok(())
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(CloseReason::WriteTimeout),
        }
    }

    /// Ends the session, if any: stops publishing or reading and logs why.
    pub(super) fn destroy_session(&mut self, reason: &dyn std::fmt::Display) {
        self.playing = None;
        self.recording = None;
        self.publisher = None;
        if let Some(udp) = &self.ctx.udp {
            udp.remove(self.id);
        }
        if let Some(s) = self.session.take() {
            self.entry.set_session(None);
            s.span.in_scope(|| tracing::info!("destroyed: {reason}"));
        }
    }
}
