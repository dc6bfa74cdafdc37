//! A caller and a listener joined by a simulated network (loss, delay, jitter, filters),
//! run in simulated time.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferromtx_srt::packet::{Packet, destination_socket_id};
use ferromtx_srt::{
    AcceptError, CallerConfig, Connection, Event, Listener, ListenerConfig, ListenerEvent,
    RejectReason,
};

pub const CLIENT: &str = "10.0.0.1:5000";
pub const SERVER: &str = "10.0.0.2:8890";

/// Deterministic pseudo-random numbers for the network.
pub struct XorShift(u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    ToServer,
    ToClient,
}

/// One direction of the link.
#[derive(Clone, Copy, Debug)]
pub struct LinkModel {
    pub loss: f64,
    pub delay: Duration,
    pub jitter: Duration,
}

impl Default for LinkModel {
    fn default() -> Self {
        Self {
            loss: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
        }
    }
}

/// How the server side decides on requests.
pub enum Policy {
    Accept(Option<String>),
    Reject(RejectReason),
    /// Leave requests pending.
    Hold,
}

/// Decides whether a datagram survives (true) or is dropped.
pub type Filter = Box<dyn FnMut(Dir, &[u8]) -> bool>;

pub struct Pair {
    pub t0: Instant,
    pub now: Instant,
    pub listener: Listener,
    pub server: Option<Connection>,
    pub client: Connection,
    pub policy: Policy,
    pub to_server: LinkModel,
    pub to_client: LinkModel,
    /// Return false to drop a datagram (after the random loss).
    pub filter: Filter,
    pub rng: XorShift,
    flight: Vec<(Instant, u64, Dir, Vec<u8>)>,
    order: u64,
    pub server_events: Vec<Event>,
    pub client_events: Vec<Event>,
    pub listener_events: Vec<ListenerEvent>,
    pub accept_errors: Vec<AcceptError>,
    /// Every datagram that entered the network.
    pub wire: Vec<(Dir, Vec<u8>)>,
    pub keep_wire: bool,
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl Pair {
    pub fn new(client: CallerConfig, server: ListenerConfig, policy: Policy) -> Self {
        let t0 = Instant::now();
        let listener = Listener::new(t0, server, [1; 32]);
        let client = Connection::connect(t0, addr(SERVER), client, [2; 32]).unwrap();
        Self {
            t0,
            now: t0,
            listener,
            server: None,
            client,
            policy,
            to_server: LinkModel::default(),
            to_client: LinkModel::default(),
            filter: Box::new(|_, _| true),
            rng: XorShift(0x9E37_79B9_7F4A_7C15),
            flight: Vec::new(),
            order: 0,
            server_events: Vec::new(),
            client_events: Vec::new(),
            listener_events: Vec::new(),
            accept_errors: Vec::new(),
            wire: Vec::new(),
            keep_wire: false,
        }
    }

    fn emit(&mut self, dir: Dir, d: Vec<u8>) {
        if self.keep_wire {
            self.wire.push((dir, d.clone()));
        }
        let m = match dir {
            Dir::ToServer => self.to_server,
            Dir::ToClient => self.to_client,
        };
        if self.rng.chance(m.loss) || !(self.filter)(dir, &d) {
            return;
        }
        let jitter = if m.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_micros(self.rng.next() % m.jitter.as_micros() as u64)
        };
        self.order += 1;
        self.flight
            .push((self.now + m.delay + jitter, self.order, dir, d));
    }

