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

/// What ffmpeg decoded of one stream of an input.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedStream {
    /// `video` or `audio`.
    pub media: String,
    /// Frames decoded (video pictures, audio frames).
    pub frames: usize,
    /// Media time decoded: the sum of the frames' durations.
    pub seconds: f64,
    /// Media time from the first frame's start to the last one's end: what was decoded
    /// plus what is missing between them (a reader starts at a keyframe, so a video
    /// stream's span can start later than the audio's).
    pub span: f64,
}

impl DecodedStream {
    /// Whether this stream decoded at least `share` of `seconds` of media.
    pub fn covers(&self, seconds: f64, share: f64) -> bool {
        self.seconds >= seconds * share
    }

    /// The share of its span this stream decoded (1.0: nothing missing).
    pub fn completeness(&self) -> f64 {
        if self.span > 0.0 {
            self.seconds / self.span
        } else {
            0.0
        }
    }
}

/// Decodes every stream of `url` for `seconds` of output (`input_args` go before `-i`, e.g.
/// `-rtsp_transport tcp`), with ffmpeg's frame checksum muxer: one entry per stream, in the
/// input's order. Panics with ffmpeg's errors when it fails.
pub fn decode(ffmpeg: &Path, input_args: &[&str], url: &str, seconds: u32) -> Vec<DecodedStream> {
    let out = std::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-nostats", "-loglevel", "error"])
        .args(input_args)
        .args(["-i", url, "-map", "0", "-t", &seconds.to_string()])
        // Frames as decoded: no duplicates filling the place of missing ones.
        .args(["-fps_mode", "passthrough"])
        .args(["-f", "framemd5", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg decoding {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_framemd5(&String::from_utf8_lossy(&out.stdout))
}

/// The streams of a `framemd5` listing: `#tb N: 1/R` and `#media_type N: KIND` headers, then
/// `N, dts, pts, duration, size, hash` lines.
pub fn parse_framemd5(text: &str) -> Vec<DecodedStream> {
    // Each stream with its time base and the first start and last end seen.
    type Seen = (DecodedStream, f64, Option<(f64, f64)>);
    let mut streams: Vec<Seen> = Vec::new();
    let header = |line: &str, key: &str| -> Option<(usize, String)> {
        let rest = line.strip_prefix(key)?;
        let (n, value) = rest.split_once(':')?;
        Some((n.trim().parse().ok()?, value.trim().to_owned()))
    };
    let stream = |streams: &mut Vec<Seen>, n: usize| {
        while streams.len() <= n {
            let empty = DecodedStream {
                media: String::new(),
                frames: 0,
                seconds: 0.0,
                span: 0.0,
            };
            streams.push((empty, 0.0, None));
        }
    };
    for line in text.lines() {
        if let Some((n, tb)) = header(line, "#tb ") {
            stream(&mut streams, n);
            let (num, den) = tb.split_once('/').unwrap_or(("0", "1"));
            let (num, den): (f64, f64) = (num.parse().unwrap_or(0.0), den.parse().unwrap_or(1.0));
            streams[n].1 = num / den;
        } else if let Some((n, kind)) = header(line, "#media_type ") {
            stream(&mut streams, n);
            streams[n].0.media = kind;
        } else if !line.starts_with('#') {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let (Some(Ok(n)), Some(Ok(pts)), Some(Ok(duration))) = (
                fields.first().map(|f| f.parse::<usize>()),
                fields.get(2).map(|f| f.parse::<f64>()),
                fields.get(3).map(|f| f.parse::<f64>()),
            ) else {
                continue;
            };
            stream(&mut streams, n);
            let (s, tb, range) = &mut streams[n];
            s.frames += 1;
            s.seconds += duration * *tb;
            let (start, end) = (pts * *tb, (pts + duration) * *tb);
            *range = Some(range.map_or((start, end), |(a, b)| (a.min(start), b.max(end))));
        }
    }
    streams
        .into_iter()
        .map(|(mut s, _, range)| {
            s.span = range.map_or(0.0, |(a, b)| b - a);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framemd5_listing_gives_frames_and_seconds_per_stream() {
        let text = "#format: frame checksums\n#tb 0: 1/25\n#media_type 0: video\n\
                    #tb 1: 1/44100\n#media_type 1: audio\n\
                    #stream#, dts,        pts, duration,     size, hash\n\
                    0,          0,          0,        1,   230400, 3d3f\n\
                    1,          0,          0,     1024,     2048, 4974\n\
                    1,       1024,       1024,     1024,     2048, 44fd\n\
                    0,          1,          1,        1,   230400, b6ba\n\
                    0,          3,          3,        1,   230400, c7cb\n";
        let streams = parse_framemd5(text);
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].media, "video");
        // Pictures 0, 1 and 3: picture 2 is missing from the span of 4.
        assert_eq!(streams[0].frames, 3);
        assert!((streams[0].seconds - 0.12).abs() < 1e-9);
        assert!((streams[0].span - 0.16).abs() < 1e-9);
        assert!((streams[0].completeness() - 0.75).abs() < 1e-9);
        assert_eq!(streams[1].media, "audio");
        assert_eq!(streams[1].frames, 2);
        assert!((streams[1].seconds - 2048.0 / 44100.0).abs() < 1e-9);
        assert!((streams[1].completeness() - 1.0).abs() < 1e-9);
        assert!(streams[1].covers(0.05, 0.9));
        assert!(!streams[1].covers(0.1, 0.9));
    }
}
