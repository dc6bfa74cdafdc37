//! `to_stream` for RTSP publishers: RTP packets of each announced media become units of
//! the path's stream. Depacketizing finds frame boundaries and random-access points; the
//! original packets stay in the unit so RTSP readers forward them untouched.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use ferromtx_codec::{Depacketizer, Format, Packetizer, depacketizer, packetizer, rtp};
use ferromtx_core::{Stream, StreamError, Unit};

use super::info::RtpCounters;
use super::settings::DEFAULT_UDP_MAX_PAYLOAD_SIZE;
use crate::rtcp::{self, RtcpPacket, RtcpReceiver};

/// RTP header bytes without CSRCs or extensions.
const RTP_HEADER: usize = 12;

/// A unit never holds more packets than this; beyond, it is written without a frame
/// (protects memory against a peer that never completes a frame).
const MAX_PACKETS_PER_UNIT: usize = 1024;

/// Extends 32-bit RTP timestamps into a PTS counted from the first packet.
#[derive(Debug, Default)]
struct Timeline {
    last: Option<u32>,
    pts: i64,
}

impl Timeline {
    fn pts(&mut self, ts: u32) -> i64 {
        if let Some(last) = self.last {
            self.pts += i64::from(ts.wrapping_sub(last) as i32);
        }
        self.last = Some(ts);
        self.pts
    }
}

/// One announced media being received.
struct TrackIn {
    format: Format,
    depacketizer: Box<dyn Depacketizer + Send>,
    pending: Vec<rtp::Packet>,
    timeline: Timeline,
    receiver: RtcpReceiver,
    /// Set once a packet is bigger than readers may get over UDP: from then on, the
    /// track's frames are packetized again to the allowed size (as MediaMTX does).
    repacketizer: Option<Box<dyn Packetizer + Send>>,
}

/// Anomalies since the last report; the connection logs them at most once a second.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Anomalies {
    pub lost: u64,
    pub decode_errors: u64,
    pub last_error: Option<String>,
}

impl Anomalies {
    fn decode_error(&mut self, e: impl std::fmt::Display) {
        self.decode_errors += 1;
        self.last_error = Some(e.to_string());
    }

    /// MediaMTX's warnings for these anomalies.
    pub fn log_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.lost > 0 {
            let noun = if self.lost == 1 { "packet" } else { "packets" };
            out.push(format!("{} RTP {noun} lost", self.lost));
        }
        let last = self.last_error.as_deref().unwrap_or_default();
        match self.decode_errors {
            0 => {}
            1 => out.push(format!("decode error: {last}")),
            n => out.push(format!("{n} decode errors, last was: {last}")),
        }
        out
    }
}

/// A publisher's tracks, writing into its stream.
pub(crate) struct Publishing {
    stream: Arc<Stream>,
    tracks: Vec<TrackIn>,
    anomalies: Anomalies,
    counters: Arc<RtpCounters>,
    /// Largest RTP payload given to readers (`udpMaxPayloadSize` minus the header).
    max_payload: usize,
}

impl Publishing {
    /// `formats` are the stream's tracks in order; `local_ssrc` signs receiver reports.
    pub fn new(stream: Arc<Stream>, formats: &[Format], local_ssrc: u32) -> Publishing {
        let tracks = formats
            .iter()
            .map(|f| TrackIn {
                format: f.clone(),
                depacketizer: depacketizer(f),
                pending: Vec::new(),
                timeline: Timeline::default(),
                receiver: RtcpReceiver::new(f.clock_rate(), local_ssrc),
                repacketizer: None,
            })
            .collect();
        Publishing {
            stream,
            tracks,
            anomalies: Anomalies::default(),
            counters: Arc::new(RtpCounters::default()),
            max_payload: DEFAULT_UDP_MAX_PAYLOAD_SIZE - RTP_HEADER,
        }
    }

    /// Bounds the packets given to readers by `udpMaxPayloadSize` (RTP header included,
    /// as MediaMTX counts).
    pub fn with_udp_max_payload_size(mut self, size: usize) -> Publishing {
        self.max_payload = size.saturating_sub(RTP_HEADER).max(64);
        self
    }

    /// Counts packets into `counters` (those of a session shown by the API).
    pub fn with_counters(mut self, counters: Arc<RtpCounters>) -> Publishing {
        self.counters = counters;
        self
    }

