//! A WHEP viewer: a str0m peer (RTP mode, full ICE, controlling) on its own UDP socket that
//! receives one video and one audio track and counts them. Nothing is decoded: str0m does
//! ICE, DTLS and SRTP (every packet is authenticated and decrypted), this module counts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::Url;
use str0m::change::SdpAnswer;
use str0m::config::DtlsCert;
use str0m::format::{Codec, CodecConfig, PayloadParams};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, RtpPacket};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig, RtcError};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::keyframe::KeyframeCodec;
use crate::load::Progress;
use crate::reception::Reception;
use crate::report::{TrackReport, ViewerReport};
use crate::udp;
use crate::whep::{self, WhepError, WhepSession};

/// How every viewer of a run behaves.
#[derive(Debug, Clone)]
pub struct WebrtcOptions {
    pub url: Url,
    /// Offer `nack` feedback and RTX for video.
    pub nack: bool,
    /// Offer `nack pli` / `ccm fir` feedback for video.
    pub pli: bool,
    /// Local address of the viewers' sockets.
    pub bind: IpAddr,
    /// Receive buffer of each viewer's socket, bytes (0: the system default).
    pub recv_buffer: usize,
    pub signalling_timeout: Duration,
    /// From the answer to ICE+DTLS up.
    pub connect_timeout: Duration,
    /// Drop every Nth video RTP packet (not retransmissions) before the peer sees it, so
    /// NACK and retransmission work happens on a loopback that loses nothing; 0: none.
    pub drop_every: u32,
    /// When stopped, close DTLS and DELETE the session; `false`: vanish without a word, as a
    /// browser tab that crashes (the server must expire the session).
    pub delete: bool,
}

impl WebrtcOptions {
    pub fn new(url: Url) -> WebrtcOptions {
        WebrtcOptions {
            url,
            nack: true,
            pli: true,
            bind: IpAddr::from([127, 0, 0, 1]),
            recv_buffer: udp::DEFAULT_RECV_BUFFER,
            signalling_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(15),
            drop_every: 0,
            delete: true,
        }
    }
}

/// What the viewers of one run share: options, the HTTP client, one DTLS certificate.
pub struct Viewers {
    opts: WebrtcOptions,
    http: reqwest::Client,
    cert: Option<DtlsCert>,
}

impl Viewers {
    pub fn new(opts: WebrtcOptions) -> Result<Viewers, WhepError> {
        str0m::crypto::from_feature_flags().install_process_default();
        // One key pair for every viewer: generating one per peer costs CPU and proves
        // nothing (the server pins whatever fingerprint the offer carries).
        let cert = str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate();
        Ok(Viewers {
            opts,
            http: whep::http_client()?,
            cert,
        })
    }

    pub fn options(&self) -> &WebrtcOptions {
        &self.opts
    }

    fn rtc_config(&self) -> RtcConfig {
        let mut config = RtcConfig::new()
            .set_rtp_mode(true)
            .clear_extension_map()
            .set_extension(4, Extension::RtpMid)
            .set_stats_interval(Some(Duration::from_secs(1)))
            .clear_codecs()
            .enable_h264(true)
            .enable_h265(true)
            .enable_vp8(true)
            .enable_vp9(true)
            .enable_av1(true)
            .enable_opus(true, false)
            .enable_g722(true, false)
            .enable_pcmu(true, false)
            .enable_pcma(true, false);
        if let Some(cert) = &self.cert {
            config = config.set_dtls_cert(cert.clone());
        }
        let params: Vec<PayloadParams> = config
            .codec_config()
            .params()
            .iter()
            .map(|p| offered_params(p, self.opts.nack, self.opts.pli))
            .collect();
        *config.codec_config() = CodecConfig::new_from_payload_params(params);
        config
    }
}

/// The payload parameters offered for `p`: no transport-cc or REMB (the viewer does not
/// estimate bandwidth), and without NACK and RTX or PLI/FIR when asked.
fn offered_params(p: &PayloadParams, nack: bool, pli: bool) -> PayloadParams {
    let mut q = if nack {
        *p
    } else {
        let mut q = PayloadParams::new(p.pt(), None, p.spec());
        q.set_fb_pli(p.fb_pli());
        q.set_fb_fir(p.fb_fir());
        q.set_fb_nack(false);
        q
    };
    q.set_fb_transport_cc(false);
    q.set_fb_remb(false);
    if !pli {
        q.set_fb_pli(false);
        q.set_fb_fir(false);
    }
    q
}

