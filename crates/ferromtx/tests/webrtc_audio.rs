//! Sound for WHEP readers (issue 21): ffmpeg publishes H264 with AAC (or MP3, G.711, LPCM)
//! over RTSP to the real binary; WHEP clients of the test's own (str0m, RTP mode, real ICE/DTLS/
//! SRTP on loopback) receive an Opus track, whose packets are decoded with libopus and must
//! carry the 440 Hz tone of the sine source, at 20 ms a packet and the full rate. The
//! transcoder runs once for all readers, only while one is there, and not at all when
//! switched off (`FERROMTX_WEBRTC_TRANSCODE=no`: MediaMTX's behaviour).

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::Child;
use std::time::{Duration, Instant};

use common::{
    KillOnDrop, Server, browser_scripts, env_refs, http, http_with, rtmp_env, rtsp_env,
    run_browser_script, tool, webrtc_env,
};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

/// A server with RTSP and WebRTC on picked loopback ports.
fn start_server(env_extra: &[(&str, &str)]) -> (Server, u16, u16) {
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (wenv, (http, _)) = webrtc_env();
    env.extend(wenv);
    let mut env = env_refs(&env);
    env.extend_from_slice(env_extra);
    let conf = "rtmp: no\nhls: no\nsrt: no\nmoq: no\nwebrtcIPsFromInterfaces: no\n\
                webrtcAdditionalHosts: [127.0.0.1]\npaths:\n  all_others:\n";
    let mut s = common::start(Some(conf), &[], &env);
    s.wait_line("[WebRTC] started with listener");
    s.wait_line("[RTSP] started with listener");
    (s, rtsp, http)
}

/// ffmpeg publishing 320x240 H264 and a 440 Hz sine encoded with `audio` (ffmpeg's
/// arguments) to `cam` over RTSP/TCP, paced in real time.
fn publish(s: &mut Server, ffmpeg: &std::path::Path, rtsp: u16, audio: &[&str]) -> KillOnDrop {
    let child: Child = std::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(audio)
        .args(["-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .args([
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "25",
            "-bf",
            "0",
        ])
        .args(["-t", "60", "-f", "rtsp", "-rtsp_transport", "tcp"])
        .arg(format!("rtsp://127.0.0.1:{rtsp}/cam"))
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn ffmpeg");
    let publisher = KillOnDrop(child);
    s.wait_line("is publishing to path 'cam'");
    publisher
}

/// What a WHEP client received.
struct Received {
    answer: String,
    /// Opus payload type in the answer, if any.
    opus_pt: Option<u8>,
    /// (payload type, RTP timestamp, payload) of every media packet, in arrival order.
    packets: Vec<(u8, u32, Vec<u8>)>,
    location: String,
}

fn opus_pt(answer: &str) -> Option<u8> {
    answer.lines().find_map(|l| {
        let (pt, enc) = l.trim_end().strip_prefix("a=rtpmap:")?.split_once(' ')?;
        enc.to_ascii_lowercase()
            .starts_with("opus/48000")
            .then(|| pt.parse().ok())?
    })
}

/// A WHEP client (video + audio, receive only) with `config`'s codecs; receives for `secs`.
fn whep(http_port: u16, config: RtcConfig, secs: u64) -> Received {
    str0m::crypto::from_feature_flags().install_process_default();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let local: SocketAddr = socket.local_addr().expect("addr");
    let mut rtc: Rtc = config.set_rtp_mode(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, pending): (_, SdpPendingOffer) = api.apply().expect("offer");
    let (status, head, body) = http_with(
        "POST",
        http_port,
        "/cam/whep",
        "application/sdp",
        Some(&offer.to_sdp_string()),
    );
    let answer = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 201, "{head}\n{answer}");
    let location = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_owned())
        })
        .expect("Location");
    rtc.sdp_api()
        .accept_answer(
            pending,
            SdpAnswer::from_sdp_string(&answer).expect("answer"),
        )
        .expect("accept");
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .expect("timeout");
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 2048];
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        loop {
            match rtc.poll_output().expect("poll") {
                Output::Transmit(t) => {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::RtpPacket(p)) => {
                    packets.push((
                        *p.header.payload_type,
                        p.header.timestamp,
                        p.payload.to_vec(),
                    ));
                }
                Output::Event(_) => {}
                Output::Timeout(_) => break,
            }
        }
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: local,
                    contents: buf[..n].try_into().expect("datagram"),
                },
            ),
            Err(_) => Input::Timeout(Instant::now()),
        };
        rtc.handle_input(input).expect("input");
    }
    Received {
        opus_pt: opus_pt(&answer),
        answer,
        packets,
        location,
    }
}

