//! RTP packets for a payload limit, made in one place for every protocol: the ingest
//! packetizes again what a publisher sends too big for readers (`udpMaxPayloadSize`), the
//! [`RtpView`] packetizes the frames of publishers that send no RTP (RTMP, SRT) for RTSP
//! readers, and WebRTC's egress view fits units into browser-sized packets with their
//! parameter sets.

use ferromtx_codec::{Depacketizer, Format, Frame, PacketizeError, Packetizer, rtp};

use crate::stream::Track;
use crate::unit::Unit;
use crate::view::View;

/// RTP header bytes without CSRCs or extensions.
pub const RTP_HEADER: usize = 12;

/// The largest RTP payload for a `udpMaxPayloadSize` (which counts the RTP header, as
/// MediaMTX does).
pub fn max_payload(udp_max_payload_size: usize) -> usize {
    udp_max_payload_size.saturating_sub(RTP_HEADER).max(64)
}

struct Slot {
    format: Format,
    packetizer: Option<Box<dyn Packetizer + Send>>,
    depacketizer: Option<Box<dyn Depacketizer + Send>>,
}

/// Packetizes frames of a stream's tracks within a payload limit (one packetizer per
/// track, made on first use), and recovers the frame of a unit that carries only packets.
pub struct Repacketizer {
    max_payload: usize,
    ssrc: u32,
    slots: Vec<Slot>,
}

impl std::fmt::Debug for Repacketizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repacketizer")
            .field("max_payload", &self.max_payload)
            .finish_non_exhaustive()
    }
}

/// What [`Repacketizer::fit`] made of a unit.
#[derive(Debug)]
pub enum Fitted<'u> {
    /// The unit's own packets fit as they are.
    Own(&'u [rtp::Packet]),
    /// Packets made from its frame.
    Made(Vec<rtp::Packet>),
    /// Nothing to send (no packets and no frame, or a frame the codec can't packetize).
    Nothing,
}

impl Repacketizer {
    /// For the tracks of a stream; packets made carry `ssrc` and start at sequence 0.
    pub fn new(tracks: &[Track], max_payload: usize, ssrc: u32) -> Repacketizer {
        Repacketizer {
            max_payload,
            ssrc,
            slots: tracks
                .iter()
                .map(|t| Slot {
                    format: t.format.clone(),
                    packetizer: None,
                    depacketizer: None,
                })
                .collect(),
        }
    }

    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Makes the packets of `track` continue a publisher's numbering: SSRC `ssrc`,
    /// sequence numbers from `seq` (a reader that got the publisher's packets until now
    /// sees no jump).
    pub fn continue_track(&mut self, track: usize, ssrc: u32, seq: u16) {
        let max = self.max_payload;
        if let Some(slot) = self.slots.get_mut(track) {
            slot.packetizer = Some(ferromtx_codec::packetizer(&slot.format, max, ssrc, seq));
        }
    }

    /// The packets of `frame` of `track`.
    pub fn packetize(
        &mut self,
        track: usize,
        frame: &Frame,
    ) -> Result<Vec<rtp::Packet>, PacketizeError> {
        let Some(slot) = self.slots.get_mut(track) else {
            return Ok(Vec::new());
        };
        let (max, ssrc) = (self.max_payload, self.ssrc);
        slot.packetizer
            .get_or_insert_with(|| ferromtx_codec::packetizer(&slot.format, max, ssrc, 0))
            .packetize(frame)
    }

    /// The frame of `unit`: its own, or the one its packets make.
    pub fn frame_of(&mut self, unit: &Unit) -> Option<Frame> {
        if let Some(frame) = &unit.frame {
            return Some(frame.clone());
        }
        let slot = self.slots.get_mut(unit.track)?;
        let depacketizer = slot
            .depacketizer
            .get_or_insert_with(|| ferromtx_codec::depacketizer(&slot.format));
        let mut frame = None;
        for p in &unit.rtp_packets {
            if let Err(e) = depacketizer.push(p) {
                tracing::trace!("repacketizer: {e}");
            }
            while let Some(f) = depacketizer.pull() {
                frame.get_or_insert(f);
            }
        }
        frame
    }

    /// The packets of `unit` within the payload limit: its own when they fit, else its
    /// frame packetized. With `format` (the track as described now), a random-access frame
    /// that lacks the codec's parameter sets gets them in front, as a viewer joining there
    /// needs them.
    pub fn fit<'u>(&mut self, unit: &'u Unit, format: Option<&Format>) -> Fitted<'u> {
        let fits = !unit.rtp_packets.is_empty()
            && unit
                .rtp_packets
                .iter()
                .all(|p| p.payload.len() <= self.max_payload);
        let wants_params = unit.random_access && format.is_some_and(Format::has_params);
        if fits && !wants_params {
            return Fitted::Own(&unit.rtp_packets);
        }
        let Some(frame) = self.frame_of(unit) else {
            return if fits {
                Fitted::Own(&unit.rtp_packets)
            } else {
                Fitted::Nothing
            };
        };
        let with_params = format
            .filter(|_| wants_params)
            .and_then(|f| f.with_params(&frame));
        let frame = match with_params {
            Some(f) => f,
            None if fits => return Fitted::Own(&unit.rtp_packets),
            None => frame,
        };
        match self.packetize(unit.track, &frame) {
            Ok(packets) if !packets.is_empty() => Fitted::Made(packets),
            Ok(_) => Fitted::Nothing,
            Err(e) => {
                tracing::debug!("cannot packetize: {e}");
                Fitted::Nothing
            }
        }
    }
}

