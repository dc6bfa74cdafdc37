//! The datagrams a session has to send after one turn, grouped so that each group leaves in
//! one system call (UDP GSO: consecutive datagrams to one peer, all of one size but the
//! last, which may be shorter). Sans-IO: the driver takes the groups and sends them.

use std::net::SocketAddr;
use std::sync::Mutex;

/// Buffer a turn starts with: a few packets' worth (audio, a P-frame).
const START_BYTES: usize = 8 * 1024;

/// Turn buffers kept for reuse at most, and the largest kept (a keyframe's turn).
const POOLED_BUFFERS: usize = 32;
const POOLED_BYTES: usize = 64 * 1024;

/// The datagram buffers of every session's turns. A turn takes one when it queues its first
/// datagram and gives it back once they have left, so the memory follows the turns in
/// progress (a few at a time), not the viewers: a buffer kept by each session was 8 KB of
/// every viewer's memory, and allocating one per turn would cost an allocation per turn.
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

fn take_buffer() -> Vec<u8> {
    let pooled = POOL.lock().ok().and_then(|mut p| p.pop());
    pooled.unwrap_or_else(|| Vec::with_capacity(START_BYTES))
}

fn give_buffer(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > POOLED_BYTES {
        return;
    }
    buf.clear();
    if let Ok(mut p) = POOL.lock()
        && p.len() < POOLED_BUFFERS
    {
        p.push(buf);
    }
}

/// Upper bound of one GSO call (the kernel takes at most 64 KiB of UDP payload).
const MAX_GROUP_BYTES: usize = 60 * 1024;

/// One system call's worth of datagrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub destination: SocketAddr,
    /// Our address the datagrams leave from.
    pub source: SocketAddr,
    /// Size of every datagram but the last.
    pub segment: usize,
    start: usize,
    end: usize,
    count: usize,
}

impl Group {
    /// How many datagrams the group carries.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Datagrams queued for sending, packed back to back in one buffer.
#[derive(Debug, Default)]
pub struct Outbox {
    buf: Vec<u8>,
    groups: Vec<Group>,
    max_segments: usize,
}

impl Outbox {
    /// `max_segments`: how many datagrams one call may carry (1: no GSO).
    pub fn new(max_segments: usize) -> Outbox {
        Outbox {
            buf: Vec::new(),
            groups: Vec::new(),
            max_segments: max_segments.max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Queues one datagram.
    pub fn push(&mut self, destination: SocketAddr, source: SocketAddr, data: &[u8]) {
        let len = data.len();
        if self.buf.capacity() == 0 {
            self.buf = take_buffer();
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(data);
        let max = self.max_segments;
        if let Some(g) = self.groups.last_mut() {
            // A group stays open while every datagram so far had the segment size.
            let open = g.end - g.start == g.count * g.segment;
            if open
                && g.destination == destination
                && g.source == source
                && len <= g.segment
                && len > 0
                && g.count < max
                && g.end - g.start + len <= MAX_GROUP_BYTES
            {
                g.end += len;
                g.count += 1;
                return;
            }
        }
        self.groups.push(Group {
            destination,
            source,
            segment: len,
            start,
            end: start + len,
            count: 1,
        });
    }

    /// The queued groups with their bytes, in order.
    pub fn groups(&self) -> impl Iterator<Item = (&Group, &[u8])> {
        self.groups.iter().map(|g| (g, &self.buf[g.start..g.end]))
    }

    /// Forgets what was queued and gives the buffer back to the pool (see [`POOL`]).
    pub fn clear(&mut self) {
        give_buffer(std::mem::take(&mut self.buf));
        self.groups.clear();
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        give_buffer(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn sizes(o: &Outbox) -> Vec<(u16, usize, usize, usize)> {
        o.groups()
            .map(|(g, b)| (g.destination.port(), g.segment, g.count(), b.len()))
            .collect()
    }

    #[test]
    fn equal_sizes_to_one_peer_share_a_call_until_a_short_one_ends_it() {
        let mut o = Outbox::new(64);
        let local = addr(8189);
        for len in [1200, 1200, 1200, 700, 1200, 90] {
            o.push(addr(1), local, &vec![len as u8; len]);
        }
        // 3×1200 + 700 (a short last one closes the group), then 1200 + 90.
        assert_eq!(sizes(&o), [(1, 1200, 4, 4300), (1, 1200, 2, 1290)]);
        let (_, bytes) = o.groups().next().unwrap();
        assert_eq!(bytes[0], 1200u16 as u8);
        assert_eq!(bytes[3600], 700u16 as u8);
    }

    #[test]
    fn another_peer_a_bigger_datagram_or_the_segment_limit_start_a_new_call() {
        let mut o = Outbox::new(2);
        let local = addr(8189);
        o.push(addr(1), local, &[0; 100]);
        o.push(addr(2), local, &[0; 100]);
        o.push(addr(2), local, &[0; 200]);
        o.push(addr(2), local, &[0; 200]);
        o.push(addr(2), local, &[0; 200]);
        assert_eq!(
            sizes(&o),
            [
                (1, 100, 1, 100),
                (2, 100, 1, 100),
                (2, 200, 2, 400),
                (2, 200, 1, 200)
            ]
        );
        o.clear();
        assert!(o.is_empty());
        // No session keeps a turn's buffer, a big one's least of all.
        for _ in 0..40 {
            o.push(addr(4), local, &[0; 1200]);
        }
        assert!(o.buf.capacity() >= 40 * 1200);
        o.clear();
        assert_eq!(o.buf.capacity(), 0);
        o.push(addr(3), local, &[0; 10]);
        assert_eq!(sizes(&o), [(3, 10, 1, 10)]);
    }

    #[test]
    fn without_gso_every_datagram_is_its_own_call() {
        let mut o = Outbox::new(1);
        for _ in 0..3 {
            o.push(addr(1), addr(8189), &[0; 1200]);
        }
        assert_eq!(o.groups().count(), 3);
    }
}
