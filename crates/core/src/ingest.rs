//! `to_stream`, written once for every protocol. [`RtpIngest`] takes the RTP packets of a
//! publisher (RTSP server and source, WHIP): optional reordering, depacketizing, the loss
//! policy, the timeline, bounded pending data, and packetizing again what is too big for
//! readers. [`UnitIngest`] takes access units of protocols that deliver them whole (RTMP,
//! SRT/MPEG-TS, HLS source, recording playback). Both write [`Unit`]s into a [`Stream`],
//! which keeps the parameter sets it sees and the keyframe requests of its readers.
//!
//! Sans-IO: every call that depends on time takes `now`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ferromtx_codec::reorder::Reorderer;
use ferromtx_codec::{DepacketizeError, Depacketizer, Format, Frame, rtp};

use crate::packets::Repacketizer;
use crate::stream::{Stream, StreamError, Track};
use crate::unit::Unit;

/// A unit never holds more packets than this; beyond, they are written without a frame
/// (protects memory against a peer that never completes a frame).
pub const MAX_PACKETS_PER_UNIT: usize = 1024;

/// Anomalies of a publisher's media since the last report. Protocols log them at most
/// once a second with [`Anomalies::log_lines`], never per packet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Anomalies {
    /// Packets that never arrived (sequence gaps, late packets given up for).
    pub lost: u64,
    /// Packets or frames that could not be used.
    pub decode_errors: u64,
    /// The last decode error, with the packet it came from.
    pub last_error: Option<String>,
}

impl Anomalies {
    pub fn decode_error(&mut self, e: impl std::fmt::Display) {
        self.decode_errors += 1;
        self.last_error = Some(e.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.lost == 0 && self.decode_errors == 0
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

/// A depacketizer's complaint about one packet, with what finds the packet in a capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (SSRC {ssrc:08X}, sequence number {sequence_number}, timestamp {timestamp})")]
pub struct PacketError {
    pub error: DepacketizeError,
    pub ssrc: u32,
    pub sequence_number: u16,
    pub timestamp: u32,
}

impl PacketError {
    fn new(error: DepacketizeError, pkt: &rtp::Packet) -> PacketError {
        PacketError {
            error,
            ssrc: pkt.ssrc,
            sequence_number: pkt.sequence_number,
            timestamp: pkt.timestamp,
        }
    }
}

/// Extends 32-bit RTP timestamps into a PTS counted from the first one; a step back (a
/// B-frame, a small jitter) stays a step back.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    last: Option<u32>,
    pts: i64,
}

impl Timeline {
    pub fn pts(&mut self, ts: u32) -> i64 {
        if let Some(last) = self.last {
            self.pts += i64::from(ts.wrapping_sub(last) as i32);
        }
        self.last = Some(ts);
        self.pts
    }
}

/// How a publisher's packets are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOptions {
    /// Put packets back in sequence order, waiting at most this long for a missing one
    /// (its retransmission after a NACK, a UDP reordering); `None` on ordered transports
    /// (TCP, interleaved).
    pub reorder: Option<Duration>,
    /// Largest RTP payload readers may get; a publisher that sends bigger packets has the
    /// track's frames packetized again (from then on), as MediaMTX does for
    /// `udpMaxPayloadSize`. `None`: packets are kept as they came.
    pub max_payload: Option<usize>,
}

struct TrackIngest {
    format: Format,
    depacketizer: Box<dyn Depacketizer + Send>,
    reorder: Option<Reorderer<rtp::Packet>>,
    pending: Vec<rtp::Packet>,
    timeline: Timeline,
    /// Set once a packet was bigger than readers may get.
    repacketize: bool,
}

/// A publisher's RTP packets into its stream.
pub struct RtpIngest {
    stream: Arc<Stream>,
    tracks: Vec<TrackIngest>,
    repacketizer: Option<Repacketizer>,
    options: IngestOptions,
    anomalies: Anomalies,
    /// Packets lost since the start (for the API).
    lost_total: u64,
}

impl std::fmt::Debug for RtpIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpIngest")
            .field("stream", &self.stream.label())
            .finish_non_exhaustive()
    }
}

