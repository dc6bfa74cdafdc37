//! `/v3/config/...`: read and change the configuration in force.
//!
//! Changes are made on a copy of the configuration, validated and handed to
//! [`Backend::apply_conf`], which applies them like a reload (the file is not written).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use ferromtx_conf::{Conf, ConfError, PathConf};
use serde_json::Value;

use super::{ApiError, ApiResult, MAX_INBOUND_CONFIG_SIZE, Params, Shared, invalid_name, ok, page};
use crate::backend::Backend;
use crate::dto;

/// Shown instead of passwords.
pub const REDACTED_CREDENTIAL: &str = "<redacted>";

fn redact_field(obj: &mut Value, key: &str) {
    if let Some(v) = obj.get_mut(key)
        && v.as_str().is_some_and(|s| !s.is_empty())
    {
        *v = Value::String(REDACTED_CREDENTIAL.into());
    }
}

/// Global settings with internal users' passwords hidden.
fn redacted_global(conf: &Conf) -> Value {
    let mut v = conf.global_to_json();
    if let Some(users) = v.get_mut("authInternalUsers").and_then(Value::as_array_mut) {
        for u in users {
            redact_field(u, "pass");
        }
    }
    v
}

/// A path configuration with publish/read passwords hidden.
fn redacted_path(p: &PathConf) -> Value {
    let mut v = p.to_json();
    redact_field(&mut v, "publishPass");
    redact_field(&mut v, "readPass");
    v
}

/// Reads a JSON body of at most [`MAX_INBOUND_CONFIG_SIZE`] bytes.
async fn parse_body(body: Body) -> Result<Value, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_INBOUND_CONFIG_SIZE)
        .await
        .map_err(|_| ApiError::bad_request("size exceeds maximum allowed"))?;
    serde_json::from_slice(&bytes).map_err(ApiError::bad_request)
}

/// MediaMTX's answers for path lookups: 404 `path not found`, 400 `path already exists`.
fn conf_error(e: ConfError) -> ApiError {
    match e {
        ConfError::PathNotFound(_) => ApiError {
            status: StatusCode::NOT_FOUND,
            message: "path not found".into(),
        },
        ConfError::PathExists(_) => ApiError::bad_request("path already exists"),
        e => ApiError::bad_request(e),
    }
}

/// Validates and applies `conf`.
async fn apply(b: &dyn Backend, mut conf: Conf) -> ApiResult<dto::Ok> {
    let warnings = conf.validate().map_err(ApiError::bad_request)?;
    for w in warnings {
        tracing::warn!("[API] {w}");
    }
    b.apply_conf(conf).await.map_err(ApiError::bad_request)?;
    ok()
}

/// Runs `change` on a copy of the configuration in force, then applies it.
async fn change(
    b: &dyn Backend,
    change: impl FnOnce(&mut Conf) -> Result<(), ConfError>,
) -> ApiResult<dto::Ok> {
    let mut conf = (*b.conf()).clone();
    change(&mut conf).map_err(conf_error)?;
    apply(b, conf).await
}

async fn global_get(State(b): Shared) -> Json<Value> {
    Json(redacted_global(&b.conf()))
}

async fn global_patch(State(b): Shared, body: Body) -> ApiResult<dto::Ok> {
    let v = parse_body(body).await?;
    change(b.as_ref(), |c| c.patch_global(&v)).await
}

async fn pathdefaults_get(State(b): Shared) -> Json<Value> {
    Json(redacted_path(&b.conf().path_defaults))
}

async fn pathdefaults_patch(State(b): Shared, body: Body) -> ApiResult<dto::Ok> {
    let v = parse_body(body).await?;
    change(b.as_ref(), |c| c.patch_path_defaults(&v)).await
}

async fn paths_list(State(b): Shared, q: Params) -> ApiResult<dto::List<Value>> {
    let conf = b.conf();
    let mut items: Vec<&PathConf> = conf.paths.iter().collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    page(items.into_iter().map(redacted_path).collect(), &q)
}

async fn paths_get(State(b): Shared, Path(name): Path<String>) -> ApiResult<Value> {
    let conf = b.conf();
    let p = conf
        .paths
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            message: "path configuration not found".into(),
        })?;
    Ok(Json(redacted_path(p)))
}

async fn paths_add(State(b): Shared, Path(name): Path<String>, body: Body) -> ApiResult<dto::Ok> {
    let v = parse_body(body).await?;
    change(b.as_ref(), |c| c.add_path(&name, &v)).await
}

async fn paths_patch(State(b): Shared, Path(name): Path<String>, body: Body) -> ApiResult<dto::Ok> {
    let v = parse_body(body).await?;
    change(b.as_ref(), |c| c.patch_path(&name, &v)).await
}

async fn paths_replace(
    State(b): Shared,
    Path(name): Path<String>,
    body: Body,
) -> ApiResult<dto::Ok> {
    let v = parse_body(body).await?;
    change(b.as_ref(), |c| c.replace_path(&name, &v)).await
}

async fn paths_delete(State(b): Shared, Path(name): Path<String>) -> ApiResult<dto::Ok> {
    change(b.as_ref(), |c| c.remove_path(&name)).await
}

pub(super) fn routes(r: Router<Arc<dyn Backend>>) -> Router<Arc<dyn Backend>> {
    r.route("/v3/config/global/get", get(global_get))
        .route("/v3/config/global", get(global_get))
        .route("/v3/config/global/patch", patch(global_patch))
        .route("/v3/config/pathdefaults/get", get(pathdefaults_get))
        .route("/v3/config/pathdefaults/patch", patch(pathdefaults_patch))
        .route("/v3/config/paths/list", get(paths_list))
        .route("/v3/config/paths/get/{*name}", get(paths_get))
        .route("/v3/config/paths/get/", get(invalid_name))
        .route("/v3/config/paths/add/{*name}", post(paths_add))
        .route("/v3/config/paths/add/", post(invalid_name))
        .route("/v3/config/paths/patch/{*name}", patch(paths_patch))
        .route("/v3/config/paths/patch/", patch(invalid_name))
        .route("/v3/config/paths/replace/{*name}", post(paths_replace))
        .route("/v3/config/paths/replace/", post(invalid_name))
        .route("/v3/config/paths/delete/{*name}", delete(paths_delete))
        .route("/v3/config/paths/delete/", delete(invalid_name))
}
