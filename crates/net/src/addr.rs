//! Listen addresses as MediaMTX writes them (`:8554`, `0.0.0.0:8554`, `[::1]:8554`,
//! `localhost:8554`) and the sockets bound on them.
//!
//! As with Go's `net.Listen`, an address without a host (`:8554`), or with the IPv6
//! wildcard (`[::]:8554`), listens on every interface of both families: one IPv6 socket
//! with `IPV6_V6ONLY` off, falling back to IPv4 only on hosts without IPv6. `0.0.0.0:8554`
//! stays IPv4 only. IPv4 peers of a dual-stack socket show as `::ffff:a.b.c.d`;
//! [`canonical`] gives them back their IPv4 form, [`for_socket`] maps a destination to the
//! family of the socket that sends to it.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};

/// Connections the kernel completes before they are accepted. Linux caps it at
/// `net.core.somaxconn` (4096 by default), which is what Go's listeners ask for, so a burst
/// of clients (cameras and viewers reconnecting after a restart) waits in the queue as it
/// does with MediaMTX. tokio's own `bind` asks for 1024: a burst of 2000 connections
/// overflowed it, and the handshakes dropped there completed only after the clients'
/// retransmissions, seconds later.
const BACKLOG: i32 = 65_535;

/// The host part of a listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// No host, or the IPv6 wildcard: every interface, both families.
    Any,
    Ip(IpAddr),
    /// A name, resolved when binding.
    Name(String),
}

/// A parsed listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    pub host: Host,
    pub port: u16,
}

/// Why an address can't be parsed; the texts are Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("address {0}: missing port in address")]
    MissingPort(String),
    #[error("address {0}: invalid port")]
    InvalidPort(String),
    #[error("address {0}: too many colons in address")]
    TooManyColons(String),
}

impl FromStr for ListenAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<ListenAddr, AddrError> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, tail) = rest
                .split_once(']')
                .ok_or_else(|| AddrError::MissingPort(s.to_owned()))?;
            let port = tail
                .strip_prefix(':')
                .ok_or_else(|| AddrError::MissingPort(s.to_owned()))?;
            (host, port)
        } else {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| AddrError::MissingPort(s.to_owned()))?;
            if host.contains(':') {
                return Err(AddrError::TooManyColons(s.to_owned()));
            }
            (host, port)
        };
        let port: u16 = port
            .parse()
            .map_err(|_| AddrError::InvalidPort(s.to_owned()))?;
        let host = match host {
            "" => Host::Any,
            h => match h.parse::<IpAddr>() {
                Ok(IpAddr::V6(v6)) if v6.is_unspecified() => Host::Any,
                Ok(ip) => Host::Ip(ip),
                Err(_) => Host::Name(h.to_owned()),
            },
        };
        Ok(ListenAddr { host, port })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Any => write!(f, ":{}", self.port),
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
            Host::Ip(ip) => write!(f, "{ip}:{}", self.port),
            Host::Name(n) => write!(f, "{n}:{}", self.port),
        }
    }
}

impl ListenAddr {
    /// The socket addresses to try, in order: for [`Host::Any`] the dual-stack wildcard
    /// (binding falls back to IPv4 on hosts without IPv6), for a name what it resolves to.
    pub async fn candidates(&self) -> io::Result<Vec<SocketAddr>> {
        match &self.host {
            Host::Any => Ok(vec![SocketAddr::from((Ipv6Addr::UNSPECIFIED, self.port))]),
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, self.port)]),
            Host::Name(n) => Ok(tokio::net::lookup_host((n.as_str(), self.port))
                .await?
                .collect()),
        }
    }

    /// The first socket address [`ListenAddr::candidates`] gives (for clients of a local
    /// listener and for logs).
    pub async fn resolve(&self) -> io::Result<SocketAddr> {
        self.candidates().await?.into_iter().next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no address for {self}"))
        })
    }
}

fn parse(address: &str) -> io::Result<ListenAddr> {
    address
        .parse()
        .map_err(|e: AddrError| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// Binds each candidate of `address` in turn until one works. The wildcard falls back to
/// IPv4 only when IPv6 is missing, not when the port is taken.
async fn bind_first<T>(address: &str, bind: impl Fn(SocketAddr) -> io::Result<T>) -> io::Result<T> {
    let addr = parse(address)?;
    let mut last = None;
    for candidate in addr.candidates().await? {
        match bind(candidate) {
            Ok(s) => return Ok(s),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(e);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("no address for {address}"))
    }))
}

