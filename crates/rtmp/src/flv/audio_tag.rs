//! AUDIODATA: the legacy header (AAC, MP3, G711 A-law and µ-law, linear PCM) and Enhanced
//! RTMP audio (FourCC `mp4a`, `Opus`, `fLaC`, `ac-3`, `ec-3`, `.mp3`; sequence start/end,
//! coded frames, multichannel configuration, ModEx, multitrack).

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;

use super::flac::StreamInfo;
use super::mp3::FrameHeader;
use super::opus_head::OpusHead;
use super::tag::{
    Cursor, TagItem, TagStyle, TrackPacket, put_ex_body, put_many_tracks, skip_mod_ex, tracks,
};
use super::{FlvError, invalid};
use crate::media::{Codec, CodecParams, FourCc, Media, MediaKind, TrackConfig, TrackId};

const WHAT: &str = "audio tag";

const FORMAT_LPCM_PLATFORM: u8 = 0;
const FORMAT_MP3: u8 = 2;
const FORMAT_LPCM_LE: u8 = 3;
const FORMAT_ALAW: u8 = 7;
const FORMAT_ULAW: u8 = 8;
const FORMAT_EX: u8 = 9;
const FORMAT_AAC: u8 = 10;
const FORMAT_MP3_8K: u8 = 14;

const SEQUENCE_START: u8 = 0;
const CODED_FRAMES: u8 = 1;
const SEQUENCE_END: u8 = 2;
const MULTICHANNEL_CONFIG: u8 = 4;
const MULTITRACK: u8 = 5;

/// Legacy SoundRate values.
const RATES: [u32; 4] = [5_512, 11_025, 22_050, 44_100];

/// 16-bit samples with their two bytes swapped (little- to big-endian and back).
fn swap16(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len());
    let mut pairs = data.chunks_exact(2);
    for p in &mut pairs {
        out.put_slice(&[p[1], p[0]]);
    }
    out.put_slice(pairs.remainder());
    out.freeze()
}

fn aac_config(data: &Bytes) -> Result<Bytes, FlvError> {
    AudioSpecificConfig::parse(data)
        .map_err(|_| invalid("AAC sequence header", "invalid AudioSpecificConfig"))?;
    Ok(data.clone())
}

fn frame(timestamp: u32, track: u8, codec: Codec, data: Bytes, out: &mut Vec<TagItem>) {
    if data.is_empty() {
        return;
    }
    out.push(TagItem::Frame(Media {
        track,
        codec,
        timestamp_ms: timestamp,
        composition_ms: 0,
        keyframe: true,
        parts: vec![data],
    }));
}

pub(crate) fn read(timestamp: u32, body: &Bytes, out: &mut Vec<TagItem>) -> Result<(), FlvError> {
    let mut c = Cursor::new(body, WHAT);
    // An empty audio message is the "silence" message.
    let Ok(first) = c.u8() else {
        return Ok(());
    };
    let format = first >> 4;
    if format == FORMAT_EX {
        return read_ex(timestamp, first, &mut c, out);
    }
    let rate = RATES[usize::from((first >> 2) & 0x03)];
    let sixteen_bits = first & 0x02 != 0;
    let stereo = first & 0x01 != 0;
    match format {
        FORMAT_AAC => {
            let packet_type = c.u8()?;
            let data = c.rest();
            match packet_type {
                0 if data.is_empty() => {}
                0 => out.push(TagItem::Config(TrackConfig {
                    track: 0,
                    params: CodecParams::Aac(aac_config(&data)?),
                })),
                1 => frame(timestamp, 0, Codec::Aac, data, out),
                other => {
                    return Err(FlvError::PacketType {
                        kind: "AAC",
                        packet_type: other,
                    });
                }
            }
        }
        FORMAT_MP3 | FORMAT_MP3_8K => frame(timestamp, 0, Codec::Mp3, c.rest(), out),
        FORMAT_ALAW | FORMAT_ULAW => {
            let codec = Codec::G711 {
                mu_law: format == FORMAT_ULAW,
                stereo,
            };
            frame(timestamp, 0, codec, c.rest(), out);
        }
        FORMAT_LPCM_LE | FORMAT_LPCM_PLATFORM => {
            let codec = Codec::Lpcm {
                sample_rate: rate,
                bit_depth: if sixteen_bits { 16 } else { 8 },
                stereo,
            };
            let data = c.rest();
            let data = if sixteen_bits { swap16(&data) } else { data };
            frame(timestamp, 0, codec, data, out);
        }
        other => return Err(FlvError::AudioFormat(other)),
    }
    Ok(())
}

