//! Deprecated keys MediaMTX still accepts: each moves its value to the key
//! that replaced it and adds MediaMTX's warning.

use crate::forward::WebRtcIceServer;
use crate::global::Conf;
use crate::path::PathConf;

fn replaced(old: &str, new: &str) -> String {
    format!("parameter '{old}' is deprecated and has been replaced with '{new}'")
}

/// Warnings, each kept once.
#[derive(Default)]
pub(crate) struct Warnings(pub Vec<String>);

impl Warnings {
    pub fn push(&mut self, w: String) {
        if !self.0.contains(&w) {
            tracing::debug!("{w}");
            self.0.push(w);
        }
    }
}

impl Conf {
    /// `readBufferCount`.
    pub(crate) fn convert_deprecated_general(&mut self, w: &mut Warnings) {
        if let Some(v) = self.read_buffer_count {
            w.push(replaced("readBufferCount", "writeQueueSize"));
            self.write_queue_size = v;
        }
    }

    /// `externalAuthenticationURL`.
    pub(crate) fn convert_deprecated_auth(&mut self, w: &mut Warnings) {
        if let Some(url) = &self.external_authentication_url {
            w.push(
                "parameter 'externalAuthenticationURL' is deprecated and has been replaced with 'authMethod' and 'authHTTPAddress'"
                    .into(),
            );
            self.auth_method = crate::AuthMethod::Http;
            self.auth_http_address.clone_from(url);
        }
        if self.auth_jwt_in_http_query.is_some() {
            w.push(
                "parameter 'authJWTInHTTPQuery' is deprecated and will be removed in a future release"
                    .into(),
            );
        }
    }

    /// `*AllowOrigin`, `*Disable`, RTSP and WebRTC renames, MoQ addresses,
    /// top-level `record*`.
    pub(crate) fn convert_deprecated_servers(&mut self, w: &mut Warnings) {
        let origins = [
            ("api", &self.api_allow_origin, &mut self.api_allow_origins),
            (
                "metrics",
                &self.metrics_allow_origin,
                &mut self.metrics_allow_origins,
            ),
            (
                "pprof",
                &self.pprof_allow_origin,
                &mut self.pprof_allow_origins,
            ),
            (
                "playback",
                &self.playback_allow_origin,
                &mut self.playback_allow_origins,
            ),
            ("hls", &self.hls_allow_origin, &mut self.hls_allow_origins),
            (
                "webrtc",
                &self.webrtc_allow_origin,
                &mut self.webrtc_allow_origins,
            ),
        ];
        for (name, old, new) in origins {
            if let Some(v) = old {
                w.push(replaced(
                    &format!("{name}AllowOrigin"),
                    &format!("{name}AllowOrigins"),
                ));
                *new = vec![v.clone()];
            }
        }
        // MediaMTX's own spelling of these two warnings.
        if let Some(v) = self.rtsp_disable {
            w.push(replaced("rtspDisabled", "rtsp"));
            self.rtsp = !v;
        }
        if let Some(v) = &self.protocols {
            w.push(replaced("protocols", "rtspTransports"));
            self.rtsp_transports = v.0.clone();
        }
        if let Some(v) = self.encryption {
            w.push(replaced("encryption", "rtspEncryption"));
            self.rtsp_encryption = v;
        }
        if let Some(v) = &self.auth_methods {
            w.push(replaced("authMethods", "rtspAuthMethods"));
            self.rtsp_auth_methods = v.clone();
        }
        if let Some(v) = &self.server_cert {
            w.push(replaced("serverCert", "rtspServerCert"));
            self.rtsp_server_cert = v.clone();
        }
        if let Some(v) = &self.server_key {
            w.push(replaced("serverKey", "rtspServerKey"));
            self.rtsp_server_key = v.clone();
        }
        if let Some(v) = self.rtmp_disable {
            w.push(replaced("rtmpDisabled", "rtmp"));
            self.rtmp = !v;
        }
        if let Some(v) = self.hls_disable {
            w.push(replaced("hlsDisable", "hls"));
            self.hls = !v;
        }
        if let Some(v) = self.webrtc_disable {
            w.push(replaced("webrtcDisable", "webrtc"));
            self.webrtc = !v;
        }
        if let Some(v) = &self.webrtc_ice_udp_mux_address {
            w.push(replaced("webrtcICEUDPMuxAdderss", "webrtcLocalUDPAddress"));
            self.webrtc_local_udp_address = v.clone();
        }
        if let Some(v) = &self.webrtc_ice_tcp_mux_address {
            w.push(replaced("webrtcICETCPMuxAddress", "webrtcLocalTCPAddress"));
            self.webrtc_local_tcp_address = v.clone();
        }
        if let Some(v) = &self.webrtc_ice_host_nat_1to1_ips {
            w.push(replaced("webrtcICEHostNAT1To1IPs", "webrtcAdditionalHosts"));
            self.webrtc_additional_hosts = v.clone();
        }
        if let Some(servers) = &self.webrtc_ice_servers {
            w.push(replaced("webrtcICEServers", "webrtcICEServers2"));
            for server in servers {
                let parts: Vec<&str> = server.split(':').collect();
                let entry = if parts.len() == 5 {
                    WebRtcIceServer {
                        url: format!("{}:{}:{}", parts[0], parts[3], parts[4]),
                        username: parts[1].to_string(),
                        password: parts[2].to_string(),
                        client_only: false,
                    }
                } else {
                    WebRtcIceServer {
                        url: server.clone(),
                        ..WebRtcIceServer::default()
                    }
                };
                self.webrtc_ice_servers2.push(entry);
            }
        }
        if let Some(v) = &self.moq_https2_address {
            w.push(replaced("moqHTTPS2Address", "moqHTTP2Address"));
            self.moq_http2_address = v.clone();
        }
        if let Some(v) = &self.moq_https3_address {
            w.push(replaced("moqHTTPS3Address", "moqHTTP3Address"));
            self.moq_http3_address = v.clone();
        }
    }

