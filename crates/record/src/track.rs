//! One track of a recorded stream: which codecs each format records, the parameters the
//! init segment needs (learned in-band), the decoding timestamps of reordered video, and
//! how a unit becomes fMP4 samples or an MPEG-TS access unit.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_codec::fmp4::Codec as Mp4Codec;
use ferromtx_codec::mpegts::Codec as TsCodec;
use ferromtx_codec::{Format, Frame, av1, h264, h265, mpeg4audio, opus, vp9};
use ferromtx_core::Unit;

/// Reordering depth assumed for H264/H265 that may have B-frames and do not say how many.
const DEFAULT_REORDER: usize = 2;
/// Most reordering depth believed from a stream.
const MAX_REORDER: usize = 16;

/// The codec of a recorded track and its parameters so far.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    H264 {
        sps: Option<Bytes>,
        pps: Option<Bytes>,
    },
    H265 {
        vps: Option<Bytes>,
        sps: Option<Bytes>,
        pps: Option<Bytes>,
    },
    Av1 {
        sequence_header: Option<Bytes>,
    },
    Vp9 {
        header: Option<(u8, vp9::KeyFrameInfo)>,
    },
    Opus {
        channels: u8,
    },
    Mpeg4Audio {
        config: Bytes,
        samples_per_au: i64,
    },
    /// Recorded as 16-bit big-endian LPCM in fMP4, as MediaMTX does.
    G711 {
        mu_law: bool,
        sample_rate: u32,
        channels: u8,
    },
    Lpcm {
        bit_depth: u8,
        sample_rate: u32,
        channels: u8,
    },
}

impl Input {
    /// The input of a stream track for fMP4, `None` when fMP4 recording skips it.
    pub(crate) fn for_fmp4(format: &Format) -> Option<Input> {
        Some(match format {
            Format::H264 { sps, pps, .. } => Input::H264 {
                sps: sps.clone(),
                pps: pps.clone(),
            },
            Format::H265 { vps, sps, pps, .. } => Input::H265 {
                vps: vps.clone(),
                sps: sps.clone(),
                pps: pps.clone(),
            },
            Format::Av1 { .. } => Input::Av1 {
                sequence_header: None,
            },
            Format::Vp9 { .. } => Input::Vp9 { header: None },
            Format::Opus { channels, .. } => Input::Opus {
                channels: *channels,
            },
            Format::Mpeg4Audio { config, .. } => {
                let c = mpeg4audio::AudioSpecificConfig::parse(config).ok()?;
                Input::Mpeg4Audio {
                    config: config.clone(),
                    samples_per_au: i64::from(c.samples_per_access_unit()),
                }
            }
            Format::G711 {
                mu_law,
                sample_rate,
                channels,
                ..
            } => Input::G711 {
                mu_law: *mu_law,
                sample_rate: *sample_rate,
                channels: *channels,
            },
            Format::Lpcm {
                bit_depth,
                sample_rate,
                channels,
                ..
            } => Input::Lpcm {
                bit_depth: *bit_depth,
                sample_rate: *sample_rate,
                channels: *channels,
            },
            _ => return None,
        })
    }

    /// The input and MPEG-TS codec of a stream track, `None` when MPEG-TS recording skips it.
    pub(crate) fn for_mpegts(format: &Format) -> Option<(Input, TsCodec)> {
        let codec = TsCodec::from_format(format)?;
        Some((Input::for_fmp4(format)?, codec))
    }

    pub(crate) fn is_video(&self) -> bool {
        matches!(
            self,
            Input::H264 { .. } | Input::H265 { .. } | Input::Av1 { .. } | Input::Vp9 { .. }
        )
    }

