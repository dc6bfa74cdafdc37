//! The receiver's buffer: packets ordered by sequence number from the next one to deliver,
//! holes for lost packets, and release at their TSBPD time with too-late drop.
//!
//! Bounded: a packet more than `capacity` ahead of the delivery point is refused.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use crate::loss_list::{LossRange, compress};
use crate::seq::SeqNumber;
use crate::tsbpd::Tsbpd;

#[derive(Debug, Clone)]
enum Slot {
    /// Not received yet (a hole below the highest received packet).
    Missing,
    /// The sender asked us not to wait for it (DROPREQ).
    Dropped,
    /// Received.
    Present { ts: u64, payload: Bytes },
}

/// What became of an arriving packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Stored in order (no new hole).
    Stored,
    /// Stored, and the packets in this range are now known to be missing.
    Gap(LossRange),
    /// Filled a hole.
    Recovered,
    /// Already received.
    Duplicate,
    /// Before the delivery point: already delivered or dropped.
    Belated,
    /// Too far ahead of the delivery point for the buffer.
    Overflow,
}

/// What the delivery step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// A payload, in order.
    Data(Bytes),
    /// Packets given up on: missing when later ones were due, or dropped by the sender.
    Skipped(u32),
}

/// The receive buffer.
#[derive(Debug, Clone)]
pub struct ReceiveBuffer {
    head: SeqNumber,
    slots: VecDeque<Slot>,
    capacity: usize,
    /// How many slots are `Missing` (kept so loss checks are O(1)).
    missing: usize,
}

impl ReceiveBuffer {
    /// An empty buffer whose first expected packet is `initial`.
    pub fn new(initial: SeqNumber, capacity: usize) -> Self {
        Self {
            head: initial,
            slots: VecDeque::new(),
            capacity,
            missing: 0,
        }
    }

    /// Packets held or awaited.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing is held or awaited.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Free room, in packets.
    pub fn available(&self) -> usize {
        self.capacity.saturating_sub(self.slots.len())
    }

    /// Stores a packet.
    pub fn insert(&mut self, seq: SeqNumber, ts: u64, payload: Bytes) -> Arrival {
        let d = seq.diff(self.head);
        let Ok(idx) = usize::try_from(d) else {
            return Arrival::Belated;
        };
        if idx >= self.capacity {
            return Arrival::Overflow;
        }
        if let Some(slot) = self.slots.get_mut(idx) {
            return match slot {
                Slot::Missing => {
                    *slot = Slot::Present { ts, payload };
                    self.missing = self.missing.saturating_sub(1);
                    Arrival::Recovered
                }
                Slot::Dropped | Slot::Present { .. } => Arrival::Duplicate,
            };
        }
        let first_missing = self.slots.len();
        self.missing += idx - first_missing;
        self.slots.resize(idx, Slot::Missing);
        self.slots.push_back(Slot::Present { ts, payload });
        if idx > first_missing {
            let from = u32::try_from(first_missing).unwrap_or(u32::MAX);
            Arrival::Gap(LossRange {
                first: self.head.add(from),
                last: seq.sub(1),
            })
        } else {
            Arrival::Stored
        }
    }

