//! Sans-IO state machine of one server-side RTSP session (RFC 2326 A.2), shaped after
//! gortsplib's `ServerSession`: it takes requests and `now`, and returns the response
//! plus [`Effect`]s for the driver (start sending, start receiving, close).
//!
//! Path-level decisions (authentication, whether a path exists, who may publish) stay
//! with the driver: it answers those requests itself and only hands the machine the
//! ones it accepts. For a reader's SETUP and for DESCRIBE it passes the path's stream.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::message::{Method, Request, Response, StatusCode};
use crate::public;
use crate::sdp::{self, SessionDescription};
use crate::session::SessionHeader;
use crate::transport::{self, Delivery, Lower, Mode, Profile, Transport};

use crate::request_uri::gstreamer_control_url;
pub use crate::request_uri::{SetupTarget, path_and_query, path_and_track, setup_target};

/// Session states (gortsplib's names in [`fmt::Display`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Initial,
    PrePlay,
    Play,
    PreRecord,
    Record,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initial => "initial",
            State::PrePlay => "prePlay",
            State::Play => "play",
            State::PreRecord => "preRecord",
            State::Record => "record",
        })
    }
}

/// A lower transport a server may allow (MediaMTX `rtspTransports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Udp,
    Multicast,
    Tcp,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Udp => "UDP",
            TransportKind::Multicast => "UDP-multicast",
            TransportKind::Tcp => "TCP",
        })
    }
}

/// Server settings that shape the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub transports: Vec<TransportKind>,
    /// Without requests or RTCP for this long, a UDP reader session times out.
    pub idle_timeout: Duration,
    /// Without RTP or RTCP for this long, a UDP publisher session times out.
    pub read_timeout: Duration,
    /// Server RTP and RTCP ports (`rtpAddress`, `rtcpAddress`).
    pub udp_server_ports: (u16, u16),
    /// `multicastRTPPort`, `multicastRTCPPort`.
    pub multicast_ports: (u16, u16),
    pub multicast_ttl: u8,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            transports: vec![
                TransportKind::Udp,
                TransportKind::Multicast,
                TransportKind::Tcp,
            ],
            idle_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(10),
            udp_server_ports: (8000, 8001),
            multicast_ports: (8002, 8003),
            multicast_ttl: 16,
        }
    }
}

/// What the driver knows about the stream of a path being read.
#[derive(Debug, Clone, Copy)]
pub struct StreamInfo<'a> {
    pub description: &'a SessionDescription,
    /// Multicast group of each media of the stream (gortsplib gives every media its
    /// own address); empty when multicast is not available for this request.
    pub multicast_ips: &'a [String],
}

/// How one media's packets travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackTransport {
    Udp {
        client_rtp_port: u16,
        client_rtcp_port: u16,
    },
    Multicast {
        destination: String,
        rtp_port: u16,
        rtcp_port: u16,
    },
    Tcp {
        rtp_channel: u8,
        rtcp_channel: u8,
    },
}

/// A media that was set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupTrack {
    /// Index in the stream's (reader) or the announced (publisher) description.
    pub media_index: usize,
    pub transport: TrackTransport,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    TornDown,
    TimedOut,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::TornDown => "torn down",
            CloseReason::TimedOut => "session timed out",
        })
    }
}

/// Work for the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A publisher announced this description on `path`.
    Announce {
        path: String,
        description: SessionDescription,
    },
    /// Start sending the stream of `path` on these tracks.
    StartPlay {
        path: String,
        transport: TransportKind,
        tracks: Vec<SetupTrack>,
        codecs: Vec<&'static str>,
    },
    /// Start receiving the announced medias on these tracks.
    StartRecord {
        path: String,
        transport: TransportKind,
        tracks: Vec<SetupTrack>,
        codecs: Vec<&'static str>,
    },
    /// Stop sending or receiving, keep the session.
    Pause,
    /// End the session.
    Close(CloseReason),
}

impl Effect {
    /// The info-level line MediaMTX logs for this effect, if any.
    pub fn log_line(&self) -> Option<String> {
        match self {
            Effect::StartPlay {
                path,
                transport,
                codecs,
                ..
            } => Some(format!(
                "is reading from path '{path}', with {transport}, {}",
                ferromtx_core::stream::tracks_info(codecs)
            )),
            Effect::StartRecord { path, .. } => Some(format!("is publishing to path '{path}'")),
            Effect::Close(reason) => Some(format!("destroyed: {reason}")),
            Effect::Announce { .. } | Effect::Pause => None,
        }
    }
}

