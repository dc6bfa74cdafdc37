//! UDP multicast for readers (`multicast` in `rtspTransports`): the first multicast reader
//! of a stream gets each of its medias a group address from `multicastIPRange` (as
//! gortsplib, one address per media, the same `multicastRTPPort`/`multicastRTCPPort` for
//! all); one task per stream then sends every packet once to the groups, with RTCP
//! sender reports, whatever the number of readers. The group lives while a reader holds
//! a [`Membership`].
//!
//! Packets leave through the interfaces the readers' RTSP connections arrived on
//! (`IP_MULTICAST_IF` = the connection's local address), not through every interface as
//! gortsplib does: a reader on the loopback gets the group on the loopback, nothing else
//! is flooded.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use ferromtx_core::{Reader, Stream, ViewHandle};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::rtcp::{self, RtcpPacket, RtcpSender, ntp_from_unix};
use crate::transport::MULTICAST_TTL;
use ferromtx_core::RtpView;

/// `multicastIPRange`, `multicastRTPPort`, `multicastRTCPPort`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MulticastConfig {
    base: u32,
    mask: u32,
    pub rtp_port: u16,
    pub rtcp_port: u16,
}

impl MulticastConfig {
    /// Checks the range (an IPv4 CIDR of multicast addresses) and the ports (RTP even,
    /// RTCP the next one), with gortsplib's wording.
    pub fn parse(range: &str, rtp_port: u16, rtcp_port: u16) -> Result<MulticastConfig, String> {
        let invalid = || format!("invalid multicast IP range '{range}'");
        let (ip, bits) = range.trim().split_once('/').ok_or_else(invalid)?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| invalid())?;
        let bits: u32 = bits.parse().map_err(|_| invalid())?;
        if bits > 32 || !ip.is_multicast() {
            return Err(invalid());
        }
        let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
        if !rtp_port.is_multiple_of(2) {
            return Err(format!("RTP port ({rtp_port}) must be even"));
        }
        if rtp_port.checked_add(1) != Some(rtcp_port) {
            return Err(format!(
                "multicast RTP ({rtp_port}) and RTCP ({rtcp_port}) ports must be consecutive"
            ));
        }
        Ok(MulticastConfig {
            base: u32::from(ip) & mask,
            mask,
            rtp_port,
            rtcp_port,
        })
    }

    /// The address after `ip` in the range, wrapping inside it.
    fn after(&self, ip: u32) -> u32 {
        (ip & self.mask) | (ip.wrapping_add(1) & !self.mask)
    }
}

/// The multicast side of one RTSP server.
#[derive(Debug)]
pub(crate) struct Multicast {
    config: MulticastConfig,
    report_period: Duration,
    udp_max_payload_size: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: u32,
    in_use: HashSet<u32>,
    /// Live groups by stream (the stream's address).
    groups: HashMap<usize, Weak<Group>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sockets of one interface: RTP from `multicastRTPPort`, RTCP from
/// `multicastRTCPPort`, as clients expect packets from those ports.
#[derive(Debug)]
struct Outlet {
    iface: Ipv4Addr,
    users: usize,
    rtp: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
}

/// The groups of one stream and the task that sends to them.
#[derive(Debug)]
pub(crate) struct Group {
    owner: Arc<Multicast>,
    key: usize,
    ips: Vec<Ipv4Addr>,
    outlets: Arc<Mutex<Vec<Outlet>>>,
    task: JoinHandle<()>,
}

/// A reader's hold on the groups of its stream, through its interface.
#[derive(Debug)]
pub(crate) struct Membership {
    group: Arc<Group>,
    iface: Ipv4Addr,
}

impl Membership {
    /// The group address of each media of the stream.
    pub fn ips(&self) -> Vec<String> {
        self.group.ips.iter().map(ToString::to_string).collect()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut outlets = lock(&self.group.outlets);
        if let Some(pos) = outlets.iter().position(|o| o.iface == self.iface) {
            outlets[pos].users -= 1;
            if outlets[pos].users == 0 {
                outlets.swap_remove(pos);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.task.abort();
        let mut state = lock(&self.owner.state);
        for ip in &self.ips {
            state.in_use.remove(&u32::from(*ip));
        }
        if state
            .groups
            .get(&self.key)
            .is_some_and(|w| w.strong_count() == 0)
        {
            state.groups.remove(&self.key);
        }
    }
}

/// A UDP socket bound to `iface:port` that sends multicast through `iface`.
fn outlet_socket(iface: Ipv4Addr, port: u16) -> io::Result<Arc<UdpSocket>> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_multicast_if_v4(&iface)?;
    socket.set_multicast_ttl_v4(MULTICAST_TTL)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(iface, port)).into())?;
    Ok(Arc::new(UdpSocket::from_std(socket.into())?))
}

