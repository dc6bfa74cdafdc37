//! The [`Backend`] on ferromtx-core: WHEP viewers read core streams through one shared
//! egress view per stream and track; WHIP publishers write their RTP through the core's
//! ingest, so readers of every protocol get it.
//!
//! Authentication happens in the core (`authenticate`, `add_reader`, `add_publisher`),
//! with the request's credentials and IP, before any peer-connection state exists.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromtx_codec::{Format, rtp};
use ferromtx_conf::{AuthAction, ConfError};
use ferromtx_core::{
    Described, Fitted, IngestOptions, PathError, PathManager, PathRequest, Publisher, ReaderHandle,
    Repacketizer, RtpIngest, Stream, Track, TryNext, Unit, View, ViewHandle,
};

use crate::auth::AccessRequest;
use crate::negotiation;
use crate::server::{Backend, OpenError};
use crate::source::{EgressItem, EgressPacket, EgressSource, IngestSink};
use crate::transcode::{OpusKey, OpusView, opus_format};

/// Largest RTP payload sent to a viewer: a 1200-byte packet minus the RTP header.
pub const MAX_EGRESS_PAYLOAD: usize = 1200 - 12;

/// How long a WHIP publisher's missing packet is waited for (its retransmission after our
/// NACK) before the ingest gives up on it.
pub const REORDER_WAIT: Duration = Duration::from_millis(200);

/// How readers and publishers appear in the API (`webRTCSession`).
const WHO_KIND: &str = "webRTCSession";

/// Identifies one egress view of a stream: the track and the payload limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EgressKey {
    pub track: usize,
    pub max_payload: usize,
}

/// The egress view of one unit: WebRTC-sized packets whose payloads all viewers share.
#[derive(Debug, Clone)]
pub struct EgressUnit {
    /// When the writer transformed the unit (its arrival at the server).
    pub wallclock: Instant,
    pub packets: Arc<[EgressPacket]>,
    /// Bytes these packets take on the wire before SRTP (12-byte RTP header each), counted
    /// once here rather than by every viewer.
    pub wire_bytes: u64,
}

