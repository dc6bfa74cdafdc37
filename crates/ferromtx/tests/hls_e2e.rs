//! HLS end to end against the real binary: ffmpeg publishes H264 + AAC over RTSP, and
//! ffmpeg/ffprobe read every variant back over HLS; the playlists are held to the rules of
//! RFC 8216bis (durations, hold-back, media sequence numbering, blocking reload, delta
//! updates); sessions, authentication, the API, metrics, `hlsDirectory`, `hlsAlwaysRemux`
//! and the HLS pull source (a second server pulling from the first, serving RTSP).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{KillOnDrop, Server, env_refs, free_port, get_json, header, hls_env, rtsp_env, tool};
use ferromtx_testkit::ffmpeg::{self, Audio};

/// A server with RTSP and HLS on picked loopback ports (API on `api` when given), `extra`
/// appended to its config. Returns it with its RTSP and HLS ports.
fn start_server(extra: &str) -> (Server, u16, u16) {
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (henv, hls) = hls_env();
    env.extend(henv);
    let conf = format!("rtmp: no\nwebrtc: no\nsrt: no\nmoq: no\n{extra}\n");
    let conf = if conf.contains("paths:") {
        conf
    } else {
        format!("{conf}paths:\n  all_others:\n")
    };
    let mut s = common::start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[RTSP] started with listener");
    s.wait_line("[HLS] started with listener");
    (s, rtsp, hls)
}

/// ffmpeg publishing 320x240 H264 + AAC to `path` for `seconds`, once the server says so.
fn publish(s: &mut Server, ffmpeg: &Path, rtsp: u16, path: &str, seconds: u32) -> KillOnDrop {
    let mut cmd = ffmpeg::synthetic(ffmpeg, Audio::Aac, seconds);
    cmd.args([
        "-f",
        "rtsp",
        "-rtsp_transport",
        "tcp",
        &format!("rtsp://127.0.0.1:{rtsp}/{path}"),
    ]);
    let p = KillOnDrop(cmd.spawn().expect("spawn ffmpeg"));
    s.wait_line(&format!("is publishing to path '{path}'"));
    p
}

/// One GET (the connection closed after it): status, head, body.
fn get(port: u16, target: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    common::http11(port, "GET", target, headers, "")
}

/// A player's session: the multivariant playlist got through the server's redirect.
struct Player {
    port: u16,
    path: String,
    /// `session=...` (with the request's other parameters), as the URIs carry it.
    query: String,
    multivariant: String,
}

