//! Sample entries (`stsd` children) and their codec configuration boxes.

use bytes::Bytes;

use super::boxes::{BoxWriter, Boxes, Fields, RawBox, fourcc, require};
use super::{Codec, FlacStreamInfo, ReadError, WriteError};
use crate::{av1, h264, h265};

fn invalid(codec: &'static str, reason: &'static str) -> WriteError {
    WriteError::InvalidParams { codec, reason }
}

/// Picture size of a video codec (0x0 for audio).
pub(crate) fn dimensions(codec: &Codec) -> Result<(u16, u16), WriteError> {
    let clamp = |w: u32, h: u32| (w.min(0xffff) as u16, h.min(0xffff) as u16);
    Ok(match codec {
        Codec::H264 { sps, .. } => {
            let s = h264::Sps::parse(sps).map_err(|_| invalid("H264", "SPS does not parse"))?;
            clamp(s.width, s.height)
        }
        Codec::H265 { sps, .. } => {
            let s = h265::Sps::parse(sps).map_err(|_| invalid("H265", "SPS does not parse"))?;
            clamp(s.width, s.height)
        }
        Codec::Av1 { sequence_header } => {
            let s = av1::SequenceHeader::parse(sequence_header)
                .map_err(|_| invalid("AV1", "sequence header does not parse"))?;
            clamp(s.max_frame_width, s.max_frame_height)
        }
        Codec::Vp9 { width, height, .. } => (*width, *height),
        _ => (0, 0),
    })
}

fn visual_entry(w: &mut BoxWriter, kind: &[u8; 4], (width, height): (u16, u16)) {
    w.start(kind);
    w.zeros(6);
    w.u16(1); // data_reference_index
    w.zeros(16); // pre_defined, reserved, pre_defined[3]
    w.u16(width);
    w.u16(height);
    w.u32(0x0048_0000); // 72 dpi
    w.u32(0x0048_0000);
    w.u32(0);
    w.u16(1); // frame_count
    w.zeros(32); // compressorname
    w.u16(0x0018); // depth
    w.u16(0xffff); // pre_defined = -1
}

fn audio_entry(w: &mut BoxWriter, kind: &[u8; 4], channels: u8, sample_size: u16, rate: u32) {
    w.start(kind);
    w.zeros(6);
    w.u16(1); // data_reference_index
    w.zeros(8);
    w.u16(u16::from(channels));
    w.u16(sample_size);
    w.zeros(4);
    // 16.16 fixed point; rates above 65535 do not fit and are left to the media timescale.
    w.u32(if rate <= 0xffff { rate << 16 } else { 0 });
}

/// One MPEG-4 descriptor with a 4-byte size field, as MediaMTX writes them.
fn descriptor(w: &mut BoxWriter, tag: u8, body: &[u8]) -> Result<(), WriteError> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| *l < 1 << 28)
        .ok_or(WriteError::TooLarge)?;
    w.u8(tag);
    w.bytes(&[
        0x80 | ((len >> 21) & 0x7f) as u8,
        0x80 | ((len >> 14) & 0x7f) as u8,
        0x80 | ((len >> 7) & 0x7f) as u8,
        (len & 0x7f) as u8,
    ]);
    w.bytes(body);
    Ok(())
}

fn esds(
    w: &mut BoxWriter,
    track_id: u32,
    object_type: u8,
    specific_info: Option<&[u8]>,
    (avg, max): (u32, u32),
) -> Result<(), WriteError> {
    let mut config = Vec::with_capacity(32);
    config.push(object_type);
    config.push((5 << 2) | 1); // audio stream, reserved bit
    config.extend_from_slice(&[0, 0, 0]); // bufferSizeDB
    config.extend_from_slice(&max.to_be_bytes());
    config.extend_from_slice(&avg.to_be_bytes());
    let mut inner = BoxWriter::new();
    inner.u16(u16::try_from(track_id).unwrap_or(u16::MAX)); // ES_ID
    inner.u8(0); // flags
    if let Some(info) = specific_info {
        let mut dsi = BoxWriter::new();
        descriptor(&mut dsi, 0x05, info)?;
        config.extend_from_slice(&dsi.buf);
    }
    descriptor(&mut inner, 0x04, &config)?;
    descriptor(&mut inner, 0x06, &[0x02])?; // SLConfigDescriptor: predefined MP4
    w.start_full(b"esds", 0, 0);
    descriptor(w, 0x03, &inner.buf)?;
    w.end()
}

