//! The [`Backend`] on ferromtx-core: WHEP viewers read core streams through one shared
//! egress view per stream and track; WHIP publishers write depacketized units into core
//! streams, so RTSP readers and WHEP viewers get them.
//!
//! Authentication happens in the core (`add_reader` / `add_publisher`), with the
//! request's credentials and IP; serve the router with [`crate::AllowAll`] as auth hook.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use ferromtx_codec::{DepacketizeError, Depacketizer, Format, Frame, Packetizer, rtp};
use ferromtx_conf::ConfError;
use ferromtx_core::{
    Described, PathError, PathManager, PathRequest, Publisher, ReaderHandle, Stream, Track,
    TryNext, Unit, View, ViewHandle,
};
use tokio::sync::Notify;

use crate::auth::AccessRequest;
use crate::keyframe::SharedKeyframeGate;
use crate::negotiation;
use crate::server::{Backend, OpenError};
use crate::source::{EgressItem, EgressPacket, EgressSource, IngestSink};

/// Largest RTP payload sent to a viewer: a 1200-byte packet minus the RTP header.
pub const MAX_EGRESS_PAYLOAD: usize = 1200 - 12;

/// Packets buffered for one incomplete ingest frame before it is given up.
const MAX_PENDING_PACKETS: usize = 2048;

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

/// A core [`View`] turning units of one track into [`EgressUnit`]s, once per stream.
pub struct EgressView {
    key: EgressKey,
    format: Option<Format>,
    /// PTS of the previous unit: browsers can't play H264/H265 with B-frames, which show up
    /// as a PTS going back.
    last_pts: Option<i64>,
    /// Set once B-frames were seen: nothing more is sent.
    unplayable: Option<&'static str>,
    packetizer: Option<Box<dyn Packetizer + Send>>,
    depacketizer: Option<Box<dyn Depacketizer + Send>>,
}

impl EgressView {
    fn frame_of(&mut self, unit: &Unit) -> Option<Frame> {
        if let Some(frame) = &unit.frame {
            return Some(frame.clone());
        }
        let format = self.format.as_ref()?;
        let depack = self
            .depacketizer
            .get_or_insert_with(|| ferromtx_codec::depacketizer(format));
        let mut frame = None;
        for p in &unit.rtp_packets {
            if let Err(e) = depack.push(p) {
                tracing::debug!("egress view: {e}");
            }
            while let Some(f) = depack.pull() {
                frame.get_or_insert(f);
            }
        }
        frame
    }

    fn repacketize(&mut self, frame: &Frame) -> Option<Vec<EgressPacket>> {
        let format = self.format.as_ref()?;
        let max = self.key.max_payload;
        let packetizer = self
            .packetizer
            .get_or_insert_with(|| ferromtx_codec::packetizer(format, max, 0, 0));
        match packetizer.packetize(frame) {
            Ok(packets) => Some(packets.iter().map(EgressPacket::from_rtp).collect()),
            Err(e) => {
                tracing::debug!("egress view: {e}");
                None
            }
        }
    }
}

impl View for EgressView {
    type Key = EgressKey;
    type Output = EgressOutput;

    fn new(key: &EgressKey, tracks: &[Track]) -> Self {
        EgressView {
            key: key.clone(),
            format: tracks.get(key.track).map(|t| t.format.clone()),
            last_pts: None,
            unplayable: None,
            packetizer: None,
            depacketizer: None,
        }
    }

