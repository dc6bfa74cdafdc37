//! The per-object metric blocks, names as MediaMTX prints them.

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
        ("hls_sessions", |_| Num::I(1)),
        ("hls_sessions_outbound_bytes", |i| Num::I(i.outbound_bytes)),
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
        ("hls_muxers", |_| Num::I(1)),
        ("hls_muxers_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("hls_muxers_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[("hls_muxers_bytes_sent", |i| Num::I(i.bytes_sent))],
};

pub(super) const RTSP_CONNS: Section<dto::RTSPConn> = Section {
    typ: "rtsp_conns",
    filter_key: "rtsp_conn",
    title: "RTSP connections",
    id: |i| &i.id,
    labels: |i| tags(&[("id", &i.id)]),
    metrics: &[
        ("rtsp_conns", |_| Num::I(1)),
        ("rtsp_conns_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("rtsp_conns_outbound_bytes", |i| Num::I(i.outbound_bytes)),
    ],
    deprecated: &[
        ("rtsp_conns_bytes_received", |i| Num::I(i.bytes_received)),
        ("rtsp_conns_bytes_sent", |i| Num::I(i.bytes_sent)),
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
        ("rtsp_sessions", |_| Num::I(1)),
        ("rtsp_sessions_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("rtsp_sessions_inbound_rtp_packets", |i| {
            Num::I(i.inbound_rtp_packets)
        }),
        ("rtsp_sessions_inbound_rtp_packets_lost", |i| {
            Num::I(i.inbound_rtp_packets_lost)
        }),
        ("rtsp_sessions_inbound_rtp_packets_in_error", |i| {
            Num::I(i.inbound_rtp_packets_in_error)
        }),
        ("rtsp_sessions_inbound_rtp_packets_jitter", |i| {
            Num::F(i.inbound_rtp_packets_jitter)
        }),
        ("rtsp_sessions_inbound_rtcp_packets", |i| {
            Num::I(i.inbound_rtcp_packets)
        }),
        ("rtsp_sessions_inbound_rtcp_packets_in_error", |i| {
            Num::I(i.inbound_rtcp_packets_in_error)
        }),
        ("rtsp_sessions_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("rtsp_sessions_outbound_rtp_packets", |i| {
            Num::I(i.outbound_rtp_packets)
        }),
        ("rtsp_sessions_outbound_rtp_packets_reported_lost", |i| {
            Num::I(i.outbound_rtp_packets_reported_lost)
        }),
        ("rtsp_sessions_outbound_rtp_packets_discarded", |i| {
            Num::I(i.outbound_rtp_packets_discarded)
        }),
        ("rtsp_sessions_outbound_rtcp_packets", |i| {
            Num::I(i.outbound_rtcp_packets)
        }),
    ],
    deprecated: &[
        ("rtsp_sessions_bytes_received", |i| Num::I(i.bytes_received)),
        ("rtsp_sessions_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("rtsp_sessions_rtp_packets_received", |i| {
            Num::I(i.rtp_packets_received)
        }),
        ("rtsp_sessions_rtp_packets_sent", |i| {
            Num::I(i.rtp_packets_sent)
        }),
        ("rtsp_sessions_rtp_packets_lost", |i| {
            Num::I(i.rtp_packets_lost)
        }),
        ("rtsp_sessions_rtp_packets_in_error", |i| {
            Num::I(i.rtp_packets_in_error)
        }),
        ("rtsp_sessions_rtp_packets_jitter", |i| {
            Num::F(i.rtp_packets_jitter)
        }),
        ("rtsp_sessions_rtcp_packets_received", |i| {
            Num::I(i.rtcp_packets_received)
        }),
        ("rtsp_sessions_rtcp_packets_sent", |i| {
            Num::I(i.rtcp_packets_sent)
        }),
        ("rtsp_sessions_rtcp_packets_in_error", |i| {
            Num::I(i.rtcp_packets_in_error)
        }),
    ],
};