/// Appends `codec`'s sample entry, its configuration box and `btrt`.
pub(crate) fn write(
    w: &mut BoxWriter,
    codec: &Codec,
    track_id: u32,
    bitrates: (u32, u32),
) -> Result<(), WriteError> {
    let dims = dimensions(codec)?;
    match codec {
        Codec::H264 { sps, pps } => {
            if sps.len() < 4 || pps.is_empty() || sps.len() > 0xffff || pps.len() > 0xffff {
                return Err(invalid("H264", "SPS or PPS size"));
            }
            visual_entry(w, b"avc1", dims);
            w.start(b"avcC");
            w.bytes(&[1, sps[1], sps[2], sps[3], 0xff, 0xe1]);
            w.u16(sps.len() as u16);
            w.bytes(sps);
            w.u8(1);
            w.u16(pps.len() as u16);
            w.bytes(pps);
            w.end()?;
        }
        Codec::H265 { vps, sps, pps } => {
            let s = h265::Sps::parse(sps).map_err(|_| invalid("H265", "SPS does not parse"))?;
            if [vps, sps, pps]
                .iter()
                .any(|p| p.is_empty() || p.len() > 0xffff)
            {
                return Err(invalid("H265", "VPS, SPS or PPS size"));
            }
            visual_entry(w, b"hvc1", dims);
            w.start(b"hvcC");
            w.u8(1);
            w.u8((s.general_profile_space << 6)
                | (u8::from(s.general_tier_flag) << 5)
                | (s.general_profile_idc & 0x1f));
            w.u32(s.general_profile_compatibility_flags);
            w.bytes(&s.general_constraint_indicator_flags);
            w.u8(s.general_level_idc);
            w.u16(0xf000); // reserved, min_spatial_segmentation_idc 0
            w.u8(0xfc); // reserved, parallelismType 0
            w.u8(0xfc | (s.chroma_format_idc as u8 & 0x03));
            w.u8(0xf8 | (s.bit_depth_luma.saturating_sub(8) as u8 & 0x07));
            w.u8(0xf8 | (s.bit_depth_chroma.saturating_sub(8) as u8 & 0x07));
            w.u16(0); // avgFrameRate
            w.u8((1 << 3) | 0x03); // numTemporalLayers 1, lengthSizeMinusOne 3
            w.u8(3);
            for (nal_type, nal) in [
                (h265::NAL_VPS, vps),
                (h265::NAL_SPS, sps),
                (h265::NAL_PPS, pps),
            ] {
                w.u8(nal_type);
                w.u16(1);
                w.u16(nal.len() as u16);
                w.bytes(nal);
            }
            w.end()?;
        }
        Codec::Av1 { sequence_header } => {
            let s = av1::SequenceHeader::parse(sequence_header)
                .map_err(|_| invalid("AV1", "sequence header does not parse"))?;
            visual_entry(w, b"av01", dims);
            w.start(b"av1C");
            w.u8(0x81); // marker, version 1
            w.u8((s.seq_profile << 5) | (s.seq_level_idx0 & 0x1f));
            w.u8((u8::from(s.seq_tier0) << 7)
                | (u8::from(s.high_bitdepth) << 6)
                | (u8::from(s.twelve_bit) << 5)
                | (u8::from(s.mono_chrome) << 4)
                | (u8::from(s.subsampling_x) << 3)
                | (u8::from(s.subsampling_y) << 2)
                | (s.chroma_sample_position & 0x03));
            w.u8(0); // no initial_presentation_delay
            write_obu_with_size(w, sequence_header);
            w.end()?;
        }
        Codec::Vp9 {
            profile,
            bit_depth,
            chroma_subsampling,
            color_range,
            ..
        } => {
            visual_entry(w, b"vp09", dims);
            w.start_full(b"vpcC", 1, 0);
            w.u8(*profile);
            w.u8(10); // level 1, as MediaMTX
            w.u8((bit_depth << 4) | ((chroma_subsampling & 0x07) << 1) | u8::from(*color_range));
            w.bytes(&[2, 2, 2]); // primaries, transfer, matrix: unspecified
            w.u16(0); // codecIntializationDataSize
            w.end()?;
        }
        Codec::Opus { channel_count } => {
            audio_entry(w, b"Opus", *channel_count, 16, 48_000);
            w.start(b"dOps");
            w.u8(0);
            w.u8(*channel_count);
            w.u16(312); // PreSkip, as MediaMTX
            w.u32(48_000);
            w.u16(0); // OutputGain
            w.u8(0); // ChannelMappingFamily
            w.end()?;
        }
        Codec::Mpeg4Audio { config } => {
            let c = crate::mpeg4audio::AudioSpecificConfig::parse(config)
                .map_err(|_| invalid("MPEG-4 Audio", "AudioSpecificConfig does not parse"))?;
            audio_entry(w, b"mp4a", c.channel_count, 16, c.sample_rate);
            esds(w, track_id, 0x40, Some(config), bitrates)?;
        }
        Codec::Mpeg1Audio {
            sample_rate,
            channel_count,
        } => {
            audio_entry(w, b"mp4a", *channel_count, 16, *sample_rate);
            esds(w, track_id, 0x6b, None, bitrates)?;
        }
        Codec::Ac3 {
            sample_rate,
            channel_count,
            bsid,
            bsmod,
            acmod,
            lfe_on,
            bit_rate_code,
        } => {
            let fscod: u32 = match sample_rate {
                48_000 => 0,
                44_100 => 1,
                32_000 => 2,
                _ => return Err(invalid("AC-3", "sample rate")),
            };
            audio_entry(w, b"ac-3", *channel_count, 16, *sample_rate);
            w.start(b"dac3");
            let v = (fscod << 22)
                | (u32::from(bsid & 0x1f) << 17)
                | (u32::from(bsmod & 0x07) << 14)
                | (u32::from(acmod & 0x07) << 11)
                | (u32::from(*lfe_on) << 10)
                | (u32::from(bit_rate_code & 0x1f) << 5);
            w.bytes(&v.to_be_bytes()[1..]);
            w.end()?;
        }
        Codec::Flac { stream_info } => {
            let info = FlacStreamInfo::parse(stream_info)
                .ok_or_else(|| invalid("FLAC", "STREAMINFO must be 34 bytes"))?;
            audio_entry(
                w,
                b"fLaC",
                info.channel_count,
                u16::from(info.bits_per_sample),
                info.sample_rate,
            );
            w.start_full(b"dfLa", 0, 0);
            w.bytes(&[0x80, 0, 0, 34]); // last block, type STREAMINFO, length 34
            w.bytes(stream_info);
            w.end()?;
        }
        Codec::Lpcm {
            little_endian,
            bit_depth,
            sample_rate,
            channel_count,
        } => {
            audio_entry(
                w,
                b"ipcm",
                *channel_count,
                u16::from(*bit_depth),
                *sample_rate,
            );
            w.start_full(b"pcmC", 0, 0);
            w.u8(u8::from(*little_endian));
            w.u8(*bit_depth);
            w.end()?;
        }
    }
    w.start(b"btrt");
    w.u32(0); // bufferSizeDB
    w.u32(bitrates.1);
    w.u32(bitrates.0);
    w.end()?;
    w.end() // sample entry
}

