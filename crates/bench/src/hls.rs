//! Low-Latency HLS readers: each opens the multivariant playlist (a session), then follows
//! every media playlist (video, and audio when it is a rendition of its own) with blocking
//! playlist reloads (`_HLS_msn` / `_HLS_part`) and fetches every part as it appears, the
//! way hls.js and Apple players do. Nothing is decoded: a part is counted by its bytes.
//!
//! Per media playlist the report's track counts parts: `packets`/`unique` fetched,
//! `expected` the parts that appeared since the reader joined, `lost` those it never got
//! (it fell behind the playlist's window), `late` the blocking reloads that answered with
//! more than the part asked for (the reader was behind the live edge).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferromtx_hls::source::playlist::{self, Media, Playlist};
use reqwest::Url;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::http1::{Connection, Keep};
use crate::load::Progress;
use crate::reception::ReceptionTotals;
use crate::report::{TrackReport, ViewerReport};

/// Longest wait for one answer (a blocking reload waits up to a few part durations).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest part or playlist read.
const MAX_BODY: u64 = 16 << 20;
/// Most redirections followed to the multivariant playlist (the server's session check
/// is one).
const MAX_REDIRECTS: usize = 5;

/// What every reader shares.
#[derive(Debug, Clone)]
pub struct HlsOptions {
    /// `http://HOST:8888/PATH/index.m3u8`.
    pub url: Url,
    /// The server's address (the URL's host, resolved once).
    pub addr: SocketAddr,
}

impl HlsOptions {
    /// Options for the multivariant playlist at `url` (`.../PATH/index.m3u8`, or
    /// `.../PATH` to which `/index.m3u8` is added). Plain `http` only.
    pub fn new(url: &str) -> Result<HlsOptions, String> {
        let mut url = Url::parse(url).map_err(|e| format!("'{url}': {e}"))?;
        if url.scheme() != "http" {
            return Err(format!("'{url}': only http:// URLs are read"));
        }
        if !url.path().ends_with(".m3u8") {
            let p = format!("{}/index.m3u8", url.path().trim_end_matches('/'));
            url.set_path(&p);
        }
        let addr = url
            .socket_addrs(|| None)
            .map_err(|e| format!("'{url}': {e}"))?
            .into_iter()
            .next()
            .ok_or_else(|| format!("'{url}': no address"))?;
        Ok(HlsOptions { url, addr })
    }

    fn connection(&self) -> Connection {
        Connection::new(self.addr, &host_field(&self.url), REQUEST_TIMEOUT, MAX_BODY)
    }
}