fn open(port: u16, path: &str, extra_query: &str, headers: &[(&str, &str)]) -> Player {
    let first = if extra_query.is_empty() {
        format!("/{path}/index.m3u8")
    } else {
        format!("/{path}/index.m3u8?{extra_query}")
    };
    let (status, head, _) = get(port, &first, headers);
    assert_eq!(status, 302, "{head}");
    let location = header(&head, "location").expect("Location").to_owned();
    assert!(location.contains("cookieCheck=1"), "{location}");
    assert!(
        header(&head, "set-cookie").is_some_and(|c| c.starts_with("cookieCheck=1;")),
        "{head}"
    );
    let (status, head, body) = get(port, &location, headers);
    assert_eq!(status, 200, "{head}");
    assert_eq!(
        header(&head, "content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(header(&head, "cache-control"), Some("private, no-cache"));
    let text = String::from_utf8(body).expect("UTF-8");
    let uri = text
        .lines()
        .find(|l| !l.starts_with('#') && l.contains(".m3u8"))
        .expect("a media playlist URI")
        .to_owned();
    let query = uri
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    assert!(query.contains("session="), "{text}");
    Player {
        port,
        path: path.to_owned(),
        query,
        multivariant: text,
    }
}

impl Player {
    fn url(&self, name: &str, directives: &str) -> String {
        let mut u = format!("/{}/{name}?{}", self.path, self.query);
        if !directives.is_empty() {
            u.push('&');
            u.push_str(directives);
        }
        u
    }

    fn fetch(&self, name: &str, directives: &str) -> (u16, String, Vec<u8>) {
        get(self.port, &self.url(name, directives), &[])
    }

    fn playlist(&self, name: &str, directives: &str) -> String {
        let (status, head, body) = self.fetch(name, directives);
        assert_eq!(status, 200, "{name}?{directives}: {head}");
        String::from_utf8(body).expect("UTF-8")
    }
}

/// `video1_stream.m3u8` of a multivariant playlist.
fn media_playlists(multivariant: &str) -> Vec<String> {
    multivariant
        .lines()
        .filter_map(|l| {
            let uri = if let Some(i) = l.find("URI=\"") {
                l[i + 5..].split('"').next()?
            } else if !l.starts_with('#') && !l.is_empty() {
                l
            } else {
                return None;
            };
            Some(uri.split('?').next()?.to_owned())
        })
        .collect()
}

/// The distinct `codec,width,height` lines of ffprobe (it lists an HLS stream's streams once
/// per program and once alone), sorted.
fn stream_set(ffprobe_output: &str) -> Vec<String> {
    let mut lines: Vec<String> = ffprobe_output
        .lines()
        .map(|l| l.trim().trim_end_matches(',').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

fn ffprobe_streams(ffprobe: &Path, url: &str) -> String {
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "csv=p=0", url])
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ffmpeg_reads_every_variant() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    for variant in ["lowLatency", "fmp4", "mpegts"] {
        let (mut s, rtsp, hls) = start_server(&format!("hlsVariant: {variant}"));
        let _publisher = publish(&mut s, &ffmpeg, rtsp, "cam", 60);
        let url = format!("http://127.0.0.1:{hls}/cam/index.m3u8");
        let streams = ffprobe_streams(&ffprobe, &url);
        assert_eq!(
            stream_set(&streams),
            ["aac", "h264,320,240"],
            "{variant}: {streams}"
        );
        // 4 s of output: 100 video frames at 25 fps, about 188 AAC frames at 48 kHz.
        let frames = ferromtx_testkit::ffmpeg::decode(&ffmpeg, &[], &url, 4);
        let mut counts: Vec<usize> = frames.iter().map(|f| f.frames).collect();
        counts.sort_unstable();
        assert_eq!(counts.len(), 2, "{variant}: {frames:?}");
        assert!(
            (99..=101).contains(&counts[0]) || (99..=101).contains(&counts[1]),
            "{variant}: 100 video frames expected, {frames:?}"
        );
        assert!(
            counts.iter().any(|c| (180..=195).contains(c)),
            "{variant}: about 188 audio frames expected, {frames:?}"
        );
        s.wait_line("[HLS] [muxer cam] is converting into HLS, 2 tracks (H264, MPEG-4 Audio)");
        s.wait_line("] is reading from muxer 'cam'");
    }
}

/// `#EXT-X-...:` attribute `name` of the line starting with `tag`.
fn attr(playlist: &str, tag: &str, name: &str) -> Option<String> {
    let line = playlist.lines().find(|l| l.starts_with(tag))?;
    let list = line.split_once(':')?.1;
    for item in list.split(',') {
        if let Some(v) = item.strip_prefix(&format!("{name}=")) {
            return Some(v.trim_matches('"').to_owned());
        }
    }
    None
}

fn tag_value(playlist: &str, tag: &str) -> Option<String> {
    playlist
        .lines()
        .find_map(|l| l.strip_prefix(tag))
        .map(str::to_owned)
}

/// `(msn, segment URI)` of every segment listed (gaps included).
fn segments(playlist: &str) -> Vec<(u64, String)> {
    let first: u64 = tag_value(playlist, "#EXT-X-MEDIA-SEQUENCE:")
        .expect("media sequence")
        .parse()
        .expect("number");
    let mut out = Vec::new();
    let mut in_segment = false;
    for l in playlist.lines() {
        if l.starts_with("#EXTINF:") {
            in_segment = true;
        } else if in_segment && !l.starts_with('#') {
            out.push((
                first + out.len() as u64,
                l.split('?').next().unwrap_or(l).to_owned(),
            ));
            in_segment = false;
        }
    }
    out
}

/// `(msn, index)` of the last part listed.
fn last_part(playlist: &str) -> (u64, u64) {
    let next_msn = segments(playlist).last().map_or(0, |s| s.0 + 1);
    let trailing = playlist
        .lines()
        .rev()
        .take_while(|l| !l.starts_with("#EXTINF:") && !l.starts_with("#EXT-X-MAP"))
        .filter(|l| l.starts_with("#EXT-X-PART:"))
        .count() as u64;
    if trailing > 0 {
        return (next_msn, trailing - 1);
    }
    // The last segment's parts.
    let mut count = 0;
    let mut seen_last_extinf = false;
    for l in playlist.lines().rev() {
        if l.starts_with("#EXTINF:") {
            if seen_last_extinf {
                break;
            }
            seen_last_extinf = true;
        } else if seen_last_extinf && l.starts_with("#EXT-X-PART:") {
            count += 1;
        }
    }
    (next_msn - 1, count.max(1) - 1)
}

fn secs(s: &str) -> f64 {
    s.trim_end_matches(',').parse().expect("seconds")
}

#[test]
fn low_latency_playlists_follow_rfc_8216bis() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut s, rtsp, hls) = start_server("hlsSegmentCount: 10");
    let _publisher = publish(&mut s, &ffmpeg, rtsp, "cam", 90);
    let player = open(hls, "cam", "", &[]);
    let names = media_playlists(&player.multivariant);
    assert_eq!(names, ["audio2_stream.m3u8", "video1_stream.m3u8"]);

    let mut seen: HashMap<u64, String> = HashMap::new();
    let mut last_msn_seq = 0;
    let first = player.playlist("video1_stream.m3u8", "");
    let (mut msn, mut part) = last_part(&first);
    // Ten blocking reloads, each for the part after the last one listed.
    for _ in 0..10 {
        let (want_msn, want_part) = (msn, part + 1);
        let asked = Instant::now();
        let p = player.playlist(
            "video1_stream.m3u8",
            &format!("_HLS_msn={want_msn}&_HLS_part={want_part}"),
        );
        let waited = asked.elapsed();
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        // Rules on every playlist.
        let target: f64 = tag_value(&p, "#EXT-X-TARGETDURATION:")
            .expect("target")
            .parse()
            .expect("number");
        let part_target = secs(&attr(&p, "#EXT-X-PART-INF:", "PART-TARGET").expect("part target"));
        let hold_back =
            secs(&attr(&p, "#EXT-X-SERVER-CONTROL:", "PART-HOLD-BACK").expect("hold back"));
        assert!(hold_back >= 3.0 * part_target - 1e-9, "{p}");
        assert_eq!(
            attr(&p, "#EXT-X-SERVER-CONTROL:", "CAN-BLOCK-RELOAD").as_deref(),
            Some("YES")
        );
        let skip_until = secs(&attr(&p, "#EXT-X-SERVER-CONTROL:", "CAN-SKIP-UNTIL").expect("skip"));
        assert!(skip_until >= 6.0 * target, "{p}");
        for l in p.lines() {
            if let Some(d) = l.strip_prefix("#EXTINF:") {
                assert!(
                    secs(d).round() <= target,
                    "segment longer than the target: {l}"
                );
            }
            if l.starts_with("#EXT-X-PART:") {
                let d = secs(&attr(l, "#EXT-X-PART:", "DURATION").expect("duration"));
                assert!(d <= part_target + 1e-9, "part longer than PART-TARGET: {l}");
            }
        }
        assert!(
            !p.contains("#EXT-X-DISCONTINUITY"),
            "no discontinuity expected"
        );
        // Media sequence numbers: one segment, one number, across reloads.
        let seq: u64 = tag_value(&p, "#EXT-X-MEDIA-SEQUENCE:")
            .expect("seq")
            .parse()
            .expect("number");
        assert!(seq >= last_msn_seq, "media sequence went back");
        last_msn_seq = seq;
        for (n, uri) in segments(&p) {
            if uri == "gap.mp4" {
                continue;
            }
            let prev = seen.entry(n).or_insert_with(|| uri.clone());
            assert_eq!(*prev, uri, "segment {n} changed");
        }
        // Answered as soon as the part appeared: it is the last one listed (the next one, a
        // part duration later, is not there yet), and the hint names the one after it.
        let (got_msn, got_part) = last_part(&p);
        let exact = (got_msn, got_part) == (want_msn, want_part)
            || (got_msn == want_msn + 1 && got_part == 0 && want_part > 0);
        assert!(
            exact,
            "asked {want_msn}/{want_part}, got up to {got_msn}/{got_part}\n{p}"
        );
        assert!(p.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI="), "{p}");
        (msn, part) = (got_msn, got_part);
        // The part itself is served.
        let part_uri = p
            .lines()
            .rev()
            .find(|l| l.starts_with("#EXT-X-PART:"))
            .and_then(|l| attr(l, "#EXT-X-PART:", "URI"))
            .expect("a part");
        let (status, head, body) =
            player.fetch(part_uri.split('?').next().unwrap_or(&part_uri), "");
        assert_eq!(status, 200, "{head}");
        assert_eq!(header(&head, "content-type"), Some("video/mp4"));
        assert!(
            body.len() > 8 && &body[4..8] == b"moof",
            "a part starts with moof"
        );
    }

    // Delta update: the full playlist minus the skipped segments.
    let directives = format!("_HLS_msn={msn}&_HLS_part={part}");
    let (full, delta) = loop {
        let full = player.playlist("video1_stream.m3u8", &directives);
        let delta = player.playlist("video1_stream.m3u8", &format!("{directives}&_HLS_skip=YES"));
        let hint = |p: &str| attr(p, "#EXT-X-PRELOAD-HINT:", "URI");
        if hint(&full) == hint(&delta) {
            break (full, delta);
        }
    };
    let skipped: usize = attr(&delta, "#EXT-X-SKIP:", "SKIPPED-SEGMENTS")
        .expect("EXT-X-SKIP")
        .parse()
        .expect("number");
    assert!(skipped > 0, "{delta}");
    let header_end = full.find("#EXT-X-MAP:").expect("map");
    let header_end = header_end + full[header_end..].find('\n').expect("line") + 1;
    let body = &full[header_end..];
    // Drop the first `skipped` segments (each ends with its URI line).
    let mut rest = body;
    for _ in 0..skipped {
        let i = rest.find("#EXTINF:").expect("segment");
        let end = i + rest[i..].find('\n').expect("line") + 1;
        let end = end + rest[end..].find('\n').expect("uri") + 1;
        rest = &rest[end..];
    }
    let expected = format!(
        "{}#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}\n{rest}",
        &full[..header_end]
    );
    assert_eq!(delta, expected);

    // A request for a part too far ahead is refused at once.
    let (status, _, _) = player.fetch(
        "video1_stream.m3u8",
        &format!("_HLS_msn={}&_HLS_part=0", msn + 5),
    );
    assert_eq!(status, 400);
}

#[test]
fn sessions_auth_api_and_metrics() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (api, metrics) = (free_port(), free_port());
    let (mut s, rtsp, hls) = start_server(&format!(
        "api: yes\napiAddress: 127.0.0.1:{api}\nmetrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\n\
         authInternalUsers:\n  - user: any\n    pass:\n    ips: []\n    permissions:\n      - action: publish\n      - action: api\n      - action: metrics\n  \
         - user: viewer\n    pass: secret\n    ips: []\n    permissions:\n      - action: read\n\
         paths:\n  all_others:\n"
    ));
    let _publisher = publish(&mut s, &ffmpeg, rtsp, "cam", 60);

    // No credentials: asked for them. Wrong ones: refused without asking.
    let (status, head, body) = get(hls, "/cam/index.m3u8?cookieCheck=1", &[]);
    assert_eq!(status, 401, "{head}");
    assert_eq!(
        header(&head, "www-authenticate"),
        Some("Basic realm=\"mediamtx\"")
    );
    assert_eq!(
        body,
        br#"{"status":"error","error":"authentication error"}"#
    );
    let bad = ("Authorization", "Basic dmlld2VyOndyb25n"); // viewer:wrong
    let (status, head, _) = get(hls, "/cam/index.m3u8?cookieCheck=1", &[bad]);
    assert_eq!(status, 401);
    assert_eq!(header(&head, "www-authenticate"), None);
    // The player page asks for credentials too.
    let (status, _, _) = get(hls, "/cam/", &[]);
    assert_eq!(status, 401);

    let good = ("Authorization", "Basic dmlld2VyOnNlY3JldA=="); // viewer:secret
    let (status, head, page) = get(hls, "/cam/", &[good]);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-type"), Some("text/html"));
    assert!(String::from_utf8_lossy(&page).contains("hls.min.js"));
    let (status, head, js) = get(hls, "/cam/hls.min.js", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "content-type"),
        Some("application/javascript")
    );
    assert!(js.len() > 100_000);
    let (status, head, _) = get(hls, "/cam", &[]);
    assert_eq!((status, header(&head, "location")), (302, Some("/cam/")));

    // Credentials in the query work the same (user:pass as a token is Basic's job; here
    // the query is kept on every URI of the playlists).
    let player = open(hls, "cam", "extra=1", &[good]);
    assert!(player.query.contains("extra=1"), "{}", player.query);
    let video = player.playlist("video1_stream.m3u8", "");
    assert!(video.contains("?extra=1&session="), "{video}");
    // Without the session, or with a made-up one, files are refused.
    let (status, _, _) = get(hls, "/cam/video1_stream.m3u8", &[]);
    assert_eq!(status, 401);
    let (status, _, _) = get(
        hls,
        "/cam/video1_stream.m3u8?session=00000000-0000-4000-8000-000000000000",
        &[],
    );
    assert_eq!(status, 401);
    // Files of the muxer: init segment and the newest complete segment.
    let init = video
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .and_then(|l| l.split('?').next())
        .expect("init");
    let (status, _, body) = player.fetch(init, "");
    assert_eq!(status, 200);
    assert_eq!(&body[4..8], b"ftyp");
    let seg = segments(&video)
        .into_iter()
        .rev()
        .find(|(_, u)| u != "gap.mp4")
        .expect("a segment")
        .1;
    let (status, _, body) = player.fetch(&seg, "");
    assert_eq!(status, 200);
    assert!(body.len() > 1000);

    // The API lists the muxer and the session; the path lists the session as a reader.
    let muxers = get_json(api, "/v3/hlsmuxers/list");
    assert_eq!(muxers["itemCount"], 1, "{muxers}");
    let m = &muxers["items"][0];
    assert_eq!(m["path"], "cam");
    assert!(m["outboundBytes"].as_u64().unwrap_or(0) > 1000, "{m}");
    assert_eq!(m["outboundBytes"], m["bytesSent"]);
    assert_eq!(get_json(api, "/v3/hlsmuxers/get/cam")["path"], "cam");
    let sessions = get_json(api, "/v3/hlssessions/list");
    assert_eq!(sessions["itemCount"], 1, "{sessions}");
    let sess = &sessions["items"][0];
    assert_eq!(sess["path"], "cam");
    assert_eq!(sess["query"], "extra=1");
    assert_eq!(sess["user"], "viewer");
    assert_eq!(sess["isCDN"], false);
    let id = sess["id"].as_str().expect("id").to_owned();
    let path = get_json(api, "/v3/paths/get/cam");
    assert_eq!(
        path["readers"],
        serde_json::json!([{"type": "hlsSession", "id": id}])
    );
    let (_, _, text) = get(metrics, "/metrics", &[]);
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("hls_muxers{name=\"cam\"} 1"), "{text}");
    assert!(text.contains("hls_sessions{id=\""), "{text}");

    // Kicked: the session is closed and its files refused.
    let (status, _, _) = common::http("POST", api, &format!("/v3/hlssessions/kick/{id}"), None);
    assert_eq!(status, 200);
    s.wait_line("closed: kicked");
    let (status, _, _) = player.fetch("video1_stream.m3u8", "");
    assert_eq!(status, 401);
    assert_eq!(get_json(api, "/v3/hlssessions/list")["itemCount"], 0);
}

