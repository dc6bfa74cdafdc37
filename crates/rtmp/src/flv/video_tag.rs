//! VIDEODATA: the legacy AVC header (and the unofficial codec id 12 for HEVC that some
//! encoders send) and Enhanced RTMP video (FourCC `avc1`, `hvc1`, `av01`, `vp09`,
//! `vp08`; sequence start/end, coded frames with and without composition time, metadata,
//! ModEx, multitrack).

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_codec::av1::{OBU_TEMPORAL_DELIMITER, obu_type};

use super::av1c::{Av1Config, split_obus, with_size_field};
use super::avcc::AvcConfig;
use super::hvcc::HevcConfig;
use super::tag::{
    Cursor, TagItem, TagReader, TagStyle, TrackPacket, put_ex_body, put_many_tracks, skip_mod_ex,
    tracks,
};
use super::vpcc::VpcConfig;
use super::{FlvError, invalid, truncated};
use crate::amf0;
use crate::media::{Codec, CodecParams, Media, MediaKind, TrackConfig, TrackId};

const WHAT: &str = "video tag";

const CODEC_AVC: u8 = 7;
const CODEC_HEVC_LEGACY: u8 = 12;

const FRAME_KEY: u8 = 1;
const FRAME_INTER: u8 = 2;
const FRAME_COMMAND: u8 = 5;

const SEQUENCE_START: u8 = 0;
const CODED_FRAMES: u8 = 1;
const SEQUENCE_END: u8 = 2;
const CODED_FRAMES_X: u8 = 3;
const METADATA: u8 = 4;
const MPEG2TS_SEQUENCE_START: u8 = 5;
const MULTITRACK: u8 = 6;

const EX_HEADER: u8 = 0x80;

fn si24(b: &[u8]) -> i32 {
    ((i32::from(b[0]) << 24) | (i32::from(b[1]) << 16) | (i32::from(b[2]) << 8)) >> 8
}

fn put_si24(out: &mut BytesMut, v: i32) {
    let v = v.clamp(-(1 << 23), (1 << 23) - 1);
    out.put_slice(&v.to_be_bytes()[1..]);
}

/// NAL units with `length_size`-byte big-endian length prefixes; empty ones are dropped.
pub fn split_nalus(data: &Bytes, length_size: u8) -> Result<Vec<Bytes>, FlvError> {
    let n = usize::from(length_size);
    let mut nalus = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len_bytes = data.get(pos..pos + n).ok_or(truncated("NAL unit length"))?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let start = pos + n;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= data.len())
            .ok_or(truncated("NAL unit"))?;
        if len > 0 {
            nalus.push(data.slice(start..end));
        }
        pos = end;
    }
    Ok(nalus)
}

/// NAL units with 4-byte length prefixes.
fn put_avcc(out: &mut BytesMut, parts: &[Bytes]) -> Result<(), FlvError> {
    for p in parts.iter().filter(|p| !p.is_empty()) {
        let len = u32::try_from(p.len()).map_err(|_| invalid(WHAT, "NAL unit too long"))?;
        out.put_u32(len);
        out.put_slice(p);
    }
    Ok(())
}

pub(crate) fn read(
    reader: &mut TagReader,
    timestamp: u32,
    body: &Bytes,
    out: &mut Vec<TagItem>,
) -> Result<(), FlvError> {
    let mut c = Cursor::new(body, WHAT);
    let Ok(first) = c.u8() else {
        return Ok(());
    };
    if first & EX_HEADER == 0 {
        return read_legacy(reader, timestamp, first, &mut c, out);
    }
    let frame_type = (first >> 4) & 0x07;
    let packet_type = skip_mod_ex(&mut c, first & 0x0f)?;
    if packet_type != METADATA && frame_type == FRAME_COMMAND {
        return Ok(());
    }
    let (packet_type, multitrack) = if packet_type == MULTITRACK {
        let b = c.u8()?;
        if b & 0x0f == MULTITRACK {
            return Err(invalid(WHAT, "multitrack inside multitrack"));
        }
        (b & 0x0f, Some(b >> 4))
    } else {
        (packet_type, None)
    };
    tracks(&mut c, multitrack, |p| {
        packet(reader, timestamp, frame_type, packet_type, p, out)
    })
}

fn read_legacy(
    reader: &mut TagReader,
    timestamp: u32,
    first: u8,
    c: &mut Cursor<'_>,
    out: &mut Vec<TagItem>,
) -> Result<(), FlvError> {
    let frame_type = first >> 4;
    if frame_type == FRAME_COMMAND {
        return Ok(());
    }
    let codec = match first & 0x0f {
        CODEC_AVC => Codec::H264,
        CODEC_HEVC_LEGACY => Codec::H265,
        other => return Err(FlvError::VideoCodec(other)),
    };
    let packet_type = c.u8()?;
    let composition = si24(&c.take(3)?);
    let data = c.rest();
    let track = TrackId::video(0);
    match packet_type {
        0 => out.push(TagItem::Config(config(reader, codec, track, &data)?)),
        1 => frame(
            reader,
            timestamp,
            codec,
            0,
            composition,
            frame_type == FRAME_KEY,
            data,
            out,
        )?,
        2 => out.push(TagItem::SequenceEnd(track)),
        other => {
            return Err(FlvError::PacketType {
                kind: "AVC",
                packet_type: other,
            });
        }
    }
    Ok(())
}

