//! The FLV derived view of a stream: every unit of the tracks a kind of player gets, as
//! FLV tags, made once per stream by the stream's writer and shared by every RTMP reader
//! (a reader only chunks the shared tag bodies onto its connection).
//!
//! Which tracks a player gets is MediaMTX's choice ([`Selection::for_player`]): a player
//! that announced Enhanced RTMP codecs (`fourCcList`) gets every track it can read; a
//! legacy one the first H264 and the first audio track FLV's legacy header describes.
//! Players with the same choice share one view.
//!
//! Timestamps are milliseconds from the publisher's start: the DTS the publisher gave, or
//! the PTS kept non-decreasing for publishers that give none (RTP); the composition
//! offset is the difference.

use std::collections::BTreeMap;

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;
use ferromtx_core::{Track, Unit, View};

use crate::amf0::Amf0Value;
use crate::flv::av1c::Av1Config;
use crate::flv::{FlvTag, TagStyle};
use crate::media::{Codec, CodecParams, FourCc, Media, MediaKind, TrackConfig};

/// The tags of one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvUnit {
    /// The FLV track id of the unit's track.
    pub flv_track: u8,
    pub kind: MediaKind,
    /// A random-access unit (always true for audio).
    pub keyframe: bool,
    /// For video key frames: the track's configuration as described now (a reader sends
    /// it when it differs from the one it sent last).
    pub config: Option<FlvTag>,
    /// The frame's tags: one per access unit (AAC and Opus are one AU per tag).
    pub tags: Vec<FlvTag>,
}

/// Which stream tracks a player gets, and their FLV track ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selection {
    /// `(stream track index, codec, FLV track id)`, in stream order.
    pub tracks: Vec<(usize, Codec, u8)>,
}

impl Selection {
    /// MediaMTX's choice for a player that announced `fourcc_list` in its `connect`
    /// (empty: a legacy player).
    pub fn for_player(tracks: &[Track], fourcc_list: &[String]) -> Selection {
        let enhanced = !fourcc_list.is_empty();
        let accepts = |code: FourCc| {
            let text = code.as_string();
            fourcc_list.iter().any(|c| *c == text || c == "*")
        };
        let mut chosen = Vec::new();
        let (mut video, mut audio) = (0u8, 0u8);
        for (index, track) in tracks.iter().enumerate() {
            let Some(codec) = Codec::from_format(&track.format) else {
                continue;
            };
            let take = match codec {
                Codec::H264 => enhanced || video == 0,
                Codec::Aac => enhanced || audio == 0,
                Codec::G711 { .. } | Codec::Lpcm { .. } | Codec::Mp3 => audio == 0,
                other => other.fourcc().is_some_and(accepts),
            };
            if !take {
                continue;
            }
            let counter = match codec.kind() {
                MediaKind::Video => &mut video,
                MediaKind::Audio => &mut audio,
            };
            chosen.push((index, codec, *counter));
            *counter = counter.saturating_add(1);
        }
        Selection { tracks: chosen }
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// The codec names of the chosen tracks, for the `is reading from` line.
    pub fn names(&self, tracks: &[Track]) -> Vec<&'static str> {
        self.tracks
            .iter()
            .filter_map(|(i, _, _)| tracks.get(*i).map(|t| t.format.codec_name()))
            .collect()
    }

    /// The `onMetaData` a player is sent first: the codec ids of the first video and
    /// audio track, as MediaMTX sends them.
    pub fn metadata(&self) -> FlvTag {
        let id = |kind: MediaKind| {
            self.tracks
                .iter()
                .find(|(_, c, _)| c.kind() == kind)
                .map_or(0.0, |(_, c, _)| f64::from(codec_id(*c)))
        };
        let object = Amf0Value::object([
            ("videocodecid", Amf0Value::Number(id(MediaKind::Video))),
            ("videodatarate", Amf0Value::Number(0.0)),
            ("audiocodecid", Amf0Value::Number(id(MediaKind::Audio))),
            ("audiodatarate", Amf0Value::Number(0.0)),
        ]);
        FlvTag::script(0, &[Amf0Value::string("onMetaData"), object])
    }

    /// The configuration tags of the chosen tracks known now (H264/H265 with parameter
    /// sets, AAC, Opus, VP8/VP9), at timestamp 0.
    pub fn configs(&self, tracks: &[Track]) -> Vec<(u8, MediaKind, FlvTag)> {
        self.tracks
            .iter()
            .filter_map(|(i, codec, id)| {
                let format = &tracks.get(*i)?.format;
                let tag = config_tag(*id, format, 0)?;
                Some((*id, codec.kind(), tag))
            })
            .collect()
    }
}

/// The legacy codec id, or the Enhanced RTMP FourCC as a number.
fn codec_id(codec: Codec) -> u32 {
    match codec {
        Codec::H264 => 7,
        Codec::Aac => 10,
        Codec::Mp3 => 2,
        Codec::G711 { mu_law: false, .. } => 7,
        Codec::G711 { mu_law: true, .. } => 8,
        Codec::Lpcm { .. } => 3,
        other => other.fourcc().map_or(0, FourCc::as_u32),
    }
}

