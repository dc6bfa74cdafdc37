//! The depacketizer side: RTP packets in, frames out.

use crate::format::Format;
use crate::frame::Frame;
use crate::rtp;

/// Largest frame a depacketizer assembles before giving up on it (guards memory against
/// a peer that never sets the marker bit).
pub const MAX_FRAME_SIZE: usize = 8 * 1024 * 1024;

/// Why a packet could not be used. Every error leaves the depacketizer ready for the
/// next packet; a frame that was being assembled when the error happened is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DepacketizeError {
    /// A sequence-number gap: `count` packets never arrived. The packet that revealed the
    /// gap was still used, so a frame it completes can be pulled.
    #[error("{count} RTP packet(s) lost")]
    PacketsLost { count: u16 },
    /// A packet older than one already processed (reordered or duplicated); ignored.
    #[error("RTP packet {sequence_number} is out of order, expected {expected}")]
    OutOfOrder { sequence_number: u16, expected: u16 },
    /// The payload does not follow its RTP payload format.
    #[error("malformed {codec} payload: {reason}")]
    Malformed {
        codec: &'static str,
        reason: &'static str,
    },
    /// A valid but unsupported payload structure (packet type, mode).
    #[error("unsupported {codec} payload: {reason}")]
    Unsupported {
        codec: &'static str,
        reason: &'static str,
    },
    /// A fragment arrived without the start of its unit (after loss or joining mid-frame).
    #[error("{codec} fragment without a start")]
    FragmentWithoutStart { codec: &'static str },
    /// The frame grew beyond [`MAX_FRAME_SIZE`].
    #[error("{codec} frame exceeds {MAX_FRAME_SIZE} bytes")]
    FrameTooLarge { codec: &'static str },
}

/// Turns RTP packets of one track into frames.
pub trait Depacketizer {
    /// Feeds one packet. Any completed frames become available from [`Self::pull`].
    fn push(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError>;
    /// Takes the next completed frame, if any.
    fn pull(&mut self) -> Option<Frame>;
}

/// The depacketizer for a track's format.
pub fn depacketizer(format: &Format) -> Box<dyn Depacketizer + Send> {
    match format {
        Format::H264 { .. } => Box::new(crate::h264::H264Depacketizer::new()),
        Format::H265 { .. } => Box::new(crate::h265::H265Depacketizer::new()),
        Format::Av1 { .. } => Box::new(crate::av1::Av1Depacketizer::new()),
        Format::Vp8 { .. } => Box::new(crate::vp8::Vp8Depacketizer::new()),
        Format::Vp9 { .. } => Box::new(crate::vp9::Vp9Depacketizer::new()),
        Format::Mpeg4Audio {
            size_length,
            index_length,
            index_delta_length,
            ..
        } => Box::new(crate::mpeg4audio::Mpeg4AudioDepacketizer::new(
            *size_length,
            *index_length,
            *index_delta_length,
        )),
        Format::Opus { .. }
        | Format::G711 { .. }
        | Format::G722 { .. }
        | Format::Lpcm { .. }
        | Format::Generic { .. } => Box::new(crate::generic::GenericDepacketizer::new()),
    }
}

/// Outcome of checking a packet's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sequence {
    /// The expected packet (or the first one).
    InOrder,
    /// `count` packets are missing before this one.
    Gap(u16),
    /// The sender jumped backwards for good (restart): follow it, dropping state.
    Resync,
}

/// Consecutive packets from "the past" after which the tracker accepts that the
/// sender's sequence numbers jumped backwards.
const RESYNC_AFTER: u8 = 8;

/// Follows RTP sequence numbers of one stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct SequenceTracker {
    expected: Option<u16>,
    behind: u8,
}

impl SequenceTracker {
    /// Checks `seq`; out-of-order packets are an error and do not move the tracker.
    pub(crate) fn check(&mut self, seq: u16) -> Result<Sequence, DepacketizeError> {
        let result = match self.expected {
            None => Sequence::InOrder,
            Some(expected) => {
                let delta = seq.wrapping_sub(expected);
                if delta == 0 {
                    Sequence::InOrder
                } else if delta >= 0x8000 {
                    self.behind += 1;
                    if self.behind < RESYNC_AFTER {
                        return Err(DepacketizeError::OutOfOrder {
                            sequence_number: seq,
                            expected,
                        });
                    }
                    Sequence::Resync
                } else {
                    Sequence::Gap(delta)
                }
            }
        };
        self.behind = 0;
        self.expected = Some(seq.wrapping_add(1));
        Ok(result)
    }
}

/// Runs the common part of `push`: sequence check, then the codec's own handling.
/// On a gap, `reset` drops the partial frame before the packet is handled; the gap is
/// reported even if the packet itself is usable (and then pull yields its frame).
pub(crate) fn push_with_loss_check<S>(
    state: &mut S,
    tracker: &mut SequenceTracker,
    pkt: &rtp::Packet,
    reset: impl FnOnce(&mut S),
    handle: impl FnOnce(&mut S, &rtp::Packet) -> Result<(), DepacketizeError>,
) -> Result<(), DepacketizeError> {
    match tracker.check(pkt.sequence_number)? {
        Sequence::InOrder => handle(state, pkt),
        Sequence::Resync => {
            reset(state);
            handle(state, pkt)
        }
        Sequence::Gap(count) => {
            reset(state);
            // The packet may start a new frame; a malformed one is dropped silently since
            // the loss is the more useful report.
            let _ = handle(state, pkt);
            Err(DepacketizeError::PacketsLost { count })
        }
    }
}

