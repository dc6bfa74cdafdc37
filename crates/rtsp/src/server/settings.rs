//! What the RTSP server needs from the configuration.

use std::time::Duration;

use ferromtx_conf::{Conf, RtspAuthMethod, RtspTransport};

use crate::auth::AuthMethod;
use crate::server_session::TransportKind;

/// Period of RTCP sender reports to readers and receiver reports to publishers, as
/// gortsplib's server.
pub const REPORT_PERIOD: Duration = Duration::from_secs(10);

/// MediaMTX's default `udpMaxPayloadSize`.
pub const DEFAULT_UDP_MAX_PAYLOAD_SIZE: usize = 1452;

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
    /// `rtspTransports`, without multicast (not served yet).
    pub transports: Vec<TransportKind>,
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
}

impl RtspSettings {
    /// The plain-RTSP listener settings of a configuration.
    pub fn from_conf(conf: &Conf) -> RtspSettings {
        let mut transports = Vec::new();
        for t in &conf.rtsp_transports {
            let kind = match t {
                RtspTransport::Udp => Some(TransportKind::Udp),
                RtspTransport::Tcp => Some(TransportKind::Tcp),
                RtspTransport::Multicast | RtspTransport::Automatic => None,
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
        RtspSettings {
            rtsp_address: conf.rtsp_address.clone(),
            rtp_address: conf.rtp_address.clone(),
            rtcp_address: conf.rtcp_address.clone(),
            transports,
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
        }
    }

    /// Settings for tests and embedding: TCP and UDP on `127.0.0.1` with free ports,
    /// Basic authentication, MediaMTX's timeouts.
    pub fn loopback() -> RtspSettings {
        RtspSettings {
            rtsp_address: "127.0.0.1:0".into(),
            rtp_address: "127.0.0.1:0".into(),
            rtcp_address: "127.0.0.1:0".into(),
            transports: vec![TransportKind::Udp, TransportKind::Tcp],
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
        }
    }

    pub(crate) fn udp_enabled(&self) -> bool {
        self.transports.contains(&TransportKind::Udp)
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
        // multicast is configured by default but not served yet
        assert_eq!(s.transports.len(), 2);
        assert!(s.transports.contains(&TransportKind::Udp));
        assert!(s.transports.contains(&TransportKind::Tcp));
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
}
