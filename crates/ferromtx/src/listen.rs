//! Listener addresses as MediaMTX writes them: `:8554` (every interface), `host:port`,
//! `[v6]:port`.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use ferromtx_core::listen::bind_tcp_listener;
use tokio::net::TcpListener;

/// Binds a TCP listener (with MediaMTX's backlog, [`bind_tcp_listener`]). `:port` means every
/// interface, IPv6 and IPv4 when the host has IPv6 (a dual-stack socket), else IPv4.
pub async fn bind_tcp(address: &str) -> io::Result<TcpListener> {
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| invalid(address))?;
        return bind_tcp_listener(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)))
            .or_else(|_| bind_tcp_listener(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))));
    }
    if !address.contains(':') {
        return Err(invalid(address));
    }
    // The first address the name resolves to that can be bound.
    let mut last = None;
    for addr in tokio::net::lookup_host(address).await? {
        match bind_tcp_listener(addr) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| invalid(address)))
}

fn invalid(address: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid listen address '{address}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forms() {
        let l = bind_tcp("127.0.0.1:0").await.unwrap();
        assert!(l.local_addr().unwrap().ip().is_loopback());
        assert!(bind_tcp("8554").await.is_err());
        assert!(bind_tcp(":notaport").await.is_err());
        let any = bind_tcp(":0").await.unwrap();
        assert!(any.local_addr().unwrap().ip().is_unspecified());
    }
}
