//! The muxer of one path: a hidden reader of the path's stream feeding the sans-IO
//! [`Muxer`], shared by every session of the path. Requests read it under a read lock and
//! wait for its generation to change; the bytes they send are the muxer's, by reference.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use ferromtx_codec::Format;
use ferromtx_core::{PathManager, PathRequest, Unit, stream::tracks_info};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::directory::Directory;
use super::session::{SESSION_CLEANUP_PERIOD, SESSION_CLOSE_AFTER, Session};
use super::{ServerConfig, new_prefix};
use crate::dts::DtsExtractor;
use crate::ts_writer::CodecTsWriter;
use crate::{Answer, Muxer, TsError, TsWriter, Variant};

/// Longest a request waits for something the muxer has not made yet (the first segment,
/// a blocking playlist reload, the preload-hinted part).
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(30);
/// Encoding errors are logged at most this often.
const ERROR_LOG_PERIOD: Duration = Duration::from_secs(1);

/// Where a muxer stands.
#[derive(Clone)]
pub(crate) enum State {
    /// Attaching to the path and making the muxer.
    Starting,
    Ready(Arc<Instance>),
    /// Gone, with the reason.
    Closed(String),
}

/// The running sans-IO muxer and what waits on it.
pub(crate) struct Instance {
    pub(crate) muxer: RwLock<Muxer>,
    generation: watch::Sender<u64>,
    /// `hlsDirectory`: segments are kept on disk.
    pub(crate) directory: Option<Directory>,
}

impl Instance {
    /// The answer to `name`, waiting (at most [`WAIT_LIMIT`]) while it is not there yet.
    pub(crate) async fn get(&self, name: &str, query: &str, closed: &CancellationToken) -> Answer {
        let mut generation = self.generation.subscribe();
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            generation.borrow_and_update();
            let answer = self
                .muxer
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(name, query);
            if answer != Answer::Wait {
                return answer;
            }
            tokio::select! {
                _ = generation.changed() => {}
                () = tokio::time::sleep_until(deadline) => return Answer::NotFound,
                () = closed.cancelled() => return Answer::NotFound,
            }
        }
    }
}

/// The muxer of one path, from its creation to its end.
pub(crate) struct MuxerEntry {
    pub(crate) path: String,
    /// Who asked for it; `None` when made by `hlsAlwaysRemux` (then it is not closed for
    /// lack of requests).
    pub(crate) requested_by: Option<String>,
    pub(crate) created: SystemTime,
    last_request: Mutex<(Instant, SystemTime)>,
    /// Requests being answered (a blocking one counts as activity while it waits).
    in_flight: std::sync::atomic::AtomicUsize,
    bytes_sent: AtomicU64,
    frames_discarded: AtomicU64,
    state: watch::Sender<State>,
    pub(crate) sessions: Mutex<Sessions>,
    pub(crate) cancel: CancellationToken,
    pub(crate) span: tracing::Span,
}

/// The sessions of a muxer.
#[derive(Default)]
pub(crate) struct Sessions {
    pub(crate) by_secret: HashMap<String, Arc<Session>>,
    pub(crate) cdn: Option<Arc<Session>>,
}

impl Sessions {
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<Session>> {
        self.by_secret.values().chain(self.cdn.iter())
    }
}

impl MuxerEntry {
    pub(crate) fn new(
        path: &str,
        requested_by: Option<String>,
        cancel: CancellationToken,
    ) -> MuxerEntry {
        let span = tracing::info_span!(parent: None, "hls_muxer", component = "HLS", muxer = %path);
        MuxerEntry {
            path: path.to_owned(),
            requested_by,
            created: SystemTime::now(),
            last_request: Mutex::new((Instant::now(), SystemTime::now())),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            bytes_sent: AtomicU64::new(0),
            frames_discarded: AtomicU64::new(0),
            state: watch::channel(State::Starting).0,
            sessions: Mutex::new(Sessions::default()),
            cancel,
            span,
        }
    }

    pub(crate) fn touch(&self) {
        *self
            .last_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (Instant::now(), SystemTime::now());
    }

    pub(crate) fn last_request(&self) -> SystemTime {
        self.last_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
    }