    /// Moves the window forward so that `seq` fits, giving up the oldest slots: what they
    /// held comes back in order for immediate delivery, runs of holes as
    /// [`Release::Skipped`]. Used when the sender jumped further ahead than the buffer
    /// holds (e.g. after it dropped packets during an outage), which would otherwise refuse
    /// every later packet.
    pub fn advance_for(&mut self, seq: SeqNumber) -> Vec<Release> {
        let Ok(d) = usize::try_from(seq.diff(self.head)) else {
            return Vec::new();
        };
        let Some(shift) = (d + 1).checked_sub(self.capacity).filter(|n| *n > 0) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut skipped: u32 = 0;
        let held = shift.min(self.slots.len());
        for slot in self.slots.drain(..held) {
            match slot {
                Slot::Present { payload, .. } => {
                    if skipped > 0 {
                        out.push(Release::Skipped(std::mem::take(&mut skipped)));
                    }
                    out.push(Release::Data(payload));
                }
                Slot::Missing | Slot::Dropped => skipped += 1,
            }
        }
        self.missing = self
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Missing))
            .count();
        // Numbers beyond what was held were never seen: lost too.
        let unseen = u32::try_from(shift - held).unwrap_or(u32::MAX);
        skipped = skipped.saturating_add(unseen);
        if skipped > 0 {
            out.push(Release::Skipped(skipped));
        }
        self.head = self.head.add(u32::try_from(shift).unwrap_or(u32::MAX));
        out
    }

    /// The first sequence number not received (what an ACK acknowledges up to).
    pub fn ack_seq(&self) -> SeqNumber {
        if self.missing == 0 {
            return self
                .head
                .add(u32::try_from(self.slots.len()).unwrap_or(u32::MAX));
        }
        let idx = self
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Missing))
            .unwrap_or(self.slots.len());
        self.head.add(u32::try_from(idx).unwrap_or(u32::MAX))
    }

    /// The holes, compressed, for a periodic NAK.
    pub fn loss_list(&self) -> Vec<LossRange> {
        compress(
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s, Slot::Missing))
                .map(|(i, _)| self.head.add(u32::try_from(i).unwrap_or(u32::MAX))),
        )
    }

    /// Whether any hole exists.
    pub fn has_loss(&self) -> bool {
        self.missing > 0
    }

    /// Stops waiting for `first..=last` (DROPREQ). Returns how many holes were dropped.
    pub fn drop_range(&mut self, first: SeqNumber, last: SeqNumber) -> u32 {
        let mut n = 0;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let seq = self.head.add(u32::try_from(i).unwrap_or(u32::MAX));
            if seq.diff(first) >= 0 && last.diff(seq) >= 0 && matches!(slot, Slot::Missing) {
                *slot = Slot::Dropped;
                n += 1;
            }
        }
        self.missing = self.missing.saturating_sub(n as usize);
        n
    }

    fn first_present(&self) -> Option<(usize, u64)> {
        self.slots.iter().enumerate().find_map(|(i, s)| match s {
            Slot::Present { ts, .. } => Some((i, *ts)),
            _ => None,
        })
    }

    /// When the next release is due, if anything is waiting.
    pub fn next_release(&self, clock: &Tsbpd) -> Option<Instant> {
        match self.slots.front()? {
            Slot::Present { ts, .. } => Some(clock.delivery_time(*ts)),
            Slot::Dropped => Some(clock.delivery_time(0)),
            Slot::Missing => self.first_present().map(|(_, ts)| clock.delivery_time(ts)),
        }
    }

    /// Releases the next due payload, or gives up the holes (and the packets the sender
    /// dropped) before it.
    pub fn release(&mut self, now: Instant, clock: &Tsbpd) -> Option<Release> {
        let mut skipped: u32 = 0;
        loop {
            match self.slots.front() {
                None => break,
                Some(Slot::Dropped) => {
                    self.slots.pop_front();
                    self.head = self.head.next();
                    skipped += 1;
                }
                Some(Slot::Present { ts, .. }) => {
                    // The gap is told before the payload after it.
                    if skipped > 0 || clock.delivery_time(*ts) > now {
                        break;
                    }
                    self.head = self.head.next();
                    return match self.slots.pop_front() {
                        Some(Slot::Present { payload, .. }) => Some(Release::Data(payload)),
                        _ => None,
                    };
                }
                Some(Slot::Missing) => {
                    let Some((idx, ts)) = self.first_present() else {
                        break;
                    };
                    if clock.delivery_time(ts) > now {
                        break;
                    }
                    for _ in 0..idx {
                        if let Some(Slot::Missing) = self.slots.pop_front() {
                            self.missing = self.missing.saturating_sub(1);
                        }
                        self.head = self.head.next();
                        skipped += 1;
                    }
                    break;
                }
            }
        }
        (skipped > 0).then_some(Release::Skipped(skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn s(v: u32) -> SeqNumber {
        SeqNumber::new(v)
    }

    fn clock(t0: Instant) -> Tsbpd {
        Tsbpd::new(t0, t0, 0, Duration::from_millis(100))
    }

    #[test]
    fn in_order_packets_release_at_their_time() {
        let t0 = Instant::now();
        let c = clock(t0);
        let mut b = ReceiveBuffer::new(s(10), 64);
        assert_eq!(
            b.insert(s(10), 0, Bytes::from_static(b"a")),
            Arrival::Stored
        );
        assert_eq!(
            b.insert(s(11), 1000, Bytes::from_static(b"b")),
            Arrival::Stored
        );
        assert_eq!(b.ack_seq(), s(12));
        assert_eq!(b.next_release(&c), Some(t0 + Duration::from_millis(100)));
        assert_eq!(b.release(t0 + Duration::from_millis(99), &c), None);
        let at = t0 + Duration::from_millis(100);
        assert_eq!(
            b.release(at, &c),
            Some(Release::Data(Bytes::from_static(b"a")))
        );
        assert_eq!(b.release(at, &c), None);
        assert_eq!(
            b.release(at + Duration::from_millis(1), &c),
            Some(Release::Data(Bytes::from_static(b"b")))
        );
        assert!(b.is_empty());
        assert_eq!(b.insert(s(11), 1000, Bytes::new()), Arrival::Belated);
    }

    #[test]
    fn holes_are_reported_recovered_and_skipped_when_late() {
        let t0 = Instant::now();
        let c = clock(t0);
        let mut b = ReceiveBuffer::new(s(0), 64);
        b.insert(s(0), 0, Bytes::from_static(b"0"));
        assert_eq!(
            b.insert(s(4), 4000, Bytes::from_static(b"4")),
            Arrival::Gap(LossRange {
                first: s(1),
                last: s(3)
            })
        );
        assert_eq!(b.ack_seq(), s(1));
        assert_eq!(
            b.insert(s(2), 2000, Bytes::from_static(b"2")),
            Arrival::Recovered
        );
        assert_eq!(b.insert(s(2), 2000, Bytes::new()), Arrival::Duplicate);
        assert_eq!(
            b.loss_list(),
            vec![LossRange::single(s(1)), LossRange::single(s(3))]
        );
        let late = t0 + Duration::from_millis(103);
        assert_eq!(
            b.release(late, &c),
            Some(Release::Data(Bytes::from_static(b"0")))
        );
        // 1 is missing but 2 is due: skip 1.
        assert_eq!(b.release(late, &c), Some(Release::Skipped(1)));
        assert_eq!(
            b.release(late, &c),
            Some(Release::Data(Bytes::from_static(b"2")))
        );
        assert_eq!(b.ack_seq(), s(3));
        assert_eq!(b.next_release(&c), Some(t0 + Duration::from_millis(104)));
        assert_eq!(b.release(late, &c), None);
        assert_eq!(b.drop_range(s(3), s(3)), 1);
        assert_eq!(b.ack_seq(), s(5));
        assert!(!b.has_loss());
        // The sender dropped 3: given up at once, before 4 is due.
        assert_eq!(b.release(late, &c), Some(Release::Skipped(1)));
        assert_eq!(b.release(late, &c), None);
        assert_eq!(
            b.release(t0 + Duration::from_millis(104), &c),
            Some(Release::Data(Bytes::from_static(b"4")))
        );
    }

    #[test]
    fn a_jump_beyond_the_window_slides_it() {
        let mut b = ReceiveBuffer::new(s(0), 4);
        b.insert(s(0), 0, Bytes::from_static(b"0"));
        b.insert(s(2), 0, Bytes::from_static(b"2"));
        assert_eq!(b.insert(s(5), 0, Bytes::new()), Arrival::Overflow);
        // 5 needs the window to start at 2: 0 is handed over, 1 was lost.
        assert_eq!(
            b.advance_for(s(5)),
            vec![Release::Data(Bytes::from_static(b"0")), Release::Skipped(1)]
        );
        assert_eq!(
            b.insert(s(5), 0, Bytes::from_static(b"5")),
            Arrival::Gap(LossRange {
                first: s(3),
                last: s(4)
            })
        );
        // A huge jump empties the window and counts what was never seen.
        // Holes 3 and 4 between 2 and 5, then 6..999_997 never seen.
        assert_eq!(
            b.advance_for(s(1_000_000)),
            vec![
                Release::Data(Bytes::from_static(b"2")),
                Release::Skipped(2),
                Release::Data(Bytes::from_static(b"5")),
                Release::Skipped(999_997 - 6),
            ]
        );
        assert_eq!(b.ack_seq(), s(1_000_000 - 3));
        assert!(!b.has_loss());
        assert_eq!(b.advance_for(s(1_000_000 - 3)), vec![]);
    }

    #[test]
    fn capacity_bounds_the_window_across_wrap() {
        let mut b = ReceiveBuffer::new(s(SeqNumber::MAX - 1), 4);
        assert_eq!(
            b.insert(s(1), 0, Bytes::new()),
            Arrival::Gap(LossRange {
                first: s(SeqNumber::MAX - 1),
                last: s(0)
            })
        );
        assert_eq!(b.insert(s(2), 0, Bytes::new()), Arrival::Overflow);
        assert_eq!(b.available(), 0);
        assert_eq!(b.ack_seq(), s(SeqNumber::MAX - 1));
    }
}