/// Frequency (from upward zero crossings) and RMS of one channel of decoded Opus.
fn tone(packets: &[&(u8, u32, Vec<u8>)]) -> (f64, f64) {
    let mut decoder = opus::Decoder::new(48_000, opus::Channels::Stereo).expect("decoder");
    let mut pcm: Vec<f32> = Vec::new();
    let mut buf = vec![0f32; 960 * 2];
    for (_, _, payload) in packets {
        let n = decoder
            .decode_float(payload, &mut buf, false)
            .expect("decode");
        assert_eq!(n, 960, "20 ms a packet");
        pcm.extend(buf.iter().step_by(2));
    }
    // Past the encoders' start-up.
    let pcm = &pcm[pcm.len().min(9600)..];
    let crossings: Vec<usize> = pcm
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, _)| i)
        .collect();
    assert!(crossings.len() > 100, "{} zero crossings", crossings.len());
    let span = crossings[crossings.len() - 1] - crossings[0];
    let freq = (crossings.len() - 1) as f64 * 48_000.0 / span as f64;
    let rms = (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt();
    (freq, rms)
}

/// The Opus packets of a reception: they must come at 20 ms steps (the full rate), carry
/// the tone, and be `secs` seconds' worth give or take the start.
fn assert_hears_the_tone(r: &Received, secs: u64) {
    let pt = r
        .opus_pt
        .unwrap_or_else(|| panic!("no Opus in the answer:\n{}", r.answer));
    let opus: Vec<&(u8, u32, Vec<u8>)> = r.packets.iter().filter(|p| p.0 == pt).collect();
    assert!(
        opus.len() as u64 >= secs * 50 * 6 / 10,
        "{} Opus packets in {secs} s",
        opus.len()
    );
    let steps: Vec<u32> = opus
        .windows(2)
        .map(|w| w[1].1.wrapping_sub(w[0].1))
        .collect();
    // 20 ms apart; a datagram lost on a loaded loopback shows as a multiple, rarely.
    assert!(
        steps.iter().all(|s| *s > 0 && s % 960 == 0),
        "timestamp steps {steps:?}"
    );
    let irregular = steps.iter().filter(|s| **s != 960).count();
    assert!(irregular * 50 <= steps.len(), "timestamp steps {steps:?}");
    let (freq, rms) = tone(&opus);
    assert!((freq - 440.0).abs() < 3.0, "frequency {freq}");
    // ffmpeg's sine has amplitude 1/8 (RMS 0.088).
    assert!(rms > 0.04, "rms {rms}: silence");
    let video = r.packets.iter().filter(|p| p.0 != pt).count();
    assert!(video > 0, "no video packets");
}

fn close(http_port: u16, r: &Received) {
    let (status, head, _) = http("DELETE", http_port, &r.location, None);
    assert_eq!(status, 200, "{head}");
}

#[test]
fn whep_clients_hear_the_tone_of_an_aac_stream_through_one_transcoder() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut s, rtsp, http_port) = start_server(&[]);
    // 44.1 kHz stereo AAC-LC: resampled to 48 kHz.
    let _publisher = publish(
        &mut s,
        &ffmpeg,
        rtsp,
        &["-c:a", "aac", "-ar", "44100", "-ac", "2"],
    );
    s.wait_line("2 tracks (H264, MPEG-4 Audio)");
    let clients: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || whep(http_port, RtcConfig::new(), 5)))
        .collect();
    let received: Vec<Received> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    for r in &received {
        assert!(r.answer.contains("H264/90000"), "{}", r.answer);
        assert_hears_the_tone(r, 5);
    }
    s.wait_count("is reading from path 'cam', 2 tracks (H264, Opus)", 3);
    // One transcoder for the three readers, stopped after the last one leaves.
    s.wait_line(
        "[path cam] transcoding track 2 (MPEG-4 Audio, 44100 Hz) to Opus for WebRTC readers",
    );
    for r in &received {
        close(http_port, r);
    }
    s.wait_line("[path cam] stopped transcoding track 2 to Opus");
    assert_eq!(s.count("transcoding track 2 (MPEG-4 Audio"), 1);
}