fn socket_for(addr: SocketAddr, ty: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// `bind(addr)`; for the IPv6 wildcard on a host without IPv6, `bind` of the IPv4
/// wildcard on the same port.
fn with_ipv4_fallback<T>(
    addr: SocketAddr,
    bind: impl Fn(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    match bind(addr) {
        Err(e)
            if addr.is_ipv6()
                && addr.ip().is_unspecified()
                && !matches!(
                    e.kind(),
                    io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
                ) =>
        {
            bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, addr.port())))
        }
        other => other,
    }
}

/// A TCP listener on `addr` with the full backlog (address reuse on, as Go and
/// `TcpListener::bind` set it). The IPv6 wildcard is dual-stack.
pub fn bind_tcp_addr(addr: SocketAddr) -> io::Result<TcpListener> {
    with_ipv4_fallback(addr, |addr| {
        let socket = socket_for(addr, Type::STREAM, Protocol::TCP)?;
        socket.set_reuse_address(true)?;
        socket.bind(&SockAddr::from(addr))?;
        socket.listen(BACKLOG)?;
        TcpListener::from_std(socket.into())
    })
}

/// A TCP listener on a MediaMTX listen address (see the module's documentation).
pub async fn bind_tcp(address: &str) -> io::Result<TcpListener> {
    bind_first(address, bind_tcp_addr).await
}

/// A UDP socket on `addr`; the IPv6 wildcard is dual-stack.
pub fn bind_udp_addr(addr: SocketAddr) -> io::Result<UdpSocket> {
    with_ipv4_fallback(addr, |addr| {
        let socket = socket_for(addr, Type::DGRAM, Protocol::UDP)?;
        socket.bind(&SockAddr::from(addr))?;
        UdpSocket::from_std(socket.into())
    })
}

/// A UDP socket on a MediaMTX listen address (see the module's documentation).
pub async fn bind_udp(address: &str) -> io::Result<UdpSocket> {
    bind_first(address, bind_udp_addr).await
}

/// Sets the receive buffer of a UDP socket to `size` bytes (`udpReadBufferSize`); fails,
/// as MediaMTX does, when the system gives less (Linux caps it at `net.core.rmem_max`).
pub fn set_read_buffer(sock: &UdpSocket, size: usize) -> io::Result<()> {
    let s = socket2::SockRef::from(sock);
    s.set_recv_buffer_size(size)?;
    // Linux reports twice the size asked for (the other half is its bookkeeping).
    let got = s.recv_buffer_size()? / 2;
    if got < size {
        return Err(io::Error::other(format!(
            "unable to set UDP read buffer size to {size}, got {got}, check that the operating \
             system allows that"
        )));
    }
    Ok(())
}

/// Raises the receive buffer of a UDP socket towards `size` bytes, as far as the system
/// allows (Linux caps it at `net.core.rmem_max`), never lowering it; returns the size in
/// force. For protocols whose peers send in bursts (an SRT keyframe of a few megabytes at
/// line rate) when `udpReadBufferSize` is left at 0.
pub fn grow_read_buffer(sock: &impl std::os::fd::AsFd, size: usize) -> usize {
    let s = socket2::SockRef::from(sock);
    let current = s.recv_buffer_size().map_or(0, |n| n / 2);
    if current < size {
        let _ = s.set_recv_buffer_size(size);
    }
    s.recv_buffer_size().map_or(0, |n| n / 2).max(current)
}

/// `addr` with an IPv4-mapped IPv6 address (a v4 peer of a dual-stack socket) given back
/// its IPv4 form, as Go shows it.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

