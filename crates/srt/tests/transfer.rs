//! Live data transfer through a simulated network: order, TSBPD, loss recovery,
//! too-late drop, bursts, sequence wrap.

mod common;

use std::time::Duration;

use common::*;
use ferromtx_srt::packet::{Control, ControlPacket, Packet};
use ferromtx_srt::{CallerConfig, ListenerConfig, SendError, Settings};

fn connected(c: CallerConfig) -> Pair {
    let mut p = Pair::new(c, ListenerConfig::default(), Policy::Accept(None));
    p.run_for(Duration::from_millis(100));
    assert!(p.client.is_connected() && p.server().is_connected());
    p
}

/// Sends `n` payloads from the caller, one every `gap`, and lets the link settle.
fn stream_from_client(p: &mut Pair, n: u32, gap: Duration, len: usize) {
    for i in 0..n {
        let now = p.now;
        p.client.send(now, &payload(i, len)).unwrap();
        p.run_for(gap);
    }
    p.run_for(Duration::from_secs(2));
}

/// The payloads' indexes in order, with `None` where the connection told of a gap.
fn indexes_and_gaps(events: &[ferromtx_srt::Event]) -> Vec<Option<u32>> {
    events
        .iter()
        .filter_map(|e| match e {
            ferromtx_srt::Event::Data(b) => Some(Some(index_of(b))),
            ferromtx_srt::Event::Gap(n) => {
                assert_eq!(*n, 1);
                Some(None)
            }
            _ => None,
        })
        .collect()
}

fn assert_all_in_order(data: &[Vec<u8>], n: u32) {
    let idx: Vec<u32> = data.iter().map(|d| index_of(d)).collect();
    assert_eq!(idx, (0..n).collect::<Vec<_>>());
}

#[test]
fn data_arrives_in_order_no_earlier_than_the_latency() {
    let mut p = connected(CallerConfig::default());
    let sent_at = p.now;
    p.client.send(sent_at, &payload(0, 1316)).unwrap();
    // One-way delay is 10 ms, latency 120 ms: nothing before ~130 ms.
    p.run_for(Duration::from_millis(125));
    assert!(p.server_data().is_empty());
    p.run_for(Duration::from_millis(10));
    assert_eq!(p.server_data().len(), 1);
    stream_from_client(&mut p, 199, Duration::from_millis(1), 1316);
    let data = p.server_data();
    assert_eq!(data.len(), 200);
    assert!(data.iter().all(|d| d.len() == 1316));
    let stats = p.server().stats();
    assert_eq!(stats.packets_received_unique, 200);
    assert_eq!(stats.packets_received_loss, 0);
    // ACKs emptied the sender's buffer; ACKACKs gave the receiver an RTT near 20 ms.
    assert_eq!(p.client.stats().send_buffer_packets, 0);
    assert!(stats.rtt >= Duration::from_millis(19) && stats.rtt <= Duration::from_millis(25));
}

#[test]
fn losses_both_ways_are_recovered() {
    let mut p = connected(CallerConfig::default());
    p.to_server.loss = 0.10;
    p.to_client.loss = 0.10;
    stream_from_client(&mut p, 2000, Duration::from_millis(1), 500);
    assert_all_in_order(&p.server_data(), 2000);
    let c = p.client.stats();
    let s = p.server().stats();
    assert!(c.packets_retransmitted > 100, "{c:?}");
    assert!(s.packets_received_loss > 100, "{s:?}");
    assert!(s.packets_sent_nak > 0);
    assert_eq!(s.packets_received_drop, 0);
}

#[test]
fn reordering_is_undone() {
    let mut p = connected(CallerConfig::default());
    p.to_server.jitter = Duration::from_millis(15);
    stream_from_client(&mut p, 1000, Duration::from_millis(1), 200);
    assert_all_in_order(&p.server_data(), 1000);
}

#[test]
fn a_packet_that_never_arrives_is_skipped_at_its_time() {
    let mut p = connected(CallerConfig::default());
    // Packet index 10 is lost every time it is sent, retransmissions included.
    let isn = p.server().stats().packets_received; // 0
    assert_eq!(isn, 0);
    let mut first_seq = None;
    p.filter = Box::new(move |dir, d| {
        if dir != Dir::ToServer {
            return true;
        }
        match data_seq(d) {
            Some(seq) => {
                let base = *first_seq.get_or_insert(seq);
                seq.wrapping_sub(base) != 10
            }
            None => true,
        }
    });
    stream_from_client(&mut p, 50, Duration::from_millis(2), 100);
    // The reader is told where the hole is.
    let expected: Vec<Option<u32>> = (0..50).map(|i| (i != 10).then_some(i)).collect();
    assert_eq!(indexes_and_gaps(&p.server_events), expected);
    let s = p.server().stats();
    assert_eq!(s.packets_received_drop, 1);
    assert!(p.client.stats().packets_retransmitted >= 1);
}

#[test]
fn a_two_megabyte_burst_arrives_whole_through_loss() {
    let mut c = CallerConfig::default();
    c.settings.peer_latency = Duration::from_millis(500);
    let mut p = Pair::new(c, ListenerConfig::default(), Policy::Accept(None));
    p.run_for(Duration::from_millis(100));
    p.to_server.loss = 0.05;
    p.to_client.loss = 0.05;
    // A 2 MB key frame handed over at once: 1594 packets of 1316 bytes.
    let n = 2 * 1024 * 1024 / 1316 + 1;
    let now = p.now;
    for i in 0..n {
        p.client.send(now, &payload(i, 1316)).unwrap();
    }
    p.run_for(Duration::from_secs(3));
    assert_all_in_order(&p.server_data(), n);
}

