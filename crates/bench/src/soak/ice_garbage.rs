//! Garbage on the ICE UDP port: random bytes, truncated STUN messages, truncated DTLS records
//! and STUN binding requests for sessions that do not exist, from many source ports at a
//! steady rate, while viewers play through the same socket.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{Checks, Outcome, Scale, Target, hostile};
use crate::process;

/// Source sockets of the attack (each its own port, as many peers).
const SOURCES: usize = 32;
/// Sends happen in bursts this often.
const TICK: Duration = Duration::from_millis(10);

/// A small xorshift: the payloads need no real randomness, only variety.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

/// The STUN magic cookie (RFC 5389).
const COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Datagram number `i` of the attack: the kinds take turns.
fn datagram(i: u64, noise: &mut Noise) -> Vec<u8> {
    match i % 5 {
        // Random bytes of a random length (1..1400).
        0 => {
            let mut b = vec![0u8; 1 + (noise.next() % 1400) as usize];
            noise.fill(&mut b);
            b
        }
        // A STUN binding request whose header announces more attributes than follow.
        1 => {
            let mut b = vec![0x00, 0x01, 0x01, 0x00];
            b.extend_from_slice(&COOKIE);
            let mut tid = [0u8; 12];
            noise.fill(&mut tid);
            b.extend_from_slice(&tid);
            b.extend_from_slice(&[0x00, 0x06, 0x00, 0x40, b'x']);
            b
        }
        // A STUN header cut short (fewer than 20 bytes).
        2 => {
            let mut b = vec![0x00, 0x01, 0x00, 0x00];
            b.extend_from_slice(&COOKIE);
            b.truncate(4 + (noise.next() % 5) as usize);
            b
        }
        // A DTLS handshake record announcing 1000 bytes and carrying 30.
        3 => {
            let mut b = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0xe8];
            let mut body = [0u8; 30];
            noise.fill(&mut body);
            b.extend_from_slice(&body);
            b
        }
        // A well-formed binding request for a username no session has (no integrity).
        _ => {
            let user = format!("{:08x}:{:08x}", noise.next() as u32, noise.next() as u32);
            let pad = (4 - user.len() % 4) % 4;
            let attr_len = 4 + user.len() + pad;
            let mut b = vec![0x00, 0x01];
            b.extend_from_slice(&(attr_len as u16).to_be_bytes());
            b.extend_from_slice(&COOKIE);
            let mut tid = [0u8; 12];
            noise.fill(&mut tid);
            b.extend_from_slice(&tid);
            b.extend_from_slice(&[0x00, 0x06]);
            b.extend_from_slice(&(user.len() as u16).to_be_bytes());
            b.extend_from_slice(user.as_bytes());
            b.extend(std::iter::repeat_n(0u8, pad));
            b
        }
    }
}

/// Sends `rate` datagrams a second to `to` for `length`; returns how many were sent.
pub async fn flood(to: SocketAddr, rate: u64, length: Duration) -> std::io::Result<u64> {
    let mut sockets = Vec::with_capacity(SOURCES);
    for _ in 0..SOURCES {
        sockets.push(UdpSocket::bind("127.0.0.1:0").await?);
    }
    let per_tick = (rate as f64 * TICK.as_secs_f64()).ceil().max(1.0) as u64;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = Instant::now() + length;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut sent = 0u64;
    let max_ticks = length.as_millis() / TICK.as_millis() + 1;
    for _ in 0..max_ticks {
        tick.tick().await;
        if Instant::now() >= end {
            break;
        }
        for _ in 0..per_tick {
            let d = datagram(sent, &mut noise);
            let s = &sockets[(sent % SOURCES as u64) as usize];
            // A full send buffer drops the datagram here, as a network would.
            if s.try_send_to(&d, to).is_ok() {
                sent += 1;
            } else {
                tokio::task::yield_now().await;
            }
        }
    }
    Ok(sent)
}

pub async fn run(target: &Target, scale: &Scale) -> Outcome {
    let (rate, length) = (scale.datagram_rate, scale.attack);
    hostile("ice-garbage", target, scale, 16.0, || async move {
        let mut c = Checks::default();
        let cpu_before = process::sample(target.pid).ok();
        let started = Instant::now();
        let sent = flood(target.ice, rate, length).await;
        let took = started.elapsed();
        let cpu_after = process::sample(target.pid).ok();
        let cpu = match (cpu_before, cpu_after) {
            (Some(a), Some(b)) => {
                let wall = b.at.saturating_duration_since(a.at).as_secs_f64();
                100.0 * b.cpu.saturating_sub(a.cpu).as_secs_f64() / wall.max(1e-3)
            }
            _ => 0.0,
        };
        let sent = match sent {
            Ok(n) => n,
            Err(e) => {
                c.check(false, || format!("sockets: {e}"));
                0
            }
        };
        let achieved = sent as f64 / took.as_secs_f64().max(1e-3);
        c.check(achieved >= rate as f64 * 0.5, || {
            format!("only {achieved:.0} datagrams/s sent of {rate}")
        });
        let figure = format!(
            "{sent} datagrams in {:.1} s ({achieved:.0}/s: random, truncated STUN, truncated DTLS, unknown users); server CPU {cpu:.0} % of a core meanwhile",
            took.as_secs_f64()
        );
        (figure, c)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_take_turns() {
        let mut n = Noise(1);
        let d: Vec<Vec<u8>> = (0..5).map(|i| datagram(i, &mut n)).collect();
        assert!(!d[0].is_empty() && d[0].len() <= 1400);
        // Truncated STUN: announces 256 bytes of attributes, carries 5.
        assert_eq!(&d[1][..2], &[0x00, 0x01]);
        assert_eq!(u16::from_be_bytes([d[1][2], d[1][3]]), 0x100);
        assert_eq!(d[1].len(), 20 + 5);
        assert!(d[2].len() < 20);
        // DTLS: handshake record, length 1000, 30 bytes.
        assert_eq!(d[3][0], 22);
        assert_eq!(d[3].len(), 13 + 30);
        // A complete binding request: its length field covers the rest.
        let len = u16::from_be_bytes([d[4][2], d[4][3]]) as usize;
        assert_eq!(d[4].len(), 20 + len);
        assert_eq!(len % 4, 0);
    }
}
