//! One SRT connection of the server: its stream id, authentication against the path,
//! the path's passphrase, then publishing (MPEG-TS into the stream) or reading (the
//! stream's shared MPEG-TS view). Log lines are MediaMTX's.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ferromtx_api::dto::SRTConnState;
use ferromtx_auth::{Credentials, Protocol};
use ferromtx_conf::AuthAction;
use ferromtx_core::hooks::{self, Described};
use ferromtx_core::{PathError, PathManager, PathRequest, Publisher, ReaderHandle};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::driver::Decider;
use super::{ConnInfo, Conns, SrtSettings, Status};
use crate::link::{Datagrams, Input, Link};
use crate::mpegts_in::TsIngest;
use crate::mpegts_out::{TsView, muxed_tracks};
use crate::stream_id::{Mode, StreamId};
use crate::{AcceptError, CloseReason, ConnectionRequest, Event, RejectReason};

/// How often the API's copy of a connection's counters is refreshed.
const STATS_PERIOD: Duration = Duration::from_millis(500);
/// How often anomalies of a publisher's stream are reported.
const REPORT_PERIOD: Duration = Duration::from_secs(1);

/// The API's kind of SRT connections.
pub(crate) const KIND: &str = "srtConn";

/// What every connection task of a server shares.
pub(crate) struct ConnContext {
    pub settings: SrtSettings,
    pub paths: Arc<PathManager>,
    pub conns: Arc<Conns>,
}

/// Serves one connection request until the connection ends.
pub(crate) async fn serve(
    ctx: Arc<ConnContext>,
    sock: Arc<UdpSocket>,
    req: ConnectionRequest,
    decider: Decider,
    cancel: CancellationToken,
) {
    let peer = ferromtx_net::canonical(req.peer);
    let span = tracing::info_span!("srt_conn", component = "SRT", conn = %peer);
    async move {
        tracing::info!("opened");
        let info = Arc::new(ConnInfo {
            id: crate::uuid(),
            created: SystemTime::now(),
            remote_addr: peer,
            status: std::sync::Mutex::new(Status::default()),
            kick: cancel.clone(),
        });
        let key = ctx.conns.add(Arc::clone(&info));
        let _hook = hooks::on_connect(
            &ctx.settings.run_on_connect,
            ctx.settings.run_on_connect_restart,
            &ctx.settings.run_on_disconnect,
            &ctx.settings.rtsp_address,
            &Described {
                kind: KIND.into(),
                id: info.id.clone(),
            },
        );
        let mut conn = Conn {
            ctx: Arc::clone(&ctx),
            sock,
            req,
            decider,
            info,
            cancel,
        };
        let reason = conn.run().await;
        ctx.conns.remove(key);
        tracing::info!("closed: {reason}");
    }
    .instrument(span)
    .await;
}

struct Conn {
    ctx: Arc<ConnContext>,
    sock: Arc<UdpSocket>,
    req: ConnectionRequest,
    decider: Decider,
    info: Arc<ConnInfo>,
    cancel: CancellationToken,
}

/// Why a connection closed, as its `closed:` line says.
type Reason = String;

impl Conn {
    async fn run(&mut self) -> Reason {
        tracing::debug!("stream ID: {}", self.req.stream_id);
        let id = match StreamId::parse(&self.req.stream_id) {
            Ok(id) => id,
            Err(e) => {
                self.decider.reject(RejectReason::Peer).await;
                return format!("invalid stream ID '{}': {e}", self.req.stream_id);
            }
        };
        let path_req = PathRequest {
            name: id.path.clone(),
            query: id.query.clone(),
            ip: self.info.remote_addr.ip(),
            credentials: Credentials {
                user: id.user.clone(),
                pass: id.pass.clone(),
                token: String::new(),
            },
            protocol: Protocol::Srt,
            who: Described {
                kind: KIND.into(),
                id: self.info.id.clone(),
            },
            skip_auth: false,
        };
        match id.mode {
            Mode::Publish => self.publish(path_req, &id).await,
            Mode::Read => self.read(path_req, &id).await,
        }
    }

    /// Refuses the caller after a path error (MediaMTX answers `REJ_PEER` to all).
    async fn refuse(&mut self, e: PathError) -> Reason {
        self.decider.reject(RejectReason::Peer).await;
        e.to_string()
    }

