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
//!
//! MPEG-1/2 audio (MP3) comes as RFC 2250 payloads (or, from RTMP, bare frames) timestamped
//! at 90 kHz: they are reassembled into frames first, and the decoding chain is built from the first frame's
//! header (and built again, as a new run, if a frame of another rate, layer or channel count
//! comes).

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_codec::mpeg1audio::{self, FrameHeader, Rfc2250Depacketizer, Rfc2250Error};
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
    #[error("RFC 2250: {0}")]
    Rfc2250(#[from] Rfc2250Error),
}

/// Whether a track of this format can be transcoded to Opus (a decoder exists for it).
pub fn transcodable(format: &Format) -> bool {
    mpeg1audio::is_rfc2250(format) || Decoder::new(format).is_ok()
}

/// A jump of the input timestamps beyond this fraction of a second is a discontinuity
/// (smaller ones are jitter, e.g. RTMP's millisecond timestamps).
const JITTER_DIVISOR: i64 = 100;

/// Decodes one track and encodes it to Opus, 20 ms at a time.
pub struct Transcoder {
    input: Input,
    /// `None` until an MPEG audio track's first frame.
    chain: Option<Chain>,
    stats: Stats,
}

/// How the track's frames reach the decoder.
enum Input {
    /// Each part of a frame is one access unit (AAC) or a run of samples (G.711, LPCM).
    Units,
    /// RTP payloads of MPEG-1/2 audio, timestamped in `clock_rate` Hz.
    Rfc2250 {
        depacketizer: Rfc2250Depacketizer,
        clock_rate: i64,
        /// Layer, sample rate and channels of the frames the chain decodes.
        layout: Option<(u8, u32, u8)>,
    },
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    decode_errors: u64,
    discontinuities: u64,
    packets: u64,
}

/// Decoder, mixer, resampler and encoder of one kind of input, and the run being built.
struct Chain {
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
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder")
            .field("decoder", &self.chain.as_ref().map(|c| &c.decoder))
            .field("packets", &self.stats.packets)
            .finish_non_exhaustive()
    }
}

impl Transcoder {
    /// A transcoder for a track of this format: mono stays mono, two or more channels
    /// become stereo.
    pub fn new(format: &Format) -> Result<Transcoder, TranscodeError> {
        if mpeg1audio::is_rfc2250(format) {
            return Ok(Transcoder {
                input: Input::Rfc2250 {
                    depacketizer: Rfc2250Depacketizer::new(format.clock_rate()),
                    clock_rate: i64::from(format.clock_rate().max(1)),
                    layout: None,
                },
                chain: None,
                stats: Stats::default(),
            });
        }
        let unit_samples = match format {
            Format::Mpeg4Audio { config, .. } => AudioSpecificConfig::parse(config)
                .map_or(1024, |c| i64::from(c.samples_per_access_unit())),
            _ => 0,
        };
        Ok(Transcoder {
            input: Input::Units,
            chain: Some(Chain::new(Decoder::new(format)?, unit_samples)?),
            stats: Stats::default(),
        })
    }

    /// Channels of the Opus output (1 or 2; 0 before an MPEG audio track's first frame).
    pub fn channels(&self) -> usize {
        self.chain.as_ref().map_or(0, |c| c.encoder.channels())
    }

    /// Access units or frames that failed to decode or to reassemble so far (dropped).
    pub fn decode_errors(&self) -> u64 {
        self.stats.decode_errors
    }

    /// Jumps of the input timeline so far.
    pub fn discontinuities(&self) -> u64 {
        self.stats.discontinuities
    }

