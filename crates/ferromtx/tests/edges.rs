//! Origin and edges (docs/scale-out.md), all the real binary on loopback, with the
//! configurations of `dist/scale-out/` (only listen addresses, the origin's address and
//! `sourceOnDemandCloseAfter` changed): ffmpeg publishes to the origin; headless Chromium
//! plays WHEP and ffmpeg reads RTSP on two edges, each pulling the path from the origin on
//! demand. The origin carries one pull per edge whatever the number of viewers; an edge
//! without viewers lets go of the origin; the origin restarting, edges pull again and
//! viewers play again. Then HAProxy with `dist/scale-out/haproxy.cfg` in front of the edges
//! keeps each WHEP session's PATCH and DELETE on the edge that created it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{
    KillOnDrop, Server, browser_scripts, env_refs, ffmpeg_publish, ffprobe_streams, free_port,
    get_json, http, http_with, rtsp_env, tool, webrtc_env,
};
use serde_json::{Value, json};

const ORIGIN_CONF: &str = include_str!("../../../dist/scale-out/origin.yml");
const EDGE_CONF: &str = include_str!("../../../dist/scale-out/edge.yml");
const HAPROXY_CFG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dist/scale-out/haproxy.cfg"
);

/// Three servers, Chromium and ffmpeg each: one test at a time on a 2-core machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Bound of every wait for a state seen through the API.
const WAIT: Duration = Duration::from_secs(40);

fn listeners(api: u16, metrics: u16) -> Vec<(String, String)> {
    vec![
        ("MTX_APIADDRESS".into(), format!("127.0.0.1:{api}")),
        ("MTX_METRICSADDRESS".into(), format!("127.0.0.1:{metrics}")),
    ]
}

struct Origin {
    server: Server,
    /// Kept to start it again on the same ports.
    env: Vec<(String, String)>,
    rtsp: u16,
    api: u16,
}

fn start_origin(env: Vec<(String, String)>, rtsp: u16, api: u16) -> Origin {
    let mut server = common::start(Some(ORIGIN_CONF), &[], &env_refs(&env));
    server.wait_line("[RTSP] started with listener");
    server.wait_line("[API] started with listener");
    Origin {
        server,
        env,
        rtsp,
        api,
    }
}

fn new_origin() -> Origin {
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let api = free_port();
    env.extend(listeners(api, free_port()));
    start_origin(env, rtsp, api)
}

struct Edge {
    server: Server,
    rtsp: u16,
    whep: u16,
    api: u16,
}

/// An edge with `dist/scale-out/edge.yml`: the origin at `origin_rtsp`, the node's address
/// 127.0.0.1 (as Kubernetes sets it from `status.hostIP`).
fn start_edge(origin_rtsp: u16, close_after: &str) -> Edge {
    let conf = EDGE_CONF
        .replace(
            "rtsp://ferromtx-origin:8554/",
            &format!("rtsp://127.0.0.1:{origin_rtsp}/"),
        )
        .replace(
            "sourceOnDemandCloseAfter: 10s",
            &format!("sourceOnDemandCloseAfter: {close_after}"),
        );
    assert!(conf.contains(&format!("rtsp://127.0.0.1:{origin_rtsp}/$G1")));
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (wenv, (whep, _)) = webrtc_env();
    env.extend(wenv);
    let api = free_port();
    env.extend(listeners(api, free_port()));
    env.push(("MTX_WEBRTCADDITIONALHOSTS".into(), "127.0.0.1".into()));
    let mut server = common::start(Some(&conf), &[], &env_refs(&env));
    server.wait_line("[WebRTC] started with listener");
    server.wait_line("[API] started with listener");
    Edge {
        server,
        rtsp,
        whep,
        api,
    }
}

/// Polls `f` until it returns `Some`, at most [`WAIT`]; panics with `what` and the last
/// value seen.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) => assert!(Instant::now() < deadline, "{what}: {last}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `/v3/paths/get/{path}` of the server whose API listens on `api` (Null when unknown).
fn path_info(api: u16, path: &str) -> Value {
    let (status, _, body) = http("GET", api, &format!("/v3/paths/get/{path}"), None);
    if status != 200 {
        return Value::Null;
    }
    serde_json::from_slice(&body).expect("json")
}