/// What the egress view makes of a unit.
#[derive(Debug, Clone)]
pub enum EgressOutput {
    Unit(EgressUnit),
    /// The stream can't go to a browser from here on (MediaMTX's message).
    Unplayable(&'static str),
}

#[cfg(test)]
thread_local! {
    /// Transforms run on this thread (tests write from the test thread).
    pub(crate) static TRANSFORMS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A core [`View`] turning units of one track into [`EgressUnit`]s, once per stream: the
/// core's [`Repacketizer`] fits them into browser-sized packets, with the parameter sets
/// the stream describes now in front of keyframes.
pub struct EgressView {
    key: EgressKey,
    codec: Option<Format>,
    /// PTS of the previous unit: browsers can't play H264/H265 with B-frames, which show up
    /// as a PTS going back.
    last_pts: Option<i64>,
    /// Set once B-frames were seen: nothing more is sent.
    unplayable: Option<&'static str>,
    repacketizer: Repacketizer,
}

impl View for EgressView {
    type Key = EgressKey;
    type Output = EgressOutput;

    fn new(key: &EgressKey, tracks: &[Track]) -> Self {
        EgressView {
            key: key.clone(),
            codec: tracks.get(key.track).map(|t| t.format.clone()),
            last_pts: None,
            unplayable: None,
            repacketizer: Repacketizer::new(tracks, key.max_payload, 0),
        }
    }

    fn transform(&mut self, unit: &Unit, tracks: &[Track]) -> Option<EgressOutput> {
        if unit.track != self.key.track {
            return None;
        }
        let reordered = self.last_pts.is_some_and(|last| unit.pts < last);
        self.last_pts = Some(unit.pts);
        if reordered {
            match &self.codec {
                Some(Format::H264 { .. }) => {
                    self.unplayable = Some("WebRTC doesn't support H264 streams with B-frames");
                }
                Some(Format::H265 { .. }) => {
                    self.unplayable = Some("WebRTC doesn't support H265 streams with B-frames");
                }
                _ => {}
            }
        }
        if let Some(why) = self.unplayable {
            return Some(EgressOutput::Unplayable(why));
        }
        #[cfg(test)]
        TRANSFORMS.with(|c| c.set(c.get() + 1));
        // A browser joining at a keyframe needs its parameter sets in-band; publishers that
        // announce them only in SDP never repeat them, so they are put back here.
        let described = tracks.get(unit.track).map(|t| &t.format);
        let packets: Vec<EgressPacket> = match self.repacketizer.fit(unit, described) {
            Fitted::Own(p) => p.iter().map(EgressPacket::from_rtp).collect(),
            Fitted::Made(p) => p.iter().map(EgressPacket::from_rtp).collect(),
            Fitted::Nothing => return None,
        };
        let wire_bytes = packets.iter().map(|p| 12 + p.payload.len() as u64).sum();
        Some(EgressOutput::Unit(EgressUnit {
            wallclock: Instant::now(),
            packets: packets.into(),
            wire_bytes,
        }))
    }
}

/// The WebRTC backend on the core's path manager.
#[derive(Debug, Clone)]
pub struct CoreBackend {
    paths: Arc<PathManager>,
    max_payload: usize,
    /// Audio browsers can't play is transcoded to Opus ([`crate::transcode`]).
    transcode: bool,
}

impl CoreBackend {
    /// A backend with audio transcoding on.
    pub fn new(paths: Arc<PathManager>) -> CoreBackend {
        CoreBackend {
            paths,
            max_payload: MAX_EGRESS_PAYLOAD,
            transcode: true,
        }
    }

    /// Turns audio transcoding on or off (off: MediaMTX's behaviour, the track is left
    /// out with a warning).
    pub fn with_transcode(mut self, on: bool) -> CoreBackend {
        self.transcode = on;
        self
    }

    /// How a viewer gets track `track` of this format: as it is, transcoded to Opus, or not.
    fn plan(&self, format: &Format, offered: Option<&[String]>) -> Plan {
        let offers = |name: &str| offered.is_none_or(|o| o.iter().any(|c| c == name));
        let playable = negotiation::check_playable(format).is_ok();
        let not_offered = match format {
            Format::G711 { mu_law: true, .. } => !offers("pcmu"),
            Format::G711 { mu_law: false, .. } => !offers("pcma"),
            _ => false,
        };
        if playable && !not_offered {
            return Plan::AsIs;
        }
        if self.transcode
            && !format.is_video()
            && offers("opus")
            && ferromtx_transcode::transcodable(format)
        {
            return Plan::Opus;
        }
        if playable { Plan::AsIs } else { Plan::None }
    }

    pub fn paths(&self) -> &Arc<PathManager> {
        &self.paths
    }
}

fn path_request(req: &AccessRequest) -> PathRequest {
    PathRequest {
        name: req.path.clone(),
        query: req.query.clone(),
        ip: req.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        credentials: req.credentials.clone(),
        protocol: ferromtx_auth::Protocol::WebRtc,
        who: Described {
            kind: WHO_KIND.to_owned(),
            id: req.session_id.clone(),
        },
        skip_auth: false,
    }
}

/// Maps a core refusal to the HTTP answer MediaMTX gives.
pub fn open_error(e: PathError) -> OpenError {
    match e {
        PathError::Auth(a) => OpenError::Unauthorized {
            ask_credentials: a.ask_credentials,
            message: a.message,
        },
        PathError::NoStream(_) | PathError::Conf(ConfError::PathNotFound(_)) => {
            OpenError::NoStream(e.to_string())
        }
        other => OpenError::Refused(other.to_string()),
    }
}

impl Backend for CoreBackend {
    type Source = CoreSource;
    type Sink = CoreSink;
    type Admitted = Publisher;

    async fn authenticate(&self, req: &AccessRequest) -> Result<(), OpenError> {
        let action = if req.publish {
            AuthAction::Publish
        } else {
            AuthAction::Read
        };
        self.paths
            .authenticate(&path_request(req), action)
            .await
            .map_err(open_error)
    }

    async fn open_reader(&self, req: &AccessRequest) -> Result<CoreSource, OpenError> {
        let handle = self
            .paths
            .add_reader(path_request(req))
            .await
            .map_err(open_error)?;
        let stream = Arc::clone(handle.stream());
        let mut tracks: Vec<Format> = stream
            .described_tracks()
            .into_iter()
            .map(|t| t.format)
            .collect();
        let path: Arc<str> = Arc::from(stream.label());
        let offered = req.offered_audio.as_deref();
        let views = tracks
            .iter_mut()
            .enumerate()
            .map(|(track, f)| match self.plan(f, offered) {
                Plan::AsIs => Some(TrackView::AsIs(stream.view::<EgressView>(EgressKey {
                    track,
                    max_payload: self.max_payload,
                }))),
                Plan::Opus => {
                    *f = opus_format();
                    Some(TrackView::Opus(stream.view::<OpusView>(OpusKey {
                        track,
                        path: Arc::clone(&path),
                    })))
                }
                Plan::None => None,
            })
            .collect();
        Ok(CoreSource {
            unplayable: None,
            handle,
            views,
            tracks,
        })
    }

    async fn admit_publisher(&self, req: &AccessRequest) -> Result<Publisher, OpenError> {
        self.paths
            .add_publisher(path_request(req))
            .await
            .map_err(open_error)
    }

    fn start_publisher(
        &self,
        publisher: Publisher,
        tracks: &[Format],
        query: &str,
    ) -> Result<CoreSink, OpenError> {
        let core_tracks = ferromtx_core::ingest::tracks_of(tracks);
        let stream = publisher
            .start_with_query(core_tracks, query)
            .map_err(open_error)?;
        let options = IngestOptions {
            reorder: Some(REORDER_WAIT),
            max_payload: None,
        };
        Ok(CoreSink {
            ingest: RtpIngest::new(Arc::clone(&stream), options),
            publisher,
            stream,
            first_keyframe: true,
        })
    }
}

/// How a viewer gets one track of the stream.
enum Plan {
    AsIs,
    /// Transcoded to Opus.
    Opus,
    /// Not at all (the session says why).
    None,
}

/// The view a viewer reads one track through.
#[derive(Debug)]
enum TrackView {
    AsIs(ViewHandle<EgressView>),
    Opus(ViewHandle<OpusView>),
}

/// A WHEP viewer's reader of a core stream.
#[derive(Debug)]
pub struct CoreSource {
    handle: ReaderHandle,
    /// Why the stream can't be played any more, once known.
    unplayable: Option<&'static str>,
    /// The view of each track (`None`: not playable in a browser).
    views: Vec<Option<TrackView>>,
    /// The tracks as the viewer gets them (a transcoded one is Opus).
    tracks: Vec<Format>,
}

impl CoreSource {
    /// The stream this viewer reads.
    pub fn stream(&self) -> &Arc<Stream> {
        self.handle.stream()
    }

    /// Whether track `track` reaches this viewer transcoded to Opus.
    pub fn transcoded(&self, track: usize) -> bool {
        matches!(self.views.get(track), Some(Some(TrackView::Opus(_))))
    }
}

/// What a unit of the stream is to a viewer.
enum Step {
    Item(EgressItem),
    /// Not for this viewer (a track it doesn't play, nothing produced).
    Skip,
    /// The stream can't be played any more.
    End,
}

impl CoreSource {
    fn item_of(&mut self, unit: &Unit) -> Step {
        let Some(Some(view)) = self.views.get(unit.track) else {
            return Step::Skip;
        };
        let output = match view {
            TrackView::AsIs(view) => unit.view(view),
            TrackView::Opus(view) => unit.view(view),
        };
        let out = match output {
            Some(EgressOutput::Unit(out)) => out,
            Some(EgressOutput::Unplayable(why)) => {
                self.unplayable = Some(why);
                return Step::End;
            }
            None => return Step::Skip,
        };
        self.handle.reader().add_bytes_sent(out.wire_bytes);
        Step::Item(EgressItem {
            track: unit.track,
            wallclock: out.wallclock,
            packets: Arc::clone(&out.packets),
        })
    }
}

impl EgressSource for CoreSource {
    fn tracks(&self) -> Vec<Format> {
        self.tracks.clone()
    }

    async fn next(&mut self) -> Option<EgressItem> {
        loop {
            let unit = self.handle.reader().next().await?;
            match self.item_of(&unit) {
                Step::Item(item) => return Some(item),
                Step::Skip => {}
                Step::End => return None,
            }
        }
    }

    fn try_next(&mut self) -> Option<EgressItem> {
        // Bounded by the ring: at most its capacity of units are ready.
        for _ in 0..self.handle.stream().capacity() {
            let TryNext::Unit(unit) = self.handle.reader().try_next(tokio::time::Instant::now())
            else {
                return None;
            };
            match self.item_of(&unit) {
                Step::Item(item) => return Some(item),
                Step::Skip => {}
                Step::End => return None,
            }
        }
        None
    }

    fn request_keyframe(&mut self) {
        self.handle.stream().request_keyframe(Instant::now());
    }

    fn end_reason(&self) -> Option<String> {
        self.unplayable.map(str::to_owned)
    }
}

/// A WHIP publisher's writer into a core stream, through the core's ingest (which puts
/// packets back in order, waiting [`REORDER_WAIT`] for a retransmission).
pub struct CoreSink {
    publisher: Publisher,
    stream: Arc<Stream>,
    ingest: RtpIngest,
    first_keyframe: bool,
}

impl std::fmt::Debug for CoreSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreSink")
            .field("path", &self.publisher.path_name())
            .finish_non_exhaustive()
    }
}

