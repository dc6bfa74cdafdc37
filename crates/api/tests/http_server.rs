//! The shared HTTP server: authentication, trusted proxies, CORS, TLS, shutdown.

mod common;

use std::sync::Arc;

use common::*;
use ferromtx_api::http::IpNetwork;
use ferromtx_api::{Backend, HttpServerKind, HttpSettings};
use serde_json::{Value, json};

fn proxied_settings() -> HttpSettings {
    HttpSettings {
        trusted_proxies: vec!["127.0.0.1".parse::<IpNetwork>().unwrap()],
        ..HttpSettings::default()
    }
}

async fn start_kind(kind: HttpServerKind, settings: HttpSettings) -> Running {
    let b: Arc<dyn Backend> = TestBackend::new(test_conf());
    let router = match kind {
        HttpServerKind::METRICS => ferromtx_api::metrics_router(b.clone()),
        _ => ferromtx_api::api_router(b.clone()),
    };
    start(kind, settings, router, b).await
}

#[tokio::test]
async fn anonymous_from_loopback_is_allowed_by_default_config() {
    let srv = start_kind(HttpServerKind::API, HttpSettings::default()).await;
    let r = client().get(srv.url("/v3/info")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["server"], "mediamtx");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], json!("v0.1.0"));
    srv.stop().await;
}

#[tokio::test]
async fn other_ip_via_trusted_proxy_is_asked_for_credentials() {
    let srv = start_kind(HttpServerKind::API, proxied_settings()).await;
    let r = client()
        .get(srv.url("/v3/paths/list"))
        .header("X-Forwarded-For", "10.0.0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"mediamtx\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"status": "error", "error": "authentication error"})
    );

    // X-Real-Ip is honoured too
    let r = client()
        .get(srv.url("/v3/paths/list"))
        .header("X-Real-Ip", "10.0.0.6")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn forwarding_headers_are_ignored_from_untrusted_peers() {
    let srv = start_kind(HttpServerKind::API, HttpSettings::default()).await;
    let r = client()
        .get(srv.url("/v3/paths/list"))
        .header("X-Forwarded-For", "10.0.0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    srv.stop().await;
}

#[tokio::test]
async fn internal_user_with_basic_bearer_and_token_forms() {
    let srv = start_kind(HttpServerKind::API, proxied_settings()).await;
    let c = client();
    let remote = |rb: reqwest::RequestBuilder| rb.header("X-Forwarded-For", "10.0.0.5");

    let r = remote(c.get(srv.url("/v3/paths/list")))
        .basic_auth("admin", Some("hunter2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "basic");

    let r = remote(c.get(srv.url("/v3/paths/list")))
        .bearer_auth("admin:hunter2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "bearer user:pass");

    // a wrong password: 401 after the pause, without asking for credentials
    let r = remote(c.get(srv.url("/v3/paths/list")))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("www-authenticate").is_none());

    // the internal method has no use for a token: it asks for user and password
    let r = remote(c.get(srv.url("/v3/paths/list?token=abc")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn a_failed_login_does_not_hold_other_requests() {
    let srv = start_kind(HttpServerKind::API, proxied_settings()).await;
    let c = client();
    let slow = {
        let c = c.clone();
        let url = srv.url("/v3/paths/list");
        tokio::spawn(async move {
            c.get(url)
                .header("X-Forwarded-For", "10.0.0.5")
                .basic_auth("admin", Some("wrong"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    // while the failed request waits, a good one is answered
    let mut answered_first = false;
    for _ in 0..50 {
        let r = c.get(srv.url("/v3/info")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        if !slow.is_finished() {
            answered_first = true;
            break;
        }
    }
    assert!(answered_first, "good request waited for the failed one");
    assert_eq!(slow.await.unwrap(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn cors_headers_and_preflight() {
    let settings = HttpSettings {
        allow_origins: vec!["http://example.com".into()],
        ..proxied_settings()
    };
    let srv = start_kind(HttpServerKind::API, settings).await;
    let c = client();
    let r = c
        .get(srv.url("/v3/info"))
        .header("Origin", "http://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://example.com"
    );
    let r = c
        .get(srv.url("/v3/info"))
        .header("Origin", "http://evil.com")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // preflight: answered before authentication, even for a remote client
    let r = c
        .request(reqwest::Method::OPTIONS, srv.url("/v3/config/global/patch"))
        .header("Origin", "http://example.com")
        .header("Access-Control-Request-Method", "PATCH")
        .header("X-Forwarded-For", "10.0.0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        r.headers()["access-control-allow-methods"],
        "OPTIONS, GET, POST, PATCH, DELETE"
    );
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "Authorization, Content-Type"
    );
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://example.com"
    );
    srv.stop().await;

    let srv = start_kind(HttpServerKind::METRICS, HttpSettings::default()).await;
    let r = c
        .request(reqwest::Method::OPTIONS, srv.url("/metrics"))
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["access-control-allow-methods"], "OPTIONS, GET");
    assert_eq!(r.headers()["access-control-allow-headers"], "Authorization");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    srv.stop().await;
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ferromtx-api-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn tls_with_self_signed_certificate() {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = temp_dir("tls");
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let settings = HttpSettings {
        encryption: true,
        server_cert: cert,
        server_key: key,
        ..HttpSettings::default()
    };
    let srv = start_kind(HttpServerKind::API, settings).await;
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let r = c
        .get(format!("https://{}/v3/info", srv.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // plain HTTP on a TLS port does not get an answer
    assert!(client().get(srv.url("/v3/info")).send().await.is_err());
    srv.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn tls_without_usable_files_fails_to_start() {
    let b: Arc<dyn Backend> = TestBackend::new(test_conf());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = HttpSettings {
        encryption: true,
        server_cert: "/nonexistent/server.crt".into(),
        server_key: "/nonexistent/server.key".into(),
        ..HttpSettings::default()
    };
    let r = ferromtx_api::serve_with(
        HttpServerKind::API,
        settings,
        listener,
        ferromtx_api::api_router(b.clone()),
        b,
        std::future::pending(),
    )
    .await;
    assert!(matches!(r, Err(ferromtx_api::ServeError::Tls(_))), "{r:?}");
}

#[tokio::test]
async fn serve_reads_settings_from_conf() {
    let mut conf = test_conf();
    conf.patch_global(&json!({"apiAllowOrigins": ["http://from-conf.example"]}))
        .unwrap();
    let b: Arc<dyn Backend> = TestBackend::new(conf);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ferromtx_api::serve(
        HttpServerKind::API,
        listener,
        ferromtx_api::api_router(b.clone()),
        b,
        async move {
            let _ = rx.await;
        },
    ));
    let r = client()
        .get(format!("http://{addr}/v3/info"))
        .header("Origin", "http://from-conf.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://from-conf.example"
    );
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

/// A client that sends a request's head and withholds the body it announced is cut off at
/// readTimeout (as MediaMTX's Go server does), rather than holding its connection and the
/// handler's task forever.
#[tokio::test]
async fn a_withheld_body_is_cut_off_at_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let settings = HttpSettings {
        read_timeout: std::time::Duration::from_millis(300),
        ..HttpSettings::default()
    };
    let srv = start_kind(HttpServerKind::API, settings).await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(
        b"PATCH /v3/config/global/patch HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"logLevel\"",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut got));
    assert!(
        read.await.is_ok(),
        "the connection is still open 20 s after readTimeout (300 ms)"
    );
    let head = String::from_utf8_lossy(&got);
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // The configuration did not change.
    let r = client()
        .get(srv.url("/v3/config/global/get"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["logLevel"], json!("info"));
    srv.stop().await;
}