/// Datagrams read at once before the peer is polled for its timers.
const RECV_BATCH: usize = 64;
/// Longest sleep between checks of the connection deadline.
const MAX_SLEEP: Duration = Duration::from_millis(500);
/// Outputs polled in a row before giving up on a peer that never waits.
const MAX_OUTPUTS: usize = 100_000;
const DELETE_TIMEOUT: Duration = Duration::from_secs(3);

struct Track {
    kind: &'static str,
    mid: Option<Mid>,
    codec: Option<String>,
    keyframe: Option<KeyframeCodec>,
    reception: Option<Reception>,
    nacks: u64,
    retransmissions: u64,
    dropped_on_purpose: u64,
}

impl Track {
    fn new(kind: &'static str, mid: Mid) -> Track {
        Track {
            kind,
            mid: Some(mid),
            codec: None,
            keyframe: None,
            reception: None,
            nacks: 0,
            retransmissions: 0,
            dropped_on_purpose: 0,
        }
    }

    fn report(&self) -> Option<TrackReport> {
        let reception = self.reception.as_ref()?.totals();
        Some(TrackReport {
            kind: self.kind.to_string(),
            codec: self.codec.clone().unwrap_or_default(),
            reception,
            nacks_sent: self.nacks,
            retransmissions: self.retransmissions,
            dropped_on_purpose: self.dropped_on_purpose,
            first_loss: None,
        })
    }
}

/// One peer connection and its counters.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    started: Instant,
    /// Video first, then audio.
    tracks: [Track; 2],
    ssrc_track: Vec<(u32, usize)>,
    rtx_pts: Vec<u8>,
    /// Video payload types that have RTX: what `drop_every` may drop.
    nack_pts: Vec<u8>,
    drop_every: u32,
    /// Video RTP packets (not retransmissions) received.
    video_packets: u64,
    connected_at: Option<Instant>,
    first_packet: Option<Instant>,
    first_keyframe: Option<Instant>,
    closed: bool,
    progress: Arc<Progress>,
}

fn ms_since(from: Instant, to: Option<Instant>) -> Option<f64> {
    to.map(|t| t.saturating_duration_since(from).as_secs_f64() * 1000.0)
}