    fn transform(&mut self, unit: &Unit) -> Option<EgressOutput> {
        if unit.track != self.key.track {
            return None;
        }
        let reordered = self.last_pts.is_some_and(|last| unit.pts < last);
        self.last_pts = Some(unit.pts);
        if reordered {
            match &self.format {
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
        let fits = !unit.rtp_packets.is_empty()
            && unit
                .rtp_packets
                .iter()
                .all(|p| p.payload.len() <= self.key.max_payload);
        // A browser joining at a keyframe needs its parameter sets in-band; publishers that
        // announce them only in SDP never repeat them, so they are put back here.
        let wants_params =
            unit.random_access && self.format.as_ref().is_some_and(Format::has_params);
        let frame = if wants_params || !fits {
            self.frame_of(unit)
        } else {
            None
        };
        let with_params = match (&frame, self.format.as_mut()) {
            (Some(frame), Some(format)) if wants_params => {
                format.update_params(frame);
                format.with_params(frame)
            }
            _ => None,
        };
        let packets: Vec<EgressPacket> = match (with_params, frame) {
            (Some(frame), _) => self.repacketize(&frame)?,
            (None, _) if fits => unit
                .rtp_packets
                .iter()
                .map(EgressPacket::from_rtp)
                .collect(),
            (None, Some(frame)) => self.repacketize(&frame)?,
            (None, None) => return None,
        };
        if packets.is_empty() {
            return None;
        }
        let wire_bytes = packets.iter().map(|p| 12 + p.payload.len() as u64).sum();
        Some(EgressOutput::Unit(EgressUnit {
            wallclock: Instant::now(),
            packets: packets.into(),
            wire_bytes,
        }))
    }
}

/// Where keyframe requests of viewers reach a publisher: coalesced to one per second,
/// counted, and signalled to whoever publishes (WHIP sends a PLI; an RTSP publisher can
/// wait on [`KeyframeHook::requested`]).
#[derive(Debug, Default)]
pub struct KeyframeHook {
    gate: SharedKeyframeGate,
    forwarded: AtomicU64,
    pending: AtomicBool,
    notify: Notify,
}

impl KeyframeHook {
    /// A viewer asks for a keyframe at `now`; returns whether it was forwarded.
    pub fn request(&self, now: Instant) -> bool {
        if !self.gate.allow(now) {
            return false;
        }
        self.forwarded.fetch_add(1, Ordering::Relaxed);
        self.pending.store(true, Ordering::Release);
        self.notify.notify_waiters();
        true
    }

    /// Requests forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// Takes the pending request, if any.
    pub fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::AcqRel)
    }

    /// Resolves at the next forwarded request.
    pub async fn requested(&self) {
        self.notify.notified().await;
    }
}

/// The keyframe hooks of all paths, by path name.
#[derive(Debug, Default)]
pub struct KeyframeHooks {
    by_path: Mutex<HashMap<String, Arc<KeyframeHook>>>,
}

impl KeyframeHooks {
    /// The hook of `path`, created on first use.
    pub fn for_path(&self, path: &str) -> Arc<KeyframeHook> {
        let mut map = self.by_path.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(path.to_owned()).or_default())
    }
}

/// The WebRTC backend on the core's path manager.
#[derive(Debug, Clone)]
pub struct CoreBackend {
    paths: Arc<PathManager>,
    keyframes: Arc<KeyframeHooks>,
    max_payload: usize,
}

impl CoreBackend {
    pub fn new(paths: Arc<PathManager>) -> CoreBackend {
        CoreBackend {
            paths,
            keyframes: Arc::new(KeyframeHooks::default()),
            max_payload: MAX_EGRESS_PAYLOAD,
        }
    }

    pub fn paths(&self) -> &Arc<PathManager> {
        &self.paths
    }

    /// Keyframe requests of the viewers of `path` (shared with other protocols' publishers).
    pub fn keyframe_hook(&self, path: &str) -> Arc<KeyframeHook> {
        self.keyframes.for_path(path)
    }
}