/// The types of the readers of `path`: `["rtspSession", "webRTCSession", ...]`.
fn reader_types(api: u16, path: &str) -> Vec<String> {
    let info = path_info(api, path);
    let mut types: Vec<String> = info["readers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["type"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    types.sort();
    types
}

/// Waits until `path` on `api` has exactly these readers (sorted types).
fn wait_readers(what: &str, api: u16, path: &str, expected: &[&str]) {
    wait_for(what, || {
        let got = reader_types(api, path);
        if got == expected {
            Ok(())
        } else {
            Err(format!("readers {got:?}, expected {expected:?}"))
        }
    });
}

/// RTSP sessions of the origin that read `path`.
fn origin_pulls(api: u16, path: &str) -> usize {
    let list = get_json(api, "/v3/rtspsessions/list");
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| s["state"] == "read" && s["path"] == path)
                .count()
        })
        .unwrap_or(0)
}

/// ffmpeg reading an RTSP URL over TCP until killed.
fn rtsp_reader(ffmpeg: &Path, url: &str) -> KillOnDrop {
    KillOnDrop(
        Command::new(ffmpeg)
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-rtsp_transport",
                "tcp",
            ])
            .args(["-i", url, "-c", "copy", "-f", "null", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ffmpeg"),
    )
}

/// `tests/browser/viewers.mjs`: WHEP viewers in one Chromium page, one JSON command a line.
struct Viewers {
    _child: KillOnDrop,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Viewers {
    fn start(node: &Path, dir: &Path) -> Viewers {
        let mut child = Command::new(node)
            .arg(dir.join("viewers.mjs"))
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Viewers {
            _child: KillOnDrop(child),
            stdin,
            lines,
        }
    }

    fn ask(&mut self, cmd: Value) -> Value {
        writeln!(self.stdin, "{cmd}").expect("write to viewers.mjs");
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|e| panic!("no answer to {cmd}: {e}"));
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{cmd} -> {line:?}: {e}"));
        assert!(v.get("error").is_none(), "{cmd} -> {v}");
        v
    }

    /// Opens `peers` connected WHEP sessions to `url` as `group`; returns their Locations.
    fn open(&mut self, group: &str, url: &str, peers: usize) -> Vec<String> {
        let v = self.ask(json!({"cmd": "open", "group": group, "url": url, "peers": peers}));
        v["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .map(|l| l.as_str().expect("a Location").to_string())
            .collect()
    }

    fn frames(&mut self, group: &str) -> Vec<u64> {
        let stats = self.ask(json!({"cmd": "stats", "group": group}));
        stats
            .as_array()
            .expect("stats")
            .iter()
            .map(|s| s["framesDecoded"].as_u64().unwrap_or(0))
            .collect()
    }

    /// Every viewer of `group` decodes video (once its first keyframe came), more frames
    /// each time it is asked.
    fn assert_playing(&mut self, group: &str) {
        wait_for("every viewer's first frame", || {
            let frames = self.frames(group);
            if frames.iter().all(|f| *f > 0) {
                Ok(())
            } else {
                Err(format!("{group}: frames decoded {frames:?}"))
            }
        });
        let first = self.ask(json!({"cmd": "stats", "group": group}));
        std::thread::sleep(Duration::from_secs(2));
        let second = self.ask(json!({"cmd": "stats", "group": group}));
        let (first, second) = (
            first.as_array().expect("stats"),
            second.as_array().expect("stats"),
        );
        assert!(!first.is_empty());
        for (a, b) in first.iter().zip(second) {
            assert_eq!(b["state"], "connected", "{group}: {b}");
            let (a, b) = (
                a["framesDecoded"].as_u64().unwrap_or(0),
                b["framesDecoded"].as_u64().unwrap_or(0),
            );
            assert!(a > 0 && b > a, "{group}: frames decoded {a} then {b}");
        }
    }

    /// Closes the browser (the viewers left are dropped without a DELETE).
    fn quit(mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"cmd": "quit"}));
    }

    /// Closes the viewers of `group`; returns the status of each one's DELETE.
    fn close(&mut self, group: &str) -> Vec<u64> {
        let v = self.ask(json!({"cmd": "close", "group": group}));
        v["deleted"]
            .as_array()
            .expect("deleted")
            .iter()
            .map(|s| s.as_u64().expect("status"))
            .collect()
    }
}

