//! The HLS pull source (`source: http(s)://.../index.m3u8`): reads a multivariant or media
//! playlist, follows the highest-bandwidth variant (and its audio rendition when that is a
//! playlist of its own) from the live edge, downloads each new segment (fMP4 or MPEG-TS;
//! blocking playlist reload when the server offers it, LL-HLS parts are not used) and
//! writes its access units into the path, paced by their timestamps.

pub mod playlist;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Buf, Bytes};
use ferromtx_codec::fmp4::{self, Codec as Fmp4Codec, Init};
use ferromtx_codec::mpegts::{self, Demuxer, Event};
use ferromtx_codec::{Format, Frame};
use ferromtx_core::source::BoxFuture;
use ferromtx_core::{SourceContext, SourceError, StaticSource, Track, UnitIngest};
use reqwest::Url;
use tokio::time::Instant;
use tracing::Instrument;

use playlist::{Media, Playlist};

/// Largest segment or init segment downloaded.
const MAX_SEGMENT_SIZE: usize = 64 << 20;
/// Largest number of access units of one segment.
const MAX_UNITS_PER_SEGMENT: usize = 100_000;
/// Units later than this behind their due time are written at once (no catching up by
/// sleeping less later).
const MAX_LATE: Duration = Duration::from_secs(2);

/// The `http` / `https` static source.
#[derive(Debug, Clone, Copy, Default)]
pub struct HlsSource;

impl StaticSource for HlsSource {
    fn kind(&self) -> &'static str {
        "hlsSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let span = tracing::info_span!("hls_source", component = "HLS source");
        Box::pin(run(ctx).instrument(span))
    }
}

/// Why the source stopped.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("{url}: status code {status}")]
    Status { url: Url, status: u16 },
    #[error("{0} is too large")]
    TooLarge(Url),
    #[error(transparent)]
    Playlist(#[from] playlist::PlaylistError),
    #[error("{0}")]
    Other(String),
}

fn err(s: impl Into<String>) -> Failure {
    Failure::Other(s.into())
}

async fn run(ctx: SourceContext) -> Result<(), SourceError> {
    tracing::info!("started");
    let res = tokio::select! {
        r = pull(&ctx) => r,
        () = ctx.cancelled() => Ok(()),
    };
    res.map_err(|e| SourceError(e.to_string()))
}

struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    fn new(fingerprint: &str, timeout: Duration) -> Result<Http, Failure> {
        let tls = ferromtx_net::tls::client_config(fingerprint).map_err(err)?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()?;
        Ok(Http { client, timeout })
    }

    /// GETs `url` (at most `max` bytes), waiting `extra` longer than the read timeout.
    async fn get(&self, url: &Url, max: usize, extra: Duration) -> Result<(Url, Bytes), Failure> {
        tracing::debug!("downloading {url}");
        let mut res = self
            .client
            .get(url.clone())
            .timeout(self.timeout + extra)
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(Failure::Status {
                url: url.clone(),
                status: res.status().as_u16(),
            });
        }
        let final_url = res.url().clone();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            if body.len() + chunk.len() > max {
                return Err(Failure::TooLarge(url.clone()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((final_url, Bytes::from(body)))
    }

    async fn playlist(&self, url: &Url, extra: Duration) -> Result<(Url, Playlist), Failure> {
        let (url, body) = self.get(url, playlist::MAX_PLAYLIST_SIZE, extra).await?;
        let text = std::str::from_utf8(&body).map_err(|_| err("playlist is not UTF-8"))?;
        Ok((url, playlist::parse(text)?))
    }
}

fn join(base: &Url, uri: &str) -> Result<Url, Failure> {
    base.join(uri)
        .map_err(|e| err(format!("invalid URI {uri}: {e}")))
}

async fn pull(ctx: &SourceContext) -> Result<(), Failure> {
    let url = Url::parse(ctx.url()).map_err(|e| err(format!("invalid URL: {e}")))?;
    let timeout = ctx
        .global()
        .map_or(Duration::from_secs(10), |c| c.read_timeout);
    let http = Http::new(&ctx.conf().source_fingerprint, timeout)?;
    let (url, first) = http.playlist(&url, Duration::ZERO).await?;
    let mut playlists = Vec::new();
    match first {
        Playlist::Media(m) => playlists.push((url, m)),
        Playlist::Multivariant(mv) => {
            let (variant, audio) = mv.choose().ok_or(playlist::PlaylistError::NoVariants)?;
            let mut uris = vec![variant.uri.clone()];
            uris.extend(audio.map(str::to_owned));
            for uri in uris {
                let (u, p) = http.playlist(&join(&url, &uri)?, Duration::ZERO).await?;
                match p {
                    Playlist::Media(m) => playlists.push((u, m)),
                    Playlist::Multivariant(_) => return Err(err("nested multivariant playlist")),
                }
            }
        }
    }
    let mut followers = Vec::new();
    let mut tracks = Vec::new();
    for (url, media) in playlists {
        let f = Follower::open(&http, url, media, tracks.len()).await?;
        tracks.extend(f.formats.iter().cloned());
        followers.push(f);
    }
    if tracks.is_empty() {
        return Err(err("the stream has no supported tracks"));
    }
    let track_list: Vec<Track> = tracks.iter().map(|f| Track { format: f.clone() }).collect();
    let Some(stream) = ctx.set_ready(track_list) else {
        return Ok(());
    };
    let sink = Arc::new(Sink {
        ingest: Mutex::new(UnitIngest::new(stream)),
        clock: Mutex::new(None),
        clock_rates: tracks.iter().map(Format::clock_rate).collect(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let http = Arc::new(http);
    for f in followers {
        let (http, sink) = (Arc::clone(&http), Arc::clone(&sink));
        tasks.spawn(async move { f.follow(&http, &sink).await }.in_current_span());
    }
    // The first follower to stop stops the source.
    let res = tasks
        .join_next()
        .await
        .map_or(Ok(()), |r| r.unwrap_or_else(|e| Err(err(e.to_string()))));
    tasks.abort_all();
    res
}

/// The path's stream and the timeline every follower writes on.
struct Sink {
    ingest: Mutex<UnitIngest>,
    clock: Mutex<Option<Clock>>,
    clock_rates: Vec<u32>,
}

/// When units are due.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Stream time (ns) of the first unit: time 0 of the path's timestamps.
    origin: i128,
    /// Wall clock at which stream time `at` is due.
    start: Instant,
    at: i128,
}

/// One access unit read from a segment, with times in nanoseconds.
struct Sample {
    track: usize,
    dts_ns: i128,
    pts_ns: i128,
    random_access: bool,
    parts: Vec<Bytes>,
}

impl Sink {
    /// Writes the samples of a segment in time order, each when it is due.
    async fn write(&self, mut samples: Vec<Sample>) -> Result<(), Failure> {
        samples.sort_by_key(|s| s.dts_ns);
        for s in samples {
            let clock = *self
                .clock
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(Clock {
                    origin: s.dts_ns,
                    start: Instant::now(),
                    at: s.dts_ns,
                });
            let origin = clock.origin;
            let due_ns = (s.dts_ns - clock.at).clamp(0, i128::from(u32::MAX));
            let due = clock.start + Duration::from_nanos(due_ns as u64);
            let now = Instant::now();
            if due > now {
                tokio::time::sleep_until(due).await;
            } else if now.duration_since(due) > MAX_LATE {
                // Behind (a slow download): pacing starts again from here, so later units
                // are not rushed; the timestamps keep their origin.
                *self.clock.lock().unwrap_or_else(PoisonError::into_inner) = Some(Clock {
                    start: now,
                    at: s.dts_ns,
                    ..clock
                });
            }
            let rate = i128::from(self.clock_rates.get(s.track).copied().unwrap_or(90_000));
            let ticks = |ns: i128| ((ns - origin) * rate / 1_000_000_000) as i64;
            let frame = Frame {
                rtp_timestamp: 0,
                random_access: s.random_access,
                parts: s.parts,
            };
            self.ingest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .write(s.track, ticks(s.pts_ns), Some(ticks(s.dts_ns)), None, frame)
                .map_err(|e| err(e.to_string()))?;
        }
        Ok(())
    }
}

/// How a playlist's segments are read.
enum Container {
    /// fMP4: track id → (our track index, timescale, codec).
    Fmp4(HashMap<u32, (usize, u32, Fmp4Codec)>),
    /// MPEG-TS: PID → (our track index, codec).
    Ts {
        demuxer: Box<Demuxer>,
        pids: HashMap<u16, (usize, mpegts::Codec)>,
        /// The segment read to learn the tracks, written first.
        first: Option<Bytes>,
    },
}

/// Follows one media playlist.
struct Follower {
    url: Url,
    media: Media,
    next_msn: u64,
    formats: Vec<Format>,
    container: Container,
}

fn format_of_fmp4(codec: &Fmp4Codec, payload_type: u8) -> Option<Format> {
    Some(match codec {
        Fmp4Codec::H264 { sps, pps } => Format::H264 {
            payload_type,
            sps: Some(sps.clone()),
            pps: Some(pps.clone()),
            packetization_mode: 1,
        },
        Fmp4Codec::H265 { vps, sps, pps } => Format::H265 {
            payload_type,
            vps: Some(vps.clone()),
            sps: Some(sps.clone()),
            pps: Some(pps.clone()),
        },
        Fmp4Codec::Av1 { .. } => Format::Av1 { payload_type },
        Fmp4Codec::Vp9 { .. } => Format::Vp9 { payload_type },
        Fmp4Codec::Opus { channel_count } => Format::Opus {
            payload_type,
            channels: *channel_count,
        },
        Fmp4Codec::Mpeg4Audio { config } => Format::Mpeg4Audio {
            payload_type,
            config: config.clone(),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        },
        _ => return None,
    })
}

/// NAL units of a length-prefixed (4 bytes) sample.
fn split_nalus(mut sample: Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    while sample.len() >= 4 {
        let n = sample.get_u32() as usize;
        if n > sample.len() {
            break;
        }
        out.push(sample.split_to(n));
    }
    out
}

fn ns(t: i128, timescale: u32) -> i128 {
    t * 1_000_000_000 / i128::from(timescale.max(1))
}

impl Follower {
    async fn open(
        http: &Http,
        url: Url,
        media: Media,
        first_track: usize,
    ) -> Result<Follower, Failure> {
        let next_msn = media
            .last_msn()
            .ok_or_else(|| err("the playlist has no segments"))?;
        let payload_type = |i: usize| 96 + (first_track + i).min(31) as u8;
        let mut formats = Vec::new();
        let container = if let Some(map) = &media.map {
            let (_, init) = http
                .get(&join(&url, map)?, MAX_SEGMENT_SIZE, Duration::ZERO)
                .await?;
            let init = Init::parse(&init).map_err(|e| err(format!("init segment: {e}")))?;
            let mut ids = HashMap::new();
            for t in &init.tracks {
                match format_of_fmp4(&t.codec, payload_type(formats.len())) {
                    Some(f) => {
                        ids.insert(
                            t.id,
                            (first_track + formats.len(), t.timescale, t.codec.clone()),
                        );
                        formats.push(f);
                    }
                    None => tracing::warn!("skipping track with codec {}", t.codec.name()),
                }
            }
            Container::Fmp4(ids)
        } else {
            let seg = media
                .segment(next_msn)
                .ok_or_else(|| err("the playlist has no segments"))?;
            let (_, data) = http
                .get(&join(&url, &seg.uri)?, MAX_SEGMENT_SIZE, Duration::ZERO)
                .await?;
            let mut demuxer = Box::new(Demuxer::new());
            demuxer.push(&data);
            let mut ts_tracks = None;
            while let Some(e) = demuxer.pull() {
                if let Event::Tracks(t) = e {
                    ts_tracks = Some(t);
                    break;
                }
            }
            let ts_tracks = ts_tracks.ok_or_else(|| err("no tracks found in the first segment"))?;
            let mut pids = HashMap::new();
            for t in ts_tracks {
                match t.codec.to_format(payload_type(formats.len())) {
                    Some(f) => {
                        pids.insert(t.pid, (first_track + formats.len(), t.codec.clone()));
                        formats.push(f);
                    }
                    None => tracing::warn!("skipping track with codec {}", t.codec.name()),
                }
            }
            // Read the first segment again from its start once the stream is ready.
            Container::Ts {
                demuxer: Box::new(Demuxer::new()),
                pids,
                first: Some(data),
            }
        };
        Ok(Follower {
            url,
            media,
            next_msn,
            formats,
            container,
        })
    }

    async fn follow(mut self, http: &Http, sink: &Sink) -> Result<(), Failure> {
        if let Container::Ts {
            first: Some(data), ..
        } = &mut self.container
        {
            let data = std::mem::take(data);
            let samples = self.samples(data)?;
            sink.write(samples).await?;
            self.next_msn += 1;
        }
        loop {
            if let Some(seg) = self.media.segment(self.next_msn) {
                let url = join(&self.url, &seg.uri)?;
                let (_, data) = http.get(&url, MAX_SEGMENT_SIZE, Duration::ZERO).await?;
                let samples = self.samples(data)?;
                sink.write(samples).await?;
                self.next_msn += 1;
                continue;
            }
            if self.media.end_list && self.next_msn >= self.media.next_msn() {
                return Err(err("stream ended"));
            }
            let target = Duration::from_secs(self.media.target_duration.clamp(1, 60));
            let (url, extra) = if self.media.can_block_reload {
                let mut u = self.url.clone();
                u.query_pairs_mut()
                    .append_pair("_HLS_msn", &self.next_msn.to_string());
                (u, target * 3)
            } else {
                tokio::time::sleep(target / 2).await;
                (self.url.clone(), Duration::ZERO)
            };
            let (_, p) = http.playlist(&url, extra).await?;
            let Playlist::Media(m) = p else {
                return Err(err("media playlist became a multivariant playlist"));
            };
            if self.next_msn < m.media_sequence {
                // Fell behind the playlist's window: back to its live edge.
                if let Some(last) = m.last_msn() {
                    self.next_msn = last;
                }
            }
            self.media = m;
        }
    }

    /// The access units of a segment.
    fn samples(&mut self, data: Bytes) -> Result<Vec<Sample>, Failure> {
        let mut out = Vec::new();
        match &mut self.container {
            Container::Fmp4(ids) => {
                let parts = fmp4::read_parts(&data).map_err(|e| err(format!("segment: {e}")))?;
                for part in parts {
                    for t in part.tracks {
                        let Some((track, timescale, codec)) = ids.get(&t.id) else {
                            continue;
                        };
                        let mut dts = i128::from(t.base_time);
                        for s in t.samples {
                            if out.len() >= MAX_UNITS_PER_SEGMENT {
                                return Err(err("too many samples in a segment"));
                            }
                            let parts = match codec {
                                Fmp4Codec::H264 { .. } | Fmp4Codec::H265 { .. } => {
                                    split_nalus(s.payload)
                                }
                                _ => vec![s.payload],
                            };
                            out.push(Sample {
                                track: *track,
                                dts_ns: ns(dts, *timescale),
                                pts_ns: ns(dts + i128::from(s.pts_offset), *timescale),
                                random_access: !s.non_sync || !codec.is_video(),
                                parts,
                            });
                            dts += i128::from(s.duration);
                        }
                    }
                }
            }
            Container::Ts { demuxer, pids, .. } => {
                demuxer.push(&data);
                while let Some(e) = demuxer.pull() {
                    let Event::AccessUnit(au) = e else { continue };
                    let Some((track, _)) = pids.get(&au.pid) else {
                        continue;
                    };
                    if out.len() >= MAX_UNITS_PER_SEGMENT {
                        return Err(err("too many access units in a segment"));
                    }
                    out.push(Sample {
                        track: *track,
                        dts_ns: ns(i128::from(au.dts), 90_000),
                        pts_ns: ns(i128::from(au.pts), 90_000),
                        random_access: au.random_access,
                        parts: au.parts,
                    });
                }
                let anomalies = demuxer.take_anomalies();
                if !anomalies.is_empty() {
                    tracing::debug!("segment anomalies: {anomalies:?}");
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_split_into_nal_units() {
        let s = Bytes::from_static(&[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41, 0, 0, 0, 9]);
        assert_eq!(
            split_nalus(s),
            vec![Bytes::from_static(&[0x65, 1]), Bytes::from_static(&[0x41])]
        );
        assert_eq!(ns(90_000, 90_000), 1_000_000_000);
        assert!(format_of_fmp4(&Fmp4Codec::Opus { channel_count: 2 }, 96).is_some());
    }
}
