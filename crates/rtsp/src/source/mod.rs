//! The RTSP pull source (`source: rtsp://...` or `rtsps://...`): a client that
//! DESCRIBEs, SETUPs every media, PLAYs, and writes the RTP it receives into the path's
//! stream through the same publish code the server uses for its publishers.

mod udp;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_conf::{PathConf, RtspRangeType, RtspTransport};
use ferromtx_core::source::BoxFuture;
use ferromtx_core::{SourceContext, SourceError, SourceRegistry, StaticSource, Stream, Track};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::client::{Client, ClientError, ClientUrl, media_base};
use crate::datagram::{Channel, Datagram};
use crate::message::{Incoming, Message, Method, Request, StatusCode};
use crate::rtcp::REPORT_PERIOD;
use crate::rtp_in::{DEFAULT_UDP_MAX_PAYLOAD_SIZE, Publishing};
use crate::sdp::{self, SessionDescription};
use crate::transport::interface_of;
use crate::transport::{self, ClientSetup, Transport};
use udp::{Listening, UnicastPair};

/// Bound of connecting and of every request (MediaMTX's default `readTimeout`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Without any packet for this long, the source fails.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// With `rtspTransport: automatic`, UDP without packets for this long switches to TCP.
const UDP_SWITCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Period of keep-alive requests (servers' sessions expire after 60 s).
const KEEPALIVE_PERIOD: Duration = Duration::from_secs(30);
/// How often timeouts and anomalies are looked at.
const CHECK_PERIOD: Duration = Duration::from_secs(1);
/// Longest wait for the answer to TEARDOWN.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(1);
/// Datagrams queued before they are dropped.
const UDP_QUEUE: usize = 1024;

/// How media reach the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Udp,
    Multicast,
    Tcp,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Via::Udp => "UDP",
            Via::Multicast => "UDP-multicast",
            Via::Tcp => "TCP",
        })
    }
}

/// Why one attempt stopped.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Other(String),
    /// UDP does not work: try again over TCP.
    #[error("{0}")]
    SwitchToTcp(&'static str),
}

/// The `rtsp` / `rtsps` static source. Its packets reach readers within the
/// `udpMaxPayloadSize` in force when it connects.
#[derive(Debug, Clone, Copy, Default)]
pub struct RtspSource;

/// Registers the RTSP source for the `rtsp` and `rtsps` schemes.
pub fn register(registry: &mut SourceRegistry) {
    let source = Arc::new(RtspSource);
    registry.register("rtsp", source.clone());
    registry.register("rtsps", source);
}

impl StaticSource for RtspSource {
    fn kind(&self) -> &'static str {
        "rtspSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let span = tracing::info_span!("rtsp_source", component = "RTSP source");
        Box::pin(run(ctx).instrument(span))
    }
}

/// The first way to try, from `rtspTransport` and the scheme. RTSPS carries media
/// inside the TLS connection only: UDP and multicast would need SRTP.
fn first_via(transport: RtspTransport, tls: bool) -> Result<Via, String> {
    match (transport, tls) {
        (RtspTransport::Tcp, _) | (RtspTransport::Automatic, true) => Ok(Via::Tcp),
        (RtspTransport::Udp | RtspTransport::Multicast, true) => Err(format!(
            "rtspTransport '{}' is not available with RTSPS (SRTP is not supported), use tcp",
            match transport {
                RtspTransport::Udp => "udp",
                _ => "multicast",
            }
        )),
        (RtspTransport::Udp | RtspTransport::Automatic, false) => Ok(Via::Udp),
        (RtspTransport::Multicast, false) => Ok(Via::Multicast),
    }
}

async fn run(ctx: SourceContext) -> Result<(), SourceError> {
    tracing::info!("started");
    let url = ClientUrl::parse(ctx.url()).map_err(|e| SourceError(e.to_string()))?;
    let conf = ctx.conf().clone();
    let transport = conf.source_protocol.unwrap_or(conf.rtsp_transport);
    let first = first_via(transport, url.tls).map_err(SourceError)?;
    let automatic = transport == RtspTransport::Automatic && first == Via::Udp;
    let mut stream = None;
    let res = match attempt(&ctx, &conf, &url, first, &mut stream).await {
        Err(Failure::SwitchToTcp(why)) if automatic => {
            tracing::warn!("{why}, switching to TCP");
            attempt(&ctx, &conf, &url, Via::Tcp, &mut stream).await
        }
        other => other,
    };
    res.map_err(|e| SourceError(e.to_string()))
}

