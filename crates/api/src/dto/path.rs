//! Paths, their tracks, readers, forward destinations and recordings.

use serde::{Deserialize, Serialize};

use super::CodecProps;
use super::kinds::{
    ForwardDestProtocol, ForwardDestState, PathReaderType, PathSourceType, PathTrackCodec,
};

/// `Path` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Path {
    pub available: bool,
    pub available_time: Option<String>,
    /// Deprecated.
    pub bytes_received: u64,
    /// Deprecated.
    pub bytes_sent: u64,
    pub conf_name: String,
    pub inbound_bytes: u64,
    pub inbound_frames_in_error: u64,
    pub name: String,
    pub online: bool,
    pub online_time: Option<String>,
    pub outbound_bytes: u64,
    pub readers: Vec<PathReader>,
    /// Deprecated.
    pub ready: bool,
    /// Deprecated.
    pub ready_time: Option<String>,
    pub source: Option<PathSource>,
    /// Deprecated.
    pub tracks: Vec<PathTrackCodec>,
    pub tracks2: Vec<PathTrack>,
}

/// `PathReader` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathReader {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PathReaderType,
}

/// `PathSource` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathSource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PathSourceType,
}

/// `PathTrack` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrack {
    pub codec: PathTrackCodec,
    pub codec_props: Option<CodecProps>,
}

/// `PathConfForwardDest` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathConfForwardDest {
    pub dest: String,
    pub dest_fingerprint: String,
    pub whip_bearer_token: String,
}

/// `ForwardDest` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardDest {
    pub conf: PathConfForwardDest,
    pub created: String,
    pub id: String,
    pub last_error: String,
    pub outbound_bytes: u64,
    pub pos: i64,
    pub protocol: ForwardDestProtocol,
    pub state: ForwardDestState,
}

/// `Recording` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub name: String,
    pub segments: Vec<RecordingSegment>,
}

/// `RecordingSegment` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingSegment {
    pub start: String,
}

/// `PathTrackCodecPropsAC3` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsAC3 {
    pub channel_count: i64,
    pub sample_rate: i64,
}

/// `PathTrackCodecPropsAV1` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsAV1 {
    pub height: i64,
    pub level: i64,
    pub profile: i64,
    pub tier: i64,
    pub width: i64,
}

/// `PathTrackCodecPropsG711` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsG711 {
    pub channel_count: i64,
    pub mu_law: bool,
    pub sample_rate: i64,
}

/// `PathTrackCodecPropsH264` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsH264 {
    pub height: i64,
    pub level: String,
    pub profile: String,
    pub width: i64,
}

/// `PathTrackCodecPropsH265` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsH265 {
    pub height: i64,
    pub level: String,
    pub profile: String,
    pub width: i64,
}

/// `PathTrackCodecPropsLPCM` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsLPCM {
    pub bit_depth: i64,
    pub channel_count: i64,
    pub sample_rate: i64,
}

/// `PathTrackCodecPropsMPEG4Audio` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsMPEG4Audio {
    pub channel_count: i64,
    pub sample_rate: i64,
}

/// `PathTrackCodecPropsOpus` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsOpus {
    pub channel_count: i64,
}

/// `PathTrackCodecPropsVP9` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathTrackCodecPropsVP9 {
    pub profile: i64,
}
