//! Recording through the real binary: ffmpeg publishes over RTSP, the server records fMP4
//! and MPEG-TS segments, ffprobe reads them; the playback server and `/v3/recordings`
//! serve them; a crash, an unwritable directory, `recordDeleteAfter` and a hot reload of
//! `record` behave as MediaMTX's recorder does.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, env_refs, free_port, get_json, http, playback_env, rtsp_env, start, tool};
use ferromtx_testkit::ffmpeg::{self, Audio};
use serde_json::Value;

/// A config with every protocol but RTSP off, `extra` appended.
fn quiet(extra: &str) -> String {
    format!("rtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\n{extra}")
}

/// `ffprobe -show_format -show_streams` of a file, as JSON.
fn probe(ffprobe: &Path, file: &Path) -> Value {
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

fn duration_of(v: &Value) -> f64 {
    v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {v}"))
}

fn codecs_of(v: &Value) -> Vec<String> {
    v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Files under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Waits until `cond` holds, at most `secs` seconds.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn publish(ffmpeg: &Path, rtsp: u16, path: &str, audio: Audio, secs: u32) -> ffmpeg::Publisher {
    ffmpeg::publish_rtsp(
        ffmpeg,
        &format!("rtsp://127.0.0.1:{rtsp}/{path}"),
        audio,
        secs,
    )
}

/// A segment name the default-style template `%Y-%m-%d_%H-%M-%S-%f` gives.
fn is_segment_name(name: &str, ext: &str) -> bool {
    let Some(stem) = name.strip_suffix(ext) else {
        return false;
    };
    let b = stem.as_bytes();
    b.len() == 26
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 19 => *c == b'-',
            10 => *c == b'_',
            13 | 16 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// 12 s of H264+Opus and H264+AAC recorded in fMP4 and MPEG-TS: segments where the
/// template says, read by ffprobe with their codecs and durations, the segment hooks with
/// MediaMTX's variables; then the playback server lists the fMP4 recordings and serves a
/// 5 s window starting at a keyframe, and `/v3/recordings` lists and deletes segments.
#[test]
fn records_both_formats_and_plays_them_back() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (penv, playback) = playback_env();
    env.extend(penv);
    let api = free_port();
    let conf = format!(
        "rtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\napi: yes\napiAddress: 127.0.0.1:{api}\n\
         pathDefaults:\n  record: yes\n  recordPath: ./rec/%path/%Y-%m-%d_%H-%M-%S-%f\n\
         \x20 recordPartDuration: 1s\n  recordSegmentDuration: 4s\n\
         \x20 runOnRecordSegmentComplete: sh -c 'echo \"$MTX_PATH $MTX_SEGMENT_PATH $MTX_SEGMENT_DURATION\" >> complete.txt'\n\
         paths:\n  fmp4_opus:\n  fmp4_aac:\n  ts_opus:\n    recordFormat: mpegts\n  ts_aac:\n    recordFormat: mpegts\n"
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[playback] started with listener");
    s.wait_line("[RTSP] started with listener");
    let dir = s.dir.path().to_path_buf();

    let publishers: Vec<ffmpeg::Publisher> = [
        ("fmp4_opus", Audio::Opus),
        ("fmp4_aac", Audio::Aac),
        ("ts_opus", Audio::Opus),
        ("ts_aac", Audio::Aac),
    ]
    .iter()
    .map(|(path, audio)| publish(&ffmpeg, rtsp, path, *audio, 12))
    .collect();
    for path in ["fmp4_opus", "fmp4_aac", "ts_opus", "ts_aac"] {
        let codecs = if path.ends_with("opus") {
            "(H264, Opus)"
        } else {
            "(H264, MPEG-4 Audio)"
        };
        s.wait_line(&format!(
            "[path {path}] [recorder] recording 2 tracks {codecs}"
        ));
    }
    for mut p in publishers {
        let _ = p.0.wait();
    }
    s.wait_count("[recorder] recording stopped", 4);
    // Each path's last segment completes when its publisher leaves.
    wait_for(10, "the completion hooks", || {
        std::fs::read_to_string(dir.join("complete.txt"))
            .map(|t| t.lines().count() >= 12)
            .unwrap_or(false)
    });

    for (path, ext, audio) in [
        ("fmp4_opus", ".mp4", "opus"),
        ("fmp4_aac", ".mp4", "aac"),
        ("ts_opus", ".ts", "opus"),
        ("ts_aac", ".ts", "aac"),
    ] {
        let segments = files(&dir.join("rec").join(path));
        assert!((3..=4).contains(&segments.len()), "{path}: {segments:?}");
        let mut total = 0.0;
        for (i, seg) in segments.iter().enumerate() {
            let name = seg.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            assert!(is_segment_name(name, ext), "{path}: {name}");
            let p = probe(&ffprobe, seg);
            let mut codecs = codecs_of(&p);
            codecs.sort();
            let mut want = vec!["h264".to_string(), audio.to_string()];
            want.sort();
            assert_eq!(codecs, want, "{}", seg.display());
            let d = duration_of(&p);
            // Segments end on the first keyframe 4 s in (keyframes every second); the last
            // one ends with the publisher.
            if i + 1 < segments.len() {
                assert!((3.0..=5.0).contains(&d), "{}: {d} s", seg.display());
            }
            total += d;
        }
        // 12 s published; recording starts at the first keyframe: within a part.
        assert!((10.5..=13.0).contains(&total), "{path}: {total} s in all");
    }

    // The completion hook saw each segment with its duration.
    let hooks = std::fs::read_to_string(dir.join("complete.txt")).expect("hook output");
    for line in hooks.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 3, "{line}");
        assert!(f[1].starts_with(&format!("./rec/{}/", f[0])), "{line}");
        let secs: f64 = f[2].parse().expect("MTX_SEGMENT_DURATION");
        assert!(secs > 0.5 && secs < 5.0, "{line}");
    }
    assert!(s.count("runOnRecordSegmentComplete command launched") >= 12);

    // /list: one span per fMP4 path; MPEG-TS is not served (as MediaMTX).
    let (status, _, body) = http("GET", playback, "/list?path=fmp4_opus", None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let spans: Value = serde_json::from_slice(&body).expect("json");
    let spans = spans.as_array().expect("list");
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span_start = spans[0]["start"].as_str().expect("start").to_owned();
    let span = spans[0]["duration"].as_f64().expect("duration");
    assert!((10.5..=13.0).contains(&span), "{span}");
    assert!(
        spans[0]["url"]
            .as_str()
            .expect("url")
            // The test client's Host header has no port.
            .starts_with("http://127.0.0.1/get?duration="),
        "{spans:?}"
    );
    let (status, _, _) = http("GET", playback, "/list?path=ts_opus", None);
    assert_eq!(status, 500);
    let (status, _, body) = http("GET", playback, "/list?path=../x", None);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = http(
        "GET",
        playback,
        "/list?path=fmp4_opus&start=2000-01-01T00:00:00Z&end=2000-01-02T00:00:00Z",
        None,
    );
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("no recording segments found"));

    // /get of 5 s from 3.5 s in (between keyframes), in both output formats.
    let start = chrono::DateTime::parse_from_rfc3339(&span_start).expect("time")
        + chrono::TimeDelta::milliseconds(3500);
    let start = start.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for format in ["fmp4", "mp4"] {
        let q = format!(
            "/get?path=fmp4_opus&start={}&duration=5&format={format}",
            start.replace(':', "%3A").replace('+', "%2B")
        );
        let (status, head, body) = http("GET", playback, &q, None);
        assert_eq!(status, 200, "{head}");
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("content-type: video/mp4"), "{head}");
        assert!(lower.contains("accept-ranges: none"), "{head}");
        let file = dir.join(format!("window.{format}.mp4"));
        std::fs::write(&file, &body).expect("write");
        let p = probe(&ffprobe, &file);
        let d = duration_of(&p);
        assert!((d - 5.0).abs() <= 0.041, "{format}: {d} s");
        let mut codecs = codecs_of(&p);
        codecs.sort();
        assert_eq!(codecs, vec!["h264", "opus"], "{format}");
        // The first decoded frame is a keyframe.
        let out = Command::new(&ffprobe)
            .args(["-v", "error", "-select_streams", "v", "-show_frames"])
            .args(["-show_entries", "frame=key_frame", "-of", "csv=p=0"])
            .arg(&file)
            .output()
            .expect("ffprobe frames");
        let frames = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(frames.lines().next(), Some("1"), "{format}: {frames}");
        // About 5 s of 25 fps, plus the frames before the start that lead to it.
        let n = frames.lines().count();
        assert!((125..=155).contains(&n), "{format}: {n} frames");
    }

    // /v3/recordings: the four paths and their segments; deleting one.
    let list = get_json(api, "/v3/recordings/list");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, vec!["fmp4_aac", "fmp4_opus", "ts_aac", "ts_opus"]);
    let rec = get_json(api, "/v3/recordings/get/fmp4_aac");
    let segs = rec["segments"].as_array().expect("segments").clone();
    assert_eq!(segs.len(), files(&dir.join("rec/fmp4_aac")).len());
    let first = segs[0]["start"].as_str().expect("start");
    let (status, head, _) = http(
        "DELETE",
        api,
        &format!(
            "/v3/recordings/deletesegment?path=fmp4_aac&start={}",
            first.replace(':', "%3A").replace('+', "%2B")
        ),
        None,
    );
    assert_eq!(status, 200, "{head}");
    assert_eq!(files(&dir.join("rec/fmp4_aac")).len(), segs.len() - 1);
    let (status, _, _) = http("GET", api, "/v3/recordings/get/~bad(", None);
    assert_eq!(status, 400);

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