    /// Takes parameters a unit carries; returns whether they changed.
    fn learn(&mut self, parts: &[Bytes]) -> bool {
        fn set(slot: &mut Option<Bytes>, v: &Bytes) -> bool {
            if slot.as_ref() == Some(v) {
                return false;
            }
            *slot = Some(v.clone());
            true
        }
        let mut changed = false;
        match self {
            Input::H264 { sps, pps } => {
                for nal in parts {
                    match h264::nal_type(nal) {
                        h264::NAL_SPS => changed |= set(sps, nal),
                        h264::NAL_PPS => changed |= set(pps, nal),
                        _ => {}
                    }
                }
            }
            Input::H265 { vps, sps, pps } => {
                for nal in parts {
                    match h265::nal_type(nal) {
                        h265::NAL_VPS => changed |= set(vps, nal),
                        h265::NAL_SPS => changed |= set(sps, nal),
                        h265::NAL_PPS => changed |= set(pps, nal),
                        _ => {}
                    }
                }
            }
            Input::Av1 { sequence_header } => {
                if let Some(obu) = parts
                    .iter()
                    .find(|o| av1::obu_type(o) == Some(av1::OBU_SEQUENCE_HEADER))
                {
                    changed |= set(sequence_header, obu);
                }
            }
            Input::Vp9 { header } => {
                if let Some(frame) = parts.first()
                    && let Ok(h) = vp9::Header::parse(frame)
                    && let Some(key) = h.key_frame
                    && header.as_ref() != Some(&(h.profile, key.clone()))
                {
                    *header = Some((h.profile, key));
                    changed = true;
                }
            }
            _ => {}
        }
        changed
    }

    /// The fMP4 sample entry's codec, `None` while parameters are missing.
    pub(crate) fn fmp4_codec(&self) -> Option<Mp4Codec> {
        Some(match self {
            Input::H264 { sps, pps } => Mp4Codec::H264 {
                sps: sps.clone()?,
                pps: pps.clone()?,
            },
            Input::H265 { vps, sps, pps } => Mp4Codec::H265 {
                vps: vps.clone()?,
                sps: sps.clone()?,
                pps: pps.clone()?,
            },
            Input::Av1 { sequence_header } => Mp4Codec::Av1 {
                sequence_header: sequence_header.clone()?,
            },
            Input::Vp9 { header } => {
                let (profile, key) = header.as_ref()?;
                Mp4Codec::Vp9 {
                    width: key.width.min(0xffff) as u16,
                    height: key.height.min(0xffff) as u16,
                    profile: *profile,
                    bit_depth: key.bit_depth,
                    chroma_subsampling: key.chroma_subsampling,
                    color_range: key.color_range,
                }
            }
            Input::Opus { channels } => Mp4Codec::Opus {
                channel_count: *channels,
            },
            Input::Mpeg4Audio { config, .. } => Mp4Codec::Mpeg4Audio {
                config: config.clone(),
            },
            Input::G711 {
                sample_rate,
                channels,
                ..
            } => Mp4Codec::Lpcm {
                little_endian: false,
                bit_depth: 16,
                sample_rate: *sample_rate,
                channel_count: *channels,
            },
            Input::Lpcm {
                bit_depth,
                sample_rate,
                channels,
            } => Mp4Codec::Lpcm {
                little_endian: false,
                bit_depth: *bit_depth,
                sample_rate: *sample_rate,
                channel_count: *channels,
            },
        })
    }

    /// The reordering depth of H264/H265 from what is known now.
    fn reorder_depth(&self) -> usize {
        match self {
            Input::H264 { sps: Some(sps), .. } => match h264::Sps::parse(sps) {
                Ok(s) if !s.may_have_b_frames() => 0,
                Ok(s) => s
                    .max_num_reorder_frames
                    .map_or(DEFAULT_REORDER, |n| (n as usize).min(MAX_REORDER)),
                Err(_) => DEFAULT_REORDER,
            },
            _ => 0,
        }
    }
}

/// One access unit accepted for recording, in the track's clock.
#[derive(Debug, Clone)]
pub(crate) struct AccessUnit {
    pub pts: i64,
    pub dts: i64,
    pub random_access: bool,
    pub parts: Vec<Bytes>,
    pub ntp: SystemTime,
}

/// One fMP4 sample, in the track's clock.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub dts: i64,
    pub pts_offset: i32,
    pub non_sync: bool,
    pub payload: Bytes,
    pub ntp: SystemTime,
}

