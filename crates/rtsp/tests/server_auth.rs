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
    assert_eq!(challenges, vec!["Basic realm=\"ipcam\""]);

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
    assert!(challenges[1].contains("realm=\"ipcam\""));
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

/// `?token=` in the URL goes to the shared auth module (here `authMethod: http`), for
/// publishers and readers; a control after the query (`?token=x/trackID=1`, what FFmpeg
/// sends) still names the media.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_in_the_query_authenticates() {
    use ferromtx_codec::rtp;
    let (auth_url, bodies, task) = server_support::token_auth_server("secret").await;
    let conf = format!("authMethod: http\nauthHTTPAddress: {auth_url}\npaths:\n  all_others:\n");
    let (server, paths) = server_with(&conf, settings(vec![AuthMethod::Basic])).await;
    let addr = server.local_addrs().rtsp;
    let sdp = include_bytes!("../testdata/ffmpeg_h264_opus.sdp");

    let url = format!("rtsp://{addr}/cam?token=secret");
    let mut publisher = Client::connect(addr).await;
    let res = publisher
        .request(
            Method::Announce,
            &url,
            &[],
            Some(("application/sdp", bytes::Bytes::from_static(sdp))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // FFmpeg's SETUP URLs for a base with a query: the control follows the query.
    publisher.record_setup_tcp(&url).await;
    let res = publisher.request(Method::Record, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(paths.path_info("cam").is_some_and(|p| p.ready));

    // A wrong token is refused.
    let mut wrong = Client::connect(addr).await;
    let res = wrong
        .request(
            Method::Describe,
            &format!("rtsp://{addr}/cam?token=nope"),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // The right one reads, setting up the second media by its control after the query.
    let mut reader = Client::connect(addr).await;
    let res = reader.request(Method::Describe, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let base = res
        .headers
        .get("Content-Base")
        .expect("Content-Base")
        .to_string();
    assert_eq!(base, format!("{url}/"));
    let res = reader
        .request(
            Method::Setup,
            &format!("{base}trackID=1"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=2-3")],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = reader.request(Method::Play, &base, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let audio = rtp::Packet {
        marker: true,
        payload_type: 97,
        sequence_number: 1,
        timestamp: 960,
        ssrc: 2,
        csrc: Vec::new(),
        extension: None,
        payload: bytes::Bytes::from_static(&[0xfc, 1, 2]),
    };
    publisher.send_frame(2, audio.marshal()).await;
    let f = tokio::time::timeout(server_support::STEP, reader.frame())
        .await
        .expect("audio reaches the reader");
    assert_eq!(f.channel, 2, "the second media was set up");
    assert_eq!(
        rtp::Packet::unmarshal(&f.payload).expect("RTP").payload,
        audio.payload
    );
    let sessions = server.sessions();
    assert!(
        sessions.iter().all(|s| s.query == "token=secret"),
        "{sessions:?}"
    );

    let seen = bodies.lock().expect("lock").clone();
    assert!(
        seen.iter()
            .any(|b| b.contains("\"action\":\"publish\"") && b.contains("\"path\":\"cam\"")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|b| b.contains("\"action\":\"read\"")),
        "{seen:?}"
    );
    task.abort();
    server.close().await;
}