/// Collects the parts of one frame while its packets arrive.
#[derive(Debug, Default)]
pub(crate) struct FrameAssembler {
    timestamp: Option<u32>,
    /// Timestamp of a frame dropped after loss: its remaining packets are ignored.
    damaged: Option<u32>,
    parts: Vec<bytes::Bytes>,
    size: usize,
}

impl FrameAssembler {
    /// Timestamp of the frame being assembled, if any part arrived.
    pub(crate) fn timestamp(&self) -> Option<u32> {
        self.timestamp
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Bytes collected so far.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Adds a part; drops everything if the frame grows too large.
    pub(crate) fn add(
        &mut self,
        codec: &'static str,
        timestamp: u32,
        part: bytes::Bytes,
    ) -> Result<(), DepacketizeError> {
        self.timestamp = Some(timestamp);
        self.size += part.len();
        if self.size > MAX_FRAME_SIZE {
            self.clear();
            return Err(DepacketizeError::FrameTooLarge { codec });
        }
        self.parts.push(part);
        Ok(())
    }

    /// Marks the start of a frame without any part yet.
    pub(crate) fn set_timestamp(&mut self, timestamp: u32) {
        self.timestamp = Some(timestamp);
    }

    /// Drops the frame being assembled and, with it, its packets still to come (same
    /// timestamp), which could only rebuild a damaged frame.
    pub(crate) fn discard(&mut self) {
        self.damaged = self.timestamp;
        self.clear();
    }

    /// Whether `pkt` belongs to a discarded frame and must be ignored.
    pub(crate) fn is_damaged(&mut self, pkt: &rtp::Packet) -> bool {
        match self.damaged {
            Some(ts) if ts == pkt.timestamp => {
                if pkt.marker {
                    self.damaged = None;
                }
                true
            }
            _ => {
                self.damaged = None;
                false
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.timestamp = None;
        self.parts.clear();
        self.size = 0;
    }

    /// Takes the collected parts as a frame, if there are any.
    pub(crate) fn take(
        &mut self,
        random_access: impl FnOnce(&[bytes::Bytes]) -> bool,
    ) -> Option<Frame> {
        let timestamp = self.timestamp.take()?;
        self.size = 0;
        if self.parts.is_empty() {
            return None;
        }
        let parts = std::mem::take(&mut self.parts);
        Some(Frame {
            rtp_timestamp: timestamp,
            random_access: random_access(&parts),
            parts,
        })
    }
}

/// Freezes a NAL unit reassembled from fragments without the slack its buffer grew by: the
/// frame stays in the stream's ring for seconds, and a doubled buffer would keep up to twice
/// its size alive for that long. The copy costs a memcpy of the frame, once per stream.
pub(crate) fn freeze_compact(buf: bytes::BytesMut) -> bytes::Bytes {
    if buf.capacity() - buf.len() > buf.len() / 8 {
        bytes::Bytes::copy_from_slice(&buf)
    } else {
        buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_tracker_reports_gaps_and_wraps() {
        let mut t = SequenceTracker::default();
        assert_eq!(t.check(0xfffe), Ok(Sequence::InOrder));
        assert_eq!(t.check(0xffff), Ok(Sequence::InOrder));
        assert_eq!(t.check(0), Ok(Sequence::InOrder));
        assert_eq!(t.check(3), Ok(Sequence::Gap(2)));
        assert_eq!(
            t.check(2),
            Err(DepacketizeError::OutOfOrder {
                sequence_number: 2,
                expected: 4
            })
        );
        assert_eq!(t.check(4), Ok(Sequence::InOrder));
    }

    #[test]
    fn sequence_tracker_follows_a_sender_that_jumps_back() {
        let mut t = SequenceTracker::default();
        assert_eq!(t.check(5000), Ok(Sequence::InOrder));
        for seq in 100..100 + u16::from(RESYNC_AFTER) - 1 {
            assert!(t.check(seq).is_err());
        }
        assert_eq!(t.check(107), Ok(Sequence::Resync));
        assert_eq!(t.check(108), Ok(Sequence::InOrder));
        // An isolated late packet does not count towards a resync later.
        assert!(t.check(50).is_err());
        assert_eq!(t.check(109), Ok(Sequence::InOrder));
        for seq in 10..10 + u16::from(RESYNC_AFTER) - 1 {
            assert!(t.check(seq).is_err());
        }
    }

    #[test]
    fn compact_freeze_keeps_the_bytes_whatever_the_slack() {
        let mut grown = bytes::BytesMut::with_capacity(4096);
        grown.extend_from_slice(b"frame");
        assert_eq!(&super::freeze_compact(grown)[..], b"frame");
        let mut exact = bytes::BytesMut::with_capacity(5);
        exact.extend_from_slice(b"frame");
        assert_eq!(&super::freeze_compact(exact)[..], b"frame");
    }
}