    /// Opus packets made so far.
    pub fn packets(&self) -> u64 {
        self.stats.packets
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
        match &mut self.input {
            Input::Units => {
                let Some(chain) = self.chain.as_mut() else {
                    return Ok(());
                };
                let mut at = pts;
                for part in &frame.parts {
                    match chain.push(at, part, out, &mut self.stats) {
                        Ok(n) => at = at.saturating_add(n as i64),
                        Err(e) => {
                            result = Err(e);
                            at = at.saturating_add(chain.unit_samples);
                        }
                    }
                }
            }
            Input::Rfc2250 {
                depacketizer,
                clock_rate,
                layout,
            } => {
                for part in &frame.parts {
                    // RFC 2250 payloads start with 16 zero bits, bare frames (from RTMP)
                    // with their sync byte.
                    let pushed = if part.first() == Some(&0xff) {
                        depacketizer.push_frames(pts, part)
                    } else {
                        depacketizer.push(pts, part)
                    };
                    if let Err(e) = pushed {
                        self.stats.decode_errors += 1;
                        result = Err(e.into());
                    }
                    while let Some(f) = depacketizer.pull() {
                        let h = f.header;
                        let this = (h.layer, h.sample_rate, h.channels);
                        if *layout != Some(this) || self.chain.is_none() {
                            // Another kind of frame: a new chain, a new run.
                            if self.chain.take().is_some() {
                                self.stats.discontinuities += 1;
                            }
                            *layout = Some(this);
                            self.chain = Some(Chain::for_mpeg_audio(&h)?);
                        }
                        let Some(chain) = self.chain.as_mut() else {
                            continue;
                        };
                        // The frame's time in its own sample rate, the chain's clock.
                        let at =
                            i128::from(f.pts) * i128::from(h.sample_rate) / i128::from(*clock_rate);
                        let at = at.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                        if let Err(e) = chain.push(at, &f.data, out, &mut self.stats) {
                            result = Err(e);
                        }
                    }
                }
            }
        }
        result
    }
}

impl Chain {
    fn new(decoder: Decoder, unit_samples: i64) -> Result<Chain, TranscodeError> {
        let out_channels = decoder.channels().min(2);
        Ok(Chain {
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
        })
    }

    fn for_mpeg_audio(header: &FrameHeader) -> Result<Chain, TranscodeError> {
        Chain::new(Decoder::mpeg_audio(header)?, i64::from(header.samples()))
    }

    fn to_48k(&self, pts: i64) -> i64 {
        let v = i128::from(pts) * i128::from(OPUS_RATE) / i128::from(self.in_rate.max(1));
        v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    fn pending_len(&self) -> usize {
        self.pending.first().map_or(0, Vec::len)
    }

    /// Transcodes one access unit or frame written at `at` (in the decoder's sample rate);
    /// returns the sample frames it held. One that fails to decode is dropped: the next
    /// finds a gap (filled with silence or a new run).
    fn push(
        &mut self,
        at: i64,
        data: &[u8],
        out: &mut Vec<OpusPacket>,
        stats: &mut Stats,
    ) -> Result<usize, TranscodeError> {
        self.continue_run_at(at, out, stats)?;
        self.decoded.iter_mut().for_each(Vec::clear);
        match self.decoder.decode(data, &mut self.decoded) {
            Ok(n) => {
                self.mix_and_resample();
                self.encode_ready(out, stats)?;
                self.next_in = Some(at.saturating_add(n as i64));
                Ok(n)
            }
            Err(e) => {
                stats.decode_errors += 1;
                Err(e.into())
            }
        }
    }

    /// Makes the run continue at input PTS `pts`: starts one, fills a short gap with
    /// silence, or ends the current one.
    fn continue_run_at(
        &mut self,
        pts: i64,
        out: &mut Vec<OpusPacket>,
        stats: &mut Stats,
    ) -> Result<(), EncodeError> {
        let start = self.to_48k(pts);
        let Some(expected) = self.next_in else {
            self.out_ts = start;
            return Ok(());
        };
        if (pts - expected).abs() <= self.in_rate / JITTER_DIVISOR {
            return Ok(());
        }
        stats.discontinuities += 1;
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
            self.encode_ready(out, stats)?;
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
    fn encode_ready(
        &mut self,
        out: &mut Vec<OpusPacket>,
        stats: &mut Stats,
    ) -> Result<(), EncodeError> {
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
            stats.packets += 1;
        }
        Ok(())
    }
}