    /// Accepts the caller with the path's passphrase (empty: none).
    async fn accept(&mut self, passphrase: &str) -> Result<Link, Reason> {
        let passphrase = (!passphrase.is_empty()).then(|| passphrase.to_owned());
        match self.decider.accept(passphrase).await {
            Ok((conn, rx)) => Ok(Link::new(
                conn,
                Arc::clone(&self.sock),
                self.req.peer,
                Datagrams::Routed(rx),
            )),
            Err(e) => {
                // MediaMTX refuses wrong and missing passphrases with REJ_PEER and an
                // encrypted caller of a path without passphrase with REJ_BADSECRET.
                let reason = match e {
                    AcceptError::UnexpectedEncryption => RejectReason::BadSecret,
                    _ => RejectReason::Peer,
                };
                self.decider.reject(reason).await;
                Err(e.to_string())
            }
        }
    }

    async fn publish(&mut self, mut req: PathRequest, id: &StreamId) -> Reason {
        // Authentication and the passphrase come first, as in MediaMTX: a caller that fails
        // them never touches the path (with `overridePublisher` it would replace the
        // publisher in place).
        let checked = tokio::select! {
            r = self.ctx.paths.authenticate(&req, AuthAction::Publish) => r,
            () = self.cancel.cancelled() => return "terminated".into(),
        };
        if let Err(e) = checked {
            return self.refuse(e).await;
        }
        let conf = self.ctx.paths.conf();
        let passphrase = match conf.find_path_conf(&req.name) {
            Ok(m) => m.conf.srt_publish_passphrase.clone(),
            Err(e) => return self.refuse(e.into()).await,
        };
        drop(conf);
        self.info.update(|s| s.user.clone_from(&id.user));
        let mut link = match self.accept(&passphrase).await {
            Ok(link) => link,
            Err(reason) => return reason,
        };
        req.skip_auth = true;
        let added = tokio::select! {
            r = self.ctx.paths.add_publisher(req) => r,
            () = self.cancel.cancelled() => Err(PathError::Terminated),
        };
        let reason = match added {
            Ok(publisher) => self.run_publish(&mut link, &publisher, id).await,
            Err(e) => e.to_string(),
        };
        close(&mut link).await;
        reason
    }

    async fn run_publish(
        &mut self,
        link: &mut Link,
        publisher: &Publisher,
        id: &StreamId,
    ) -> Reason {
        let mut ingest = TsIngest::new();
        let tracks_deadline = Instant::now() + self.ctx.settings.read_timeout;
        let mut last_stats = Instant::now();
        let mut last_report = Instant::now();
        loop {
            if let Err(e) = link.flush().await {
                return e.to_string();
            }
            while let Some(event) = link.conn.poll_event() {
                match event {
                    Event::Connected { .. } => {}
                    Event::Data(data) => match ingest.push(&data) {
                        Ok(None) => {}
                        Ok(Some(tracks)) => {
                            let stream = match publisher.start_with_query(tracks, &id.query) {
                                Ok(s) => s,
                                Err(e) => return e.to_string(),
                            };
                            if let Err(e) = ingest.start(stream) {
                                return e.to_string();
                            }
                            // MediaMTX 1.20 names the tracks in the path's
                            // `stream is available` line only.
                            tracing::info!("is publishing to path '{}'", id.path);
                            self.info.update(|s| {
                                s.state = SRTConnState::Publish;
                                s.path.clone_from(&id.path);
                                s.query.clone_from(&id.query);
                            });
                        }
                        Err(e) => return e.to_string(),
                    },
                    Event::Gap(_) => ingest.lost_input(),
                    Event::Closed(r) => return close_text(r),
                }
            }
            let now = Instant::now();
            if now.duration_since(last_stats) >= STATS_PERIOD {
                last_stats = now;
                let stats = link.conn.stats();
                self.info.update(|s| s.stats = Some(stats));
            }
            if now.duration_since(last_report) >= REPORT_PERIOD {
                last_report = now;
                for line in ingest.take_log_lines() {
                    tracing::warn!("{line}");
                }
            }
            if !ingest.is_started() && now >= tracks_deadline {
                return "deadline exceeded while waiting tracks".into();
            }
            let input = tokio::select! {
                i = link.next_input() => i,
                () = publisher.kicked() => return "terminated".into(),
                () = self.cancel.cancelled() => return "terminated".into(),
                () = tokio::time::sleep(REPORT_PERIOD) => Input::Timeout,
            };
            link.apply(input);
        }
    }

