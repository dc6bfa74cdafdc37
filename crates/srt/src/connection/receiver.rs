//! The receiving side of a connection: storing data, immediate and periodic NAKs, full
//! and light ACKs, and release at TSBPD time.

use std::time::Instant;

use bytes::Bytes;

use super::{ACK_HISTORY, ACK_PERIOD, Connection, Event, LIGHT_ACK_PACKETS, State};
use crate::loss_list;
use crate::packet::{Ack, AckStats, Control, DataKey, DataPacket, HEADER_LEN, UDP_IPV4_OVERHEAD};
use crate::receive_buffer::{Arrival, Release};

impl Connection {
    pub(super) fn on_data(&mut self, now: Instant, mut d: DataPacket) {
        let State::Connected(link) = &mut self.state else {
            return;
        };
        self.stats.packets_received += 1;
        self.stats.bytes_received += d.payload.len() as u64;
        if d.retransmitted {
            self.stats.packets_received_retransmitted += 1;
        }
        // An encrypted connection takes only encrypted payloads (plaintext would be an
        // injection); a plain one cannot read encrypted ones.
        match (&link.crypto, d.key) {
            (None, DataKey::None) => {}
            (Some(c), key) if key != DataKey::None => {
                let mut body = d.payload.to_vec();
                if c.decrypt(key, d.seq, &mut body).is_err() {
                    self.stats.packets_received_undecrypt += 1;
                    return;
                }
                d.payload = Bytes::from(body);
            }
            _ => {
                self.stats.packets_received_undecrypt += 1;
                return;
            }
        }
        let len = d.payload.len() as u64;
        let had_loss = link.recv.has_loss();
        let ts = link.tsbpd.extend(d.timestamp);
        link.rate_packets = link.rate_packets.saturating_add(1);
        link.rate_bytes += len;
        let mut arrival = link.recv.insert(d.seq, ts, d.payload.clone());
        let mut early = Vec::new();
        if arrival == Arrival::Overflow {
            // The sender is further ahead than the buffer holds (it dropped packets during
            // an outage, say): give up the oldest slots rather than refuse every packet.
            early = link.recv.advance_for(d.seq);
            tracing::debug!(conn = self.local_id, "SRT receive window jumped");
            arrival = link.recv.insert(d.seq, ts, d.payload);
        }
        match arrival {
            Arrival::Stored | Arrival::Recovered => {}
            Arrival::Gap(range) => {
                self.stats.packets_received_loss += u64::from(range.len());
                let peer = link.peer_id;
                // The periodic report runs from the first loss; new gaps do not delay it.
                if !had_loss {
                    link.next_nak = now + link.rtt.nak_interval();
                }
                self.stats.packets_sent_nak += 1;
                self.queue_control(now, peer, Control::Nak(vec![range]));
            }
            Arrival::Duplicate | Arrival::Belated => {
                self.stats.packets_received_belated += 1;
                return;
            }
            Arrival::Overflow => {
                self.stats.packets_received_drop += 1;
                return;
            }
        }
        for r in early {
            self.on_release(r);
        }
        self.stats.packets_received_unique += 1;
        self.stats.bytes_received_unique += len;
        let State::Connected(link) = &mut self.state else {
            return;
        };
        link.since_light_ack += 1;
        if link.since_light_ack >= LIGHT_ACK_PACKETS {
            link.since_light_ack = 0;
            let ack = Ack {
                number: 0,
                last_ack: link.recv.ack_seq(),
                stats: None,
            };
            let peer = link.peer_id;
            self.stats.packets_sent_ack += 1;
            self.queue_control(now, peer, Control::Ack(ack));
        }
    }

    pub(super) fn deliver(&mut self, now: Instant) {
        loop {
            let State::Connected(link) = &mut self.state else {
                return;
            };
            match link.recv.release(now, &link.tsbpd) {
                Some(r) => self.on_release(r),
                None => return,
            }
        }
    }

    fn on_release(&mut self, r: Release) {
        match r {
            Release::Data(b) => self.push_event(Event::Data(b)),
            Release::Skipped(n) => {
                self.stats.packets_received_drop += u64::from(n);
                tracing::trace!(conn = self.local_id, n, "SRT packets given up");
                self.push_event(Event::Gap(n));
            }
        }
    }

    pub(super) fn ack_timer(&mut self, now: Instant) {
        let State::Connected(l) = &mut self.state else {
            return;
        };
        if now < l.next_ack {
            return;
        }
        l.next_ack = now + ACK_PERIOD;
        let seq = l.recv.ack_seq();
        if seq == l.ackacked {
            return;
        }
        // The same position again only after about an RTT without its ACKACK.
        if let Some((last, at)) = l.last_full_ack
            && last == seq
            && now.saturating_duration_since(at) < (2 * l.rtt.rtt()).max(2 * ACK_PERIOD)
        {
            return;
        }
        let elapsed = now.saturating_duration_since(l.rate_since);
        if elapsed >= ACK_PERIOD {
            let per_sec = |n: u64| {
                u32::try_from(u128::from(n) * 1_000_000 / elapsed.as_micros().max(1))
                    .unwrap_or(u32::MAX)
            };
            let pr = per_sec(u64::from(l.rate_packets));
            let br = per_sec(l.rate_bytes);
            l.rates.packet_rate = (l.rates.packet_rate / 8) * 7 + pr / 8;
            l.rates.byte_rate = (l.rates.byte_rate / 8) * 7 + br / 8;
            l.rates.link_capacity = l.rates.link_capacity.max(l.rates.packet_rate);
            l.rate_packets = 0;
            l.rate_bytes = 0;
            l.rate_since = now;
        }
        l.ack_number = l.ack_number.wrapping_add(1).max(1);
        let number = l.ack_number;
        if l.sent_acks.len() >= ACK_HISTORY {
            l.sent_acks.pop_front();
        }
        l.sent_acks.push_back((number, now, seq));
        l.last_full_ack = Some((seq, now));
        l.since_light_ack = 0;
        let ack = Ack {
            number,
            last_ack: seq,
            stats: Some(AckStats {
                rtt: l.rtt.rtt_us(),
                rtt_var: l.rtt.var_us(),
                available_buffer: u32::try_from(l.recv.available()).unwrap_or(u32::MAX),
                rates: Some(l.rates),
            }),
        };
        let peer = l.peer_id;
        self.stats.packets_sent_ack += 1;
        self.queue_control(now, peer, Control::Ack(ack));
    }

    pub(super) fn nak_timer(&mut self, now: Instant) {
        let max_bytes = usize::try_from(self.settings.mtu)
            .unwrap_or(1500)
            .saturating_sub(UDP_IPV4_OVERHEAD + HEADER_LEN);
        let State::Connected(l) = &mut self.state else {
            return;
        };
        if now < l.next_nak || !l.recv.has_loss() {
            return;
        }
        l.next_nak = now + l.rtt.nak_interval();
        let list = l.recv.loss_list();
        // Keep what fits one packet (the oldest losses first).
        let mut fit = Vec::new();
        loss_list::write(&list, max_bytes, &mut fit);
        let ranges = loss_list::parse(&fit).unwrap_or_default();
        let peer = l.peer_id;
        self.stats.packets_sent_nak += 1;
        self.queue_control(now, peer, Control::Nak(ranges));
    }
}