pub(super) const RTSPS_CONNS: Section<dto::RTSPConn> = Section {
    typ: "rtsps_conns",
    filter_key: "rtsps_conn",
    title: "RTSPS connections",
    id: |i| &i.id,
    labels: |i| tags(&[("id", &i.id)]),
    metrics: &[
        ("rtsps_conns", |_| Num::I(1)),
        ("rtsps_conns_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("rtsps_conns_outbound_bytes", |i| Num::I(i.outbound_bytes)),
    ],
    deprecated: &[
        ("rtsps_conns_bytes_received", |i| Num::I(i.bytes_received)),
        ("rtsps_conns_bytes_sent", |i| Num::I(i.bytes_sent)),
    ],
};

pub(super) const RTSPS_SESSIONS: Section<dto::RTSPSession> = Section {
    typ: "rtsps_sessions",
    filter_key: "rtsps_session",
    title: "RTSPS sessions",
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
        ("rtsps_sessions", |_| Num::I(1)),
        ("rtsps_sessions_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("rtsps_sessions_inbound_rtp_packets", |i| {
            Num::I(i.inbound_rtp_packets)
        }),
        ("rtsps_sessions_inbound_rtp_packets_lost", |i| {
            Num::I(i.inbound_rtp_packets_lost)
        }),
        ("rtsps_sessions_inbound_rtp_packets_in_error", |i| {
            Num::I(i.inbound_rtp_packets_in_error)
        }),
        ("rtsps_sessions_inbound_rtp_packets_jitter", |i| {
            Num::F(i.inbound_rtp_packets_jitter)
        }),
        ("rtsps_sessions_inbound_rtcp_packets", |i| {
            Num::I(i.inbound_rtcp_packets)
        }),
        ("rtsps_sessions_inbound_rtcp_packets_in_error", |i| {
            Num::I(i.inbound_rtcp_packets_in_error)
        }),
        ("rtsps_sessions_outbound_bytes", |i| {
            Num::I(i.outbound_bytes)
        }),
        ("rtsps_sessions_outbound_rtp_packets", |i| {
            Num::I(i.outbound_rtp_packets)
        }),
        ("rtsps_sessions_outbound_rtp_packets_reported_lost", |i| {
            Num::I(i.outbound_rtp_packets_reported_lost)
        }),
        ("rtsps_sessions_outbound_rtp_packets_discarded", |i| {
            Num::I(i.outbound_rtp_packets_discarded)
        }),
        ("rtsps_sessions_outbound_rtcp_packets", |i| {
            Num::I(i.outbound_rtcp_packets)
        }),
    ],
    deprecated: &[
        ("rtsps_sessions_bytes_received", |i| {
            Num::I(i.bytes_received)
        }),
        ("rtsps_sessions_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("rtsps_sessions_rtp_packets_received", |i| {
            Num::I(i.rtp_packets_received)
        }),
        ("rtsps_sessions_rtp_packets_sent", |i| {
            Num::I(i.rtp_packets_sent)
        }),
        ("rtsps_sessions_rtp_packets_lost", |i| {
            Num::I(i.rtp_packets_lost)
        }),
        ("rtsps_sessions_rtp_packets_in_error", |i| {
            Num::I(i.rtp_packets_in_error)
        }),
        ("rtsps_sessions_rtp_packets_jitter", |i| {
            Num::F(i.rtp_packets_jitter)
        }),
        ("rtsps_sessions_rtcp_packets_received", |i| {
            Num::I(i.rtcp_packets_received)
        }),
        ("rtsps_sessions_rtcp_packets_sent", |i| {
            Num::I(i.rtcp_packets_sent)
        }),
        ("rtsps_sessions_rtcp_packets_in_error", |i| {
            Num::I(i.rtcp_packets_in_error)
        }),
    ],
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
        ("rtmp_conns", |_| Num::I(1)),
        ("rtmp_conns_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("rtmp_conns_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("rtmp_conns_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[
        ("rtmp_conns_bytes_received", |i| Num::I(i.bytes_received)),
        ("rtmp_conns_bytes_sent", |i| Num::I(i.bytes_sent)),
    ],
};