/// The `Host` field of requests for `url` (`HOST[:PORT]`, IPv6 in brackets).
fn host_field(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// `url`'s origin-form request target: its path and query.
fn origin_form(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `uri` resolved against `base`, on the same server.
fn same_origin(base: &Url, uri: &str) -> Result<Url, String> {
    let u = base.join(uri).map_err(|e| format!("'{uri}': {e}"))?;
    if (u.scheme(), u.host_str(), u.port_or_known_default())
        != (base.scheme(), base.host_str(), base.port_or_known_default())
    {
        return Err(format!("'{uri}' is on another server than {base}"));
    }
    Ok(u)
}

/// A GET of `target` that must answer 2xx; the body is the connection's when `keep`.
async fn get(conn: &mut Connection, target: &str, keep: Keep) -> Result<u64, String> {
    let a = conn.get(target, keep).await.map_err(|e| e.to_string())?;
    if !(200..300).contains(&a.status) {
        let path = target.split('?').next().unwrap_or(target);
        return Err(format!("{path}: status {}", a.status));
    }
    Ok(a.length)
}

fn parse_playlist(body: &[u8]) -> Result<Playlist, String> {
    let text = std::str::from_utf8(body).map_err(|_| "playlist is not UTF-8".to_string())?;
    playlist::parse(text).map_err(|e| e.to_string())
}

/// One media playlist followed part by part, on a connection of its own.
struct Follow {
    url: Url,
    kind: &'static str,
    conn: Connection,
    /// The playlist's request target, and what goes before `_HLS_msn` (`?` or `&`).
    playlist: String,
    separator: char,
    /// The playlist's directory (`/PATH/`): relative part URIs are appended to it.
    dir: String,
    /// The request target being sent (reused).
    target: String,
    /// (msn, index) of the next part to fetch.
    next: Option<(u64, u64)>,
    totals: ReceptionTotals,
    first_part: Option<Instant>,
    started: Instant,
    /// The first loss: which parts, why, and when since the reader started.
    first_loss: Option<String>,
}

impl Follow {
    fn new(url: Url, kind: &'static str, conn: Connection, started: Instant) -> Follow {
        let playlist = origin_form(&url);
        let separator = if url.query().is_some() { '&' } else { '?' };
        let path = url.path();
        let dir = path[..path.rfind('/').map_or(0, |i| i + 1)].to_owned();
        Follow {
            url,
            kind,
            conn,
            playlist,
            separator,
            dir,
            target: String::with_capacity(256),
            next: None,
            totals: ReceptionTotals::default(),
            first_part: None,
            started,
            first_loss: None,
        }
    }

    fn note_loss(&mut self, what: impl FnOnce() -> String) {
        if self.first_loss.is_none() {
            let at = self.started.elapsed().as_secs_f64();
            self.first_loss = Some(format!("{} at {at:.1} s", what()));
        }
    }

    /// The playlist, blocking until the next part when one is awaited.
    async fn reload(&mut self) -> Result<Media, String> {
        self.target.clear();
        self.target.push_str(&self.playlist);
        if let Some((msn, part)) = self.next {
            let sep = self.separator;
            // Writing to a String cannot fail.
            let _ = write!(self.target, "{sep}_HLS_msn={msn}&_HLS_part={part}");
        }
        get(&mut self.conn, &self.target, Keep::Body).await?;
        match parse_playlist(self.conn.body())? {
            Playlist::Media(m) => Ok(m),
            Playlist::Multivariant(_) => Err("unexpected multivariant".into()),
        }
    }

    /// Sets `self.target` to the request target of the part at `uri`.
    fn part_target(&mut self, uri: &str) -> Result<(), String> {
        self.target.clear();
        let path = uri.split(['?', '#']).next().unwrap_or(uri);
        let plain = !path.is_empty()
            && !path.starts_with(['/', '.'])
            && !path.contains(':')
            && !path.contains("/.")
            && !uri.contains('#');
        if plain {
            // The usual case: a name beside the playlist.
            self.target.push_str(&self.dir);
            self.target.push_str(uri);
        } else {
            let u = same_origin(&self.url, uri)?;
            self.target.push_str(&origin_form(&u));
        }
        Ok(())
    }

    /// Fetches the parts of `media` from `self.next` on. Parts the reader fell too far
    /// behind to get (gone from the playlist, or answered 404) are counted as lost.
    async fn fetch_parts(&mut self, media: &Media, progress: &Progress) -> Result<(), String> {
        let Some(last) = media.parts.last() else {
            return Ok(());
        };
        let (msn, index) = *self.next.get_or_insert((last.msn, last.index));
        // The part asked for, or the first one after it (index 0 of the next segment when
        // the asked one was past the end of its segment, or later when it is gone).
        let exact = media
            .parts
            .iter()
            .position(|p| (p.msn, p.index) == (msn, index));
        let Some(first) = exact.or_else(|| {
            media
                .parts
                .iter()
                .position(|p| p.msn > msn || (p.msn == msn && p.index > index))
        }) else {
            // Everything listed is older than what we wait for: nothing new.
            return Ok(());
        };
        let found = &media.parts[first];
        if exact.is_none() {
            let skipped = if found.msn == msn {
                found.index - index
            } else if found.msn > msn + 1 || found.index > 0 {
                // Gone before we got them: whole segments at the playlist's part rate.
                let per_segment = match media.part_target {
                    Some(t) if t > 0.0 => (media.target_duration as f64 / t).round() as u64,
                    _ => 1,
                };
                (found.msn - msn).saturating_sub(1) * per_segment + found.index
            } else {
                0
            };
            self.totals.lost += skipped;
            self.totals.expected += skipped;
            if skipped > 0 {
                let (first_msn, first_index) = (media.parts[0].msn, media.parts[0].index);
                self.note_loss(|| {
                    format!(
                        "{skipped} parts from {msn}/{index} gone: the playlist's parts start \
                         at {first_msn}/{first_index}, its first after the wait is {}/{}",
                        found.msn, found.index
                    )
                });
            }
        }
        if media.parts.len() - first > 1 {
            self.totals.late += 1;
        }
        for p in &media.parts[first..] {
            self.part_target(&p.uri)?;
            self.totals.expected += 1;
            match get(&mut self.conn, &self.target, Keep::Count).await {
                Ok(len) => {
                    self.totals.packets += 1;
                    self.totals.unique += 1;
                    self.totals.bytes += len;
                    progress.packet();
                    self.first_part.get_or_insert_with(Instant::now);
                }
                // Gone already: the reader is behind.
                Err(e) if e.ends_with("status 404") => {
                    self.totals.lost += 1;
                    self.note_loss(|| format!("part {}/{} answered 404", p.msn, p.index));
                }
                Err(e) => return Err(e),
            }
            self.next = Some((p.msn, p.index + 1));
        }
        Ok(())
    }
}

/// One reader until `stop`.
pub async fn reader(
    id: usize,
    opts: Arc<HlsOptions>,
    stop: CancellationToken,
    progress: Arc<Progress>,
) -> ViewerReport {
    let started = Instant::now();
    let mut report = ViewerReport {
        id,
        ..ViewerReport::default()
    };
    let follows = tokio::select! {
        r = open(&opts, started) => r,
        () = stop.cancelled() => Err("stopped before the first playlist".into()),
    };
    let mut follows = match follows {
        Ok(f) => f,
        Err(e) => {
            progress
                .failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            report.error = Some(e);
            return report;
        }
    };
    report.time_to_connect_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    progress
        .connected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let run = async {
        let mut tasks = Vec::new();
        for f in &mut follows {
            tasks.push(follow(f, &progress));
        }
        futures_join(tasks).await
    };
    let error = tokio::select! {
        e = run => e,
        () = stop.cancelled() => None,
    };
    let first = follows.iter().filter_map(|f| f.first_part).min();
    report.time_to_first_packet_ms =
        first.map(|t| t.duration_since(started).as_secs_f64() * 1000.0);
    report.receive_s = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    report.connected = follows.iter().any(|f| f.totals.unique > 0);
    report.error = error;
    report.tracks = follows
        .into_iter()
        .map(|f| TrackReport {
            kind: f.kind.into(),
            codec: "fMP4 parts".into(),
            reception: f.totals,
            first_loss: f.first_loss,
            ..TrackReport::default()
        })
        .collect();
    report
}

/// Runs the followers together; the first error ends them all.
async fn futures_join<F: std::future::Future<Output = Option<String>>>(
    tasks: Vec<F>,
) -> Option<String> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = tasks.into_iter().map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        let mut i = 0;
        while i < set.len() {
            match set[i].as_mut().poll(cx) {
                std::task::Poll::Ready(Some(e)) => return std::task::Poll::Ready(Some(e)),
                std::task::Poll::Ready(None) => {
                    set.swap_remove(i);
                }
                std::task::Poll::Pending => i += 1,
            }
        }
        if set.is_empty() {
            std::task::Poll::Ready(None)
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// Reads the multivariant playlist (following the server's redirections) and returns a
/// follower per media playlist; the first reuses the connection.
async fn open(opts: &HlsOptions, started: Instant) -> Result<Vec<Follow>, String> {
    let mut conn = opts.connection();
    let mut base = opts.url.clone();
    let mut redirects = 0;
    loop {
        let a = conn
            .get(&origin_form(&base), Keep::Body)
            .await
            .map_err(|e| e.to_string())?;
        match (a.status, a.location) {
            (301 | 302 | 303 | 307 | 308, Some(loc)) if redirects < MAX_REDIRECTS => {
                // After the redirection (the session check), URIs are relative to it.
                base = same_origin(&base, &loc)?;
                redirects += 1;
            }
            (200..=299, _) => break,
            (s, _) => return Err(format!("index.m3u8: status {s}")),
        }
    }
    match parse_playlist(conn.body())? {
        Playlist::Multivariant(m) => {
            let (v, audio) = m.choose().ok_or("no variant")?;
            let audio = audio.map(|a| same_origin(&base, a)).transpose()?;
            let mut out = vec![Follow::new(
                same_origin(&base, &v.uri)?,
                "video",
                conn,
                started,
            )];
            if let Some(a) = audio {
                out.push(Follow::new(a, "audio", opts.connection(), started));
            }
            Ok(out)
        }
        Playlist::Media(_) => Ok(vec![Follow::new(base, "video", conn, started)]),
    }
}

async fn follow(f: &mut Follow, progress: &Progress) -> Option<String> {
    loop {
        let media = match f.reload().await {
            Ok(m) => m,
            Err(e) => return Some(e),
        };
        if media.parts.is_empty() {
            return Some("the playlist has no parts (not low-latency)".into());
        }
        if let Err(e) = f.fetch_parts(&media, progress).await {
            return Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_added_to_a_path_url() {
        let o = HlsOptions::new("http://127.0.0.1:8888/cam").expect("options");
        assert_eq!(o.url.as_str(), "http://127.0.0.1:8888/cam/index.m3u8");
        assert_eq!(o.addr, SocketAddr::from(([127, 0, 0, 1], 8888)));
        let o = HlsOptions::new("http://[::1]:1/a/b/index.m3u8?t=1").expect("options");
        assert_eq!(o.url.as_str(), "http://[::1]:1/a/b/index.m3u8?t=1");
        assert_eq!(host_field(&o.url), "[::1]:1");
        assert_eq!(origin_form(&o.url), "/a/b/index.m3u8?t=1");
        assert!(HlsOptions::new("not a url").is_err());
        assert!(HlsOptions::new("https://127.0.0.1:8888/cam").is_err());
    }

    fn follower(url: &str) -> Follow {
        let opts = HlsOptions::new(url).expect("options");
        let conn = opts.connection();
        Follow::new(opts.url, "video", conn, Instant::now())
    }

    #[test]
    fn part_targets_resolve_as_urls_do() {
        let mut f = follower("http://127.0.0.1:1/my/cam/video1_stream.m3u8?hlsSession=s");
        assert_eq!(f.playlist, "/my/cam/video1_stream.m3u8?hlsSession=s");
        assert_eq!(f.separator, '&');
        let mut target = |uri: &str| f.part_target(uri).map(|()| f.target.clone());
        assert_eq!(
            target("x_video1_part3.mp4?hlsSession=s").as_deref(),
            Ok("/my/cam/x_video1_part3.mp4?hlsSession=s")
        );
        assert_eq!(target("../b/p.mp4").as_deref(), Ok("/my/b/p.mp4"));
        assert_eq!(target("/abs/p.mp4?q=1").as_deref(), Ok("/abs/p.mp4?q=1"));
        assert_eq!(target("sub/./p.mp4").as_deref(), Ok("/my/cam/sub/p.mp4"));
        assert_eq!(
            target("http://127.0.0.1:1/o/p.mp4").as_deref(),
            Ok("/o/p.mp4")
        );
        assert!(target("http://127.0.0.2:1/o/p.mp4").is_err());
        let f = follower("http://127.0.0.1:1/cam/video1_stream.m3u8");
        assert_eq!(
            (f.playlist.as_str(), f.separator),
            ("/cam/video1_stream.m3u8", '?')
        );
    }
}
