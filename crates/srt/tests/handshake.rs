//! Caller ↔ listener handshakes in simulated time.

mod common;

use std::time::Duration;

use common::*;
use ferromtx_srt::handshake::{
    EXT_CONFIG, EXT_HSREQ, Extension, FLAG_STREAM, Handshake, HandshakeType, SrtHs,
};
use ferromtx_srt::packet::{Control, ControlPacket, Packet};
use ferromtx_srt::{
    CallerConfig, CloseReason, Event, Listener, ListenerConfig, ListenerEvent, RejectReason,
    Settings,
};

fn caller(sid: &str) -> CallerConfig {
    CallerConfig {
        stream_id: Some(sid.into()),
        ..CallerConfig::default()
    }
}

#[test]
fn connects_and_reports_the_stream_id() {
    let mut p = Pair::new(
        caller("publish:cam1"),
        ListenerConfig::default(),
        Policy::Accept(None),
    );
    p.run_for(Duration::from_millis(200));
    let ListenerEvent::Request(r) = &p.listener_events[0] else {
        panic!("{:?}", p.listener_events)
    };
    assert_eq!(r.stream_id, "publish:cam1");
    assert_eq!(r.key_len, None);
    assert_eq!(r.peer, addr(CLIENT));
    assert!(p.client.is_connected());
    assert!(p.server().is_connected());
    let expected = Event::Connected {
        stream_id: "publish:cam1".into(),
    };
    assert_eq!(p.client_events, vec![expected.clone()]);
    assert_eq!(p.server_events, vec![expected]);
    assert_eq!(
        p.client.peer_socket_id(),
        Some(p.server().local_socket_id())
    );
    let client_id = p.client.local_socket_id();
    assert_eq!(p.server().peer_socket_id(), Some(client_id));
    assert_eq!(p.server().stream_id(), Some("publish:cam1"));
}

#[test]
fn latency_is_the_larger_of_both_sides() {
    let mut c = caller("x");
    c.settings.latency = Duration::from_millis(300);
    c.settings.peer_latency = Duration::from_millis(50);
    let server = ListenerConfig {
        settings: Settings {
            latency: Duration::from_millis(200),
            peer_latency: Duration::from_millis(80),
            ..Settings::default()
        },
        ..ListenerConfig::default()
    };
    let mut p = Pair::new(c, server, Policy::Accept(None));
    p.run_for(Duration::from_millis(200));
    // Caller → listener: max(listener 200, caller's proposal 50).
    assert_eq!(
        p.server().stats().receive_latency,
        Duration::from_millis(200)
    );
    assert_eq!(p.client.stats().send_latency, Duration::from_millis(200));
    // Listener → caller: max(caller 300, listener's proposal 80).
    assert_eq!(p.client.stats().receive_latency, Duration::from_millis(300));
    assert_eq!(p.server().stats().send_latency, Duration::from_millis(300));
}

#[test]
fn pending_decision_holds_the_caller_until_answered() {
    let mut p = Pair::new(caller("read:cam"), ListenerConfig::default(), Policy::Hold);
    p.run_for(Duration::from_millis(1000));
    assert!(!p.client.is_connected());
    // Repeated conclusions did not create new requests.
    assert_eq!(p.listener_events.len(), 1);
    assert_eq!(p.listener.pending(), 1);
    let ListenerEvent::Request(r) = p.listener_events[0].clone() else {
        panic!()
    };
    let conn = p.listener.accept(p.now, r.id, None).unwrap();
    p.server = Some(conn);
    p.run_for(Duration::from_millis(100));
    assert!(p.client.is_connected());
    assert_eq!(p.listener.pending(), 0);
}

#[test]
fn lost_conclusion_response_is_answered_again() {
    let mut p = Pair::new(caller("x"), ListenerConfig::default(), Policy::Accept(None));
    let mut dropped = 0;
    p.filter = Box::new(move |dir, d| {
        let is_conclusion_rsp = dir == Dir::ToClient
            && matches!(
                Packet::parse(d),
                Ok(Packet::Control(ControlPacket {
                    control: Control::Handshake(Handshake {
                        kind: HandshakeType::Conclusion,
                        ..
                    }),
                    ..
                }))
            );
        if is_conclusion_rsp && dropped < 2 {
            dropped += 1;
            return false;
        }
        true
    });
    p.run_for(Duration::from_millis(1000));
    assert!(p.client.is_connected());
    assert_eq!(p.listener_events.len(), 1, "one request only");
}

#[test]
fn rejection_reaches_the_caller_with_its_code() {
    let mut p = Pair::new(
        caller("publish:nope"),
        ListenerConfig::default(),
        Policy::Reject(RejectReason::Other(1403)),
    );
    p.run_for(Duration::from_millis(500));
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::Rejected(RejectReason::Other(
            1403
        )))]
    );
    assert!(p.client.is_closed());
    assert!(p.server.is_none());
}

