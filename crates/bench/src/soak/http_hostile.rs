//! Hostile HTTP input on every HTTP listener (API, WHEP/WHIP, metrics, pprof): very large
//! bodies, many idle keep-alive connections, and malformed JSON on every API write.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::exchange::{bytes, exchange, status_of};
use super::{Checks, Outcome, Scale, Target, hostile};

/// Bound of one exchange that must end with an error status.
const ANSWER_BOUND: Duration = Duration::from_secs(15);

/// A request with a body of `len` bytes, as an HTTP/1.1 head.
fn request_head(
    method: &str,
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    len: usize,
) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {len}\r\n\r\n"
    )
}

/// Where a large body is sent: (name, method, listener, path, content type).
type BodyTarget = (&'static str, &'static str, SocketAddr, String, &'static str);

fn body_targets(target: &Target) -> Vec<BodyTarget> {
    vec![
        (
            "API config patch",
            "PATCH",
            target.api,
            "/v3/config/global/patch".into(),
            "application/json",
        ),
        (
            "WHEP offer",
            "POST",
            target.webrtc,
            format!("/{}/whep", target.path),
            "application/sdp",
        ),
        (
            "WHIP offer",
            "POST",
            target.webrtc,
            "/soak-whip/whip".into(),
            "application/sdp",
        ),
        (
            "metrics",
            "POST",
            target.metrics,
            "/metrics".into(),
            "text/plain",
        ),
        (
            "pprof symbol",
            "POST",
            target.pprof,
            "/debug/pprof/symbol".into(),
            "text/plain",
        ),
    ]
}

pub async fn big_body(target: &Target, scale: &Scale) -> Outcome {
    let n = scale.http_body;
    hostile("http-big-body", target, scale, 16.0, || async move {
        let mut c = Checks::default();
        let mut figures = Vec::new();
        for (name, method, addr, path, ctype) in body_targets(target) {
            let head = request_head(method, addr, &path, ctype, n);
            let r = exchange(addr, head.as_bytes(), n, b'{', ANSWER_BOUND, true).await;
            // An error status, or a close without one (a reset may discard the answer).
            let bounded = match r.status {
                Some(s) => (400..500).contains(&s),
                None => r.closed,
            };
            c.check(bounded, || {
                format!(
                    "{name}: expected a 4xx status or a close, got {}",
                    r.describe()
                )
            });
            let status = r
                .status
                .map_or_else(|| "no status".to_string(), |s| s.to_string());
            figures.push(format!("{name} {status}"));
        }
        (format!("{} bodies: {}", bytes(n), figures.join(", ")), c)
    })
    .await
}

/// GETs answered 200 on each listener, to leave its connection idle afterwards.
fn idle_targets(target: &Target) -> Vec<(&'static str, SocketAddr, String)> {
    vec![
        ("API", target.api, "/v3/paths/list".into()),
        ("WebRTC", target.webrtc, format!("/{}/", target.path)),
        ("metrics", target.metrics, "/metrics?type=process".into()),
        ("pprof", target.pprof, "/debug/pprof/cmdline".into()),
    ]
}

/// One keep-alive request, then idle: returns (answered 200, closed by the server after).
async fn idle_one(addr: SocketAddr, path: String, deadline: Instant) -> (bool, Option<Duration>) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return (false, None);
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return (false, None);
    }
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut answered = false;
    let mut idle_since = None;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return (answered, None),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (answered, idle_since.map(|t: Instant| t.elapsed()));
            }
            Ok(Ok(n)) => {
                if !answered {
                    got.extend_from_slice(&buf[..n]);
                    if let Some(st) = status_of(&got) {
                        answered = st == 200;
                    }
                }
                // The last byte of the answer starts the idle time.
                idle_since = Some(Instant::now());
            }
        }
    }
}

