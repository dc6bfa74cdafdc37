//! Enumerations of the protocol servers and sources.

use crate::node::{Node, Value};
use crate::value::{ConfValue, FieldError, string_enum, text_of};
use serde_json::Value as Json;

string_enum! {
    /// `rtspEncryption`, `rtmpEncryption` (`false` means `no`, `true`/`yes` `strict`).
    pub enum Encryption ("invalid encryption: '{}'", null = keep, default = No) {
        No = "no" | "false",
        Optional = "optional",
        Strict = "strict" | "true" | "yes",
    }
}

string_enum! {
    /// `rtspTransport` of a path (`automatic` lets the client choose) and
    /// items of `rtspTransports`.
    pub enum RtspTransport ("invalid transport '{}'", null = reject, default = Automatic) {
        Automatic = "automatic",
        Udp = "udp",
        Multicast = "multicast",
        Tcp = "tcp",
    }
}

string_enum! {
    /// Items of `rtspAuthMethods`.
    pub enum RtspAuthMethod ("invalid authentication method: '{}'", null = reject, default = Basic) {
        Basic = "basic",
        Digest = "digest",
    }
}

string_enum! {
    /// `rtspRangeType` of a path; `Undefined` is the empty string.
    pub enum RtspRangeType ("invalid rtsp range type: '{}'", null = keep, default = Undefined) {
        Undefined = "",
        Clock = "clock",
        Npt = "npt",
        Smpte = "smpte",
    }
}

string_enum! {
    /// `hlsVariant`.
    pub enum HlsVariant ("invalid HLS variant: '{}'", null = reject, default = LowLatency) {
        Mpegts = "mpegts",
        Fmp4 = "fmp4",
        LowLatency = "lowLatency",
    }
}

string_enum! {
    /// `recordFormat`.
    pub enum RecordFormat ("invalid record format '{}'", null = keep, default = Fmp4) {
        Fmp4 = "fmp4",
        Mpegts = "mpegts",
    }
}

string_enum! {
    /// `moqTransport` of a MoQ source.
    pub enum MoqTransport ("invalid MoQ transport '{}'", null = keep, default = Quic) {
        Quic = "quic",
        Webtransport = "webtransport",
    }
}

/// `rtspTransports`: a set of transports, written sorted as MediaMTX does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtspTransports(pub Vec<RtspTransport>);

impl RtspTransports {
    pub fn contains(&self, t: RtspTransport) -> bool {
        self.0.contains(&t)
    }
}

impl From<Vec<RtspTransport>> for RtspTransports {
    fn from(v: Vec<RtspTransport>) -> Self {
        RtspTransports(v)
    }
}

impl From<RtspTransports> for Vec<RtspTransport> {
    fn from(v: RtspTransports) -> Self {
        v.0
    }
}

impl ConfValue for RtspTransports {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        let items = match &node.value {
            Value::Seq(items) => items,
            Value::Null => return Err(FieldError::invalid(node, "cannot set a list to null")),
            _ => return Err(FieldError::wrong_type(node, "a list")),
        };
        let mut out = Vec::new();
        for item in items {
            let text = text_of(item)?.unwrap_or("");
            let t = match RtspTransport::parse(text) {
                Ok(RtspTransport::Automatic) | Err(_) => {
                    return Err(FieldError::invalid(
                        item,
                        format!("invalid transport: {text}"),
                    ));
                }
                Ok(t) => t,
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out.sort_by_key(|t| t.as_str());
        self.0 = out;
        Ok(())
    }
    fn to_json(&self) -> Option<Json> {
        let mut names: Vec<&str> = self.0.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        Some(Json::from(names))
    }
    fn env_node(prefix: &str, env: &crate::env::Env<'_>) -> Result<Option<Node>, (String, String)> {
        Vec::<String>::env_node(prefix, env)
    }
}
