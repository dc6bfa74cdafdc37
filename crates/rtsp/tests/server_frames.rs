//! Units that carry only frames (as RTMP or SRT publishers write them) reach RTSP readers
//! as RTP packets; RTCP reports flow to readers and publishers.

mod server_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use ferromtx_auth as auth;
use ferromtx_codec::{Format, Frame, depacketizer, rtp};
use ferromtx_core::{Described, PathRequest, Track, Unit};
use ferromtx_rtsp::RtspSettings;
use ferromtx_rtsp::message::{Method, StatusCode};
use ferromtx_rtsp::rtcp::{self, RtcpPacket};
use server_support::{Client, OPEN_CONF, server, server_with};

fn request(name: &str) -> PathRequest {
    PathRequest {
        name: name.into(),
        query: String::new(),
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        credentials: auth::Credentials::default(),
        protocol: auth::Protocol::Rtmp,
        who: Described {
            kind: "rtmpConn".into(),
            id: "test".into(),
        },
        skip_auth: true,
    }
}

fn h264() -> Format {
    Format::H264 {
        payload_type: 96,
        sps: None,
        pps: None,
        packetization_mode: 1,
    }
}

#[tokio::test]
async fn frames_only_units_are_packetized_for_rtsp_readers() {
    let (server, paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let publisher = paths
        .add_publisher(request("frames"))
        .await
        .expect("publisher");
    let stream = publisher
        .start(vec![Track { format: h264() }])
        .expect("stream");

    let url = format!("rtsp://{addr}/frames");
    let mut reader = Client::connect(addr).await;
    reader.play_first_track_tcp(&url).await;

    // A 5000-byte IDR slice (needs fragmenting) and a small non-IDR slice.
    let mut idr = vec![0x65u8];
    idr.extend((0..5000u32).map(|i| (i % 251) as u8));
    let frames = [
        Frame {
            rtp_timestamp: 1000,
            random_access: true,
            parts: vec![Bytes::from(idr)],
        },
        Frame {
            rtp_timestamp: 4600,
            random_access: false,
            parts: vec![Bytes::from_static(&[0x41, 1, 2, 3])],
        },
    ];
    for (i, f) in frames.iter().enumerate() {
        stream
            .write(Unit {
                track: 0,
                pts: 3600 * i as i64,
                frame: Some(f.clone()),
                random_access: f.random_access,
                ..Unit::default()
            })
            .expect("write");
    }

    let mut depacketizer = depacketizer(&h264());
    let mut got = Vec::new();
    let mut packets = 0;
    for _ in 0..100 {
        if got.len() == frames.len() {
            break;
        }
        let f = reader.frame().await;
        if f.channel != 0 {
            continue;
        }
        let pkt = rtp::Packet::unmarshal(&f.payload).expect("RTP");
        assert!(f.payload.len() <= ferromtx_rtsp::server::DEFAULT_UDP_MAX_PAYLOAD_SIZE);
        assert_eq!(pkt.payload_type, 96);
        packets += 1;
        depacketizer.push(&pkt).expect("valid packet");
        while let Some(frame) = depacketizer.pull() {
            got.push(frame);
        }
    }
    assert!(packets > 3, "the IDR slice was fragmented");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].parts, frames[0].parts);
    assert_eq!(got[0].rtp_timestamp, 1000);
    assert_eq!(got[1].parts, frames[1].parts);
    drop(publisher);
    server.close().await;
}

#[tokio::test]
async fn sender_and_receiver_reports_flow() {
    let settings = RtspSettings {
        report_period: Duration::from_millis(100),
        ..RtspSettings::loopback()
    };
    let (server, _paths) = server_with(OPEN_CONF, settings).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/reports");

    let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
               m=audio 0 RTP/AVP 97\r\na=rtpmap:97 opus/48000/2\r\na=control:trackID=0\r\n";
    let mut publisher = Client::connect(addr).await;
    let res = publisher
        .request(
            Method::Announce,
            &url,
            &[],
            Some(("application/sdp", Bytes::from_static(sdp.as_bytes()))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = publisher
        .request(
            Method::Setup,
            &format!("{url}/trackID=0"),
            &[(
                "Transport",
                "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
            )],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = publisher.request(Method::Record, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);

    let mut reader = Client::connect(addr).await;
    assert_eq!(
        reader
            .request(Method::Describe, &url, &[], None)
            .await
            .status,
        StatusCode::OK
    );
    let res = reader
        .setup(&url, 0, "RTP/AVP/TCP;unicast;interleaved=4-5")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        reader.request(Method::Play, &url, &[], None).await.status,
        StatusCode::OK
    );

    let pkt = |i: u16| {
        rtp::Packet {
            marker: true,
            payload_type: 97,
            sequence_number: i,
            timestamp: 960 * u32::from(i),
            ssrc: 0xabcd,
            csrc: Vec::new(),
            extension: None,
            payload: Bytes::from_static(&[0xfc, 1, 2]),
        }
        .marshal()
    };
    for i in 0..5 {
        publisher.send_frame(0, pkt(i)).await;
    }

    // The publisher gets a receiver report about its SSRC on the RTCP channel.
    let mut rr = None;
    for _ in 0..50 {
        let f = publisher.frame().await;
        if f.channel == 1 {
            rr = Some(f);
            break;
        }
    }
    let rr = rtcp::parse_compound(&rr.expect("receiver report").payload).expect("RTCP");
    assert!(rr.iter().any(|p| matches!(p,
        RtcpPacket::ReceiverReport(r) if r.reports.iter().any(|b| b.ssrc == 0xabcd))));

    // The reader gets the packets on channel 4, then sender reports on channel 5 that
    // count them (an earlier report may count fewer).
    let mut rtp_count = 0;
    let mut counted_all = false;
    for _ in 0..200 {
        let f = reader.frame().await;
        match f.channel {
            4 => rtp_count += 1,
            5 => {
                let sr = rtcp::parse_compound(&f.payload).expect("RTCP");
                if sr.iter().any(|p| {
                    matches!(p, RtcpPacket::SenderReport(s) if s.ssrc == 0xabcd && s.packet_count == 5)
                }) {
                    counted_all = true;
                    break;
                }
            }
            _ => {}
        }
    }
    assert_eq!(rtp_count, 5);
    assert!(counted_all, "no sender report counting the 5 packets");
    server.close().await;
}
