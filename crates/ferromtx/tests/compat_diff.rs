//! The differential test: MediaMTX v1.20.1 (the peer binary in `../shared/peers`) and
//! ferromtx run side by side with one configuration, get the same requests, and their
//! answers are compared:
//! - every GET of `/v3` (status, then the JSON field by field: ids, times, addresses and
//!   byte or packet counters by kind only), error answers (unknown paths and routes, bad
//!   JSON, bad ids, wrong method, failed authentication), config changes and the GET after;
//! - metric names and labels on `/metrics`;
//! - the log lines of startup and of every connection's and session's life, with times,
//!   ids, addresses and the temporary folder taken out, compared as multisets;
//! - RTSP answers to the same requests (status and the headers clients act on), from a
//!   raw client that publishes H264+Opus, reads it back, and tears both down.
//!
//! Each difference is a line `key` (and a detail). A difference passes only if
//! `docs/compat.md`, section "Differences the differential test finds", lists its key with
//! the reason it is deliberate; a listed key that no longer shows up fails too, so the list
//! stays true. `scripts/compat-diff` runs this test and writes the whole report to
//! `target/compat-diff.md` (`COMPAT_DIFF_REPORT`).
//!
//! Without `../shared/peers` the test skips (a clone elsewhere has no peer binary).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use ferromtx_testkit::{Process, free_tcp_port, free_udp_pair, free_udp_port, peers};
use serde_json::Value;

const CONF: &str = "\
logLevel: info
api: yes
metrics: yes
moq: no
authInternalUsers:
- user: any
  pass:
  ips: []
  permissions:
  - action: publish
    path: cam
  - action: read
  - action: playback
- user: admin
  pass: secret
  ips: []
  permissions:
  - action: api
  - action: metrics
  - action: publish
paths:
  cam:
  private:
  ~^reg_(.+)$:
  all_others:
";

/// `admin:secret`, Basic.
const ADMIN: &str = "Basic YWRtaW46c2VjcmV0";
/// `admin:wrong`, Basic.
const WRONG: &str = "Basic YWRtaW46d3Jvbmc=";

/// H264 Constrained Baseline 320x240, level 1.3 (x264's), and its PPS.
const SPS: &str = "Z0LADdoFB+wEQAAAAwBAAAAMo8UKqA==";
const PPS: &str = "aM4PyA==";
const SPS_BYTES: [u8; 22] = [
    0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00,
    0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
];
const PPS_BYTES: [u8; 4] = [0x68, 0xce, 0x0f, 0xc8];

const IO: Duration = Duration::from_secs(10);

struct Side {
    name: &'static str,
    p: Process,
    api: u16,
    metrics: u16,
    rtsp: u16,
    rtmp: u16,
    hls: u16,
}

fn start(name: &'static str, bin: &Path) -> Side {
    let (api, metrics, rtsp) = (free_tcp_port(), free_tcp_port(), free_tcp_port());
    let (rtmp, hls) = (free_tcp_port(), free_tcp_port());
    let (rtp, rtcp) = free_udp_pair();
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let env: Vec<(String, String)> = vec![
        ("MTX_APIADDRESS".into(), addr(api)),
        ("MTX_METRICSADDRESS".into(), addr(metrics)),
        ("MTX_RTSPADDRESS".into(), addr(rtsp)),
        ("MTX_RTPADDRESS".into(), addr(rtp)),
        ("MTX_RTCPADDRESS".into(), addr(rtcp)),
        ("MTX_RTMPADDRESS".into(), addr(rtmp)),
        ("MTX_HLSADDRESS".into(), addr(hls)),
        ("MTX_WEBRTCADDRESS".into(), addr(free_tcp_port())),
        ("MTX_WEBRTCLOCALUDPADDRESS".into(), addr(free_udp_port())),
        ("MTX_SRTADDRESS".into(), addr(free_udp_port())),
    ];
    let mut p = Process::server(bin, Some(CONF), &[], &common::env_refs(&env));
    p.wait_line("[API] started with listener");
    p.settle(Duration::from_millis(500));
    Side {
        name,
        p,
        api,
        metrics,
        rtsp,
        rtmp,
        hls,
    }
}

/// The differences found, each a key (what the deliberate list names) and a detail.
#[derive(Default)]
struct Report {
    diffs: Vec<(String, String)>,
}

impl Report {
    fn add(&mut self, key: impl Into<String>, detail: impl Into<String>) {
        self.diffs.push((key.into(), detail.into()));
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, key: &str, m: T, f: T) {
        if m != f {
            self.add(key, format!("mediamtx {m:?}, ferromtx {f:?}"));
        }
    }
}

// --- HTTP ----------------------------------------------------------------------------------

struct HttpAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

fn http(port: u16, method: &str, path: &str, auth: Option<&str>, body: &str) -> HttpAnswer {
    let auth = auth.map(|a| ("Authorization", a));
    http_with(port, method, path, auth.as_slice(), body)
}

fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpAnswer {
    let mut all = headers.to_vec();
    all.push(("Content-Type", "application/json"));
    let (status, head, body) = common::http11(port, method, path, &all, body);
    let headers = head
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body,
    }
}

