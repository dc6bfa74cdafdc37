//! `authMethod: internal`.

mod common;

use common::{request, with_user};
use ferromtx_auth::{Manager, Protocol};
use ferromtx_conf::{AuthAction, AuthInternalUser, AuthInternalUserPermission, Conf};

fn user(name: &str, pass: &str, ips: &[&str], perms: &[(AuthAction, &str)]) -> AuthInternalUser {
    AuthInternalUser {
        user: name.to_owned(),
        pass: pass.to_owned(),
        ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
        permissions: perms
            .iter()
            .map(|(a, p)| AuthInternalUserPermission::new(*a, p))
            .collect(),
    }
}

fn conf_with(users: Vec<AuthInternalUser>) -> Conf {
    let mut conf = Conf::default();
    conf.auth_internal_users = users;
    conf
}

#[tokio::test]
async fn default_conf_allows_anyone_to_publish_read_and_play_back() {
    let m = Manager::new(&Conf::default());
    for action in [AuthAction::Publish, AuthAction::Read, AuthAction::Playback] {
        let req = request(action, "cam1", "203.0.113.9", Protocol::Rtsp);
        assert_eq!(m.authenticate(&req).await, Ok(()), "{action:?}");
    }
}

#[tokio::test]
async fn default_conf_allows_api_metrics_pprof_only_from_localhost() {
    let m = Manager::new(&Conf::default());
    for action in [AuthAction::Api, AuthAction::Metrics, AuthAction::Pprof] {
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let req = request(action, "", ip, Protocol::Http);
            assert_eq!(m.authenticate(&req).await, Ok(()), "{action:?} from {ip}");
        }
        for ip in ["192.168.1.10", "127.0.0.2", "::2", "2001:db8::1"] {
            let req = request(action, "", ip, Protocol::Http);
            let err = m.authenticate(&req).await.unwrap_err();
            // no user could match even with credentials: nothing to ask
            assert!(!err.ask_credentials, "{action:?} from {ip}");
            assert_eq!(
                err.to_string(),
                "failed to authenticate: authentication failed"
            );
        }
    }
}