#[test]
fn g711_for_a_client_without_g711_and_lpcm_are_transcoded_too() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut s, rtsp, http_port) = start_server(&[]);
    let publisher = publish(
        &mut s,
        &ffmpeg,
        rtsp,
        &["-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1"],
    );
    s.wait_line("2 tracks (H264, G711)");
    // A client that offers G.711 gets it as it is.
    let r = whep(http_port, RtcConfig::new().enable_pcmu(true, false), 2);
    assert!(r.answer.contains("PCMU/8000"), "{}", r.answer);
    close(http_port, &r);
    // One that offers only Opus gets it transcoded.
    let opus_only = RtcConfig::new()
        .clear_codecs()
        .enable_h264(true)
        .enable_opus(true, false);
    let r = whep(http_port, opus_only, 5);
    assert!(!r.answer.contains("PCMU"), "{}", r.answer);
    assert_hears_the_tone(&r, 5);
    s.wait_line("transcoding track 2 (G711, 8000 Hz) to Opus");
    close(http_port, &r);
    drop(publisher);

    // LPCM (L16, 48 kHz stereo) is not playable by browsers at all.
    let _publisher = publish(
        &mut s,
        &ffmpeg,
        rtsp,
        &["-c:a", "pcm_s16be", "-ar", "48000", "-ac", "2"],
    );
    s.wait_line("2 tracks (H264, LPCM)");
    let r = whep(http_port, RtcConfig::new(), 5);
    assert_hears_the_tone(&r, 5);
    s.wait_line("transcoding track 2 (LPCM, 48000 Hz) to Opus");
    close(http_port, &r);
}

#[test]
fn whep_clients_hear_the_tone_of_an_mp3_stream_mpeg1_and_mpeg2_rates() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut s, rtsp, http_port) = start_server(&[]);
    // MPEG-1 layer III, 44.1 kHz stereo: RTP payload type 14 (RFC 2250), resampled to 48 kHz.
    let publisher = publish(
        &mut s,
        &ffmpeg,
        rtsp,
        &[
            "-c:a",
            "libmp3lame",
            "-ar",
            "44100",
            "-ac",
            "2",
            "-b:a",
            "128k",
        ],
    );
    s.wait_line("2 tracks (H264, MPEG-1/2 Audio)");
    let clients: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || whep(http_port, RtcConfig::new(), 5)))
        .collect();
    let received: Vec<Received> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    for r in &received {
        assert!(r.answer.contains("H264/90000"), "{}", r.answer);
        assert_hears_the_tone(r, 5);
    }
    s.wait_count("is reading from path 'cam', 2 tracks (H264, Opus)", 2);
    // One transcoder for both readers, stopped after the last one leaves.
    s.wait_line("[path cam] transcoding track 2 (MPEG-1/2 Audio) to Opus for WebRTC readers");
    for r in &received {
        close(http_port, r);
    }
    s.wait_line("[path cam] stopped transcoding track 2 to Opus");
    assert_eq!(s.count("transcoding track 2 (MPEG-1/2 Audio"), 1);
    drop(publisher);

    // MPEG-2 LSF layer III, 24 kHz mono: 576 samples a frame.
    let _publisher = publish(
        &mut s,
        &ffmpeg,
        rtsp,
        &[
            "-c:a",
            "libmp3lame",
            "-ar",
            "24000",
            "-ac",
            "1",
            "-b:a",
            "48k",
        ],
    );
    s.wait_count(
        "[path cam] stream is available and online, 2 tracks (H264, MPEG-1/2 Audio)",
        2,
    );
    let r = whep(http_port, RtcConfig::new(), 5);
    assert_hears_the_tone(&r, 5);
    s.wait_count("transcoding track 2 (MPEG-1/2 Audio) to Opus", 2);
    close(http_port, &r);
}

#[test]
fn switched_off_aac_and_mp3_tracks_are_left_out_as_mediamtx_does() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut s, rtsp, http_port) = start_server(&[("FERROMTX_WEBRTC_TRANSCODE", "no")]);
    for (audio, codec) in [("aac", "MPEG-4 Audio"), ("libmp3lame", "MPEG-1/2 Audio")] {
        let publisher = publish(&mut s, &ffmpeg, rtsp, &["-c:a", audio]);
        s.wait_line(&format!("2 tracks (H264, {codec})"));
        let r = whep(http_port, RtcConfig::new(), 2);
        assert_eq!(
            r.opus_pt.filter(|pt| r.packets.iter().any(|p| p.0 == *pt)),
            None
        );
        s.wait_line(&format!("skipping track 2 ({codec})"));
        close(http_port, &r);
        drop(publisher);
    }
    s.wait_count("is reading from path 'cam', 1 track (H264)", 2);
    assert_eq!(s.count("transcoding track"), 0);
}

fn stat(p: &Value, at: &str, kind: &str, key: &str) -> f64 {
    p[at][kind][key]
        .as_f64()
        .unwrap_or_else(|| panic!("no {at}.{kind}.{key} in {p}"))
}

