//! RTP coming in, from a publisher of the server (RECORD) or from the server a pull source
//! reads (PLAY): packets are parsed and counted, RTCP receiver reports kept, and the core's
//! ingest makes units of them (depacketizing, timeline, loss policy, packetizing again
//! what is bigger than `udpMaxPayloadSize`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use ferromtx_codec::rtp;
use ferromtx_core::ingest::Anomalies;
use ferromtx_core::{IngestOptions, RtpIngest, Stream, StreamError};

use crate::rtcp::{self, RtcpPacket, RtcpReceiver};

/// MediaMTX's default `udpMaxPayloadSize`.
pub const DEFAULT_UDP_MAX_PAYLOAD_SIZE: usize = 1452;

/// RTP/RTCP counters of one session (or one pull source).
#[derive(Debug, Default)]
pub(crate) struct RtpCounters {
    pub rtp_received: AtomicU64,
    pub rtp_sent: AtomicU64,
    pub rtp_lost: AtomicU64,
    pub rtp_in_error: AtomicU64,
    pub rtp_reported_lost: AtomicU64,
    /// `f64` bits of the mean jitter of the tracks.
    pub jitter_bits: AtomicU64,
    pub rtcp_received: AtomicU64,
    pub rtcp_sent: AtomicU64,
    pub rtcp_in_error: AtomicU64,
}

