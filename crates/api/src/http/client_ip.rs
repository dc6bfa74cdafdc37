//! The client's IP: the peer, or what a trusted proxy says in `X-Forwarded-For` /
//! `X-Real-Ip`.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// An IP network (`10.0.0.0/8`, `::1/128`, or a bare address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

/// A string that is not an IP network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IP network: {0}")]
pub struct InvalidNetwork(pub String);

impl FromStr for IpNetwork {
    type Err = InvalidNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidNetwork(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

impl IpNetwork {
    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) become plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNetwork]) -> bool {
    proxies.iter().any(|n| n.contains(ip))
}

/// The first untrusted address of a forwarding header, walking from the right;
/// the leftmost when all are trusted.
fn from_header(value: &str, proxies: &[IpNetwork]) -> Option<IpAddr> {
    if value.is_empty() {
        return None;
    }
    let items: Vec<&str> = value.split(',').collect();
    for (i, item) in items.iter().enumerate().rev() {
        let item = item.trim();
        let ip = item
            .parse::<IpAddr>()
            .ok()
            .or_else(|| item.parse::<Ipv6Addr>().ok().map(IpAddr::V6))?;
        let ip = canonical(ip);
        if i == 0 || !trusted(ip, proxies) {
            return Some(ip);
        }
    }
    None
}

/// The client IP of a request from `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNetwork]) -> IpAddr {
    let peer = canonical(peer);
    if trusted(peer, proxies) {
        for name in ["x-forwarded-for", "x-real-ip"] {
            let value = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if let Some(ip) = from_header(value, proxies) {
                return ip;
            }
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(v: &[&str]) -> Vec<IpNetwork> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks() {
        let n: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.1.2.3")));
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        assert!(!n.contains(ip("11.0.0.1")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("1.2.3.4/33".parse::<IpNetwork>().is_err());
        assert!("nope".parse::<IpNetwork>().is_err());
        let v6: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
    }

    #[test]
    fn headers_only_from_trusted_peers() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 10.0.0.2"),
        );
        let proxies = nets(&["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &proxies), ip("1.1.1.1"));
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &proxies),
            ip("1.1.1.1")
        );
        assert_eq!(
            client_ip(ip("192.168.1.1"), &h, &proxies),
            ip("192.168.1.1")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn real_ip_header_and_garbage() {
        let proxies = nets(&["127.0.0.1"]);
        let mut h = HeaderMap::new();
        h.insert("x-real-ip", HeaderValue::from_static("2.2.2.2"));
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &proxies), ip("2.2.2.2"));
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &proxies), ip("2.2.2.2"));
    }
}