impl Peer {
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                self.connected_at.get_or_insert_with(Instant::now);
            }
            Event::RtpPacket(p) => self.on_rtp(p),
            Event::MediaIngressStats(s) => {
                if let Some(t) = self.tracks.iter_mut().find(|t| t.mid == Some(s.mid)) {
                    t.nacks = s.nacks;
                }
            }
            Event::Closed => self.closed = true,
            _ => {}
        }
    }

    fn track_of(&mut self, p: &RtpPacket) -> Option<usize> {
        let ssrc = *p.header.ssrc;
        if let Some((_, t)) = self.ssrc_track.iter().find(|(s, _)| *s == ssrc) {
            return Some(*t);
        }
        let mid = self.rtc.direct_api().stream_rx(&p.header.ssrc)?.mid();
        let t = self.tracks.iter().position(|t| t.mid == Some(mid))?;
        self.ssrc_track.push((ssrc, t));
        Some(t)
    }

    fn on_rtp(&mut self, p: RtpPacket) {
        let Some(i) = self.track_of(&p) else {
            return;
        };
        if self.tracks[i].reception.is_none() {
            let spec = self
                .rtc
                .codec_config()
                .find(|c| c.pt() == p.header.payload_type)
                .map(|c| c.spec());
            let (codec, clock) = match spec {
                // G722's RTP clock is 8 kHz although it samples at 16 kHz.
                Some(s) if s.codec == Codec::G722 => (s.codec, 8000),
                Some(s) => (s.codec, s.clock_rate.get()),
                None => (Codec::Unknown, 90_000),
            };
            let t = &mut self.tracks[i];
            t.codec = Some(codec.to_string());
            t.keyframe = KeyframeCodec::from_encoding(&codec.to_string());
            t.reception = Some(Reception::new(clock));
        }
        let t = &mut self.tracks[i];
        if let Some(r) = t.reception.as_mut() {
            let size = p.header.header_len + p.payload.len();
            r.on_packet(
                *p.header.ssrc,
                p.header.sequence_number,
                p.header.timestamp,
                size,
                p.timestamp,
            );
        }
        self.progress.packet();
        if self.first_packet.is_none() {
            self.first_packet = Some(p.timestamp);
            self.progress.connected.fetch_add(1, Ordering::Relaxed);
        }
        if self.first_keyframe.is_none() && t.keyframe.is_some_and(|k| k.is_keyframe(&p.payload)) {
            self.first_keyframe = Some(p.timestamp);
        }
    }

    /// Sends and handles everything the peer has; returns when it next wants a timeout.
    fn drain(&mut self) -> Result<Instant, String> {
        for _ in 0..MAX_OUTPUTS {
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Transmit(t) => {
                    if let Err(e) = self.socket.try_send_to(&t.contents, t.destination) {
                        tracing::debug!("send to {}: {e}", t.destination);
                    }
                }
                Output::Event(e) => self.on_event(e),
                Output::Timeout(t) => return Ok(t),
            }
        }
        Err("the peer never stopped producing output".into())
    }

    fn receive(&mut self, source: SocketAddr, data: &[u8]) -> Result<(), RtcError> {
        // SRTP keeps the RTP header in the clear: retransmissions are seen by their RTX
        // payload type before str0m turns them back into the original packet.
        // RTP, not RTCP (RFC 5761: packet types 192-223 in the second byte).
        if data.len() >= 12 && data[0] >> 6 == 2 && !(192..=223).contains(&data[1]) {
            let pt = data[1] & 0x7f;
            if self.rtx_pts.contains(&pt) {
                self.tracks[0].retransmissions += 1;
            } else if self.drop_every > 0 && self.nack_pts.contains(&pt) {
                self.video_packets += 1;
                if self
                    .video_packets
                    .is_multiple_of(u64::from(self.drop_every))
                {
                    self.tracks[0].dropped_on_purpose += 1;
                    return Ok(());
                }
            }
        }
        let Ok(contents) = data.try_into() else {
            return Ok(());
        };
        self.rtc.handle_input(Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        ))
    }

    /// Runs until `stop`, the connection deadline without a connection, or the peer's end.
    async fn drive(&mut self, stop: &CancellationToken, connect_by: Instant) -> Result<(), String> {
        let mut buf = vec![0u8; 2048];
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let cancelled = stop.cancelled();
        tokio::pin!(cancelled);
        loop {
            let mut timeout = self.drain()?;
            let mut now = Instant::now();
            // Timers already due are handled at once (bounded by the drain limit).
            for _ in 0..1000 {
                if timeout > now {
                    break;
                }
                self.rtc
                    .handle_input(Input::Timeout(now))
                    .map_err(|e| e.to_string())?;
                timeout = self.drain()?;
                now = Instant::now();
            }
            if self.closed || !self.rtc.is_alive() {
                return Err("the server closed the connection".into());
            }
            if self.connected_at.is_none() && now >= connect_by {
                return Err("ICE/DTLS did not connect in time".into());
            }
            let wake = timeout.min(now + MAX_SLEEP);
            sleep.as_mut().reset(tokio::time::Instant::from_std(wake));
            tokio::select! {
                biased;
                () = &mut cancelled => return Ok(()),
                r = self.socket.readable() => {
                    if let Err(e) = r {
                        return Err(format!("socket: {e}"));
                    }
                    for _ in 0..RECV_BATCH {
                        match self.socket.try_recv_from(&mut buf) {
                            Ok((n, source)) => {
                                self.receive(source, &buf[..n]).map_err(|e| e.to_string())?;
                                self.drain()?;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                tracing::debug!("receive: {e}");
                                break;
                            }
                        }
                    }
                }
                () = &mut sleep => {}
            }
        }
    }

    fn report(&self, id: usize, error: Option<String>) -> ViewerReport {
        ViewerReport {
            id,
            connected: self.first_packet.is_some(),
            error,
            time_to_connect_ms: ms_since(self.started, self.connected_at),
            time_to_first_packet_ms: ms_since(self.started, self.first_packet),
            time_to_first_keyframe_ms: ms_since(self.started, self.first_keyframe),
            receive_s: self.first_packet.map_or(0.0, |t| t.elapsed().as_secs_f64()),
            local_ports: vec![self.local.port()],
            socket_drops: 0,
            tracks: self.tracks.iter().filter_map(Track::report).collect(),
        }
    }
}

fn failed(id: usize, progress: &Progress, error: String) -> ViewerReport {
    progress.failed.fetch_add(1, Ordering::Relaxed);
    tracing::debug!("viewer {id}: {error}");
    ViewerReport {
        id,
        error: Some(error),
        ..Default::default()
    }
}

