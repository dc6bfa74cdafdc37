//! Enumerations of the `/v3` schema (`*State`, `*Type`, codecs, ...).

use serde::{Deserialize, Serialize};

/// `AuthAction` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthAction {
    #[default]
    #[serde(rename = "publish")]
    Publish,
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "playback")]
    Playback,
    #[serde(rename = "api")]
    Api,
    #[serde(rename = "metrics")]
    Metrics,
    #[serde(rename = "pprof")]
    Pprof,
}

impl AuthAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Read => "read",
            Self::Playback => "playback",
            Self::Api => "api",
            Self::Metrics => "metrics",
            Self::Pprof => "pprof",
        }
    }
}

/// `MoQSessionState` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MoQSessionState {
    #[default]
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "publish")]
    Publish,
}

impl MoQSessionState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Read => "read",
            Self::Publish => "publish",
        }
    }
}

/// `MoQVersion` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MoQVersion {
    #[default]
    #[serde(rename = "moqt-16")]
    Moqt16,
    #[serde(rename = "moqt-17")]
    Moqt17,
    #[serde(rename = "moqt-18")]
    Moqt18,
    #[serde(rename = "moqt-19")]
    Moqt19,
}

impl MoQVersion {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moqt16 => "moqt-16",
            Self::Moqt17 => "moqt-17",
            Self::Moqt18 => "moqt-18",
            Self::Moqt19 => "moqt-19",
        }
    }
}

/// `PathReaderType` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathReaderType {
    #[default]
    #[serde(rename = "hlsSession")]
    HlsSession,
    #[serde(rename = "rtmpConn")]
    RtmpConn,
    #[serde(rename = "rtmpsConn")]
    RtmpsConn,
    #[serde(rename = "rtspConn")]
    RtspConn,
    #[serde(rename = "rtspSession")]
    RtspSession,
    #[serde(rename = "rtspsConn")]
    RtspsConn,
    #[serde(rename = "rtspsSession")]
    RtspsSession,
    #[serde(rename = "srtConn")]
    SrtConn,
    #[serde(rename = "webRTCSession")]
    WebRTCSession,
    #[serde(rename = "moqSession")]
    MoqSession,
    #[serde(rename = "hidden")]
    Hidden,
}

impl PathReaderType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HlsSession => "hlsSession",
            Self::RtmpConn => "rtmpConn",
            Self::RtmpsConn => "rtmpsConn",
            Self::RtspConn => "rtspConn",
            Self::RtspSession => "rtspSession",
            Self::RtspsConn => "rtspsConn",
            Self::RtspsSession => "rtspsSession",
            Self::SrtConn => "srtConn",
            Self::WebRTCSession => "webRTCSession",
            Self::MoqSession => "moqSession",
            Self::Hidden => "hidden",
        }
    }
}

/// `PathSourceType` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathSourceType {
    #[default]
    #[serde(rename = "hlsSource")]
    HlsSource,
    #[serde(rename = "redirect")]
    Redirect,
    #[serde(rename = "rpiCameraSource")]
    RpiCameraSource,
    #[serde(rename = "rtmpConn")]
    RtmpConn,
    #[serde(rename = "rtmpsConn")]
    RtmpsConn,
    #[serde(rename = "rtmpSource")]
    RtmpSource,
    #[serde(rename = "rtspSession")]
    RtspSession,
    #[serde(rename = "rtspSource")]
    RtspSource,
    #[serde(rename = "rtspsSession")]
    RtspsSession,
    #[serde(rename = "srtConn")]
    SrtConn,
    #[serde(rename = "srtSource")]
    SrtSource,
    #[serde(rename = "mpegtsSource")]
    MpegtsSource,
    #[serde(rename = "rtpSource")]
    RtpSource,
    #[serde(rename = "webRTCSession")]
    WebRTCSession,
    #[serde(rename = "webRTCSource")]
    WebRTCSource,
    #[serde(rename = "moqSource")]
    MoqSource,
    #[serde(rename = "moqSession")]
    MoqSession,
}

impl PathSourceType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HlsSource => "hlsSource",
            Self::Redirect => "redirect",
            Self::RpiCameraSource => "rpiCameraSource",
            Self::RtmpConn => "rtmpConn",
            Self::RtmpsConn => "rtmpsConn",
            Self::RtmpSource => "rtmpSource",
            Self::RtspSession => "rtspSession",
            Self::RtspSource => "rtspSource",
            Self::RtspsSession => "rtspsSession",
            Self::SrtConn => "srtConn",
            Self::SrtSource => "srtSource",
            Self::MpegtsSource => "mpegtsSource",
            Self::RtpSource => "rtpSource",
            Self::WebRTCSession => "webRTCSession",
            Self::WebRTCSource => "webRTCSource",
            Self::MoqSource => "moqSource",
            Self::MoqSession => "moqSession",
        }
    }
}