    async fn read(&mut self, req: PathRequest, id: &StreamId) -> Reason {
        let added = tokio::select! {
            r = self.ctx.paths.add_reader(req) => r,
            () = self.cancel.cancelled() => return "terminated".into(),
        };
        let mut handle = match added {
            Ok(h) => h,
            Err(e) => return self.refuse(e).await,
        };
        let passphrase = handle.conf().srt_read_passphrase.clone();
        let mut link = match self.accept(&passphrase).await {
            Ok(link) => link,
            Err(reason) => return reason,
        };
        let reason = self.run_read(&mut link, &mut handle, id).await;
        close(&mut link).await;
        reason
    }

    async fn run_read(
        &mut self,
        link: &mut Link,
        handle: &mut ReaderHandle,
        id: &StreamId,
    ) -> Reason {
        let stream = Arc::clone(handle.stream());
        let muxed = muxed_tracks(stream.tracks());
        if muxed.is_empty() {
            return crate::mpegts_in::TsError::NoSupportedCodecs.to_string();
        }
        for (n, t) in stream.tracks().iter().enumerate() {
            if !muxed.iter().any(|(i, _)| *i == n) {
                tracing::warn!("skipping track {} ({})", n + 1, t.format.codec_name());
            }
        }
        let codecs: Vec<&str> = muxed
            .iter()
            .filter_map(|(i, _)| stream.tracks().get(*i).map(|t| t.format.codec_name()))
            .collect();
        tracing::info!(
            "is reading from path '{}', {}",
            handle.path_name(),
            ferromtx_core::stream::tracks_info(&codecs)
        );
        self.info.update(|s| {
            s.state = SRTConnState::Read;
            s.path.clone_from(&id.path);
            s.query.clone_from(&id.query);
            s.user.clone_from(&id.user);
        });
        let view = stream.view::<TsView>(());
        let video = stream.video_track();
        let max_payload = self.ctx.settings.max_payload();
        // Readers start at a keyframe of the video track, if there is one.
        let mut started = video.is_none();
        let mut last_stats = Instant::now();
        loop {
            if let Err(e) = link.flush().await {
                return e.to_string();
            }
            while let Some(event) = link.conn.poll_event() {
                if let Event::Closed(r) = event {
                    return close_text(r);
                }
            }
            let now = Instant::now();
            if now.duration_since(last_stats) >= STATS_PERIOD {
                last_stats = now;
                let stats = link.conn.stats();
                let discarded = handle.reader().discarded();
                self.info.update(|s| {
                    s.stats = Some(stats);
                    s.frames_discarded = discarded;
                });
            }
            let unit = tokio::select! {
                i = link.next_input() => {
                    link.apply(i);
                    continue;
                }
                u = handle.reader().next() => u,
                () = self.cancel.cancelled() => return "terminated".into(),
                () = tokio::time::sleep(STATS_PERIOD) => continue,
            };
            let Some(unit) = unit else {
                return "terminated".into();
            };
            if !started {
                started = video.is_some_and(|v| unit.track == v && unit.random_access);
                if !started {
                    continue;
                }
            }
            if let Some(data) = unit.view(&view) {
                if let Err(e) = link.send(data, max_payload) {
                    return e.to_string();
                }
                handle.reader().add_bytes_sent(data.len() as u64);
            }
        }
    }
}

/// Closes the connection (a SHUTDOWN to the peer).
async fn close(link: &mut Link) {
    if !link.conn.is_closed() {
        link.conn.close(Instant::now());
    }
    let _ = link.flush().await;
}

/// The `closed:` text of an SRT connection's end.
pub(crate) fn close_text(r: CloseReason) -> Reason {
    match r {
        // What Go's gosrt returns to a reader of a connection the peer closed.
        CloseReason::Shutdown => "EOF".into(),
        other => other.to_string(),
    }
}
