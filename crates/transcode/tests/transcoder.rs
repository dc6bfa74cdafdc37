//! The transcoder on AAC and MP3 as ffmpeg makes them (`tests/data/*.aac`: ADTS files of a
//! 440 Hz sine made by `ffmpeg -f lavfi -i sine=frequency=440:... -c:a aac -f adts`; `*.mp3`
//! likewise with libmp3lame), fed as RTSP/RTMP publishers deliver them: raw access units
//! with the AudioSpecificConfig, MP3 frames in RFC 2250 payloads. The Opus output is decoded
//! with libopus and must be the 440 Hz tone at the right timestamps.

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_codec::mpeg1audio::FrameHeader;
use ferromtx_transcode::{DecodeError, Decoder, OPUS_FRAME, OpusPacket, Transcoder, transcodable};

const MONO_44K1: &[u8] = include_bytes!("data/sine440_44k1_mono.aac");
const STEREO_48K: &[u8] = include_bytes!("data/sine440_48k_stereo.aac");

/// Splits an ADTS stream into its AudioSpecificConfig and raw access units.
fn adts(data: &[u8]) -> (Bytes, Vec<Bytes>) {
    let mut units = Vec::new();
    let mut config = None;
    let mut pos = 0;
    while pos + 7 <= data.len() {
        let h = &data[pos..pos + 7];
        assert_eq!((h[0], h[1] & 0xf0), (0xff, 0xf0), "ADTS sync at {pos}");
        let header_len = if h[1] & 1 == 1 { 7 } else { 9 };
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        let object_type = (h[2] >> 6) + 1;
        let freq_index = (h[2] >> 2) & 0x0f;
        let channels = ((h[2] & 1) << 2) | (h[3] >> 6);
        config.get_or_insert_with(|| {
            let bits: u16 = (u16::from(object_type) << 11)
                | (u16::from(freq_index) << 7)
                | (u16::from(channels) << 3);
            Bytes::copy_from_slice(&bits.to_be_bytes())
        });
        units.push(Bytes::copy_from_slice(&data[pos + header_len..pos + len]));
        pos += len;
    }
    (config.expect("one ADTS frame"), units)
}

fn aac(config: Bytes) -> Format {
    Format::Mpeg4Audio {
        payload_type: 96,
        config,
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    }
}

fn frame(parts: Vec<Bytes>) -> Frame {
    Frame {
        rtp_timestamp: 0,
        random_access: true,
        parts,
    }
}

/// Decodes Opus packets to one channel of 48 kHz samples (the first).
fn decode(packets: &[OpusPacket], channels: usize) -> Vec<f32> {
    let layout = if channels == 1 {
        opus::Channels::Mono
    } else {
        opus::Channels::Stereo
    };
    let mut decoder = opus::Decoder::new(48_000, layout).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0f32; OPUS_FRAME * channels];
    for p in packets {
        let n = decoder.decode_float(&p.payload, &mut buf, false).unwrap();
        assert_eq!(n, OPUS_FRAME, "every packet is 20 ms");
        out.extend(buf.iter().step_by(channels));
    }
    out
}

/// Frequency from upward zero crossings, and the RMS level, of the samples between the
/// encoders' start-up (AAC priming, Opus look-ahead) and the end of the encoded tone.
fn tone(samples: &[f32]) -> (f64, f64) {
    let samples = &samples[4800.min(samples.len())..samples.len().saturating_sub(4800)];
    let crossings: Vec<usize> = samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, _)| i)
        .collect();
    let (first, last) = (crossings[0], crossings[crossings.len() - 1]);
    let freq = (crossings.len() - 1) as f64 * 48_000.0 / (last - first) as f64;
    let rms =
        (samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    (freq, rms)
}

fn run(
    t: &mut Transcoder,
    units: &[Bytes],
    pts_of: impl Fn(usize) -> Option<i64>,
) -> Vec<OpusPacket> {
    let mut out = Vec::new();
    for (i, u) in units.iter().enumerate() {
        if let Some(pts) = pts_of(i) {
            t.push(pts, &frame(vec![u.clone()]), &mut out).unwrap();
        }
    }
    out
}

