//! The JSON Web Key Set of `authJWTJWKS`: fetching, parsing and caching.
//!
//! [`JwksCache`] only decides (time is an argument); the manager does the
//! fetching. Keys are fetched on first use, again after
//! [`REFRESH_PERIOD`], when a token names a key id the set lacks, and after
//! [`JwksCache::invalidate`] (`POST /v3/auth/jwks/refresh`). Except for the
//! latter, attempts are at least [`MIN_REFETCH_INTERVAL`] apart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};

use crate::http_method::{MAX_BODY_SIZE, read_limited};

/// Keys are fetched again after this long (as MediaMTX does).
pub(crate) const REFRESH_PERIOD: Duration = Duration::from_secs(60 * 60);

/// Least time between two fetch attempts (unless forced), so forged key
/// ids or a JWKS server that is down cannot turn every request into a fetch.
pub(crate) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct JwksCache {
    keys: Option<Arc<JwkSet>>,
    /// Last fetch attempt, successful or not.
    attempted_at: Option<Instant>,
    /// Last successful fetch.
    fetched_at: Option<Instant>,
    invalidated: bool,
    /// Why the last attempt failed.
    last_error: Option<String>,
    min_refetch_interval: Duration,
    /// Address and fingerprint the keys come from.
    source: (String, String),
}

impl JwksCache {
    pub(crate) fn new(min_refetch_interval: Duration) -> JwksCache {
        JwksCache {
            keys: None,
            attempted_at: None,
            fetched_at: None,
            invalidated: false,
            last_error: None,
            min_refetch_interval,
            source: (String::new(), String::new()),
        }
    }

    /// Whether the cache belongs to this JWKS address and fingerprint.
    pub(crate) fn is_from(&self, url: &str, fingerprint: &str) -> bool {
        self.source.0 == url && self.source.1 == fingerprint
    }

    pub(crate) fn set_source(&mut self, url: &str, fingerprint: &str) {
        self.source = (url.to_owned(), fingerprint.to_owned());
    }

    /// Whether keys must be fetched before checking a token with `kid`.
    /// Apart from [`JwksCache::invalidate`], fetch attempts (failed ones
    /// included) are at least `min_refetch_interval` apart, so neither a
    /// JWKS server that is down nor forged key ids make every request wait
    /// for a fetch.
    pub(crate) fn needs_fetch(&self, now: Instant, kid: Option<&str>) -> bool {
        if self.invalidated {
            return true;
        }
        let since =
            |t: Option<Instant>| t.map_or(Duration::MAX, |t| now.saturating_duration_since(t));
        if since(self.attempted_at) < self.min_refetch_interval {
            return false;
        }
        match &self.keys {
            None => true,
            Some(keys) => {
                since(self.fetched_at) >= REFRESH_PERIOD
                    || kid.is_some_and(|kid| keys.find(kid).is_none())
            }
        }
    }

    /// Records a fetch attempt and its result. Keys from an earlier fetch
    /// stay in use when a new attempt fails.
    pub(crate) fn record(&mut self, now: Instant, result: Result<JwkSet, String>) {
        self.attempted_at = Some(now);
        self.invalidated = false;
        match result {
            Ok(set) => {
                self.keys = Some(Arc::new(set));
                self.fetched_at = Some(now);
                self.last_error = None;
            }
            Err(e) => self.last_error = Some(e),
        }
    }

    /// The cached keys or, when none were ever fetched, why.
    pub(crate) fn keys(&self) -> Result<Arc<JwkSet>, String> {
        match (&self.keys, &self.last_error) {
            (Some(keys), _) => Ok(keys.clone()),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err("JWKS not fetched yet".to_owned()),
        }
    }

    /// Forces a fetch before the next check.
    pub(crate) fn invalidate(&mut self) {
        self.invalidated = true;
    }
}

/// Parses a JWKS document. Keys that cannot be used for signatures (wrong
/// `use`, unsupported type or curve) are skipped with a warning instead of
/// failing the whole set.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<JwkSet, String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet = serde_json::from_slice(body).map_err(|e| format!("invalid JWKS: {e}"))?;
    let keys = raw
        .keys
        .into_iter()
        .filter_map(|value| match serde_json::from_value::<Jwk>(value) {
            Ok(jwk) if !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) => {
                Some(jwk)
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!("skipping unusable key in JWKS: {err}");
                None
            }
        })
        .collect();
    Ok(JwkSet { keys })
}

