//! The per-object metric blocks, names as MediaMTX prints them: each metric name is the
//! section's `typ` followed by the suffix given here (`""` for the object count).

use super::{Num, Section, tags};
use crate::dto;

pub(super) const HLS_SESSIONS: Section<dto::HLSSession> = Section {
    typ: "hls_sessions",
    filter_key: "hls_session",
    title: "HLS sessions",
    id: |i| &i.id,
    labels: |i| {
        tags(&[
            ("id", &i.id),
            ("path", &i.path),
            ("remoteAddr", &i.remote_addr),
        ])
    },
    metrics: &[
        ("", |_| Num::I(1)),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
    ],
    deprecated: &[],
};

pub(super) const HLS_MUXERS: Section<dto::HLSMuxer> = Section {
    typ: "hls_muxers",
    filter_key: "hls_muxer",
    title: "HLS muxers",
    id: |i| &i.path,
    labels: |i| tags(&[("name", &i.path)]),
    metrics: &[
        ("", |_| Num::I(1)),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[("_bytes_sent", |i| Num::I(i.bytes_sent))],
};

pub(super) const RTSP_CONNS: Section<dto::RTSPConn> = Section {
    typ: "rtsp_conns",
    filter_key: "rtsp_conn",
    title: "RTSP connections",
    id: |i| &i.id,
    labels: |i| tags(&[("id", &i.id)]),
    metrics: &[
        ("", |_| Num::I(1)),
        ("_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
    ],
    deprecated: &[
        ("_bytes_received", |i| Num::I(i.bytes_received)),
        ("_bytes_sent", |i| Num::I(i.bytes_sent)),
    ],
};

pub(super) const RTSP_SESSIONS: Section<dto::RTSPSession> = Section {
    typ: "rtsp_sessions",
    filter_key: "rtsp_session",
    title: "RTSP sessions",
    id: |i| &i.id,
    labels: |i| {
        tags(&[
            ("id", &i.id),
            ("state", i.state.as_str()),
            ("path", &i.path),
            ("remoteAddr", &i.remote_addr),
        ])
    },
    metrics: &[
        ("", |_| Num::I(1)),
        ("_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("_inbound_rtp_packets", |i| Num::I(i.inbound_rtp_packets)),
        ("_inbound_rtp_packets_lost", |i| {
            Num::I(i.inbound_rtp_packets_lost)
        }),
        ("_inbound_rtp_packets_in_error", |i| {
            Num::I(i.inbound_rtp_packets_in_error)
        }),
        ("_inbound_rtp_packets_jitter", |i| {
            Num::F(i.inbound_rtp_packets_jitter)
        }),
        ("_inbound_rtcp_packets", |i| Num::I(i.inbound_rtcp_packets)),
        ("_inbound_rtcp_packets_in_error", |i| {
            Num::I(i.inbound_rtcp_packets_in_error)
        }),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("_outbound_rtp_packets", |i| Num::I(i.outbound_rtp_packets)),
        ("_outbound_rtp_packets_reported_lost", |i| {
            Num::I(i.outbound_rtp_packets_reported_lost)
        }),
        ("_outbound_rtp_packets_discarded", |i| {
            Num::I(i.outbound_rtp_packets_discarded)
        }),
        ("_outbound_rtcp_packets", |i| {
            Num::I(i.outbound_rtcp_packets)
        }),
    ],
    deprecated: &[
        ("_bytes_received", |i| Num::I(i.bytes_received)),
        ("_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("_rtp_packets_received", |i| Num::I(i.rtp_packets_received)),
        ("_rtp_packets_sent", |i| Num::I(i.rtp_packets_sent)),
        ("_rtp_packets_lost", |i| Num::I(i.rtp_packets_lost)),
        ("_rtp_packets_in_error", |i| Num::I(i.rtp_packets_in_error)),
        ("_rtp_packets_jitter", |i| Num::F(i.rtp_packets_jitter)),
        ("_rtcp_packets_received", |i| {
            Num::I(i.rtcp_packets_received)
        }),
        ("_rtcp_packets_sent", |i| Num::I(i.rtcp_packets_sent)),
        ("_rtcp_packets_in_error", |i| {
            Num::I(i.rtcp_packets_in_error)
        }),
    ],
};

/// Same objects and metrics as [`RTSP_CONNS`], under the TLS variant's names.
pub(super) const RTSPS_CONNS: Section<dto::RTSPConn> = Section {
    typ: "rtsps_conns",
    filter_key: "rtsps_conn",
    title: "RTSPS connections",
    ..RTSP_CONNS
};

/// Same objects and metrics as [`RTSP_SESSIONS`], under the TLS variant's names.
pub(super) const RTSPS_SESSIONS: Section<dto::RTSPSession> = Section {
    typ: "rtsps_sessions",
    filter_key: "rtsps_session",
    title: "RTSPS sessions",
    ..RTSP_SESSIONS
};

pub(super) const RTMP_CONNS: Section<dto::RTMPConn> = Section {
    typ: "rtmp_conns",
    filter_key: "rtmp_conn",
    title: "RTMP connections",
    id: |i| &i.id,
    labels: |i| {
        tags(&[
            ("id", &i.id),
            ("state", i.state.as_str()),
            ("path", &i.path),
            ("remoteAddr", &i.remote_addr),
        ])
    },
    metrics: &[
        ("", |_| Num::I(1)),
        ("_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[
        ("_bytes_received", |i| Num::I(i.bytes_received)),
        ("_bytes_sent", |i| Num::I(i.bytes_sent)),
    ],
};

/// Same objects and metrics as [`RTMP_CONNS`], under the TLS variant's names.
pub(super) const RTMPS_CONNS: Section<dto::RTMPConn> = Section {
    typ: "rtmps_conns",
    filter_key: "rtmps_conn",
    title: "RTMPS connections",
    ..RTMP_CONNS
};

pub(super) const SRT_CONNS: Section<dto::SRTConn> = Section {
    typ: "srt_conns",
    filter_key: "srt_conn",
    title: "SRT connections",
    id: |i| &i.id,
    labels: |i| {
        tags(&[
            ("id", &i.id),
            ("state", i.state.as_str()),
            ("path", &i.path),
            ("remoteAddr", &i.remote_addr),
        ])
    },
    metrics: &[
        ("", |_| Num::I(1)),
        ("_packets_sent", |i| Num::I(i.packets_sent)),
        ("_packets_received", |i| Num::I(i.packets_received)),
        ("_packets_sent_unique", |i| Num::I(i.packets_sent_unique)),
        ("_packets_received_unique", |i| {
            Num::I(i.packets_received_unique)
        }),
        ("_packets_send_loss", |i| Num::I(i.packets_send_loss)),
        ("_packets_received_loss", |i| {
            Num::I(i.packets_received_loss)
        }),
        ("_packets_retrans", |i| Num::I(i.packets_retrans)),
        ("_packets_received_retrans", |i| {
            Num::I(i.packets_received_retrans)
        }),
        ("_packets_sent_ack", |i| Num::I(i.packets_sent_ack)),
        ("_packets_received_ack", |i| Num::I(i.packets_received_ack)),
        ("_packets_sent_nak", |i| Num::I(i.packets_sent_nak)),
        ("_packets_received_nak", |i| Num::I(i.packets_received_nak)),
        ("_packets_sent_km", |i| Num::I(i.packets_sent_km)),
        ("_packets_received_km", |i| Num::I(i.packets_received_km)),
        ("_us_snd_duration", |i| Num::I(i.us_snd_duration)),
        ("_packets_received_belated", |i| {
            Num::I(i.packets_received_belated)
        }),
        ("_packets_send_drop", |i| Num::I(i.packets_send_drop)),
        ("_packets_received_drop", |i| {
            Num::I(i.packets_received_drop)
        }),
        ("_packets_received_undecrypt", |i| {
            Num::I(i.packets_received_undecrypt)
        }),
        ("_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("_bytes_received", |i| Num::I(i.bytes_received)),
        ("_bytes_sent_unique", |i| Num::I(i.bytes_sent_unique)),
        ("_bytes_received_unique", |i| {
            Num::I(i.bytes_received_unique)
        }),
        ("_bytes_received_loss", |i| Num::I(i.bytes_received_loss)),
        ("_bytes_retrans", |i| Num::I(i.bytes_retrans)),
        ("_bytes_received_retrans", |i| {
            Num::I(i.bytes_received_retrans)
        }),
        ("_bytes_received_belated", |i| {
            Num::I(i.bytes_received_belated)
        }),
        ("_bytes_send_drop", |i| Num::I(i.bytes_send_drop)),
        ("_bytes_received_drop", |i| Num::I(i.bytes_received_drop)),
        ("_bytes_received_undecrypt", |i| {
            Num::I(i.bytes_received_undecrypt)
        }),
        ("_us_packets_send_period", |i| {
            Num::F(i.us_packets_send_period)
        }),
        ("_packets_flow_window", |i| Num::I(i.packets_flow_window)),
        ("_packets_flight_size", |i| Num::I(i.packets_flight_size)),
        ("_ms_rtt", |i| Num::F(i.ms_rtt)),
        ("_mbps_send_rate", |i| Num::F(i.mbps_send_rate)),
        ("_mbps_receive_rate", |i| Num::F(i.mbps_receive_rate)),
        ("_mbps_link_capacity", |i| Num::F(i.mbps_link_capacity)),
        ("_bytes_avail_send_buf", |i| Num::I(i.bytes_avail_send_buf)),
        ("_bytes_avail_receive_buf", |i| {
            Num::I(i.bytes_avail_receive_buf)
        }),
        ("_mbps_max_bw", |i| Num::F(i.mbps_max_bw)),
        ("_bytes_mss", |i| Num::I(i.byte_mss)),
        ("_packets_send_buf", |i| Num::I(i.packets_send_buf)),
        ("_bytes_send_buf", |i| Num::I(i.bytes_send_buf)),
        ("_ms_send_buf", |i| Num::I(i.ms_send_buf)),
        ("_ms_send_tsb_pd_delay", |i| Num::I(i.ms_send_tsb_pd_delay)),
        ("_packets_receive_buf", |i| Num::I(i.packets_receive_buf)),
        ("_bytes_receive_buf", |i| Num::I(i.bytes_receive_buf)),
        ("_ms_receive_buf", |i| Num::I(i.ms_receive_buf)),
        ("_ms_receive_tsb_pd_delay", |i| {
            Num::I(i.ms_receive_tsb_pd_delay)
        }),
        ("_packets_reorder_tolerance", |i| {
            Num::I(i.packets_reorder_tolerance)
        }),
        ("_packets_received_avg_belated_time", |i| {
            Num::I(i.packets_received_avg_belated_time)
        }),
        ("_packets_send_loss_rate", |i| {
            Num::F(i.packets_send_loss_rate)
        }),
        ("_packets_received_loss_rate", |i| {
            Num::F(i.packets_received_loss_rate)
        }),
        ("_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[],
};

pub(super) const WEBRTC_SESSIONS: Section<dto::WebRTCSession> = Section {
    typ: "webrtc_sessions",
    filter_key: "webrtc_session",
    title: "WebRTC sessions",
    id: |i| &i.id,
    labels: |i| {
        tags(&[
            ("id", &i.id),
            ("state", i.state.as_str()),
            ("path", &i.path),
            ("remoteAddr", &i.remote_addr),
        ])
    },
    metrics: &[
        ("", |_| Num::I(1)),
        ("_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("_inbound_rtp_packets", |i| Num::I(i.inbound_rtp_packets)),
        ("_inbound_rtp_packets_lost", |i| {
            Num::I(i.inbound_rtp_packets_lost)
        }),
        ("_inbound_rtp_packets_jitter", |i| {
            Num::F(i.inbound_rtp_packets_jitter)
        }),
        ("_inbound_rtcp_packets", |i| Num::I(i.inbound_rtcp_packets)),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("_outbound_rtp_packets", |i| Num::I(i.outbound_rtp_packets)),
        ("_outbound_rtcp_packets", |i| {
            Num::I(i.outbound_rtcp_packets)
        }),
        ("_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[
        ("_bytes_received", |i| Num::I(i.bytes_received)),
        ("_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("_rtp_packets_received", |i| Num::I(i.rtp_packets_received)),
        ("_rtp_packets_sent", |i| Num::I(i.rtp_packets_sent)),
        ("_rtp_packets_lost", |i| Num::I(i.rtp_packets_lost)),
        ("_rtp_packets_jitter", |i| Num::F(i.rtp_packets_jitter)),
        ("_rtcp_packets_received", |i| {
            Num::I(i.rtcp_packets_received)
        }),
        ("_rtcp_packets_sent", |i| Num::I(i.rtcp_packets_sent)),
    ],
};

pub(super) const MOQ_SESSIONS: Section<dto::MoQSession> = Section {
    typ: "moq_sessions",
    filter_key: "moq_session",
    title: "MoQ sessions",
    id: |i| &i.id,
    labels: |i| {
        tags(&[
            ("id", &i.id),
            ("state", i.state.as_str()),
            ("path", &i.path),
            ("remoteAddr", &i.remote_addr),
        ])
    },
    metrics: &[
        ("", |_| Num::I(1)),
        ("_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("_outbound_bytes", |i| Num::I(i.outbound_bytes)),
    ],
    deprecated: &[],
};