/// Fields whose values differ between any two runs: compared by JSON type only.
fn volatile(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    matches!(
        key,
        "id" | "created" | "remoteAddr" | "session" | "conns" | "version" | "started"
    ) || key.ends_with("Time")
        || key == "lastRequest"
        || key.ends_with("Address")
        || k.contains("bytes")
        || k.contains("packets")
        || k.contains("frames")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `v` with every volatile value replaced by its type: what two runs should agree on.
fn stable(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = if volatile(k) && !x.is_object() && !x.is_array() {
                        Value::String(format!("<{}>", kind(x)))
                    } else if volatile(k) {
                        stable_shape(x)
                    } else {
                        stable(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => {
            // Items in a stable order: lists are not ordered alike by both servers.
            let mut items: Vec<Value> = a.iter().map(stable).collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// A volatile array or object (a list of ids): its items' types.
fn stable_shape(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| Value::String(format!("<{}>", kind(x))))
                .collect(),
        ),
        other => Value::String(format!("<{}>", kind(other))),
    }
}

fn compare_json(r: &mut Report, at: &str, m: &Value, f: &Value) {
    match (m, f) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, x) in a {
                match b.get(k) {
                    Some(y) => compare_json(r, &format!("{at}.{k}"), x, y),
                    None => r.add(format!("{at}.{k}"), "only in mediamtx"),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                r.add(format!("{at}.{k}"), "only in ferromtx");
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                r.add(
                    format!("{at} length"),
                    format!("mediamtx {}, ferromtx {}", a.len(), b.len()),
                );
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare_json(r, &format!("{at}[{i}]"), x, y);
            }
        }
        (x, y) if kind(x) != kind(y) => {
            r.add(at, format!("mediamtx {x}, ferromtx {y}"));
        }
        (x, y) => {
            if x != y {
                r.add(at, format!("mediamtx {x}, ferromtx {y}"));
            }
        }
    }
}

/// One request to both APIs; status, content type and body compared. `label` names the
/// request in the report (ids replaced by `{id}`).
fn api_both(
    r: &mut Report,
    sides: &[Side; 2],
    label: &str,
    method: &str,
    paths: [&str; 2],
    auth: Option<&str>,
    body: &str,
) -> [HttpAnswer; 2] {
    let [m, f] = [0, 1].map(|i| http(sides[i].api, method, paths[i], auth, body));
    let key = format!("api {method} {label}");
    r.eq(&format!("{key} status"), m.status, f.status);
    r.eq(
        &format!("{key} Content-Type"),
        m.header("Content-Type"),
        f.header("Content-Type"),
    );
    r.eq(
        &format!("{key} WWW-Authenticate"),
        m.header("WWW-Authenticate"),
        f.header("WWW-Authenticate"),
    );
    match (m.json(), f.json()) {
        (Some(a), Some(b)) => compare_json(r, &key, &stable(&a), &stable(&b)),
        _ => r.eq(
            &format!("{key} body"),
            String::from_utf8_lossy(&m.body).to_string(),
            String::from_utf8_lossy(&f.body).to_string(),
        ),
    }
    [m, f]
}

fn api_same(r: &mut Report, sides: &[Side; 2], method: &str, path: &str, body: &str) {
    let label = if body.is_empty() {
        path.to_owned()
    } else {
        format!("{path} {body}")
    };
    api_both(r, sides, &label, method, [path, path], Some(ADMIN), body);
}

/// What a player does on the HLS server at `port`: the cookie check (302 and `Set-Cookie`),
/// the multivariant playlist (the first request makes the muxer and waits for its first
/// segment), then the media playlist it names, with the session it was given.
fn hls_flow(port: u16) -> [HttpAnswer; 3] {
    let first = http(port, "GET", "/cam/index.m3u8", None, "");
    let cookie = first
        .header("Set-Cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_owned();
    let location = first
        .header("Location")
        .unwrap_or("/cam/index.m3u8")
        .to_owned();
    let second = http_with(port, "GET", &location, &[("Cookie", &cookie)], "");
    let cookies = match second
        .header("Set-Cookie")
        .and_then(|c| c.split(';').next())
    {
        Some(session) => format!("{cookie}; {session}"),
        None => cookie,
    };
    let text = String::from_utf8_lossy(&second.body).to_string();
    let media = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .map_or_else(|| "/cam/index.m3u8".to_owned(), |l| format!("/cam/{l}"));
    let third = http_with(port, "GET", &media, &[("Cookie", &cookies)], "");
    [first, second, third]
}

/// Two HLS answers: status, the headers a player acts on, and the playlist's tags (names
/// only, and whether they came at all).
fn hls_compare(r: &mut Report, label: &str, m: &HttpAnswer, f: &HttpAnswer) {
    let key = format!("hls {label}");
    r.eq(&format!("{key} status"), m.status, f.status);
    for h in [
        "Content-Type",
        "Server",
        "Cache-Control",
        "Location",
        "Access-Control-Allow-Origin",
    ] {
        r.eq(&format!("{key} {h}"), m.header(h), f.header(h));
    }
    let cookie_names = |a: &HttpAnswer| -> Vec<String> {
        a.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Set-Cookie"))
            .map(|(_, v)| {
                // The name and attributes; the value is a secret.
                let (first, attrs) = v.split_once(';').unwrap_or((v, ""));
                let name = first.split('=').next().unwrap_or("");
                format!("{name};{attrs}")
            })
            .collect()
    };
    r.eq(
        &format!("{key} Set-Cookie"),
        cookie_names(m),
        cookie_names(f),
    );
    // Which tags the playlist has (how many segments and parts depends on the moment).
    let tags = |a: &HttpAnswer| -> std::collections::BTreeSet<String> {
        String::from_utf8_lossy(&a.body)
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| l.split([':', ',']).next().unwrap_or("").to_owned())
            .collect()
    };
    let (tm, tf) = (tags(m), tags(f));
    for t in tm.difference(&tf) {
        r.add(format!("{key} tag {t} only in mediamtx"), "");
    }
    for t in tf.difference(&tm) {
        r.add(format!("{key} tag {t} only in ferromtx"), "");
    }
}

