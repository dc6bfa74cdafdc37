//! The `Transport` header (RFC 2326 12.39): one or more comma-separated alternatives,
//! e.g. `RTP/AVP;unicast;client_port=8000-8001, RTP/AVP/TCP;unicast;interleaved=0-1`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// TTL of multicast packets (gortsplib's).
pub const MULTICAST_TTL: u32 = 16;

/// The IPv4 address multicast leaves from for a connection with this local address.
pub fn interface_of(local: IpAddr) -> Option<Ipv4Addr> {
    let v4 = match local {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
    };
    (!v4.is_unspecified()).then_some(v4)
}

/// Errors from [`parse`] and [`Transport::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("transport header is empty")]
    Empty,
    #[error("invalid transport protocol '{0}'")]
    Protocol(String),
    #[error("invalid ports ({0})")]
    Ports(String),
    #[error("invalid interleaved IDs ({0})")]
    Interleaved(String),
    #[error("invalid ttl ({0})")]
    Ttl(String),
    #[error("invalid transport mode: '{0}'")]
    Mode(String),
    #[error("invalid ssrc ({0})")]
    Ssrc(String),
}

/// `RTP/AVP` or `RTP/SAVP` (RTSPS with SRTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Avp,
    Savp,
}

/// Lower transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lower {
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Unicast,
    Multicast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Play,
    Record,
}

/// One transport alternative. Unknown parameters are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    pub profile: Profile,
    pub lower: Lower,
    pub delivery: Option<Delivery>,
    pub destination: Option<String>,
    pub source: Option<String>,
    pub ttl: Option<u8>,
    /// Multicast RTP/RTCP ports.
    pub port: Option<(u16, u16)>,
    pub client_port: Option<(u16, u16)>,
    pub server_port: Option<(u16, u16)>,
    pub interleaved: Option<(u8, u8)>,
    pub ssrc: Option<u32>,
    pub mode: Option<Mode>,
}

impl Transport {
    /// A bare alternative with the given protocol and no parameters.
    pub fn new(profile: Profile, lower: Lower) -> Self {
        Transport {
            profile,
            lower,
            delivery: None,
            destination: None,
            source: None,
            ttl: None,
            port: None,
            client_port: None,
            server_port: None,
            interleaved: None,
            ssrc: None,
            mode: None,
        }
    }

    /// Parses one alternative.
    pub fn parse(value: &str) -> Result<Transport, TransportError> {
        let mut params = value.split(';');
        let proto = params.next().unwrap_or("").trim();
        if proto.is_empty() {
            return Err(TransportError::Empty);
        }
        let (profile, lower) = match proto.to_ascii_uppercase().as_str() {
            "RTP/AVP" | "RTP/AVP/UDP" => (Profile::Avp, Lower::Udp),
            "RTP/AVP/TCP" => (Profile::Avp, Lower::Tcp),
            "RTP/SAVP" | "RTP/SAVP/UDP" => (Profile::Savp, Lower::Udp),
            "RTP/SAVP/TCP" => (Profile::Savp, Lower::Tcp),
            _ => return Err(TransportError::Protocol(proto.to_string())),
        };
        let mut t = Transport::new(profile, lower);
        for param in params {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            // Quotes and spaces around a value, in any order (`" a"`, `"a" `): what is left
            // formats and parses back to itself.
            let v = v.trim_matches(|c: char| c == '"' || c.is_whitespace());
            match k.trim().to_ascii_lowercase().as_str() {
                "unicast" => t.delivery = Some(Delivery::Unicast),
                "multicast" => t.delivery = Some(Delivery::Multicast),
                "destination" => t.destination = Some(v.to_string()),
                "source" => t.source = Some(v.to_string()),
                "ttl" => {
                    t.ttl = Some(v.parse().map_err(|_| TransportError::Ttl(v.to_string()))?);
                }
                "port" => t.port = Some(parse_ports(v)?),
                "client_port" => t.client_port = Some(parse_ports(v)?),
                "server_port" => t.server_port = Some(parse_ports(v)?),
                "interleaved" => t.interleaved = Some(parse_interleaved(v)?),
                "ssrc" => t.ssrc = Some(parse_ssrc(v)?),
                "mode" => {
                    t.mode = Some(match v.to_ascii_lowercase().as_str() {
                        "play" => Mode::Play,
                        "record" | "receive" => Mode::Record,
                        _ => return Err(TransportError::Mode(v.to_string())),
                    })
                }
                _ => {}
            }
        }
        Ok(t)
    }
}