/// Writes an OBU with `obu_has_size_field` set (adding the size when it is missing).
fn write_obu_with_size(w: &mut BoxWriter, obu: &[u8]) {
    let Some(&header) = obu.first() else { return };
    if header & 0x02 != 0 {
        w.bytes(obu);
        return;
    }
    let header_len = (1 + usize::from(header & 0x04 != 0)).min(obu.len());
    w.u8(header | 0x02);
    w.bytes(&obu[1..header_len]);
    let mut size = bytes::BytesMut::new();
    av1::write_leb128(&mut size, (obu.len() - header_len) as u64);
    w.bytes(&size);
    w.bytes(&obu[header_len..]);
}

/// Children of a visual (78-byte fields) or audio (28-byte fields) sample entry.
fn children<'a>(entry: &RawBox<'a>, fields: usize) -> Result<&'a [u8], ReadError> {
    entry
        .body
        .get(fields..)
        .ok_or(ReadError::Truncated("sample entry"))
}

struct AudioFields {
    channels: u8,
    sample_size: u16,
    rate: u32,
}

fn audio_fields(entry: &RawBox<'_>) -> Result<AudioFields, ReadError> {
    let mut f = Fields::new(entry.body, "audio sample entry");
    f.skip(16)?;
    let channels = f.u16()?;
    let sample_size = f.u16()?;
    f.skip(4)?;
    let rate = f.u32()? >> 16;
    Ok(AudioFields {
        channels: u8::try_from(channels).map_err(|_| ReadError::Invalid("channel count"))?,
        sample_size,
        rate,
    })
}

fn parameter_set(f: &mut Fields<'_>) -> Result<Bytes, ReadError> {
    let len = usize::from(f.u16()?);
    Ok(Bytes::copy_from_slice(f.take(len)?))
}