    /// Handles one RTP packet of `track`. Fails only when the stream is gone.
    pub fn on_rtp(&mut self, track: usize, data: &Bytes, now: Instant) -> Result<(), StreamError> {
        let Some(t) = self.tracks.get_mut(track) else {
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
        t.receiver.process_packet(&pkt, now);
        if t.repacketizer.is_none()
            && pkt.payload.len() > self.max_payload
            && !matches!(t.format, Format::Generic { .. })
        {
            tracing::info!(
                "RTP packets are too big ({} > {}), remuxing them into smaller ones",
                pkt.payload.len(),
                self.max_payload
            );
            t.repacketizer = Some(packetizer(
                &t.format,
                self.max_payload,
                pkt.ssrc,
                pkt.sequence_number,
            ));
        }
        // Packets of an earlier timestamp that never completed a frame leave first.
        if t.pending
            .first()
            .is_some_and(|p| p.timestamp != pkt.timestamp)
        {
            let packets = std::mem::take(&mut t.pending);
            write(&self.stream, track, t, packets, None, &mut self.anomalies)?;
        }
        match t.depacketizer.push(&pkt) {
            Ok(()) => {}
            Err(ferromtx_codec::DepacketizeError::PacketsLost { count }) => {
                RtpCounters::add(&self.counters.rtp_lost, u64::from(count));
                self.anomalies.lost += u64::from(count);
            }
            Err(e) => self.anomalies.decode_error(e),
        }
        t.pending.push(pkt);
        while let Some(frame) = t.depacketizer.pull() {
            let packets = std::mem::take(&mut t.pending);
            write(
                &self.stream,
                track,
                t,
                packets,
                Some(frame),
                &mut self.anomalies,
            )?;
        }
        if t.pending.len() >= MAX_PACKETS_PER_UNIT {
            let packets = std::mem::take(&mut t.pending);
            write(&self.stream, track, t, packets, None, &mut self.anomalies)?;
        }
        Ok(())
    }

    /// Publishes the mean interarrival jitter of the tracks (RTP time units) to the API.
    pub fn update_jitter(&self) {
        if !self.tracks.is_empty() {
            let sum: f64 = self.tracks.iter().map(|t| t.receiver.jitter()).sum();
            self.counters.set_jitter(sum / self.tracks.len() as f64);
        }
    }

    /// The anomalies since the previous call.
    pub fn take_anomalies(&mut self) -> Anomalies {
        std::mem::take(&mut self.anomalies)
    }

    /// Handles an RTCP compound packet of `track` (sender reports feed LSR/DLSR).
    pub fn on_rtcp(&mut self, track: usize, data: &[u8], now: Instant) {
        let Some(t) = self.tracks.get_mut(track) else {
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
                t.receiver.process_sender_report(sr, now);
            }
        }
    }

    /// The receiver report of each track that received something, by track index.
    pub fn receiver_reports(&mut self, now: Instant) -> Vec<(usize, Bytes)> {
        self.update_jitter();
        let out: Vec<(usize, Bytes)> = self
            .tracks
            .iter_mut()
            .enumerate()
            .filter_map(|(i, t)| {
                let packets = t.receiver.report(now)?;
                rtcp::marshal_compound(&packets).ok().map(|b| (i, b))
            })
            .collect();
        RtpCounters::add(&self.counters.rtcp_sent, out.len() as u64);
        out
    }
}

fn write(
    stream: &Stream,
    track: usize,
    t: &mut TrackIn,
    mut rtp_packets: Vec<rtp::Packet>,
    frame: Option<ferromtx_codec::Frame>,
    anomalies: &mut Anomalies,
) -> Result<(), StreamError> {
    let ts = match (&frame, rtp_packets.first()) {
        (Some(f), _) => f.rtp_timestamp,
        (None, Some(p)) => p.timestamp,
        (None, None) => return Ok(()),
    };
    if let Some(repacketizer) = t.repacketizer.as_mut() {
        // Packets of a frame that did not complete cannot be cut down: they are dropped.
        rtp_packets = match &frame {
            Some(f) => repacketizer.packetize(f).unwrap_or_else(|e| {
                anomalies.decode_error(e);
                Vec::new()
            }),
            None => return Ok(()),
        };
    }
    let random_access = frame.as_ref().is_some_and(|f| f.random_access);
    stream.write(Unit {
        track,
        pts: t.timeline.pts(ts),
        ntp: Some(SystemTime::now()),
        rtp_packets,
        frame,
        random_access,
        ..Unit::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromtx_core::{Track, TryNext};

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
        (Publishing::new(stream, &[h264()], 9), reader)
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

    #[test]
    fn timestamps_wrap_into_a_growing_pts() {
        let mut t = Timeline::default();
        assert_eq!(t.pts(u32::MAX - 99), 0);
        assert_eq!(t.pts(100), 200);
        assert_eq!(t.pts(50), 150);
    }
}