pub(super) const RTMPS_CONNS: Section<dto::RTMPConn> = Section {
    typ: "rtmps_conns",
    filter_key: "rtmps_conn",
    title: "RTMPS connections",
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
        ("rtmps_conns", |_| Num::I(1)),
        ("rtmps_conns_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("rtmps_conns_outbound_bytes", |i| Num::I(i.outbound_bytes)),
        ("rtmps_conns_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[
        ("rtmps_conns_bytes_received", |i| Num::I(i.bytes_received)),
        ("rtmps_conns_bytes_sent", |i| Num::I(i.bytes_sent)),
    ],
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
        ("srt_conns", |_| Num::I(1)),
        ("srt_conns_packets_sent", |i| Num::I(i.packets_sent)),
        ("srt_conns_packets_received", |i| Num::I(i.packets_received)),
        ("srt_conns_packets_sent_unique", |i| {
            Num::I(i.packets_sent_unique)
        }),
        ("srt_conns_packets_received_unique", |i| {
            Num::I(i.packets_received_unique)
        }),
        ("srt_conns_packets_send_loss", |i| {
            Num::I(i.packets_send_loss)
        }),
        ("srt_conns_packets_received_loss", |i| {
            Num::I(i.packets_received_loss)
        }),
        ("srt_conns_packets_retrans", |i| Num::I(i.packets_retrans)),
        ("srt_conns_packets_received_retrans", |i| {
            Num::I(i.packets_received_retrans)
        }),
        ("srt_conns_packets_sent_ack", |i| Num::I(i.packets_sent_ack)),
        ("srt_conns_packets_received_ack", |i| {
            Num::I(i.packets_received_ack)
        }),
        ("srt_conns_packets_sent_nak", |i| Num::I(i.packets_sent_nak)),
        ("srt_conns_packets_received_nak", |i| {
            Num::I(i.packets_received_nak)
        }),
        ("srt_conns_packets_sent_km", |i| Num::I(i.packets_sent_km)),
        ("srt_conns_packets_received_km", |i| {
            Num::I(i.packets_received_km)
        }),
        ("srt_conns_us_snd_duration", |i| Num::I(i.us_snd_duration)),
        ("srt_conns_packets_received_belated", |i| {
            Num::I(i.packets_received_belated)
        }),
        ("srt_conns_packets_send_drop", |i| {
            Num::I(i.packets_send_drop)
        }),
        ("srt_conns_packets_received_drop", |i| {
            Num::I(i.packets_received_drop)
        }),
        ("srt_conns_packets_received_undecrypt", |i| {
            Num::I(i.packets_received_undecrypt)
        }),
        ("srt_conns_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("srt_conns_bytes_received", |i| Num::I(i.bytes_received)),
        ("srt_conns_bytes_sent_unique", |i| {
            Num::I(i.bytes_sent_unique)
        }),
        ("srt_conns_bytes_received_unique", |i| {
            Num::I(i.bytes_received_unique)
        }),
        ("srt_conns_bytes_received_loss", |i| {
            Num::I(i.bytes_received_loss)
        }),
        ("srt_conns_bytes_retrans", |i| Num::I(i.bytes_retrans)),
        ("srt_conns_bytes_received_retrans", |i| {
            Num::I(i.bytes_received_retrans)
        }),
        ("srt_conns_bytes_received_belated", |i| {
            Num::I(i.bytes_received_belated)
        }),
        ("srt_conns_bytes_send_drop", |i| Num::I(i.bytes_send_drop)),
        ("srt_conns_bytes_received_drop", |i| {
            Num::I(i.bytes_received_drop)
        }),
        ("srt_conns_bytes_received_undecrypt", |i| {
            Num::I(i.bytes_received_undecrypt)
        }),
        ("srt_conns_us_packets_send_period", |i| {
            Num::F(i.us_packets_send_period)
        }),
        ("srt_conns_packets_flow_window", |i| {
            Num::I(i.packets_flow_window)
        }),
        ("srt_conns_packets_flight_size", |i| {
            Num::I(i.packets_flight_size)
        }),
        ("srt_conns_ms_rtt", |i| Num::F(i.ms_rtt)),
        ("srt_conns_mbps_send_rate", |i| Num::F(i.mbps_send_rate)),
        ("srt_conns_mbps_receive_rate", |i| {
            Num::F(i.mbps_receive_rate)
        }),
        ("srt_conns_mbps_link_capacity", |i| {
            Num::F(i.mbps_link_capacity)
        }),
        ("srt_conns_bytes_avail_send_buf", |i| {
            Num::I(i.bytes_avail_send_buf)
        }),
        ("srt_conns_bytes_avail_receive_buf", |i| {
            Num::I(i.bytes_avail_receive_buf)
        }),
        ("srt_conns_mbps_max_bw", |i| Num::F(i.mbps_max_bw)),
        ("srt_conns_bytes_mss", |i| Num::I(i.byte_mss)),
        ("srt_conns_packets_send_buf", |i| Num::I(i.packets_send_buf)),
        ("srt_conns_bytes_send_buf", |i| Num::I(i.bytes_send_buf)),
        ("srt_conns_ms_send_buf", |i| Num::I(i.ms_send_buf)),
        ("srt_conns_ms_send_tsb_pd_delay", |i| {
            Num::I(i.ms_send_tsb_pd_delay)
        }),
        ("srt_conns_packets_receive_buf", |i| {
            Num::I(i.packets_receive_buf)
        }),
        ("srt_conns_bytes_receive_buf", |i| {
            Num::I(i.bytes_receive_buf)
        }),
        ("srt_conns_ms_receive_buf", |i| Num::I(i.ms_receive_buf)),
        ("srt_conns_ms_receive_tsb_pd_delay", |i| {
            Num::I(i.ms_receive_tsb_pd_delay)
        }),
        ("srt_conns_packets_reorder_tolerance", |i| {
            Num::I(i.packets_reorder_tolerance)
        }),
        ("srt_conns_packets_received_avg_belated_time", |i| {
            Num::I(i.packets_received_avg_belated_time)
        }),
        ("srt_conns_packets_send_loss_rate", |i| {
            Num::F(i.packets_send_loss_rate)
        }),
        ("srt_conns_packets_received_loss_rate", |i| {
            Num::F(i.packets_received_loss_rate)
        }),
        ("srt_conns_outbound_frames_discarded", |i| {
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
        ("webrtc_sessions", |_| Num::I(1)),
        ("webrtc_sessions_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("webrtc_sessions_inbound_rtp_packets", |i| {
            Num::I(i.inbound_rtp_packets)
        }),
        ("webrtc_sessions_inbound_rtp_packets_lost", |i| {
            Num::I(i.inbound_rtp_packets_lost)
        }),
        ("webrtc_sessions_inbound_rtp_packets_jitter", |i| {
            Num::F(i.inbound_rtp_packets_jitter)
        }),
        ("webrtc_sessions_inbound_rtcp_packets", |i| {
            Num::I(i.inbound_rtcp_packets)
        }),
        ("webrtc_sessions_outbound_bytes", |i| {
            Num::I(i.outbound_bytes)
        }),
        ("webrtc_sessions_outbound_rtp_packets", |i| {
            Num::I(i.outbound_rtp_packets)
        }),
        ("webrtc_sessions_outbound_rtcp_packets", |i| {
            Num::I(i.outbound_rtcp_packets)
        }),
        ("webrtc_sessions_outbound_frames_discarded", |i| {
            Num::I(i.outbound_frames_discarded)
        }),
    ],
    deprecated: &[
        ("webrtc_sessions_bytes_received", |i| {
            Num::I(i.bytes_received)
        }),
        ("webrtc_sessions_bytes_sent", |i| Num::I(i.bytes_sent)),
        ("webrtc_sessions_rtp_packets_received", |i| {
            Num::I(i.rtp_packets_received)
        }),
        ("webrtc_sessions_rtp_packets_sent", |i| {
            Num::I(i.rtp_packets_sent)
        }),
        ("webrtc_sessions_rtp_packets_lost", |i| {
            Num::I(i.rtp_packets_lost)
        }),
        ("webrtc_sessions_rtp_packets_jitter", |i| {
            Num::F(i.rtp_packets_jitter)
        }),
        ("webrtc_sessions_rtcp_packets_received", |i| {
            Num::I(i.rtcp_packets_received)
        }),
        ("webrtc_sessions_rtcp_packets_sent", |i| {
            Num::I(i.rtcp_packets_sent)
        }),
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
        ("moq_sessions", |_| Num::I(1)),
        ("moq_sessions_inbound_bytes", |i| Num::I(i.inbound_bytes)),
        ("moq_sessions_outbound_bytes", |i| Num::I(i.outbound_bytes)),
    ],
    deprecated: &[],
};
