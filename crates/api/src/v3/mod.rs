//! The `/v3` control API: routes, pagination, error bodies.

mod config;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Serialize;

use crate::backend::{Backend, Failure};
use crate::dto;
use crate::pagination::paginate;
use crate::uuid;

/// Largest configuration body accepted (as MediaMTX: 10 MiB).
pub const MAX_INBOUND_CONFIG_SIZE: usize = 10 * 1024 * 1024;

type Shared = State<Arc<dyn Backend>>;

/// Query parameters, in order; the first occurrence of a key wins.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let pairs = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| v)
            .unwrap_or_default();
        Ok(Params(pairs))
    }
}

/// An error answered as `{"status":"error","error":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl ToString) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.to_string(),
        }
    }
    pub(crate) fn invalid_name() -> Self {
        Self::bad_request("invalid name")
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        let status = match f {
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::Invalid(_) => StatusCode::BAD_REQUEST,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            message: f.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::error!("[API] {}", self.message);
        (self.status, Json(dto::Error::new(self.message))).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<Json<T>, ApiError>;

pub(crate) fn ok() -> ApiResult<dto::Ok> {
    Ok(Json(dto::Ok::default()))
}

/// Paginates `items` as asked by `page` / `itemsPerPage`.
pub(crate) fn page<T: Serialize>(mut items: Vec<T>, q: &Params) -> ApiResult<dto::List<T>> {
    let item_count = items.len();
    let page_count = paginate(&mut items, q.get("itemsPerPage"), q.get("page"))
        .map_err(ApiError::bad_request)?;
    Ok(Json(dto::List {
        item_count,
        page_count,
        items,
    }))
}

fn by_id<T>(id: &str, lookup: impl FnOnce(&str) -> Result<T, Failure>) -> ApiResult<T> {
    let id = uuid::parse(id).map_err(ApiError::bad_request)?;
    Ok(Json(lookup(&id)?))
}

fn kick(id: &str, action: impl FnOnce(&str) -> Result<(), Failure>) -> ApiResult<dto::Ok> {
    let id = uuid::parse(id).map_err(ApiError::bad_request)?;
    action(&id)?;
    ok()
}

/// Builds the `/v3` router. Authentication, CORS and TLS are added by [`crate::serve`].
pub fn api_router(backend: Arc<dyn Backend>) -> Router {
    let r = Router::new()
        .route(
            "/v3/info",
            get(|State(b): Shared| async move { Json(b.info()) }),
        )
        .route(
            "/v3/auth/jwks/refresh",
            post(|State(b): Shared| async move {
                b.auth().refresh_jwks().await;
                ok()
            }),
        );
    let r = config::routes(r);
    let r = objects(r);
    // As gin answers: an unknown route, or a known one with another method, is a plain 404.
    r.fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&backend),
            only_running_servers,
        ))
        .layer(axum::middleware::map_response(json_charset))
        .layer(DefaultBodyLimit::max(MAX_INBOUND_CONFIG_SIZE))
        .with_state(backend)
}

/// MediaMTX registers a protocol's routes only while its server runs: with RTSPS off,
/// `/v3/rtspsconns/list` is gin's plain 404, not an empty list.
async fn only_running_servers(
    State(b): Shared,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let group = req
        .uri()
        .path()
        .strip_prefix("/v3/")
        .and_then(|p| p.split('/').next())
        .unwrap_or("");
    if server_running(&b.conf(), group) {
        next.run(req).await
    } else {
        not_found().await
    }
}

/// Whether the server behind a route group of `/v3` runs under `c`; groups that belong to
/// no protocol server always do.
fn server_running(c: &ferromtx_conf::Conf, group: &str) -> bool {
    use ferromtx_conf::Encryption;
    match group {
        "rtspconns" | "rtspsessions" => c.rtsp && c.rtsp_encryption != Encryption::Strict,
        "rtspsconns" | "rtspssessions" => c.rtsp && c.rtsp_encryption != Encryption::No,
        "rtmpconns" => c.rtmp && c.rtmp_encryption != Encryption::Strict,
        "rtmpsconns" => c.rtmp && c.rtmp_encryption != Encryption::No,
        "hlsmuxers" | "hlssessions" => c.hls,
        "webrtcsessions" => c.webrtc,
        "srtconns" => c.srt,
        "moqsessions" => c.moq,
        _ => true,
    }
}

async fn not_found() -> Response {
    let mut r = (StatusCode::NOT_FOUND, "404 page not found").into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain"),
    );
    r
}

