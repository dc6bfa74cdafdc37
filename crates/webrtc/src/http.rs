//! WHIP (RFC 9725) / WHEP endpoints, CORS, and the player and publisher pages,
//! with MediaMTX's routes, status codes and error bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;

use crate::auth::{AccessRequest, credentials};
use crate::page;
use crate::server::{
    Backend, Command, IceServer, Media, OpenError, SessionMeta, Shared, WebrtcServer, session_span,
    spawn_session,
};
use crate::session::Session;

/// Largest accepted SDP offer or fragment.
const MAX_SDP_SIZE: usize = 64 * 1024;

/// `Access-Control-Allow-Methods` of the endpoints.
pub const ALLOW_METHODS: &str = "OPTIONS, GET, POST, PATCH, DELETE";
/// `Access-Control-Allow-Headers` of the endpoints.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, If-Match";

impl<B: Backend> WebrtcServer<B> {
    /// The HTTP routes (serve with `into_make_service_with_connect_info::<SocketAddr>()`
    /// to get client addresses in logs and access requests).
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(handle::<B>)
            .with_state(Arc::clone(&self.shared))
    }
}

/// MediaMTX's `{"status":"error","error":"..."}` body.
fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "{{\"status\":\"error\",\"error\":{}}}",
        json_string(message)
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn ok_body(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        "{\"status\":\"ok\"}",
    )
        .into_response()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn unauthorized(ask_credentials: bool) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "authentication error");
    if ask_credentials {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mediamtx\""),
        );
    }
    r
}

/// `Link` header values for the ICE servers (same quoting as MediaMTX).
pub fn link_headers(servers: &[IceServer]) -> Vec<String> {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    servers
        .iter()
        .map(|s| {
            let mut v = format!("<{}>; rel=\"ice-server\"", s.url);
            if let (Some(u), Some(p)) = (&s.username, &s.password) {
                v.push_str(&format!(
                    "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                    quote(u),
                    quote(p)
                ));
            }
            v
        })
        .collect()
}

fn add_links(r: &mut Response, servers: &[IceServer]) {
    for l in link_headers(servers) {
        if let Ok(v) = HeaderValue::from_str(&l) {
            r.headers_mut().append(header::LINK, v);
        }
    }
}

/// A random RFC 4122 version-4 UUID.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::thread_rng().r#gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The route a request path maps to.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/{path}/whip` or `/{path}/whep`.
    Endpoint {
        path: &'a str,
        publish: bool,
    },
    /// `/{path}/whip/{secret}` or `/{path}/whep/{secret}`.
    Session {
        secret: &'a str,
    },
    Other,
}

/// Parses a request path like MediaMTX's `^/(.+?)/(whip|whep)$` and
/// `^/(.+?)/(whip|whep)/(.+?)$`. Path names may contain slashes.
pub fn route(uri_path: &str) -> Route<'_> {
    let Some(rest) = uri_path.strip_prefix('/') else {
        return Route::Other;
    };
    // Earliest "/whip/" or "/whep/" after a non-empty path name, followed by a secret.
    for (i, _) in rest.match_indices('/').filter(|(i, _)| *i > 0) {
        let after = &rest[i + 1..];
        for (kind, publish) in [("whip", true), ("whep", false)] {
            if let Some(tail) = after.strip_prefix(kind) {
                if tail.is_empty() {
                    return Route::Endpoint {
                        path: &rest[..i],
                        publish,
                    };
                }
                if let Some(secret) = tail.strip_prefix('/')
                    && !secret.is_empty()
                {
                    return Route::Session { secret };
                }
            }
        }
    }
    Route::Other
}

