//! One track's transcoder: frames with presentation timestamps in, Opus packets with 48 kHz
//! timestamps out.
//!
//! The output timeline is the input's: the first sample of a run of contiguous input is
//! timestamped `pts * 48000 / rate`, and each Opus packet covers exactly 960 samples after
//! it. When the input jumps (lost or dropped frames, a publisher's restart), the run ends: a
//! short gap is filled with silence inside the frame being built, a longer one flushes that
//! frame (padded with silence) and the next run starts at the new timestamp; a jump back
//! drops the partial frame. So packets never overlap and the audio never drifts from the
//! video by more than the 20 ms frame being assembled.

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;

use crate::decode::{DecodeError, Decoder};
use crate::encode::{EncodeError, OPUS_FRAME, OPUS_RATE, OpusEncoder};
use crate::resample::Resampler;

/// One Opus packet of 20 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    /// Timestamp of its first sample at 48 kHz, from the same origin as the input's PTS
    /// (the RTP timestamp is this, truncated to 32 bits).
    pub timestamp: i64,
    pub payload: Bytes,
}

/// Why a track can't be transcoded, or a frame of it wasn't.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscodeError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Whether a track of this format can be transcoded to Opus (a decoder exists for it).
pub fn transcodable(format: &Format) -> bool {
    Decoder::new(format).is_ok()
}

/// A jump of the input timestamps beyond this fraction of a second is a discontinuity
/// (smaller ones are jitter, e.g. RTMP's millisecond timestamps).
const JITTER_DIVISOR: i64 = 100;

/// Decodes one track and encodes it to Opus, 20 ms at a time.
pub struct Transcoder {
    decoder: Decoder,
    resampler: Resampler,
    encoder: OpusEncoder,
    in_rate: i64,
    /// Samples of one AAC access unit (the PTS step between the parts of a frame).
    unit_samples: i64,
    /// Input PTS the next access unit continues the run at.
    next_in: Option<i64>,
    /// 48 kHz timestamp of the first sample in `pending`.
    out_ts: i64,
    decoded: Vec<Vec<f32>>,
    mixed: Vec<Vec<f32>>,
    /// Resampled samples not yet encoded (fewer than one frame between calls).
    pending: Vec<Vec<f32>>,
    decode_errors: u64,
    discontinuities: u64,
    packets: u64,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder")
            .field("decoder", &self.decoder)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

impl Transcoder {
    /// A transcoder for a track of this format: mono stays mono, two or more channels
    /// become stereo.
    pub fn new(format: &Format) -> Result<Transcoder, TranscodeError> {
        let decoder = Decoder::new(format)?;
        let out_channels = decoder.channels().min(2);
        let unit_samples = match format {
            Format::Mpeg4Audio { config, .. } => AudioSpecificConfig::parse(config)
                .map_or(1024, |c| i64::from(c.samples_per_access_unit())),
            _ => 0,
        };
        Ok(Transcoder {
            resampler: Resampler::new(decoder.sample_rate(), OPUS_RATE, out_channels),
            encoder: OpusEncoder::new(out_channels)?,
            in_rate: i64::from(decoder.sample_rate()),
            unit_samples,
            decoder,
            next_in: None,
            out_ts: 0,
            decoded: Vec::new(),
            mixed: vec![Vec::new(); out_channels],
            pending: vec![Vec::new(); out_channels],
            decode_errors: 0,
            discontinuities: 0,
            packets: 0,
        })
    }

    /// Channels of the Opus output (1 or 2).
    pub fn channels(&self) -> usize {
        self.encoder.channels()
    }

    /// Access units that failed to decode so far (dropped).
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors
    }

    /// Jumps of the input timeline so far.
    pub fn discontinuities(&self) -> u64 {
        self.discontinuities
    }

    /// Opus packets made so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    fn to_48k(&self, pts: i64) -> i64 {
        let v = i128::from(pts) * i128::from(OPUS_RATE) / i128::from(self.in_rate.max(1));
        v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    fn pending_len(&self) -> usize {
        self.pending.first().map_or(0, Vec::len)
    }

