//! Listener addresses as MediaMTX writes them: `:8554` (every interface), `host:port`,
//! `[v6]:port`.

use std::io;

use tokio::net::TcpListener;

/// Binds a TCP listener. `:port` means every interface, IPv6 and IPv4 when the host has
/// IPv6 (a dual-stack socket), else IPv4.
pub async fn bind_tcp(address: &str) -> io::Result<TcpListener> {
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| invalid(address))?;
        return match TcpListener::bind(("::", port)).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(("0.0.0.0", port)).await,
        };
    }
    if !address.contains(':') {
        return Err(invalid(address));
    }
    TcpListener::bind(address).await
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