    /// Moves everything queued into the network and handles decisions.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(d) = self.client.poll_transmit() {
                self.emit(Dir::ToServer, d);
                moved = true;
            }
            while let Some(t) = self.listener.poll_transmit() {
                assert_eq!(t.destination, addr(CLIENT));
                self.emit(Dir::ToClient, t.payload);
                moved = true;
            }
            while let Some(d) = self.server.as_mut().and_then(Connection::poll_transmit) {
                self.emit(Dir::ToClient, d);
                moved = true;
            }
            while let Some(e) = self.listener.poll_event() {
                if let ListenerEvent::Request(r) = &e {
                    let decision = match &self.policy {
                        Policy::Accept(pass) => Some(Ok(pass.clone())),
                        Policy::Reject(reason) => Some(Err(*reason)),
                        Policy::Hold => None,
                    };
                    match decision {
                        Some(Ok(pass)) => {
                            match self.listener.accept(self.now, r.id, pass.as_deref()) {
                                Ok(c) => self.server = Some(c),
                                Err(err) => {
                                    let reason = err.reject_reason();
                                    self.accept_errors.push(err);
                                    self.listener.reject(self.now, r.id, reason);
                                }
                            }
                        }
                        Some(Err(reason)) => self.listener.reject(self.now, r.id, reason),
                        None => {}
                    }
                }
                self.listener_events.push(e);
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
            }
            if let Some(s) = self.server.as_mut() {
                while let Some(e) = s.poll_event() {
                    self.server_events.push(e);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn deliver(&mut self, dir: Dir, d: &[u8]) {
        match dir {
            Dir::ToClient => self.client.handle_datagram(self.now, d),
            Dir::ToServer => {
                let to_listener = destination_socket_id(d) == Some(0);
                match self.server.as_mut() {
                    Some(s) if !to_listener => s.handle_datagram(self.now, d),
                    _ => self.listener.handle_datagram(self.now, addr(CLIENT), d),
                }
            }
        }
    }

    /// Runs until `until`, processing every timer and datagram in order.
    pub fn run_until(&mut self, until: Instant) {
        let mut spins = 0u32;
        let mut last_now = self.now;
        loop {
            if self.now == last_now {
                spins += 1;
                assert!(
                    spins < 100_000,
                    "timers spin without progress at {:?}",
                    self.now - self.t0
                );
            } else {
                spins = 0;
                last_now = self.now;
            }
            self.pump();
            let mut next = until;
            for t in [
                self.client.poll_timeout(),
                self.server.as_ref().and_then(Connection::poll_timeout),
            ]
            .into_iter()
            .flatten()
            {
                next = next.min(t);
            }
            if let Some(&(t, ..)) = self.flight.iter().min_by_key(|(t, o, ..)| (*t, *o)) {
                next = next.min(t);
            }
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            // Deliver every datagram due now, in order.
            while let Some(i) = self
                .flight
                .iter()
                .enumerate()
                .filter(|(_, (t, ..))| *t <= self.now)
                .min_by_key(|(_, (t, o, ..))| (*t, *o))
                .map(|(i, _)| i)
            {
                let (_, _, dir, d) = self.flight.swap_remove(i);
                self.deliver(dir, &d);
                self.pump();
            }
            self.client.handle_timeout(self.now);
            if let Some(s) = self.server.as_mut() {
                s.handle_timeout(self.now);
            }
            self.pump();
            if self.now >= until {
                break;
            }
        }
        self.now = until;
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    pub fn server(&mut self) -> &mut Connection {
        self.server.as_mut().expect("server connection")
    }

    /// Payloads the server delivered, in order.
    pub fn server_data(&self) -> Vec<Vec<u8>> {
        data_of(&self.server_events)
    }

    pub fn client_data(&self) -> Vec<Vec<u8>> {
        data_of(&self.client_events)
    }
}

pub fn data_of(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Data(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect()
}

/// A payload that names its index.
pub fn payload(i: u32, len: usize) -> Vec<u8> {
    let mut p = vec![(i % 251) as u8; len.max(4)];
    p[..4].copy_from_slice(&i.to_be_bytes());
    p
}

pub fn index_of(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
}

/// The data packet of a datagram, if it is one.
pub fn data_seq(d: &[u8]) -> Option<u32> {
    match Packet::parse(d) {
        Ok(Packet::Data(p)) => Some(p.seq.value()),
        _ => None,
    }
}
