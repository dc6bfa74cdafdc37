//! RTSP authentication: `WWW-Authenticate` challenges and `Authorization` credentials
//! for Basic (RFC 7617) and Digest (RFC 2617 / RFC 7616, MD5 and SHA-256).
//!
//! Server side: [`challenges`] to offer, [`verify`] to check a request. Client side
//! (pull source): [`Sender`] answers the best challenge a server offered.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::message::Method;

/// The realm MediaMTX's RTSP server announces (gortsplib's default, checked against the
/// peer binary).
pub const REALM: &str = "ipcam";

/// Errors from parsing headers and from [`verify`]. Texts follow gortsplib's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authorization header not provided")]
    Missing,
    #[error("invalid authentication header '{0}'")]
    Header(String),
    #[error("unsupported authentication algorithm '{0}'")]
    Algorithm(String),
    #[error("no supported authentication methods found")]
    NoSupportedMethod,
    #[error("wrong nonce")]
    WrongNonce,
    #[error("wrong realm")]
    WrongRealm,
    #[error("wrong URL")]
    WrongUrl,
    #[error("authentication failed")]
    Failed,
}

/// Which methods a server accepts (MediaMTX `rtspAuthMethods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    DigestMd5,
    DigestSha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    fn parse(s: &str) -> Result<Algorithm, AuthError> {
        match s.to_ascii_uppercase().as_str() {
            "MD5" => Ok(Algorithm::Md5),
            "SHA-256" => Ok(Algorithm::Sha256),
            _ => Err(AuthError::Algorithm(s.to_string())),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn hash_hex(self, input: &str) -> String {
        let bytes: Vec<u8> = match self {
            Algorithm::Md5 => Md5::digest(input.as_bytes()).to_vec(),
            Algorithm::Sha256 => Sha256::digest(input.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A `WWW-Authenticate` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: String,
    },
    Digest {
        realm: String,
        nonce: String,
        opaque: Option<String>,
        stale: Option<String>,
        /// `None` means MD5.
        algorithm: Option<Algorithm>,
        qop: Option<String>,
    },
}

/// Splits `k=v, k="v, w"` into pairs; quoted values may hold commas and `\"`.
fn parse_params(s: &str) -> Result<Vec<(String, String)>, AuthError> {
    let err = || AuthError::Header(s.to_string());
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            if c == ',' {
                return Err(err());
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(err());
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(err()),
                    Some('"') => break,
                    Some('\\') => value.push(chars.next().ok_or_else(err)?),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(err());
        }
        out.push((key, value));
    }
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn split_scheme(value: &str) -> (&str, &str) {
    let value = value.trim();
    value.split_once([' ', '\t']).unwrap_or((value, ""))
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let (scheme, rest) = split_scheme(value);
        let params = parse_params(rest)?;
        let required = |k: &str| {
            param(&params, k)
                .map(str::to_string)
                .ok_or_else(|| AuthError::Header(value.to_string()))
        };
        if scheme.eq_ignore_ascii_case("Basic") {
            Ok(Challenge::Basic {
                realm: required("realm")?,
            })
        } else if scheme.eq_ignore_ascii_case("Digest") {
            Ok(Challenge::Digest {
                realm: required("realm")?,
                nonce: required("nonce")?,
                opaque: param(&params, "opaque").map(str::to_string),
                stale: param(&params, "stale").map(str::to_string),
                algorithm: param(&params, "algorithm")
                    .map(Algorithm::parse)
                    .transpose()?,
                qop: param(&params, "qop").map(str::to_string),
            })
        } else {
            Err(AuthError::Header(value.to_string()))
        }
    }
}

fn quote(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// RFC 2617 writes `qop` and `nc` bare; anything not a plain token gets quotes.
fn token_or_quoted(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        s.to_string()
    } else {
        format!("\"{}\"", quote(s))
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Challenge::Basic { realm } => write!(f, "Basic realm=\"{}\"", quote(realm)),
            Challenge::Digest {
                realm,
                nonce,
                opaque,
                stale,
                algorithm,
                qop,
            } => {
                write!(
                    f,
                    "Digest realm=\"{}\", nonce=\"{}\"",
                    quote(realm),
                    quote(nonce)
                )?;
                if let Some(o) = opaque {
                    write!(f, ", opaque=\"{}\"", quote(o))?;
                }
                if let Some(s) = stale {
                    write!(f, ", stale=\"{}\"", quote(s))?;
                }
                if let Some(a) = algorithm {
                    write!(f, ", algorithm=\"{}\"", a.as_str())?;
                }
                if let Some(q) = qop {
                    write!(f, ", qop=\"{}\"", quote(q))?;
                }
                Ok(())
            }
        }
    }
}

/// The `WWW-Authenticate` values a server sends with a 401, one per accepted method.
pub fn challenges(methods: &[AuthMethod], realm: &str, nonce: &str) -> Vec<String> {
    methods
        .iter()
        .map(|m| {
            let digest = |a| Challenge::Digest {
                realm: realm.to_string(),
                nonce: nonce.to_string(),
                opaque: None,
                stale: None,
                algorithm: Some(a),
                qop: None,
            };
            match m {
                AuthMethod::Basic => Challenge::Basic {
                    realm: realm.to_string(),
                },
                AuthMethod::DigestMd5 => digest(Algorithm::Md5),
                AuthMethod::DigestSha256 => digest(Algorithm::Sha256),
            }
            .to_string()
        })
        .collect()
}

/// An `Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        user: String,
        pass: String,
    },
    Digest {
        username: String,
        realm: String,
        nonce: String,
        uri: String,
        response: String,
        opaque: Option<String>,
        algorithm: Option<Algorithm>,
        /// `(qop, nc, cnonce)` when the client used RFC 2617 qop.
        qop: Option<(String, String, String)>,
    },
}

