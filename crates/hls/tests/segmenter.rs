//! Segment and part cutting, blocking reload, delta updates, eviction and size bounds.

mod common;

use bytes::Bytes;
use common::*;
use ferromtx_codec::fmp4::{Init, read_parts};
use ferromtx_hls::{Answer, Config, Muxer, WriteError};

fn low_latency_video() -> Muxer {
    let mut m = Muxer::new(Config::default(), &[h264()], PREFIX).expect("muxer");
    for n in 0..=85 {
        write_video(&mut m, 0, n, 25, 100);
    }
    m
}

fn answer(m: &Muxer, query: &str) -> Answer {
    m.media_playlist("video1_stream.m3u8", query)
}

#[test]
fn blocking_reload_answers_past_present_future_and_too_far() {
    // Segments 7..=9 complete; segment 10 has parts 0 and 1 (part15, part16).
    let mut m = low_latency_video();
    let ready = |a: Answer| matches!(a, Answer::Ready(_));
    assert!(ready(answer(&m, "_HLS_msn=9")), "complete segment");
    assert!(
        ready(answer(&m, "_HLS_msn=1")),
        "segment gone from the playlist"
    );
    assert!(
        ready(answer(&m, "_HLS_msn=10&_HLS_part=1")),
        "existing part"
    );
    assert!(
        ready(answer(&m, "_HLS_msn=9&_HLS_part=5")),
        "past the end: next segment's part 0"
    );
    assert_eq!(
        answer(&m, "_HLS_msn=10"),
        Answer::Wait,
        "segment in progress"
    );
    assert_eq!(answer(&m, "_HLS_msn=10&_HLS_part=2"), Answer::Wait);
    assert_eq!(answer(&m, "_HLS_msn=11&_HLS_part=0"), Answer::Wait);
    assert_eq!(
        answer(&m, "_HLS_msn=12"),
        Answer::BadRequest,
        "more than two ahead"
    );
    assert_eq!(
        answer(&m, "_HLS_msn=10&_HLS_part=20"),
        Answer::BadRequest,
        "Advance Part Limit"
    );
    assert_eq!(answer(&m, "_HLS_part=1"), Answer::BadRequest);
    assert_eq!(answer(&m, "_HLS_msn=x"), Answer::BadRequest);
    assert_eq!(m.media_playlist("nope_stream.m3u8", ""), Answer::NotFound);

    // The hinted part waits, then appears with the next part boundary.
    assert_eq!(m.part("abc123_video1_part17.mp4"), Answer::Wait);
    assert_eq!(m.part("abc123_video1_part18.mp4"), Answer::NotFound);
    let generation = m.generation();
    for n in 86..=90 {
        write_video(&mut m, 0, n, 25, 100);
    }
    assert!(m.generation() > generation);
    assert!(ready(answer(&m, "_HLS_msn=10&_HLS_part=2")));
    assert!(ready(m.part("abc123_video1_part17.mp4")));
    let pl = text(answer(&m, "_HLS_msn=10&_HLS_part=2"));
    assert!(pl.ends_with("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"abc123_video1_part18.mp4\"\n"));
}