impl RtpCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_jitter(&self, jitter: f64) {
        self.jitter_bits.store(jitter.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A publisher's tracks, writing into its stream.
pub(crate) struct Publishing {
    ingest: RtpIngest,
    receivers: Vec<RtcpReceiver>,
    /// Packets and RTCP that could not be parsed (the ingest keeps its own).
    anomalies: Anomalies,
    counters: Arc<RtpCounters>,
}

impl Publishing {
    /// Takes the RTP of the stream's tracks, in order (TCP, or UDP as it comes);
    /// `local_ssrc` signs receiver reports; packets bigger than `udp_max_payload_size` (RTP
    /// header included, as MediaMTX counts) are packetized again for readers.
    pub fn new(stream: Arc<Stream>, local_ssrc: u32, udp_max_payload_size: usize) -> Publishing {
        let receivers = stream
            .tracks()
            .iter()
            .map(|t| RtcpReceiver::new(t.format.clock_rate(), local_ssrc))
            .collect();
        let options = IngestOptions {
            reorder: None,
            max_payload: Some(ferromtx_core::packets::max_payload(udp_max_payload_size)),
        };
        Publishing {
            ingest: RtpIngest::new(stream, options),
            receivers,
            anomalies: Anomalies::default(),
            counters: Arc::new(RtpCounters::default()),
        }
    }

    /// Counts packets into `counters` (those of a session shown by the API).
    pub fn with_counters(mut self, counters: Arc<RtpCounters>) -> Publishing {
        self.counters = counters;
        self
    }

    /// Handles one RTP packet of `track`. Fails only when the stream is gone.
    pub fn on_rtp(&mut self, track: usize, data: &Bytes, now: Instant) -> Result<(), StreamError> {
        let Some(receiver) = self.receivers.get_mut(track) else {
            return Ok(());
        };
        let pkt = match rtp::Packet::unmarshal(data) {
            Ok(p) => p,
            Err(e) => {
                RtpCounters::add(&self.counters.rtp_in_error, 1);
                self.anomalies.decode_error(e);
                return Ok(());
            }
        };
        RtpCounters::add(&self.counters.rtp_received, 1);
        receiver.process_packet(&pkt, now);
        let res = self.ingest.push(track, pkt, now);
        self.counters
            .rtp_lost
            .store(self.ingest.lost(), Ordering::Relaxed);
        res
    }

    /// Publishes the mean interarrival jitter of the tracks (RTP time units) to the API.
    pub fn update_jitter(&self) {
        if !self.receivers.is_empty() {
            let sum: f64 = self.receivers.iter().map(RtcpReceiver::jitter).sum();
            self.counters.set_jitter(sum / self.receivers.len() as f64);
        }
    }

    /// The anomalies since the previous call.
    pub fn take_anomalies(&mut self) -> Anomalies {
        let mut a = self.ingest.take_anomalies();
        let own = std::mem::take(&mut self.anomalies);
        a.lost += own.lost;
        a.decode_errors += own.decode_errors;
        if own.last_error.is_some() && a.last_error.is_none() {
            a.last_error = own.last_error;
        }
        a
    }

    /// Handles an RTCP compound packet of `track` (sender reports feed LSR/DLSR).
    pub fn on_rtcp(&mut self, track: usize, data: &[u8], now: Instant) {
        let Some(receiver) = self.receivers.get_mut(track) else {
            return;
        };
        let packets = match rtcp::parse_compound(data) {
            Ok(p) => p,
            Err(e) => {
                RtpCounters::add(&self.counters.rtcp_in_error, 1);
                self.anomalies.decode_error(e);
                return;
            }
        };
        RtpCounters::add(&self.counters.rtcp_received, 1);
        for p in &packets {
            if let RtcpPacket::SenderReport(sr) = p {
                receiver.process_sender_report(sr, now);
            }
        }
    }

    /// The receiver report of each track that received something, by track index.
    pub fn receiver_reports(&mut self, now: Instant) -> Vec<(usize, Bytes)> {
        self.update_jitter();
        let out: Vec<(usize, Bytes)> = self
            .receivers
            .iter_mut()
            .enumerate()
            .filter_map(|(i, r)| {
                let packets = r.report(now)?;
                rtcp::marshal_compound(&packets).ok().map(|b| (i, b))
            })
            .collect();
        RtpCounters::add(&self.counters.rtcp_sent, out.len() as u64);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromtx_codec::Format;
    use ferromtx_core::{Track, TryNext, Unit};

    fn h264() -> Format {
        Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        }
    }

    fn packet(seq: u16, ts: u32, marker: bool, payload: &'static [u8]) -> Bytes {
        rtp::Packet {
            marker,
            payload_type: 96,
            sequence_number: seq,
            timestamp: ts,
            ssrc: 1,
            csrc: Vec::new(),
            extension: None,
            payload: Bytes::from_static(payload),
        }
        .marshal()
    }

    fn setup() -> (Publishing, ferromtx_core::Reader) {
        let stream = Stream::new("test", vec![Track { format: h264() }], 64);
        let reader = stream.reader();
        (
            Publishing::new(stream, 9, DEFAULT_UDP_MAX_PAYLOAD_SIZE),
            reader,
        )
    }

    fn next(reader: &mut ferromtx_core::Reader) -> Option<Arc<Unit>> {
        match reader.try_next(tokio::time::Instant::now()) {
            TryNext::Unit(u) => Some(u),
            _ => None,
        }
    }

    #[test]
    fn fragments_of_one_frame_make_one_unit_with_all_packets() {
        let (mut p, mut reader) = setup();
        let now = Instant::now();
        // FU-A fragments of one IDR slice: start, middle, end.
        p.on_rtp(0, &packet(10, 3000, false, &[0x7c, 0x85, 1, 2]), now)
            .unwrap();
        p.on_rtp(0, &packet(11, 3000, false, &[0x7c, 0x05, 3, 4]), now)
            .unwrap();
        assert!(next(&mut reader).is_none(), "frame not complete yet");
        p.on_rtp(0, &packet(12, 3000, true, &[0x7c, 0x45, 5]), now)
            .unwrap();
        let unit = next(&mut reader).expect("one unit");
        assert_eq!(unit.rtp_packets.len(), 3);
        assert_eq!(
            unit.rtp_packets
                .iter()
                .map(|p| p.sequence_number)
                .collect::<Vec<_>>(),
            vec![10, 11, 12]
        );
        assert!(unit.random_access);
        assert_eq!(unit.pts, 0);
        let frame = unit.frame.as_ref().expect("frame");
        assert_eq!(
            frame.parts,
            vec![Bytes::from_static(&[0x65, 1, 2, 3, 4, 5])]
        );

        // Next frame: a non-IDR slice 3600 ticks later.
        p.on_rtp(0, &packet(13, 6600, true, &[0x41, 9]), now)
            .unwrap();
        let unit = next(&mut reader).expect("second unit");
        assert!(!unit.random_access);
        assert_eq!(unit.pts, 3600);
    }

    #[test]
    fn losses_and_garbage_are_counted_not_fatal() {
        let (mut p, mut reader) = setup();
        let now = Instant::now();
        p.on_rtp(0, &packet(1, 0, true, &[0x65, 1]), now).unwrap();
        p.on_rtp(0, &packet(5, 3600, true, &[0x41, 2]), now)
            .unwrap();
        p.on_rtp(0, &Bytes::from_static(&[1, 2, 3]), now).unwrap();
        assert!(next(&mut reader).is_some());
        assert!(next(&mut reader).is_some());
        let a = p.take_anomalies();
        assert_eq!(a.lost, 3);
        assert_eq!(a.decode_errors, 1);
        let lines = a.log_lines();
        assert_eq!(lines[0], "3 RTP packets lost");
        assert!(lines[1].starts_with("decode error: "), "{lines:?}");
        assert_eq!(p.take_anomalies(), Anomalies::default());
    }
}
