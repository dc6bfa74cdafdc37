//! The playback server's reading side on segments MediaMTX v1.20.1 recorded (two
//! consecutive 2 s segments of 160x120 H264 at 10 fps and Opus, parts of 1 s): they are
//! listed as one span and served as one file.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use chrono::TimeDelta;
use ferromtx_codec::fmp4::{Codec, Init, read_parts};
use ferromtx_conf::PathConf;
use tokio::sync::mpsc;

use super::get::{self, Format, GetError};
use super::list;
use crate::store;

fn recordings() -> (tempfile::TempDir, PathConf) {
    let dir = tempfile::tempdir().expect("tmp");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mediamtx");
    let to = dir.path().join("cam");
    std::fs::create_dir_all(&to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("fixtures").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
    let mut conf = PathConf::default();
    conf.name = "cam".into();
    conf.record_path = format!("{}/%path/%Y-%m-%d_%H-%M-%S-%f", dir.path().display());
    (dir, conf)
}

fn answer(
    segments: Vec<store::Segment>,
    start_offset_ms: i64,
    secs: u64,
    format: Format,
) -> Result<Vec<u8>, GetError> {
    let start = segments[0].start + TimeDelta::milliseconds(start_offset_ms);
    let (tx, mut rx) = mpsc::channel(4);
    let worker = std::thread::spawn(move || {
        get::get(&segments, start, Duration::from_secs(secs), format, &tx);
    });
    let mut out = Vec::new();
    while let Some(piece) = rx.blocking_recv() {
        out.extend_from_slice(&piece?);
    }
    worker.join().expect("worker");
    Ok(out)
}

#[test]
fn mediamtx_segments_are_one_span() {
    let (_dir, conf) = recordings();
    let segments = store::find_segments(&conf, "cam", None, None).expect("segments");
    assert_eq!(segments.len(), 2);
    let parsed = list::parse(&segments).expect("headers");
    // MediaMTX wrote each segment's duration in mvhd (ms) and an mtxi box.
    assert_eq!(parsed[0].duration, Duration::from_secs(2));
    let (a, b) = (
        parsed[0].header.mtxi.expect("mtxi"),
        parsed[1].header.mtxi.expect("mtxi"),
    );
    assert_eq!(
        (a.stream_id, a.segment_number + 1),
        (b.stream_id, b.segment_number)
    );
    let spans = list::concatenate(&parsed);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].start, segments[0].start);
    // From the first start to the second segment's start plus its 2 s (what MediaMTX's own
    // /list answers for these files).
    assert_eq!(spans[0].duration, Duration::from_micros(3_811_190));
}

#[test]
fn a_window_across_mediamtx_segments_starts_at_a_keyframe() {
    let (_dir, conf) = recordings();
    let segments = store::find_segments(&conf, "cam", None, None).expect("segments");
    // 2 s from 1.05 s in: across the boundary between the segments.
    let out = answer(segments.clone(), 1050, 2, Format::Fmp4).expect("answer");
    let init = Init::parse(&out).expect("init");
    assert!(matches!(init.tracks[0].codec, Codec::H264 { .. }));
    assert!(matches!(init.tracks[1].codec, Codec::Opus { .. }));
    let parts = read_parts(&Bytes::from(out)).expect("parts");
    assert!(parts.iter().zip(0..).all(|(p, n)| p.sequence_number == n));
    let video: Vec<_> = parts
        .iter()
        .flat_map(|p| p.tracks.iter().filter(|t| t.id == 1))
        .flat_map(|t| t.samples.iter())
        .collect();
    assert!(!video[0].non_sync, "starts at a keyframe");
    // Exactly the window: 2 s of the 90 kHz clock.
    let total: u64 = video.iter().map(|s| u64::from(s.duration)).sum();
    assert_eq!(total, 180_000);
    let first_part_video = parts[0].tracks.iter().find(|t| t.id == 1).expect("video");
    assert_eq!(first_part_video.base_time, 0);

    // The progressive answer has the same samples.
    let mp4 = answer(segments.clone(), 1050, 2, Format::Mp4).expect("answer");
    assert_eq!(&mp4[4..8], b"ftyp");
    let moov = crate::mp4::find(&mp4, b"moov")
        .expect("boxes")
        .expect("moov");
    let header = crate::mp4::Header::parse(moov.body).expect("moov");
    assert_eq!(header.tracks.len(), 2);
    // Nothing recorded in the window.
    assert_eq!(
        answer(segments, 3_600_000, 2, Format::Fmp4).err(),
        Some(GetError::NoSegments)
    );
}