/// Packets for units that arrive without them (frames of RTMP, SRT... publishers),
/// packetized once per stream and shared by every reader that forwards RTP (RTSP). Keyed
/// by the largest payload ([`max_payload`]). Units that carry packets get nothing: readers
/// forward those.
pub struct RtpView {
    repacketizer: Repacketizer,
}

impl View for RtpView {
    type Key = usize;
    type Output = Vec<rtp::Packet>;

    fn new(key: &usize, tracks: &[Track]) -> Self {
        RtpView {
            repacketizer: Repacketizer::new(tracks, *key, rand_ssrc()),
        }
    }

    fn transform(&mut self, unit: &Unit, _tracks: &[Track]) -> Option<Vec<rtp::Packet>> {
        if !unit.rtp_packets.is_empty() {
            return None;
        }
        let frame = unit.frame.as_ref()?;
        match self.repacketizer.packetize(unit.track, frame) {
            Ok(packets) => Some(packets),
            Err(e) => {
                tracing::debug!("cannot packetize: {e}");
                None
            }
        }
    }
}

/// A random SSRC (std's randomly keyed hasher, seeded from the system's randomness).
fn rand_ssrc() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn h264(sps: Option<&'static [u8]>) -> Format {
        Format::H264 {
            payload_type: 96,
            sps: sps.map(Bytes::from_static),
            pps: sps.map(|_| Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80])),
            packetization_mode: 1,
        }
    }

    fn packet(seq: u16, payload: Vec<u8>) -> rtp::Packet {
        rtp::Packet {
            marker: true,
            payload_type: 96,
            sequence_number: seq,
            timestamp: 0,
            ssrc: 1,
            csrc: Vec::new(),
            extension: None,
            payload: Bytes::from(payload),
        }
    }

    #[test]
    fn fitting_packets_are_kept_and_big_ones_cut() {
        let tracks = [Track { format: h264(None) }];
        let mut r = Repacketizer::new(&tracks, 1000, 5);
        let small = Unit {
            rtp_packets: vec![packet(1, vec![0x41, 1, 2])],
            ..Unit::default()
        };
        assert!(matches!(r.fit(&small, None), Fitted::Own(p) if p.len() == 1));
        let mut big = vec![0x41];
        big.extend(std::iter::repeat_n(7u8, 2500));
        let big = Unit {
            rtp_packets: vec![packet(2, big)],
            ..Unit::default()
        };
        match r.fit(&big, None) {
            Fitted::Made(p) => {
                assert_eq!(p.len(), 3);
                assert!(p.iter().all(|p| p.payload.len() <= 1000 && p.ssrc == 5));
                assert!(p.last().unwrap().marker);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.fit(&Unit::default(), None), Fitted::Nothing));
    }

    #[test]
    fn keyframes_get_the_described_parameter_sets() {
        let sps: &'static [u8] = &[0x67, 0x42, 0xc0, 0x1e, 0xd9];
        let described = h264(Some(sps));
        let tracks = [Track { format: h264(None) }];
        let mut r = Repacketizer::new(&tracks, 1000, 5);
        let idr = Unit {
            rtp_packets: vec![packet(1, vec![0x65, 0x88])],
            random_access: true,
            ..Unit::default()
        };
        let Fitted::Made(p) = r.fit(&idr, Some(&described)) else {
            panic!("parameter sets not added");
        };
        let mut d = ferromtx_codec::depacketizer(&described);
        for pkt in &p {
            d.push(pkt).unwrap();
        }
        let f = d.pull().unwrap();
        assert_eq!(f.parts.len(), 3);
        assert_eq!(&f.parts[0][..], sps);
        // Without a description there is nothing to add.
        assert!(matches!(r.fit(&idr, Some(&h264(None))), Fitted::Own(_)));
    }

    #[test]
    fn rtp_view_packetizes_frames_only() {
        let tracks = [Track { format: h264(None) }];
        let mut v = RtpView::new(&max_payload(1452), &tracks);
        let frame = Unit {
            frame: Some(Frame {
                rtp_timestamp: 90,
                random_access: false,
                parts: vec![Bytes::from_static(&[0x41, 1, 2])],
            }),
            ..Unit::default()
        };
        let p = v.transform(&frame, &tracks).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].timestamp, 90);
        let with_packets = Unit {
            rtp_packets: vec![packet(1, vec![0x41])],
            ..frame
        };
        assert!(v.transform(&with_packets, &tracks).is_none());
        assert_eq!(max_payload(1452), 1440);
    }
}
