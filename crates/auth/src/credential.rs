//! A configured user name or password: plain, `sha256:<base64>` or
//! `argon2:<PHC string>`.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// An expected user name or password, as written in `authInternalUsers`.
/// `Debug` shows the kind only.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// Empty: anything matches.
    Any,
    Plain(String),
    /// The base64 text after `sha256:`.
    Sha256(String),
    /// The PHC string after `argon2:`.
    Argon2(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Any => "Any",
            Credential::Plain(_) => "Plain(<hidden>)",
            Credential::Sha256(_) => "Sha256(<hidden>)",
            Credential::Argon2(_) => "Argon2(<hidden>)",
        })
    }
}

impl Credential {
    pub(crate) fn parse(value: &str) -> Credential {
        if let Some(hash) = value.strip_prefix("sha256:") {
            Credential::Sha256(hash.to_owned())
        } else if let Some(phc) = value.strip_prefix("argon2:") {
            Credential::Argon2(phc.to_owned())
        } else if value.is_empty() {
            Credential::Any
        } else {
            Credential::Plain(value.to_owned())
        }
    }

    /// Whether checking costs real CPU time (argon2).
    pub(crate) fn is_expensive(&self) -> bool {
        matches!(self, Credential::Argon2(_))
    }

    /// Whether `guess` matches. A malformed hash never matches.
    pub(crate) fn check(&self, guess: &str) -> bool {
        match self {
            Credential::Any => true,
            Credential::Plain(expected) => constant_time_eq(expected.as_bytes(), guess.as_bytes()),
            Credential::Sha256(expected) => {
                let digest = Sha256::digest(guess.as_bytes());
                let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
                constant_time_eq(expected.as_bytes(), encoded.as_bytes())
            }
            Credential::Argon2(phc) => match PasswordHash::new(phc) {
                Ok(hash) => argon2::Argon2::default()
                    .verify_password(guess.as_bytes(), &hash)
                    .is_ok(),
                Err(err) => {
                    tracing::warn!("invalid argon2 hash in configuration: {err}");
                    false
                }
            },
        }
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    #[test]
    fn plain() {
        let c = Credential::parse("testpass");
        assert!(c.check("testpass"));
        assert!(!c.check("testpas"));
        assert!(!c.check("testpasS"));
        assert!(!c.check(""));
    }

    #[test]
    fn empty_matches_anything() {
        let c = Credential::parse("");
        assert_eq!(c, Credential::Any);
        assert!(c.check("whatever"));
        assert!(c.check(""));
    }

    #[test]
    fn sha256() {
        // MediaMTX's documented example: sha256 of "testuser", base64.
        let c = Credential::parse("sha256:rl3rgi4NcZkpAEcacZnQ2VuOfJ0FxAqCRaKB/SwdZoQ=");
        assert!(c.check("testuser"));
        assert!(!c.check("testuser2"));
        assert!(!Credential::parse("sha256:not-base64").check("x"));
    }

    #[test]
    fn argon2_phc() {
        // MediaMTX's documented example (argon2id of "testuser").
        let c = Credential::parse(
            "argon2:$argon2id$v=19$m=4096,t=3,p=1$MTIzNDU2Nzg$Ux/LWeTgJQPyfMMJo1myR64+o8rALHoPmlE1i/TR+58",
        );
        assert!(c.is_expensive());
        assert!(c.check("testuser"));
        assert!(!c.check("testuser2"));
    }

    #[test]
    fn argon2_generated() {
        let params = argon2::Params::new(64, 1, 1, None).unwrap();
        let hasher =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"fixedsalt123").unwrap();
        let phc = hasher.hash_password(b"s3cret", &salt).unwrap().to_string();
        let c = Credential::parse(&format!("argon2:{phc}"));
        assert!(c.check("s3cret"));
        assert!(!c.check("s3cre"));
    }

    #[test]
    fn malformed_argon2_never_matches() {
        let c = Credential::parse("argon2:$argon2id$garbage");
        assert!(!c.check(""));
        assert!(!c.check("garbage"));
    }
}
