//! What is authenticated: the request, its protocol and its credentials.

use std::net::IpAddr;

use base64::Engine as _;
use ferromtx_conf::AuthAction;

/// The protocol a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Rtsp,
    Rtmp,
    Hls,
    WebRtc,
    Srt,
    Moq,
    /// The API, metrics, pprof and playback servers.
    Http,
}

impl Protocol {
    /// MediaMTX spelling, as sent to `authHTTPAddress`. MediaMTX sends an
    /// empty protocol for API, metrics, pprof and playback requests, so
    /// [`Protocol::Http`] is spelled `""`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Rtsp => "rtsp",
            Protocol::Rtmp => "rtmp",
            Protocol::Hls => "hls",
            Protocol::WebRtc => "webrtc",
            Protocol::Srt => "srt",
            Protocol::Moq => "moq",
            Protocol::Http => "",
        }
    }
}

/// Credentials sent by a client: a user and a password, or a token.
/// `Debug` hides the password and the token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub pass: String,
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &str| if s.is_empty() { "" } else { "<hidden>" };
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("pass", &hidden(&self.pass))
            .field("token", &hidden(&self.token))
            .finish()
    }
}

impl Credentials {
    /// True when the client sent nothing at all.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty() && self.pass.is_empty() && self.token.is_empty()
    }
}

/// One authentication request.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: AuthAction,
    /// Path name, for publish, read and playback.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    pub ip: IpAddr,
    pub credentials: Credentials,
    pub protocol: Protocol,
    /// Session or connection id (a UUID in MediaMTX), sent to `authHTTPAddress`.
    pub id: Option<String>,
}

impl Request {
    /// Whether the request came through an HTTP-based server.
    pub(crate) fn is_http(&self) -> bool {
        matches!(
            self.protocol,
            Protocol::Hls | Protocol::WebRtc | Protocol::Http
        ) || matches!(
            self.action,
            AuthAction::Playback | AuthAction::Api | AuthAction::Metrics | AuthAction::Pprof
        )
    }
}

/// Credentials from an HTTP request: `Authorization: Bearer <token>` (or
/// `Bearer <user>:<pass>`), `Authorization: Basic`, or else a `token=` (or
/// legacy `jwt=`) query parameter.
pub fn credentials_from_http(authorization: Option<&str>, query: &str) -> Credentials {
    if let Some(header) = authorization.map(str::trim) {
        if let Some(rest) = strip_scheme(header, "Bearer") {
            let parts: Vec<&str> = rest.split(':').collect();
            if let [user, pass] = parts.as_slice() {
                return Credentials {
                    user: (*user).to_owned(),
                    pass: (*pass).to_owned(),
                    token: String::new(),
                };
            }
            return Credentials {
                token: rest.to_owned(),
                ..Credentials::default()
            };
        }
        if let Some(creds) = strip_scheme(header, "Basic").and_then(basic_credentials) {
            return creds;
        }
    }
    Credentials {
        token: token_from_query(query).unwrap_or_default(),
        ..Credentials::default()
    }
}

/// `token` (or legacy `jwt`) from a query string; only when given exactly once.
pub(crate) fn token_from_query(query: &str) -> Option<String> {
    let single = |key: &str| {
        let mut values = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned());
        match (values.next(), values.next()) {
            (Some(v), None) => Some(v),
            _ => None,
        }
    };
    single("token").or_else(|| single("jwt"))
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = header.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim_start())
}

fn basic_credentials(encoded: &str) -> Option<Credentials> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some(Credentials {
        user: user.to_owned(),
        pass: pass.to_owned(),
        token: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization() {
        // "myuser:mypass"
        let c = credentials_from_http(Some("Basic bXl1c2VyOm15cGFzcw=="), "");
        assert_eq!(c.user, "myuser");
        assert_eq!(c.pass, "mypass");
        assert!(c.token.is_empty());
    }

    #[test]
    fn basic_password_may_contain_colons() {
        // "u:a:b"
        let c = credentials_from_http(Some("basic dTphOmI="), "");
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("u", "a:b"));
    }

    #[test]
    fn malformed_basic_gives_no_credentials() {
        assert!(credentials_from_http(Some("Basic !!!"), "").is_empty());
        // valid base64 but no colon
        assert!(credentials_from_http(Some("Basic dXNlcg=="), "").is_empty());
        assert!(credentials_from_http(Some("Basic"), "").is_empty());
    }

    #[test]
    fn bearer_token_and_bearer_user_pass() {
        let c = credentials_from_http(Some("Bearer abc.def.ghi"), "token=other");
        assert_eq!(c.token, "abc.def.ghi");
        assert!(c.user.is_empty());
        let c = credentials_from_http(Some("Bearer me:secret"), "");
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("me", "secret"));
        assert!(c.token.is_empty());
    }

    #[test]
    fn token_from_query_when_no_header() {
        let c = credentials_from_http(None, "a=1&token=xyz%2B1");
        assert_eq!(c.token, "xyz+1");
        let c = credentials_from_http(None, "jwt=legacy");
        assert_eq!(c.token, "legacy");
        // given twice: ignored, as MediaMTX does
        assert!(credentials_from_http(None, "token=a&token=b").is_empty());
        assert!(credentials_from_http(None, "").is_empty());
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials {
            user: "me".into(),
            pass: "secret-pass".into(),
            token: "secret-token".into(),
        };
        let text = format!("{c:?}");
        assert!(text.contains("me"));
        assert!(!text.contains("secret"));
    }

    #[test]
    fn protocol_spelling() {
        assert_eq!(Protocol::WebRtc.as_str(), "webrtc");
        assert_eq!(Protocol::Moq.as_str(), "moq");
        assert_eq!(Protocol::Http.as_str(), "");
    }
}
