//! Puts the RTP packets of one stream back in sequence order (16-bit sequence numbers,
//! RFC 3550) for a receiver: a packet that arrives late, a retransmission after a NACK
//! above all, takes its place instead of being dropped. A missing packet is waited for a
//! bounded time and a bounded number of later packets, then given up. Sans-IO: every call
//! takes `now`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Packets held at most while one is missing (the window of sequence numbers).
pub const WINDOW: usize = 128;

/// What [`Reorderer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Kept, in order or waiting for an earlier one.
    Kept,
    /// A sequence number already held or already released.
    Duplicate,
    /// Older than what was already released (given up for, or a stray).
    Late,
}

/// The reordering buffer of one RTP stream.
#[derive(Debug)]
pub struct Reorderer<T> {
    slots: Vec<Option<(u16, Instant, T)>>,
    /// Packets pushed out of the window by one far ahead, released first, in order.
    overflow: VecDeque<T>,
    /// Sequence number of the next packet to release.
    next: Option<u16>,
    held: usize,
    max_wait: Duration,
    /// Packets given up for.
    lost: u64,
}

impl<T> Reorderer<T> {
    /// `max_wait`: how long a missing packet is waited for once a later one arrived.
    pub fn new(max_wait: Duration) -> Reorderer<T> {
        Reorderer {
            slots: (0..WINDOW).map(|_| None).collect(),
            overflow: VecDeque::new(),
            next: None,
            held: 0,
            max_wait,
            lost: 0,
        }
    }

    /// Packets given up for so far (never arrived in time).
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Packets held, waiting for an earlier one.
    pub fn held(&self) -> usize {
        self.held + self.overflow.len()
    }

    fn slot(seq: u16) -> usize {
        usize::from(seq) % WINDOW
    }