/// `kill -9` while recording: every part completed before the kill is in the file and
/// ffprobe decodes all of them.
#[test]
fn a_crash_loses_at_most_the_part_being_filled() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (env, (rtsp, _, _)) = rtsp_env();
    let conf = quiet(
        "paths:\n  cam:\n    record: yes\n    recordPath: ./rec/%path/%s-%f\n    recordPartDuration: 500ms\n",
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[RTSP] started with listener");
    let _p = publish(&ffmpeg, rtsp, "cam", Audio::Opus, 30);
    s.wait_line("[recorder] recording 2 tracks");
    let dir = s.dir.path().join("rec/cam");
    // At least 4 s of parts written.
    wait_for(20, "parts on disk", || {
        files(&dir)
            .first()
            .and_then(|f| std::fs::metadata(f).ok())
            .is_some_and(|m| m.len() > 0)
            && complete_parts(&files(&dir)[0]).0 >= 8
    });
    s.signal(libc::SIGKILL);
    let _ = s.wait_exit();
    let segments = files(&dir);
    assert_eq!(segments.len(), 1, "{segments:?}");
    let (parts, video_samples) = complete_parts(&segments[0]);
    assert!(parts >= 8);
    // ffprobe reads every video sample of the complete parts.
    let out = Command::new(&ffprobe)
        .args(["-v", "error", "-select_streams", "v", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(&segments[0])
        .output()
        .expect("ffprobe");
    let read: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(read, video_samples);
}

/// Complete parts (a `moof` followed by its whole `mdat`) of an fMP4 segment and the
/// number of samples of track 1 in them.
fn complete_parts(file: &Path) -> (usize, usize) {
    use ferromtx_record::mp4::{boxes, read_moof};
    let data = std::fs::read(file).unwrap_or_default();
    let mut parts = 0;
    let mut samples = 0;
    let mut moof: Option<usize> = None;
    // A box cut short by the crash ends the walk.
    for b in boxes(&data).map_while(Result::ok) {
        match &b.kind {
            b"moof" => {
                moof = read_moof(b.body, b.offset as u64).ok().map(|runs| {
                    runs.iter()
                        .filter(|r| r.track_id == 1)
                        .map(|r| r.samples.len())
                        .sum()
                });
            }
            b"mdat" => {
                if let Some(n) = moof.take() {
                    parts += 1;
                    samples += n;
                }
            }
            _ => {}
        }
    }
    (parts, samples)
}

/// A record directory the server can't write: the error is logged, RTSP readers keep
/// playing, and recording resumes once the directory is writable.
#[test]
fn an_unwritable_directory_does_not_disturb_readers() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (env, (rtsp, _, _)) = rtsp_env();
    let root = tempfile::tempdir().expect("tmp");
    let rec = root.path().join("rec");
    std::fs::create_dir(&rec).expect("mkdir");
    set_mode(&rec, 0o555);
    let conf = quiet(&format!(
        "paths:\n  cam:\n    record: yes\n    recordPath: {}/%path/%s-%f\n",
        rec.display()
    ));
    let mut s = start_without_dac_override(&conf, &env_refs(&env));
    s.wait_line("[RTSP] started with listener");
    let _p = publish(&ffmpeg, rtsp, "cam", Audio::Opus, 40);
    s.wait_line("is publishing to path 'cam'");

    // A reader for 12 s, across the failure and the recovery.
    let out = s.dir.path().join("reader.mkv");
    let mut reader = common::KillOnDrop(
        Command::new(&ffmpeg)
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-rtsp_transport",
                "tcp",
            ])
            .arg("-i")
            .arg(format!("rtsp://127.0.0.1:{rtsp}/cam"))
            .args(["-c", "copy", "-t", "12"])
            .arg(&out)
            .stdin(Stdio::null())
            .spawn()
            .expect("ffmpeg reader"),
    );
    let line = s.wait_line(&format!("mkdir {}/cam: permission denied", rec.display()));
    assert!(line.contains(" ERR [path cam] [recorder] "), "{line}");
    // Retried after MediaMTX's pause: logged again.
    s.wait_count("permission denied", 2);
    set_mode(&rec, 0o755);
    wait_for(15, "a segment after the directory became writable", || {
        !files(&rec).is_empty()
    });
    assert!(
        reader.0.wait().expect("reader").success(),
        "the reader was cut"
    );
    let d = duration_of(&probe(&ffprobe, &out));
    assert!(d >= 11.0, "the reader played {d} s");
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The server, unable to bypass file permissions even when the tests run as root (its
/// capability to override them dropped with `setpriv`).
fn start_without_dac_override(conf: &str, env: &[(&str, &str)]) -> Server {
    let bin = Path::new(env!("CARGO_BIN_EXE_ferromtx"));
    let dir = tempfile::tempdir().expect("tmp");
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let cmd = if root {
        let setpriv = tool("setpriv").expect("setpriv (util-linux) to drop root's file access");
        let mut c = Command::new(setpriv);
        c.args(["--bounding-set=-dac_override,-dac_read_search", "--"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    Server::spawn(cmd, dir, Some(conf), env)
}

/// `recordDeleteAfter`: segments older than its value go, with the directories they
/// leave empty; recent ones stay.
#[test]
fn old_segments_are_deleted() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (env, (rtsp, _, _)) = rtsp_env();
    let conf = quiet(
        "paths:\n  cam:\n    record: yes\n    recordPath: ./rec/%path/%Y/%m/%d/%H-%M-%S-%f\n\
         \x20   recordSegmentDuration: 1s\n    recordDeleteAfter: 3s\n",
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    let dir = s.dir.path().join("rec/cam");
    // A segment from long ago, in its own directory.
    let old_dir = dir.join("2020/01/02");
    std::fs::create_dir_all(&old_dir).expect("mkdir");
    std::fs::write(old_dir.join("03-04-05-000000.mp4"), b"old").expect("old segment");
    s.wait_line("[RTSP] started with listener");
    wait_for(10, "the old segment's removal", || {
        !dir.join("2020").exists()
    });

    let _p = publish(&ffmpeg, rtsp, "cam", Audio::None, 30);
    s.wait_line("[recorder] recording 1 track (H264)");
    let mut first: Option<PathBuf> = None;
    wait_for(15, "a first segment", || {
        first = files(&dir).into_iter().next();
        first.is_some()
    });
    let first = first.expect("first segment");
    wait_for(15, "the first segment's removal", || !first.exists());
    // Newer segments are kept.
    assert!(!files(&dir).is_empty());
}

/// Turning `record` on and off in the file starts and stops the recorder without
/// disturbing the publisher.
#[test]
fn record_follows_hot_reloads() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (env, (rtsp, _, _)) = rtsp_env();
    let base = "paths:\n  cam:\n    recordPath: ./rec/%path/%s-%f\n";
    let mut s = start(Some(&quiet(base)), &[], &env_refs(&env));
    s.wait_line("[RTSP] started with listener");
    let mut p = publish(&ffmpeg, rtsp, "cam", Audio::None, 30);
    s.wait_line("is publishing to path 'cam'");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(s.count("[recorder]"), 0);

    common::write(&s.conf_path(), &quiet(&format!("{base}    record: yes\n")));
    s.wait_line("[path cam] [recorder] recording 1 track (H264)");
    wait_for(15, "a segment", || {
        !files(&s.dir.path().join("rec/cam")).is_empty()
    });
    common::write(&s.conf_path(), &quiet(base));
    s.wait_line("[path cam] [recorder] recording stopped");
    // The publisher was never kicked.
    assert!(p.0.try_wait().expect("publisher").is_none());
    assert_eq!(s.count("closed"), 0, "{:#?}", s.seen);
    assert_eq!(s.count("destroyed"), 0, "{:#?}", s.seen);
}
