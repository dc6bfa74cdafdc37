//! MPEG-TS against ffmpeg: streams that ffmpeg writes are demuxed, remuxed by our muxer,
//! and ffprobe reads the result back with the same packets, timestamps and key flags.
//! Skipped when ffmpeg is missing, except in CI (`CI=true`), where that fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use ferromtx_codec::mpegts::{AccessUnit, Anomalies, Codec, Demuxer, Event, Muxer, Track};

fn have_tool(name: &str) -> bool {
    Command::new(name)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn require_ffmpeg() -> bool {
    let missing: Vec<&str> = ["ffmpeg", "ffprobe"]
        .into_iter()
        .filter(|t| !have_tool(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").ok().as_deref() != Some("true"),
        "missing tools in CI: {missing:?} (apt-get install -y ffmpeg)"
    );
    eprintln!("skipped: missing {missing:?} (apt-get install -y ffmpeg)");
    false
}

/// One second of test pattern and tone, encoded with `codec_args`, as MPEG-TS.
fn ffmpeg_ts(codec_args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "1", "-pix_fmt", "yuv420p"])
        .args(codec_args)
        .args(["-f", "mpegts", "pipe:1"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {codec_args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A file in the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, data: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("ferromtx-mpegts-{}-{name}.ts", std::process::id()));
        std::fs::write(&path, data).expect("write temp file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ffprobe(file: &TempFile, args: &[&str]) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(&file.0)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Codec names of the streams.
fn probe_codecs(file: &TempFile) -> Vec<String> {
    // Streams are listed under the program and again on their own: keep one of each.
    let mut codecs: Vec<(usize, String)> = Vec::new();
    let csv = ffprobe(
        file,
        &["-show_entries", "stream=index,codec_name", "-of", "csv=p=0"],
    );
    for line in csv.lines() {
        let mut fields = line.split(',');
        let (Some(index), Some(name)) = (fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(index) = index.parse()
            && !codecs.iter().any(|(i, _)| *i == index)
        {
            codecs.push((index, name.to_string()));
        }
    }
    codecs.sort();
    codecs.into_iter().map(|(_, name)| name).collect()
}

/// A packet as ffprobe sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probed {
    stream: usize,
    pts: i64,
    dts: i64,
    key: bool,
}

fn probe_packets(file: &TempFile) -> Vec<Probed> {
    let csv = ffprobe(
        file,
        &[
            "-show_entries",
            "packet=stream_index,pts,dts,flags",
            "-of",
            "csv=p=0",
        ],
    );
    csv.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let [stream, pts, dts, flags, ..] = f[..] else {
                return None;
            };
            Some(Probed {
                stream: stream.parse().ok()?,
                pts: pts.parse().ok()?,
                dts: dts.parse().ok()?,
                key: flags.starts_with('K'),
            })
        })
        .collect()
}

/// Frames ffmpeg decodes in stream 0 (video), and whatever it complains about.
fn decode(file: &TempFile) -> (usize, String) {
    let out = ffprobe(
        file,
        &[
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ],
    );
    // Listed under the program and on its own: the first number is enough.
    let frames = out
        .lines()
        .find_map(|l| l.trim_end_matches(',').parse().ok())
        .unwrap_or(0);
    let errors = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(&file.0)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    (frames, String::from_utf8_lossy(&errors.stderr).into_owned())
}

fn demux(ts: &[u8]) -> (Vec<Track>, Vec<AccessUnit>, Anomalies) {
    let mut d = Demuxer::new();
    let mut tracks = Vec::new();
    let mut units = Vec::new();
    // As SRT delivers it: 1316-byte payloads.
    for chunk in ts.chunks(1316) {
        d.push(chunk);
        while let Some(e) = d.pull() {
            match e {
                Event::Tracks(t) => tracks.push(t),
                Event::AccessUnit(au) => units.push(au),
            }
        }
    }
    d.flush();
    while let Some(e) = d.pull() {
        if let Event::AccessUnit(au) = e {
            units.push(au);
        }
    }
    assert_eq!(tracks.len(), 1, "one track announcement");
    (tracks.remove(0), units, d.take_anomalies())
}

fn remux(tracks: &[Track], units: &[AccessUnit]) -> Vec<u8> {
    let mut m = Muxer::new(tracks.to_vec()).expect("valid tracks");
    let mut out = Vec::new();
    for au in units {
        m.write(
            au.pid,
            au.pts,
            au.dts,
            au.random_access,
            &au.parts,
            &mut out,
        )
        .expect("written");
    }
    out
}

/// ffmpeg writes with `args`; we demux, check what we see against ffprobe, remux, and
/// check that ffprobe sees in our file what it saw in ffmpeg's.
fn check(name: &str, args: &[&str], codecs: fn(&[Track]) -> bool, probe_names: &[&str]) {
    let original = ffmpeg_ts(args);
    let original_file = TempFile::new(&format!("{name}-ffmpeg"), &original);
    let (tracks, units, anomalies) = demux(&original);
    assert_eq!(anomalies, Anomalies::default(), "{name}");
    assert!(codecs(&tracks), "{name}: tracks {tracks:?}");
    assert_eq!(probe_codecs(&original_file), probe_names, "{name}");

    // Video: our access units are ffprobe's packets, timestamps and key flags included.
    let probed = probe_packets(&original_file);
    let video_pid = tracks[0].pid;
    let ours: Vec<Probed> = units
        .iter()
        .filter(|au| au.pid == video_pid)
        .map(|au| Probed {
            stream: 0,
            pts: au.pts,
            dts: au.dts,
            key: au.random_access,
        })
        .collect();
    let theirs: Vec<Probed> = probed.iter().filter(|p| p.stream == 0).cloned().collect();
    assert_eq!(ours, theirs, "{name}: video packets");
    assert_eq!(ours.len(), 25, "{name}: one second at 25 fps");
    // Audio: the first frame of each PES carries the PES timestamp.
    let audio_pid = tracks[1].pid;
    let audio: Vec<&AccessUnit> = units.iter().filter(|au| au.pid == audio_pid).collect();
    let first_audio = probed.iter().find(|p| p.stream == 1).map(|p| p.pts);
    assert_eq!(audio.first().map(|au| au.pts), first_audio, "{name}");

    let remuxed = remux(&tracks, &units);
    let remuxed_file = TempFile::new(&format!("{name}-ours"), &remuxed);
    assert_eq!(probe_codecs(&remuxed_file), probe_names, "{name}");
    assert_eq!(probe_packets(&remuxed_file), probed, "{name}: packets");
    let (frames, errors) = decode(&remuxed_file);
    assert_eq!(frames, 25, "{name}: decoded frames");
    assert_eq!(errors, "", "{name}: decoder errors");
    // And once more through our demuxer: the same units.
    assert_eq!(demux(&remuxed).1, units, "{name}: demux of our own output");
}

#[test]
fn h264_and_aac() {
    if !require_ffmpeg() {
        return;
    }
    check(
        "h264-aac",
        &[
            "-c:v", "libx264", "-g", "25", "-bf", "2", "-c:a", "aac", "-b:a", "64k",
        ],
        |t| {
            matches!(
                t,
                [
                    Track {
                        codec: Codec::H264,
                        ..
                    },
                    Track {
                        codec: Codec::Mpeg4Audio { config },
                        ..
                    }
                ] if config.sample_rate == 48_000 && config.channel_count == 1
            )
        },
        &["h264", "aac"],
    );
}

#[test]
fn h265_and_opus() {
    if !require_ffmpeg() {
        return;
    }
    check(
        "h265-opus",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=none:keyint=25",
            "-c:a",
            "libopus",
        ],
        |t| {
            matches!(
                t,
                [
                    Track {
                        codec: Codec::H265,
                        ..
                    },
                    Track {
                        codec: Codec::Opus { channel_count: 1 },
                        ..
                    }
                ]
            )
        },
        &["hevc", "opus"],
    );
}

#[test]
fn mpeg2_video_and_mp2() {
    if !require_ffmpeg() {
        return;
    }
    check(
        "mpeg2-mp2",
        &["-c:v", "mpeg2video", "-g", "25", "-c:a", "mp2"],
        |t| {
            matches!(
                t,
                [
                    Track {
                        codec: Codec::Mpeg1Video,
                        ..
                    },
                    Track {
                        codec: Codec::Mpeg1Audio,
                        ..
                    }
                ]
            )
        },
        &["mpeg2video", "mp2"],
    );
}

#[test]
fn mpeg4_video_and_dvb_ac3() {
    if !require_ffmpeg() {
        return;
    }
    check(
        "mpeg4-ac3",
        &[
            "-c:v",
            "mpeg4",
            "-g",
            "25",
            "-c:a",
            "ac3",
            "-mpegts_flags",
            "system_b",
        ],
        |t| {
            matches!(
                t,
                [
                    Track {
                        codec: Codec::Mpeg4Video,
                        ..
                    },
                    Track {
                        codec: Codec::Ac3 {
                            sample_rate: 48_000,
                            channel_count: 1
                        },
                        ..
                    }
                ]
            )
        },
        &["mpeg4", "ac3"],
    );
}

#[test]
fn h264_and_aac_in_latm() {
    if !require_ffmpeg() {
        return;
    }
    check(
        "h264-latm",
        &[
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-c:a",
            "aac",
            "-mpegts_flags",
            "latm",
        ],
        |t| {
            matches!(
                t,
                [
                    Track {
                        codec: Codec::H264,
                        ..
                    },
                    Track {
                        codec: Codec::Mpeg4AudioLatm,
                        ..
                    }
                ]
            )
        },
        &["h264", "aac_latm"],
    );
}
