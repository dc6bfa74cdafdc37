//! What the RTSP server needs from the configuration.

use std::time::Duration;

use ferromtx_conf::{Conf, IpNetwork, RtspAuthMethod, RtspTransport};

use crate::auth::AuthMethod;
use crate::server_session::TransportKind;

use crate::rtcp::REPORT_PERIOD;
use crate::rtp_in::DEFAULT_UDP_MAX_PAYLOAD_SIZE;

/// Settings of an [`RtspServer`](super::RtspServer), built from `mediamtx.yml` by
/// [`RtspSettings::from_conf`] or by hand in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspSettings {
    /// `rtspAddress`, e.g. `:8554` or `127.0.0.1:0`.
    pub rtsp_address: String,
    /// `rtpAddress`; bound only when UDP is among the transports.
    pub rtp_address: String,
    /// `rtcpAddress`; bound only when UDP is among the transports.
    pub rtcp_address: String,
    /// `rtspTransports` (RTSPS: TCP only, UDP would need SRTP).
    pub transports: Vec<TransportKind>,
    /// `multicastIPRange`, `multicastRTPPort`, `multicastRTCPPort`; used when multicast
    /// is among the transports.
    pub multicast_ip_range: String,
    pub multicast_rtp_port: u16,
    pub multicast_rtcp_port: u16,
    /// `udpReadBufferSize` (or the deprecated `rtspUDPReadBufferSize`, which wins, as in
    /// MediaMTX): receive buffer of the RTP and RTCP sockets; 0 keeps the system's.
    pub udp_read_buffer_size: usize,
    /// `rtspAuthMethods`.
    pub auth_methods: Vec<AuthMethod>,
    /// `readTimeout`: requests and publisher media must arrive within it.
    pub read_timeout: Duration,
    /// `writeTimeout`: a peer that does not take our data within it is dropped.
    pub write_timeout: Duration,
    /// Timeout of UDP reader sessions without requests or RTCP (gortsplib's 60 s).
    pub idle_timeout: Duration,
    /// Period of RTCP sender and receiver reports.
    pub report_period: Duration,
    /// `udpMaxPayloadSize`: largest RTP packet made from frames of non-RTP publishers.
    pub udp_max_payload_size: usize,
    /// Pause before answering a failed authentication (slows down brute force).
    pub auth_pause: Duration,
    /// `runOnConnect`, `runOnConnectRestart`, `runOnDisconnect`.
    pub run_on_connect: String,
    pub run_on_connect_restart: bool,
    pub run_on_disconnect: String,
    /// `rtspTrustedProxies`: when not empty, connections may start with a PROXY protocol
    /// header, whose client address counts when it comes from one of these.
    pub trusted_proxies: Vec<IpNetwork>,
}

impl RtspSettings {
    /// The plain-RTSP listener settings of a configuration.
    pub fn from_conf(conf: &Conf) -> RtspSettings {
        let mut transports = Vec::new();
        for t in &conf.rtsp_transports {
            let kind = match t {
                RtspTransport::Udp => Some(TransportKind::Udp),
                RtspTransport::Tcp => Some(TransportKind::Tcp),
                RtspTransport::Multicast => Some(TransportKind::Multicast),
                RtspTransport::Automatic => None,
            };
            if let Some(kind) = kind
                && !transports.contains(&kind)
            {
                transports.push(kind);
            }
        }
        let mut auth_methods = Vec::new();
        for m in &conf.rtsp_auth_methods {
            let method = match m {
                RtspAuthMethod::Basic => AuthMethod::Basic,
                RtspAuthMethod::Digest => AuthMethod::DigestMd5,
            };
            if !auth_methods.contains(&method) {
                auth_methods.push(method);
            }
        }
        let port = |p: i64| u16::try_from(p).unwrap_or(0);
        RtspSettings {
            rtsp_address: conf.rtsp_address.clone(),
            rtp_address: conf.rtp_address.clone(),
            rtcp_address: conf.rtcp_address.clone(),
            transports,
            multicast_ip_range: conf.multicast_ip_range.clone(),
            multicast_rtp_port: port(conf.multicast_rtp_port),
            multicast_rtcp_port: port(conf.multicast_rtcp_port),
            udp_read_buffer_size: usize::try_from(
                conf.rtsp_udp_read_buffer_size
                    .unwrap_or(conf.udp_read_buffer_size),
            )
            .unwrap_or(0),
            auth_methods,
            read_timeout: conf.read_timeout,
            write_timeout: conf.write_timeout,
            idle_timeout: Duration::from_secs(60),
            report_period: REPORT_PERIOD,
            udp_max_payload_size: usize::try_from(conf.udp_max_payload_size)
                .unwrap_or(DEFAULT_UDP_MAX_PAYLOAD_SIZE),
            auth_pause: ferromtx_auth::PAUSE_AFTER_ERROR,
            run_on_connect: conf.run_on_connect.clone(),
            run_on_connect_restart: conf.run_on_connect_restart,
            run_on_disconnect: conf.run_on_disconnect.clone(),
            trusted_proxies: conf.rtsp_trusted_proxies.clone(),
        }
    }

