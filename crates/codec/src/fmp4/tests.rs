use bytes::Bytes;

use super::*;

fn hex(lines: &[&str]) -> Vec<u8> {
    let s: String = lines.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

// MediaMTX 1.20.1 (LL-HLS muxer): init of an H264 640x360 stream, captured over HTTP.
const MEDIAMTX_H264_INIT: &[&str] = &[
    "00000020667479706d703432000000016d7034316d70343269736f6d686c7366",
    "0000028e6d6f6f760000006c6d766864000000000000000000000000000003e8",
    "0000000000010000010000000000000000000000000100000000000000000000",
    "0000000000010000000000000000000000000000400000000000000000000000",
    "00000000000000000000000000000000ffffffff000001f27472616b0000005c",
    "746b686400000003000000000000000000000001000000000000000000000000",
    "0000000000000000000000000001000000000000000000000000000000010000",
    "0000000000000000000000004000000002800000016800000000018e6d646961",
    "000000206d64686400000000000000000000000000015f900000000055c40000",
    "0000002d68646c72000000000000000076696465000000000000000000000000",
    "566964656f48616e646c657200000001396d696e6600000014766d6864000000",
    "0100000000000000000000002464696e660000001c6472656600000000000000",
    "010000000c75726c2000000001000000f97374626c000000ad73747364000000",
    "00000000010000009d6176633100000000000000010000000000000000000000",
    "0000000000028001680048000000480000000000000001000000000000000000",
    "00000000000000000000000000000000000000000000000018ffff0000003361",
    "7663430164001effe1001a6764001eacd940a02ff97011000003000100000300",
    "320f162d9601000668ebe3cb22c0000000146274727400000000000f4240000f",
    "4240000000107374747300000000000000000000001073747363000000000000",
    "0000000000147374737a000000000000000000000000000000107374636f0000",
    "000000000000000000286d766578000000207472657800000000000000010000",
    "0001000000000000000000000000",
];

// The same muxer's init for the AAC-LC 48 kHz stereo track of that stream.
const MEDIAMTX_AAC_INIT: &[&str] = &[
    "00000020667479706d703432000000016d7034316d70343269736f6d686c7366",
    "000002586d6f6f760000006c6d766864000000000000000000000000000003e8",
    "0000000000010000010000000000000000000000000100000000000000000000",
    "0000000000010000000000000000000000000000400000000000000000000000",
    "00000000000000000000000000000000ffffffff000001bc7472616b0000005c",
    "746b686400000003000000000000000000000001000000000000000000000000",
    "0000000000000001010000000001000000000000000000000000000000010000",
    "000000000000000000000000400000000000000000000000000001586d646961",
    "000000206d6468640000000000000000000000000000bb800000000055c40000",
    "0000002d68646c720000000000000000736f756e000000000000000000000000",
    "536f756e6448616e646c657200000001036d696e6600000010736d6864000000",
    "00000000000000002464696e660000001c647265660000000000000001000000",
    "0c75726c2000000001000000c77374626c0000007b7374736400000000000000",
    "010000006b6d7034610000000000000001000000000000000000020010000000",
    "00bb800000000000336573647300000000038080802200010004808080144015",
    "0000000001f7390001f739058080800211900680808001020000001462747274",
    "000000000001f7390001f7390000001073747473000000000000000000000010",
    "737473630000000000000000000000147374737a000000000000000000000000",
    "000000107374636f0000000000000000000000286d7665780000002074726578",
    "000000000000000100000001000000000000000000000000",
];

// The moof of one of its video parts: five non-sync samples, B-frame offsets.
const MEDIAMTX_PART_MOOF: &[&str] = &[
    "000000a86d6f6f66000000106d666864000000000000004e0000009074726166",
    "0000001074666864000200000000000100000014746664740100000000000000",
    "002f7600000000647472756e01000f0100000005000000b000000e100000003a",
    "000100000000000000000e10000001e80001000000002a3000000e100000004d",
    "000100000000000000000e1000000044000100000000000000000e10000001e8",
    "0001000000002a30",
];

const SPS_H264: &[u8] = &[
    0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00,
    0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2d, 0x96,
];
const PPS_H264: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];