/// Reads the codec of a sample entry; `timescale` is the track's media timescale (the sample
/// rate of audio tracks whose entry cannot hold it).
pub(crate) fn read(entry: &RawBox<'_>, timescale: u32) -> Result<Codec, ReadError> {
    let rate_or_timescale = |rate: u32| if rate == 0 { timescale } else { rate };
    match &entry.kind {
        b"avc1" | b"avc3" => {
            let avcc = require(children(entry, 78)?, b"avcC")?;
            let mut f = Fields::new(avcc.body, "avcC");
            f.skip(5)?;
            let sps_count = f.u8()? & 0x1f;
            let mut sps = None;
            for _ in 0..sps_count {
                sps.get_or_insert(parameter_set(&mut f)?);
            }
            let pps_count = f.u8()?;
            let mut pps = None;
            for _ in 0..pps_count {
                pps.get_or_insert(parameter_set(&mut f)?);
            }
            match (sps, pps) {
                (Some(sps), Some(pps)) => Ok(Codec::H264 { sps, pps }),
                _ => Err(ReadError::Invalid("avcC without SPS or PPS")),
            }
        }
        b"hvc1" | b"hev1" => {
            let hvcc = require(children(entry, 78)?, b"hvcC")?;
            let mut f = Fields::new(hvcc.body, "hvcC");
            f.skip(22)?;
            let arrays = f.u8()?;
            let (mut vps, mut sps, mut pps) = (None, None, None);
            for _ in 0..arrays {
                let nal_type = f.u8()? & 0x3f;
                let count = f.u16()?;
                for _ in 0..count {
                    let nal = parameter_set(&mut f)?;
                    let slot = match nal_type {
                        h265::NAL_VPS => &mut vps,
                        h265::NAL_SPS => &mut sps,
                        h265::NAL_PPS => &mut pps,
                        _ => continue,
                    };
                    slot.get_or_insert(nal);
                }
            }
            match (vps, sps, pps) {
                (Some(vps), Some(sps), Some(pps)) => Ok(Codec::H265 { vps, sps, pps }),
                _ => Err(ReadError::Invalid("hvcC without VPS, SPS or PPS")),
            }
        }
        b"av01" => {
            let av1c = require(children(entry, 78)?, b"av1C")?;
            let obus = av1c.body.get(4..).ok_or(ReadError::Truncated("av1C"))?;
            find_sequence_header(obus)
                .map(|sequence_header| Codec::Av1 { sequence_header })
                .ok_or(ReadError::Invalid("av1C without a sequence header"))
        }
        b"vp09" => {
            let mut f = Fields::new(entry.body, "vp09");
            f.skip(24)?;
            let width = f.u16()?;
            let height = f.u16()?;
            let vpcc = require(children(entry, 78)?, b"vpcC")?;
            let mut f = Fields::new(vpcc.body, "vpcC");
            f.full_header()?;
            let profile = f.u8()?;
            f.u8()?;
            let packed = f.u8()?;
            Ok(Codec::Vp9 {
                width,
                height,
                profile,
                bit_depth: packed >> 4,
                chroma_subsampling: (packed >> 1) & 0x07,
                color_range: packed & 1 != 0,
            })
        }
        b"Opus" => {
            let dops = require(children(entry, 28)?, b"dOps")?;
            let mut f = Fields::new(dops.body, "dOps");
            f.u8()?;
            Ok(Codec::Opus {
                channel_count: f.u8()?,
            })
        }
        b"mp4a" => {
            let a = audio_fields(entry)?;
            let esds = require(children(entry, 28)?, b"esds")?;
            let (object_type, info) = read_esds(esds.body)?;
            match object_type {
                0x40 | 0x66..=0x68 => Ok(Codec::Mpeg4Audio {
                    config: info.ok_or(ReadError::Invalid("esds without AudioSpecificConfig"))?,
                }),
                0x69 | 0x6b => Ok(Codec::Mpeg1Audio {
                    sample_rate: rate_or_timescale(a.rate),
                    channel_count: a.channels,
                }),
                _ => Err(ReadError::UnsupportedCodec(format!(
                    "mp4a with object type 0x{object_type:02x}"
                ))),
            }
        }
        b".mp3" => {
            let a = audio_fields(entry)?;
            Ok(Codec::Mpeg1Audio {
                sample_rate: rate_or_timescale(a.rate),
                channel_count: a.channels,
            })
        }
        b"ac-3" => {
            let a = audio_fields(entry)?;
            let dac3 = require(children(entry, 28)?, b"dac3")?;
            let mut f = Fields::new(dac3.body, "dac3");
            let v = f.u24()?;
            let fscod = v >> 22;
            let sample_rate = match fscod {
                0 => 48_000,
                1 => 44_100,
                2 => 32_000,
                _ => return Err(ReadError::Invalid("dac3 fscod")),
            };
            Ok(Codec::Ac3 {
                sample_rate,
                channel_count: a.channels,
                bsid: ((v >> 17) & 0x1f) as u8,
                bsmod: ((v >> 14) & 0x07) as u8,
                acmod: ((v >> 11) & 0x07) as u8,
                lfe_on: (v >> 10) & 1 != 0,
                bit_rate_code: ((v >> 5) & 0x1f) as u8,
            })
        }
        b"fLaC" => {
            let dfla = require(children(entry, 28)?, b"dfLa")?;
            let mut f = Fields::new(dfla.body, "dfLa");
            f.full_header()?;
            // Metadata blocks; STREAMINFO is the first.
            let header = f.u32()?;
            if (header >> 24) & 0x7f != 0 || header & 0x00ff_ffff != 34 {
                return Err(ReadError::Invalid("dfLa without STREAMINFO first"));
            }
            Ok(Codec::Flac {
                stream_info: Bytes::copy_from_slice(f.take(34)?),
            })
        }
        b"ipcm" => {
            let a = audio_fields(entry)?;
            let pcmc = require(children(entry, 28)?, b"pcmC")?;
            let mut f = Fields::new(pcmc.body, "pcmC");
            f.full_header()?;
            let flags = f.u8()?;
            let bit_depth = f.u8()?;
            let _ = a.sample_size;
            Ok(Codec::Lpcm {
                little_endian: flags & 1 != 0,
                bit_depth,
                sample_rate: rate_or_timescale(a.rate),
                channel_count: a.channels,
            })
        }
        other => Err(ReadError::UnsupportedCodec(fourcc(other))),
    }
}