impl RtpIngest {
    /// Takes packets of the stream's tracks (indexes as in [`Stream::tracks`]).
    pub fn new(stream: Arc<Stream>, options: IngestOptions) -> RtpIngest {
        let tracks = stream
            .tracks()
            .iter()
            .map(|t| TrackIngest {
                format: t.format.clone(),
                depacketizer: ferromtx_codec::depacketizer(&t.format),
                reorder: options.reorder.map(Reorderer::new),
                pending: Vec::new(),
                timeline: Timeline::default(),
                repacketize: false,
            })
            .collect();
        RtpIngest {
            stream,
            tracks,
            repacketizer: None,
            options,
            anomalies: Anomalies::default(),
            lost_total: 0,
        }
    }

    pub fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }

    /// One received packet of `track`. Fails only when the stream is gone.
    pub fn push(
        &mut self,
        track: usize,
        pkt: rtp::Packet,
        now: Instant,
    ) -> Result<(), StreamError> {
        let Some(t) = self.tracks.get_mut(track) else {
            return Ok(());
        };
        match &mut t.reorder {
            None => self.take(track, pkt),
            Some(r) => {
                r.push(now, pkt.sequence_number, pkt);
                self.release(track, now)
            }
        }
    }

    /// Releases what reordering held past its wait (call at [`RtpIngest::deadline`]).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), StreamError> {
        for track in 0..self.tracks.len() {
            self.release(track, now)?;
        }
        Ok(())
    }

    /// When reordering gives up on a missing packet, if one is awaited.
    pub fn deadline(&self) -> Option<Instant> {
        self.tracks
            .iter()
            .filter_map(|t| t.reorder.as_ref().and_then(Reorderer::deadline))
            .min()
    }

    /// The anomalies since the previous call.
    pub fn take_anomalies(&mut self) -> Anomalies {
        std::mem::take(&mut self.anomalies)
    }

    /// Packets lost since the start.
    pub fn lost(&self) -> u64 {
        self.lost_total
    }

    fn release(&mut self, track: usize, now: Instant) -> Result<(), StreamError> {
        // Bounded by the reorder window and what it holds.
        loop {
            let Some(pkt) = self
                .tracks
                .get_mut(track)
                .and_then(|t| t.reorder.as_mut())
                .and_then(|r| r.pop(now))
            else {
                return Ok(());
            };
            self.take(track, pkt)?;
        }
    }

    fn lose(&mut self, count: u64) {
        self.anomalies.lost += count;
        self.lost_total += count;
    }

    /// One packet in sequence order.
    fn take(&mut self, track: usize, pkt: rtp::Packet) -> Result<(), StreamError> {
        let Some(t) = self.tracks.get_mut(track) else {
            return Ok(());
        };
        if !t.repacketize
            && let Some(max) = self.options.max_payload
            && pkt.payload.len() > max
            && !matches!(t.format, Format::Generic { .. })
        {
            // Logged by the path, as MediaMTX does (`[path cam] RTP packets are too big`).
            tracing::info_span!(parent: None, "path", path = %self.stream.label()).in_scope(|| {
                tracing::info!(
                    "RTP packets are too big ({} > {max}), remuxing them into smaller ones",
                    pkt.payload.len()
                );
            });
            t.repacketize = true;
            let tracks = self.stream.tracks();
            self.repacketizer
                .get_or_insert_with(|| Repacketizer::new(tracks, max, pkt.ssrc))
                .continue_track(track, pkt.ssrc, pkt.sequence_number);
        }
        // Packets of an earlier timestamp that never completed a frame leave first: readers
        // that forward RTP get them as they came.
        if t.pending
            .first()
            .is_some_and(|p| p.timestamp != pkt.timestamp)
        {
            let packets = std::mem::take(&mut t.pending);
            self.write(track, packets, None)?;
        }
        let t = &mut self.tracks[track];
        let mut lost = 0;
        let mut error = None;
        match t.depacketizer.push(&pkt) {
            Ok(()) => {}
            // A duplicate or a straggler: readers already have its place in the sequence.
            Err(DepacketizeError::OutOfOrder { .. }) => return Ok(()),
            Err(DepacketizeError::PacketsLost { count }) => lost = u64::from(count),
            Err(e) => error = Some(PacketError::new(e, &pkt)),
        }
        t.pending.push(pkt);
        let mut frames = Vec::new();
        while let Some(frame) = t.depacketizer.pull() {
            frames.push(frame);
        }
        self.lose(lost);
        if let Some(e) = error {
            self.anomalies.decode_error(e);
        }
        for frame in frames {
            let packets = std::mem::take(&mut self.tracks[track].pending);
            self.write(track, packets, Some(frame))?;
        }
        if self.tracks[track].pending.len() >= MAX_PACKETS_PER_UNIT {
            let packets = std::mem::take(&mut self.tracks[track].pending);
            self.write(track, packets, None)?;
        }
        Ok(())
    }

    fn write(
        &mut self,
        track: usize,
        mut rtp_packets: Vec<rtp::Packet>,
        frame: Option<Frame>,
    ) -> Result<(), StreamError> {
        let t = &mut self.tracks[track];
        let ts = match (&frame, rtp_packets.first()) {
            (Some(f), _) => f.rtp_timestamp,
            (None, Some(p)) => p.timestamp,
            (None, None) => return Ok(()),
        };
        if t.repacketize {
            // Packets of a frame that did not complete cannot be cut down: they are dropped.
            let Some(f) = &frame else {
                return Ok(());
            };
            let Some(repacketizer) = self.repacketizer.as_mut() else {
                return Ok(());
            };
            rtp_packets = match repacketizer.packetize(track, f) {
                Ok(p) => p,
                Err(e) => {
                    self.anomalies.decode_error(e);
                    Vec::new()
                }
            };
        }
        let pts = t.timeline.pts(ts);
        let random_access = frame.as_ref().is_some_and(|f| f.random_access);
        self.stream.write(Unit {
            track,
            pts,
            ntp: Some(SystemTime::now()),
            rtp_packets,
            frame,
            random_access,
            ..Unit::default()
        })
    }
}