#[tokio::test]
async fn plain_user_and_password() {
    let m = Manager::new(&conf_with(vec![user(
        "myuser",
        "mypass",
        &[],
        &[(AuthAction::Publish, "")],
    )]));
    let req = request(AuthAction::Publish, "cam", "10.0.0.1", Protocol::Rtmp);
    assert_eq!(
        m.authenticate(&with_user(req.clone(), "myuser", "mypass"))
            .await,
        Ok(())
    );
    let wrong = m
        .authenticate(&with_user(req.clone(), "myuser", "wrong"))
        .await
        .unwrap_err();
    assert!(!wrong.ask_credentials);
    let wrong_user = m
        .authenticate(&with_user(req.clone(), "other", "mypass"))
        .await
        .unwrap_err();
    assert!(!wrong_user.ask_credentials);
    // nothing sent: the client is asked for credentials
    let none = m.authenticate(&req).await.unwrap_err();
    assert!(none.ask_credentials);
    // the user may publish, not read
    let read = request(AuthAction::Read, "cam", "10.0.0.1", Protocol::Rtmp);
    let err = m.authenticate(&read).await.unwrap_err();
    assert!(!err.ask_credentials);
    assert!(
        m.authenticate(&with_user(read, "myuser", "mypass"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sha256_and_argon2_hashed_credentials() {
    let m = Manager::new(&conf_with(vec![
        user(
            "sha256:rl3rgi4NcZkpAEcacZnQ2VuOfJ0FxAqCRaKB/SwdZoQ=",
            "sha256:rl3rgi4NcZkpAEcacZnQ2VuOfJ0FxAqCRaKB/SwdZoQ=",
            &[],
            &[(AuthAction::Read, "")],
        ),
        user(
            "argon2:$argon2id$v=19$m=4096,t=3,p=1$MTIzNDU2Nzg$Ux/LWeTgJQPyfMMJo1myR64+o8rALHoPmlE1i/TR+58",
            "argon2:$argon2id$v=19$m=4096,t=3,p=1$MTIzNDU2Nzg$Ux/LWeTgJQPyfMMJo1myR64+o8rALHoPmlE1i/TR+58",
            &[],
            &[(AuthAction::Publish, "")],
        ),
    ]));
    let read = request(AuthAction::Read, "p", "10.0.0.1", Protocol::Rtsp);
    let publish = request(AuthAction::Publish, "p", "10.0.0.1", Protocol::Rtsp);
    assert_eq!(
        m.authenticate(&with_user(read.clone(), "testuser", "testuser"))
            .await,
        Ok(())
    );
    assert!(
        m.authenticate(&with_user(read, "testuser", "nope"))
            .await
            .is_err()
    );
    assert_eq!(
        m.authenticate(&with_user(publish.clone(), "testuser", "testuser"))
            .await,
        Ok(())
    );
    assert!(
        m.authenticate(&with_user(publish.clone(), "testuser", "nope"))
            .await
            .is_err()
    );
    let none = m.authenticate(&publish).await.unwrap_err();
    assert!(none.ask_credentials);
}

#[tokio::test]
async fn ips_filter_user() {
    let m = Manager::new(&conf_with(vec![user(
        "u",
        "p",
        &["10.0.0.0/8", "2001:db8::/32"],
        &[(AuthAction::Read, "")],
    )]));
    let from = |ip: &str| {
        with_user(
            request(AuthAction::Read, "x", ip, Protocol::WebRtc),
            "u",
            "p",
        )
    };
    assert_eq!(m.authenticate(&from("10.1.2.3")).await, Ok(()));
    assert_eq!(m.authenticate(&from("::ffff:10.1.2.3")).await, Ok(()));
    assert_eq!(m.authenticate(&from("2001:db8::5")).await, Ok(()));
    let err = m.authenticate(&from("11.0.0.1")).await.unwrap_err();
    assert!(!err.ask_credentials);
    // from outside, nobody could match: no credentials prompt either
    let anon = request(AuthAction::Read, "x", "11.0.0.1", Protocol::WebRtc);
    assert!(!m.authenticate(&anon).await.unwrap_err().ask_credentials);
}

#[tokio::test]
async fn permission_paths_exact_regex_and_any() {
    let m = Manager::new(&conf_with(vec![
        user("any", "", &[], &[(AuthAction::Read, "public")]),
        user("any", "", &[], &[(AuthAction::Read, "~^open/[a-z]+$")]),
        user("admin", "pw", &[], &[(AuthAction::Publish, "")]),
    ]));
    let read = |path: &str| request(AuthAction::Read, path, "10.0.0.1", Protocol::Hls);
    assert_eq!(m.authenticate(&read("public")).await, Ok(()));
    assert_eq!(m.authenticate(&read("open/cam")).await, Ok(()));
    assert!(m.authenticate(&read("public2")).await.is_err());
    assert!(m.authenticate(&read("open/cam1")).await.is_err());
    let publish = |path: &str| request(AuthAction::Publish, path, "10.0.0.1", Protocol::Srt);
    assert_eq!(
        m.authenticate(&with_user(publish("anything/at/all"), "admin", "pw"))
            .await,
        Ok(())
    );
    assert!(
        m.authenticate(&publish("x"))
            .await
            .unwrap_err()
            .ask_credentials
    );
}

#[tokio::test]
async fn user_with_empty_credentials_acts_as_anonymous() {
    let m = Manager::new(&conf_with(vec![user(
        "",
        "",
        &[],
        &[(AuthAction::Read, "")],
    )]));
    let req = request(AuthAction::Read, "x", "10.0.0.1", Protocol::Rtsp);
    assert_eq!(m.authenticate(&req).await, Ok(()));
}

#[tokio::test]
async fn reload_replaces_users() {
    let m = Manager::new(&conf_with(vec![user(
        "a",
        "1",
        &[],
        &[(AuthAction::Read, "")],
    )]));
    let as_a = with_user(
        request(AuthAction::Read, "x", "10.0.0.1", Protocol::Rtsp),
        "a",
        "1",
    );
    let as_b = with_user(as_a.clone(), "b", "2");
    assert_eq!(m.authenticate(&as_a).await, Ok(()));
    assert!(m.authenticate(&as_b).await.is_err());
    m.reload(&conf_with(vec![user(
        "b",
        "2",
        &[],
        &[(AuthAction::Read, "")],
    )]));
    assert!(m.authenticate(&as_a).await.is_err());
    assert_eq!(m.authenticate(&as_b).await, Ok(()));
}

#[tokio::test]
async fn concurrent_requests_share_one_manager() {
    let m = std::sync::Arc::new(Manager::new(&conf_with(vec![user(
        "u",
        "p",
        &[],
        &[(AuthAction::Read, "")],
    )])));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let pass = if i % 2 == 0 { "p" } else { "bad" };
            let req = with_user(
                request(AuthAction::Read, "x", "10.0.0.1", Protocol::Rtsp),
                "u",
                pass,
            );
            (i, m.authenticate(&req).await.is_ok())
        }));
    }
    for t in tasks {
        let (i, ok) = t.await.unwrap();
        assert_eq!(ok, i % 2 == 0);
    }
}

