//! WebRTC on the core: WHEP viewers of a core stream and a WHIP publisher into the core,
//! over real HTTP/ICE/DTLS/SRTP on 127.0.0.1.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ferromtx_codec::{Format, rtp};
use ferromtx_core::{Described, PathManager, PathRequest, Track, Unit};
use ferromtx_webrtc::{CoreBackend, WebrtcConfig, WebrtcServer};
use str0m::Event;
use str0m::rtp::RtpWrite;

const VIDEO_SIZE: usize = 1000;
const AUDIO_SIZE: usize = 100;

struct CoreServer {
    server: WebrtcServer<CoreBackend>,
    paths: Arc<PathManager>,
    http: SocketAddr,
    http_task: tokio::task::JoinHandle<()>,
}

impl Drop for CoreServer {
    fn drop(&mut self) {
        self.http_task.abort();
    }
}

async fn core_server(yaml: &str) -> CoreServer {
    let conf = Arc::new(ferromtx_conf::load_from_str(yaml, &|_| None).unwrap().conf);
    let auth = Arc::new(ferromtx_auth::Manager::new(&conf));
    let paths = Arc::new(PathManager::new(conf, auth));
    let config = WebrtcConfig {
        local_udp_address: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..Default::default()
    };
    let server = WebrtcServer::start(config, CoreBackend::new(Arc::clone(&paths)))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let app = server
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let http_task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    CoreServer {
        server,
        paths,
        http,
        http_task,
    }
}

fn request(name: &str) -> PathRequest {
    PathRequest {
        name: name.into(),
        query: String::new(),
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        credentials: ferromtx_auth::Credentials::default(),
        protocol: ferromtx_auth::Protocol::Rtsp,
        who: Described {
            kind: "rtspSession".into(),
            id: "test".into(),
        },
        skip_auth: true,
    }
}

/// Payload `n` of a stream: its index (big endian), then a pattern.
fn numbered(n: u32, len: usize) -> Bytes {
    let mut v = n.to_be_bytes().to_vec();
    v.extend((4..len).map(|i| ((n as usize).wrapping_mul(31).wrapping_add(i) % 251) as u8));
    Bytes::from(v)
}

fn index_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
}

fn rtp_packet(pt: u8, seq: u16, ts: u32, marker: bool, payload: Bytes) -> rtp::Packet {
    rtp::Packet {
        marker,
        payload_type: pt,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 7,
        csrc: Vec::new(),
        extension: None,
        payload,
    }
}

/// Publishes on `path` from a core publisher (as an RTSP publisher would): video units of
/// 3 packets and, with audio, one Opus packet per unit; until `stop` or 4000 units.
async fn publish(paths: Arc<PathManager>, path: &str, audio: bool, stop: Arc<AtomicBool>) {
    let publisher = paths.add_publisher(request(path)).await.unwrap();
    let mut tracks = vec![Track { format: h264() }];
    if audio {
        tracks.push(Track { format: opus() });
    }
    let stream = publisher.start(tracks).unwrap();
    tokio::spawn(async move {
        let mut seq = 0u16;
        let mut n = 0u32;
        for u in 0..4000u32 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let packets = (0..3)
                .map(|k| {
                    let p = rtp_packet(96, seq, u * 3000, k == 2, numbered(n, VIDEO_SIZE));
                    seq = seq.wrapping_add(1);
                    n += 1;
                    p
                })
                .collect();
            let _ = stream.write(Unit {
                track: 0,
                pts: i64::from(u) * 3000,
                rtp_packets: packets,
                random_access: u % 30 == 0,
                ..Unit::default()
            });
            if audio {
                let _ = stream.write(Unit {
                    track: 1,
                    pts: i64::from(u) * 960,
                    rtp_packets: vec![rtp_packet(
                        111,
                        u as u16,
                        u * 960,
                        true,
                        numbered(u, AUDIO_SIZE),
                    )],
                    ..Unit::default()
                });
            }
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
        drop(publisher);
    });
}

