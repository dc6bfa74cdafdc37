//! The protocol-neutral unit of media that flows from a publisher to its readers.

use std::any::Any;
use std::sync::Arc;
use std::time::SystemTime;

use ferromtx_codec::{Frame, rtp};

use crate::view::{View, ViewHandle};

/// One unit of media of one track: the RTP packets and/or the depacketized frame of one
/// timestamp. Written once by the publisher, then shared read-only as `Arc<Unit>`.
#[derive(Debug, Default)]
pub struct Unit {
    /// Index of the track in the stream description.
    pub track: usize,
    /// Presentation timestamp in the track's clock rate, from the publisher's start.
    pub pts: i64,
    /// Decoding timestamp in the same clock, when the publisher's container gives it
    /// (RTMP's composition offset, MPEG-TS's DTS) and it differs from `pts` (B-frames).
    /// `None` from RTP publishers: muxers that need it derive it.
    pub dts: Option<i64>,
    /// Absolute time of the unit, when the publisher provides it.
    pub ntp: Option<SystemTime>,
    /// RTP packets carrying the unit (may be empty when only `frame` is known).
    pub rtp_packets: Vec<rtp::Packet>,
    /// The depacketized frame (may be absent when only packets are known).
    pub frame: Option<Frame>,
    /// The unit can be decoded without earlier units of its track.
    pub random_access: bool,
    /// Outputs of derived views, filled by the stream's writer. Leave at `Default`.
    pub views: ViewOutputs,
}

impl Unit {
    /// Bytes the unit occupies on the wire: RTP packets (header + payload) when present,
    /// the frame's payload otherwise.
    pub fn wire_len(&self) -> usize {
        if self.rtp_packets.is_empty() {
            self.frame.as_ref().map_or(0, Frame::len)
        } else {
            self.rtp_packets
                .iter()
                .map(|p| p.header_len() + p.payload.len())
                .sum()
        }
    }

    /// The output of a derived view for this unit, if the view was registered before the
    /// unit was written and produced something for it.
    pub fn view<V: View>(&self, handle: &ViewHandle<V>) -> Option<&V::Output> {
        self.views
            .slots
            .get(handle.index())
            .and_then(Option::as_ref)
            .and_then(|out| out.downcast_ref::<V::Output>())
    }
}

/// Per-unit storage of derived view outputs, indexed by view registration order.
#[derive(Default)]
pub struct ViewOutputs {
    pub(crate) slots: Vec<Option<Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for ViewOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewOutputs")
            .field("len", &self.slots.len())
            .finish()
    }
}
