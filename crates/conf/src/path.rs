//! Path configuration (`pathDefaults` and the entries of `paths`).

use crate::auth::IpNetwork;
use crate::forward::{AlwaysAvailableTrack, ForwardDest};
use crate::node::{Entry, Node, Value};
use crate::protocol::{MoqTransport, RecordFormat, RtspRangeType, RtspTransport};
use crate::schema::conf_object;
use crate::size::ByteSize;
use crate::{ConfError, field_error};
use regex::Regex;
use serde_json::Value as Json;
use std::time::Duration;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A compiled path regular expression, compared by its source text.
#[derive(Clone, Debug)]
pub struct PathRegex(pub Regex);

impl PartialEq for PathRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

conf_object! {
    /// The configuration of a path. `name` is the key as written (`cam1`,
    /// `~^cam(\d+)$`, `all_others`, `all`); `pathDefaults` has an empty name.
    #[derive(Clone, Debug, PartialEq)]
    pub struct PathConf {
        @extra pub name: String = String::new();
        @extra pub(crate) regex: Option<PathRegex> = None;
        @extra
        /// What the file, environment and API set for this path, applied on
        /// top of `pathDefaults` every time the configuration is validated.
        pub(crate) overrides: Vec<Entry> = Vec::new();

        // General
        source: String = "source" => "publisher".into(),
        source_fingerprint: String = "sourceFingerprint" => String::new(),
        source_on_demand: bool = "sourceOnDemand" => false,
        source_on_demand_start_timeout: Duration = "sourceOnDemandStartTimeout" => secs(10),
        source_on_demand_close_after: Duration = "sourceOnDemandCloseAfter" => secs(10),
        max_readers: i64 = "maxReaders" => 0,
        srt_read_passphrase: String = "srtReadPassphrase" => String::new(),
        /// Deprecated: replaced by `alwaysAvailable`.
        fallback: Option<String> = "fallback" => None,
        use_absolute_timestamp: bool = "useAbsoluteTimestamp" => false,

        // Always available
        always_available: bool = "alwaysAvailable" => false,
        always_available_tracks: Vec<AlwaysAvailableTrack> = "alwaysAvailableTracks" => Vec::new(),
        always_available_file: String = "alwaysAvailableFile" => String::new(),

        // Forward
        forward: Vec<ForwardDest> = "forward" => Vec::new(),

        // Record
        record: bool = "record" => false,
        /// Deprecated, no effect.
        playback: Option<bool> = "playback" => None,
        record_path: String = "recordPath" => "./recordings/%path/%Y-%m-%d_%H-%M-%S-%f".into(),
        record_format: RecordFormat = "recordFormat" => RecordFormat::Fmp4,
        record_part_duration: Duration = "recordPartDuration" => secs(1),
        record_max_part_size: u64 = "recordMaxPartSize" via ByteSize => 50 * 1024 * 1024,
        record_segment_duration: Duration = "recordSegmentDuration" => secs(3600),
        record_delete_after: Duration = "recordDeleteAfter" => secs(86_400),

        // Authentication (deprecated, converted into authInternalUsers)
        publish_user: Option<String> = "publishUser" => None,
        publish_pass: Option<String> = "publishPass" => None,
        publish_ips: Option<Vec<IpNetwork>> = "publishIPs" => None,
        read_user: Option<String> = "readUser" => None,
        read_pass: Option<String> = "readPass" => None,
        read_ips: Option<Vec<IpNetwork>> = "readIPs" => None,

        // Publisher source
        override_publisher: bool = "overridePublisher" => true,
        disable_publisher_override: Option<bool> = "disablePublisherOverride" => None,
        srt_publish_passphrase: String = "srtPublishPassphrase" => String::new(),
        rtsp_demux_mpegts: bool = "rtspDemuxMpegts" => false,

        // RTSP source
        rtsp_transport: RtspTransport = "rtspTransport" => RtspTransport::Automatic,
        rtsp_any_port: bool = "rtspAnyPort" => false,
        source_protocol: Option<RtspTransport> = "sourceProtocol" => None,
        source_any_port_enable: Option<bool> = "sourceAnyPortEnable" => None,
        rtsp_range_type: RtspRangeType = "rtspRangeType" => RtspRangeType::Undefined,
        rtsp_range_start: String = "rtspRangeStart" => String::new(),
        rtsp_scale: String = "rtspScale" => String::new(),
        rtsp_udp_read_buffer_size: Option<u64> = "rtspUDPReadBufferSize" => None,
        rtsp_udp_source_port_range: Vec<u32> = "rtspUDPSourcePortRange" => vec![32768, 60999],

        // MPEG-TS source
        mpegts_udp_read_buffer_size: Option<u64> = "mpegtsUDPReadBufferSize" => None,

        // RTP source
        rtp_sdp: String = "rtpSDP" => String::new(),
        rtp_udp_read_buffer_size: Option<u64> = "rtpUDPReadBufferSize" => None,

        // MoQ source
        moq_transport: MoqTransport = "moqTransport" => MoqTransport::Quic,

        // WHEP source
        whep_bearer_token: String = "whepBearerToken" => String::new(),
        whep_stun_gather_timeout: Duration = "whepSTUNGatherTimeout" => secs(5),
        whep_handshake_timeout: Duration = "whepHandshakeTimeout" => secs(10),
        whep_track_gather_timeout: Duration = "whepTrackGatherTimeout" => secs(2),

        // Redirect source
        source_redirect: String = "sourceRedirect" => String::new(),

        // Raspberry Pi Camera source
        rpi_camera_cam_id: u32 = "rpiCameraCamID" => 0,
        rpi_camera_secondary: bool = "rpiCameraSecondary" => false,
        rpi_camera_width: u32 = "rpiCameraWidth" => 1920,
        rpi_camera_height: u32 = "rpiCameraHeight" => 1080,
        rpi_camera_h_flip: bool = "rpiCameraHFlip" => false,
        rpi_camera_v_flip: bool = "rpiCameraVFlip" => false,
        rpi_camera_brightness: f64 = "rpiCameraBrightness" => 0.0,
        rpi_camera_contrast: f64 = "rpiCameraContrast" => 1.0,
        rpi_camera_saturation: f64 = "rpiCameraSaturation" => 1.0,
        rpi_camera_sharpness: f64 = "rpiCameraSharpness" => 1.0,
        rpi_camera_exposure: String = "rpiCameraExposure" => "normal".into(),
        rpi_camera_awb: String = "rpiCameraAWB" => "auto".into(),
        rpi_camera_awb_gains: Vec<f64> = "rpiCameraAWBGains" => vec![0.0, 0.0],
        rpi_camera_denoise: String = "rpiCameraDenoise" => "off".into(),
        rpi_camera_shutter: u32 = "rpiCameraShutter" => 0,
        rpi_camera_metering: String = "rpiCameraMetering" => "centre".into(),
        rpi_camera_gain: f64 = "rpiCameraGain" => 0.0,
        rpi_camera_ev: f64 = "rpiCameraEV" => 0.0,
        rpi_camera_roi: String = "rpiCameraROI" => String::new(),
        rpi_camera_hdr: bool = "rpiCameraHDR" => false,
        rpi_camera_tuning_file: String = "rpiCameraTuningFile" => String::new(),
        rpi_camera_mode: String = "rpiCameraMode" => String::new(),
        rpi_camera_fps: f64 = "rpiCameraFPS" => 30.0,
        rpi_camera_af_mode: String = "rpiCameraAfMode" => "continuous".into(),
        rpi_camera_af_range: String = "rpiCameraAfRange" => "normal".into(),
        rpi_camera_af_speed: String = "rpiCameraAfSpeed" => "normal".into(),
        rpi_camera_lens_position: f64 = "rpiCameraLensPosition" => 0.0,
        rpi_camera_af_window: String = "rpiCameraAfWindow" => String::new(),
        rpi_camera_flicker_period: u32 = "rpiCameraFlickerPeriod" => 0,
        rpi_camera_text_overlay_enable: bool = "rpiCameraTextOverlayEnable" => false,
        rpi_camera_text_overlay: String = "rpiCameraTextOverlay" => "%Y-%m-%d %H:%M:%S - MediaMTX".into(),
        rpi_camera_codec: String = "rpiCameraCodec" => "auto".into(),
        rpi_camera_idr_period: u32 = "rpiCameraIDRPeriod" => 60,
        rpi_camera_bitrate: u32 = "rpiCameraBitrate" => 5_000_000,
        rpi_camera_profile: Option<String> = "rpiCameraProfile" => None,
        rpi_camera_level: Option<String> = "rpiCameraLevel" => None,
        rpi_camera_hardware_h264_profile: Option<String> = "rpiCameraHardwareH264Profile" => None,
        rpi_camera_hardware_h264_level: Option<String> = "rpiCameraHardwareH264Level" => None,
        rpi_camera_software_h264_profile: Option<String> = "rpiCameraSoftwareH264Profile" => None,
        rpi_camera_software_h264_level: Option<String> = "rpiCameraSoftwareH264Level" => None,
        rpi_camera_h264_profile: String = "rpiCameraH264Profile" => "auto".into(),
        rpi_camera_h264_level: String = "rpiCameraH264Level" => "4.1".into(),
        rpi_camera_jpeg_quality: Option<u32> = "rpiCameraJPEGQuality" => None,
        rpi_camera_mjpeg_quality: u32 = "rpiCameraMJPEGQuality" => 60,

        // Hooks
        run_on_init: String = "runOnInit" => String::new(),
        run_on_init_restart: bool = "runOnInitRestart" => false,
        run_on_demand: String = "runOnDemand" => String::new(),
        run_on_demand_restart: bool = "runOnDemandRestart" => false,
        run_on_demand_start_timeout: Duration = "runOnDemandStartTimeout" => secs(10),
        run_on_demand_close_after: Duration = "runOnDemandCloseAfter" => secs(10),
        run_on_un_demand: String = "runOnUnDemand" => String::new(),
        run_on_available: String = "runOnAvailable" => String::new(),
        run_on_available_restart: bool = "runOnAvailableRestart" => false,
        run_on_unavailable: String = "runOnUnavailable" => String::new(),
        run_on_ready: Option<String> = "runOnReady" => None,
        run_on_ready_restart: Option<bool> = "runOnReadyRestart" => None,
        run_on_not_ready: Option<String> = "runOnNotReady" => None,
        run_on_online: String = "runOnOnline" => String::new(),
        run_on_online_restart: bool = "runOnOnlineRestart" => false,
        run_on_offline: String = "runOnOffline" => String::new(),
        run_on_read: String = "runOnRead" => String::new(),
        run_on_read_restart: bool = "runOnReadRestart" => false,
        run_on_unread: String = "runOnUnread" => String::new(),
        run_on_record_segment_create: String = "runOnRecordSegmentCreate" => String::new(),
        run_on_record_segment_complete: String = "runOnRecordSegmentComplete" => String::new(),
    }
}

