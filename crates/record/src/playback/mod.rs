//! The playback server (`playback`, `playbackAddress`, `playbackEncryption`...): `/list`
//! the recorded spans of a path and `/get` a span as one file, each request authenticated
//! with the `playback` action. Only fMP4 recordings are served, as in MediaMTX.

mod fmp4_out;
mod get;
pub(crate) mod list;
mod mp4_out;
mod segment;
#[cfg(test)]
mod tests;
mod window;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get as route_get;
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use ferromtx_api::component::BoxFuture;
use ferromtx_api::http::ClientIp;
use ferromtx_api::settings::http_settings;
use ferromtx_api::{Backend, Context, HttpServer, HttpServerKind, HttpSettings, Server, dto};
use ferromtx_auth::{Protocol, credentials_from_http};
use ferromtx_conf::{AuthAction, Conf, ConfError, RecordFormat};
use tokio::sync::mpsc;

use crate::store::{self, FindError};
use get::{Format, GetError, Piece};

/// The playback server's kind: MediaMTX's `[playback]` prefix and preflight answer;
/// requests are authenticated here, per path. The handlers see the connection's own
/// address (to trust `X-Forwarded-Proto` from proxies) and the client's as [`ClientIp`].
const KIND: HttpServerKind = HttpServerKind {
    client_in_connect_info: false,
    ..HttpServerKind::PLAYBACK
};

/// Pieces of a `/get` answer waiting to be sent.
const PIECES_IN_FLIGHT: usize = 4;

/// The playback server.
#[derive(Debug)]
pub struct Playback {
    http: HttpServer,
}

impl Server for Playback {
    type Settings = (String, HttpSettings);

    fn settings(conf: &Conf) -> Option<(String, HttpSettings)> {
        if !conf.playback {
            return None;
        }
        Some((
            conf.playback_address.clone(),
            http_settings(HttpServerKind::PLAYBACK, conf)?,
        ))
    }

    fn start<'a>(
        settings: &'a (String, HttpSettings),
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let (address, http) = settings;
            let shared = Arc::new(Shared {
                backend: Arc::clone(&ctx.backend),
                settings: http.clone(),
            });
            let router = Router::new()
                .route("/list", route_get(on_list))
                .route("/get", route_get(on_get))
                .with_state(shared);
            let server = HttpServer::start(
                KIND,
                address,
                http.clone(),
                router,
                Arc::clone(&ctx.backend),
            )
            .await?;
            tracing::info!("{}", server.started_line());
            Ok(Arc::new(Playback { http: server }))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[playback] closing");
            self.http.close().await;
        })
    }
}

struct Shared {
    backend: Arc<dyn Backend>,
    settings: HttpSettings,
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(
    q: &'a Result<Params, axum::extract::rejection::QueryRejection>,
    key: &str,
) -> &'a str {
    q.as_ref()
        .ok()
        .and_then(|q| q.0.get(key))
        .map_or("", String::as_str)
}

/// MediaMTX's error answer, logged at error level unless `quiet`.
fn error(status: StatusCode, message: &str) -> Response {
    tracing::error!("[playback] {message}");
    (status, axum::Json(dto::Error::new(message))).into_response()
}

fn unauthorized(ask_credentials: bool) -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        axum::Json(dto::Error::new("authentication error")),
    )
        .into_response();
    if ask_credentials {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mediamtx\""),
        );
    }
    res
}

/// The checks both endpoints start with: a valid path name, then authentication for the
/// `playback` action on it.
async fn check(
    shared: &Shared,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    client: SocketAddr,
) -> Result<(), Response> {
    if let Err(e) = ferromtx_conf::validate_path_name(path) {
        let reason = match e {
            ConfError::InvalidPathName { reason, .. } => reason,
            other => other.to_string(),
        };
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("invalid path name: {reason} ({path})"),
        ));
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let req = ferromtx_auth::Request {
        action: AuthAction::Playback,
        path: path.to_owned(),
        query: query.to_owned(),
        ip: client.ip(),
        credentials: credentials_from_http(authorization, query),
        protocol: Protocol::Http,
        id: None,
    };
    if let Err(e) = shared.backend.auth().authenticate(&req).await {
        if e.ask_credentials {
            return Err(unauthorized(true));
        }
        tracing::warn!("[playback] [conn {client}] {}", e.message);
        tokio::time::sleep(ferromtx_auth::PAUSE_AFTER_ERROR).await;
        return Err(unauthorized(false));
    }
    Ok(())
}

fn find_error(e: FindError) -> Response {
    match e {
        FindError::NoSegments => error(StatusCode::NOT_FOUND, &e.to_string()),
        FindError::Other(m) => error(StatusCode::BAD_REQUEST, &m),
    }
}

/// Parses an RFC 3339 time; the error is the message a 400 carries.
fn parse_time(raw: &str, what: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(raw).map_err(|e| format!("invalid {what}: {e}"))
}