/// A media being received: its track and where its packets come from.
struct SetUp {
    /// `(rtp, rtcp)` interleaved channels, over TCP.
    channels: Option<(u8, u8)>,
    /// The RTCP socket and where receiver reports go, over UDP.
    udp: Option<(Arc<UdpSocket>, SocketAddr)>,
}

/// `rtspUDPSourcePortRange` (validated: two ports, in order).
fn udp_source_ports(conf: &PathConf) -> (u16, u16) {
    let port = |i: usize| {
        conf.rtsp_udp_source_port_range
            .get(i)
            .and_then(|p| u16::try_from(*p).ok())
    };
    (port(0).unwrap_or(32768), port(1).unwrap_or(60999))
}

fn range_header(conf: &PathConf) -> Result<Option<String>, Failure> {
    let start = conf.rtsp_range_start.trim();
    let invalid = || Failure::Other(format!("invalid rtspRangeStart '{start}'"));
    match conf.rtsp_range_type {
        RtspRangeType::Undefined => Ok(None),
        RtspRangeType::Clock => {
            // 20060102T150405Z
            let b = start.as_bytes();
            let ok = b.len() == 16
                && b[8] == b'T'
                && b[15] == b'Z'
                && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
            if !ok {
                return Err(invalid());
            }
            Ok(Some(format!("clock={start}-")))
        }
        RtspRangeType::Npt => {
            let d = parse_duration(start).ok_or_else(invalid)?;
            Ok(Some(format!("npt={}-", d.as_secs_f64())))
        }
        RtspRangeType::Smpte => {
            let d = parse_duration(start).ok_or_else(invalid)?;
            let s = d.as_secs();
            Ok(Some(format!(
                "smpte={}:{:02}:{:02}-",
                s / 3600,
                (s / 60) % 60,
                s % 60
            )))
        }
    }
}

/// A Go-style duration (`1h2m3.5s`, `90s`, `250ms`).
fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

/// How a SETUP asks for media over `via` (`ports`: the client's, over UDP).
fn client_setup(via: Via, ports: Option<(u16, u16)>) -> ClientSetup {
    match via {
        Via::Tcp => ClientSetup::Tcp,
        Via::Udp => ClientSetup::Udp(ports),
        Via::Multicast => ClientSetup::Multicast,
    }
}

/// Ports of a Transport reply that can be used (gortsplib takes 0 and 1 for "any").
fn usable_ports(ports: Option<(u16, u16)>) -> Option<(u16, u16)> {
    ports.filter(|(a, b)| *a > 1 && *b > 1)
}

/// The address media come from: the reply's `source`, else the server's.
fn media_source(reply: Option<&Transport>, server: IpAddr) -> IpAddr {
    reply
        .and_then(|t| t.source.as_deref())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(server)
}

