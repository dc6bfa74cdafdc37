//! The HLS routes, as MediaMTX answers them: `/{path}/` (the player page), `hls.min.js`,
//! `/{path}/index.m3u8` (creates a session: a redirect that checks cookies first), and the
//! media playlists, init segments, segments and parts of the session's muxer.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferromtx_auth::Protocol;
use ferromtx_conf::AuthAction;
use ferromtx_core::{Described, PathError, PathRequest};
use http_body::{Frame, SizeHint};

use super::muxer::MuxerEntry;
use super::query::Query;
use super::session::{self, NewSession, Session};
use super::{Shared, new_uuid};
use crate::page;
use crate::{Answer, Resource};

/// `Access-Control-Allow-Methods` and `-Headers` of a preflight answer.
pub const PREFLIGHT: (&str, &str) = ("OPTIONS, GET", "Authorization, Range");

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A body of shared chunks, sent one after the other (a segment is its parts' bytes):
/// nothing is copied per request.
struct Chunks(VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

/// MediaMTX's `{"status":"error","error":"..."}` body.
fn error(status: StatusCode, message: &str) -> Response {
    let mut body = String::from("{\"status\":\"error\",\"error\":\"");
    for c in message.chars() {
        match c {
            '"' => body.push_str("\\\""),
            '\\' => body.push_str("\\\\"),
            c if (c as u32) < 0x20 => body.push_str(&format!("\\u{:04x}", c as u32)),
            c => body.push(c),
        }
    }
    body.push_str("\"}");
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
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

/// The answer to a refused reader, as MediaMTX gives it.
fn path_error(e: &PathError) -> Response {
    match e {
        PathError::Auth(a) => unauthorized(a.ask_credentials),
        PathError::NoStream(_) => error(StatusCode::NOT_FOUND, &e.to_string()),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Percent-decoded URL path (a path name may hold any character).
fn decode_path(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        if b[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `path.Clean` of an absolute path, without its leading slashes.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/").trim_start_matches(['/', '\\']).to_owned()
}

fn location(path: &str, query: &str, trailing_slash: bool) -> String {
    let mut loc = format!("/{}", clean(path));
    if trailing_slash && !loc.ends_with('/') {
        loc.push('/');
    }
    if !query.is_empty() {
        loc.push('?');
        loc.push_str(query);
    }
    loc
}

fn found(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A partitioned cookie, as MediaMTX sets them.
fn set_cookie(r: &mut Response, name: &str, value: &str) {
    let v = format!("{name}={value}; HttpOnly; Secure; SameSite=None; Partitioned");
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What a request is for.
enum Route {
    Script,
    Page(String),
    Multivariant(String),
    File { dir: String, name: String },
    SlashRedirect,
    NotFound,
}

fn route(path: &str) -> Route {
    let pa = path.strip_prefix('/').unwrap_or(path);
    let split = |pa: &str| match pa.rsplit_once('/') {
        Some((d, f)) => (d.to_owned(), f.to_owned()),
        None => (".".to_owned(), pa.to_owned()),
    };
    if pa.ends_with("/hls.min.js") {
        Route::Script
    } else if pa.is_empty() || pa == "favicon.ico" || pa.ends_with("/hls.min.js.map") {
        Route::NotFound
    } else if pa.ends_with(".m3u8") {
        let (dir, name) = split(pa);
        if name == "index.m3u8" {
            Route::Multivariant(dir)
        } else {
            Route::File { dir, name }
        }
    } else if pa.ends_with(".ts") || pa.ends_with(".mp4") || pa.ends_with(".mp") {
        let (dir, mut name) = split(pa);
        if name.ends_with(".mp") {
            name.push('4');
        }
        Route::File { dir, name }
    } else if let Some(dir) = pa.strip_suffix('/') {
        Route::Page(dir.to_owned())
    } else {
        Route::SlashRedirect
    }
}

/// Who sent a request.
struct Client {
    ip: IpAddr,
    remote: String,
    user_agent: String,
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if req.method() != Method::GET {
        return StatusCode::NOT_FOUND.into_response();
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
    let client = Client {
        ip: peer.ip(),
        remote: peer.to_string(),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    };
    let path = decode_path(req.uri().path());
    let raw_query = req.uri().query().unwrap_or("").to_owned();
    let headers = req.headers().clone();
    drop(req);
    let cdn = !shared.config.cdn_secret.is_empty()
        && headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.strip_prefix("Bearer ") == Some(shared.config.cdn_secret.as_str()));
    match route(&path) {
        Route::Script => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "max-age=3600"),
                (header::CONTENT_TYPE, "application/javascript"),
            ],
            page::HLS_JS,
        )
            .into_response(),
        Route::NotFound => StatusCode::NOT_FOUND.into_response(),
        Route::SlashRedirect => found(&location(&path, &raw_query, true)),
        Route::Page(dir) => player_page(&shared, &dir, &raw_query, &headers, &client).await,
        Route::Multivariant(dir) => {
            multivariant(&shared, &path, &dir, &raw_query, &headers, &client, cdn).await
        }
        Route::File { dir, name } => {
            file(&shared, &dir, &name, &raw_query, &headers, &client, cdn).await
        }
    }
}

async fn player_page(
    shared: &Shared,
    dir: &str,
    query: &str,
    headers: &HeaderMap,
    client: &Client,
) -> Response {
    let req = path_request(dir, query, headers, client, Described::default(), false);
    match shared.paths.authenticate(&req, AuthAction::Read).await {
        Ok(()) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "max-age=3600"),
                (header::CONTENT_TYPE, "text/html"),
            ],
            page::INDEX,
        )
            .into_response(),
        Err(PathError::Auth(a)) => unauthorized(a.ask_credentials),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn path_request(
    name: &str,
    query: &str,
    headers: &HeaderMap,
    client: &Client,
    who: Described,
    skip_auth: bool,
) -> PathRequest {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    PathRequest {
        name: name.to_owned(),
        query: query.to_owned(),
        ip: client.ip,
        credentials: if skip_auth {
            ferromtx_auth::Credentials::default()
        } else {
            ferromtx_auth::credentials_from_http(authorization, query)
        },
        protocol: Protocol::Hls,
        who,
        skip_auth,
    }
}

#[allow(clippy::too_many_arguments)]
async fn multivariant(
    shared: &Arc<Shared>,
    path: &str,
    dir: &str,
    raw_query: &str,
    headers: &HeaderMap,
    client: &Client,
    cdn: bool,
) -> Response {
    if cdn {
        if let Some(m) = shared.muxer(dir) {
            let existing = m.lock_sessions().cdn.clone();
            if let Some(s) = existing {
                s.touch();
                return serve(&m, &s, "index.m3u8", raw_query, true).await;
            }
        }
        return match new_session(shared, dir, raw_query, headers, client, true).await {
            Ok((m, s)) => serve(&m, &s, "index.m3u8", raw_query, true).await,
            Err(r) => r,
        };
    }
    let mut query = Query::parse(raw_query);
    if query.get("cookieCheck") != Some("1") {
        // Partitioned cookies where the browser takes them (HTTPS), else the session
        // travels in the query.
        query.set("cookieCheck", "1");
        let mut r = found(&location(path, &query.encode(), false));
        set_cookie(&mut r, "cookieCheck", "1");
        return r;
    }
    query.del("cookieCheck");
    let session_query = query.encode();
    let (m, s) = match new_session(shared, dir, &session_query, headers, client, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let with_cookie = cookie(headers, "cookieCheck") == Some("1");
    if !with_cookie {
        query.set(session::QUERY_NAME, &s.secret);
    }
    let mut r = serve(&m, &s, "index.m3u8", &query.encode(), false).await;
    if with_cookie {
        set_cookie(&mut r, session::COOKIE_NAME, &s.secret);
    }
    r
}

/// Authenticates a reader of `dir`, attaches it to the path and to the path's muxer.
async fn new_session(
    shared: &Arc<Shared>,
    dir: &str,
    query: &str,
    headers: &HeaderMap,
    client: &Client,
    cdn: bool,
) -> Result<(Arc<MuxerEntry>, Arc<Session>), Response> {
    let id = new_uuid();
    let span = tracing::info_span!(
        parent: None,
        "hls_session",
        component = "HLS",
        session = session::short_id(&id)
    );
    span.in_scope(|| {
        if cdn {
            tracing::info!("created by {} (CDN)", client.remote);
        } else {
            tracing::info!("created by {}", client.remote);
        }
    });
    let who = Described {
        kind: "hlsSession".into(),
        id: id.clone(),
    };
    let req = path_request(dir, query, headers, client, who, cdn);
    let user = req.credentials.user.clone();
    let handle = match shared.paths.add_reader(req).await {
        Ok(h) => h,
        Err(e) => return Err(path_error(&e)),
    };
    let on_demand = handle.conf().source_on_demand;
    let m = shared
        .get_or_create_muxer(dir, &client.remote, query, on_demand)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    if m.instance().await.is_err() {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "muxer instance not available",
        ));
    }
    let s = Arc::new(Session::new(
        NewSession {
            id,
            ip: client.ip,
            remote: client.remote.clone(),
            path: dir.to_owned(),
            query: query.to_owned(),
            user_agent: client.user_agent.clone(),
            is_cdn: cdn,
            span,
        },
        user,
        handle,
    ));
    let replaced = {
        let mut sessions = m.lock_sessions();
        if cdn {
            sessions.cdn.replace(Arc::clone(&s))
        } else {
            sessions.by_secret.insert(s.secret.clone(), Arc::clone(&s));
            None
        }
    };
    if let Some(old) = replaced {
        old.close("replaced by new CDN session");
    }
    s.span
        .in_scope(|| tracing::info!("is reading from muxer '{dir}'"));
    Ok((m, s))
}

async fn file(
    shared: &Arc<Shared>,
    dir: &str,
    name: &str,
    raw_query: &str,
    headers: &HeaderMap,
    client: &Client,
    cdn: bool,
) -> Response {
    let Some(m) = shared.muxer(dir) else {
        return unauthorized(false);
    };
    let s = if cdn {
        m.lock_sessions().cdn.clone()
    } else {
        let secret = cookie(headers, session::COOKIE_NAME)
            .map(str::to_owned)
            .or_else(|| {
                Query::parse(raw_query)
                    .get(session::QUERY_NAME)
                    .map(str::to_owned)
            });
        let found = secret.and_then(|secret| m.lock_sessions().by_secret.get(&secret).cloned());
        found.filter(|s| s.ip == client.ip)
    };
    let Some(s) = s else {
        return unauthorized(false);
    };
    s.touch();
    serve(&m, &s, name, raw_query, cdn).await
}

/// Answers `name` from the muxer and counts the bytes for it and the session.
async fn serve(m: &MuxerEntry, s: &Session, name: &str, query: &str, cdn: bool) -> Response {
    let _in_flight = m.request();
    let Some(instance) = m.current() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "muxer instance not available",
        );
    };
    let answer = instance.get(name, query, &m.cancel).await;
    let (body, content_type) = match answer {
        Answer::Ready(Resource { body, content_type }) => (body, content_type),
        Answer::Stored(content_type) => match &instance.directory {
            Some(dir) => match dir.read(name).await {
                Ok(b) => (vec![b], content_type),
                Err(_) => return StatusCode::NOT_FOUND.into_response(),
            },
            None => return StatusCode::NOT_FOUND.into_response(),
        },
        Answer::BadRequest => return StatusCode::BAD_REQUEST.into_response(),
        Answer::Wait | Answer::NotFound => return StatusCode::NOT_FOUND.into_response(),
    };
    let len: u64 = body.iter().map(|b| b.len() as u64).sum();
    m.add_bytes(len);
    s.add_bytes(len);
    let mut r = Response::new(Body::new(Chunks(body.into())));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !cdn {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_as_mediamtx() {
        assert!(matches!(route("/cam/hls.min.js"), Route::Script));
        assert!(matches!(route("/favicon.ico"), Route::NotFound));
        assert!(matches!(route("/"), Route::NotFound));
        assert!(matches!(route("/a/b/index.m3u8"), Route::Multivariant(d) if d == "a/b"));
        assert!(
            matches!(route("/cam/x_video1_seg3.mp"), Route::File { name, .. } if name == "x_video1_seg3.mp4")
        );
        assert!(
            matches!(route("/cam/video1_stream.m3u8"), Route::File { dir, name } if dir == "cam" && name == "video1_stream.m3u8")
        );
        assert!(matches!(route("/cam/"), Route::Page(d) if d == "cam"));
        assert!(matches!(route("/cam"), Route::SlashRedirect));
        assert_eq!(location("/cam", "a=1", true), "/cam/?a=1");
        assert_eq!(
            location("//x/../cam/index.m3u8", "", false),
            "/cam/index.m3u8"
        );
        assert_eq!(decode_path("/my%20cam/"), "/my cam/");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hlsSession=abc; cookieCheck=1"),
        );
        assert_eq!(cookie(&h, "hlsSession"), Some("abc"));
        assert_eq!(cookie(&h, "cookieCheck"), Some("1"));
        assert_eq!(cookie(&h, "x"), None);
    }
}