#[test]
fn aac_mono_44k1_becomes_opus_carrying_the_440_hz_tone() {
    let (config, units) = adts(MONO_44K1);
    assert!(units.len() > 20);
    let format = aac(config);
    assert!(transcodable(&format));
    let mut t = Transcoder::new(&format).unwrap();
    assert_eq!(t.channels(), 1);
    let packets = run(&mut t, &units, |i| Some(i as i64 * 1024));
    // 48 kHz timestamps from the input's origin, 960 apart, nothing left behind but the
    // frame being built.
    assert_eq!(packets[0].timestamp, 0);
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
    let input_48k = units.len() as i64 * 1024 * 48_000 / 44_100;
    assert_eq!(packets.len() as i64, input_48k / 960);
    assert_eq!((t.decode_errors(), t.discontinuities()), (0, 0));

    let pcm = decode(&packets, 1);
    let (freq, rms) = tone(&pcm);
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
    // ffmpeg's sine has amplitude 1/8: RMS 0.088.
    assert!(rms > 0.06 && rms < 0.12, "rms {rms}");
}

#[test]
fn aac_stereo_48k_keeps_two_channels_and_the_tone() {
    let (config, units) = adts(STEREO_48K);
    let mut t = Transcoder::new(&aac(config)).unwrap();
    assert_eq!(t.channels(), 2);
    // Several access units in one frame (RFC 3640 packs them so): same output.
    let mut packets = Vec::new();
    for (k, chunk) in units.chunks(3).enumerate() {
        t.push(
            5000 + k as i64 * 3 * 1024,
            &frame(chunk.to_vec()),
            &mut packets,
        )
        .unwrap();
    }
    assert_eq!(packets[0].timestamp, 5000);
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
    assert_eq!(packets.len(), units.len() * 1024 / 960);
    let (freq, rms) = tone(&decode(&packets, 2));
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
    assert!(rms > 0.06, "rms {rms}");
}

#[test]
fn a_lost_stretch_restarts_the_timeline_at_the_next_unit() {
    let (config, units) = adts(MONO_44K1);
    let mut t = Transcoder::new(&aac(config)).unwrap();
    // Units 8..12 lost: 4 x 1024 samples = 93 ms.
    let packets = run(&mut t, &units, |i| {
        (!(8..12).contains(&i)).then_some(i as i64 * 1024)
    });
    assert_eq!(t.discontinuities(), 1);
    let resumed = 12 * 1024 * 48_000 / 44_100;
    // Packets before the gap are 960 apart, then one padded packet, then the new run
    // starts exactly at the resumed unit's time; packets never overlap.
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp >= 960)
    );
    let after = packets.iter().position(|p| p.timestamp >= resumed).unwrap();
    assert_eq!(packets[after].timestamp, resumed);
    assert!(packets[after - 1].timestamp + 960 <= resumed);
    let before_gap = 8 * 1024 * 48_000 / 44_100;
    assert!(packets[after - 1].timestamp < before_gap);
    assert!(packets[after - 1].timestamp + 960 >= before_gap);
}

#[test]
fn jitter_is_not_a_gap_and_a_short_gap_is_filled_with_silence() {
    let (config, units) = adts(MONO_44K1);
    let mut t = Transcoder::new(&aac(config.clone())).unwrap();
    // RTMP-style millisecond rounding: a few samples off, never a discontinuity.
    let packets = run(&mut t, &units, |i| {
        Some(i as i64 * 1024 + (i as i64 % 3) * 40)
    });
    assert_eq!(t.discontinuities(), 0);
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );

    // Units arriving 15 ms late (a gap smaller than a frame): the run goes on.
    let mut t = Transcoder::new(&aac(config)).unwrap();
    let late = 44_100 * 15 / 1000;
    let packets = run(&mut t, &units, |i| {
        Some(i as i64 * 1024 + if i >= 10 { late } else { 0 })
    });
    assert!(t.discontinuities() <= 1);
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp >= 960)
    );
}

