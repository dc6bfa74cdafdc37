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

/// The even ports `p` of `range` (inclusive) with `p + 1` in it too.
fn pair_starts((first, last): (u16, u16)) -> Vec<u16> {
    let first = first.max(2).next_multiple_of(2);
    (u32::from(first)..u32::from(last))
        .step_by(2)
        .filter_map(|p| u16::try_from(p).ok())
        .collect()
}

/// A number below `n` (> 0), different on every call: the standard library's randomly keyed
/// hasher over a counter.
fn random_below(n: usize) -> usize {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let h = RandomState::new().hash_one(CALLS.fetch_add(1, Ordering::Relaxed));
    (h % n.max(1) as u64) as usize
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
    /// Binds an even RTP port and the next one for RTCP, both within `ports`
    /// (`rtspUDPSourcePortRange`, inclusive), starting at a random pair and trying every
    /// pair of the range once at most (bounded by 1000 tries).
    pub async fn bind(peer: SocketAddr, ports: (u16, u16)) -> io::Result<UnicastPair> {
        let ip: IpAddr = if peer.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        };
        let pairs = pair_starts(ports);
        if pairs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "rtspUDPSourcePortRange [{}, {}] holds no even port followed by another",
                    ports.0, ports.1
                ),
            ));
        }
        let first = random_below(pairs.len());
        for i in 0..pairs.len().min(1000) {
            let port = pairs[(first + i) % pairs.len()];
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(ip, port)).await else {
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await else {
                continue;
            };
            return Ok(UnicastPair {
                rtp: Arc::new(rtp),
                rtcp: Arc::new(rtcp),
            });
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "no free RTP/RTCP port pair in rtspUDPSourcePortRange [{}, {}]",
                ports.0, ports.1
            ),
        ))
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
    fn pairs_start_on_even_ports_inside_the_range() {
        assert_eq!(pair_starts((40000, 40003)), [40000, 40002]);
        assert_eq!(pair_starts((40001, 40004)), [40002]);
        assert_eq!(pair_starts((40001, 40002)), Vec::<u16>::new());
        assert_eq!(pair_starts((65534, 65535)), [65534]);
        assert_eq!(pair_starts((0, 3)), [2]);
        assert_eq!(pair_starts((32768, 60999)).len(), 14116);
    }

    #[tokio::test]
    async fn binds_the_pair_of_the_range_and_says_when_none_is_free() {
        let peer: SocketAddr = "127.0.0.1:554".parse().expect("address");
        let p = ferromtx_testkit::free_udp_pairs(1);
        let pair = UnicastPair::bind(peer, (p, p + 1)).await.expect("bind");
        assert_eq!(pair.ports().expect("ports"), (p, p + 1));
        let taken = UnicastPair::bind(peer, (p, p + 1))
            .await
            .err()
            .expect("taken");
        assert_eq!(taken.kind(), io::ErrorKind::AddrInUse);
        assert!(
            taken.to_string().contains(&format!("[{p}, {}]", p + 1)),
            "{taken}"
        );
        let none = UnicastPair::bind(peer, (5, 5)).await.err().expect("empty");
        assert_eq!(none.kind(), io::ErrorKind::InvalidInput);
        // Within the default range, the RTP port is even and RTCP follows it.
        let pair = UnicastPair::bind(peer, (32768, 60999)).await.expect("bind");
        let (rtp, rtcp) = pair.ports().expect("ports");
        assert!((32768..=60998).contains(&rtp) && rtp % 2 == 0, "{rtp}");
        assert_eq!(rtcp, rtp + 1);
    }

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