#[test]
fn muxer_closes_after_hls_muxer_close_after_and_with_its_stream() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut s, rtsp, hls) =
        start_server("hlsMuxerCloseAfter: 2s\nhlsVariant: fmp4\nhlsSegmentCount: 3");
    let publisher = publish(&mut s, &ffmpeg, rtsp, "cam", 60);
    let player = open(hls, "cam", "", &[]);
    s.wait_line("[HLS] [muxer cam] created (requested by 127.0.0.1:");
    assert!(
        player
            .multivariant
            .starts_with("#EXTM3U\n#EXT-X-VERSION:10\n")
    );
    let l = s.wait_line("[HLS] [muxer cam] destroyed: not used anymore");
    assert!(l.contains("INF"), "{l}");
    s.wait_line("] closed: muxer destroyed");

    // A new muxer for a new request; the end of the stream destroys it.
    let _player = open(hls, "cam", "", &[]);
    s.wait_count("[HLS] [muxer cam] created", 2);
    drop(publisher);
    s.wait_line("[HLS] [muxer cam] destroyed: terminated");
}

#[test]
fn always_remux_and_hls_directory() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, rtsp, hls) = start_server(&format!(
        "hlsAlwaysRemux: yes\nhlsVariant: mpegts\nhlsSegmentCount: 3\nhlsDirectory: {}",
        dir.path().display()
    ));
    let publisher = publish(&mut s, &ffmpeg, rtsp, "cam", 60);
    s.wait_line("[HLS] [muxer cam] created automatically");
    s.wait_line("[HLS] [muxer cam] is converting into HLS, 2 tracks (H264, MPEG-4 Audio)");
    let player = open(hls, "cam", "", &[]);
    let media = player.playlist("main_stream.m3u8", "");
    assert!(media.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n"), "{media}");
    // Segments are written to <hlsDirectory>/cam and served from there.
    let (_, seg) = segments(&media).pop().expect("a segment");
    let on_disk = dir.path().join("cam").join(&seg);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !on_disk.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let stored = std::fs::read(&on_disk).expect("segment on disk");
    let (status, head, body) = player.fetch(&seg, "");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-type"), Some("video/mp2t"));
    assert_eq!(body, stored);
    assert_eq!(body[0], 0x47);
    // Old segments are deleted: never more than the playlist lists, plus the one being
    // written.
    std::thread::sleep(Duration::from_secs(5));
    let files = std::fs::read_dir(dir.path().join("cam"))
        .expect("dir")
        .count();
    assert!(files <= 4, "{files} files");
    drop(publisher);
    s.wait_line("[HLS] [muxer cam] destroyed: terminated");
    // The directory goes with the muxer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while dir.path().join("cam").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!dir.path().join("cam").exists());
}

