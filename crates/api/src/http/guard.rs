//! Per-request layer shared by the API, metrics, pprof and playback servers:
//! `Server` header, CORS (including preflight), client IP and authentication.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferromtx_auth::{Protocol, credentials_from_http};

use super::client_ip::client_ip;
use super::cors::allowed_origin;
use super::{HttpServerKind, HttpSettings};
use crate::backend::Backend;
use crate::dto;

/// State of the per-request layer.
pub(crate) struct Guard {
    pub kind: HttpServerKind,
    pub settings: HttpSettings,
    pub backend: Arc<dyn Backend>,
}

fn unauthorized(ask_credentials: bool) -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        Json(dto::Error::new("authentication error")),
    )
        .into_response();
    // gin's label for JSON, on every HTTP server of MediaMTX.
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if ask_credentials {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mediamtx\""),
        );
    }
    res
}

/// The middleware function.
pub(crate) async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allow_origin = allowed_origin(origin, &g.settings.allow_origins);

    let mut res = handle(&g, req, next).await;

    let h = res.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static("mediamtx"));
    if let Some(v) = allow_origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    res
}

async fn handle(g: &Guard, mut req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let (methods, headers) = g.kind.preflight();
        return (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_METHODS, methods),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, headers),
            ],
        )
            .into_response();
    }

    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let ip = client_ip(peer.ip(), req.headers(), &g.settings.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    if g.kind.client_in_connect_info {
        // A router that knows only the connection's address gets the client's, as told by
        // a trusted proxy.
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
    }

    let Some(action) = g.kind.auth else {
        return next.run(req).await;
    };

    let query = req.uri().query().unwrap_or("").to_owned();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let auth_req = ferromtx_auth::Request {
        action,
        path: String::new(),
        credentials: credentials_from_http(authorization, &query),
        query,
        ip,
        protocol: Protocol::Http,
        id: None,
    };
    if let Err(e) = g.backend.auth().authenticate(&auth_req).await {
        if e.ask_credentials {
            return unauthorized(true);
        }
        tracing::warn!(
            "{} [conn {}] {}",
            g.kind.log_prefix(),
            SocketAddr::new(ip, peer.port()),
            e.message
        );
        // slows down brute force without holding other requests
        tokio::time::sleep(ferromtx_auth::PAUSE_AFTER_ERROR).await;
        return unauthorized(false);
    }
    next.run(req).await
}

/// The client IP as computed from the peer and trusted proxies; available to handlers
/// as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);