// --- RTSP ----------------------------------------------------------------------------------

struct RtspAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RtspAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Rtsp {
    s: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    session: Option<String>,
    /// Interleaved frames received.
    frames: usize,
}

impl Rtsp {
    fn connect(port: u16) -> Rtsp {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(IO)).expect("timeout");
        s.set_write_timeout(Some(IO)).expect("timeout");
        Rtsp {
            s,
            buf: Vec::new(),
            cseq: 0,
            session: None,
            frames: 0,
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    /// Sends a request; `None` when the server closed the connection instead of answering.
    fn request(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<RtspAnswer> {
        self.cseq += 1;
        let mut req = format!(
            "{method} {url} RTSP/1.0\r\nCSeq: {}\r\nUser-Agent: compat-diff\r\n",
            self.cseq
        );
        if let Some(s) = &self.session {
            req.push_str(&format!("Session: {s}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        if self.s.write_all(req.as_bytes()).is_err() {
            return None;
        }
        let a = self.answer()?;
        if let Some(s) = a.header("Session") {
            self.session = Some(s.split(';').next().unwrap_or("").trim().to_owned());
        }
        Some(a)
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.s.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Drops interleaved frames at the head of the buffer; false if one is incomplete.
    fn skip_frames(&mut self) -> bool {
        while self.buf.first() == Some(&b'$') {
            if self.buf.len() < 4 {
                return false;
            }
            let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
            if self.buf.len() < 4 + len {
                return false;
            }
            self.buf.drain(..4 + len);
            self.frames += 1;
        }
        true
    }

    fn answer(&mut self) -> Option<RtspAnswer> {
        let deadline = Instant::now() + self.s.read_timeout().ok().flatten().unwrap_or(IO);
        loop {
            if self.skip_frames()
                && let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n")
            {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let mut lines = head.split("\r\n");
                let status = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    let body =
                        String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).to_string();
                    self.buf.drain(..end + 4 + len);
                    return Some(RtspAnswer {
                        status,
                        headers,
                        body,
                    });
                }
            }
            if Instant::now() > deadline || !self.fill() {
                return None;
            }
        }
    }

    /// Reads until at least one interleaved frame came (bounded by [`IO`]).
    fn wait_frame(&mut self) -> bool {
        let deadline = Instant::now() + IO;
        while self.frames == 0 && Instant::now() < deadline {
            self.skip_frames();
            if self.frames > 0 || !self.fill() {
                break;
            }
        }
        self.skip_frames();
        self.frames > 0
    }

    fn send_rtp(&mut self, channel: u8, pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) {
        let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend_from_slice(payload);
        let mut frame = vec![b'$', channel];
        frame.extend_from_slice(&(p.len() as u16).to_be_bytes());
        frame.extend_from_slice(&p);
        self.send_raw(&frame);
    }

    /// `count` access units from `first`: SPS, PPS and a (tiny) IDR slice, and a 20 ms Opus
    /// packet each.
    fn send_media(&mut self, first: u16, count: u16) {
        for i in first..first + count {
            let ts = u32::from(i) * 3600;
            let seq = i * 3;
            self.send_rtp(0, 96, seq, ts, false, &SPS_BYTES);
            self.send_rtp(0, 96, seq + 1, ts, false, &PPS_BYTES);
            self.send_rtp(
                0,
                96,
                seq + 2,
                ts,
                true,
                &[0x65, 0x88, 0x84, 0x00, 0x33, 0xff],
            );
            self.send_rtp(2, 97, i, u32::from(i) * 960, true, &[0xfc, 0xff, 0xfe]);
        }
    }
}

fn sdp() -> String {
    format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=Stream\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
         m=video 0 RTP/AVP 96\r\na=control:trackID=0\r\na=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 packetization-mode=1; sprop-parameter-sets={SPS},{PPS}; profile-level-id=42C00D\r\n\
         m=audio 0 RTP/AVP 97\r\na=control:trackID=1\r\na=rtpmap:97 opus/48000/2\r\n\
         a=fmtp:97 sprop-stereo=1\r\n"
    )
}

/// The headers of an RTSP answer that clients act on, normalized: ids, ports, sequence
/// numbers and timestamps taken out.
fn rtsp_view(a: &Option<RtspAnswer>) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let Some(a) = a else {
        v.insert("answer".into(), "connection closed".into());
        return v;
    };
    v.insert("status".into(), a.status.to_string());
    for (k, val) in &a.headers {
        let key = k.to_ascii_lowercase();
        let norm = match key.as_str() {
            "cseq" | "content-type" | "server" | "location" | "range" => val.clone(),
            "public" => {
                let mut m: Vec<&str> = val.split(',').map(str::trim).collect();
                m.sort_unstable();
                m.join(", ")
            }
            "session" => val
                .split_once(';')
                .map_or("<id>".into(), |(_, t)| format!("<id>;{t}")),
            "transport" => params(val, &["ssrc", "server_port", "client_port"]),
            "rtp-info" => val
                .split(',')
                .map(|e| {
                    let mut names: Vec<&str> = e
                        .split(';')
                        .filter_map(|p| p.split('=').next())
                        .map(str::trim)
                        .collect();
                    names.sort_unstable();
                    names.join(";")
                })
                .collect::<Vec<_>>()
                .join(", "),
            "www-authenticate" => params(val, &["nonce"]),
            "content-base" | "content-length" | "date" => "<present>".into(),
            _ => val.clone(),
        };
        v.insert(key, norm);
    }
    v
}

/// `a=b;c=d` with the values of `hide` replaced.
fn params(v: &str, hide: &[&str]) -> String {
    v.split([';', ','])
        .map(str::trim)
        .map(|p| match p.split_once('=') {
            Some((k, _)) if hide.iter().any(|h| k.trim().ends_with(h)) => {
                format!("{}=<x>", k.trim())
            }
            _ => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The media description of an SDP: its `m=` lines and the attributes a client reads.
fn sdp_view(sdp: &str) -> Vec<String> {
    sdp.lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("m=")
                || l.starts_with("a=rtpmap")
                || l.starts_with("a=fmtp")
                || l.starts_with("a=control")
        })
        .map(str::to_owned)
        .collect()
}

fn rtsp_compare(r: &mut Report, label: &str, m: &Option<RtspAnswer>, f: &Option<RtspAnswer>) {
    let (a, b) = (rtsp_view(m), rtsp_view(f));
    for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        r.eq(&format!("rtsp {label} {k}"), a.get(k), b.get(k));
    }
    if let (Some(m), Some(f)) = (m, f)
        && (!m.body.is_empty() || !f.body.is_empty())
    {
        r.eq(
            &format!("rtsp {label} body"),
            sdp_view(&m.body),
            sdp_view(&f.body),
        );
    }
}

/// A request on a fresh connection to each server.
fn rtsp_once(
    r: &mut Report,
    sides: &[Side; 2],
    label: &str,
    method: &str,
    path: &str,
    hdrs: &[(&str, &str)],
) {
    let [m, f] = [0, 1].map(|i| {
        let mut c = Rtsp::connect(sides[i].rtsp);
        let url = format!("rtsp://127.0.0.1:{}/{path}", sides[i].rtsp);
        c.request(method, &url, hdrs, "")
    });
    rtsp_compare(r, label, &m, &f);
}

// --- logs and metrics ----------------------------------------------------------------------

/// A log line without its time, the temporary folder, addresses, ports and ids.
fn normalize_line(line: &str, dir: &str) -> String {
    let body = line.get(20..).unwrap_or(line).replace(dir, "DIR");
    let mut out = String::with_capacity(body.len());
    let words: Vec<&str> = body.split(' ').collect();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&normalize_word(w));
    }
    // The codecs of `N tracks (A, B)` in one order: MediaMTX's HLS muxer names them in the
    // order their first frames came.
    if let Some((head, list)) = out.split_once(" tracks (")
        && let Some(list) = list.strip_suffix(')')
    {
        let mut codecs: Vec<&str> = list.split(", ").collect();
        codecs.sort_unstable();
        return format!("{head} tracks ({})", codecs.join(", "));
    }
    out
}