// x265 Main 640x360 parameter sets.
const VPS_H265: &[u8] = &[
    0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x3f, 0x95, 0x98, 0x09,
];
const SPS_H265: &[u8] = &[
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01, 0x69, 0x65, 0x95, 0x9a, 0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20,
    0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x03, 0x21,
];
const PPS_H265: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40];

// libaom 640x360 sequence header OBU.
const AV1_SEQUENCE_HEADER: &[u8] = &[
    0x0a, 0x0b, 0x00, 0x00, 0x00, 0x0c, 0xc4, 0xff, 0x67, 0x36, 0xbe, 0x40, 0x10,
];

fn flac_stream_info() -> Bytes {
    // min/max block 4096, frame sizes unknown, 44100 Hz, 2 channels, 16 bits.
    let mut v = vec![0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0];
    let packed: u32 = (44_100 << 12) | (1 << 9) | (15 << 4);
    v.extend_from_slice(&packed.to_be_bytes());
    v.resize(34, 0);
    Bytes::from(v)
}

fn every_codec() -> Vec<Codec> {
    vec![
        Codec::H264 {
            sps: Bytes::from_static(SPS_H264),
            pps: Bytes::from_static(PPS_H264),
        },
        Codec::H265 {
            vps: Bytes::from_static(VPS_H265),
            sps: Bytes::from_static(SPS_H265),
            pps: Bytes::from_static(PPS_H265),
        },
        Codec::Av1 {
            sequence_header: Bytes::from_static(AV1_SEQUENCE_HEADER),
        },
        Codec::Vp9 {
            width: 640,
            height: 360,
            profile: 0,
            bit_depth: 8,
            chroma_subsampling: 1,
            color_range: false,
        },
        Codec::Opus { channel_count: 2 },
        Codec::Mpeg4Audio {
            config: Bytes::from_static(&[0x11, 0x90]),
        },
        Codec::Mpeg1Audio {
            sample_rate: 44_100,
            channel_count: 2,
        },
        Codec::Ac3 {
            sample_rate: 48_000,
            channel_count: 6,
            bsid: 8,
            bsmod: 0,
            acmod: 7,
            lfe_on: true,
            bit_rate_code: 15,
        },
        Codec::Flac {
            stream_info: flac_stream_info(),
        },
        Codec::Lpcm {
            little_endian: false,
            bit_depth: 24,
            sample_rate: 96_000,
            channel_count: 2,
        },
    ]
}

fn timescale(codec: &Codec) -> u32 {
    match codec {
        Codec::Mpeg4Audio { .. } | Codec::Opus { .. } | Codec::Ac3 { .. } => 48_000,
        Codec::Mpeg1Audio { .. } | Codec::Flac { .. } => 44_100,
        Codec::Lpcm { sample_rate, .. } => *sample_rate,
        _ => 90_000,
    }
}

#[test]
fn h264_and_aac_init_match_mediamtx_byte_for_byte() {
    let video = Init {
        tracks: vec![InitTrack {
            id: 1,
            timescale: 90_000,
            codec: every_codec().remove(0),
        }],
    };
    assert_eq!(video.marshal().expect("writes"), hex(MEDIAMTX_H264_INIT));
    let audio = Init {
        tracks: vec![InitTrack {
            id: 1,
            timescale: 48_000,
            codec: every_codec().remove(5),
        }],
    };
    assert_eq!(audio.marshal().expect("writes"), hex(MEDIAMTX_AAC_INIT));
    assert_eq!(Init::parse(&hex(MEDIAMTX_H264_INIT)), Ok(video));
    assert_eq!(Init::parse(&hex(MEDIAMTX_AAC_INIT)), Ok(audio));
}

#[test]
fn init_round_trips_for_every_codec() {
    let tracks: Vec<InitTrack> = every_codec()
        .into_iter()
        .enumerate()
        .map(|(i, codec)| InitTrack {
            id: i as u32 + 1,
            timescale: timescale(&codec),
            codec,
        })
        .collect();
    let init = Init { tracks };
    let bytes = init.marshal().expect("writes");
    assert_eq!(Init::parse(&bytes), Ok(init.clone()));
    // One track at a time too: each sample entry stands on its own.
    for track in init.tracks {
        let one = Init {
            tracks: vec![track],
        };
        assert_eq!(Init::parse(&one.marshal().expect("writes")), Ok(one));
    }
}