impl Multicast {
    pub fn new(
        config: MulticastConfig,
        report_period: Duration,
        udp_max_payload_size: usize,
    ) -> Multicast {
        Multicast {
            config,
            report_period,
            udp_max_payload_size,
            state: Mutex::new(State {
                last: config.base,
                in_use: HashSet::new(),
                groups: HashMap::new(),
            }),
        }
    }

    /// Joins the groups of `stream` through `iface`, creating them (and their sending
    /// task) for the first reader.
    pub fn join(self: &Arc<Self>, stream: &Arc<Stream>, iface: Ipv4Addr) -> io::Result<Membership> {
        let group = self.group(stream)?;
        {
            let mut outlets = lock(&group.outlets);
            match outlets.iter_mut().find(|o| o.iface == iface) {
                Some(o) => o.users += 1,
                None => outlets.push(Outlet {
                    iface,
                    users: 1,
                    rtp: outlet_socket(iface, self.config.rtp_port)?,
                    rtcp: outlet_socket(iface, self.config.rtcp_port)?,
                }),
            }
        }
        Ok(Membership { group, iface })
    }

    fn group(self: &Arc<Self>, stream: &Arc<Stream>) -> io::Result<Arc<Group>> {
        let key = Arc::as_ptr(stream) as usize;
        let mut state = lock(&self.state);
        if let Some(g) = state.groups.get(&key).and_then(Weak::upgrade) {
            return Ok(g);
        }
        let tracks = stream.tracks().len();
        let size = u64::from(!self.config.mask) + 1;
        if (state.in_use.len() + tracks) as u64 > size {
            return Err(io::Error::other("multicast IP range is exhausted"));
        }
        let mut ips = Vec::with_capacity(tracks);
        for _ in 0..size {
            if ips.len() == tracks {
                break;
            }
            let next = self.config.after(state.last);
            state.last = next;
            if state.in_use.insert(next) {
                ips.push(Ipv4Addr::from(next));
            }
        }
        if ips.len() < tracks {
            for ip in &ips {
                state.in_use.remove(&u32::from(*ip));
            }
            return Err(io::Error::other("multicast IP range is exhausted"));
        }
        let outlets = Arc::new(Mutex::new(Vec::new()));
        let sender = Sender {
            reader: stream.reader(),
            packetized: stream.view::<RtpView>(ferromtx_core::packets::max_payload(
                self.udp_max_payload_size,
            )),
            tracks: ips
                .iter()
                .zip(stream.tracks())
                .map(|(ip, t)| TrackOut {
                    rtp: SocketAddr::V4(SocketAddrV4::new(*ip, self.config.rtp_port)),
                    rtcp: SocketAddr::V4(SocketAddrV4::new(*ip, self.config.rtcp_port)),
                    sender: RtcpSender::new(t.format.clock_rate()),
                })
                .collect(),
            outlets: Arc::clone(&outlets),
            report_period: self.report_period,
        };
        let task = tokio::spawn(sender.run());
        let group = Arc::new(Group {
            owner: Arc::clone(self),
            key,
            ips,
            outlets,
            task,
        });
        state.groups.insert(key, Arc::downgrade(&group));
        Ok(group)
    }
}

struct TrackOut {
    rtp: SocketAddr,
    rtcp: SocketAddr,
    sender: RtcpSender,
}