    /// The RTSPS listener settings of a configuration (`rtspsAddress`): media over TCP
    /// inside TLS only, since UDP and multicast would need SRTP, which is not built.
    pub fn secure_from_conf(conf: &Conf) -> RtspSettings {
        let mut s = RtspSettings::from_conf(conf);
        s.rtsp_address = conf.rtsps_address.clone();
        s.transports.retain(|t| *t == TransportKind::Tcp);
        s
    }

    /// Settings for tests and embedding: TCP and UDP on `127.0.0.1` with free ports,
    /// Basic authentication, MediaMTX's timeouts.
    pub fn loopback() -> RtspSettings {
        RtspSettings {
            rtsp_address: "127.0.0.1:0".into(),
            rtp_address: "127.0.0.1:0".into(),
            rtcp_address: "127.0.0.1:0".into(),
            transports: vec![TransportKind::Udp, TransportKind::Tcp],
            multicast_ip_range: "224.1.0.0/16".into(),
            multicast_rtp_port: 8002,
            multicast_rtcp_port: 8003,
            udp_read_buffer_size: 0,
            auth_methods: vec![AuthMethod::Basic],
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            report_period: REPORT_PERIOD,
            udp_max_payload_size: DEFAULT_UDP_MAX_PAYLOAD_SIZE,
            auth_pause: ferromtx_auth::PAUSE_AFTER_ERROR,
            run_on_connect: String::new(),
            run_on_connect_restart: false,
            run_on_disconnect: String::new(),
            trusted_proxies: Vec::new(),
        }
    }

    pub(crate) fn udp_enabled(&self) -> bool {
        self.transports.contains(&TransportKind::Udp)
    }

    pub(crate) fn multicast_enabled(&self) -> bool {
        self.transports.contains(&TransportKind::Multicast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(yaml: &str) -> Conf {
        ferromtx_conf::load_from_str(yaml, &|_| None).unwrap().conf
    }

    #[test]
    fn defaults_match_mediamtx() {
        let s = RtspSettings::from_conf(&conf(""));
        assert_eq!(s.rtsp_address, ":8554");
        assert_eq!(s.rtp_address, ":8000");
        assert_eq!(s.rtcp_address, ":8001");
        assert_eq!(s.transports.len(), 3);
        assert!(s.transports.contains(&TransportKind::Udp));
        assert!(s.transports.contains(&TransportKind::Tcp));
        assert!(s.multicast_enabled());
        assert_eq!(s.multicast_ip_range, "224.1.0.0/16");
        assert_eq!((s.multicast_rtp_port, s.multicast_rtcp_port), (8002, 8003));
        assert_eq!(s.auth_methods, vec![AuthMethod::Basic]);
        assert_eq!(s.read_timeout, Duration::from_secs(10));
        assert_eq!(s.write_timeout, Duration::from_secs(10));
        assert!(s.udp_enabled());
    }

    #[test]
    fn transports_and_methods_follow_the_file() {
        let s = RtspSettings::from_conf(&conf(
            "rtspTransports: [tcp]\nrtspAuthMethods: [basic, digest]\nwriteTimeout: 3s\n",
        ));
        assert_eq!(s.transports, vec![TransportKind::Tcp]);
        assert_eq!(
            s.auth_methods,
            vec![AuthMethod::Basic, AuthMethod::DigestMd5]
        );
        assert_eq!(s.write_timeout, Duration::from_secs(3));
        assert!(!s.udp_enabled());
    }

    #[test]
    fn rtsps_serves_tcp_only_on_its_own_address() {
        let s = RtspSettings::secure_from_conf(&conf("rtspsAddress: 127.0.0.1:9322\n"));
        assert_eq!(s.rtsp_address, "127.0.0.1:9322");
        assert_eq!(s.transports, vec![TransportKind::Tcp]);
        let s = RtspSettings::secure_from_conf(&conf("rtspTransports: [udp]\n"));
        assert!(s.transports.is_empty());
    }
}
