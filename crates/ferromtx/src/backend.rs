//! What the control plane (`/v3`, metrics) sees of the running server: the
//! [`ferromtx_api::Backend`] implementation over the path manager, the configuration in
//! force and the running components' sessions.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Local, Utc};
use ferromtx_api::component::BoxFuture;
use ferromtx_api::{Backend, Failure, Registry, Sessions, dto};
use ferromtx_auth::Manager as AuthManager;
use ferromtx_codec::Format;
use ferromtx_conf::Conf;
use ferromtx_core::PathManager;
use ferromtx_core::path::PathInfo;
use ferromtx_record::store;
use tokio::sync::{mpsc, oneshot, watch};

/// A configuration change asked through the API, and who waits for it to be in force.
pub type ConfChange = (Arc<Conf>, oneshot::Sender<()>);

pub struct ServerBackend {
    /// The configuration in force, owned by the main loop.
    conf: watch::Receiver<Arc<Conf>>,
    /// Changes asked through the API, applied by the main loop like any reload.
    changes: mpsc::Sender<ConfChange>,
    auth: Arc<AuthManager>,
    paths: Arc<PathManager>,
    registry: Arc<Registry>,
    started: DateTime<Utc>,
}

impl ServerBackend {
    pub fn new(
        conf: watch::Receiver<Arc<Conf>>,
        changes: mpsc::Sender<ConfChange>,
        auth: Arc<AuthManager>,
        paths: Arc<PathManager>,
        registry: Arc<Registry>,
    ) -> ServerBackend {
        ServerBackend {
            conf,
            changes,
            auth,
            paths,
            registry,
            started: Utc::now(),
        }
    }
}

impl Backend for ServerBackend {
    fn conf(&self) -> Arc<Conf> {
        Arc::clone(&self.conf.borrow())
    }

    /// Hands the configuration to the main loop, which applies it as it applies a file
    /// reload, and answers once it is in force (paths, authentication, listeners).
    fn apply_conf(&self, conf: Conf) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let (done, applied) = oneshot::channel();
            self.changes
                .send((Arc::new(conf), done))
                .await
                .map_err(|_| "server is shutting down".to_string())?;
            applied
                .await
                .map_err(|_| "server is shutting down".to_string())
        })
    }

    fn auth(&self) -> Arc<AuthManager> {
        self.auth.clone()
    }

    fn info(&self) -> dto::Info {
        dto::Info {
            started: dto::timestamp(self.started),
            version: crate::version::api(),
        }
    }

    fn sessions(&self) -> Vec<Arc<dyn Sessions>> {
        self.registry.all()
    }

    fn paths(&self) -> Vec<dto::Path> {
        self.paths.paths_info().iter().map(path_dto).collect()
    }

    fn recordings(&self) -> Vec<dto::Recording> {
        let conf = self.conf();
        store::off_runtime(|| {
            store::paths_with_segments(&conf)
                .iter()
                .map(|name| recording_dto(&conf, name))
                .collect()
        })
    }

    fn recording(&self, name: &str) -> Result<dto::Recording, Failure> {
        let conf = self.conf();
        conf.find_path_conf(name)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        Ok(store::off_runtime(|| recording_dto(&conf, name)))
    }

    fn delete_recording_segment(&self, path: &str, start: DateTime<Utc>) -> Result<(), Failure> {
        let conf = self.conf();
        // Segment names are written in the server's zone.
        let start = start.with_timezone(&Local).fixed_offset();
        store::off_runtime(|| store::delete_segment(&conf, path, start)).map_err(Failure::Invalid)
    }
}

/// The segments of one path (none when its directory can't be read), as `/v3/recordings`
/// shows them.
fn recording_dto(conf: &Conf, name: &str) -> dto::Recording {
    let segments = conf
        .find_path_conf(name)
        .ok()
        .and_then(|m| store::find_segments(m.conf, name, None, None).ok())
        .unwrap_or_default();
    dto::Recording {
        name: name.to_owned(),
        segments: segments
            .iter()
            .map(|s| dto::RecordingSegment {
                start: store::go_time(&s.start),
            })
            .collect(),
    }
}

