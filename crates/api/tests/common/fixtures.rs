//! Sample objects and configuration.

use ferromtx_api::dto;

pub type Conf = ferromtx_conf::Conf;
pub type AuthManager = ferromtx_auth::Manager;

pub fn new_auth_manager(conf: &Conf) -> AuthManager {
    AuthManager::new(conf)
}

/// MediaMTX's default configuration, plus an internal user `admin:hunter2` allowed
/// to use the API and metrics from anywhere, and paths `cam1`, `cam2`. Without the upstream
/// file (a clone outside the project folder; a failure under `CI=true`) the built-in
/// defaults, which a conf test holds equal to it.
pub fn test_conf() -> Conf {
    let yaml = ferromtx_testkit::compat::read("mediamtx.yml").unwrap_or_default();
    let mut conf = ferromtx_conf::load_from_str(&yaml, &|_| None)
        .expect("default config loads")
        .conf;
    let mut users = conf.global_to_json()["authInternalUsers"].clone();
    users
        .as_array_mut()
        .expect("users")
        .push(serde_json::json!({
            "user": "admin",
            "pass": "hunter2",
            "ips": [],
            "permissions": [{"action": "api", "path": ""}, {"action": "metrics", "path": ""}],
        }));
    conf.patch_global(&serde_json::json!({ "authInternalUsers": users }))
        .expect("users patch");
    for name in ["cam1", "cam2"] {
        conf.add_path(name, &serde_json::json!({}))
            .expect("add path");
    }
    conf.validate().expect("valid");
    conf
}

pub const ID_RTSP_CONN: &str = "11111111-1111-4111-8111-111111111111";
pub const ID_RTSP_SESSION: &str = "22222222-2222-4222-8222-222222222222";
pub const ID_RTMP: &str = "33333333-3333-4333-8333-333333333333";
pub const ID_SRT: &str = "44444444-4444-4444-8444-444444444444";
pub const ID_WEBRTC: &str = "55555555-5555-4555-8555-555555555555";
pub const ID_HLS: &str = "66666666-6666-4666-8666-666666666666";
pub const ID_MOQ: &str = "77777777-7777-4777-8777-777777777777";
pub const ID_FORWARD: &str = "88888888-8888-4888-8888-888888888888";
pub const UNKNOWN_ID: &str = "99999999-9999-4999-8999-999999999999";

const CREATED: &str = "2026-11-25T10:00:00.5Z";

pub fn sample_paths() -> Vec<dto::Path> {
    vec![
        dto::Path {
            name: "cam1".into(),
            conf_name: "cam1".into(),
            ready: true,
            ready_time: Some(CREATED.into()),
            available: true,
            available_time: Some(CREATED.into()),
            online: true,
            online_time: Some(CREATED.into()),
            source: Some(dto::PathSource {
                kind: dto::PathSourceType::RtspSession,
                id: ID_RTSP_SESSION.into(),
            }),
            tracks: vec![dto::PathTrackCodec::H264, dto::PathTrackCodec::Opus],
            tracks2: vec![
                dto::PathTrack {
                    codec: dto::PathTrackCodec::H264,
                    codec_props: Some(dto::CodecProps::H264(dto::PathTrackCodecPropsH264 {
                        width: 640,
                        height: 360,
                        profile: "High".into(),
                        level: "3.0".into(),
                    })),
                },
                dto::PathTrack {
                    codec: dto::PathTrackCodec::Opus,
                    codec_props: Some(dto::CodecProps::Opus(dto::PathTrackCodecPropsOpus {
                        channel_count: 2,
                    })),
                },
            ],
            readers: vec![
                dto::PathReader {
                    kind: dto::PathReaderType::WebRTCSession,
                    id: ID_WEBRTC.into(),
                },
                dto::PathReader {
                    kind: dto::PathReaderType::WebRTCSession,
                    id: UNKNOWN_ID.into(),
                },
                dto::PathReader {
                    kind: dto::PathReaderType::HlsSession,
                    id: ID_HLS.into(),
                },
            ],
            inbound_bytes: 1000,
            outbound_bytes: 2000,
            inbound_frames_in_error: 3,
            bytes_received: 1000,
            bytes_sent: 2000,
        },
        dto::Path {
            name: "cam2/sub".into(),
            conf_name: "~^cam2".into(),
            ..dto::Path::default()
        },
    ]
}

pub fn sample_forward() -> dto::ForwardDest {
    dto::ForwardDest {
        conf: dto::PathConfForwardDest {
            dest: "rtmp://127.0.0.1/live".into(),
            ..Default::default()
        },
        created: CREATED.into(),
        id: ID_FORWARD.into(),
        last_error: String::new(),
        outbound_bytes: 42,
        pos: 0,
        protocol: dto::ForwardDestProtocol::Rtmp,
        state: dto::ForwardDestState::Forwarding,
    }
}

pub fn sample_rtsp_conn() -> dto::RTSPConn {
    dto::RTSPConn {
        id: ID_RTSP_CONN.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:5000".into(),
        inbound_bytes: 10,
        outbound_bytes: 20,
        session: Some(ID_RTSP_SESSION.into()),
        tunnel: "none".into(),
        ..Default::default()
    }
}

pub fn sample_rtsp_session() -> dto::RTSPSession {
    dto::RTSPSession {
        id: ID_RTSP_SESSION.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:5000".into(),
        state: dto::RTSPSessionState::Publish,
        path: "cam1".into(),
        transport: Some("TCP".into()),
        profile: Some("AVP".into()),
        conns: vec![ID_RTSP_CONN.into()],
        inbound_bytes: 1234,
        inbound_rtp_packets_jitter: 0.5,
        ..Default::default()
    }
}

pub fn sample_rtmp_conn() -> dto::RTMPConn {
    dto::RTMPConn {
        id: ID_RTMP.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:6000".into(),
        state: dto::RTMPConnState::Read,
        path: "cam1".into(),
        outbound_bytes: 99,
        ..Default::default()
    }
}

pub fn sample_srt_conn() -> dto::SRTConn {
    dto::SRTConn {
        id: ID_SRT.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:7000".into(),
        state: dto::SRTConnState::Publish,
        path: "cam1".into(),
        ms_rtt: 1.25,
        packets_received: 77,
        ..Default::default()
    }
}

pub fn sample_webrtc_session() -> dto::WebRTCSession {
    dto::WebRTCSession {
        id: ID_WEBRTC.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:8000".into(),
        state: dto::WebRTCSessionState::Read,
        path: "cam1".into(),
        peer_connection_established: true,
        outbound_rtp_packets: 500,
        ..Default::default()
    }
}

pub fn sample_hls_muxer() -> dto::HLSMuxer {
    dto::HLSMuxer {
        path: "cam1".into(),
        created: CREATED.into(),
        last_request: CREATED.into(),
        outbound_bytes: 4096,
        ..Default::default()
    }
}

pub fn sample_hls_session() -> dto::HLSSession {
    dto::HLSSession {
        id: ID_HLS.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:9000".into(),
        path: "cam1".into(),
        outbound_bytes: 8192,
        ..Default::default()
    }
}

pub fn sample_moq_session() -> dto::MoQSession {
    dto::MoQSession {
        id: ID_MOQ.into(),
        created: CREATED.into(),
        remote_addr: "127.0.0.1:9100".into(),
        state: dto::MoQSessionState::Read,
        path: "cam1".into(),
        version: dto::MoQVersion::Moqt16,
        ..Default::default()
    }
}
