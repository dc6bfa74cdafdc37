//! JSON shapes of the `/v3` API, named after the schemas of MediaMTX's `openapi.yaml`.
//!
//! Every field is always serialized (no `skip_serializing_if`): MediaMTX clients expect
//! the full object, with `null` for the nullable fields.

#![allow(clippy::upper_case_acronyms)]

mod kinds;
mod path;
mod session;

pub use kinds::*;
pub use path::*;
pub use session::*;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// `Info` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub started: String,
    pub version: String,
}

/// A page of items: `*List` schemas of the spec (`PathList`, `RTSPConnList`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    pub item_count: usize,
    pub page_count: usize,
    pub items: Vec<T>,
}

/// `ErrorStatus` constant of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorStatus {
    #[default]
    #[serde(rename = "error")]
    Error,
}

/// `Error` of the spec: `{"status":"error","error":"..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub status: ErrorStatus,
    pub error: String,
}

impl Error {
    /// An error body carrying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            status: ErrorStatus::Error,
            error: message.into(),
        }
    }
}

/// `OKStatus` constant of the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OkStatus {
    #[default]
    #[serde(rename = "ok")]
    Ok,
}

/// `OK` of the spec: `{"status":"ok"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ok {
    pub status: OkStatus,
}

/// `PathTrackCodecProps` of the spec: one of the codec-specific property sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodecProps {
    AV1(PathTrackCodecPropsAV1),
    VP9(PathTrackCodecPropsVP9),
    H265(PathTrackCodecPropsH265),
    H264(PathTrackCodecPropsH264),
    Opus(PathTrackCodecPropsOpus),
    MPEG4Audio(PathTrackCodecPropsMPEG4Audio),
    AC3(PathTrackCodecPropsAC3),
    G711(PathTrackCodecPropsG711),
    LPCM(PathTrackCodecPropsLPCM),
}

/// Formats a timestamp the way MediaMTX's JSON does (RFC 3339, fractional seconds
/// only when non-zero, `Z` for UTC).
pub fn timestamp(t: DateTime<Utc>) -> String {
    let full = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // Go's RFC3339Nano drops trailing zeros of the fraction, and the dot if nothing is left.
    match full.strip_suffix('Z').and_then(|s| s.split_once('.')) {
        Some((head, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{head}Z")
            } else {
                format!("{head}.{frac}Z")
            }
        }
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamp_trims_fraction_like_go() {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 24, 18, 2, 15)
            .single()
            .unwrap();
        assert_eq!(timestamp(t), "2026-11-24T18:02:15Z");
        let t = t + chrono::Duration::milliseconds(120);
        assert_eq!(timestamp(t), "2026-11-24T18:02:15.12Z");
    }

    #[test]
    fn error_body_shape() {
        let v = serde_json::to_value(Error::new("path not found")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"status": "error", "error": "path not found"})
        );
    }

    #[test]
    fn nullable_fields_serialize_as_null() {
        let v = serde_json::to_value(Path::default()).unwrap();
        assert!(v["source"].is_null());
        assert!(v["readyTime"].is_null());
        assert_eq!(v["tracks2"], serde_json::json!([]));
        assert_eq!(v["inboundFramesInError"], serde_json::json!(0));
    }
}
