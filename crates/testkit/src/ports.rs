//! Ports on 127.0.0.1 that were free a moment ago: tests bind to what they pick, never to
//! fixed ports, so they run in parallel.

use std::net::{TcpListener, UdpSocket};

/// A TCP port.
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A UDP port.
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    s.local_addr().expect("local addr").port()
}

/// Two consecutive UDP ports, the first even (RTP and RTCP).
pub fn free_udp_pair() -> (u16, u16) {
    for _ in 0..100 {
        let a = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let p = a.local_addr().expect("addr").port();
        if p.is_multiple_of(2) && p < u16::MAX && UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return (p, p + 1);
        }
    }
    panic!("no free even/odd UDP port pair found");
}

/// `pairs` RTP/RTCP port pairs in a row, free on every address just now: the first port, a
/// multiple of `2 * pairs` (so an even-pair range `[p, p + 2 * pairs - 1]` holds exactly
/// these).
pub fn free_udp_pairs(pairs: u16) -> u16 {
    let span = 2 * pairs.max(1);
    for _ in 0..100 {
        let probe = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let p = probe.local_addr().expect("addr").port() / span * span;
        drop(probe);
        let Some(last) = p.checked_add(span - 1) else {
            continue;
        };
        let bound: Vec<_> = (p..=last)
            .map(|port| UdpSocket::bind(("0.0.0.0", port)))
            .collect();
        if p > 0 && bound.iter().all(Result::is_ok) {
            return p;
        }
    }
    panic!("no {pairs} free UDP port pairs in a row found");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_even_and_consecutive() {
        let (rtp, rtcp) = free_udp_pair();
        assert_eq!(rtp % 2, 0);
        assert_eq!(rtcp, rtp + 1);
        assert_ne!(free_tcp_port(), 0);
        assert_ne!(free_udp_port(), 0);
    }
}
