//! Requests of a connection: path access (authentication, publisher and reader slots
//! through the path manager), the session state machine, and the effects it asks for.

use std::sync::Arc;
use std::time::Instant;

use ferromtx_auth as mtx_auth;
use ferromtx_codec::Format;
use ferromtx_conf::AuthMethod;
use ferromtx_core::hooks::Described;
use ferromtx_core::{PathError, PathRequest, ReaderHandle, Stream, Track};

use super::close::CloseReason;
use super::conn::{Conn, ConnContext, Recording, Session};
use super::info::SessionEntry;
use super::read::{Destination, Playing};
use super::udp::Channel;
use crate::auth::{self, REALM};
use crate::message::{Method, Request, Response, StatusCode};
use crate::rtp_in::Publishing;
use crate::sdp::SessionDescription;
use crate::secret;
use crate::server_session::{
    Effect, ServerSession, SetupTrack, State, StreamInfo, TrackTransport, TransportKind,
    path_and_query, setup_target,
};
use crate::transport::interface_of;

/// The description of a stream as served on DESCRIBE, with the parameter sets seen
/// in-band so far (a WebRTC publisher announces none in its SDP).
fn description_of(stream: &Stream) -> SessionDescription {
    let formats: Vec<Format> = stream
        .described_tracks()
        .into_iter()
        .map(|t| t.format)
        .collect();
    SessionDescription::from_formats("Stream", &formats)
}

/// A redirect target as a full URL: a target starting with `/` keeps the request's scheme and
/// host, like MediaMTX.
fn absolute_url(request_uri: &str, to: &str) -> String {
    if !to.starts_with('/') {
        return to.to_string();
    }
    match request_uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            format!("{scheme}://{host}{to}")
        }
        None => to.to_string(),
    }
}

/// The answer to a refused path access; `Err` also closes the connection, except
/// when the client is only asked for credentials.
async fn path_error(
    ctx: &ConnContext,
    nonce: &str,
    req: &Request,
    err: PathError,
) -> Result<Response, (Response, CloseReason)> {
    let cseq = req.headers.get("CSeq").unwrap_or("0").trim().to_string();
    if let PathError::Redirect(to) = &err {
        let mut r = Response::new(StatusCode(302));
        r.headers.set("CSeq", cseq);
        r.headers.set("Location", absolute_url(&req.uri, to));
        return Ok(r);
    }
    let mut r = match &err {
        PathError::Auth(_) => Response::new(StatusCode::UNAUTHORIZED),
        PathError::NoStream(_) => Response::new(StatusCode::NOT_FOUND),
        _ => Response::new(StatusCode::BAD_REQUEST),
    };
    r.headers.set("CSeq", cseq);
    if let PathError::Auth(e) = &err {
        if e.ask_credentials {
            for c in auth::challenges(&ctx.settings.auth_methods, REALM, nonce) {
                r.headers.append("WWW-Authenticate", c);
            }
            return Ok(r);
        }
        tokio::time::sleep(ctx.settings.auth_pause).await;
    }
    Err((r, CloseReason::from(err)))
}

impl Conn {
    /// Handles one request and queues its response. `Err` closes the connection.
    pub(super) async fn on_request(
        &mut self,
        req: Request,
        now: Instant,
    ) -> Result<(), CloseReason> {
        tracing::debug!("[c->s] {} {}", req.method, req.uri);
        let res = match req.method {
            Method::Describe => self.describe(&req, now).await,
            Method::Announce => self.announce(&req, now).await,
            Method::Setup => self.setup(&req, now).await,
            _ => self.in_session(&req, None, now),
        };
        let (response, close) = match res {
            Ok(r) => (r, None),
            Err((r, reason)) => (r, Some(reason)),
        };
        if matches!(req.method, Method::Announce | Method::Setup)
            && response.status.0 == 200
            && let Some(s) = &self.session
        {
            let ua = req.headers.get("User-Agent").unwrap_or("");
            s.entry.set_client(&self.credentials(&req).user, ua);
        }
        tracing::debug!("[s->c] {}", response.status.0);
        self.sync_session_info();
        response.encode(&mut self.wbuf);
        close.map_or(Ok(()), Err)
    }

    /// Copies what the API shows of the session from its state machine.
    fn sync_session_info(&self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let transport = s.machine.transport();
        s.entry.update(
            s.machine.state(),
            s.machine.path(),
            &s.query,
            transport.map(|t| t.to_string()),
            transport.map(|_| "AVP".to_string()),
        );
    }

