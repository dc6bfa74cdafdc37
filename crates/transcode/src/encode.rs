//! The Opus encoder (libopus through the `opus` crate): 48 kHz, mono or stereo, 20 ms frames
//! (RFC 7587: the RTP clock of Opus is always 48 kHz; browsers expect 20 ms by default).

use bytes::Bytes;
use opus::{Application, Bitrate, Channels, Encoder};

/// Opus's sample rate and RTP clock rate.
pub const OPUS_RATE: u32 = 48_000;

/// Samples per channel in one 20 ms frame at 48 kHz.
pub const OPUS_FRAME: usize = 960;

/// Largest encoded frame accepted (fits one WebRTC packet; 20 ms at these bitrates is
/// ~100–300 bytes).
const MAX_PACKET: usize = 1000;

/// Why an encoder could not be made or a frame encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Opus encoder: {0}")]
pub struct EncodeError(String);

/// An Opus encoder of 20 ms frames.
pub struct OpusEncoder {
    encoder: Encoder,
    channels: usize,
    interleaved: Vec<f32>,
    out: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder of `channels` (1 or 2) channels: 32 kbit/s mono, 64 kbit/s stereo, VBR,
    /// tuned for music and general audio.
    pub fn new(channels: usize) -> Result<OpusEncoder, EncodeError> {
        let (layout, bitrate) = match channels {
            1 => (Channels::Mono, 32_000),
            2 => (Channels::Stereo, 64_000),
            other => return Err(EncodeError(format!("{other} channels"))),
        };
        let mut encoder = Encoder::new(OPUS_RATE, layout, Application::Audio)
            .map_err(|e| EncodeError(e.to_string()))?;
        encoder
            .set_bitrate(Bitrate::Bits(bitrate))
            .map_err(|e| EncodeError(e.to_string()))?;
        Ok(OpusEncoder {
            encoder,
            channels,
            interleaved: Vec::with_capacity(OPUS_FRAME * channels),
            out: vec![0; MAX_PACKET],
        })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Encodes one 20 ms frame: [`OPUS_FRAME`] samples of each channel in `planes`.
    pub fn encode(&mut self, planes: &[&[f32]]) -> Result<Bytes, EncodeError> {
        if planes.len() != self.channels || planes.iter().any(|p| p.len() != OPUS_FRAME) {
            return Err(EncodeError("frame is not 20 ms of every channel".into()));
        }
        self.interleaved.clear();
        for i in 0..OPUS_FRAME {
            for plane in planes {
                self.interleaved.push(plane[i].clamp(-1.0, 1.0));
            }
        }
        let n = self
            .encoder
            .encode_float(&self.interleaved, &mut self.out)
            .map_err(|e| EncodeError(e.to_string()))?;
        Ok(Bytes::copy_from_slice(&self.out[..n.min(self.out.len())]))
    }
}
