//! Addresses of the local network interfaces (`webrtcIPsFromInterfaces`), read with
//! `getifaddrs`. No mDNS.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddr {
    pub interface: String,
    pub ip: IpAddr,
}

/// Every IPv4 and IPv6 address of every interface, in the system's order.
pub fn interface_addrs() -> io::Result<Vec<InterfaceAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a valid out-pointer; on success the list is freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a non-null ifa_name is a NUL-terminated string owned by the list.
        let interface = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null and points to a sockaddr whose family says how
        // large it is; we read it as the matching sockaddr type only.
        let ip = unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        sin.sin_addr.s_addr,
                    ))))
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
                }
                _ => None,
            }
        };
        if let Some(ip) = ip {
            out.push(InterfaceAddr { interface, ip });
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

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