/// One connection: DESCRIBE, SETUP, PLAY, then receive until the end or cancellation.
async fn attempt(
    ctx: &SourceContext,
    conf: &PathConf,
    url: &ClientUrl,
    via: Via,
    stream: &mut Option<Arc<Stream>>,
) -> Result<(), Failure> {
    tracing::debug!("connecting");
    let mut client = Client::connect(url, REQUEST_TIMEOUT, &conf.source_fingerprint).await?;
    let keepalive_method = client.keepalive_method(&url.request_url).await?;
    let res = client.describe(&url.request_url).await?;
    let text = String::from_utf8_lossy(&res.body);
    let desc = SessionDescription::parse(&text).map_err(|e| Failure::Other(e.to_string()))?;
    let base = media_base(&res, &desc, &url.request_url);

    let (udp_tx, mut udp_rx) = mpsc::channel::<Datagram>(UDP_QUEUE);
    let mut udp_tasks = JoinSet::new();
    let mut formats: Vec<Format> = Vec::new();
    let mut setups: Vec<SetUp> = Vec::new();
    for media in &desc.medias {
        let Some(format) = media.formats.first() else {
            continue;
        };
        let track = formats.len();
        let pair = match via {
            Via::Udp => Some(
                UnicastPair::bind(client.peer(), udp_source_ports(conf))
                    .await
                    .map_err(ClientError::from)?,
            ),
            Via::Multicast | Via::Tcp => None,
        };
        let ports = pair
            .as_ref()
            .map(UnicastPair::ports)
            .transpose()
            .map_err(ClientError::from)?;
        let mut req = Request::new(
            Method::Setup,
            sdp::control_url(&base, media.control.as_deref()),
        );
        req.headers.set(
            "Transport",
            transport::client_setup(track, client_setup(via, ports)),
        );
        let res = match client.request(req).await {
            Err(ClientError::Status(StatusCode::UNSUPPORTED_TRANSPORT)) if via == Via::Udp => {
                return Err(Failure::SwitchToTcp("server does not support UDP"));
            }
            other => other?,
        };
        let reply = res
            .headers
            .get("Transport")
            .map(Transport::parse)
            .transpose()
            .map_err(|e| Failure::Other(format!("invalid Transport header: {e}")))?;
        let server = client.peer().ip();
        let setup = match (via, pair) {
            (Via::Udp, Some(pair)) => {
                let server_ports = usable_ports(reply.as_ref().and_then(|t| t.server_port));
                if server_ports.is_none() && !conf.rtsp_any_port {
                    return Err(Failure::Other(
                        "server ports have not been provided. Use AnyPortEnable to communicate with this server"
                            .to_string(),
                    ));
                }
                let l = pair.start(
                    media_source(reply.as_ref(), server),
                    server_ports,
                    conf.rtsp_any_port,
                    track,
                    &udp_tx,
                    &mut udp_tasks,
                );
                udp_setup(l)
            }
            (Via::Multicast, _) => {
                let l = join_group(reply.as_ref(), &client, track, &udp_tx, &mut udp_tasks)?;
                udp_setup(l)
            }
            _ => SetUp {
                channels: Some(
                    reply
                        .and_then(|t| t.interleaved)
                        .unwrap_or_else(|| transport::default_channels(track)),
                ),
                udp: None,
            },
        };
        formats.push(format.clone());
        setups.push(setup);
    }
    if formats.is_empty() {
        return Err(Failure::Other("no medias have been setupped".to_string()));
    }

    let stream = match stream {
        Some(s) => Arc::clone(s),
        None => {
            let tracks = formats
                .iter()
                .map(|f| Track { format: f.clone() })
                .collect();
            let Some(s) = ctx.set_ready(tracks) else {
                return Ok(());
            };
            let codecs: Vec<&str> = formats.iter().map(Format::codec_name).collect();
            tracing::info!("ready: {}", ferromtx_core::stream::tracks_info(&codecs));
            *stream = Some(Arc::clone(&s));
            s
        }
    };

    let mut play = Request::new(Method::Play, base.clone());
    if let Some(range) = range_header(conf)? {
        play.headers.set("Range", range);
    }
    // `rtspScale`: the playback speed asked of the server (RFC 2326 12.34), as MediaMTX.
    let scale = conf.rtsp_scale.trim();
    if !scale.is_empty() {
        play.headers.set("Scale", scale);
    }
    client.request(play).await?;

    let mut receiving = Receiving {
        publishing: Publishing::new(
            stream,
            crate::secret::random_u64() as u32,
            udp_max_payload_size(ctx),
        ),
        setups,
        via,
    };
    let res = receiving
        .run(ctx, &mut client, &mut udp_rx, &base, keepalive_method)
        .await;
    udp_tasks.shutdown().await;
    res
}

/// `udpMaxPayloadSize` in force.
fn udp_max_payload_size(ctx: &SourceContext) -> usize {
    ctx.global()
        .and_then(|c| usize::try_from(c.udp_max_payload_size).ok())
        .unwrap_or(DEFAULT_UDP_MAX_PAYLOAD_SIZE)
}