#[test]
fn invalid_parameters_are_write_errors() {
    let bad = [
        Codec::H264 {
            sps: Bytes::from_static(&[0x67]),
            pps: Bytes::from_static(PPS_H264),
        },
        Codec::H265 {
            vps: Bytes::from_static(VPS_H265),
            sps: Bytes::from_static(&[0x42, 0x01]),
            pps: Bytes::from_static(PPS_H265),
        },
        Codec::Av1 {
            sequence_header: Bytes::from_static(&[0x12, 0x00]),
        },
        Codec::Ac3 {
            sample_rate: 22_050,
            channel_count: 2,
            bsid: 8,
            bsmod: 0,
            acmod: 2,
            lfe_on: false,
            bit_rate_code: 10,
        },
        Codec::Flac {
            stream_info: Bytes::from_static(&[0; 10]),
        },
        Codec::Mpeg4Audio {
            config: Bytes::new(),
        },
    ];
    for codec in bad {
        let init = Init {
            tracks: vec![InitTrack {
                id: 1,
                timescale: 90_000,
                codec: codec.clone(),
            }],
        };
        assert!(
            matches!(init.marshal(), Err(WriteError::InvalidParams { .. })),
            "{codec:?}"
        );
    }
}

#[test]
fn av1_sequence_header_without_size_field_gets_one() {
    // The same OBU without obu_has_size_field.
    let mut bare = vec![AV1_SEQUENCE_HEADER[0] & !0x02];
    bare.extend_from_slice(&AV1_SEQUENCE_HEADER[2..]);
    let init = Init {
        tracks: vec![InitTrack {
            id: 1,
            timescale: 90_000,
            codec: Codec::Av1 {
                sequence_header: Bytes::from(bare),
            },
        }],
    };
    let parsed = Init::parse(&init.marshal().expect("writes")).expect("reads");
    assert_eq!(
        parsed.tracks[0].codec,
        Codec::Av1 {
            sequence_header: Bytes::from_static(AV1_SEQUENCE_HEADER)
        }
    );
}

fn payload(len: usize, seed: u8) -> Bytes {
    Bytes::from(
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect::<Vec<u8>>(),
    )
}

#[test]
fn part_matches_mediamtx_moof() {
    let entries = [
        (0x3a, 0),
        (0x1e8, 0x2a30),
        (0x4d, 0),
        (0x44, 0),
        (0x1e8, 0x2a30),
    ];
    let part = Part {
        sequence_number: 0x4e,
        tracks: vec![PartTrack {
            id: 1,
            base_time: 0x2f7600,
            samples: entries
                .iter()
                .map(|&(size, cts)| Sample {
                    duration: 3600,
                    pts_offset: cts,
                    non_sync: true,
                    payload: payload(size, 7),
                })
                .collect(),
        }],
    };
    let mut out = Vec::new();
    part.marshal(&mut out).expect("writes");
    let moof = hex(MEDIAMTX_PART_MOOF);
    assert_eq!(&out[..moof.len()], &moof[..]);
    assert_eq!(&out[moof.len() + 4..moof.len() + 8], b"mdat");
    assert_eq!(out.len(), moof.len() + 8 + part.payload_len());
    let read = read_parts(&Bytes::from(out)).expect("reads");
    assert_eq!(read, vec![part]);
}

