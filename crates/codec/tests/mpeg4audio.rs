//! RFC 3640 (AAC-hbr) and AudioSpecificConfig.

mod common;

use bytes::Bytes;
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::mpeg4audio::{
    AudioSpecificConfig, ConfigError, format_config_hex, parse_config_hex,
};
use ferromtx_codec::{DepacketizeError, Format, Frame, packetizer};

fn format() -> Format {
    Format::Mpeg4Audio {
        payload_type: 97,
        config: Bytes::from_static(&[0x11, 0x90]),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    }
}

#[test]
fn audio_specific_config_parse_and_marshal() {
    let c = AudioSpecificConfig::parse(&[0x12, 0x10]).expect("valid");
    assert_eq!(
        c,
        AudioSpecificConfig {
            object_type: 2,
            sample_rate: 44_100,
            channel_count: 2,
            extension_sample_rate: None,
            frame_length_960: false,
        }
    );
    assert_eq!(&c.marshal()[..], &[0x12, 0x10]);
    assert_eq!(c.samples_per_access_unit(), 1024);

    // 48 kHz mono.
    let c = AudioSpecificConfig::parse(&[0x11, 0x88]).expect("valid");
    assert_eq!((c.sample_rate, c.channel_count), (48_000, 1));

    // Explicit sample rate (index 15) survives a round trip.
    let odd = AudioSpecificConfig {
        object_type: 2,
        sample_rate: 50_000,
        channel_count: 1,
        extension_sample_rate: None,
        frame_length_960: false,
    };
    assert_eq!(AudioSpecificConfig::parse(&odd.marshal()), Ok(odd));

    // HE-AAC with explicit SBR signalling.
    let he = AudioSpecificConfig {
        object_type: 2,
        sample_rate: 24_000,
        channel_count: 2,
        extension_sample_rate: Some(48_000),
        frame_length_960: false,
    };
    assert_eq!(AudioSpecificConfig::parse(&he.marshal()), Ok(he));

    assert!(AudioSpecificConfig::parse(&[0x12]).is_err());
    assert_eq!(
        AudioSpecificConfig::parse(&[0x16, 0x80]),
        Err(ConfigError::SampleRateIndex(13))
    );
    assert_eq!(
        AudioSpecificConfig::parse(&[0x12, 0x00]),
        Err(ConfigError::ChannelConfig(0))
    );
}

#[test]
fn config_hex() {
    assert_eq!(parse_config_hex("1190").as_deref(), Ok(&[0x11, 0x90][..]));
    assert_eq!(parse_config_hex("119"), Err(ConfigError::Hex));
    assert_eq!(parse_config_hex("zz"), Err(ConfigError::Hex));
    assert_eq!(format_config_hex(&[0x11, 0x90]), "1190");
}

#[test]
fn depacketizes_rfc3640_layout() {
    // Two AUs of 3 and 2 bytes: AU-headers-length 32 bits, headers size<<3 | index.
    let payload = [0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5];
    let (frames, errors) = depacketize_all(&format(), &[packet(1, 1024, true, &payload)]);
    assert!(errors.is_empty());
    assert_eq!(
        frames,
        vec![Frame {
            rtp_timestamp: 1024,
            random_access: true,
            parts: vec![Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4, 5])],
        }]
    );
}

#[test]
fn fragmented_access_unit_is_reassembled() {
    // One AU of 5 bytes split over two packets.
    let packets = vec![
        packet(1, 0, false, &[0x00, 0x10, 0x00, 0x28, 1, 2, 3]),
        packet(2, 0, true, &[0x00, 0x10, 0x00, 0x28, 4, 5]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].parts, vec![Bytes::from_static(&[1, 2, 3, 4, 5])]);

    // The first fragment lost: the rest is dropped and reported.
    let packets = vec![
        packet(1, 0, true, &[0x00, 0x10, 0x00, 0x18, 1, 2, 3]),
        packet(3, 1024, true, &[0x00, 0x10, 0x00, 0x28, 4, 5]),
        packet(4, 2048, true, &[0x00, 0x10, 0x00, 0x10, 6, 7]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(errors, vec![DepacketizeError::PacketsLost { count: 1 }]);
    assert_eq!(
        frames.iter().map(|f| f.rtp_timestamp).collect::<Vec<_>>(),
        vec![0, 2048]
    );
}

#[test]
fn round_trip_aggregates_and_fragments() {
    let aus = |sizes: &[usize]| {
        sizes
            .iter()
            .enumerate()
            .map(|(i, s)| Bytes::from(filler(*s, i as u8)))
            .collect::<Vec<_>>()
    };
    let frames = vec![
        Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: aus(&[200, 300, 250]),
        },
        Frame {
            rtp_timestamp: 3072,
            random_access: true,
            parts: aus(&[3000]),
        },
    ];
    assert_eq!(round_trip(&format(), &frames, 1188), frames);

    // AUs that do not fit together: each packet carries whole AUs, timestamps advance.
    let mut p = packetizer(&format(), 1188, 1, 0);
    let pkts = p
        .packetize(&Frame {
            rtp_timestamp: 100,
            random_access: true,
            parts: aus(&[700, 700, 10]),
        })
        .expect("packetize");
    assert_eq!(
        pkts.iter().map(|p| p.timestamp).collect::<Vec<_>>(),
        vec![100, 1124]
    );
    assert!(pkts.iter().all(|p| p.marker));
}

#[test]
fn malformed_packets_are_errors() {
    let cases: &[&[u8]] = &[
        &[],
        &[0x00],
        &[0x00, 0x10, 0x00],                         // header truncated
        &[0x00, 0x00, 1, 2],                         // no AU headers
        &[0x00, 0x11, 0x00, 0x18, 0, 1],             // length not a whole header
        &[0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2], // second AU truncated
    ];
    for (i, payload) in cases.iter().enumerate() {
        let (frames, errors) = depacketize_all(&format(), &[packet(i as u16, 0, true, payload)]);
        assert_eq!(errors.len(), 1, "case {i}");
        assert!(frames.is_empty(), "case {i}");
    }
}

#[test]
fn prefixes_and_garbage_never_panic() {
    feed_garbage(
        &format(),
        &[
            &[0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5],
            &[0x00, 0x10, 0x00, 0x28, 1, 2, 3],
        ],
        3640,
    );
    let mut rng = common::XorShift(14496);
    for _ in 0..2000 {
        let _ = AudioSpecificConfig::parse(&rng.bytes(8));
    }
}