fn packet(
    reader: &mut TagReader,
    timestamp: u32,
    frame_type: u8,
    packet_type: u8,
    p: TrackPacket,
    out: &mut Vec<TagItem>,
) -> Result<(), FlvError> {
    if packet_type == METADATA {
        let values =
            amf0::decode_all(&p.body).map_err(|_| invalid(WHAT, "metadata is not AMF0"))?;
        out.push(TagItem::VideoMetadata {
            track: p.track,
            values,
        });
        return Ok(());
    }
    if packet_type == MPEG2TS_SEQUENCE_START {
        tracing::debug!("ignoring an Enhanced RTMP MPEG-2 TS sequence start");
        return Ok(());
    }
    let codec = Codec::from_fourcc(p.fourcc)
        .filter(|c| c.kind() == MediaKind::Video)
        .ok_or(FlvError::FourCc(p.fourcc))?;
    let track = TrackId::video(p.track);
    match packet_type {
        SEQUENCE_START => out.push(TagItem::Config(config(reader, codec, track, &p.body)?)),
        CODED_FRAMES | CODED_FRAMES_X => {
            let nal = matches!(codec, Codec::H264 | Codec::H265);
            let (composition, data) = if nal && packet_type == CODED_FRAMES {
                let cts = p.body.get(..3).ok_or(truncated(WHAT))?;
                (si24(cts), p.body.slice(3..))
            } else {
                (0, p.body)
            };
            let key = frame_type == FRAME_KEY;
            frame(
                reader,
                timestamp,
                codec,
                p.track,
                composition,
                key,
                data,
                out,
            )?;
        }
        SEQUENCE_END => out.push(TagItem::SequenceEnd(track)),
        other => {
            return Err(FlvError::PacketType {
                kind: "video",
                packet_type: other,
            });
        }
    }
    Ok(())
}

fn config(
    reader: &mut TagReader,
    codec: Codec,
    track: TrackId,
    data: &Bytes,
) -> Result<TrackConfig, FlvError> {
    let params = match codec {
        Codec::H264 => {
            let c = AvcConfig::parse(data)?;
            reader.set_length_size(track, c.length_size);
            CodecParams::H264(c)
        }
        Codec::H265 => {
            let c = HevcConfig::parse(data)?;
            reader.set_length_size(track, c.length_size());
            CodecParams::H265(c)
        }
        Codec::Av1 => CodecParams::Av1(Av1Config::parse(data)?),
        Codec::Vp9 => CodecParams::Vp9(VpcConfig::parse(data)?),
        Codec::Vp8 => CodecParams::Vp8(VpcConfig::parse(data)?),
        other => {
            return Err(FlvError::NotWritable {
                codec: other,
                reason: "not a video codec",
            });
        }
    };
    Ok(TrackConfig {
        track: track.id,
        params,
    })
}

#[allow(clippy::too_many_arguments)]
fn frame(
    reader: &TagReader,
    timestamp: u32,
    codec: Codec,
    track: u8,
    composition: i32,
    keyframe: bool,
    data: Bytes,
    out: &mut Vec<TagItem>,
) -> Result<(), FlvError> {
    let parts = match codec {
        Codec::H264 | Codec::H265 => split_nalus(&data, reader.length_size(TrackId::video(track)))?,
        Codec::Av1 => split_obus(&data)?,
        _ if data.is_empty() => Vec::new(),
        _ => vec![data],
    };
    if parts.is_empty() {
        return Ok(());
    }
    out.push(TagItem::Frame(Media {
        track,
        codec,
        timestamp_ms: timestamp,
        composition_ms: composition,
        keyframe,
        parts,
    }));
    Ok(())
}

fn legacy(style: TagStyle, codec: Codec, track: u8) -> bool {
    style == TagStyle::Classic && track == 0 && codec == Codec::H264
}

fn fourcc(codec: Codec) -> Result<crate::media::FourCc, FlvError> {
    codec
        .fourcc()
        .filter(|_| codec.kind() == MediaKind::Video)
        .ok_or(FlvError::NotWritable {
            codec,
            reason: "not a video codec",
        })
}