async fn connect_whep(http: SocketAddr, path: &str) -> NetClient {
    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, pending) = whep_offer(&mut client.rtc, local);
    let (status, _, answer) = post_offer(http, path, &offer).await;
    assert_eq!(status, 201, "{answer}");
    accept_answer(&mut client.rtc, pending, &answer);
    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.events.iter().any(|e| matches!(e, Event::Connected))
        })
        .await;
    assert!(ok, "client did not connect");
    client
}

/// Distinct indexes of the video payloads received, each checked byte for byte.
fn video_indexes(c: &NetClient) -> Vec<u32> {
    let mut v: Vec<u32> = c
        .rtp_received()
        .iter()
        .filter(|p| p.payload.len() == VIDEO_SIZE)
        .map(|p| {
            let n = index_of(&p.payload);
            assert_eq!(&p.payload[..], &numbered(n, VIDEO_SIZE)[..]);
            n
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[tokio::test]
async fn two_whep_viewers_play_a_core_stream() {
    let server = core_server("paths:\n  all_others:\n").await;
    let stop = Arc::new(AtomicBool::new(false));
    publish(Arc::clone(&server.paths), "cam", true, Arc::clone(&stop)).await;

    let mut tasks = Vec::new();
    for _ in 0..2 {
        let http = server.http;
        tasks.push(tokio::spawn(async move {
            let mut c = connect_whep(http, "/cam/whep").await;
            let ok = c
                .drive_until(Duration::from_secs(15), |c| {
                    video_indexes(c).len() >= 150
                        && c.rtp_received()
                            .iter()
                            .filter(|p| p.payload.len() == AUDIO_SIZE)
                            .count()
                            >= 30
                })
                .await;
            (ok, c)
        }));
    }
    for t in tasks {
        let (ok, c) = t.await.unwrap();
        let video = video_indexes(&c);
        assert!(ok, "got {} video packets", video.len());
        // No gap: every packet between the first and the last one arrived.
        assert_eq!(
            (video[video.len() - 1] - video[0] + 1) as usize,
            video.len()
        );
        for p in c.rtp_received() {
            if p.payload.len() == AUDIO_SIZE {
                let n = index_of(&p.payload);
                assert_eq!(&p.payload[..], &numbered(n, AUDIO_SIZE)[..]);
            }
        }
    }
    // Session counters are published every 200 ms.
    let mut sessions = server.server.sessions();
    for _ in 0..100 {
        // Each client received at least 150 video and 30 audio packets.
        let done = |s: &ferromtx_webrtc::SessionInfo| {
            s.stats.rtp_packets_written >= 180 && s.stats.bytes_sent > 150 * VIDEO_SIZE as u64
        };
        if sessions.iter().all(done) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        sessions = server.server.sessions();
    }
    assert_eq!(sessions.len(), 2);
    for s in &sessions {
        assert_eq!(
            (s.state(), s.path.as_str(), s.query.as_str()),
            ("read", "cam", "")
        );
        assert!(s.stats.peer_connection_established);
        assert_eq!(
            s.stats
                .local_candidate
                .map(|a| ferromtx_webrtc::session::candidate_label(a, s.stats.tcp)),
            Some(format!(
                "host/udp/127.0.0.1/{}",
                server.server.udp_local_addr().unwrap().port()
            ))
        );
        assert!(
            s.stats
                .remote_candidate
                .is_some_and(|a| a.ip().is_loopback())
        );
        assert!(s.stats.bytes_sent > 150 * VIDEO_SIZE as u64);
        assert!(s.stats.rtp_packets_written >= 180);
    }
    let info = server.paths.path_info("cam").unwrap();
    assert_eq!(info.readers.len(), 2);
    assert!(info.readers.iter().all(|r| r.kind == "webRTCSession"));
    assert!(info.readers.iter().any(|r| r.id == sessions[0].id));

    // Kicking one viewer closes its session and removes its reader from the path.
    assert!(server.server.kick(&sessions[0].id));
    let mut gone = false;
    for _ in 0..250 {
        let readers = server.paths.path_info("cam").unwrap().readers.len();
        if server.server.sessions().len() == 1 && readers == 1 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "kicked session still there");
    stop.store(true, Ordering::Relaxed);
}

#[tokio::test]
async fn nack_recovers_drops_through_the_core() {
    let server = core_server("paths:\n  all_others:\n").await;
    let stop = Arc::new(AtomicBool::new(false));
    publish(Arc::clone(&server.paths), "cam", false, Arc::clone(&stop)).await;
    let mut client = connect_whep(server.http, "/cam/whep").await;
    let mut primary: Option<u8> = None;
    let mut seen = 0u32;
    let dropped = Arc::new(AtomicU32::new(0));
    let dropped2 = Arc::clone(&dropped);
    client.filter = Some(Box::new(move |d: &[u8]| {
        if d.len() < 12 || !(128..192).contains(&d[0]) || (192..224).contains(&d[1]) {
            return false;
        }
        let pt = d[1] & 0x7f;
        if *primary.get_or_insert(pt) != pt {
            return false;
        }
        seen += 1;
        if seen.is_multiple_of(20) {
            dropped2.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }));
    let complete = |c: &mut NetClient| {
        let mut seqs: Vec<u64> = c.rtp_received().iter().map(|p| *p.seq_no).collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.len() >= 300 && (seqs[seqs.len() - 1] - seqs[0] + 1) as usize == seqs.len()
    };
    let ok = client.drive_until(Duration::from_secs(15), complete).await;
    let dropped = dropped.load(Ordering::Relaxed);
    assert!(ok, "sequence numbers not all recovered");
    assert!(dropped >= 10, "filter dropped only {dropped}");
    // Payloads intact, retransmitted ones included.
    let video = video_indexes(&client);
    assert_eq!(
        (video[video.len() - 1] - video[0] + 1) as usize,
        video.len()
    );
    let mut retransmitted = 0;
    for _ in 0..100 {
        retransmitted = server
            .server
            .sessions()
            .iter()
            .map(|s| s.stats.retransmitted_packets)
            .sum();
        if retransmitted >= u64::from(dropped) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        retransmitted >= u64::from(dropped),
        "server retransmitted {retransmitted} of {dropped}"
    );
    stop.store(true, Ordering::Relaxed);
}

#[tokio::test]
async fn whip_publisher_reaches_a_core_reader() {
    let server = core_server("paths:\n  all_others:\n").await;
    let mut client = NetClient::new().await;
    // Offer H264 only, so the payloads below are what the core depacketizes.
    client.rtc = str0m::Rtc::builder()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_h264(true)
        .build(Instant::now());
    let local = client.local;
    let (offer, pending, mid) = whip_offer(&mut client.rtc, local);
    let (status, _, answer) = post_offer(server.http, "/live/cam/whip", &offer).await;
    assert_eq!(status, 201, "{answer}");
    accept_answer(&mut client.rtc, pending, &answer);
    // The path is online with the publisher's track; a reader (as RTSP's) attaches.
    let mut reader = server.paths.add_reader(request("live/cam")).await.unwrap();
    let tracks: Vec<Format> = reader
        .stream()
        .tracks()
        .iter()
        .map(|t| t.format.clone())
        .collect();
    assert_eq!(tracks.len(), 1);
    assert!(matches!(tracks[0], Format::H264 { .. }));

    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.events.iter().any(|e| matches!(e, Event::Connected))
        })
        .await;
    assert!(ok, "client did not connect");
    let pt = client.rtc.media(mid).unwrap().remote_pts()[0];
    let count = 40u32;
    for n in 0..count {
        // Single NAL unit packets: an IDR first, then non-IDR slices.
        let mut data = numbered(n, 600).to_vec();
        data[0] = if n == 0 { 0x65 } else { 0x41 };
        let mut api = client.rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).unwrap();
        tx.write_rtp(
            RtpWrite::new(
                pt,
                (5000 + u64::from(n)).into(),
                n * 3000,
                Instant::now(),
                data,
            )
            .marker(true)
            .nackable(true),
        );
        client
            .drive_until(Duration::from_millis(5), |_| false)
            .await;
    }
    let mut got = Vec::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < count as usize && tokio::time::Instant::now() < end {
        client
            .drive_until(Duration::from_millis(20), |_| false)
            .await;
        while let ferromtx_core::TryNext::Unit(u) =
            reader.reader().try_next(tokio::time::Instant::now())
        {
            got.push(u);
        }
    }
    assert_eq!(got.len(), count as usize);
    for (n, u) in got.iter().enumerate() {
        let n = n as u32;
        let frame = u.frame.as_ref().unwrap();
        assert_eq!(frame.parts.len(), 1);
        assert_eq!(&frame.parts[0][1..], &numbered(n, 600)[1..]);
        assert_eq!(u.random_access, n == 0);
        assert_eq!(u.pts, i64::from(n) * 3000);
        assert_eq!(u.rtp_packets.len(), 1);
        assert_eq!(u.rtp_packets[0].sequence_number, 5000 + n as u16);
    }
    // Session counters are published every 200 ms.
    let mut info = None;
    for _ in 0..100 {
        let sessions = server.server.sessions();
        assert_eq!(sessions.len(), 1);
        if sessions[0].stats.rtp_packets_received >= u64::from(count) {
            info = Some(sessions[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let info = info.expect("counters published");
    assert_eq!(info.state(), "publish");
    assert_eq!(info.path, "live/cam");
    assert_eq!(info.stats.rtp_packets_lost, 0);
    assert!(info.stats.peer_connection_established);
    assert!(info.stats.bytes_received > u64::from(count) * 600);
}

#[tokio::test]
async fn core_auth_denial_is_401() {
    let yaml = "authInternalUsers:\n- user: myuser\n  pass: mypass\n  permissions:\n  - action: read\n  - action: publish\npaths:\n  all_others:\n";
    let server = core_server(yaml).await;
    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, _) = whep_offer(&mut client.rtc, local);
    let (status, headers, body) = post_offer(server.http, "/cam/whep", &offer).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"mediamtx\"");
    assert_eq!(
        body,
        "{\"status\":\"error\",\"error\":\"authentication error\"}"
    );
    // With the right credentials the request passes auth and meets the empty path.
    let res = reqwest::Client::new()
        .post(format!("http://{}/cam/whep", server.http))
        .header("Content-Type", "application/sdp")
        .basic_auth("myuser", Some("mypass"))
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(server.server.sessions().is_empty());
}

#[tokio::test]
async fn unauthenticated_offers_leave_no_session_state() {
    let yaml = "authInternalUsers:\n- user: u\n  pass: p\n  permissions:\n  \
                - action: read\n  - action: publish\npaths:\n  all_others:\n";
    let s = core_server(yaml).await;
    let mut client = NetClient::new().await;
    let local = client.local;
    let (whip, pending, _) = whip_offer(&mut client.rtc, local);
    let whep = whep_offer(&mut client_rtc(Instant::now()), local).0;
    for (path, offer) in [("/cam/whip", &whip), ("/cam/whep", &whep)] {
        // No credentials: asked for them at once.
        let (status, headers, body) = post_offer(s.http, path, offer).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(headers["www-authenticate"], "Basic realm=\"mediamtx\"");
        // Wrong ones: refused (after MediaMTX's pause against guessing).
        let res = reqwest::Client::new()
            .post(format!("http://{}{path}", s.http))
            .basic_auth("u", Some("wrong"))
            .header("Content-Type", "application/sdp")
            .body(offer.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert!(res.headers().get("www-authenticate").is_none());
    }
    // Nothing of a peer connection was made, and the path was not claimed.
    assert!(s.server.sessions().is_empty());
    assert_eq!(s.server.routed_sessions(), 0);
    assert!(s.paths.path_info("cam").is_none_or(|p| p.source.is_none()));

    // The right credentials get a session.
    let res = reqwest::Client::new()
        .post(format!("http://{}/cam/whip", s.http))
        .basic_auth("u", Some("p"))
        .header("Content-Type", "application/sdp")
        .body(whip)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    accept_answer(&mut client.rtc, pending, &res.text().await.unwrap());
    assert_eq!(s.server.sessions().len(), 1);
    assert_eq!(s.server.routed_sessions(), 1);
}