/// Fetches and parses the key set.
pub(crate) async fn fetch(client: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
    let mut res = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("JWKS request failed: {e}"))?;
    if !res.status().is_success() {
        return Err(format!(
            "JWKS server replied with code {}",
            res.status().as_u16()
        ));
    }
    let body = read_limited(&mut res, MAX_BODY_SIZE).await?;
    parse_jwks(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"{"keys":[
        {"kty":"EC","crv":"P-256","kid":"a","alg":"ES256","use":"sig",
         "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
         "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty":"EC","crv":"P-256","kid":"enc","use":"enc",
         "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
         "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty":"XYZ","kid":"weird"}
    ]}"#;

    fn set() -> JwkSet {
        parse_jwks(SET.as_bytes()).unwrap()
    }

    #[test]
    fn parse_skips_encryption_and_unknown_keys() {
        let set = set();
        assert_eq!(set.keys.len(), 1);
        assert!(set.find("a").is_some());
        assert!(set.find("enc").is_none());
    }

    #[test]
    fn parse_rejects_non_jwks() {
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(b"{\"nokeys\":1}").is_err());
        assert!(parse_jwks(b"{\"keys\":[]}").unwrap().keys.is_empty());
    }

    #[test]
    fn fetch_first_then_cache() {
        let t0 = Instant::now();
        let mut cache = JwksCache::new(MIN_REFETCH_INTERVAL);
        assert!(cache.needs_fetch(t0, Some("a")));
        cache.record(t0, Ok(set()));
        assert!(!cache.needs_fetch(t0 + Duration::from_secs(1), Some("a")));
        assert!(!cache.needs_fetch(t0 + Duration::from_secs(1), None));
    }

    #[test]
    fn failed_first_fetch_is_retried_after_interval() {
        let t0 = Instant::now();
        let mut cache = JwksCache::new(MIN_REFETCH_INTERVAL);
        cache.record(t0, Err("down".into()));
        assert_eq!(cache.keys().unwrap_err(), "down");
        assert!(!cache.needs_fetch(t0 + Duration::from_secs(1), None));
        assert!(cache.needs_fetch(t0 + MIN_REFETCH_INTERVAL, None));
        cache.record(t0 + MIN_REFETCH_INTERVAL, Ok(set()));
        assert!(cache.keys().is_ok());
    }

    #[test]
    fn unknown_kid_refetches_at_most_once_per_interval() {
        let t0 = Instant::now();
        let mut cache = JwksCache::new(MIN_REFETCH_INTERVAL);
        cache.record(t0, Ok(set()));
        assert!(!cache.needs_fetch(t0 + Duration::from_secs(1), Some("new")));
        let later = t0 + MIN_REFETCH_INTERVAL;
        assert!(cache.needs_fetch(later, Some("new")));
        cache.record(later, Err("down".into()));
        // the old keys stay usable, and the failed attempt counts
        assert!(cache.keys().is_ok());
        assert!(!cache.needs_fetch(later + Duration::from_secs(1), Some("new")));
    }

    #[test]
    fn periodic_refresh() {
        let t0 = Instant::now();
        let mut cache = JwksCache::new(MIN_REFETCH_INTERVAL);
        cache.record(t0, Ok(set()));
        assert!(!cache.needs_fetch(t0 + REFRESH_PERIOD - Duration::from_secs(1), Some("a")));
        assert!(cache.needs_fetch(t0 + REFRESH_PERIOD, Some("a")));
    }

    #[test]
    fn invalidate_forces_fetch() {
        let t0 = Instant::now();
        let mut cache = JwksCache::new(MIN_REFETCH_INTERVAL);
        cache.record(t0, Ok(set()));
        cache.invalidate();
        assert!(cache.needs_fetch(t0, Some("a")));
        // a failed forced fetch falls back to the interval
        cache.record(t0, Err("down".into()));
        assert!(!cache.needs_fetch(t0, Some("a")));
        assert!(cache.keys().is_ok());
    }
}