#[test]
fn delta_update_is_the_full_playlist_minus_skipped_segments() {
    let m = low_latency_video();
    let full = text(answer(&m, ""));
    let delta = text(answer(&m, "_HLS_skip=YES"));
    // 7 entries of 1 s, CAN-SKIP-UNTIL 6 s: the oldest entry (a gap) is skipped.
    let skipped_lines = "#EXT-X-GAP\n#EXTINF:1.00000,\ngap.mp4\n";
    let map_end = full.find("gap.mp4\n").expect("a gap") - "#EXT-X-GAP\n#EXTINF:1.00000,\n".len();
    let expected = format!(
        "{}#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n{}",
        &full[..map_end],
        &full[map_end + skipped_lines.len()..]
    );
    assert_eq!(delta, expected);

    // More segments than the boundary: longer playlists skip more.
    let config = Config {
        segment_count: 12,
        ..Config::default()
    };
    let mut m = Muxer::new(config, &[h264()], PREFIX).expect("muxer");
    for n in 0..=(20 * 25) {
        write_video(&mut m, 0, n, 25, 100);
    }
    let delta = text(answer(&m, "_HLS_skip=v2"));
    assert!(delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n"));
    assert_eq!(delta.matches("#EXTINF:").count(), 6);
}

#[test]
fn segment_count_bound_and_eviction() {
    let mut m = Muxer::new(Config::default(), &[h264()], PREFIX).expect("muxer");
    for n in 0..=(30 * 25) {
        write_video(&mut m, 0, n, 25, 100);
    }
    // Segments 7..=36 were cut (30 s); the last 7 remain.
    let pl = text(answer(&m, ""));
    assert!(pl.contains("#EXT-X-MEDIA-SEQUENCE:30\n"));
    assert_eq!(pl.matches("#EXTINF:").count(), 7);
    assert!(!pl.contains("gap.mp4"));
    assert_eq!(m.segment("abc123_video1_seg29.mp4"), Answer::NotFound);
    assert_eq!(m.part("abc123_video1_part100.mp4"), Answer::NotFound);
    assert!(matches!(
        m.segment("abc123_video1_seg30.mp4"),
        Answer::Ready(_)
    ));
    assert!(matches!(
        m.segment("abc123_video1_seg36.mp4"),
        Answer::Ready(_)
    ));
    assert_eq!(m.segment("abc123_video1_seg37.mp4"), Answer::NotFound);
    assert_eq!(m.segment("other_video1_seg36.mp4"), Answer::NotFound);
}

#[test]
fn segments_cut_on_keyframes_after_the_duration() {
    // A keyframe every 1.5 s with 1 s segments: segments of 1.5 s, parts of 200 ms.
    let mut m = Muxer::new(Config::default(), &[h264()], PREFIX).expect("muxer");
    for n in 0..=(6 * 25) {
        write_video(&mut m, 0, n, 38, 100);
    }
    let pl = text(answer(&m, ""));
    assert!(pl.contains("#EXT-X-TARGETDURATION:2\n"));
    assert!(pl.contains("#EXTINF:1.52000,\nabc123_video1_seg7.mp4\n"));
    assert!(pl.contains("#EXTINF:1.52000,\nabc123_video1_seg8.mp4\n"));
    let init = Init::parse(&ready(m.init("abc123_video1_init.mp4")).to_bytes()).expect("init");
    assert_eq!(init.tracks[0].timescale, 90_000);
    // A segment is its parts: each starts where the previous ended, the first is a keyframe.
    let seg = ready(m.segment("abc123_video1_seg8.mp4")).to_bytes();
    let parts = read_parts(&seg).expect("fragments");
    assert_eq!(parts.len(), 8);
    let samples: Vec<_> = parts.iter().flat_map(|p| &p.tracks[0].samples).collect();
    assert_eq!(samples.len(), 38);
    assert!(!samples[0].non_sync);
    assert!(
        samples[1..]
            .iter()
            .all(|s| s.non_sync && s.duration == 3600)
    );
    let mut next = parts[0].tracks[0].base_time;
    for p in &parts {
        assert_eq!(p.tracks[0].base_time, next);
        next += p.tracks[0]
            .samples
            .iter()
            .map(|s| u64::from(s.duration))
            .sum::<u64>();
    }
    // 10 s start offset, then 38 frames of 3600.
    assert_eq!(parts[0].tracks[0].base_time, 900_000 + 38 * 3600);
}

#[test]
fn audio_only_segments_cut_on_duration() {
    let mut m = Muxer::new(Config::default(), &[aac()], PREFIX).expect("muxer");
    for n in 0..=(48 * 3) {
        write_audio(&mut m, 0, n);
    }
    let pl = text(m.media_playlist("audio1_stream.m3u8", ""));
    // 47 access units of 21.33 ms reach 1 s.
    assert!(
        pl.contains("#EXTINF:1.00267,\nabc123_audio1_seg7.mp4\n"),
        "{pl}"
    );
    assert!(pl.contains("#EXT-X-PART-INF:PART-TARGET=0.21400\n"), "{pl}");
    let mv = text(m.multivariant_playlist(""));
    assert!(
        mv.contains("CODECS=\"mp4a.40.2\"\naudio1_stream.m3u8\n"),
        "{mv}"
    );
}

#[test]
fn segment_max_size_drops_samples_and_says_so() {
    let config = Config {
        segment_max_size: 2000,
        ..Config::default()
    };
    let mut m = Muxer::new(config, &[h264()], PREFIX).expect("muxer");
    let mut errors = 0;
    for n in 0..=60 {
        let key = n % 25 == 0;
        let parts = [Bytes::from(vec![if key { 0x65 } else { 0x41 }; 300])];
        match m.write_unit(0, n * 3600, n * 3600, key, &parts, ntp(n * 40)) {
            Ok(()) => {}
            Err(WriteError::SegmentTooLarge) => errors += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(errors > 30, "{errors}");
    for seg in ["abc123_video1_seg7.mp4", "abc123_video1_seg8.mp4"] {
        let bytes = ready(m.segment(seg)).to_bytes();
        let payload: usize = read_parts(&bytes)
            .expect("fragments")
            .iter()
            .map(|p| p.payload_len())
            .sum();
        assert!(payload <= 2000, "{payload}");
        assert!(payload >= 1500, "{payload}");
    }
    assert_eq!(
        m.write_unit(5, 0, 0, true, &[], ntp(0)),
        Err(WriteError::UnknownTrack(5))
    );
}

#[test]
fn stored_segments_leave_memory_and_are_reported_when_evicted() {
    let config = Config {
        segment_count: 7,
        ..Config::default()
    };
    let mut m = Muxer::new(config, &[h264()], PREFIX).expect("muxer");
    for n in 0..=85 {
        write_video(&mut m, 0, n, 25, 100);
    }
    // Segments 7, 8 and 9 are finished; the driver stores them.
    let finished = m.segments_to_store();
    let names: Vec<&str> = finished.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "abc123_video1_seg7.mp4",
            "abc123_video1_seg8.mp4",
            "abc123_video1_seg9.mp4"
        ]
    );
    let seg8 = ready(m.segment("abc123_video1_seg8.mp4")).to_bytes();
    assert_eq!(finished[1].1.concat(), seg8.to_vec());
    for (name, _) in &finished {
        m.mark_stored(name);
    }
    assert!(m.segments_to_store().is_empty());
    assert_eq!(
        m.segment("abc123_video1_seg8.mp4"),
        Answer::Stored("video/mp4")
    );
    // Parts of the two newest segments (8: parts 5-9, 9: parts 10-14) are still served;
    // those of segment 7 are gone.
    assert!(matches!(
        m.part("abc123_video1_part5.mp4"),
        Answer::Ready(_)
    ));
    assert_eq!(m.part("abc123_video1_part2.mp4"), Answer::NotFound);
    let pl = text(m.media_playlist("video1_stream.m3u8", ""));
    assert!(pl.contains("\nabc123_video1_seg7.mp4\n"), "{pl}");
    assert!(m.take_evicted().is_empty());
    // Seven more segments push the stored ones out of the playlist.
    for n in 86..=260 {
        write_video(&mut m, 0, n, 25, 100);
        for (name, _) in m.segments_to_store() {
            m.mark_stored(&name);
        }
    }
    let evicted = m.take_evicted();
    assert!(
        evicted.contains(&"abc123_video1_seg7.mp4".to_owned()),
        "{evicted:?}"
    );
    assert!(m.take_evicted().is_empty(), "reported once");
    assert_eq!(m.segment("abc123_video1_seg7.mp4"), Answer::NotFound);
}
