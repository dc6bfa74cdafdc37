//! The WebRTC server (WHEP readers, WHIP publishers) as a component of the binary: its
//! settings from the `webrtc*` keys, the HTTP server of its endpoints, its ICE sockets, and
//! what the API shows of its sessions.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use ferromtx_api::component::{BoxFuture, Registration};
use ferromtx_api::{
    Context, Failure, HttpServer, HttpServerKind, HttpSettings, Server, Servers, Sessions,
    component, dto,
};
use ferromtx_conf::{Conf, WebRtcIceServer};

use crate::server::{SessionInfo, WebrtcConfig, WebrtcServer};
use crate::session::candidate_label;
use crate::{CoreBackend, http};

/// Registers the WebRTC server.
pub fn register(r: &mut Registration) {
    r.component(component::<Webrtc>());
}

/// The WHIP/WHEP HTTP server: its router authenticates per path and answers CORS itself;
/// the shared layer adds TLS (`webrtcEncryption`) and the client's address as a trusted
/// proxy tells it.
pub const HTTP_KIND: HttpServerKind = HttpServerKind {
    log_prefix: "[WebRTC]",
    preflight: (http::ALLOW_METHODS, http::ALLOW_HEADERS),
    auth: None,
    client_in_connect_info: true,
};

/// Everything of the configuration the WebRTC server reads: a change restarts it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebrtcSettings {
    /// `webrtcAddress`.
    pub address: String,
    /// `webrtcEncryption`, `webrtcServerKey/Cert`, `webrtcAllowOrigins`,
    /// `webrtcTrustedProxies`, `readTimeout`.
    pub http: HttpSettings,
    /// `webrtcLocalUDPAddress`, `webrtcLocalTCPAddress` (empty: off).
    pub local_udp_address: String,
    pub local_tcp_address: String,
    /// `webrtcIPsFromInterfaces`, `webrtcIPsFromInterfacesList`, `webrtcAdditionalHosts`.
    pub ips_from_interfaces: bool,
    pub ips_from_interfaces_list: Vec<String>,
    pub additional_hosts: Vec<String>,
    /// `webrtcICEServers2`.
    pub ice_servers: Vec<WebRtcIceServer>,
    /// `webrtcHandshakeTimeout`, `webrtcTrackGatherTimeout`, `webrtcSTUNGatherTimeout`.
    pub handshake_timeout: Duration,
    pub track_gather_timeout: Duration,
    pub stun_gather_timeout: Duration,
    /// `udpReadBufferSize` for the ICE/UDP socket (0: enlarged as far as the system lets).
    pub udp_read_buffer_size: usize,
    /// Audio browsers can't play is transcoded to Opus: not a `mediamtx.yml` key (MediaMTX
    /// would refuse the file), the environment's [`crate::transcode::TRANSCODE_ENV`].
    pub transcode_audio: bool,
}

impl WebrtcSettings {
    pub fn from_conf(conf: &Conf) -> WebrtcSettings {
        WebrtcSettings {
            address: conf.webrtc_address.clone(),
            http: HttpSettings::from_keys(
                HTTP_KIND.log_prefix,
                conf.webrtc_encryption,
                &conf.webrtc_server_key,
                &conf.webrtc_server_cert,
                &conf.webrtc_allow_origins,
                &conf.webrtc_trusted_proxies,
                conf.read_timeout,
            ),
            local_udp_address: conf.webrtc_local_udp_address.clone(),
            local_tcp_address: conf.webrtc_local_tcp_address.clone(),
            ips_from_interfaces: conf.webrtc_ips_from_interfaces,
            ips_from_interfaces_list: conf.webrtc_ips_from_interfaces_list.clone(),
            additional_hosts: conf.webrtc_additional_hosts.clone(),
            ice_servers: conf.webrtc_ice_servers2.clone(),
            handshake_timeout: conf.webrtc_handshake_timeout,
            track_gather_timeout: conf.webrtc_track_gather_timeout,
            stun_gather_timeout: conf.webrtc_stun_gather_timeout,
            udp_read_buffer_size: usize::try_from(conf.udp_read_buffer_size).unwrap_or(0),
            transcode_audio: crate::transcode::enabled_by(
                std::env::var(crate::transcode::TRANSCODE_ENV)
                    .ok()
                    .as_deref(),
            ),
        }
    }