/// `peers` headless-Chromium viewers of `cam`, published with `audio` (ffmpeg's arguments):
/// each plays Opus at the full rate with sound in it, video decodes, and one transcoder
/// (named `codec` in its log line) serves them all.
fn chromium_viewers_hear_opus(audio: &[&str], codec: &str, peers: usize) {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    let (mut s, rtsp, http_port) = start_server(&[]);
    let _publisher = publish(&mut s, &ffmpeg, rtsp, audio);
    let url = format!("http://127.0.0.1:{http_port}/cam/whep");
    let seconds = 8.0;
    let results = run_browser_script(
        &node,
        &dir,
        "whep.mjs",
        &json!({ "url": url, "peers": peers, "seconds": seconds, "play": true }),
    );
    let results = results.as_array().expect("one result per peer");
    assert_eq!(results.len(), peers);
    for p in results {
        assert_eq!(p["end"]["state"], "connected", "{p}");
        assert_eq!(p["end"]["audio"]["mimeType"], "audio/opus", "{p}");
        // Video decodes as before.
        assert!(
            stat(p, "end", "video", "framesDecoded") > stat(p, "half", "video", "framesDecoded")
        );
        // Opus at the full rate (50 packets a second) over the second half...
        let packets = stat(p, "end", "audio", "packetsReceived")
            - stat(p, "half", "audio", "packetsReceived");
        assert!(
            packets >= 50.0 * seconds / 2.0 * 0.8,
            "{packets} audio packets: {p}"
        );
        // ... and sound, not silence: the sine's energy grows as it plays.
        let energy = stat(p, "end", "audio", "totalAudioEnergy")
            - stat(p, "half", "audio", "totalAudioEnergy");
        assert!(energy > 0.001, "audio energy {energy}: {p}");
        let samples = stat(p, "end", "audio", "totalSamplesReceived")
            - stat(p, "half", "audio", "totalSamplesReceived");
        assert!(
            samples >= 48_000.0 * seconds / 2.0 * 0.8,
            "{samples} samples: {p}"
        );
    }
    s.wait_count("is reading from path 'cam', 2 tracks (H264, Opus)", peers);
    assert_eq!(s.count(&format!("transcoding track 2 ({codec}")), 1);
}

#[test]
fn sixteen_chromium_viewers_of_an_aac_stream_play_opus_from_one_transcoder() {
    chromium_viewers_hear_opus(&["-c:a", "aac"], "MPEG-4 Audio", 16);
}

#[test]
fn chromium_viewers_of_an_mp3_stream_play_opus() {
    chromium_viewers_hear_opus(&["-c:a", "libmp3lame"], "MPEG-1/2 Audio", 2);
}

#[test]
fn rtmp_publishers_of_aac_like_obs_and_of_mp3_are_heard_too() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut env, (rtmp, _)) = rtmp_env();
    let (wenv, (http_port, _)) = webrtc_env();
    env.extend(wenv);
    let conf = "rtsp: no\nhls: no\nsrt: no\nmoq: no\nwebrtcIPsFromInterfaces: no\n\
                webrtcAdditionalHosts: [127.0.0.1]\npaths:\n  all_others:\n";
    let mut s = common::start(Some(conf), &[], &env_refs(&env));
    s.wait_line("[RTMP] started with listener");
    // What OBS sends: H264 + AAC-LC 48 kHz stereo over RTMP (FLV), millisecond timestamps;
    // then MP3 44.1 kHz stereo, bare frames in FLV (no RFC 2250 header).
    let cases = [
        (["aac", "48000"], "MPEG-4 Audio", "(MPEG-4 Audio, 48000 Hz)"),
        (
            ["libmp3lame", "44100"],
            "MPEG-1/2 Audio",
            "(MPEG-1/2 Audio)",
        ),
    ];
    for (n, ([codec, rate], name, transcoding)) in cases.into_iter().enumerate() {
        let child = std::process::Command::new(&ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-re"])
            .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args(["-c:a", codec, "-ar", rate, "-ac", "2"])
            .args(["-pix_fmt", "yuv420p", "-c:v", "libx264"])
            .args([
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "25",
                "-bf",
                "0",
            ])
            .args(["-t", "60", "-f", "flv"])
            .arg(format!("rtmp://127.0.0.1:{rtmp}/cam"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("spawn ffmpeg");
        let publisher = KillOnDrop(child);
        s.wait_line(&format!(
            "[path cam] stream is available and online, 2 tracks (H264, {name})"
        ));
        let r = whep(http_port, RtcConfig::new(), 5);
        assert_hears_the_tone(&r, 5);
        s.wait_line(&format!("transcoding track 2 {transcoding} to Opus"));
        close(http_port, &r);
        s.wait_count("stopped transcoding track 2 to Opus", n + 1);
        drop(publisher);
    }
}
