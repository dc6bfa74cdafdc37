//! The authentication manager shared by every server.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ferromtx_conf::Conf;
use jsonwebtoken::jwk::JwkSet;

use crate::jwks::{self, JwksCache, MIN_REFETCH_INTERVAL};
use crate::request::{Protocol, Request, token_from_query};
use crate::settings::{Method, Settings};
use crate::{Error, http_method, jwt};

/// Authenticates requests according to `authMethod` and its settings.
///
/// Cheap to share behind an `Arc`; [`Manager::reload`] swaps the settings
/// atomically, requests in flight finish with the settings they started with.
#[derive(Debug)]
pub struct Manager {
    settings: RwLock<Arc<Settings>>,
    jwks: tokio::sync::Mutex<JwksCache>,
    min_refetch_interval: Duration,
}

impl Manager {
    pub fn new(conf: &Conf) -> Manager {
        Manager::with_refetch_interval(conf, MIN_REFETCH_INTERVAL)
    }

    pub(crate) fn with_refetch_interval(conf: &Conf, min_refetch_interval: Duration) -> Manager {
        Manager {
            settings: RwLock::new(Arc::new(Settings::from_conf(conf))),
            jwks: tokio::sync::Mutex::new(JwksCache::new(min_refetch_interval)),
            min_refetch_interval,
        }
    }

    /// Applies a new configuration. Cached JWKS keys are dropped on the next
    /// check when the JWKS address or fingerprint changed.
    pub fn reload(&self, conf: &Conf) {
        let new = Arc::new(Settings::from_conf(conf));
        *self
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = new;
    }

    /// Checks whether `req` is allowed.
    pub async fn authenticate(&self, req: &Request) -> Result<(), Error> {
        let settings = self.current();
        let token = match settings.method {
            Method::Internal => String::new(),
            Method::Http => request_token(req, false),
            Method::Jwt => request_token(req, settings.jwt.in_http_query),
        };
        let result = match settings.method {
            Method::Internal => return authenticate_internal(&settings, req).await,
            Method::Http => http_method::authenticate(&settings.http, req, &token).await,
            Method::Jwt => self.authenticate_jwt(&settings, req, &token).await,
        };
        result.map_err(|reason| {
            let ask = req.credentials.user.is_empty()
                && req.credentials.pass.is_empty()
                && token.is_empty();
            tracing::debug!("authentication failed: {reason}");
            Error::new(reason, ask)
        })
    }

    /// Forces the JWKS to be fetched again on the next JWT check
    /// (`POST /v3/auth/jwks/refresh`).
    pub async fn refresh_jwks(&self) {
        self.jwks.lock().await.invalidate();
    }

    fn current(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn authenticate_jwt(
        &self,
        settings: &Settings,
        req: &Request,
        token: &str,
    ) -> Result<(), String> {
        if settings.jwt.exclude.allows(req.action, &req.path) {
            return Ok(());
        }
        if token.is_empty() {
            return Err("JWT not provided".to_owned());
        }
        let header = jwt::header(token)?;
        let keys = self
            .jwks_keys(settings, header.kid.as_deref(), Instant::now())
            .await?;
        let permissions = jwt::verify(token, &header, &keys, &settings.jwt)?;
        if permissions.allows(req.action, &req.path) {
            Ok(())
        } else {
            Err("user doesn't have permission to perform action".to_owned())
        }
    }

    /// The key set, fetched first when the cache says so. One fetch at a
    /// time: concurrent requests wait for it instead of fetching too.
    async fn jwks_keys(
        &self,
        settings: &Settings,
        kid: Option<&str>,
        now: Instant,
    ) -> Result<Arc<JwkSet>, String> {
        let mut cache = self.jwks.lock().await;
        let source = (&settings.jwt.jwks_url, &settings.jwt.jwks_fingerprint);
        if !cache.is_from(source.0, source.1) {
            *cache = JwksCache::new(self.min_refetch_interval);
            cache.set_source(source.0, source.1);
        }
        if cache.needs_fetch(now, kid) {
            let result = match &settings.jwt.client {
                Ok(client) => jwks::fetch(client, &settings.jwt.jwks_url).await,
                Err(e) => Err(e.clone()),
            };
            if let Err(e) = &result {
                tracing::warn!("unable to fetch JWKS from {}: {e}", settings.jwt.jwks_url);
            }
            cache.record(now, result);
        }
        cache.keys()
    }
}

/// The token to check, in MediaMTX's order: an explicit token, else the
/// password, else (RTSP, RTMP, or HTTP when allowed) `token` / `jwt` in
/// the query.
fn request_token(req: &Request, token_in_http_query: bool) -> String {
    let c = &req.credentials;
    if !c.token.is_empty() {
        return c.token.clone();
    }
    if !c.pass.is_empty() {
        return c.pass.clone();
    }
    if matches!(req.protocol, Protocol::Rtsp | Protocol::Rtmp)
        || (token_in_http_query && req.is_http())
    {
        return token_from_query(&req.query).unwrap_or_default();
    }
    String::new()
}

/// `authMethod: internal`.
async fn authenticate_internal(settings: &Arc<Settings>, req: &Request) -> Result<(), Error> {
    // Users whose address filter and permissions fit; credentials decide.
    let candidates: Vec<usize> = settings
        .users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.ip_allowed(req.ip) && u.permissions.allows(req.action, &req.path))
        .map(|(i, _)| i)
        .collect();
    if candidates.iter().any(|&i| settings.users[i].anonymous) {
        return Ok(());
    }
    let no_credentials = req.credentials.user.is_empty() && req.credentials.pass.is_empty();
    let fail = || {
        // Someone could be allowed with credentials: ask for them when none came.
        Err(Error::new(
            "authentication failed",
            no_credentials && !candidates.is_empty(),
        ))
    };
    let cheap: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| !settings.users[i].is_expensive())
        .collect();
    let user = &req.credentials.user;
    let pass = &req.credentials.pass;
    if cheap.iter().any(|&i| settings.users[i].matches(user, pass)) {
        return Ok(());
    }
    // argon2 takes real CPU time: never for empty credentials, and off the
    // async workers.
    let expensive: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| settings.users[i].is_expensive())
        .collect();
    if no_credentials || expensive.is_empty() {
        return fail();
    }
    let check = {
        let settings = settings.clone();
        let (user, pass) = (user.clone(), pass.clone());
        move || {
            expensive
                .iter()
                .any(|&i| settings.users[i].matches(&user, &pass))
        }
    };
    if tokio::task::spawn_blocking(check).await.unwrap_or(false) {
        Ok(())
    } else {
        fail()
    }
}

#[cfg(test)]
mod tests;