fn normalize_word(w: &str) -> String {
    // 127.0.0.1:5678 (and inside brackets or after a colon), session ids, UUIDs.
    let (lead, rest) = w.split_at(w.find(|c: char| c.is_ascii_alphanumeric()).unwrap_or(0));
    let end = rest
        .rfind(|c: char| c.is_ascii_alphanumeric())
        .map_or(0, |i| i + 1);
    let (core, trail) = rest.split_at(end);
    let norm = if let Some((ip, port)) = core.rsplit_once(':')
        && ip.parse::<std::net::IpAddr>().is_ok()
        && port.parse::<u16>().is_ok()
    {
        "ADDR".to_owned()
    } else if core.len() == 36 && core.chars().filter(|c| *c == '-').count() == 4 {
        "UUID".to_owned()
    } else if core.len() == 8
        && core.chars().all(|c| c.is_ascii_hexdigit())
        && core.chars().any(|c| c.is_ascii_digit())
    {
        "ID".to_owned()
    } else {
        core.to_owned()
    };
    format!("{lead}{norm}{trail}")
}

fn log_multiset(lines: &[String], dir: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(normalize_line(l, dir)).or_default() += 1;
    }
    m
}

fn compare_logs(r: &mut Report, what: &str, m: &[String], mdir: &str, f: &[String], fdir: &str) {
    let (a, b) = (log_multiset(m, mdir), log_multiset(f, fdir));
    for (l, n) in &a {
        let k = b.get(l).copied().unwrap_or(0);
        if k < *n {
            r.add(
                format!("log {what} only in mediamtx: {l}"),
                format!("{} time(s)", n - k),
            );
        }
    }
    for (l, n) in &b {
        let k = a.get(l).copied().unwrap_or(0);
        if k < *n {
            r.add(
                format!("log {what} only in ferromtx: {l}"),
                format!("{} time(s)", n - k),
            );
        }
    }
}

