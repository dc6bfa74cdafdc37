//! One UDP socket for all sessions (`webrtcLocalUDPAddress`). Datagrams from a new
//! remote address are routed by the STUN USERNAME (our ufrag) of a binding request;
//! after that by remote address. Anything unroutable is dropped and counted.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::stun;

/// Largest datagram we accept; bigger ones are truncated by the kernel and then
/// fail str0m's checks.
const MAX_DATAGRAM: usize = 2048;

/// Where a datagram goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<K> {
    Session(K),
    Unroutable,
}

/// The routing table (sans-IO).
#[derive(Debug)]
pub struct Demux<K> {
    by_ufrag: HashMap<String, K>,
    by_addr: HashMap<SocketAddr, (String, K)>,
}

impl<K> Default for Demux<K> {
    fn default() -> Self {
        Demux {
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
        }
    }
}

impl<K: Clone> Demux<K> {
    /// Sessions are known by their local ICE ufrag.
    pub fn register(&mut self, ufrag: String, key: K) {
        self.by_ufrag.insert(ufrag, key);
    }

    /// Forgets a session and every remote address bound to it.
    pub fn unregister(&mut self, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
        self.by_addr.retain(|_, (u, _)| u != ufrag);
    }

    pub fn session_count(&self) -> usize {
        self.by_ufrag.len()
    }

    /// Routes one datagram. A binding request naming a known ufrag (re)binds its source
    /// address to that session, so a peer may change address (ICE restart, NAT rebind).
    pub fn route(&mut self, source: SocketAddr, data: &[u8]) -> Route<K> {
        if let Some(ufrag) = stun::binding_request_local_ufrag(data) {
            if let Some(key) = self.by_ufrag.get(ufrag) {
                let key = key.clone();
                self.by_addr.insert(source, (ufrag.to_owned(), key.clone()));
                return Route::Session(key);
            }
            return Route::Unroutable;
        }
        match self.by_addr.get(&source) {
            Some((_, key)) if stun::classify(data) != stun::DatagramKind::Unknown => {
                Route::Session(key.clone())
            }
            _ => Route::Unroutable,
        }
    }
}

/// A datagram handed to a session.
#[derive(Debug)]
pub struct Datagram {
    pub received: Instant,
    pub source: SocketAddr,
    pub data: Vec<u8>,
}

/// Counters of the mux.
#[derive(Debug, Default)]
pub struct MuxCounters {
    pub received: AtomicU64,
    /// Datagrams that matched no session (garbage, stale peers, scans).
    pub dropped_unroutable: AtomicU64,
    /// Datagrams dropped because their session's queue was full.
    pub dropped_queue_full: AtomicU64,
}

/// The shared ICE/UDP socket and its routing table (the driver).
#[derive(Debug)]
pub struct UdpMux {
    socket: Arc<UdpSocket>,
    demux: Mutex<Demux<mpsc::Sender<Datagram>>>,
    counters: MuxCounters,
}

impl UdpMux {
    pub async fn bind(addr: SocketAddr) -> io::Result<Arc<UdpMux>> {
        let socket = UdpSocket::bind(addr).await?;
        Ok(Arc::new(UdpMux {
            socket: Arc::new(socket),
            demux: Mutex::new(Demux::default()),
            counters: MuxCounters::default(),
        }))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn socket(&self) -> &Arc<UdpSocket> {
        &self.socket
    }

    pub fn counters(&self) -> &MuxCounters {
        &self.counters
    }

    pub fn register(&self, ufrag: String, tx: mpsc::Sender<Datagram>) {
        self.with_demux(|d| d.register(ufrag, tx));
    }

    pub fn unregister(&self, ufrag: &str) {
        self.with_demux(|d| d.unregister(ufrag));
    }

    pub fn session_count(&self) -> usize {
        self.with_demux(|d| d.session_count())
    }

    fn with_demux<R>(&self, f: impl FnOnce(&mut Demux<mpsc::Sender<Datagram>>) -> R) -> R {
        match self.demux.lock() {
            Ok(mut d) => f(&mut d),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Starts the receive loop. It ends when the task is aborted.
    pub fn start(self: &Arc<Self>) -> JoinHandle<()> {
        let mux = Arc::clone(self);
        tokio::spawn(async move { mux.run().await })
    }

    async fn run(&self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let (n, source) = match self.socket.recv_from(&mut buf).await {
                Ok(v) => v,
                Err(e) => {
                    // ICMP errors (e.g. port unreachable) surface here on some systems;
                    // back off a little so a persistent error cannot spin.
                    tracing::debug!("ICE/UDP receive error: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    continue;
                }
            };
            self.counters.received.fetch_add(1, Ordering::Relaxed);
            let data = &buf[..n];
            let route = self.with_demux(|d| d.route(source, data));
            match route {
                Route::Session(tx) => {
                    let dgram = Datagram {
                        received: Instant::now(),
                        source,
                        data: data.to_vec(),
                    };
                    if tx.try_send(dgram).is_err() {
                        self.counters
                            .dropped_queue_full
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
                Route::Unroutable => {
                    self.counters
                        .dropped_unroutable
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stun::binding_request;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn routes_by_ufrag_then_by_address() {
        let mut d = Demux::default();
        d.register("aaaa".into(), 1);
        d.register("bbbb".into(), 2);
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        // Unknown address, not STUN: dropped.
        assert_eq!(d.route(addr(5000), &rtp), Route::Unroutable);
        assert_eq!(
            d.route(addr(5000), &binding_request("bbbb:x")),
            Route::Session(2)
        );
        assert_eq!(d.route(addr(5000), &rtp), Route::Session(2));
        // A STUN for an unknown ufrag is dropped.
        assert_eq!(
            d.route(addr(5001), &binding_request("cccc:x")),
            Route::Unroutable
        );
        // Garbage from a known address is dropped too.
        assert_eq!(d.route(addr(5000), &[0xff, 1, 2]), Route::Unroutable);
        d.unregister("bbbb");
        assert_eq!(d.route(addr(5000), &rtp), Route::Unroutable);
        assert_eq!(d.session_count(), 1);
    }

    #[test]
    fn binding_request_rebinds_address() {
        let mut d = Demux::default();
        d.register("aaaa".into(), 1);
        d.register("bbbb".into(), 2);
        d.route(addr(6000), &binding_request("aaaa:x"));
        d.route(addr(6000), &binding_request("bbbb:y"));
        assert_eq!(d.route(addr(6000), &[22, 1, 2]), Route::Session(2));
    }
}
