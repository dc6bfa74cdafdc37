//! Where the `udp+mpegts`, `udp+rtp`, `unix+mpegts` and `unix+rtp` sources read from: a
//! UDP socket (unicast, or an IPv4 multicast group joined on an interface, with an optional
//! `?source=` filter) or the one connection accepted on a Unix socket, as MediaMTX's.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::AsyncReadExt;
use tokio::net::{UdpSocket, UnixListener, UnixStream};

/// Largest read: a UDP datagram, or what one read of a Unix stream returns.
const MAX_READ: usize = 65_536;
/// What one read of `unix+rtp` returns (MediaMTX reads 1500-byte chunks as packets).
pub(crate) const UNIX_RTP_READ: usize = 1500;

/// A source URL's transport part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    Udp {
        /// `host:port`.
        address: String,
        /// `?source=`: only datagrams from this IP.
        source: Option<String>,
        /// `?interface=`: the interface a multicast group is joined on.
        interface: Option<String>,
    },
    Unix {
        path: String,
    },
}

/// Splits `scheme://rest?query` into the parts MediaMTX reads.
pub(crate) fn parse_address(url: &str) -> Result<Address, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("invalid URL '{url}'"))?;
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| crate::source::percent_decode(v))
            .filter(|v| !v.is_empty())
    };
    if scheme.starts_with("unix") {
        // `unix+mpegts:///tmp/x.sock` (a path) or `unix+mpegts://x.sock` (a host).
        let path = location.to_owned();
        if path.is_empty() {
            return Err("invalid unix path".into());
        }
        return Ok(Address::Unix { path });
    }
    let address = location.trim_end_matches('/').to_owned();
    Ok(Address::Udp {
        address,
        source: param("source"),
        interface: param("interface"),
    })
}

/// An open input.
pub(crate) enum Input {
    Udp {
        sock: UdpSocket,
        source: Option<IpAddr>,
    },
    Unix {
        listener: UnixListener,
        path: String,
        conn: Option<UnixStream>,
        chunk: usize,
    },
}

impl Input {
    /// Binds the address. `read_buffer`: SO_RCVBUF for UDP (0: the system's default).
    /// `chunk`: what one read of a Unix stream may return.
    pub async fn open(addr: &Address, read_buffer: usize, chunk: usize) -> io::Result<Input> {
        match addr {
            Address::Udp {
                address,
                source,
                interface,
            } => {
                let source = match source {
                    Some(s) => Some(s.parse::<IpAddr>().map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidInput, "invalid source IP")
                    })?),
                    None => None,
                };
                let target = tokio::net::lookup_host(address.as_str())
                    .await?
                    .next()
                    .ok_or_else(|| io::Error::other(format!("unable to resolve '{address}'")))?;
                let sock = match target.ip() {
                    IpAddr::V4(group) if group.is_multicast() => {
                        multicast(group, target.port(), interface.as_deref()).await?
                    }
                    _ => ferromtx_net::bind_udp_addr(target)?,
                };
                if read_buffer > 0 {
                    ferromtx_net::set_read_buffer(&sock, read_buffer)?;
                }
                Ok(Input::Udp { sock, source })
            }
            Address::Unix { path } => {
                // As MediaMTX: a stale socket file is replaced.
                let _ = std::fs::remove_file(path);
                Ok(Input::Unix {
                    listener: UnixListener::bind(path)?,
                    path: path.clone(),
                    conn: None,
                    chunk,
                })
            }
        }
    }

    /// The next datagram (UDP) or chunk (Unix), or an error after `timeout` without one.
    pub async fn read(&mut self, timeout: Duration) -> io::Result<Bytes> {
        tokio::time::timeout(timeout, self.read_inner())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"))?
    }

    async fn read_inner(&mut self) -> io::Result<Bytes> {
        match self {
            Input::Udp { sock, source } => {
                let mut buf = vec![0u8; MAX_READ];
                loop {
                    let (n, from) = sock.recv_from(&mut buf).await?;
                    if source.is_none_or(|s| ferromtx_net::canonical(from).ip() == s) {
                        buf.truncate(n);
                        return Ok(Bytes::from(buf));
                    }
                }
            }
            Input::Unix {
                listener,
                conn,
                chunk,
                ..
            } => {
                if conn.is_none() {
                    let (c, _) = listener.accept().await?;
                    *conn = Some(c);
                }
                let Some(c) = conn.as_mut() else {
                    return Err(io::ErrorKind::NotConnected.into());
                };
                let mut buf = vec![0u8; *chunk];
                let n = c.read(&mut buf).await?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "EOF"));
                }
                buf.truncate(n);
                Ok(Bytes::from(buf))
            }
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Input::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path.as_str());
        }
    }
}

/// A socket on `group:port` that joined the group on the interface named `interface`, or
/// on the one the system routes the group through.
async fn multicast(group: Ipv4Addr, port: u16, interface: Option<&str>) -> io::Result<UdpSocket> {
    let iface = match interface {
        Some(name) => ferromtx_net::sys::interface_addrs()?
            .into_iter()
            .find_map(|a| match a.ip {
                IpAddr::V4(ip) if a.interface == name => Some(ip),
                _ => None,
            })
            .ok_or_else(|| io::Error::other(format!("interface '{name}' has no IPv4 address")))?,
        None => {
            let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
            probe.connect((group, port)).await?;
            match probe.local_addr()?.ip() {
                IpAddr::V4(ip) => ip,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            }
        }
    };
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    // Bound to the group: only its datagrams arrive.
    s.bind(&SocketAddr::from((group, port)).into())?;
    s.join_multicast_v4(&group, &iface)?;
    UdpSocket::from_std(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_mediamtx_reads_them() {
        assert_eq!(
            parse_address("udp+mpegts://238.0.0.1:1234?source=10.0.0.5&interface=eth0"),
            Ok(Address::Udp {
                address: "238.0.0.1:1234".into(),
                source: Some("10.0.0.5".into()),
                interface: Some("eth0".into()),
            })
        );
        assert_eq!(
            parse_address("udp://0.0.0.0:5000"),
            Ok(Address::Udp {
                address: "0.0.0.0:5000".into(),
                source: None,
                interface: None,
            })
        );
        assert_eq!(
            parse_address("unix+mpegts:///tmp/in.sock"),
            Ok(Address::Unix {
                path: "/tmp/in.sock".into()
            })
        );
        assert!(parse_address("unix+rtp://").is_err());
    }

    #[tokio::test]
    async fn udp_input_filters_by_source_and_times_out() {
        let addr = Address::Udp {
            address: "127.0.0.1:0".into(),
            source: Some("127.0.0.2".into()),
            interface: None,
        };
        let mut input = Input::open(&addr, 0, MAX_READ).await.expect("open");
        let Input::Udp { sock, .. } = &input else {
            panic!("udp input");
        };
        let to = sock.local_addr().expect("addr");
        let other = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        other.send_to(b"nope", to).await.expect("send");
        // 127.0.0.2 is loopback too on Linux.
        let good = UdpSocket::bind("127.0.0.2:0")
            .await
            .expect("bind 127.0.0.2");
        good.send_to(b"yes", to).await.expect("send");
        let got = input.read(Duration::from_secs(5)).await.expect("read");
        assert_eq!(&got[..], b"yes");
        let e = input
            .read(Duration::from_millis(50))
            .await
            .expect_err("timeout");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