pub async fn idle_keepalive(target: &Target, scale: &Scale) -> Outcome {
    let n = scale.idle_connections;
    let bound = target.read_timeout + Duration::from_secs(10);
    hostile("http-idle-keepalive", target, scale, 64.0, || async move {
        let mut c = Checks::default();
        let targets = idle_targets(target);
        let deadline = Instant::now() + bound + Duration::from_secs(30);
        let mut held = JoinSet::new();
        for i in 0..n {
            let (_, addr, path) = &targets[i % targets.len()];
            held.spawn(idle_one(*addr, path.clone(), deadline));
            if i % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // While they are held, a fresh request is served.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let http = reqwest::Client::builder().no_proxy().build();
        let during = match http {
            Ok(h) => h
                .get(format!("http://{}/v3/paths/list", target.api))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status())
                .ok(),
            Err(_) => None,
        };
        c.check(during == Some(StatusCode::OK), || {
            format!("GET while {n} connections idle: {during:?}")
        });
        let (mut answered, mut closed, mut slowest) = (0, 0, Duration::ZERO);
        while let Some(r) = held.join_next().await {
            let Ok((ok, close)) = r else { continue };
            answered += usize::from(ok);
            if let Some(t) = close {
                closed += 1;
                slowest = slowest.max(t);
            }
        }
        c.check(answered == n, || format!("{answered}/{n} answered 200"));
        c.check(closed == n, || {
            format!("{closed}/{n} idle connections closed by the server within {bound:?}")
        });
        let figure = format!(
            "{n} idle keep-alive connections over {} listeners: {answered} answered, {closed} closed by the server, the last {:.1} s after its answer (readTimeout {} s)",
            targets.len(),
            slowest.as_secs_f64(),
            target.read_timeout.as_secs()
        );
        (figure, c)
    })
    .await
}

/// Malformed or mistyped JSON bodies: (label, body).
fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let mut deep = vec![b'['; 100_000];
    deep.extend(vec![b']'; 100_000]);
    let mut long = b"{\"logLevel\":\"".to_vec();
    long.extend(vec![b'a'; 1 << 20]);
    long.extend_from_slice(b"\"}");
    vec![
        ("empty", Vec::new()),
        ("truncated", b"{\"logLevel\": \"de".to_vec()),
        ("no value", b"{\"logLevel\": }".to_vec()),
        ("not JSON", b"logLevel=debug".to_vec()),
        ("invalid UTF-8", b"{\"logLevel\": \"\xff\xfe\"}".to_vec()),
        ("100k nested arrays", deep),
        ("huge number", b"{\"readTimeout\": 1e999999}".to_vec()),
        (
            "wrong type",
            b"{\"logLevel\": 5, \"rtsp\": \"maybe\"}".to_vec(),
        ),
        ("unknown key", b"{\"noSuchKey\": true}".to_vec()),
        ("1 MB string", long),
        ("trailing garbage", b"{}}}}".to_vec()),
    ]
}

/// Every API write that takes a JSON body.
fn json_writes() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PATCH", "/v3/config/global/patch"),
        ("PATCH", "/v3/config/pathdefaults/patch"),
        ("POST", "/v3/config/paths/add/soak-json"),
        ("PATCH", "/v3/config/paths/patch/all_others"),
        ("POST", "/v3/config/paths/replace/all_others"),
    ]
}

pub async fn malformed_json(target: &Target, scale: &Scale) -> Outcome {
    hostile("http-malformed-json", target, scale, 16.0, || async move {
        let mut c = Checks::default();
        let http = match reqwest::Client::builder().no_proxy().build() {
            Ok(h) => h,
            Err(e) => {
                c.check(false, || format!("HTTP client: {e}"));
                return (String::new(), c);
            }
        };
        let api = format!("http://{}", target.api);
        let conf_before = super::get_text(&http, &format!("{api}/v3/config/global/get")).await;
        let paths_before = super::get_text(&http, &format!("{api}/v3/config/paths/list")).await;
        let (mut total, mut refused) = (0, 0);
        let mut statuses = std::collections::BTreeMap::<String, usize>::new();
        for (method, path) in json_writes() {
            for (label, body) in bad_bodies() {
                total += 1;
                let method = reqwest::Method::from_bytes(method.as_bytes())
                    .unwrap_or(reqwest::Method::POST);
                let res = http
                    .request(method.clone(), format!("{api}{path}"))
                    .header("Content-Type", "application/json")
                    .body(body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let status = res.as_ref().ok().map(|r| r.status().as_u16());
                *statuses
                    .entry(status.map_or_else(|| "error".into(), |s| s.to_string()))
                    .or_default() += 1;
                if status == Some(400) {
                    refused += 1;
                } else {
                    c.check(false, || format!("{method} {path} {label}: {status:?}"));
                }
            }
        }
        let conf_after = super::get_text(&http, &format!("{api}/v3/config/global/get")).await;
        let paths_after = super::get_text(&http, &format!("{api}/v3/config/paths/list")).await;
        c.check(conf_before.is_some() && conf_before == conf_after, || {
            "the global configuration changed".into()
        });
        c.check(paths_before.is_some() && paths_before == paths_after, || {
            "the path configuration changed".into()
        });
        let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} x {s}")).collect();
        let figure = format!(
            "{total} malformed writes ({} endpoints x {} bodies): {refused} refused 400 ({}), configuration unchanged: {}",
            json_writes().len(),
            bad_bodies().len(),
            statuses.join(", "),
            conf_before == conf_after && paths_before == paths_after
        );
        (figure, c)
    })
    .await
}

