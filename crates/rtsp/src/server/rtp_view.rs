//! RTP packets for units that arrive without them (frames from RTMP, SRT, ... publishers),
//! packetized once per stream by the writer and shared by every RTSP reader.

use ferromtx_codec::{Packetizer, packetizer, rtp};
use ferromtx_core::{Track, Unit, View};

/// RTP header bytes without CSRCs or extensions.
const RTP_HEADER: usize = 12;

/// Packetizes the frames of units that carry no RTP packets. Keyed by the largest RTP
/// payload (`udpMaxPayloadSize` minus the RTP header).
pub(crate) struct RtpView {
    packetizers: Vec<Box<dyn Packetizer + Send>>,
}

impl RtpView {
    /// The view key for a `udpMaxPayloadSize` (RTP header included, as MediaMTX counts).
    pub fn key(udp_max_payload_size: usize) -> usize {
        udp_max_payload_size.saturating_sub(RTP_HEADER).max(64)
    }
}

impl View for RtpView {
    type Key = usize;
    type Output = Vec<rtp::Packet>;

    fn new(key: &usize, tracks: &[Track]) -> Self {
        RtpView {
            packetizers: tracks
                .iter()
                .map(|t| {
                    let ssrc = super::secret::random_u64() as u32;
                    let seq = super::secret::random_u64() as u16;
                    packetizer(&t.format, *key, ssrc, seq)
                })
                .collect(),
        }
    }

    fn transform(&mut self, unit: &Unit) -> Option<Vec<rtp::Packet>> {
        if !unit.rtp_packets.is_empty() {
            return None;
        }
        let frame = unit.frame.as_ref()?;
        let packetizer = self.packetizers.get_mut(unit.track)?;
        match packetizer.packetize(frame) {
            Ok(packets) => Some(packets),
            Err(e) => {
                tracing::debug!(component = "RTSP", "cannot packetize: {e}");
                None
            }
        }
    }
}
