//! An RTSP reader: OPTIONS, DESCRIBE, SETUP of every media (TCP interleaved or UDP),
//! PLAY, then counting RTP until told to stop, then TEARDOWN. Receiver reports go back
//! every few seconds (servers time out UDP readers that send none). Credentials in the
//! URL answer Basic or Digest challenges. Messages, SDP and transports come from
//! `ferromtx-rtsp`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::{Format, rtp};
use ferromtx_rtsp::client::{Client, ClientError, ClientUrl, media_base};
use ferromtx_rtsp::message::{Incoming, Message, Method, Request};
use ferromtx_rtsp::rtcp::{self, RtcpReceiver};
use ferromtx_rtsp::sdp::{self, SessionDescription};
use ferromtx_rtsp::transport::{self, ClientSetup, Lower, Transport};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::keyframe::KeyframeCodec;
use crate::load::Progress;
use crate::reception::Reception;
use crate::report::{TrackReport, ViewerReport};
use crate::udp;

/// How every reader of a run behaves.
#[derive(Debug, Clone)]
pub struct RtspOptions {
    pub url: ClientUrl,
    pub transport: Lower,
    /// Local address of the UDP sockets.
    pub bind: IpAddr,
    /// Receive buffer of each RTP socket, bytes (0: the system default).
    pub recv_buffer: usize,
    /// Bound of connecting and of every request.
    pub timeout: Duration,
    /// When stopped, send TEARDOWN; `false`: drop the connection without it.
    pub teardown: bool,
}

impl RtspOptions {
    pub fn new(url: &str, transport: Lower) -> Result<RtspOptions, ClientError> {
        // rtsps:// works too (TCP only, the server's certificate checked against the
        // well-known authorities).
        let url = ClientUrl::parse(url)?;
        Ok(RtspOptions {
            url,
            transport,
            bind: IpAddr::from([127, 0, 0, 1]),
            recv_buffer: udp::DEFAULT_RECV_BUFFER,
            timeout: Duration::from_secs(10),
            teardown: true,
        })
    }
}

/// Why a reader could not play.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("invalid SDP: {0}")]
    Sdp(String),
    #[error("the stream has no media")]
    NoMedia,
    #[error("UDP: {0}")]
    Udp(#[from] std::io::Error),
    #[error("stopped before playing")]
    Stopped,
}

const KEEPALIVE_PERIOD: Duration = Duration::from_secs(20);
const REPORT_PERIOD: Duration = Duration::from_secs(5);
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(2);
/// Datagrams queued from the UDP sockets to the reader.
const UDP_QUEUE: usize = 4096;
const MAX_DATAGRAM: usize = 65_536;

struct Track {
    kind: &'static str,
    codec: &'static str,
    keyframe: Option<KeyframeCodec>,
    reception: Reception,
    rtcp: RtcpReceiver,
    /// Interleaved `(rtp, rtcp)` channels over TCP.
    channels: Option<(u8, u8)>,
    /// The RTCP socket and the server's RTCP address, over UDP.
    udp_rtcp: Option<(Arc<UdpSocket>, SocketAddr)>,
}

struct Datagram {
    track: usize,
    data: Bytes,
    at: Instant,
}

/// Binds the RTP and RTCP sockets of one track; a task forwards RTP datagrams from the
/// server to `tx` (RTCP from the server is not needed to count).
async fn bind_udp(
    bind: IpAddr,
    recv_buffer: usize,
    server: IpAddr,
    track: usize,
    tasks: &mut JoinSet<()>,
    tx: &mpsc::Sender<Datagram>,
) -> std::io::Result<(Arc<UdpSocket>, (u16, u16))> {
    let rtp = udp::bind(SocketAddr::new(bind, 0), recv_buffer)?;
    let rtcp = Arc::new(UdpSocket::bind(SocketAddr::new(bind, 0)).await?);
    let ports = (rtp.local_addr()?.port(), rtcp.local_addr()?.port());
    let tx = tx.clone();
    tasks.spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let Ok((n, from)) = rtp.recv_from(&mut buf).await else {
                continue;
            };
            if from.ip() != server {
                continue;
            }
            let d = Datagram {
                track,
                data: Bytes::copy_from_slice(&buf[..n]),
                at: Instant::now(),
            };
            if tx.try_send(d).is_err() {
                if tx.is_closed() {
                    return;
                }
                tracing::debug!("reader queue full: datagram dropped");
            }
        }
    });
    Ok((rtcp, ports))
}