fn udp_setup(l: Listening) -> SetUp {
    SetUp {
        channels: None,
        udp: l.report_to.map(|to| (l.rtcp, to)),
    }
}

/// Joins the multicast group a SETUP reply names, through the interface of the RTSP
/// connection.
fn join_group(
    reply: Option<&Transport>,
    client: &Client,
    track: usize,
    tx: &mpsc::Sender<Datagram>,
    tasks: &mut JoinSet<()>,
) -> Result<Listening, Failure> {
    let group = reply
        .and_then(|t| t.destination.as_deref())
        .and_then(|d| d.trim().parse::<std::net::Ipv4Addr>().ok())
        .filter(std::net::Ipv4Addr::is_multicast)
        .ok_or_else(|| {
            Failure::Other("transport header does not contain a multicast destination".into())
        })?;
    let ports = reply
        .and_then(|t| t.port)
        .ok_or_else(|| Failure::Other("transport header does not contain ports".into()))?;
    let iface = interface_of(client.local().ip())
        .ok_or_else(|| Failure::Other("multicast needs an IPv4 connection".into()))?;
    let server = media_source(reply, client.peer().ip());
    udp::join_multicast(group, ports, iface, server, track, tx, tasks)
        .map_err(|e| Failure::Other(format!("unable to join multicast group {group}: {e}")))
}

struct Receiving {
    publishing: Publishing,
    setups: Vec<SetUp>,
    via: Via,
}

enum Event {
    Incoming(Result<Incoming, ClientError>),
    Datagram(Datagram),
    Report,
    KeepAlive,
    Check,
    Cancelled,
}