    /// Takes one received packet.
    pub fn push(&mut self, now: Instant, seq: u16, item: T) -> Pushed {
        let next = *self.next.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next);
        if ahead >= 0x8000 {
            return Pushed::Late;
        }
        if usize::from(ahead) >= WINDOW {
            // Too far ahead to wait for what is missing: what is held goes (by `pop`), the
            // rest of the gap is given up for.
            self.skip_to(seq.wrapping_sub(WINDOW as u16 - 1));
        }
        let slot = &mut self.slots[Self::slot(seq)];
        if slot.as_ref().is_some_and(|(s, _, _)| *s == seq) {
            return Pushed::Duplicate;
        }
        *slot = Some((seq, now, item));
        self.held += 1;
        Pushed::Kept
    }

    /// Moves the release point to `seq`: the packets held before it are queued for release
    /// (in order), the missing ones are counted lost.
    fn skip_to(&mut self, seq: u16) {
        let Some(mut next) = self.next else {
            self.next = Some(seq);
            return;
        };
        // Bounded by the window: each step passes one sequence number.
        for _ in 0..WINDOW {
            if next == seq {
                break;
            }
            match self.take(next) {
                Some(item) => self.overflow.push_back(item),
                None => self.lost += 1,
            }
            next = next.wrapping_add(1);
        }
        // A jump of more than a window: the rest was never seen.
        self.lost += u64::from(seq.wrapping_sub(next));
        self.next = Some(seq);
    }

    fn take(&mut self, seq: u16) -> Option<T> {
        let slot = &mut self.slots[Self::slot(seq)];
        if slot.as_ref().is_some_and(|(s, _, _)| *s == seq) {
            self.held -= 1;
            return slot.take().map(|(_, _, item)| item);
        }
        None
    }

    /// The next packet in order, if it can be released at `now`: the expected one, or, once
    /// the oldest held packet waited `max_wait`, the first held one after a gap (the gap is
    /// given up for).
    pub fn pop(&mut self, now: Instant) -> Option<T> {
        if let Some(item) = self.overflow.pop_front() {
            return Some(item);
        }
        let next = self.next?;
        if let Some(item) = self.take(next) {
            self.next = Some(next.wrapping_add(1));
            return Some(item);
        }
        let (first, since) = self.first_held()?;
        if now.saturating_duration_since(since) < self.max_wait {
            return None;
        }
        self.lost += u64::from(first.wrapping_sub(next));
        self.next = Some(first.wrapping_add(1));
        self.take(first)
    }

    /// The first held packet after the release point, and when the oldest held one arrived.
    fn first_held(&self) -> Option<(u16, Instant)> {
        if self.held == 0 {
            return None;
        }
        let next = self.next?;
        let mut first = None;
        let mut oldest: Option<Instant> = None;
        for k in 0..WINDOW as u16 {
            let seq = next.wrapping_add(k);
            if let Some((s, at, _)) = &self.slots[Self::slot(seq)]
                && *s == seq
            {
                first.get_or_insert(seq);
                oldest = Some(oldest.map_or(*at, |o| o.min(*at)));
            }
        }
        Some((first?, oldest?))
    }

    /// When [`Reorderer::pop`] will give up on a missing packet, if one is awaited.
    pub fn deadline(&self) -> Option<Instant> {
        let next = self.next?;
        if !self.overflow.is_empty() || self.take_ready(next) {
            return None;
        }
        self.first_held().map(|(_, since)| since + self.max_wait)
    }

    fn take_ready(&self, seq: u16) -> bool {
        self.slots[Self::slot(seq)]
            .as_ref()
            .is_some_and(|(s, _, _)| *s == seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(200);

    fn drain(r: &mut Reorderer<u16>, now: Instant) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some(v) = r.pop(now) {
            out.push(v);
        }
        out
    }

    #[test]
    fn in_order_packets_pass_straight_through() {
        let t = Instant::now();
        let mut r = Reorderer::new(WAIT);
        for seq in 10..20u16 {
            assert_eq!(r.push(t, seq, seq), Pushed::Kept);
            assert_eq!(drain(&mut r, t), [seq]);
        }
        assert_eq!((r.lost(), r.held(), r.deadline()), (0, 0, None));
    }

    #[test]
    fn a_late_packet_takes_its_place_across_the_wraparound() {
        let t = Instant::now();
        let mut r = Reorderer::new(WAIT);
        r.push(t, 65534, 65534);
        assert_eq!(drain(&mut r, t), [65534]);
        // 65535 is missing; 0 and 1 wait for it.
        r.push(t, 0, 0);
        r.push(t, 1, 1);
        assert_eq!(drain(&mut r, t), Vec::<u16>::new());
        assert_eq!(r.deadline(), Some(t + WAIT));
        // The retransmission arrives 50 ms later.
        let t2 = t + Duration::from_millis(50);
        assert_eq!(r.push(t2, 65535, 65535), Pushed::Kept);
        assert_eq!(drain(&mut r, t2), [65535, 0, 1]);
        assert_eq!(r.lost(), 0);
        assert_eq!(r.push(t2, 1, 1), Pushed::Late);
    }

    #[test]
    fn a_packet_that_never_comes_is_given_up_after_the_wait() {
        let t = Instant::now();
        let mut r = Reorderer::new(WAIT);
        r.push(t, 100, 100);
        assert_eq!(drain(&mut r, t), [100]);
        r.push(t, 102, 102);
        r.push(t + Duration::from_millis(10), 103, 103);
        assert_eq!(
            drain(&mut r, t + WAIT - Duration::from_millis(1)),
            Vec::<u16>::new()
        );
        assert_eq!(drain(&mut r, t + WAIT), [102, 103]);
        assert_eq!(r.lost(), 1);
        // Too late now.
        assert_eq!(r.push(t + WAIT, 101, 101), Pushed::Late);
    }

    #[test]
    fn duplicates_are_refused_and_a_jump_beyond_the_window_releases_what_is_held() {
        let t = Instant::now();
        let mut r = Reorderer::new(WAIT);
        r.push(t, 1, 1);
        assert_eq!(drain(&mut r, t), [1]);
        r.push(t, 3, 3);
        assert_eq!(r.push(t, 3, 3), Pushed::Duplicate);
        // A packet a whole window ahead: 2 is given up for, 3 goes, then the new one.
        let far = 3 + WINDOW as u16 + 5;
        assert_eq!(r.push(t, far, far), Pushed::Kept);
        let out = drain(&mut r, t + WAIT);
        assert_eq!(out, [3, far]);
        assert_eq!(r.lost(), u64::from(far - 1 - 2));
    }
}