    /// Marks a request in flight until the guard is dropped.
    pub(crate) fn request(&self) -> InFlight<'_> {
        self.touch();
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    fn idle_since(&self, now: Instant) -> Duration {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        now.saturating_duration_since(
            self.last_request
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .0,
        )
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    pub(crate) fn frames_discarded(&self) -> u64 {
        self.frames_discarded.load(Ordering::Relaxed)
    }

    pub(crate) fn lock_sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The running instance, once the muxer has started; the reason when it could not.
    pub(crate) async fn instance(&self) -> Result<Arc<Instance>, String> {
        let mut rx = self.state.subscribe();
        let state = rx
            .wait_for(|s| !matches!(s, State::Starting))
            .await
            .map(|s| s.clone())
            .unwrap_or_else(|_| State::Closed("terminated".into()));
        match state {
            State::Ready(i) => Ok(i),
            State::Closed(e) => Err(e),
            State::Starting => Err("muxer instance not available".into()),
        }
    }

    /// The instance if running now.
    pub(crate) fn current(&self) -> Option<Arc<Instance>> {
        match &*self.state.borrow() {
            State::Ready(i) => Some(Arc::clone(i)),
            _ => None,
        }
    }

    fn close_sessions(&self, reason: &str) {
        let sessions = std::mem::take(&mut *self.lock_sessions());
        for s in sessions.all() {
            s.close(reason);
        }
    }
}

/// A request being answered by a muxer.
pub(crate) struct InFlight<'a>(&'a MuxerEntry);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs a muxer until its stream ends, it is not used any more or the server closes.
pub(crate) async fn run(
    entry: Arc<MuxerEntry>,
    paths: Arc<PathManager>,
    config: Arc<ServerConfig>,
    query: String,
    on_end: impl FnOnce(&Arc<MuxerEntry>) + Send,
) {
    let span = entry.span.clone();
    async {
        tracing::info!(
            "created {}",
            match &entry.requested_by {
                Some(r) => format!("(requested by {r})"),
                None => "automatically".into(),
            }
        );
        let reason = run_inner(&entry, &paths, &config, &query).await;
        entry.cancel.cancel();
        entry.state.send_replace(State::Closed(reason.clone()));
        entry.close_sessions("muxer destroyed");
        tracing::info!("destroyed: {reason}");
    }
    .instrument(span)
    .await;
    on_end(&entry);
}

async fn run_inner(
    entry: &Arc<MuxerEntry>,
    paths: &PathManager,
    config: &ServerConfig,
    query: &str,
) -> String {
    let request = PathRequest {
        name: entry.path.clone(),
        query: query.to_owned(),
        ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        credentials: ferromtx_auth::Credentials::default(),
        protocol: ferromtx_auth::Protocol::Hls,
        who: ferromtx_core::Described::hidden(),
        skip_auth: true,
    };
    let mut handle = tokio::select! {
        r = paths.add_reader(request) => match r {
            Ok(h) => h,
            Err(e) => return e.to_string(),
        },
        () = entry.cancel.cancelled() => return "terminated".into(),
    };
    let formats: Vec<Format> = handle
        .stream()
        .described_tracks()
        .into_iter()
        .map(|t| t.format)
        .collect();
    let (instance, mut feeder) = match create_instance(config, &entry.path, &formats) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let instance = Arc::new(instance);
    entry
        .state
        .send_replace(State::Ready(Arc::clone(&instance)));

    let activity_period = (config.close_after / 3).max(Duration::from_secs(1));
    let mut activity = tokio::time::interval_at(Instant::now() + activity_period, activity_period);
    let mut cleanup = tokio::time::interval_at(
        Instant::now() + SESSION_CLEANUP_PERIOD,
        SESSION_CLEANUP_PERIOD,
    );
    loop {
        tokio::select! {
            unit = handle.reader().next() => {
                let Some(unit) = unit else {
                    return "terminated".into();
                };
                feeder.feed(&instance, &unit);
                let discarded = handle.reader().discarded();
                entry.frames_discarded.store(discarded, Ordering::Relaxed);
            }
            _ = activity.tick(), if entry.requested_by.is_some() => {
                if entry.idle_since(Instant::now()) >= config.close_after {
                    return "not used anymore".into();
                }
            }
            _ = cleanup.tick() => close_idle_sessions(entry),
            () = entry.cancel.cancelled() => return "terminated".into(),
        }
    }
}

fn close_idle_sessions(entry: &MuxerEntry) {
    let now = Instant::now();
    let mut closed = Vec::new();
    {
        let mut sessions = entry.lock_sessions();
        sessions.by_secret.retain(|_, s| {
            let keep = s.idle_since(now) < SESSION_CLOSE_AFTER;
            if !keep {
                closed.push(Arc::clone(s));
            }
            keep
        });
        if sessions
            .cdn
            .as_ref()
            .is_some_and(|s| s.idle_since(now) >= SESSION_CLOSE_AFTER)
        {
            closed.extend(sessions.cdn.take());
        }
    }
    for s in closed {
        s.close("inactive");
    }
}

/// Writes nothing: lets a probe muxer tell which tracks the `mpegts` variant keeps.
struct NoTs;

impl TsWriter for NoTs {
    fn write(
        &mut self,
        _: usize,
        _: i64,
        _: i64,
        _: bool,
        _: &[bytes::Bytes],
        _: &mut Vec<u8>,
    ) -> Result<(), TsError> {
        Ok(())
    }
}

