//! `authMethod: http`: an external service at `authHTTPAddress` decides.
//!
//! The request is POSTed as JSON; any 2xx status allows it, anything else
//! (or no answer within the timeout) denies it.

use serde::Serialize;

use crate::request::Request;
use crate::settings::HttpSettings;

/// Largest response body read from an authentication or JWKS server.
pub(crate) const MAX_BODY_SIZE: usize = 128 * 1024;

/// How much of a denial body is quoted in the error message.
const MAX_QUOTED_BODY: usize = 1024;

/// The JSON body MediaMTX sends to `authHTTPAddress`.
#[derive(Debug, Serialize)]
struct AuthBody<'a> {
    ip: String,
    user: &'a str,
    password: &'a str,
    token: &'a str,
    action: &'static str,
    path: &'a str,
    protocol: &'static str,
    id: Option<&'a str>,
    query: &'a str,
    #[serde(rename = "userAgent")]
    user_agent: &'static str,
}

/// Asks the external service. `Err` holds the reason of a denial.
pub(crate) async fn authenticate(
    settings: &HttpSettings,
    req: &Request,
    token: &str,
) -> Result<(), String> {
    if settings.exclude.allows(req.action, &req.path) {
        return Ok(());
    }
    let client = settings.client.as_ref().map_err(Clone::clone)?;
    let body = AuthBody {
        ip: req.ip.to_canonical().to_string(),
        user: &req.credentials.user,
        password: &req.credentials.pass,
        token,
        action: req.action.as_str(),
        path: &req.path,
        protocol: req.protocol.as_str(),
        id: req.id.as_deref(),
        query: &req.query,
        user_agent: "",
    };
    let encoded = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let mut res = client
        .post(&settings.address)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(encoded)
        .send()
        .await
        .map_err(|e| format!("HTTP request failed: {e}"))?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    let code = status.as_u16();
    match read_limited(&mut res, MAX_BODY_SIZE).await {
        Ok(body) if !body.is_empty() => {
            let text = String::from_utf8_lossy(&body);
            let quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();
            Err(format!("server replied with code {code}: {quoted}"))
        }
        _ => Err(format!("server replied with code {code}")),
    }
}

/// Reads a response body, failing when it is longer than `limit`.
pub(crate) async fn read_limited(
    res: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err("size exceeds maximum allowed".to_owned());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