/// Decoding timestamps of video whose units carry none (RTP): with reordering depth `D`,
/// the DTS of a frame is the smallest presentation time not yet used among the frames
/// received so far, once more than `D` are waiting; the first `D` frames get DTS just
/// below the first PTS. H265 starts at depth 0 and takes the default depth the first time
/// frames arrive out of order.
#[derive(Debug, Default)]
struct DtsDeriver {
    depth: Option<usize>,
    waiting: BinaryHeap<Reverse<i64>>,
    last: Option<i64>,
    last_pts: Option<i64>,
}

impl DtsDeriver {
    fn dts(&mut self, pts: i64, depth_now: impl FnOnce() -> usize, adaptive: bool) -> i64 {
        let depth = *self.depth.get_or_insert_with(depth_now);
        let depth = if adaptive && depth == 0 && self.last_pts.is_some_and(|l| pts < l) {
            self.depth = Some(DEFAULT_REORDER);
            DEFAULT_REORDER
        } else {
            depth
        };
        self.last_pts = Some(pts);
        let dts = if depth == 0 {
            pts
        } else {
            self.waiting.push(Reverse(pts));
            if self.waiting.len() > depth {
                self.waiting.pop().map_or(pts, |Reverse(p)| p)
            } else {
                match self.last {
                    Some(last) => last + 1,
                    None => pts - depth as i64,
                }
            }
        };
        // Never backwards, whatever the stream does.
        let dts = self.last.map_or(dts, |last| dts.max(last));
        self.last = Some(dts);
        dts
    }
}

/// A recorded track: its input, whether it waits for a random-access unit, its DTS.
#[derive(Debug)]
pub(crate) struct Track {
    pub input: Input,
    pub clock_rate: u32,
    started: bool,
    dts: DtsDeriver,
}

impl Track {
    pub(crate) fn new(input: Input, clock_rate: u32) -> Track {
        Track {
            started: !input.is_video(),
            input,
            clock_rate,
            dts: DtsDeriver::default(),
        }
    }

    /// The unit as an access unit to record, or `None` while video waits for its first
    /// random-access unit (or the unit has no frame). `format` is the stream's description
    /// of the track now: parameter sets are put in front of random-access H264/H265 frames
    /// that lack them. Also returns whether the codec parameters changed.
    pub(crate) fn accept(&mut self, unit: &Unit, format: &Format) -> (Option<AccessUnit>, bool) {
        let Some(frame) = &unit.frame else {
            return (None, false);
        };
        let with_params: Option<Frame> = if unit.random_access {
            format.with_params(frame)
        } else {
            None
        };
        let parts = with_params.map_or_else(|| frame.parts.clone(), |f| f.parts);
        let changed = self.input.learn(&parts);
        if !self.started {
            if !unit.random_access || self.input.fmp4_codec().is_none() {
                return (None, changed);
            }
            self.started = true;
        }
        let dts = match (&self.input, unit.dts) {
            (_, Some(dts)) => dts,
            (Input::H264 { .. }, None) => {
                let input = &self.input;
                self.dts.dts(unit.pts, || input.reorder_depth(), false)
            }
            (Input::H265 { .. }, None) => self.dts.dts(unit.pts, || 0, true),
            _ => unit.pts,
        };
        let au = AccessUnit {
            pts: unit.pts,
            dts,
            random_access: unit.random_access || !self.input.is_video(),
            parts,
            ntp: unit.ntp.unwrap_or_else(SystemTime::now),
        };
        (Some(au), changed)
    }