#[test]
fn fragments_round_trip_for_every_codec() {
    let codecs = every_codec();
    let parts: Vec<Part> = (0..3u32)
        .map(|n| Part {
            sequence_number: n,
            tracks: codecs
                .iter()
                .enumerate()
                .map(|(i, codec)| PartTrack {
                    id: i as u32 + 1,
                    base_time: u64::from(n) * 90_000 + (1 << 33),
                    samples: (0..4)
                        .map(|k| Sample {
                            duration: if codec.is_video() { 3600 } else { 1024 },
                            pts_offset: if codec.is_video() { 7200 - 3600 * k } else { 0 },
                            non_sync: codec.is_video() && (k > 0 || n > 0),
                            payload: payload(10 + 7 * k as usize + i, n as u8),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let mut out = Vec::new();
    for p in &parts {
        p.marshal(&mut out).expect("writes");
    }
    assert_eq!(read_parts(&Bytes::from(out)).expect("reads"), parts);
}

#[test]
fn reader_takes_tfhd_defaults_and_first_sample_flags() {
    // moof: tfhd with default duration 1024, size 3, flags non-sync; trun with only a data
    // offset and first_sample_flags 0 (sync), two samples; no tfdt.
    let mut moof = Vec::new();
    let traf_body: Vec<u8> = [
        &[0, 0, 0, 0x1c][..],
        b"tfhd",
        &[0, 0x02, 0, 0x38], // default-base-is-moof | duration | size | flags
        &[0, 0, 0, 2],
        &[0, 0, 4, 0],
        &[0, 0, 0, 3],
        &[0, 1, 0, 0],
        &[0, 0, 0, 0x18],
        b"trun",
        &[0, 0, 0, 0x05],
        &[0, 0, 0, 2],
        &[0, 0, 0, 0], // data offset, patched
        &[0, 0, 0, 0],
    ]
    .concat();
    let traf_len = 8 + traf_body.len();
    let mfhd = [&[0, 0, 0, 16][..], b"mfhd", &[0, 0, 0, 0], &[0, 0, 0, 9]].concat();
    let moof_len = 8 + mfhd.len() + traf_len;
    moof.extend_from_slice(&(moof_len as u32).to_be_bytes());
    moof.extend_from_slice(b"moof");
    moof.extend_from_slice(&mfhd);
    moof.extend_from_slice(&(traf_len as u32).to_be_bytes());
    moof.extend_from_slice(b"traf");
    moof.extend_from_slice(&traf_body);
    let offset_pos = moof.len() - 8;
    moof[offset_pos..offset_pos + 4].copy_from_slice(&((moof_len + 8) as u32).to_be_bytes());
    moof.extend_from_slice(&[0, 0, 0, 14]);
    moof.extend_from_slice(b"mdat");
    moof.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
    let parts = read_parts(&Bytes::from(moof)).expect("reads");
    let track = &parts[0].tracks[0];
    assert_eq!(
        (parts[0].sequence_number, track.id, track.base_time),
        (9, 2, 0)
    );
    assert_eq!(
        track
            .samples
            .iter()
            .map(|s| (s.duration, s.non_sync, &s.payload[..]))
            .collect::<Vec<_>>(),
        vec![(1024, false, &[1, 2, 3][..]), (1024, true, &[4, 5, 6][..])]
    );
}

#[test]
fn reader_rejects_damage_without_panicking() {
    let init = hex(MEDIAMTX_H264_INIT);
    for n in 0..init.len() {
        assert!(Init::parse(&init[..n]).is_err(), "init prefix {n}");
    }
    let mut frag = Vec::new();
    Part {
        sequence_number: 1,
        tracks: vec![PartTrack {
            id: 1,
            base_time: 0,
            samples: vec![Sample {
                duration: 1,
                pts_offset: -3,
                non_sync: false,
                payload: payload(40, 1),
            }],
        }],
    }
    .marshal(&mut frag)
    .expect("writes");
    let moof_len = frag.len() - 8 - 40;
    for n in 1..frag.len() {
        // Cut anywhere, the sample data no longer fits (or the moof itself is cut).
        assert!(
            read_parts(&Bytes::copy_from_slice(&frag[..n])).is_err(),
            "prefix {n} of {moof_len}"
        );
    }
    // Sample data pointing past the end.
    let mut far = frag.clone();
    far.truncate(far.len() - 1);
    let cut = far.len() as u32 - 1;
    far[..4].copy_from_slice(&cut.to_be_bytes()); // moof size now wrong: invalid box size
    assert!(read_parts(&Bytes::from(far)).is_err());
    // A trun announcing 2^32-1 samples in a tiny box.
    let mut huge = frag.clone();
    let pos = huge
        .windows(4)
        .position(|w| w == b"trun")
        .expect("trun present")
        + 8;
    huge[pos..pos + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        read_parts(&Bytes::from(huge)),
        Err(ReadError::Truncated("trun"))
    );
    assert_eq!(Init::parse(b"\0\0\0\x08moov"), Ok(Init { tracks: vec![] }));
    assert!(Init::parse(&[0xff; 64]).is_err());
}