    /// The credentials of a request for the path manager. A Digest answer proves the
    /// password without carrying it: the internal user whose plain password produces
    /// the answer is handed over, and the path manager checks its permissions. Hashed
    /// passwords cannot work with Digest (as in MediaMTX); other auth methods get the
    /// user name alone.
    fn credentials(&self, req: &Request) -> mtx_auth::Credentials {
        let Some(value) = req.headers.get("Authorization") else {
            return mtx_auth::Credentials::default();
        };
        let username = match auth::Credentials::parse(value) {
            Ok(auth::Credentials::Basic { user, pass }) => {
                return mtx_auth::Credentials {
                    user,
                    pass,
                    token: String::new(),
                };
            }
            Ok(auth::Credentials::Digest { username, .. }) => username,
            Err(_) => return mtx_auth::Credentials::default(),
        };
        let conf = self.ctx.paths.conf();
        let hashed = |p: &str| p.starts_with("sha256:") || p.starts_with("argon2:");
        let proven = (conf.auth_method == AuthMethod::Internal)
            .then(|| {
                conf.auth_internal_users.iter().find(|u| {
                    u.user == username
                        && !hashed(&u.pass)
                        && auth::verify(
                            &req.method,
                            &req.uri,
                            Some(value),
                            (&u.user, &u.pass),
                            &self.ctx.settings.auth_methods,
                            REALM,
                            &self.nonce,
                        )
                        .is_ok()
                })
            })
            .flatten();
        match proven {
            Some(u) => mtx_auth::Credentials {
                user: u.user.clone(),
                pass: u.pass.clone(),
                token: String::new(),
            },
            None => mtx_auth::Credentials {
                user: username,
                ..mtx_auth::Credentials::default()
            },
        }
    }

    fn path_request(&self, req: &Request, name: String, query: Option<String>) -> PathRequest {
        let who = match &self.session {
            Some(s) => Described {
                kind: self.ctx.kind(true).into(),
                id: s.uuid.clone(),
            },
            None => Described {
                kind: self.ctx.kind(false).into(),
                id: self.uuid.clone(),
            },
        };
        PathRequest {
            name,
            query: query.unwrap_or_default(),
            ip: self.peer.ip(),
            credentials: self.credentials(req),
            protocol: mtx_auth::Protocol::Rtsp,
            who,
            skip_auth: false,
        }
    }

    fn ensure_session(&mut self, now: Instant) -> &mut Session {
        self.session.get_or_insert_with(|| {
            let uuid = secret::uuid();
            let span = tracing::info_span!(
                parent: None,
                "rtsp_session",
                component = self.ctx.label(),
                session = %&uuid[..8]
            );
            span.in_scope(|| tracing::info!("created by {}", self.peer));
            let entry = Arc::new(SessionEntry::new(uuid.clone(), self.peer));
            self.entry.set_session(Some(Arc::clone(&entry)));
            Session {
                entry,
                machine: ServerSession::new(secret::hex(16), self.ctx.session_config.clone(), now),
                span,
                uuid,
                query: String::new(),
                announced: None,
                reader: None,
                multicast: None,
            }
        })
    }

    /// Passes a request to the session (or, before one exists, to a scratch machine for
    /// the requests that need none), then carries out its effects.
    fn in_session(
        &mut self,
        req: &Request,
        stream: Option<&SessionDescription>,
        now: Instant,
    ) -> Result<Response, (Response, CloseReason)> {
        self.in_session_with(req, stream, &[], now)
    }

    /// [`Conn::in_session`] with the multicast groups of the stream's medias.
    fn in_session_with(
        &mut self,
        req: &Request,
        stream: Option<&SessionDescription>,
        multicast_ips: &[String],
        now: Instant,
    ) -> Result<Response, (Response, CloseReason)> {
        let info = stream.map(|description| StreamInfo {
            description,
            multicast_ips,
        });
        let reply = match self.session.as_mut() {
            Some(s) => s.machine.handle(req, info, now),
            None => {
                if matches!(
                    req.method,
                    Method::Play | Method::Record | Method::Pause | Method::Teardown
                ) {
                    let mut r = Response::new(StatusCode::SESSION_NOT_FOUND);
                    if let Some(c) = req.headers.get("CSeq") {
                        r.headers.set("CSeq", c.trim());
                    }
                    return Ok(r);
                }
                ServerSession::new("", self.ctx.session_config.clone(), now).handle(req, info, now)
            }
        };
        if let Some(e) = &reply.error {
            tracing::debug!("{} refused: {e}", req.method);
        }
        for effect in reply.effects {
            self.apply(effect)
                .map_err(|reason| (reply.response.clone(), reason))?;
        }
        Ok(reply.response)
    }