#[test]
fn listener_sends_to_caller_too() {
    let mut p = connected(CallerConfig::default());
    p.to_client.loss = 0.05;
    for i in 0..500 {
        let now = p.now;
        p.server().send(now, &payload(i, 1000)).unwrap();
        p.run_for(Duration::from_millis(1));
    }
    p.run_for(Duration::from_secs(2));
    assert_all_in_order(&p.client_data(), 500);
}

#[test]
fn sequence_numbers_wrap_at_2_pow_31() {
    let c = CallerConfig {
        initial_seq: Some(0x7FFF_FFF0),
        ..CallerConfig::default()
    };
    let mut p = connected(c);
    p.to_server.loss = 0.1;
    stream_from_client(&mut p, 100, Duration::from_millis(1), 100);
    assert_all_in_order(&p.server_data(), 100);
}

#[test]
fn nak_for_a_packet_no_longer_held_gets_a_drop_request() {
    let mut c = CallerConfig::default();
    c.settings.send_buffer_packets = 16;
    let mut p = Pair::new(c, ListenerConfig::default(), Policy::Accept(None));
    p.run_for(Duration::from_millis(100));
    // Cut the reverse path so nothing is acknowledged, lose one packet, overflow the
    // 16-packet send buffer, then let the NAKs through.
    p.to_client.loss = 1.0;
    let mut first_seq = None;
    p.filter = Box::new(move |dir, d| match (dir, data_seq(d)) {
        (Dir::ToServer, Some(seq)) => seq.wrapping_sub(*first_seq.get_or_insert(seq)) != 2,
        _ => true,
    });
    let now = p.now;
    for i in 0..40 {
        p.client.send(now, &payload(i, 100)).unwrap();
    }
    p.keep_wire = true;
    p.run_for(Duration::from_millis(5));
    p.to_client.loss = 0.0;
    p.run_for(Duration::from_millis(300));
    let drop_requests = p
        .wire
        .iter()
        .filter(|(dir, d)| {
            *dir == Dir::ToServer
                && matches!(
                    Packet::parse(d),
                    Ok(Packet::Control(ControlPacket {
                        control: Control::DropRequest { .. },
                        ..
                    }))
                )
        })
        .count();
    assert!(drop_requests >= 1);
    let expected: Vec<Option<u32>> = (0..40).map(|i| (i != 2).then_some(i)).collect();
    assert_eq!(indexes_and_gaps(&p.server_events), expected);
    assert!(p.client.stats().packets_send_drop >= 24);
}

#[test]
fn oversized_payloads_and_early_sends_are_refused() {
    let t0 = std::time::Instant::now();
    let mut c =
        ferromtx_srt::Connection::connect(t0, addr(SERVER), CallerConfig::default(), [0; 32])
            .unwrap();
    assert_eq!(c.send(t0, b"x"), Err(SendError::NotConnected));
    let mut p = connected(CallerConfig {
        settings: Settings {
            max_payload: 1456,
            ..Settings::default()
        },
        ..CallerConfig::default()
    });
    let now = p.now;
    assert_eq!(p.client.send(now, &[0; 1456]), Ok(()));
    assert_eq!(
        p.client.send(now, &[0; 1457]),
        Err(SendError::TooLarge {
            len: 1457,
            max: 1456
        })
    );
    // The listener keeps its own default of 1316.
    assert_eq!(
        p.server().send(now, &[0; 1317]),
        Err(SendError::TooLarge {
            len: 1317,
            max: 1316
        })
    );
    c.close(t0);
    assert_eq!(c.send(t0, b"x"), Err(SendError::Closed));
}

#[test]
fn the_stream_resumes_after_an_outage_longer_than_the_receive_window() {
    let server = ListenerConfig {
        settings: Settings {
            recv_buffer_packets: 256,
            ..Settings::default()
        },
        ..ListenerConfig::default()
    };
    let mut p = Pair::new(CallerConfig::default(), server, Policy::Accept(None));
    p.run_for(Duration::from_millis(100));
    let send = |p: &mut Pair, range: std::ops::Range<u32>| {
        for i in range {
            let now = p.now;
            p.client.send(now, &payload(i, 100)).unwrap();
            p.run_for(Duration::from_millis(1));
        }
    };
    send(&mut p, 0..100);
    // Two seconds without any packet reaching the listener: the sender drops what it
    // held (1 s threshold), so the stream comes back ~2000 numbers ahead.
    p.to_server.loss = 1.0;
    send(&mut p, 100..2100);
    p.to_server.loss = 0.0;
    send(&mut p, 2100..2300);
    p.run_for(Duration::from_secs(1));
    let idx: Vec<u32> = p.server_data().iter().map(|d| index_of(d)).collect();
    assert_eq!(&idx[..100], &(0..100).collect::<Vec<_>>()[..]);
    assert!(
        idx.ends_with(&(2100..2300).collect::<Vec<_>>()),
        "{:?}",
        &idx[100..]
    );
    assert!(p.server().is_connected());
}
