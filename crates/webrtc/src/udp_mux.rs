//! One UDP socket for all sessions (`webrtcLocalUDPAddress`). Datagrams from a new
//! remote address are routed by the STUN USERNAME (our ufrag) of a binding request;
//! after that by remote address. Anything unroutable is dropped and counted.
//!
//! I/O is batched with quinn-udp: received datagrams come several per system call
//! (recvmmsg, GRO), and the datagrams a session has for one peer leave in one call (GSO).

use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use tokio::io::Interest;
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

/// A packet handed to a session: a UDP datagram or an ICE-TCP frame.
#[derive(Debug)]
pub struct Datagram {
    pub received: Instant,
    pub source: SocketAddr,
    /// The local address it was sent to, when the socket tells (a socket bound to an
    /// unspecified address serves several candidate addresses).
    pub destination: Option<IpAddr>,
    pub data: Vec<u8>,
    /// Set when it came on an ICE-TCP connection: where the session writes back.
    pub tcp: Option<crate::tcp_mux::TcpPath>,
}

/// Where a session's datagrams go. Boxed: a channel allocates its slots in blocks of 32, and
/// 32 boxes take 256 bytes of every session's memory where 32 datagrams took 4 KB; a
/// viewer sends a few datagrams a second, so the box costs nothing that shows.
pub type DatagramTx = mpsc::Sender<Box<Datagram>>;
pub type DatagramRx = mpsc::Receiver<Box<Datagram>>;

/// Counters of the mux.
#[derive(Debug, Default)]
pub struct MuxCounters {
    pub received: AtomicU64,
    /// Datagrams that matched no session (garbage, stale peers, scans).
    pub dropped_unroutable: AtomicU64,
    /// Datagrams dropped because their session's queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Send calls (one carries several datagrams to one peer with GSO) and datagrams sent.
    pub send_calls: AtomicU64,
    pub datagrams_sent: AtomicU64,
    /// ICE-TCP connections that opened with a binding request for a live session, and
    /// those closed for not doing so.
    pub tcp_connections: AtomicU64,
    pub tcp_refused: AtomicU64,
}

/// Socket buffer sizes asked for (the kernel may give less).
const SOCKET_BUFFER: usize = 8 * 1024 * 1024;

/// Receive buffers handed to the kernel per call (recvmmsg).
const RECV_BATCH: usize = 8;

/// Where packets of every transport find their session: the live sessions by ufrag and
/// the UDP peers bound to them.
#[derive(Debug, Default)]
pub struct Router {
    demux: Mutex<Demux<DatagramTx>>,
    counters: MuxCounters,
}

impl Router {
    pub fn counters(&self) -> &MuxCounters {
        &self.counters
    }

    pub fn register(&self, ufrag: String, tx: DatagramTx) {
        self.with_demux(|d| d.register(ufrag, tx));
    }

    pub fn unregister(&self, ufrag: &str) {
        self.with_demux(|d| d.unregister(ufrag));
    }

    pub fn session_count(&self) -> usize {
        self.with_demux(|d| d.session_count())
    }

    /// The session whose local ufrag this is (ICE-TCP connections are routed once, by the
    /// binding request that opens them).
    pub fn session(&self, ufrag: &str) -> Option<DatagramTx> {
        self.with_demux(|d| d.by_ufrag.get(ufrag).cloned())
    }