/// The result of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub response: Response,
    pub effects: Vec<Effect>,
    /// Why the request failed, in gortsplib's wording, for the driver's log.
    pub error: Option<String>,
}

/// One server-side RTSP session.
#[derive(Debug, Clone)]
pub struct ServerSession {
    id: String,
    config: SessionConfig,
    state: State,
    path: Option<String>,
    announced: Option<(String, SessionDescription)>,
    transport: Option<(TransportKind, Profile)>,
    tracks: Vec<SetupTrack>,
    codecs: Vec<&'static str>,
    last_request: Instant,
    last_packet: Instant,
    closed: bool,
}

/// A refused request: the status to answer and the reason to log.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: String,
}

fn status<T>(code: StatusCode, error: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        status: code,
        error: error.into(),
    })
}

fn ok(response: Response, effects: Vec<Effect>) -> Result<Reply, Refusal> {
    Ok(Reply {
        response,
        effects,
        error: None,
    })
}

impl ServerSession {
    /// `id` is the random secret the driver generated.
    pub fn new(id: impl Into<String>, config: SessionConfig, now: Instant) -> Self {
        ServerSession {
            id: id.into(),
            config,
            state: State::Initial,
            path: None,
            announced: None,
            transport: None,
            tracks: Vec::new(),
            codecs: Vec::new(),
            last_request: now,
            last_packet: now,
            closed: false,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    pub fn transport(&self) -> Option<TransportKind> {
        self.transport.map(|(k, _)| k)
    }

    pub fn tracks(&self) -> &[SetupTrack] {
        &self.tracks
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Handles one request. Always returns a response carrying the request's CSeq.
    pub fn handle(&mut self, req: &Request, stream: Option<StreamInfo<'_>>, now: Instant) -> Reply {
        let Some(cseq) = req.headers.get("CSeq").map(str::trim) else {
            return Reply {
                response: Response::new(StatusCode::BAD_REQUEST),
                effects: Vec::new(),
                error: Some("CSeq is missing".into()),
            };
        };
        let mut reply = if self.closed {
            status(StatusCode::SESSION_NOT_FOUND, "session not found")
        } else {
            self.check_session_header(req)
                .and_then(|()| self.dispatch(req, stream))
        }
        .unwrap_or_else(|r| Reply {
            response: Response::new(r.status),
            effects: Vec::new(),
            error: Some(r.error),
        });
        if reply.response.status == StatusCode::OK {
            self.last_request = now;
        }
        let headers = &mut reply.response.headers;
        headers.set("CSeq", cseq);
        let in_session = self.state != State::Initial || !self.tracks.is_empty();
        if in_session
            && reply.error.is_none()
            && !matches!(req.method, Method::Announce | Method::Teardown)
        {
            headers.set("Session", self.session_header().to_string());
        }
        reply
    }

    /// The `Session` value sent with responses; the timeout is 5 s less than the real
    /// one, as gortsplib does for Media Foundation clients.
    pub fn session_header(&self) -> SessionHeader {
        let secs = self.config.idle_timeout.as_secs().saturating_sub(5).max(1);
        SessionHeader {
            id: self.id.clone(),
            timeout: Some(u32::try_from(secs).unwrap_or(u32::MAX)),
        }
    }

    fn check_session_header(&self, req: &Request) -> Result<(), Refusal> {
        let Some(value) = req.headers.get("Session") else {
            return Ok(());
        };
        match SessionHeader::parse(value) {
            Err(e) => status(
                StatusCode::BAD_REQUEST,
                format!("invalid session header: {e}"),
            ),
            Ok(h) if h.id != self.id => status(StatusCode::SESSION_NOT_FOUND, "session not found"),
            Ok(_) => Ok(()),
        }
    }

    fn check_state(&self, allowed: &[State]) -> Result<(), Refusal> {
        if allowed.contains(&self.state) {
            return Ok(());
        }
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        status(
            StatusCode::METHOD_NOT_VALID_IN_THIS_STATE,
            format!(
                "must be in state [{}], while is in state {}",
                list.join(" "),
                self.state
            ),
        )
    }

    fn dispatch(
        &mut self,
        req: &Request,
        stream: Option<StreamInfo<'_>>,
    ) -> Result<Reply, Refusal> {
        match &req.method {
            Method::Options => {
                let mut r = Response::new(StatusCode::OK);
                r.headers
                    .set("Public", public::format(&public::SERVER_METHODS));
                ok(r, Vec::new())
            }
            Method::Describe => self.describe(req, stream),
            Method::Announce => self.announce(req),
            Method::Setup => self.setup(req, stream),
            Method::Play => self.play(req),
            Method::Record => self.record(req),
            Method::Pause => {
                self.check_state(&[State::PrePlay, State::Play, State::PreRecord, State::Record])?;
                let effects = match self.state {
                    State::Play => {
                        self.state = State::PrePlay;
                        vec![Effect::Pause]
                    }
                    State::Record => {
                        self.state = State::PreRecord;
                        vec![Effect::Pause]
                    }
                    _ => Vec::new(),
                };
                ok(Response::new(StatusCode::OK), effects)
            }
            Method::Teardown => {
                self.closed = true;
                ok(
                    Response::new(StatusCode::OK),
                    vec![Effect::Close(CloseReason::TornDown)],
                )
            }
            Method::GetParameter => {
                let mut r = Response::new(StatusCode::OK);
                r.headers.set("Content-Type", "text/parameters");
                ok(r, Vec::new())
            }
            _ => status(
                StatusCode::NOT_IMPLEMENTED,
                format!("unhandled method: {}", req.method),
            ),
        }
    }

    fn describe(
        &mut self,
        req: &Request,
        stream: Option<StreamInfo<'_>>,
    ) -> Result<Reply, Refusal> {
        if path_and_query(&req.uri).is_none() {
            return status(StatusCode::BAD_REQUEST, "invalid path");
        }
        let Some(stream) = stream else {
            return status(StatusCode::NOT_FOUND, "no stream is available on path");
        };
        let mut r = Response::new(StatusCode::OK);
        let base = format!("{}/", req.uri.trim_end_matches('/'));
        r.headers.set("Content-Base", base);
        r.headers.set("Content-Type", "application/sdp");
        r.body = Bytes::from(stream.description.marshal());
        ok(r, Vec::new())
    }

    fn announce(&mut self, req: &Request) -> Result<Reply, Refusal> {
        self.check_state(&[State::Initial])?;
        let Some((path, _)) = path_and_query(&req.uri) else {
            return status(StatusCode::BAD_REQUEST, "invalid path");
        };
        match req.headers.get("Content-Type") {
            None => return status(StatusCode::BAD_REQUEST, "Content-Type header is missing"),
            Some(ct) if !ct.trim().eq_ignore_ascii_case("application/sdp") => {
                return status(
                    StatusCode::BAD_REQUEST,
                    format!("unsupported Content-Type header '{ct}'"),
                );
            }
            Some(_) => {}
        }
        let text = String::from_utf8_lossy(&req.body);
        let description = match SessionDescription::parse(&text) {
            Ok(d) => d,
            Err(e) => return status(StatusCode::BAD_REQUEST, format!("invalid SDP: {e}")),
        };
        self.state = State::PreRecord;
        self.path = Some(path.clone());
        self.announced = Some((req.uri.clone(), description.clone()));
        ok(
            Response::new(StatusCode::OK),
            vec![Effect::Announce { path, description }],
        )
    }

    /// The transport a SETUP would be served with, if the request asks for one this
    /// session accepts (lets the driver prepare multicast groups first).
    pub fn requested_transport(&self, req: &Request) -> Option<TransportKind> {
        let header = req.headers.get("Transport")?;
        let alternatives = transport::parse(header).ok()?;
        self.pick_transport(&alternatives).map(|(_, kind)| kind)
    }

    fn pick_transport(&self, alternatives: &[Transport]) -> Option<(Transport, TransportKind)> {
        alternatives.iter().find_map(|t| {
            let kind = match (t.lower, t.delivery) {
                (Lower::Tcp, _) => TransportKind::Tcp,
                (Lower::Udp, Some(Delivery::Multicast)) => TransportKind::Multicast,
                (Lower::Udp, _) => TransportKind::Udp,
            };
            // SRTP needs key management this session does not do yet.
            (t.profile == Profile::Avp && self.config.transports.contains(&kind))
                .then(|| (t.clone(), kind))
        })
    }

    fn setup(&mut self, req: &Request, stream: Option<StreamInfo<'_>>) -> Result<Reply, Refusal> {
        self.check_state(&[State::Initial, State::PrePlay, State::PreRecord])?;
        let Some(header) = req.headers.get("Transport") else {
            return status(
                StatusCode::BAD_REQUEST,
                "invalid transport header: value not provided",
            );
        };
        let alternatives = match transport::parse(header) {
            Ok(a) => a,
            Err(e) => {
                return status(
                    StatusCode::BAD_REQUEST,
                    format!("invalid transport header: {e}"),
                );
            }
        };
        let Some((th, kind)) = self.pick_transport(&alternatives) else {
            return status(StatusCode::UNSUPPORTED_TRANSPORT, "no supported transport");
        };
        let recording = self.state == State::PreRecord;
        if let Some((k, _)) = self.transport
            && k != kind
        {
            return status(
                StatusCode::BAD_REQUEST,
                "can't setup medias with different transports",
            );
        }
        if recording {
            if kind == TransportKind::Multicast {
                return status(StatusCode::UNSUPPORTED_TRANSPORT, "multicast publishing");
            }
            if th.mode != Some(Mode::Record) {
                return status(
                    StatusCode::BAD_REQUEST,
                    "transport header contains a invalid mode (play)",
                );
            }
        } else if th.mode == Some(Mode::Record) {
            return status(
                StatusCode::BAD_REQUEST,
                "transport header contains a invalid mode (record)",
            );
        }

        let (path, media_index, codecs) = if recording {
            let Some((base, desc)) = self.announced.as_ref() else {
                return status(StatusCode::BAD_REQUEST, "no announced medias");
            };
            let wanted = path_and_query(&req.uri);
            let index = desc.medias.iter().position(|m| {
                let url = sdp::control_url(base, m.control.as_deref());
                url == req.uri
                    || path_and_query(&url) == wanted
                    || gstreamer_control_url(base, m.control.as_deref()) == req.uri
            });
            let Some(index) = index else {
                return status(StatusCode::BAD_REQUEST, "media not found");
            };
            let codecs = desc.medias[index]
                .formats
                .iter()
                .map(|f| f.codec_name())
                .collect();
            (self.path.clone().unwrap_or_default(), index, codecs)
        } else {
            let Some((path, index)) = path_and_track(&req.uri) else {
                return status(StatusCode::BAD_REQUEST, "invalid path");
            };
            if self.path.as_ref().is_some_and(|p| *p != path) {
                return status(
                    StatusCode::BAD_REQUEST,
                    "can't setup medias with different paths",
                );
            }
            let Some(stream) = stream else {
                return status(StatusCode::NOT_FOUND, "no stream is available on path");
            };
            let Some(media) = stream.description.medias.get(index) else {
                return status(StatusCode::BAD_REQUEST, "media not found");
            };
            let codecs = media.formats.iter().map(|f| f.codec_name()).collect();
            (path, index, codecs)
        };
        if self.tracks.iter().any(|t| t.media_index == media_index) {
            return status(StatusCode::BAD_REQUEST, "media has already been setup");
        }

        let mut reply_th = Transport::new(Profile::Avp, th.lower);
        let track = match kind {
            TransportKind::Udp => {
                let Some((rtp, rtcp)) = th.client_port else {
                    return status(
                        StatusCode::BAD_REQUEST,
                        "transport header does not contain client ports",
                    );
                };
                reply_th.delivery = Some(Delivery::Unicast);
                reply_th.client_port = Some((rtp, rtcp));
                reply_th.server_port = Some(self.config.udp_server_ports);
                TrackTransport::Udp {
                    client_rtp_port: rtp,
                    client_rtcp_port: rtcp,
                }
            }
            TransportKind::Multicast => {
                let Some(ip) = stream.and_then(|s| s.multicast_ips.get(media_index)) else {
                    return status(StatusCode::UNSUPPORTED_TRANSPORT, "no multicast group");
                };
                let (rtp_port, rtcp_port) = self.config.multicast_ports;
                reply_th.delivery = Some(Delivery::Multicast);
                reply_th.destination = Some(ip.to_string());
                reply_th.port = Some((rtp_port, rtcp_port));
                reply_th.ttl = Some(self.config.multicast_ttl);
                TrackTransport::Multicast {
                    destination: ip.to_string(),
                    rtp_port,
                    rtcp_port,
                }
            }
            TransportKind::Tcp => {
                let (rtp, rtcp) = match th.interleaved {
                    Some((a, b)) => {
                        if a.checked_add(1) != Some(b) {
                            return status(StatusCode::BAD_REQUEST, "invalid interleaved IDs");
                        }
                        if self.channel_in_use(a) || self.channel_in_use(b) {
                            return status(StatusCode::BAD_REQUEST, "interleaved IDs are in use");
                        }
                        (a, b)
                    }
                    None => match self.free_channel_pair() {
                        Some(pair) => pair,
                        None => return status(StatusCode::BAD_REQUEST, "invalid interleaved IDs"),
                    },
                };
                reply_th.delivery = Some(Delivery::Unicast);
                reply_th.interleaved = Some((rtp, rtcp));
                TrackTransport::Tcp {
                    rtp_channel: rtp,
                    rtcp_channel: rtcp,
                }
            }
        };
        // The answer names no mode, as gortsplib's (MediaMTX) does.
        self.tracks.push(SetupTrack {
            media_index,
            transport: track,
        });
        self.codecs.extend::<Vec<&'static str>>(codecs);
        self.transport = Some((kind, Profile::Avp));
        self.path = Some(path);
        if self.state == State::Initial {
            self.state = State::PrePlay;
        }
        let mut r = Response::new(StatusCode::OK);
        r.headers.set("Transport", reply_th.to_string());
        ok(r, Vec::new())
    }

    fn channel_in_use(&self, channel: u8) -> bool {
        self.tracks.iter().any(|t| {
            matches!(t.transport, TrackTransport::Tcp { rtp_channel, rtcp_channel }
                if rtp_channel == channel || rtcp_channel == channel)
        })
    }

    fn free_channel_pair(&self) -> Option<(u8, u8)> {
        (0..=127u8)
            .map(|i| (i * 2, i * 2 + 1))
            .find(|(a, b)| !self.channel_in_use(*a) && !self.channel_in_use(*b))
    }

    fn sorted_tracks(&self) -> Vec<SetupTrack> {
        let mut tracks = self.tracks.clone();
        tracks.sort_by_key(|t| t.media_index);
        tracks
    }

    fn play(&mut self, req: &Request) -> Result<Reply, Refusal> {
        self.check_state(&[State::PrePlay, State::Play])?;
        if let (Some((path, _)), Some(own)) = (path_and_query(&req.uri), &self.path)
            && path != *own
            && path_and_track(&req.uri).is_none_or(|(p, _)| p != *own)
        {
            return status(
                StatusCode::BAD_REQUEST,
                "can't setup medias with different paths",
            );
        }
        if self.state == State::Play {
            return ok(Response::new(StatusCode::OK), Vec::new());
        }
        self.state = State::Play;
        let effect = Effect::StartPlay {
            path: self.path.clone().unwrap_or_default(),
            transport: self.transport().unwrap_or(TransportKind::Udp),
            tracks: self.sorted_tracks(),
            codecs: self.codecs.clone(),
        };
        ok(Response::new(StatusCode::OK), vec![effect])
    }

    fn record(&mut self, _req: &Request) -> Result<Reply, Refusal> {
        self.check_state(&[State::PreRecord])?;
        let announced = self.announced.as_ref().map_or(0, |(_, d)| d.medias.len());
        if self.tracks.is_empty() {
            return status(StatusCode::BAD_REQUEST, "no medias have been setup");
        }
        if self.tracks.len() != announced {
            return status(
                StatusCode::BAD_REQUEST,
                "not all announced medias have been setup",
            );
        }
        self.state = State::Record;
        let effect = Effect::StartRecord {
            path: self.path.clone().unwrap_or_default(),
            transport: self.transport().unwrap_or(TransportKind::Udp),
            tracks: self.sorted_tracks(),
            codecs: self.codecs.clone(),
        };
        ok(Response::new(StatusCode::OK), vec![effect])
    }

    /// Records that RTP or RTCP arrived for this session (UDP liveness).
    pub fn on_packet(&mut self, now: Instant) {
        self.last_packet = self.last_packet.max(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called; `None` when
    /// the session cannot time out (TCP sessions end with their connection).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed || self.transport() == Some(TransportKind::Tcp) {
            return None;
        }
        Some(match self.state {
            State::Record => self.last_packet + self.config.read_timeout,
            _ => self.last_request.max(self.last_packet) + self.config.idle_timeout,
        })
    }

    /// Closes the session if it has been idle too long.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Effect> {
        let deadline = self.poll_timeout()?;
        if now < deadline {
            return None;
        }
        self.closed = true;
        tracing::debug!(session = %self.id, "session timed out");
        Some(Effect::Close(CloseReason::TimedOut))
    }
}
