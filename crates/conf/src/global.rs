//! The global configuration: every top-level key of mediamtx.yml.

use crate::auth::{AuthInternalUser, AuthInternalUserPermission, AuthMethod, IpNetwork};
use crate::forward::WebRtcIceServer;
use crate::log::{LogDestination, LogLevel};
use crate::path::PathConf;
use crate::protocol::{
    Encryption, HlsVariant, RecordFormat, RtspAuthMethod, RtspTransport, RtspTransports,
};
use crate::schema::conf_object;
use crate::size::ByteSize;
use std::time::Duration;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn any_origin() -> Vec<String> {
    vec!["*".to_string()]
}

fn s(v: &str) -> String {
    v.to_string()
}

fn default_paths() -> Vec<PathConf> {
    let mut all_others = PathConf {
        name: "all_others".into(),
        ..PathConf::default()
    };
    all_others.regex = crate::validate::compile_name(&all_others.name)
        .ok()
        .flatten();
    vec![all_others]
}

conf_object! {
    /// The whole configuration. Deprecated keys are `Option`s: `None` when
    /// not set; `validate` moves their values to the keys that replace them.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Conf {
        @extra pub path_defaults: PathConf = PathConf::default();
        @extra
        /// Paths in file order.
        pub paths: Vec<PathConf> = default_paths();
        @extra
        /// Users derived from legacy path credentials by the last `validate`,
        /// so that validating again (after an API change) is not refused.
        pub(crate) derived_users: Option<Vec<AuthInternalUser>> = None;

        // General
        log_level: LogLevel = "logLevel" => LogLevel::Info,
        log_destinations: Vec<LogDestination> = "logDestinations" => vec![LogDestination::Stdout],
        log_structured: bool = "logStructured" => false,
        log_file: String = "logFile" => s("mediamtx.log"),
        sys_log_prefix: String = "sysLogPrefix" => s("mediamtx"),
        dump_packets: bool = "dumpPackets" => false,
        read_timeout: Duration = "readTimeout" => secs(10),
        write_timeout: Duration = "writeTimeout" => secs(10),
        read_buffer_count: Option<i64> = "readBufferCount" => None,
        write_queue_size: i64 = "writeQueueSize" => 512,
        udp_max_payload_size: i64 = "udpMaxPayloadSize" => 1452,
        udp_read_buffer_size: u64 = "udpReadBufferSize" => 0,
        run_on_connect: String = "runOnConnect" => String::new(),
        run_on_connect_restart: bool = "runOnConnectRestart" => false,
        run_on_disconnect: String = "runOnDisconnect" => String::new(),

        // Authentication
        auth_method: AuthMethod = "authMethod" => AuthMethod::Internal,
        auth_internal_users: Vec<AuthInternalUser> = "authInternalUsers" => crate::auth::default_auth_internal_users(),
        auth_http_address: String = "authHTTPAddress" => String::new(),
        external_authentication_url: Option<String> = "externalAuthenticationURL" => None,
        auth_http_fingerprint: String = "authHTTPFingerprint" => String::new(),
        auth_http_exclude: Vec<AuthInternalUserPermission> = "authHTTPExclude" => Vec::new(),
        auth_jwt_jwks: String = "authJWTJWKS" => String::new(),
        auth_jwt_jwks_fingerprint: String = "authJWTJWKSFingerprint" => String::new(),
        auth_jwt_claim_key: String = "authJWTClaimKey" => s("mediamtx_permissions"),
        auth_jwt_exclude: Vec<AuthInternalUserPermission> = "authJWTExclude" => Vec::new(),
        auth_jwt_in_http_query: Option<bool> = "authJWTInHTTPQuery" => None,
        auth_jwt_issuer: String = "authJWTIssuer" => String::new(),
        auth_jwt_audience: String = "authJWTAudience" => String::new(),

        // Control API
        api: bool = "api" => false,
        api_address: String = "apiAddress" => s(":9997"),
        api_encryption: bool = "apiEncryption" => false,
        api_server_key: String = "apiServerKey" => s("server.key"),
        api_server_cert: String = "apiServerCert" => s("server.crt"),
        api_allow_origin: Option<String> = "apiAllowOrigin" => None,
        api_allow_origins: Vec<String> = "apiAllowOrigins" => any_origin(),
        api_trusted_proxies: Vec<IpNetwork> = "apiTrustedProxies" => Vec::new(),

        // Metrics
        metrics: bool = "metrics" => false,
        metrics_address: String = "metricsAddress" => s(":9998"),
        metrics_encryption: bool = "metricsEncryption" => false,
        metrics_server_key: String = "metricsServerKey" => s("server.key"),
        metrics_server_cert: String = "metricsServerCert" => s("server.crt"),
        metrics_allow_origin: Option<String> = "metricsAllowOrigin" => None,
        metrics_allow_origins: Vec<String> = "metricsAllowOrigins" => any_origin(),
        metrics_trusted_proxies: Vec<IpNetwork> = "metricsTrustedProxies" => Vec::new(),

        // pprof
        pprof: bool = "pprof" => false,
        pprof_address: String = "pprofAddress" => s(":9999"),
        pprof_encryption: bool = "pprofEncryption" => false,
        pprof_server_key: String = "pprofServerKey" => s("server.key"),
        pprof_server_cert: String = "pprofServerCert" => s("server.crt"),
        pprof_allow_origin: Option<String> = "pprofAllowOrigin" => None,
        pprof_allow_origins: Vec<String> = "pprofAllowOrigins" => any_origin(),
        pprof_trusted_proxies: Vec<IpNetwork> = "pprofTrustedProxies" => Vec::new(),

        // Playback
        playback: bool = "playback" => false,
        playback_address: String = "playbackAddress" => s(":9996"),
        playback_encryption: bool = "playbackEncryption" => false,
        playback_server_key: String = "playbackServerKey" => s("server.key"),
        playback_server_cert: String = "playbackServerCert" => s("server.crt"),
        playback_allow_origin: Option<String> = "playbackAllowOrigin" => None,
        playback_allow_origins: Vec<String> = "playbackAllowOrigins" => any_origin(),
        playback_trusted_proxies: Vec<IpNetwork> = "playbackTrustedProxies" => Vec::new(),

        // RTSP server
        rtsp: bool = "rtsp" => true,
        rtsp_disable: Option<bool> = "rtspDisable" => None,
        protocols: Option<RtspTransports> = "protocols" => None,
        rtsp_transports: Vec<RtspTransport> = "rtspTransports" via RtspTransports
            => vec![RtspTransport::Multicast, RtspTransport::Tcp, RtspTransport::Udp],
        encryption: Option<Encryption> = "encryption" => None,
        rtsp_encryption: Encryption = "rtspEncryption" => Encryption::No,
        rtsp_address: String = "rtspAddress" => s(":8554"),
        rtsps_address: String = "rtspsAddress" => s(":8322"),
        rtp_address: String = "rtpAddress" => s(":8000"),
        rtcp_address: String = "rtcpAddress" => s(":8001"),
        multicast_ip_range: String = "multicastIPRange" => s("224.1.0.0/16"),
        multicast_rtp_port: i64 = "multicastRTPPort" => 8002,
        multicast_rtcp_port: i64 = "multicastRTCPPort" => 8003,
        srtp_address: String = "srtpAddress" => s(":8004"),
        srtcp_address: String = "srtcpAddress" => s(":8005"),
        multicast_srtp_port: i64 = "multicastSRTPPort" => 8006,
        multicast_srtcp_port: i64 = "multicastSRTCPPort" => 8007,
        server_key: Option<String> = "serverKey" => None,
        server_cert: Option<String> = "serverCert" => None,
        rtsp_server_key: String = "rtspServerKey" => s("server.key"),
        rtsp_server_cert: String = "rtspServerCert" => s("server.crt"),
        auth_methods: Option<Vec<RtspAuthMethod>> = "authMethods" => None,
        rtsp_auth_methods: Vec<RtspAuthMethod> = "rtspAuthMethods" => vec![RtspAuthMethod::Basic],
        rtsp_trusted_proxies: Vec<IpNetwork> = "rtspTrustedProxies" => Vec::new(),
        rtsp_udp_read_buffer_size: Option<u64> = "rtspUDPReadBufferSize" => None,

        // RTMP server
        rtmp: bool = "rtmp" => true,
        rtmp_disable: Option<bool> = "rtmpDisable" => None,
        rtmp_encryption: Encryption = "rtmpEncryption" => Encryption::No,
        rtmp_address: String = "rtmpAddress" => s(":1935"),
        rtmps_address: String = "rtmpsAddress" => s(":1936"),
        rtmp_server_key: String = "rtmpServerKey" => s("server.key"),
        rtmp_server_cert: String = "rtmpServerCert" => s("server.crt"),
        rtmp_trusted_proxies: Vec<IpNetwork> = "rtmpTrustedProxies" => Vec::new(),

        // HLS server
        hls: bool = "hls" => true,
        hls_disable: Option<bool> = "hlsDisable" => None,
        hls_address: String = "hlsAddress" => s(":8888"),
        hls_encryption: bool = "hlsEncryption" => false,
        hls_server_key: String = "hlsServerKey" => s("server.key"),
        hls_server_cert: String = "hlsServerCert" => s("server.crt"),
        hls_allow_origin: Option<String> = "hlsAllowOrigin" => None,
        hls_allow_origins: Vec<String> = "hlsAllowOrigins" => any_origin(),
        hls_trusted_proxies: Vec<IpNetwork> = "hlsTrustedProxies" => Vec::new(),
        hls_always_remux: bool = "hlsAlwaysRemux" => false,
        hls_variant: HlsVariant = "hlsVariant" => HlsVariant::LowLatency,
        hls_segment_count: i64 = "hlsSegmentCount" => 7,
        hls_segment_duration: Duration = "hlsSegmentDuration" => secs(1),
        hls_part_duration: Duration = "hlsPartDuration" => Duration::from_millis(200),
        hls_segment_max_size: u64 = "hlsSegmentMaxSize" via ByteSize => 50 * 1024 * 1024,
        hls_directory: String = "hlsDirectory" => String::new(),
        hls_muxer_close_after: Duration = "hlsMuxerCloseAfter" => secs(60),
        hls_cdn_secret: String = "hlsCDNSecret" => String::new(),

        // WebRTC server
        webrtc: bool = "webrtc" => true,
        webrtc_disable: Option<bool> = "webrtcDisable" => None,
        webrtc_address: String = "webrtcAddress" => s(":8889"),
        webrtc_encryption: bool = "webrtcEncryption" => false,
        webrtc_server_key: String = "webrtcServerKey" => s("server.key"),
        webrtc_server_cert: String = "webrtcServerCert" => s("server.crt"),
        webrtc_allow_origin: Option<String> = "webrtcAllowOrigin" => None,
        webrtc_allow_origins: Vec<String> = "webrtcAllowOrigins" => any_origin(),
        webrtc_trusted_proxies: Vec<IpNetwork> = "webrtcTrustedProxies" => Vec::new(),
        webrtc_local_udp_address: String = "webrtcLocalUDPAddress" => s(":8189"),
        webrtc_local_tcp_address: String = "webrtcLocalTCPAddress" => String::new(),
        webrtc_ips_from_interfaces: bool = "webrtcIPsFromInterfaces" => true,
        webrtc_ips_from_interfaces_list: Vec<String> = "webrtcIPsFromInterfacesList" => Vec::new(),
        webrtc_additional_hosts: Vec<String> = "webrtcAdditionalHosts" => Vec::new(),
        webrtc_ice_servers2: Vec<WebRtcIceServer> = "webrtcICEServers2" => Vec::new(),
        webrtc_stun_gather_timeout: Duration = "webrtcSTUNGatherTimeout" => secs(5),
        webrtc_handshake_timeout: Duration = "webrtcHandshakeTimeout" => secs(10),
        webrtc_track_gather_timeout: Duration = "webrtcTrackGatherTimeout" => secs(2),
        webrtc_ice_udp_mux_address: Option<String> = "webrtcICEUDPMuxAddress" => None,
        webrtc_ice_tcp_mux_address: Option<String> = "webrtcICETCPMuxAddress" => None,
        webrtc_ice_host_nat_1to1_ips: Option<Vec<String>> = "webrtcICEHostNAT1To1IPs" => None,
        webrtc_ice_servers: Option<Vec<String>> = "webrtcICEServers" => None,

        // SRT server
        srt: bool = "srt" => true,
        srt_address: String = "srtAddress" => s(":8890"),

        // MoQ server
        moq: bool = "moq" => true,
        moq_http2_address: String = "moqHTTP2Address" => s(":8892"),
        moq_http3_address: String = "moqHTTP3Address" => s(":8892"),
        moq_quic_address: String = "moqQUICAddress" => s(":8893"),
        moq_server_key: String = "moqServerKey" => s("auto.key"),
        moq_server_cert: String = "moqServerCert" => s("auto.crt"),
        moq_allow_origins: Vec<String> = "moqAllowOrigins" => any_origin(),
        moq_trusted_proxies: Vec<IpNetwork> = "moqTrustedProxies" => Vec::new(),
        moq_https2_address: Option<String> = "moqHTTPS2Address" => None,
        moq_https3_address: Option<String> = "moqHTTPS3Address" => None,

        // Record (deprecated, moved to pathDefaults)
        record: Option<bool> = "record" => None,
        record_path: Option<String> = "recordPath" => None,
        record_format: Option<RecordFormat> = "recordFormat" => None,
        record_part_duration: Option<Duration> = "recordPartDuration" => None,
        record_segment_duration: Option<Duration> = "recordSegmentDuration" => None,
        record_delete_after: Option<Duration> = "recordDeleteAfter" => None,
    }
}
