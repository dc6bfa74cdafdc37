//! Decoders of the audio codecs a browser can't take as they are: AAC-LC (symphonia, from
//! raw access units and the AudioSpecificConfig of the stream's description, no ADTS),
//! MPEG-1/2 audio layers I-III, MP3 among them (symphonia, whole frames, configured by the
//! first frame's header), G.711 (ITU-T G.711 expansion) and LPCM (RFC 3190 L16/L24:
//! big-endian, interleaved).
//! Output is planar `f32` in [-1, 1] at the codec's own sample rate.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ferromtx_codec::Format;
use ferromtx_codec::mpeg1audio::FrameHeader;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;
use symphonia_bundle_mp3::MpaDecoder;
use symphonia_codec_aac::AacDecoder;
use symphonia_core::codecs::audio::well_known::{
    CODEC_ID_AAC, CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3,
};
use symphonia_core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia_core::packet::PacketRef;

/// Most channels a decoder accepts (the channels beyond two are mixed into stereo).
pub const MAX_CHANNELS: usize = 8;

/// Largest frame a decoder takes in one call, in bytes. AAC access units are at most
/// 6144 bits per channel (ISO/IEC 14496-3 4.5.3.2); G.711/LPCM frames of an RTP packet are
/// below 64 KiB.
pub const MAX_INPUT: usize = 64 * 1024;

/// Why a track can't be decoded, or one frame of it couldn't.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("codec {0} can't be transcoded")]
    Codec(&'static str),
    #[error("invalid AudioSpecificConfig: {0}")]
    Config(String),
    #[error("unsupported MPEG-4 Audio object type {0} (only AAC-LC is decoded)")]
    ObjectType(u8),
    #[error("HE-AAC (explicit SBR/PS) is not decoded, only AAC-LC")]
    Sbr,
    #[error("unsupported channel count {0}")]
    Channels(usize),
    #[error("unsupported sample rate {0}")]
    SampleRate(u32),
    #[error("unsupported LPCM bit depth {0}")]
    BitDepth(u8),
    #[error("frame of {0} bytes is too large")]
    TooLarge(usize),
    #[error("frame of {len} bytes is not a whole number of {bytes}-byte sample frames")]
    Truncated { len: usize, bytes: usize },
    #[error("AAC decoder: {0}")]
    Aac(String),
    #[error("MPEG audio decoder: {0}")]
    Mpa(String),
    #[error("{0} decoder failed on a malformed frame (restarted)")]
    Panicked(&'static str),
}

/// One decoder for one track.
pub struct Decoder {
    kind: Kind,
    sample_rate: u32,
    channels: usize,
}

enum Kind {
    Aac {
        decoder: Box<AacDecoder>,
        params: AudioCodecParameters,
        planes: Vec<Vec<f32>>,
    },
    Mpa {
        decoder: Box<MpaDecoder>,
        params: AudioCodecParameters,
        planes: Vec<Vec<f32>>,
        samples: u32,
    },
    G711 {
        mu_law: bool,
    },
    Lpcm {
        bytes: usize,
    },
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Aac { .. } => "AAC",
            Kind::Mpa { .. } => "MPEG audio",
            Kind::G711 { mu_law: true } => "G.711 µ-law",
            Kind::G711 { mu_law: false } => "G.711 A-law",
            Kind::Lpcm { .. } => "LPCM",
        };
        f.debug_struct("Decoder")
            .field("kind", &kind)
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .finish()
    }
}

fn check_layout(sample_rate: u32, channels: usize) -> Result<(), DecodeError> {
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(DecodeError::Channels(channels));
    }
    if !(4_000..=192_000).contains(&sample_rate) {
        return Err(DecodeError::SampleRate(sample_rate));
    }
    Ok(())
}

fn aac_decoder(params: &AudioCodecParameters) -> Result<AacDecoder, DecodeError> {
    AacDecoder::try_new(params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::Aac(e.to_string()))
}

fn mpa_decoder(params: &AudioCodecParameters) -> Result<MpaDecoder, DecodeError> {
    MpaDecoder::try_new(params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::Mpa(e.to_string()))
}

/// Runs one symphonia decode, catching a panic: symphonia returns errors for what it
/// detects, but a panic on an input it does not expect must not take the stream down.
/// `Err(None)` is a panic (the decoder must be rebuilt).
fn guarded<D: AudioDecoder>(
    decoder: &mut D,
    data: &[u8],
    duration: u32,
    planes: &mut Vec<Vec<f32>>,
) -> Result<(), Option<String>> {
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        let packet = PacketRef::new(0, 0.into(), duration.into(), data);
        decoder
            .decode_ref(&packet)
            .map(|buf| buf.copy_to_vecs_planar::<f32>(planes))
            .map_err(|e| e.to_string())
    }));
    match decoded {
        Ok(r) => r.map_err(Some),
        Err(_) => Err(None),
    }
}

