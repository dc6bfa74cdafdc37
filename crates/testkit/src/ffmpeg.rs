//! ffmpeg as a publisher of synthetic streams (testsrc video, a sine tone), and ffprobe
//! as a reader, the way the interop tests of every protocol use them.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The audio track of a synthetic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audio {
    None,
    Opus,
    Aac,
}

/// A synthetic 320x240 H264 stream (4:2:0, no B-frames, a keyframe a second, 25 fps) with
/// `audio`, for `seconds`, paced in real time: ffmpeg's input and encoding arguments. The
/// caller adds the output (`-f rtsp ... URL`, `-f flv URL`...).
pub fn synthetic(ffmpeg: &Path, audio: Audio, seconds: u32) -> Command {
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]);
    match audio {
        Audio::None => {}
        Audio::Opus => {
            cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
                .args(["-c:a", "libopus"]);
        }
        Audio::Aac => {
            cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
                .args(["-c:a", "aac"]);
        }
    }
    cmd.args(["-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .args(["-preset", "ultrafast", "-tune", "zerolatency"])
        .args(["-g", "25", "-bf", "0", "-t", &seconds.to_string()]);
    cmd.stdin(Stdio::null());
    cmd
}

/// A running publisher, killed when dropped.
#[derive(Debug)]
pub struct Publisher(pub Child);

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Publishes [`synthetic`] over RTSP/TCP to `url`.
pub fn publish_rtsp(ffmpeg: &Path, url: &str, audio: Audio, seconds: u32) -> Publisher {
    let mut cmd = synthetic(ffmpeg, audio, seconds);
    cmd.args(["-f", "rtsp", "-rtsp_transport", "tcp", url]);
    Publisher(cmd.spawn().expect("spawn ffmpeg"))
}

/// `codec_name,width,height` lines of the streams ffprobe finds at an RTSP `url`; a
/// failure of ffprobe fails the test with its error.
pub fn ffprobe_rtsp_streams(ffprobe: &Path, url: &str, transport: &str) -> String {
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-rtsp_transport", transport])
        .args([
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {url} over {transport}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