impl Credentials {
    pub fn parse(value: &str) -> Result<Credentials, AuthError> {
        let (scheme, rest) = split_scheme(value);
        if scheme.eq_ignore_ascii_case("Basic") {
            let raw = BASE64
                .decode(rest.trim())
                .map_err(|_| AuthError::Header(value.to_string()))?;
            let text = String::from_utf8(raw).map_err(|_| AuthError::Header(value.to_string()))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| AuthError::Header(value.to_string()))?;
            return Ok(Credentials::Basic {
                user: user.to_string(),
                pass: pass.to_string(),
            });
        }
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::Header(value.to_string()));
        }
        let params = parse_params(rest)?;
        let required = |k: &str| {
            param(&params, k)
                .map(str::to_string)
                .ok_or_else(|| AuthError::Header(value.to_string()))
        };
        let qop = match param(&params, "qop") {
            Some(q) => Some((q.to_string(), required("nc")?, required("cnonce")?)),
            None => None,
        };
        Ok(Credentials::Digest {
            username: required("username")?,
            realm: required("realm")?,
            nonce: required("nonce")?,
            uri: required("uri")?,
            response: required("response")?,
            opaque: param(&params, "opaque").map(str::to_string),
            algorithm: param(&params, "algorithm")
                .map(Algorithm::parse)
                .transpose()?,
            qop,
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { user, pass } => {
                write!(f, "Basic {}", BASE64.encode(format!("{user}:{pass}")))
            }
            Credentials::Digest {
                username,
                realm,
                nonce,
                uri,
                response,
                opaque,
                algorithm,
                qop,
            } => {
                write!(
                    f,
                    "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", \
                     response=\"{}\"",
                    quote(username),
                    quote(realm),
                    quote(nonce),
                    quote(uri),
                    quote(response)
                )?;
                if let Some(o) = opaque {
                    write!(f, ", opaque=\"{}\"", quote(o))?;
                }
                if let Some(a) = algorithm {
                    write!(f, ", algorithm=\"{}\"", a.as_str())?;
                }
                if let Some((q, nc, cnonce)) = qop {
                    write!(
                        f,
                        ", qop={}, nc={}, cnonce=\"{}\"",
                        token_or_quoted(q),
                        token_or_quoted(nc),
                        quote(cnonce)
                    )?;
                }
                Ok(())
            }
        }
    }
}

struct DigestInput<'a> {
    algorithm: Algorithm,
    user: &'a str,
    realm: &'a str,
    pass: &'a str,
    nonce: &'a str,
    method: &'a str,
    uri: &'a str,
    qop: Option<(&'a str, &'a str, &'a str)>,
}

fn digest_response(d: &DigestInput<'_>) -> String {
    let h = |s: &str| d.algorithm.hash_hex(s);
    let ha1 = h(&format!("{}:{}:{}", d.user, d.realm, d.pass));
    let ha2 = h(&format!("{}:{}", d.method, d.uri));
    match d.qop {
        Some((qop, nc, cnonce)) => h(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", d.nonce)),
        None => h(&format!("{ha1}:{}:{ha2}", d.nonce)),
    }
}

/// Compares without an early exit, so timing does not reveal the matching prefix.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether the URI in the credentials names the request URI. As gortsplib: the full
/// URL, or its path; for SETUP also the base URL without `trackID=N`.
fn uri_matches(request_uri: &str, received: &str, is_setup: bool) -> bool {
    if received == request_uri {
        return true;
    }
    if received.starts_with('/') && path_of(request_uri) == Some(received) {
        return true;
    }
    if is_setup
        && let Some(pos) = request_uri.rfind("/trackID=")
        && request_uri[pos + 9..].bytes().all(|b| b.is_ascii_digit())
        && !request_uri[pos + 9..].is_empty()
    {
        let base = &request_uri[..=pos];
        return received == base || format!("{received}/") == base;
    }
    false
}

/// The path and query of an absolute `rtsp://host/path` URL.
fn path_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.find('/').map(|i| &rest[i..])
}