#[test]
fn a_jump_back_starts_a_new_run_there() {
    let (config, units) = adts(MONO_44K1);
    let mut t = Transcoder::new(&aac(config)).unwrap();
    // A publisher restarting its clock after unit 10.
    let packets = run(&mut t, &units, |i| {
        Some(if i < 10 {
            100_000 + i as i64 * 1024
        } else {
            (i as i64 - 10) * 1024
        })
    });
    assert_eq!(t.discontinuities(), 1);
    let back = packets
        .iter()
        .position(|p| p.timestamp < 100_000 * 48_000 / 44_100)
        .unwrap();
    assert_eq!(packets[back].timestamp, 0);
    assert!(
        packets[back..]
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
}

#[test]
fn corrupt_units_are_dropped_and_the_rest_goes_on() {
    let (config, units) = adts(MONO_44K1);
    let mut t = Transcoder::new(&aac(config)).unwrap();
    let mut out = Vec::new();
    // A unit cut short: its spectral data runs past the end.
    let garbage = units[6].slice(..units[6].len() / 4);
    for (i, u) in units.iter().enumerate() {
        let unit = if i == 6 { garbage.clone() } else { u.clone() };
        let r = t.push(i as i64 * 1024, &frame(vec![unit]), &mut out);
        assert_eq!(r.is_err(), i == 6, "unit {i}: {r:?}");
    }
    // Every truncation of a real unit, and random-looking bytes: errors or audio, never a
    // panic, and the transcoder still works after.
    for cut in 0..units[3].len() {
        let _ = t.push(0, &frame(vec![units[3].slice(..cut)]), &mut out);
    }
    for seed in 0u32..200 {
        let bytes: Vec<u8> = (0..64u32)
            .map(|k| (seed.wrapping_mul(2_654_435_761).wrapping_add(k * 40_503) >> 13) as u8)
            .collect();
        let _ = t.push(0, &frame(vec![Bytes::from(bytes)]), &mut out);
    }
    assert!(t.decode_errors() >= 1);
    let mut fresh = Vec::new();
    for (i, u) in units.iter().enumerate().take(20) {
        let _ = t.push(
            10_000_000 + i as i64 * 1024,
            &frame(vec![u.clone()]),
            &mut fresh,
        );
    }
    assert!(fresh.len() >= 15);
    let (freq, _) = tone(&decode(&fresh, 1));
    assert!((freq - 440.0).abs() < 5.0, "frequency {freq}");
}

/// G.711 µ-law encoding by search (test only): the code whose expansion is nearest.
fn ulaw(sample: i16) -> u8 {
    (0..=255u8)
        .min_by_key(|c| {
            (i32::from(ferromtx_transcode::decode::ulaw_to_linear(*c)) - i32::from(sample)).abs()
        })
        .unwrap_or(0xff)
}

#[test]
fn g711_8k_is_upsampled_to_48k_with_the_tone_intact() {
    let format = Format::G711 {
        payload_type: 0,
        mu_law: true,
        sample_rate: 8000,
        channels: 1,
    };
    let mut t = Transcoder::new(&format).unwrap();
    let mut packets = Vec::new();
    // 1 s of 440 Hz in 20 ms RTP frames (160 samples).
    for k in 0..50i64 {
        let bytes: Vec<u8> = (0..160)
            .map(|i| {
                let n = (k * 160 + i) as f64;
                ulaw(((2.0 * std::f64::consts::PI * 440.0 * n / 8000.0).sin() * 8000.0) as i16)
            })
            .collect();
        t.push(k * 160, &frame(vec![Bytes::from(bytes)]), &mut packets)
            .unwrap();
    }
    assert!(packets.len() >= 49);
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
    let (freq, rms) = tone(&decode(&packets, 1));
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
    assert!(rms > 0.1, "rms {rms}");
}

#[test]
fn lpcm_with_six_channels_becomes_stereo() {
    let format = Format::Lpcm {
        payload_type: 96,
        bit_depth: 16,
        sample_rate: 48_000,
        channels: 6,
    };
    let mut t = Transcoder::new(&format).unwrap();
    assert_eq!(t.channels(), 2);
    let mut packets = Vec::new();
    for k in 0..25i64 {
        let mut bytes = Vec::new();
        for i in 0..960 {
            let n = (k * 960 + i) as f64;
            let v = ((2.0 * std::f64::consts::PI * 440.0 * n / 48_000.0).sin() * 6000.0) as i16;
            for _ in 0..6 {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
        }
        t.push(k * 960, &frame(vec![Bytes::from(bytes)]), &mut packets)
            .unwrap();
    }
    assert_eq!(packets.len(), 25);
    let (freq, rms) = tone(&decode(&packets, 2));
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
    assert!(rms > 0.1, "rms {rms}");
}

#[test]
fn codecs_browsers_take_or_that_have_no_decoder_are_not_transcodable() {
    let opus = Format::Opus {
        payload_type: 111,
        channels: 2,
    };
    assert!(!transcodable(&opus));
    assert!(Transcoder::new(&opus).is_err());
}

const MP3_MONO_44K1: &[u8] = include_bytes!("data/sine440_44k1_mono.mp3");
const MP3_STEREO_22K05: &[u8] = include_bytes!("data/sine440_22k05_stereo.mp3");

/// The frames of an MP3 file (`tests/data/*.mp3`: made by `ffmpeg -f lavfi -i
/// sine=frequency=440:... -c:a libmp3lame -write_xing 0 -id3v2_version 0 -f mp3`).
fn mp3_frames(data: &[u8]) -> Vec<(FrameHeader, Bytes)> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let h = FrameHeader::parse(&data[pos..]).expect("MPEG audio frame");
        frames.push((h, Bytes::copy_from_slice(&data[pos..pos + h.length])));
        pos += h.length;
    }
    frames
}

