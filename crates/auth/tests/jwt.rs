//! `authMethod: jwt`.

mod common;

use common::keys::{EC1_PEM, RSA1_N, RSA1_PEM, RSA2_N, RSA2_PEM};
use common::{
    JwksServer, closed_port, ec_jwk, jwks, now_secs, request, rsa_jwk, sign, with_token, with_user,
};
use ferromtx_auth::{Manager, Protocol, Request, credentials_from_http};
use ferromtx_conf::{AuthAction, AuthInternalUserPermission, AuthMethod, Conf};
use jsonwebtoken::Algorithm;
use serde_json::json;

fn jwt_conf(url: &str) -> Conf {
    let mut conf = Conf::default();
    conf.auth_method = AuthMethod::Jwt;
    conf.auth_jwt_jwks = url.to_owned();
    conf
}

async fn server() -> JwksServer {
    JwksServer::start(jwks(&[rsa_jwk("rsa1", RSA1_N), ec_jwk("ec1")])).await
}

fn publish_cam1() -> serde_json::Value {
    json!({
        "sub": "someone",
        "mediamtx_permissions": [{"action": "publish", "path": "cam1"}, {"action": "read"}],
    })
}

fn read_req(path: &str) -> Request {
    request(AuthAction::Read, path, "10.0.0.1", Protocol::Rtsp)
}

fn publish_req(path: &str) -> Request {
    request(AuthAction::Publish, path, "10.0.0.1", Protocol::Rtsp)
}

#[tokio::test]
async fn rs256_token_grants_its_permissions_only() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    let token = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &publish_cam1());
    assert_eq!(
        m.authenticate(&with_token(publish_req("cam1"), &token))
            .await,
        Ok(())
    );
    assert_eq!(
        m.authenticate(&with_token(read_req("any/path"), &token))
            .await,
        Ok(())
    );
    let err = m
        .authenticate(&with_token(publish_req("cam2"), &token))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "failed to authenticate: user doesn't have permission to perform action"
    );
    assert!(!err.ask_credentials);
    let api = request(AuthAction::Api, "", "10.0.0.1", Protocol::Http);
    assert!(m.authenticate(&with_token(api, &token)).await.is_err());
    // keys fetched once, then cached
    assert_eq!(jwks.hits(), 1);
}

#[tokio::test]
async fn es256_token() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    let token = sign(Algorithm::ES256, Some("ec1"), EC1_PEM, &publish_cam1());
    assert_eq!(
        m.authenticate(&with_token(publish_req("cam1"), &token))
            .await,
        Ok(())
    );
    // a token without kid is checked against every key
    let token = sign(Algorithm::ES256, None, EC1_PEM, &publish_cam1());
    assert_eq!(
        m.authenticate(&with_token(publish_req("cam1"), &token))
            .await,
        Ok(())
    );
}

#[tokio::test]
async fn token_from_password_or_rtsp_query_or_http_header() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    let token = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &publish_cam1());
    // RTSP/RTMP clients often can only send user:pass
    assert_eq!(
        m.authenticate(&with_user(publish_req("cam1"), "", &token))
            .await,
        Ok(())
    );
    let mut req = request(AuthAction::Publish, "cam1", "10.0.0.1", Protocol::Rtmp);
    req.query = format!("token={token}");
    assert_eq!(m.authenticate(&req).await, Ok(()));
    // HTTP: Authorization: Bearer
    let mut req = request(AuthAction::Read, "cam1", "10.0.0.1", Protocol::WebRtc);
    req.credentials = credentials_from_http(Some(&format!("Bearer {token}")), "");
    assert_eq!(m.authenticate(&req).await, Ok(()));
    // HTTP query, read by the manager only with authJWTInHTTPQuery
    let mut req = request(AuthAction::Read, "cam1", "10.0.0.1", Protocol::Hls);
    req.query = format!("jwt={token}");
    let err = m.authenticate(&req).await.unwrap_err();
    assert!(err.ask_credentials);
    assert_eq!(err.message, "failed to authenticate: JWT not provided");
    let mut conf = jwt_conf(&jwks.url);
    conf.auth_jwt_in_http_query = Some(true);
    m.reload(&conf);
    assert_eq!(m.authenticate(&req).await, Ok(()));
}