impl PathConf {
    /// Whether the name is a regular expression (`~...`, `all`, `all_others`).
    pub fn is_regex(&self) -> bool {
        self.regex.is_some()
    }

    /// The compiled expression of a regex path.
    pub fn regex(&self) -> Option<&Regex> {
        self.regex.as_ref().map(|r| &r.0)
    }

    /// Whether the source is pulled by the server (not `publisher`/`redirect`).
    pub fn has_static_source(&self) -> bool {
        self.source != "publisher" && self.source != "redirect"
    }

    pub fn has_on_demand_static_source(&self) -> bool {
        self.has_static_source() && self.source_on_demand
    }

    pub fn has_on_demand_publisher(&self) -> bool {
        !self.run_on_demand.is_empty()
    }

    /// The path as `/v3/config/paths/get` returns it (openapi `PathConf`).
    pub fn to_json(&self) -> Json {
        let mut map = serde_json::Map::new();
        map.insert("name".into(), Json::String(self.name.clone()));
        self.write_json(&mut map);
        Json::Object(map)
    }

    /// A path built from `defaults` and the keys of `value` (API add/replace).
    pub fn from_json(name: &str, defaults: &PathConf, value: &Json) -> Result<PathConf, ConfError> {
        let mut p = defaults.clone();
        p.name = name.to_string();
        p.regex = None;
        p.overrides = Vec::new();
        p.add_overrides(&Node::from_json(value))?;
        Ok(p)
    }