/// The first sequence header OBU among OBUs that carry their sizes.
fn find_sequence_header(mut obus: &[u8]) -> Option<Bytes> {
    while let Some(&header) = obus.first() {
        if header & 0x02 == 0 {
            // Without a size field the OBU runs to the end.
            return (av1::obu_type(obus) == Some(av1::OBU_SEQUENCE_HEADER))
                .then(|| Bytes::copy_from_slice(obus));
        }
        let header_len = 1 + usize::from(header & 0x04 != 0);
        let (size, leb_len) = av1::read_leb128(obus.get(header_len..)?)?;
        let total = header_len
            .checked_add(leb_len)?
            .checked_add(usize::try_from(size).ok()?)?;
        let obu = obus.get(..total)?;
        if av1::obu_type(obu) == Some(av1::OBU_SEQUENCE_HEADER) {
            return Some(Bytes::copy_from_slice(obu));
        }
        obus = &obus[total..];
    }
    None
}

/// Reads one descriptor (tag, size in 1-4 bytes): tag and body.
fn read_descriptor<'a>(f: &mut Fields<'a>) -> Result<(u8, &'a [u8]), ReadError> {
    let tag = f.u8()?;
    let mut len = 0usize;
    for _ in 0..4 {
        let b = f.u8()?;
        len = (len << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok((tag, f.take(len)?))
}

/// Object type indication and DecoderSpecificInfo of an `esds` body.
fn read_esds(body: &[u8]) -> Result<(u8, Option<Bytes>), ReadError> {
    let mut f = Fields::new(body, "esds");
    f.full_header()?;
    let (tag, es) = read_descriptor(&mut f)?;
    if tag != 0x03 {
        return Err(ReadError::Invalid("esds without ES_Descriptor"));
    }
    let mut f = Fields::new(es, "ES_Descriptor");
    f.u16()?; // ES_ID
    let flags = f.u8()?;
    if flags & 0x80 != 0 {
        f.u16()?; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        let len = usize::from(f.u8()?);
        f.skip(len)?; // URL
    }
    if flags & 0x20 != 0 {
        f.u16()?; // OCR_ES_Id
    }
    while f.remaining() > 0 {
        let (tag, config) = read_descriptor(&mut f)?;
        if tag != 0x04 {
            continue;
        }
        let mut c = Fields::new(config, "DecoderConfigDescriptor");
        let object_type = c.u8()?;
        c.skip(12)?;
        while c.remaining() > 0 {
            let (tag, info) = read_descriptor(&mut c)?;
            if tag == 0x05 {
                return Ok((object_type, Some(Bytes::copy_from_slice(info))));
            }
        }
        return Ok((object_type, None));
    }
    Err(ReadError::Invalid("esds without DecoderConfigDescriptor"))
}

/// The first sample entry of an `stsd` body.
pub(crate) fn first_entry<'a>(stsd: &'a [u8]) -> Result<RawBox<'a>, ReadError> {
    let entries = stsd.get(8..).ok_or(ReadError::Truncated("stsd"))?;
    Boxes::new(entries)
        .next()
        .ok_or_else(|| ReadError::Missing("sample entry".into()))?
}
