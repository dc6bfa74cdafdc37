//! Sender reports (RFC 3550 6.4.1) for a stream we send.

use std::time::{Duration, Instant};

use ferromtx_codec::rtp::Packet;

use super::SenderReport;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Converts time since the Unix epoch into a 64-bit NTP timestamp.
pub fn ntp_from_unix(since_unix: Duration) -> u64 {
    let secs = since_unix.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

fn ntp_add(ntp: u64, d: Duration) -> u64 {
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    ntp.wrapping_add(d.as_secs() << 32).wrapping_add(frac)
}

/// Counts the packets we send and writes sender reports. Pure: `now` and the wall
/// clock (as NTP) are passed in.
#[derive(Debug, Clone)]
pub struct RtcpSender {
    clock_rate: u32,
    ssrc: Option<u32>,
    packet_count: u32,
    octet_count: u32,
    /// RTP timestamp, NTP time and local time of the last packet with a usable time.
    last: Option<(u32, u64, Instant)>,
}

impl RtcpSender {
    pub fn new(clock_rate: u32) -> Self {
        RtcpSender {
            clock_rate,
            ssrc: None,
            packet_count: 0,
            octet_count: 0,
            last: None,
        }
    }

    /// Records a sent packet. `ntp` is the wall-clock time of the packet's timestamp
    /// (e.g. from [`ntp_from_unix`]); pass `None` when it is unknown (for example a
    /// packet whose PTS differs from its DTS), then only the counters change.
    pub fn process_packet(&mut self, pkt: &Packet, ntp: Option<u64>, now: Instant) {
        self.ssrc = Some(pkt.ssrc);
        self.packet_count = self.packet_count.wrapping_add(1);
        self.octet_count = self.octet_count.wrapping_add(pkt.payload.len() as u32);
        if let Some(ntp) = ntp {
            self.last = Some((pkt.timestamp, ntp, now));
        }
    }

    /// The SSRC of the packets sent so far.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// The report at `now`, with RTP and NTP times extrapolated from the last packet;
    /// `None` before any timed packet.
    pub fn report(&self, now: Instant) -> Option<SenderReport> {
        let ssrc = self.ssrc?;
        let (rtp, ntp, at) = self.last?;
        let elapsed = now.saturating_duration_since(at);
        let ticks = (elapsed.as_secs_f64() * f64::from(self.clock_rate)) as u64 as u32;
        Some(SenderReport {
            ssrc,
            ntp_time: ntp_add(ntp, elapsed),
            rtp_time: rtp.wrapping_add(ticks),
            packet_count: self.packet_count,
            octet_count: self.octet_count,
            reports: Vec::new(),
        })
    }
}