impl Decoder {
    /// A decoder of MPEG-1/2 audio frames like the one `header` starts (same layer, rate
    /// and channel count; a frame of another kind needs another decoder).
    pub fn mpeg_audio(header: &FrameHeader) -> Result<Decoder, DecodeError> {
        let channels = usize::from(header.channels);
        check_layout(header.sample_rate, channels)?;
        let codec = match header.layer {
            1 => CODEC_ID_MP1,
            2 => CODEC_ID_MP2,
            _ => CODEC_ID_MP3,
        };
        let mut params = AudioCodecParameters::new();
        params.for_codec(codec);
        let decoder = Box::new(mpa_decoder(&params)?);
        Ok(Decoder {
            kind: Kind::Mpa {
                decoder,
                params,
                planes: Vec::new(),
                samples: header.samples(),
            },
            sample_rate: header.sample_rate,
            channels,
        })
    }

    /// A decoder for a track of this format (MPEG-1/2 audio: [`Decoder::mpeg_audio`]).
    pub fn new(format: &Format) -> Result<Decoder, DecodeError> {
        match format {
            Format::Mpeg4Audio { config, .. } => {
                let asc = AudioSpecificConfig::parse(config)
                    .map_err(|e| DecodeError::Config(e.to_string()))?;
                if asc.extension_sample_rate.is_some() {
                    return Err(DecodeError::Sbr);
                }
                if asc.object_type != 2 {
                    return Err(DecodeError::ObjectType(asc.object_type));
                }
                let channels = usize::from(asc.channel_count);
                if channels > 2 {
                    return Err(DecodeError::Channels(channels));
                }
                check_layout(asc.sample_rate, channels)?;
                let mut params = AudioCodecParameters::new();
                params
                    .for_codec(CODEC_ID_AAC)
                    .with_extra_data(config.to_vec().into_boxed_slice());
                let decoder = Box::new(aac_decoder(&params)?);
                Ok(Decoder {
                    kind: Kind::Aac {
                        decoder,
                        params,
                        planes: Vec::new(),
                    },
                    sample_rate: asc.sample_rate,
                    channels,
                })
            }
            Format::G711 {
                mu_law,
                sample_rate,
                channels,
                ..
            } => {
                check_layout(*sample_rate, usize::from(*channels))?;
                Ok(Decoder {
                    kind: Kind::G711 { mu_law: *mu_law },
                    sample_rate: *sample_rate,
                    channels: usize::from(*channels),
                })
            }
            Format::Lpcm {
                bit_depth,
                sample_rate,
                channels,
                ..
            } => {
                let bytes = match bit_depth {
                    16 => 2,
                    24 => 3,
                    other => return Err(DecodeError::BitDepth(*other)),
                };
                check_layout(*sample_rate, usize::from(*channels))?;
                Ok(Decoder {
                    kind: Kind::Lpcm { bytes },
                    sample_rate: *sample_rate,
                    channels: usize::from(*channels),
                })
            }
            other => Err(DecodeError::Codec(other.codec_name())),
        }
    }

    /// The decoded audio's sample rate (also the track's RTP clock rate).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Decodes one access unit (AAC) or one frame (MPEG audio, header included; G.711, LPCM)
    /// and appends its samples to
    /// `out`, one vector per channel (`out` is resized to [`Decoder::channels`]). Returns
    /// the number of sample frames appended. On error nothing is appended.
    pub fn decode(&mut self, data: &[u8], out: &mut Vec<Vec<f32>>) -> Result<usize, DecodeError> {
        if data.len() > MAX_INPUT {
            return Err(DecodeError::TooLarge(data.len()));
        }
        out.resize_with(self.channels, Vec::new);
        let channels = self.channels;
        match &mut self.kind {
            Kind::Aac {
                decoder,
                params,
                planes,
            } => {
                match guarded(decoder.as_mut(), data, 1024, planes) {
                    Ok(()) => {}
                    Err(Some(e)) => return Err(DecodeError::Aac(e)),
                    Err(None) => {
                        **decoder = aac_decoder(params)?;
                        return Err(DecodeError::Panicked("AAC"));
                    }
                }
                Ok(append_planes(planes, out))
            }
            Kind::Mpa {
                decoder,
                params,
                planes,
                samples,
            } => {
                match guarded(decoder.as_mut(), data, *samples, planes) {
                    Ok(()) => {}
                    Err(Some(e)) => return Err(DecodeError::Mpa(e)),
                    Err(None) => {
                        **decoder = mpa_decoder(params)?;
                        return Err(DecodeError::Panicked("MPEG audio"));
                    }
                }
                if planes.len() != channels {
                    return Err(DecodeError::Channels(planes.len()));
                }
                Ok(append_planes(planes, out))
            }
            Kind::G711 { mu_law } => {
                if !data.len().is_multiple_of(channels) {
                    return Err(DecodeError::Truncated {
                        len: data.len(),
                        bytes: channels,
                    });
                }
                let expand = if *mu_law {
                    ulaw_to_linear
                } else {
                    alaw_to_linear
                };
                for frame in data.chunks_exact(channels) {
                    for (dst, b) in out.iter_mut().zip(frame) {
                        dst.push(f32::from(expand(*b)) / 32768.0);
                    }
                }
                Ok(data.len() / channels)
            }
            Kind::Lpcm { bytes } => {
                let size = *bytes * channels;
                if !data.len().is_multiple_of(size) {
                    return Err(DecodeError::Truncated {
                        len: data.len(),
                        bytes: size,
                    });
                }
                for frame in data.chunks_exact(size) {
                    for (dst, s) in out.iter_mut().zip(frame.chunks_exact(*bytes)) {
                        let v = match s {
                            [a, b] => f32::from(i16::from_be_bytes([*a, *b])) / 32768.0,
                            [a, b, c] => {
                                (i32::from_be_bytes([*a, *b, *c, 0]) >> 8) as f32 / 8_388_608.0
                            }
                            _ => 0.0,
                        };
                        dst.push(v);
                    }
                }
                Ok(data.len() / size)
            }
        }
    }

