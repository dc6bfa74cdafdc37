//! RTP reception statistics of one track (RFC 3550 §6.4.1, A.1, A.3, A.8): packets and
//! bytes, packets lost from sequence gaps, duplicates, late (reordered or retransmitted)
//! arrivals, interarrival jitter.
//!
//! Pure: arrival times are passed in. Sequence numbers are extended past their 16-bit
//! wraparound relative to the highest one seen; a window of the last [`WINDOW`] numbers
//! remembers which arrived, so a late packet fills its gap exactly once and a second copy
//! counts as a duplicate.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Sequence numbers remembered behind the highest one.
pub const WINDOW: u64 = 2048;
/// A forward jump larger than this is a restart of the sequence (RFC 3550 A.1 `MAX_DROPOUT`),
/// confirmed by a second consecutive packet.
pub const MAX_DROPOUT: u64 = 3000;

const WORDS: usize = (WINDOW / 64) as usize;

/// What one packet was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The first packet, or the next one(s) in order (a gap before it counts as lost until
    /// the missing packets arrive).
    InOrder,
    /// Behind the highest sequence number, not seen before: fills a gap.
    Late,
    /// Seen before.
    Duplicate,
    /// Too far behind to tell a late packet from a duplicate: ignored.
    TooOld,
    /// Far ahead: held until the next packet confirms a restart of the sequence.
    Jump,
    /// Confirmed a restart (the held packet and this one start a new sequence).
    Restart,
}

/// Totals of a track, as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReceptionTotals {
    /// Every RTP packet handed in, duplicates included.
    pub packets: u64,
    /// Their sizes, as handed in.
    pub bytes: u64,
    /// Distinct sequence numbers received.
    pub unique: u64,
    /// Distinct sequence numbers expected from the first to the highest.
    pub expected: u64,
    /// `expected - unique`: never received (so far).
    pub lost: u64,
    pub duplicates: u64,
    /// Arrived behind a higher sequence number (reordered or retransmitted).
    pub late: u64,
    pub too_old: u64,
    /// Forward gaps seen (each may be filled later).
    pub gaps: u64,
    pub restarts: u64,
    pub ssrc_changes: u64,
    /// RFC 3550 interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
}

impl ReceptionTotals {
    /// Lost packets in percent of those expected.
    pub fn loss_percent(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.expected as f64
        }
    }

    /// Adds another track's or viewer's counts (jitter: the larger one).
    pub fn add(&mut self, o: &ReceptionTotals) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.unique += o.unique;
        self.expected += o.expected;
        self.lost += o.lost;
        self.duplicates += o.duplicates;
        self.late += o.late;
        self.too_old += o.too_old;
        self.gaps += o.gaps;
        self.restarts += o.restarts;
        self.ssrc_changes += o.ssrc_changes;
        self.jitter_ms = self.jitter_ms.max(o.jitter_ms);
    }
}

/// The current run of sequence numbers.
#[derive(Debug, Clone)]
struct Sequence {
    base: u64,
    highest: u64,
    received: [u64; WORDS],
    unique: u64,
}

impl Sequence {
    /// Extended sequence numbers start one cycle up (their low 16 bits are the sequence
    /// number), so reordering at the very start can go below the first packet.
    fn new(seq: u16) -> Sequence {
        let ext = (1 << 16) + u64::from(seq);
        let mut s = Sequence {
            base: ext,
            highest: ext,
            received: [0; WORDS],
            unique: 0,
        };
        s.mark(ext);
        s
    }