/// Metric names with their label names and normalized label values.
fn metric_series(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series))
        .map(|s| {
            let Some((name, labels)) = s.split_once('{') else {
                return s.to_owned();
            };
            let labels: Vec<String> = labels
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| match l.split_once('=') {
                    Some((k, _)) if matches!(k, "id" | "remoteAddr") => format!("{k}=<x>"),
                    _ => l.to_owned(),
                })
                .collect();
            format!("{name}{{{}}}", labels.join(","))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

// --- the deliberate list -------------------------------------------------------------------

const SECTION: &str = "## Differences the differential test finds";

/// The keys `docs/compat.md` lists as deliberate (a trailing `*` matches any rest).
fn deliberate() -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compat.md"))
            .expect("docs/compat.md");
    let section = doc
        .split_once(SECTION)
        .unwrap_or_else(|| panic!("docs/compat.md has no section {SECTION:?}"))
        .1;
    let section = section.split("\n## ").next().unwrap_or("");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_owned()))
        .collect()
}

/// `pattern` with `*` standing for any run of characters.
fn matches(pattern: &str, key: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = key.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[test]
fn the_same_requests_get_the_same_answers_as_from_mediamtx() {
    let Some(mediamtx) = peers::mediamtx() else {
        return;
    };
    let Some(ffmpeg) = common::tool("ffmpeg") else {
        return;
    };
    let ours = Path::new(env!("CARGO_BIN_EXE_ferromtx"));
    let mut sides = [start("mediamtx", &mediamtx), start("ferromtx", ours)];
    let mut r = Report::default();

    // Startup: every line but the first (each server's name and version, docs/compat.md).
    let startup: Vec<Vec<String>> = sides.iter().map(|s| s.p.seen[1..].to_vec()).collect();
    let dirs: Vec<String> = sides
        .iter()
        .map(|s| s.p.dir.path().display().to_string())
        .collect();
    compare_logs(
        &mut r,
        "startup",
        &startup[0],
        &dirs[0],
        &startup[1],
        &dirs[1],
    );
    let marks: Vec<usize> = sides.iter().map(|s| s.p.seen.len()).collect();

    // RTSP requests outside any session, each on its own connection.
    rtsp_once(&mut r, &sides, "OPTIONS", "OPTIONS", "cam", &[]);
    rtsp_once(
        &mut r,
        &sides,
        "DESCRIBE unpublished",
        "DESCRIBE",
        "nope",
        &[("Accept", "application/sdp")],
    );
    {
        let body = sdp();
        let [m, f] = [0, 1].map(|i| {
            let mut c = Rtsp::connect(sides[i].rtsp);
            let url = format!("rtsp://127.0.0.1:{}/private", sides[i].rtsp);
            c.request(
                "ANNOUNCE",
                &url,
                &[("Content-Type", "application/sdp")],
                &body,
            )
        });
        rtsp_compare(&mut r, "ANNOUNCE without credentials", &m, &f);
    }
    rtsp_once(&mut r, &sides, "PLAY without session", "PLAY", "cam", &[]);
    rtsp_once(
        &mut r,
        &sides,
        "SETUP unpublished",
        "SETUP",
        "nope/trackID=0",
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    rtsp_once(&mut r, &sides, "unknown method", "FOO", "cam", &[]);
    rtsp_once(&mut r, &sides, "GET_PARAMETER", "GET_PARAMETER", "cam", &[]);
    {
        // MediaMTX waits for the rest of a request line it cannot finish: 2 s tell.
        let [m, f] = [0, 1].map(|i| {
            let mut c = Rtsp::connect(sides[i].rtsp);
            c.s.set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            c.send_raw(b"HELLO WORLD\r\n\r\n");
            c.answer()
        });
        rtsp_compare(&mut r, "garbage", &m, &f);
    }

    // A publisher (H264 + Opus over TCP) and a reader, on each server.
    let mut publishers: Vec<Rtsp> = (0..2).map(|i| Rtsp::connect(sides[i].rtsp)).collect();
    let base: Vec<String> = sides
        .iter()
        .map(|s| format!("rtsp://127.0.0.1:{}/cam", s.rtsp))
        .collect();
    let body = sdp();
    /// Label, method, URL suffix, headers, body.
    type Step<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let steps: [Step<'_>; 4] = [
        (
            "ANNOUNCE",
            "ANNOUNCE",
            "",
            vec![("Content-Type", "application/sdp")],
            &body,
        ),
        (
            "SETUP publish video",
            "SETUP",
            "/trackID=0",
            vec![(
                "Transport",
                "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
            )],
            "",
        ),
        (
            "SETUP publish audio",
            "SETUP",
            "/trackID=1",
            vec![(
                "Transport",
                "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
            )],
            "",
        ),
        ("RECORD", "RECORD", "", vec![], ""),
    ];
    for (label, method, suffix, hdrs, body) in &steps {
        let [m, f] = [0, 1]
            .map(|i| publishers[i].request(method, &format!("{}{suffix}", base[i]), hdrs, body));
        rtsp_compare(&mut r, label, &m, &f);
    }
    for p in &mut publishers {
        p.send_media(0, 10);
    }
    for s in &mut sides {
        s.p.wait_line("is publishing to path 'cam'");
    }

    let mut readers: Vec<Rtsp> = (0..2).map(|i| Rtsp::connect(sides[i].rtsp)).collect();
    let [m, f] = [0, 1]
        .map(|i| readers[i].request("DESCRIBE", &base[i], &[("Accept", "application/sdp")], ""));
    rtsp_compare(&mut r, "DESCRIBE", &m, &f);
    let controls: Vec<Vec<String>> = [m, f]
        .iter()
        .zip(&base)
        .map(|(a, base)| {
            let a = a.as_ref().expect("DESCRIBE answered");
            let content_base = a.header("Content-Base").unwrap_or(base).to_owned();
            a.body
                .lines()
                .filter_map(|l| l.trim().strip_prefix("a=control:"))
                .filter(|c| *c != "*")
                .map(|c| {
                    if c.starts_with("rtsp://") {
                        c.to_owned()
                    } else {
                        format!("{}/{c}", content_base.trim_end_matches('/'))
                    }
                })
                .collect()
        })
        .collect();
    for (t, interleaved) in [(0, "interleaved=0-1"), (1, "interleaved=2-3")] {
        let transport = format!("RTP/AVP/TCP;unicast;{interleaved}");
        let [m, f] = [0, 1].map(|i| {
            readers[i].request("SETUP", &controls[i][t], &[("Transport", &transport)], "")
        });
        rtsp_compare(&mut r, &format!("SETUP read track {t}"), &m, &f);
    }
    let [m, f] =
        [0, 1].map(|i| readers[i].request("PLAY", &base[i], &[("Range", "npt=0.000-")], ""));
    rtsp_compare(&mut r, "PLAY", &m, &f);
    for p in &mut publishers {
        p.send_media(10, 10);
    }
    for (i, rd) in readers.iter_mut().enumerate() {
        assert!(
            rd.wait_frame(),
            "{}: the reader got no packet",
            sides[i].name
        );
    }

    // The API, every list and get while both sessions live.
    for path in [
        "/v3/info",
        "/v3/config/global/get",
        "/v3/config/pathdefaults/get",
        "/v3/config/paths/list",
        "/v3/config/paths/get/cam",
        "/v3/config/paths/get/~^reg_(.+)$",
        "/v3/paths/list",
        "/v3/paths/get/cam",
        "/v3/rtspconns/list",
        "/v3/rtspsessions/list",
        "/v3/rtspsconns/list",
        "/v3/rtspssessions/list",
        "/v3/rtmpconns/list",
        "/v3/rtmpsconns/list",
        "/v3/hlsmuxers/list",
        "/v3/hlssessions/list",
        "/v3/webrtcsessions/list",
        "/v3/srtconns/list",
        "/v3/recordings/list",
        "/v3/recordings/get/cam",
        "/v3/paths/list?itemsPerPage=1&page=1",
    ] {
        api_same(&mut r, &sides, "GET", path, "");
    }
    // Gets by id: the publishing session and its connection, as each server lists them.
    let ids: Vec<(String, String)> = sides
        .iter()
        .map(|s| {
            let l = http(s.api, "GET", "/v3/rtspsessions/list", Some(ADMIN), "")
                .json()
                .expect("session list");
            let session = l["items"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["state"] == "publish"))
                .expect("the publishing session");
            let conn = session["conns"][0].as_str().unwrap_or_default().to_owned();
            (session["id"].as_str().unwrap_or_default().to_owned(), conn)
        })
        .collect();
    for (what, pick) in [("rtspsessions", 0usize), ("rtspconns", 1usize)] {
        let paths: Vec<String> = ids
            .iter()
            .map(|(s, c)| format!("/v3/{what}/get/{}", if pick == 0 { s } else { c }))
            .collect();
        api_both(
            &mut r,
            &sides,
            &format!("/v3/{what}/get/{{id}}"),
            "GET",
            [&paths[0], &paths[1]],
            Some(ADMIN),
            "",
        );
    }

    // Metrics: names and labels.
    {
        let [m, f] = [0, 1].map(|i| {
            let a = http(sides[i].metrics, "GET", "/metrics", Some(ADMIN), "");
            assert_eq!(a.status, 200, "{} /metrics", sides[i].name);
            metric_series(&String::from_utf8_lossy(&a.body))
        });
        for s in m.iter().filter(|s| !f.contains(s)) {
            r.add(format!("metrics only in mediamtx: {s}"), "");
        }
        for s in f.iter().filter(|s| !m.contains(s)) {
            r.add(format!("metrics only in ferromtx: {s}"), "");
        }
    }

    // Errors.
    for (method, path, body) in [
        ("GET", "/v3/paths/get/nope", ""),
        ("GET", "/v3/config/paths/get/nope", ""),
        ("GET", "/v3/nothing", ""),
        ("GET", "/v3/rtspconns/get/nope", ""),
        (
            "GET",
            "/v3/rtspsessions/get/00000000-0000-0000-0000-000000000000",
            "",
        ),
        ("POST", "/v3/config/global/patch", "{}"),
        ("GET", "/v3/config/paths/add/x", ""),
        ("POST", "/v3/config/paths/add/new", "{bad"),
        ("PATCH", "/v3/config/global/patch", "{bad"),
        ("DELETE", "/v3/config/paths/delete/nope", ""),
        ("GET", "/v3/paths/list?itemsPerPage=x", ""),
        ("GET", "/v3/paths/list?page=-1", ""),
        ("POST", "/v3/rtspsessions/kick/nope", ""),
        ("POST", "/v3/config/paths/add/cam", "{}"),
        (
            "PATCH",
            "/v3/config/global/patch",
            "{\"readTimeout\":\"abc\"}",
        ),
        ("PATCH", "/v3/config/global/patch", "{\"noSuchKey\":1}"),
        (
            "PATCH",
            "/v3/config/pathdefaults/patch",
            "{\"maxReaders\":\"x\"}",
        ),
    ] {
        api_same(&mut r, &sides, method, path, body);
    }
    // Authentication: none, then a wrong password (each server pauses before answering).
    api_both(
        &mut r,
        &sides,
        "/v3/paths/list without credentials",
        "GET",
        ["/v3/paths/list"; 2],
        None,
        "",
    );
    api_both(
        &mut r,
        &sides,
        "/v3/paths/list with a wrong password",
        "GET",
        ["/v3/paths/list"; 2],
        Some(WRONG),
        "",
    );
    {
        let [m, f] = [0, 1].map(|i| http(sides[i].metrics, "GET", "/metrics", None, ""));
        r.eq("metrics without credentials status", m.status, f.status);
        r.eq(
            "metrics without credentials WWW-Authenticate",
            m.header("WWW-Authenticate").map(str::to_owned),
            f.header("WWW-Authenticate").map(str::to_owned),
        );
    }

    // Configuration changes, each followed by the GET that shows it.
    for (method, path, body, then) in [
        (
            "PATCH",
            "/v3/config/global/patch",
            r#"{"readTimeout":"20s","hlsSegmentCount":9}"#,
            "/v3/config/global/get",
        ),
        (
            "POST",
            "/v3/config/paths/add/new1",
            r#"{"source":"publisher","maxReaders":3}"#,
            "/v3/config/paths/get/new1",
        ),
        (
            "PATCH",
            "/v3/config/paths/patch/new1",
            r#"{"maxReaders":5}"#,
            "/v3/config/paths/get/new1",
        ),
        (
            "POST",
            "/v3/config/paths/replace/new1",
            r#"{"maxReaders":1}"#,
            "/v3/config/paths/get/new1",
        ),
        (
            "PATCH",
            "/v3/config/pathdefaults/patch",
            r#"{"maxReaders":7}"#,
            "/v3/config/pathdefaults/get",
        ),
        (
            "DELETE",
            "/v3/config/paths/delete/new1",
            "",
            "/v3/config/paths/get/new1",
        ),
        ("GET", "/v3/config/paths/list", "", "/v3/config/paths/list"),
    ] {
        api_same(&mut r, &sides, method, path, body);
        std::thread::sleep(Duration::from_millis(300));
        api_same(&mut r, &sides, "GET", then, "");
    }

    // The reader, then the publisher, leave with TEARDOWN.
    let [m, f] = [0, 1].map(|i| readers[i].request("TEARDOWN", &base[i], &[], ""));
    rtsp_compare(&mut r, "TEARDOWN read", &m, &f);
    let [m, f] = [0, 1].map(|i| publishers[i].request("TEARDOWN", &base[i], &[], ""));
    rtsp_compare(&mut r, "TEARDOWN publish", &m, &f);
    drop(readers);
    drop(publishers);
    for s in &mut sides {
        // Every session and connection the test made has ended.
        let sessions = s.p.count("] created by ");
        s.p.wait_count("] destroyed: ", sessions);
        let opened = s.p.count("] opened");
        s.p.wait_count("] closed: ", opened);
        s.p.settle(Duration::from_millis(700));
    }
    // RTMP: ffmpeg publishes H264 + AAC to each server for 10 s, while the API is asked
    // about it and an HLS client reads the path; ffmpeg then leaves on its own.
    let mut rtmp_publishers: Vec<std::process::Child> = sides
        .iter()
        .map(|s| {
            let mut cmd = ferromtx_testkit::ffmpeg::synthetic(
                &ffmpeg,
                ferromtx_testkit::ffmpeg::Audio::Aac,
                10,
            );
            cmd.args(["-f", "flv", &format!("rtmp://127.0.0.1:{}/cam", s.rtmp)])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            cmd.spawn().expect("spawn ffmpeg")
        })
        .collect();
    for s in &mut sides {
        s.p.wait_line("[RTMP] [conn ");
        s.p.wait_count("is publishing to path 'cam'", 2);
    }
    for path in ["/v3/rtmpconns/list", "/v3/paths/get/cam", "/v3/paths/list"] {
        api_same(&mut r, &sides, "GET", path, "");
    }
    // HLS, as a player goes (`hls_flow`).
    // Both at once: each muxer is made by the first request and has the same time to
    // cut its first segment before the publisher leaves.
    let hls_ports: Vec<u16> = sides.iter().map(|s| s.hls).collect();
    let flows: Vec<[HttpAnswer; 3]> = std::thread::scope(|scope| {
        let handles: Vec<_> = hls_ports
            .iter()
            .map(|port| scope.spawn(move || hls_flow(*port)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("HLS client"))
            .collect()
    });
    for (n, label) in [
        "GET /cam/index.m3u8 (cookie check)",
        "GET /cam/index.m3u8",
        "GET media playlist",
    ]
    .iter()
    .enumerate()
    {
        hls_compare(&mut r, label, &flows[0][n], &flows[1][n]);
    }
    for path in ["/v3/hlsmuxers/list", "/v3/hlsmuxers/get/cam"] {
        api_same(&mut r, &sides, "GET", path, "");
    }
    for (i, p) in rtmp_publishers.iter_mut().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(30);
        while p.try_wait().expect("ffmpeg").is_none() {
            assert!(
                Instant::now() < deadline,
                "{}: ffmpeg did not end",
                sides[i].name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for s in &mut sides {
        s.p.wait_line("[RTMP] [conn ");
        let opened = s.p.count("] opened");
        s.p.wait_count("] closed: ", opened);
        s.p.settle(Duration::from_millis(700));
    }

    let life: Vec<Vec<String>> = sides
        .iter()
        .zip(&marks)
        .map(|(s, m)| s.p.seen[*m..].to_vec())
        .collect();
    compare_logs(&mut r, "session", &life[0], &dirs[0], &life[1], &dirs[1]);

    // The verdict, with both servers' normalized lines after startup for reference.
    let allowed = deliberate();
    let mut used = vec![false; allowed.len()];
    let mut text = String::from("# compat-diff: MediaMTX v1.20.1 and ferromtx, same requests\n\n");
    let mut unexplained = Vec::new();
    for (key, detail) in &r.diffs {
        let hit = allowed.iter().position(|p| matches(p, key));
        if let Some(i) = hit {
            used[i] = true;
        } else {
            unexplained.push(format!("{key} — {detail}"));
        }
        let mark = if hit.is_some() {
            "deliberate"
        } else {
            "UNEXPLAINED"
        };
        text.push_str(&format!("- {mark}: `{key}` {detail}\n"));
    }
    let stale: Vec<&String> = allowed
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(p, _)| p)
        .collect();
    text.push_str(&format!(
        "\n{} differences, {} unexplained; {} deliberate entries in docs/compat.md, {} not seen\n",
        r.diffs.len(),
        unexplained.len(),
        allowed.len(),
        stale.len()
    ));
    for (side, (lines, dir)) in sides.iter().zip(life.iter().zip(&dirs)) {
        text.push_str(&format!("\n## {} log after startup\n\n", side.name));
        for l in lines {
            text.push_str(&format!("    {}\n", normalize_line(l, dir)));
        }
    }
    eprintln!("{text}");
    if let Some(out) = std::env::var_os("COMPAT_DIFF_REPORT") {
        std::fs::write(&out, &text).expect("write the report");
    }
    assert!(
        unexplained.is_empty(),
        "differences from MediaMTX that docs/compat.md does not explain:\n{}",
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "docs/compat.md lists differences the test no longer finds: {stale:?}"
    );
}

#[test]
fn deliberate_keys_match_with_stars_and_normalized_lines() {
    assert!(matches("rtsp * server", "rtsp OPTIONS server"));
    assert!(!matches("rtsp * server", "rtsp OPTIONS status"));
    assert!(matches(
        "metrics only in ferromtx: process_*",
        "metrics only in ferromtx: process_tasks"
    ));
    assert!(matches(
        "api * {bad.error",
        "api POST /v3/config/paths/add/new {bad.error"
    ));
    assert!(!matches("a", "ab"));
    assert!(matches("a*b*c", "a-b-b-c"));
    assert_eq!(
        normalize_line(
            "2026/12/08 00:29:43 INF [RTSP] [session beb08fd8] created by 127.0.0.1:55294",
            "/tmp/x"
        ),
        "INF [RTSP] [session ID] created by ADDR"
    );
    assert_eq!(
        normalize_line(
            "2026/12/08 00:29:43 INF configuration loaded from /tmp/x/mediamtx.yml",
            "/tmp/x"
        ),
        "INF configuration loaded from DIR/mediamtx.yml"
    );
    // Volatile fields are compared by type only; lists in a stable order.
    let a = serde_json::json!({"items": [{"id": "b", "state": "read"}, {"id": "a", "state": "publish"}], "bytesSent": 5});
    let b = serde_json::json!({"items": [{"id": "c", "state": "publish"}, {"id": "d", "state": "read"}], "bytesSent": 9});
    let mut r = Report::default();
    compare_json(&mut r, "x", &stable(&a), &stable(&b));
    assert!(r.diffs.is_empty(), "{:?}", r.diffs);
    let c = serde_json::json!({"items": [], "bytesSent": "9"});
    compare_json(&mut r, "x", &stable(&a), &stable(&c));
    assert_eq!(r.diffs.len(), 2, "{:?}", r.diffs);
}
