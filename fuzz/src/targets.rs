//! One module per fuzz target, named as the target (`fuzz_targets/<name>.rs` is a wrapper):
//! `run` takes one input and panics only on a bug.

pub mod aac_transcode;
pub mod av1_depacketize;
pub mod flv_tag;
pub mod fmp4_read;
pub mod h264_depacketize;
pub mod h264_sps;
pub mod h265_depacketize;
pub mod hls_playlist;
pub mod ice_tcp_framing;
pub mod mpeg1audio_depacketize;
pub mod mpeg4audio_depacketize;
pub mod mpegts_demux;
pub mod proxy_header;
pub mod rtcp;
pub mod rtmp_amf0;
pub mod rtmp_chunk;
pub mod rtmp_handshake;
pub mod rtmp_publish;
pub mod rtp_packet;
pub mod rtsp_auth;
pub mod rtsp_interleaved;
pub mod rtsp_message;
pub mod rtsp_sdp;
pub mod rtsp_transport;
pub mod srt_ingest;
pub mod srt_packet;
pub mod stun_route;
pub mod vp8_depacketize;
pub mod vp9_depacketize;
pub mod webrtc_offer;

/// A target's body: panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz_targets/` and `corpus/` name them.
pub const ALL: &[(&str, Target)] = &[
    ("aac_transcode", aac_transcode::run),
    ("av1_depacketize", av1_depacketize::run),
    ("flv_tag", flv_tag::run),
    ("fmp4_read", fmp4_read::run),
    ("h264_depacketize", h264_depacketize::run),
    ("h264_sps", h264_sps::run),
    ("h265_depacketize", h265_depacketize::run),
    ("hls_playlist", hls_playlist::run),
    ("ice_tcp_framing", ice_tcp_framing::run),
    ("mpeg1audio_depacketize", mpeg1audio_depacketize::run),
    ("mpeg4audio_depacketize", mpeg4audio_depacketize::run),
    ("mpegts_demux", mpegts_demux::run),
    ("proxy_header", proxy_header::run),
    ("rtcp", rtcp::run),
    ("rtmp_amf0", rtmp_amf0::run),
    ("rtmp_chunk", rtmp_chunk::run),
    ("rtmp_handshake", rtmp_handshake::run),
    ("rtmp_publish", rtmp_publish::run),
    ("rtp_packet", rtp_packet::run),
    ("rtsp_auth", rtsp_auth::run),
    ("rtsp_interleaved", rtsp_interleaved::run),
    ("rtsp_message", rtsp_message::run),
    ("rtsp_sdp", rtsp_sdp::run),
    ("rtsp_transport", rtsp_transport::run),
    ("srt_ingest", srt_ingest::run),
    ("srt_packet", srt_packet::run),
    ("stun_route", stun_route::run),
    ("vp8_depacketize", vp8_depacketize::run),
    ("vp9_depacketize", vp9_depacketize::run),
    ("webrtc_offer", webrtc_offer::run),
];
