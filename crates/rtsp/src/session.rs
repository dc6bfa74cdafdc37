//! The `Session` header (RFC 2326 12.37): `Session: id;timeout=60`.

use std::fmt;

/// Errors from [`SessionHeader::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionHeaderError {
    #[error("session id is empty")]
    Empty,
    #[error("invalid session id '{0}'")]
    Id(String),
    #[error("invalid session timeout '{0}'")]
    Timeout(String),
}

/// A parsed `Session` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionHeader {
    pub id: String,
    /// Seconds; absent means the default of 60.
    pub timeout: Option<u32>,
}

impl SessionHeader {
    pub fn parse(value: &str) -> Result<SessionHeader, SessionHeaderError> {
        let mut parts = value.split(';');
        let id = parts.next().unwrap_or("").trim();
        if id.is_empty() {
            return Err(SessionHeaderError::Empty);
        }
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SessionHeaderError::Id(id.to_string()));
        }
        let mut timeout = None;
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            if k.trim().eq_ignore_ascii_case("timeout") {
                let v = v.trim();
                timeout = Some(
                    v.parse()
                        .map_err(|_| SessionHeaderError::Timeout(v.to_string()))?,
                );
            }
        }
        Ok(SessionHeader {
            id: id.to_string(),
            timeout,
        })
    }
}

impl fmt::Display for SessionHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)?;
        if let Some(t) = self.timeout {
            write!(f, ";timeout={t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in ["12345678;timeout=60", "abcdef"] {
            assert_eq!(SessionHeader::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            SessionHeader::parse(" 4d2;Timeout = 30 ;foo=bar").unwrap(),
            SessionHeader {
                id: "4d2".into(),
                timeout: Some(30)
            }
        );
    }

    #[test]
    fn malformed_is_error() {
        assert_eq!(SessionHeader::parse(""), Err(SessionHeaderError::Empty));
        assert_eq!(
            SessionHeader::parse(";timeout=3"),
            Err(SessionHeaderError::Empty)
        );
        assert_eq!(
            SessionHeader::parse("a;timeout=x"),
            Err(SessionHeaderError::Timeout("x".into()))
        );
        assert!(SessionHeader::parse("a b").is_err());
    }
}
