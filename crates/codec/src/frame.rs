//! A depacketized media frame: what RTP packets of one timestamp carry.

use bytes::Bytes;

/// One frame (video access unit or audio packet) in protocol-neutral form.
///
/// `parts` holds, per codec: NAL units without start codes (H264, H265), OBUs (AV1),
/// access units (MPEG-4 Audio), or exactly one element, the whole frame (VP8, VP9, Opus,
/// G711, G722, LPCM, generic). Parts share memory with the packets they came from
/// whenever the codec allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// RTP timestamp of the frame, in the track's clock rate.
    pub rtp_timestamp: u32,
    /// The frame can be decoded without earlier frames (IDR/IRAP/key frame; always true
    /// for audio).
    pub random_access: bool,
    pub parts: Vec<Bytes>,
}

impl Frame {
    /// Total payload bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(Bytes::is_empty)
    }
}
