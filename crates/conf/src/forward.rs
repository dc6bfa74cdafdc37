//! `forward` destinations, always-available tracks and WebRTC ICE servers.

use crate::schema::{conf_object, object_value};
use crate::source::validate_url;

conf_object! {
    /// A destination the path's stream is forwarded to.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ForwardDest {
        dest: String = "dest" => String::new(),
        dest_fingerprint: String = "destFingerprint" => String::new(),
        whip_bearer_token: String = "whipBearerToken" => String::new(),
    }
}
object_value!(ForwardDest);

impl ForwardDest {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.dest.is_empty() {
            return Err("destination is empty".into());
        }
        let scheme = validate_url(&self.dest.replace("$MTX_PATH", "path"))?;
        match scheme.as_str() {
            "rtmp" | "rtmps" | "rtsp" | "rtsps" | "srt" | "whip" | "whips" => Ok(()),
            other => Err(format!(
                "unsupported scheme '{other}', supported ones are rtmp, rtmps, rtsp, rtsps, srt, whip and whips"
            )),
        }
    }
}

conf_object! {
    /// A track of an always-available path's offline stream.
    #[derive(Clone, Debug, PartialEq)]
    pub struct AlwaysAvailableTrack {
        codec: String = "codec" => String::new(),
        sample_rate: i64 = "sampleRate" => 0,
        channel_count: i64 = "channelCount" => 0,
        mu_law: bool = "muLaw" => false,
    }
}
object_value!(AlwaysAvailableTrack);

impl AlwaysAvailableTrack {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let c = &self.codec;
        match c.as_str() {
            "AV1" | "VP9" | "H265" | "H264" | "Opus" => {
                if self.sample_rate != 0 {
                    return Err(format!("sampleRate must not be specified for codec '{c}'"));
                }
                if self.channel_count != 0 {
                    return Err(format!(
                        "channelCount must not be specified for codec '{c}'"
                    ));
                }
            }
            "MPEG4Audio" | "G711" | "LPCM" => {
                let min = if c == "MPEG4Audio" { 22050 } else { 8000 };
                if self.sample_rate == 0 {
                    return Err(format!("sampleRate is mandatory for codec '{c}'"));
                }
                if self.sample_rate < min {
                    return Err(format!(
                        "sampleRate must be greater than or equal to {min} for codec '{c}'"
                    ));
                }
                if self.channel_count == 0 {
                    return Err(format!("channelCount is mandatory for codec '{c}'"));
                }
            }
            _ => return Err(format!("unsupported codec '{c}'")),
        }
        Ok(())
    }
}

conf_object! {
    /// An entry of `webrtcICEServers2`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct WebRtcIceServer {
        url: String = "url" => String::new(),
        username: String = "username" => String::new(),
        password: String = "password" => String::new(),
        client_only: bool = "clientOnly" => false,
    }
}
object_value!(WebRtcIceServer);
