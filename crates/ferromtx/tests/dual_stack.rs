//! Listen addresses without a host (`:port`, MediaMTX's defaults) listen on both families,
//! as Go's listeners do: RTSP, RTSPS, the WebRTC HTTP server and ICE/UDP answer on `[::1]`
//! as on 127.0.0.1. Skipped on a host without IPv6 loopback (none seen here).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, free_udp_pair, start};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const STEP: Duration = Duration::from_secs(10);

fn has_ipv6() -> bool {
    UdpSocket::bind("[::1]:0").is_ok()
}

/// Sends `request` on `stream` and reads until the end of the answer's header.
fn exchange(stream: &mut impl ReadWrite, request: &str) -> String {
    stream.write_all(request.as_bytes()).expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, STEP).expect("connect");
    s.set_read_timeout(Some(STEP)).expect("timeout");
    s
}

/// A WHIP publisher on `[::1]`: its offer, then ICE and DTLS with the server until it is
/// connected (bounded).
fn whip_connects_over_ipv6(whep_port: u16) -> bool {
    let socket = UdpSocket::bind("[::1]:0").expect("bind [::1]");
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let local = socket.local_addr().expect("addr");
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().expect("offer");
    let mut http = connect(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, whep_port)));
    let sdp = offer.to_sdp_string();
    let head = exchange(
        &mut http,
        &format!(
            "POST /cam/whip HTTP/1.1\r\nHost: [::1]\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{sdp}",
            sdp.len()
        ),
    );
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let mut body = head
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    let _ = http.read_to_string(&mut body);
    let answer = str0m::change::SdpAnswer::from_sdp_string(&body).expect("answer");
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("accept");
    let deadline = Instant::now() + STEP;
    let mut buf = vec![0u8; 2000];
    while Instant::now() < deadline {
        let timeout = match rtc.poll_output().expect("poll") {
            Output::Transmit(t) => {
                socket.send_to(&t.contents, t.destination).expect("send");
                continue;
            }
            Output::Event(Event::Connected) => return true,
            Output::Event(_) => continue,
            Output::Timeout(t) => t,
        };
        let now = Instant::now();
        if timeout > now
            && let Ok((n, from)) = socket.recv_from(&mut buf)
        {
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: local,
                    contents: buf[..n].try_into().expect("datagram"),
                },
            );
            rtc.handle_input(input).expect("input");
            continue;
        }
        rtc.handle_input(Input::Timeout(Instant::now()))
            .expect("timeout");
    }
    false
}

#[test]
fn default_addresses_answer_on_ipv6_loopback() {
    if !has_ipv6() {
        eprintln!("skipping: no IPv6 loopback");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::write(dir.path().join("server.crt"), cert.cert.pem()).expect("write");
    std::fs::write(
        dir.path().join("server.key"),
        cert.signing_key.serialize_pem(),
    )
    .expect("write");
    let fingerprint = ferromtx_net::tls::fingerprint_of(cert.cert.der());
    let (rtsp, rtsps, whep) = (free_port(), free_port(), free_port());
    let (rtp, rtcp) = free_udp_pair();
    let ice = ferromtx_testkit::free_udp_port();
    let conf = format!(
        "rtmp: no\nhls: no\nsrt: no\nmoq: no\n\
         rtspAddress: :{rtsp}\nrtpAddress: :{rtp}\nrtcpAddress: :{rtcp}\n\
         rtspEncryption: optional\nrtspsAddress: :{rtsps}\n\
         rtspServerCert: {d}/server.crt\nrtspServerKey: {d}/server.key\n\
         webrtcAddress: :{whep}\nwebrtcLocalUDPAddress: :{ice}\n\
         webrtcIPsFromInterfaces: no\nwebrtcAdditionalHosts: ['::1']\n\
         paths:\n  all_others:\n",
        d = dir.path().display()
    );
    let mut s = start(Some(&conf), &[], &[]);
    s.wait_line("[RTSP] started with listener");
    s.wait_line("[RTSPS] started with listener");
    s.wait_line("[WebRTC] started with listener");
    let v6 = |port| SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let v4 = |port| SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));

    for addr in [v6(rtsp), v4(rtsp)] {
        let reply = exchange(
            &mut connect(addr),
            "OPTIONS rtsp://localhost/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        );
        assert!(reply.starts_with("RTSP/1.0 200"), "{addr}: {reply}");
    }

    let config = ferromtx_net::tls::client_config(&fingerprint).expect("tls config");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = rustls::ClientConnection::new(Arc::new(config), name).expect("tls");
    let mut stream = rustls::StreamOwned::new(tls, connect(v6(rtsps)));
    let reply = exchange(
        &mut stream,
        "OPTIONS rtsps://localhost/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n",
    );
    assert!(reply.starts_with("RTSP/1.0 200"), "RTSPS: {reply}");

    let page = exchange(
        &mut connect(v6(whep)),
        "GET /cam/ HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");

    assert!(
        whip_connects_over_ipv6(whep),
        "no ICE/DTLS connection over [::1]"
    );
    s.wait_line("is publishing to path 'cam'");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}