fn read_ex(
    timestamp: u32,
    first: u8,
    c: &mut Cursor<'_>,
    out: &mut Vec<TagItem>,
) -> Result<(), FlvError> {
    let packet_type = skip_mod_ex(c, first & 0x0f)?;
    let (packet_type, multitrack) = if packet_type == MULTITRACK {
        let b = c.u8()?;
        if b & 0x0f == MULTITRACK {
            return Err(invalid(WHAT, "multitrack inside multitrack"));
        }
        (b & 0x0f, Some(b >> 4))
    } else {
        (packet_type, None)
    };
    tracks(c, multitrack, |p| packet(timestamp, packet_type, p, out))
}

fn packet(
    timestamp: u32,
    packet_type: u8,
    p: TrackPacket,
    out: &mut Vec<TagItem>,
) -> Result<(), FlvError> {
    let codec = Codec::from_fourcc(p.fourcc)
        .filter(|c| c.kind() == MediaKind::Audio)
        .ok_or(FlvError::FourCc(p.fourcc))?;
    match packet_type {
        SEQUENCE_START => {
            let params = match codec {
                Codec::Aac => CodecParams::Aac(aac_config(&p.body)?),
                Codec::Opus => {
                    if !p.body.is_empty() {
                        OpusHead::parse(&p.body)?;
                    }
                    CodecParams::Opus(p.body)
                }
                Codec::Flac => {
                    StreamInfo::parse(&p.body)?;
                    CodecParams::Flac(p.body)
                }
                Codec::Ac3 => CodecParams::Ac3,
                Codec::Eac3 => CodecParams::Eac3,
                _ => CodecParams::Mp3,
            };
            out.push(TagItem::Config(TrackConfig {
                track: p.track,
                params,
            }));
        }
        CODED_FRAMES => frame(timestamp, p.track, codec, p.body, out),
        SEQUENCE_END => out.push(TagItem::SequenceEnd(TrackId::audio(p.track))),
        MULTICHANNEL_CONFIG => {
            tracing::trace!(
                track = p.track,
                "ignoring an audio multichannel configuration"
            );
        }
        other => {
            return Err(FlvError::PacketType {
                kind: "audio",
                packet_type: other,
            });
        }
    }
    Ok(())
}

fn not_audio(codec: Codec) -> FlvError {
    FlvError::NotWritable {
        codec,
        reason: "not an audio codec",
    }
}

fn fourcc(codec: Codec) -> Result<FourCc, FlvError> {
    codec
        .fourcc()
        .filter(|_| codec.kind() == MediaKind::Audio)
        .ok_or(FlvError::NotWritable {
            codec,
            reason: "no Enhanced RTMP FourCC (only track 0, legacy header)",
        })
}

/// Codecs written with the legacy header: always for G711 and LPCM (no FourCC), for track
/// 0 of AAC and MP3 in the classic style.
fn legacy(style: TagStyle, codec: Codec, track: u8) -> bool {
    match codec {
        Codec::G711 { .. } | Codec::Lpcm { .. } => true,
        Codec::Aac | Codec::Mp3 => style == TagStyle::Classic && track == 0,
        _ => false,
    }
}

/// The body of a sequence header / sequence start; `None` for codecs whose legacy form
/// has none (MP3, G711, LPCM).
pub fn write_config(config: &TrackConfig, style: TagStyle) -> Result<Option<Bytes>, FlvError> {
    let codec = config.params.codec();
    let payload: &[u8] = match &config.params {
        CodecParams::Aac(asc) => asc,
        CodecParams::Opus(head) => head,
        CodecParams::Flac(header) => header,
        CodecParams::Mp3 | CodecParams::Ac3 | CodecParams::Eac3 => &[],
        _ => return Err(not_audio(codec)),
    };
    let mut out = BytesMut::with_capacity(payload.len() + 10);
    if legacy(style, codec, config.track) {
        if codec != Codec::Aac {
            return Ok(None);
        }
        out.put_slice(&[(FORMAT_AAC << 4) | 0x0f, 0]);
        out.put_slice(payload);
    } else {
        let code = fourcc(codec)?;
        put_ex_body(
            &mut out,
            FORMAT_EX << 4,
            MULTITRACK,
            SEQUENCE_START,
            code,
            config.track,
            &[payload],
        );
    }
    Ok(Some(out.freeze()))
}

