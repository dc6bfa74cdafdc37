//! A synthetic stream: H264 640x360 at 25 fps (a keyframe every `gop` frames) and AAC-LC
//! 48 kHz, fed to a muxer in simulated time.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_hls::{Answer, Muxer, Resource};

// x264 High 3.0 640x360, 25 fps in its VUI.
pub const SPS: &[u8] = &[
    0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00,
    0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2d, 0x96,
];
pub const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];
pub const PREFIX: &str = "abc123";

pub fn h264() -> Format {
    Format::H264 {
        payload_type: 96,
        sps: Some(Bytes::from_static(SPS)),
        pps: Some(Bytes::from_static(PPS)),
        packetization_mode: 1,
    }
}

pub fn aac() -> Format {
    Format::Mpeg4Audio {
        payload_type: 97,
        config: Bytes::from_static(&[0x11, 0x90]),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    }
}

/// Wall-clock time of the stream's start.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_796_608_956_000)
}

pub fn ntp(ms: i64) -> SystemTime {
    t0() + Duration::from_millis(ms as u64)
}

/// Video frame `n` (40 ms apart): SPS+PPS+IDR every `gop` frames, else a P slice.
pub fn write_video(m: &mut Muxer, track: usize, n: i64, gop: i64, size: usize) {
    let key = n % gop == 0;
    let mut slice = vec![if key { 0x65 } else { 0x41 }];
    slice.resize(size.max(2), n as u8);
    let parts = if key {
        vec![
            Bytes::from_static(SPS),
            Bytes::from_static(PPS),
            Bytes::from(slice),
        ]
    } else {
        vec![Bytes::from(slice)]
    };
    let dts = n * 3600;
    m.write_unit(track, dts, dts, key, &parts, ntp(n * 40))
        .expect("unit written");
}

/// AAC access unit `n` (1024 samples at 48 kHz).
pub fn write_audio(m: &mut Muxer, track: usize, n: i64) {
    let pts = n * 1024;
    let au = Bytes::from(vec![0x21, n as u8, 0x80]);
    m.write_unit(track, pts, pts, true, &[au], ntp(pts * 1000 / 48_000))
        .expect("unit written");
}

/// Video frames `from..=to` and the audio in between, in time order.
pub fn feed_av(m: &mut Muxer, from: i64, to: i64, audio_next: &mut i64) {
    for n in from..=to {
        write_video(m, 0, n, 25, 200);
        while *audio_next * 1024 * 1000 / 48_000 <= n * 40 {
            write_audio(m, 1, *audio_next);
            *audio_next += 1;
        }
    }
}

pub fn ready(a: Answer) -> Resource {
    match a {
        Answer::Ready(r) => r,
        other => panic!("expected a ready answer, got {other:?}"),
    }
}

pub fn text(a: Answer) -> String {
    String::from_utf8(ready(a).to_bytes().to_vec()).expect("UTF-8 playlist")
}
