//! Stream fan-out: ordering, slow readers, memory bound, derived views.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferromtx_codec::{Format, Frame};
use ferromtx_core::{Stream, StreamError, Track, TryNext, Unit, View};
use tokio::time::Instant;

fn h264() -> Track {
    Track {
        format: Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        },
    }
}

fn opus() -> Track {
    Track {
        format: Format::Opus {
            payload_type: 111,
            channels: 2,
        },
    }
}

fn frame_unit(track: usize, pts: i64, key: bool, payload: Bytes) -> Unit {
    Unit {
        track,
        pts,
        random_access: key,
        frame: Some(Frame {
            rtp_timestamp: pts as u32,
            random_access: key,
            parts: vec![payload],
        }),
        ..Unit::default()
    }
}

/// Owner of a payload that counts how many are alive.
struct Counted(Arc<AtomicUsize>, [u8; 4]);

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        &self.1
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn counted(live: &Arc<AtomicUsize>) -> Bytes {
    live.fetch_add(1, Ordering::SeqCst);
    Bytes::from_owner(Counted(Arc::clone(live), [1, 2, 3, 4]))
}

#[test]
fn fast_reader_gets_every_unit_in_order() {
    let stream = Stream::new("test", vec![h264(), opus()], 8);
    let mut reader = stream.reader();
    let now = Instant::now();
    for i in 0..100 {
        stream
            .write(frame_unit((i % 2) as usize, i, i % 10 == 0, Bytes::new()))
            .unwrap();
        match reader.try_next(now) {
            TryNext::Unit(u) => assert_eq!(u.pts, i),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(reader.try_next(now), TryNext::Pending));
    assert_eq!(reader.discarded(), 0);
}

#[test]
fn slow_reader_skips_to_next_video_keyframe_while_fast_reader_gets_all() {
    let stream = Stream::new("test", vec![opus(), h264()], 8);
    let mut slow = stream.reader();
    let mut fast = stream.reader();
    let now = Instant::now();
    let mut fast_seen = Vec::new();
    // video keyframe every 12 units at pts 0, 12, 24 (track 1); audio in between.
    for i in 0..20 {
        let video = i % 2 == 0;
        let key = video && i % 12 == 0;
        stream
            .write(frame_unit(usize::from(video), i, key, Bytes::new()))
            .unwrap();
        if let TryNext::Unit(u) = fast.try_next(now) {
            fast_seen.push(u.pts);
        }
    }
    assert_eq!(fast_seen, (0..20).collect::<Vec<_>>());
    // The ring holds 12..20; the next video keyframe there is pts 12.
    match slow.try_next(now) {
        TryNext::Unit(u) => {
            assert_eq!(u.pts, 12);
            assert_eq!(u.track, 1);
            assert!(u.random_access);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(slow.discarded(), 12);
    // then in order again
    match slow.try_next(now) {
        TryNext::Unit(u) => assert_eq!(u.pts, 13),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn slow_reader_waits_for_a_keyframe_not_yet_written() {
    let stream = Stream::new("test", vec![h264()], 4);
    let mut slow = stream.reader();
    let now = Instant::now();
    for i in 0..10 {
        stream
            .write(frame_unit(0, i, i == 0, Bytes::new()))
            .unwrap();
    }
    assert!(matches!(slow.try_next(now), TryNext::Pending));
    // every unit still in the ring was discarded
    assert_eq!(slow.discarded(), 10);
    stream
        .write(frame_unit(0, 10, false, Bytes::new()))
        .unwrap();
    assert!(matches!(slow.try_next(now), TryNext::Pending));
    stream.write(frame_unit(0, 11, true, Bytes::new())).unwrap();
    match slow.try_next(now) {
        TryNext::Unit(u) => assert_eq!(u.pts, 11),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(slow.discarded(), 11);
}

#[test]
fn audio_only_reader_resumes_at_oldest_unit() {
    let stream = Stream::new("test", vec![opus()], 4);
    let mut slow = stream.reader();
    for i in 0..10 {
        stream.write(frame_unit(0, i, true, Bytes::new())).unwrap();
    }
    match slow.try_next(Instant::now()) {
        TryNext::Unit(u) => assert_eq!(u.pts, 6),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(slow.discarded(), 6);
}

#[test]
fn stalled_reader_does_not_grow_memory() {
    let live = Arc::new(AtomicUsize::new(0));
    let stream = Stream::new("test", vec![h264()], 16);
    let stalled = stream.reader();
    for i in 0..10_000 {
        stream
            .write(frame_unit(0, i, i % 30 == 0, counted(&live)))
            .unwrap();
        assert!(live.load(Ordering::SeqCst) <= 16);
    }
    assert_eq!(live.load(Ordering::SeqCst), 16);
    stream.close();
    assert_eq!(live.load(Ordering::SeqCst), 0);
    drop(stalled);
}

#[test]
fn unknown_track_is_an_error_and_closed_stream_refuses_writes() {
    let stream = Stream::new("test", vec![h264()], 4);
    assert_eq!(
        stream.write(frame_unit(3, 0, true, Bytes::new())),
        Err(StreamError::UnknownTrack(3))
    );
    stream.close();
    assert_eq!(
        stream.write(frame_unit(0, 0, true, Bytes::new())),
        Err(StreamError::Closed)
    );
}

#[test]
fn byte_counters_and_reader_count() {
    let stream = Stream::new("test", vec![h264()], 4);
    let mut a = stream.reader();
    let b = stream.reader();
    assert_eq!(stream.reader_count(), 2);
    stream
        .write(frame_unit(0, 0, true, Bytes::from_static(b"12345")))
        .unwrap();
    assert_eq!(stream.bytes_received(), 5);
    a.add_bytes_sent(7);
    assert_eq!(a.bytes_sent(), 7);
    assert_eq!(stream.bytes_sent(), 7);
    drop(b);
    assert_eq!(stream.reader_count(), 1);
}

#[tokio::test]
async fn next_waits_for_writer_and_ends_on_close() {
    let stream = Stream::new("test", vec![h264()], 8);
    let mut reader = stream.reader();
    let task = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(u) = reader.next().await {
            got.push(u.pts);
        }
        got
    });
    for i in 0..5 {
        tokio::task::yield_now().await;
        stream.write(frame_unit(0, i, true, Bytes::new())).unwrap();
    }
    // let the reader drain before closing
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    stream.close();
    let got = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn next_is_cancel_safe() {
    let stream = Stream::new("test", vec![h264()], 8);
    let mut reader = stream.reader();
    // cancelled while pending: nothing consumed
    let r = tokio::time::timeout(Duration::from_millis(1), reader.next()).await;
    assert!(r.is_err());
    stream.write(frame_unit(0, 42, true, Bytes::new())).unwrap();
    let u = reader.next().await.unwrap();
    assert_eq!(u.pts, 42);
}

static TRANSFORMS: AtomicUsize = AtomicUsize::new(0);

/// Test view: the payload of one track's frame, re-wrapped.
struct PayloadView {
    track: usize,
}

impl View for PayloadView {
    type Key = usize;
    type Output = Bytes;

    fn new(key: &usize, _tracks: &[Track]) -> Self {
        PayloadView { track: *key }
    }

    fn transform(&mut self, unit: &Unit, _tracks: &[Track]) -> Option<Bytes> {
        TRANSFORMS.fetch_add(1, Ordering::SeqCst);
        if unit.track != self.track {
            return None;
        }
        let mut out = b"view:".to_vec();
        out.extend_from_slice(unit.frame.as_ref()?.parts.first()?);
        Some(Bytes::from(out))
    }
}

#[test]
fn derived_view_is_computed_once_and_shared() {
    TRANSFORMS.store(0, Ordering::SeqCst);
    let stream = Stream::new("test", vec![h264(), opus()], 8);
    let mut r1 = stream.reader();
    let mut r2 = stream.reader();
    let h1 = stream.view::<PayloadView>(0);
    let h2 = stream.view::<PayloadView>(0);
    let now = Instant::now();
    for i in 0..4 {
        stream
            .write(frame_unit(
                (i % 2) as usize,
                i,
                true,
                Bytes::from_static(b"abc"),
            ))
            .unwrap();
    }
    assert_eq!(TRANSFORMS.load(Ordering::SeqCst), 4);
    for i in 0..4 {
        let (TryNext::Unit(u1), TryNext::Unit(u2)) = (r1.try_next(now), r2.try_next(now)) else {
            panic!("expected units");
        };
        let v1 = u1.view(&h1);
        let v2 = u2.view(&h2);
        if i % 2 == 0 {
            let (v1, v2) = (v1.unwrap(), v2.unwrap());
            assert_eq!(&v1[..], b"view:abc");
            assert_eq!(v1.as_ptr(), v2.as_ptr());
        } else {
            assert!(v1.is_none() && v2.is_none());
        }
    }
    // a different key is a different view
    let h3 = stream.view::<PayloadView>(1);
    stream
        .write(frame_unit(1, 9, true, Bytes::from_static(b"x")))
        .unwrap();
    let TryNext::Unit(u) = r1.try_next(now) else {
        panic!("expected unit");
    };
    assert_eq!(u.view(&h3).map(|b| &b[..]), Some(&b"view:x"[..]));
    assert!(u.view(&h1).is_none());
    assert_eq!(TRANSFORMS.load(Ordering::SeqCst), 6);
}

#[test]
fn dropped_view_stops_running() {
    let stream = Stream::new("test", vec![h264()], 8);
    struct Counting(Arc<AtomicUsize>);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    impl View for Counting {
        type Key = ();
        type Output = ();
        fn new(_: &(), _: &[Track]) -> Self {
            Counting(Arc::new(AtomicUsize::new(0)))
        }
        fn transform(&mut self, _: &Unit, _: &[Track]) -> Option<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            RUNS.fetch_add(1, Ordering::SeqCst);
            Some(())
        }
    }
    let h = stream.view::<Counting>(());
    stream.write(frame_unit(0, 0, true, Bytes::new())).unwrap();
    drop(h);
    stream.write(frame_unit(0, 1, true, Bytes::new())).unwrap();
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}

#[test]
fn a_view_is_dropped_after_its_last_handle_and_made_anew_on_demand() {
    static ALIVE: AtomicUsize = AtomicUsize::new(0);
    struct Held;
    impl Drop for Held {
        fn drop(&mut self) {
            ALIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
    impl View for Held {
        type Key = u8;
        type Output = ();
        fn new(_: &u8, _: &[Track]) -> Self {
            ALIVE.fetch_add(1, Ordering::SeqCst);
            Held
        }
        fn transform(&mut self, _: &Unit, _: &[Track]) -> Option<()> {
            Some(())
        }
    }
    let stream = Stream::new("test", vec![h264()], 8);
    let a = stream.view::<Held>(7);
    let b = stream.view::<Held>(7);
    assert_eq!(ALIVE.load(Ordering::SeqCst), 1);
    drop(a);
    stream.write(frame_unit(0, 0, true, Bytes::new())).unwrap();
    assert_eq!(ALIVE.load(Ordering::SeqCst), 1, "one handle is still alive");
    drop(b);
    stream.write(frame_unit(0, 1, true, Bytes::new())).unwrap();
    // The state (a transcoder, say) is released with the last reader, at the next write.
    assert_eq!(ALIVE.load(Ordering::SeqCst), 0);
    let c = stream.view::<Held>(7);
    assert_eq!(ALIVE.load(Ordering::SeqCst), 1);
    let mut reader = stream.reader();
    stream.write(frame_unit(0, 2, true, Bytes::new())).unwrap();
    let TryNext::Unit(u) = reader.try_next(Instant::now()) else {
        panic!("the unit was written");
    };
    assert!(u.view(&c).is_some());
}

/// Captures formatted log output.
#[derive(Clone, Default)]
struct LogBuf(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuf {
    fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn too_slow_warning_is_rate_limited_per_second() {
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let stream = Stream::new("cam", vec![opus()], 4);
        let mut reader = stream.reader();
        let t0 = Instant::now();
        let lag = |from: i64| {
            for i in from..from + 10 {
                stream.write(frame_unit(0, i, true, Bytes::new())).unwrap();
            }
        };
        lag(0);
        assert!(matches!(reader.try_next(t0), TryNext::Unit(_)));
        assert_eq!(logs.lines_with("reader is too slow").len(), 1);
        // lags again half a second later: counted, not logged yet
        lag(10);
        assert!(matches!(
            reader.try_next(t0 + Duration::from_millis(500)),
            TryNext::Unit(_)
        ));
        assert_eq!(logs.lines_with("reader is too slow").len(), 1);
        // after a second the accumulated count is reported
        assert!(matches!(
            reader.try_next(t0 + Duration::from_millis(1100)),
            TryNext::Unit(_)
        ));
        let lines = logs.lines_with("reader is too slow");
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("discarding 6 frames"), "{}", lines[0]);
        assert!(lines[1].contains("discarding 9 frames"), "{}", lines[1]);
        assert!(lines[1].contains("WARN"));
    });
}

#[test]
fn concurrent_readers_see_units_in_order_or_counted_as_discarded() {
    let stream = Stream::new("test", vec![opus()], 16);
    let total = 50_000i64;
    let readers: Vec<_> = (0..3).map(|_| stream.reader()).collect();
    let handles: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            std::thread::spawn(move || {
                let now = Instant::now();
                let mut last = -1i64;
                let mut seen = 0u64;
                // bounded: every pass either consumes a unit or yields; the writer ends
                for _ in 0..50_000_000u64 {
                    match reader.try_next(now) {
                        TryNext::Unit(u) => {
                            assert!(u.pts > last, "out of order: {} after {last}", u.pts);
                            seen += 1;
                            // every unit not seen was counted as discarded
                            assert_eq!(
                                seen + reader.discarded(),
                                u64::try_from(u.pts + 1).unwrap()
                            );
                            last = u.pts;
                            if last == total - 1 {
                                return;
                            }
                        }
                        TryNext::Pending => std::thread::yield_now(),
                        TryNext::Closed => panic!("closed early"),
                    }
                }
                panic!("reader did not finish");
            })
        })
        .collect();
    for i in 0..total {
        stream.write(frame_unit(0, i, true, Bytes::new())).unwrap();
    }
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn in_band_parameter_sets_reach_the_described_tracks() {
    let stream = Stream::new("cam", vec![h264(), opus()], 64);
    let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e]);
    let pps = Bytes::from_static(&[0x68, 0xce, 0x3c]);
    let idr = Bytes::from_static(&[0x65, 0x88]);
    let mut key = frame_unit(0, 0, true, idr);
    if let Some(f) = key.frame.as_mut() {
        f.parts.insert(0, pps.clone());
        f.parts.insert(0, sps.clone());
    }
    // A non-keyframe with a stray SPS changes nothing: only keyframes are looked at.
    let mut stray = frame_unit(0, 3000, false, Bytes::from_static(&[0x41, 0x9a]));
    if let Some(f) = stray.frame.as_mut() {
        f.parts
            .insert(0, Bytes::from_static(&[0x67, 0x64, 0x00, 0x28]));
    }
    stream.write(key).unwrap();
    stream.write(stray).unwrap();
    stream
        .write(frame_unit(1, 0, true, Bytes::from_static(&[1])))
        .unwrap();
    let described = stream.described_tracks();
    assert_eq!(
        described[0].format,
        Format::H264 {
            payload_type: 96,
            sps: Some(sps),
            pps: Some(pps),
            packetization_mode: 1,
        }
    );
    assert_eq!(described[1], opus());
    // What the publisher announced stays as it was.
    assert_eq!(stream.tracks()[0], h264());
}

#[test]
fn a_stream_without_readers_holds_no_media() {
    let live = Arc::new(AtomicUsize::new(0));
    let stream = Stream::new("test", vec![h264()], 8);
    for i in 0..20 {
        stream
            .write(frame_unit(0, i, i % 5 == 0, counted(&live)))
            .unwrap();
    }
    assert_eq!(live.load(Ordering::SeqCst), 0, "units kept with no reader");
    assert_eq!(stream.bytes_received(), 80, "every unit is still counted");

    // A reader makes the ring keep units again, starting with the next one written.
    let mut reader = stream.reader();
    let now = Instant::now();
    assert!(matches!(reader.try_next(now), TryNext::Pending));
    for i in 20..40 {
        stream
            .write(frame_unit(0, i, i % 5 == 0, counted(&live)))
            .unwrap();
    }
    assert_eq!(
        live.load(Ordering::SeqCst),
        8,
        "the ring holds its capacity"
    );
    match reader.try_next(now) {
        // Lagged a whole ring: it skipped to the newest keyframe still held.
        TryNext::Unit(u) => assert_eq!(u.pts, 35),
        other => panic!("unexpected {other:?}"),
    }
    // The last reader gone, what the ring held is released.
    drop(reader);
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "units kept after the last reader"
    );
    let second = stream.reader();
    stream
        .write(frame_unit(0, 40, true, counted(&live)))
        .unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 1);
    drop(second);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn units_every_reader_has_read_are_let_go() {
    let live = Arc::new(AtomicUsize::new(0));
    let stream = Stream::new("test", vec![h264()], 512);
    let mut fast = stream.reader();
    let now = Instant::now();
    for i in 0..1000 {
        stream
            .write(frame_unit(0, i, i % 25 == 0, counted(&live)))
            .unwrap();
        match fast.try_next(now) {
            TryNext::Unit(u) => assert_eq!(u.pts, i),
            other => panic!("unexpected {other:?}"),
        }
        // What the reader has read is not kept for it: a few units, not the 512 slots.
        assert!(live.load(Ordering::SeqCst) <= 9, "{i}");
    }

    // A second reader that reads nothing holds back what it has yet to read, no more.
    let mut slow = stream.reader();
    for i in 1000..1100 {
        stream
            .write(frame_unit(0, i, i % 25 == 0, counted(&live)))
            .unwrap();
        assert!(matches!(fast.try_next(now), TryNext::Unit(_)));
    }
    assert_eq!(live.load(Ordering::SeqCst), 100);
    for i in 1000..1100 {
        match slow.try_next(now) {
            TryNext::Unit(u) => assert_eq!(u.pts, i),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(slow.discarded(), 0);
    stream
        .write(frame_unit(0, 1100, false, counted(&live)))
        .unwrap();
    assert!(live.load(Ordering::SeqCst) <= 9);
    drop(fast);
    drop(slow);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}