fn whep_url(edge: &Edge) -> String {
    format!("http://127.0.0.1:{}/cam/whep", edge.whep)
}

#[test]
fn edges_pull_once_from_the_origin_let_go_when_unused_and_recover_from_its_restart() {
    let (Some(ffmpeg), Some(ffprobe), Some((node, dir))) =
        (tool("ffmpeg"), tool("ffprobe"), browser_scripts())
    else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut origin = new_origin();
    let publish_url = format!("rtsp://127.0.0.1:{}/cam", origin.rtsp);
    let mut publisher = KillOnDrop(ffmpeg_publish(&ffmpeg, &publish_url, true, 300));
    origin.server.wait_line("is publishing to path 'cam'");

    let mut edges = [start_edge(origin.rtsp, "2s"), start_edge(origin.rtsp, "2s")];
    // On demand: nothing pulls before a viewer comes.
    assert_eq!(origin_pulls(origin.api, "cam"), 0);

    // Each edge: 3 WHEP viewers and 2 RTSP readers.
    let mut viewers = Viewers::start(&node, &dir);
    let mut readers = Vec::new();
    for (i, edge) in edges.iter().enumerate() {
        let locations = viewers.open(&format!("edge{i}"), &whep_url(edge), 3);
        assert_eq!(locations.len(), 3);
        let url = format!("rtsp://127.0.0.1:{}/cam", edge.rtsp);
        readers.push([rtsp_reader(&ffmpeg, &url), rtsp_reader(&ffmpeg, &url)]);
    }
    let five = [
        "rtspSession",
        "rtspSession",
        "webRTCSession",
        "webRTCSession",
        "webRTCSession",
    ];
    for edge in &mut edges {
        wait_readers("an edge's viewers", edge.api, "cam", &five);
        let info = path_info(edge.api, "cam");
        assert_eq!(info["source"]["type"], "rtspSource", "{info}");
        assert_eq!(info["ready"], true, "{info}");
        edge.server.wait_line("ready: 2 tracks (H264, Opus)");
    }
    // The origin: one pull per edge, not one per viewer.
    assert_eq!(
        reader_types(origin.api, "cam"),
        ["rtspSession", "rtspSession"]
    );
    assert_eq!(origin_pulls(origin.api, "cam"), 2);
    viewers.assert_playing("edge0");
    viewers.assert_playing("edge1");
    for edge in &edges {
        let probed = ffprobe_streams(
            &ffprobe,
            &format!("rtsp://127.0.0.1:{}/cam", edge.rtsp),
            "tcp",
        );
        assert!(probed.lines().any(|l| l == "h264,320,240"), "{probed}");
    }
    // Still two pulls with the probes come and gone.
    assert_eq!(origin_pulls(origin.api, "cam"), 2);

    // Edge 0 loses its viewers: after sourceOnDemandCloseAfter it lets go of the origin;
    // edge 1 keeps playing.
    assert_eq!(viewers.close("edge0"), [200, 200, 200]);
    readers.remove(0);
    edges[0]
        .server
        .wait_line("on-demand source stopped: not needed by anyone");
    wait_for(
        "the origin with edge 1's pull only",
        || match origin_pulls(origin.api, "cam") {
            1 => Ok(()),
            n => Err(format!("{n} pulls")),
        },
    );
    // The path of the regex entry is gone with its source.
    assert_eq!(path_info(edges[0].api, "cam"), Value::Null);
    viewers.assert_playing("edge1");

    // A browser on edge 1's player page, which retries by itself when its session ends.
    viewers.ask(json!({"cmd": "player", "group": "page", "url": format!("http://127.0.0.1:{}/cam/", edges[1].whep)}));
    wait_for("the player page playing", || {
        match viewers.ask(json!({"cmd": "frames", "group": "page"}))["frames"].as_u64() {
            Some(n) if n > 0 => Ok(()),
            n => Err(format!("frames {n:?}")),
        }
    });

    // The origin restarts (killed, started again on the same ports, the publisher back).
    drop(publisher);
    let _ = origin.server.child.kill();
    let _ = origin.server.child.wait();
    let env = std::mem::take(&mut origin.env);
    let (rtsp, api) = (origin.rtsp, origin.api);
    drop(origin);
    // Edge 1's pull fails: it stops and its readers are closed, as MediaMTX does.
    edges[1]
        .server
        .wait_line("on-demand source stopped: an error occurred");
    wait_readers("edge 1's readers closed", edges[1].api, "cam", &[]);
    let origin = start_origin(env, rtsp, api);
    publisher = KillOnDrop(ffmpeg_publish(&ffmpeg, &publish_url, true, 300));
    let _ = &publisher;
    wait_for("the publisher back on the origin", || {
        match path_info(origin.api, "cam")["ready"].as_bool() {
            Some(true) => Ok(()),
            other => Err(format!("ready: {other:?}")),
        }
    });
    // The player page plays again by itself: Chromium notices that its session ended (ICE
    // consent, about 20 s), the page posts a new offer, which starts a new pull.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let frames =
            |v: &mut Viewers| v.ask(json!({"cmd": "frames", "group": "page"}))["frames"].as_u64();
        let before = frames(&mut viewers);
        std::thread::sleep(Duration::from_secs(2));
        let after = frames(&mut viewers);
        let session = reader_types(edges[1].api, "cam") == ["webRTCSession"];
        if session && after > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the player page did not play again: frames {before:?} then {after:?}"
        );
    }
    assert_eq!(origin_pulls(origin.api, "cam"), 1);
    viewers.close("edge1");
    drop(readers);

    // Viewers come back (the player page retries every 2 s): both edges pull again, once.
    for (i, edge) in edges.iter().enumerate() {
        viewers.open(&format!("again{i}"), &whep_url(edge), 2);
    }
    wait_readers(
        "edge 0's viewers after the restart",
        edges[0].api,
        "cam",
        &["webRTCSession", "webRTCSession"],
    );
    wait_readers(
        "edge 1's viewers and its player page after the restart",
        edges[1].api,
        "cam",
        &["webRTCSession", "webRTCSession", "webRTCSession"],
    );
    viewers.assert_playing("again0");
    viewers.assert_playing("again1");
    assert_eq!(origin_pulls(origin.api, "cam"), 2);
    for edge in &edges {
        let probed = ffprobe_streams(
            &ffprobe,
            &format!("rtsp://127.0.0.1:{}/cam", edge.rtsp),
            "tcp",
        );
        assert!(probed.lines().any(|l| l == "h264,320,240"), "{probed}");
    }
    viewers.quit();
}