/// One viewer: signals, connects, counts until `stop`, then DELETEs its session.
pub async fn viewer(
    id: usize,
    viewers: Arc<Viewers>,
    stop: CancellationToken,
    progress: Arc<Progress>,
) -> ViewerReport {
    let started = Instant::now();
    let opts = &viewers.opts;
    let socket = match udp::bind(SocketAddr::new(opts.bind, 0), opts.recv_buffer) {
        Ok(s) => s,
        Err(e) => return failed(id, &progress, format!("bind: {e}")),
    };
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(e) => return failed(id, &progress, format!("bind: {e}")),
    };
    let mut rtc = viewers.rtc_config().build(started);
    match Candidate::host(local, "udp") {
        Ok(c) => {
            rtc.add_local_candidate(c);
        }
        Err(e) => return failed(id, &progress, format!("candidate: {e}")),
    }
    let mut api = rtc.sdp_api();
    let video = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let audio = api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let Some((offer, pending)) = api.apply() else {
        return failed(id, &progress, "str0m made no offer".into());
    };
    let session: WhepSession = match whep::post_offer(
        &viewers.http,
        &opts.url,
        offer.to_sdp_string(),
        opts.signalling_timeout,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return failed(id, &progress, e.to_string()),
    };
    let accepted = SdpAnswer::from_sdp_string(&session.answer)
        .map_err(|e| e.to_string())
        .and_then(|a| {
            rtc.sdp_api()
                .accept_answer(pending, a)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = accepted {
        whep::delete(&viewers.http, &session, DELETE_TIMEOUT).await;
        return failed(id, &progress, format!("answer: {e}"));
    }
    let params = rtc.codec_config().params();
    let rtx_pts = params
        .iter()
        .filter_map(|p| p.resend().map(|pt| *pt))
        .collect();
    let nack_pts = params
        .iter()
        .filter(|p| p.resend().is_some())
        .map(|p| *p.pt())
        .collect();
    let mut peer = Peer {
        rtc,
        socket,
        local,
        started,
        tracks: [Track::new("video", video), Track::new("audio", audio)],
        ssrc_track: Vec::new(),
        rtx_pts,
        nack_pts,
        drop_every: opts.drop_every,
        video_packets: 0,
        connected_at: None,
        first_packet: None,
        first_keyframe: None,
        closed: false,
        progress: Arc::clone(&progress),
    };
    let connect_by = Instant::now() + opts.connect_timeout;
    let error = peer.drive(&stop, connect_by).await.err();
    if let Some(e) = &error {
        progress.failed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("viewer {id}: {e}");
    }
    let report = peer.report(id, error);
    if opts.delete {
        peer.rtc.disconnect();
        let _ = peer.drain();
        whep::delete(&viewers.http, &session, DELETE_TIMEOUT).await;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(opts: WebrtcOptions) -> String {
        let viewers = Viewers::new(opts).unwrap();
        let mut rtc = viewers.rtc_config().build(Instant::now());
        rtc.add_local_candidate(Candidate::host("127.0.0.1:5000".parse().unwrap(), "udp").unwrap());
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        api.apply().unwrap().0.to_sdp_string()
    }

    fn opts() -> WebrtcOptions {
        WebrtcOptions::new(Url::parse("http://127.0.0.1:8889/cam/whep").unwrap())
    }

    #[test]
    fn the_offer_receives_video_and_audio_with_nack() {
        let sdp = offer(opts());
        assert_eq!(sdp.matches("a=recvonly").count(), 2, "{sdp}");
        assert!(sdp.contains("H264/90000"), "{sdp}");
        assert!(sdp.to_ascii_lowercase().contains("opus/48000/2"), "{sdp}");
        assert!(sdp.lines().any(|l| l.ends_with(" nack")), "{sdp}");
        assert!(sdp.contains(" nack pli"), "{sdp}");
        assert!(sdp.contains("rtx/90000"), "{sdp}");
        assert!(!sdp.contains("transport-cc"), "{sdp}");
        assert!(!sdp.contains("goog-remb"), "{sdp}");
        assert!(sdp.contains("a=candidate:"), "{sdp}");
    }

    #[test]
    fn no_nack_offers_neither_nack_nor_rtx() {
        let sdp = offer(WebrtcOptions {
            nack: false,
            ..opts()
        });
        assert!(!sdp.lines().any(|l| l.ends_with(" nack")), "{sdp}");
        assert!(!sdp.contains("rtx/90000"), "{sdp}");
        assert!(sdp.contains(" nack pli"), "{sdp}");
        assert!(sdp.contains("H264/90000"), "{sdp}");
        let sdp = offer(WebrtcOptions {
            nack: false,
            pli: false,
            ..opts()
        });
        assert!(!sdp.contains("nack"), "{sdp}");
        assert!(!sdp.contains("ccm fir"), "{sdp}");
    }
}
