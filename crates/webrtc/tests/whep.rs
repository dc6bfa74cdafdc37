//! WHEP over real HTTP and real ICE/DTLS/SRTP on 127.0.0.1.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferromtx_webrtc::{EgressItem, EgressPacket, SessionConfig};
use str0m::Event;

/// Connects a client to `path` and returns it once ICE+DTLS are up.
async fn connect(server: &TestServer, path: &str) -> (NetClient, reqwest::header::HeaderMap) {
    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, pending) = whep_offer(&mut client.rtc, local);
    let (status, headers, answer) = post_offer(server.http, path, &offer).await;
    assert_eq!(status, 201, "{answer}");
    accept_answer(&mut client.rtc, pending, &answer);
    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.events.iter().any(|e| matches!(e, Event::Connected))
        })
        .await;
    assert!(ok, "client did not connect");
    (client, headers)
}

/// Feeds `units` video units of `per_unit` packets to every reader of the backend.
fn feed(server: &TestServer, units: usize, per_unit: usize, size: usize) -> Vec<Arc<[u8]>> {
    let readers = server.backend.readers.lock().unwrap().clone();
    let mut all = Vec::new();
    let mut items = Vec::new();
    for u in 0..units {
        let packets: Vec<EgressPacket> = (0..per_unit)
            .map(|k| {
                let p = payload(u * per_unit + k, size);
                all.push(Arc::clone(&p));
                EgressPacket {
                    marker: k + 1 == per_unit,
                    timestamp: (u as u32) * 3600,
                    payload: p,
                }
            })
            .collect();
        items.push(EgressItem {
            track: 0,
            wallclock: Instant::now(),
            packets: packets.into(),
        });
    }
    tokio::spawn(async move {
        for item in items {
            for r in &readers {
                let _ = r.send(item.clone()).await;
            }
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
    });
    all
}

#[tokio::test]
async fn whep_plays_packets_from_source() {
    let server = start_server(vec![h264(), opus()]).await;
    let (mut client, headers) = connect(&server, "/cam/whep").await;
    let location = headers["location"].to_str().unwrap();
    assert!(location.starts_with("/cam/whep/"), "{location}");
    assert_eq!(headers["content-type"], "application/sdp");
    assert_eq!(headers["etag"], "*");
    assert_eq!(headers["accept-patch"], "application/trickle-ice-sdpfrag");

    let sent = feed(&server, 40, 3, 1000);
    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.rtp_received().len() >= sent.len()
        })
        .await;
    assert!(ok, "got {} of {}", client.rtp_received().len(), sent.len());
    let got = client.rtp_received();
    assert_eq!(got.len(), sent.len());
    for (p, want) in got.iter().zip(&sent) {
        assert_eq!(&p.payload[..], &want[..]);
    }
    // Sequence numbers are contiguous per viewer.
    for w in got.windows(2) {
        assert_eq!(*w[1].seq_no, *w[0].seq_no + 1);
    }
    // The packets of a unit left together: with GSO, several datagrams per send call.
    let counters = server.server.mux_counters();
    let calls = counters
        .send_calls
        .load(std::sync::atomic::Ordering::Relaxed);
    let datagrams = counters
        .datagrams_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    if server.server.max_segments() > 1 {
        assert!(
            datagrams >= sent.len() as u64 && calls < datagrams * 2 / 3,
            "{calls} send calls for {datagrams} datagrams"
        );
    } else {
        assert_eq!(calls, datagrams);
    }

    // DELETE ends the session; a second DELETE finds nothing.
    let url = format!("http://{}{}", server.http, location);
    let res = reqwest::Client::new().delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "{\"status\":\"ok\"}");
    let mut gone = false;
    for _ in 0..100 {
        if server.server.sessions().is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "session not freed after DELETE");
    let res = reqwest::Client::new().delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn nack_recovers_every_20th_packet_dropped() {
    let server = start_server(vec![h264()]).await;
    let (mut client, _) = connect(&server, "/cam/whep").await;
    // Drop every 20th primary video RTP packet on the way in. The first RTP packet's
    // payload type is the primary one; retransmissions come with the RTX type.
    let mut primary: Option<u8> = None;
    let mut seen = 0u32;
    let dropped = Arc::new(std::sync::atomic::AtomicU32::new(0));
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
            dropped2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return true;
        }
        false
    }));
    // 303 packets: the last dropped one (300th) is followed by others, so it is detectable.
    let sent = feed(&server, 101, 3, 1100);
    let ok = client
        .drive_until(Duration::from_secs(15), |c| {
            let mut seqs: Vec<u64> = c.rtp_received().iter().map(|p| *p.seq_no).collect();
            seqs.sort_unstable();
            seqs.dedup();
            seqs.len() >= sent.len()
        })
        .await;
    let dropped = dropped.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dropped >= 10, "filter dropped only {dropped}");
    let got = client.rtp_received();
    let mut seqs: Vec<u64> = got.iter().map(|p| *p.seq_no).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert!(ok, "got {} distinct of {}", seqs.len(), sent.len());
    assert_eq!(seqs.len(), sent.len());
    assert_eq!(seqs[seqs.len() - 1] - seqs[0] + 1, sent.len() as u64);
    // Every payload arrived intact, retransmitted ones included.
    let first = seqs[0];
    for p in &got {
        let idx = (*p.seq_no - first) as usize;
        assert_eq!(&p.payload[..], &sent[idx][..]);
    }
    // The server's counter moved (session counters are published every 200 ms).
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
}

