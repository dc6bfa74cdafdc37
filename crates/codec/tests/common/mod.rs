//! Helpers shared by the codec integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;
use ferromtx_codec::{DepacketizeError, Format, Frame, depacketizer, packetizer};

/// A tiny deterministic xorshift64 generator (fixed seed, no rand crate).
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = (self.next_u64() % (max_len as u64 + 1)) as usize;
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Deterministic filler bytes.
pub fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A packet as a remote sender would send it.
pub fn packet(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Packet {
    Packet {
        marker,
        payload_type: 96,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 1,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::copy_from_slice(payload),
    }
}

/// Packetizes `frames`, checks the packets (size bound, consecutive wrapping sequence
/// numbers, marker on the last packet of each frame), sends them through the wire
/// format and depacketizes them.
pub fn round_trip(format: &Format, frames: &[Frame], max_payload_size: usize) -> Vec<Frame> {
    let mut p = packetizer(format, max_payload_size, 0xdead_beef, 65_533);
    let mut d = depacketizer(format);
    let mut expected_seq = 65_533u16;
    let mut out = Vec::new();
    for frame in frames {
        let packets = p.packetize(frame).expect("packetize");
        assert!(!packets.is_empty());
        for pkt in &packets {
            assert!(
                pkt.payload.len() <= max_payload_size,
                "payload {} > {max_payload_size}",
                pkt.payload.len()
            );
            assert_eq!(pkt.sequence_number, expected_seq);
            assert_eq!(pkt.ssrc, 0xdead_beef);
            assert_eq!(pkt.payload_type, format.payload_type());
            expected_seq = expected_seq.wrapping_add(1);
            let wire = pkt.marshal();
            let parsed = Packet::unmarshal(&wire).expect("unmarshal");
            d.push(&parsed).expect("push");
            while let Some(f) = d.pull() {
                out.push(f);
            }
        }
    }
    out
}

/// Pushes every packet and collects frames and errors.
pub fn depacketize_all(format: &Format, packets: &[Packet]) -> (Vec<Frame>, Vec<DepacketizeError>) {
    let mut d = depacketizer(format);
    let mut frames = Vec::new();
    let mut errors = Vec::new();
    for pkt in packets {
        if let Err(e) = d.push(pkt) {
            errors.push(e);
        }
        while let Some(f) = d.pull() {
            frames.push(f);
        }
    }
    (frames, errors)
}

/// Feeds every prefix of each valid payload, then 2000 pseudo-random payloads, to the
/// format's depacketizer (in one long stream, so state carries over). Panics are bugs.
pub fn feed_garbage(format: &Format, valid_payloads: &[&[u8]], seed: u64) {
    let mut d = depacketizer(format);
    let mut seq = 0u16;
    let mut push = |payload: &[u8], marker: bool, seq: &mut u16| {
        let pkt = packet(*seq, u32::from(*seq / 3), marker, payload);
        *seq = seq.wrapping_add(1);
        let _ = d.push(&pkt);
        let mut pulled = 0;
        while let Some(f) = d.pull() {
            assert!(!f.parts.is_empty());
            pulled += 1;
            assert!(pulled < 10_000);
        }
    };
    for payload in valid_payloads {
        for n in 0..=payload.len() {
            push(&payload[..n], n % 2 == 0, &mut seq);
        }
    }
    let mut rng = XorShift(seed);
    for i in 0..2000 {
        let mut bytes = rng.bytes(64);
        // Keep the first byte of a valid payload now and then, to get past type checks.
        let template = valid_payloads
            .get(i % valid_payloads.len().max(1))
            .and_then(|v| v.first());
        if let (true, Some(first), Some(v)) = (i % 2 == 0, bytes.first_mut(), template) {
            *first = *v;
        }
        let marker = rng.next_u64().is_multiple_of(3);
        if rng.next_u64().is_multiple_of(50) {
            seq = seq.wrapping_add((rng.next_u64() % 5) as u16);
        }
        push(&bytes, marker, &mut seq);
    }
}