    /// The `started with listeners` line, in MediaMTX's wording.
    pub fn opened_line(&self) -> String {
        let mut listeners = vec![(
            self.address.as_str(),
            ferromtx_api::http_proto(self.http.encryption),
        )];
        if !self.local_udp_address.is_empty() {
            listeners.push((&self.local_udp_address, "UDP/ICE"));
        }
        if !self.local_tcp_address.is_empty() {
            listeners.push((&self.local_tcp_address, "TCP/ICE"));
        }
        ferromtx_api::started_line("[WebRTC]", &listeners)
    }
}

type Inner = WebrtcServer<CoreBackend>;

/// The running WebRTC server.
pub struct Webrtc {
    server: Arc<Inner>,
    http: HttpServer,
}

impl std::fmt::Debug for Webrtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webrtc").finish_non_exhaustive()
    }
}

impl Server for Webrtc {
    type Settings = WebrtcSettings;

    fn settings(conf: &Conf) -> Option<WebrtcSettings> {
        conf.webrtc.then(|| WebrtcSettings::from_conf(conf))
    }

    fn start<'a>(
        settings: &'a WebrtcSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let server = WebrtcServer::start(
                WebrtcConfig::from_settings(settings),
                CoreBackend::new(Arc::clone(&ctx.paths)).with_transcode(settings.transcode_audio),
            )
            .await
            .map_err(|e| format!("[WebRTC] unable to listen on the ICE sockets: {e}"))?;
            let server = Arc::new(server);
            let http = match HttpServer::start(
                HTTP_KIND,
                &settings.address,
                settings.http.clone(),
                server.router(),
                Arc::clone(&ctx.backend),
            )
            .await
            {
                Ok(h) => h,
                Err(e) => {
                    server.close().await;
                    return Err(e);
                }
            };
            tracing::info!("{}", settings.opened_line());
            Ok(Arc::new(Webrtc { server, http }))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[WebRTC] closing");
            self.http.close().await;
            self.server.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(WebrtcApi(Arc::downgrade(&self.server))))
    }
}

/// What the API shows of the WebRTC server. Holds it weakly: a closed server is gone.
struct WebrtcApi(std::sync::Weak<Inner>);

impl Sessions for WebrtcApi {
    fn servers(&self, running: &mut Servers) {
        running.webrtc = self.0.strong_count() > 0;
    }

    fn webrtc_sessions(&self) -> Vec<dto::WebRTCSession> {
        self.0
            .upgrade()
            .map(|s| s.sessions().iter().map(session).collect())
            .unwrap_or_default()
    }

    fn kick_webrtc_session(&self, id: &str) -> Option<Result<(), Failure>> {
        let server = self.0.upgrade()?;
        server.kick(id).then_some(Ok(()))
    }
}

fn time(t: SystemTime) -> String {
    dto::timestamp(DateTime::<Utc>::from(t))
}

fn session(s: &SessionInfo) -> dto::WebRTCSession {
    let st = &s.stats;
    dto::WebRTCSession {
        bytes_received: st.bytes_received,
        bytes_sent: st.bytes_sent,
        created: time(s.created),
        id: s.id.clone(),
        inbound_bytes: st.bytes_received,
        inbound_rtcp_packets: st.rtcp_packets_received,
        inbound_rtp_packets: st.rtp_packets_received,
        inbound_rtp_packets_jitter: st.rtp_packets_jitter,
        inbound_rtp_packets_lost: st.rtp_packets_lost,
        local_candidate: st
            .local_candidate
            .map(|a| candidate_label(a, st.tcp))
            .unwrap_or_default(),
        outbound_bytes: st.bytes_sent,
        outbound_frames_discarded: 0,
        outbound_rtcp_packets: st.rtcp_packets_sent,
        outbound_rtp_packets: st.rtp_packets_written,
        path: s.path.clone(),
        peer_connection_established: st.peer_connection_established,
        query: s.query.clone(),
        remote_addr: s.remote.map(|r| r.to_string()).unwrap_or_default(),
        remote_candidate: st
            .remote_candidate
            .map(|a| candidate_label(a, st.tcp))
            .unwrap_or_default(),
        rtcp_packets_received: st.rtcp_packets_received,
        rtcp_packets_sent: st.rtcp_packets_sent,
        rtp_packets_jitter: st.rtp_packets_jitter,
        rtp_packets_lost: st.rtp_packets_lost,
        rtp_packets_received: st.rtp_packets_received,
        rtp_packets_sent: st.rtp_packets_written,
        state: if s.publish {
            dto::WebRTCSessionState::Publish
        } else {
            dto::WebRTCSessionState::Read
        },
        user: String::new(),
        user_agent: String::new(),
    }
}