/// The client's address as told by trusted proxies, with the connection's port.
fn client_addr(peer: SocketAddr, ip: Option<ClientIp>) -> SocketAddr {
    SocketAddr::new(ip.map_or(peer.ip(), |c| c.0), peer.port())
}

async fn on_list(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    client: Option<axum::Extension<ClientIp>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    q: Result<Params, axum::extract::rejection::QueryRejection>,
) -> Response {
    let raw = raw.unwrap_or_default();
    let path = param(&q, "path");
    let client = client_addr(peer, client.map(|c| c.0));
    if let Err(r) = check(&shared, path, &raw, &headers, client).await {
        return r;
    }
    let conf = shared.backend.conf();
    let path_conf = match conf.find_path_conf(path) {
        Ok(m) => m.conf.clone(),
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let mut bounds = [None, None];
    for (slot, key) in bounds.iter_mut().zip(["start", "end"]) {
        let v = param(&q, key);
        if !v.is_empty() {
            match parse_time(v, key) {
                Ok(t) => *slot = Some(t),
                Err(m) => return error(StatusCode::BAD_REQUEST, &m),
            }
        }
    }
    let [start, end] = bounds;
    let name = path.to_owned();
    let found = tokio::task::spawn_blocking(move || {
        let segments = store::find_segments(&path_conf, &name, start, end)?;
        if path_conf.record_format != RecordFormat::Fmp4 {
            return Ok(Err("MPEG-TS format is not supported yet".to_owned()));
        }
        Ok(list::parse(&segments).map(|p| list::concatenate(&p)))
    })
    .await;
    let entries = match found {
        Ok(Ok(Ok(entries))) => entries,
        Ok(Ok(Err(e))) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Ok(Err(e)) => return find_error(e),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Some(entries) = list::clip(entries, start, end) else {
        return find_error(FindError::NoSegments);
    };
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let scheme = match forwarded {
        Some(proto)
            if shared
                .settings
                .trusted_proxies
                .iter()
                .any(|n| n.contains(ferromtx_api::http::canonical(peer.ip()))) =>
        {
            proto.to_owned()
        }
        _ if shared.settings.encryption => "https".into(),
        _ => "http".into(),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        list::json(&entries, &scheme, host, path),
    )
        .into_response()
}

async fn on_get(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    client: Option<axum::Extension<ClientIp>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    q: Result<Params, axum::extract::rejection::QueryRejection>,
) -> Response {
    let raw = raw.unwrap_or_default();
    let path = param(&q, "path");
    let client = client_addr(peer, client.map(|c| c.0));
    if let Err(r) = check(&shared, path, &raw, &headers, client).await {
        return r;
    }
    let start = match parse_time(param(&q, "start"), "start") {
        Ok(t) => t,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    let duration = match get::parse_duration(param(&q, "duration")) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid duration: {e}")),
    };
    let format = match param(&q, "format") {
        "" | "fmp4" => Format::Fmp4,
        "mp4" => Format::Mp4,
        other => return error(StatusCode::BAD_REQUEST, &format!("invalid format: {other}")),
    };
    let conf = shared.backend.conf();
    let path_conf = match conf.find_path_conf(path) {
        Ok(m) => m.conf.clone(),
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let end = list::add(start, duration);
    let name = path.to_owned();
    let (tx, mut rx) = mpsc::channel::<Piece>(PIECES_IN_FLIGHT);
    let task = tokio::task::spawn_blocking(move || {
        let segments = match store::find_segments(&path_conf, &name, Some(start), Some(end)) {
            Ok(s) => s,
            Err(FindError::NoSegments) => {
                let _ = tx.blocking_send(Err(GetError::NoSegments));
                return;
            }
            Err(FindError::Other(e)) => {
                let _ = tx.blocking_send(Err(GetError::Other(e)));
                return;
            }
        };
        if path_conf.record_format != RecordFormat::Fmp4 {
            let _ = tx.blocking_send(Err(GetError::Other(
                "MPEG-TS format is not supported yet".into(),
            )));
            return;
        }
        get::get(&segments, start, duration, format, &tx);
    });
    let first = match rx.recv().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(GetError::NoSegments)) | None => {
            let _ = task.await;
            return find_error(FindError::NoSegments);
        }
        Some(Err(GetError::Other(e))) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let body = Pieces {
        first: Some(first),
        rx,
    };
    (
        StatusCode::OK,
        [
            (header::ACCEPT_RANGES, "none"),
            (header::CONTENT_TYPE, "video/mp4"),
        ],
        Body::new(body),
    )
        .into_response()
}

/// The body of a `/get` answer: pieces as the reading thread hands them out. An error
/// after the first piece is logged and cuts the answer short.
struct Pieces {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Piece>,
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(first))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(bytes))) => Poll::Ready(Some(Ok(http_body::Frame::data(bytes)))),
            Poll::Ready(Some(Err(e))) => {
                tracing::error!("[playback] {e}");
                Poll::Ready(Some(Err(std::io::Error::other(e.to_string()))))
            }
        }
    }
}
