//! Playlist text of each variant for a synthetic stream, line by line.

mod common;

use common::*;
use ferromtx_hls::{Answer, Config, Muxer, TsError, TsWriter, Variant};

fn gaps(n: usize) -> String {
    "#EXT-X-GAP\n#EXTINF:1.00000,\ngap.mp4\n".repeat(n)
}

fn parts(from: u64, to: u64) -> String {
    (from..=to)
        .map(|i| {
            format!(
                "#EXT-X-PART:DURATION=0.20000,URI=\"abc123_video1_part{i}.mp4\"{}\n",
                if i % 5 == 0 { ",INDEPENDENT=YES" } else { "" }
            )
        })
        .collect()
}

/// Video only, 3.4 s: segments 7, 8, 9 complete, parts 15 and 16 of segment 10.
fn low_latency_video() -> Muxer {
    let mut m = Muxer::new(Config::default(), &[h264()], PREFIX).expect("muxer");
    for n in 0..=85 {
        write_video(&mut m, 0, n, 25, 100);
    }
    m
}

#[test]
fn low_latency_media_playlist() {
    let m = low_latency_video();
    let expected = [
        "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.60000,CAN-SKIP-UNTIL=6.00000\n",
        "#EXT-X-PART-INF:PART-TARGET=0.20000\n",
        "#EXT-X-MEDIA-SEQUENCE:3\n",
        "#EXT-X-MAP:URI=\"abc123_video1_init.mp4\"\n",
        &gaps(4),
        "#EXTINF:1.00000,\nabc123_video1_seg7.mp4\n",
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:37Z\n",
        &parts(5, 9),
        "#EXTINF:1.00000,\nabc123_video1_seg8.mp4\n",
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:38Z\n",
        &parts(10, 14),
        "#EXTINF:1.00000,\nabc123_video1_seg9.mp4\n",
        &parts(15, 16),
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"abc123_video1_part17.mp4\"\n",
    ]
    .concat();
    let got = text(m.media_playlist("video1_stream.m3u8", ""));
    for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
        assert_eq!(g, e, "line {}", i + 1);
    }
    assert_eq!(got, expected);
    // The query (minus delivery directives) follows every URI.
    let with_token = text(m.media_playlist("video1_stream.m3u8", "token=x&_HLS_skip=NO"));
    assert!(with_token.contains("#EXT-X-MAP:URI=\"abc123_video1_init.mp4?token=x\"\n"));
    assert!(with_token.contains("abc123_video1_part16.mp4?token=x\"\n"));
    assert!(with_token.contains("\nabc123_video1_seg9.mp4?token=x\n"));
    assert!(with_token.contains("\ngap.mp4\n"));
}

#[test]
fn multivariant_playlist_with_separate_audio() {
    let mut m = Muxer::new(Config::default(), &[h264(), aac()], PREFIX).expect("muxer");
    assert_eq!(m.multivariant_playlist(""), Answer::Wait);
    let mut audio = 0;
    feed_av(&mut m, 0, 85, &mut audio);
    let first = ready(m.segment("abc123_video1_seg7.mp4")).len() as u64;
    let second = ready(m.segment("abc123_video1_seg8.mp4")).len() as u64;
    let third = ready(m.segment("abc123_video1_seg9.mp4")).len() as u64;
    let max = 8 * first.max(second).max(third);
    let avg = 8 * (first + second + third) / 3;
    let expected = format!(
        "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-INDEPENDENT-SEGMENTS\n\n\
         #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio2\",AUTOSELECT=YES,DEFAULT=YES,URI=\"audio2_stream.m3u8?t=1\"\n\n\
         #EXT-X-STREAM-INF:BANDWIDTH={max},AVERAGE-BANDWIDTH={avg},CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO=\"audio\"\n\
         video1_stream.m3u8?t=1\n"
    );
    assert_eq!(text(m.multivariant_playlist("t=1")), expected);
    // Each media playlist reports the other rendition's last part.
    let video = text(m.media_playlist("video1_stream.m3u8", ""));
    assert!(video.ends_with(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"abc123_video1_part17.mp4\"\n\
         #EXT-X-RENDITION-REPORT:URI=\"audio2_stream.m3u8\",LAST-MSN=10,LAST-PART=1\n"
    ));
    let audio_pl = text(m.media_playlist("audio2_stream.m3u8", ""));
    assert!(audio_pl.contains("#EXT-X-MAP:URI=\"abc123_audio2_init.mp4\"\n"));
    // Every audio part is independent.
    assert!(
        audio_pl
            .lines()
            .filter(|l| l.starts_with("#EXT-X-PART:"))
            .all(|l| l.ends_with(",INDEPENDENT=YES"))
    );
    assert!(audio_pl.ends_with("LAST-MSN=10,LAST-PART=1\n"));
    assert_eq!(
        ready(m.init("abc123_audio2_init.mp4")).content_type,
        "audio/mp4"
    );
}