#[test]
fn unanswered_caller_times_out() {
    let mut c = caller("x");
    c.connect_timeout = Duration::from_millis(1500);
    let mut p = Pair::new(c, ListenerConfig::default(), Policy::Accept(None));
    p.filter = Box::new(|_, _| false);
    p.run_for(Duration::from_secs(3));
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::ConnectTimeout)]
    );
}

/// Sends a hand-made conclusion (after a real induction) and returns the reply.
fn conclude(mutate: impl FnOnce(&mut Handshake)) -> Handshake {
    let t0 = std::time::Instant::now();
    let mut l = Listener::new(t0, ListenerConfig::default(), [3; 32]);
    let mut hs = Handshake {
        version: 4,
        encryption: 0,
        extension_field: 2,
        initial_seq: ferromtx_srt::seq::SeqNumber::new(1),
        mtu: 1500,
        flow_window: 8192,
        kind: HandshakeType::Induction,
        socket_id: 77,
        syn_cookie: 0,
        peer_ip: [0; 16],
        extensions: vec![],
    };
    let packet = |hs: &Handshake| {
        Packet::Control(ControlPacket {
            timestamp: 0,
            dest_socket_id: 0,
            control: Control::Handshake(hs.clone()),
        })
        .to_bytes()
    };
    l.handle_datagram(t0, addr(CLIENT), &packet(&hs));
    let rsp = l.poll_transmit().unwrap();
    let Ok(Packet::Control(ControlPacket {
        control: Control::Handshake(ind),
        ..
    })) = Packet::parse(&rsp.payload)
    else {
        panic!()
    };
    assert_eq!(ind.extension_field, 0x4A17);
    hs.version = 5;
    hs.kind = HandshakeType::Conclusion;
    hs.syn_cookie = ind.syn_cookie;
    hs.extension_field = EXT_HSREQ | EXT_CONFIG;
    hs.extensions = vec![
        Extension::HsReq(SrtHs {
            version: 0x0001_0501,
            flags: 0xbf,
            recv_delay_ms: 120,
            send_delay_ms: 120,
        }),
        Extension::StreamId("publish:x".into()),
    ];
    mutate(&mut hs);
    l.handle_datagram(t0, addr(CLIENT), &packet(&hs));
    match l.poll_transmit() {
        Some(t) => match Packet::parse(&t.payload) {
            Ok(Packet::Control(ControlPacket {
                control: Control::Handshake(h),
                ..
            })) => h,
            other => panic!("{other:?}"),
        },
        None => {
            assert!(matches!(l.poll_event(), Some(ListenerEvent::Request(_))));
            hs
        }
    }
}

#[test]
fn listener_refuses_what_live_mode_cannot_serve() {
    type Mutation = Box<dyn FnOnce(&mut Handshake)>;
    let cases: Vec<(Mutation, RejectReason)> = vec![
        (
            Box::new(|h| h.extensions.push(Extension::Congestion("file".into()))),
            RejectReason::Congestion,
        ),
        (
            Box::new(|h| {
                if let Extension::HsReq(r) = &mut h.extensions[0] {
                    r.flags |= FLAG_STREAM;
                }
            }),
            RejectReason::MessageApi,
        ),
        (
            Box::new(|h| {
                if let Extension::HsReq(r) = &mut h.extensions[0] {
                    r.flags = 0x24; // file mode: no TSBPD
                }
            }),
            RejectReason::MessageApi,
        ),
        (Box::new(|h| h.syn_cookie ^= 1), RejectReason::Rogue),
        (
            Box::new(|h| {
                h.extensions.remove(0);
            }),
            RejectReason::Rogue,
        ),
        (
            Box::new(|h| h.extensions[1] = Extension::StreamId("x".repeat(600))),
            RejectReason::Rogue,
        ),
        (
            Box::new(|h| h.extensions.push(Extension::Filter("fec".into()))),
            RejectReason::Filter,
        ),
        (
            Box::new(|h| h.extensions.push(Extension::KmReq(vec![1, 2, 3, 4]))),
            RejectReason::Rogue,
        ),
    ];
    for (mutate, reason) in cases {
        let rsp = conclude(mutate);
        assert_eq!(
            rsp.kind,
            HandshakeType::Rejection(reason.code()),
            "{reason}"
        );
    }
    // Unchanged, it is a request.
    assert_eq!(conclude(|_| {}).kind, HandshakeType::Conclusion);
}

#[test]
fn backlog_is_bounded() {
    let mut p = Pair::new(
        caller("x"),
        ListenerConfig {
            max_pending: 0,
            ..ListenerConfig::default()
        },
        Policy::Hold,
    );
    p.run_for(Duration::from_millis(300));
    assert!(matches!(
        p.listener_events[0],
        ListenerEvent::Rejected {
            reason: RejectReason::Backlog,
            ..
        }
    ));
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::Rejected(RejectReason::Backlog))]
    );
}