    fn with_demux<R>(&self, f: impl FnOnce(&mut Demux<DatagramTx>) -> R) -> R {
        match self.demux.lock() {
            Ok(mut d) => f(&mut d),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    fn dispatch(&self, now: Instant, source: SocketAddr, dst: Option<IpAddr>, data: &[u8]) {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        // A v4 peer of a dual-stack socket shows as ::ffff:a.b.c.d.
        let source = ferromtx_net::canonical(source);
        let dst = dst.map(|ip| ip.to_canonical());
        match self.with_demux(|d| d.route(source, data)) {
            Route::Session(tx) => {
                let dgram = Box::new(Datagram {
                    received: now,
                    source,
                    destination: dst,
                    data: data.to_vec(),
                    tcp: None,
                });
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

/// The shared ICE/UDP socket (the driver).
#[derive(Debug)]
pub struct UdpMux {
    /// Taken out by [`UdpMux::close`]: the socket closes when the sends in flight end.
    socket: std::sync::RwLock<Option<Arc<UdpSocket>>>,
    /// Batched I/O (recvmmsg with GRO, sendmsg with GSO) on `socket`.
    state: UdpSocketState,
    /// The socket is bound to an unspecified address: sends name their source.
    unspecified: bool,
    router: Arc<Router>,
}

impl UdpMux {
    /// Binds the ICE/UDP socket; `read_buffer` is `udpReadBufferSize` (0: as large as the
    /// system lets).
    pub async fn bind(
        addr: SocketAddr,
        read_buffer: usize,
        router: Arc<Router>,
    ) -> io::Result<Arc<UdpMux>> {
        let socket = ferromtx_net::bind_udp_addr(addr)?;
        let state = UdpSocketState::new((&socket).into())?;
        let receive = if read_buffer > 0 {
            // Asked for in the configuration: exactly that, or the server does not start.
            ferromtx_net::set_read_buffer(&socket, read_buffer)?;
            Ok(())
        } else {
            state.set_recv_buffer_size((&socket).into(), SOCKET_BUFFER)
        };
        // Hundreds of peers handshaking at once arrive in bursts; the default buffers
        // (~200 KiB) overflow before the receive loop runs. The kernel caps these at
        // net.core.rmem_max / wmem_max.
        for (what, result) in [
            ("receive", receive),
            (
                "send",
                state.set_send_buffer_size((&socket).into(), SOCKET_BUFFER),
            ),
        ] {
            if let Err(e) = result {
                tracing::debug!("ICE/UDP {what} buffer not enlarged: {e}");
            }
        }
        Ok(Arc::new(UdpMux {
            socket: std::sync::RwLock::new(Some(Arc::new(socket))),
            state,
            unspecified: addr.ip().is_unspecified(),
            router,
        }))
    }

    fn socket(&self) -> Option<Arc<UdpSocket>> {
        self.socket
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Releases the socket (the receive loop must be stopped first): sends after this
    /// are dropped.
    pub fn close(&self) {
        self.socket
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.socket() {
            Some(s) => s.local_addr(),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "ICE/UDP socket closed",
            )),
        }
    }

    fn counters(&self) -> &MuxCounters {
        &self.router.counters
    }

    /// How many datagrams of one size one send call may carry to one peer (1 without GSO).
    pub fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Sends `datagrams` (consecutive slices of `contents`, each `segment` bytes but the
    /// last, which may be shorter) to `destination` in one call. A full socket buffer waits
    /// for room; any other error drops them (UDP) and is logged at debug level.
    pub async fn send(
        &self,
        destination: SocketAddr,
        source: SocketAddr,
        contents: &[u8],
        segment: usize,
    ) {
        let Some(socket) = self.socket() else {
            return;
        };
        let count = contents.len().div_ceil(segment.max(1));
        let transmit = Transmit {
            destination,
            ecn: None,
            contents,
            segment_size: (count > 1).then_some(segment),
            src_ip: self.unspecified.then_some(source.ip()),
        };
        // Bounded: a socket that stays full for this many rounds drops the datagrams.
        for _ in 0..64 {
            let sent = socket.try_io(Interest::WRITABLE, || {
                self.state.send((&*socket).into(), &transmit)
            });
            match sent {
                Ok(()) => {
                    self.counters().send_calls.fetch_add(1, Ordering::Relaxed);
                    self.counters()
                        .datagrams_sent
                        .fetch_add(count as u64, Ordering::Relaxed);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = socket.writable().await {
                        tracing::debug!("ICE/UDP send to {destination} failed: {e}");
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("ICE/UDP send to {destination} failed: {e}");
                    return;
                }
            }
        }
    }

    /// Starts the receive loop. It ends when the task is aborted.
    pub fn start(self: &Arc<Self>) -> JoinHandle<()> {
        let mux = Arc::clone(self);
        tokio::spawn(async move { mux.run().await })
    }

    async fn run(&self) {
        let Some(socket) = self.socket() else {
            return;
        };
        // With GRO the kernel may join up to `gro_segments` datagrams of one peer in a buffer.
        let slot = self.state.gro_segments().max(1) * MAX_DATAGRAM;
        let mut storage = vec![0u8; slot * RECV_BATCH];
        let mut bufs: Vec<IoSliceMut<'_>> = storage.chunks_mut(slot).map(IoSliceMut::new).collect();
        let mut meta = [RecvMeta::default(); RECV_BATCH];
        loop {
            if let Err(e) = socket.readable().await {
                tracing::debug!("ICE/UDP receive error: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                continue;
            }
            let received = socket.try_io(Interest::READABLE, || {
                self.state.recv((&*socket).into(), &mut bufs, &mut meta)
            });
            let n = match received {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    // ICMP errors (e.g. port unreachable) surface here on some systems;
                    // back off a little so a persistent error cannot spin.
                    tracing::debug!("ICE/UDP receive error: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    continue;
                }
            };
            let now = Instant::now();
            for (m, buf) in meta.iter().zip(bufs.iter()).take(n) {
                if m.len == 0 {
                    // An empty datagram is still one (and garbage).
                    self.router.dispatch(now, m.addr, m.dst_ip, &[]);
                    continue;
                }
                let stride = if m.stride == 0 { m.len } else { m.stride };
                for data in buf[..m.len].chunks(stride) {
                    self.router.dispatch(now, m.addr, m.dst_ip, data);
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