/// RFC 2250 payloads as ffmpeg makes them: whole frames while they fit in `max` bytes,
/// a frame larger than that alone in fragments; each with its 90 kHz timestamp.
fn rfc2250(frames: &[(FrameHeader, Bytes)], max: usize) -> Vec<(i64, Bytes)> {
    let mut payloads = Vec::new();
    let mut samples = 0i64;
    let mut current: Option<(i64, Vec<u8>)> = None;
    for (h, f) in frames {
        let pts = samples * 90_000 / i64::from(h.sample_rate);
        samples += i64::from(h.samples());
        if let Some((t, p)) = current.take_if(|(_, p)| p.len() + f.len() > max) {
            payloads.push((t, Bytes::from(p)));
        }
        if 4 + f.len() > max {
            for (k, chunk) in f.chunks(max - 4).enumerate() {
                let mut p = vec![0, 0];
                p.extend_from_slice(&((k * (max - 4)) as u16).to_be_bytes());
                p.extend_from_slice(chunk);
                payloads.push((pts, Bytes::from(p)));
            }
            continue;
        }
        current
            .get_or_insert_with(|| (pts, vec![0; 4]))
            .1
            .extend_from_slice(f);
    }
    payloads.extend(current.map(|(t, p)| (t, Bytes::from(p))));
    payloads
}

fn mpa() -> Format {
    // What ffmpeg announces: static payload type 14, no rtpmap.
    Format::from_rtpmap(14, "", None)
}

fn run_rfc2250(t: &mut Transcoder, payloads: &[(i64, Bytes)]) -> Vec<OpusPacket> {
    let mut out = Vec::new();
    for (pts, p) in payloads {
        t.push(*pts, &frame(vec![p.clone()]), &mut out).unwrap();
    }
    out
}

#[test]
fn mp3_mono_44k1_in_rtp_payloads_becomes_opus_carrying_the_tone() {
    let frames = mp3_frames(MP3_MONO_44K1);
    assert!(frames.len() > 15);
    assert!(frames.iter().all(|(h, _)| h.layer == 3 && h.channels == 1));
    let format = mpa();
    assert_eq!(format.codec_name(), "MPEG-1/2 Audio");
    assert!(transcodable(&format));
    let mut t = Transcoder::new(&format).unwrap();
    // Three frames a packet.
    let payloads = rfc2250(&frames, 1400);
    assert!(payloads.len() < frames.len());
    let packets = run_rfc2250(&mut t, &payloads);
    assert_eq!(t.channels(), 1);
    assert_eq!((t.decode_errors(), t.discontinuities()), (0, 0));
    assert_eq!(packets[0].timestamp, 0);
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
    let input_48k = frames.len() as i64 * 1152 * 48_000 / 44_100;
    assert!((packets.len() as i64 - input_48k / 960).abs() <= 1);
    let (freq, rms) = tone(&decode(&packets, 1));
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
    assert!(rms > 0.06 && rms < 0.12, "rms {rms}");
}

#[test]
fn bare_mp3_frames_as_rtmp_publishers_send_them_are_transcoded_too() {
    let frames = mp3_frames(MP3_MONO_44K1);
    // FLV carries MP3 without the RFC 2250 header: one frame a unit, 90 kHz timestamps.
    let units: Vec<(i64, Bytes)> = frames
        .iter()
        .enumerate()
        .map(|(i, (_, f))| (i as i64 * 1152 * 90_000 / 44_100, f.clone()))
        .collect();
    let mut t = Transcoder::new(&mpa()).unwrap();
    let packets = run_rfc2250(&mut t, &units);
    assert_eq!((t.decode_errors(), t.discontinuities()), (0, 0));
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
    let input_48k = frames.len() as i64 * 1152 * 48_000 / 44_100;
    assert!((packets.len() as i64 - input_48k / 960).abs() <= 1);
    let (freq, _) = tone(&decode(&packets, 1));
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
}