/// `dest` in the family of a socket bound to `local`: an IPv6 socket reaches an IPv4
/// destination through its mapped address.
pub fn for_socket(dest: SocketAddr, local: SocketAddr) -> SocketAddr {
    match (dest, local) {
        (SocketAddr::V4(v4), SocketAddr::V6(_)) => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        _ => dest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la(host: Host, port: u16) -> ListenAddr {
        ListenAddr { host, port }
    }

    #[tokio::test]
    async fn read_buffer_is_what_was_asked_or_an_error() {
        let s = bind_udp("127.0.0.1:0").await.unwrap();
        set_read_buffer(&s, 100_000).unwrap();
        let got = socket2::SockRef::from(&s).recv_buffer_size().unwrap();
        assert_eq!(got, 200_000, "Linux doubles what it is asked for");
        // Above net.core.rmem_max (4 MiB or less on the machines this runs on).
        let err = set_read_buffer(&s, 1 << 30).unwrap_err();
        assert!(
            err.to_string()
                .contains("unable to set UDP read buffer size"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_grown_read_buffer_is_larger_never_smaller() {
        let s = bind_udp("127.0.0.1:0").await.unwrap();
        let before = socket2::SockRef::from(&s).recv_buffer_size().unwrap() / 2;
        // Far above net.core.rmem_max: capped there, no error.
        let got = grow_read_buffer(&s, 1 << 30);
        let max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(got, max.max(before));
        assert_eq!(
            socket2::SockRef::from(&s).recv_buffer_size().unwrap() / 2,
            got
        );
        assert_eq!(grow_read_buffer(&s, 1024), got, "not lowered");
    }

    #[test]
    fn parses_what_mediamtx_accepts() {
        assert_eq!(":8554".parse(), Ok(la(Host::Any, 8554)));
        assert_eq!("[::]:8554".parse(), Ok(la(Host::Any, 8554)));
        assert_eq!(
            "0.0.0.0:8554".parse(),
            Ok(la(Host::Ip(Ipv4Addr::UNSPECIFIED.into()), 8554))
        );
        assert_eq!(
            "[::1]:9997".parse(),
            Ok(la(Host::Ip(Ipv6Addr::LOCALHOST.into()), 9997))
        );
        assert_eq!(
            "localhost:1935".parse(),
            Ok(la(Host::Name("localhost".into()), 1935))
        );
        assert_eq!(
            "8554".parse::<ListenAddr>(),
            Err(AddrError::MissingPort("8554".into()))
        );
        assert_eq!(
            ":notaport".parse::<ListenAddr>(),
            Err(AddrError::InvalidPort(":notaport".into()))
        );
        assert_eq!(
            "::1:80".parse::<ListenAddr>(),
            Err(AddrError::TooManyColons("::1:80".into()))
        );
        assert_eq!(
            "[::1]".parse::<ListenAddr>(),
            Err(AddrError::MissingPort("[::1]".into()))
        );
        for s in [":8554", "0.0.0.0:1", "[::1]:2", "cam.local:3"] {
            assert_eq!(s.parse::<ListenAddr>().unwrap().to_string(), s);
        }
    }

    fn has_ipv6() -> bool {
        std::net::UdpSocket::bind("[::1]:0").is_ok()
    }

    #[tokio::test]
    async fn wildcard_tcp_answers_both_families() {
        let l = bind_tcp(":0").await.unwrap();
        let local = l.local_addr().unwrap();
        assert!(local.ip().is_unspecified());
        let port = local.port();
        let mut targets = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))];
        if has_ipv6() {
            assert!(local.is_ipv6(), "{local}");
            targets.push(SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
        }
        for target in targets {
            let (c, s) = tokio::join!(tokio::net::TcpStream::connect(target), l.accept());
            let client = c.unwrap().local_addr().unwrap();
            let (_, peer) = s.unwrap();
            assert_eq!(canonical(peer), client, "{target}");
        }
    }

    #[tokio::test]
    async fn ipv4_wildcard_stays_ipv4_and_names_resolve() {
        let l = bind_tcp("0.0.0.0:0").await.unwrap();
        assert!(l.local_addr().unwrap().is_ipv4());
        let l = bind_tcp("localhost:0").await.unwrap();
        assert!(l.local_addr().unwrap().ip().is_loopback());
        assert!(bind_tcp("8554").await.is_err());
        assert!(bind_tcp(":notaport").await.is_err());
    }

    #[tokio::test]
    async fn a_taken_port_is_an_error_not_a_fallback() {
        let l = bind_tcp(":0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let e = bind_tcp(&format!(":{port}")).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn wildcard_udp_reaches_ipv4_peers_through_mapped_addresses() {
        let server = bind_udp(":0").await.unwrap();
        let local = server.local_addr().unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, local.port()));
        client.send_to(b"ping", to).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(canonical(from), client.local_addr().unwrap());
        server
            .send_to(b"pong", for_socket(canonical(from), local))
            .await
            .unwrap();
        let (n, _) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");
    }

    #[test]
    fn mapped_addresses() {
        let v4: SocketAddr = "1.2.3.4:5".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:1.2.3.4]:5".parse().unwrap();
        assert_eq!(canonical(mapped), v4);
        assert_eq!(canonical(v4), v4);
        let v6local: SocketAddr = "[::]:1".parse().unwrap();
        let v4local: SocketAddr = "0.0.0.0:1".parse().unwrap();
        assert_eq!(for_socket(v4, v6local), mapped);
        assert_eq!(for_socket(v4, v4local), v4);
    }
}
