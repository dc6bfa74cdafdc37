//! Setting a session up: the str0m configuration, answering WHEP and WHIP offers, local
//! candidates.

use str0m::net::TcpType;

use super::*;

fn random_string(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// One DTLS certificate for the whole process: generating a key pair per session
/// costs CPU at every connection and gains nothing (peers pin the fingerprint from SDP).
fn shared_dtls_cert() -> Option<DtlsCert> {
    static CERT: OnceLock<Option<DtlsCert>> = OnceLock::new();
    CERT.get_or_init(|| {
        str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
    })
    .clone()
}

fn base_config(config: &SessionConfig, ufrag: &str) -> RtcConfig {
    install_crypto();
    let mut rtc = RtcConfig::new();
    if let Some(cert) = shared_dtls_cert() {
        rtc = rtc.set_dtls_cert(cert);
    }
    rtc.set_ice_lite(true)
        .set_rtp_mode(true)
        .set_local_ice_credentials(IceCreds {
            ufrag: ufrag.to_owned(),
            pass: random_string(32),
        })
        .set_stats_interval(None)
        .set_rtcp_report_interval_video(config.report_interval)
        .set_rtcp_report_interval_audio(config.report_interval)
        .set_send_buffer_video(config.rtx_cache_packets)
        .set_send_buffer_audio(config.rtx_cache_packets)
}

fn parse_offer(offer: &str) -> Result<SdpOffer, SessionError> {
    contain_panic(|| SdpOffer::from_sdp_string(offer))?
        .map_err(|e| SessionError::InvalidSdp(e.to_string()))
}

/// Answers `offer` with `rtc`. str0m asserts on some inconsistent offers instead of
/// returning an error: such an offer is refused like any other bad one.
fn answer_offer(rtc: &mut Rtc, offer: SdpOffer) -> Result<String, SessionError> {
    contain_panic(|| rtc.sdp_api().accept_offer(offer))?
        .map(|a| a.to_sdp_string())
        .map_err(|e| SessionError::Negotiation(e.to_string()))
}

/// Runs `f`; a panic inside becomes an error (the offer came from the network).
fn contain_panic<T>(f: impl FnOnce() -> T) -> Result<T, SessionError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::warn!("offer refused: str0m failed on it: {what}");
        SessionError::Negotiation("the offer cannot be negotiated".into())
    })
}

/// The `a=mid:` values of an SDP, in m-line order.
fn mids_of(sdp: &str) -> Vec<Mid> {
    sdp.lines()
        .filter_map(|l| l.trim_end().strip_prefix("a=mid:"))
        .map(Mid::from)
        .collect()
}

/// Result of accepting an offer.
#[derive(Debug)]
pub struct Accepted {
    pub session: Session,
    pub answer: String,
    /// Egress: for each stream track, whether it is sent. Ingress: the publisher's tracks.
    pub tracks: Vec<Option<Format>>,
}

