//! SDP (RFC 4566 / 8866) as RTSP uses it: the session a publisher ANNOUNCEs or a server
//! returns on DESCRIBE, reduced to its medias, their control URLs, directions and
//! [`Format`]s.

use std::fmt::Write as _;

use ferromtx_codec::Format;

/// Errors from [`SessionDescription::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP is empty")]
    Empty,
    #[error("SDP line {line}: invalid line '{text}'")]
    Line { line: usize, text: String },
    #[error("SDP does not start with v=0")]
    Version,
    #[error("SDP line {line}: invalid media description '{text}'")]
    MediaLine { line: usize, text: String },
    #[error("SDP line {line}: invalid payload type '{text}'")]
    PayloadType { line: usize, text: String },
    #[error("SDP has no media")]
    NoMedia,
}

/// What a media carries (`m=<kind> ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Audio,
    Application,
    Other(String),
}

impl MediaKind {
    fn parse(s: &str) -> MediaKind {
        match s {
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "application" => MediaKind::Application,
            other => MediaKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Application => "application",
            MediaKind::Other(s) => s,
        }
    }

    /// The kind of media a format belongs in.
    pub fn of(format: &Format) -> MediaKind {
        match format {
            Format::Generic { .. } => MediaKind::Application,
            f if f.is_video() => MediaKind::Video,
            _ => MediaKind::Audio,
        }
    }
}

/// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Direction> {
        match attr {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    /// Transport protocol of the `m=` line, e.g. `RTP/AVP`.
    pub protocol: String,
    /// `a=control` as written (relative like `trackID=0`, absolute, or `*`).
    pub control: Option<String>,
    /// Media-level direction, else the session-level one, if any.
    pub direction: Option<Direction>,
    /// One format per payload type, in `m=` line order.
    pub formats: Vec<Format>,
}

/// A parsed or generated session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `s=`; empty when the session has no meaningful name.
    pub title: String,
    /// Session-level `a=control`.
    pub control: Option<String>,
    pub medias: Vec<Media>,
}

struct MediaBuilder {
    media: Media,
    payload_types: Vec<u8>,
    rtpmaps: Vec<(u8, String)>,
    fmtps: Vec<(u8, String)>,
}

impl MediaBuilder {
    fn finish(self) -> Media {
        let mut media = self.media;
        media.formats = self
            .payload_types
            .iter()
            .map(|&pt| {
                let rtpmap = self
                    .rtpmaps
                    .iter()
                    .find(|(p, _)| *p == pt)
                    .map_or("", |(_, v)| v.as_str());
                let fmtp = self
                    .fmtps
                    .iter()
                    .find(|(p, _)| *p == pt)
                    .map(|(_, v)| v.as_str());
                Format::from_rtpmap(pt, rtpmap, fmtp)
            })
            .collect();
        media
    }
}