fn config_tag(flv_track: u8, format: &Format, timestamp_ms: u32) -> Option<FlvTag> {
    let config = TrackConfig::from_format(flv_track, format)?;
    FlvTag::config(&config, timestamp_ms, TagStyle::Classic)
        .ok()
        .flatten()
}

/// An AV1 configuration from the sequence header OBU of a key frame.
fn av1_config_tag(flv_track: u8, parts: &[Bytes], timestamp_ms: u32) -> Option<FlvTag> {
    let header = parts.iter().find(|o| {
        ferromtx_codec::av1::obu_type(o) == Some(ferromtx_codec::av1::OBU_SEQUENCE_HEADER)
    })?;
    let config = TrackConfig {
        track: flv_track,
        params: CodecParams::Av1(Av1Config::from_sequence_header(header).ok()?),
    };
    FlvTag::config(&config, timestamp_ms, TagStyle::Classic)
        .ok()
        .flatten()
}

/// One chosen track's state in the view.
#[derive(Debug)]
struct Target {
    codec: Codec,
    flv_track: u8,
    clock_rate: i64,
    samples_per_au: i64,
    /// Last DTS written, in milliseconds (kept non-decreasing).
    last_dts_ms: Option<i64>,
}

/// The FLV view (see the module documentation). Its key is the [`Selection`].
#[derive(Debug)]
pub struct FlvView {
    targets: BTreeMap<usize, Target>,
}

impl View for FlvView {
    type Key = Selection;
    type Output = FlvUnit;

    fn new(key: &Selection, tracks: &[Track]) -> Self {
        let targets = key
            .tracks
            .iter()
            .filter_map(|(index, codec, flv_track)| {
                let format = &tracks.get(*index)?.format;
                let samples_per_au = match format {
                    Format::Mpeg4Audio { config, .. } => AudioSpecificConfig::parse(config)
                        .map_or(1024, |c| i64::from(c.samples_per_access_unit())),
                    _ => 0,
                };
                Some((
                    *index,
                    Target {
                        codec: *codec,
                        flv_track: *flv_track,
                        clock_rate: i64::from(format.clock_rate().max(1)),
                        samples_per_au,
                        last_dts_ms: None,
                    },
                ))
            })
            .collect();
        FlvView { targets }
    }