    fn apply(&mut self, effect: Effect) -> Result<(), CloseReason> {
        let line = effect.log_line();
        match effect {
            Effect::Announce { description, .. } => {
                if let Some(s) = self.session.as_mut() {
                    s.announced = Some(description);
                }
            }
            Effect::StartRecord { path, tracks, .. } => self.start_record(&path, &tracks)?,
            Effect::StartPlay { tracks, .. } => {
                let Some(s) = self.session.as_mut() else {
                    return Ok(());
                };
                let Some(handle) = s.reader.take() else {
                    return Err(CloseReason::Session("no stream is available"));
                };
                if let Some(line) = line {
                    s.span.in_scope(|| tracing::info!("{line}"));
                }
                let counters = Arc::clone(&s.entry.counters);
                self.route_udp(&tracks, Channel::Rtcp);
                self.playing = Some(
                    Playing::new(
                        handle,
                        &tracks,
                        self.peer.ip(),
                        self.ctx.settings.udp_max_payload_size,
                    )
                    .with_counters(counters),
                );
            }
            Effect::Pause => {
                if let Some(p) = self.playing.take()
                    && let Some(s) = self.session.as_mut()
                {
                    s.reader = Some(p.handle);
                }
            }
            Effect::Close(reason) => {
                let text = match reason {
                    crate::server_session::CloseReason::TornDown => {
                        format!("torn down by {}", self.peer)
                    }
                    other => other.to_string(),
                };
                self.destroy_session(&text);
            }
        }
        Ok(())
    }

    /// Sends datagrams from the client's ports of `tracks` to this connection.
    fn route_udp(&self, tracks: &[SetupTrack], only: Channel) {
        let Some(udp) = &self.ctx.udp else {
            return;
        };
        for t in tracks {
            if let TrackTransport::Udp {
                client_rtp_port,
                client_rtcp_port,
            } = t.transport
            {
                let ip = self.peer.ip();
                if only == Channel::Rtp {
                    let from = std::net::SocketAddr::new(ip, client_rtp_port);
                    udp.add(
                        self.id,
                        Channel::Rtp,
                        from,
                        t.media_index,
                        self.udp_tx.clone(),
                    );
                }
                let from = std::net::SocketAddr::new(ip, client_rtcp_port);
                udp.add(
                    self.id,
                    Channel::Rtcp,
                    from,
                    t.media_index,
                    self.udp_tx.clone(),
                );
            }
        }
    }

    fn start_record(&mut self, path: &str, tracks: &[SetupTrack]) -> Result<(), CloseReason> {
        let (Some(s), Some(publisher)) = (self.session.as_ref(), self.publisher.as_ref()) else {
            return Err(CloseReason::Session("not publishing"));
        };
        let Some(announced) = s.announced.as_ref() else {
            return Err(CloseReason::Session("no announced medias"));
        };
        let mut formats = Vec::with_capacity(announced.medias.len());
        for m in &announced.medias {
            let Some(f) = m.formats.first() else {
                return Err(CloseReason::Session("invalid SDP: media without formats"));
            };
            formats.push(f.clone());
        }
        let core_tracks = formats
            .iter()
            .map(|f| Track { format: f.clone() })
            .collect();
        let stream = publisher.start_with_query(core_tracks, &s.query)?;
        let mut channels = vec![None; 256];
        let mut reports_to = vec![None; formats.len()];
        for t in tracks {
            match t.transport {
                TrackTransport::Tcp {
                    rtp_channel,
                    rtcp_channel,
                } => {
                    channels[usize::from(rtp_channel)] = Some((t.media_index, Channel::Rtp));
                    channels[usize::from(rtcp_channel)] = Some((t.media_index, Channel::Rtcp));
                    if let Some(slot) = reports_to.get_mut(t.media_index) {
                        *slot = Some(Destination::Interleaved {
                            rtp: rtp_channel,
                            rtcp: rtcp_channel,
                        });
                    }
                }
                TrackTransport::Udp {
                    client_rtp_port,
                    client_rtcp_port,
                } => {
                    if let Some(slot) = reports_to.get_mut(t.media_index) {
                        let ip = self.peer.ip();
                        *slot = Some(Destination::Udp {
                            rtp: std::net::SocketAddr::new(ip, client_rtp_port),
                            rtcp: std::net::SocketAddr::new(ip, client_rtcp_port),
                        });
                    }
                }
                TrackTransport::Multicast { .. } => {}
            }
        }
        // MediaMTX 1.20 names the tracks in the path's `stream is available` line only.
        s.span
            .in_scope(|| tracing::info!("is publishing to path '{path}'"));
        self.route_udp(tracks, Channel::Rtp);
        self.recording = Some(Recording {
            publishing: Publishing::new(
                stream,
                secret::random_u64() as u32,
                self.ctx.settings.udp_max_payload_size,
            )
            .with_counters(Arc::clone(&s.entry.counters)),
            channels,
            reports_to,
        });
        Ok(())
    }