    /// Top-level `record*` keys move into `pathDefaults`.
    pub(crate) fn convert_deprecated_record(&mut self, w: &mut Warnings) {
        let d = &mut self.path_defaults;
        let to_defaults = |k: &str| replaced(k, &format!("pathDefaults.{k}"));
        if let Some(v) = self.record {
            w.push(to_defaults("record"));
            d.record = v;
        }
        if let Some(v) = &self.record_path {
            w.push(to_defaults("recordPath"));
            d.record_path = v.clone();
        }
        if let Some(v) = self.record_format {
            w.push(to_defaults("recordFormat"));
            d.record_format = v;
        }
        if let Some(v) = self.record_part_duration {
            w.push(to_defaults("recordPartDuration"));
            d.record_part_duration = v;
        }
        if let Some(v) = self.record_segment_duration {
            w.push(to_defaults("recordSegmentDuration"));
            d.record_segment_duration = v;
        }
        if let Some(v) = self.record_delete_after {
            w.push(to_defaults("recordDeleteAfter"));
            d.record_delete_after = v;
        }
    }

    /// Whether `pathDefaults` or a path uses publishUser/.../readIPs.
    pub(crate) fn uses_deprecated_credentials(&self) -> bool {
        std::iter::once(&self.path_defaults)
            .chain(self.paths.iter())
            .any(PathConf::has_deprecated_credentials)
    }
}

impl PathConf {
    fn has_deprecated_credentials(&self) -> bool {
        self.publish_user.is_some()
            || self.publish_pass.is_some()
            || self.publish_ips.is_some()
            || self.read_user.is_some()
            || self.read_pass.is_some()
            || self.read_ips.is_some()
    }

    /// `sourceProtocol`, `sourceAnyPortEnable` (RTSP sources only).
    pub(crate) fn convert_deprecated_rtsp_source(&mut self, w: &mut Warnings) {
        if let Some(v) = self.source_protocol {
            w.push(replaced("sourceProtocol", "rtspTransport"));
            self.rtsp_transport = v;
        }
        if let Some(v) = self.source_any_port_enable {
            w.push(replaced("sourceAnyPortEnable", "rtspAnyPort"));
            self.rtsp_any_port = v;
        }
    }

    /// `disablePublisherOverride` (publisher source only).
    pub(crate) fn convert_deprecated_publisher(&mut self, w: &mut Warnings) {
        if let Some(v) = self.disable_publisher_override {
            w.push(replaced("disablePublisherOverride", "overridePublisher"));
            self.override_publisher = !v;
        }
    }

    /// `runOnReady`, `runOnReadyRestart`, `runOnNotReady`.
    pub(crate) fn convert_deprecated_hooks(&mut self, w: &mut Warnings) {
        if let Some(v) = &self.run_on_ready {
            w.push(replaced("runOnReady", "runOnAvailable"));
            self.run_on_available = v.clone();
        }
        if let Some(v) = self.run_on_ready_restart {
            w.push(replaced("runOnReadyRestart", "runOnAvailableRestart"));
            self.run_on_available_restart = v;
        }
        if let Some(v) = &self.run_on_not_ready {
            w.push(replaced("runOnNotReady", "runOnUnavailable"));
            self.run_on_unavailable = v.clone();
        }
    }
}
