//! SRT: any datagram, into the listener or into either side of a connected pair, never
//! panics; packets that parse survive write and parse unchanged.
//!
//! The input is a parsed packet first, then a script of datagrams:
//! `[target][len hi][len lo][bytes...]` repeated, target 0 = listener, 1 = the listener's
//! connection, 2 = the caller (destination socket ids are patched so they get past routing).
//! Bit 3 of the first target byte picks an encrypted pair. Pairs are built once and cloned.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ferromtx_srt::packet::Packet;
use ferromtx_srt::{
    CallerConfig, Connection, Listener, ListenerConfig, ListenerEvent, destination_socket_id,
};

const CALLER: &str = "127.0.0.1:5000";
const SERVER: &str = "127.0.0.1:8890";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("constant address")
}

const PASSPHRASE: &str = "fuzz passphrase";

type Trio = (Listener, Connection, Connection);

/// Runs a handshake in memory and returns the listener, its connection and the caller.
fn connected(now: Instant, encrypted: bool) -> Option<Trio> {
    let mut listener = Listener::new(now, ListenerConfig::default(), [1; 32]);
    let config = CallerConfig {
        stream_id: Some("publish:fuzz".into()),
        passphrase: encrypted.then(|| PASSPHRASE.to_owned()),
        ..CallerConfig::default()
    };
    let mut caller = Connection::connect(now, addr(SERVER), config, [2; 32]).ok()?;
    let mut server: Option<Connection> = None;
    for _ in 0..8 {
        while let Some(d) = caller.poll_transmit() {
            match (destination_socket_id(&d), server.as_mut()) {
                (Some(0), _) | (_, None) => listener.handle_datagram(now, addr(CALLER), &d),
                (_, Some(s)) => s.handle_datagram(now, &d),
            }
        }
        while let Some(ListenerEvent::Request(r)) = listener.poll_event() {
            server = listener
                .accept(now, r.id, encrypted.then_some(PASSPHRASE))
                .ok();
        }
        while let Some(t) = listener.poll_transmit() {
            caller.handle_datagram(now, &t.payload);
        }
        if let Some(s) = server.as_mut() {
            while let Some(d) = s.poll_transmit() {
                caller.handle_datagram(now, &d);
            }
        }
    }
    Some((listener, server?, caller))
}

fn drain(c: &mut Connection, now: Instant) {
    c.handle_timeout(now);
    while c.poll_transmit().is_some() {}
    while c.poll_event().is_some() {}
    let _ = c.poll_timeout();
    let _ = c.stats();
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(p) = Packet::parse(data) {
        let wire = p.to_bytes();
        assert_eq!(
            Packet::parse(&wire).expect("re-parse of a written packet"),
            p
        );
    }
    static PAIRS: OnceLock<(Instant, Option<Trio>, Option<Trio>)> = OnceLock::new();
    let (t0, plain, encrypted) = PAIRS.get_or_init(|| {
        let t0 = Instant::now();
        (t0, connected(t0, false), connected(t0, true))
    });
    let pair = if data.first().is_some_and(|b| b & 8 != 0) {
        encrypted
    } else {
        plain
    };
    let Some((mut listener, mut server, mut caller)) = pair.clone() else {
        return;
    };
    let t0 = *t0;
    let mut now = t0;
    let mut rest = data;
    while rest.len() >= 3 {
        let target = rest[0] % 3;
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]])) % 1600;
        rest = &rest[3..];
        let n = len.min(rest.len());
        let mut d = rest[..n].to_vec();
        rest = &rest[n..];
        now += Duration::from_millis(u64::from(rest.first().copied().unwrap_or(0) % 50));
        match target {
            0 => {
                listener.handle_datagram(now, addr(CALLER), &d);
                while let Some(e) = listener.poll_event() {
                    if let ListenerEvent::Request(r) = e {
                        let _ = listener.accept(now, r.id, Some(PASSPHRASE));
                        listener.reject(now, r.id, ferromtx_srt::RejectReason::Peer);
                    }
                }
                while listener.poll_transmit().is_some() {}
            }
            1 => {
                if let Some(dest) = d.get_mut(12..16) {
                    dest.copy_from_slice(&server.local_socket_id().to_be_bytes());
                }
                server.handle_datagram(now, &d);
                let _ = server.send(now, &d[..d.len().min(1316)]);
                drain(&mut server, now);
            }
            _ => {
                if let Some(dest) = d.get_mut(12..16) {
                    dest.copy_from_slice(&caller.local_socket_id().to_be_bytes());
                }
                caller.handle_datagram(now, &d);
                drain(&mut caller, now);
            }
        }
    }
}
