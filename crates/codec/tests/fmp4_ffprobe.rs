//! ffprobe reads what the fMP4 writer wrote: an init segment and fragments of real H264
//! (from ffmpeg's libx264) and AAC, concatenated into one file. Skipped with a message when
//! ffmpeg/ffprobe are missing, unless CI=true.

use std::process::Command;

use bytes::Bytes;
use ferromtx_codec::fmp4::{Codec, Init, InitTrack, Part, PartTrack, Sample};

fn tools_present() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|t| {
        Command::new(t)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "ffmpeg/ffprobe missing in CI"
        );
        eprintln!("skipping: ffmpeg/ffprobe not installed");
    }
    ok
}

fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// NAL units of an Annex B stream.
fn nal_units(data: &[u8]) -> Vec<Bytes> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let mut end = starts.get(k + 1).map_or(data.len(), |n| n - 3);
            while end > s && data[end - 1] == 0 {
                end -= 1;
            }
            Bytes::copy_from_slice(&data[s..end])
        })
        .collect()
}

#[test]
fn ffprobe_counts_h264_and_aac_frames() {
    if !tools_present() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferromtx-fmp4-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let video = ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-frames:v",
        "50",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        "-bf",
        "0",
        "-g",
        "25",
        "-bsf:v",
        "h264_mp4toannexb",
        "-f",
        "h264",
        "-",
    ]);
    let audio = ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000",
        "-t",
        "2",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-f",
        "adts",
        "-",
    ]);
    // Access units: each VCL NAL unit with the non-VCL units before it.
    let (mut sps, mut pps) = (None, None);
    let mut frames: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut pending = Vec::new();
    for nal in nal_units(&video) {
        match nal[0] & 0x1f {
            7 => sps = Some(nal.clone()),
            8 => pps = Some(nal.clone()),
            _ => {}
        }
        pending.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        pending.extend_from_slice(&nal);
        if matches!(nal[0] & 0x1f, 1 | 5) {
            frames.push((nal[0] & 0x1f == 5, std::mem::take(&mut pending)));
        }
    }
    let mut aus = Vec::new();
    let mut pos = 0;
    while pos + 7 <= audio.len() {
        let h = &audio[pos..pos + 7];
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        aus.push(Bytes::copy_from_slice(&audio[pos + 7..pos + len]));
        pos += len;
    }
    assert_eq!(frames.len(), 50);

    let init = Init {
        tracks: vec![
            InitTrack {
                id: 1,
                timescale: 90_000,
                codec: Codec::H264 {
                    sps: sps.expect("SPS"),
                    pps: pps.expect("PPS"),
                },
            },
            InitTrack {
                id: 2,
                timescale: 48_000,
                codec: Codec::Mpeg4Audio {
                    config: Bytes::from_static(&[0x11, 0x90]),
                },
            },
        ],
    };
    let mut file = init.marshal().expect("init");
    for (n, second) in frames.chunks(25).enumerate() {
        let audio_per_second = aus.len().div_ceil(2);
        let audio: Vec<Sample> = aus
            .iter()
            .skip(n * audio_per_second)
            .take(audio_per_second)
            .map(|au| Sample {
                duration: 1024,
                payload: au.clone(),
                ..Sample::default()
            })
            .collect();
        Part {
            sequence_number: n as u32,
            tracks: vec![
                PartTrack {
                    id: 1,
                    base_time: n as u64 * 90_000,
                    samples: second
                        .iter()
                        .map(|(key, avcc)| Sample {
                            duration: 3600,
                            pts_offset: 0,
                            non_sync: !key,
                            payload: Bytes::from(avcc.clone()),
                        })
                        .collect(),
                },
                PartTrack {
                    id: 2,
                    base_time: (n * audio_per_second * 1024) as u64,
                    samples: audio,
                },
            ],
        }
        .marshal(&mut file)
        .expect("fragment");
    }
    let path = dir.join("h264_aac.mp4");
    std::fs::write(&path, &file).expect("written");
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .args(["stream=codec_name,nb_read_frames", "-of", "csv=p=0"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let _ = std::fs::remove_dir_all(&dir);
    let report = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "h264,50", "{report}");
    assert_eq!(lines[1], format!("aac,{}", aus.len()), "{report}");
}
