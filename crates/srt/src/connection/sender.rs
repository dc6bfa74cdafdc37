//! The sending side of a connection: packets out, retransmission on NAK (and when a
//! paused stream leaves data unacknowledged), DROPREQ for what is no longer held, and the
//! sender's too-late drop.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ACK_PERIOD, Connection, SendError, State};
use crate::loss_list::LossRange;
use crate::packet::{Control, DataKey, DataPacket, Packet, PacketPosition};
use crate::rtt::Rtt;
use crate::send_buffer::SentPacket;

impl Connection {
    /// Sends one payload (at most the negotiated maximum, 1316 bytes by default).
    pub fn send(&mut self, now: Instant, payload: &[u8]) -> Result<(), SendError> {
        let ts = self.timestamp(now);
        let link = match &mut self.state {
            State::Connected(l) => l,
            State::Connecting(_) => return Err(SendError::NotConnected),
            State::Closed => return Err(SendError::Closed),
        };
        if payload.len() > link.max_payload {
            return Err(SendError::TooLarge {
                len: payload.len(),
                max: link.max_payload,
            });
        }
        let seq = link.send.next_seq();
        link.last_data_sent = now;
        let msg = link.next_msg;
        link.next_msg = msg.next();
        let mut body = payload.to_vec();
        let key = match &link.crypto {
            Some(c) => c.encrypt(seq, &mut body),
            None => DataKey::None,
        };
        let body = Bytes::from(body);
        let dropped = link.send.push(SentPacket {
            msg,
            timestamp: ts,
            origin: now,
            last_sent: now,
            retransmitted: false,
            key,
            payload: body.clone(),
        });
        let packet = Packet::Data(DataPacket {
            seq,
            position: PacketPosition::Only,
            in_order: true,
            key,
            retransmitted: false,
            msg,
            timestamp: ts,
            dest_socket_id: link.peer_id,
            payload: body,
        });
        if dropped {
            self.stats.packets_send_drop += 1;
        }
        self.stats.packets_sent += 1;
        self.stats.packets_sent_unique += 1;
        self.stats.bytes_sent += payload.len() as u64;
        self.stats.bytes_sent_unique += payload.len() as u64;
        self.queue(now, &packet);
        Ok(())
    }

    pub(super) fn on_nak(&mut self, now: Instant, ranges: &[LossRange]) {
        let State::Connected(link) = &mut self.state else {
            return;
        };
        let first_held = link.send.first();
        let last_sent = link.send.next_seq().sub(1);
        let min_gap = link.rtt.rtt();
        let mut budget = link.send.len();
        let mut resend = Vec::new();
        let mut drops = Vec::new();
        for r in ranges {
            if r.first.is_before(first_held) {
                let last = if r.last.is_before(first_held) {
                    r.last
                } else {
                    first_held.sub(1)
                };
                drops.push((r.first, last));
            }
            let start = if r.first.is_before(first_held) {
                first_held
            } else {
                r.first
            };
            let end = if last_sent.is_before(r.last) {
                last_sent
            } else {
                r.last
            };
            let mut seq = start;
            while seq.diff(end) <= 0 && budget > 0 {
                budget -= 1;
                self.stats.packets_send_loss += 1;
                // A first report is always answered; repeated reports only once the
                // previous retransmission had a round trip to arrive.
                if let Some(p) = link.send.get_mut(seq)
                    && (!p.retransmitted || now.saturating_duration_since(p.last_sent) >= min_gap)
                {
                    p.last_sent = now;
                    p.retransmitted = true;
                    resend.push(Packet::Data(DataPacket {
                        seq,
                        position: PacketPosition::Only,
                        in_order: true,
                        key: p.key,
                        retransmitted: true,
                        msg: p.msg,
                        timestamp: p.timestamp,
                        dest_socket_id: link.peer_id,
                        payload: p.payload.clone(),
                    }));
                }
                seq = seq.next();
            }
        }
        let peer = link.peer_id;
        if !resend.is_empty() {
            link.last_data_sent = now;
        }
        for p in &resend {
            if let Packet::Data(d) = p {
                self.stats.packets_retransmitted += 1;
                self.stats.packets_sent += 1;
                self.stats.bytes_retransmitted += d.payload.len() as u64;
                self.stats.bytes_sent += d.payload.len() as u64;
            }
            self.queue(now, p);
        }
        for (first, last) in drops {
            self.queue_control(
                now,
                peer,
                Control::DropRequest {
                    msg: 0,
                    first,
                    last,
                },
            );
        }
    }

    pub(super) fn drop_threshold(send_latency: Duration) -> Duration {
        (send_latency * 5 / 4).max(Duration::from_secs(1))
    }

    /// How long unacknowledged data may sit after the last send before it is resent.
    pub(super) fn tail_timeout(rtt: &Rtt) -> Duration {
        rtt.rtt() + 4 * Duration::from_micros(u64::from(rtt.var_us())) + ACK_PERIOD
    }

    /// Live mode recovers losses from NAKs, which need a later packet to reveal a gap: when
    /// the stream pauses with data still unacknowledged, resend it (as a NAK would ask).
    pub(super) fn tail_probe(&mut self, now: Instant) {
        let State::Connected(l) = &mut self.state else {
            return;
        };
        if l.send.is_empty() || now < l.last_data_sent + Self::tail_timeout(&l.rtt) {
            return;
        }
        let range = LossRange {
            first: l.send.first(),
            last: l.send.next_seq().sub(1),
        };
        l.last_data_sent = now;
        self.on_nak(now, &[range]);
    }

    pub(super) fn sender_drop(&mut self, now: Instant) {
        let State::Connected(l) = &mut self.state else {
            return;
        };
        let n = l
            .send
            .drop_older_than(now, Self::drop_threshold(l.send_latency));
        self.stats.packets_send_drop += n as u64;
    }
}
