//! TCP listeners with the backlog MediaMTX's get.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel completes before they are accepted. Linux caps it at
/// `net.core.somaxconn` (4096 by default), which is what Go's listeners ask for, so a burst
/// of clients (cameras and viewers reconnecting after a restart) waits in the queue as it
/// does with MediaMTX. tokio's own `bind` asks for 1024: a burst of 2000 connections
/// overflowed it, and the handshakes dropped there completed only after the clients'
/// retransmissions, seconds later.
const BACKLOG: u32 = 65_535;

/// Binds a TCP listener on `addr` (address reuse on, as `TcpListener::bind` sets it).
pub fn bind_tcp_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepts_on_the_bound_address() {
        let l = bind_tcp_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let (c, s) = tokio::join!(tokio::net::TcpStream::connect(addr), l.accept());
        assert_eq!(s.unwrap().1, c.unwrap().local_addr().unwrap());
    }
}
