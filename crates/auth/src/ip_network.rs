//! IP networks of `authInternalUsers[].ips`, with IPv4-mapped IPv6
//! networks and addresses compared as IPv4.

use std::net::IpAddr;

/// An address block: `addr/prefix`, IPv4 addresses kept as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Parses `a.b.c.d/n`, `x::y/n` or a single address. IPv4-mapped IPv6
    /// networks (`::ffff:a.b.c.d/n` with n >= 96) become IPv4 networks.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Option<IpNetwork> {
        let text = text.trim();
        let (addr_text, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        Some(IpNetwork::new(addr, prefix))
    }

    /// `prefix` is clamped to the address width.
    pub(crate) fn new(addr: IpAddr, prefix: u8) -> IpNetwork {
        let prefix = prefix.min(if addr.is_ipv4() { 32 } else { 128 });
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => IpNetwork {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                },
                _ => IpNetwork { addr, prefix },
            },
            IpAddr::V4(_) => IpNetwork { addr, prefix },
        }
    }

    /// Whether `ip` is inside the network. IPv4-mapped IPv6 addresses are
    /// compared as IPv4.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(net.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, width: u32, prefix: u8) -> bool {
    let host_bits = width.saturating_sub(u32::from(prefix));
    if host_bits >= width {
        return true;
    }
    (a >> host_bits) == (b >> host_bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_cidr() {
        let n = IpNetwork::parse("192.168.1.0/24").unwrap();
        assert!(n.contains(ip("192.168.1.77")));
        assert!(!n.contains(ip("192.168.2.1")));
        assert!(!n.contains(ip("::1")));
    }

    #[test]
    fn single_address() {
        let n = IpNetwork::parse("127.0.0.1").unwrap();
        assert!(n.contains(ip("127.0.0.1")));
        assert!(!n.contains(ip("127.0.0.2")));
        let n = IpNetwork::parse("::1").unwrap();
        assert!(n.contains(ip("::1")));
        assert!(!n.contains(ip("::2")));
    }

    #[test]
    fn ipv4_mapped_addresses_are_canonicalised() {
        let n = IpNetwork::parse("127.0.0.1").unwrap();
        assert!(n.contains(ip("::ffff:127.0.0.1")));
        let n = IpNetwork::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(n.contains(ip("10.1.2.3")));
        assert!(!n.contains(ip("11.1.2.3")));
    }

    #[test]
    fn whole_space_and_ipv6_prefix() {
        let n = IpNetwork::parse("0.0.0.0/0").unwrap();
        assert!(n.contains(ip("8.8.8.8")));
        assert!(!n.contains(ip("2001:db8::1")));
        let n = IpNetwork::parse("2001:db8::/32").unwrap();
        assert!(n.contains(ip("2001:db8:ffff::1")));
        assert!(!n.contains(ip("2001:db9::1")));
    }

    #[test]
    fn invalid() {
        assert!(IpNetwork::parse("1.2.3.4/33").is_none());
        assert!(IpNetwork::parse("::/129").is_none());
        assert!(IpNetwork::parse("nope").is_none());
        assert!(IpNetwork::parse("1.2.3.4/x").is_none());
    }
}
