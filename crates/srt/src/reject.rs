//! Handshake rejection reasons (draft-sharabayko-srt table "Handshake Rejection Reason
//! codes"): 1000 + libsrt's `SRT_REJ_*`. Applications may use their own codes: libsrt's
//! access-control convention puts HTTP-like codes at 1400+ (e.g. 1401 unauthorized,
//! 1403 forbidden, 1404 not found) and free ones at 2000+.

use std::fmt;

/// Why a handshake was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// 1000 SRT_REJ_UNKNOWN.
    Unknown,
    /// 1001 SRT_REJ_SYSTEM.
    System,
    /// 1002 SRT_REJ_PEER: rejected by the application (what MediaMTX sends for auth
    /// failures, bad stream ids and wrong passphrases).
    Peer,
    /// 1003 SRT_REJ_RESOURCE.
    Resource,
    /// 1004 SRT_REJ_ROGUE: incorrect data in the handshake.
    Rogue,
    /// 1005 SRT_REJ_BACKLOG: too many pending connections.
    Backlog,
    /// 1006 SRT_REJ_IPE: internal error.
    Ipe,
    /// 1007 SRT_REJ_CLOSE: the listener is closing.
    Close,
    /// 1008 SRT_REJ_VERSION: peer too old.
    Version,
    /// 1009 SRT_REJ_RDVCOOKIE.
    RdvCookie,
    /// 1010 SRT_REJ_BADSECRET: wrong passphrase.
    BadSecret,
    /// 1011 SRT_REJ_UNSECURE: passphrase required or unexpected.
    Unsecure,
    /// 1012 SRT_REJ_MESSAGEAPI: stream (file) mode against message (live) mode.
    MessageApi,
    /// 1013 SRT_REJ_CONGESTION: incompatible congestion controller (e.g. "file").
    Congestion,
    /// 1014 SRT_REJ_FILTER: incompatible packet filter.
    Filter,
    /// 1015 SRT_REJ_GROUP: incompatible group.
    Group,
    /// 1016 SRT_REJ_TIMEOUT.
    Timeout,
    /// 1017 SRT_REJ_CRYPTO: incompatible cryptographic mode.
    Crypto,
    /// Any other code (application-defined).
    Other(u32),
}

const TABLE: [RejectReason; 18] = [
    RejectReason::Unknown,
    RejectReason::System,
    RejectReason::Peer,
    RejectReason::Resource,
    RejectReason::Rogue,
    RejectReason::Backlog,
    RejectReason::Ipe,
    RejectReason::Close,
    RejectReason::Version,
    RejectReason::RdvCookie,
    RejectReason::BadSecret,
    RejectReason::Unsecure,
    RejectReason::MessageApi,
    RejectReason::Congestion,
    RejectReason::Filter,
    RejectReason::Group,
    RejectReason::Timeout,
    RejectReason::Crypto,
];

impl RejectReason {
    /// The code carried in the handshake type field.
    pub fn code(self) -> u32 {
        match self {
            Self::Other(c) => c,
            known => {
                let idx = TABLE.iter().position(|r| *r == known).unwrap_or(0);
                1000 + u32::try_from(idx).unwrap_or(0)
            }
        }
    }

    /// From a handshake type field value.
    pub fn from_code(code: u32) -> Self {
        code.checked_sub(1000)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| TABLE.get(i).copied())
            .unwrap_or(Self::Other(code))
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Unknown => "unknown reason",
            Self::System => "system function error",
            Self::Peer => "rejected by peer",
            Self::Resource => "resource allocation problem",
            Self::Rogue => "incorrect data in handshake",
            Self::Backlog => "listener's backlog exceeded",
            Self::Ipe => "internal program error",
            Self::Close => "socket is closing",
            Self::Version => "peer is older version than agent's minimum",
            Self::RdvCookie => "rendezvous cookie collision",
            Self::BadSecret => "wrong password",
            Self::Unsecure => "password required or unexpected",
            Self::MessageApi => "stream flag collision",
            Self::Congestion => "incompatible congestion-controller type",
            Self::Filter => "incompatible packet filter",
            Self::Group => "incompatible group",
            Self::Timeout => "timeout expired",
            Self::Crypto => "incompatible cryptographic mode",
            Self::Other(_) => "application-defined reason",
        };
        write!(f, "{text} ({})", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(RejectReason::Peer.code(), 1002);
        assert_eq!(RejectReason::BadSecret.code(), 1010);
        assert_eq!(RejectReason::Unsecure.code(), 1011);
        assert_eq!(RejectReason::Crypto.code(), 1017);
        for code in [999, 1000, 1005, 1017, 1018, 1401, 2000, u32::MAX] {
            assert_eq!(RejectReason::from_code(code).code(), code);
        }
        assert_eq!(RejectReason::from_code(1401), RejectReason::Other(1401));
        assert_eq!(RejectReason::BadSecret.to_string(), "wrong password (1010)");
    }
}
