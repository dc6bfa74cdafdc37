//! Heap bytes and server CPU time per WHEP viewer of a core stream, with payloads shared
//! through the core's egress view (counting allocator; sans-IO pairs, simulated time).
//!
//! `CARGO_TARGET_DIR=target/h-webrtc cargo run -p ferromtx-webrtc --example core_viewers`
#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use ferromtx_net::sys::CountingAlloc;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Pair, h264, payload};
use ferromtx_codec::rtp;
use ferromtx_core::{Described, PathManager, PathRequest, Track, Unit};
use ferromtx_webrtc::session::Output;
use ferromtx_webrtc::{
    AccessRequest, Backend, CoreBackend, CoreSource, Credentials, EgressSource, SessionConfig,
};
use str0m::net::{Protocol, Receive};
use str0m::{Event, Input};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::new();

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    ferromtx_net::sys::thread_cpu_time()
}

fn access(session: usize, publish: bool) -> AccessRequest {
    AccessRequest {
        path: "cam".into(),
        query: String::new(),
        publish,
        ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        user_agent: None,
        credentials: Credentials::default(),
        session_id: format!("viewer-{session}"),
        offered_audio: None,
    }
}

const UNITS: u32 = 63;
const PACKETS_PER_UNIT: usize = 5;
const PAYLOAD: usize = 1188;
const STEP: Duration = Duration::from_millis(48);

struct Report {
    per_viewer: isize,
    shared: isize,
    cpu_per_packet: Duration,
    received: usize,
}

/// `viewers` sans-IO WHEP sessions read a core stream carrying 1 Mbit/s for 3 s (5
/// packets of 1188 bytes every 48 ms).
async fn run(viewers: usize) -> Report {
    let conf = Arc::new(
        ferromtx_conf::load_from_str("paths:\n  all_others:\n", &|_| None)
            .unwrap()
            .conf,
    );
    let auth = Arc::new(ferromtx_auth::Manager::new(&conf));
    let paths = Arc::new(PathManager::new(conf, auth));
    let backend = CoreBackend::new(Arc::clone(&paths));
    let publisher = paths
        .add_publisher(PathRequest {
            name: "cam".into(),
            query: String::new(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            credentials: ferromtx_auth::Credentials::default(),
            protocol: ferromtx_auth::Protocol::Rtsp,
            who: Described {
                kind: "rtspSession".into(),
                id: "pub".into(),
            },
            skip_auth: true,
        })
        .await
        .unwrap();
    let stream = publisher.start(vec![Track { format: h264() }]).unwrap();
    let base = GLOBAL.live_bytes();

    let now = Instant::now();
    let mut sources: Vec<CoreSource> = Vec::new();
    let mut pairs: Vec<Pair> = Vec::new();
    for i in 0..viewers {
        sources.push(backend.open_reader(&access(i, false)).await.unwrap());
        let mut p = Pair::whep_with(now, &[h264()], 6000 + i as u16, SessionConfig::default());
        p.connect();
        pairs.push(p);
    }
    let mut cpu = Duration::ZERO;
    let mut received = 0;
    let mut seq = 0u16;
    for u in 0..UNITS {
        let packets = (0..PACKETS_PER_UNIT)
            .map(|k| {
                seq = seq.wrapping_add(1);
                rtp::Packet {
                    marker: k + 1 == PACKETS_PER_UNIT,
                    payload_type: 96,
                    sequence_number: seq,
                    timestamp: u * 4320,
                    ssrc: 1,
                    csrc: Vec::new(),
                    extension: None,
                    payload: Bytes::from(payload(u as usize * 5 + k, PAYLOAD).to_vec()),
                }
            })
            .collect();
        stream
            .write(Unit {
                track: 0,
                pts: i64::from(u) * 4320,
                rtp_packets: packets,
                random_access: u == 0,
                ..Unit::default()
            })
            .unwrap();
        for (source, p) in sources.iter_mut().zip(pairs.iter_mut()) {
            // Server side, timed: read the shared view, rewrite headers, encrypt.
            let t0 = thread_cpu();
            let item = source.next().await.unwrap();
            let now = p.now;
            p.server.write(&item);
            p.server.handle_timeout(now);
            let mut out = Vec::new();
            loop {
                match p.server.poll_output(now) {
                    Output::Transmit(t) => out.push(t.contents.to_vec()),
                    Output::Event(_) => {}
                    Output::Timeout(_) => break,
                }
            }
            cpu += thread_cpu() - t0;
            // Client side, untimed.
            for data in out {
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source: p.server_addr,
                        destination: p.client_addr,
                        contents: (&data[..]).try_into().unwrap(),
                    },
                );
                p.client.handle_input(input).unwrap();
                while let Ok(o) = p.client.poll_output() {
                    match o {
                        str0m::Output::Transmit(t) => {
                            p.server.handle_datagram(now, p.client_addr, &t.contents)
                        }
                        str0m::Output::Event(Event::RtpPacket(_)) => received += 1,
                        str0m::Output::Event(_) => {}
                        str0m::Output::Timeout(_) => break,
                    }
                }
            }
            p.advance(STEP);
            p.client_events.clear();
        }
    }
    let (servers, clients): (Vec<_>, Vec<_>) = pairs.into_iter().map(Pair::into_parts).unzip();
    let before = GLOBAL.live_bytes();
    drop(servers);
    drop(sources);
    let after = GLOBAL.live_bytes();
    drop(clients);
    let shared = GLOBAL.live_bytes() - base;
    drop(stream);
    drop(publisher);
    let packets = (UNITS as usize * PACKETS_PER_UNIT * viewers) as u32;
    Report {
        per_viewer: (before - after) / viewers as isize,
        shared,
        cpu_per_packet: cpu / packets.max(1),
        received,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!(
        "1 Mbit/s (5 x {PAYLOAD}-byte payloads every 48 ms) for 3 s through a core stream; \
         Rust heap only (aws-lc's C heap is not counted)"
    );
    for viewers in [1, 16, 64] {
        let r = run(viewers).await;
        println!(
            "{viewers:>3} viewers: {} bytes per viewer (session + reader), {} bytes shared by \
             the stream (ring + egress view), server CPU {:?} per packet per viewer, {} of {} \
             packets received",
            r.per_viewer,
            r.shared,
            r.cpu_per_packet,
            r.received,
            UNITS as usize * PACKETS_PER_UNIT * viewers
        );
    }
}