fn parse_pair<T: std::str::FromStr + Copy>(v: &str) -> Option<(T, Option<T>)> {
    match v.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, Some(b.trim().parse().ok()?))),
        None => Some((v.trim().parse().ok()?, None)),
    }
}

fn parse_ports(v: &str) -> Result<(u16, u16), TransportError> {
    let err = || TransportError::Ports(v.to_string());
    match parse_pair::<u16>(v).ok_or_else(err)? {
        (a, Some(b)) => Ok((a, b)),
        (a, None) => Ok((a, a.checked_add(1).ok_or_else(err)?)),
    }
}

fn parse_interleaved(v: &str) -> Result<(u8, u8), TransportError> {
    let err = || TransportError::Interleaved(v.to_string());
    match parse_pair::<u8>(v).ok_or_else(err)? {
        (a, Some(b)) => Ok((a, b)),
        (a, None) => Ok((a, a.checked_add(1).ok_or_else(err)?)),
    }
}

fn parse_ssrc(v: &str) -> Result<u32, TransportError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 8 {
        return Err(TransportError::Ssrc(v.to_string()));
    }
    u32::from_str_radix(v, 16).map_err(|_| TransportError::Ssrc(v.to_string()))
}

/// Parses every comma-separated alternative, in the client's order of preference.
pub fn parse(value: &str) -> Result<Vec<Transport>, TransportError> {
    let alts: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if alts.is_empty() {
        return Err(TransportError::Empty);
    }
    alts.into_iter().map(Transport::parse).collect()
}

/// Formats alternatives as one header value.
pub fn format(transports: &[Transport]) -> String {
    transports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.profile, self.lower) {
            (Profile::Avp, Lower::Udp) => "RTP/AVP",
            (Profile::Avp, Lower::Tcp) => "RTP/AVP/TCP",
            (Profile::Savp, Lower::Udp) => "RTP/SAVP",
            (Profile::Savp, Lower::Tcp) => "RTP/SAVP/TCP",
        })?;
        match self.delivery {
            Some(Delivery::Unicast) => f.write_str(";unicast")?,
            Some(Delivery::Multicast) => f.write_str(";multicast")?,
            None => {}
        }
        if let Some(d) = &self.destination {
            write!(f, ";destination={d}")?;
        }
        if let Some(s) = &self.source {
            write!(f, ";source={s}")?;
        }
        if let Some((a, b)) = self.interleaved {
            write!(f, ";interleaved={a}-{b}")?;
        }
        if let Some(t) = self.ttl {
            write!(f, ";ttl={t}")?;
        }
        if let Some((a, b)) = self.port {
            write!(f, ";port={a}-{b}")?;
        }
        if let Some((a, b)) = self.client_port {
            write!(f, ";client_port={a}-{b}")?;
        }
        if let Some((a, b)) = self.server_port {
            write!(f, ";server_port={a}-{b}")?;
        }
        if let Some(s) = self.ssrc {
            write!(f, ";ssrc={s:08X}")?;
        }
        match self.mode {
            Some(Mode::Play) => f.write_str(";mode=play")?,
            Some(Mode::Record) => f.write_str(";mode=record")?,
            None => {}
        }
        Ok(())
    }
}

/// How a client asks for one media in SETUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSetup {
    /// Interleaved on the RTSP connection, channels [`default_channels`].
    Tcp,
    /// UDP unicast to the client's RTP and RTCP ports.
    Udp(Option<(u16, u16)>),
    Multicast,
}

/// The interleaved channels of media `i` a client asks for, and assumes when the server's
/// reply names none: `2i` for RTP, `2i + 1` for RTCP.
pub fn default_channels(i: usize) -> (u8, u8) {
    let ch = (i * 2) as u8;
    (ch, ch.wrapping_add(1))
}