/// The payload of a frame: one access unit or packet for AAC and Opus (a tag carries
/// one), the parts one after the other for the others.
fn payload(media: &Media) -> Result<Bytes, FlvError> {
    let parts: Vec<&Bytes> = media.parts.iter().filter(|p| !p.is_empty()).collect();
    match (media.codec, parts.as_slice()) {
        (_, [one]) => Ok((*one).clone()),
        (Codec::Aac | Codec::Opus, _) => Err(FlvError::NotWritable {
            codec: media.codec,
            reason: "a tag carries exactly one access unit",
        }),
        _ => Ok(parts.iter().flat_map(|p| p.iter().copied()).collect()),
    }
}

fn legacy_flags(media: &Media) -> Result<(u8, u8), FlvError> {
    let rate_bits = |rate: u32| RATES.iter().position(|r| *r == rate).map(|i| i as u8);
    Ok(match media.codec {
        Codec::Aac => (FORMAT_AAC, 0x0f),
        Codec::G711 { mu_law, stereo } => {
            let format = if mu_law { FORMAT_ULAW } else { FORMAT_ALAW };
            (format, 0x02 | u8::from(stereo))
        }
        Codec::Lpcm {
            sample_rate,
            bit_depth,
            stereo,
        } => {
            let rate = rate_bits(sample_rate).ok_or(FlvError::NotWritable {
                codec: media.codec,
                reason: "sample rate not 5512, 11025, 22050 or 44100",
            })?;
            let size = match bit_depth {
                8 => 0,
                16 => 0x02,
                _ => {
                    return Err(FlvError::NotWritable {
                        codec: media.codec,
                        reason: "bit depth not 8 or 16",
                    });
                }
            };
            (FORMAT_LPCM_LE, (rate << 2) | size | u8::from(stereo))
        }
        Codec::Mp3 => {
            let h = media.parts.first().and_then(|p| FrameHeader::parse(p).ok());
            let (rate, channels) = h.map_or((44_100, 2), |h| (h.sample_rate, h.channels));
            // The decoder reads the frame headers; the flags are the nearest legacy rate.
            let (format, bits) = match rate {
                8_000 => (FORMAT_MP3_8K, 0),
                r if r <= 11_025 => (FORMAT_MP3, 1),
                r if r <= 24_000 => (FORMAT_MP3, 2),
                _ => (FORMAT_MP3, 3),
            };
            (format, (bits << 2) | 0x02 | u8::from(channels > 1))
        }
        other => return Err(not_audio(other)),
    })
}

/// The body of a frame.
pub fn write_frame(media: &Media, style: TagStyle) -> Result<Bytes, FlvError> {
    if legacy(style, media.codec, media.track) {
        if media.track != 0 {
            return Err(FlvError::NotWritable {
                codec: media.codec,
                reason: "no Enhanced RTMP FourCC: track 0 only, legacy header",
            });
        }
        let (format, flags) = legacy_flags(media)?;
        let data = payload(media)?;
        let data = match media.codec {
            Codec::Lpcm { bit_depth: 16, .. } => swap16(&data),
            _ => data,
        };
        let mut out = BytesMut::with_capacity(data.len() + 2);
        out.put_u8((format << 4) | flags);
        if media.codec == Codec::Aac {
            out.put_u8(1);
        }
        out.put_slice(&data);
        return Ok(out.freeze());
    }
    let code = fourcc(media.codec)?;
    let data = payload(media)?;
    let mut out = BytesMut::with_capacity(data.len() + 8);
    put_ex_body(
        &mut out,
        FORMAT_EX << 4,
        MULTITRACK,
        CODED_FRAMES,
        code,
        media.track,
        &[&data],
    );
    Ok(out.freeze())
}

/// The body ending a track's sequence; `None` where the legacy form has no such packet.
pub fn write_end(track: u8, codec: Codec, style: TagStyle) -> Result<Option<Bytes>, FlvError> {
    if legacy(style, codec, track) {
        return Ok(None);
    }
    let mut out = BytesMut::new();
    put_ex_body(
        &mut out,
        FORMAT_EX << 4,
        MULTITRACK,
        SEQUENCE_END,
        fourcc(codec)?,
        track,
        &[],
    );
    Ok(Some(out.freeze()))
}

/// One body carrying a frame of each of several audio tracks (same timestamp).
pub fn write_frames(frames: &[Media]) -> Result<Bytes, FlvError> {
    let mut tracks = Vec::with_capacity(frames.len());
    for m in frames {
        tracks.push((fourcc(m.codec)?, m.track, payload(m)?.to_vec()));
    }
    let mut out = BytesMut::new();
    put_many_tracks(&mut out, FORMAT_EX << 4, MULTITRACK, CODED_FRAMES, &tracks)?;
    Ok(out.freeze())
}
