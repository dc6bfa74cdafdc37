//! The pull source's UDP sockets: a client port pair for unicast, or the group sockets
//! of a multicast stream; each feeds the datagrams of the server into one channel.
//!
//! As gortsplib's client, only the server's address is listened to, and only from the
//! ports it announced, unless `rtspAnyPort` is set: then the first port a packet comes
//! from is kept (cameras that send from other ports than they say).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::datagram::{Channel, Datagram};
use crate::transport::MULTICAST_TTL;

/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_536;

/// Which source ports are accepted on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PortFilter {
    /// Only this one (the announced server port).
    Exact(u16),
    /// The first one seen (`rtspAnyPort`).
    First,
}

/// Where one media's UDP packets come from and where its reports go.
pub(super) struct Listening {
    /// The RTCP socket, to send receiver reports from.
    pub rtcp: Arc<UdpSocket>,
    /// Where receiver reports go, when known.
    pub report_to: Option<SocketAddr>,
}

/// A client RTP/RTCP socket pair for unicast, bound before SETUP so its ports can be
/// announced.
pub(super) struct UnicastPair {
    rtp: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
}

impl UnicastPair {
    pub async fn bind(peer: SocketAddr) -> io::Result<UnicastPair> {
        let any: SocketAddr = if peer.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        Ok(UnicastPair {
            rtp: Arc::new(UdpSocket::bind(any).await?),
            rtcp: Arc::new(UdpSocket::bind(any).await?),
        })
    }

    pub fn ports(&self) -> io::Result<(u16, u16)> {
        Ok((
            self.rtp.local_addr()?.port(),
            self.rtcp.local_addr()?.port(),
        ))
    }

    /// Starts receiving from `server` on the ports the server announced (`None`: the
    /// server gave none, only possible with `any_port`).
    pub fn start(
        self,
        server: IpAddr,
        server_ports: Option<(u16, u16)>,
        any_port: bool,
        track: usize,
        tx: &mpsc::Sender<Datagram>,
        tasks: &mut JoinSet<()>,
    ) -> Listening {
        let filter = |port: Option<u16>| match (any_port, port) {
            (false, Some(p)) => PortFilter::Exact(p),
            _ => PortFilter::First,
        };
        let listen = |socket: &Arc<UdpSocket>, channel, filter, tasks: &mut JoinSet<()>| {
            tasks.spawn(receive(
                Arc::clone(socket),
                server,
                filter,
                channel,
                track,
                tx.clone(),
            ));
        };
        listen(
            &self.rtp,
            Channel::Rtp,
            filter(server_ports.map(|p| p.0)),
            tasks,
        );
        listen(
            &self.rtcp,
            Channel::Rtcp,
            filter(server_ports.map(|p| p.1)),
            tasks,
        );
        Listening {
            report_to: server_ports.map(|(_, rtcp)| SocketAddr::new(server, rtcp)),
            rtcp: self.rtcp,
        }
    }
}

/// A socket bound to `group:port` that joined the group through `iface`.
fn group_socket(group: Ipv4Addr, port: u16, iface: Ipv4Addr) -> io::Result<Arc<UdpSocket>> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    // Several readers of the same group on one host.
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(group, port)).into())?;
    socket.join_multicast_v4(&group, &iface)?;
    // Reports go back through the same interface.
    socket.set_multicast_if_v4(&iface)?;
    socket.set_multicast_ttl_v4(MULTICAST_TTL)?;
    socket.set_nonblocking(true)?;
    Ok(Arc::new(UdpSocket::from_std(socket.into())?))
}

/// Joins a media's multicast group (`ports` = RTP, RTCP) through `iface` and receives
/// what `server` sends to it.
pub(super) fn join_multicast(
    group: Ipv4Addr,
    ports: (u16, u16),
    iface: Ipv4Addr,
    server: IpAddr,
    track: usize,
    tx: &mpsc::Sender<Datagram>,
    tasks: &mut JoinSet<()>,
) -> io::Result<Listening> {
    let rtp = group_socket(group, ports.0, iface)?;
    let rtcp = group_socket(group, ports.1, iface)?;
    for (socket, channel, port) in [
        (&rtp, Channel::Rtp, ports.0),
        (&rtcp, Channel::Rtcp, ports.1),
    ] {
        tasks.spawn(receive(
            Arc::clone(socket),
            server,
            PortFilter::Exact(port),
            channel,
            track,
            tx.clone(),
        ));
    }
    Ok(Listening {
        rtcp,
        report_to: Some(SocketAddr::V4(SocketAddrV4::new(group, ports.1))),
    })
}

/// Whether a datagram from `from` is the server's, given the filter and the port kept
/// so far (updated on the first accepted packet with [`PortFilter::First`]).
pub(super) fn accepts(
    from: SocketAddr,
    server: IpAddr,
    filter: PortFilter,
    kept: &mut Option<u16>,
) -> bool {
    if canonical(from.ip()) != canonical(server) {
        return false;
    }
    match filter {
        PortFilter::Exact(p) => from.port() == p,
        PortFilter::First => *kept.get_or_insert(from.port()) == from.port(),
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

async fn receive(
    socket: Arc<UdpSocket>,
    server: IpAddr,
    filter: PortFilter,
    channel: Channel,
    track: usize,
    tx: mpsc::Sender<Datagram>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut kept = None;
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("UDP receive error: {e}");
                continue;
            }
        };
        if !accepts(from, server, filter, &mut kept) {
            continue;
        }
        if tx.is_closed() {
            return;
        }
        // A receiver that cannot keep up loses packets instead of growing a queue.
        let _ = tx.try_send(Datagram {
            channel,
            track,
            data: Bytes::copy_from_slice(&buf[..n]),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_servers_announced_ports_unless_any_port() {
        let server: IpAddr = "10.0.0.1".parse().unwrap();
        let from = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mut kept = None;
        assert!(accepts(
            from("10.0.0.1:8000"),
            server,
            PortFilter::Exact(8000),
            &mut kept
        ));
        assert!(!accepts(
            from("10.0.0.1:9000"),
            server,
            PortFilter::Exact(8000),
            &mut kept
        ));
        assert!(!accepts(
            from("10.0.0.2:8000"),
            server,
            PortFilter::Exact(8000),
            &mut kept
        ));
        // Any port: the first one is kept, others refused.
        assert!(accepts(
            from("10.0.0.1:9000"),
            server,
            PortFilter::First,
            &mut kept
        ));
        assert!(accepts(
            from("10.0.0.1:9000"),
            server,
            PortFilter::First,
            &mut kept
        ));
        assert!(!accepts(
            from("10.0.0.1:9002"),
            server,
            PortFilter::First,
            &mut kept
        ));
        assert!(accepts(
            from("[::ffff:10.0.0.1]:8000"),
            server,
            PortFilter::Exact(8000),
            &mut None
        ));
    }
}