#[test]
fn hls_source_pulls_from_a_second_server_and_serves_rtsp() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (mut a, rtsp_a, hls_a) = start_server("");
    let _publisher = publish(&mut a, &ffmpeg, rtsp_a, "cam", 90);
    let (mut b, rtsp_b, _) = start_server(&format!(
        "paths:\n  proxied:\n    source: http://127.0.0.1:{hls_a}/cam/index.m3u8\n"
    ));
    b.wait_line("[path proxied] [HLS source] started");
    b.wait_line("stream is available and online, 2 tracks (H264, MPEG-4 Audio)");
    let url = format!("rtsp://127.0.0.1:{rtsp_b}/proxied");
    let streams = ffmpeg::ffprobe_rtsp_streams(&ffprobe, &url, "tcp");
    assert_eq!(stream_set(&streams), ["aac", "h264,320,240"], "{streams}");
    let out = Command::new(&ffmpeg)
        .args([
            "-hide_banner",
            "-nostats",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
        ])
        .args(["-i", &url, "-map", "0:v", "-t", "3", "-f", "framemd5", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    // An RTSP reader joins mid-GOP: ffmpeg drops what comes before the first key frame
    // (keyframes every second), so 3 s of output hold 50 to 75 decoded frames.
    assert!((50..=76).contains(&frames), "{frames} video frames in 3 s");
    // The first server shows the second one's session.
    a.wait_line("[HLS] [session");
}
