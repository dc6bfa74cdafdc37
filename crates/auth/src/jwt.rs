//! `authMethod: jwt`: checking a token and reading its permissions.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;

use ferromtx_conf::AuthAction;

use crate::permission::PermissionSet;
use crate::settings::JwtSettings;

/// Decodes the token header (unverified), to pick the key.
pub(crate) fn header(token: &str) -> Result<Header, String> {
    jsonwebtoken::decode_header(token).map_err(|e| format!("invalid JWT: {e}"))
}

/// Verifies `token` with one of `keys` and returns the permissions found in
/// the claim `settings.claim_key`.
pub(crate) fn verify(
    token: &str,
    header: &Header,
    keys: &JwkSet,
    settings: &JwtSettings,
) -> Result<PermissionSet, String> {
    let candidates: Vec<&Jwk> = match &header.kid {
        Some(kid) => keys.find(kid).into_iter().collect(),
        None => keys.keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(match &header.kid {
            Some(kid) => format!("key '{kid}' not found in JWKS"),
            None => "no key in JWKS".to_owned(),
        });
    }
    let validation = validation(header.alg, settings);
    let mut last_err = String::new();
    for jwk in candidates {
        if !key_allows(jwk, header.alg) {
            last_err = format!("key does not allow algorithm {:?}", header.alg);
            continue;
        }
        let key = match DecodingKey::from_jwk(jwk) {
            Ok(key) => key,
            Err(e) => {
                last_err = format!("unusable key in JWKS: {e}");
                continue;
            }
        };
        match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        ) {
            Ok(data) => return permissions_from_claims(&data.claims, &settings.claim_key),
            Err(e) => last_err = format!("invalid JWT: {e}"),
        }
    }
    Err(last_err)
}

/// Validation as MediaMTX does it: `exp` and `nbf` checked when present
/// (none required), no leeway, issuer and audience when configured.
fn validation(alg: Algorithm, settings: &JwtSettings) -> Validation {
    let mut v = Validation::new(alg);
    v.required_spec_claims.clear();
    v.leeway = 0;
    v.validate_exp = true;
    v.validate_nbf = true;
    if settings.issuer.is_empty() {
        v.iss = None;
    } else {
        v.set_issuer(&[&settings.issuer]);
        v.required_spec_claims.insert("iss".to_owned());
    }
    if settings.audience.is_empty() {
        v.validate_aud = false;
    } else {
        v.set_audience(&[&settings.audience]);
        v.required_spec_claims.insert("aud".to_owned());
    }
    v
}

/// A key restricted to one algorithm (`alg` in the JWK) refuses others.
fn key_allows(jwk: &Jwk, alg: Algorithm) -> bool {
    match jwk.common.key_algorithm {
        None => true,
        Some(key_alg) => key_alg.to_string() == format!("{alg:?}"),
    }
}

#[derive(Deserialize)]
struct ClaimPermission {
    action: String,
    #[serde(default)]
    path: String,
}

/// Reads the permission list: a JSON array of `{action, path}`, or a string
/// holding such an array.
pub(crate) fn permissions_from_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
    claim_key: &str,
) -> Result<PermissionSet, String> {
    let raw = claims
        .get(claim_key)
        .ok_or_else(|| format!("claim '{claim_key}' not found inside JWT"))?;
    let list: Vec<ClaimPermission> = match raw {
        serde_json::Value::String(text) => serde_json::from_str(text),
        other => serde_json::from_value(other.clone()),
    }
    .map_err(|e| format!("invalid claim '{claim_key}': {e}"))?;
    let mut items = Vec::with_capacity(list.len());
    for p in &list {
        let action = AuthAction::parse(&p.action)?;
        items.push((action, p.path.as_str()));
    }
    Ok(PermissionSet::new(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn permissions_as_array() {
        let c = claims(r#"{"perms":[{"action":"publish","path":"cam"},{"action":"api"}]}"#);
        let set = permissions_from_claims(&c, "perms").unwrap();
        assert!(set.allows(AuthAction::Publish, "cam"));
        assert!(!set.allows(AuthAction::Publish, "other"));
        assert!(set.allows(AuthAction::Api, ""));
        assert!(!set.allows(AuthAction::Read, "cam"));
    }

    #[test]
    fn permissions_as_string() {
        let c = claims(r#"{"perms":"[{\"action\":\"read\",\"path\":\"~^a\"}]"}"#);
        let set = permissions_from_claims(&c, "perms").unwrap();
        assert!(set.allows(AuthAction::Read, "abc"));
        assert!(!set.allows(AuthAction::Read, "bc"));
    }

    #[test]
    fn missing_or_malformed_claim() {
        let err = permissions_from_claims(&claims(r#"{"x":1}"#), "perms").unwrap_err();
        assert_eq!(err, "claim 'perms' not found inside JWT");
        assert!(permissions_from_claims(&claims(r#"{"perms":5}"#), "perms").is_err());
        assert!(permissions_from_claims(&claims(r#"{"perms":"nope"}"#), "perms").is_err());
        let err = permissions_from_claims(&claims(r#"{"perms":[{"action":"fly"}]}"#), "perms")
            .unwrap_err();
        assert_eq!(err, "invalid auth action: 'fly'");
    }

    #[test]
    fn garbage_tokens_are_errors() {
        assert!(header("").is_err());
        assert!(header("a.b.c").is_err());
        assert!(header("....").is_err());
    }
}