fn time(t: Option<SystemTime>) -> Option<String> {
    t.map(|t| dto::timestamp(DateTime::<Utc>::from(t)))
}

/// A string kind (`rtspSession`, `webRTCSession`...) as the spec's enum; unknown kinds
/// (none today) fall back to the enum's default rather than failing the whole list.
fn kind<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or_default()
}

/// A track's `codecProps` as MediaMTX fills them: sizes, profile and level from the
/// H264/H265 SPS (zeros and empty strings when there is none or it does not parse), audio
/// parameters from the format; AV1 and VP9 carry profile fields this server does not keep
/// (zeros); codecs without a property set (VP8, G722, MPEG-1 audio, generic) get none.
fn codec_props(f: &Format) -> Option<dto::CodecProps> {
    use ferromtx_codec::{h264, h265, mpeg4audio::AudioSpecificConfig};
    let props = match f {
        Format::H264 { sps, .. } => {
            let mut p = dto::PathTrackCodecPropsH264::default();
            if let Some(s) = sps.as_deref().and_then(|s| h264::sps::Sps::parse(s).ok()) {
                p.width = i64::from(s.width);
                p.height = i64::from(s.height);
                p.profile = h264_profile(s.profile_idc);
                p.level = h264_level(s.level_idc);
            }
            dto::CodecProps::H264(p)
        }
        Format::H265 { sps, .. } => {
            let mut p = dto::PathTrackCodecPropsH265::default();
            if let Some(s) = sps.as_deref().and_then(|s| h265::sps::Sps::parse(s).ok()) {
                p.width = i64::from(s.width);
                p.height = i64::from(s.height);
                p.profile = h265_profile(s.general_profile_idc);
                p.level = h265_level(s.general_level_idc);
            }
            dto::CodecProps::H265(p)
        }
        Format::Av1 { .. } => dto::CodecProps::AV1(Default::default()),
        Format::Vp9 { .. } => dto::CodecProps::VP9(Default::default()),
        Format::Opus { channels, .. } => dto::CodecProps::Opus(dto::PathTrackCodecPropsOpus {
            channel_count: i64::from(*channels),
        }),
        Format::Mpeg4Audio { config, .. } => {
            let mut p = dto::PathTrackCodecPropsMPEG4Audio::default();
            if let Ok(c) = AudioSpecificConfig::parse(config) {
                p.sample_rate = i64::from(c.sample_rate);
                // MediaMTX reports the channelConfiguration field: 7 for 8 channels.
                p.channel_count = i64::from(if c.channel_count == 8 {
                    7
                } else {
                    c.channel_count
                });
            }
            dto::CodecProps::MPEG4Audio(p)
        }
        Format::G711 {
            mu_law,
            sample_rate,
            channels,
            ..
        } => dto::CodecProps::G711(dto::PathTrackCodecPropsG711 {
            mu_law: *mu_law,
            sample_rate: i64::from(*sample_rate),
            channel_count: i64::from(*channels),
        }),
        Format::Lpcm {
            bit_depth,
            sample_rate,
            channels,
            ..
        } => dto::CodecProps::LPCM(dto::PathTrackCodecPropsLPCM {
            bit_depth: i64::from(*bit_depth),
            sample_rate: i64::from(*sample_rate),
            channel_count: i64::from(*channels),
        }),
        Format::Vp8 { .. } | Format::G722 { .. } | Format::Generic { .. } => return None,
    };
    Some(props)
}

/// H264 `profile_idc` as MediaMTX names it (the number for profiles it does not name).
fn h264_profile(idc: u8) -> String {
    let name = match idc {
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 => "High 10",
        122 => "High 4:2:2",
        244 => "High 4:4:4 Predictive",
        other => return other.to_string(),
    };
    name.to_owned()
}

/// H264 `level_idc` (ten times the level): `31` is "3.1", `30` is "3".
fn h264_level(idc: u8) -> String {
    match idc % 10 {
        0 => (idc / 10).to_string(),
        minor => format!("{}.{minor}", idc / 10),
    }
}

