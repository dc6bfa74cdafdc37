//! `authMethod: http`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{AuthServer, closed_port, request, silent_server, with_token, with_user};
use ferromtx_auth::{Manager, Protocol};
use ferromtx_conf::{AuthAction, AuthInternalUserPermission, AuthMethod, Conf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn http_conf(address: &str) -> Conf {
    let mut conf = Conf::default();
    conf.auth_method = AuthMethod::Http;
    conf.auth_http_address = address.to_owned();
    conf.auth_http_exclude = Vec::new();
    conf
}

#[tokio::test]
async fn allowed_on_2xx_with_mediamtx_body() {
    let server = AuthServer::start().await;
    let m = Manager::new(&http_conf(&server.url));
    let mut req = with_user(
        request(
            AuthAction::Publish,
            "cam1",
            "::ffff:10.0.0.7",
            Protocol::Rtsp,
        ),
        "good",
        "pw",
    );
    req.query = "a=1".to_owned();
    req.id = Some("4a1e2b3c-0000-4000-8000-000000000001".to_owned());
    assert_eq!(m.authenticate(&req).await, Ok(()));
    let body = server.last();
    assert_eq!(
        body,
        serde_json::json!({
            "ip": "10.0.0.7",
            "user": "good",
            "password": "pw",
            // the password doubles as token, as MediaMTX does
            "token": "pw",
            "action": "publish",
            "path": "cam1",
            "protocol": "rtsp",
            "id": "4a1e2b3c-0000-4000-8000-000000000001",
            "query": "a=1",
            "userAgent": "",
        })
    );
}

#[tokio::test]
async fn denied_on_other_status_with_reason() {
    let server = AuthServer::start().await;
    let m = Manager::new(&http_conf(&server.url));
    let req = with_user(
        request(AuthAction::Read, "cam1", "10.0.0.7", Protocol::WebRtc),
        "bad",
        "pw",
    );
    let err = m.authenticate(&req).await.unwrap_err();
    assert!(!err.ask_credentials);
    assert_eq!(
        err.message,
        "failed to authenticate: server replied with code 401: nope"
    );
    assert_eq!(server.last()["protocol"], "webrtc");
    assert_eq!(server.last()["id"], serde_json::Value::Null);
}

#[tokio::test]
async fn oversized_denial_body_is_not_quoted() {
    let server = AuthServer::start().await;
    let m = Manager::new(&http_conf(&server.url));
    let req = with_user(
        request(AuthAction::Read, "cam1", "10.0.0.7", Protocol::Rtsp),
        "big",
        "pw",
    );
    let err = m.authenticate(&req).await.unwrap_err();
    assert_eq!(
        err.message,
        "failed to authenticate: server replied with code 403"
    );
}

#[tokio::test]
async fn no_credentials_asks_for_them() {
    let server = AuthServer::start().await;
    let m = Manager::new(&http_conf(&server.url));
    let req = request(AuthAction::Api, "", "10.0.0.7", Protocol::Http);
    let err = m.authenticate(&req).await.unwrap_err();
    assert!(err.ask_credentials);
    assert_eq!(server.last()["action"], "api");
    assert_eq!(server.last()["protocol"], "");
}

#[tokio::test]
async fn token_sent_from_credentials_or_rtsp_query() {
    let server = AuthServer::start().await;
    let m = Manager::new(&http_conf(&server.url));
    let req = with_token(
        request(AuthAction::Read, "x", "10.0.0.7", Protocol::Hls),
        "goodtoken",
    );
    assert_eq!(m.authenticate(&req).await, Ok(()));
    let mut req = request(AuthAction::Read, "x", "10.0.0.7", Protocol::Rtsp);
    req.query = "token=goodtoken".to_owned();
    assert_eq!(m.authenticate(&req).await, Ok(()));
    assert_eq!(server.last()["token"], "goodtoken");
    // HLS: the query is not read by the manager (callers use credentials_from_http)
    let mut req = request(AuthAction::Read, "x", "10.0.0.7", Protocol::Hls);
    req.query = "token=goodtoken".to_owned();
    assert!(m.authenticate(&req).await.is_err());
    assert_eq!(server.last()["token"], "");
}

#[tokio::test]
async fn exclude_skips_the_call() {
    let server = AuthServer::start().await;
    let mut conf = http_conf(&server.url);
    conf.auth_http_exclude = vec![
        AuthInternalUserPermission::new(AuthAction::Api, ""),
        AuthInternalUserPermission::new(AuthAction::Read, "~^public/"),
    ];
    let m = Manager::new(&conf);
    let api = request(AuthAction::Api, "", "10.0.0.7", Protocol::Http);
    let public = request(AuthAction::Read, "public/cam", "10.0.0.7", Protocol::Rtsp);
    assert_eq!(m.authenticate(&api).await, Ok(()));
    assert_eq!(m.authenticate(&public).await, Ok(()));
    assert_eq!(server.calls(), 0);
    let private = request(AuthAction::Read, "private/cam", "10.0.0.7", Protocol::Rtsp);
    assert!(m.authenticate(&private).await.is_err());
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn unreachable_server_denies() {
    let addr = closed_port().await;
    let m = Manager::new(&http_conf(&format!("http://{addr}/auth")));
    let req = with_user(
        request(AuthAction::Read, "x", "10.0.0.7", Protocol::Rtsp),
        "good",
        "pw",
    );
    let err = m.authenticate(&req).await.unwrap_err();
    assert!(
        err.message.contains("HTTP request failed"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn silent_server_times_out_and_denies() {
    let addr = silent_server().await;
    let mut conf = http_conf(&format!("http://{addr}/auth"));
    conf.read_timeout = Duration::from_millis(300);
    let m = Manager::new(&conf);
    let req = with_user(
        request(AuthAction::Read, "x", "10.0.0.7", Protocol::Rtsp),
        "good",
        "pw",
    );
    let res = tokio::time::timeout(Duration::from_secs(30), m.authenticate(&req))
        .await
        .expect("the manager's own timeout must fire first");
    assert!(res.is_err());
}

#[tokio::test]
async fn invalid_address_denies_without_panic() {
    let m = Manager::new(&http_conf("not a url"));
    let req = with_user(
        request(AuthAction::Read, "x", "10.0.0.7", Protocol::Rtsp),
        "good",
        "pw",
    );
    assert!(m.authenticate(&req).await.is_err());
}

/// Serves one fixed answer per connection over TLS, at most `count` times.
async fn tls_server(count: usize) -> std::net::SocketAddr {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let cert = CertificateDer::from_pem_slice(common::keys::TLS_CERT_PEM.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(common::keys::TLS_KEY_PEM.as_bytes()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..count {
            let Ok((sock, _)) = listener.accept().await else {
                break;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn https_with_matching_fingerprint_is_trusted() {
    let addr = tls_server(4).await;
    let req = with_user(
        request(AuthAction::Read, "x", "10.0.0.7", Protocol::Rtsp),
        "good",
        "pw",
    );
    let mut conf = http_conf(&format!("https://{addr}/auth"));
    conf.auth_http_fingerprint = common::keys::TLS_CERT_FINGERPRINT.to_uppercase();
    assert_eq!(Manager::new(&conf).authenticate(&req).await, Ok(()));

    conf.auth_http_fingerprint = "00".repeat(32);
    let err = Manager::new(&conf).authenticate(&req).await.unwrap_err();
    assert!(
        err.message.contains("HTTP request failed"),
        "{}",
        err.message
    );

    // no fingerprint: a self-signed certificate is refused
    conf.auth_http_fingerprint = String::new();
    let err = Manager::new(&conf).authenticate(&req).await.unwrap_err();
    assert!(
        err.message.contains("HTTP request failed"),
        "{}",
        err.message
    );
}