#[test]
fn pause_after_error_is_two_seconds() {
    assert_eq!(
        ferromtx_auth::PAUSE_AFTER_ERROR,
        std::time::Duration::from_secs(2)
    );
}

#[tokio::test]
async fn users_loaded_from_yaml() {
    let yaml = r#"
authMethod: internal
authInternalUsers:
- user: any
  ips: []
  permissions:
  - action: read
    path: ~^public/
- user: admin
  pass: argon2:$argon2id$v=19$m=4096,t=3,p=1$MTIzNDU2Nzg$Ux/LWeTgJQPyfMMJo1myR64+o8rALHoPmlE1i/TR+58
  ips: ['192.168.0.0/16', '::1']
  permissions:
  - action: publish
  - action: api
- user: sha256:rl3rgi4NcZkpAEcacZnQ2VuOfJ0FxAqCRaKB/SwdZoQ=
  pass: plainpass
  permissions:
  - action: playback
    path: archive
"#;
    let loaded = ferromtx_conf::load_from_str(yaml, &|_| None).unwrap();
    let m = Manager::new(&loaded.conf);
    let req = |action, path: &str, ip: &str| request(action, path, ip, Protocol::Rtsp);
    assert_eq!(
        m.authenticate(&req(AuthAction::Read, "public/a", "8.8.8.8"))
            .await,
        Ok(())
    );
    assert!(
        m.authenticate(&req(AuthAction::Read, "private/a", "8.8.8.8"))
            .await
            .is_err()
    );
    let admin = |ip: &str| with_user(req(AuthAction::Publish, "cam", ip), "admin", "testuser");
    assert_eq!(m.authenticate(&admin("192.168.7.7")).await, Ok(()));
    assert_eq!(m.authenticate(&admin("::1")).await, Ok(()));
    assert!(m.authenticate(&admin("10.0.0.1")).await.is_err());
    let api = with_user(req(AuthAction::Api, "", "::1"), "admin", "testuser");
    assert_eq!(m.authenticate(&api).await, Ok(()));
    let playback = |path: &str| {
        with_user(
            req(AuthAction::Playback, path, "8.8.8.8"),
            "testuser",
            "plainpass",
        )
    };
    assert_eq!(m.authenticate(&playback("archive")).await, Ok(()));
    assert!(m.authenticate(&playback("other")).await.is_err());
}