/// A connected, playing reader.
struct Reader {
    client: Client,
    base: String,
    tracks: Vec<Track>,
    started: Instant,
    played_at: Option<Instant>,
    first_packet: Option<Instant>,
    first_keyframe: Option<Instant>,
    progress: Arc<Progress>,
    keepalive: Method,
    /// RTP sockets, over UDP.
    local_ports: Vec<u16>,
}

fn ms_since(from: Instant, to: Option<Instant>) -> Option<f64> {
    to.map(|t| t.saturating_duration_since(from).as_secs_f64() * 1000.0)
}

impl Reader {
    fn on_rtp(&mut self, track: usize, data: &Bytes, at: Instant) {
        let Ok(pkt) = rtp::Packet::unmarshal(data) else {
            return;
        };
        let Some(t) = self.tracks.get_mut(track) else {
            return;
        };
        t.reception
            .on_packet(pkt.ssrc, pkt.sequence_number, pkt.timestamp, data.len(), at);
        t.rtcp.process_packet(&pkt, at);
        self.progress.packet();
        if self.first_packet.is_none() {
            self.first_packet = Some(at);
            self.progress.connected.fetch_add(1, Ordering::Relaxed);
        }
        if self.first_keyframe.is_none() && t.keyframe.is_some_and(|k| k.is_keyframe(&pkt.payload))
        {
            self.first_keyframe = Some(at);
        }
    }

    async fn send_reports(&mut self) -> Result<(), ClientError> {
        let now = Instant::now();
        for i in 0..self.tracks.len() {
            let Some(packets) = self.tracks[i].rtcp.report(now) else {
                continue;
            };
            let Ok(data) = rtcp::marshal_compound(&packets) else {
                continue;
            };
            if let Some((_, ch)) = self.tracks[i].channels {
                self.client.send_frame(ch, data).await?;
            } else if let Some((socket, to)) = &self.tracks[i].udp_rtcp
                && let Err(e) = socket.send_to(&data, to).await
            {
                tracing::debug!("RTCP to {to}: {e}");
            }
        }
        Ok(())
    }

    /// Receives until `stop` or an error.
    async fn run(
        &mut self,
        stop: &CancellationToken,
        udp_rx: &mut mpsc::Receiver<Datagram>,
    ) -> Result<(), ClientError> {
        let start = tokio::time::Instant::now();
        let mut keepalive = tokio::time::interval_at(start + KEEPALIVE_PERIOD, KEEPALIVE_PERIOD);
        let mut report = tokio::time::interval_at(start + Duration::from_secs(1), REPORT_PERIOD);
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                r = self.client.next() => match r? {
                    Incoming::Interleaved(f) => {
                        let at = Instant::now();
                        let track = self.tracks.iter().position(|t| t.channels.is_some_and(|(rtp, _)| rtp == f.channel));
                        if let Some(track) = track {
                            self.on_rtp(track, &f.payload, at);
                        }
                    }
                    Incoming::Message(Message::Response(r)) if !(200..300).contains(&r.status.0) => {
                        tracing::debug!("keep-alive refused: {}", r.status.0);
                    }
                    Incoming::Message(_) => {}
                },
                Some(d) = udp_rx.recv() => self.on_rtp(d.track, &d.data, d.at),
                _ = keepalive.tick() => {
                    self.client.send(Request::new(self.keepalive.clone(), self.base.clone())).await?;
                }
                _ = report.tick() => self.send_reports().await?,
            }
        }
    }

    fn report(&self, id: usize, error: Option<String>) -> ViewerReport {
        ViewerReport {
            id,
            connected: self.first_packet.is_some(),
            error,
            time_to_connect_ms: ms_since(self.started, self.played_at),
            time_to_first_packet_ms: ms_since(self.started, self.first_packet),
            time_to_first_keyframe_ms: ms_since(self.started, self.first_keyframe),
            receive_s: self.first_packet.map_or(0.0, |t| t.elapsed().as_secs_f64()),
            local_ports: self.local_ports.clone(),
            socket_drops: 0,
            tracks: self
                .tracks
                .iter()
                .map(|t| TrackReport {
                    kind: t.kind.to_string(),
                    codec: t.codec.to_string(),
                    reception: t.reception.totals(),
                    ..TrackReport::default()
                })
                .collect(),
        }
    }
}