/// Checks a request's `Authorization` value against a user and plain password, for
/// the accepted methods, a realm and the nonce this connection was challenged with.
pub fn verify(
    method: &Method,
    request_uri: &str,
    authorization: Option<&str>,
    (user, pass): (&str, &str),
    methods: &[AuthMethod],
    realm: &str,
    nonce: &str,
) -> Result<(), AuthError> {
    let creds = Credentials::parse(authorization.ok_or(AuthError::Missing)?)?;
    match creds {
        Credentials::Basic { user: u, pass: p } if methods.contains(&AuthMethod::Basic) => {
            if same(&u, user) && same(&p, pass) {
                Ok(())
            } else {
                Err(AuthError::Failed)
            }
        }
        Credentials::Digest {
            username,
            realm: r,
            nonce: n,
            uri,
            response,
            algorithm,
            qop,
            ..
        } => {
            let algorithm = algorithm.unwrap_or(Algorithm::Md5);
            let accepted = match algorithm {
                Algorithm::Md5 => methods.contains(&AuthMethod::DigestMd5),
                Algorithm::Sha256 => methods.contains(&AuthMethod::DigestSha256),
            };
            if !accepted {
                return Err(AuthError::NoSupportedMethod);
            }
            if n != nonce {
                return Err(AuthError::WrongNonce);
            }
            if r != realm {
                return Err(AuthError::WrongRealm);
            }
            if !same(&username, user) {
                return Err(AuthError::Failed);
            }
            if !uri_matches(request_uri, &uri, *method == Method::Setup) {
                return Err(AuthError::WrongUrl);
            }
            let expected = digest_response(&DigestInput {
                algorithm,
                user,
                realm,
                pass,
                nonce,
                method: method.as_str(),
                uri: &uri,
                qop: qop
                    .as_ref()
                    .map(|(q, nc, c)| (q.as_str(), nc.as_str(), c.as_str())),
            });
            if same(&expected, &response.to_ascii_lowercase()) {
                Ok(())
            } else {
                Err(AuthError::Failed)
            }
        }
        Credentials::Basic { .. } => Err(AuthError::NoSupportedMethod),
    }
}

/// Client side: answers the best challenge among a 401's `WWW-Authenticate` values
/// (Digest SHA-256, then Digest MD5, then Basic), as gortsplib's sender does.
#[derive(Debug, Clone)]
pub struct Sender {
    challenge: Challenge,
    user: String,
    pass: String,
    nc: u32,
}

impl Sender {
    pub fn new<'a>(
        www_authenticate: impl IntoIterator<Item = &'a str>,
        user: &str,
        pass: &str,
    ) -> Result<Sender, AuthError> {
        let rank = |c: &Challenge| match c {
            Challenge::Digest {
                algorithm: Some(Algorithm::Sha256),
                ..
            } => 3,
            Challenge::Digest { .. } => 2,
            Challenge::Basic { .. } => 1,
        };
        let challenge = www_authenticate
            .into_iter()
            .filter_map(|v| Challenge::parse(v).ok())
            .max_by_key(rank)
            .ok_or(AuthError::NoSupportedMethod)?;
        Ok(Sender {
            challenge,
            user: user.to_string(),
            pass: pass.to_string(),
            nc: 0,
        })
    }

    /// The `Authorization` value for a request. `cnonce` is used only when the server
    /// asked for `qop=auth`; pass a fresh random string.
    pub fn authorization(&mut self, method: &Method, uri: &str, cnonce: &str) -> String {
        match &self.challenge {
            Challenge::Basic { .. } => Credentials::Basic {
                user: self.user.clone(),
                pass: self.pass.clone(),
            }
            .to_string(),
            Challenge::Digest {
                realm,
                nonce,
                opaque,
                algorithm,
                qop,
                ..
            } => {
                let use_qop = qop
                    .as_deref()
                    .is_some_and(|q| q.split(',').any(|q| q.trim() == "auth"));
                let qop = if use_qop {
                    self.nc = self.nc.wrapping_add(1);
                    Some((
                        "auth".to_string(),
                        format!("{:08x}", self.nc),
                        cnonce.to_string(),
                    ))
                } else {
                    None
                };
                let response = digest_response(&DigestInput {
                    algorithm: algorithm.unwrap_or(Algorithm::Md5),
                    user: &self.user,
                    realm,
                    pass: &self.pass,
                    nonce,
                    method: method.as_str(),
                    uri,
                    qop: qop
                        .as_ref()
                        .map(|(q, nc, c)| (q.as_str(), nc.as_str(), c.as_str())),
                });
                Credentials::Digest {
                    username: self.user.clone(),
                    realm: realm.clone(),
                    nonce: nonce.clone(),
                    uri: uri.to_string(),
                    response,
                    opaque: opaque.clone(),
                    algorithm: *algorithm,
                    qop,
                }
                .to_string()
            }
        }
    }
}