    /// Change only the keys given in `patch`; unknown keys or wrong types
    /// are errors and leave the path unchanged.
    pub fn patch(&mut self, patch: &Json) -> Result<(), ConfError> {
        let mut next = self.clone();
        next.add_overrides(&Node::from_json(patch))?;
        *self = next;
        Ok(())
    }

    /// Apply a map node and remember its entries as overrides.
    pub(crate) fn add_overrides(&mut self, node: &Node) -> Result<(), ConfError> {
        let prefix = self.key_prefix();
        let entries = match &node.value {
            Value::Null => return Ok(()),
            Value::Map(entries) => entries,
            _ => {
                return Err(ConfError::InvalidValue {
                    key: prefix.trim_end_matches('.').to_string(),
                    message: format!("expected a map, got {}", node.kind()),
                    line: node.line,
                });
            }
        };
        for e in entries {
            if e.node.value == Value::Null && e.line == 0 {
                // JSON null in a patch: no change.
                continue;
            }
            match self.apply_key(&e.key, &e.node) {
                None => {
                    return Err(ConfError::UnknownKey {
                        key: format!("{prefix}{}", e.key),
                        line: e.line,
                    });
                }
                Some(Err(err)) => {
                    return Err(field_error(&format!("{prefix}{}", e.key), e.line, err));
                }
                Some(Ok(())) => {
                    if !self.name.is_empty() {
                        self.overrides.push(e.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Rebuild from new defaults, keeping name and overrides.
    pub(crate) fn rebase(&self, defaults: &PathConf) -> Result<PathConf, ConfError> {
        let mut p = defaults.clone();
        p.name = self.name.clone();
        p.regex = None;
        p.overrides = Vec::new();
        p.add_overrides(&Node::new(Value::Map(self.overrides.clone())))?;
        Ok(p)
    }

    fn key_prefix(&self) -> String {
        if self.name.is_empty() {
            "pathDefaults.".to_string()
        } else {
            format!("paths.{}.", self.name)
        }
    }
}