impl Session {
    /// Accepts a WHEP offer to play `tracks`. Tracks a browser can't take are left out
    /// (with a warning); at least one must remain.
    pub fn accept_whep(
        now: Instant,
        offer: &str,
        tracks: &[Format],
        local: &LocalCandidates,
        config: SessionConfig,
    ) -> Result<Accepted, SessionError> {
        let offer = parse_offer(offer)?;
        let mut playable: Vec<Option<&Format>> = Vec::with_capacity(tracks.len());
        for (i, f) in tracks.iter().enumerate() {
            match negotiation::check_playable(f) {
                Ok(()) => playable.push(Some(f)),
                Err(e) => {
                    tracing::warn!("skipping track {} ({}): {e}", i + 1, f.codec_name());
                    playable.push(None);
                }
            }
        }
        let wanted: Vec<&Format> = playable.iter().flatten().copied().collect();
        if wanted.is_empty() {
            return Err(SessionError::NoSupportedCodecs);
        }
        let ufrag = random_string(16);
        let rtc_config = base_config(&config, &ufrag)
            .clear_extension_map()
            .set_extension(4, Extension::RtpMid);
        let rtc_config = negotiation::configure_egress(rtc_config, &wanted);
        let mut rtc = rtc_config.build(now);
        add_candidates(&mut rtc, local)?;
        let answer = answer_offer(&mut rtc, offer)?;

        let mut used: Vec<Mid> = Vec::new();
        let mut outs: Vec<Option<TrackOut>> = Vec::with_capacity(tracks.len());
        let mut sent: Vec<Option<Format>> = Vec::with_capacity(tracks.len());
        let mut rtx_pts = Vec::new();
        let mut rng = rand::thread_rng();
        for maybe in &playable {
            let Some(format) = maybe else {
                outs.push(None);
                sent.push(None);
                continue;
            };
            let kind = if format.is_video() {
                MediaKind::Video
            } else {
                MediaKind::Audio
            };
            let found = mids_of(&answer).into_iter().find_map(|mid| {
                if used.contains(&mid) {
                    return None;
                }
                let media = rtc.media(mid)?;
                if media.kind() != kind
                    || !matches!(media.direction(), Direction::SendOnly | Direction::SendRecv)
                {
                    return None;
                }
                let remote = media.remote_pts();
                let params = rtc
                    .codec_config()
                    .params()
                    .iter()
                    .filter(|p| remote.contains(&p.pt()));
                let p = negotiation::pick_payload(format, params)?;
                Some((mid, p.pt(), p.resend()))
            });
            let Some((mid, pt, rtx_pt)) = found else {
                tracing::warn!(
                    "skipping track ({}): codec not accepted by the client",
                    format.codec_name()
                );
                outs.push(None);
                sent.push(None);
                continue;
            };
            let mut api = rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                outs.push(None);
                sent.push(None);
                continue;
            };
            let video = format.is_video();
            if video {
                tx.set_rtx_cache(config.rtx_cache_packets, config.rtx_cache_age, Some(0.15));
            } else {
                // Browsers don't NACK audio: keep no cache.
                tx.set_rtx_cache(1, Duration::ZERO, None);
            }
            if let Some(rtx) = rtx_pt {
                rtx_pts.push(*rtx);
            }
            used.push(mid);
            outs.push(Some(TrackOut {
                ssrc: tx.ssrc(),
                pt,
                video,
                next_seq: u64::from(rng.gen_range(0..0x7fffu16)),
                ts_offset: rng.r#gen(),
            }));
            sent.push(Some((*format).clone()));
        }
        if outs.iter().all(Option::is_none) {
            return Err(SessionError::CodecsNotSupportedByClient);
        }
        let session = Session::new(
            rtc,
            Direction2::Egress {
                tracks: outs,
                pending: VecDeque::new(),
                fed: 0,
            },
            config,
            ufrag,
            local,
            now,
            rtx_pts,
        );
        Ok(Accepted {
            session,
            answer,
            tracks: sent,
        })
    }

    /// Accepts a WHIP offer. The publisher's tracks are in [`Accepted::tracks`]
    /// (all `Some`), indexed as [`SessionEvent::Rtp`] refers to them.
    pub fn accept_whip(
        now: Instant,
        offer: &str,
        local: &LocalCandidates,
        config: SessionConfig,
    ) -> Result<Accepted, SessionError> {
        let choices = negotiation::ingest_choices(offer);
        let offer = parse_offer(offer)?;
        let ufrag = random_string(16);
        let rtc_config = negotiation::configure_ingest(base_config(&config, &ufrag), &choices);
        let mut rtc = rtc_config.build(now);
        add_candidates(&mut rtc, local)?;
        let answer = answer_offer(&mut rtc, offer)?;
        let mut mids = Vec::new();
        let mut formats = Vec::new();
        let (mut videos, mut audios) = (0, 0);
        for mid in mids_of(&answer) {
            let Some(media) = rtc.media(mid) else {
                continue;
            };
            if !matches!(media.direction(), Direction::RecvOnly | Direction::SendRecv) {
                continue;
            }
            let remote = media.remote_pts();
            let first = remote
                .iter()
                .find_map(|pt| rtc.codec_config().params().iter().find(|p| p.pt() == *pt));
            // The offer's own description (with its fmtp) when str0m kept its payload type.
            let offered = first.and_then(|p| choices.iter().find(|c| c.pt == *p.pt()));
            let Some(format) = offered
                .map(|c| c.format.clone())
                .or_else(|| first.and_then(negotiation::format_from_params))
            else {
                continue;
            };
            if format.is_video() {
                videos += 1;
            } else {
                audios += 1;
            }
            if videos > 1 || audios > 1 {
                return Err(SessionError::Negotiation(
                    "only a single video and a single audio track are supported".into(),
                ));
            }
            mids.push(mid);
            formats.push(Some(format));
        }
        if mids.is_empty() {
            return Err(SessionError::NoValidTracks);
        }
        let dir = Direction2::Ingress {
            mids,
            by_ssrc: HashMap::new(),
        };
        let session = Session::new(rtc, dir, config, ufrag, local, now, Vec::new());
        Ok(Accepted {
            session,
            answer,
            tracks: formats,
        })
    }

    fn new(
        rtc: Rtc,
        dir: Direction2,
        config: SessionConfig,
        local_ufrag: String,
        local: &LocalCandidates,
        now: Instant,
        rtx_pts: Vec<u8>,
    ) -> Session {
        Session {
            rtc,
            dir,
            keyframes: KeyframeGate::new(config.keyframe_interval),
            next_publisher_keyframe: None,
            config,
            local_ufrag,
            local: local.clone(),
            created: now,
            last_received: now,
            last_path: None,
            connected: false,
            closed: None,
            close_reported: false,
            rtx_pts,
            stats: SessionStats::default(),
        }
    }
}

/// The addresses a session announces: host candidates on the ICE/UDP socket and, with
/// `webrtcLocalTCPAddress`, passive ICE-TCP candidates (RFC 6544).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalCandidates {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
}

impl LocalCandidates {
    /// UDP candidates only.
    pub fn udp(addrs: Vec<SocketAddr>) -> LocalCandidates {
        LocalCandidates {
            udp: addrs,
            tcp: Vec::new(),
        }
    }

    /// Our address a datagram from `source` reached (same family, else the first one).
    pub(crate) fn destination_for(&self, source: SocketAddr, tcp: bool) -> SocketAddr {
        let list = if tcp { &self.tcp } else { &self.udp };
        list.iter()
            .find(|a| a.is_ipv4() == source.is_ipv4())
            .or(list.first())
            .copied()
            .unwrap_or(source)
    }
}

fn add_candidates(rtc: &mut Rtc, local: &LocalCandidates) -> Result<(), SessionError> {
    let invalid = |e: str0m::error::IceError| SessionError::InvalidCandidate(e.to_string());
    for a in &local.udp {
        rtc.add_local_candidate(Candidate::host(*a, "udp").map_err(invalid)?);
    }
    for a in &local.tcp {
        let c = Candidate::builder()
            .tcp()
            .host(*a)
            .tcptype(TcpType::Passive)
            .build()
            .map_err(invalid)?;
        rtc.add_local_candidate(c);
    }
    Ok(())
}