#[tokio::test]
async fn bad_signature_expired_and_not_yet_valid_are_denied() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    // signed by rsa2 but claiming to be rsa1
    let forged = sign(Algorithm::RS256, Some("rsa1"), RSA2_PEM, &publish_cam1());
    assert!(
        m.authenticate(&with_token(publish_req("cam1"), &forged))
            .await
            .is_err()
    );

    let mut claims = publish_cam1();
    claims["exp"] = json!(now_secs() - 120);
    let expired = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &claims);
    let err = m
        .authenticate(&with_token(publish_req("cam1"), &expired))
        .await
        .unwrap_err();
    assert!(err.message.contains("xpired"), "{}", err.message);

    let mut claims = publish_cam1();
    claims["exp"] = json!(now_secs() + 3600);
    claims["nbf"] = json!(now_secs() + 1800);
    let early = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &claims);
    assert!(
        m.authenticate(&with_token(publish_req("cam1"), &early))
            .await
            .is_err()
    );

    let mut claims = publish_cam1();
    claims["exp"] = json!(now_secs() + 3600);
    let valid = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &claims);
    assert_eq!(
        m.authenticate(&with_token(publish_req("cam1"), &valid))
            .await,
        Ok(())
    );
}

#[tokio::test]
async fn algorithm_must_fit_the_key() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    // an ES256 signature presented under the RSA key id
    let token = sign(Algorithm::ES256, Some("rsa1"), EC1_PEM, &publish_cam1());
    assert!(
        m.authenticate(&with_token(publish_req("cam1"), &token))
            .await
            .is_err()
    );
    // HS256 with the public modulus as secret (algorithm confusion)
    let key = jsonwebtoken::EncodingKey::from_secret(RSA1_N.as_bytes());
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some("rsa1".to_owned());
    let token = jsonwebtoken::encode(&header, &publish_cam1(), &key).unwrap();
    assert!(
        m.authenticate(&with_token(publish_req("cam1"), &token))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn issuer_and_audience_are_checked() {
    let jwks = server().await;
    let mut conf = jwt_conf(&jwks.url);
    conf.auth_jwt_issuer = "https://issuer.example".to_owned();
    conf.auth_jwt_audience = "mediamtx".to_owned();
    let m = Manager::new(&conf);
    let with = |iss: Option<&str>, aud: Option<serde_json::Value>| {
        let mut c = publish_cam1();
        if let Some(iss) = iss {
            c["iss"] = json!(iss);
        }
        if let Some(aud) = aud {
            c["aud"] = aud;
        }
        with_token(
            publish_req("cam1"),
            &sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &c),
        )
    };
    let good_iss = Some("https://issuer.example");
    assert_eq!(
        m.authenticate(&with(good_iss, Some(json!("mediamtx"))))
            .await,
        Ok(())
    );
    assert_eq!(
        m.authenticate(&with(good_iss, Some(json!(["other", "mediamtx"]))))
            .await,
        Ok(())
    );
    assert!(
        m.authenticate(&with(Some("https://evil"), Some(json!("mediamtx"))))
            .await
            .is_err()
    );
    assert!(
        m.authenticate(&with(None, Some(json!("mediamtx"))))
            .await
            .is_err()
    );
    assert!(
        m.authenticate(&with(good_iss, Some(json!("other"))))
            .await
            .is_err()
    );
    assert!(m.authenticate(&with(good_iss, None)).await.is_err());
}

#[tokio::test]
async fn claim_key_and_string_encoded_permissions() {
    let jwks = server().await;
    let mut conf = jwt_conf(&jwks.url);
    conf.auth_jwt_claim_key = "perms".to_owned();
    let m = Manager::new(&conf);
    let claims = json!({"perms": "[{\"action\":\"read\",\"path\":\"~^cam\"}]"});
    let token = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &claims);
    assert_eq!(
        m.authenticate(&with_token(read_req("cam9"), &token)).await,
        Ok(())
    );
    assert!(
        m.authenticate(&with_token(read_req("xcam"), &token))
            .await
            .is_err()
    );
    // the default claim key is not looked at any more
    let token = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &publish_cam1());
    let err = m
        .authenticate(&with_token(read_req("cam9"), &token))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "failed to authenticate: claim 'perms' not found inside JWT"
    );
}