/// gin labels every JSON answer `application/json; charset=utf-8`; clients that compare
/// the header whole see the same here.
async fn json_charset(mut r: Response) -> Response {
    let h = r.headers_mut();
    if h.get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json")
    {
        h.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    r
}

macro_rules! list_get {
    ($r:expr, $base:literal, $list:ident, $get:ident) => {{
        let list = get(|State(b): Shared, q: Params| async move { page(b.$list(), &q) });
        let one = get(|State(b): Shared, Path(id): Path<String>| async move {
            by_id(&id, |id| b.$get(id))
        });
        $r.route(concat!("/v3/", $base, "/list"), list)
            .route(concat!("/v3/", $base, "/get/{id}"), one)
    }};
}

macro_rules! kick_route {
    ($r:expr, $base:literal, $kick:ident) => {{
        let kick = post(|State(b): Shared, Path(id): Path<String>| async move {
            kick(&id, |id| b.$kick(id))
        });
        $r.route(concat!("/v3/", $base, "/kick/{id}"), kick)
    }};
}

fn objects(r: Router<Arc<dyn Backend>>) -> Router<Arc<dyn Backend>> {
    let r = r
        .route(
            "/v3/paths/list",
            get(|State(b): Shared, q: Params| async move { page(b.paths(), &q) }),
        )
        .route(
            "/v3/paths/get/{*name}",
            get(|State(b): Shared, Path(name): Path<String>| async move {
                Ok::<_, ApiError>(Json(b.path(&name)?))
            }),
        )
        .route("/v3/paths/get/", get(invalid_name))
        .route(
            "/v3/paths/forward/list",
            get(|State(b): Shared, q: Params| async move {
                let path = q.get("path");
                if path.is_empty() {
                    return Err(ApiError::bad_request("invalid path"));
                }
                page(b.forward_dests(path)?, &q)
            }),
        )
        .route(
            "/v3/paths/forward/get",
            get(|State(b): Shared, q: Params| async move {
                let id = uuid::parse(q.get("id")).map_err(ApiError::bad_request)?;
                let path = q.get("path");
                if path.is_empty() {
                    return Err(ApiError::bad_request("invalid path"));
                }
                Ok(Json(b.forward_dest(path, &id)?))
            }),
        )
        .route(
            "/v3/hlsmuxers/list",
            get(|State(b): Shared, q: Params| async move { page(b.hls_muxers(), &q) }),
        )
        .route(
            "/v3/hlsmuxers/get/{*name}",
            get(|State(b): Shared, Path(name): Path<String>| async move {
                Ok::<_, ApiError>(Json(b.hls_muxer(&name)?))
            }),
        )
        .route("/v3/hlsmuxers/get/", get(invalid_name));
    let r = list_get!(r, "hlssessions", hls_sessions, hls_session);
    let r = kick_route!(r, "hlssessions", kick_hls_session);
    let r = list_get!(r, "rtspconns", rtsp_conns, rtsp_conn);
    let r = list_get!(r, "rtspsessions", rtsp_sessions, rtsp_session);
    let r = kick_route!(r, "rtspsessions", kick_rtsp_session);
    let r = list_get!(r, "rtspsconns", rtsps_conns, rtsps_conn);
    let r = list_get!(r, "rtspssessions", rtsps_sessions, rtsps_session);
    let r = kick_route!(r, "rtspssessions", kick_rtsps_session);
    let r = list_get!(r, "rtmpconns", rtmp_conns, rtmp_conn);
    let r = kick_route!(r, "rtmpconns", kick_rtmp_conn);
    let r = list_get!(r, "rtmpsconns", rtmps_conns, rtmps_conn);
    let r = kick_route!(r, "rtmpsconns", kick_rtmps_conn);
    let r = list_get!(r, "srtconns", srt_conns, srt_conn);
    let r = kick_route!(r, "srtconns", kick_srt_conn);
    let r = list_get!(r, "webrtcsessions", webrtc_sessions, webrtc_session);
    let r = kick_route!(r, "webrtcsessions", kick_webrtc_session);
    let r = list_get!(r, "moqsessions", moq_sessions, moq_session);
    let r = kick_route!(r, "moqsessions", kick_moq_session);
    r.route(
        "/v3/recordings/list",
        get(|State(b): Shared, q: Params| async move { page(b.recordings(), &q) }),
    )
    .route(
        "/v3/recordings/get/{*name}",
        get(|State(b): Shared, Path(name): Path<String>| async move {
            Ok::<_, ApiError>(Json(b.recording(&name)?))
        }),
    )
    .route("/v3/recordings/get/", get(invalid_name))
    .route(
        "/v3/recordings/deletesegment",
        delete(|State(b): Shared, q: Params| async move {
            let start = chrono::DateTime::parse_from_rfc3339(q.get("start"))
                .map_err(|e| ApiError::bad_request(format!("invalid 'start' parameter: {e}")))?;
            b.delete_recording_segment(q.get("path"), start.to_utc())?;
            ok()
        }),
    )
}

pub(crate) async fn invalid_name() -> ApiError {
    ApiError::invalid_name()
}