    fn bit(ext: u64) -> (usize, u64) {
        let i = ext % WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn is_marked(&self, ext: u64) -> bool {
        let (w, b) = Self::bit(ext);
        self.received[w] & b != 0
    }

    fn mark(&mut self, ext: u64) {
        let (w, b) = Self::bit(ext);
        self.received[w] |= b;
        self.unique += 1;
    }

    fn clear(&mut self, ext: u64) {
        let (w, b) = Self::bit(ext);
        self.received[w] &= !b;
    }

    fn expected(&self) -> u64 {
        self.highest + 1 - self.base
    }

    /// `seq` extended relative to the highest number: signed distance ahead of it.
    fn distance(&self, seq: u16) -> i64 {
        i64::from(seq.wrapping_sub(self.highest as u16) as i16)
    }

    fn advance(&mut self, to: u64) {
        if to - self.highest >= WINDOW {
            self.received = [0; WORDS];
        } else {
            for e in self.highest + 1..to {
                self.clear(e);
            }
            self.clear(to);
        }
        self.highest = to;
        self.mark(to);
    }
}

/// Reception state of one track.
#[derive(Debug, Clone)]
pub struct Reception {
    clock_rate: u32,
    epoch: Option<Instant>,
    ssrc: Option<u32>,
    seq: Option<Sequence>,
    /// A far jump waiting for confirmation: the sequence number that would confirm it.
    pending_jump: Option<u16>,
    /// Expected and unique packets of sequences that ended (restarts, SSRC changes).
    closed_expected: u64,
    closed_unique: u64,
    last_transit: Option<u32>,
    jitter: f64,
    totals: ReceptionTotals,
}

impl Reception {
    pub fn new(clock_rate: u32) -> Reception {
        Reception {
            clock_rate: clock_rate.max(1),
            epoch: None,
            ssrc: None,
            seq: None,
            pending_jump: None,
            closed_expected: 0,
            closed_unique: 0,
            last_transit: None,
            jitter: 0.0,
            totals: ReceptionTotals::default(),
        }
    }

    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Accounts one RTP packet of `size` bytes that arrived at `now`.
    pub fn on_packet(
        &mut self,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        size: usize,
        now: Instant,
    ) -> Arrival {
        self.totals.packets += 1;
        self.totals.bytes += size as u64;
        if self.ssrc.is_some_and(|s| s != ssrc) {
            self.totals.ssrc_changes += 1;
            self.close_sequence();
        }
        self.ssrc = Some(ssrc);
        let arrival = match self.seq.as_mut() {
            None => {
                self.seq = Some(Sequence::new(seq));
                Arrival::InOrder
            }
            Some(s) => {
                let d = s.distance(seq);
                if d > 0 && d as u64 <= MAX_DROPOUT {
                    if d > 1 {
                        self.totals.gaps += 1;
                    }
                    s.advance(s.highest + d as u64);
                    self.pending_jump = None;
                    Arrival::InOrder
                } else if d <= 0 && d.unsigned_abs() < WINDOW {
                    let ext = s.highest - d.unsigned_abs();
                    if ext < s.base {
                        // Older than the first packet but inside the window: the sequence
                        // started earlier than it seemed.
                        s.base = ext;
                        s.mark(ext);
                        self.totals.late += 1;
                        Arrival::Late
                    } else if s.is_marked(ext) {
                        self.totals.duplicates += 1;
                        Arrival::Duplicate
                    } else {
                        s.mark(ext);
                        self.totals.late += 1;
                        Arrival::Late
                    }
                } else if self.pending_jump == Some(seq) {
                    // Two consecutive packets far from the old sequence: a new one.
                    self.totals.restarts += 1;
                    self.close_sequence();
                    let mut s = Sequence::new(seq.wrapping_sub(1));
                    s.advance(s.highest + 1);
                    self.seq = Some(s);
                    Arrival::Restart
                } else {
                    // Far ahead, or further behind than the window: a very late packet,
                    // or the first of a new sequence if the next packet follows it.
                    self.pending_jump = Some(seq.wrapping_add(1));
                    if d < 0 {
                        self.totals.too_old += 1;
                        Arrival::TooOld
                    } else {
                        Arrival::Jump
                    }
                }
            }
        };
        if arrival == Arrival::InOrder || arrival == Arrival::Restart {
            self.update_jitter(timestamp, now);
        }
        arrival
    }

    /// RFC 3550 A.8, on packets that arrive in order (a late or retransmitted packet says
    /// nothing about the network's jitter).
    fn update_jitter(&mut self, timestamp: u32, now: Instant) {
        let epoch = *self.epoch.get_or_insert(now);
        let nanos = now.saturating_duration_since(epoch).as_nanos();
        let arrival = nanos * u128::from(self.clock_rate) / 1_000_000_000;
        // Truncated to the timestamp's 32 bits: differences below wrap correctly.
        let transit = (arrival as u32).wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    fn close_sequence(&mut self) {
        if let Some(s) = self.seq.take() {
            self.closed_expected += s.expected();
            self.closed_unique += s.unique;
        }
        self.pending_jump = None;
        self.last_transit = None;
    }

    /// Jitter in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    pub fn totals(&self) -> ReceptionTotals {
        let (expected, unique) = match &self.seq {
            Some(s) => (
                self.closed_expected + s.expected(),
                self.closed_unique + s.unique,
            ),
            None => (self.closed_expected, self.closed_unique),
        };
        ReceptionTotals {
            unique,
            expected,
            lost: expected.saturating_sub(unique),
            jitter_ms: self.jitter * 1000.0 / f64::from(self.clock_rate),
            ..self.totals
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Feeds `seqs` 20 ms apart with matching 90 kHz timestamps (no jitter).
    fn feed(r: &mut Reception, seqs: &[u16]) -> Vec<Arrival> {
        let t0 = Instant::now();
        seqs.iter()
            .enumerate()
            .map(|(i, &s)| {
                let at = t0 + Duration::from_millis(20 * i as u64);
                r.on_packet(1, s, u32::from(s).wrapping_mul(1800), 100, at)
            })
            .collect()
    }

    fn seq_range(from: u32, n: u32) -> Vec<u16> {
        (from..from + n).map(|s| s as u16).collect()
    }

    #[test]
    fn in_order_packets_lose_nothing() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &seq_range(100, 50));
        let t = r.totals();
        assert_eq!((t.packets, t.unique, t.expected, t.lost), (50, 50, 50, 0));
        assert_eq!(t.bytes, 5000);
        assert_eq!(t.gaps, 0);
    }