/// What a slow HTTP client sends before it stops: half a head, or a whole head announcing a
/// body of which only a little follows. Returns (listener name, bytes).
fn slow_requests(target: &Target) -> Vec<(&'static str, SocketAddr, String)> {
    let body_head = |method: &str, addr: SocketAddr, path: &str, ctype: &str| {
        request_head(method, addr, path, ctype, 1000) + "{\"x\": 1"
    };
    let whep = format!("/{}/whep", target.path);
    vec![
        (
            "API half head",
            target.api,
            format!("GET /v3/paths/list HTTP/1.1\r\nHost: {}\r\n", target.api),
        ),
        (
            "API withheld body",
            target.api,
            body_head(
                "PATCH",
                target.api,
                "/v3/config/global/patch",
                "application/json",
            ),
        ),
        (
            "WHEP half head",
            target.webrtc,
            format!("POST {whep} HTTP/1.1\r\nHost: {}\r\n", target.webrtc),
        ),
        (
            "WHEP withheld body",
            target.webrtc,
            body_head("POST", target.webrtc, &whep, "application/sdp"),
        ),
        (
            "metrics half head",
            target.metrics,
            format!("GET /metrics HTTP/1.1\r\nHost: {}\r\n", target.metrics),
        ),
        (
            "pprof withheld body",
            target.pprof,
            body_head("POST", target.pprof, "/debug/pprof/symbol", "text/plain"),
        ),
    ]
}

pub async fn slowloris(target: &Target, scale: &Scale) -> Outcome {
    let n = scale.slowloris;
    let bound = target.read_timeout + Duration::from_secs(10);
    hostile("http-slowloris", target, scale, 64.0, || async move {
        let mut c = Checks::default();
        let kinds = slow_requests(target);
        let mut held = JoinSet::new();
        for i in 0..n {
            let (name, addr, data) = kinds[i % kinds.len()].clone();
            held.spawn(async move {
                let r = exchange(addr, data.as_bytes(), 0, 0, bound, false).await;
                (name, r)
            });
            if i % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let (mut closed, mut slowest) = (0, Duration::ZERO);
        let mut open = std::collections::BTreeMap::<&str, usize>::new();
        let mut statuses = std::collections::BTreeMap::<String, usize>::new();
        while let Some(r) = held.join_next().await {
            let Ok((name, r)) = r else { continue };
            *statuses
                .entry(r.status.map_or_else(|| "none".into(), |s| s.to_string()))
                .or_default() += 1;
            if r.closed {
                closed += 1;
                slowest = slowest.max(r.elapsed);
            } else {
                *open.entry(name).or_default() += 1;
            }
        }
        c.check(closed == n, || {
            format!("{}/{n} still open after {bound:?}: {open:?}", n - closed)
        });
        let statuses: Vec<String> = statuses.iter().map(|(s, k)| format!("{k} x {s}")).collect();
        let figure = format!(
            "{n} slow requests (half heads, withheld bodies) over {} listeners: {closed} closed by the server, the last after {:.1} s (readTimeout {} s); answers: {}",
            kinds.len(),
            slowest.as_secs_f64(),
            target.read_timeout.as_secs(),
            statuses.join(", ")
        );
        (figure, c)
    })
    .await
}