/// The task of a group: reads the stream once and sends to every outlet.
struct Sender {
    reader: Reader,
    packetized: ViewHandle<RtpView>,
    tracks: Vec<TrackOut>,
    outlets: Arc<Mutex<Vec<Outlet>>>,
    report_period: Duration,
}

/// The RTP or RTCP sockets of the current outlets.
fn sockets(outlets: &Mutex<Vec<Outlet>>, rtcp: bool) -> Vec<Arc<UdpSocket>> {
    lock(outlets)
        .iter()
        .map(|o| Arc::clone(if rtcp { &o.rtcp } else { &o.rtp }))
        .collect()
}

impl Sender {
    async fn run(self) {
        let Sender {
            mut reader,
            packetized,
            mut tracks,
            outlets,
            report_period,
        } = self;
        let period = report_period.max(Duration::from_millis(100));
        let mut report = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut buf = BytesMut::new();
        loop {
            tokio::select! {
                unit = reader.next() => {
                    let Some(unit) = unit else { return };
                    let now = Instant::now();
                    let ntp = unit
                        .ntp
                        .and_then(|n| n.duration_since(UNIX_EPOCH).ok())
                        .map(ntp_from_unix);
                    let packets = if unit.rtp_packets.is_empty() {
                        unit.view(&packetized).map_or(&[][..], Vec::as_slice)
                    } else {
                        &unit.rtp_packets[..]
                    };
                    let Some(track) = tracks.get_mut(unit.track) else {
                        continue;
                    };
                    let to = track.rtp;
                    let mut datagrams: Vec<Bytes> = Vec::with_capacity(packets.len());
                    for pkt in packets {
                        pkt.marshal_into(&mut buf);
                        datagrams.push(buf.split().freeze());
                        track.sender.process_packet(pkt, ntp, now);
                    }
                    let sent = datagrams.iter().map(Bytes::len).sum::<usize>();
                    reader.add_bytes_sent(sent as u64);
                    for socket in sockets(&outlets, false) {
                        for d in &datagrams {
                            if let Err(e) = socket.send_to(d, to).await {
                                tracing::debug!(component = "RTSP", "multicast send error: {e}");
                            }
                        }
                    }
                }
                _ = report.tick() => {
                    let now = Instant::now();
                    let reports: Vec<(SocketAddr, Bytes)> = tracks
                        .iter()
                        .filter_map(|t| {
                            let sr = t.sender.report(now)?;
                            let data = rtcp::marshal_compound(&[RtcpPacket::SenderReport(sr)]).ok()?;
                            Some((t.rtcp, data))
                        })
                        .collect();
                    for socket in sockets(&outlets, true) {
                        for (to, data) in &reports {
                            let _ = socket.send_to(data, *to).await;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::interface_of;

    #[test]
    fn range_and_ports_are_checked() {
        let c = MulticastConfig::parse("224.1.0.0/16", 8002, 8003).unwrap();
        assert_eq!(c.rtp_port, 8002);
        assert_eq!(Ipv4Addr::from(c.after(c.base)), Ipv4Addr::new(224, 1, 0, 1));
        assert_eq!(
            Ipv4Addr::from(c.after(u32::from(Ipv4Addr::new(224, 1, 255, 255)))),
            Ipv4Addr::new(224, 1, 0, 0)
        );
        assert!(MulticastConfig::parse("10.0.0.0/8", 8002, 8003).is_err());
        assert!(MulticastConfig::parse("224.1.0.0", 8002, 8003).is_err());
        assert!(MulticastConfig::parse("224.1.0.0/33", 8002, 8003).is_err());
        assert_eq!(
            MulticastConfig::parse("224.1.0.0/16", 8003, 8004),
            Err("RTP port (8003) must be even".to_string())
        );
        assert!(MulticastConfig::parse("224.1.0.0/16", 8002, 8005).is_err());
    }

    #[test]
    fn interfaces_of_local_addresses() {
        assert_eq!(
            interface_of("127.0.0.1".parse().unwrap()),
            Some(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            interface_of("::ffff:10.1.2.3".parse().unwrap()),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(interface_of("::1".parse().unwrap()), None);
        assert_eq!(interface_of("0.0.0.0".parse().unwrap()), None);
    }
}