/// The body of a sequence header / sequence start. H264/H265 records are written with
/// 4-byte NAL unit lengths, as the frames this module writes use.
pub fn write_config(config: &TrackConfig, style: TagStyle) -> Result<Bytes, FlvError> {
    let codec = config.params.codec();
    let mut record = BytesMut::new();
    match &config.params {
        CodecParams::H264(c) => {
            let mut c = c.clone();
            c.length_size = 4;
            c.encode(&mut record)?;
        }
        CodecParams::H265(c) => {
            let mut c = c.clone();
            c.set_length_size(4);
            c.encode(&mut record)?;
        }
        CodecParams::Av1(c) => c.encode(&mut record),
        CodecParams::Vp8(c) | CodecParams::Vp9(c) => c.encode(&mut record)?,
        _ => {
            return Err(FlvError::NotWritable {
                codec,
                reason: "not a video codec",
            });
        }
    }
    let mut out = BytesMut::with_capacity(record.len() + 10);
    if legacy(style, codec, config.track) {
        out.put_slice(&[(FRAME_KEY << 4) | CODEC_AVC, 0, 0, 0, 0]);
        out.put_slice(&record);
    } else {
        let first = EX_HEADER | (FRAME_KEY << 4);
        let code = fourcc(codec)?;
        put_ex_body(
            &mut out,
            first,
            MULTITRACK,
            SEQUENCE_START,
            code,
            config.track,
            &[&record],
        );
    }
    Ok(out.freeze())
}

/// The packet type and payload of a coded frame (composition time included for
/// H264/H265 when it is not zero).
fn coded(media: &Media) -> Result<(u8, Vec<u8>), FlvError> {
    let mut out = BytesMut::with_capacity(media.len() + 8 * media.parts.len() + 3);
    let packet_type = match media.codec {
        Codec::H264 | Codec::H265 => {
            let packet_type = if media.composition_ms == 0 {
                CODED_FRAMES_X
            } else {
                put_si24(&mut out, media.composition_ms);
                CODED_FRAMES
            };
            put_avcc(&mut out, &media.parts)?;
            packet_type
        }
        Codec::Av1 => {
            // A temporal unit starts with a temporal delimiter (ffmpeg needs it).
            if media.parts.first().and_then(|o| obu_type(o)) != Some(OBU_TEMPORAL_DELIMITER) {
                out.put_slice(&[OBU_TEMPORAL_DELIMITER << 3 | 0x02, 0]);
            }
            for obu in media.parts.iter().filter(|o| !o.is_empty()) {
                out.put_slice(&with_size_field(obu)?);
            }
            CODED_FRAMES
        }
        Codec::Vp8 | Codec::Vp9 => {
            for p in &media.parts {
                out.put_slice(p);
            }
            CODED_FRAMES
        }
        codec => {
            return Err(FlvError::NotWritable {
                codec,
                reason: "not a video codec",
            });
        }
    };
    Ok((packet_type, out.to_vec()))
}

fn frame_type(media: &Media) -> u8 {
    if media.keyframe {
        FRAME_KEY
    } else {
        FRAME_INTER
    }
}

/// The body of a frame.
pub fn write_frame(media: &Media, style: TagStyle) -> Result<Bytes, FlvError> {
    let ft = frame_type(media);
    if legacy(style, media.codec, media.track) {
        let mut out = BytesMut::with_capacity(media.len() + 4 * media.parts.len() + 5);
        out.put_u8((ft << 4) | CODEC_AVC);
        out.put_u8(1);
        put_si24(&mut out, media.composition_ms);
        put_avcc(&mut out, &media.parts)?;
        return Ok(out.freeze());
    }
    let code = fourcc(media.codec)?;
    let (packet_type, payload) = coded(media)?;
    let mut out = BytesMut::with_capacity(payload.len() + 8);
    put_ex_body(
        &mut out,
        EX_HEADER | (ft << 4),
        MULTITRACK,
        packet_type,
        code,
        media.track,
        &[&payload],
    );
    Ok(out.freeze())
}

/// The body ending a track's sequence.
pub fn write_end(track: u8, codec: Codec, style: TagStyle) -> Result<Bytes, FlvError> {
    if legacy(style, codec, track) {
        return Ok(Bytes::from_static(&[
            (FRAME_KEY << 4) | CODEC_AVC,
            2,
            0,
            0,
            0,
        ]));
    }
    let mut out = BytesMut::new();
    put_ex_body(
        &mut out,
        EX_HEADER | (FRAME_KEY << 4),
        MULTITRACK,
        SEQUENCE_END,
        fourcc(codec)?,
        track,
        &[],
    );
    Ok(out.freeze())
}

/// One body carrying a frame of each of several video tracks (same timestamp): the
/// many-tracks layout, with per-track FourCCs when the codecs differ. The frame type is
/// key only when every frame is.
pub fn write_frames(frames: &[Media]) -> Result<Bytes, FlvError> {
    let mut tracks = Vec::with_capacity(frames.len());
    for m in frames {
        // Many-tracks bodies share one packet type: composition times are always written.
        let (_, payload) = coded(m)?;
        let payload = match m.codec {
            Codec::H264 | Codec::H265 if m.composition_ms == 0 => {
                [&[0u8, 0, 0][..], &payload].concat()
            }
            _ => payload,
        };
        tracks.push((fourcc(m.codec)?, m.track, payload));
    }
    let ft = if frames.iter().all(|m| m.keyframe) {
        FRAME_KEY
    } else {
        FRAME_INTER
    };
    let mut out = BytesMut::new();
    put_many_tracks(
        &mut out,
        EX_HEADER | (ft << 4),
        MULTITRACK,
        CODED_FRAMES,
        &tracks,
    )?;
    Ok(out.freeze())
}