    /// Transcodes one frame of the track, written at `pts` (the track's clock). Opus packets
    /// completed by it are appended to `out`. An access unit that fails to decode is dropped
    /// (the others of the frame still go through) and the last such error is returned.
    pub fn push(
        &mut self,
        pts: i64,
        frame: &Frame,
        out: &mut Vec<OpusPacket>,
    ) -> Result<(), TranscodeError> {
        let mut result = Ok(());
        let mut at = pts;
        for part in &frame.parts {
            self.continue_run_at(at, out)?;
            self.decoded.iter_mut().for_each(Vec::clear);
            match self.decoder.decode(part, &mut self.decoded) {
                Ok(n) => {
                    self.mix_and_resample();
                    self.encode_ready(out)?;
                    at = at.saturating_add(n as i64);
                    self.next_in = Some(at);
                }
                Err(e) => {
                    // Dropped: the next unit finds a gap (filled with silence or a new run).
                    self.decode_errors += 1;
                    result = Err(e.into());
                    at = at.saturating_add(self.unit_samples);
                }
            }
        }
        result
    }

    /// Makes the run continue at input PTS `pts`: starts one, fills a short gap with
    /// silence, or ends the current one.
    fn continue_run_at(&mut self, pts: i64, out: &mut Vec<OpusPacket>) -> Result<(), EncodeError> {
        let start = self.to_48k(pts);
        let Some(expected) = self.next_in else {
            self.out_ts = start;
            return Ok(());
        };
        if (pts - expected).abs() <= self.in_rate / JITTER_DIVISOR {
            return Ok(());
        }
        self.discontinuities += 1;
        self.resampler.reset();
        self.decoder.reset();
        let end = self.out_ts.saturating_add(self.pending_len() as i64);
        let pending = self.pending_len();
        if start > end && pending > 0 {
            let gap = start - end;
            if pending as i64 + gap <= OPUS_FRAME as i64 {
                // The gap fits in the frame being built: silence, and the run goes on.
                for p in &mut self.pending {
                    p.resize(pending + gap as usize, 0.0);
                }
                return Ok(());
            }
            // Flush the frame being built, padded with silence.
            for p in &mut self.pending {
                p.resize(OPUS_FRAME, 0.0);
            }
            self.encode_ready(out)?;
        }
        for p in &mut self.pending {
            p.clear();
        }
        self.out_ts = start;
        Ok(())
    }

    /// Mixes the decoded channels to the output's (stereo: even channels left, odd right)
    /// and resamples them into `pending`.
    fn mix_and_resample(&mut self) {
        let out_channels = self.mixed.len();
        for m in &mut self.mixed {
            m.clear();
        }
        if self.decoded.len() == out_channels {
            std::mem::swap(&mut self.mixed, &mut self.decoded);
        } else {
            let frames = self.decoded.first().map_or(0, Vec::len);
            for (c, m) in self.mixed.iter_mut().enumerate() {
                let sources: Vec<&Vec<f32>> =
                    self.decoded.iter().skip(c).step_by(out_channels).collect();
                let scale = 1.0 / sources.len().max(1) as f32;
                m.extend((0..frames).map(|i| {
                    sources
                        .iter()
                        .map(|s| s.get(i).copied().unwrap_or(0.0))
                        .sum::<f32>()
                        * scale
                }));
            }
        }
        self.resampler.process(&self.mixed, &mut self.pending);
        if self.decoded.len() != out_channels {
            return;
        }
        // Swapped above: give the decoder its vectors back.
        std::mem::swap(&mut self.mixed, &mut self.decoded);
    }

    /// Encodes every whole 20 ms frame in `pending`.
    fn encode_ready(&mut self, out: &mut Vec<OpusPacket>) -> Result<(), EncodeError> {
        while self.pending_len() >= OPUS_FRAME {
            let planes: Vec<&[f32]> = self.pending.iter().map(|p| &p[..OPUS_FRAME]).collect();
            let encoded = self.encoder.encode(&planes);
            for p in &mut self.pending {
                p.drain(..OPUS_FRAME);
            }
            let timestamp = self.out_ts;
            self.out_ts = self.out_ts.saturating_add(OPUS_FRAME as i64);
            out.push(OpusPacket {
                timestamp,
                payload: encoded?,
            });
            self.packets += 1;
        }
        Ok(())
    }
}