fn hs_packet(hs: &Handshake) -> Vec<u8> {
    Packet::Control(ControlPacket {
        timestamp: 0,
        dest_socket_id: 0,
        control: Control::Handshake(hs.clone()),
    })
    .to_bytes()
}

fn request(socket_id: u32, kind: HandshakeType, cookie: u32) -> Handshake {
    Handshake {
        version: if kind == HandshakeType::Induction {
            4
        } else {
            5
        },
        encryption: 0,
        extension_field: if kind == HandshakeType::Induction {
            2
        } else {
            EXT_HSREQ
        },
        initial_seq: ferromtx_srt::seq::SeqNumber::new(1),
        mtu: 1500,
        flow_window: 8192,
        kind,
        socket_id,
        syn_cookie: cookie,
        peer_ip: [0; 16],
        extensions: if kind == HandshakeType::Induction {
            vec![]
        } else {
            vec![Extension::HsReq(SrtHs {
                version: 0x0001_0501,
                flags: 0x3f,
                recv_delay_ms: 120,
                send_delay_ms: 120,
            })]
        },
    }
}

/// Induction from `from`, answered with a cookie.
fn cookie_for(l: &mut Listener, now: std::time::Instant, from: &str, socket_id: u32) -> u32 {
    l.handle_datagram(
        now,
        addr(from),
        &hs_packet(&request(socket_id, HandshakeType::Induction, 0)),
    );
    let t = l.poll_transmit().unwrap();
    assert_eq!(t.destination, addr(from));
    match Packet::parse(&t.payload) {
        Ok(Packet::Control(ControlPacket {
            control: Control::Handshake(h),
            dest_socket_id,
            ..
        })) => {
            assert_eq!(dest_socket_id, socket_id);
            h.syn_cookie
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cookies_are_bound_to_the_address_and_expire() {
    let t0 = std::time::Instant::now();
    let mut l = Listener::new(t0, ListenerConfig::default(), [9; 32]);
    let a = "10.0.0.1:1000";
    let b = "10.0.0.1:1001";
    let ca = cookie_for(&mut l, t0, a, 5);
    let cb = cookie_for(&mut l, t0, b, 5);
    assert_ne!(ca, cb);
    // Another address's cookie does not work.
    let conclusion = hs_packet(&request(5, HandshakeType::Conclusion, cb));
    l.handle_datagram(t0, addr(a), &conclusion);
    assert!(matches!(
        l.poll_event(),
        Some(ListenerEvent::Rejected {
            reason: RejectReason::Rogue,
            ..
        })
    ));
    // Its own still works 90 s later (previous minute), same socket id, other address.
    let later = t0 + Duration::from_secs(90);
    l.handle_datagram(later, addr(b), &conclusion);
    let Some(ListenerEvent::Request(r)) = l.poll_event() else {
        panic!()
    };
    assert_eq!(r.peer, addr(b));
    // Two minutes on, a cookie is stale.
    let c = hs_packet(&request(6, HandshakeType::Conclusion, ca));
    l.handle_datagram(t0 + Duration::from_secs(150), addr(a), &c);
    assert!(matches!(
        l.poll_event(),
        Some(ListenerEvent::Rejected {
            reason: RejectReason::Rogue,
            ..
        })
    ));
}

#[test]
fn callers_are_told_apart_by_address_and_socket_id() {
    let t0 = std::time::Instant::now();
    let mut l = Listener::new(t0, ListenerConfig::default(), [9; 32]);
    let mut ids = Vec::new();
    for (from, sid) in [
        ("10.0.0.1:1000", 5),
        ("10.0.0.2:1000", 5),
        ("10.0.0.1:1000", 6),
    ] {
        let cookie = cookie_for(&mut l, t0, from, sid);
        l.handle_datagram(
            t0,
            addr(from),
            &hs_packet(&request(sid, HandshakeType::Conclusion, cookie)),
        );
        let Some(ListenerEvent::Request(r)) = l.poll_event() else {
            panic!()
        };
        ids.push(r.id);
    }
    assert_eq!(l.pending(), 3);
    ids.sort_by_key(|i| i.0);
    ids.dedup();
    assert_eq!(ids.len(), 3);
    // Accepted connections get distinct socket ids; a rejected request disappears.
    let c0 = l.accept(t0, ids[0], None).unwrap();
    let c1 = l.accept(t0, ids[1], None).unwrap();
    assert_ne!(c0.local_socket_id(), c1.local_socket_id());
    l.reject(t0, ids[2], RejectReason::Peer);
    assert_eq!(l.pending(), 0);
    assert!(matches!(
        l.accept(t0, ids[2], None),
        Err(ferromtx_srt::AcceptError::UnknownRequest(_))
    ));
}
