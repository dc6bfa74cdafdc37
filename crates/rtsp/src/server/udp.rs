//! The server's UDP sockets (`rtpAddress`, `rtcpAddress`) and the routing of incoming
//! datagrams to the sessions that set up UDP, keyed by the client's address.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};

pub(crate) use crate::datagram::{Channel, Datagram};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest datagram read; bigger ones are truncated by the kernel.
const MAX_DATAGRAM: usize = 65_536;

#[derive(Debug)]
struct Route {
    tx: mpsc::Sender<Datagram>,
    track: usize,
    owner: u64,
}

type RouteMap = HashMap<(Channel, SocketAddr), Route>;

/// The two sockets and the routing table.
#[derive(Debug)]
pub(crate) struct UdpServer {
    pub rtp: Arc<UdpSocket>,
    pub rtcp: Arc<UdpSocket>,
    routes: Arc<Mutex<RouteMap>>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

fn lock(routes: &Mutex<RouteMap>) -> MutexGuard<'_, RouteMap> {
    routes.lock().unwrap_or_else(PoisonError::into_inner)
}

impl UdpServer {
    /// Binds `rtpAddress` and `rtcpAddress` (MediaMTX listen addresses: `:8000` is
    /// dual-stack) with receive buffers of `read_buffer` bytes (0: the system's).
    pub async fn bind(rtp: &str, rtcp: &str, read_buffer: usize) -> io::Result<UdpServer> {
        let rtp = ferromtx_net::bind_udp(rtp).await?;
        let rtcp = ferromtx_net::bind_udp(rtcp).await?;
        if read_buffer > 0 {
            ferromtx_net::set_read_buffer(&rtp, read_buffer)?;
            ferromtx_net::set_read_buffer(&rtcp, read_buffer)?;
        }
        let (rtp, rtcp) = (Arc::new(rtp), Arc::new(rtcp));
        let routes = Arc::new(Mutex::new(RouteMap::new()));
        let tasks = vec![
            tokio::spawn(recv_loop(
                Arc::clone(&rtp),
                Channel::Rtp,
                Arc::clone(&routes),
            )),
            tokio::spawn(recv_loop(
                Arc::clone(&rtcp),
                Channel::Rtcp,
                Arc::clone(&routes),
            )),
        ];
        Ok(UdpServer {
            rtp,
            rtcp,
            routes,
            tasks: std::sync::Mutex::new(tasks),
        })
    }

    pub fn local_addrs(&self) -> io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.rtp.local_addr()?, self.rtcp.local_addr()?))
    }

    /// Sends one datagram on `channel`'s socket to `to`, in the socket's address family.
    pub async fn send(&self, channel: Channel, data: &[u8], to: SocketAddr) -> io::Result<()> {
        let socket = match channel {
            Channel::Rtp => &self.rtp,
            Channel::Rtcp => &self.rtcp,
        };
        let to = ferromtx_net::for_socket(to, socket.local_addr()?);
        socket.send_to(data, to).await.map(drop)
    }

    /// Sends datagrams from `from` on `channel` to `tx`, until [`UdpServer::remove`].
    pub fn add(
        &self,
        owner: u64,
        channel: Channel,
        from: SocketAddr,
        track: usize,
        tx: mpsc::Sender<Datagram>,
    ) {
        lock(&self.routes).insert((channel, from), Route { tx, track, owner });
    }

    /// Removes every route of `owner`.
    pub fn remove(&self, owner: u64) {
        lock(&self.routes).retain(|_, r| r.owner != owner);
    }
}

impl UdpServer {
    /// Stops the receive loops and waits until they have let go of their sockets: once the
    /// server is dropped after this, its ports can be bound again at once (a reload that
    /// restarts the RTSP server binds the same ports right away).
    pub async fn stop(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for UdpServer {
    fn drop(&mut self) {
        for t in self
            .tasks
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            t.abort();
        }
    }
}

async fn recv_loop(socket: Arc<UdpSocket>, channel: Channel, routes: Arc<Mutex<RouteMap>>) {
    // One receive buffer, reused: each datagram is copied out at its own size.
    let mut buf = BytesMut::with_capacity(MAX_DATAGRAM);
    loop {
        let from = match socket.recv_buf_from(&mut buf).await {
            Ok((_, from)) => ferromtx_net::canonical(from),
            Err(e) => {
                // ICMP port unreachable and the like: keep serving the others.
                tracing::debug!(component = "RTSP", "UDP receive error: {e}");
                buf.clear();
                continue;
            }
        };
        // Copied out rather than split off the block: a slice would keep the whole block
        // alive as long as any unit made from the datagram stays in a stream's ring.
        let data = Bytes::copy_from_slice(&buf);
        buf.clear();
        // A session that cannot keep up loses packets instead of growing a queue.
        if let Some(route) = lock(&routes).get(&(channel, from)) {
            let _ = route.tx.try_send(Datagram {
                channel,
                track: route.track,
                data,
            });
        }
    }
}
