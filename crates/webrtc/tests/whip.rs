//! WHIP: a str0m client publishes over real HTTP/ICE/DTLS/SRTP; the test sink receives.

mod common;

use std::time::{Duration, Instant};

use common::*;
use str0m::Event;
use str0m::rtp::RtpWrite;

#[tokio::test]
async fn whip_publisher_reaches_sink() {
    let mut server = start_server(vec![]).await;
    let mut client = NetClient::new().await;
    let local = client.local;
    let (offer, pending, mid) = whip_offer(&mut client.rtc, local);
    let (status, headers, answer) = post_offer(server.http, "/live/cam/whip", &offer).await;
    assert_eq!(status, 201, "{answer}");
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/live/cam/whip/")
    );
    accept_answer(&mut client.rtc, pending, &answer);
    let published = server.backend.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].len(), 1);
    assert!(published[0][0].is_video());

    let ok = client
        .drive_until(Duration::from_secs(10), |c| {
            c.events.iter().any(|e| matches!(e, Event::Connected))
        })
        .await;
    assert!(ok, "client did not connect");

    // The client sends with the first payload type the server answered.
    let pt = client.rtc.media(mid).unwrap().remote_pts()[0];
    let count = 50;
    for n in 0..count {
        let mut api = client.rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).unwrap();
        let data = payload(n, 800);
        tx.write_rtp(
            RtpWrite::new(
                pt,
                (1000 + n as u64).into(),
                n as u32 * 3000,
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
    while got.len() < count && tokio::time::Instant::now() < end {
        client
            .drive_until(Duration::from_millis(20), |_| false)
            .await;
        while let Ok(p) = server.ingest.try_recv() {
            got.push(p);
        }
    }
    assert_eq!(got.len(), count);
    for (n, (track, packet)) in got.iter().enumerate() {
        assert_eq!(*track, 0);
        assert_eq!(packet.sequence_number, 1000 + n as u16);
        assert_eq!(&packet.payload[..], &payload(n, 800)[..]);
    }
}
