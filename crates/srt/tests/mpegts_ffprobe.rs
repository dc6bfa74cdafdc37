//! The MPEG-TS muxer against ffprobe, for every codec ffmpeg can make here: ffmpeg writes a
//! short transport stream of the codec, our demuxer reads its access units, our muxer
//! writes them again with timestamps moved by a known offset, and ffprobe must find each
//! of them, with exactly that PTS and DTS, and the codec, in what we wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ferromtx_codec::mpegts::{Demuxer, Event, Muxer, Track};

/// Moves every timestamp (90 kHz).
const OFFSET: i64 = 123_456;

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    });
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{name} is required in CI (scripts/test installs it)"
        );
    }
    found
}

/// ffmpeg's transport stream of one second of a synthetic source in `codec`; `None` when
/// this ffmpeg cannot encode it.
fn source_ts(ffmpeg: &Path, dir: &Path, name: &str, input: &str, args: &[&str]) -> Option<Vec<u8>> {
    let out = dir.join(format!("{name}.ts"));
    let status = Command::new(ffmpeg)
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            input,
        ])
        .args(["-t", "1"])
        .args(args)
        .args(["-f", "mpegts"])
        .arg(&out)
        .stdin(Stdio::null())
        .status()
        .expect("run ffmpeg");
    status
        .success()
        .then(|| std::fs::read(&out).expect("read ts"))
}

/// (pts, dts) of each packet ffprobe reads, and the codec name.
fn probe(ffprobe: &Path, file: &Path) -> (String, Vec<(i64, i64)>) {
    let codec = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .expect("ffprobe");
    let packets = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=pts,dts",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .expect("ffprobe");
    assert!(packets.status.success());
    let list = String::from_utf8_lossy(&packets.stdout)
        .lines()
        .filter_map(|l| {
            let mut fields = l.split(',');
            let pts = fields.next()?.trim().parse().ok()?;
            let dts = fields.next()?.trim().parse().ok()?;
            Some((pts, dts))
        })
        .collect();
    (
        // The program section repeats the stream: the first line is the stream's.
        String::from_utf8_lossy(&codec.stdout)
            .lines()
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .trim_end_matches(',')
            .to_owned(),
        list,
    )
}

#[test]
fn ffprobe_reads_every_codec_with_exact_timestamps() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let video = "testsrc=size=320x240:rate=25";
    let audio = "sine=frequency=440:sample_rate=48000";
    // (ffprobe's name, input, encoder arguments, one frame per PES)
    let cases: [(&str, &str, &[&str], bool); 10] = [
        (
            "h264",
            video,
            &["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p"],
            true,
        ),
        (
            "hevc",
            video,
            &["-c:v", "libx265", "-pix_fmt", "yuv420p"],
            true,
        ),
        (
            "mpeg2video",
            video,
            &["-c:v", "mpeg2video", "-bf", "2"],
            true,
        ),
        ("mpeg4", video, &["-c:v", "mpeg4"], true),
        ("aac", audio, &["-c:a", "aac"], false),
        (
            "aac_latm",
            audio,
            &["-c:a", "aac", "-mpegts_flags", "latm"],
            false,
        ),
        ("opus", audio, &["-c:a", "libopus"], false),
        ("mp2", audio, &["-c:a", "mp2"], false),
        ("mp3", audio, &["-c:a", "libmp3lame"], false),
        ("ac3", audio, &["-c:a", "ac3"], false),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = Vec::new();
    for (name, input, args, exact) in cases {
        let Some(ts) = source_ts(&ffmpeg, dir.path(), name, input, args) else {
            // An encoder this ffmpeg lacks (libx265 is optional in Debian's build).
            continue;
        };
        let mut demuxer = Demuxer::new();
        demuxer.push(&ts);
        demuxer.flush();
        let mut tracks = Vec::new();
        let mut aus = Vec::new();
        while let Some(e) = demuxer.pull() {
            match e {
                Event::Tracks(t) => tracks = t,
                Event::AccessUnit(au) => aus.push(au),
            }
        }
        assert_eq!(tracks.len(), 1, "{name}: {tracks:?}");
        assert!(aus.len() >= 3, "{name}: {} access units", aus.len());
        let track = tracks.remove(0);
        let mut muxer = Muxer::new(vec![Track {
            pid: 0,
            codec: track.codec.clone(),
        }])
        .expect("muxer");
        let pid = muxer.tracks().next().expect("track").pid;
        let mut out = Vec::new();
        let mut written = Vec::new();
        for au in &aus {
            let (pts, dts) = (au.pts + OFFSET, au.dts + OFFSET);
            muxer
                .write(pid, pts, dts, au.random_access, &au.parts, &mut out)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            written.push((pts, dts));
        }
        let file = dir.path().join(format!("{name}.out.ts"));
        std::fs::write(&file, &out).expect("write");
        let (codec, read) = probe(&ffprobe, &file);
        assert_eq!(codec, name);
        if exact {
            assert_eq!(read, written, "{name}: every frame's PTS and DTS");
        } else {
            // Audio PES may carry several frames: ffprobe splits them and interpolates the
            // ones after the first; each PES's own timestamp must be there, in order.
            let mut rest = read.iter();
            for w in &written {
                assert!(
                    rest.any(|r| r.0 == w.0),
                    "{name}: PTS {} missing from {read:?}",
                    w.0
                );
            }
        }
        checked.push(name);
    }
    for needed in [
        "h264",
        "mpeg2video",
        "mpeg4",
        "aac",
        "aac_latm",
        "opus",
        "mp2",
        "ac3",
    ] {
        assert!(
            checked.contains(&needed),
            "{needed} not checked: {checked:?}"
        );
    }
}