#[test]
fn mpeg2_lsf_stereo_22k05_in_fragments_keeps_two_channels_and_the_tone() {
    let frames = mp3_frames(MP3_STEREO_22K05);
    assert!(
        frames
            .iter()
            .all(|(h, _)| h.sample_rate == 22_050 && h.samples() == 576)
    );
    // Every frame cut in three fragments.
    let payloads = rfc2250(&frames, 80);
    assert!(payloads.len() >= frames.len() * 3);
    let mut t = Transcoder::new(&mpa()).unwrap();
    let packets = run_rfc2250(&mut t, &payloads);
    assert_eq!(t.channels(), 2);
    assert_eq!((t.decode_errors(), t.discontinuities()), (0, 0));
    assert!(
        packets
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 960)
    );
    let input_48k = frames.len() as i64 * 576 * 48_000 / 22_050;
    assert!((packets.len() as i64 - input_48k / 960).abs() <= 1);
    let (freq, rms) = tone(&decode(&packets, 2));
    assert!((freq - 440.0).abs() < 2.0, "frequency {freq}");
    // ffmpeg measures this file at -25 dB (RMS 0.055).
    assert!(rms > 0.045, "rms {rms}");
}

#[test]
fn lost_fragments_and_garbage_drop_frames_and_the_tone_goes_on() {
    let frames = mp3_frames(MP3_STEREO_22K05);
    let payloads = rfc2250(&frames, 80);
    let half = payloads.len() / 2;
    let mut t = Transcoder::new(&mpa()).unwrap();
    let mut out = Vec::new();
    let mut errors = 0;
    for (i, (pts, p)) in payloads.iter().enumerate() {
        // In the first second: a lost fragment every 25 payloads, garbage, a runt.
        let p = match i {
            _ if i < half && i % 25 == 7 => continue,
            30 => Bytes::from_static(&[0, 0, 0, 0, 0xff, 0xfb, 0x12, 0x34, 0x56]),
            31 => Bytes::from_static(&[1, 2]),
            _ => p.clone(),
        };
        errors += usize::from(t.push(*pts, &frame(vec![p]), &mut out).is_err());
    }
    assert!(errors >= half / 25 && t.decode_errors() >= 4, "{errors}");
    assert!(t.discontinuities() >= 1);
    assert!(
        out.windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp >= 960)
    );
    let all = frames.len() * 576 * 48_000 / 22_050 / 960;
    assert!(
        out.len() >= all * 3 / 4 && out.len() <= all + 1,
        "{}",
        out.len()
    );
    // The second second is whole: the tone at its pitch.
    let resumed = payloads[half].0 * 48_000 / 90_000;
    let tail: Vec<OpusPacket> = out
        .iter()
        .filter(|p| p.timestamp >= resumed)
        .cloned()
        .collect();
    assert!(tail.len() >= 45, "{}", tail.len());
    let (freq, _) = tone(&decode(&tail, 2));
    assert!((freq - 440.0).abs() < 3.0, "frequency {freq}");
}

#[test]
fn the_mp3_decoder_survives_truncated_and_garbage_frames_without_panicking() {
    let frames = mp3_frames(MP3_MONO_44K1);
    let (header, _) = frames[0];
    let mut d = Decoder::mpeg_audio(&header).unwrap();
    let mut out = Vec::new();
    for (_, f) in &frames[..4] {
        assert_eq!(d.decode(f, &mut out), Ok(1152));
    }
    let mut panics = 0;
    let mut check = |r: Result<usize, DecodeError>| {
        panics += usize::from(matches!(r, Err(DecodeError::Panicked(_))));
    };
    // Every truncation of a real frame.
    for (_, f) in &frames[4..8] {
        for cut in 0..f.len() {
            check(d.decode(&f[..cut], &mut out));
        }
    }
    // Valid headers of every kind followed by pseudo-random bytes of the right length.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for b1 in [0xfbu8, 0xf3, 0xe3, 0xfa, 0xfd, 0xff] {
        for b2 in (0x10..0xf0u8).step_by(0x0a) {
            for mode in [0x00u8, 0x40, 0x80, 0xc0] {
                let Ok(h) = FrameHeader::parse(&[0xff, b1, b2, mode]) else {
                    continue;
                };
                let Ok(mut d) = Decoder::mpeg_audio(&h) else {
                    continue;
                };
                for _ in 0..8 {
                    let mut f: Vec<u8> = (0..h.length)
                        .map(|_| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            seed as u8
                        })
                        .collect();
                    f[..4].copy_from_slice(&[0xff, b1, b2, mode]);
                    check(d.decode(&f, &mut out));
                }
            }
        }
    }
    assert_eq!(panics, 0);
    // Still decodes real frames after all that.
    let mut d2 = Decoder::mpeg_audio(&header).unwrap();
    for (_, f) in &frames[..4] {
        assert_eq!(d2.decode(f, &mut out), Ok(1152));
    }
    assert!(!transcodable(&Format::from_rtpmap(96, "", None)));
}
