//! Authentication through the core: 401 challenges per `rtspAuthMethods`, Basic
//! credentials, and refused credentials.

mod server_support;

use std::time::Duration;

use ferromtx_rtsp::RtspSettings;
use ferromtx_rtsp::auth::{AuthMethod, Sender};
use ferromtx_rtsp::message::{Method, StatusCode};
use server_support::{Client, server_with};

const CONF: &str = "\
authInternalUsers:
- user: myuser
  pass: mypass
  ips: []
  permissions:
  - action: publish
  - action: read
paths:
  all_others:
";

fn settings(methods: Vec<AuthMethod>) -> RtspSettings {
    RtspSettings {
        auth_methods: methods,
        auth_pause: Duration::from_millis(10),
        ..RtspSettings::loopback()
    }
}

#[tokio::test]
async fn missing_credentials_get_a_basic_challenge() {
    let (server, _paths) = server_with(CONF, settings(vec![AuthMethod::Basic])).await;
    let addr = server.local_addrs().rtsp;
    let mut c = Client::connect(addr).await;
    let res = c
        .request(Method::Describe, &format!("rtsp://{addr}/cam"), &[], None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> = res.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(challenges, vec!["Basic realm=\"mediamtx\""]);

    // Same connection, with credentials: authenticated, then no stream.
    let res = c
        .request(
            Method::Describe,
            &format!("rtsp://{addr}/cam"),
            &[("Authorization", "Basic bXl1c2VyOm15cGFzcw==")],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    server.close().await;
}

#[tokio::test]
async fn digest_is_offered_when_configured() {
    let (server, _paths) = server_with(
        CONF,
        settings(vec![AuthMethod::Basic, AuthMethod::DigestMd5]),
    )
    .await;
    let addr = server.local_addrs().rtsp;
    let mut c = Client::connect(addr).await;
    let res = c
        .request(Method::Describe, &format!("rtsp://{addr}/cam"), &[], None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> = res.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Basic "));
    assert!(challenges[1].starts_with("Digest "), "{challenges:?}");
    assert!(challenges[1].contains("realm=\"mediamtx\""));
    server.close().await;
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_the_connection_closed() {
    let (server, _paths) = server_with(CONF, settings(vec![AuthMethod::Basic])).await;
    let addr = server.local_addrs().rtsp;
    let mut c = Client::connect(addr).await;
    // myuser:wrong
    let res = c
        .request(
            Method::Describe,
            &format!("rtsp://{addr}/cam"),
            &[("Authorization", "Basic bXl1c2VyOndyb25n")],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(c.closed_by_server().await);
    server.close().await;
}

#[tokio::test]
async fn digest_credentials_are_verified() {
    let (server, _paths) = server_with(CONF, settings(vec![AuthMethod::DigestMd5])).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/cam");
    let mut c = Client::connect(addr).await;
    let res = c.request(Method::Describe, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<String> = res
        .headers
        .get_all("WWW-Authenticate")
        .map(str::to_string)
        .collect();

    let mut sender =
        Sender::new(challenges.iter().map(String::as_str), "myuser", "mypass").expect("challenge");
    let authorization = sender.authorization(&Method::Describe, &url, "c0ffee");
    assert!(authorization.starts_with("Digest "));
    let res = c
        .request(
            Method::Describe,
            &url,
            &[("Authorization", &authorization)],
            None,
        )
        .await;
    // Authenticated: the path has no stream.
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let mut c = Client::connect(addr).await;
    let res = c.request(Method::Describe, &url, &[], None).await;
    let challenges: Vec<String> = res
        .headers
        .get_all("WWW-Authenticate")
        .map(str::to_string)
        .collect();
    let mut sender =
        Sender::new(challenges.iter().map(String::as_str), "myuser", "wrong").expect("challenge");
    let authorization = sender.authorization(&Method::Describe, &url, "c0ffee");
    let res = c
        .request(
            Method::Describe,
            &url,
            &[("Authorization", &authorization)],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(c.closed_by_server().await);
    server.close().await;
}
