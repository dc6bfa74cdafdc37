//! What a WHEP session reads ([`EgressSource`]) and what a WHIP session writes
//! ([`IngestSink`]). The binary adapts core's stream to these traits.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use ferromtx_codec::{Format, rtp};

/// One RTP packet of the stream's WebRTC view: already sized for WebRTC (MTU 1200)
/// and shared by every viewer. A viewer only rewrites SSRC, sequence number,
/// timestamp offset and payload type; the payload is never copied per viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPacket {
    pub marker: bool,
    pub timestamp: u32,
    /// Shared payload (what str0m keeps in its retransmission cache by reference).
    pub payload: Arc<[u8]>,
}

impl EgressPacket {
    /// Builds the shared view of a packetized RTP packet. This copies the payload
    /// once; do it once per stream, never per viewer.
    pub fn from_rtp(packet: &rtp::Packet) -> EgressPacket {
        EgressPacket {
            marker: packet.marker,
            timestamp: packet.timestamp,
            payload: Arc::from(&packet.payload[..]),
        }
    }
}

/// The packets of one unit (access unit or audio frame) of one track.
#[derive(Debug, Clone)]
pub struct EgressItem {
    /// Index into [`EgressSource::tracks`].
    pub track: usize,
    /// When the unit reached the server; maps RTP time to wallclock in sender reports.
    pub wallclock: Instant,
    pub packets: Arc<[EgressPacket]>,
}

/// The stream a WHEP reader plays.
pub trait EgressSource: Send + 'static {
    /// The stream's tracks. Indexes are what [`EgressItem::track`] refers to.
    fn tracks(&self) -> Vec<Format>;

    /// The next unit, or `None` when the stream has ended. Must be cancel-safe (like
    /// `mpsc::Receiver::recv`): the session polls it in a `select!` with its sockets.
    fn next(&mut self) -> impl Future<Output = Option<EgressItem>> + Send;

    /// The next unit if one is already there, without waiting (`None` also when the stream
    /// ended: [`EgressSource::next`] tells). Lets a session send several units in one turn.
    fn try_next(&mut self) -> Option<EgressItem> {
        None
    }

    /// A viewer asked for a keyframe (PLI/FIR). Sessions call this at most once a second;
    /// the stream coalesces the requests of all its readers
    /// ([`ferromtx_core::KeyframeRequests`]).
    fn request_keyframe(&mut self) {}

    /// Why [`EgressSource::next`] returned `None`, when it is not the stream's normal end
    /// (e.g. B-frames a browser can't play).
    fn end_reason(&self) -> Option<String> {
        None
    }
}

/// Where a WHIP publisher's media goes.
pub trait IngestSink: Send + 'static {
    /// One received RTP packet of track `track` (index into the tracks given when the
    /// sink was opened), in arrival order. Must not block: a full queue drops.
    fn write(&mut self, track: usize, packet: rtp::Packet, now: Instant);

    /// When the sink wants [`IngestSink::handle_timeout`] (a missing packet waited for).
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Time passed: what waited for a missing packet goes on.
    fn handle_timeout(&mut self, _now: Instant) {}

    /// Packets lost so far (for the API).
    fn lost(&self) -> u64 {
        0
    }

    /// Whether the sink wants a keyframe from the publisher (polled after each write
    /// batch); the session sends a PLI when it returns true.
    fn wants_keyframe(&mut self) -> bool {
        false
    }

    /// Resolves when the sink no longer takes media (e.g. the publisher was kicked or
    /// replaced); the session then closes. Must be cancel-safe.
    fn closed(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}
