//! A publisher's tags through the server's glue: arbitrary audio/video tag bodies (a
//! length byte before each, its low bit choosing audio or video) are read, held by track
//! detection, written into a stream as units, and turned into FLV tags again by the FLV
//! view every player shares. None of it may panic.

use bytes::Bytes;
use ferromtx_core::{Stream, TryNext, UnitIngest};
use ferromtx_rtmp::flv::{TagKind, TagReader};
use ferromtx_rtmp::publish::{ToStream, TrackDetector};
use ferromtx_rtmp::{FlvView, Selection};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let mut reader = TagReader::new();
    let mut items = Vec::new();
    let mut rest = data;
    let mut timestamp = 0u32;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len >> 1).min(tail.len());
        let (body, after) = tail.split_at(n);
        rest = after;
        let kind = if len & 1 == 0 {
            TagKind::Audio
        } else {
            TagKind::Video
        };
        timestamp = timestamp.wrapping_add(u32::from(len) * 7);
        let _ = reader.read(kind, timestamp, &Bytes::copy_from_slice(body), &mut items);
    }
    let mut detector = TrackDetector::new();
    let mut live = Vec::new();
    let mut done = false;
    for item in items {
        if done {
            live.push(item);
        } else {
            done = detector.push(item);
        }
    }
    let Ok(found) = detector.finish() else {
        return;
    };
    let (mut to_stream, tracks, _) = ToStream::new(&found.tracks);
    if tracks.is_empty() {
        return;
    }
    let stream = Stream::new("fuzz", tracks.clone(), 64);
    let legacy = stream.view::<FlvView>(Selection::for_player(&tracks, &[]));
    let enhanced = stream.view::<FlvView>(Selection::for_player(&tracks, &["*".to_owned()]));
    let mut cursor = stream.reader();
    let mut ingest = UnitIngest::new(stream.clone());
    for item in found.held.into_iter().chain(live) {
        let _ = to_stream.write(item, &mut ingest);
    }
    let now = tokio::time::Instant::now();
    while let TryNext::Unit(unit) = cursor.try_next(now) {
        let _ = (unit.view(&legacy), unit.view(&enhanced));
    }
}