#[tokio::test]
async fn bad_offer_is_400_and_unknown_path_is_404() {
    let server = start_server(vec![h264()]).await;
    let (status, _, body) = post_offer(server.http, "/cam/whep", "this is not sdp").await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("{\"status\":\"error\",\"error\":\"invalid SDP"),
        "{body}"
    );

    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, _) = whep_offer(&mut client.rtc, local);
    let (status, _, body) = post_offer(server.http, "/nothing/whep", &offer).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        "{\"status\":\"error\",\"error\":\"no stream is available on path 'nothing'\"}"
    );

    let res = reqwest::Client::new()
        .post(format!("http://{}/cam/whep", server.http))
        .header("Content-Type", "text/plain")
        .body(offer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text().await.unwrap(),
        "{\"status\":\"error\",\"error\":\"invalid Content-Type\"}"
    );

    let res = reqwest::Client::new()
        .patch(format!(
            "http://{}/cam/whep/00000000-0000-4000-8000-000000000000",
            server.http
        ))
        .header("Content-Type", "application/trickle-ice-sdpfrag")
        .body("a=candidate:1 1 UDP 1 127.0.0.1 9 typ host\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn stream_without_playable_codec_is_400() {
    let server = start_server(vec![aac()]).await;
    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, _) = whep_offer(&mut client.rtc, local);
    let (status, _, body) = post_offer(server.http, "/cam/whep", &offer).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("the stream doesn't contain any supported codec"),
        "{body}"
    );
}

