//! Bounded pseudo-random inputs for the header parsers: no panic, and whatever parses
//! formats to something that parses back to the same value.

mod common;

use ferromtx_rtsp::range::Range;
use ferromtx_rtsp::rtp_info;
use ferromtx_rtsp::session::SessionHeader;
use ferromtx_rtsp::{public, transport};

const TRANSPORT_SEEDS: &[&str] = &[
    "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=0012ABCD",
    "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    "RTP/AVP;multicast;destination=224.1.0.1;ttl=16;port=8002-8003,RTP/AVP/TCP;interleaved=2-3",
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], "")
}

#[test]
fn transport_random_inputs() {
    let mut rng = common::XorShift::new(0x7a);
    let mut parsed = 0;
    for i in 0..2000 {
        let input = text(&rng.mutate(TRANSPORT_SEEDS[i % TRANSPORT_SEEDS.len()].as_bytes()));
        if let Ok(t) = transport::parse(&input) {
            parsed += 1;
            let again = transport::parse(&transport::format(&t));
            // Destinations holding ';' or ',' cannot survive a round trip; others must.
            if t.iter().all(|t| {
                [&t.destination, &t.source]
                    .iter()
                    .all(|d| d.as_deref().is_none_or(|d| !d.contains([';', ',', '"'])))
            }) {
                assert_eq!(again.as_ref(), Ok(&t), "{input:?}");
            }
        }
    }
    assert!(parsed > 100);
}

#[test]
fn range_random_inputs() {
    let mut rng = common::XorShift::new(0x7b);
    let seeds = [
        "npt=0-",
        "npt=10.5-20.25",
        "clock=20250101T101010Z-",
        "npt=01:02:03-",
    ];
    for i in 0..2000 {
        let input = text(&rng.mutate(seeds[i % seeds.len()].as_bytes()));
        if let Ok(r) = Range::parse(&input) {
            assert_eq!(Range::parse(&r.to_string()), Ok(r), "{input:?}");
        }
    }
}

#[test]
fn rtp_info_random_inputs() {
    let mut rng = common::XorShift::new(0x7c);
    let seed = "url=rtsp://h/p/trackID=0;seq=1;rtptime=2,url=rtsp://h/p/trackID=1;seq=3";
    for _ in 0..2000 {
        let input = text(&rng.mutate(seed.as_bytes()));
        if let Ok(e) = rtp_info::parse(&input)
            && e.iter()
                .all(|e| !e.url.contains([';', ',']) && e.url.trim() == e.url)
        {
            assert_eq!(rtp_info::parse(&rtp_info::format(&e)), Ok(e), "{input:?}");
        }
    }
}

#[test]
fn session_and_public_random_inputs() {
    let mut rng = common::XorShift::new(0x7d);
    for _ in 0..2000 {
        let input = text(&rng.mutate(b"12345678;timeout=60"));
        if let Ok(s) = SessionHeader::parse(&input) {
            assert_eq!(SessionHeader::parse(&s.to_string()), Ok(s), "{input:?}");
        }
        let methods = public::parse(&text(&rng.mutate(b"DESCRIBE, SETUP, PLAY")));
        assert!(methods.len() <= 30);
    }
}