/// Access units of a publisher that delivers them whole (no RTP) into its stream. Readers
/// that need RTP get it from derived views, packetized once per stream.
#[derive(Debug)]
pub struct UnitIngest {
    stream: Arc<Stream>,
}

impl UnitIngest {
    pub fn new(stream: Arc<Stream>) -> UnitIngest {
        UnitIngest { stream }
    }

    pub fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }

    /// Writes one access unit of `track`: `pts` (and `dts` when the container gives one
    /// that differs) in the track's clock rate from the publisher's start, `frame.parts` in
    /// the codec's form (NAL units without start codes, AAC access units...),
    /// `frame.random_access` as the container says.
    pub fn write(
        &mut self,
        track: usize,
        pts: i64,
        dts: Option<i64>,
        ntp: Option<SystemTime>,
        mut frame: Frame,
    ) -> Result<(), StreamError> {
        // RTP timestamps are the PTS modulo 2^32, as a packetizer would stamp them.
        frame.rtp_timestamp = pts as u32;
        let random_access = frame.random_access;
        self.stream.write(Unit {
            track,
            pts,
            dts: dts.filter(|d| *d != pts),
            ntp: Some(ntp.unwrap_or_else(SystemTime::now)),
            rtp_packets: Vec::new(),
            frame: Some(frame),
            random_access,
            ..Unit::default()
        })
    }
}

/// The tracks of a list of formats.
pub fn tracks_of(formats: &[Format]) -> Vec<Track> {
    formats
        .iter()
        .map(|f| Track { format: f.clone() })
        .collect()
}