    /// The fMP4 samples of an access unit: one for video, one per packet or access unit
    /// for audio (each at its own time).
    pub(crate) fn samples(&self, au: AccessUnit) -> Vec<Sample> {
        let clock = u64::from(self.clock_rate.max(1));
        let at = |offset: i64| {
            let ns = (offset.max(0) as u64).saturating_mul(1_000_000_000) / clock;
            au.ntp + std::time::Duration::from_nanos(ns)
        };
        let video = |payload: Bytes| {
            vec![Sample {
                dts: au.dts,
                pts_offset: (au.pts - au.dts).clamp(i64::from(i32::MIN), i64::from(i32::MAX))
                    as i32,
                non_sync: !au.random_access,
                payload,
                ntp: au.ntp,
            }]
        };
        match &self.input {
            Input::H264 { .. } | Input::H265 { .. } => video(avcc(&au.parts)),
            Input::Av1 { .. } => video(av1_sample(&au.parts)),
            Input::Vp9 { .. } => match au.parts.first() {
                Some(frame) => video(frame.clone()),
                None => Vec::new(),
            },
            Input::Opus { .. } => {
                let mut offset = 0i64;
                au.parts
                    .iter()
                    .map(|p| {
                        let s = Sample {
                            dts: au.pts + offset,
                            pts_offset: 0,
                            non_sync: false,
                            payload: p.clone(),
                            ntp: at(offset),
                        };
                        offset += i64::from(opus::packet_duration(p).unwrap_or(960));
                        s
                    })
                    .collect()
            }
            Input::Mpeg4Audio { samples_per_au, .. } => au
                .parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let offset = i as i64 * samples_per_au;
                    Sample {
                        dts: au.pts + offset,
                        pts_offset: 0,
                        non_sync: false,
                        payload: p.clone(),
                        ntp: at(offset),
                    }
                })
                .collect(),
            Input::G711 { mu_law, .. } => au
                .parts
                .first()
                .map(|p| {
                    vec![Sample {
                        dts: au.pts,
                        pts_offset: 0,
                        non_sync: false,
                        payload: g711_to_lpcm(p, *mu_law),
                        ntp: au.ntp,
                    }]
                })
                .unwrap_or_default(),
            Input::Lpcm { .. } => au
                .parts
                .first()
                .map(|p| {
                    vec![Sample {
                        dts: au.pts,
                        pts_offset: 0,
                        non_sync: false,
                        payload: p.clone(),
                        ntp: au.ntp,
                    }]
                })
                .unwrap_or_default(),
        }
    }
}

/// NAL units with 4-byte length prefixes.
fn avcc(nals: &[Bytes]) -> Bytes {
    let mut out = BytesMut::with_capacity(nals.iter().map(|n| n.len() + 4).sum());
    for nal in nals.iter().filter(|n| !n.is_empty()) {
        out.put_u32(nal.len() as u32);
        out.put_slice(nal);
    }
    out.freeze()
}

/// An AV1 sample: the temporal unit's OBUs without temporal delimiters, each with
/// `obu_has_size_field` set (AV1 ISOBMFF binding 2.4).
fn av1_sample(obus: &[Bytes]) -> Bytes {
    let mut out = BytesMut::with_capacity(obus.iter().map(|o| o.len() + 8).sum());
    for obu in obus {
        let Some(&header) = obu.first() else { continue };
        if av1::obu_type(obu) == Some(av1::OBU_TEMPORAL_DELIMITER) {
            continue;
        }
        if header & 0x02 != 0 {
            out.put_slice(obu);
            continue;
        }
        let header_len = (1 + usize::from(header & 0x04 != 0)).min(obu.len());
        out.put_u8(header | 0x02);
        out.put_slice(&obu[1..header_len]);
        av1::write_leb128(&mut out, (obu.len() - header_len) as u64);
        out.put_slice(&obu[header_len..]);
    }
    out.freeze()
}

/// G.711 to 16-bit big-endian linear PCM (ITU-T G.711 expansion).
fn g711_to_lpcm(data: &[u8], mu_law: bool) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() * 2);
    for &b in data {
        let v = if mu_law { ulaw(b) } else { alaw(b) };
        out.put_i16(v);
    }
    out.freeze()
}

fn ulaw(u: u8) -> i16 {
    let u = !u;
    let exponent = (u >> 4) & 0x07;
    let magnitude = ((i16::from(u & 0x0f) << 3) + 0x84) << exponent;
    let v = magnitude - 0x84;
    if u & 0x80 != 0 { -v } else { v }
}