#[tokio::test]
async fn path_with_slashes_options_and_pages() {
    let server = start_server(vec![h264(), aac()]).await;
    // AAC is left out, H264 is played.
    let (_client, headers) = connect(&server, "/a/b/cam/whep").await;
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/a/b/cam/whep/")
    );

    let http = reqwest::Client::new();
    let res = http
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/cam/whep", server.http),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["accept-post"], "application/sdp");

    let res = http
        .get(format!("http://{}/a/b/cam/", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("whep"));
    let res = http
        .get(format!("http://{}/cam/publish", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("whip"));
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://{}/cam?x=1", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/cam/?x=1");
    let res = http
        .get(format!("http://{}/cam/whep", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn garbage_datagrams_are_dropped_and_counted() {
    let server = start_server(vec![h264()]).await;
    let udp = server.server.udp_local_addr().unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..1000u32 {
        let len = (i % 300) as usize;
        let data: Vec<u8> = (0..len).map(|k| (k as u32 * 7 + i) as u8).collect();
        sock.send_to(&data, udp).await.unwrap();
        if i % 100 == 99 {
            // Let the mux drain so the kernel buffer never overflows.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let counters = server.server.mux_counters();
    let mut counted = 0;
    for _ in 0..200 {
        counted = counters
            .dropped_unroutable
            .load(std::sync::atomic::Ordering::Relaxed);
        if counted >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counted, 1000);

    // The server still serves a new session.
    let (mut client, _) = connect(&server, "/cam/whep").await;
    let sent = feed(&server, 5, 2, 500);
    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.rtp_received().len() >= sent.len()
        })
        .await;
    assert!(ok);
}

#[tokio::test]
async fn refused_credentials_get_401_and_accepted_ones_a_session() {
    let server = start_server_with_credentials(vec![h264()], "u", "p").await;
    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, pending) = whep_offer(&mut client.rtc, local);
    let (status, headers, body) = post_offer(server.http, "/cam/whep", &offer).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"mediamtx\"");
    assert_eq!(
        body,
        "{\"status\":\"error\",\"error\":\"authentication error\"}"
    );
    let res = reqwest::Client::new()
        .get(format!("http://{}/cam/", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let res = reqwest::Client::new()
        .post(format!("http://{}/cam/whep", server.http))
        .basic_auth("u", Some("p"))
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    accept_answer(&mut client.rtc, pending, &res.text().await.unwrap());

    // Trickle ICE on the live session.
    let res = reqwest::Client::new()
        .patch(format!("http://{}{}", server.http, location))
        .header("Content-Type", "application/trickle-ice-sdpfrag")
        .body(format!(
            "a=ice-ufrag:abcd\r\na=ice-pwd:efghefghefghefghefghef\r\na=candidate:1 1 UDP 2130706431 {} {} typ host\r\n",
            local.ip(),
            local.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.events.iter().any(|e| matches!(e, Event::Connected))
        })
        .await;
    assert!(ok, "client did not connect");
}

#[tokio::test]
async fn a_client_stalled_mid_dtls_is_dropped_while_others_are_served() {
    let config = SessionConfig {
        handshake_timeout: Duration::from_secs(2),
        ..SessionConfig::default()
    };
    let server = start_server_with(vec![h264()], None, config).await;
    // The stalled client answers ICE but never hears the server's DTLS flight.
    let mut stalled = NetClient::new().await;
    stalled.filter = Some(Box::new(|d: &[u8]| (20..=63).contains(&d[0])));
    let local = stalled.local;
    let (offer, pending) = whep_offer(&mut stalled.rtc, local);
    let (status, _, answer) = post_offer(server.http, "/cam/whep", &offer).await;
    assert_eq!(status, 201, "{answer}");
    accept_answer(&mut stalled.rtc, pending, &answer);
    let ice_up = stalled
        .drive_until(Duration::from_secs(5), |c| {
            c.events.iter().any(|e| {
                matches!(
                    e,
                    str0m::Event::IceConnectionStateChange(
                        str0m::IceConnectionState::Connected | str0m::IceConnectionState::Completed
                    )
                )
            })
        })
        .await;
    assert!(
        ice_up,
        "ICE never came up for the stalled client: {:?}",
        stalled.events
    );
    assert!(
        !stalled.events.iter().any(|e| matches!(e, Event::Connected)),
        "DTLS was meant to stall"
    );
    assert_eq!(server.server.sessions().len(), 1);

    // Meanwhile another viewer plays.
    let (mut client, _) = connect(&server, "/cam/whep").await;
    let sent = feed(&server, 5, 2, 500);
    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.rtp_received().len() >= sent.len()
        })
        .await;
    assert!(ok, "the second viewer got no media");

    // The stalled one goes after webrtcHandshakeTimeout; the good one stays.
    let mut left = usize::MAX;
    for _ in 0..100 {
        left = server.server.sessions().len();
        if left == 1 {
            break;
        }
        client
            .drive_until(Duration::from_millis(100), |_| false)
            .await;
    }
    assert_eq!(left, 1, "the stalled session was not dropped");
    assert!(
        server.server.sessions()[0]
            .stats
            .peer_connection_established,
        "the connected viewer was dropped instead"
    );
}

#[tokio::test]
async fn ice_tcp_connections_without_a_valid_binding_request_are_closed_and_counted() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = ferromtx_webrtc::WebrtcConfig {
        local_udp_address: None,
        local_tcp_address: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        session: SessionConfig {
            handshake_timeout: Duration::from_secs(1),
            ..SessionConfig::default()
        },
        ..Default::default()
    };
    let (ingest, _ingested) = tokio::sync::mpsc::unbounded_channel();
    let backend = Arc::new(TestBackend {
        tracks: vec![h264()],
        readers: std::sync::Mutex::new(Vec::new()),
        keyframe_requests: Arc::new(std::sync::Mutex::new(0)),
        ingest,
        published: std::sync::Mutex::new(Vec::new()),
        credentials: None,
    });
    let server = ferromtx_webrtc::WebrtcServer::start(config, backend)
        .await
        .unwrap();
    assert!(server.udp_local_addr().is_err(), "UDP was meant to be off");
    let tcp = server.tcp_local_addr().expect("ICE-TCP listener");
    // A frame that is no STUN, a binding request for nobody, and silence.
    let garbage: [&[u8]; 3] = [
        &[0, 4, 0xde, 0xad, 0xbe, 0xef],
        &ferromtx_webrtc::rfc4571::frame(&ferromtx_webrtc::stun::binding_request("nobody:x"))
            .unwrap(),
        &[],
    ];
    for bytes in garbage {
        let mut c = tokio::net::TcpStream::connect(tcp).await.unwrap();
        c.write_all(bytes).await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("the server closes the connection")
            .unwrap_or(0);
        assert_eq!(n, 0, "the server answered garbage");
    }
    let counters = server.mux_counters();
    assert_eq!(
        counters
            .tcp_refused
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    assert_eq!(
        counters
            .tcp_connections
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}