/// Connects, describes, sets every media up and plays.
async fn open(
    opts: &RtspOptions,
    started: Instant,
    progress: &Arc<Progress>,
    udp_tasks: &mut JoinSet<()>,
    udp_tx: &mpsc::Sender<Datagram>,
) -> Result<Reader, ReaderError> {
    let url = &opts.url;
    let mut client = Client::connect(url, opts.timeout, "").await?;
    let keepalive = client.keepalive_method(&url.request_url).await?;
    let res = client.describe(&url.request_url).await?;
    let desc = SessionDescription::parse(&String::from_utf8_lossy(&res.body))
        .map_err(|e| ReaderError::Sdp(e.to_string()))?;
    let base = media_base(&res, &desc, &url.request_url);
    let local_ssrc = 0x6265_6e63 ^ (std::process::id() << 8);
    let mut tracks = Vec::new();
    let mut local_ports = Vec::new();
    for media in &desc.medias {
        let Some(format) = media.formats.first() else {
            continue;
        };
        let i = tracks.len();
        let (rtcp_socket, setup) = match opts.transport {
            Lower::Udp => {
                let (s, p) = bind_udp(
                    opts.bind,
                    opts.recv_buffer,
                    client.peer().ip(),
                    i,
                    udp_tasks,
                    udp_tx,
                )
                .await?;
                local_ports.push(p.0);
                (Some(s), ClientSetup::Udp(Some(p)))
            }
            Lower::Tcp => (None, ClientSetup::Tcp),
        };
        let mut req = Request::new(
            Method::Setup,
            sdp::control_url(&base, media.control.as_deref()),
        );
        req.headers
            .set("Transport", transport::client_setup(i, setup));
        let res = client.request(req).await?;
        let reply = res
            .headers
            .get("Transport")
            .and_then(|t| Transport::parse(t).ok());
        let (channels, udp_rtcp) = match opts.transport {
            Lower::Tcp => {
                let chans = reply
                    .and_then(|t| t.interleaved)
                    .unwrap_or_else(|| transport::default_channels(i));
                (Some(chans), None)
            }
            Lower::Udp => {
                let server_rtcp = reply
                    .and_then(|t| t.server_port)
                    .map(|(_, p)| SocketAddr::new(client.peer().ip(), p));
                (None, rtcp_socket.zip(server_rtcp))
            }
        };
        tracks.push(Track {
            kind: if format.is_video() { "video" } else { "audio" },
            codec: format.codec_name(),
            keyframe: keyframe_codec(format),
            reception: Reception::new(format.clock_rate()),
            rtcp: RtcpReceiver::new(format.clock_rate(), local_ssrc.wrapping_add(i as u32)),
            channels,
            udp_rtcp,
        });
    }
    if tracks.is_empty() {
        return Err(ReaderError::NoMedia);
    }
    client
        .request(Request::new(Method::Play, base.clone()))
        .await?;
    Ok(Reader {
        client,
        base,
        tracks,
        started,
        played_at: Some(Instant::now()),
        local_ports,
        first_packet: None,
        first_keyframe: None,
        progress: Arc::clone(progress),
        keepalive,
    })
}

fn keyframe_codec(format: &Format) -> Option<KeyframeCodec> {
    match format {
        Format::H264 { .. } => Some(KeyframeCodec::H264),
        Format::H265 { .. } => Some(KeyframeCodec::H265),
        _ => None,
    }
}

/// One reader: plays until `stop`, then TEARDOWN.
pub async fn reader(
    id: usize,
    opts: Arc<RtspOptions>,
    stop: CancellationToken,
    progress: Arc<Progress>,
) -> ViewerReport {
    let started = Instant::now();
    let (udp_tx, mut udp_rx) = mpsc::channel(UDP_QUEUE);
    let mut udp_tasks = JoinSet::new();
    let opened = tokio::select! {
        r = open(&opts, started, &progress, &mut udp_tasks, &udp_tx) => r,
        () = stop.cancelled() => Err(ReaderError::Stopped),
    };
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            progress.failed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("reader {id}: {e}");
            return ViewerReport {
                id,
                error: Some(e.to_string()),
                ..Default::default()
            };
        }
    };
    let error = reader.run(&stop, &mut udp_rx).await.err().map(|e| {
        progress.failed.fetch_add(1, Ordering::Relaxed);
        e.to_string()
    });
    let report = reader.report(id, error);
    if opts.teardown {
        let teardown = Request::new(Method::Teardown, reader.base.clone());
        let _ = tokio::time::timeout(TEARDOWN_TIMEOUT, reader.client.request(teardown)).await;
    }
    udp_tasks.shutdown().await;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_rtsp_and_rtsps_only() {
        assert!(RtspOptions::new("rtsp://127.0.0.1:8554/cam", Lower::Tcp).is_ok());
        let tls = RtspOptions::new("rtsps://127.0.0.1:8322/cam", Lower::Tcp).unwrap();
        assert!(tls.url.tls);
        assert!(RtspOptions::new("http://127.0.0.1/cam", Lower::Tcp).is_err());
    }
}
