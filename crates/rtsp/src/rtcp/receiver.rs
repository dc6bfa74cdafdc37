//! Receiver-side statistics and reports (RFC 3550 A.1, A.3, A.8).

use std::time::{Duration, Instant};

use ferromtx_codec::rtp::Packet;

use super::{ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SenderReport};

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

/// Tracks one received RTP source and writes receiver reports about it. Pure: arrival
/// times are passed in.
#[derive(Debug, Clone)]
pub struct RtcpReceiver {
    clock_rate: u32,
    local_ssrc: u32,
    cname: Option<String>,
    epoch: Option<Instant>,
    source: Option<Source>,
    last_sr: Option<(u32, Instant)>,
}

#[derive(Debug, Clone)]
struct Source {
    ssrc: u32,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    last_transit: Option<u32>,
    jitter: f64,
}

impl Source {
    fn new(ssrc: u32, seq: u16) -> Self {
        Source {
            ssrc,
            base_seq: u32::from(seq),
            max_seq: seq,
            cycles: 0,
            bad_seq: None,
            received: 1,
            expected_prior: 0,
            received_prior: 0,
            last_transit: None,
            jitter: 0.0,
        }
    }

    fn extended_max(&self) -> u64 {
        u64::from(self.cycles) + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Returns whether the packet counts (false while a big jump is being confirmed).
    fn update_seq(&mut self, seq: u16) -> bool {
        let delta = seq.wrapping_sub(self.max_seq);
        if delta == 0 {
            // Duplicate.
            self.received += 1;
            true
        } else if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
            self.received += 1;
            true
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: accept it only if the next packet follows it.
            if self.bad_seq == Some(seq) {
                *self = Source {
                    jitter: self.jitter,
                    ..Source::new(self.ssrc, seq)
                };
                true
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                false
            }
        } else {
            // Reordered or duplicate packet from the recent past.
            self.received += 1;
            true
        }
    }
}

impl RtcpReceiver {
    /// `local_ssrc` is the SSRC the reports are sent from.
    pub fn new(clock_rate: u32, local_ssrc: u32) -> Self {
        RtcpReceiver {
            clock_rate,
            local_ssrc,
            cname: None,
            epoch: None,
            source: None,
            last_sr: None,
        }
    }

    /// Adds an SDES CNAME chunk to every report.
    pub fn with_cname(mut self, cname: impl Into<String>) -> Self {
        self.cname = Some(cname.into());
        self
    }

    /// The interarrival jitter estimate, in RTP time units (0 before two packets).
    pub fn jitter(&self) -> f64 {
        self.source.as_ref().map_or(0.0, |s| s.jitter)
    }

    /// Records a packet that arrived at `now`.
    pub fn process_packet(&mut self, pkt: &Packet, now: Instant) {
        let epoch = *self.epoch.get_or_insert(now);
        let counted = match &mut self.source {
            Some(s) if s.ssrc == pkt.ssrc => s.update_seq(pkt.sequence_number),
            _ => {
                self.source = Some(Source::new(pkt.ssrc, pkt.sequence_number));
                true
            }
        };
        let Some(s) = self.source.as_mut() else {
            return;
        };
        if !counted {
            return;
        }
        // Arrival time in RTP units, modulo 2^32 like the timestamps.
        let arrival = (now.saturating_duration_since(epoch).as_secs_f64()
            * f64::from(self.clock_rate)) as u64 as u32;
        let transit = arrival.wrapping_sub(pkt.timestamp);
        if let Some(last) = s.last_transit {
            let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            s.jitter += (d - s.jitter) / 16.0;
        }
        s.last_transit = Some(transit);
    }

    /// Records a sender report from the source, received at `now`, for LSR/DLSR.
    pub fn process_sender_report(&mut self, sr: &SenderReport, now: Instant) {
        self.last_sr = Some(((sr.ntp_time >> 16) as u32, now));
    }

    /// The report for the interval since the previous call, or `None` before any packet.
    pub fn report(&mut self, now: Instant) -> Option<Vec<RtcpPacket>> {
        let s = self.source.as_mut()?;
        let expected = s.expected();
        let lost = expected as i64 - s.received as i64;
        let expected_interval = expected.saturating_sub(s.expected_prior);
        let received_interval = s.received.saturating_sub(s.received_prior);
        s.expected_prior = expected;
        s.received_prior = s.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (lsr, to_dlsr(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        let block = ReportBlock {
            ssrc: s.ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(-0x80_0000, 0x7f_ffff) as i32,
            extended_highest_seq: s.extended_max() as u32,
            jitter: s.jitter as u32,
            last_sr,
            delay_since_last_sr,
        };
        let mut out = vec![RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: self.local_ssrc,
            reports: vec![block],
        })];
        if let Some(cname) = &self.cname {
            out.push(RtcpPacket::SourceDescription(vec![SdesChunk {
                source: self.local_ssrc,
                items: vec![(
                    super::SDES_CNAME,
                    bytes::Bytes::copy_from_slice(&cname.as_bytes()[..cname.len().min(255)]),
                )],
            }]));
        }
        Some(out)
    }
}

/// A duration in units of 1/65536 s, saturating.
fn to_dlsr(d: Duration) -> u32 {
    let v = d.as_secs_f64() * 65536.0;
    if v >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        v as u32
    }
}