/// HAProxy with `dist/scale-out/haproxy.cfg` on picked ports, in front of `edges`.
fn start_haproxy(haproxy: &Path, edges: &[Edge; 2]) -> (KillOnDrop, u16, u16) {
    let (whep, rtsp) = (free_port(), free_port());
    let child = Command::new(haproxy)
        .args(["-db", "-f", HAPROXY_CFG])
        .env("FERROMTX_WHEP_BIND", format!("127.0.0.1:{whep}"))
        .env("FERROMTX_RTSP_BIND", format!("127.0.0.1:{rtsp}"))
        .env(
            "FERROMTX_EDGE1_WHEP",
            format!("127.0.0.1:{}", edges[0].whep),
        )
        .env(
            "FERROMTX_EDGE2_WHEP",
            format!("127.0.0.1:{}", edges[1].whep),
        )
        .env(
            "FERROMTX_EDGE1_RTSP",
            format!("127.0.0.1:{}", edges[0].rtsp),
        )
        .env(
            "FERROMTX_EDGE2_RTSP",
            format!("127.0.0.1:{}", edges[1].rtsp),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn haproxy");
    let child = KillOnDrop(child);
    wait_for("HAProxy listening", || {
        std::net::TcpStream::connect(("127.0.0.1", whep))
            .map(drop)
            .map_err(|e| e.to_string())
    });
    (child, whep, rtsp)
}

/// A trickle-ICE fragment for a session's PATCH (one more remote candidate).
const SDPFRAG: &str = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n";

#[test]
fn haproxy_keeps_each_whep_session_on_the_edge_that_created_it() {
    let (Some(ffmpeg), Some(ffprobe), Some(haproxy), Some((node, dir))) = (
        tool("ffmpeg"),
        tool("ffprobe"),
        tool("haproxy"),
        browser_scripts(),
    ) else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut origin = new_origin();
    let _publisher = KillOnDrop(ffmpeg_publish(
        &ffmpeg,
        &format!("rtsp://127.0.0.1:{}/cam", origin.rtsp),
        true,
        300,
    ));
    origin.server.wait_line("is publishing to path 'cam'");
    let edges = [
        start_edge(origin.rtsp, "10s"),
        start_edge(origin.rtsp, "10s"),
    ];
    let (_lb, lb_whep, lb_rtsp) = start_haproxy(&haproxy, &edges);

    // Four viewers through the balancer (a page of its origin: no CORS preflights), spread
    // round-robin over the edges.
    let mut viewers = Viewers::start(&node, &dir);
    viewers.ask(json!({"cmd": "goto", "url": format!("http://127.0.0.1:{lb_whep}/viewers.html")}));
    let locations = viewers.open("lb", &format!("http://127.0.0.1:{lb_whep}/cam/whep"), 4);
    wait_for("four viewers over both edges", || {
        let counts: Vec<usize> = edges
            .iter()
            .map(|e| reader_types(e.api, "cam").len())
            .collect();
        if counts.iter().sum::<usize>() == 4 && counts.iter().all(|n| *n > 0) {
            Ok(())
        } else {
            Err(format!("readers per edge {counts:?}"))
        }
    });
    viewers.assert_playing("lb");
    assert_eq!(origin_pulls(origin.api, "cam"), 2);

    for location in &locations {
        assert!(location.starts_with("/cam/whep/"), "{location}");
        // Exactly one edge knows the session: a PATCH to the other one is refused...
        let on_edges: Vec<u16> = edges
            .iter()
            .map(|e| {
                http_with(
                    "PATCH",
                    e.whep,
                    location,
                    "application/trickle-ice-sdpfrag",
                    Some(SDPFRAG),
                )
                .0
            })
            .collect();
        let mut sorted = on_edges.clone();
        sorted.sort();
        assert_eq!(sorted, [204, 404], "{location}: {on_edges:?}");
        // ...and the balancer sends it to the right one, every time.
        for _ in 0..4 {
            let (status, head, _) = http_with(
                "PATCH",
                lb_whep,
                location,
                "application/trickle-ice-sdpfrag",
                Some(SDPFRAG),
            );
            assert_eq!(status, 204, "PATCH {location} through HAProxy: {head}");
        }
    }
    // DELETE through the balancer (what the page does when it leaves) reaches the edge.
    assert_eq!(viewers.close("lb"), [200, 200, 200, 200]);
    for edge in &edges {
        wait_for("sessions gone", || {
            match get_json(edge.api, "/v3/webrtcsessions/list")["itemCount"].as_u64() {
                Some(0) => Ok(()),
                n => Err(format!("{n:?} sessions")),
            }
        });
    }
    // RTSP readers through the balancer's TCP frontend.
    let probed = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{lb_rtsp}/cam"), "tcp");
    assert!(probed.lines().any(|l| l == "h264,320,240"), "{probed}");
    viewers.quit();
}