/// `ForwardDestProtocol` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForwardDestProtocol {
    #[default]
    #[serde(rename = "rtmp")]
    Rtmp,
    #[serde(rename = "rtmps")]
    Rtmps,
    #[serde(rename = "rtsp")]
    Rtsp,
    #[serde(rename = "rtsps")]
    Rtsps,
    #[serde(rename = "srt")]
    Srt,
    #[serde(rename = "whip")]
    Whip,
    #[serde(rename = "whips")]
    Whips,
}

impl ForwardDestProtocol {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rtmp => "rtmp",
            Self::Rtmps => "rtmps",
            Self::Rtsp => "rtsp",
            Self::Rtsps => "rtsps",
            Self::Srt => "srt",
            Self::Whip => "whip",
            Self::Whips => "whips",
        }
    }
}

/// `ForwardDestState` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForwardDestState {
    #[default]
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "forwarding")]
    Forwarding,
    #[serde(rename = "error")]
    Error,
}

impl ForwardDestState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Forwarding => "forwarding",
            Self::Error => "error",
        }
    }
}

/// `PathTrackCodec` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathTrackCodec {
    #[default]
    #[serde(rename = "AV1")]
    AV1,
    #[serde(rename = "VP9")]
    VP9,
    #[serde(rename = "VP8")]
    VP8,
    #[serde(rename = "H265")]
    H265,
    #[serde(rename = "H264")]
    H264,
    #[serde(rename = "MPEG-4 Video")]
    MPEG4Video,
    #[serde(rename = "MPEG-1/2 Video")]
    MPEG12Video,
    #[serde(rename = "M-JPEG")]
    MJPEG,
    #[serde(rename = "Opus")]
    Opus,
    #[serde(rename = "FLAC")]
    FLAC,
    #[serde(rename = "Vorbis")]
    Vorbis,
    #[serde(rename = "MPEG-4 Audio")]
    MPEG4Audio,
    #[serde(rename = "MPEG-4 Audio LATM")]
    MPEG4AudioLATM,
    #[serde(rename = "MPEG-1/2 Audio")]
    MPEG12Audio,
    #[serde(rename = "AC3")]
    AC3,
    #[serde(rename = "Speex")]
    Speex,
    #[serde(rename = "G726")]
    G726,
    #[serde(rename = "G722")]
    G722,
    #[serde(rename = "G711")]
    G711,
    #[serde(rename = "LPCM")]
    LPCM,
    #[serde(rename = "MPEG-TS")]
    MPEGTS,
    #[serde(rename = "KLV")]
    KLV,
    #[serde(rename = "Generic")]
    Generic,
}

impl PathTrackCodec {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AV1 => "AV1",
            Self::VP9 => "VP9",
            Self::VP8 => "VP8",
            Self::H265 => "H265",
            Self::H264 => "H264",
            Self::MPEG4Video => "MPEG-4 Video",
            Self::MPEG12Video => "MPEG-1/2 Video",
            Self::MJPEG => "M-JPEG",
            Self::Opus => "Opus",
            Self::FLAC => "FLAC",
            Self::Vorbis => "Vorbis",
            Self::MPEG4Audio => "MPEG-4 Audio",
            Self::MPEG4AudioLATM => "MPEG-4 Audio LATM",
            Self::MPEG12Audio => "MPEG-1/2 Audio",
            Self::AC3 => "AC3",
            Self::Speex => "Speex",
            Self::G726 => "G726",
            Self::G722 => "G722",
            Self::G711 => "G711",
            Self::LPCM => "LPCM",
            Self::MPEGTS => "MPEG-TS",
            Self::KLV => "KLV",
            Self::Generic => "Generic",
        }
    }
}

/// `RTMPConnState` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RTMPConnState {
    #[default]
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "publish")]
    Publish,
}

impl RTMPConnState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Read => "read",
            Self::Publish => "publish",
        }
    }
}

/// `RTSPSessionState` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RTSPSessionState {
    #[default]
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "publish")]
    Publish,
}

impl RTSPSessionState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Read => "read",
            Self::Publish => "publish",
        }
    }
}

/// `SRTConnState` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SRTConnState {
    #[default]
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "publish")]
    Publish,
}

impl SRTConnState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Read => "read",
            Self::Publish => "publish",
        }
    }
}

/// `WebRTCSessionState` of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebRTCSessionState {
    #[default]
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "publish")]
    Publish,
}

impl WebRTCSessionState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Publish => "publish",
        }
    }
}