/// H265 `general_profile_idc` as MediaMTX names it.
fn h265_profile(idc: u8) -> String {
    let name = match idc {
        1 => "Main",
        2 => "Main 10",
        3 => "Main Still Picture",
        4 => "Range Extensions",
        5 => "High Throughput",
        6 => "Multiview Main",
        7 => "Scalable Main",
        8 => "3D Main",
        9 => "Screen Content Coding Extensions",
        10 => "Scalable Range Extensions",
        other => return other.to_string(),
    };
    name.to_owned()
}

/// H265 `general_level_idc` (thirty times the level): `90` is "3", `123` is "4.1".
fn h265_level(idc: u8) -> String {
    let level = f64::from(idc) / 30.0;
    if idc.is_multiple_of(30) {
        format!("{level:.0}")
    } else {
        format!("{level:.1}")
    }
}

pub fn path_dto(p: &PathInfo) -> dto::Path {
    let tracks2: Vec<dto::PathTrack> = p
        .tracks
        .iter()
        .filter_map(|t| {
            let name = serde_json::Value::String(t.format.codec_name().to_owned());
            let codec = serde_json::from_value(name).ok()?;
            Some(dto::PathTrack {
                codec,
                codec_props: codec_props(&t.format),
            })
        })
        .collect();
    dto::Path {
        name: p.name.clone(),
        conf_name: p.conf_name.clone(),
        source: p.source.as_ref().map(|s| dto::PathSource {
            id: s.id.clone(),
            kind: kind(&s.kind),
        }),
        ready: p.ready,
        ready_time: time(p.ready_time),
        available: p.available,
        available_time: time(p.available_time),
        online: p.online,
        online_time: time(p.online_time),
        tracks: tracks2.iter().map(|t| t.codec).collect(),
        tracks2,
        inbound_bytes: p.inbound_bytes,
        inbound_frames_in_error: 0,
        outbound_bytes: p.outbound_bytes,
        bytes_received: p.inbound_bytes,
        bytes_sent: p.outbound_bytes,
        readers: p
            .readers
            .iter()
            .map(|r| dto::PathReader {
                id: r.id.clone(),
                kind: kind(&r.kind),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn codec_props_as_mediamtx_reports_them() {
        // x264's SPS for 320x240, Constrained Baseline, level 1.3.
        let sps = Bytes::from_static(&[
            0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00,
            0x40, 0x00, 0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
        ]);
        let h264 = |sps| Format::H264 {
            payload_type: 96,
            sps,
            pps: None,
            packetization_mode: 1,
        };
        let v = serde_json::to_value(codec_props(&h264(Some(sps)))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"width": 320, "height": 240, "profile": "Baseline", "level": "1.3"})
        );
        // No SPS yet: the property set with zeros, as MediaMTX.
        let v = serde_json::to_value(codec_props(&h264(None))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"width": 0, "height": 0, "profile": "", "level": ""})
        );
        let opus = Format::Opus {
            payload_type: 97,
            channels: 2,
        };
        assert_eq!(
            serde_json::to_value(codec_props(&opus)).unwrap(),
            serde_json::json!({"channelCount": 2})
        );
        // AAC-LC 48 kHz stereo (AudioSpecificConfig 0x1190).
        let aac = Format::Mpeg4Audio {
            payload_type: 96,
            config: Bytes::from_static(&[0x11, 0x90]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        };
        assert_eq!(
            serde_json::to_value(codec_props(&aac)).unwrap(),
            serde_json::json!({"sampleRate": 48000, "channelCount": 2})
        );
        assert_eq!(codec_props(&Format::Vp8 { payload_type: 96 }), None);
    }

    #[test]
    fn levels_and_profiles_are_named_as_mediamtx_names_them() {
        assert_eq!(h264_level(30), "3");
        assert_eq!(h264_level(31), "3.1");
        assert_eq!(h264_profile(100), "High");
        assert_eq!(h264_profile(44), "44");
        assert_eq!(h265_level(90), "3");
        assert_eq!(h265_level(123), "4.1");
        assert_eq!(h265_profile(2), "Main 10");
    }
}
