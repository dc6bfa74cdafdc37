//! Test helpers: key material, a JWKS server, an authentication server and
//! request builders. Every server listens on 127.0.0.1, port 0.

#![allow(dead_code)]

pub mod keys;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use ferromtx_auth::{Credentials, Protocol, Request};
use ferromtx_conf::AuthAction;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

pub fn request(action: AuthAction, path: &str, ip: &str, protocol: Protocol) -> Request {
    Request {
        action,
        path: path.to_owned(),
        query: String::new(),
        ip: ip.parse::<IpAddr>().unwrap(),
        credentials: Credentials::default(),
        protocol,
        id: None,
    }
}

pub fn with_user(mut req: Request, user: &str, pass: &str) -> Request {
    req.credentials.user = user.to_owned();
    req.credentials.pass = pass.to_owned();
    req
}

pub fn with_token(mut req: Request, token: &str) -> Request {
    req.credentials.token = token.to_owned();
    req
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A JWKS server whose document can be swapped and whose fetches are counted.
#[derive(Clone)]
pub struct JwksServer {
    pub url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    pub async fn start(body: String) -> JwksServer {
        let body = Arc::new(Mutex::new(body));
        let hits = Arc::new(AtomicUsize::new(0));
        let state = (body.clone(), hits.clone());
        let router = Router::new()
            .route(
                "/jwks",
                get(
                    |State((body, hits)): State<(Arc<Mutex<String>>, Arc<AtomicUsize>)>| async move {
                        hits.fetch_add(1, Ordering::SeqCst);
                        let text = body.lock().unwrap().clone();
                        ([("content-type", "application/json")], text)
                    },
                ),
            )
            .with_state(state);
        let addr = serve(router).await;
        JwksServer {
            url: format!("http://{addr}/jwks"),
            body,
            hits,
        }
    }

    pub fn set(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub fn rsa_jwk(kid: &str, n: &str) -> serde_json::Value {
    serde_json::json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"})
}

pub fn ec_jwk(kid: &str) -> serde_json::Value {
    serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
        "x": keys::EC1_X, "y": keys::EC1_Y})
}

pub fn jwks(keys: &[serde_json::Value]) -> String {
    serde_json::json!({ "keys": keys }).to_string()
}

/// Signs `claims` with RS256 (`rsa1` or `rsa2` PEM) or ES256 (`ec1`).
pub fn sign(alg: Algorithm, kid: Option<&str>, pem: &str, claims: &serde_json::Value) -> String {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An `authHTTPAddress` server: allows user `good` and token `goodtoken`,
/// denies user `big` with 403 and a 200 KiB body, anything else with 401
/// and body `nope`; keeps every body it got.
#[derive(Clone)]
pub struct AuthServer {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl AuthServer {
    pub async fn start() -> AuthServer {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .route(
                "/auth",
                post(
                    |State(bodies): State<Arc<Mutex<Vec<serde_json::Value>>>>, body: String| async move {
                        let json: serde_json::Value =
                            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                        let allowed = json["user"] == "good" || json["token"] == "goodtoken";
                        let big = json["user"] == "big";
                        bodies.lock().unwrap().push(json);
                        if allowed {
                            (StatusCode::OK, String::new())
                        } else if big {
                            // over the 128 KiB read limit
                            (StatusCode::FORBIDDEN, "x".repeat(200 * 1024))
                        } else {
                            (StatusCode::UNAUTHORIZED, "nope".to_owned())
                        }
                    },
                ),
            )
            .with_state(bodies.clone());
        let addr = serve(router).await;
        AuthServer {
            url: format!("http://{addr}/auth"),
            bodies,
        }
    }

    pub fn calls(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    pub fn last(&self) -> serde_json::Value {
        self.bodies.lock().unwrap().last().cloned().unwrap()
    }
}

/// A TCP server that accepts connections and never answers.
pub async fn silent_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        // Bounded: a test opens at most a few connections.
        for _ in 0..16 {
            match listener.accept().await {
                Ok((sock, _)) => held.push(sock),
                Err(_) => break,
            }
        }
    });
    addr
}

/// An address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
