//! Offers captured from Chromium 156 (`tests/data/chromium156_*.sdp`, made by
//! `RTCPeerConnection.createOffer` in headless Chromium) are answered for every kind of
//! stream: str0m must never be configured so that it trips on a real browser's offer.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use common::{aac, opus};
use ferromtx_codec::Format;
use ferromtx_webrtc::{LocalCandidates, Session, SessionConfig};

const WHEP_OFFER: &str = include_str!("data/chromium156_whep_offer.sdp");
const WHIP_OFFER: &str = include_str!("data/chromium156_whip_offer.sdp");

fn local() -> LocalCandidates {
    LocalCandidates::udp(vec![SocketAddr::from(([127, 0, 0, 1], 8189))])
}

fn h264_with_sps(sps: &'static [u8]) -> Format {
    Format::H264 {
        payload_type: 96,
        sps: Some(Bytes::from_static(sps)),
        pps: Some(Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80])),
        packetization_mode: 1,
    }
}

/// The video m-line of an SDP, up to the next m-line.
fn video_section(sdp: &str) -> &str {
    sdp.split("m=video")
        .nth(1)
        .and_then(|v| v.split("m=audio").next())
        .expect("a video m-line")
}

/// The first payload type of the video m-line.
fn first_video_pt(sdp: &str) -> String {
    video_section(sdp)
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("a payload type")
        .to_owned()
}

#[test]
fn every_h264_profile_is_answered() {
    // SPS heads as x264 and cameras write them: Constrained Baseline at two levels and
    // spellings, Baseline, Main, High, High 4:4:4, and no SPS at all. The answer names the
    // stream's own profile-level-id (a browser decodes any level) when the browser offers
    // that profile; Chromium offers no High profile, so High goes as Constrained Baseline
    // (its decoder takes whatever the SPS says).
    let cases: [(Format, &str); 7] = [
        (h264_with_sps(&[0x67, 0x42, 0xc0, 0x1e]), "42c01e"),
        (h264_with_sps(&[0x67, 0x42, 0xe0, 0x1f]), "42e01f"),
        (h264_with_sps(&[0x67, 0x42, 0x00, 0x1e]), "42001e"),
        (h264_with_sps(&[0x67, 0x4d, 0x40, 0x1f]), "4d401f"),
        (h264_with_sps(&[0x67, 0x64, 0x00, 0x28]), "42e01f"),
        (h264_with_sps(&[0x67, 0xf4, 0x00, 0x1f]), "f4001f"),
        (
            Format::H264 {
                payload_type: 96,
                sps: None,
                pps: None,
                packetization_mode: 1,
            },
            "42e01f",
        ),
    ];
    for (format, profile) in cases {
        let accepted = Session::accept_whep(
            Instant::now(),
            WHEP_OFFER,
            &[format.clone(), opus()],
            &local(),
            SessionConfig::default(),
        )
        .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(accepted.tracks, vec![Some(format.clone()), Some(opus())]);
        let wanted = format!("packetization-mode=1;profile-level-id={profile}");
        assert!(
            video_section(&accepted.answer)
                .lines()
                .any(|l| l.starts_with("a=fmtp:") && l.contains(&wanted)),
            "{format:?}: no {wanted} in {}",
            accepted.answer
        );
        assert!(accepted.answer.contains("opus/48000/2"));
    }
}

#[test]
fn other_video_codecs_and_aac_are_answered() {
    for video in [
        Format::Vp8 { payload_type: 96 },
        Format::Vp9 { payload_type: 96 },
        Format::Av1 { payload_type: 96 },
    ] {
        let accepted = Session::accept_whep(
            Instant::now(),
            WHEP_OFFER,
            &[video.clone(), aac()],
            &local(),
            SessionConfig::default(),
        )
        .unwrap_or_else(|e| panic!("{video:?}: {e}"));
        // AAC can't be played by a browser: left out, the video still goes.
        assert_eq!(accepted.tracks, vec![Some(video.clone()), None]);
        let pt = first_video_pt(&accepted.answer);
        let rtpmap = format!("a=rtpmap:{pt} {}/90000", video.codec_name());
        assert!(accepted.answer.contains(&rtpmap), "{video:?}: no {rtpmap}");
    }
}

#[test]
fn a_chromium_camera_offer_is_accepted_for_publishing() {
    let accepted = Session::accept_whip(
        Instant::now(),
        WHIP_OFFER,
        &local(),
        SessionConfig::default(),
    )
    .expect("WHIP offer accepted");
    // Chromium lists Opus first for audio and VP8 first for video.
    let names: Vec<&str> = accepted
        .tracks
        .iter()
        .map(|t| t.as_ref().expect("publisher track").codec_name())
        .collect();
    assert_eq!(names, ["Opus", "VP8"]);
}