fn create_instance(
    config: &ServerConfig,
    path: &str,
    formats: &[Format],
) -> Result<(Instance, Feeder), String> {
    let prefix = new_prefix();
    let muxer = if config.muxer.variant == Variant::MpegTs {
        let probe = Muxer::with_mpegts(config.muxer.clone(), formats, &prefix, Box::new(NoTs))
            .map_err(|e| e.to_string())?;
        let skipped = probe.skipped_tracks();
        let kept: Vec<bool> = (0..formats.len()).map(|i| !skipped.contains(&i)).collect();
        let writer = CodecTsWriter::new(formats, &kept).map_err(|e| e.to_string())?;
        Muxer::with_mpegts(config.muxer.clone(), formats, &prefix, Box::new(writer))
    } else {
        Muxer::new(config.muxer.clone(), formats, &prefix)
    }
    .map_err(|e| e.to_string())?;
    let skipped = muxer.skipped_tracks();
    let mut kept = Vec::new();
    for (i, f) in formats.iter().enumerate() {
        if skipped.contains(&i) {
            tracing::warn!("skipping track {} ({})", i + 1, f.codec_name());
        } else {
            kept.push(f.codec_name());
        }
    }
    let directory = match &config.directory {
        Some(base) => Some(Directory::create(base, path).map_err(|e| e.to_string())?),
        None => None,
    };
    tracing::info!("is converting into HLS, {}", tracks_info(&kept));
    let feeder = Feeder::new(formats, &skipped);
    Ok((
        Instance {
            muxer: RwLock::new(muxer),
            generation: watch::channel(0).0,
            directory,
        },
        feeder,
    ))
}

/// Per-track state of the glue between the stream's units and the muxer.
struct FeedTrack {
    dts: Option<DtsExtractor>,
    clock_rate: u32,
    /// Added to the unit's PTS to put the track on the muxer's common timeline.
    offset: Option<i64>,
    skipped: bool,
}

/// Turns the stream's units into muxer input: DTS for RTP video, tracks aligned on the
/// arrival of their first unit (RTP timelines each start at 0), errors rate-limited.
struct Feeder {
    tracks: Vec<FeedTrack>,
    /// Wall-clock time of the first unit of any track.
    start: Option<SystemTime>,
    last_error: Option<Instant>,
}

impl Feeder {
    fn new(formats: &[Format], skipped: &[usize]) -> Feeder {
        Feeder {
            tracks: formats
                .iter()
                .enumerate()
                .map(|(i, f)| FeedTrack {
                    dts: DtsExtractor::for_format(f),
                    clock_rate: f.clock_rate().max(1),
                    offset: None,
                    skipped: skipped.contains(&i),
                })
                .collect(),
            start: None,
            last_error: None,
        }
    }

    fn feed(&mut self, instance: &Instance, unit: &Unit) {
        let Some(frame) = &unit.frame else {
            return;
        };
        let Some(t) = self.tracks.get_mut(unit.track) else {
            return;
        };
        if t.skipped {
            return;
        }
        let now = SystemTime::now();
        let ntp = unit.ntp.unwrap_or(now);
        let start = *self.start.get_or_insert(ntp);
        let offset = *t.offset.get_or_insert_with(|| {
            if unit.rtp_packets.is_empty() {
                // A container's timestamps already share one timeline.
                0
            } else {
                let since = ntp.duration_since(start).unwrap_or_default();
                let ticks = (since.as_nanos() * u128::from(t.clock_rate) / 1_000_000_000) as i64;
                ticks - unit.pts
            }
        });
        let pts = unit.pts + offset;
        let dts =
            match (unit.dts, t.dts.as_mut()) {
                (Some(d), _) => d + offset,
                (None, Some(x)) => {
                    if let Some(sps) = frame.parts.iter().find(|n| {
                        ferromtx_codec::h264::nal_type(n) == ferromtx_codec::h264::NAL_SPS
                    }) {
                        x.learn_sps(sps);
                    }
                    x.extract(pts)
                }
                (None, None) => pts,
            };
        let (result, generation) = {
            let mut muxer = instance
                .muxer
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let before = muxer.generation();
            let result =
                muxer.write_unit(unit.track, pts, dts, unit.random_access, &frame.parts, ntp);
            let after = muxer.generation();
            if after != before
                && let Some(dir) = &instance.directory
            {
                dir.sync(&mut muxer);
            }
            (result, (after != before).then_some(after))
        };
        if let Some(g) = generation {
            instance.generation.send_replace(g);
        }
        if let Err(e) = result {
            let now = Instant::now();
            if self
                .last_error
                .is_none_or(|l| now.saturating_duration_since(l) >= ERROR_LOG_PERIOD)
            {
                self.last_error = Some(now);
                tracing::warn!("{e}");
            }
        }
    }
}
