//! Measures heap bytes per server session (counting allocator), idle and at
//! 1 Mbit/s of 1200-byte packets with the default NACK cache settings.
//!
//! `cargo run -p ferromtx-webrtc --example session_memory`
#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use ferromtx_net::sys::CountingAlloc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Pair, h264, payload};
use ferromtx_webrtc::{EgressItem, EgressPacket, Session, SessionConfig};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::new();

const SESSIONS: usize = 20;

/// Heap bytes held by the server sessions alone: drop them, keep the clients.
fn per_session(pairs: Vec<Pair>) -> isize {
    let (servers, clients): (Vec<Session>, Vec<_>) =
        pairs.into_iter().map(Pair::into_parts).unzip();
    let before = GLOBAL.live_bytes();
    drop(servers);
    let after = GLOBAL.live_bytes();
    drop(clients);
    (before - after) / SESSIONS as isize
}

fn connected_pairs(config: &SessionConfig) -> Vec<Pair> {
    let now = Instant::now();
    (0..SESSIONS)
        .map(|i| {
            let mut p = Pair::whep_with(now, &[h264()], 6000 + i as u16, config.clone());
            p.connect();
            p
        })
        .collect()
}

fn main() {
    println!("sessions measured: {SESSIONS} (Rust heap only; aws-lc's C heap is not counted)");
    let idle = per_session(connected_pairs(&SessionConfig::default()));
    println!("bytes per connected idle session: {idle}");
    for (packets, age_ms) in [
        (128, 1000),
        (64, 1000),
        (64, 500),
        (256, 1000),
        (1024, 3000),
    ] {
        let config = SessionConfig {
            rtx_cache_packets: packets,
            rtx_cache_age: Duration::from_millis(age_ms),
            ..SessionConfig::default()
        };
        let (busy, received) = busy_session(&config);
        println!(
            "1 Mbit/s of 1200-byte packets for 3 s, rtx cache {packets} packets / {age_ms} ms: \
             {busy} bytes per session (shared payloads excluded), {received} packets received"
        );
    }
}

/// 1 Mbit/s: one 5-packet unit of 1200-byte payloads every 48 ms, for 3 s.
fn busy_session(config: &SessionConfig) -> (isize, usize) {
    let mut pairs = connected_pairs(config);
    let mut held = Vec::new();
    let step = Duration::from_millis(48);
    for u in 0..63u32 {
        let packets: Vec<EgressPacket> = (0..5)
            .map(|k| EgressPacket {
                marker: k == 4,
                timestamp: u * 4320,
                payload: payload(u as usize * 5 + k, 1200),
            })
            .collect();
        let item = EgressItem {
            track: 0,
            wallclock: pairs[0].now,
            packets: Arc::from(packets),
        };
        for p in &mut pairs {
            p.server.write(&item);
            p.advance(step);
        }
        // The stream's shared view keeps payloads alive; they are not per viewer.
        held.push(item);
    }
    let received: usize = pairs
        .iter()
        .map(|p| {
            p.client_events
                .iter()
                .filter(|e| matches!(e, str0m::Event::RtpPacket(_)))
                .count()
        })
        .sum();
    let busy = per_session(pairs);
    drop(held);
    (busy, received)
}