fn alaw(a: u8) -> i16 {
    let a = a ^ 0x55;
    let segment = (a >> 4) & 0x07;
    let mut v = i16::from(a & 0x0f) << 4;
    v += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        v <<= segment - 1;
    }
    if a & 0x80 != 0 { v } else { -v }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(pts: i64, random_access: bool, parts: Vec<Bytes>) -> Unit {
        Unit {
            pts,
            random_access,
            frame: Some(Frame {
                rtp_timestamp: 0,
                random_access,
                parts,
            }),
            ntp: Some(SystemTime::UNIX_EPOCH),
            ..Unit::default()
        }
    }

    #[test]
    fn video_waits_for_a_keyframe_with_parameters() {
        let format = Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        };
        let mut t = Track::new(Input::for_fmp4(&format).expect("H264"), 90_000);
        let p = Bytes::from_static(&[0x41, 1]);
        assert!(
            t.accept(&unit(0, false, vec![p.clone()]), &format)
                .0
                .is_none()
        );
        // A keyframe without SPS/PPS anywhere: still waiting.
        let idr = Bytes::from_static(&[0x65, 1]);
        assert!(
            t.accept(&unit(3000, true, vec![idr.clone()]), &format)
                .0
                .is_none()
        );
        // Constrained baseline: no B-frames, DTS = PTS.
        let sps = Bytes::from_static(&[
            0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00,
            0x40, 0x00, 0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
        ]);
        let pps = Bytes::from_static(&[0x68, 0xce]);
        let (au, changed) = t.accept(&unit(6000, true, vec![sps, pps, idr]), &format);
        assert!(changed);
        let au = au.expect("accepted");
        assert_eq!((au.pts, au.dts), (6000, 6000));
        let s = t.samples(au);
        assert_eq!(s.len(), 1);
        assert!(!s[0].non_sync);
        // AVCC: the SPS (22 bytes) first, with its length.
        assert_eq!(&s[0].payload[..4], &[0, 0, 0, 22]);
        let (au, _) = t.accept(&unit(9000, false, vec![p]), &format);
        assert!(t.samples(au.expect("accepted"))[0].non_sync);
    }

    #[test]
    fn reordered_frames_get_increasing_dts_below_pts() {
        let mut d = DtsDeriver::default();
        // I P B B P B B, frame duration 3000, decode order PTS:
        let pts = [0, 9000, 3000, 6000, 18000, 12000, 15000];
        let dts: Vec<i64> = pts.iter().map(|p| d.dts(*p, || 2, false)).collect();
        assert!(dts.windows(2).all(|w| w[0] < w[1]), "{dts:?}");
        assert!(dts.iter().zip(pts).all(|(d, p)| *d <= p), "{dts:?}");
        assert_eq!(&dts[2..], &[0, 3000, 6000, 9000, 12000]);
        // H265 discovers reordering the first time PTS goes back.
        let mut d = DtsDeriver::default();
        let a = d.dts(0, || 0, true);
        let b = d.dts(3000, || 0, true);
        let c = d.dts(1500, || 0, true);
        assert_eq!((a, b), (0, 3000));
        assert!(c >= b);
    }

    #[test]
    fn audio_units_split_into_timed_samples() {
        let format = Format::Mpeg4Audio {
            payload_type: 96,
            config: Bytes::from_static(&[0x11, 0x90]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        };
        let mut t = Track::new(Input::for_fmp4(&format).expect("AAC"), 48_000);
        let (au, _) = t.accept(
            &unit(
                480,
                false,
                vec![Bytes::from_static(&[1]), Bytes::from_static(&[2])],
            ),
            &format,
        );
        let s = t.samples(au.expect("audio needs no keyframe"));
        assert_eq!(s.iter().map(|s| s.dts).collect::<Vec<_>>(), vec![480, 1504]);
        assert_eq!(
            s[1].ntp,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(1024 * 1_000_000_000 / 48_000)
        );
        assert!(Input::for_fmp4(&Format::G722 { payload_type: 9 }).is_none());
        assert!(Input::for_mpegts(&Format::Vp8 { payload_type: 96 }).is_none());
    }

    #[test]
    fn g711_expands_to_linear_pcm() {
        // Silence and the extremes of both laws (ITU-T G.711 tables).
        assert_eq!(ulaw(0xff), 0);
        assert_eq!(ulaw(0x7f), 0);
        assert_eq!(ulaw(0x00), -32124);
        assert_eq!(ulaw(0x80), 32124);
        assert_eq!(alaw(0xd5), 8);
        assert_eq!(alaw(0x55), -8);
        assert_eq!(alaw(0xaa), 32256);
        assert_eq!(&g711_to_lpcm(&[0x80, 0xff], true)[..], &[0x7d, 0x7c, 0, 0]);
    }
}
