//! A bounded single-writer, many-reader ring of shared units.
//!
//! The writer never waits: it overwrites the oldest slot. A reader holds only a sequence
//! number (its cursor). Each slot carries the sequence number of the unit it holds, checked
//! before and after loading the unit (a seqlock), so a reader either gets exactly the unit
//! at its cursor or learns that it was overwritten.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

use arc_swap::ArcSwapOption;
use tokio::sync::Notify;

use crate::unit::Unit;

/// Marks a slot whose content is being replaced.
const WRITING: u64 = u64::MAX;

struct Slot {
    seq: AtomicU64,
    unit: ArcSwapOption<Unit>,
}

/// What a reader finds at its cursor.
#[derive(Debug)]
pub(crate) enum Peek {
    /// The unit at the cursor.
    Unit(Arc<Unit>),
    /// Nothing written there yet.
    Empty,
    /// The unit at the cursor was overwritten; the oldest one still readable is at `oldest`.
    Lagged { oldest: u64 },
}

pub(crate) struct Ring {
    slots: Box<[Slot]>,
    mask: u64,
    /// Sequence number of the next unit to be written.
    head: AtomicU64,
    /// Units before this one were released (every reader had passed them).
    released: AtomicU64,
    closed: AtomicBool,
    notify: Notify,
}

impl Ring {
    /// A ring of `capacity` slots, rounded up to a power of two (at least 2).
    pub(crate) fn new(capacity: usize) -> Ring {
        let capacity = capacity.max(2).next_power_of_two();
        let slots = (0..capacity)
            .map(|_| Slot {
                seq: AtomicU64::new(WRITING),
                unit: ArcSwapOption::empty(),
            })
            .collect();
        Ring {
            slots,
            mask: capacity as u64 - 1,
            head: AtomicU64::new(0),
            released: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    pub(crate) fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Appends a unit. Must only be called by one writer at a time (the stream serialises).
    pub(crate) fn push(&self, unit: Arc<Unit>) {
        let seq = self.head.load(Ordering::Relaxed);
        let slot = &self.slots[(seq & self.mask) as usize];
        slot.seq.store(WRITING, Ordering::Relaxed);
        fence(Ordering::Release);
        // The replaced unit is dropped here, outside any reader's path.
        drop(slot.unit.swap(Some(unit)));
        slot.seq.store(seq, Ordering::Release);
        self.head.store(seq + 1, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// How many units are held that [`Ring::release_before`] has not let go.
    pub(crate) fn unreleased(&self) -> u64 {
        self.head()
            .saturating_sub(self.released.load(Ordering::Relaxed))
    }

    /// Lets go of the units before `seq`, which no reader will look at again (every
    /// reader's cursor is at `seq` or later). Called by the writer only.
    pub(crate) fn release_before(&self, seq: u64) {
        let head = self.head();
        let from = self
            .released
            .load(Ordering::Relaxed)
            .max(head.saturating_sub(self.capacity()));
        let to = seq.min(head);
        for s in from..to {
            let slot = &self.slots[(s & self.mask) as usize];
            if slot.seq.load(Ordering::Acquire) == s {
                // The sequence number stays: a look at it finds no unit, as if overwritten.
                drop(slot.unit.swap(None));
            }
        }
        if to > from {
            self.released.store(to, Ordering::Relaxed);
        }
    }

    /// Looks at the unit with sequence number `cursor`.
    pub(crate) fn peek(&self, cursor: u64) -> Peek {
        let head = self.head();
        if cursor >= head {
            return Peek::Empty;
        }
        let oldest = head.saturating_sub(self.capacity());
        if cursor < oldest {
            return Peek::Lagged { oldest };
        }
        let slot = &self.slots[(cursor & self.mask) as usize];
        if slot.seq.load(Ordering::Acquire) != cursor {
            return Peek::Lagged {
                oldest: self.head().saturating_sub(self.capacity()) + 1,
            };
        }
        let unit = slot.unit.load_full();
        fence(Ordering::Acquire);
        match unit {
            Some(unit) if slot.seq.load(Ordering::Relaxed) == cursor => Peek::Unit(unit),
            _ => Peek::Lagged {
                oldest: self.head().saturating_sub(self.capacity()) + 1,
            },
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn notify(&self) -> &Notify {
        &self.notify
    }

    /// Drops every unit still held (when the stream ends or its last reader leaves).
    pub(crate) fn clear(&self) {
        for slot in self.slots.iter() {
            slot.seq.store(WRITING, Ordering::Release);
            slot.unit.store(None);
        }
        self.released.store(self.head(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(pts: i64) -> Arc<Unit> {
        Arc::new(Unit {
            pts,
            ..Unit::default()
        })
    }

    #[test]
    fn capacity_is_power_of_two() {
        assert_eq!(Ring::new(5).capacity(), 8);
        assert_eq!(Ring::new(512).capacity(), 512);
        assert_eq!(Ring::new(0).capacity(), 2);
    }

    #[test]
    fn peek_returns_units_in_order_then_lagged() {
        let ring = Ring::new(4);
        assert!(matches!(ring.peek(0), Peek::Empty));
        for i in 0..6 {
            ring.push(unit(i));
        }
        // seq 0 and 1 were overwritten
        assert!(matches!(ring.peek(0), Peek::Lagged { oldest: 2 }));
        match ring.peek(2) {
            Peek::Unit(u) => assert_eq!(u.pts, 2),
            other => panic!("unexpected {other:?}"),
        }
        match ring.peek(5) {
            Peek::Unit(u) => assert_eq!(u.pts, 5),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(ring.peek(6), Peek::Empty));
    }

    #[test]
    fn released_units_are_gone_and_the_rest_stay() {
        let ring = Ring::new(8);
        for i in 0..6 {
            ring.push(unit(i));
        }
        let first = match ring.peek(0) {
            Peek::Unit(u) => u,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(ring.unreleased(), 6);
        ring.release_before(4);
        assert_eq!(ring.unreleased(), 2);
        // A unit a reader took stays alive with it; the ring no longer holds it.
        assert_eq!(Arc::strong_count(&first), 1);
        assert!(matches!(ring.peek(3), Peek::Lagged { .. }));
        match ring.peek(4) {
            Peek::Unit(u) => assert_eq!(u.pts, 4),
            other => panic!("unexpected {other:?}"),
        }
        // Never beyond what was written; never back.
        ring.release_before(100);
        assert_eq!(ring.unreleased(), 0);
        ring.release_before(2);
        assert_eq!(ring.unreleased(), 0);
        ring.push(unit(6));
        match ring.peek(6) {
            Peek::Unit(u) => assert_eq!(u.pts, 6),
            other => panic!("unexpected {other:?}"),
        }
    }
}