fn path_request(req: &AccessRequest) -> PathRequest {
    PathRequest {
        name: req.path.clone(),
        query: req.query.clone(),
        ip: req.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        credentials: ferromtx_auth::Credentials {
            user: req.credentials.user.clone().unwrap_or_default(),
            pass: req.credentials.pass.clone().unwrap_or_default(),
            token: req.credentials.token.clone().unwrap_or_default(),
        },
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

    async fn open_reader(&self, req: &AccessRequest) -> Result<CoreSource, OpenError> {
        let handle = self
            .paths
            .add_reader(path_request(req))
            .await
            .map_err(open_error)?;
        let stream = Arc::clone(handle.stream());
        let tracks: Vec<Format> = stream
            .described_tracks()
            .into_iter()
            .map(|t| t.format)
            .collect();
        let views = tracks
            .iter()
            .enumerate()
            .map(|(track, f)| {
                negotiation::check_playable(f).is_ok().then(|| {
                    stream.view::<EgressView>(EgressKey {
                        track,
                        max_payload: self.max_payload,
                    })
                })
            })
            .collect();
        Ok(CoreSource {
            unplayable: None,
            keyframe: self.keyframes.for_path(handle.path_name()),
            handle,
            views,
            tracks,
        })
    }

    async fn open_publisher(
        &self,
        req: &AccessRequest,
        tracks: &[Format],
    ) -> Result<CoreSink, OpenError> {
        let publisher = self
            .paths
            .add_publisher(path_request(req))
            .await
            .map_err(open_error)?;
        let core_tracks = tracks.iter().map(|f| Track { format: f.clone() }).collect();
        let stream = publisher
            .start_with_query(core_tracks, &req.query)
            .map_err(open_error)?;
        Ok(CoreSink {
            keyframe: self.keyframes.for_path(publisher.path_name()),
            publisher,
            stream,
            tracks: tracks.iter().map(IngestTrack::new).collect(),
            first_keyframe: true,
        })
    }
}

/// A WHEP viewer's reader of a core stream.
#[derive(Debug)]
pub struct CoreSource {
    handle: ReaderHandle,
    /// Why the stream can't be played any more, once known.
    unplayable: Option<&'static str>,
    /// The egress view of each track (`None`: not playable in a browser).
    views: Vec<Option<ViewHandle<EgressView>>>,
    tracks: Vec<Format>,
    keyframe: Arc<KeyframeHook>,
}

impl CoreSource {
    /// The keyframe hook of the path this viewer reads.
    pub fn keyframe_hook(&self) -> &Arc<KeyframeHook> {
        &self.keyframe
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
        let out = match unit.view(view) {
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
        self.keyframe.request(Instant::now());
    }

    fn end_reason(&self) -> Option<String> {
        self.unplayable.map(str::to_owned)
    }
}

/// Depacketization state of one ingest track.
struct IngestTrack {
    depacketizer: Box<dyn Depacketizer + Send>,
    pending: Vec<rtp::Packet>,
    first_ts: Option<u32>,
    last_ts: u32,
    pts: i64,
}

impl IngestTrack {
    fn new(format: &Format) -> IngestTrack {
        IngestTrack {
            depacketizer: ferromtx_codec::depacketizer(format),
            pending: Vec::new(),
            first_ts: None,
            last_ts: 0,
            pts: 0,
        }
    }

    /// Presentation time of RTP timestamp `ts`, unwrapped, from the first frame.
    fn pts(&mut self, ts: u32) -> i64 {
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
            self.last_ts = ts;
            return 0;
        }
        // Wrapping difference read as signed: small steps back stay backwards.
        let delta = ts.wrapping_sub(self.last_ts) as i32;
        self.pts += i64::from(delta);
        self.last_ts = ts;
        self.pts
    }
}

/// A WHIP publisher's writer into a core stream.
pub struct CoreSink {
    publisher: Publisher,
    stream: Arc<Stream>,
    tracks: Vec<IngestTrack>,
    keyframe: Arc<KeyframeHook>,
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
    fn write(&mut self, track: usize, packet: rtp::Packet) {
        let Some(t) = self.tracks.get_mut(track) else {
            return;
        };
        match t.depacketizer.push(&packet) {
            Ok(()) => t.pending.push(packet),
            Err(DepacketizeError::OutOfOrder { .. }) => return,
            Err(e @ DepacketizeError::PacketsLost { .. }) => {
                tracing::debug!("WHIP ingest: {e}");
                // The frame in progress is gone; the packet still starts the next one.
                t.pending.clear();
                t.pending.push(packet);
            }
            Err(e) => {
                tracing::debug!("WHIP ingest: {e}");
                t.pending.clear();
                return;
            }
        }
        if t.pending.len() > MAX_PENDING_PACKETS {
            t.pending.clear();
        }
        while let Some(frame) = t.depacketizer.pull() {
            let rtp_packets = std::mem::take(&mut t.pending);
            let unit = Unit {
                track,
                pts: t.pts(frame.rtp_timestamp),
                ntp: Some(SystemTime::now()),
                rtp_packets,
                random_access: frame.random_access,
                frame: Some(frame),
                ..Unit::default()
            };
            if let Err(e) = self.stream.write(unit) {
                tracing::debug!("WHIP ingest: {e}");
            }
        }
    }

    fn wants_keyframe(&mut self) -> bool {
        let first = std::mem::take(&mut self.first_keyframe);
        self.keyframe.take_pending() || first
    }

    async fn closed(&mut self) {
        self.publisher.kicked().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
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
        let hook = backend.keyframe_hook("cam");
        assert_eq!(hook.forwarded(), 1);
        assert!(sink.wants_keyframe());
        assert!(!sink.wants_keyframe());
        let t0 = Instant::now() + Duration::from_secs(5);
        assert!(hook.request(t0));
        assert!(!hook.request(t0 + Duration::from_millis(500)));
        assert_eq!(hook.forwarded(), 2);
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
        sink.write(
            0,
            packet(10, 90, false, Bytes::from_static(&[0x7c, 0x85, 1, 2])),
        );
        sink.write(
            0,
            packet(11, 90, true, Bytes::from_static(&[0x7c, 0x45, 3])),
        );
        sink.write(0, packet(12, 3090, true, Bytes::from_static(&[0x41, 9])));
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
        assert_eq!(
            e,
            OpenError::Unauthorized {
                ask_credentials: true
            }
        );
    }
}
