//! The `Range` header (RFC 2326 12.29, 3.6, 3.7): `npt=0-`, `npt=10.5-20`,
//! `clock=20250101T101010Z-`, `smpte=0:10:00-`.

use std::fmt;
use std::time::Duration;

/// Errors from [`Range::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("unsupported range unit in '{0}'")]
    Unit(String),
    #[error("range '{0}' has no '-'")]
    NoDash(String),
    #[error("invalid time '{0}'")]
    Time(String),
}

/// A normal-play-time instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NptTime {
    Now,
    At(Duration),
}

/// A parsed `Range` value. `clock` and `smpte` bounds are kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    Npt {
        start: NptTime,
        end: Option<NptTime>,
    },
    Clock {
        start: String,
        end: Option<String>,
    },
    Smpte {
        start: String,
        end: Option<String>,
    },
}

impl Range {
    pub fn parse(value: &str) -> Result<Range, RangeError> {
        // Drop a trailing `;time=...` parameter.
        let spec = value.split(';').next().unwrap_or("").trim();
        let Some((unit, span)) = spec.split_once('=') else {
            return Err(RangeError::Unit(value.to_string()));
        };
        let Some((start, end)) = span.split_once('-') else {
            return Err(RangeError::NoDash(value.to_string()));
        };
        let (start, end) = (start.trim(), end.trim());
        let end = (!end.is_empty()).then_some(end);
        let text_bound = |s: &str| {
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":.".contains(&b))
            {
                Err(RangeError::Time(s.to_string()))
            } else {
                Ok(s.to_string())
            }
        };
        match unit.trim().to_ascii_lowercase().as_str() {
            "npt" => Ok(Range::Npt {
                start: parse_npt(start)?,
                end: end.map(parse_npt).transpose()?,
            }),
            "clock" => Ok(Range::Clock {
                start: text_bound(start)?,
                end: end.map(text_bound).transpose()?,
            }),
            "smpte" | "smpte-25" | "smpte-30-drop" => Ok(Range::Smpte {
                start: text_bound(start)?,
                end: end.map(text_bound).transpose()?,
            }),
            _ => Err(RangeError::Unit(value.to_string())),
        }
    }
}

fn parse_npt(s: &str) -> Result<NptTime, RangeError> {
    let err = || RangeError::Time(s.to_string());
    if s.eq_ignore_ascii_case("now") {
        return Ok(NptTime::Now);
    }
    if s.is_empty() {
        // "npt=-20" is allowed by the grammar: start defaults to 0.
        return Ok(NptTime::At(Duration::ZERO));
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [sec] => (0u64, 0u64, *sec),
        [h, m, sec] => (
            h.parse().map_err(|_| err())?,
            m.parse().map_err(|_| err())?,
            *sec,
        ),
        _ => return Err(err()),
    };
    let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let whole: u64 = whole.parse().map_err(|_| err())?;
    let nanos: u32 = format!("{:0<9}", &frac[..frac.len().min(9)])
        .parse()
        .map_err(|_| err())?;
    let total = h
        .checked_mul(3600)
        .and_then(|v| v.checked_add(m.checked_mul(60)?))
        .and_then(|v| v.checked_add(whole))
        .ok_or_else(err)?;
    Ok(NptTime::At(Duration::new(total, nanos)))
}

impl fmt::Display for NptTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NptTime::Now => f.write_str("now"),
            NptTime::At(d) => {
                write!(f, "{}", d.as_secs())?;
                if d.subsec_nanos() > 0 {
                    let frac = format!("{:09}", d.subsec_nanos());
                    write!(f, ".{}", frac.trim_end_matches('0'))?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Npt { start, end } => {
                write!(f, "npt={start}-")?;
                if let Some(e) = end {
                    write!(f, "{e}")?;
                }
            }
            Range::Clock { start, end } | Range::Smpte { start, end } => {
                let unit = if matches!(self, Range::Clock { .. }) {
                    "clock"
                } else {
                    "smpte"
                };
                write!(f, "{unit}={start}-{}", end.as_deref().unwrap_or(""))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            "npt=0-",
            "npt=10.5-20",
            "npt=now-",
            "npt=0.001-1.25",
            "clock=20250101T101010Z-",
            "clock=20250101T101010Z-20250101T111010.5Z",
            "smpte=0:10:00-",
        ] {
            assert_eq!(Range::parse(s).unwrap().to_string(), s, "{s}");
        }
    }

    #[test]
    fn hms_npt_and_time_param() {
        assert_eq!(
            Range::parse("npt=01:02:03.5-;time=19970123T143720Z").unwrap(),
            Range::Npt {
                start: NptTime::At(Duration::from_millis(3_723_500)),
                end: None
            }
        );
        assert_eq!(
            Range::parse("npt=-20").unwrap().to_string(),
            "npt=0-20".to_string()
        );
    }

    #[test]
    fn malformed_is_error() {
        assert!(matches!(Range::parse("npt"), Err(RangeError::Unit(_))));
        assert!(matches!(Range::parse("foo=1-"), Err(RangeError::Unit(_))));
        assert!(matches!(Range::parse("npt=5"), Err(RangeError::NoDash(_))));
        assert!(matches!(Range::parse("npt=a-"), Err(RangeError::Time(_))));
        assert!(matches!(Range::parse("npt=1.x-"), Err(RangeError::Time(_))));
        assert!(matches!(
            Range::parse("npt=99999999999999999999:0:0-"),
            Err(RangeError::Time(_))
        ));
        assert!(matches!(Range::parse("clock=-"), Err(RangeError::Time(_))));
    }
}