impl Receiving {
    async fn run(
        &mut self,
        ctx: &SourceContext,
        client: &mut Client,
        udp_rx: &mut mpsc::Receiver<Datagram>,
        base: &str,
        keepalive_method: Method,
    ) -> Result<(), Failure> {
        let start = tokio::time::Instant::now();
        let mut report = tokio::time::interval_at(start + REPORT_PERIOD, REPORT_PERIOD);
        let mut keepalive = tokio::time::interval_at(start + KEEPALIVE_PERIOD, KEEPALIVE_PERIOD);
        let mut check = tokio::time::interval_at(start + CHECK_PERIOD, CHECK_PERIOD);
        for i in [&mut report, &mut keepalive, &mut check] {
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        let started = Instant::now();
        let mut last_packet: Option<Instant> = None;
        loop {
            let event = tokio::select! {
                () = ctx.cancelled() => Event::Cancelled,
                r = client.next() => Event::Incoming(r),
                Some(d) = udp_rx.recv() => Event::Datagram(d),
                _ = report.tick() => Event::Report,
                _ = keepalive.tick() => Event::KeepAlive,
                _ = check.tick() => Event::Check,
            };
            let now = Instant::now();
            match event {
                Event::Cancelled => {
                    teardown(client, base).await;
                    return Ok(());
                }
                Event::Incoming(Err(e)) => return Err(e.into()),
                Event::Incoming(Ok(Incoming::Interleaved(frame))) => {
                    let found = self.setups.iter().enumerate().find_map(|(track, s)| {
                        let (rtp, rtcp) = s.channels?;
                        if frame.channel == rtp {
                            Some((track, Channel::Rtp))
                        } else if frame.channel == rtcp {
                            Some((track, Channel::Rtcp))
                        } else {
                            None
                        }
                    });
                    if let Some((track, channel)) = found {
                        if channel == Channel::Rtp {
                            last_packet = Some(now);
                        }
                        self.on_packet(track, channel, &frame.payload, now)?;
                    }
                }
                Event::Incoming(Ok(Incoming::Message(Message::Response(r)))) => {
                    if !(200..300).contains(&r.status.0) {
                        tracing::debug!("keep-alive refused: {}", r.status.0);
                    }
                }
                Event::Incoming(Ok(Incoming::Message(Message::Request(r)))) => {
                    tracing::debug!("ignoring request {} from the server", r.method);
                }
                Event::Datagram(d) => {
                    if d.channel == Channel::Rtp {
                        last_packet = Some(now);
                    }
                    self.on_packet(d.track, d.channel, &d.data, now)?;
                }
                Event::Report => self.send_reports(client, now).await?,
                Event::KeepAlive => {
                    client
                        .send(Request::new(keepalive_method.clone(), base.to_string()))
                        .await?;
                }
                Event::Check => {
                    for line in self.publishing.take_anomalies().log_lines() {
                        tracing::warn!("{line}");
                    }
                    let since = now.saturating_duration_since(last_packet.unwrap_or(started));
                    if self.via == Via::Udp && last_packet.is_none() && since >= UDP_SWITCH_TIMEOUT
                    {
                        teardown(client, base).await;
                        return Err(Failure::SwitchToTcp("no UDP packets received"));
                    }
                    if since >= READ_TIMEOUT {
                        return Err(Failure::Other(format!("{} timeout", self.via)));
                    }
                }
            }
        }
    }

    fn on_packet(
        &mut self,
        track: usize,
        channel: Channel,
        data: &Bytes,
        now: Instant,
    ) -> Result<(), Failure> {
        match channel {
            Channel::Rtp => self
                .publishing
                .on_rtp(track, data, now)
                .map_err(|e| Failure::Other(e.to_string())),
            Channel::Rtcp => {
                self.publishing.on_rtcp(track, data, now);
                Ok(())
            }
        }
    }

    async fn send_reports(&mut self, client: &mut Client, now: Instant) -> Result<(), Failure> {
        for (track, data) in self.publishing.receiver_reports(now) {
            let Some(setup) = self.setups.get(track) else {
                continue;
            };
            if let Some((_, rtcp)) = setup.channels {
                client.send_frame(rtcp, data).await?;
            } else if let Some((socket, to)) = &setup.udp
                && let Err(e) = socket.send_to(&data, to).await
            {
                tracing::debug!("UDP send error: {e}");
            }
        }
        Ok(())
    }
}

/// Sends TEARDOWN and waits a little for its answer.
async fn teardown(client: &mut Client, base: &str) {
    let req = Request::new(Method::Teardown, base.to_string());
    let _ = tokio::time::timeout(TEARDOWN_TIMEOUT, client.request(req)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn range_headers_of_each_type() {
        let mut conf = PathConf::default();
        assert!(range_header(&conf).unwrap().is_none());
        conf.rtsp_range_type = RtspRangeType::Clock;
        conf.rtsp_range_start = "20230812T120000Z".into();
        assert_eq!(
            range_header(&conf).unwrap().as_deref(),
            Some("clock=20230812T120000Z-")
        );
        conf.rtsp_range_type = RtspRangeType::Npt;
        conf.rtsp_range_start = "1m30s".into();
        assert_eq!(range_header(&conf).unwrap().as_deref(), Some("npt=90-"));
        conf.rtsp_range_type = RtspRangeType::Smpte;
        assert_eq!(
            range_header(&conf).unwrap().as_deref(),
            Some("smpte=0:01:30-")
        );
        conf.rtsp_range_start = "bad".into();
        assert!(range_header(&conf).is_err());
    }

    #[test]
    fn setups_by_via() {
        assert_eq!(client_setup(Via::Tcp, None), ClientSetup::Tcp);
        assert_eq!(
            client_setup(Via::Udp, Some((5000, 5001))),
            ClientSetup::Udp(Some((5000, 5001)))
        );
        assert_eq!(client_setup(Via::Multicast, None), ClientSetup::Multicast);
    }

    #[test]
    fn transports_with_and_without_tls() {
        assert_eq!(first_via(RtspTransport::Automatic, false), Ok(Via::Udp));
        assert_eq!(first_via(RtspTransport::Automatic, true), Ok(Via::Tcp));
        assert_eq!(
            first_via(RtspTransport::Multicast, false),
            Ok(Via::Multicast)
        );
        assert_eq!(first_via(RtspTransport::Tcp, true), Ok(Via::Tcp));
        assert!(first_via(RtspTransport::Udp, true).is_err());
        assert!(first_via(RtspTransport::Multicast, true).is_err());
        assert_eq!(usable_ports(Some((0, 1))), None);
        assert_eq!(usable_ports(Some((8000, 8001))), Some((8000, 8001)));
    }
}
