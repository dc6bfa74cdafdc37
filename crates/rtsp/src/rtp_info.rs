//! The `RTP-Info` header of a PLAY reply (RFC 2326 12.33):
//! `url=rtsp://h/p/trackID=0;seq=1;rtptime=2, url=...`.

use std::fmt;

/// Errors from [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpInfoError {
    #[error("RTP-Info entry without url: '{0}'")]
    MissingUrl(String),
    #[error("invalid RTP-Info seq '{0}'")]
    Seq(String),
    #[error("invalid RTP-Info rtptime '{0}'")]
    RtpTime(String),
}

/// One stream's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpInfoEntry {
    pub url: String,
    pub seq: Option<u16>,
    pub rtptime: Option<u32>,
}

impl fmt::Display for RtpInfoEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "url={}", self.url)?;
        if let Some(s) = self.seq {
            write!(f, ";seq={s}")?;
        }
        if let Some(t) = self.rtptime {
            write!(f, ";rtptime={t}")?;
        }
        Ok(())
    }
}

/// Formats entries as a header value.
pub fn format(entries: &[RtpInfoEntry]) -> String {
    entries
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a header value. A comma inside a URL is kept when the next piece does not
/// start a new entry (`url=`).
pub fn parse(value: &str) -> Result<Vec<RtpInfoEntry>, RtpInfoError> {
    let mut pieces: Vec<String> = Vec::new();
    for piece in value.split(',') {
        let starts_entry = piece.trim_start().to_ascii_lowercase().starts_with("url=");
        match pieces.last_mut() {
            Some(last) if !starts_entry => {
                last.push(',');
                last.push_str(piece);
            }
            _ => pieces.push(piece.to_string()),
        }
    }
    pieces
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| parse_entry(p.trim()))
        .collect()
}

fn parse_entry(entry: &str) -> Result<RtpInfoEntry, RtpInfoError> {
    let mut url = None;
    let mut seq = None;
    let mut rtptime = None;
    for param in entry.split(';') {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "url" => url = Some(v.to_string()),
            "seq" => seq = Some(v.parse().map_err(|_| RtpInfoError::Seq(v.to_string()))?),
            "rtptime" => {
                rtptime = Some(
                    v.parse()
                        .map_err(|_| RtpInfoError::RtpTime(v.to_string()))?,
                )
            }
            _ => {}
        }
    }
    let url = url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| RtpInfoError::MissingUrl(entry.to_string()))?;
    Ok(RtpInfoEntry { url, seq, rtptime })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = "url=rtsp://127.0.0.1:8554/mystream/trackID=0;seq=35243;rtptime=1213323,\
                 url=rtsp://127.0.0.1:8554/mystream/trackID=1;seq=1";
        let e = parse(v).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].seq, Some(35243));
        assert_eq!(e[0].rtptime, Some(1_213_323));
        assert_eq!(e[1].rtptime, None);
        assert_eq!(format(&e), v);
    }

    #[test]
    fn comma_in_url_and_spaces() {
        let e = parse("url=rtsp://h/a,b;seq=1 , url=rtsp://h/c").unwrap();
        assert_eq!(e[0].url, "rtsp://h/a,b");
        assert_eq!(e[1].url, "rtsp://h/c");
    }

    #[test]
    fn malformed_is_error() {
        assert!(matches!(parse("seq=1"), Err(RtpInfoError::MissingUrl(_))));
        assert!(matches!(
            parse("url=x;seq=70000"),
            Err(RtpInfoError::Seq(_))
        ));
        assert!(matches!(
            parse("url=x;rtptime=-1"),
            Err(RtpInfoError::RtpTime(_))
        ));
        assert_eq!(parse("").unwrap(), vec![]);
    }
}