#[test]
fn fmp4_media_playlist() {
    let config = Config {
        variant: Variant::Fmp4,
        ..Config::default()
    };
    let mut m = Muxer::new(config, &[h264()], PREFIX).expect("muxer");
    for n in 0..=25 {
        write_video(&mut m, 0, n, 25, 100);
    }
    // One segment is not enough for the fmp4 variant.
    assert_eq!(m.media_playlist("video1_stream.m3u8", ""), Answer::Wait);
    for n in 26..=85 {
        write_video(&mut m, 0, n, 25, 100);
    }
    let expected = "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n\
        #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"abc123_video1_init.mp4\"\n\
        #EXTINF:1.00000,\nabc123_video1_seg0.mp4\n\
        #EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:37Z\n#EXTINF:1.00000,\nabc123_video1_seg1.mp4\n\
        #EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:38Z\n#EXTINF:1.00000,\nabc123_video1_seg2.mp4\n";
    assert_eq!(text(m.media_playlist("video1_stream.m3u8", "")), expected);
    // No parts and no blocking in this variant.
    assert_eq!(m.part("abc123_video1_part3.mp4"), Answer::NotFound);
    assert_eq!(
        text(m.media_playlist("video1_stream.m3u8", "_HLS_msn=99")),
        expected
    );
    assert!(text(m.multivariant_playlist("")).starts_with("#EXTM3U\n#EXT-X-VERSION:10\n"));
}

/// Writes one fake 188-byte packet per unit: track, then the low byte of the DTS.
struct FakeTs;

impl TsWriter for FakeTs {
    fn write(
        &mut self,
        track: usize,
        _pts: i64,
        dts: i64,
        _random_access: bool,
        _parts: &[bytes::Bytes],
        out: &mut Vec<u8>,
    ) -> Result<(), TsError> {
        let mut packet = vec![0x47, track as u8, dts as u8];
        packet.resize(188, 0xff);
        out.extend_from_slice(&packet);
        Ok(())
    }
}

#[test]
fn mpegts_media_and_multivariant_playlists() {
    let mut m = Muxer::with_mpegts(
        Config::default(),
        &[h264(), aac()],
        PREFIX,
        Box::new(FakeTs),
    )
    .expect("muxer");
    let mut audio = 0;
    feed_av(&mut m, 0, 85, &mut audio);
    let expected = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ALLOW-CACHE:NO\n#EXT-X-TARGETDURATION:1\n\
        #EXT-X-MEDIA-SEQUENCE:0\n\
        #EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:36Z\n#EXTINF:1.00000,\nabc123_main_seg0.ts\n\
        #EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:37Z\n#EXTINF:1.00000,\nabc123_main_seg1.ts\n\
        #EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:38Z\n#EXTINF:1.00000,\nabc123_main_seg2.ts\n";
    assert_eq!(text(m.media_playlist("main_stream.m3u8", "")), expected);
    let seg = ready(m.segment("abc123_main_seg1.ts"));
    assert_eq!(seg.content_type, "video/mp2t");
    let bytes = seg.to_bytes();
    // 25 video frames and the audio units of that second, each one packet.
    let packets: Vec<&[u8]> = bytes.chunks(188).collect();
    assert_eq!(packets.iter().filter(|p| p[1] == 0).count(), 25);
    assert!(packets.iter().filter(|p| p[1] == 1).count() >= 46);
    assert_eq!(packets[0][1], 0, "a segment starts with the keyframe");
    let mv = text(m.multivariant_playlist(""));
    assert!(mv.starts_with(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\n#EXT-X-STREAM-INF:"
    ));
    assert!(mv.ends_with(
        ",CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=25.000\nmain_stream.m3u8\n"
    ));
    assert!(m.skipped_tracks().is_empty());
}

#[test]
fn unsupported_tracks_are_skipped() {
    let opus_in_ts = [
        h264(),
        ferromtx_codec::Format::Opus {
            payload_type: 111,
            channels: 2,
        },
    ];
    let m = Muxer::with_mpegts(Config::default(), &opus_in_ts, PREFIX, Box::new(FakeTs))
        .expect("muxer");
    assert_eq!(m.skipped_tracks(), vec![1]);
    let only_g722 = [ferromtx_codec::Format::G722 { payload_type: 9 }];
    assert!(Muxer::new(Config::default(), &only_g722, PREFIX).is_err());
    let low = Config {
        segment_count: 3,
        ..Config::default()
    };
    assert!(Muxer::new(low, &[h264()], PREFIX).is_err());
    assert!(Muxer::new(Config::default(), &[h264()], "../x").is_err());
}