#[tokio::test]
async fn exclude_skips_token_check() {
    let jwks = server().await;
    let mut conf = jwt_conf(&jwks.url);
    conf.auth_jwt_exclude = vec![AuthInternalUserPermission::new(AuthAction::Read, "public")];
    let m = Manager::new(&conf);
    assert_eq!(m.authenticate(&read_req("public")).await, Ok(()));
    assert_eq!(jwks.hits(), 0);
    let err = m.authenticate(&read_req("private")).await.unwrap_err();
    assert!(err.ask_credentials);
}

#[tokio::test]
async fn garbage_tokens_never_panic() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    for token in [
        "x",
        "a.b.c",
        "....",
        "eyJhbGciOiJub25lIn0.e30.",
        "eyJhbGciOiJSUzI1NiJ9.!!!.!!!",
    ] {
        let err = m
            .authenticate(&with_token(read_req("cam"), token))
            .await
            .unwrap_err();
        assert!(!err.ask_credentials, "{token}");
    }
}

#[tokio::test]
async fn refresh_jwks_picks_up_rotated_keys() {
    let jwks = server().await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    let old = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &publish_cam1());
    let new = sign(Algorithm::RS256, Some("rsa2"), RSA2_PEM, &publish_cam1());
    assert_eq!(
        m.authenticate(&with_token(read_req("x"), &old)).await,
        Ok(())
    );
    jwks.set(jwks_doc_rsa2());
    // just fetched: an unknown key id does not trigger another fetch yet
    assert!(
        m.authenticate(&with_token(read_req("x"), &new))
            .await
            .is_err()
    );
    assert_eq!(jwks.hits(), 1);
    m.refresh_jwks().await;
    assert_eq!(
        m.authenticate(&with_token(read_req("x"), &new)).await,
        Ok(())
    );
    assert_eq!(jwks.hits(), 2);
    assert!(
        m.authenticate(&with_token(read_req("x"), &old))
            .await
            .is_err()
    );
}

fn jwks_doc_rsa2() -> String {
    jwks(&[rsa_jwk("rsa2", RSA2_N)])
}

#[tokio::test]
async fn unreachable_or_invalid_jwks_denies() {
    let token = sign(Algorithm::RS256, Some("rsa1"), RSA1_PEM, &publish_cam1());
    let addr = closed_port().await;
    let m = Manager::new(&jwt_conf(&format!("http://{addr}/jwks")));
    let err = m
        .authenticate(&with_token(read_req("x"), &token))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("JWKS request failed"),
        "{}",
        err.message
    );

    let jwks = JwksServer::start("this is not json".to_owned()).await;
    let m = Manager::new(&jwt_conf(&jwks.url));
    let err = m
        .authenticate(&with_token(read_req("x"), &token))
        .await
        .unwrap_err();
    assert!(err.message.contains("invalid JWKS"), "{}", err.message);
    // failed attempts are spaced out; a forced refresh retries at once
    jwks.set(common::jwks(&[rsa_jwk("rsa1", RSA1_N)]));
    assert!(
        m.authenticate(&with_token(read_req("x"), &token))
            .await
            .is_err()
    );
    assert_eq!(jwks.hits(), 1);
    m.refresh_jwks().await;
    assert_eq!(
        m.authenticate(&with_token(read_req("x"), &token)).await,
        Ok(())
    );
}

#[tokio::test]
async fn reload_to_another_jwks_drops_cached_keys() {
    let first = server().await;
    let second = JwksServer::start(jwks_doc_rsa2()).await;
    let m = Manager::new(&jwt_conf(&first.url));
    let new = sign(Algorithm::RS256, Some("rsa2"), RSA2_PEM, &publish_cam1());
    assert!(
        m.authenticate(&with_token(read_req("x"), &new))
            .await
            .is_err()
    );
    m.reload(&jwt_conf(&second.url));
    assert_eq!(
        m.authenticate(&with_token(read_req("x"), &new)).await,
        Ok(())
    );
    assert_eq!(second.hits(), 1);
}
