//! The readers' UDP sockets: bound with a larger receive buffer, so that a moment of the
//! load generator's own scheduling does not show up as the server's loss, and the
//! datagrams the kernel still dropped on them counted from `/proc/net/udp`.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Default receive buffer of a reader's socket; the kernel caps it at
/// `net.core.rmem_max`.
pub const DEFAULT_RECV_BUFFER: usize = 1 << 20;

/// A non-blocking UDP socket bound to `addr`, with `recv_buffer` bytes of receive buffer
/// (0: the system default).
pub fn bind(addr: SocketAddr, recv_buffer: usize) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if recv_buffer > 0 {
        socket.set_recv_buffer_size(recv_buffer)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// `drops` per local port of one `/proc/net/udp` or `/proc/net/udp6` table.
pub fn parse_drops(table: &str) -> HashMap<u16, u64> {
    let mut out = HashMap::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(drops)) = (fields.get(1), fields.last()) else {
            continue;
        };
        let port = local
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        if let (Some(port), Ok(drops)) = (port, drops.parse::<u64>()) {
            *out.entry(port).or_default() += drops;
        }
    }
    out
}

/// Datagrams dropped so far on each local UDP port of this network namespace.
pub fn drops_by_port() -> HashMap<u16, u64> {
    let mut out = HashMap::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            for (port, d) in parse_drops(&text) {
                *out.entry(port).or_default() += d;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_from_the_table() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
            \x20 512: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12345 2 0000000000000000 17\n\
            \x20 513: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12346 2 0000000000000000 0\n";
        let d = parse_drops(table);
        assert_eq!(d.get(&0x9c40), Some(&17));
        assert_eq!(d.get(&8080), Some(&0));
        assert_eq!(d.len(), 2);
        assert!(parse_drops("header only\n").is_empty());
    }

    #[tokio::test]
    async fn a_bound_socket_is_listed_with_its_buffer() {
        let s = bind("127.0.0.1:0".parse().unwrap(), DEFAULT_RECV_BUFFER).unwrap();
        let port = s.local_addr().unwrap().port();
        assert_eq!(drops_by_port().get(&port), Some(&0));
        let size = |s: &UdpSocket| socket2::SockRef::from(s).recv_buffer_size().unwrap();
        let default = bind("127.0.0.1:0".parse().unwrap(), 0).unwrap();
        let small = bind("127.0.0.1:0".parse().unwrap(), 8192).unwrap();
        assert!(
            size(&small) < size(&default),
            "{} {}",
            size(&small),
            size(&default)
        );
        assert!(size(&s) >= size(&small));
    }
}
