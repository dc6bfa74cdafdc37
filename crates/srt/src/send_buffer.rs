//! The sender's buffer: packets sent and not yet acknowledged, kept for retransmission.
//!
//! Bounded: when full, the oldest packet is dropped (live mode favours new data); packets
//! older than the drop threshold are dropped too (the receiver would skip them anyway).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::packet::DataKey;
use crate::seq::{MsgNumber, SeqNumber};

/// One packet kept for retransmission.
#[derive(Debug, Clone)]
pub struct SentPacket {
    /// Message number.
    pub msg: MsgNumber,
    /// Origin timestamp, as sent.
    pub timestamp: u32,
    /// When the application handed it over.
    pub origin: Instant,
    /// When it was last (re)transmitted.
    pub last_sent: Instant,
    /// Whether it was retransmitted at least once.
    pub retransmitted: bool,
    /// Key flag the payload was encrypted with.
    pub key: DataKey,
    /// The payload as sent (already encrypted).
    pub payload: Bytes,
}

/// The send buffer.
#[derive(Debug, Clone)]
pub struct SendBuffer {
    first: SeqNumber,
    packets: VecDeque<SentPacket>,
    capacity: usize,
}

impl SendBuffer {
    /// An empty buffer whose next packet is `next`.
    pub fn new(next: SeqNumber, capacity: usize) -> Self {
        Self {
            first: next,
            packets: VecDeque::new(),
            capacity,
        }
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        self.packets.iter().map(|p| p.payload.len()).sum()
    }

    /// Sequence number of the oldest packet held (or of the next one when empty).
    pub fn first(&self) -> SeqNumber {
        self.first
    }

    /// Sequence number the next pushed packet gets.
    pub fn next_seq(&self) -> SeqNumber {
        self.first
            .add(u32::try_from(self.packets.len()).unwrap_or(u32::MAX))
    }

    /// Adds the next packet; returns true when the oldest had to be dropped for room.
    pub fn push(&mut self, p: SentPacket) -> bool {
        let dropped = self.packets.len() >= self.capacity;
        if dropped {
            self.packets.pop_front();
            self.first = self.first.next();
        }
        self.packets.push_back(p);
        dropped
    }

    /// Forgets everything before `ack` (exclusive). Ignores ACKs beyond what was sent.
    pub fn acknowledge(&mut self, ack: SeqNumber) -> usize {
        let d = ack.diff(self.first);
        let Ok(n) = usize::try_from(d) else {
            return 0;
        };
        if n > self.packets.len() {
            return 0;
        }
        self.packets.drain(..n);
        self.first = ack;
        n
    }

    /// The packet with this sequence number, if still held.
    pub fn get_mut(&mut self, seq: SeqNumber) -> Option<&mut SentPacket> {
        let idx = usize::try_from(seq.diff(self.first)).ok()?;
        self.packets.get_mut(idx)
    }

    /// Drops packets handed over more than `threshold` before `now`; returns how many.
    pub fn drop_older_than(&mut self, now: Instant, threshold: Duration) -> usize {
        let mut n = 0;
        while let Some(p) = self.packets.front() {
            if now.saturating_duration_since(p.origin) < threshold {
                break;
            }
            self.packets.pop_front();
            self.first = self.first.next();
            n += 1;
        }
        n
    }

    /// When the oldest packet will pass `threshold`.
    pub fn next_drop(&self, threshold: Duration) -> Option<Instant> {
        self.packets.front().map(|p| p.origin + threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(t: Instant) -> SentPacket {
        SentPacket {
            msg: MsgNumber::new(1),
            timestamp: 0,
            origin: t,
            last_sent: t,
            retransmitted: false,
            key: DataKey::None,
            payload: Bytes::from_static(b"x"),
        }
    }

    #[test]
    fn acknowledge_and_lookup() {
        let t = Instant::now();
        let mut b = SendBuffer::new(SeqNumber::new(SeqNumber::MAX), 8);
        for _ in 0..4 {
            assert!(!b.push(pkt(t)));
        }
        assert_eq!(b.next_seq(), SeqNumber::new(3));
        assert!(b.get_mut(SeqNumber::new(0)).is_some());
        assert!(b.get_mut(SeqNumber::new(3)).is_none());
        // An ACK beyond what was sent is ignored, one before the buffer too.
        assert_eq!(b.acknowledge(SeqNumber::new(9)), 0);
        assert_eq!(b.acknowledge(SeqNumber::new(SeqNumber::MAX - 5)), 0);
        assert_eq!(b.acknowledge(SeqNumber::new(1)), 2);
        assert_eq!(b.first(), SeqNumber::new(1));
        assert!(b.get_mut(SeqNumber::new(0)).is_none());
        assert_eq!(b.len(), 2);
        assert_eq!(b.bytes(), 2);
    }

    #[test]
    fn full_buffer_and_age_drop_the_oldest() {
        let t = Instant::now();
        let mut b = SendBuffer::new(SeqNumber::new(0), 2);
        b.push(pkt(t));
        b.push(pkt(t + Duration::from_secs(1)));
        assert!(b.push(pkt(t + Duration::from_secs(2))));
        assert_eq!(b.first(), SeqNumber::new(1));
        let th = Duration::from_millis(1500);
        assert_eq!(b.next_drop(th), Some(t + Duration::from_millis(2500)));
        assert_eq!(b.drop_older_than(t + Duration::from_secs(3), th), 1);
        assert_eq!(b.first(), SeqNumber::new(2));
        assert_eq!(b.len(), 1);
    }
}
