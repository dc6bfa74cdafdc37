//! MPEG-TS demuxer: any bytes never panic, and the events and anomalies do not depend on
//! how the bytes are cut (whole, byte by byte, or split at one point).
//!
//! When the first byte is odd, the input follows a valid PAT and PMT that declare every
//! codec on PIDs 0x100..=0x10a, so mutated packets reach PES and codec parsing without
//! having to guess a CRC.

use bytes::Bytes;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;
use ferromtx_codec::mpegts::{Anomalies, Codec, Demuxer, Event, Muxer, Track};

fn tables() -> Vec<u8> {
    let codecs = [
        Codec::H264,
        Codec::H265,
        Codec::Mpeg4Audio {
            config: AudioSpecificConfig {
                object_type: 2,
                sample_rate: 48_000,
                channel_count: 2,
                extension_sample_rate: None,
                frame_length_960: false,
            },
        },
        Codec::Mpeg4AudioLatm,
        Codec::Opus { channel_count: 2 },
        Codec::Mpeg1Audio,
        Codec::Ac3 {
            sample_rate: 48_000,
            channel_count: 2,
        },
        Codec::Mpeg1Video,
        Codec::Mpeg4Video,
        Codec::Klv { synchronous: true },
        Codec::Klv { synchronous: false },
    ];
    let tracks = codecs
        .into_iter()
        .enumerate()
        .map(|(i, codec)| Track {
            pid: 0x100 + i as u16,
            codec,
        })
        .collect();
    let mut out = Vec::new();
    if let Ok(mut m) = Muxer::new(tracks) {
        m.write_tables(&mut out);
    }
    out
}

fn demux<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (Vec<Event>, Anomalies) {
    let mut d = Demuxer::new();
    let mut events = Vec::new();
    for piece in pieces {
        d.push(piece);
        while let Some(e) = d.pull() {
            events.push(e);
        }
    }
    d.flush();
    while let Some(e) = d.pull() {
        events.push(e);
    }
    for e in &events {
        if let Event::AccessUnit(au) = e {
            assert!(!au.parts.is_empty());
            assert!(au.parts.iter().any(|p: &Bytes| !p.is_empty()));
        }
    }
    (events, d.take_anomalies())
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let input = match data.first() {
        Some(b) if b & 1 == 1 => [tables(), data.to_vec()].concat(),
        _ => data.to_vec(),
    };
    let whole = demux(std::iter::once(&input[..]));
    let bytewise = demux(input.chunks(1));
    assert_eq!(whole, bytewise);
    let at = data
        .get(1..3)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        % (input.len() + 1);
    let (a, b) = input.split_at(at);
    assert_eq!(whole, demux([a, b].into_iter()));
}