    async fn describe(
        &mut self,
        req: &Request,
        now: Instant,
    ) -> Result<Response, (Response, CloseReason)> {
        let Some((path, query)) = path_and_query(&req.uri) else {
            return self.in_session(req, None, now);
        };
        // MediaMTX does not count a DESCRIBE as a reader: the handle only serves to
        // authenticate and to find the stream, and is released at once.
        let handle = match self
            .ctx
            .paths
            .add_reader(self.path_request(req, path, query))
            .await
        {
            Ok(h) => h,
            Err(e) => return path_error(&self.ctx, &self.nonce, req, e).await,
        };
        let description = description_of(handle.stream());
        drop(handle);
        self.in_session(req, Some(&description), now)
    }

    async fn announce(
        &mut self,
        req: &Request,
        now: Instant,
    ) -> Result<Response, (Response, CloseReason)> {
        let fresh = self
            .session
            .as_ref()
            .is_none_or(|s| s.machine.state() == State::Initial);
        let target = path_and_query(&req.uri);
        let (Some((path, query)), true) = (target, fresh) else {
            return self.in_session(req, None, now);
        };
        self.ensure_session(now);
        let publisher = match self
            .ctx
            .paths
            .add_publisher(self.path_request(req, path, query.clone()))
            .await
        {
            Ok(p) => p,
            Err(e) => return path_error(&self.ctx, &self.nonce, req, e).await,
        };
        let response = self.in_session(req, None, now)?;
        if response.status == StatusCode::OK {
            self.publisher = Some(publisher);
            if let Some(s) = self.session.as_mut() {
                s.query = query.unwrap_or_default();
            }
        }
        Ok(response)
    }

    async fn setup(
        &mut self,
        req: &Request,
        now: Instant,
    ) -> Result<Response, (Response, CloseReason)> {
        let state = self.session.as_ref().map(|s| s.machine.state());
        if state == Some(State::PreRecord) {
            return self.in_session(req, None, now);
        }
        let Some(target) = setup_target(&req.uri) else {
            return self.in_session(req, None, now);
        };
        let held = self
            .session
            .as_ref()
            .and_then(|s| s.reader.as_ref())
            .filter(|h| h.path_name() == target.path)
            .map(|h| Arc::clone(h.stream()));
        if let Some(stream) = held {
            let description = description_of(&stream);
            let ips = self.multicast_groups(req, &stream);
            return self.in_session_with(req, Some(&description), &ips, now);
        }
        self.ensure_session(now);
        let handle: ReaderHandle = match self
            .ctx
            .paths
            .add_reader(self.path_request(req, target.path, target.query.clone()))
            .await
        {
            Ok(h) => h,
            Err(e) => return path_error(&self.ctx, &self.nonce, req, e).await,
        };
        let stream = Arc::clone(handle.stream());
        let description = description_of(&stream);
        let ips = self.multicast_groups(req, &stream);
        let response = self.in_session_with(req, Some(&description), &ips, now)?;
        if response.status == StatusCode::OK
            && let Some(s) = self.session.as_mut()
            && s.reader.is_none()
        {
            s.reader = Some(handle);
            s.query = target.query.unwrap_or_default();
        }
        Ok(response)
    }

    /// For a SETUP that asks for multicast, the groups of the stream's medias: the
    /// session joins them (through the interface the connection came in on) the first
    /// time. Empty when multicast is off or cannot be served (the SETUP then gets 461).
    fn multicast_groups(
        &mut self,
        req: &Request,
        stream: &Arc<ferromtx_core::Stream>,
    ) -> Vec<String> {
        let (Some(multicast), Some(session)) = (self.ctx.multicast.clone(), self.session.as_mut())
        else {
            return Vec::new();
        };
        if session.machine.requested_transport(req) != Some(TransportKind::Multicast) {
            return Vec::new();
        }
        if let Some(m) = &session.multicast {
            return m.ips();
        }
        let Some(iface) = self.local.map(|a| a.ip()).and_then(interface_of) else {
            tracing::debug!("multicast needs an IPv4 connection");
            return Vec::new();
        };
        match multicast.join(stream, iface) {
            Ok(m) => {
                let ips = m.ips();
                session.multicast = Some(m);
                ips
            }
            Err(e) => {
                tracing::warn!("unable to set up multicast: {e}");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod redirect_tests {
    use super::absolute_url;

    #[test]
    fn relative_targets_keep_scheme_and_host() {
        assert_eq!(
            absolute_url("rtsp://10.0.0.1:8554/cam?x=1", "/other"),
            "rtsp://10.0.0.1:8554/other"
        );
        assert_eq!(
            absolute_url("rtsp://h/cam", "rtsp://elsewhere:554/s"),
            "rtsp://elsewhere:554/s"
        );
    }
}
