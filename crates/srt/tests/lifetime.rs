//! Keepalive, idle timeout and shutdown in simulated time.

mod common;

use std::time::Duration;

use common::*;
use ferromtx_srt::packet::{Control, ControlPacket, Packet};
use ferromtx_srt::{CallerConfig, CloseReason, Event, ListenerConfig};

fn connected() -> Pair {
    let mut p = Pair::new(
        CallerConfig::default(),
        ListenerConfig::default(),
        Policy::Accept(None),
    );
    p.run_for(Duration::from_millis(100));
    assert!(p.client.is_connected() && p.server().is_connected());
    p
}

fn closed(events: &[Event]) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(*r),
        _ => None,
    })
}

fn keepalives(p: &Pair, dir: Dir) -> usize {
    p.wire
        .iter()
        .filter(|(d, w)| {
            *d == dir
                && matches!(
                    Packet::parse(w),
                    Ok(Packet::Control(ControlPacket {
                        control: Control::KeepAlive,
                        ..
                    }))
                )
        })
        .count()
}

#[test]
fn keepalives_hold_an_idle_connection_open() {
    let mut p = connected();
    p.keep_wire = true;
    p.run_for(Duration::from_secs(30));
    assert!(p.client.is_connected() && p.server().is_connected());
    // About one per second each way, nothing else needed.
    assert!((28..=31).contains(&keepalives(&p, Dir::ToServer)));
    assert!((28..=31).contains(&keepalives(&p, Dir::ToClient)));
    assert!(
        p.wire.len() <= 64,
        "an idle connection stays quiet: {}",
        p.wire.len()
    );
}

#[test]
fn a_silent_peer_is_declared_gone_after_the_idle_timeout() {
    let mut p = connected();
    p.to_server.loss = 1.0;
    p.to_client.loss = 1.0;
    p.run_for(Duration::from_millis(4900));
    assert!(p.client.is_connected());
    p.run_for(Duration::from_millis(300));
    assert_eq!(closed(&p.client_events), Some(CloseReason::PeerIdle));
    assert_eq!(closed(&p.server_events), Some(CloseReason::PeerIdle));
    assert_eq!(p.client.poll_timeout(), None);
}

#[test]
fn shutdown_reaches_the_peer_either_way() {
    let mut p = connected();
    let now = p.now;
    p.client.close(now);
    p.run_for(Duration::from_millis(50));
    assert_eq!(closed(&p.client_events), Some(CloseReason::Local));
    assert_eq!(closed(&p.server_events), Some(CloseReason::Shutdown));
    assert!(p.server().is_closed());

    let mut p = connected();
    let now = p.now;
    p.server().close(now);
    p.run_for(Duration::from_millis(50));
    assert_eq!(closed(&p.client_events), Some(CloseReason::Shutdown));
    // Closed connections ignore what still arrives and report nothing more.
    let events = p.client_events.len();
    let now = p.now;
    p.client
        .handle_datagram(now, &[0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    p.client.handle_timeout(now);
    assert_eq!(p.client.poll_event(), None);
    assert_eq!(p.client_events.len(), events);
}

#[test]
fn closing_during_the_handshake_is_quiet() {
    let mut p = Pair::new(
        CallerConfig::default(),
        ListenerConfig::default(),
        Policy::Hold,
    );
    p.run_for(Duration::from_millis(50));
    let now = p.now;
    p.client.close(now);
    p.run_for(Duration::from_millis(50));
    assert_eq!(p.client_events, vec![Event::Closed(CloseReason::Local)]);
}