impl CoreSink {
    pub fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }
}

impl IngestSink for CoreSink {
    fn write(&mut self, track: usize, packet: rtp::Packet, now: Instant) {
        if let Err(e) = self.ingest.push(track, packet, now) {
            tracing::debug!("WHIP ingest: {e}");
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.ingest.deadline()
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Err(e) = self.ingest.handle_timeout(now) {
            tracing::debug!("WHIP ingest: {e}");
        }
    }

    fn lost(&self) -> u64 {
        self.ingest.lost()
    }

    fn wants_keyframe(&mut self) -> bool {
        let first = std::mem::take(&mut self.first_keyframe);
        self.stream.keyframes().take_pending() || first
    }

    async fn closed(&mut self) {
        self.publisher.kicked().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferromtx_codec::Frame;
    use std::time::Duration;

    fn h264() -> Format {
        Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        }
    }

    fn opus() -> Format {
        Format::Opus {
            payload_type: 111,
            channels: 2,
        }
    }

    fn manager(yaml: &str) -> Arc<PathManager> {
        let conf = Arc::new(ferromtx_conf::load_from_str(yaml, &|_| None).unwrap().conf);
        let auth = Arc::new(ferromtx_auth::Manager::new(&conf));
        Arc::new(PathManager::new(conf, auth))
    }

    fn access(path: &str, publish: bool) -> AccessRequest {
        AccessRequest {
            path: path.into(),
            query: String::new(),
            publish,
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            user_agent: None,
            credentials: crate::Credentials::default(),
            session_id: "test".into(),
            offered_audio: None,
        }
    }

    impl CoreBackend {
        /// Admits and starts a publisher, as a WHIP offer does.
        async fn open_publisher(
            &self,
            req: &AccessRequest,
            tracks: &[Format],
        ) -> Result<CoreSink, OpenError> {
            let admitted = self.admit_publisher(req).await?;
            self.start_publisher(admitted, tracks, &req.query)
        }
    }

    fn packet(seq: u16, ts: u32, marker: bool, payload: Bytes) -> rtp::Packet {
        rtp::Packet {
            marker,
            payload_type: 96,
            sequence_number: seq,
            timestamp: ts,
            ssrc: 1,
            csrc: Vec::new(),
            extension: None,
            payload,
        }
    }

    #[tokio::test]
    async fn viewers_share_payloads_and_the_view_runs_once_per_unit() {
        let backend = CoreBackend::new(manager("paths:\n  all_others:\n"));
        let sink = backend
            .open_publisher(&access("cam", true), &[h264(), opus()])
            .await
            .unwrap();
        let stream = Arc::clone(sink.stream());
        let mut a = backend.open_reader(&access("cam", false)).await.unwrap();
        let mut b = backend.open_reader(&access("cam", false)).await.unwrap();
        assert_eq!(a.tracks(), vec![h264(), opus()]);
        let before = TRANSFORMS.with(std::cell::Cell::get);

        // Unit 0: packets that fit (wrapped). Unit 1: a frame only, 3000 bytes (re-packetized).
        // Unit 2: one oversized packet (depacketized, then re-packetized). Unit 3: audio.
        let small: Vec<rtp::Packet> = (0..3)
            .map(|i| packet(i, 0, i == 2, Bytes::from(vec![0x41, i as u8, 7, 7])))
            .collect();
        stream
            .write(Unit {
                track: 0,
                rtp_packets: small,
                ..Unit::default()
            })
            .unwrap();
        let mut nal = vec![0x65u8];
        nal.extend((0..2999).map(|i| (i % 251) as u8));
        let nal = Bytes::from(nal);
        stream
            .write(Unit {
                track: 0,
                pts: 3000,
                frame: Some(Frame {
                    rtp_timestamp: 3000,
                    random_access: true,
                    parts: vec![nal.clone()],
                }),
                random_access: true,
                ..Unit::default()
            })
            .unwrap();
        stream
            .write(Unit {
                track: 0,
                pts: 6000,
                rtp_packets: vec![packet(3, 6000, true, nal.clone())],
                ..Unit::default()
            })
            .unwrap();
        stream
            .write(Unit {
                track: 1,
                rtp_packets: vec![rtp::Packet {
                    payload_type: 111,
                    ..packet(9, 960, true, Bytes::from_static(&[1, 2, 3]))
                }],
                ..Unit::default()
            })
            .unwrap();
        // One transform per unit, whatever the number of viewers.
        assert_eq!(TRANSFORMS.with(std::cell::Cell::get) - before, 4);

        for unit in 0..4 {
            let ia = a.next().await.unwrap();
            let ib = b.next().await.unwrap();
            assert_eq!(ia.track, ib.track);
            assert_eq!(ia.track, usize::from(unit == 3));
            assert!(Arc::ptr_eq(&ia.packets, &ib.packets));
            for (pa, pb) in ia.packets.iter().zip(ib.packets.iter()) {
                assert!(Arc::ptr_eq(&pa.payload, &pb.payload));
                assert!(pa.payload.len() <= MAX_EGRESS_PAYLOAD);
            }
            match unit {
                0 => {
                    assert_eq!(ia.packets.len(), 3);
                    assert_eq!(&ia.packets[1].payload[..], &[0x41, 1, 7, 7]);
                    assert!(ia.packets[2].marker && !ia.packets[0].marker);
                }
                1 | 2 => {
                    // FU-A fragments of the 3000-byte NAL unit, last one marked.
                    assert!(ia.packets.len() >= 3, "{}", ia.packets.len());
                    assert!(ia.packets.last().unwrap().marker);
                    assert_eq!(ia.packets[0].payload[0] & 0x1f, 28);
                    let body: usize = ia.packets.iter().map(|p| p.payload.len() - 2).sum();
                    assert_eq!(body, 2999);
                    assert_eq!(ia.packets[0].timestamp, 3000 * unit as u32);
                }
                _ => assert_eq!(&ia.packets[0].payload[..], &[1, 2, 3]),
            }
        }
    }

    #[tokio::test]
    async fn keyframes_get_the_sdp_parameter_sets_in_band() {
        let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e, 0xd9]);
        let pps = Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80]);
        let format = Format::H264 {
            payload_type: 96,
            sps: Some(sps.clone()),
            pps: Some(pps.clone()),
            packetization_mode: 1,
        };
        let backend = CoreBackend::new(manager("paths:\n  all_others:\n"));
        let sink = backend
            .open_publisher(&access("cam", true), std::slice::from_ref(&format))
            .await
            .unwrap();
        let mut viewer = backend.open_reader(&access("cam", false)).await.unwrap();
        let idr = Bytes::from_static(&[0x65, 0x88, 0x84, 0x21]);
        let p_slice = Bytes::from_static(&[0x41, 0x9a, 0x02]);
        for (ts, nal) in [(0u32, &idr), (3000, &p_slice)] {
            let random_access = nal == &idr;
            sink.stream()
                .write(Unit {
                    track: 0,
                    pts: i64::from(ts),
                    rtp_packets: vec![packet(ts as u16, ts, true, nal.clone())],
                    frame: Some(Frame {
                        rtp_timestamp: ts,
                        random_access,
                        parts: vec![nal.clone()],
                    }),
                    random_access,
                    ..Unit::default()
                })
                .unwrap();
        }
        let mut depack = ferromtx_codec::depacketizer(&format);
        let mut frames = Vec::new();
        let mut seq = 0u16;
        for _ in 0..2 {
            let item = viewer.next().await.unwrap();
            for p in item.packets.iter() {
                let pkt = packet(seq, p.timestamp, p.marker, Bytes::from(p.payload.to_vec()));
                seq += 1;
                depack.push(&pkt).unwrap();
            }
            while let Some(f) = depack.pull() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].parts, vec![sps, pps, idr]);
        assert_eq!(frames[0].rtp_timestamp, 0);
        // Other frames pass through untouched.
        assert_eq!(frames[1].parts, vec![p_slice]);
    }

    #[tokio::test]
    async fn h264_with_b_frames_ends_the_viewer_with_mediamtx_message() {
        let backend = CoreBackend::new(manager("paths:\n  all_others:\n"));
        let sink = backend
            .open_publisher(&access("cam", true), &[h264(), opus()])
            .await
            .unwrap();
        let mut viewer = backend.open_reader(&access("cam", false)).await.unwrap();
        // Decode order I P B: the B-frame's PTS goes back. Audio PTS never matters.
        for (track, pts) in [(0, 0i64), (1, 0), (0, 6000), (1, 960), (0, 3000), (0, 9000)] {
            let pt = if track == 0 { 96 } else { 111 };
            sink.stream()
                .write(Unit {
                    track,
                    pts,
                    rtp_packets: vec![rtp::Packet {
                        payload_type: pt,
                        ..packet(pts as u16, pts as u32, true, Bytes::from_static(&[0x41, 1]))
                    }],
                    ..Unit::default()
                })
                .unwrap();
        }
        let mut played = Vec::new();
        while let Some(item) = viewer.next().await {
            played.push(item.track);
        }
        assert_eq!(played, [0, 1, 0, 1]);
        assert_eq!(
            viewer.end_reason().as_deref(),
            Some("WebRTC doesn't support H264 streams with B-frames")
        );
    }

    #[tokio::test]
    async fn keyframe_requests_are_coalesced_and_reach_the_publisher() {
        let backend = CoreBackend::new(manager("paths:\n  all_others:\n"));
        let mut sink = backend
            .open_publisher(&access("cam", true), &[h264()])
            .await
            .unwrap();
        // A keyframe is wanted on start.
        assert!(sink.wants_keyframe());
        assert!(!sink.wants_keyframe());
        let mut viewers = Vec::new();
        for _ in 0..8 {
            viewers.push(backend.open_reader(&access("cam", false)).await.unwrap());
        }
        for v in &mut viewers {
            v.request_keyframe();
        }
        let stream = Arc::clone(sink.stream());
        let requests = stream.keyframes();
        assert_eq!(requests.forwarded(), 1);
        assert!(sink.wants_keyframe());
        assert!(!sink.wants_keyframe());
        let t0 = Instant::now() + Duration::from_secs(5);
        assert!(requests.request(t0));
        assert!(!requests.request(t0 + Duration::from_millis(500)));
        assert_eq!(requests.forwarded(), 2);
    }

    #[tokio::test]
    async fn ingest_writes_units_and_kicked_publisher_closes() {
        let backend = CoreBackend::new(manager("paths:\n  all_others:\n"));
        let mut sink = backend
            .open_publisher(&access("cam", true), &[h264()])
            .await
            .unwrap();
        let mut reader = backend
            .paths()
            .add_reader(path_request(&access("cam", false)))
            .await
            .unwrap();
        // FU-A: start, end; then a single NAL unit.
        let now = Instant::now();
        sink.write(
            0,
            packet(10, 90, false, Bytes::from_static(&[0x7c, 0x85, 1, 2])),
            now,
        );
        sink.write(
            0,
            packet(11, 90, true, Bytes::from_static(&[0x7c, 0x45, 3])),
            now,
        );
        sink.write(
            0,
            packet(12, 3090, true, Bytes::from_static(&[0x41, 9])),
            now,
        );
        let u = reader.reader().next().await.unwrap();
        assert_eq!(u.rtp_packets.len(), 2);
        assert!(u.random_access);
        assert_eq!(u.pts, 0);
        assert_eq!(u.frame.as_ref().unwrap().parts[0][..], [0x65, 1, 2, 3]);
        let u = reader.reader().next().await.unwrap();
        assert_eq!(u.pts, 3000);
        assert_eq!(u.frame.as_ref().unwrap().parts[0][..], [0x41, 9]);

        // Another publisher takes over: the first one's session must close.
        let _other = backend
            .open_publisher(&access("cam", true), &[h264()])
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), sink.closed())
            .await
            .expect("kicked publisher's sink reports closed");
    }

    #[tokio::test]
    async fn refusals_map_to_mediamtx_statuses() {
        let backend = CoreBackend::new(manager("paths:\n  cam:\n"));
        let e = backend
            .open_reader(&access("cam", false))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            OpenError::NoStream("no stream is available on path 'cam'".into())
        );
        let e = backend
            .open_reader(&access("other", false))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            OpenError::NoStream("path 'other' is not configured".into())
        );
        let yaml = "authInternalUsers:\n- user: u\n  pass: p\n  permissions:\n  - action: read\n  - action: publish\npaths:\n  all_others:\n";
        let backend = CoreBackend::new(manager(yaml));
        let e = backend
            .open_reader(&access("cam", false))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                OpenError::Unauthorized {
                    ask_credentials: true,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