    #[test]
    fn wraparound_at_65535_is_continuous() {
        let mut r = Reception::new(90_000);
        let seqs = seq_range(65_530, 12); // 65530..=65535, 0..=5
        assert_eq!(*seqs.last().unwrap(), 5);
        let arrivals = feed(&mut r, &seqs);
        assert!(arrivals.iter().all(|a| *a == Arrival::InOrder));
        let t = r.totals();
        assert_eq!((t.unique, t.expected, t.lost, t.restarts), (12, 12, 0, 0));
    }

    #[test]
    fn a_loss_across_the_wrap_is_counted_once() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[65_533, 65_534, 65_535, 1, 2]);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.gaps), (6, 1, 1));
    }

    #[test]
    fn many_wraps_keep_counting() {
        let mut r = Reception::new(90_000);
        let seqs = seq_range(60_000, 200_000);
        feed(&mut r, &seqs);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.restarts), (200_000, 0, 0));
    }

    #[test]
    fn reordered_packets_are_late_not_lost() {
        let mut r = Reception::new(90_000);
        let a = feed(&mut r, &[1, 2, 4, 3, 5]);
        assert_eq!(a[3], Arrival::Late);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.late, t.duplicates), (5, 0, 1, 0));
    }

    #[test]
    fn reordering_across_the_wrap() {
        let mut r = Reception::new(90_000);
        let a = feed(&mut r, &[65_534, 0, 65_535, 1]);
        assert_eq!(a[2], Arrival::Late);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.late), (4, 0, 1));
    }

    #[test]
    fn reordering_before_the_first_packet() {
        let mut r = Reception::new(90_000);
        let a = feed(&mut r, &[10, 8, 9, 11]);
        assert_eq!(a[1], Arrival::Late);
        let t = r.totals();
        assert_eq!((t.expected, t.unique, t.lost), (4, 4, 0));
        // And across the wrap at the start.
        let mut r = Reception::new(90_000);
        feed(&mut r, &[0, 65_535, 1]);
        let t = r.totals();
        assert_eq!((t.expected, t.unique, t.lost), (3, 3, 0));
    }

    #[test]
    fn duplicates_are_counted_and_not_received_twice() {
        let mut r = Reception::new(90_000);
        let a = feed(&mut r, &[1, 2, 2, 3, 1, 3]);
        assert_eq!(
            a,
            vec![
                Arrival::InOrder,
                Arrival::InOrder,
                Arrival::Duplicate,
                Arrival::InOrder,
                Arrival::Duplicate,
                Arrival::Duplicate
            ]
        );
        let t = r.totals();
        assert_eq!(
            (t.packets, t.unique, t.expected, t.lost, t.duplicates),
            (6, 3, 3, 0, 3)
        );
    }

    #[test]
    fn a_late_copy_of_a_late_packet_is_a_duplicate() {
        let mut r = Reception::new(90_000);
        let a = feed(&mut r, &[1, 3, 2, 2]);
        assert_eq!(a[2], Arrival::Late);
        assert_eq!(a[3], Arrival::Duplicate);
        assert_eq!(r.totals().lost, 0);
    }

    #[test]
    fn gap_then_recovery_by_retransmission() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[1, 2, 3, 6, 7, 8]);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.gaps), (8, 2, 1));
        // The retransmissions of 4 and 5 arrive later, after 9.
        let a = feed(&mut r, &[9, 5, 4, 10]);
        assert_eq!(a[1..3], [Arrival::Late, Arrival::Late]);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.late, t.gaps), (10, 0, 2, 1));
        // A second retransmission of 4 changes nothing but the duplicate count.
        feed(&mut r, &[4]);
        let t = r.totals();
        assert_eq!((t.lost, t.duplicates), (0, 1));
    }

    #[test]
    fn very_late_packets_are_too_old() {
        let mut r = Reception::new(90_000);
        let seqs = seq_range(0, WINDOW as u32 + 10);
        feed(&mut r, &seqs);
        let a = feed(&mut r, &[3]);
        assert_eq!(a, vec![Arrival::TooOld]);
        let t = r.totals();
        assert_eq!((t.too_old, t.duplicates, t.lost), (1, 0, 0));
    }

    #[test]
    fn a_late_packet_older_than_the_window_after_a_gap_stays_lost() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[0, 2]);
        let rest = seq_range(3, WINDOW as u32 + 5);
        feed(&mut r, &rest);
        assert_eq!(r.totals().lost, 1);
        assert_eq!(feed(&mut r, &[1]), vec![Arrival::TooOld]);
        assert_eq!(r.totals().lost, 1);
    }

    #[test]
    fn a_far_jump_restarts_after_confirmation() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[100, 101, 102]);
        let a = feed(&mut r, &[20_000, 20_001, 20_002]);
        assert_eq!(a, vec![Arrival::Jump, Arrival::Restart, Arrival::InOrder]);
        let t = r.totals();
        assert_eq!((t.expected, t.unique, t.lost, t.restarts), (6, 6, 0, 1));
    }

    #[test]
    fn a_restart_behind_the_old_sequence_is_found_too() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[30_000, 30_001]);
        let a = feed(&mut r, &[100, 101, 102]);
        assert_eq!(a, vec![Arrival::TooOld, Arrival::Restart, Arrival::InOrder]);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.restarts), (5, 0, 1));
    }

    #[test]
    fn a_single_stray_packet_does_not_restart() {
        let mut r = Reception::new(90_000);
        let a = feed(&mut r, &[100, 101, 20_000, 102, 103]);
        assert_eq!(a[2], Arrival::Jump);
        assert_eq!(a[3], Arrival::InOrder);
        let t = r.totals();
        assert_eq!((t.expected, t.lost, t.restarts), (4, 0, 0));
    }

    #[test]
    fn a_new_ssrc_starts_a_new_sequence() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[10, 11, 12]);
        let t0 = Instant::now();
        r.on_packet(2, 5000, 0, 100, t0);
        r.on_packet(2, 5002, 0, 100, t0);
        let t = r.totals();
        assert_eq!((t.ssrc_changes, t.expected, t.lost), (1, 6, 1));
    }

    #[test]
    fn loss_percent() {
        let mut r = Reception::new(90_000);
        feed(&mut r, &[0, 1, 2, 3, 5, 6, 7, 8, 9, 10]);
        let t = r.totals();
        assert_eq!((t.expected, t.lost), (11, 1));
        assert!((t.loss_percent() - 100.0 / 11.0).abs() < 1e-9);
        assert_eq!(ReceptionTotals::default().loss_percent(), 0.0);
    }

    #[test]
    fn jitter_is_zero_for_perfect_pacing() {
        let mut r = Reception::new(48_000);
        let t0 = Instant::now();
        for i in 0..100u16 {
            let at = t0 + Duration::from_millis(20 * u64::from(i));
            r.on_packet(1, i, u32::from(i) * 960, 100, at);
        }
        assert!(r.jitter() < 1e-9, "{}", r.jitter());
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let mut r = Reception::new(48_000);
        let t0 = Instant::now();
        // 20 ms packets; the second one arrives 10 ms late (480 timestamp units).
        r.on_packet(1, 0, 0, 100, t0);
        r.on_packet(1, 1, 960, 100, t0 + Duration::from_millis(30));
        assert!((r.jitter() - 30.0).abs() < 1e-6, "{}", r.jitter());
        r.on_packet(1, 2, 1920, 100, t0 + Duration::from_millis(40));
        assert!((r.jitter() - 58.125).abs() < 1e-6, "{}", r.jitter());
        let ms = r.totals().jitter_ms;
        assert!((ms - 58.125 / 48.0).abs() < 1e-9, "{ms}");
    }

    #[test]
    fn jitter_handles_timestamp_wraparound() {
        let mut r = Reception::new(90_000);
        let t0 = Instant::now();
        let start = u32::MAX - 3600;
        for i in 0..10u32 {
            let at = t0 + Duration::from_millis(40 * u64::from(i));
            r.on_packet(1, i as u16, start.wrapping_add(i * 3600), 100, at);
        }
        assert!(r.jitter() < 1e-6, "{}", r.jitter());
    }

    #[test]
    fn late_packets_do_not_move_jitter() {
        let mut r = Reception::new(90_000);
        let t0 = Instant::now();
        for (i, s) in [0u16, 1, 3].iter().enumerate() {
            let at = t0 + Duration::from_millis(20 * i as u64);
            r.on_packet(1, *s, u32::from(*s) * 1800, 100, at);
        }
        let before = r.jitter();
        r.on_packet(1, 2, 3600, 100, t0 + Duration::from_millis(500));
        assert_eq!(r.jitter(), before);
    }
}