/// The `Transport` header of a client's SETUP for media `i`.
pub fn client_setup(i: usize, how: ClientSetup) -> String {
    let lower = if how == ClientSetup::Tcp {
        Lower::Tcp
    } else {
        Lower::Udp
    };
    let mut t = Transport::new(Profile::Avp, lower);
    t.delivery = Some(Delivery::Unicast);
    match how {
        ClientSetup::Tcp => t.interleaved = Some(default_channels(i)),
        ClientSetup::Udp(ports) => t.client_port = ports,
        ClientSetup::Multicast => t.delivery = Some(Delivery::Multicast),
    }
    format(&[t])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_setups() {
        assert_eq!(
            client_setup(1, ClientSetup::Tcp),
            "RTP/AVP/TCP;unicast;interleaved=2-3"
        );
        assert_eq!(
            client_setup(0, ClientSetup::Udp(Some((5000, 5001)))),
            "RTP/AVP;unicast;client_port=5000-5001"
        );
        assert_eq!(client_setup(0, ClientSetup::Multicast), "RTP/AVP;multicast");
    }

    #[test]
    fn quoted_values_with_spaces_parse_as_they_format() {
        for header in [
            "RTP/AVP;multicast;destination=\" 224.1.0.1\"",
            "RTP/AVP;multicast;destination=\"\t \"224.1.0.1 \"\"",
            "RTP/AVP;unicast;source= \"10.0.0.1\" ",
        ] {
            let t = parse(header).unwrap();
            let d = t[0].destination.as_deref().or(t[0].source.as_deref());
            assert!(
                matches!(d, Some("224.1.0.1" | "10.0.0.1")),
                "{header}: {d:?}"
            );
            assert_eq!(parse(&format(&t)).unwrap(), t, "{header}");
        }
    }

    #[test]
    fn ffmpeg_udp_play() {
        let t = parse("RTP/AVP/UDP;unicast;client_port=5000-5001").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].lower, Lower::Udp);
        assert_eq!(t[0].delivery, Some(Delivery::Unicast));
        assert_eq!(t[0].client_port, Some((5000, 5001)));
        assert_eq!(t[0].to_string(), "RTP/AVP;unicast;client_port=5000-5001");
    }

    #[test]
    fn ffmpeg_tcp_record() {
        let t = parse("RTP/AVP/TCP;unicast;interleaved=0-1;mode=record").unwrap();
        assert_eq!(t[0].lower, Lower::Tcp);
        assert_eq!(t[0].interleaved, Some((0, 1)));
        assert_eq!(t[0].mode, Some(Mode::Record));
    }

    #[test]
    fn alternatives_keep_order() {
        let v = "RTP/AVP;multicast;destination=224.1.0.1;ttl=16;port=8000-8001,\
                 RTP/AVP/TCP;unicast;interleaved=2-3";
        let t = parse(v).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].delivery, Some(Delivery::Multicast));
        assert_eq!(t[0].destination.as_deref(), Some("224.1.0.1"));
        assert_eq!(t[0].ttl, Some(16));
        assert_eq!(t[0].port, Some((8000, 8001)));
        assert_eq!(t[1].interleaved, Some((2, 3)));
        assert_eq!(format(&t), v);
    }

    #[test]
    fn server_reply_round_trip() {
        let mut t = Transport::new(Profile::Avp, Lower::Udp);
        t.delivery = Some(Delivery::Unicast);
        t.client_port = Some((5000, 5001));
        t.server_port = Some((8000, 8001));
        t.ssrc = Some(0x0012_abcd);
        let s = t.to_string();
        assert_eq!(
            s,
            "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=0012ABCD"
        );
        assert_eq!(Transport::parse(&s).unwrap(), t);
    }

    #[test]
    fn lenient_forms() {
        let t = Transport::parse("rtp/avp;unicast;client_port=6000;mode=\"PLAY\";x-foo=1;ssrc=ab")
            .unwrap();
        assert_eq!(t.client_port, Some((6000, 6001)));
        assert_eq!(t.mode, Some(Mode::Play));
        assert_eq!(t.ssrc, Some(0xab));
        let t = Transport::parse("RTP/AVP/TCP;interleaved=4").unwrap();
        assert_eq!(t.interleaved, Some((4, 5)));
    }

    #[test]
    fn malformed_is_error() {
        assert_eq!(parse(""), Err(TransportError::Empty));
        assert_eq!(parse(" , "), Err(TransportError::Empty));
        assert!(matches!(
            parse("RAW/RAW/UDP"),
            Err(TransportError::Protocol(_))
        ));
        assert!(matches!(
            parse("RTP/AVP;client_port=a-b"),
            Err(TransportError::Ports(_))
        ));
        assert!(matches!(
            parse("RTP/AVP;client_port=65535"),
            Err(TransportError::Ports(_))
        ));
        assert!(matches!(
            parse("RTP/AVP/TCP;interleaved=300-301"),
            Err(TransportError::Interleaved(_))
        ));
        assert!(matches!(
            parse("RTP/AVP;mode=dance"),
            Err(TransportError::Mode(_))
        ));
        assert!(matches!(
            parse("RTP/AVP;ssrc=123456789"),
            Err(TransportError::Ssrc(_))
        ));
        assert!(matches!(
            parse("RTP/AVP;ttl=999"),
            Err(TransportError::Ttl(_))
        ));
        // One bad alternative spoils the header.
        assert!(parse("RTP/AVP;unicast,FOO").is_err());
    }
}
