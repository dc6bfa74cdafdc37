//! `from_stream` for RTSP readers: the RTP packets of each unit are forwarded as they
//! came from the publisher, interleaved on the connection or as UDP datagrams, with
//! periodic RTCP sender reports.

use std::net::SocketAddr;
use std::time::{Instant, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_core::{ReaderHandle, Unit, ViewHandle};

use std::sync::Arc;

use crate::rtp_in::RtpCounters;
use ferromtx_core::RtpView;

use crate::interleaved;
use crate::rtcp::{self, RtcpPacket, RtcpSender, ntp_from_unix};
use crate::server_session::{SetupTrack, TrackTransport};

/// Where one track's packets go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Destination {
    Interleaved { rtp: u8, rtcp: u8 },
    Udp { rtp: SocketAddr, rtcp: SocketAddr },
}

/// UDP datagrams are carved out of blocks of this size.
const SCRATCH_BLOCK: usize = 64 * 1024;

struct TrackOut {
    destination: Destination,
    sender: RtcpSender,
    /// Packets the client says it lost (cumulative, from its last receiver report).
    reported_lost: u64,
}

/// A reader session in the play state.
pub(crate) struct Playing {
    pub handle: ReaderHandle,
    /// By stream track index; `None` for tracks the client did not set up.
    tracks: Vec<Option<TrackOut>>,
    /// Packets of units that arrive as frames only.
    packetized: ViewHandle<RtpView>,
    scratch: BytesMut,
    counters: Arc<RtpCounters>,
}

impl Playing {
    /// Starts forwarding the set-up tracks, from the live edge on.
    /// `udp_max_payload_size` bounds packets made from frames (`udpMaxPayloadSize`).
    pub fn new(
        mut handle: ReaderHandle,
        setup: &[SetupTrack],
        peer_ip: std::net::IpAddr,
        udp_max_payload_size: usize,
    ) -> Self {
        let formats: Vec<_> = handle
            .stream()
            .tracks()
            .iter()
            .map(|t| t.format.clone())
            .collect();
        let mut tracks: Vec<Option<TrackOut>> = formats.iter().map(|_| None).collect();
        for s in setup {
            let destination = match s.transport {
                TrackTransport::Tcp {
                    rtp_channel,
                    rtcp_channel,
                } => Destination::Interleaved {
                    rtp: rtp_channel,
                    rtcp: rtcp_channel,
                },
                TrackTransport::Udp {
                    client_rtp_port,
                    client_rtcp_port,
                } => Destination::Udp {
                    rtp: SocketAddr::new(peer_ip, client_rtp_port),
                    rtcp: SocketAddr::new(peer_ip, client_rtcp_port),
                },
                TrackTransport::Multicast { .. } => continue,
            };
            if let (Some(slot), Some(f)) =
                (tracks.get_mut(s.media_index), formats.get(s.media_index))
            {
                *slot = Some(TrackOut {
                    destination,
                    sender: RtcpSender::new(f.clock_rate()),
                    reported_lost: 0,
                });
            }
        }
        // Units written between SETUP and PLAY are not sent: start at the live edge.
        handle.reader().seek_live();
        let packetized = handle
            .stream()
            .view::<RtpView>(ferromtx_core::packets::max_payload(udp_max_payload_size));
        Playing {
            handle,
            tracks,
            packetized,
            scratch: BytesMut::with_capacity(SCRATCH_BLOCK),
            counters: Arc::new(RtpCounters::default()),
        }
    }

    /// Counts packets into `counters` (those of a session shown by the API).
    pub fn with_counters(mut self, counters: Arc<RtpCounters>) -> Playing {
        self.counters = counters;
        self
    }

    /// Appends the unit's packets: interleaved ones to `tcp_out`, UDP ones (with their
    /// destinations) to `udp_out`. Returns the bytes queued.
    pub fn send(
        &mut self,
        unit: &Unit,
        tcp_out: &mut BytesMut,
        udp_out: &mut Vec<(SocketAddr, Bytes)>,
        now: Instant,
    ) -> usize {
        let Some(Some(t)) = self.tracks.get_mut(unit.track) else {
            return 0;
        };
        let ntp = unit
            .ntp
            .and_then(|n| n.duration_since(UNIX_EPOCH).ok())
            .map(ntp_from_unix);
        let packets = if unit.rtp_packets.is_empty() {
            unit.view(&self.packetized).map_or(&[][..], Vec::as_slice)
        } else {
            &unit.rtp_packets[..]
        };
        let mut total = 0;
        for pkt in packets {
            let len = pkt.header_len() + pkt.payload.len();
            let Ok(len16) = u16::try_from(len) else {
                continue;
            };
            match t.destination {
                Destination::Interleaved { rtp, .. } => {
                    tcp_out.put_u8(interleaved::MAGIC);
                    tcp_out.put_u8(rtp);
                    tcp_out.put_u16(len16);
                    pkt.marshal_into(tcp_out);
                }
                Destination::Udp { rtp, .. } => {
                    if self.scratch.capacity() < len {
                        // One block serves many datagrams.
                        self.scratch = BytesMut::with_capacity(SCRATCH_BLOCK.max(len));
                    }
                    pkt.marshal_into(&mut self.scratch);
                    udp_out.push((rtp, self.scratch.split().freeze()));
                }
            }
            t.sender.process_packet(pkt, ntp, now);
            total += len;
        }
        RtpCounters::add(&self.counters.rtp_sent, packets.len() as u64);
        total
    }

    /// An RTCP packet from the client on an interleaved channel.
    pub fn on_interleaved_rtcp(&mut self, channel: u8, data: &[u8]) {
        let track = self.tracks.iter().position(|t| {
            matches!(t, Some(TrackOut { destination: Destination::Interleaved { rtcp, .. }, .. })
                if *rtcp == channel)
        });
        if let Some(track) = track {
            self.on_rtcp(track, data);
        }
    }

    /// An RTCP packet from the client about `track`: receiver reports give the packets
    /// it lost.
    pub fn on_rtcp(&mut self, track: usize, data: &[u8]) {
        let Some(Some(t)) = self.tracks.get_mut(track) else {
            return;
        };
        let packets = match rtcp::parse_compound(data) {
            Ok(p) => p,
            Err(_) => {
                RtpCounters::add(&self.counters.rtcp_in_error, 1);
                return;
            }
        };
        RtpCounters::add(&self.counters.rtcp_received, 1);
        let ssrc = t.sender.ssrc();
        for p in &packets {
            let blocks = match p {
                RtcpPacket::ReceiverReport(rr) => &rr.reports,
                RtcpPacket::SenderReport(sr) => &sr.reports,
                _ => continue,
            };
            for b in blocks.iter().filter(|b| Some(b.ssrc) == ssrc) {
                t.reported_lost = u64::try_from(b.cumulative_lost.max(0)).unwrap_or(0);
            }
        }
        let total = self.tracks.iter().flatten().map(|t| t.reported_lost).sum();
        self.counters
            .rtp_reported_lost
            .store(total, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sender reports of the tracks that sent something, with their destinations.
    pub fn sender_reports(&self, now: Instant) -> Vec<(Destination, Bytes)> {
        let out: Vec<(Destination, Bytes)> = self
            .tracks
            .iter()
            .flatten()
            .filter_map(|t| {
                let sr = t.sender.report(now)?;
                let data = rtcp::marshal_compound(&[RtcpPacket::SenderReport(sr)]).ok()?;
                Some((t.destination, data))
            })
            .collect();
        RtpCounters::add(&self.counters.rtcp_sent, out.len() as u64);
        out
    }
}