    /// Forgets the state carried from one frame to the next (after a gap).
    pub fn reset(&mut self) {
        match &mut self.kind {
            Kind::Aac { decoder, .. } => decoder.reset(),
            Kind::Mpa { decoder, .. } => decoder.reset(),
            Kind::G711 { .. } | Kind::Lpcm { .. } => {}
        }
    }
}

/// Appends decoded planes to `out` (as many as both have); returns the sample frames.
fn append_planes(planes: &[Vec<f32>], out: &mut [Vec<f32>]) -> usize {
    for (dst, src) in out.iter_mut().zip(planes) {
        dst.extend_from_slice(src);
    }
    planes.first().map_or(0, Vec::len)
}

/// G.711 µ-law to 16-bit linear (ITU-T G.711 table 2: bias 0x84, inverted code word).
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let v = if u & 0x80 != 0 { -magnitude } else { magnitude };
    v as i16
}

/// G.711 A-law to 16-bit linear (ITU-T G.711 table 1: even bits inverted, sign bit set
/// for positive values).
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i32::from(a & 0x0f);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    let v = if a & 0x80 != 0 { magnitude } else { -magnitude };
    v as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn g711_expansion_matches_the_standard_end_points() {
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(ulaw_to_linear(0x7f), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(alaw_to_linear(0xd5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xaa), 32256);
        assert_eq!(alaw_to_linear(0x2a), -32256);
        // Monotonic over the positive half of each law.
        let mu: Vec<i16> = (0x80..=0xffu8).rev().map(ulaw_to_linear).collect();
        assert!(mu.windows(2).all(|w| w[0] < w[1]), "{mu:?}");
    }

    #[test]
    fn lpcm_is_big_endian_interleaved() {
        let format = Format::Lpcm {
            payload_type: 96,
            bit_depth: 16,
            sample_rate: 48_000,
            channels: 2,
        };
        let mut d = Decoder::new(&format).unwrap();
        let mut out = Vec::new();
        let n = d.decode(&[0x40, 0x00, 0xc0, 0x00, 0, 0, 0x7f, 0xff], &mut out);
        assert_eq!(n, Ok(2));
        assert_eq!(out, vec![vec![0.5, 0.0], vec![-0.5, 32767.0 / 32768.0]]);
        assert_eq!(
            d.decode(&[1, 2, 3], &mut out),
            Err(DecodeError::Truncated { len: 3, bytes: 4 })
        );
        let l24 = Format::Lpcm {
            payload_type: 96,
            bit_depth: 24,
            sample_rate: 48_000,
            channels: 1,
        };
        let mut d = Decoder::new(&l24).unwrap();
        let mut out = Vec::new();
        assert_eq!(d.decode(&[0xc0, 0, 0, 0x20, 0, 0], &mut out), Ok(2));
        assert_eq!(out, vec![vec![-0.5, 0.25]]);
    }

    #[test]
    fn refuses_what_it_cannot_decode() {
        let he_aac = Format::Mpeg4Audio {
            payload_type: 96,
            // Object type 5 (SBR), 24 kHz core, stereo, 48 kHz extension, AAC-LC.
            config: Bytes::from_static(&[0x2b, 0x11, 0x88, 0x00]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        };
        assert_eq!(Decoder::new(&he_aac).unwrap_err(), DecodeError::Sbr);
        let g711 = Format::G711 {
            payload_type: 0,
            mu_law: true,
            sample_rate: 8000,
            channels: 0,
        };
        assert_eq!(Decoder::new(&g711).unwrap_err(), DecodeError::Channels(0));
        let opus = Format::Opus {
            payload_type: 111,
            channels: 2,
        };
        assert_eq!(Decoder::new(&opus).unwrap_err(), DecodeError::Codec("Opus"));
    }
}