fn cors(r: &mut Response, origins: &[String], headers: &HeaderMap) {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allow = if origins.iter().any(|o| o == "*") {
        Some("*".to_owned())
    } else {
        origin
            .filter(|o| origins.iter().any(|a| a == o))
            .map(str::to_owned)
    };
    if let Some(v) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

async fn handle<B: Backend>(State(shared): State<Arc<Shared<B>>>, req: Request) -> Response {
    let headers = req.headers().clone();
    let mut resp = dispatch(&shared, req).await;
    cors(&mut resp, &shared.config.allow_origins, &headers);
    resp
}

async fn dispatch<B: Backend>(shared: &Arc<Shared<B>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri_path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    if method == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
            ],
        )
            .into_response();
    }
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let access = |path: &str, publish: bool, headers: &HeaderMap| AccessRequest {
        path: path.to_owned(),
        query: query.clone(),
        publish,
        ip: remote.map(|r| r.ip()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        credentials: credentials(headers, &query),
        session_id: String::new(),
        offered_audio: None,
    };
    match route(&uri_path) {
        Route::Endpoint { path, publish } => {
            let access = access(path, publish, req.headers());
            match method {
                Method::OPTIONS => options(shared, &access, remote).await,
                Method::POST => {
                    let (parts, body) = req.into_parts();
                    post(shared, &parts.headers, body, access, remote, &query).await
                }
                Method::GET | Method::HEAD | Method::PUT => {
                    error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
        Route::Session { secret } => match method {
            Method::PATCH => {
                let secret = secret.to_owned();
                let (parts, body) = req.into_parts();
                patch(shared, &parts.headers, body, &secret).await
            }
            Method::DELETE => delete(shared, secret),
            _ => StatusCode::NOT_FOUND.into_response(),
        },
        Route::Other if method == Method::GET => {
            let headers = req.headers().clone();
            drop(req);
            pages(shared, &uri_path, &query, remote, |p, publish| {
                access(p, publish, &headers)
            })
            .await
        }
        Route::Other => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn pages<B: Backend>(
    shared: &Arc<Shared<B>>,
    uri_path: &str,
    query: &str,
    remote: Option<SocketAddr>,
    access: impl Fn(&str, bool) -> AccessRequest,
) -> Response {
    if uri_path == "/favicon.ico" || uri_path.len() < 2 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (path, publish) = if let Some(p) = uri_path.strip_suffix("/publish").filter(|p| p.len() > 1)
    {
        (&p[1..], true)
    } else if let Some(p) = uri_path.strip_suffix('/') {
        (&p[1..], false)
    } else {
        let mut loc = format!("/{}/", uri_path.trim_start_matches(['/', '\\']));
        if !query.is_empty() {
            loc.push('?');
            loc.push_str(query);
        }
        return (StatusCode::FOUND, [(header::LOCATION, loc)]).into_response();
    };
    if let Err(e) = shared.backend.authenticate(&access(path, publish)).await {
        return open_error(&e, remote).await;
    }
    let html = if publish { page::PUBLISH } else { page::READ };
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_TYPE, "text/html"),
        ],
        html,
    )
        .into_response()
}

async fn options<B: Backend>(
    shared: &Arc<Shared<B>>,
    access: &AccessRequest,
    remote: Option<SocketAddr>,
) -> Response {
    if let Err(e) = shared.backend.authenticate(access).await {
        return open_error(&e, remote).await;
    }
    let mut r = (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, "Accept-Post, Link"),
        ],
    )
        .into_response();
    r.headers_mut()
        .insert("Accept-Post", HeaderValue::from_static("application/sdp"));
    add_links(&mut r, &shared.config.ice_servers);
    r
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("")
}

async fn read_body(body: Body) -> Option<Bytes> {
    axum::body::to_bytes(body, MAX_SDP_SIZE).await.ok()
}

