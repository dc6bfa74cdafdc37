//! Addresses of the local network interfaces (`webrtcIPsFromInterfaces`), read with
//! `getifaddrs` ([`ferromtx_net::sys::interface_addrs`]). No mDNS.

use std::io;
use std::net::IpAddr;

pub use ferromtx_net::sys::{InterfaceAddr, interface_addrs};

/// The IPs of the interfaces named in `allowed` (all interfaces when empty), as
/// MediaMTX announces them. IPv6 link-local addresses are left out: they need a zone.
pub fn interface_ips(allowed: &[String]) -> io::Result<Vec<IpAddr>> {
    let mut ips: Vec<IpAddr> = interface_addrs()?
        .into_iter()
        .filter(|a| allowed.is_empty() || allowed.contains(&a.interface))
        .map(|a| a.ip)
        .filter(|ip| match ip {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            IpAddr::V4(_) => true,
        })
        .collect();
    ips.dedup();
    Ok(ips)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn loopback_interface_has_127_0_0_1() {
        let all = interface_addrs().unwrap();
        let lo: Vec<&InterfaceAddr> = all
            .iter()
            .filter(|a| a.ip == IpAddr::V4(Ipv4Addr::LOCALHOST))
            .collect();
        assert_eq!(lo.len(), 1, "{all:?}");
        let name = lo[0].interface.clone();
        let only = interface_ips(std::slice::from_ref(&name)).unwrap();
        assert!(only.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(
            all.iter()
                .filter(|a| a.interface != name)
                .all(|a| !only.contains(&a.ip) || a.ip.is_loopback())
        );
        assert!(
            interface_ips(&["no-such-interface0".into()])
                .unwrap()
                .is_empty()
        );
    }
}
