//! A token naming a key id the cached set lacks triggers a new fetch.
//! (The public API waits `MIN_REFETCH_INTERVAL` between such fetches; here
//! the interval is zero so no test waits.)

#[allow(dead_code)]
#[path = "../../tests/common/keys.rs"]
mod keys;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferromtx_conf::{AuthAction, AuthMethod, Conf};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::Manager;
use crate::{Credentials, Protocol, Request};

fn ec_jwks(kid: &str) -> String {
    serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid,
        "x": keys::EC1_X, "y": keys::EC1_Y}]})
    .to_string()
}

fn token(kid: &str) -> String {
    let key = EncodingKey::from_ec_pem(keys::EC1_PEM.as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let claims = serde_json::json!({"mediamtx_permissions": [{"action": "read"}]});
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn unknown_kid_triggers_fetch() {
    let doc = Arc::new(std::sync::Mutex::new(ec_jwks("old")));
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get({
            let (doc, hits) = (doc.clone(), hits.clone());
            move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                doc.lock().unwrap().clone()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let mut conf = Conf::default();
    conf.auth_method = AuthMethod::Jwt;
    conf.auth_jwt_jwks = format!("http://{addr}/jwks");
    let m = Manager::with_refetch_interval(&conf, Duration::ZERO);
    let req = |token: String| Request {
        action: AuthAction::Read,
        path: "cam".to_owned(),
        query: String::new(),
        ip: IpAddr::from([127, 0, 0, 1]),
        credentials: Credentials {
            token,
            ..Credentials::default()
        },
        protocol: Protocol::WebRtc,
        id: None,
    };
    assert_eq!(m.authenticate(&req(token("old"))).await, Ok(()));
    assert_eq!(m.authenticate(&req(token("old"))).await, Ok(()));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    *doc.lock().unwrap() = ec_jwks("new");
    assert_eq!(m.authenticate(&req(token("new"))).await, Ok(()));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // still unknown after a fetch: denied, every attempt fetches (interval 0)
    assert!(m.authenticate(&req(token("other"))).await.is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}