async fn post<B: Backend>(
    shared: &Arc<Shared<B>>,
    headers: &HeaderMap,
    body: Body,
    mut access: AccessRequest,
    remote: Option<SocketAddr>,
    query: &str,
) -> Response {
    if content_type(headers) != "application/sdp" {
        return error(StatusCode::BAD_REQUEST, "invalid Content-Type");
    }
    let Some(body) = read_body(body).await else {
        return error(StatusCode::BAD_REQUEST, "offer too big");
    };
    let Ok(offer) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid SDP: not UTF-8");
    };
    let id = new_uuid();
    access.session_id = id.clone();
    if !access.publish {
        access.offered_audio = Some(crate::negotiation::offered_audio_codecs(offer));
    }
    let secret = new_uuid();
    let cfg = shared.config.session.clone();
    let candidates = &shared.candidates;
    // The request is authenticated (and the path claimed, or the reader attached) before
    // anything of a peer connection exists: a refused offer costs a request, nothing more.
    let (session, answer, media, tracks) = if access.publish {
        let admitted = match shared.backend.admit_publisher(&access).await {
            Ok(a) => a,
            Err(e) => return open_error(&e, remote).await,
        };
        let accepted = match Session::accept_whip(Instant::now(), offer, candidates, cfg) {
            Ok(a) => a,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let tracks: Vec<_> = accepted.tracks.into_iter().flatten().collect();
        let sink = match shared.backend.start_publisher(admitted, &tracks, query) {
            Ok(s) => s,
            Err(e) => return open_error(&e, remote).await,
        };
        (
            accepted.session,
            accepted.answer,
            Media::Ingress(sink),
            tracks,
        )
    } else {
        let source = match shared.backend.open_reader(&access).await {
            Ok(s) => s,
            Err(e) => return open_error(&e, remote).await,
        };
        let stream_tracks = crate::EgressSource::tracks(&source);
        let accepted =
            match Session::accept_whep(Instant::now(), offer, &stream_tracks, candidates, cfg) {
                Ok(a) => a,
                Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
            };
        let tracks: Vec<_> = accepted.tracks.into_iter().flatten().collect();
        (
            accepted.session,
            accepted.answer,
            Media::Egress(source),
            tracks,
        )
    };
    let codecs: Vec<&str> = tracks.iter().map(|t| t.codec_name()).collect();
    let span = session_span(&id);
    span.in_scope(|| {
        tracing::info!(
            "created by {}",
            remote.map_or_else(|| "unknown".to_owned(), |r| r.to_string())
        );
    });
    let meta = SessionMeta {
        id: id.clone(),
        secret: secret.clone(),
        path: access.path.clone(),
        query: query.to_owned(),
        publish: access.publish,
        remote,
        span,
        tracks_info: format!(
            "{} {} ({})",
            tracks.len(),
            if tracks.len() == 1 { "track" } else { "tracks" },
            codecs.join(", ")
        ),
    };
    spawn_session(Arc::clone(shared), meta, session, media);

    let mut location = format!(
        "/{}/{}/{}",
        access.path,
        if access.publish { "whip" } else { "whep" },
        secret
    );
    if !query.is_empty() {
        location.push('?');
        location.push_str(query);
    }
    let mut r = (StatusCode::CREATED, answer).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag, ID, Accept-Patch, Link, Location"),
    );
    h.insert(header::ETAG, HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("ID", v);
    }
    h.insert(
        "Accept-Patch",
        HeaderValue::from_static("application/trickle-ice-sdpfrag"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    add_links(&mut r, &shared.config.ice_servers);
    r
}

/// MediaMTX's answer to a refusal. A failed authentication that is not a request for
/// credentials is logged and answered after [`ferromtx_auth::PAUSE_AFTER_ERROR`], which
/// slows down guessing without holding other requests.
async fn open_error(e: &OpenError, remote: Option<SocketAddr>) -> Response {
    match e {
        OpenError::NoStream(m) => error(StatusCode::NOT_FOUND, m),
        OpenError::Refused(m) => error(StatusCode::BAD_REQUEST, m),
        OpenError::Unauthorized {
            ask_credentials: true,
            ..
        } => unauthorized(true),
        OpenError::Unauthorized { message, .. } => {
            let who = remote.map_or_else(|| "unknown".to_owned(), |r| r.to_string());
            tracing::info_span!("webrtc", component = "WebRTC")
                .in_scope(|| tracing::info!("connection {who} {message}"));
            tokio::time::sleep(ferromtx_auth::PAUSE_AFTER_ERROR).await;
            unauthorized(false)
        }
    }
}

async fn patch<B: Backend>(
    shared: &Arc<Shared<B>>,
    headers: &HeaderMap,
    body: Body,
    secret: &str,
) -> Response {
    if !is_uuid(secret) {
        return error(StatusCode::BAD_REQUEST, "invalid secret");
    }
    if content_type(headers) != "application/trickle-ice-sdpfrag" {
        return error(StatusCode::BAD_REQUEST, "invalid Content-Type");
    }
    let Some(body) = read_body(body).await else {
        return error(StatusCode::BAD_REQUEST, "fragment too big");
    };
    let text = String::from_utf8_lossy(&body);
    let candidates: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .map(str::to_owned)
        .collect();
    let sent = shared.with_sessions(|s| {
        s.get(secret)
            .map(|h| h.commands.try_send(Command::Candidates(candidates)).is_ok())
    });
    match sent {
        None => error(StatusCode::NOT_FOUND, "session not found"),
        Some(_) => StatusCode::NO_CONTENT.into_response(),
    }
}

fn delete<B: Backend>(shared: &Arc<Shared<B>>, secret: &str) -> Response {
    if !is_uuid(secret) {
        return error(StatusCode::BAD_REQUEST, "invalid secret");
    }
    let found = shared.with_sessions(|s| {
        s.get(secret).map(|h| {
            let _ = h.commands.try_send(Command::Close);
        })
    });
    match found {
        None => error(StatusCode::NOT_FOUND, "session not found"),
        Some(()) => ok_body(StatusCode::OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_like_mediamtx() {
        assert_eq!(
            route("/cam/whep"),
            Route::Endpoint {
                path: "cam",
                publish: false
            }
        );
        assert_eq!(
            route("/a/b/c/whip"),
            Route::Endpoint {
                path: "a/b/c",
                publish: true
            }
        );
        assert_eq!(route("/a/b/whep/xyz"), Route::Session { secret: "xyz" });
        assert_eq!(route("/whep"), Route::Other);
        assert_eq!(route("//whep"), Route::Other);
        assert_eq!(route("/cam/"), Route::Other);
        assert_eq!(route("/cam/whep/"), Route::Other);
    }

    #[test]
    fn link_header_quotes_credentials() {
        let l = link_headers(&[
            IceServer {
                url: "stun:stun.l.google.com:19302".into(),
                username: None,
                password: None,
            },
            IceServer {
                url: "turn:host:3478".into(),
                username: Some("u\"1".into()),
                password: Some("p\\w".into()),
            },
        ]);
        assert_eq!(l[0], "<stun:stun.l.google.com:19302>; rel=\"ice-server\"");
        assert_eq!(
            l[1],
            "<turn:host:3478>; rel=\"ice-server\"; username=\"u\\\"1\"; credential=\"p\\\\w\"; credential-type=\"password\""
        );
    }

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert!(is_uuid(&u), "{u}");
        assert_eq!(&u[14..15], "4");
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn error_body_is_mediamtx_json() {
        assert_eq!(json_string("a\"b\n"), "\"a\\\"b\\n\"");
    }
}