    fn transform(&mut self, unit: &Unit, tracks: &[Track]) -> Option<FlvUnit> {
        let target = self.targets.get_mut(&unit.track)?;
        let frame = unit.frame.as_ref()?;
        if frame.is_empty() {
            return None;
        }
        let clock = target.clock_rate;
        let to_ms = |t: i64| t.saturating_mul(1000).div_euclid(clock);
        let pts_ms = to_ms(unit.pts);
        let mut dts_ms = unit.dts.map_or(pts_ms, to_ms);
        if let Some(last) = target.last_dts_ms {
            dts_ms = dts_ms.max(last);
        }
        target.last_dts_ms = Some(dts_ms);
        let kind = target.codec.kind();
        let media = |timestamp_ms: i64, composition_ms: i64, parts: Vec<Bytes>| Media {
            track: target.flv_track,
            codec: target.codec,
            timestamp_ms: timestamp_ms as u32,
            composition_ms: composition_ms.clamp(-0x80_0000, 0x7f_ffff) as i32,
            keyframe: unit.random_access,
            parts,
        };
        let mut tags = Vec::with_capacity(frame.parts.len().max(1));
        match target.codec {
            Codec::Aac => {
                for (i, au) in frame.parts.iter().enumerate() {
                    let pts = unit.pts + i as i64 * target.samples_per_au;
                    let m = media(to_ms(pts), 0, vec![au.clone()]);
                    tags.push(FlvTag::frame(&m, TagStyle::Classic).ok()?);
                }
            }
            Codec::Opus => {
                let mut pts = unit.pts;
                for packet in &frame.parts {
                    let m = media(to_ms(pts), 0, vec![packet.clone()]);
                    tags.push(FlvTag::frame(&m, TagStyle::Classic).ok()?);
                    pts += i64::from(ferromtx_codec::opus::packet_duration(packet).unwrap_or(960));
                }
            }
            _ => {
                let m = media(dts_ms, pts_ms - dts_ms, frame.parts.clone());
                tags.push(FlvTag::frame(&m, TagStyle::Classic).ok()?);
            }
        }
        let config = if kind == MediaKind::Video && unit.random_access {
            let at = dts_ms as u32;
            match target.codec {
                Codec::Av1 => av1_config_tag(target.flv_track, &frame.parts, at),
                _ => tracks
                    .get(unit.track)
                    .and_then(|t| config_tag(target.flv_track, &t.format, at)),
            }
        } else {
            None
        };
        Some(FlvUnit {
            flv_track: target.flv_track,
            kind,
            keyframe: unit.random_access,
            config,
            tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromtx_codec::Frame;
    use ferromtx_core::Stream;

    fn h264() -> Format {
        Format::H264 {
            payload_type: 96,
            sps: Some(Bytes::from_static(&[
                0x67, 0x42, 0xc0, 0x1e, 0x8c, 0x8d, 0x40, 0x50, 0x1e, 0x90,
            ])),
            pps: Some(Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80])),
            packetization_mode: 1,
        }
    }

    fn aac() -> Format {
        Format::Mpeg4Audio {
            payload_type: 96,
            config: Bytes::from_static(&[0x11, 0x90]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        }
    }

    fn tracks(formats: Vec<Format>) -> Vec<Track> {
        formats.into_iter().map(|format| Track { format }).collect()
    }

    #[test]
    fn legacy_players_get_the_first_h264_and_aac_enhanced_ones_what_they_list() {
        let t = tracks(vec![
            Format::H265 {
                payload_type: 96,
                vps: None,
                sps: None,
                pps: None,
            },
            h264(),
            h264(),
            aac(),
            Format::Opus {
                payload_type: 97,
                channels: 2,
            },
        ]);
        let legacy = Selection::for_player(&t, &[]);
        assert_eq!(legacy.tracks, vec![(1, Codec::H264, 0), (3, Codec::Aac, 0)]);
        assert_eq!(legacy.names(&t), vec!["H264", "MPEG-4 Audio"]);
        let list = vec!["hvc1".to_owned(), "Opus".to_owned()];
        let enhanced = Selection::for_player(&t, &list);
        assert_eq!(
            enhanced.tracks,
            vec![
                (0, Codec::H265, 0),
                (1, Codec::H264, 1),
                (2, Codec::H264, 2),
                (3, Codec::Aac, 0),
                (4, Codec::Opus, 1)
            ]
        );
        assert!(
            Selection::for_player(&tracks(vec![Format::G722 { payload_type: 9 }]), &[]).is_empty()
        );
    }

    #[test]
    fn units_become_shared_tags_with_configs_on_key_frames() {
        let t = tracks(vec![h264(), aac()]);
        let selection = Selection::for_player(&t, &[]);
        let stream = Stream::new("t", t.clone(), 16);
        let view = stream.view::<FlvView>(selection.clone());
        let mut reader = stream.reader();
        let write = |track, pts, dts, key, parts: Vec<Bytes>| {
            stream
                .write(Unit {
                    track,
                    pts,
                    dts,
                    frame: Some(Frame {
                        rtp_timestamp: 0,
                        random_access: key,
                        parts,
                    }),
                    random_access: key,
                    ..Unit::default()
                })
                .expect("write");
        };
        write(
            0,
            90_000 + 7200,
            Some(90_000),
            true,
            vec![Bytes::from_static(&[0x65, 0x88])],
        );
        write(
            0,
            93_600,
            None,
            false,
            vec![Bytes::from_static(&[0x41, 0x9a])],
        );
        write(
            1,
            48_000,
            None,
            true,
            vec![Bytes::from_static(&[0x21]), Bytes::from_static(&[0x22])],
        );
        let now = tokio::time::Instant::now();
        let mut outs = Vec::new();
        while let ferromtx_core::TryNext::Unit(u) = reader.try_next(now) {
            outs.push(u.view(&view).cloned().expect("a view output"));
        }
        assert_eq!(outs.len(), 3);
        let key = &outs[0];
        assert!(key.keyframe && key.config.is_some());
        assert_eq!(key.tags[0].timestamp_ms, 1000);
        // Legacy AVC video packet: key frame, NALU, composition time 80 ms.
        assert_eq!(&key.tags[0].body[..5], &[0x17, 0x01, 0x00, 0x00, 0x50]);
        // Without a DTS, the PTS (1040 ms) is kept, composition 0.
        assert_eq!(outs[1].tags[0].timestamp_ms, 1040);
        assert_eq!(&outs[1].tags[0].body[..5], &[0x27, 0x01, 0x00, 0x00, 0x00]);
        assert!(outs[1].config.is_none());
        // Two AAC access units: two tags, 1024 samples apart (21 ms at 48 kHz).
        let audio: Vec<u32> = outs[2].tags.iter().map(|t| t.timestamp_ms).collect();
        assert_eq!(audio, vec![1000, 1021]);
        assert_eq!(&outs[2].tags[0].body[..2], &[0xaf, 0x01]);
    }

    #[test]
    fn metadata_names_the_first_codecs() {
        let t = tracks(vec![h264(), aac()]);
        let tag = Selection::for_player(&t, &[]).metadata();
        let values = crate::amf0::decode_all(&tag.body).expect("amf0");
        assert_eq!(values[0], Amf0Value::string("onMetaData"));
        assert_eq!(values[1].get("videocodecid"), Some(&Amf0Value::Number(7.0)));
        assert_eq!(
            values[1].get("audiocodecid"),
            Some(&Amf0Value::Number(10.0))
        );
    }
}
