//! Parsing of the object ids in `/v3` URLs, with the error texts MediaMTX answers.

use thiserror::Error;

/// Why an id is not a UUID (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UuidError {
    #[error("invalid UUID length: {0}")]
    Length(usize),
    #[error("invalid urn prefix: {0:?}")]
    UrnPrefix(String),
    #[error("invalid UUID format")]
    Format,
}

/// Parses the forms MediaMTX accepts (`xxxxxxxx-xxxx-...`, `{...}`, `urn:uuid:...`,
/// 32 bare hex digits) and returns the canonical lower-case hyphenated form.
pub fn parse(s: &str) -> Result<String, UuidError> {
    let hex: Vec<u8> = match s.len() {
        36 => hyphenated(s)?,
        38 => {
            let inner = s
                .strip_prefix('{')
                .and_then(|x| x.strip_suffix('}'))
                .ok_or(UuidError::Format)?;
            hyphenated(inner)?
        }
        45 => {
            let (prefix, rest) = s.split_at_checked(9).ok_or(UuidError::Format)?;
            if !prefix.eq_ignore_ascii_case("urn:uuid:") {
                return Err(UuidError::UrnPrefix(prefix.to_owned()));
            }
            hyphenated(rest)?
        }
        32 => digits(s.as_bytes())?,
        n => return Err(UuidError::Length(n)),
    };
    let mut out = String::with_capacity(36);
    for (i, c) in hex.iter().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(char::from(*c));
    }
    Ok(out)
}

fn hyphenated(s: &str) -> Result<Vec<u8>, UuidError> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return Err(UuidError::Format);
    }
    let joined: Vec<u8> = b.iter().copied().filter(|c| *c != b'-').collect();
    if joined.len() != 32 {
        return Err(UuidError::Format);
    }
    digits(&joined)
}

fn digits(b: &[u8]) -> Result<Vec<u8>, UuidError> {
    if b.iter().all(u8::is_ascii_hexdigit) {
        Ok(b.iter().map(u8::to_ascii_lowercase).collect())
    } else {
        Err(UuidError::Format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "123e4567-e89b-12d3-a456-426614174000";

    #[test]
    fn accepted_forms_are_canonicalised() {
        assert_eq!(parse(ID).unwrap(), ID);
        assert_eq!(parse(&ID.to_uppercase()).unwrap(), ID);
        assert_eq!(parse(&format!("{{{ID}}}")).unwrap(), ID);
        assert_eq!(parse(&format!("urn:uuid:{ID}")).unwrap(), ID);
        assert_eq!(parse(&ID.replace('-', "")).unwrap(), ID);
    }

    #[test]
    fn errors_match_mediamtx_texts() {
        assert_eq!(
            parse("abc").unwrap_err().to_string(),
            "invalid UUID length: 3"
        );
        assert_eq!(
            parse("123e4567xe89b-12d3-a456-426614174000").unwrap_err(),
            UuidError::Format
        );
        assert_eq!(
            parse("zzze4567-e89b-12d3-a456-426614174000").unwrap_err(),
            UuidError::Format
        );
    }
}