/// Splits `a=rtpmap:96 H264/90000` style values into payload type and rest.
fn split_pt(value: &str) -> Option<(u8, &str)> {
    let value = value.trim_start();
    let (pt, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    Some((pt.parse().ok()?, rest.trim()))
}

impl SessionDescription {
    /// Parses an SDP body. Lines may end in CRLF or LF; unknown lines are ignored.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty())
            .peekable();
        match lines.peek() {
            None => return Err(SdpError::Empty),
            Some((_, l)) if l.trim() != "v=0" => return Err(SdpError::Version),
            Some(_) => {}
        }
        let mut session = SessionDescription {
            title: String::new(),
            control: None,
            medias: Vec::new(),
        };
        let mut session_direction = None;
        let mut current: Option<MediaBuilder> = None;
        for (line, text) in lines {
            let bad_line = || SdpError::Line {
                line,
                text: text.to_string(),
            };
            let (kind, value) = text.split_once('=').ok_or_else(bad_line)?;
            if kind.len() != 1 || !kind.as_bytes()[0].is_ascii_alphabetic() {
                return Err(bad_line());
            }
            match kind {
                "s" if current.is_none() => session.title = value.trim().to_string(),
                "m" => {
                    if let Some(b) = current.take() {
                        session.medias.push(b.finish());
                    }
                    current = Some(parse_media_line(line, value)?);
                }
                "a" => {
                    let (name, attr) = value.split_once(':').unwrap_or((value, ""));
                    let name = name.trim();
                    match current.as_mut() {
                        None => match name {
                            "control" => session.control = Some(attr.trim().to_string()),
                            _ => session_direction = Direction::parse(name).or(session_direction),
                        },
                        Some(b) => match name {
                            "control" => b.media.control = Some(attr.trim().to_string()),
                            "rtpmap" | "fmtp" => {
                                let (pt, rest) =
                                    split_pt(attr).ok_or_else(|| SdpError::PayloadType {
                                        line,
                                        text: text.to_string(),
                                    })?;
                                let list = if name == "rtpmap" {
                                    &mut b.rtpmaps
                                } else {
                                    &mut b.fmtps
                                };
                                if !list.iter().any(|(p, _)| *p == pt) {
                                    list.push((pt, rest.to_string()));
                                }
                            }
                            _ => {
                                if let Some(d) = Direction::parse(name) {
                                    b.media.direction = Some(d);
                                }
                            }
                        },
                    }
                }
                _ => {}
            }
        }
        if let Some(b) = current.take() {
            session.medias.push(b.finish());
        }
        if session.medias.is_empty() {
            return Err(SdpError::NoMedia);
        }
        for m in &mut session.medias {
            m.direction = m.direction.or(session_direction);
        }
        Ok(session)
    }

    /// The description a server returns on DESCRIBE for a stream with these formats:
    /// one media per format, controls `trackID=0`, `trackID=1`, ...
    pub fn from_formats(title: &str, formats: &[Format]) -> SessionDescription {
        SessionDescription {
            title: title.to_string(),
            control: None,
            medias: formats
                .iter()
                .enumerate()
                .map(|(i, f)| Media {
                    kind: MediaKind::of(f),
                    protocol: "RTP/AVP".to_string(),
                    control: Some(format!("trackID={i}")),
                    direction: None,
                    formats: vec![f.clone()],
                })
                .collect(),
        }
    }

    /// Writes the description as MediaMTX does: CRLF line ends, origin `127.0.0.1`,
    /// `c=IN IP4 0.0.0.0`, and `fmtp` parameters sorted by name.
    pub fn marshal(&self) -> String {
        let mut out = String::new();
        let title = if self.title.trim().is_empty() {
            " "
        } else {
            self.title.as_str()
        };
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns={}\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n",
            single_line(title)
        );
        if let Some(c) = &self.control {
            let _ = write!(out, "a=control:{}\r\n", single_line(c));
        }
        for m in &self.medias {
            let pts: Vec<String> = m
                .formats
                .iter()
                .map(|f| f.payload_type().to_string())
                .collect();
            let _ = write!(
                out,
                "m={} 0 {} {}\r\n",
                single_line(m.kind.as_str()),
                single_line(&m.protocol),
                pts.join(" ")
            );
            if let Some(d) = m.direction {
                let _ = write!(out, "a={}\r\n", d.as_str());
            }
            if let Some(c) = &m.control {
                let _ = write!(out, "a=control:{}\r\n", single_line(c));
            }
            for f in &m.formats {
                let pt = f.payload_type();
                if let Some(r) = f.rtpmap().filter(|r| !r.is_empty()) {
                    let _ = write!(out, "a=rtpmap:{pt} {}\r\n", single_line(&r));
                }
                if let Some(p) = f.fmtp().map(|p| sorted_fmtp(&p)).filter(|p| !p.is_empty()) {
                    let _ = write!(out, "a=fmtp:{pt} {}\r\n", single_line(&p));
                }
            }
        }
        out
    }
}

fn parse_media_line(line: usize, value: &str) -> Result<MediaBuilder, SdpError> {
    let bad = || SdpError::MediaLine {
        line,
        text: value.to_string(),
    };
    let mut parts = value.split_whitespace();
    let (Some(kind), Some(port), Some(protocol)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let port_ok = port
        .split_once('/')
        .map_or(port, |(p, _)| p)
        .parse::<u16>()
        .is_ok();
    if !port_ok {
        return Err(bad());
    }
    let mut payload_types = Vec::new();
    for pt in parts {
        let pt = pt
            .parse::<u8>()
            .ok()
            .filter(|pt| *pt < 128)
            .ok_or_else(|| SdpError::PayloadType {
                line,
                text: pt.to_string(),
            })?;
        if !payload_types.contains(&pt) {
            payload_types.push(pt);
        }
    }
    if payload_types.is_empty() {
        return Err(bad());
    }
    Ok(MediaBuilder {
        media: Media {
            kind: MediaKind::parse(kind),
            protocol: protocol.to_string(),
            control: None,
            direction: None,
            formats: Vec::new(),
        },
        payload_types,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
    })
}

fn single_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Sorts `k=v; k=v` parameters by name, joined with `"; "` as gortsplib writes them.
fn sorted_fmtp(fmtp: &str) -> String {
    let mut items: Vec<&str> = fmtp
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    items.sort_by_key(|item| item.split('=').next().unwrap_or("").to_ascii_lowercase());
    items.join("; ")
}

/// The URL of a media's control given the request (or Content-Base) URL.
pub fn control_url(base: &str, control: Option<&str>) -> String {
    match control.map(str::trim) {
        None | Some("") | Some("*") => base.to_string(),
        Some(c) if has_scheme(c) => c.to_string(),
        Some(c) if base.ends_with('/') => format!("{base}{c}"),
        Some(c) => format!("{base}/{c}"),
    }
}

fn has_scheme(url: &str) -> bool {
    ["rtsp://", "rtsps://"].iter().any(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    })
}
